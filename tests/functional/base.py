# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Base class: Nova's own libvirt functional framework, with our driver.

The compute service is started with ``compute_driver`` set to the exact
value an operator writes in nova.conf, so Nova loads our driver through
the ``nova.virt.domain_meta`` module our wheel installs.
"""

import copy
import os
import sys

from lxml import etree
from nova import conf as nova_conf
from nova.tests.fixtures import neutron as neutron_fixture
from nova.tests.functional.libvirt import base as libvirt_base
from oslo_utils.fixture import uuidsentinel as uuids
from oslo_utils import uuidutils

from nova_domain_meta import conf  # noqa: F401  (registers [domain_meta])
from nova_domain_meta import metadata
from tests.functional import fixtures as dm_fixtures

#: What an operator writes in nova.conf: ``[DEFAULT] compute_driver``.
COMPUTE_DRIVER = 'domain_meta.LibvirtDriver'

NS = {'nova': metadata.NOVA_NS, 'ndm': metadata.DOMAIN_META_NS}


def api_paste_config():
    """Return the api-paste.ini the nova wheel installs under the venv."""
    return os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')


class DomainMetaTestBase(libvirt_base.ServersTestBase):
    """Functional tests booting servers with the nova-domain-meta driver."""

    api_major_version = 'v2.1'
    microversion = 'latest'
    ADMIN_API = True

    USER_NAME = 'Ada Admin'
    PROJECT_NAME = 'acme-prod'

    def setUp(self):
        self.flags(api_paste_config=api_paste_config(), group='wsgi')
        super().setUp()
        self.recorder = self.useFixture(dm_fixtures.DomainRecorder())
        self.useFixture(dm_fixtures.KeystoneNamesFixture(
            {'admin': self.USER_NAME},
            {self.api.project_id: self.PROJECT_NAME}))
        # Nova's CinderFixture answers with a 'fake' protocol that libvirt
        # rejects; hand out iSCSI connection info, as a real Cinder would.
        connection_info = copy.deepcopy(self.cinder.VOLUME_CONNECTION_INFO)
        connection_info['fake'] = copy.deepcopy(
            connection_info[uuids.iscsi_backed_volume])
        self.cinder.VOLUME_CONNECTION_INFO = connection_info
        #: Floating IPs Neutron answers with, by id (add_floating_ip).
        self.floating_ips = {}
        self.neutron.list_floatingips = self._list_floatingips
        self.flags(device_detach_timeout=1, group='libvirt')
        # Tests run reconciler passes explicitly (run_reconciler).
        self.flags(reconcile_interval=0, group='domain_meta')
        self.addCleanup(self._assert_domains_valid)

    def _setup_compute_service(self):
        self.flags(compute_driver=COMPUTE_DRIVER)

    def _assert_domains_valid(self):
        self.assertEqual([], self.recorder.problems,
                         'domain XML the driver defined is not valid')

    def make_port(self, port_id, mac, *addresses):
        """Register a Neutron port on the fixture's network 1.

        ``addresses`` are fixed IPs, IPv4 or IPv6; each lands on the
        network's subnet of its version.
        """
        nf = neutron_fixture.NeutronFixture
        port = copy.deepcopy(nf.port_1)
        port.update(id=port_id, mac_address=mac, fixed_ips=[
            {'ip_address': address,
             'subnet_id': (nf.subnet_ipv6_1 if ':' in address
                           else nf.subnet_1)['id']}
            for address in addresses])
        self.neutron._ports[port_id] = port
        return port

    def add_floating_ip(self, port, fixed_address, address, fip_id=None):
        """Associate a floating IP with a port's fixed address.

        NeutronFixture never returns floating IPs; list_floatingips is
        answered from :attr:`floating_ips` instead, filtered by port and
        fixed address as Neutron filters.  Returns the floating IP's id;
        delete it from :attr:`floating_ips` to disassociate.
        """
        fip_id = fip_id or uuidutils.generate_uuid()
        self.floating_ips[fip_id] = {
            'id': fip_id, 'floating_ip_address': address,
            'fixed_ip_address': fixed_address, 'port_id': port['id'],
            'floating_network_id': uuids.public_network}
        return fip_id

    def _list_floatingips(self, retrieve_all=True, **params):
        found = [fip for fip in self.floating_ips.values()
                 if all(fip.get(k) == v for k, v in params.items()
                        if k in ('port_id', 'fixed_ip_address'))]
        return {'floatingips': copy.deepcopy(found)}

    def instance_dir(self, server):
        """Create and return the instance directory.

        Nova's stubbed image backend never creates it; operations that
        write files there (rescue, cold migration) need it.
        """
        path = os.path.join(nova_conf.CONF.instances_path, server['id'])
        os.makedirs(path, exist_ok=True)
        return path

    def run_reconciler(self, hostname='compute1'):
        """Run one reconciler pass on ``hostname``; return its result."""
        return self.computes[hostname].driver._metadata_reconciler.run_pass()

    # Helpers for reading what the driver sent to libvirt.

    def domain_name(self, server):
        return self.admin_api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:instance_name']

    def domain_xml(self, server):
        """Return the latest domain XML defined for ``server``, parsed."""
        return self.recorder.latest(self.domain_name(server))

    def nova_meta(self, server):
        node = self.domain_xml(server).find('./metadata/nova:instance', NS)
        self.assertIsNotNone(node, 'no <nova:instance> in the domain')
        return node

    def ndm_meta(self, server):
        node = self.domain_xml(server).find('./metadata/ndm:instance', NS)
        self.assertIsNotNone(node, 'no <ndm:instance> in the domain')
        return node

    @staticmethod
    def xpath(node, path):
        return node.xpath(path, namespaces=NS)

    @staticmethod
    def canonical(node):
        """Return ``node`` as one-line XML without layout whitespace."""
        text = etree.tostring(node, encoding='unicode')
        parser = etree.XMLParser(remove_blank_text=True)
        return etree.tostring(etree.fromstring(text, parser),
                              encoding='unicode')

    def boot_from_volume(self, volume_id, **kwargs):
        """Boot a server whose root disk is the existing volume."""
        body = self._build_server(**kwargs)
        body.pop('imageRef')
        body['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': volume_id,
            'source_type': 'volume', 'destination_type': 'volume'}]
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, 'ACTIVE')

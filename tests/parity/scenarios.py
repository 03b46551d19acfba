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

"""Boot the parity scenarios in Nova's functional framework; dump metadata.

Run once on Nova with the patch series, from Nova's tree (so that its
``nova`` package comes first) in an environment without the plugin::

    python .../tests/parity/scenarios.py --driver libvirt.LibvirtDriver \
        --output patched.json

and once on unpatched Nova 34 with the plugin installed::

    python -m tests.parity.scenarios --driver domain_meta.LibvirtDriver \
        --output plugin.json

It writes, for every scenario, the ``<nova:instance>`` element each
domain holds in its persistent definition and in its running guest, and
the server's creation time as the API reports it; ``test_parity`` compares
the two files.  This module never imports the plugin: on patched Nova it
must not be installed at all.

Neither Nova's unpatched fake libvirt nor every version of it keeps what
the driver writes, so :class:`MetadataRecorder` keeps it the way libvirt
does, from the XML the driver defines and the ``setMetadata`` calls it
makes, whatever fake is underneath.
"""

# Nova's functional framework sets up eventlet before any other Nova module
# is imported (tests/__init__.py does the same for our tests).
import nova.tests.functional  # noqa: F401,H306  isort:skip

import argparse
import copy
import datetime
import json
import os
import sys
import unittest

import fixtures
from lxml import etree
import nova
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'

# Fixed identifiers, so both runs describe the same objects.
HOSTILE_IMAGE = 'a4b1bd45-8ff5-4c5e-9ee7-23b9b0f3e4f1'
HOSTILE_FLAVOR = 'parity-hostile'
USER_NAME = 'Ada Admin'
PROJECT_NAME = 'acme-prod'
FLOATING_IP = '172.24.4.10'


#: libvirt's error code for "no such metadata element".
VIR_ERR_NO_DOMAIN_METADATA = 80


def _as_stored(xml, key, uri):
    """Return a setMetadata element as libvirt stores it: namespaced.

    libvirt puts an element given without a namespace (as the plugin gives
    it) into ``uri`` with prefix ``key``; a namespaced one (as Nova gives
    it) is kept.
    """
    root = etree.fromstring(xml)
    if etree.QName(root).namespace is None:
        for node in root.iter():
            if isinstance(node.tag, str):
                node.tag = '{%s}%s' % (uri, node.tag)
        wrapper = etree.Element('{%s}wrap' % uri, nsmap={key: uri})
        wrapper.append(root)
        etree.cleanup_namespaces(wrapper)
        root = wrapper[0]
    return etree.tostring(root, encoding='unicode')


def _without_namespace(xml):
    """Return an element as virDomainGetMetadata hands it out."""
    root = etree.fromstring(xml)
    for node in root.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding='unicode')


class MetadataRecorder(fixtures.Fixture):
    """Keep each domain's metadata per scope, as libvirt keeps it.

    ``held[uuid]['config'|'live'][namespace]`` is the element's XML: the
    persistent copy comes from defineXML and setMetadata with
    AFFECT_CONFIG, the running guest's from the start of the domain,
    createXML and setMetadata with AFFECT_LIVE (AFFECT_CURRENT: the
    running guest's when active, else the definition's).  Both are read
    back through virDomainGetMetadata and XMLDesc, as on a real host.
    """

    def _setUp(self):
        self.held = {}
        fake = fakelibvirt
        recorder = self
        define = fake.Connection.defineXML
        create_xml = fake.Connection.createXML
        start = fake.Domain.createWithFlags
        destroy = fake.Domain.destroy
        xml_desc = fake.Domain.XMLDesc

        def elements(xml):
            root = etree.fromstring(xml)
            return {etree.QName(node).namespace:
                    etree.tostring(node, encoding='unicode')
                    for node in root.iterfind('./metadata/*')}

        def store(dom):
            return recorder.held.setdefault(
                dom.UUIDString(), {'config': {}, 'live': {}})

        def scopes(dom, flags):
            chosen = [scope for scope, bit in (
                ('live', fake.VIR_DOMAIN_AFFECT_LIVE),
                ('config', fake.VIR_DOMAIN_AFFECT_CONFIG)) if flags & bit]
            return chosen or ['live' if dom.isActive() else 'config']

        def defineXML(conn, xml):
            dom = define(conn, xml)
            recorder.held[dom.UUIDString()] = {
                'config': elements(xml), 'live': {}}
            return dom

        def createXML(conn, xml, flags):
            dom = create_xml(conn, xml, flags)
            recorder.held[dom.UUIDString()] = {
                'config': {}, 'live': elements(xml)}
            return dom

        def createWithFlags(dom, flags):
            result = start(dom, flags)
            store(dom)['live'] = dict(store(dom)['config'])
            return result

        def destroy_(dom):
            result = destroy(dom)
            store(dom)['live'] = {}
            return result

        def setMetadata(dom, metadata_type, metadata, key, uri, flags=0):
            if metadata_type != fake.VIR_DOMAIN_METADATA_ELEMENT:
                return
            for scope in scopes(dom, flags):
                if scope == 'live' and not dom.isActive():
                    raise fake.make_libvirtError(
                        fake.libvirtError, 'domain is not running',
                        error_code=fake.VIR_ERR_OPERATION_INVALID)
                if metadata is None:
                    store(dom)[scope].pop(uri, None)
                else:
                    store(dom)[scope][uri] = _as_stored(metadata, key, uri)

        def metadata(dom, metadata_type, uri, flags=0):
            held = store(dom)[scopes(dom, flags)[0]].get(uri)
            if held is None:
                raise fake.make_libvirtError(
                    fake.libvirtError, 'metadata not found',
                    error_code=VIR_ERR_NO_DOMAIN_METADATA)
            return _without_namespace(held)

        def XMLDesc(dom, flags):
            root = etree.fromstring(xml_desc(dom, flags))
            for old in root.findall('metadata'):
                root.remove(old)
            scope = 'live' if dom.isActive() and not (
                flags & fake.VIR_DOMAIN_XML_INACTIVE) else 'config'
            if store(dom)[scope]:
                node = etree.Element('metadata')
                for element in store(dom)[scope].values():
                    node.append(etree.fromstring(element))
                root.insert(2, node)
            return etree.tostring(root, encoding='unicode')

        for name, value in (('Connection.defineXML', defineXML),
                            ('Connection.createXML', createXML),
                            ('Domain.createWithFlags', createWithFlags),
                            ('Domain.destroy', destroy_),
                            ('Domain.setMetadata', setMetadata),
                            ('Domain.metadata', metadata),
                            ('Domain.XMLDesc', XMLDesc)):
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.' + name, value))

    def nova_instance(self, uuid):
        """Return ``{'config': xml, 'live': xml}`` of ``<nova:instance>``."""
        held = self.held.get(uuid, {})
        return {scope: held.get(scope, {}).get(NOVA_NS)
                for scope in ('config', 'live')}


def _api_paste_config():
    """Nova's api-paste.ini: in Nova's tree, or where its wheel puts it."""
    tree = os.path.dirname(os.path.dirname(os.path.abspath(nova.__file__)))
    for path in (os.path.join(tree, 'etc', 'nova', 'api-paste.ini'),
                 os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')):
        if os.path.exists(path):
            return path
    raise RuntimeError('api-paste.ini of Nova not found')


class ParityScenarios(base.ServersTestBase):
    """The scenarios; ``test_scenarios`` writes what every domain holds."""

    api_major_version = 'v2.1'
    microversion = 'latest'
    ADMIN_API = True

    #: Set by main(): the compute_driver value and the output file.
    COMPUTE_DRIVER = None
    OUTPUT = None

    def setUp(self):
        self.flags(api_paste_config=_api_paste_config(), group='wsgi')
        super().setUp()
        self.recorder = self.useFixture(MetadataRecorder())
        self._give_requests_names()
        self._floating_ips = {}
        self.neutron.list_floatingips = self._list_floatingips
        self.flags(device_detach_timeout=1, group='libvirt')
        self.start_compute()
        self.results = {}

    def _setup_compute_service(self):
        self.flags(compute_driver=self.COMPUTE_DRIVER)

    def _give_requests_names(self):
        # keystonemiddleware hands Nova the user's and project's names;
        # Nova's API fixture only ids.
        project_id = self.api.project_id

        def create_context(env, **kwargs):
            user_id = env['HTTP_X_AUTH_USER']
            return nova_context.RequestContext(
                user_id, env['HTTP_X_AUTH_PROJECT_ID'],
                is_admin=user_id == 'admin',
                roles=env['HTTP_X_ROLES'].split(','),
                user_name=USER_NAME,
                project_name=PROJECT_NAME if env[
                    'HTTP_X_AUTH_PROJECT_ID'] == project_id else None,
                **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.auth.NovaKeystoneContext._create_context',
            create_context))

    def _list_floatingips(self, retrieve_all=True, **params):
        found = [fip for fip in self._floating_ips.values()
                 if all(fip.get(k) == v for k, v in params.items()
                        if k in ('port_id', 'fixed_ip_address'))]
        return {'floatingips': copy.deepcopy(found)}

    def _catch_up(self, server, port_id=None):
        """Let each side learn what changed behind a compute's back.

        Neutron's network-changed event for a port; then, for the plugin,
        its reconciler pass (it runs every minute in a deployment).
        """
        if port_id:
            self.api.api_post('/os-server-external-events', {'events': [{
                'name': 'network-changed', 'server_uuid': server['id'],
                'tag': port_id}]})
        reconciler = getattr(self.computes['compute1'].driver,
                             '_metadata_reconciler', None)
        if reconciler is not None:
            reconciler.run_pass()

    def _record(self, scenario, server):
        server = self.api.get_server(server['id'])
        self.results[scenario] = dict(
            self.recorder.nova_instance(server['id']),
            created=server['created'])

    def test_scenarios(self):
        self._image_boot_two_ports_floating_ip()
        self._volume_boot()
        self._hostile_values()
        self._rename()
        with open(self.OUTPUT, 'w') as f:
            json.dump(self.results, f, indent=1, sort_keys=True)

    def _image_boot_two_ports_floating_ip(self):
        port1 = self.neutron.port_1
        port2 = copy.deepcopy(self.neutron.port_2)
        self.neutron._ports[port2['id']] = port2
        server = self._create_server(
            name='web-1', networks=[{'port': port1['id']},
                                    {'port': port2['id']}])
        self._floating_ips['fip-1'] = {
            'id': 'fip-1', 'floating_ip_address': FLOATING_IP,
            'fixed_ip_address': port1['fixed_ips'][0]['ip_address'],
            'port_id': port1['id'], 'floating_network_id': 'public'}
        self._catch_up(server, port1['id'])
        self._record('image-two-ports-floating-ip', server)
        self._delete_server(server)

    def _volume_boot(self):
        body = self._build_server(name='db-1', networks='none')
        body.pop('imageRef')
        body['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': self.cinder.IMAGE_BACKED_VOL,
            'source_type': 'volume', 'destination_type': 'volume'}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        self._record('volume-boot', server)
        self._delete_server(server)

    def _hostile_values(self):
        timestamp = datetime.datetime(
            2021, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        self.glance.create(None, {
            'id': HOSTILE_IMAGE, 'name': 'odd <image> & "quotes"',
            'created_at': timestamp, 'updated_at': timestamp,
            'status': 'active', 'container_format': 'bare',
            'disk_format': 'qcow2', 'min_disk': 0, 'min_ram': 0,
            'properties': {'os_distro': 'deb\x01ian',
                           'os_admin_user': 'x' * 255,
                           'custom_note': 'not modelled by Nova'}})
        self._create_flavor(id=HOSTILE_FLAVOR, name='odd & <flavor>',
                            extra_spec={'custom:note': 'ctl\x01char\x1b',
                                        'custom:long': 'y' * 255})
        # Many extra specs, stored directly: through the API each spec of
        # an unknown namespace is matched against every one of Nova's 525
        # validator patterns, more than re's cache holds, so 300 of them
        # take minutes on a busy machine and say nothing about the driver.
        flavor = objects.Flavor.get_by_flavor_id(
            nova_context.get_admin_context(), HOSTILE_FLAVOR)
        flavor.extra_specs.update({'custom:spec%03d' % i: str(i)
                                   for i in range(300)})
        flavor.save()
        server = self._create_server(
            name='Zoë <web> & "db" テスト ✓', image_uuid=HOSTILE_IMAGE,
            flavor_id=HOSTILE_FLAVOR, networks='none')
        self._record('hostile-values', server)
        # A hard reboot defines the domain anew from the same values.
        server = self._reboot_server(server, hard=True)
        self._record('hostile-values-hard-reboot', server)
        self._delete_server(server)

    def _rename(self):
        server = self._create_server(name='before', networks='none')
        self.api.put_server(server['id'], {'server': {'name': 'after'}})
        self._catch_up(server)
        self._record('rename', server)
        self._delete_server(server)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', required=True,
                        help='[DEFAULT] compute_driver, as in nova.conf')
    parser.add_argument('--output', required=True)
    args = parser.parse_args(argv)
    ParityScenarios.COMPUTE_DRIVER = args.driver
    ParityScenarios.OUTPUT = os.path.abspath(args.output)
    result = unittest.TextTestRunner(verbosity=2).run(
        ParityScenarios('test_scenarios'))
    if 'nova_domain_meta' in sys.modules and \
            args.driver == 'libvirt.LibvirtDriver':
        print('the plugin was imported in the run without it')
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())

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

"""The domain of a server carries Nova's and nova-domain-meta's metadata."""

from tempest import config
from tempest.lib.common import api_microversion_fixture
from tempest.lib.common import api_version_utils
from tempest.lib import decorators
from tempest.scenario import manager

from nova_domain_meta_tempest_plugin.common import domain_xml
from nova_domain_meta_tempest_plugin.common import whitebox
from nova_domain_meta_tempest_plugin.tests import base as ndm_base

CONF = config.CONF

# The admin view of a server with its flavor embedded (2.47) as the
# recorded responses the unit tests use were taken.
SERVER_MICROVERSION = '2.86'


class DomainXMLTest(manager.ScenarioTest):
    """Base of tests reading domain XML on the compute host."""

    credentials = ['primary', 'admin']

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        ndm_base.skip_unless_enabled(cls)
        if not whitebox.DomainXMLReader(CONF.nova_domain_meta).available():
            raise cls.skipException(
                'tempest.conf sets neither [nova_domain_meta] '
                'domain_xml_command nor compute_ssh_user: domain XML '
                'cannot be read')
        # tempest refuses an open range: no upper bound is 'latest'.
        api_version_utils.check_skip_with_microversion(
            SERVER_MICROVERSION, 'latest', CONF.compute.min_microversion,
            CONF.compute.max_microversion)

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.admin_servers_client = cls.os_admin.servers_client
        cls.admin_flavors_client = cls.os_admin.flavors_client

    def setUp(self):
        super().setUp()
        self.reader = whitebox.DomainXMLReader(CONF.nova_domain_meta)

    def admin_view(self, server_id):
        """The server as an administrator sees it, flavor embedded."""
        self.useFixture(api_microversion_fixture.APIMicroversionFixture(
            compute_microversion=SERVER_MICROVERSION))
        return self.admin_servers_client.show_server(server_id)['server']

    def domain_of(self, server):
        """The parsed live domain XML of ``server`` (admin view)."""
        xml = self.reader.dumpxml(server['OS-EXT-SRV-ATTR:host'],
                                  server['OS-EXT-SRV-ATTR:instance_name'])
        return domain_xml.parse(xml)


class DomainMetadataTest(DomainXMLTest):
    """Both metadata elements are in the domain of a new server."""

    def boot(self):
        return self.create_server(wait_until='ACTIVE')

    @decorators.idempotent_id('2fe8681e-6e8d-441f-bc01-ee853c070684')
    def test_domain_carries_nova_and_plugin_metadata(self):
        server = self.admin_view(self.boot()['id'])
        self.assertEqual(
            [], domain_xml.check_metadata(self.domain_of(server), server))

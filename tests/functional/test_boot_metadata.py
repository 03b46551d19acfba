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

"""Booting servers writes complete, correct metadata into the domain."""

import datetime

from nova.tests.fixtures import neutron as neutron_fixture
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta import metadata
from nova_domain_meta.metadata import nova_instance
from tests.functional import base

FLOATING_IP = '203.0.113.17'


class TestBootMetadata(base.DomainMetaTestBase):
    """What a freshly booted server's domain says about it."""

    def setUp(self):
        super().setUp()
        self.start_compute()

    def test_boot_from_image_writes_both_elements(self):
        server = self._create_server(name='web-1', networks='auto')
        nova = self.nova_meta(server)
        ndm = self.ndm_meta(server)

        self.assertEqual('web-1', self.xpath(nova, 'string(nova:name)'))
        self.assertEqual('image', self.xpath(nova, 'string(nova:root/@type)'))
        self.assertEqual(server['image']['id'],
                         self.xpath(nova, 'string(nova:root/@uuid)'))
        self.assertEqual(server['flavor']['original_name'],
                         self.xpath(nova, 'string(nova:flavor/@name)'))
        self.assertEqual(
            str(server['flavor']['ram']),
            self.xpath(nova, 'string(nova:flavor/nova:memory)'))
        self.assertEqual(
            server['user_id'],
            self.xpath(nova, 'string(nova:owner/nova:user/@uuid)'))
        self.assertEqual(
            server['tenant_id'],
            self.xpath(nova, 'string(nova:owner/nova:project/@uuid)'))
        self.assertEqual(self.USER_NAME,
                         self.xpath(nova, 'string(nova:owner/nova:user)'))
        self.assertEqual(self.PROJECT_NAME,
                         self.xpath(nova, 'string(nova:owner/nova:project)'))

        self.assertEqual(server['id'], ndm.get('uuid'))
        self.assertEqual('compute1', self.xpath(ndm, 'string(ndm:host)'))
        self.assertEqual(server['OS-EXT-AZ:availability_zone'],
                         self.xpath(ndm, 'string(ndm:availabilityZone)'))
        self.assertEqual(server['image']['id'],
                         self.xpath(ndm, 'string(ndm:image/@uuid)'))
        root = self.xpath(ndm, 'ndm:blockDevices/ndm:blockDevice')[0]
        self.assertEqual(
            {'device': 'vda', 'bus': 'virtio', 'type': 'disk',
             'source': 'image', 'destination': 'local', 'bootIndex': '0'},
            {k: root.get(k) for k in ('device', 'bus', 'type', 'source',
                                      'destination', 'bootIndex')})

    def test_creation_time_is_the_instance_creation_time(self):
        server = self._create_server(networks='none')
        created = datetime.datetime.strptime(
            server['created'], '%Y-%m-%dT%H:%M:%SZ')
        self.assertEqual(created.strftime('%Y-%m-%d %H:%M:%S'),
                         self.xpath(self.nova_meta(server),
                                    'string(nova:creationTime)'))
        self.assertEqual(server['created'],
                         self.xpath(self.ndm_meta(server),
                                    'string(ndm:createdAt)'))

    def test_creation_time_survives_hard_reboot(self):
        server = self._create_server(networks='none')
        before = self.xpath(self.nova_meta(server),
                            'string(nova:creationTime)')
        defined = len(self.recorder.domains(self.domain_name(server)))
        self._reboot_server(server, hard=True)
        self.assertGreater(
            len(self.recorder.domains(self.domain_name(server))), defined,
            'hard reboot did not redefine the domain')
        self.assertEqual(before, self.xpath(self.nova_meta(server),
                                            'string(nova:creationTime)'))

    def test_no_network_writes_empty_ports(self):
        server = self._create_server(networks='none')
        self.assertEqual([], self.xpath(self.nova_meta(server),
                                        'nova:ports/nova:port'))
        self.assertEqual([], self.xpath(self.ndm_meta(server),
                                        'ndm:ports/ndm:port'))

    def test_several_ports_with_ipv4_and_ipv6(self):
        nf = neutron_fixture.NeutronFixture
        first = self.make_port(uuids.port_a, 'fa:16:3e:00:00:0a',
                               '192.168.1.50', 'fd37:44e8:ad06::50')
        second = self.make_port(uuids.port_b, 'fa:16:3e:00:00:0b',
                                '192.168.1.51', 'fd37:44e8:ad06::51')
        server = self._create_server(
            networks=[{'port': first['id']}, {'port': second['id']}])

        nova = self.nova_meta(server)
        ports = {p.get('uuid'): sorted((ip.get('type'), ip.get('address'),
                                        ip.get('ipVersion'))
                                       for ip in p)
                 for p in self.xpath(nova, 'nova:ports/nova:port')}
        self.assertEqual({
            first['id']: [('fixed', '192.168.1.50', '4'),
                          ('fixed', 'fd37:44e8:ad06::50', '6')],
            second['id']: [('fixed', '192.168.1.51', '4'),
                           ('fixed', 'fd37:44e8:ad06::51', '6')],
        }, ports)
        ndm_ports = {p.get('uuid'): (p.get('mac'), p.get('network'),
                                     p.get('vifType'))
                     for p in self.xpath(self.ndm_meta(server),
                                         'ndm:ports/ndm:port')}
        self.assertEqual({
            first['id']: ('fa:16:3e:00:00:0a', nf.network_1['id'], 'ovs'),
            second['id']: ('fa:16:3e:00:00:0b', nf.network_1['id'], 'ovs'),
        }, ndm_ports)

    def test_floating_ip_is_written_under_its_port(self):
        port = self.make_port(uuids.port_fip, 'fa:16:3e:00:00:0c',
                              '192.168.1.60')
        self.add_floating_ip(port, '192.168.1.60', FLOATING_IP)

        server = self._create_server(networks=[{'port': port['id']}])
        ips = [(ip.get('type'), ip.get('address'), ip.get('ipVersion'))
               for ip in self.xpath(
                   self.nova_meta(server),
                   "nova:ports/nova:port[@uuid='%s']/nova:ip" % port['id'])]
        self.assertEqual([('fixed', '192.168.1.60', '4'),
                          ('floating', FLOATING_IP, '4')], ips)

    def test_boot_from_volume_names_the_root_volume(self):
        volume_id = self.cinder.IMAGE_BACKED_VOL
        server = self.boot_from_volume(volume_id, networks='none')
        nova = self.nova_meta(server)
        self.assertEqual('volume', self.xpath(nova,
                                              'string(nova:root/@type)'))
        self.assertEqual(volume_id, self.xpath(nova,
                                               'string(nova:root/@uuid)'))
        devices = self.xpath(self.ndm_meta(server),
                             'ndm:blockDevices/ndm:blockDevice')
        self.assertEqual(
            [('volume', 'volume', volume_id, '0', 'vda')],
            [(d.get('source'), d.get('destination'), d.get('volume'),
              d.get('bootIndex'), d.get('device')) for d in devices])

    def test_metadata_parses_back_into_objects(self):
        server = self._create_server(name='parse-me', networks='auto')
        nova = nova_instance.NovaInstance()
        nova.parse_dom(self.nova_meta(server))
        self.assertEqual('parse-me', nova.name)
        self.assertEqual(metadata.NOVA_NS, nova.ns_uri)
        self.assertEqual(self.canonical(self.nova_meta(server)),
                         nova.to_xml(pretty_print=False))

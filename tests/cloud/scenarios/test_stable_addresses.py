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

"""A hot-plugged port keeps its address through hard reboot, stop/start.

Nova throws the domain away and defines it anew for both; stock Nova lets
libvirt assign addresses again, in a new order.  A port rather than a
volume: this cloud has no Cinder (tests/cloud/README.rst says why).
The addresses are compared as the real tier does
(:func:`tests.real.base.addresses_from_xml`, persistent definition).
"""

from tests.cloud.scenarios import base
from tests.real import base as real_base


class StableAddressesTest(base.ScenarioTest):

    def addresses(self, server):
        xml = self.virsh('dumpxml', '--inactive',
                         server['OS-EXT-SRV-ATTR:instance_name'])
        return real_base.addresses_from_xml(xml)

    def attach_port(self, server_id):
        port = self.cloud.post('network', '/v2.0/ports', {'port': {
            'network_id': self.facts['networks']['private'],
            'name': 'ndm-cloud-hotplug'}})['port']
        self.cloud.post('compute', '/servers/%s/os-interface' % server_id,
                        {'interfaceAttachment': {'port_id': port['id']}})

        def attached():
            found = self.cloud.get('compute', '/servers/%s/os-interface'
                                   % server_id)['interfaceAttachments']
            return any(a['port_id'] == port['id'] and
                       a['port_state'] == 'ACTIVE' for a in found)
        self.wait_for(attached, 'port %s attached' % port['id'])
        return port

    def test_hard_reboot_and_stop_start_keep_addresses(self):
        server = self.boot('addresses')
        port = self.attach_port(server['id'])
        server = self.wait_for_status(server['id'], 'ACTIVE')
        before = self.addresses(server)
        self.assertIn('interface:%s' % port['mac_address'], before)

        self.action(server['id'], {'reboot': {'type': 'HARD'}})
        server = self.wait_for_status(server['id'], 'ACTIVE')
        self.assertEqual(before, self.addresses(server),
                         'device addresses changed by a hard reboot')

        self.action(server['id'], {'os-stop': None})
        self.wait_for_status(server['id'], 'SHUTOFF')
        self.action(server['id'], {'os-start': None})
        server = self.wait_for_status(server['id'], 'ACTIVE')
        self.assertEqual(before, self.addresses(server),
                         'device addresses changed by stop and start')

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

"""Renames, floating IPs and tags reach the domain without a reboot.

None of them goes through the virt driver; nova-compute's reconciler
(a periodic task, its interval set to a few seconds for the tier) writes
them into the live and the persistent definition.
"""

import time

from testtools import content

from tests.cloud import nova
from tests.cloud.scenarios import base

# Generous: the reconciler runs every RECONCILE_INTERVAL seconds on a
# machine other work keeps busy; how long it took is reported, not judged.
FOLLOW_TIMEOUT = 20 * nova.RECONCILE_INTERVAL


class MetadataFollowsTest(base.ScenarioTest):

    def _follows(self, server, namespace, check):
        """Wait until ``check(element)`` holds live and persistent.

        The elements come from ``virsh metadata`` (no namespace prefixes);
        returns how long it took.
        """
        started = time.monotonic()

        def holds():
            found = [self.metadata(server, namespace, live)
                     for live in (True, False)]
            return all(e is not None and check(e) for e in found)
        self.wait_for(holds, 'the change in %s, live and persistent'
                      % namespace, timeout=FOLLOW_TIMEOUT, interval=0.5)
        return time.monotonic() - started

    def _port(self, server_id):
        ports = self.cloud.get('network', '/v2.0/ports',
                               params={'device_id': server_id})['ports']
        self.assertEqual(1, len(ports))
        return ports[0]

    def test_rename_floating_ip_and_tag_follow(self):
        server = self.boot('follow')
        took = {}
        new_name = server['name'] + '-renamed'
        self.cloud.call('PUT', 'compute', '/servers/%s' % server['id'],
                        json={'server': {'name': new_name}})
        took['rename'] = self._follows(
            server, base.NOVA_NS, lambda e: e.findtext('name') == new_name)

        fip = self.cloud.post('network', '/v2.0/floatingips', {
            'floatingip': {'floating_network_id':
                           self.facts['networks']['public']}})['floatingip']
        self.addCleanup(self.cloud.call, 'DELETE', 'network',
                        '/v2.0/floatingips/%s' % fip['id'])
        self.cloud.call('PUT', 'network', '/v2.0/floatingips/%s' % fip['id'],
                        json={'floatingip': {
                            'port_id': self._port(server['id'])['id']}})
        address = fip['floating_ip_address']
        took['floating IP associated'] = self._follows(
            server, base.NOVA_NS, lambda e: address in _floating(e))

        self.cloud.call('PUT', 'compute', '/servers/%s/tags/ndm-cloud-tag'
                        % server['id'])
        took['tag'] = self._follows(
            server, base.NDM_NS,
            lambda e: 'ndm-cloud-tag' in [t.text for t in
                                          e.iterfind('tags/tag')])

        self.cloud.call('PUT', 'network', '/v2.0/floatingips/%s' % fip['id'],
                        json={'floatingip': {'port_id': None}})
        took['floating IP disassociated'] = self._follows(
            server, base.NOVA_NS, lambda e: address not in _floating(e))
        self.addDetail('seconds until the metadata followed', content.
                       text_content(', '.join('%s %.1f s' % kv
                                              for kv in took.items())))


def _floating(element):
    """Floating IPs in a <nova:instance> read back without namespace."""
    return {ip.get('address') for ip in element.iter('ip')
            if ip.get('type') == 'floating'}

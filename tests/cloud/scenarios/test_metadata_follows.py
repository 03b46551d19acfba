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
them into the live and the persistent definition.  Each change must be in
the domain once the first reconciler pass that began after Nova knew of
it has ended, that is within one reconciler interval: passes are counted
in nova-compute's log, not timed.
"""

import re
import time

from testtools import content

from tests.cloud import nova
from tests.cloud.scenarios import base

# Only a bound for a broken reconciler; the check counts passes.
PASSES_TIMEOUT = 30 * nova.RECONCILE_INTERVAL
# A pass that looked at every domain: none busy with an operation.
_CLEAN_PASS = re.compile(r'Domain metadata reconciler pass: .*\bbusy=0\b'
                         r'.*\berrors=0\b')


class MetadataFollowsTest(base.ScenarioTest):

    def _clean_passes_since(self, offset):
        return len(_CLEAN_PASS.findall(self.compute_log()[offset:]))

    def _follows(self, server, namespace, check, offset):
        """Assert ``check(element)`` holds live and persistent in time.

        ``offset``: the size of nova-compute's log when Nova knew of the
        change.  The second clean pass ending after it began after it.
        The elements come from ``virsh metadata`` (no namespace
        prefixes); returns how long it took.
        """
        started = time.monotonic()
        self.wait_for(lambda: self._clean_passes_since(offset) >= 2,
                      'two reconciler passes', timeout=PASSES_TIMEOUT,
                      interval=0.5)
        for live in (True, False):
            element = self.metadata(server, namespace, live)
            self.assertIsNotNone(element, 'no %s metadata' % namespace)
            self.assertTrue(
                check(element), '%s metadata (%s) not updated by the first '
                'reconciler pass that began after the change' % (
                    namespace, 'live' if live else 'persistent'))
        return time.monotonic() - started

    def _log_offset(self):
        return len(self.compute_log())

    def _fixed_ip_floating(self, server_id, address):
        """Whether Nova's network info shows ``address`` as floating."""
        addresses = self.server(server_id)['addresses']
        return any(a['addr'] == address and
                   a['OS-EXT-IPS:type'] == 'floating'
                   for addrs in addresses.values() for a in addrs)

    def _port(self, server_id):
        ports = self.cloud.get('network', '/v2.0/ports',
                               params={'device_id': server_id})['ports']
        self.assertEqual(1, len(ports))
        return ports[0]

    def test_rename_floating_ip_and_tag_follow(self):
        server = self.boot('follow')
        took = {}
        new_name = server['name'] + '-renamed'
        # The API has stored it when it answers.
        self.cloud.call('PUT', 'compute', '/servers/%s' % server['id'],
                        json={'server': {'name': new_name}})
        took['rename'] = self._follows(
            server, base.NOVA_NS, lambda e: e.findtext('name') == new_name,
            self._log_offset())

        fip = self.cloud.post('network', '/v2.0/floatingips', {
            'floatingip': {'floating_network_id':
                           self.facts['networks']['public']}})['floatingip']
        self.addCleanup(self.cloud.call, 'DELETE', 'network',
                        '/v2.0/floatingips/%s' % fip['id'])
        self.cloud.call('PUT', 'network', '/v2.0/floatingips/%s' % fip['id'],
                        json={'floatingip': {
                            'port_id': self._port(server['id'])['id']}})
        address = fip['floating_ip_address']
        # Neutron tells Nova (network-changed); Nova refreshes its cache.
        self.wait_for(lambda: self._fixed_ip_floating(server['id'], address),
                      'the floating IP in the compute API')
        took['floating IP associated'] = self._follows(
            server, base.NOVA_NS, lambda e: address in _floating(e),
            self._log_offset())

        self.cloud.call('PUT', 'compute', '/servers/%s/tags/ndm-cloud-tag'
                        % server['id'])
        took['tag'] = self._follows(
            server, base.NDM_NS,
            lambda e: 'ndm-cloud-tag' in [t.text for t in
                                          e.iterfind('tags/tag')],
            self._log_offset())

        self.cloud.call('PUT', 'network', '/v2.0/floatingips/%s' % fip['id'],
                        json={'floatingip': {'port_id': None}})
        self.wait_for(
            lambda: not self._fixed_ip_floating(server['id'], address),
            'the floating IP gone from the compute API')
        took['floating IP disassociated'] = self._follows(
            server, base.NOVA_NS, lambda e: address not in _floating(e),
            self._log_offset())
        self.addDetail('seconds until the metadata was checked', content.
                       text_content(', '.join('%s %.1f s' % kv
                                              for kv in took.items())))


def _floating(element):
    """Floating IPs in a <nova:instance> read back without namespace."""
    return {ip.get('address') for ip in element.iter('ip')
            if ip.get('type') == 'floating'}

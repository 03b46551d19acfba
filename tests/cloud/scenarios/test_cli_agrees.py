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

"""``nova-domain-meta list/show/check`` on the host agree with the API."""

import json
import os
import subprocess

from tests.cloud.scenarios import base
from tests.cloud import tier as tier_mod


class CliAgreesTest(base.ScenarioTest):

    def cli(self, *args, status=0):
        proc = subprocess.run(
            [os.path.join(tier_mod.BIN, 'nova-domain-meta'), '--connect',
             self.facts['libvirt_uri']] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=120)
        self.assertEqual(status, proc.returncode,
                         'nova-domain-meta %s: %s%s' % (
                             ' '.join(args), proc.stdout, proc.stderr))
        return proc.stdout

    def test_list_show_check_agree_with_the_api(self):
        self.boot('cli')
        self.boot('cli-power', flavor='ndm.power')
        servers = self.cloud.get('compute', '/servers/detail',
                                 params={'all_tenants': 1})['servers']
        servers = [s for s in servers if s['status'] == 'ACTIVE']
        self.assertGreaterEqual(len(servers), 2)
        rows = json.loads(self.cli('list', '--nova-only', '-f', 'json'))
        listed = {row['UUID']: row for row in rows}
        for server in servers:
            self.assertIn(server['id'], listed)
            row = listed[server['id']]
            self.assertEqual(server['OS-EXT-SRV-ATTR:instance_name'],
                             row['Name'])
            self.assertEqual(server['name'], row['Display Name'])
            self.assertEqual(server['flavor']['original_name'],
                             row['Flavor'])
            self.assertEqual(server['tenant_id'], row['Project ID'])
            self.assertEqual(server['user_id'], row['User ID'])
            fixed = sorted(a['addr'] for addrs in server['addresses']
                           .values() for a in addrs
                           if a['OS-EXT-IPS:type'] == 'fixed')
            self.assertEqual(fixed, sorted(_split(row['Fixed IPs'])))
            floating = sorted(a['addr'] for addrs in server['addresses']
                              .values() for a in addrs
                              if a['OS-EXT-IPS:type'] == 'floating')
            self.assertEqual(floating, sorted(_split(row['Floating IPs'])))
            shown = json.loads(self.cli('show', server['id'], '-f', 'json'))
            self.assertEqual(server['id'], shown['uuid'])
            self.assertEqual(server['name'], shown['display_name'])
            self.assertEqual(server['flavor']['original_name'],
                             shown['flavor'])
        self.cli('check')


def _split(value):
    if isinstance(value, list):
        return value
    return [v.strip() for v in (value or '').replace(',', ' ').split()
            if v.strip()]

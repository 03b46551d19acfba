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

"""Deleting every server leaves no view, directory or mount behind.

Run last.  Mounts are looked for in every mount namespace of the machine:
the tier's, libvirtd's, and any other (virtiofsd sandboxes included), by
mount point and by the directory a bind mount shows.
"""

import os
import subprocess

from tests.cloud.scenarios import base


class CleanupTest(base.ScenarioTest):

    def test_deleting_every_server_leaves_nothing(self):
        share_dir = self.facts['devstack_env']['NOVA_DOMAIN_META_SHARE_DIR']
        view_dir = self.facts['devstack_env'][
            'NOVA_DOMAIN_META_SHARE_VIEW_DIR']
        self.boot('cleanup-power', flavor='ndm.power')
        servers = self.cloud.get('compute', '/servers',
                                 params={'all_tenants': 1})['servers']
        self.assertTrue(servers)
        for server in servers:
            self.cloud.call('DELETE', 'compute', '/servers/%s' % server['id'])
        for server in servers:
            self.wait_for(lambda: not self.exists(server['id']),
                          'deletion of %s' % server['id'])
        self.assertEqual('', self.virsh('list', '--all', '--name').strip())
        # The views' own tmpfs stays, empty, for the next guest (the
        # privileged daemon makes it once); nothing may be mounted in it.
        left = base.mounts_below([share_dir, view_dir])
        self.assertEqual([], [(ns, point) for ns, point in left
                              if point != view_dir])
        for ns, point in left:
            self.assertEqual('', self.run_in_namespace(ns, ['ls', '-A',
                                                            point]))
        self.assertEqual([], sorted(os.listdir(share_dir)))
        self.assertEqual([], sorted(os.listdir(view_dir)))

    def run_in_namespace(self, ns, argv):
        pid = base.mount_namespaces()[ns]
        return subprocess.run(['nsenter', '--mount=/proc/%d/ns/mnt' % pid]
                              + argv, check=True, capture_output=True,
                              text=True).stdout.strip()

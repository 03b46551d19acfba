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

"""nova-compute restarts, and a host reboot, with a power-metrics guest.

A restart must leave the running guest and its share alone and come back
without errors.  A host reboot is simulated as far as one machine allows:
nova-compute and the guest stop, the read-only views disappear (they are
mounts; a reboot leaves none), and nova-compute starts with
``[DEFAULT] resume_guests_state_on_host_boot = True``: the guest must come
back with a working read-only share.
"""

import subprocess

from tests.cloud import ini
from tests.cloud import nova
from tests.cloud import process
from tests.cloud.scenarios import base

#: Logged (at DEBUG, which the tier sets) by nova.service.Service.start
#: right after the manager's init_host has returned.
INIT_HOST_DONE = 'Creating RPC server for service: nova-compute'


class ComputeRestartTest(base.ScenarioTest):

    def restart_compute(self):
        daemon = self.tier.find('nova-compute')
        daemon.stop()
        # In characters, as compute_log() reads it (not bytes).
        log_size = len(self.compute_log())
        daemon.start()

        # Nova's service starts its RPC server once the manager's
        # init_host has returned: the driver's init_host (where the plugin
        # says what it shares) and then every instance's _init_instance,
        # which at host boot resumes guests by a hard reboot.  Until then
        # a resumed guest's domain may not exist (the reboot undefines it
        # and defines it anew).
        daemon.wait_until(
            lambda: INIT_HOST_DONE in self.compute_log()[log_size:],
            'nova-compute started again (init_host done)', 300, interval=1)
        log = self.compute_log()[log_size:]
        self.assertIn('read-only with guests', log.split(INIT_HOST_DONE)[0])
        return log_size

    def errors_since(self, offset):
        return process.log_errors(self.compute_log()[offset:])

    def views(self):
        """[(mount namespace, mount point)] of the read-only views."""
        view_dir = self.facts['devstack_env'][
            'NOVA_DOMAIN_META_SHARE_VIEW_DIR']
        return sorted(set(base.mounts_below([view_dir])))

    def compute_running_again(self):
        """Leave nova-compute running for the scenarios after this one."""
        if not self.tier.find('nova-compute').running():
            self.restart_compute()

    def test_restart_then_host_reboot(self):
        server = self.boot('restart', flavor='ndm.power')
        # Runs before the server's own clean-up (last added, first run):
        # deleting it needs nova-compute up.
        self.addCleanup(self.compute_running_again)
        self.assert_share_read_only(server['id'],
                                    self.console_report(server['id']))
        name = server['OS-EXT-SRV-ATTR:instance_name']
        views_before = self.views()
        self.assertTrue(views_before, 'no read-only view is mounted')

        offset = self.restart_compute()
        self.wait_for(lambda: self._reconciled_since(offset),
                      'a reconciler pass after the restart', 120)
        self.assertEqual([], self.errors_since(offset))
        self.assertIn('running', self.virsh('domstate', name))
        self.assertEqual(views_before, self.views())
        self.assertEqual('ACTIVE', self.server(server['id'])['status'])

        # The host goes down: nova-compute and the guest stop, the views
        # go away with every other mount.
        domain_id = self.virsh('domid', name).strip()
        self.tier.find('nova-compute').stop()
        self.virsh('destroy', name)
        view_dir = self.facts['devstack_env'][
            'NOVA_DOMAIN_META_SHARE_VIEW_DIR']
        # Each view, then the tmpfs holding them (a reboot takes it away
        # too), in every mount namespace that has them: the tier's, and
        # libvirtd's, where the privileged daemon makes them.
        pids = base.mount_namespaces()
        for ns, point in sorted(self.views(), key=lambda v: -len(v[1])):
            if point == view_dir or point.startswith(view_dir + '/'):
                subprocess.run(['nsenter', '--mount=/proc/%d/ns/mnt'
                                % pids[ns], 'umount', point], check=False)
        self.assertEqual([], self.views())

        ini.update(nova.COMPUTE_CONF, 'DEFAULT',
                   'resume_guests_state_on_host_boot', ['True'])
        self.addCleanup(ini.update, nova.COMPUTE_CONF, 'DEFAULT',
                        'resume_guests_state_on_host_boot', ['False'])
        offset = self.restart_compute()
        # init_host is over: Nova has resumed the guest, or failed to.
        self.assertIn('[instance: %s] Instance rebooted successfully.'
                      % server['id'], self.compute_log()[offset:])
        self.assertIn('running', self.virsh('domstate', name))
        # The guest's report after the host boot reads exactly as before
        # it (same UUID, same results), so no text tells the two apart.
        # What does: a new QEMU (a new domain id) whose console log
        # libvirt truncated when it started (append='off'), before Nova
        # logged the reboot done; any report in it is the new boot's.
        self.assertNotEqual(domain_id, self.virsh('domid', name).strip())
        logs = self.domain_xml(server).findall('./devices/console/log')
        self.assertEqual(['off'], [log.get('append') for log in logs])
        report = self.console_report(server['id'])
        self.assert_share_read_only(server['id'], report)
        self.assertTrue(self.views(), 'no view after the host boot')
        self.assertEqual([], self.errors_since(offset))

    def _reconciled_since(self, offset):
        return 'Domain metadata reconciler pass' in \
            self.compute_log()[offset:]

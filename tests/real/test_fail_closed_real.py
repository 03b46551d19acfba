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

"""The power-metrics share fails closed, shown with real guests.

Issue 17: virtiofsd serves whatever is at the view's path in the libvirt
daemon's mount namespace.  When the read-only mount is not there (it was
unmounted, the host rebooted, or nova-compute mounted it in a namespace
libvirtd does not see), the guest used to get a bare host directory,
writable.  Each test starts a guest whose ``<filesystem>`` is the one the
driver writes (``<share_view_dir>/<domain>/scaphandre``), on the private
libvirtd, with the view in one of those states, made by the plugin's own
privileged helpers (run here as root):

* the view made and mounted (the control);
* the view's mount gone, its directory left (what ``umount`` leaves);
* after a reboot: the tmpfs at ``share_view_dir`` gone with everything
  in it;
* the view mounted only in another mount namespace (nova-compute in a
  container without shared propagation), the tmpfs shared;
* the tmpfs and the view both only in the other namespace.

The guest must not start, or must see nothing it can write; the host's
directory must be untouched.  What each guest saw (or libvirt's refusal)
is attached as the detail ``what the guest saw``.  The plugin's own
check (``readonly_problems``, run before Nova starts a domain and by the
start-up probe) must also refuse every state but the control, including
from inside the other namespace, where it reads libvirtd's mount table.

:class:`PluginRefusesTest` starts guests the way the driver's
``_create_guest`` does: the plugin's share service (started as
nova-compute starts it, against the private libvirtd) runs
``before_create`` with the domain's XML, and the domain is defined and
started only if that passes.  Each starts with the view in a state it
must refuse:

* a writable mount at the view's path (of the guest's directory, or of
  another directory), which propagates to the guest's directory (the
  view is a copy of its mount) and to libvirtd's namespace: the daemon
  finds a mount where the guest's directory should be;
* the host no longer offering the share (``share_local_fs`` removed and
  nova-compute restarted) while the domain's XML still has it, the view
  missing: an unrescue or a ``virsh``-style start of the saved XML;
* the guest's directory a symbolic link to a directory outside the
  shared directory, or the guest's view directory a symbolic link into
  the shared directory (paths escaping their directory).

The guest must never be defined, nothing may be mounted for it, and
the directories planted must be untouched.
"""

import json
import os
import subprocess
import sys

import fixtures
import libvirt
from nova.compute import vm_states
from nova import objects
from nova.virt.libvirt import host as nova_host
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from testtools import content

from nova_domain_meta import privsep
from nova_domain_meta.share import host as share_host
from nova_domain_meta.share import linux
from nova_domain_meta.share import request
from nova_domain_meta.share import service as share_service
from nova_domain_meta.share import vconfig as share_vconfig
from tests.real import base
from tests.real import test_harness
from tests.real import test_power_metrics_real

CONF = cfg.CONF
TAG = 'scaphandre'
ENERGY = '123456789'

#: Every way to change the share; each must fail.
GUEST_SCRIPT = test_power_metrics_real.ATTEMPT + r'''
M=/mnt/share
mkdir -p $M
if mount -t virtiofs %(tag)s $M 2>/tmp/err; then
    result mount ok
else
    result mount failed: $(cat /tmp/err)
    exit 0
fi
result entries $(ls -A $M | tr '\n' ' ')end
attempt create 'echo x > $M/created'
attempt mkdir 'mkdir $M/newdir'
attempt chmod 'chmod 777 $M'
attempt symlink 'ln -s /etc/passwd $M/link'
attempt fifo 'mkfifo $M/fifo'
result entries-after $(ls -A $M | tr '\n' ' ')end
'''

WRITES = ('create', 'mkdir', 'chmod', 'symlink', 'fifo')

#: Run by ``unshare --mount --propagation private``: makes the view as
#: nova-compute's privileged daemon would, in that namespace only, says
#: what the plugin's check sees from there, and waits until told to end.
OTHER_NAMESPACE = r'''
import json, sys
from oslo_config import cfg
from nova_domain_meta.share import host, privileged
share_dir, view_dir, name, uri, with_root = sys.argv[1:6]
cfg.CONF([], project='nova', default_config_files=[])
cfg.CONF.set_override('share_local_fs', {share_dir: %(tag)r},
                      group='domain_meta')
cfg.CONF.set_override('share_view_dir', view_dir, group='domain_meta')
if with_root == 'yes':
    privileged.prepare_view_root()
path = privileged.make_view(name, %(tag)r).path
print(json.dumps({'view': path,
                  'problems': host.readonly_problems([path], uri)}),
      flush=True)
sys.stdin.read()
''' % {'tag': TAG}


class ViewTestBase(base.RealLibvirtTestCase):
    """A guest's directory with what Scaphandre writes, and its view."""

    def setUp(self):
        super().setUp()
        self.share_dir = os.path.join(self.workdir, 'scaphandre')
        self.view_dir = os.path.join(self.workdir, 'views')
        os.mkdir(self.share_dir)
        self.useFixture(config_fixture.Config(CONF))
        CONF([], project='nova', default_config_files=[])
        CONF.set_override('share_local_fs', {self.share_dir: TAG},
                          group='domain_meta')
        CONF.set_override('share_view_dir', self.view_dir,
                          group='domain_meta')
        # The privileged helpers run here, as root, for real.
        self.useFixture(fixtures.MockPatchObject(
            privsep.sys_admin_pctxt, 'client_mode', False))
        self.name = self.unique_name('fc')
        self.view = os.path.join(self.view_dir, self.name, TAG)
        # Runs before the base class removes the work directory.
        self.addCleanup(self._remove_views)
        privsep.ensure_guest_directory(self.share_dir, self.name)
        rapl = os.path.join(self.share_dir, self.name, 'intel-rapl:0')
        os.mkdir(rapl)
        with open(os.path.join(rapl, 'energy_uj'), 'w') as f:
            f.write(ENERGY + '\n')
        self.guest_tree = self.tree(os.path.join(self.share_dir,
                                                 self.name))

    def _remove_views(self):
        self._remove_domains()
        if os.path.isdir(self.view_dir):
            privsep.remove_view(self.name, TAG)
        for line in reversed(open('/proc/self/mountinfo').readlines()):
            point = line.split()[4]
            if point.startswith(self.view_dir):
                subprocess.run(['umount', '--lazy', point])

    @staticmethod
    def tree(path):
        found = []
        for top, dirs, files in os.walk(path):
            for name in sorted(dirs + files):
                found.append(os.path.relpath(os.path.join(top, name), path))
        return sorted(found)

    def domain_xml(self, name=None):
        """The driver's share device and memory, on the tiny guest."""
        name = name or self.name
        fs = share_vconfig.LibvirtConfigGuestVirtiofs()
        fs.source_dir = os.path.join(self.view_dir, name, TAG)
        fs.target_dir = TAG
        guest = test_harness.nova_like_guest(name, extra_devices=[fs])
        backing = share_vconfig.LibvirtConfigGuestSharedMemoryBacking()
        backing.memfd = backing.sharedaccess = True
        guest.membacking = backing
        xml, _changes = self.adjust(guest.to_xml(), GUEST_SCRIPT % {
            'tag': TAG})
        return xml

    def start_guest(self):
        """Start the guest; return what it reported, or libvirt's refusal.

        Also returns the plugin's own verdict on the view.
        """
        problems = share_host.readonly_problems([self.view],
                                                self.daemon.uri)
        dom = self.define(self.domain_xml())
        try:
            dom.create()
        except libvirt.libvirtError as e:
            return ['libvirt refused to start the guest: %s' % e], problems
        return self.results(self.wait_for_guest_done(dom)), problems

    def record(self, seen, problems):
        self.addDetail('what the guest saw', content.text_content(
            '\n'.join(seen)))
        self.addDetail('plugin check', content.text_content(
            json.dumps(problems)))

    def assert_host_untouched(self):
        self.assertEqual(self.guest_tree, self.tree(
            os.path.join(self.share_dir, self.name)))
        if os.path.isdir(self.view) and not linux.mount_table().get(
                self.view):
            self.assertEqual([], os.listdir(self.view))

    def assert_nothing_writable(self, seen):
        self.assertIn('mount ok', seen)
        self.assertIn('entries end', seen)
        self.assertIn('entries-after end', seen)
        writes = [line for line in seen if line.startswith('write ')]
        self.assertEqual(len(WRITES), len(writes), seen)
        for line in writes:
            self.assertIn(' failed: ', line)

    def assert_not_started(self, seen):
        self.assertEqual(1, len(seen), seen)
        self.assertTrue(seen[0].startswith('libvirt refused'), seen)


class FailClosedTest(ViewTestBase):
    """Guests started by libvirt alone, outside Nova."""

    def test_control_view_mounted(self):
        privsep.make_view(self.name, TAG)
        seen, problems = self.start_guest()
        self.record(seen, problems)
        self.assertEqual([], problems)
        self.assertIn('mount ok', seen)
        self.assertIn('entries intel-rapl:0 end', seen)
        for line in [s for s in seen if s.startswith('write ')]:
            self.assertIn('Read-only file system', line)
        self.assert_host_untouched()

    def test_view_unmounted(self):
        privsep.make_view(self.name, TAG)
        parent = os.open(os.path.dirname(self.view), linux.DIR)
        try:
            linux.umount_entry(parent, TAG)
        finally:
            os.close(parent)
        seen, problems = self.start_guest()
        self.record(seen, problems)
        self.assertEqual(['%s is not a read-only mount' % self.view],
                         problems)
        self.assert_nothing_writable(seen)
        self.assert_host_untouched()

    def test_after_a_reboot(self):
        privsep.make_view(self.name, TAG)
        # A reboot takes the tmpfs, and every view in it.
        subprocess.run(['umount', '--recursive', self.view_dir],
                       check=True)
        self.assertEqual([], os.listdir(self.view_dir))
        seen, problems = self.start_guest()
        self.record(seen, problems)
        self.assertEqual(['%s is not a read-only mount' % self.view],
                         problems)
        self.assert_not_started(seen)
        self.assertIn(self.view, seen[0])
        self.assert_host_untouched()

    def _in_other_namespace(self, with_root):
        proc = subprocess.Popen(
            ['unshare', '--mount', '--propagation', 'private', '--',
             sys.executable, '-c', OTHER_NAMESPACE, self.share_dir,
             self.view_dir, self.name, self.daemon.uri, with_root],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            cwd=base.daemon_mod.REPO_ROOT, universal_newlines=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.stdin.close)
        line = proc.stdout.readline()
        self.assertTrue(line, 'the other namespace made no view')
        return json.loads(line)

    def test_view_only_in_another_namespace(self):
        privsep.prepare_view_root()
        there = self._in_other_namespace(with_root='no')
        # From inside that namespace, the plugin's check sees the view
        # read-only there but not in libvirtd's mount table.
        self.assertEqual(1, len(there['problems']), there)
        self.assertIn('not read-only where virtiofsd runs',
                      there['problems'][0])
        seen, problems = self.start_guest()
        self.record(seen, problems + there['problems'])
        self.assert_nothing_writable(seen)
        self.assert_host_untouched()

    def test_view_and_tmpfs_only_in_another_namespace(self):
        there = self._in_other_namespace(with_root='yes')
        self.assertEqual(1, len(there['problems']), there)
        seen, problems = self.start_guest()
        self.record(seen, problems + there['problems'])
        self.assert_not_started(seen)
        self.assert_host_untouched()


class PluginRefusesTest(ViewTestBase):
    """Guests started through the plugin's check, as the driver does."""

    def setUp(self):
        super().setUp()
        CONF.set_override('instance_name_template',
                          'real-%d-fcp-%%08x' % os.getpid())
        number = next(base._NAMES)
        self.instance = objects.Instance(
            id=number, uuid='fa11c105-0000-4000-8000-%012x' % number,
            flavor=objects.Flavor(extra_specs={request.EXTRA_SPEC: 'true'}),
            system_metadata={}, vm_state=vm_states.ACTIVE, task_state=None,
            host='fail-closed-host', deleted=False)
        self.guest_name = self.instance.name
        self.guest_view = os.path.join(self.view_dir, self.guest_name, TAG)
        self.addCleanup(self._remove_guest_views)

    def _remove_guest_views(self):
        self._remove_domains()
        parent = os.path.join(self.view_dir, self.guest_name)
        if os.path.islink(parent):
            os.unlink(parent)
        elif os.path.isdir(parent):
            privsep.remove_view(self.guest_name, TAG)

    def shares(self):
        """The plugin's share service, started as nova-compute starts it."""
        host = nova_host.Host(self.daemon.uri)
        self.useFixture(fixtures.MockPatchObject(
            host, 'get_connection', return_value=self.conn))
        shares = share_service.PowerMetricsShares(host)
        shares.start(CONF, 'fail-closed-host')
        return shares

    def start_through_plugin(self, shares):
        """Start the guest as ``_create_guest`` does; return what it saw."""
        xml = self.domain_xml(self.guest_name)
        try:
            shares.before_create(self.instance, xml)
        except share_host.UnsafeShare as e:
            return ['the plugin refused to start the guest: %s' % e]
        dom = self.define(xml)
        dom.create()
        return self.results(self.wait_for_guest_done(dom))

    def assert_refused(self, seen, *why):
        self.addDetail('what the guest saw', content.text_content(
            '\n'.join(seen)))
        self.assertEqual(1, len(seen), seen)
        self.assertTrue(seen[0].startswith('the plugin refused'), seen)
        for reason in why:
            self.assertIn(reason, seen[0])
        self.assertNotIn(self.guest_name, self.conn.listDefinedDomains())
        self.assertNotIn(self.guest_name, [
            d.name() for d in self.conn.listAllDomains()])

    def bind(self, source, target):
        """A writable bind mount of ``source`` on ``target``.

        It propagates as a mount there would: the view is a copy of the
        guest's directory's mount, so the new mount shows at the guest's
        directory too, and in libvirtd's namespace.
        """
        subprocess.run(['mount', '--bind', source, target], check=True)
        self.addCleanup(subprocess.run, ['umount', '--lazy', target])

    def test_writable_mount_of_the_guest_directory_at_the_view(self):
        shares = self.shares()
        self.assertTrue(shares.available, shares.unavailable)
        privsep.ensure_guest_directory(self.share_dir, self.guest_name)
        privsep.make_view(self.guest_name, TAG)
        self.bind(os.path.join(self.share_dir, self.guest_name),
                  self.guest_view)
        seen = self.start_through_plugin(shares)
        self.assert_refused(seen, 'is a mount point')

    def test_writable_mount_of_another_directory_at_the_view(self):
        shares = self.shares()
        elsewhere = os.path.join(self.workdir, 'elsewhere')
        os.mkdir(elsewhere)
        privsep.ensure_guest_directory(self.share_dir, self.guest_name)
        privsep.make_view(self.guest_name, TAG)
        self.bind(elsewhere, self.guest_view)
        seen = self.start_through_plugin(shares)
        self.assert_refused(seen, 'is a mount point')
        self.assertEqual([], os.listdir(elsewhere))

    def test_share_no_longer_offered_and_the_view_missing(self):
        CONF.set_override('share_local_fs', {}, group='domain_meta')
        shares = self.shares()
        self.assertFalse(shares.available)
        seen = self.start_through_plugin(shares)
        self.assert_refused(seen, '%s is not a read-only mount' %
                            self.guest_view)
        self.assertFalse(os.path.lexists(os.path.join(
            self.share_dir, self.guest_name)))

    def test_guest_directory_a_link_out_of_the_shared_directory(self):
        shares = self.shares()
        elsewhere = os.path.join(self.workdir, 'elsewhere')
        os.mkdir(elsewhere)
        os.symlink(elsewhere, os.path.join(self.share_dir, self.guest_name))
        seen = self.start_through_plugin(shares)
        self.assert_refused(seen)
        self.assertEqual([], test_power_metrics_real.mount_lines(
            os.path.join(self.view_dir, self.guest_name)))
        self.assertEqual([], os.listdir(elsewhere))
        self.assertTrue(os.path.islink(os.path.join(self.share_dir,
                                                    self.guest_name)))

    def test_view_directory_a_link_into_the_shared_directory(self):
        shares = self.shares()
        os.mkdir(os.path.join(self.share_dir, self.guest_name))
        # Planted as root in the daemon's tmpfs: the view path would
        # lead virtiofsd to the guest's writable directory.
        os.symlink(self.share_dir, os.path.join(self.view_dir,
                                                self.guest_name))
        seen = self.start_through_plugin(shares)
        self.assert_refused(seen)
        self.assertTrue(os.path.islink(os.path.join(self.view_dir,
                                                    self.guest_name)))
        self.assertEqual([], test_power_metrics_real.mount_lines(
            self.share_dir))

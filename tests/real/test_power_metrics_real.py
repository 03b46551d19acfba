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

"""The power-metrics share, proven with real mounts in real guests.

Issue 5 asks that a guest write to its power-metrics share fail, shown in
a real guest.  The functional tests (``tests/functional/
test_power_metrics.py``) replace ``mount`` by a table; here nothing about
the share is faked:

1. **Nova, in this process** (:class:`PowerMetricsScenario`, Nova's
   functional framework with ``compute_driver = domain_meta.LibvirtDriver``
   against Nova's fake libvirt): ``[domain_meta] share_local_fs`` and
   ``share_view_dir`` point into this test's directory under the private
   daemon's shared tree, so mounts made here reach the daemon's mount
   namespace and virtiofsd.  The privsep entry points run in this process
   as root (``client_mode = False``) and make real mounts: the tmpfs at
   ``share_view_dir`` and the start-up probe, the per-guest directory and
   read-only view before define, the unmount and removal at delete.  The
   plugin checks each view in the real daemon's mount namespace.  Two servers
   boot through the API with a flavor ``hw:power_metrics=true``.
2. **The driver's XML on the real daemon**: both domain XMLs (recorded by
   :class:`~tests.functional.fixtures.DomainRecorder`) are made bootable
   by :mod:`tests.real.adjust` alone, which must leave ``<filesystem>``
   and ``<memoryBacking>`` untouched, and both guests boot at once on
   libvirt 9.0 + QEMU 7.2 (TCG): virtiofs with a memfd, no hugepages and
   no memory file.  The view is read-only in libvirtd's mount namespace
   and at the root of the virtiofsd serving the guest.
3. **The host writes what Scaphandre would**,
   ``<dir>/<domain name>/intel-rapl:0/energy_uj``, a different value per
   guest, and later rewrites it in place.
4. **Each guest** mounts its tag, reads its own value (never the
   neighbour's), lists only its own files, cannot reach the neighbour's
   directory through ``..``, fails with "Read-only file system" on every
   kind of change (create, overwrite, append, truncate, delete, mkdir,
   rmdir, rename, chmod, touch, symlink, hard link, fifo), and sees the
   host's in-place update.
5. **Nova deletes the servers through its API** while Nova's services are
   still running: the scenario continues after the real boots (the real
   test is called back from inside it).  The first guest is powered off
   first; the second is still running, and Nova's destroy of its fake
   domain destroys the real one too, so the unmount happens right after
   ``virDomainDestroy``, in the order the driver uses.  Each view must be
   unmounted in this and in the daemon's namespace, without ``--lazy``,
   and ``<dir>/<domain name>`` removed, the other guest's share intact.

:class:`ReadonlyVirtiofsTest` grounds the start-up decision
(``PowerMetricsShares._libvirt_makes_readonly``): libvirt 9.0 refuses
``<readonly/>`` on virtiofs at define time, the very probe domain minus
``<readonly/>`` is accepted, and the version gate answers without asking.

What libvirt 9.0.0 / QEMU 7.2 showed (details of a run: ``driver-xml-*``,
``adjustments-*``, ``serial-*``, ``mountinfo ...``, ``virtiofsd root
mounts``, ``privileged commands ...``, ``phases``):

* adjust.py changes the domain type, ``<os>``, ``<cpu>``, the disk, the
  serial port and VNC, nothing of the share; both guests boot with the
  driver's ``<filesystem>`` and memfd ``<memoryBacking>``.
* Each view is ``ro`` in this process's mount table (a shared mount) and
  in libvirtd's (its slave copy); each guest's virtiofsd (two processes,
  both sandboxed) has the guest's own directory, read-only, as its root.
* In the guest the virtiofs mount itself says ``rw``: the refusal comes
  from the host, as ``EROFS`` for all thirteen kinds of change.  The
  host's in-place rewrite shows in the guest within a poll (0.2 s).
* Nova's delete makes exactly one unmount of ``<view>`` per guest, never
  a lazy one, even for the guest still running when Nova destroyed it:
  libvirt has stopped virtiofsd by the time ``virDomainDestroy`` returns.
* The view is made with Linux's new mount API (a detached copy, made
  read-only, then attached), so no writable copy of a guest directory
  ever appears in libvirtd's namespace; after the deletes, libvirtd's
  mount table and ours hold nothing below ``share_view_dir`` but its
  empty tmpfs.

Domain capabilities: Nova's fake lists neither virtiofs nor memfd, and the
plugin refuses to share without them.  Instead of the hand-written
elements of ``PowerMetricsHostFixture`` (which cannot be taken without its
fake mounts), the scenario grafts the real daemon's own
``<memoryBacking>`` and ``<filesystem>`` capability elements into the
fake's answer, so the driver decides on what this libvirt/QEMU reports.
"""

import collections
import contextlib
import copy
import io
import os
import subprocess
import sys
import time
import unittest

import fixtures
import libvirt
from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.virt.libvirt import host as nova_host
from testtools import content

from nova_domain_meta import privsep
from nova_domain_meta.share import libvirtd
from nova_domain_meta.share import linux
from nova_domain_meta.share import privileged
from nova_domain_meta.share import request
from nova_domain_meta.share import service as share_service
from tests.functional import base as functional_base
from tests.real import base
from tests.real import test_driver_xml
from tests.real import tiny_guest

TAG = 'scaphandre'
GUEST_MOUNT = '/var/scaphandre'
RAPL = 'intel-rapl:0'
#: What each guest reads first, and after the host's in-place update.
ENERGY = {'a': ('111111111', '111222333'), 'b': ('222222222', '222333444')}
READY = 'ready-for-update'
EROFS = 'Read-only file system'

#: Every way a guest could change its share; each must fail with EROFS.
WRITES = collections.OrderedDict([
    ('create', 'sh -c "echo x > $M/created"'),
    ('overwrite', 'sh -c "echo 1 > $M/%s/energy_uj"' % RAPL),
    ('append', 'sh -c "echo 1 >> $M/%s/energy_uj"' % RAPL),
    ('truncate', 'sh -c ": > $M/%s/energy_uj"' % RAPL),
    ('delete', 'rm -f $M/%s/energy_uj' % RAPL),
    ('mkdir', 'mkdir $M/newdir'),
    ('rmdir', 'rmdir $M/%s' % RAPL),
    ('rename', 'mv $M/%s $M/renamed' % RAPL),
    ('chmod', 'chmod 600 $M/%s/energy_uj' % RAPL),
    ('touch', 'touch $M/%s/energy_uj' % RAPL),
    ('symlink', 'ln -s /etc/passwd $M/link'),
    ('hardlink', 'ln $M/%s/energy_uj $M/hard' % RAPL),
    ('fifo', 'mkfifo $M/fifo'),
])

#: Shell: ``attempt WHAT COMMAND`` reports whether COMMAND changed the
#: share (``write WHAT succeeded`` / ``write WHAT failed: <error>``).
ATTEMPT = '''
attempt() {
    what=$1; shift
    if eval "$@" </dev/null 2>/tmp/err; then
        result write $what succeeded
    else
        result write $what failed: $(cat /tmp/err)
    fi
}
'''

#: The guest's side.  %(neighbour)s is the other guest's domain name,
#: %(neighbour_value)s what the host wrote for it.
GUEST_SCRIPT = ATTEMPT + '''
M=%(mount)s
mkdir -p $M
if mount -t virtiofs %(tag)s $M 2>/tmp/err; then
    result mount ok
else
    result mount failed: $(cat /tmp/err)
    exit 1
fi
result guest-mountinfo $(grep " $M " /proc/self/mountinfo)
first=$(cat $M/%(rapl)s/energy_uj)
result energy $first
result tree $(cd $M && find . | sort)
result parent $(ls -A $M/..)
for p in $M/../%(neighbour)s $M/%(rapl)s/../../%(neighbour)s \\
         $M/../../%(neighbour)s /%(neighbour)s; do
    if [ -e "$p" ]; then result reach $p visible
    else result reach $p hidden; fi
done
if grep -rqF %(neighbour_value)s $M; then
    result neighbour-value seen
else
    result neighbour-value unseen
fi
%(writes)s
result energy-after-writes $(cat $M/%(rapl)s/energy_uj)
result tree-after-writes $(cd $M && find . | sort)
result %(ready)s
# The host rewrites the file in place (truncate, then write): a read in
# between sees it empty, which is not the update yet.
i=0
value=$first
while { [ "$value" = "$first" ] || [ -z "$value" ]; } && [ $i -lt 300 ]; do
    usleep 200000
    value=$(cat $M/%(rapl)s/energy_uj)
    i=$((i + 1))
done
result energy-updated $value
wait_for_shutdown_request 300 && result shutdown requested
'''

Guest = collections.namedtuple('Guest', ['label', 'server', 'name', 'xml'])

# Set by the real test before the scenario runs, read by the scenario.
_PLAN = {}
# Filled by the scenario: what it saw, and the callback's exception.
_RESULT = {}


def mount_lines(under, pid='self'):
    """The mountinfo lines of ``pid`` whose mount point is under ``under``."""
    found = []
    with open('/proc/%s/mountinfo' % pid) as f:
        for line in f:
            point = line.split()[4]
            if point == under or point.startswith(under.rstrip('/') + '/'):
                found.append(line.rstrip('\n'))
    return found


def unmount_below(under):
    """Unmount everything mounted below ``under`` here, deepest first."""
    for line in reversed(mount_lines(under)):
        point = line.split()[4]
        if subprocess.run(['umount', point]).returncode:
            subprocess.run(['umount', '--lazy', point])


def mount_options(lines, point):
    """The per-mount options of mount point ``point`` in ``lines``."""
    for line in lines:
        fields = line.split()
        if fields[4] == point:
            return set(fields[5].split(','))
    return None


def tree(path):
    """Every path below ``path``, relative to it, sorted."""
    found = []
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(root, name), path))
    return sorted(found)


def write_energy(path, value):
    """Write ``value`` in place (truncate and write), as an exporter does."""
    with open(path, 'w') as f:
        f.write(value + '\n')


class PowerMetricsScenario(functional_base.DomainMetaTestBase):
    """Nova with a real power-metrics share; see the module docstring.

    Not collected as a test (no ``test_*`` method): :func:`run_scenario`
    runs :meth:`scenario_two_guests`, which hands the booted servers to
    ``_PLAN['on_real_daemon']`` and stays up until that returns.
    """

    def setUp(self):
        super().setUp()
        plan = _PLAN
        # Unique on this host: the private daemons of parallel test
        # processes share the /machine cgroup partition.
        self.flags(instance_name_template='real-%d-pm-%%08x' % os.getpid())
        # The privileged helpers run here, as root, for real.
        self.useFixture(fixtures.MockPatchObject(
            privsep.sys_admin_pctxt, 'client_mode', False))
        self.privileged = []
        self._record_mount_operations()
        # The plugin checks the views in the real daemon's mount namespace
        # (Nova here talks to its fake libvirt, not to that daemon).
        real_sockets = libvirtd.sockets_of(plan['uri'])
        self.useFixture(fixtures.MockPatchObject(
            libvirtd, 'sockets_of', lambda uri: real_sockets))
        self._graft_real_capabilities(plan['domcaps'])
        self._destroy_real_domains_too(plan['conn'])
        self.flags(share_local_fs={plan['share_dir']: TAG},
                   share_view_dir=plan['view_dir'], group='domain_meta')
        self.start_compute('compute1')
        # Small enough for two tiny guests under TCG; no ephemeral disk.
        self.flavor = self._create_flavor(
            name='real.pm', memory_mb=256, vcpu=1, disk=1, ephemeral=0,
            extra_spec={request.EXTRA_SPEC: 'true'})

    def _record_mount_operations(self):
        """Record every mount and unmount the privileged helpers make."""
        mounts = privileged.MOUNTS
        real = {name: getattr(mounts, name)
                for name in ('bind_readonly', 'mount_tmpfs')}
        umount_entry = linux.umount_entry

        def path(fd, *name):
            return os.path.join(os.readlink('/proc/self/fd/%d' % fd), *name)

        def bind_readonly(source_fd, target_fd):
            self.privileged.append('bind read-only %s on %s' % (
                path(source_fd), path(target_fd)))
            return real['bind_readonly'](source_fd, target_fd)

        def mount_tmpfs(target_fd):
            self.privileged.append('tmpfs on %s' % path(target_fd))
            return real['mount_tmpfs'](target_fd)

        def unmount(dir_fd, name, detach=False):
            self.privileged.append('umount%s %s' % (
                ' --lazy' if detach else '', path(dir_fd, name)))
            return umount_entry(dir_fd, name, detach=detach)

        for name, function in (('bind_readonly', bind_readonly),
                               ('mount_tmpfs', mount_tmpfs)):
            self.useFixture(fixtures.MockPatchObject(mounts, name,
                                                     function))
        self.useFixture(fixtures.MockPatchObject(linux, 'umount_entry',
                                                 unmount))

    def _graft_real_capabilities(self, real_xml):
        # The real daemon's own capability elements, not a hand-written
        # claim: the plugin checks devices/filesystem for virtiofs and
        # memoryBacking for memfd.
        real = etree.fromstring(real_xml.encode('utf-8'))
        grafts = [('.', real.find('memoryBacking')),
                  ('devices', real.find('devices/filesystem'))]
        fake_caps = fakelibvirt.Connection.getDomainCapabilities

        def getDomainCapabilities(conn, *args):
            root = etree.fromstring(fake_caps(conn, *args))
            for where, element in grafts:
                parent = root.find(where)
                old = parent.find(element.tag)
                if old is not None:
                    parent.remove(old)
                parent.append(copy.deepcopy(element))
            return etree.tostring(root, encoding='unicode')

        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.Connection, 'getDomainCapabilities',
            getDomainCapabilities))

    def _destroy_real_domains_too(self, conn):
        # Nova's delete destroys the domain, then runs the driver's
        # cleanup (where the share is released): destroying the real
        # domain of the same name inside the fake's destroy keeps that
        # order on the real daemon.
        fake_destroy = fakelibvirt.Domain.destroy
        self.real_destroyed = []
        destroyed = self.real_destroyed

        def destroy(dom):
            try:
                real = conn.lookupByName(dom.name())
            except libvirt.libvirtError:
                real = None
            if real is not None and real.isActive():
                real.destroy()
                destroyed.append(dom.name())
            return fake_destroy(dom)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.destroy', destroy))

    def scenario_two_guests(self):
        _RESULT['trait'] = request.TRAIT in self._get_provider_traits(
            self.compute_rp_uuids['compute1'])
        driver = self.computes['compute1'].driver
        _RESULT['mechanisms'] = driver._power_metrics.readonly_mechanisms()
        _RESULT['startup_commands'] = list(self.privileged)
        guests = []
        for label in sorted(ENERGY):
            server = self._create_server(name='real-pm-%s' % label,
                                         flavor_id=self.flavor,
                                         networks='none')
            name = self.domain_name(server)
            guests.append(Guest(label, server, name,
                                self.recorder.domains(name)[-1]))
        try:
            _PLAN['on_real_daemon'](self, guests)
        except BaseException:
            _RESULT['error'] = sys.exc_info()
            raise


def run_scenario():
    """Run :class:`PowerMetricsScenario`; return its seconds.

    Nova's services log to stdout and stderr; that output is shown only
    when the scenario fails.  An exception of the real test's callback is
    raised again as it was.
    """
    _RESULT.clear()
    log = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), \
            test_driver_xml._root_logging_to(log):
        result = unittest.TextTestRunner(stream=log, verbosity=0).run(
            PowerMetricsScenario('scenario_two_guests'))
    if 'error' in _RESULT:
        error = _RESULT.pop('error')
        raise error[1].with_traceback(error[2])
    if not result.wasSuccessful():
        raise AssertionError('functional scenario failed:\n%s'
                             % log.getvalue()[-10000:])
    return time.monotonic() - started


class PowerMetricsShareRealTest(base.RealLibvirtTestCase):

    def setUp(self):
        super().setUp()
        self.phases = test_driver_xml.Phases(self)
        self.share_dir = os.path.join(self.workdir, 'scaphandre')
        self.view_dir = os.path.join(self.workdir, 'views')
        os.mkdir(self.share_dir)
        # Runs before the base class removes domains and the work
        # directory: whatever a failed run left mounted goes first.
        self.addCleanup(self._unmount_leftovers)

    def _unmount_leftovers(self):
        self._remove_domains()
        unmount_below(self.workdir)

    def text(self, name, lines):
        self.addDetail(name, content.text_content(
            lines if isinstance(lines, str) else '\n'.join(lines)))

    def libvirtd_mounts(self):
        return mount_lines(self.view_dir, self.daemon.pids['libvirtd'])

    def test_two_guests_each_read_only_their_own_share(self):
        domcaps = self.conn.getDomainCapabilities(
            None, 'x86_64', None, self.daemon.virt_type)
        caps = etree.fromstring(domcaps.encode('utf-8'))
        self.assertIn('virtiofs', caps.xpath(
            "devices/filesystem[@supported='yes']/enum/value/text()"))
        self.assertIn('memfd', caps.xpath(
            "memoryBacking[@supported='yes']/enum/value/text()"))
        _PLAN.clear()
        _PLAN.update(domcaps=domcaps, conn=self.conn,
                     share_dir=self.share_dir, view_dir=self.view_dir,
                     uri=self.daemon.uri, on_real_daemon=self.on_real_daemon)
        self.phases.mark('start')
        seconds = run_scenario()
        self.text('scenario', 'whole scenario, real boots included: %.2f s'
                  % seconds)

        # Nothing of either guest is left, here or in the daemon: only
        # the (empty) tmpfs that holds the views.
        for lines in (mount_lines(self.view_dir), self.libvirtd_mounts()):
            self.assertEqual([self.view_dir],
                             [line.split()[4] for line in lines])
        self.assertEqual([], os.listdir(self.share_dir))
        self.assertEqual([], os.listdir(self.view_dir))

    # -- called from inside the running scenario -----------------------

    def on_real_daemon(self, scenario, guests):
        self.phases.mark('nova start and two boots (fake libvirt)')
        self.assertTrue(_RESULT['trait'], 'compute1 lacks %s' %
                        request.TRAIT)
        self.assertEqual(['bind mount'], _RESULT['mechanisms'])
        self.text('privileged commands at start', _RESULT['startup_commands'])
        # The start-up probe mounted the tmpfs that holds the views, made
        # one read-only view in it, checked it here and in libvirtd's
        # mount namespace, and removed it.
        probe = os.path.join(self.view_dir, '.probe')
        self.assertEqual([
            'tmpfs on %s' % self.view_dir,
            'bind read-only %s/source on %s/view' % (probe, probe),
            'umount %s/view' % probe], _RESULT['startup_commands'])
        a, b = guests
        neighbour = {a.name: b, b.name: a}
        for guest in guests:
            self.check_driver_xml(guest)
        views = {g.name: os.path.join(self.view_dir, g.name, TAG)
                 for g in guests}
        ours = mount_lines(self.view_dir)
        theirs = self.libvirtd_mounts()
        self.text('mountinfo after boot (test process)', ours)
        self.text('mountinfo after boot (libvirtd)', theirs)
        for guest in guests:
            view = views[guest.name]
            self.assertIn('ro', mount_options(ours, view), ours)
            # The flag travelled into the daemon's namespace, which
            # virtiofsd starts from.
            self.assertIn('ro', mount_options(theirs, view), theirs)
            # Scaphandre writes the guest's directory; its view is not
            # writable even for root on the host.
            rapl = os.path.join(self.share_dir, guest.name, RAPL)
            os.makedirs(rapl)
            write_energy(os.path.join(rapl, 'energy_uj'),
                         ENERGY[guest.label][0])
            e = self.assertRaises(OSError, open,
                                  os.path.join(view, 'host-write'), 'w')
            self.assertIn(EROFS, str(e))
        self.phases.mark('host side')

        doms = {}
        for guest in guests:
            other = neighbour[guest.name]
            xml, changes = self.adjust(guest.xml, GUEST_SCRIPT % {
                'mount': GUEST_MOUNT, 'tag': TAG, 'rapl': RAPL,
                'neighbour': other.name,
                'neighbour_value': ENERGY[other.label][0],
                'ready': READY,
                'writes': '\n'.join('attempt %s \'%s\'' % kv
                                    for kv in WRITES.items())})
            self.check_adjusted(guest, xml, changes)
            doms[guest.name] = self.define_and_start(xml)
        self.phases.mark('adjust, define and start both')

        for guest in guests:
            self.wait_for_serial(doms[guest.name], tiny_guest.MARK_RESULT +
                                 READY)
        self.phases.mark('both guests checked their share')
        for guest in guests:
            write_energy(os.path.join(self.share_dir, guest.name, RAPL,
                                      'energy_uj'), ENERGY[guest.label][1])
        serials = {g.name: self.wait_for_serial(doms[g.name],
                                                tiny_guest.MARK_WAITING)
                   for g in guests}
        self.phases.mark('both guests saw the update')
        served = self.virtiofsd_roots()
        self.text('virtiofsd root mounts', [
            '%s: pid %s: %s' % (source, pid, root)
            for source, roots in sorted(served.items())
            for pid, root in roots])
        for guest in guests:
            roots = served.get(views[guest.name])
            self.assertTrue(roots, 'no virtiofsd serves %s' %
                            views[guest.name])
            for pid, root in roots:
                self.assertIn('ro', root.split()[5].split(','), root)
            live = etree.fromstring(doms[guest.name].XMLDesc(0).encode(
                'utf-8')).find('devices/filesystem')
            self.text('libvirt live filesystem %s' % guest.label,
                      etree.tostring(live, encoding='unicode',
                                     with_tail=False))
        for guest in guests:
            self.check_guest(guest, neighbour[guest.name],
                             serials[guest.name])

        # Guest a powers off first, then Nova deletes it.
        doms[a.name].shutdown()
        serial = self.wait_for_guest_done(doms[a.name])
        self.assertIn('%s0' % tiny_guest.MARK_EXIT, serial)
        self.phases.mark('guest a powered off')
        self.delete_and_check(scenario, a, views, still_there=b)
        self.assertEqual([], scenario.real_destroyed)
        # Guest b still runs: Nova's destroy stops it, then cleans up.
        self.assertTrue(doms[b.name].isActive())
        self.delete_and_check(scenario, b, views)
        self.assertEqual([b.name], scenario.real_destroyed)
        self.text('privileged commands', scenario.privileged)

    def check_driver_xml(self, guest):
        """The driver's XML asks for exactly the share and memory we want."""
        self.text('driver-xml-%s' % guest.label, guest.xml)
        doc = etree.fromstring(guest.xml.encode('utf-8'))
        fss = doc.findall('devices/filesystem')
        self.assertEqual(1, len(fss), guest.xml)
        fs = fss[0]
        self.assertEqual(('mount', 'passthrough'),
                         (fs.get('type'), fs.get('accessmode')))
        self.assertEqual('virtiofs', fs.find('driver').get('type'))
        self.assertEqual(os.path.join(self.view_dir, guest.name, TAG),
                         fs.find('source').get('dir'))
        self.assertEqual(TAG, fs.find('target').get('dir'))
        # libvirt 9.0 refuses <readonly/> on virtiofs: the view does it.
        self.assertIsNone(fs.find('readonly'))
        backing = doc.find('memoryBacking')
        self.assertEqual(['access', 'source'],
                         sorted(child.tag for child in backing))
        self.assertEqual('memfd', backing.find('source').get('type'))
        self.assertEqual('shared', backing.find('access').get('mode'))

    def check_adjusted(self, guest, xml, changes):
        """adjust.py made it bootable without touching the share."""
        self.assertEqual([], [c for c in changes
                              if 'filesystem' in c or 'memoryBacking' in c],
                         changes)
        driver = etree.fromstring(guest.xml.encode('utf-8'))
        adjusted = etree.fromstring(xml.encode('utf-8')
                                    if isinstance(xml, str) else xml)
        for path in ('devices/filesystem', 'memoryBacking'):
            self.assertEqual(
                etree.tostring(driver.find(path), with_tail=False),
                etree.tostring(adjusted.find(path), with_tail=False), path)

    def check_guest(self, guest, other, serial):
        """What the guest reported about its share."""
        self.text('serial-%s' % guest.label, [
            line for line in serial.splitlines() if 'TINYGUEST' in line])
        got = self.results(serial)
        first, updated = ENERGY[guest.label]
        self.assertIn('mount ok', got)
        self.assertIn('energy %s' % first, got)
        self.assertIn('tree . ./%s ./%s/energy_uj' % (RAPL, RAPL), got)
        self.assertIn('parent %s' % os.path.basename(GUEST_MOUNT), got)
        reach = [r for r in got if r.startswith('reach ')]
        self.assertEqual(4, len(reach), got)
        for line in reach:
            self.assertTrue(line.endswith(' hidden'), line)
            self.assertIn(other.name, line)
        self.assertIn('neighbour-value unseen', got)
        writes = {r.split()[1]: r for r in got if r.startswith('write ')}
        self.assertEqual(sorted(WRITES), sorted(writes), got)
        for what, line in writes.items():
            self.assertIn(' failed: ', line, what)
            self.assertIn(EROFS, line, what)
        self.assertIn('energy-after-writes %s' % first, got)
        self.assertIn('tree-after-writes . ./%s ./%s/energy_uj'
                      % (RAPL, RAPL), got)
        self.assertIn('energy-updated %s' % updated, got)
        # Nothing the guest tried reached the host.
        directory = os.path.join(self.share_dir, guest.name)
        self.assertEqual([RAPL, os.path.join(RAPL, 'energy_uj')],
                         tree(directory))
        with open(os.path.join(directory, RAPL, 'energy_uj')) as f:
            self.assertEqual(updated + '\n', f.read())

    def delete_and_check(self, scenario, guest, views, still_there=None):
        """Delete through Nova's API; the share must be gone entirely."""
        before = len(scenario.privileged)
        scenario._delete_server(guest.server)
        self.phases.mark('nova deleted guest %s' % guest.label)
        commands = scenario.privileged[before:]
        self.text('privileged commands deleting %s' % guest.label, commands)
        self.assertEqual(['umount %s' % views[guest.name]], commands)
        self.assertEqual([], mount_lines(os.path.join(self.view_dir,
                                                      guest.name)))
        self.assertEqual([], mount_lines(
            os.path.join(self.view_dir, guest.name),
            self.daemon.pids['libvirtd']))
        self.assertFalse(os.path.lexists(os.path.join(self.view_dir,
                                                      guest.name)))
        self.assertFalse(os.path.lexists(os.path.join(self.share_dir,
                                                      guest.name)))
        if still_there is not None:
            view = views[still_there.name]
            self.assertIn('ro', mount_options(mount_lines(view), view))
            self.assertTrue(os.path.isfile(os.path.join(
                self.share_dir, still_there.name, RAPL, 'energy_uj')))

    @staticmethod
    def virtiofsd_roots():
        """``{source dir: [(pid, root mount line)]}`` of running virtiofsd.

        libvirt 9.0 starts QEMU 7.2's C virtiofsd, which bind mounts its
        source onto itself and pivots into it: its root mount shows
        whether the read-only flag reached the process serving the guest.
        """
        found = collections.defaultdict(list)
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    argv = f.read().decode(errors='replace').split('\0')
                if not argv[0].endswith('virtiofsd'):
                    continue
                with open('/proc/%s/mountinfo' % pid) as f:
                    root = [line.rstrip('\n') for line in f
                            if line.split()[4] == '/']
            except OSError:
                continue
            for arg in argv:
                for option in arg.split(','):
                    if option.startswith('source='):
                        found[option[len('source='):]].append(
                            (pid, ' | '.join(root)))
        return found


class ReadonlyVirtiofsTest(base.RealLibvirtTestCase):
    """What ``PowerMetricsShares._libvirt_makes_readonly`` relies on."""

    def shares(self, gate_open):
        """The plugin's share service on the real daemon's connection.

        A Nova ``Host`` answers the version check from the real
        connection; ``gate_open`` lets the probe past the version gate,
        to see what libvirt itself says.  Returns (shares, defined), the
        XMLs handed to defineXML and each one's outcome.
        """
        host = nova_host.Host(self.daemon.uri)
        defined = []
        conn = self.conn

        class Recording(object):
            def defineXML(self, xml):
                try:
                    domain = conn.defineXML(xml)
                except libvirt.libvirtError as e:
                    defined.append((xml, 'refused: %s' % e))
                    raise
                defined.append((xml, 'defined'))
                return domain

            def __getattr__(self, name):
                return getattr(conn, name)

        self.useFixture(fixtures.MockPatchObject(
            host, 'get_connection', return_value=Recording()))
        if gate_open:
            self.useFixture(fixtures.MockPatchObject(
                host, 'has_min_version', return_value=True))
        return share_service.PowerMetricsShares(host), defined

    def test_libvirt_9_refuses_readonly_virtiofs(self):
        version = self.conn.getLibVersion()
        release = '%d.%d.%d' % (version // 1000000, version // 1000 % 1000,
                                version % 1000)
        self.addDetail('libvirt version', content.text_content(release))
        self.assertLess(version, 10 * 1000000,
                        'this test describes libvirt before 10.0')
        names = set(self.conn.listDefinedDomains())

        # The version gate alone answers: no probe domain is defined.
        shares, defined = self.shares(gate_open=False)
        self.assertFalse(shares._libvirt_makes_readonly())
        self.assertEqual([], defined)

        # Past the gate, libvirt itself refuses at define time.
        shares, defined = self.shares(gate_open=True)
        self.assertFalse(shares._libvirt_makes_readonly())
        self.assertEqual(1, len(defined))
        probe_xml, outcome = defined[0]
        self.addDetail('probe domain', content.text_content(probe_xml))
        self.addDetail('libvirt says', content.text_content(outcome))
        self.assertIn('virtiofs does not yet support read-only mode',
                      outcome)
        self.assertEqual(names, set(self.conn.listDefinedDomains()))

        # The same domain without <readonly/> is accepted, so the refusal
        # is about read-only and nothing else in the probe.
        doc = etree.fromstring(probe_xml.encode('utf-8'))
        fs = doc.find('devices/filesystem')
        fs.remove(fs.find('readonly'))
        doc.find('name').text = self.unique_name('probe-rw')
        dom = self.define(etree.tostring(doc, encoding='unicode'))
        inactive = etree.fromstring(dom.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE).encode('utf-8'))
        self.assertEqual('virtiofs', inactive.find(
            'devices/filesystem/driver').get('type'))
        self.assertEqual('memfd', inactive.find(
            'memoryBacking/source').get('type'))

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

"""The privileged daemon's entry points, attacked for real, as root.

Issue 16: a compromised nova-compute must not turn the share's privileged
helpers into root on the host.  Each entry point of
:mod:`nova_domain_meta.privsep` is called here with hostile arguments
(other directories, ``..``, hidden and multi-level names, unconfigured
tags) and against hostile filesystem states (symbolic links planted as
the guest's directory, the shared directory or a view; a directory of
another owner; a bind mount and a FUSE mount without a server planted
where the guest's directory should be; a mount inside a guest's
directory; a view directory swapped for a link between the check and the
use).  Each call must be refused (or, for the swaps, act only on what it
checked), and a snapshot of the whole test tree and its mount table must
be the same before and after.

Everything runs as root, with real mounts, in a child process with a
mount namespace of its own (:mod:`tests.real.namespace`), which takes
every mount with it when it exits; a call blocked on the FUSE mount would
show as a hung child.  The hostile calls made, and what each got, are
attached to each test as the detail ``hostile calls``.  No libvirt daemon
is needed.
"""

import ctypes
import os
import shutil
import stat
import tempfile

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools
from testtools import content

from nova_domain_meta import privsep
from nova_domain_meta.share import linux
from nova_domain_meta.share import privileged
from tests.real import namespace

CONF = cfg.CONF
TAG = 'scaphandre'
FOREIGN_UID = 4242
_MS_NOSUID_NODEV = 0x2 | 0x4

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data):
    if _libc.mount(source.encode(), target.encode(),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        raise OSError(ctypes.get_errno(), 'mount %s' % target)


def bind(source, target):
    _mount(source, target, None, 0x1000, None)  # MS_BIND


def fuse_without_server(target):
    """Mount a FUSE filesystem nobody serves: every access would hang."""
    fd = os.open('/dev/fuse', os.O_RDWR)
    _mount('nova-domain-meta-test', target, 'fuse', _MS_NOSUID_NODEV,
           'fd=%d,rootmode=40000,user_id=0,group_id=0' % fd)
    return fd


class World(object):
    """The test tree, built in the child's private mount namespace.

    ``root/``: ``scaphandre/`` (the shared directory, tag scaphandre)
    holding the guest directory ``g/`` and the plants ``link`` (symbolic
    link to ``outside/``), ``foreign/`` (uid 4242), ``mounted/`` (a bind
    mount of ``outside/``), ``fuse/`` (FUSE without a server), ``nested/``
    (a mount in ``nested/sub``); ``other/victim``; ``outside/precious``;
    ``run/views`` (``share_view_dir``).
    """

    def __init__(self, root):
        self.root = root
        self.share = self.path('scaphandre')
        self.view_dir = self.path('run', 'views')
        self.outside = self.path('outside')
        for d in ('scaphandre/g', 'other/victim', 'outside',
                  'scaphandre/foreign', 'scaphandre/mounted',
                  'scaphandre/fuse', 'scaphandre/nested/sub', 'run'):
            os.makedirs(self.path(*d.split('/')))
        for f in ('outside/precious', 'scaphandre/g/energy_uj',
                  'scaphandre/nested/file', 'other/victim/file'):
            with open(self.path(*f.split('/')), 'w') as out:
                out.write(f)
        os.chown(self.path('scaphandre', 'foreign'), FOREIGN_UID,
                 FOREIGN_UID)
        os.symlink(self.outside, self.path('scaphandre', 'link'))
        os.symlink(self.share, self.path('linkshare'))
        bind(self.outside, self.path('scaphandre', 'mounted'))
        bind(self.outside, self.path('scaphandre', 'nested', 'sub'))
        self.fuse_fd = fuse_without_server(self.path('scaphandre', 'fuse'))
        CONF.set_override('share_local_fs', {self.share: TAG},
                          group='domain_meta')
        CONF.set_override('share_view_dir', self.view_dir,
                          group='domain_meta')

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def mounts(self):
        with open('/proc/self/mountinfo') as f:
            return sorted(' '.join(line.split()[3:6]) for line in f
                          if self.root in line.split()[4])

    def snapshot(self):
        """Every entry of the tree (type, mode, owner, flags), and mounts.

        The FUSE mount is not entered (it would hang).
        """
        fuse = self.path('scaphandre', 'fuse')
        entries = []
        for top, dirs, files in os.walk(self.root):
            # Neither listed nor stat'ed: that would enter the FUSE mount.
            dirs[:] = [d for d in dirs if os.path.join(top, d) != fuse]
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                st = os.lstat(path)
                entry = [os.path.relpath(path, self.root),
                         stat.filemode(st.st_mode), st.st_uid]
                if stat.S_ISLNK(st.st_mode):
                    entry.append(os.readlink(path))
                elif stat.S_ISDIR(st.st_mode):
                    entry.append(_flags(path))
                entries.append(tuple(entry))
        return entries, self.mounts()


def _flags(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        return linux.get_flags(fd) & linux.FS_IMMUTABLE_FL
    except OSError:
        return None
    finally:
        os.close(fd)


def attack(world, calls):
    """Make each hostile call; return what happened to each.

    ``calls`` is a list of (entry point name, args[, setup]) where
    ``setup(world)`` prepares a hostile state first (outside the
    snapshot).  Each result is (description, outcome, touched) where
    touched lists what changed in the tree or its mounts.
    """
    results = []
    for call in calls:
        name, args = call[0], call[1]
        if len(call) > 2:
            call[2](world)
        before = world.snapshot()
        try:
            value = getattr(privsep, name)(*args)
            outcome = 'ACCEPTED: %r' % (value,)
        except privileged.UnsafePath as e:
            outcome = 'refused: %s' % e
        except OSError as e:
            outcome = 'refused (%s): %s' % (type(e).__name__, e)
        after = world.snapshot()
        touched = sorted(set(map(repr, before[0])) ^ set(map(repr,
                                                             after[0])))
        touched += sorted(set(before[1]) ^ set(after[1]))
        shown = ', '.join(repr(a).replace(world.root, '<tmp>')
                          for a in args)
        results.append(('%s(%s)' % (name, shown),
                        outcome.replace(world.root, '<tmp>'), touched))
    return results


class PrivilegedEntryPointsTest(testtools.TestCase):
    """Hostile calls against each privileged entry point."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            raise AssertionError('the real tier runs as root')
        self.useFixture(config_fixture.Config(CONF))
        CONF([], project='nova', default_config_files=[])
        # The entry points run in the (forked) test process, as root.
        self.useFixture(fixtures.MockPatchObject(
            privsep.sys_admin_pctxt, 'client_mode', False))
        self.tmp = tempfile.mkdtemp(prefix='ndm-privileged-')
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(self._unflag, self.tmp)

    @staticmethod
    def _unflag(top):
        # Immutable view directories left by a failed child (the tmpfs
        # went with it; this is for one made on the real disk).
        for path, dirs, _files in os.walk(top):
            for name in dirs:
                fd = None
                try:
                    fd = os.open(os.path.join(path, name),
                                 os.O_RDONLY | os.O_DIRECTORY |
                                 os.O_NOFOLLOW)
                    linux.set_immutable(fd, False)
                except OSError:
                    pass
                finally:
                    if fd is not None:
                        os.close(fd)

    def run_attacks(self, scenario):
        """Run ``scenario(world)`` in a private mount namespace."""
        root = tempfile.mkdtemp(dir=self.tmp)

        def child():
            world = World(root)
            return scenario(world)

        return namespace.run(child, timeout=120)

    def report(self, results):
        self.addDetail('hostile calls', content.text_content('\n'.join(
            '%s -> %s%s' % (call, outcome,
                            '' if not touched else
                            '; CHANGED: %s' % touched)
            for call, outcome, touched in results)))

    def assert_all_refused(self, results):
        self.report(results)
        for call, outcome, touched in results:
            self.assertTrue(outcome.startswith('refused'),
                            '%s was accepted: %s' % (call, outcome))
            self.assertEqual([], touched, '%s changed things' % call)

    def test_ensure_guest_directory(self):
        def scenario(w):
            s = w.share
            return attack(w, [
                ('ensure_guest_directory', ('/etc', 'ndm-test')),
                ('ensure_guest_directory', (w.path('other'), 'victim')),
                ('ensure_guest_directory', (s + '/', 'g2')),
                ('ensure_guest_directory', (s + '/../other', 'g2')),
                ('ensure_guest_directory', (w.path('linkshare'), 'g2')),
                ('ensure_guest_directory', (s, '..')),
                ('ensure_guest_directory', (s, '../other')),
                ('ensure_guest_directory', (s, 'a/b')),
                ('ensure_guest_directory', (s, '')),
                ('ensure_guest_directory', (s, '.hidden')),
                ('ensure_guest_directory', (s, 'x\0y')),
                ('ensure_guest_directory', (s, 'x' * 256)),
                ('ensure_guest_directory', (s, 'link')),
                ('ensure_guest_directory', (s, 'foreign')),
                ('ensure_guest_directory', (s, 'mounted')),
                ('ensure_guest_directory', (s, 'fuse')),
            ])

        self.assert_all_refused(self.run_attacks(scenario))

    def test_remove_guest_directory(self):
        def scenario(w):
            s = w.share
            return attack(w, [
                ('remove_guest_directory', ('/', 'etc')),
                ('remove_guest_directory', ('/etc', 'cron.d')),
                ('remove_guest_directory', (w.path('other'), 'victim')),
                ('remove_guest_directory', (w.path('linkshare'), 'g')),
                ('remove_guest_directory', (s, '..')),
                ('remove_guest_directory', (s, '../other')),
                ('remove_guest_directory', (s, '.')),
                ('remove_guest_directory', (s, 'link')),
                ('remove_guest_directory', (s, 'foreign')),
                ('remove_guest_directory', (s, 'mounted')),
                ('remove_guest_directory', (s, 'fuse')),
                ('remove_guest_directory', (s, 'nested')),
            ])

        self.assert_all_refused(self.run_attacks(scenario))

    def test_make_view(self):
        def link_view_parent(w):
            os.symlink(w.outside, os.path.join(w.view_dir, 'g'))

        def link_view(w):
            os.unlink(os.path.join(w.view_dir, 'g'))
            os.mkdir(os.path.join(w.view_dir, 'g'))
            os.symlink(w.outside, os.path.join(w.view_dir, 'g', TAG))

        def scenario(w):
            privsep.prepare_view_root()
            return attack(w, [
                ('make_view', ('..', TAG)),
                ('make_view', ('g/..', TAG)),
                ('make_view', ('.probe', TAG)),
                ('make_view', ('g', 'not-a-tag')),
                ('make_view', ('g', '../..')),
                ('make_view', ('g', '')),
                ('make_view', ('link', TAG)),
                ('make_view', ('foreign', TAG)),
                ('make_view', ('mounted', TAG)),
                ('make_view', ('fuse', TAG)),
                ('make_view', ('nope', TAG)),
                ('make_view', ('g', TAG), link_view_parent),
                ('make_view', ('g', TAG), link_view),
            ])

        self.assert_all_refused(self.run_attacks(scenario))

    def test_remove_view(self):
        def foreign_mount_behind_link(w):
            # A link in the view tmpfs to a directory holding a mount.
            os.makedirs(os.path.join(w.outside, 'mnt', TAG))
            bind(w.path('other'), os.path.join(w.outside, 'mnt', TAG))
            os.symlink(os.path.join(w.outside, 'mnt'),
                       os.path.join(w.view_dir, 'h'))

        def scenario(w):
            privsep.prepare_view_root()
            privsep.ensure_guest_directory(w.share, 'g')
            privsep.make_view('g', TAG)
            return attack(w, [
                ('remove_view', ('..', TAG)),
                ('remove_view', ('g', '..')),
                ('remove_view', ('g', '../../outside')),
                ('remove_view', ('g/' + TAG, TAG)),
                ('remove_view', ('.probe', 'view')),
                ('remove_view', ('h', TAG), foreign_mount_behind_link),
            ])

        self.assert_all_refused(self.run_attacks(scenario))

    def test_view_root_and_probe(self):
        def link_run(w):
            os.rmdir(w.path('run'))
            os.symlink(w.outside, w.path('run'))

        def scenario(w):
            results = attack(w, [
                ('prepare_view_root', (), link_run),
                ('make_probe_view', ()),
                ('remove_probe_view', ()),
            ])
            # The configuration itself: a shared directory given through
            # a link is refused, and with no share_local_fs every call is.
            CONF.set_override('share_local_fs', {w.path('linkshare'): TAG},
                              group='domain_meta')
            results += attack(w, [
                ('ensure_guest_directory', (w.path('linkshare'), 'g')),
            ])
            CONF.set_override('share_local_fs', {}, group='domain_meta')
            results += attack(w, [
                ('ensure_guest_directory', (w.share, 'g')),
                ('remove_guest_directory', (w.share, 'g')),
                ('make_view', ('g', TAG)),
                ('remove_view', ('g', TAG)),
            ])
            return results

        self.assert_all_refused(self.run_attacks(scenario))

    def test_view_swapped_for_a_link_between_check_and_use(self):
        """The mount lands on the directory checked, never elsewhere."""
        def scenario(w):
            privsep.prepare_view_root()
            privsep.ensure_guest_directory(w.share, 'g')
            real = privileged.MOUNTS.set_immutable
            parent = os.path.join(w.view_dir, 'g')

            def swap_then_flag(fd, on):
                # Right before the mount: <views>/g becomes a link.
                os.rename(parent, parent + '-checked')
                os.symlink(w.outside, parent)
                privileged.MOUNTS.set_immutable = real
                return real(fd, on)

            privileged.MOUNTS.set_immutable = swap_then_flag
            view = privsep.make_view('g', TAG)
            return view, w.mounts(), os.listdir(w.outside)

        view, mounts, outside = self.run_attacks(scenario)
        self.addDetail('mounts', content.text_content('\n'.join(mounts)))
        self.assertEqual(['precious'], outside)
        points = [m.split()[1] for m in mounts]
        self.assertIn(os.path.join('g-checked', TAG),
                      ' '.join(points))
        self.assertNotIn('/outside', ' '.join(points))

    def test_guest_directory_swapped_while_removed(self):
        """Removal works on the directory it checked, not on a link."""
        def scenario(w):
            real = privileged._check_owned
            guest = os.path.join(w.share, 'g')

            def check_then_swap(fd, device, what):
                st = real(fd, device, what)
                if what == guest:
                    os.rename(guest, guest + '-checked')
                    os.symlink(w.outside, guest)
                return st

            privileged._check_owned = check_then_swap
            try:
                privsep.remove_guest_directory(w.share, 'g')
                outcome = 'removed'
            except OSError as e:
                outcome = 'refused: %s' % e
            return (outcome, sorted(os.listdir(w.outside)),
                    os.listdir(guest + '-checked'))

        outcome, outside, checked = self.run_attacks(scenario)
        self.addDetail('outcome', content.text_content(outcome))
        self.assertEqual(['precious'], outside)
        # The directory that was checked was emptied; the link was not
        # followed (its rmdir fails: it is not a directory).
        self.assertEqual([], checked)
        self.assertIn('refused', outcome)

    def test_a_view_fails_closed(self):
        """What virtiofsd gets where the view's mount is missing.

        The mount point is root-owned, mode 000 and immutable: even root
        cannot create anything in it; the tmpfs around it is nosuid,
        nodev, noexec and 1 MiB.
        """
        def scenario(w):
            privsep.prepare_view_root()
            privsep.ensure_guest_directory(w.share, 'g')
            path, immutable = privsep.make_view('g', TAG)
            mounted = w.mounts()
            parent = os.open(os.path.dirname(path), linux.DIR)
            linux.umount_entry(parent, TAG)
            st = os.lstat(path)
            try:
                os.mkdir(os.path.join(path, 'x'))
                write = 'mkdir as root succeeded'
            except OSError as e:
                write = 'mkdir as root: %s' % e.strerror
            return (immutable, mounted, stat.filemode(st.st_mode),
                    st.st_uid, _flags(path), write)

        immutable, mounted, mode, uid, flags, write = self.run_attacks(
            scenario)
        self.addDetail('mounts', content.text_content('\n'.join(mounted)))
        self.assertTrue(immutable)
        view_root = [m for m in mounted if m.split()[1].endswith('/views')]
        self.assertEqual(1, len(view_root), mounted)
        for option in ('nosuid', 'nodev', 'noexec'):
            self.assertIn(option, view_root[0])
        view = [m for m in mounted if m.split()[1].endswith('/' + TAG)]
        self.assertIn('ro', view[0].split()[2].split(','))
        self.assertEqual(('d---------', 0), (mode, uid))
        self.assertEqual(linux.FS_IMMUTABLE_FL, flags)
        self.assertEqual('mkdir as root: Operation not permitted', write)

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

"""A private libvirtd + virtlogd + QEMU for the real-hypervisor tier.

Why a private daemon: the tier must run the real qemu driver (PCI address
assignment, virtiofs, metadata LIVE/CONFIG handling) on CI and developer
machines without touching, or depending on, a system libvirt.

How it is made private.  A privileged libvirtd (needed: libvirt 9.0 refuses
virtiofs on ``qemu:///session``) takes its socket directory and logging
from ``--config libvirtd.conf``, but reads ``qemu.conf`` from
``/etc/libvirt``, keeps domain definitions in ``/etc/libvirt/qemu``, state
in ``/run/libvirt``, ``/var/lib/libvirt``, ``/var/cache/libvirt`` and
``/var/log/libvirt``, and reaches virtlogd at the fixed socket
``/run/libvirt/virtlogd-sock``; none of these is configurable.  So both
daemons run in their own mount namespace (``unshare --mount``), where those
five directories are bind mounts of directories in our temp dir:

* ``etc/``   -> ``/etc/libvirt`` (our ``qemu.conf``; domain definitions)
* ``run/``   -> ``/run/libvirt`` (virtlogd socket, pid files, qemu state)
* ``lib/``   -> ``/var/lib/libvirt``
* ``cache/`` -> ``/var/cache/libvirt`` (pre-seeded with QEMU capabilities
  from ``<repo>/.cache/libvirt-qemu-caps``, see below)
* ``log/``   -> ``/var/log/libvirt`` (QEMU logs written by virtlogd)

virtlogd therefore needs no private socket option: inside the namespace,
``/run/libvirt/virtlogd-sock`` is ours.  libvirtd's client socket lives in
``sock/`` (``unix_sock_dir``), outside the bind mounts, so the tests reach
it at ``qemu:///system?socket=<tmp>/sock/libvirt-sock``.

The temp dir itself is made a shared bind mount before the namespace is
created (``unshare --propagation slave``), so mounts a test makes under it
on the host (the read-only bind mount of a virtiofs share) propagate into
the daemon's namespace, where virtiofsd sees them.

What is still shared with a system libvirtd: the cgroup partition
``/machine`` (libvirt names a guest's cgroup ``qemu-<id>-<name>``), the
``libvirt-qemu`` user and the ``kvm``/``libvirt``/``libvirt-qemu`` groups
(created here if missing, as Debian's ``libvirt-daemon-system`` would), the
empty mount point directories above (created if missing), ``/dev/kvm``.
Because of the cgroup partition, the fixture refuses to start while a
libvirtd or virtqemud runs on the host's own state directories (in our
mount namespace); set ``REAL_TIER_ALLOW_SYSTEM_LIBVIRTD=1`` to override
when you know domain names cannot clash.

QEMU capabilities: probing ``qemu-system-x86_64`` and
``qemu-system-i386`` takes about 9 s on 2 cores, and libvirt caches the
result in ``/var/cache/libvirt/qemu/capabilities``.  We keep that cache in
``<repo>/.cache/libvirt-qemu-caps``; libvirt itself discards entries whose
binary, libvirt version, kernel or KVM availability changed.

Virtualization type: ``qemu`` (TCG) unless ``REAL_TIER_VIRT_TYPE`` says
``kvm`` (fails unless /dev/kvm is usable) or ``auto`` (kvm when usable).
TCG is the default because nested KVM was seen to hang the guest without
any console output on a machine whose /dev/kvm accepted KVM_CREATE_VM.

Failures to start raise :class:`DaemonError` with the reason and the
daemon logs: this tier must fail, never skip, when the daemon is broken.
"""

import ctypes
import errno
import fcntl
import grp
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import fixtures
import libvirt

LOG = logging.getLogger(__name__)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CAPS_CACHE = os.path.join(REPO_ROOT, '.cache', 'libvirt-qemu-caps')

LIBVIRTD = '/usr/sbin/libvirtd'
VIRTLOGD = '/usr/sbin/virtlogd'
REQUIRED_FILES = (
    LIBVIRTD, VIRTLOGD,
    '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/'
    'libvirt_driver_qemu.so',
    '/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-img',
    '/usr/lib/qemu/virtiofsd', '/usr/share/seabios/bios-256k.bin',
    '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/sbin/useradd',
)

# Host directory -> name of the private directory bound over it.
PRIVATE_DIRS = (
    ('/etc/libvirt', 'etc'),
    ('/run/libvirt', 'run'),
    ('/var/lib/libvirt', 'lib'),
    ('/var/cache/libvirt', 'cache'),
    ('/var/log/libvirt', 'log'),
)

START_TIMEOUT = 60
STOP_TIMEOUT = 15
KVM_CREATE_VM = 0xAE01


class DaemonError(Exception):
    """The private daemon could not be prepared, started or reached."""


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGTERM the daemon if the test process dies.

    atexit cannot run when a test runner is SIGKILLed; the kernel's
    parent-death signal (kept across exec) still stops our daemons then.
    """
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG,
                                            signal.SIGTERM)


def _run(argv, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          universal_newlines=True, **kwargs)
    if proc.returncode:
        raise DaemonError('%s failed (exit %d): %s' % (
            ' '.join(argv), proc.returncode, proc.stdout.strip()[-2000:]))
    return proc.stdout


def ensure_packages():
    """Fail with the way out when a file the tier runs is missing.

    The tier's Debian packages are listed in bindep.txt (profile ``real``)
    and installed by the bootstrap before any tier runs; a test never
    installs packages itself.
    """
    missing = [f for f in REQUIRED_FILES if not os.path.exists(f)]
    if missing:
        raise DaemonError(
            'missing %s: install the Debian packages of bindep.txt\'s '
            '"real" profile (bash tools/install-packages.sh real)'
            % ', '.join(missing))


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


def _create_account(lookup, name, argv):
    """Run ``argv`` to create ``name`` unless it exists, or comes to.

    Each stestr worker prepares its own daemon, so on a fresh machine two
    of them may create the same account at once; the loser's "already
    exists" is success.
    """
    if _exists(lookup, name):
        return
    try:
        _run(argv)
    except DaemonError:
        if not _exists(lookup, name):
            raise


def ensure_accounts():
    """Create the users and groups Debian's libvirt-daemon-system makes.

    libvirt's Debian build defaults to QEMU running as ``libvirt-qemu``
    (primary group ``kvm``) and to a ``libvirt`` socket group; a machine
    with ``libvirt-daemon`` but not ``libvirt-daemon-system`` has neither.
    """
    for group in ('kvm', 'libvirt', 'libvirt-qemu'):
        _create_account(grp.getgrnam, group, ['groupadd', '--system', group])
    _create_account(pwd.getpwnam, 'libvirt-qemu', [
        'useradd', '--system', '--gid', 'kvm', '--groups', 'libvirt-qemu',
        '--no-create-home', '--home-dir', '/var/lib/libvirt',
        '--shell', '/usr/sbin/nologin', 'libvirt-qemu'])


def kvm_usable():
    """True if /dev/kvm opens and creates a VM (not just exists)."""
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def choose_virt_type():
    wanted = os.environ.get('REAL_TIER_VIRT_TYPE', 'qemu')
    if wanted == 'qemu':
        return 'qemu'
    if wanted in ('kvm', 'auto'):
        if kvm_usable():
            return 'kvm'
        if wanted == 'kvm':
            raise DaemonError('REAL_TIER_VIRT_TYPE=kvm but /dev/kvm is '
                              'not usable here')
        return 'qemu'
    raise DaemonError('REAL_TIER_VIRT_TYPE must be qemu, kvm or auto, '
                      'not %r' % wanted)


def _mount_ns(pid):
    try:
        return os.stat('/proc/%s/ns/mnt' % pid).st_ino
    except OSError:
        return None


def system_daemons():
    """Return [(pid, exe)] of libvirt daemons on the host's state dirs.

    Daemons in another mount namespace (e.g. another test process's
    private daemon) have their own state directories and are ignored.
    """
    ours = _mount_ns('self')
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink('/proc/%s/exe' % pid)
        except OSError:
            continue
        if os.path.basename(exe).split(' ')[0] in ('libvirtd',
                                                   'virtqemud') \
                and _mount_ns(pid) == ours:
            found.append((int(pid), exe))
    return found


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def _mounts_under(path):
    """Mount points at or below ``path``, deepest first."""
    found = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            point = line.split()[4].encode().decode('unicode_escape')
            if point == path or point.startswith(path + '/'):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _libvirtd_conf(tmp, debug):
    return '\n'.join([
        'unix_sock_dir = "%s/sock"' % tmp,
        'unix_sock_group = "root"',
        'unix_sock_ro_perms = "0770"',
        'unix_sock_rw_perms = "0770"',
        'unix_sock_admin_perms = "0700"',
        'auth_unix_ro = "none"',
        'auth_unix_rw = "none"',
        'listen_tls = 0',
        'listen_tcp = 0',
        'log_outputs = "%d:file:%s/log/libvirtd.log"'
        % (1 if debug else 3, tmp),
        '',
    ])


def _virtlogd_conf(tmp):
    return 'log_outputs = "3:file:%s/log/virtlogd.log"\n' % tmp


# QEMU runs as root with no security driver: the tests hand it files in a
# private temp dir (kernel, initrd, serial log, disks) and the relabelling
# done for a real deployment is not what this tier checks.  VNC and SPICE
# may only listen on loopback should a test keep a graphics device.
QEMU_CONF = '\n'.join([
    'user = "root"',
    'group = "root"',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    'security_driver = "none"',
    'stdio_handler = "logd"',
    'vnc_listen = "127.0.0.1"',
    'spice_listen = "127.0.0.1"',
    '',
])

LAUNCH_SH = """#!/bin/sh
# Runs inside the private mount namespace: bind our directories over
# libvirt's fixed state directories, then become the daemon.
set -e
tmp="$1"; shift
mount --bind "$tmp/etc" /etc/libvirt
mount --bind "$tmp/run" /run/libvirt
mount --bind "$tmp/lib" /var/lib/libvirt
mount --bind "$tmp/cache" /var/cache/libvirt
mount --bind "$tmp/log" /var/log/libvirt
exec "$@"
"""


class LibvirtDaemonFixture(fixtures.Fixture):
    """Start a private virtlogd + libvirtd; expose ``uri`` and ``conn``.

    Attributes after setUp: ``tmpdir`` (everything private lives there;
    tests may create and mount things under ``tmpdir/work``), ``uri``,
    ``conn``, ``virt_type`` (``qemu`` or ``kvm``), ``capabilities`` (XML),
    ``start_seconds`` (launch to a working connection with capabilities)
    and ``timings`` (a dict of the steps).
    """

    def __init__(self, base_dir=None):
        super(LibvirtDaemonFixture, self).__init__()
        self.base_dir = base_dir
        self.conn = None
        self.uri = None
        self.tmpdir = None
        self.timings = {}
        self._procs = {}

    # -- setup ---------------------------------------------------------

    def _setUp(self):
        started = time.monotonic()
        if os.geteuid() != 0:
            raise DaemonError('the real tier needs root: libvirt 9.0 only '
                              'supports virtiofs with a privileged daemon')
        ensure_packages()
        ensure_accounts()
        others = system_daemons()
        if others and not os.environ.get('REAL_TIER_ALLOW_SYSTEM_LIBVIRTD'):
            raise DaemonError(
                'a libvirt daemon already runs on the host state dirs '
                '(%s); it would share the /machine cgroup partition with '
                'ours. Stop it, or set REAL_TIER_ALLOW_SYSTEM_LIBVIRTD=1.'
                % ', '.join('%d %s' % o for o in others))
        self.virt_type = choose_virt_type()
        self.timings['prepare'] = time.monotonic() - started

        self.tmpdir = tempfile.mkdtemp(prefix='real-libvirt-',
                                       dir=self.base_dir)
        os.chmod(self.tmpdir, 0o755)
        self.addCleanup(self._remove_tmpdir)
        for sub in ('etc', 'run', 'lib', 'cache', 'log', 'sock', 'work',
                    'cache/qemu/capabilities'):
            os.makedirs(os.path.join(self.tmpdir, sub), exist_ok=True)
        for host_dir, _sub in PRIVATE_DIRS:
            os.makedirs(host_dir, exist_ok=True)
        self._write('etc/libvirtd.conf', _libvirtd_conf(
            self.tmpdir, bool(os.environ.get('REAL_TIER_DEBUG'))))
        self._write('etc/virtlogd.conf', _virtlogd_conf(self.tmpdir))
        self._write('etc/qemu.conf', QEMU_CONF)
        self._write('launch.sh', LAUNCH_SH)

        # Shared propagation: mounts tests make under tmpdir later reach
        # the daemon's namespace (a slave of this peer group).
        _run(['mount', '--bind', self.tmpdir, self.tmpdir])
        _run(['mount', '--make-shared', self.tmpdir])

        self.addCleanup(self._stop)
        # One test process at a time probes QEMU (9 s of both cores when
        # the cache is cold); the others then start from its cache.
        os.makedirs(CAPS_CACHE, exist_ok=True)
        with open(os.path.join(CAPS_CACHE, '.lock'), 'a') as lock:
            t0 = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.timings['caps-lock-wait'] = time.monotonic() - t0
            try:
                self._seed_caps_cache()
                self._start_daemons()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.start_seconds = time.monotonic() - started
        LOG.info('private libvirtd up at %s in %.2f s (%s), virt type %s',
                 self.uri, self.start_seconds,
                 ', '.join('%s %.2f s' % kv
                           for kv in sorted(self.timings.items())),
                 self.virt_type)

    def _start_daemons(self):
        t0 = time.monotonic()
        self._spawn('virtlogd', [
            'unshare', '--mount', '--propagation', 'slave', '--',
            'sh', self._path('launch.sh'), self.tmpdir,
            VIRTLOGD, '--config', self._path('etc/virtlogd.conf'),
            '--pid-file', self._path('run/virtlogd.pid')])
        self._wait_for_path('virtlogd', self._path('run/virtlogd-sock'))
        self.timings['virtlogd'] = time.monotonic() - t0

        t0 = time.monotonic()
        self._start_libvirtd()
        self.timings['libvirtd'] = time.monotonic() - t0

        t0 = time.monotonic()
        self.capabilities = self.conn.getCapabilities()
        if "<domain type='%s'" % self.virt_type not in self.capabilities:
            raise DaemonError('libvirtd reports no %s domain type for '
                              'x86_64:\n%s\n%s' % (
                                  self.virt_type, self.capabilities,
                                  self.log_tail()))
        self.timings['capabilities'] = time.monotonic() - t0
        self._save_caps_cache()

    def _start_libvirtd(self):
        # nsenter without --fork execs libvirtd in place: the PID we hold
        # is libvirtd's own.  Entering a mount namespace also moves the
        # root to that namespace's own root, so --root and --wd keep
        # virtlogd's (ours): in a chroot, libvirtd would otherwise look for
        # its configuration outside it.
        self._spawn('libvirtd', [
            'nsenter', '--target', str(self._procs['virtlogd'].pid),
            '--mount', '--root', '--wd', '--',
            LIBVIRTD, '--config', self._path('etc/libvirtd.conf'),
            '--pid-file', self._path('run/libvirtd.pid')])
        sock = self._path('sock/libvirt-sock')
        self._wait_for_path('libvirtd', sock)
        self.uri = 'qemu:///system?socket=%s' % sock
        self.conn = self._open()

    def kill_libvirtd(self):
        """Kill libvirtd with SIGKILL, as a crash would; virtlogd stays.

        Persistent domain definitions survive in ``etc/qemu``.  ``conn``
        is dead afterwards, until :meth:`restart_libvirtd`.
        """
        proc = self._procs.pop('libvirtd')
        proc.kill()
        proc.wait()

    def restart_libvirtd(self):
        """Start a killed libvirtd again and reopen ``conn``."""
        # The killed daemon left its sockets behind: a client would
        # connect to nothing, and the new daemon would not bind them.
        for name in os.listdir(self._path('sock')):
            os.unlink(os.path.join(self._path('sock'), name))
        try:
            self.conn.close()
        except libvirt.libvirtError:
            pass
        self._start_libvirtd()

    @property
    def pids(self):
        """{'virtlogd': pid, 'libvirtd': pid} of the daemons we started."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def _path(self, rel):
        return os.path.join(self.tmpdir, rel)

    def _write(self, rel, text):
        with open(self._path(rel), 'w') as f:
            f.write(text)

    def _spawn(self, name, argv):
        out = open(self._path('log/%s.stdout' % name), 'w')
        try:
            self._procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, close_fds=True,
                start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as e:
            raise DaemonError('cannot run %s: %s' % (argv[0], e))
        finally:
            out.close()
        LOG.debug('started %s as pid %d', name, self._procs[name].pid)

    def _wait_for_path(self, name, path):
        deadline = time.monotonic() + START_TIMEOUT
        proc = self._procs[name]
        while not os.path.exists(path):
            if proc.poll() is not None:
                raise DaemonError('%s exited with %s before creating %s:\n%s'
                                  % (name, proc.returncode, path,
                                     self.log_tail()))
            if time.monotonic() > deadline:
                raise DaemonError('%s did not create %s within %d s:\n%s'
                                  % (name, path, START_TIMEOUT,
                                     self.log_tail()))
            time.sleep(0.05)

    def _open(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return libvirt.open(self.uri)
            except libvirt.libvirtError as e:
                if (time.monotonic() > deadline
                        or self._procs['libvirtd'].poll() is not None):
                    raise DaemonError('virConnectOpen(%s) failed: %s\n%s'
                                      % (self.uri, e, self.log_tail()))
                time.sleep(0.1)

    def _seed_caps_cache(self):
        if os.path.isdir(CAPS_CACHE):
            for name in os.listdir(CAPS_CACHE):
                if name.endswith('.xml'):
                    shutil.copy(os.path.join(CAPS_CACHE, name),
                                self._path('cache/qemu/capabilities'))

    def _save_caps_cache(self):
        src = self._path('cache/qemu/capabilities')
        for name in os.listdir(src):
            if not name.endswith('.xml'):
                continue
            tmp = os.path.join(CAPS_CACHE, '.%s.%d' % (name, os.getpid()))
            shutil.copy(os.path.join(src, name), tmp)
            os.rename(tmp, os.path.join(CAPS_CACHE, name))

    def log_tail(self, lines=40):
        """The last lines of the daemons' logs, for error messages."""
        text = []
        for rel in ('log/virtlogd.stdout', 'log/libvirtd.stdout',
                    'log/virtlogd.log', 'log/libvirtd.log'):
            path = self._path(rel)
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    tail = f.read().splitlines()[-lines:]
                if tail:
                    text.append('--- %s\n%s' % (rel, '\n'.join(tail)))
        return '\n'.join(text)

    def qemu_log(self, domain_name):
        """QEMU's own log for a domain (command line, errors)."""
        path = self._path('log/qemu/%s.log' % domain_name)
        if not os.path.exists(path):
            return ''
        with open(path, errors='replace') as f:
            return f.read()

    # -- cleanup -------------------------------------------------------

    def _stop(self):
        """Remove our domains, then stop exactly the processes we began."""
        errors = []
        if self.conn is not None:
            try:
                self._remove_domains()
            except libvirt.libvirtError as e:
                errors.append('removing domains: %s' % e)
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass
            self.conn = None
        self._terminate('libvirtd')
        # Guests or virtiofsd left behind (libvirtd killed before it could
        # stop them) were started by our daemon: their pid files are in our
        # private run/ directory, so these PIDs are ours.
        for pid in self._leftover_children():
            LOG.warning('killing leftover pid %d of our libvirtd', pid)
            self._kill_pid(pid)
        self._terminate('virtlogd')
        if errors:
            LOG.warning('cleanup: %s', '; '.join(errors))

    def _remove_domains(self):
        for dom in self.conn.listAllDomains(0):
            try:
                if dom.isActive():
                    dom.destroy()
            except libvirt.libvirtError as e:
                LOG.warning('destroy %s: %s', dom.name(), e)
            try:
                if dom.isPersistent():
                    dom.undefineFlags(
                        libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                        | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                        | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            except libvirt.libvirtError as e:
                LOG.warning('undefine %s: %s', dom.name(), e)

    def _terminate(self, name):
        proc = self._procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            LOG.warning('%s (pid %d) ignored SIGTERM for %d s; killing',
                        name, proc.pid, STOP_TIMEOUT)
            proc.kill()
            proc.wait()

    def _leftover_children(self):
        qemu_run = self._path('run/qemu')
        pids = []
        if not os.path.isdir(qemu_run):
            return pids
        for name in os.listdir(qemu_run):
            if not name.endswith('.pid'):
                continue
            try:
                with open(os.path.join(qemu_run, name)) as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                continue
            if pid > 1 and _pid_alive(pid):
                pids.append(pid)
        return pids

    def _kill_pid(self, pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _remove_tmpdir(self):
        if self.tmpdir is None:
            return
        for point in _mounts_under(self.tmpdir):
            proc = subprocess.run(['umount', point], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            if proc.returncode:
                subprocess.run(['umount', '--lazy', point])
        left = _mounts_under(self.tmpdir)
        if left:
            # Never rmtree across a mount: it could be someone's data.
            LOG.error('not removing %s: still mounted: %s', self.tmpdir,
                      left)
            return
        if os.environ.get('REAL_TIER_KEEP'):
            LOG.info('keeping %s (REAL_TIER_KEEP)', self.tmpdir)
            return
        shutil.rmtree(self.tmpdir, ignore_errors=True)

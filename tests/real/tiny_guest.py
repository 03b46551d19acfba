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

"""A tiny Linux guest made at test time from Debian packages only.

Why: the real tier must prove that a guest really boots with the XML we
produce, and really sees what we share with it (virtiofs), without shipping
or downloading any disk image.  Everything comes from Debian's archive
through ``apt-get download`` and is unpacked with ``dpkg-deb -x`` into a
temporary directory; nothing is installed into the host.

What is built (and cached in ``<repo>/.cache/tiny-guest/<key>/``, where
``<key>`` hashes the Debian package names and versions plus
:data:`BUILD_FORMAT`):

* ``vmlinuz``: the kernel of the package ``linux-image-amd64`` currently
  depends on (``linux-image-<abi>-amd64``);
* ``initrd.cpio``: an uncompressed ``newc`` cpio archive holding busybox
  (package ``busybox-static``), the kernel modules listed in
  :data:`MODULES` plus their dependencies (read from each module's
  ``.modinfo`` ELF section, because the package ships no ``modules.dep``:
  Debian runs depmod at install time), and ``/init``.

``/init`` mounts proc, sys and devtmpfs, loads the modules, lowers the
kernel's console log level so kernel messages do not break result lines,
prints ``TINYGUEST-BOOTED``, sources ``/test.sh`` in a subshell (with a
``result`` shell function that prints ``TINYGUEST-RESULT: <text>``, and
``wait_for_shutdown_request`` which prints ``TINYGUEST-WAITING`` and blocks
until the host calls ``virDomainShutdown``, so a test can act on a running
guest and then let it finish), then
prints ``TINYGUEST-EXIT: <status>`` and ``TINYGUEST-DONE`` and powers off
with ``poweroff -f`` (the domain needs ACPI for that, which
:mod:`tests.real.adjust` guarantees).

The test script is not part of the cached build: the kernel accepts an
initramfs made of several cpio archives back to back, so
:meth:`TinyGuest.initrd_with_script` writes the cached archive followed by
a small archive holding ``/test.sh``.  One cached build serves every script.

Serial console: the kernel command line is :data:`CMDLINE`
(``console=ttyS0``); the 8250 serial driver is built into Debian's kernel,
so the console works before any module is loaded.
"""

import collections
import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import time

LOG = logging.getLogger(__name__)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CACHE_ROOT = os.path.join(REPO_ROOT, '.cache', 'tiny-guest')

# Bump when the content of the build changes in a way the package versions
# do not capture (init script, module list, archive layout).
BUILD_FORMAT = 3

KERNEL_META_PACKAGE = 'linux-image-amd64'
BUSYBOX_PACKAGE = 'busybox-static'

# Modules the guest loads at boot, in addition to their dependencies.
# virtio_pci is modular in Debian's kernel (CONFIG_VIRTIO_PCI=m), and so
# are the virtio device drivers; fuse + virtiofs give the virtiofs mount;
# button (CONFIG_ACPI_BUTTON=m) enables the ACPI power button event, which
# wait_for_shutdown_request in /init watches.
MODULES = ('virtio_pci', 'virtio_console', 'virtio_blk', 'virtio_net',
           'fuse', 'virtiofs', 'button')

CMDLINE = 'console=ttyS0 loglevel=4'

MARK_BOOTED = 'TINYGUEST-BOOTED'
MARK_RESULT = 'TINYGUEST-RESULT: '
MARK_EXIT = 'TINYGUEST-EXIT: '
MARK_DONE = 'TINYGUEST-DONE'
MARK_WAITING = 'TINYGUEST-WAITING'

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
for m in $(cat /etc/tinyguest/modules); do
    insmod /lib/modules/tinyguest/$m.ko ||
        echo "TINYGUEST-WARN: insmod $m failed"
done
echo 1 > /proc/sys/kernel/printk
result() { echo "TINYGUEST-RESULT: $*"; }
# Block until the host asks for a shutdown (virDomainShutdown presses the
# ACPI power button; no acpid here, so watch the SCI interrupt count).
# Returns 1 after $1 seconds (default 300) without a request.
wait_for_shutdown_request() {
    before=$(grep acpi /proc/interrupts)
    left=$(( ${1:-300} * 5 ))
    echo TINYGUEST-WAITING
    while [ "$(grep acpi /proc/interrupts)" = "$before" ]; do
        usleep 200000
        left=$((left - 1))
        [ $left -gt 0 ] || return 1
    done
}
echo TINYGUEST-BOOTED
if [ -f /test.sh ]; then
    ( . /test.sh )
    rc=$?
else
    echo "TINYGUEST-WARN: no /test.sh"
    rc=127
fi
echo "TINYGUEST-EXIT: $rc"
echo TINYGUEST-DONE
sync
poweroff -f
sleep 5
echo "TINYGUEST-WARN: poweroff -f returned"
"""


class BuildError(Exception):
    """The tiny guest could not be built; the message says why."""


def _run(argv, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          **kwargs)
    if proc.returncode != 0:
        raise BuildError('%s failed (exit %d): %s' % (
            ' '.join(argv), proc.returncode,
            (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc.stdout


# --- Debian package lookup --------------------------------------------------

def _candidate(package):
    out = _run(['apt-cache', 'policy', package])
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('Candidate:'):
            version = line.split(':', 1)[1].strip()
            return None if version == '(none)' else version
    return None


def _kernel_package():
    out = _run(['apt-cache', 'depends', KERNEL_META_PACKAGE])
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('Depends:') and 'linux-image-' in line:
            return line.split(':', 1)[1].strip()
    return None


APT_STATE = ('/var/lib/apt/lists', '/etc/apt/sources.list.d',
             '/etc/apt/preferences.d')


def _apt_state():
    state = []
    for path in APT_STATE:
        try:
            state.append(os.stat(path).st_mtime_ns)
        except OSError:
            state.append(None)
    return state


def _resolve_packages():
    """Return {package: version}, reusing the last answer if apt is same.

    Three apt-cache calls cost 1.5-4 s per test process; their answer only
    changes when apt's lists or sources do, so it is kept in
    ``resolved.json`` with the mtimes of :data:`APT_STATE`.
    """
    memo = os.path.join(CACHE_ROOT, 'resolved.json')
    state = _apt_state()
    try:
        with open(memo) as f:
            saved = json.load(f)
        if saved.get('apt_state') == state:
            return saved['packages']
    except (OSError, ValueError, KeyError):
        pass
    packages = _query_packages()
    tmp = '%s.%d' % (memo, os.getpid())
    with open(tmp, 'w') as f:
        json.dump({'apt_state': _apt_state(), 'packages': packages}, f)
    os.rename(tmp, memo)
    return packages


def _query_packages():
    """Ask apt for the kernel and busybox packages and versions.

    apt's lists may be absent on a fresh machine (``apt-cache`` then knows
    no candidate); ``apt-get update`` is run once in that case only.
    """
    for attempt in (1, 2):
        kernel = _kernel_package()
        found = {}
        if kernel:
            found[kernel] = _candidate(kernel)
        found[BUSYBOX_PACKAGE] = _candidate(BUSYBOX_PACKAGE)
        if kernel and all(found.values()):
            return found
        if attempt == 1:
            LOG.info('apt knows no candidate for the tiny guest packages; '
                     'running apt-get update')
            _run(['apt-get', 'update'])
    raise BuildError('apt-cache finds no candidate for %s (kernel: %s) '
                     'and %s even after apt-get update'
                     % (KERNEL_META_PACKAGE, kernel, BUSYBOX_PACKAGE))


def _download_and_extract(package, version, workdir):
    """apt-get download one package and dpkg-deb -x it; return the root."""
    debdir = os.path.join(workdir, 'debs')
    os.makedirs(debdir, exist_ok=True)
    # The _apt sandbox user cannot write into our private temp directory.
    _run(['apt-get', 'download', '-q', '-o', 'APT::Sandbox::User=root',
          '%s=%s' % (package, version)], cwd=debdir)
    debs = [f for f in os.listdir(debdir)
            if f.startswith(package + '_') and f.endswith('.deb')]
    if len(debs) != 1:
        raise BuildError('expected one %s .deb in %s, found %s'
                         % (package, debdir, debs))
    root = os.path.join(workdir, package)
    _run(['dpkg-deb', '-x', os.path.join(debdir, debs[0]), root])
    os.unlink(os.path.join(debdir, debs[0]))
    return root


# --- kernel modules ---------------------------------------------------------

def modinfo(path):
    """Return the ``.modinfo`` section of a kernel module as a dict.

    The Debian kernel package ships no modules.dep (depmod runs at install
    time) and the host may lack kmod, so dependencies are read straight
    from the ELF section the kernel's module loader reads.  Values of
    repeated keys are joined with commas.
    """
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        raise BuildError('%s is not a little-endian ELF64 object' % path)
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)

    def section(i):
        (name, _type, _flags, _addr, offset, size, _link, _info, _align,
         _entsize) = struct.unpack_from('<IIQQQQIIQQ', data,
                                        shoff + i * shentsize)
        return name, offset, size

    _, stroff, _ = section(shstrndx)
    info = {}
    for i in range(shnum):
        name, offset, size = section(i)
        end = data.index(b'\0', stroff + name)
        if data[stroff + name:end] != b'.modinfo':
            continue
        for item in data[offset:offset + size].split(b'\0'):
            if b'=' in item:
                key, value = item.decode('utf-8', 'replace').split('=', 1)
                info[key] = (info[key] + ',' + value) if key in info \
                    else value
    return info


def _module_index(moddir):
    index = {}
    for dirpath, _dirs, files in os.walk(moddir):
        for name in files:
            if name.endswith('.ko'):
                # modprobe treats '-' and '_' alike in module names.
                index[name[:-3].replace('-', '_')] = os.path.join(
                    dirpath, name)
    return index


def resolve_modules(moddir, wanted, builtin=()):
    """Return [(name, path)] for ``wanted`` and dependencies, load order.

    Modules built into the kernel (``modules.builtin``) are skipped; a
    wanted module that is neither modular nor built in is an error.
    """
    index = _module_index(moddir)
    builtin = {b.replace('-', '_') for b in builtin}
    order = []
    state = {}

    def visit(name):
        name = name.replace('-', '_')
        if state.get(name) == 'done' or name in builtin:
            return
        if state.get(name) == 'visiting':
            raise BuildError('module dependency loop at %s' % name)
        if name not in index:
            raise BuildError('kernel module %s is neither in %s nor built '
                             'in' % (name, moddir))
        state[name] = 'visiting'
        deps = modinfo(index[name]).get('depends', '')
        for dep in filter(None, deps.split(',')):
            visit(dep)
        state[name] = 'done'
        order.append((name, index[name]))

    for name in wanted:
        visit(name)
    return order


def _builtin_modules(moddir):
    path = os.path.join(moddir, 'modules.builtin')
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {os.path.basename(line.strip())[:-3] for line in f
                if line.strip().endswith('.ko')}


# --- cpio -------------------------------------------------------------------

class CpioWriter(object):
    """Writes a ``newc`` cpio archive, the format the kernel unpacks.

    Written here rather than with cpio(1) so that the host needs no extra
    package and archives are reproducible (fixed inode numbers and mtime).
    """

    def __init__(self, fileobj):
        self._f = fileobj
        self._ino = 1

    def _entry(self, name, mode, data=b'', rdev=(0, 0)):
        name = name.lstrip('/').encode('utf-8') + b'\0'
        header = ('070701' + '%08x' * 13) % (
            self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0],
            rdev[1], len(name), 0)
        self._ino += 1
        self._f.write(header.encode('ascii') + name)
        self._pad(110 + len(name))
        self._f.write(data)
        self._pad(len(data))

    def _pad(self, length):
        self._f.write(b'\0' * (-length % 4))

    def directory(self, name, mode=0o755):
        self._entry(name, stat.S_IFDIR | mode)

    def file(self, name, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode('utf-8')
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode('utf-8'))

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def close(self):
        self._entry('TRAILER!!!', 0)


def script_archive(script):
    """Return a cpio archive (bytes) holding ``script`` as ``/test.sh``."""
    buf = io.BytesIO()
    writer = CpioWriter(buf)
    writer.file('test.sh', script, 0o755)
    writer.close()
    return buf.getvalue()


# --- the guest --------------------------------------------------------------

TinyGuestBase = collections.namedtuple(
    'TinyGuestBase', ['kernel', 'initrd', 'cmdline', 'packages', 'release',
                      'modules', 'build_seconds', 'cached', 'cache_dir'])


class TinyGuest(TinyGuestBase):
    """A cached kernel + initramfs; see the module docstring.

    ``build_seconds`` is the time :func:`build` took in this process
    (cache hit or cold build); ``cached`` tells which of the two it was.
    """

    def initrd_with_script(self, script, dest):
        """Write an initrd at ``dest`` that runs ``script``; return it."""
        with open(dest, 'wb') as out:
            with open(self.initrd, 'rb') as base:
                shutil.copyfileobj(base, out)
            out.write(script_archive(script))
        return dest


def _write_initrd(path, busybox, modules):
    with open(path, 'wb') as f:
        writer = CpioWriter(f)
        for d in ('bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc',
                  'etc/tinyguest', 'proc', 'sys', 'dev', 'mnt', 'tmp',
                  'root', 'lib', 'lib/modules', 'lib/modules/tinyguest'):
            writer.directory(d)
        writer.chardev('dev/console', 5, 1)
        with open(busybox, 'rb') as bb:
            writer.file('bin/busybox', bb.read(), 0o755)
        writer.symlink('bin/sh', 'busybox')
        for name, src in modules:
            with open(src, 'rb') as mod:
                writer.file('lib/modules/tinyguest/%s.ko' % name,
                            mod.read())
        writer.file('etc/tinyguest/modules',
                    ''.join(name + '\n' for name, _src in modules))
        writer.file('init', INIT, 0o755)
        writer.close()


def _cache_key(packages):
    text = json.dumps({'format': BUILD_FORMAT, 'packages': packages,
                       'modules': MODULES, 'init': INIT}, sort_keys=True)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path):
    with open(path, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(cache_dir, started, cached):
    with open(os.path.join(cache_dir, 'manifest.json')) as f:
        manifest = json.load(f)
    return TinyGuest(
        kernel=os.path.join(cache_dir, 'vmlinuz'),
        initrd=os.path.join(cache_dir, 'initrd.cpio'),
        cmdline=CMDLINE, packages=manifest['packages'],
        release=manifest['release'], modules=manifest['modules'],
        build_seconds=time.monotonic() - started, cached=cached,
        cache_dir=cache_dir)


def _build_into(target, packages):
    workdir = tempfile.mkdtemp(prefix='tiny-guest-build-',
                               dir=os.path.dirname(target))
    try:
        kernel_pkg = [p for p in packages if p != BUSYBOX_PACKAGE][0]
        kroot = _download_and_extract(kernel_pkg, packages[kernel_pkg],
                                      workdir)
        broot = _download_and_extract(BUSYBOX_PACKAGE,
                                      packages[BUSYBOX_PACKAGE], workdir)
        kernels = sorted(os.listdir(os.path.join(kroot, 'boot')))
        vmlinuz = [k for k in kernels if k.startswith('vmlinuz-')]
        if len(vmlinuz) != 1:
            raise BuildError('expected one vmlinuz in %s, found %s'
                             % (kernel_pkg, kernels))
        release = vmlinuz[0][len('vmlinuz-'):]
        moddir = os.path.join(kroot, 'lib', 'modules', release)
        modules = resolve_modules(moddir, MODULES,
                                  _builtin_modules(moddir))
        busybox = os.path.join(broot, 'bin', 'busybox')
        if not os.path.exists(busybox):
            raise BuildError('%s has no /bin/busybox' % BUSYBOX_PACKAGE)

        staging = os.path.join(workdir, 'out')
        os.mkdir(staging)
        shutil.copy(os.path.join(kroot, 'boot', vmlinuz[0]),
                    os.path.join(staging, 'vmlinuz'))
        _write_initrd(os.path.join(staging, 'initrd.cpio'), busybox,
                      modules)
        with open(os.path.join(staging, 'manifest.json'), 'w') as f:
            json.dump({'packages': packages, 'release': release,
                       'modules': [name for name, _p in modules],
                       'format': BUILD_FORMAT}, f, indent=1,
                      sort_keys=True)
        # The cache dir is world-readable: QEMU may run as another user.
        for name in os.listdir(staging):
            os.chmod(os.path.join(staging, name), 0o644)
        os.chmod(staging, 0o755)
        os.rename(staging, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _latest_cached():
    if not os.path.isdir(CACHE_ROOT):
        return None
    entries = [os.path.join(CACHE_ROOT, d) for d in os.listdir(CACHE_ROOT)
               if os.path.exists(os.path.join(CACHE_ROOT, d,
                                              'manifest.json'))]
    return max(entries, key=os.path.getmtime) if entries else None


_BUILT = None


def build():
    """Return the :class:`TinyGuest`, building it unless cached.

    Memoized per process; concurrent test processes serialize on a lock
    file so that only one of them downloads and builds.  If apt cannot
    resolve the packages (no network, no lists) a previously cached build
    is used and the fact logged, so that an offline re-run still works.
    """
    global _BUILT
    if _BUILT is not None:
        return _BUILT
    started = time.monotonic()
    os.makedirs(CACHE_ROOT, exist_ok=True)
    os.chmod(CACHE_ROOT, 0o755)
    try:
        packages = _resolve_packages()
    except BuildError as e:
        fallback = _latest_cached()
        if fallback is None:
            raise
        LOG.warning('using cached tiny guest %s: %s', fallback, e)
        _BUILT = _load(fallback, started, cached=True)
        return _BUILT
    target = os.path.join(CACHE_ROOT, _cache_key(packages))
    with _locked(os.path.join(CACHE_ROOT, '.lock')):
        cached = os.path.exists(os.path.join(target, 'manifest.json'))
        if not cached:
            LOG.info('building tiny guest from %s', packages)
            _build_into(target, packages)
    _BUILT = _load(target, started, cached)
    LOG.info('tiny guest %s in %.1f s (%s)', target, _BUILT.build_seconds,
             'cached' if cached else 'cold build')
    return _BUILT

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

"""Privileged helpers of the power-metrics share, through oslo.privsep.

nova-compute runs unprivileged; making a guest's directory under a
root-owned tree, bind mounting it read-only and unmounting it need root.
Like Nova, we run them in a privsep daemon started through rootwrap; the
context is ours (Nova's only admits functions of the ``nova`` package), so
operators install ``etc/nova/rootwrap.d/nova-domain-meta.filters``.

Each function checks its own arguments again: the daemon trusts nobody.
"""

import ctypes
import os
import re
import shutil
import stat

from oslo_concurrency import processutils
from oslo_privsep import capabilities
from oslo_privsep import priv_context

sys_admin_pctxt = priv_context.PrivContext(
    'nova_domain_meta',
    cfg_section='nova_domain_meta_sys_admin',
    pypath=__name__ + '.sys_admin_pctxt',
    capabilities=[capabilities.CAP_DAC_OVERRIDE,
                  capabilities.CAP_DAC_READ_SEARCH,
                  capabilities.CAP_FOWNER,
                  capabilities.CAP_SYS_ADMIN],
)


_OCTAL_ESCAPE = re.compile(r'\\([0-7]{3})')


def read_mount_table():
    """Return ``{mount point: set of per-mount options}`` of this process.

    Read from ``/proc/self/mountinfo``; needs no privilege.
    """
    table = {}
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5:
                # Space, tab, newline and backslash are escaped as \ooo.
                point = _OCTAL_ESCAPE.sub(
                    lambda m: chr(int(m.group(1), 8)), fields[4])
                table[point] = set(fields[5].split(','))
    return table


class UnsafePath(ValueError):
    """A path that could lead outside the directory it must stay in."""


def check_name(name):
    """Refuse a directory entry name that is not exactly one entry."""
    if (not isinstance(name, str) or name in ('', '.', '..') or
            '/' in name or '\0' in name):
        raise UnsafePath('%r is not a plain directory name' % (name,))
    return name


def _open_dir(path):
    """An O_PATH descriptor of ``path``, refusing a symbolic link."""
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY)
    return fd


def _ensure_guest_directory(base, name):
    check_name(name)
    base_fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=base_fd)
        except FileExistsError:
            pass
        st = os.stat(name, dir_fd=base_fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath('%s/%s exists and is not a directory (a '
                             'symbolic link is refused)' % (base, name))
    finally:
        os.close(base_fd)
    return os.path.join(base, name)


def _remove_guest_directory(base, name):
    check_name(name)
    path = os.path.join(base, name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath('%s is not a directory; left alone' % path)
    # rmtree's descriptor-based walk never follows a symbolic link.
    shutil.rmtree(path)
    return True


class _MountAttr(ctypes.Structure):
    # struct mount_attr of <linux/mount.h>
    _fields_ = [('attr_set', ctypes.c_uint64),
                ('attr_clr', ctypes.c_uint64),
                ('propagation', ctypes.c_uint64),
                ('userns_fd', ctypes.c_uint64)]


# Linux's new mount API (5.12+); these numbers are the same on every
# architecture that has the calls (they were added after the syscall
# tables were unified).
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_MOUNT_SETATTR = 442
_OPEN_TREE_CLONE = 1
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_RDONLY = 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _syscall(name, number, *args):
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, '%s: %s' % (name, os.strerror(errno)))
    return result


def _bind_mount_readonly(source, target):
    """Mount ``source`` read-only at ``target`` (an existing directory).

    With Linux's new mount API the copy of ``source`` is made detached,
    made read-only, and only then attached at ``target``: it is never
    visible writable anywhere, and it reaches other mount namespaces
    (libvirtd's, a container's) read-only, where a bind mount followed by
    a read-only remount would reach them writable (a remount does not
    propagate).  ``source`` is opened without following symbolic links,
    so it cannot be swapped for a link between the check and the mount.
    Needs Linux 5.12 (``mount_setattr``); older kernels fail the start-up
    probe and the host does not offer the share.
    """
    source_fd = _open_dir(source)
    try:
        tree = _syscall('open_tree', _SYS_OPEN_TREE, source_fd, b'',
                        _OPEN_TREE_CLONE | os.O_CLOEXEC | _AT_EMPTY_PATH)
    finally:
        os.close(source_fd)
    try:
        attr = _MountAttr(attr_set=_MOUNT_ATTR_RDONLY)
        _syscall('mount_setattr', _SYS_MOUNT_SETATTR, tree, b'',
                 _AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr))
        _syscall('move_mount', _SYS_MOVE_MOUNT, tree, b'',
                 _AT_FDCWD, os.fsencode(target), _MOVE_MOUNT_F_EMPTY_PATH)
    finally:
        os.close(tree)


def _unmount(target):
    try:
        processutils.execute('umount', target)
    except processutils.ProcessExecutionError:
        # Still busy (virtiofsd of a guest being torn down): detach it
        # now, the kernel frees it when the last user goes.
        processutils.execute('umount', '--lazy', target)


@sys_admin_pctxt.entrypoint
def ensure_guest_directory(base, name):
    """Create ``base/name`` unless it exists; return its path."""
    return _ensure_guest_directory(base, name)


@sys_admin_pctxt.entrypoint
def remove_guest_directory(base, name):
    """Remove ``base/name`` and what it holds; True if it existed."""
    return _remove_guest_directory(base, name)


@sys_admin_pctxt.entrypoint
def bind_mount_readonly(source, target):
    """Bind ``source`` read-only at ``target``."""
    return _bind_mount_readonly(source, target)


@sys_admin_pctxt.entrypoint
def unmount(target):
    """Unmount ``target``."""
    return _unmount(target)

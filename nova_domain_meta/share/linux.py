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

"""Linux system calls the share's privileged side makes, by descriptor.

Python's ``os`` module has no ``openat2``, no new mount API and no
``FS_IOC_SETFLAGS``; these thin wrappers call them through libc.  Every
call here takes or returns file descriptors, so a path is resolved once,
with the kernel refusing symbolic links and mount crossings, and what is
then mounted, flagged or removed is the very directory that was checked.

No policy lives here: which directories may be touched is decided by
:mod:`nova_domain_meta.share.privileged`.

The new mount API needs Linux 5.12 (``mount_setattr``), which implies
``openat2`` (5.6); a kernel without them fails the start-up probe and the
host does not offer the share.
"""

import ctypes
import errno
import fcntl
import os
import re
import struct

# System call numbers above 424 are the same on every architecture (added
# after the tables were unified).
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
_SYS_OPENAT2 = 437
_SYS_MOUNT_SETATTR = 442

AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_OPEN_TREE_CLONE = 1
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOVE_MOUNT_T_EMPTY_PATH = 0x40
_FSOPEN_CLOEXEC = 0x1
_FSMOUNT_CLOEXEC = 0x1
_FSCONFIG_SET_STRING = 1
_FSCONFIG_CMD_CREATE = 6

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08

#: Resolve an absolute path with no symbolic link on the way.
ABSOLUTE = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
#: Resolve ``name`` below a directory descriptor: no symbolic link, no
#: ``..`` out of it, no mount crossed.
STRICT = ABSOLUTE | RESOLVE_BENEATH | RESOLVE_NO_XDEV

DIR = os.O_PATH | os.O_DIRECTORY

#: A view: read-only, and nothing in it runs or acts as a device.
VIEW_ATTRS = (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
              MOUNT_ATTR_NOEXEC)
#: Small and bounded: a guest served an empty view by mistake can fill
#: neither the host's disk nor its memory.
TMPFS_OPTIONS = {'source': 'nova-domain-meta', 'mode': '0755', 'size': '1m',
                 'nr_inodes': '65536'}
TMPFS_ATTRS = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC

_MNT_DETACH = 0x2
_UMOUNT_NOFOLLOW = 0x8

# <linux/fs.h>: _IOR('f', 1, long) and _IOW('f', 2, long); the kernel
# reads and writes an int whatever the size in the number says.
_FS_IOC_GETFLAGS = 0x80086601 if struct.calcsize('l') == 8 else 0x80046601
_FS_IOC_SETFLAGS = 0x40086602 if struct.calcsize('l') == 8 else 0x40046602
FS_IMMUTABLE_FL = 0x10

TMPFS_MAGIC = 0x01021994

_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    # struct open_how of <linux/openat2.h>
    _fields_ = [('flags', ctypes.c_uint64),
                ('mode', ctypes.c_uint64),
                ('resolve', ctypes.c_uint64)]


class _MountAttr(ctypes.Structure):
    # struct mount_attr of <linux/mount.h>
    _fields_ = [('attr_set', ctypes.c_uint64),
                ('attr_clr', ctypes.c_uint64),
                ('propagation', ctypes.c_uint64),
                ('userns_fd', ctypes.c_uint64)]


def _check(name, result, path=None):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (name, os.strerror(err)), path)
    return result


def _syscall(name, number, *args, path=None):
    return _check(name, _libc.syscall(ctypes.c_long(number), *args), path)


def openat2(dir_fd, path, flags, resolve):
    """``openat2(2)``: open ``path`` below ``dir_fd`` under ``resolve``.

    Symbolic links refused (``RESOLVE_NO_SYMLINKS``) give ``ELOOP``, a
    mount crossed (``RESOLVE_NO_XDEV``) ``EXDEV``, an escape from
    ``dir_fd`` (``RESOLVE_BENEATH``) ``EXDEV``.
    """
    how = _OpenHow(flags=flags | os.O_CLOEXEC, mode=0, resolve=resolve)
    return _syscall('openat2', _SYS_OPENAT2, ctypes.c_int(dir_fd),
                    os.fsencode(path), ctypes.byref(how),
                    ctypes.c_size_t(ctypes.sizeof(how)), path=path)


def open_tree_clone(fd):
    """A detached copy of the mount tree at ``fd`` (``OPEN_TREE_CLONE``)."""
    return _syscall('open_tree', _SYS_OPEN_TREE, ctypes.c_int(fd), b'',
                    ctypes.c_uint(_OPEN_TREE_CLONE | os.O_CLOEXEC |
                                  _AT_EMPTY_PATH))


def mount_setattr(tree_fd, attr_set):
    """Set mount attributes (``MOUNT_ATTR_*``) on a detached tree."""
    attr = _MountAttr(attr_set=attr_set)
    _syscall('mount_setattr', _SYS_MOUNT_SETATTR, ctypes.c_int(tree_fd),
             b'', ctypes.c_uint(_AT_EMPTY_PATH), ctypes.byref(attr),
             ctypes.c_size_t(ctypes.sizeof(attr)))


def move_mount(tree_fd, target_fd):
    """Attach the detached tree ``tree_fd`` on the directory ``target_fd``.

    The target is the directory the descriptor holds, not a path looked
    up again: it cannot be swapped for a link in between.
    """
    _syscall('move_mount', _SYS_MOVE_MOUNT, ctypes.c_int(tree_fd), b'',
             ctypes.c_int(target_fd), b'',
             ctypes.c_uint(_MOVE_MOUNT_F_EMPTY_PATH |
                           _MOVE_MOUNT_T_EMPTY_PATH))


def tmpfs(options, attr_flags):
    """A detached new tmpfs with ``options`` (a dict of strings)."""
    fs = _syscall('fsopen', _SYS_FSOPEN, b'tmpfs',
                  ctypes.c_uint(_FSOPEN_CLOEXEC))
    try:
        for key, value in sorted(options.items()):
            _syscall('fsconfig', _SYS_FSCONFIG, ctypes.c_int(fs),
                     ctypes.c_uint(_FSCONFIG_SET_STRING), key.encode(),
                     value.encode(), ctypes.c_int(0))
        _syscall('fsconfig', _SYS_FSCONFIG, ctypes.c_int(fs),
                 ctypes.c_uint(_FSCONFIG_CMD_CREATE), None, None,
                 ctypes.c_int(0))
        return _syscall('fsmount', _SYS_FSMOUNT, ctypes.c_int(fs),
                        ctypes.c_uint(_FSMOUNT_CLOEXEC),
                        ctypes.c_uint(attr_flags))
    finally:
        os.close(fs)


def umount_entry(dir_fd, name, detach=False):
    """Unmount what is mounted on entry ``name`` of directory ``dir_fd``.

    ``umount2`` takes a path: ``/proc/self/fd/N/<name>`` names the entry
    of the very directory the descriptor holds, and ``UMOUNT_NOFOLLOW``
    refuses ``name`` if it is a symbolic link.  (A descriptor of the mount
    itself cannot be used: it would keep the mount busy.)
    """
    path = '/proc/self/fd/%d/%s' % (dir_fd, name)
    flags = _UMOUNT_NOFOLLOW | (_MNT_DETACH if detach else 0)
    _check('umount2', _libc.umount2(os.fsencode(path), ctypes.c_int(flags)),
           path)


def fs_type(fd):
    """``f_type`` of ``fstatfs(2)`` (e.g. :data:`TMPFS_MAGIC`)."""
    buf = ctypes.create_string_buffer(256)
    _check('fstatfs', _libc.fstatfs(ctypes.c_int(fd), buf))
    return struct.unpack_from('l', buf.raw)[0] & 0xffffffff


def get_flags(fd):
    """The inode flags (``FS_*_FL``) of an open (not ``O_PATH``) fd."""
    buf = bytearray(struct.pack('i', 0))
    fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf)
    return struct.unpack('i', buf)[0]


def set_immutable(fd, on):
    """Set or clear ``FS_IMMUTABLE_FL``; False if the filesystem cannot.

    Needs ``CAP_LINUX_IMMUTABLE``.  tmpfs supports the flag since Linux
    6.0; on older kernels it answers ``ENOTTY``.
    """
    try:
        flags = get_flags(fd)
    except OSError as e:
        if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP,
                       errno.EINVAL):
            return False
        raise
    wanted = (flags | FS_IMMUTABLE_FL) if on else (flags & ~FS_IMMUTABLE_FL)
    if wanted != flags:
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, bytearray(struct.pack('i',
                                                                wanted)))
    return True


_OCTAL_ESCAPE = re.compile(r'\\([0-7]{3})')


def mount_table(pid='self'):
    """``{mount point: set of per-mount options}`` of process ``pid``.

    Read from ``/proc/<pid>/mountinfo``, which the kernel lets any user
    read: no privilege needed, also for another process.  When several
    mounts are stacked on one point, the last (topmost) one wins.
    """
    table = {}
    with open('/proc/%s/mountinfo' % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5:
                # Space, tab, newline and backslash are escaped as \ooo.
                point = _OCTAL_ESCAPE.sub(
                    lambda m: chr(int(m.group(1), 8)), fields[4])
                table[point] = set(fields[5].split(','))
    return table


class Mounts(object):
    """The mount operations the share's privileged side needs.

    One object, so that the functional tests can put a table in its place
    and keep every other check real.
    """

    @staticmethod
    def is_mount_point(dir_fd, name):
        """True when something is mounted on entry ``name``."""
        try:
            os.close(openat2(dir_fd, name, DIR, STRICT))
        except FileNotFoundError:
            return False
        except OSError as e:
            if e.errno == errno.EXDEV:
                return True
            raise
        return False

    @staticmethod
    def _stat_mounted(dir_fd, name, stat_function):
        fd = openat2(dir_fd, name, DIR, ABSOLUTE | RESOLVE_BENEATH)
        try:
            return stat_function(fd)
        finally:
            os.close(fd)

    def root_of(self, dir_fd, name):
        """``(st_dev, st_ino)`` of the root of what is mounted at ``name``."""
        st = self._stat_mounted(dir_fd, name, os.fstat)
        return st.st_dev, st.st_ino

    def is_readonly(self, dir_fd, name):
        """True when what is mounted at ``name`` is read-only."""
        st = self._stat_mounted(dir_fd, name, os.fstatvfs)
        return bool(st.f_flag & os.ST_RDONLY)

    @staticmethod
    def bind_readonly(source_fd, target_fd):
        """Mount the directory ``source_fd`` read-only on ``target_fd``.

        A detached copy, made read-only, then attached: it is never
        visible writable in any mount namespace, and it reaches other
        namespaces read-only (a remount would not propagate).
        """
        tree = open_tree_clone(source_fd)
        try:
            mount_setattr(tree, VIEW_ATTRS)
            move_mount(tree, target_fd)
        finally:
            os.close(tree)

    @staticmethod
    def unmount(dir_fd, name):
        """Unmount what is mounted on entry ``name`` of ``dir_fd``."""
        try:
            umount_entry(dir_fd, name)
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            # Still in use (virtiofsd of a guest being torn down):
            # detach it now; the kernel frees it when the last user goes.
            umount_entry(dir_fd, name, detach=True)

    @staticmethod
    def is_tmpfs(fd):
        return fs_type(fd) == TMPFS_MAGIC

    @staticmethod
    def mount_tmpfs(target_fd):
        """Mount a new small tmpfs (:data:`TMPFS_OPTIONS`) on ``target_fd``."""
        tree = tmpfs(TMPFS_OPTIONS, TMPFS_ATTRS)
        try:
            move_mount(tree, target_fd)
        finally:
            os.close(tree)

    set_immutable = staticmethod(set_immutable)

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

"""What root does for the share, and everything it refuses.

These functions run in the plugin's privsep daemon (entry points in
:mod:`nova_domain_meta.privsep`), started with nova-compute's
configuration files.  A compromised nova-compute must not turn them into
root on the host, so no argument is trusted; each call is confined by the
daemon's own reading of ``[domain_meta]``:

* a shared directory is exactly one named in ``share_local_fs``, a tag
  exactly one given there, a guest name one plain, non-hidden entry;
* a guest's directory is ``<shared directory>/<name>``: a real directory
  owned by root on the shared directory's own filesystem (not a symbolic
  link, not a mount planted there, say a FUSE mount that would hang or
  redirect the daemon);
* a view is ``<share_view_dir>/<name>/<tag>``, inside the tmpfs the daemon
  keeps at ``share_view_dir``; nothing outside it is unmounted.

Every path is resolved once, by descriptor, with ``openat2`` refusing
symbolic links, ``..`` and (below the configured directories) mount
crossings; what is then created, mounted, flagged or removed is the very
directory that was checked, so swapping a component for a link between
the check and the use changes nothing.

**Fail closed.**  virtiofsd serves whatever is at the view's path in
libvirtd's mount namespace.  A view directory is made root-owned, mode
000 and immutable (``chattr +i``, where the filesystem allows: tmpfs since
Linux 6.0) before the read-only mount goes on it: when the mount is
missing there (unmounted, or made in a namespace libvirtd does not see)
the guest gets an empty directory it cannot write to.  And the views live
in a tmpfs, so after a reboot no view directory exists at all and a
domain started outside Nova fails to start instead of being served a bare
directory.
"""

import collections
import contextlib
import errno
import os

from oslo_config import cfg

from nova_domain_meta import conf  # noqa: F401  (registers [domain_meta])
from nova_domain_meta.share import linux
from nova_domain_meta.share import mapping

CONF = cfg.CONF

#: Owner every directory we create or accept must have.  The functional
#: tests, which may run unprivileged, set their own uid here.
OWNER = 0

#: The entry below ``share_view_dir`` the start-up probe uses; guest names
#: are never hidden, so no guest can be given it.
PROBE = '.probe'
_PROBE_SOURCE = 'source'
_PROBE_TAG = 'view'

_DIR = linux.DIR
_READ_DIR = os.O_RDONLY | os.O_DIRECTORY

View = collections.namedtuple('View', ['path', 'immutable'])


class UnsafePath(ValueError):
    """A request the privileged daemon refuses; nothing was changed."""


class NotOurTmpfs(UnsafePath):
    """``share_view_dir`` is not (yet) the tmpfs views are made in."""


def check_name(name):
    """Refuse a guest name that is not one plain, non-hidden entry."""
    if (not isinstance(name, str) or not name or name.startswith('.') or
            '/' in name or '\0' in name or len(os.fsencode(name)) > 255):
        raise UnsafePath('%r is not a plain directory name' % (name,))
    return name


def _configuration():
    """``(shares, view_dir)`` as this daemon read them from nova.conf."""
    if 'state_path' not in CONF:
        # share_view_dir may say $state_path; Nova registers it in
        # nova-compute but the daemon only imports us.
        from nova.conf import paths
        paths.register_opts(CONF)
    shares = CONF.domain_meta.share_local_fs
    if not shares:
        raise UnsafePath('[domain_meta] share_local_fs is not set in the '
                         'configuration the privileged daemon read')
    view_dir = os.path.normpath(CONF.domain_meta.share_view_dir)
    problem = (None if os.path.isabs(view_dir) else
               '[domain_meta] share_view_dir must be an absolute path')
    problem = problem or mapping.check_view_dir(shares, view_dir)
    if problem:
        raise UnsafePath(problem)
    return shares, view_dir


def _share_by_directory(shares, directory):
    for share in shares:
        if share.directory == directory:
            return share
    raise UnsafePath('%r is not a directory of [domain_meta] '
                     'share_local_fs' % (directory,))


def _share_by_tag(shares, tag):
    for share in shares:
        if share.tag == tag:
            return share
    raise UnsafePath('%r is not a tag of [domain_meta] share_local_fs'
                     % (tag,))


# Resolving, by descriptor.

def _reason(e, what):
    if e.errno == errno.ELOOP:
        return '%s is or passes through a symbolic link' % what
    if e.errno == errno.EXDEV:
        return '%s is a mount point or lies outside its directory' % what
    if e.errno == errno.ENOTDIR:
        return '%s is not a directory' % what
    return None


def _open(stack, dir_fd, path, what, flags=_DIR, resolve=linux.STRICT):
    """Open ``path`` below ``dir_fd``; closed when ``stack`` unwinds.

    The default ``resolve`` allows one plain entry: no symbolic link, no
    ``..`` out, no mount point.

    :raises FileNotFoundError: no such entry
    :raises UnsafePath: any of the refusals above
    """
    try:
        fd = linux.openat2(dir_fd, path, flags, resolve)
    except OSError as e:
        reason = _reason(e, what)
        if reason:
            raise UnsafePath(reason)
        raise
    stack.callback(os.close, fd)
    return fd


def _open_configured(stack, path, flags=_DIR):
    """Open a configured absolute directory, no symbolic link on the way."""
    return _open(stack, linux.AT_FDCWD, path, path, flags, linux.ABSOLUTE)


def _is_mount_point(dir_fd, name, what):
    try:
        return MOUNTS.is_mount_point(dir_fd, name)
    except OSError as e:
        reason = _reason(e, what)
        if reason:
            raise UnsafePath(reason)
        raise


def _check_owned(fd, device, what):
    """Refuse a directory not owned by root or on another filesystem."""
    st = os.fstat(fd)
    if st.st_uid != OWNER:
        raise UnsafePath('%s is owned by uid %d, not root; left alone'
                         % (what, st.st_uid))
    if device is not None and st.st_dev != device:
        raise UnsafePath('%s is on another filesystem than its parent; '
                         'left alone' % what)
    return st


def _mkdir(dir_fd, name, mode):
    try:
        os.mkdir(name, mode, dir_fd=dir_fd)
    except FileExistsError:
        pass


# Guest directories.

def _open_guest_directory(stack, share, name):
    base = _open_configured(stack, share.directory)
    what = os.path.join(share.directory, name)
    fd = _open(stack, base, name, what)
    _check_owned(fd, os.fstat(base).st_dev, what)
    return base, fd


def ensure_guest_directory(base, name):
    """Create ``<shared directory>/<name>`` unless it exists; its path."""
    share = _share_by_directory(_configuration()[0], base)
    check_name(name)
    with contextlib.ExitStack() as stack:
        base_fd = _open_configured(stack, share.directory)
        _mkdir(base_fd, name, 0o755)
        _open_guest_directory(stack, share, name)
    return os.path.join(share.directory, name)


def remove_guest_directory(base, name):
    """Remove ``<shared directory>/<name>`` and its content; True if there.

    The directory is opened once and everything below it is reached from
    that descriptor, so swapping it (or anything inside) for a link
    changes nothing.  The whole tree is checked before anything is
    removed: a mount point anywhere inside refuses the removal and leaves
    everything as it was.
    """
    share = _share_by_directory(_configuration()[0], base)
    check_name(name)
    what = os.path.join(share.directory, name)
    with contextlib.ExitStack() as stack:
        base_fd = _open_configured(stack, share.directory)
        try:
            fd = _open(stack, base_fd, name, what, flags=_READ_DIR)
        except FileNotFoundError:
            return False
        device = _check_owned(fd, os.fstat(base_fd).st_dev, what).st_dev
        _empty(fd, device, what, dry_run=True)
        _empty(fd, device, what, dry_run=False)
        os.rmdir(name, dir_fd=base_fd)
    return True


def _empty(fd, device, what, dry_run):
    """Remove what directory ``fd`` holds (only check, if ``dry_run``)."""
    with os.scandir(fd) as entries:
        children = [(e.name, e.is_dir(follow_symlinks=False))
                    for e in entries]
    for child, is_dir in children:
        path = os.path.join(what, child)
        if not is_dir:
            if not dry_run:
                os.unlink(child, dir_fd=fd)
            continue
        with contextlib.ExitStack() as stack:
            sub = _open(stack, fd, child, path, flags=_READ_DIR)
            if os.fstat(sub).st_dev != device:
                raise UnsafePath('%s is on another filesystem; left alone'
                                 % path)
            _empty(sub, device, path, dry_run)
        if not dry_run:
            os.rmdir(child, dir_fd=fd)


# Views.

#: The mount operations; the functional tests put a table in its place.
MOUNTS = linux.Mounts()


def prepare_view_root():
    """Keep a tmpfs of our own at ``share_view_dir``; return its path.

    Missing directories on the way are created (root, 0755) one at a time
    without following links.  The tmpfs (``nova-domain-meta``, 1 MiB,
    nosuid, nodev, noexec) is mounted unless a tmpfs is already mounted at
    exactly that path (ours, after a nova-compute restart): no view
    survives a reboot, and even a view whose mount went missing can hold
    no more than 1 MiB, nothing executable.
    """
    view_dir = _configuration()[1]
    with contextlib.ExitStack() as stack:
        fd = _open_configured(stack, '/')
        for part in view_dir.strip('/').split('/'):
            parent = fd
            _mkdir(parent, part, 0o755)
            # Mount points on the way (/run, a shared volume) are fine.
            fd = _open(stack, parent, part, view_dir,
                       resolve=linux.ABSOLUTE | linux.RESOLVE_BENEATH)
        if not (_is_mount_point(parent, part, view_dir) and
                MOUNTS.is_tmpfs(fd)):
            MOUNTS.mount_tmpfs(fd)
    with contextlib.ExitStack() as stack:
        _open_view_root(stack, view_dir)
    return view_dir


def _open_view_root(stack, view_dir):
    fd = _open_configured(stack, view_dir)
    if not MOUNTS.is_tmpfs(fd):
        raise NotOurTmpfs('%s is not a tmpfs; the privileged daemon makes '
                          'views only in the tmpfs it keeps at '
                          '[domain_meta] share_view_dir' % view_dir)
    _check_owned(fd, None, view_dir)
    return fd


def _view_parent(stack, view_dir, name, create):
    """The directory ``<share_view_dir>/<name>``, or None if missing."""
    root = _open_view_root(stack, view_dir)
    if create:
        _mkdir(root, name, 0o755)
    what = os.path.join(view_dir, name)
    try:
        fd = _open(stack, root, name, what)
    except FileNotFoundError:
        return None
    _check_owned(fd, os.fstat(root).st_dev, what)
    return fd


def _attach_view(stack, parent_fd, tag, source_fd, what):
    """Mount ``source_fd`` read-only on ``parent_fd/tag``; idempotent.

    The mount point is created root-owned, mode 000 and immutable before
    the mount goes on it.
    """
    if _is_mount_point(parent_fd, tag, what):
        source = os.fstat(source_fd)
        if MOUNTS.root_of(parent_fd, tag) != (source.st_dev, source.st_ino):
            raise UnsafePath('%s is mounted, but not from the guest\'s '
                             'directory' % what)
        if not MOUNTS.is_readonly(parent_fd, tag):
            raise UnsafePath('%s is mounted but not read-only' % what)
        return View(what, None)
    _mkdir(parent_fd, tag, 0)
    target = _open(stack, parent_fd, tag, what, flags=_READ_DIR)
    _check_owned(target, os.fstat(parent_fd).st_dev, what)
    os.fchmod(target, 0)
    immutable = MOUNTS.set_immutable(target, True)
    MOUNTS.bind_readonly(source_fd, target)
    if not MOUNTS.is_readonly(parent_fd, tag):
        MOUNTS.unmount(parent_fd, tag)
        raise UnsafePath('the view %s did not come out read-only' % what)
    return View(what, immutable)


def make_view(name, tag):
    """Mount ``<shared dir of tag>/<name>`` read-only at its view path.

    Returns :class:`View` (path, and whether the empty mount point could be
    made immutable; None when the view was already there).
    """
    shares, view_dir = _configuration()
    share = _share_by_tag(shares, tag)
    check_name(name)
    prepare_view_root()
    with contextlib.ExitStack() as stack:
        _base, source = _open_guest_directory(stack, share, name)
        parent = _view_parent(stack, view_dir, name, create=True)
        return _attach_view(stack, parent, tag,
                            source, os.path.join(view_dir, name, tag))


def _detach_view(stack, parent_fd, tag):
    """Unmount and remove ``parent_fd/tag``; True if it was there."""
    found = False
    while _is_mount_point(parent_fd, tag, tag):
        MOUNTS.unmount(parent_fd, tag)
        found = True
    try:
        target = _open(stack, parent_fd, tag, tag, flags=_READ_DIR)
    except FileNotFoundError:
        return found
    MOUNTS.set_immutable(target, False)
    os.rmdir(tag, dir_fd=parent_fd)
    return True


def remove_view(name, tag):
    """Unmount and remove ``<share_view_dir>/<name>/<tag>``; True if there.

    ``<share_view_dir>/<name>`` goes too once empty.  ``tag`` need not be
    configured any more (views of a tag an operator removed can still be
    cleaned up) but must be a plain name.
    """
    view_dir = _configuration()[1]
    check_name(name)
    check_name(tag)
    with contextlib.ExitStack() as stack:
        try:
            root = _open_view_root(stack, view_dir)
        except (FileNotFoundError, NotOurTmpfs):
            # No tmpfs (after a reboot): no view was ever made there.
            return False
        parent = _view_parent(stack, view_dir, name, create=False)
        if parent is None:
            return False
        found = _detach_view(stack, parent, tag)
        try:
            os.rmdir(name, dir_fd=root)
        except OSError as e:
            if e.errno != errno.ENOTEMPTY:
                raise
    return found


def make_probe_view():
    """The start-up probe's view, as a guest's is made; :class:`View`.

    An empty root-owned directory of the tmpfs is mounted read-only at
    ``<share_view_dir>/.probe/view``.
    """
    view_dir = prepare_view_root()
    with contextlib.ExitStack() as stack:
        root = _open_view_root(stack, view_dir)
        _mkdir(root, PROBE, 0o755)
        parent = _open(stack, root, PROBE, PROBE)
        _check_owned(parent, os.fstat(root).st_dev, PROBE)
        _mkdir(parent, _PROBE_SOURCE, 0o755)
        source = _open(stack, parent, _PROBE_SOURCE, _PROBE_SOURCE)
        return _attach_view(stack, parent, _PROBE_TAG, source,
                            os.path.join(view_dir, PROBE, _PROBE_TAG))


def remove_probe_view():
    """Undo :func:`make_probe_view`; True if there was something."""
    view_dir = _configuration()[1]
    with contextlib.ExitStack() as stack:
        try:
            root = _open_view_root(stack, view_dir)
            parent = _open(stack, root, PROBE, PROBE)
        except (FileNotFoundError, NotOurTmpfs):
            return False
        found = _detach_view(stack, parent, _PROBE_TAG)
        try:
            os.rmdir(_PROBE_SOURCE, dir_fd=parent)
        except FileNotFoundError:
            pass
        os.rmdir(PROBE, dir_fd=root)
    return found

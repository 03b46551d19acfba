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

import os
import shutil
import stat
import tempfile

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


def _bind_mount_readonly(source, target):
    """Mount ``source`` read-only at ``target`` (an existing directory).

    The read-only flag must travel with the mount into other mount
    namespaces (libvirtd's, a container's): a remount does not propagate
    to them but a new bind mount carries the flags of the mount it copies.
    So the read-only mount is made at a staging point first and then bound
    at ``target``.  ``source`` is opened without following symbolic links
    and bound through its descriptor, so it cannot be swapped for a link
    between the check and the mount.
    """
    source_fd = _open_dir(source)
    try:
        source_by_fd = '/proc/%d/fd/%d' % (os.getpid(), source_fd)
        stage = tempfile.mkdtemp(prefix='.stage-',
                                 dir=os.path.dirname(target))
        try:
            processutils.execute('mount', '--bind', source_by_fd, stage)
            try:
                processutils.execute('mount', '-o', 'remount,bind,ro',
                                     stage)
                processutils.execute('mount', '--bind', stage, target)
            finally:
                processutils.execute('umount', stage)
        finally:
            os.rmdir(stage)
    finally:
        os.close(source_fd)


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

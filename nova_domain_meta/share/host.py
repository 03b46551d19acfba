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

"""The host side of the share: per-guest directories and read-only views.

For a guest named ``instance-00000034`` and the mapping
``{"/var/lib/libvirt/scaphandre": "scaphandre"}`` this host holds:

* ``/var/lib/libvirt/scaphandre/instance-00000034``: the guest's own
  directory, which Scaphandre's host exporter writes into;
* ``<share_view_dir>/instance-00000034/scaphandre``: a read-only bind
  mount of it, which virtiofsd serves to the guest (when libvirt cannot
  make virtiofs read-only itself; libvirt 9 cannot).

Both are made before the domain is defined and removed when the guest
leaves the host.  Nothing here follows a symbolic link.
"""

import os

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

from nova_domain_meta import privsep

LOG = logging.getLogger(__name__)


class UnsafeShare(exception.InvalidInput):
    """The share would not be safe: never start the guest with it.

    An InvalidInput, so a build fails at once with this message as the
    instance fault instead of being retried elsewhere.
    """
    msg_fmt = _('Refusing the power-metrics share: %(reason)s')


class ShareNotReadOnly(UnsafeShare):
    """A view would give the guest write access."""
    msg_fmt = _('Refusing to share a directory that is not read-only: '
                '%(reason)s')


def read_mount_table():
    """Return ``{mount point: set of per-mount options}`` of this process."""
    return privsep.read_mount_table()


def is_readonly_mount(path, table=None):
    """True when ``path`` is itself a mount point, mounted read-only."""
    table = read_mount_table() if table is None else table
    options = table.get(os.path.normpath(path))
    return options is not None and 'ro' in options


def is_mount(path, table=None):
    table = read_mount_table() if table is None else table
    return os.path.normpath(path) in table


class HostShares(object):
    """Directories and views of ``shares`` on this host."""

    def __init__(self, shares, view_dir, bind_views=True):
        self.shares = shares
        self.view_dir = os.path.normpath(view_dir)
        self.bind_views = bind_views

    def guest_directory(self, share, name):
        return os.path.join(share.directory, privsep.check_name(name))

    def view(self, share, name):
        return os.path.join(self.view_dir, privsep.check_name(name),
                            share.tag)

    def source(self, share, name):
        """The directory virtiofsd serves for ``share`` to guest ``name``."""
        if self.bind_views:
            return self.view(share, name)
        return self.guest_directory(share, name)

    def probe(self):
        """Return why read-only views cannot be made here, or None.

        Makes one view of an empty directory and checks the kernel
        reports it read-only, as it will for every guest.
        """
        source = os.path.join(self.view_dir, '.probe-source')
        target = os.path.join(self.view_dir, '.probe-view')
        try:
            os.makedirs(source, exist_ok=True)
            os.makedirs(target, exist_ok=True)
            if is_mount(target):
                privsep.unmount(target)
            privsep.bind_mount_readonly(source, target)
            try:
                if not is_readonly_mount(target):
                    return '%s was mounted but is not read-only' % target
            finally:
                privsep.unmount(target)
        except Exception as e:
            return 'cannot bind mount read-only under %s: %s' % (
                self.view_dir, e)
        finally:
            for path in (target, source):
                try:
                    os.rmdir(path)
                except OSError:
                    pass
        return None

    def prepare(self, name):
        """Make the guest's directories and read-only views; idempotent.

        :raises UnsafeShare: a guest directory is a symbolic link or the
            guest's name is not a plain name, or a view is not read-only
            (:class:`ShareNotReadOnly`); the guest must not start.
        """
        table = read_mount_table() if self.bind_views else {}
        for share in self.shares:
            try:
                privsep.ensure_guest_directory(share.directory,
                                               privsep.check_name(name))
            except privsep.UnsafePath as e:
                raise UnsafeShare(reason=str(e))
            if not self.bind_views:
                continue
            view = self.view(share, name)
            if is_mount(view, table):
                if not is_readonly_mount(view, table):
                    raise ShareNotReadOnly(
                        reason='%s is mounted but not read-only' % view)
                continue
            os.makedirs(view, exist_ok=True)
            privsep.bind_mount_readonly(self.guest_directory(share, name),
                                        view)
            if not is_readonly_mount(view):
                privsep.unmount(view)
                raise ShareNotReadOnly(
                    reason='the view %s of %s did not come out read-only' % (
                        view, self.guest_directory(share, name)))
            LOG.debug('Shared %s read-only at %s',
                      self.guest_directory(share, name), view)

    def release(self, name, remove_data=True):
        """Unmount and remove what :meth:`prepare` made for ``name``.

        Safe to call for a guest that never had a share.  Errors are
        logged, never raised: the guest is already gone.
        """
        table = read_mount_table() if self.bind_views else {}
        guest_views = os.path.join(self.view_dir, privsep.check_name(name))
        for share in self.shares:
            view = self.view(share, name)
            try:
                if is_mount(view, table):
                    privsep.unmount(view)
                if os.path.isdir(view):
                    os.rmdir(view)
            except Exception as e:
                LOG.warning('Could not remove the power-metrics view %s: '
                            '%s', view, e)
            if remove_data:
                try:
                    privsep.remove_guest_directory(share.directory, name)
                except Exception as e:
                    LOG.warning('Could not remove %s: %s',
                                self.guest_directory(share, name), e)
        try:
            if os.path.isdir(guest_views):
                os.rmdir(guest_views)
        except OSError as e:
            LOG.warning('Could not remove %s: %s', guest_views, e)

    def held(self, name):
        """True when this host holds anything of guest ``name``."""
        return any(os.path.lexists(self.guest_directory(s, name)) or
                   os.path.lexists(self.view(s, name)) for s in self.shares)

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
  directory, which Scaphandre's host exporter writes into; it is kept
  while the guest stays on this host and removed when it leaves;
* ``<share_view_dir>/instance-00000034/scaphandre``: a read-only mount of
  it, which virtiofsd serves to the guest (when libvirt cannot make
  virtiofs read-only itself; libvirt 9 cannot), made before the domain
  starts and removed when the domain is gone.

Everything is made and removed by the privileged daemon
(:mod:`nova_domain_meta.privsep`), which checks every path itself.  Here,
unprivileged, nova-compute checks that what virtiofsd will serve is
read-only, in its own mount namespace and in the libvirt daemon's.
"""

import os

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

from nova_domain_meta import privsep
from nova_domain_meta.share import libvirtd
from nova_domain_meta.share import linux

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


def read_mount_table(pid='self'):
    """``{mount point: set of per-mount options}`` of process ``pid``."""
    return linux.mount_table(pid)


def safe_name(name):
    """``name`` if it can name a guest's directories, else UnsafeShare."""
    try:
        return privsep.check_name(name)
    except privsep.UnsafePath as e:
        raise UnsafeShare(reason=_(
            'the libvirt domain name %(name)r cannot name a directory '
            '(%(why)s); check [DEFAULT] instance_name_template') % {
                'name': name, 'why': e})


def readonly_problems(paths, libvirt_uri):
    """Why each of ``paths`` would not be served read-only ([] if so).

    Each must be a read-only mount point in nova-compute's mount namespace
    and, when the daemon behind ``libvirt_uri`` can be found, in its mount
    namespace too, where virtiofsd starts.
    """
    problems = []
    ours = read_mount_table()
    for path in paths:
        if 'ro' not in ours.get(os.path.normpath(path), ()):
            problems.append(_('%s is not a read-only mount') % path)
    if problems or not paths:
        return problems
    try:
        pids = libvirtd.find(libvirt_uri)
    except libvirtd.NotFound as e:
        LOG.debug('Not checking the libvirt daemon\'s mounts: %s', e)
        return []
    for path, readonly in sorted(libvirtd.readonly_in(pids, paths).items()):
        if not readonly:
            problems.append(_(
                'not read-only where virtiofsd runs: the libvirt daemon '
                '(pid %(pids)s) does not see the read-only mount %(path)s '
                'made here') % {
                    'path': path, 'pids': ', '.join(map(str, pids))})
    return problems


class HostShares(object):
    """Directories and views of ``shares`` on this host."""

    def __init__(self, shares, view_dir, libvirt_uri, bind_views=True):
        self.shares = shares
        self.view_dir = os.path.normpath(view_dir)
        self.libvirt_uri = libvirt_uri
        self.bind_views = bind_views

    def guest_directory(self, share, name):
        return os.path.join(share.directory, safe_name(name))

    def view(self, share, name):
        return os.path.join(self.view_dir, safe_name(name), share.tag)

    def source(self, share, name):
        """The directory virtiofsd serves for ``share`` to guest ``name``."""
        if self.bind_views:
            return self.view(share, name)
        return self.guest_directory(share, name)

    def probe(self):
        """Return ``(problem, notes)``: why views cannot be made, or None.

        Makes one view of an empty directory, as for every guest, and
        checks it is read-only here and in the libvirt daemon's mount
        namespace; ``notes`` say what could not be checked.
        """
        notes = []
        try:
            path, immutable = privsep.make_probe_view()
        except Exception as e:
            return (_('cannot make a read-only view under %(dir)s: %(e)s')
                    % {'dir': self.view_dir, 'e': e}), notes
        try:
            problems = readonly_problems([path], self.libvirt_uri)
            if problems:
                return '; '.join(problems), notes
            try:
                libvirtd.find(self.libvirt_uri)
            except libvirtd.NotFound as e:
                notes.append(_(
                    'cannot see the libvirt daemon\'s mount namespace '
                    '(%s): make sure views below %s reach it (see the '
                    'admin guide)') % (e, self.view_dir))
            if immutable is False:
                notes.append(_(
                    'the filesystem of %s cannot mark an empty view '
                    'immutable (tmpfs needs Linux 6.0); a view whose mount '
                    'is missing is an empty root-owned directory of a '
                    '1 MiB tmpfs') % self.view_dir)
            return None, notes
        finally:
            try:
                privsep.remove_probe_view()
            except Exception as e:
                LOG.warning('Could not remove the probe view %s: %s',
                            path, e)

    # A guest's directories and views.

    def prepare(self, name):
        """Make the guest's directories and read-only views; idempotent.

        :raises UnsafeShare: the guest's name is not a plain name, or the
            privileged daemon refused (a symbolic link, a mount point or
            a directory of another owner where the guest's directory
            should be), or a view is not read-only where virtiofsd will
            serve it (:class:`ShareNotReadOnly`); the guest must not start.
        """
        safe_name(name)
        views = []
        for share in self.shares:
            try:
                privsep.ensure_guest_directory(share.directory, name)
                if self.bind_views:
                    views.append(privsep.make_view(name, share.tag)[0])
            except privsep.UnsafePath as e:
                raise UnsafeShare(reason=str(e))
        problems = readonly_problems(views, self.libvirt_uri)
        if problems:
            self.release_views(name)
            raise ShareNotReadOnly(reason='; '.join(problems))
        for share in self.shares:
            LOG.debug('Shared %s read-only at %s',
                      self.guest_directory(share, name),
                      self.source(share, name))

    def has_views(self, name):
        return os.path.lexists(os.path.join(self.view_dir, name))

    def has_data(self, name):
        return any(os.path.lexists(os.path.join(s.directory, name))
                   for s in self.shares)

    def release_views(self, name):
        """Unmount and remove the guest's views; logs, never raises."""
        if not self.bind_views or not self.has_views(name):
            return
        for share in self.shares:
            try:
                privsep.remove_view(name, share.tag)
            except Exception as e:
                LOG.warning('Could not remove the power-metrics view %s: '
                            '%s', self.view(share, name), e)

    def remove_data(self, name):
        """Remove the guest's directories; logs, never raises."""
        for share in self.shares:
            try:
                privsep.remove_guest_directory(share.directory, name)
            except Exception as e:
                LOG.warning('Could not remove %s: %s',
                            self.guest_directory(share, name), e)

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
root-owned tree, mounting its read-only view and removing both need root.
Like Nova, we run them in a privsep daemon, which nova-compute starts
through ``nova-rootwrap`` the first time it calls one of the entry points
below.  The context is ours (Nova's admits only functions of the ``nova``
package): ``nova_domain_meta.privsep.sys_admin_pctxt``, options in
``[nova_domain_meta_sys_admin]``.  The daemon keeps the capabilities
``CAP_SYS_ADMIN`` (mounts), ``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``,
``CAP_FOWNER`` (directories of any owner) and ``CAP_LINUX_IMMUTABLE``
(``chattr +i`` on empty views).

**The rootwrap filter is not the boundary.**  oslo.rootwrap lets any
``privsep-helper`` command line run as root whatever its filter files
say, so a compromised nova-compute can start this daemon with arguments
of its choosing, and can call these entry points with any arguments.  The
daemon therefore trusts no argument: each entry point is confined by the
daemon's own reading of ``[domain_meta]`` in the configuration files it
was started with (nova-compute's), see
:mod:`nova_domain_meta.share.privileged`, and refuses with
:class:`UnsafePath`, having changed nothing.

The interface (what the cloud and real tiers call through the daemon):

``prepare_view_root()``
    keeps a tmpfs of ours at ``share_view_dir`` (creating the directory);
    returns its path.
``ensure_guest_directory(base, name)``
    creates ``<base>/<name>``; ``base`` must be a directory of
    ``share_local_fs``; returns the path.
``remove_guest_directory(base, name)``
    removes it and its content; True if it existed.
``make_view(name, tag)``
    mounts ``<directory of tag>/<name>`` read-only at
    ``<share_view_dir>/<name>/<tag>``; returns ``(path, immutable)``.
``remove_view(name, tag)``
    unmounts and removes that view (and ``<share_view_dir>/<name>`` once
    empty); True if it existed.
``make_probe_view()`` / ``remove_probe_view()``
    the same for the start-up probe, at ``<share_view_dir>/.probe/view``.
"""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

from nova_domain_meta.share import privileged

sys_admin_pctxt = priv_context.PrivContext(
    'nova_domain_meta',
    cfg_section='nova_domain_meta_sys_admin',
    pypath=__name__ + '.sys_admin_pctxt',
    capabilities=[capabilities.CAP_DAC_OVERRIDE,
                  capabilities.CAP_DAC_READ_SEARCH,
                  capabilities.CAP_FOWNER,
                  capabilities.CAP_LINUX_IMMUTABLE,
                  capabilities.CAP_SYS_ADMIN],
)

UnsafePath = privileged.UnsafePath
check_name = privileged.check_name


@sys_admin_pctxt.entrypoint
def prepare_view_root():
    """Keep our tmpfs at ``share_view_dir``; return its path."""
    return privileged.prepare_view_root()


@sys_admin_pctxt.entrypoint
def ensure_guest_directory(base, name):
    """Create ``base/name`` unless it exists; return its path."""
    return privileged.ensure_guest_directory(base, name)


@sys_admin_pctxt.entrypoint
def remove_guest_directory(base, name):
    """Remove ``base/name`` and what it holds; True if it existed."""
    return privileged.remove_guest_directory(base, name)


@sys_admin_pctxt.entrypoint
def make_view(name, tag):
    """Mount guest ``name``'s directory of ``tag`` read-only at its view."""
    return tuple(privileged.make_view(name, tag))


@sys_admin_pctxt.entrypoint
def remove_view(name, tag):
    """Unmount and remove guest ``name``'s view of ``tag``."""
    return privileged.remove_view(name, tag)


@sys_admin_pctxt.entrypoint
def make_probe_view():
    """The start-up probe's read-only view; ``(path, immutable)``."""
    return tuple(privileged.make_probe_view())


@sys_admin_pctxt.entrypoint
def remove_probe_view():
    """Remove the start-up probe's view."""
    return privileged.remove_probe_view()

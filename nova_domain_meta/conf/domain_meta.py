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

"""Options of the ``[domain_meta]`` group in nova.conf."""

from oslo_config import cfg

from nova_domain_meta.share import mapping

GROUP_NAME = 'domain_meta'

domain_meta_group = cfg.OptGroup(
    GROUP_NAME,
    title='Nova domain metadata plugin options',
    help="""
Options for the nova-domain-meta libvirt driver, enabled with
``[DEFAULT] compute_driver = domain_meta.LibvirtDriver``.
""")

metadata_opts = [
    cfg.IntOpt(
        'max_value_length',
        default=1024,
        min=64,
        max=65536,
        help="""
Maximum number of characters kept from any single value written into the
domain metadata: a display name, an image property, a flavor extra spec, a
tag.

Names and properties come from users and image owners and have no useful
upper bound. A longer value is cut to this length, marked with
``truncated="true"`` in our namespace, and a warning is logged; the
instance operation always goes on.
"""),
    cfg.IntOpt(
        'max_items',
        default=256,
        min=1,
        max=10000,
        help="""
Maximum number of entries written for any one list in the domain metadata
(image properties, flavor extra specs, tags). Entries are sorted by name
and the first ones are kept; the list is then marked with
``truncated="true"`` and a warning is logged.
"""),
    cfg.BoolOpt(
        'image_properties',
        default=True,
        help="""
Write every property of the instance's boot image into our metadata
element, including those Nova does not model, as Nova recorded them in the
instance's system metadata when it was built. Disable this if image
properties on your cloud carry data that host operators must not read.
"""),
]


reconciler_opts = [
    cfg.IntOpt(
        'reconcile_interval',
        default=60,
        min=0,
        help="""
Seconds between two passes of the metadata reconciler in nova-compute; 0
turns it off.

Some changes never reach the virt driver: a server rename, a floating IP
associated or disassociated, a fixed IP changed through a port update, a
project or user renamed. The reconciler compares the metadata every guest
on this host should have with what libvirt holds and rewrites only the
domains that differ, live and persistent. It skips domains that are not
Nova's and instances with an operation in progress. Writes are logged at
INFO, checks at DEBUG.
"""),
    cfg.IntOpt(
        'reconcile_full_pass_every',
        default=10,
        min=1,
        help="""
Every how many reconciler passes the metadata libvirt holds is read for
every domain; 1 reads it on every pass.

In between, a pass reads only the domains libvirt reported a change of
(metadata changed, domain defined, started, stopped...) and those whose
instance changed in Nova's database, and leaves every other domain
alone without a single libvirt call. Besides these periodic full passes,
a pass reads every domain after nova-compute (re)connects to libvirt,
after a pass that met an error, and whenever libvirt cannot deliver
events. With the default ``reconcile_interval`` of 60 s, a change made
behind Nova's back whose event was lost is repaired within 10 minutes.
"""),
]

hardware_opts = [
    cfg.BoolOpt(
        'preserve_hardware',
        default=True,
        help="""
Keep the guest hardware libvirt assigned when Nova redefines a domain on
this host (hard reboot, stop and start, resume after a host reboot,
rescue and unrescue, same-host resize revert).

Every device keeps the PCI, drive or other address it had, matched by
volume serial, MAC address or another stable identity, and the domain
keeps its versioned machine type (e.g. ``pc-q35-7.2``) while the host
still offers it. A device whose bus or model changed, or whose address is
taken, gets a fresh address from libvirt and a WARNING is logged. The last
definition is kept in the instance directory as
``domain-meta-hardware.xml``, so a redefinition that failed half way does
not lose it. Set to False for Nova's own behaviour.
"""),
]

share_opts = [
    cfg.Opt(
        'share_local_fs',
        type=mapping.ShareMappingType(),
        default={},
        sample_default='{"/var/lib/libvirt/scaphandre": "scaphandre"}',
        help="""
Host directories this compute node shares, read-only, with guests that ask
for power metrics (flavor extra spec ``hw:power_metrics=true`` or image
property ``hw_power_metrics=true``), as a JSON object mapping an absolute
directory to the virtiofs mount tag the guest mounts, for example
``{"/var/lib/libvirt/scaphandre": "scaphandre"}``.

Each guest sees only its own subdirectory, ``<directory>/<libvirt domain
name>`` (for example ``/var/lib/libvirt/scaphandre/instance-00000034``),
which Scaphandre's host exporter fills. Directories must exist, must not be
symbolic links and must be distinct; tags must be distinct, 1 to 36 bytes
of letters, digits, ``.``, ``_`` or ``-``. nova-compute refuses to start
otherwise. When this is set and the host's libvirt and QEMU can share a
directory read-only with virtiofs, the compute node reports the trait
``COMPUTE_SHARE_LOCAL_FS``. Empty (the default) turns the feature off.
"""),
    cfg.StrOpt(
        'share_view_dir',
        default='/run/nova-domain-meta/shares',
        help="""
Directory where nova-compute makes the read-only views of the shared
directories that virtiofsd serves to guests, one per guest and tag:
``<share_view_dir>/<libvirt domain name>/<tag>``.

libvirt 9 refuses ``<readonly/>`` on virtiofs, so the share is made
read-only by the kernel instead. nova-compute's privileged daemon keeps a
small tmpfs of its own here (1 MiB, nosuid, nodev, noexec; mounted when
nova-compute starts, unless one is already mounted exactly here), so that
no view survives a reboot, and each view's mount point is an empty,
root-owned, mode 000, immutable directory: where the read-only mount is
missing, a guest is served nothing it can write, or does not start. The
directory is created if missing. In containerised deployments it must be
visible to libvirtd, mounted with shared propagation in both containers
(mounts made by nova-compute must reach libvirtd's virtiofsd); nova-compute
checks that at start when it can see libvirtd's mount namespace.
"""),
]

ALL_OPTS = metadata_opts + reconciler_opts + hardware_opts + share_opts


def register_opts(conf):
    """Register our option group and options on ``conf``."""
    conf.register_group(domain_meta_group)
    conf.register_opts(ALL_OPTS, group=domain_meta_group)


def list_opts():
    """Return our options for oslo-config-generator, grouped."""
    return {domain_meta_group: ALL_OPTS}

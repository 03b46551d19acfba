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

"""Build both metadata elements from what Nova knows about an instance.

The builders are pure functions of their inputs (instance, network info,
block device mappings, the guest's disk mapping, configuration), so the
same instance always yields the same XML: that is what lets a later pass
compare what a domain should hold with what libvirt holds.

Every user-supplied value goes through :mod:`.sanitize`; what had to be
changed is logged once per build at WARNING.
"""

import calendar
import dataclasses
import operator

from nova import block_device as nova_block_device
from nova import utils as nova_utils
from nova import version as nova_version
from oslo_log import log as logging

from nova_domain_meta.metadata import domain_meta
from nova_domain_meta.metadata import nova_instance
from nova_domain_meta.metadata import sanitize
from nova_domain_meta import version

LOG = logging.getLogger(__name__)

# What Nova's get_image_from_system_metadata does not return as image
# properties (skipped keys, image fields), and the image fields our
# <ndm:image> carries as attributes.
_IMAGE_NOT_PROPERTIES = frozenset(
    nova_utils.SM_SKIP_KEYS + nova_utils.SM_INHERITABLE_KEYS +
    ('base_image_ref', 'name'))


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on user-supplied values; see ``[domain_meta]`` options."""

    max_value_length: int = 1024
    max_items: int = 256

    @classmethod
    def from_conf(cls, conf):
        return cls(max_value_length=conf.domain_meta.max_value_length,
                   max_items=conf.domain_meta.max_items)


class _Report(object):
    """Collects the names of values that had to be sanitized."""

    def __init__(self, limits):
        self.limits = limits
        self.altered = []

    def text(self, what, value):
        cleaned = sanitize.clean(value, self.limits.max_value_length)
        if getattr(cleaned, 'altered', False):
            self.altered.append(what)
        return cleaned

    def mapping(self, what, mapping):
        items, truncated = sanitize.clean_mapping(
            mapping, self.limits.max_value_length, self.limits.max_items)
        for key, value in items:
            if (key.__class__ is not str or value.__class__ is not str) and \
                    sanitize.any_altered(key, value):
                # Keys are user input too: keep the log line short.
                self.altered.append('%s[%s]' % (what, key[:40]))
        if truncated:
            self.altered.append('%s (more than %d entries)' %
                                (what, self.limits.max_items))
        return items, truncated

    def listing(self, what, values):
        items, truncated = sanitize.clean_list(
            values, self.limits.max_value_length, self.limits.max_items)
        if truncated or sanitize.any_altered(*items):
            self.altered.append(what)
        return items, truncated

    def log(self, instance=None, instance_uuid=None):
        if self.altered:
            LOG.warning('Domain metadata values were sanitized to fit XML '
                        '(characters XML 1.0 cannot hold replaced by '
                        'U+FFFD, values cut to %(len)d characters, lists to '
                        '%(items)d entries): %(what)s',
                        {'len': self.limits.max_value_length,
                         'items': self.limits.max_items,
                         'what': ', '.join(self.altered)},
                        instance=instance, instance_uuid=instance_uuid)


def nova_package():
    """Return Nova's version with the distribution's package suffix.

    Read on every call rather than cached at import, because the suffix
    comes from a ``release`` file found through nova.conf's config dirs.
    """
    return nova_version.version_string_with_package()


def root_volume_id(bdms):
    """Return the volume UUID of the boot disk, or None when image-backed.

    ``bdms`` is any iterable of mappings, not only a BlockDeviceMappingList.
    """
    root = next((b for b in bdms or () if b.boot_index == 0), None)
    if root is not None and root.destination_type == 'volume':
        return root.volume_id
    return None


def corrected_driver_metadata(dmeta, instance, bdms=None):
    """Return Nova's InstanceDriverMetadata with Nova's known gaps closed.

    * creation time is the instance's ``created_at``, not the time the XML
      was generated, so it stays put when the domain is redefined;
    * a boot-from-volume root names its Cinder volume;
    * the Nova package version keeps its distribution suffix.
    """
    changes = {'nova_package': nova_package()}
    if instance.obj_attr_is_set('created_at') and instance.created_at:
        changes['creation_time'] = calendar.timegm(
            instance.created_at.utctimetuple())
    if dmeta.root_type == 'volume':
        volume_id = root_volume_id(bdms)
        if volume_id:
            changes['root_id'] = volume_id
    return dataclasses.replace(dmeta, **changes)


def _nova_ports(network_info, report):
    ports = []
    for vif in network_info or []:
        ips = []
        floating = []
        for subnet in (vif.get('network') or {}).get('subnets') or []:
            for ip in subnet.get('ips') or []:
                ips.append(nova_instance.NovaIp(
                    ip.get('type') or 'fixed', ip.get('address'),
                    ip.get('version')))
                for fip in ip.get('floating_ips') or []:
                    floating.append(nova_instance.NovaIp(
                        'floating', fip.get('address'), fip.get('version')))
        ports.append(nova_instance.NovaPort(report.text('port id',
                                                        vif.get('id')),
                                            ips=ips + floating))
    return nova_instance.NovaPorts(ports)


def build_nova_instance(dmeta, limits):
    """Return ``<nova:instance>`` for Nova's driver metadata ``dmeta``.

    Same elements and order as Nova 34, plus floating IPs under the port
    holding them, with every user-supplied value sanitized.
    """
    report = _Report(limits)
    meta = nova_instance.NovaInstance()
    meta.package = report.text('package', dmeta.nova_package)
    meta.name = report.text('name', dmeta.instance_meta.name)
    meta.creationTime = dmeta.creation_time
    meta.roottype = dmeta.root_type
    meta.rootid = dmeta.root_id or ''

    # Nova writes the image element even for volume-backed guests: a
    # volume can carry image metadata too.  Like Nova, name the image the
    # server was built from (not the snapshot a shelve leaves in
    # image_ref), and never the root volume.
    image = nova_instance.NovaImage()
    image.uuid = (dmeta.root_id or '') if dmeta.root_type == 'image' else ''
    props, _ = report.mapping('image property', dmeta.image.properties)
    image.image_meta = dataclasses.replace(
        dmeta.image, name=report.text('image name', dmeta.image.name),
        properties=dict(props))
    meta.image = image

    # Nova leaves out <nova:user>/<nova:project> entirely when it never
    # learnt the name; the id is what an operator needs most, so write it
    # with an empty name instead.
    owner = nova_instance.NovaOwner()
    owner.userid = report.text('user id', dmeta.owner.userid)
    owner.username = report.text('user name', dmeta.owner.username or '')
    owner.projectid = report.text('project id', dmeta.owner.projectid)
    owner.projectname = report.text('project name',
                                    dmeta.owner.projectname or '')
    meta.owner = owner

    flavor = nova_instance.NovaFlavor()
    flavor.name = report.text('flavor name', dmeta.flavor.name) or ''
    flavor.id = report.text('flavor id', dmeta.flavor.flavorid) or ''
    flavor.memory = dmeta.flavor.memory_mb
    flavor.vcpus = dmeta.flavor.vcpus
    flavor.ephemeral = dmeta.flavor.ephemeral_gb
    flavor.disk = dmeta.flavor.root_gb
    flavor.swap = dmeta.flavor.swap
    specs, _ = report.mapping('flavor extra spec', dmeta.flavor.extra_specs)
    flavor.extra_specs = dict(specs)
    meta.flavor = flavor

    meta.ports = _nova_ports(dmeta.network_info, report)
    report.log(instance_uuid=dmeta.instance_meta.uuid)
    return meta


def minimal_nova_instance(dmeta, limits):
    """Return a bare ``<nova:instance>``: package, name and owner ids.

    Used only when the full element could not be built, so that a domain
    never ends up without saying which instance it is.
    """
    meta = nova_instance.NovaInstance()
    meta.package = sanitize.clean(dmeta.nova_package,
                                  limits.max_value_length) or ''
    meta.name = sanitize.clean(dmeta.instance_meta.name,
                               limits.max_value_length)
    return meta


def _base_image(instance):
    """Return the image the server was last built from, or None.

    Nova records it as ``image_base_image_ref`` at boot and again at each
    rebuild (``image_ref`` names a shelve snapshot while a shelved server
    is unshelved); an older instance may lack it.
    """
    sysmeta = instance.system_metadata or {}
    return sysmeta.get('image_base_image_ref') or instance.image_ref or None


def _image_element(instance, report, with_properties):
    sysmeta = instance.system_metadata or {}
    uuid = _base_image(instance)
    element = domain_meta.DomainMetaImage(
        uuid=report.text('image id', uuid),
        name=report.text('image name', sysmeta.get('image_name')))
    if with_properties:
        items, truncated = report.mapping('image property',
                                          _image_properties(sysmeta))
        element.properties = [domain_meta.DomainMetaProperty(k, v)
                              for k, v in items]
        element.properties_truncated = truncated
    return element


def _image_properties(sysmeta):
    """Return the image properties Nova keeps in the system metadata.

    The ``properties`` of Nova's ``get_image_from_system_metadata``, minus
    the fields our element carries as attributes, in one pass.
    """
    prefix = nova_utils.SM_IMAGE_PROP_PREFIX
    cut = len(prefix)
    return {key[cut:]: value for key, value in sysmeta.items()
            if key.startswith(prefix) and value is not None and
            key[cut:] not in _IMAGE_NOT_PROPERTIES}


def _strip_dev(name):
    return nova_block_device.strip_dev(name) if name else None


#: Block device mapping fields the builders read.
BDM_FIELDS = ('device_name', 'source_type', 'destination_type', 'volume_id',
              'image_id', 'snapshot_id', 'boot_index', 'volume_size',
              'disk_bus', 'device_type', 'attachment_id',
              'delete_on_termination', 'guest_format', 'tag', 'no_device')


def field_reader(*names):
    """Return a function giving the values of Nova object fields ``names``.

    The function returns them as a tuple.  NOTE: it reads the attributes
    in which oslo.versionedobjects keeps field values (``_obj_<name>``),
    in one C call, rather than the field properties, which cost about a
    microsecond each: the reconciler takes a fingerprint of every instance
    of the host on every pass, and the builders read dozens of fields per
    domain XML.  An object on which a field is not set falls back to the
    properties.
    """
    stored = operator.attrgetter(*('_obj_' + name for name in names))
    properties = operator.attrgetter(*names)

    def read(obj):
        try:
            return stored(obj)
        except AttributeError:
            return properties(obj)
    return read


bdm_fields = field_reader(*BDM_FIELDS)


def _disk_image(bdm, root_image):
    """Return the image a mapping's disk holds, or None."""
    if bdm['source_type'] != 'image':
        return None
    if bdm['boot_index'] == 0 and root_image:
        return root_image
    return bdm['image_id']


def _boot_order(bdm):
    boot_index = bdm['boot_index']
    return (boot_index is None or boot_index < 0,
            boot_index if boot_index is not None else 0,
            bdm['device_name'] or '')


def _block_devices(bdms, disk_mapping, flavor, report, root_image=None):
    """Return ``<ndm:blockDevice>`` objects, Nova's mappings first.

    ``disk_mapping`` is the libvirt driver's disk mapping (device name to
    bus and type), i.e. what the guest really sees; disks that have no
    block device mapping (config drive, rescue disk) come from it alone.

    ``root_image`` is what a root disk made from an image holds now: a
    rebuild writes a new image to it but leaves the root mapping's
    ``image_id`` at the old one.
    """
    guest_disks = {}
    for name, info in (disk_mapping or {}).items():
        if name != 'root' and info.get('dev'):
            guest_disks.setdefault(info['dev'], (name, info))

    devices = []
    seen = set()
    # Each field read once: a Nova object's attribute is a method call.
    mappings = [dict(zip(BDM_FIELDS, bdm_fields(bdm))) for bdm in bdms or ()]
    for bdm in sorted((b for b in mappings if not b['no_device']),
                      key=_boot_order):
        dev = _strip_dev(bdm['device_name'])
        local_name, info = guest_disks.get(dev, (None, {}))
        seen.add(dev)
        size = bdm['volume_size']
        if size is None and bdm['destination_type'] == 'local' and \
                bdm['boot_index'] == 0:
            size = flavor.root_gb
        devices.append(domain_meta.DomainMetaBlockDevice(
            device=dev,
            bus=info.get('bus') or bdm['disk_bus'],
            device_type=info.get('type') or bdm['device_type'],
            source_type=bdm['source_type'],
            destination_type=bdm['destination_type'],
            boot_index=bdm['boot_index'],
            volume_id=bdm['volume_id'],
            image_id=_disk_image(bdm, root_image),
            snapshot_id=bdm['snapshot_id'],
            size=size,
            attachment_id=bdm['attachment_id'],
            delete_on_termination=bdm['delete_on_termination'],
            guest_format=bdm['guest_format'],
            tag=report.text('block device tag', bdm['tag'])))
    for dev in sorted(guest_disks):
        if dev in seen:
            continue
        local_name, info = guest_disks[dev]
        devices.append(domain_meta.DomainMetaBlockDevice(
            device=dev, bus=info.get('bus'), device_type=info.get('type'),
            destination_type='local', local_disk=local_name))
    return devices


def _ports(network_info, report):
    ports = []
    for vif in network_info or []:
        network = vif.get('network') or {}
        ports.append(domain_meta.DomainMetaPort(
            uuid=report.text('port id', vif.get('id')),
            mac=report.text('port mac', vif.get('address')),
            network_id=report.text('network id', network.get('id')),
            network_name=report.text('network name', network.get('label')),
            vif_type=report.text('vif type', vif.get('type')),
            vnic_type=report.text('vnic type', vif.get('vnic_type')),
            devname=report.text('vif devname', vif.get('devname')),
            mtu=(network.get('meta') or {}).get('mtu')))
    return ports


def _tags(instance):
    """Return the server's tags, loading them if the caller did not."""
    try:
        return [t.tag for t in instance.tags or []]
    except Exception:
        LOG.debug('Could not load tags', instance=instance, exc_info=True)
        return []


def _iso_time(value):
    if not value:
        return None
    # What strftime('%Y-%m-%dT%H:%M:%SZ') gives, at a fraction of its cost.
    return '%04d-%02d-%02dT%02d:%02d:%02dZ' % (
        value.year, value.month, value.day, value.hour, value.minute,
        value.second)


def build_domain_meta(instance, network_info, bdms, disk_mapping, host,
                      limits, with_image_properties=True, hardware=None,
                      shares=()):
    """Return our ``<ndm:instance>`` element for ``instance``.

    :param bdms: the instance's BlockDeviceMappingList, or None
    :param disk_mapping: ``disk_info['mapping']`` from the libvirt driver
    :param host: the compute host defining the domain (``CONF.host``)
    :param hardware: the ``<ndm:hardware>`` record of the definition, if
        the driver preserved hardware when it was made
    :param shares: the guest's ``<ndm:share>`` records (power metrics)
    """
    report = _Report(limits)
    tag_values, tags_truncated = report.listing('tags', _tags(instance))
    meta = domain_meta.DomainMetaInstance(
        uuid=instance.uuid,
        plugin_version=version.version_string(),
        hostname=report.text('hostname', instance.hostname),
        host=report.text('host', host),
        availability_zone=report.text('availability zone',
                                      instance.availability_zone),
        created_at=_iso_time(instance.created_at),
        key_name=report.text('key name', instance.key_name),
        image=_image_element(instance, report, with_image_properties),
        block_devices=_block_devices(bdms, disk_mapping, instance.flavor,
                                     report, root_image=_base_image(instance)),
        ports=_ports(network_info, report),
        tags=[domain_meta.DomainMetaTag(t) for t in tag_values],
        tags_truncated=tags_truncated,
        hardware=hardware,
        shares=list(shares))
    report.log(instance)
    return meta

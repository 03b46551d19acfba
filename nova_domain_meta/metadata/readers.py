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

"""Read both metadata elements back into objects, without importing Nova.

This is the read model: every ``parse_dom`` of the metadata classes lives
here, in classes that need nothing but lxml.  The classes in
:mod:`.nova_instance` and :mod:`.domain_meta` combine these readers with
Nova's ``LibvirtConfigObject`` to format the elements too (the write
model).  Tools that only read, such as the ``nova-domain-meta`` command on
a compute host, use the readers directly and start in a fraction of the
time importing Nova's libvirt driver takes.
"""

import calendar
import dataclasses
import re
import time

from nova_domain_meta import metadata

_TIME_FORMAT = '%Y-%m-%d %H:%M:%S'
# What Nova writes, always two digits per field but the year's four.
_TIME_RE = re.compile(r'(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\Z')


class InvalidElement(ValueError):
    """The XML given to ``parse_dom`` is not the element expected."""


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _bool_or_none(text):
    return None if text is None else text == 'true'


def _timestamp(text):
    """Seconds since the epoch of a UTC ``YYYY-MM-DD HH:MM:SS``, or None.

    ``time.strptime`` costs more than the rest of reading a
    ``<nova:instance>``; Nova's own format is read directly, anything else
    still goes through ``strptime``, which also accepts one-digit fields
    and rejects out-of-range ones.
    """
    text = text.strip()
    match = _TIME_RE.match(text)
    if match is not None:
        fields = [int(f) for f in match.groups()]
        year, month, day, hour, minute, second = fields
        # The ranges strptime accepts, and a day the month has.
        if (year >= 1 and 1 <= month <= 12 and hour <= 23 and
                minute <= 59 and second <= 61 and
                1 <= day <= calendar.monthrange(year, month)[1]):
            return calendar.timegm(fields)
    try:
        return calendar.timegm(time.strptime(text, _TIME_FORMAT))
    except ValueError:
        return None


# Attribute text to Python value, by kind.
PARSE = {str: lambda t: t, int: _int_or_none, bool: _bool_or_none}


class ElementReader(object):
    """Namespace-aware root check and child lookup."""

    root_name = None
    #: Namespaces an element of this class may be in; the first is the one
    #: the write model uses.
    readable_namespaces = ()

    def _check_root(self, xmldoc):
        """Check the element's name and record its namespace."""
        qname = xmldoc.tag if isinstance(xmldoc.tag, str) else ''
        ns, _, name = qname[1:].partition('}')
        if not qname.startswith('{') or name != self.root_name or \
                ns not in self.readable_namespaces:
            raise InvalidElement(
                'expected a %s element in namespace %s, got %s' % (
                    self.root_name, ' or '.join(self.readable_namespaces),
                    qname or xmldoc.tag))
        self.ns_uri = ns
        return ns

    def _child(self, xmldoc, name):
        return next(xmldoc.iterchildren('{%s}%s' % (self.ns_uri, name)),
                    None)

    def _children(self, xmldoc, name):
        return list(xmldoc.iterchildren('{%s}%s' % (self.ns_uri, name)))

    def _index(self, xmldoc):
        """Return a :class:`_Children` of ``xmldoc`` in our namespace."""
        return _Children(xmldoc, self.ns_uri)


class _Children(object):
    """The first child of each name, found in one pass over the children.

    Readers want up to a dozen children of an element by name; one lxml
    ``find`` per name costs a few microseconds each, and ``list`` reads
    the elements of every guest on the host.  ``get(name)`` returns what
    ``find('{ns}name')`` would.
    """

    __slots__ = ('_first', '_prefix')

    def __init__(self, xmldoc, ns_uri):
        first = self._first = {}
        for child in xmldoc:
            if child.tag not in first:
                first[child.tag] = child
        self._prefix = '{%s}' % ns_uri

    def get(self, name):
        return self._first.get(self._prefix + name)


# <nova:instance>, Nova's element, namespace 1.1 or the older 1.0.


@dataclasses.dataclass
class ImageMetaView(object):
    """The image fields ``<nova:image>`` holds, as read back."""

    id: str = None
    container_format: str = None
    disk_format: str = None
    min_disk: int = None
    min_ram: int = None
    properties: dict = dataclasses.field(default_factory=dict)


class NovaReader(ElementReader):
    readable_namespaces = (metadata.NOVA_NS, metadata.NOVA_NS_1_0)


class NovaIpReader(NovaReader):
    """``<nova:ip>``: an address, ``fixed`` or ``floating``, v4 or v6."""

    root_name = 'ip'

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.ip_type = xmldoc.get('type')
        self.address = xmldoc.get('address')
        self.ip_version = _int_or_none(xmldoc.get('ipVersion'))


class NovaPortReader(NovaReader):
    """``<nova:port>``: one port and its fixed and floating addresses."""

    root_name = 'port'
    ip_class = NovaIpReader

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.uuid = xmldoc.get('uuid')
        self.ips = []
        for node in self._children(xmldoc, 'ip'):
            ip = self.ip_class()
            ip.parse_dom(node)
            self.ips.append(ip)


class NovaPortsReader(NovaReader):
    """``<nova:ports>``: every Neutron port of the guest."""

    root_name = 'ports'
    port_class = NovaPortReader

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.ports = []
        for node in self._children(xmldoc, 'port'):
            port = self.port_class()
            port.parse_dom(node)
            self.ports.append(port)


class NovaOwnerReader(NovaReader):
    """``<nova:owner>``: user and project, by id and by name."""

    root_name = 'owner'

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        children = self._index(xmldoc)
        user = children.get('user')
        project = children.get('project')
        self.userid = user.get('uuid') if user is not None else None
        self.username = (user.text or '') if user is not None else None
        self.projectid = project.get('uuid') if project is not None \
            else None
        self.projectname = (project.text or '') if project is not None \
            else None


class NovaFlavorReader(NovaReader):
    """``<nova:flavor>``: the flavor as it was when the guest was defined."""

    root_name = 'flavor'

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.name = xmldoc.get('name')
        self.id = xmldoc.get('id')
        children = self._index(xmldoc)
        for attr in ('memory', 'disk', 'swap', 'ephemeral', 'vcpus'):
            node = children.get(attr)
            setattr(self, attr,
                    _int_or_none(node.text) if node is not None else None)
        specs = children.get('extraSpecs')
        self.extra_specs = None
        if specs is not None:
            self.extra_specs = {
                node.get('name'): node.text or ''
                for node in self._children(specs, 'extraSpec')}


class NovaImageReader(NovaReader):
    """``<nova:image>``: the boot image's base fields and modelled props."""

    root_name = 'image'
    _fields = (('container_format', 'containerFormat'),
               ('disk_format', 'diskFormat'),
               ('min_disk', 'minDisk'),
               ('min_ram', 'minRam'))

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.uuid = xmldoc.get('uuid')
        children = self._index(xmldoc)
        values = {}
        for attr, node_key in self._fields:
            node = children.get(node_key)
            text = node.text if node is not None else None
            values[attr] = (_int_or_none(text) if attr.startswith('min_')
                            else text)
        props = children.get('properties')
        properties = {}
        if props is not None:
            properties = {node.get('name'): node.text or ''
                          for node in self._children(props, 'property')}
        self.image_meta = ImageMetaView(id=self.uuid, properties=properties,
                                        **values)


class NovaInstanceReader(NovaReader):
    """``<nova:instance>``: who owns the guest, its flavor, image, ports."""

    root_name = 'instance'
    flavor_class = NovaFlavorReader
    image_class = NovaImageReader
    owner_class = NovaOwnerReader
    ports_class = NovaPortsReader

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        children = self._index(xmldoc)
        package = children.get('package')
        self.package = package.get('version') if package is not None \
            else None
        name = children.get('name')
        self.name = name.text if name is not None else None
        created = children.get('creationTime')
        self.creationTime = None
        if created is not None and created.text:
            self.creationTime = _timestamp(created.text)
        for attr, tag in (('flavor', 'flavor'), ('image', 'image'),
                          ('owner', 'owner'), ('ports', 'ports')):
            node = children.get(tag)
            obj = None
            if node is not None:
                obj = getattr(self, attr + '_class')()
                obj.parse_dom(node)
            setattr(self, attr, obj)
        root = children.get('root')
        self.roottype = root.get('type') if root is not None else None
        self.rootid = root.get('uuid') if root is not None else None


# <ndm:instance>, our element.


class DomainMetaReader(ElementReader):
    """An element of our namespace.

    ``attributes`` is a sequence of ``(xml_name, python_name, kind)``,
    shared with the write model so the two cannot drift apart.
    """

    readable_namespaces = (metadata.DOMAIN_META_NS,)
    ns_uri = metadata.DOMAIN_META_NS
    attributes = ()

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        for xml_name, name, kind in self.attributes:
            setattr(self, name, PARSE[kind](xmldoc.get(xml_name)))

    def _parse_list(self, xmldoc, name, item_name, klass, children=None):
        """Return ``(items, truncated)`` read from a list element.

        ``children`` is the :meth:`_index` of ``xmldoc``, if the caller
        has it.
        """
        node = (children.get(name) if children is not None
                else self._child(xmldoc, name))
        if node is None:
            return [], False
        items = []
        for child in self._children(node, item_name):
            item = klass()
            item.parse_dom(child)
            items.append(item)
        return items, node.get('truncated') == 'true'


class DomainMetaPropertyReader(DomainMetaReader):
    """``<ndm:property name="...">value</ndm:property>``."""

    root_name = 'property'
    attributes = (('name', 'name', str),)

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.value = xmldoc.text or ''


class DomainMetaTagReader(DomainMetaReader):
    """``<ndm:tag>`` holding one server tag."""

    root_name = 'tag'

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.value = xmldoc.text or ''


class DomainMetaImageReader(DomainMetaReader):
    """``<ndm:image>``: the boot image with every property it carried."""

    root_name = 'image'
    attributes = (('uuid', 'uuid', str), ('name', 'name', str))
    property_class = DomainMetaPropertyReader

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.properties, self.properties_truncated = self._parse_list(
            xmldoc, 'properties', 'property', self.property_class)


class DomainMetaBlockDeviceReader(DomainMetaReader):
    """``<ndm:blockDevice>``: one disk as Nova mapped it and the guest sees.

    ``source`` and ``destination`` are Nova's block device mapping types
    (image, volume, snapshot, blank; local, volume); ``device`` and ``bus``
    are what libvirt presents to the guest; ``size`` is in GiB.
    """

    root_name = 'blockDevice'
    attributes = (
        ('device', 'device', str),
        ('bus', 'bus', str),
        ('type', 'device_type', str),
        ('source', 'source_type', str),
        ('destination', 'destination_type', str),
        ('bootIndex', 'boot_index', int),
        ('volume', 'volume_id', str),
        ('image', 'image_id', str),
        ('snapshot', 'snapshot_id', str),
        ('size', 'size', int),
        ('attachment', 'attachment_id', str),
        ('deleteOnTermination', 'delete_on_termination', bool),
        ('guestFormat', 'guest_format', str),
        ('tag', 'tag', str),
        ('localDisk', 'local_disk', str),
    )


class DomainMetaPortReader(DomainMetaReader):
    """``<ndm:port>``: how a Neutron port is plugged into this guest."""

    root_name = 'port'
    attributes = (
        ('uuid', 'uuid', str),
        ('mac', 'mac', str),
        ('network', 'network_id', str),
        ('networkName', 'network_name', str),
        ('vifType', 'vif_type', str),
        ('vnicType', 'vnic_type', str),
        ('devname', 'devname', str),
        ('mtu', 'mtu', int),
    )


class DomainMetaReassignedReader(DomainMetaReader):
    """``<ndm:reassigned>``: a device whose old address was not kept."""

    root_name = 'reassigned'
    attributes = (('device', 'device', str), ('reason', 'reason', str))


class DomainMetaHardwareReader(DomainMetaReader):
    """``<ndm:hardware>``: what the last redefinition kept of the old one.

    Written when the driver carried libvirt-assigned addresses and the
    machine type over from the previous definition of the domain;
    ``preserved`` counts the devices that kept their address.
    """

    root_name = 'hardware'
    attributes = (('preserved', 'preserved', int),
                  ('machine', 'machine', str),
                  ('machineKept', 'machine_kept', bool))
    reassigned_class = DomainMetaReassignedReader

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.reassigned = []
        for child in self._children(xmldoc, 'reassigned'):
            item = self.reassigned_class()
            item.parse_dom(child)
            self.reassigned.append(item)


class DomainMetaShareReader(DomainMetaReader):
    """``<ndm:share>``: a host directory shared read-only with the guest.

    ``directory`` is what the host fills (Scaphandre's per-guest
    directory), ``source`` what virtiofsd serves (a read-only view of it,
    or the directory itself), ``tag`` what the guest mounts, and
    ``readOnlyBy`` what makes it read-only (``bind-mount``, ``libvirt``).
    """

    root_name = 'share'
    attributes = (('purpose', 'purpose', str), ('tag', 'tag', str),
                  ('directory', 'directory', str), ('source', 'source', str),
                  ('readOnlyBy', 'read_only_by', str))


class DomainMetaInstanceReader(DomainMetaReader):
    """``<ndm:instance>``: the plugin's element, one per domain."""

    root_name = 'instance'
    attributes = (('uuid', 'uuid', str),)
    # Simple text children: (xml name, python name).
    text_children = (
        ('hostname', 'hostname'),
        ('host', 'host'),
        ('availabilityZone', 'availability_zone'),
        ('createdAt', 'created_at'),
        ('keyName', 'key_name'),
    )
    image_class = DomainMetaImageReader
    block_device_class = DomainMetaBlockDeviceReader
    port_class = DomainMetaPortReader
    tag_class = DomainMetaTagReader
    hardware_class = DomainMetaHardwareReader
    share_class = DomainMetaShareReader

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        children = self._index(xmldoc)
        plugin = children.get('plugin')
        self.plugin_version = plugin.get('version') if plugin is not None \
            else None
        for xml_name, name in self.text_children:
            child = children.get(xml_name)
            setattr(self, name,
                    (child.text or '') if child is not None else None)
        image = children.get('image')
        self.image = None
        if image is not None:
            self.image = self.image_class()
            self.image.parse_dom(image)
        self.block_devices, _ = self._parse_list(
            xmldoc, 'blockDevices', 'blockDevice', self.block_device_class,
            children)
        self.ports, _ = self._parse_list(xmldoc, 'ports', 'port',
                                         self.port_class, children)
        self.tags, self.tags_truncated = self._parse_list(
            xmldoc, 'tags', 'tag', self.tag_class, children)
        hardware = children.get('hardware')
        self.hardware = None
        if hardware is not None:
            self.hardware = self.hardware_class()
            self.hardware.parse_dom(hardware)
        self.shares = []
        for child in self._children(xmldoc, 'share'):
            share = self.share_class()
            share.parse_dom(child)
            self.shares.append(share)

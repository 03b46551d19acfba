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

"""``<ndm:instance>``: what operators need that Nova's element lacks.

Every class formats and parses its element in the
:data:`~nova_domain_meta.metadata.DOMAIN_META_NS` namespace, in the
``LibvirtConfigObject`` idiom Nova uses for its own domain XML.  Each class
lists its XML attributes once (``attributes``), so formatting and parsing
cannot drift apart.

An element whose text or list was cut to the configured bounds carries
``truncated="true"``; characters XML cannot hold appear as U+FFFD.
"""

from nova import exception
from nova.virt.libvirt import config as nova_config

from nova_domain_meta import metadata


def _bool_str(value):
    return 'true' if value else 'false'


def _parse_bool(text):
    return None if text is None else text == 'true'


def _parse_int(text):
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


# Converters between Python values and attribute text, by kind.
_FORMAT = {str: str, int: str, bool: _bool_str}
_PARSE = {str: lambda t: t, int: _parse_int, bool: _parse_bool}


class DomainMetaObject(nova_config.LibvirtConfigObject):
    """An element of our namespace.

    ``attributes`` is a sequence of ``(xml_name, python_name, kind)``; each
    is written when its value is not ``None`` and read back on parse.
    """

    attributes = ()

    def __init__(self, root_name, **values):
        super().__init__(root_name=root_name,
                         ns_prefix=metadata.DOMAIN_META_PREFIX,
                         ns_uri=metadata.DOMAIN_META_NS)
        for _xml_name, name, _kind in self.attributes:
            setattr(self, name, None)
        for name, value in values.items():
            setattr(self, name, value)

    def __eq__(self, other):
        return (type(self) is type(other) and
                self.format_dom_str() == other.format_dom_str())

    def __hash__(self):
        return hash(self.format_dom_str())

    def format_dom_str(self):
        """Return the canonical one-line XML of this element."""
        return self.to_xml(pretty_print=False)

    def _qname(self, name):
        return '{%s}%s' % (self.ns_uri, name)

    def _child(self, xmldoc, name):
        return xmldoc.find(self._qname(name))

    def _children(self, xmldoc, name):
        return xmldoc.findall(self._qname(name))

    def format_dom(self):
        node = super().format_dom()
        for xml_name, name, kind in self.attributes:
            value = getattr(self, name)
            if value is not None:
                node.set(xml_name, _FORMAT[kind](value))
        return node

    def parse_dom(self, xmldoc):
        if xmldoc.tag != self._qname(self.root_name):
            raise exception.InvalidInput(
                'Expected %s, got %s' % (self._qname(self.root_name),
                                         xmldoc.tag))
        for xml_name, name, kind in self.attributes:
            setattr(self, name, _PARSE[kind](xmldoc.get(xml_name)))

    def _text_child(self, name, value):
        """Return a text element, marked when the value was cut."""
        node = self._text_node(name, value)
        if getattr(value, 'truncated', False):
            node.set('truncated', 'true')
        return node

    def _list_node(self, name, items, truncated):
        node = self._new_node(name)
        if truncated:
            node.set('truncated', 'true')
        for item in items:
            node.append(item.format_dom())
        return node

    def _parse_list(self, xmldoc, name, item_name, klass):
        """Return ``(items, truncated)`` read from a list element."""
        node = self._child(xmldoc, name)
        if node is None:
            return [], False
        items = []
        for child in self._children(node, item_name):
            item = klass()
            item.parse_dom(child)
            items.append(item)
        return items, node.get('truncated') == 'true'


class DomainMetaProperty(DomainMetaObject):
    """``<ndm:property name="...">value</ndm:property>``."""

    attributes = (('name', 'name', str),)

    def __init__(self, name=None, value=None):
        super().__init__('property', name=name, value=value)

    def format_dom(self):
        node = super().format_dom()
        node.text = None if self.value is None else str(self.value)
        if getattr(self.value, 'truncated', False) or \
                getattr(self.name, 'truncated', False):
            node.set('truncated', 'true')
        return node

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.value = xmldoc.text or ''


class DomainMetaTag(DomainMetaObject):
    """``<ndm:tag>`` holding one server tag."""

    def __init__(self, value=None):
        super().__init__('tag', value=value)

    def format_dom(self):
        return self._text_child('tag', self.value)

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.value = xmldoc.text or ''


class DomainMetaImage(DomainMetaObject):
    """``<ndm:image>``: the boot image with every property it carried.

    Nova models a fixed set of image properties; the rest survive only in
    the instance's system metadata (``image_<key>``, cut by Nova at 255
    characters).  This element lists them all.
    """

    attributes = (('uuid', 'uuid', str), ('name', 'name', str))

    def __init__(self, **values):
        values.setdefault('properties', [])
        values.setdefault('properties_truncated', False)
        super().__init__('image', **values)

    def format_dom(self):
        node = super().format_dom()
        node.append(self._list_node('properties', self.properties,
                                    self.properties_truncated))
        return node

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.properties, self.properties_truncated = self._parse_list(
            xmldoc, 'properties', 'property', DomainMetaProperty)


class DomainMetaBlockDevice(DomainMetaObject):
    """``<ndm:blockDevice>``: one disk as Nova mapped it and the guest sees it.

    ``source`` and ``destination`` are Nova's block device mapping types
    (image, volume, snapshot, blank; local, volume); ``device`` and ``bus``
    are what libvirt presents to the guest; ``size`` is in GiB.
    """

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

    def __init__(self, **values):
        super().__init__('blockDevice', **values)


class DomainMetaPort(DomainMetaObject):
    """``<ndm:port>``: how a Neutron port is plugged into this guest."""

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

    def __init__(self, **values):
        super().__init__('port', **values)


class DomainMetaReassigned(DomainMetaObject):
    """``<ndm:reassigned>``: a device whose old address was not kept."""

    attributes = (('device', 'device', str), ('reason', 'reason', str))

    def __init__(self, **values):
        super().__init__('reassigned', **values)


class DomainMetaHardware(DomainMetaObject):
    """``<ndm:hardware>``: what the last redefinition kept of the old one.

    Written when the driver carried libvirt-assigned addresses and the
    machine type over from the previous definition of the domain;
    ``preserved`` counts the devices that kept their address.
    """

    attributes = (('preserved', 'preserved', int),
                  ('machine', 'machine', str),
                  ('machineKept', 'machine_kept', bool))

    def __init__(self, **values):
        values.setdefault('reassigned', [])
        super().__init__('hardware', **values)

    def format_dom(self):
        node = super().format_dom()
        for item in self.reassigned:
            node.append(item.format_dom())
        return node

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.reassigned = []
        for child in self._children(xmldoc, 'reassigned'):
            item = DomainMetaReassigned()
            item.parse_dom(child)
            self.reassigned.append(item)


class DomainMetaInstance(DomainMetaObject):
    """``<ndm:instance>``: the plugin's element, one per domain."""

    attributes = (('uuid', 'uuid', str),)

    # Simple text children: (xml name, python name).
    text_children = (
        ('hostname', 'hostname'),
        ('host', 'host'),
        ('availabilityZone', 'availability_zone'),
        ('createdAt', 'created_at'),
        ('keyName', 'key_name'),
    )

    def __init__(self, **values):
        for _xml_name, name in self.text_children:
            values.setdefault(name, None)
        values.setdefault('plugin_version', None)
        values.setdefault('image', None)
        values.setdefault('block_devices', [])
        values.setdefault('ports', [])
        values.setdefault('tags', [])
        values.setdefault('tags_truncated', False)
        values.setdefault('hardware', None)
        super().__init__('instance', **values)

    def format_dom(self):
        node = super().format_dom()
        plugin = self._new_node('plugin')
        plugin.set('version', str(self.plugin_version or ''))
        node.append(plugin)
        for xml_name, name in self.text_children:
            value = getattr(self, name)
            if value is not None:
                node.append(self._text_child(xml_name, value))
        if self.image is not None:
            node.append(self.image.format_dom())
        node.append(self._list_node('blockDevices', self.block_devices,
                                    False))
        node.append(self._list_node('ports', self.ports, False))
        node.append(self._list_node('tags', self.tags, self.tags_truncated))
        if self.hardware is not None:
            node.append(self.hardware.format_dom())
        return node

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        plugin = self._child(xmldoc, 'plugin')
        self.plugin_version = plugin.get('version') if plugin is not None \
            else None
        for xml_name, name in self.text_children:
            child = self._child(xmldoc, xml_name)
            setattr(self, name,
                    (child.text or '') if child is not None else None)
        image = self._child(xmldoc, 'image')
        self.image = None
        if image is not None:
            self.image = DomainMetaImage()
            self.image.parse_dom(image)
        self.block_devices, _ = self._parse_list(
            xmldoc, 'blockDevices', 'blockDevice', DomainMetaBlockDevice)
        self.ports, _ = self._parse_list(xmldoc, 'ports', 'port',
                                         DomainMetaPort)
        self.tags, self.tags_truncated = self._parse_list(
            xmldoc, 'tags', 'tag', DomainMetaTag)
        hardware = self._child(xmldoc, 'hardware')
        self.hardware = None
        if hardware is not None:
            self.hardware = DomainMetaHardware()
            self.hardware.parse_dom(hardware)

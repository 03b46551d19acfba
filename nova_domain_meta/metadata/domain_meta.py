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

Every class formats its element in the
:data:`~nova_domain_meta.metadata.DOMAIN_META_NS` namespace, in the
``LibvirtConfigObject`` idiom Nova uses for its own domain XML, and parses
it with its reader from :mod:`.readers`.  Each class lists its XML
attributes once (``attributes``, on the reader), so formatting and parsing
cannot drift apart.

An element whose text or list was cut to the configured bounds carries
``truncated="true"``; characters XML cannot hold appear as U+FFFD.
"""

from lxml import etree
from nova.virt.libvirt import config as nova_config

from nova_domain_meta import metadata
from nova_domain_meta.metadata import readers


def _bool_str(value):
    return 'true' if value else 'false'


# Python value to attribute text, by kind.
_FORMAT = {str: str, int: str, bool: _bool_str}


class DomainMetaObject(readers.DomainMetaReader,
                       nova_config.LibvirtConfigObject):
    """An element of our namespace.

    Each of the reader's ``attributes`` is written when its value is not
    ``None``.  :meth:`format_dom` makes the element on its own, as Nova's
    config objects do; inside a parent element, children are made with
    :meth:`format_under`, which is several times cheaper than making each
    child on its own and appending it, and gives the same XML.
    """

    ns_prefix = metadata.DOMAIN_META_PREFIX
    ns_uri = metadata.DOMAIN_META_NS

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._unset = dict.fromkeys(name for _x, name, _k in cls.attributes)

    def __init__(self, root_name, **values):
        # NOTE: Nova's LibvirtConfigObject.__init__ only sets root_name,
        # ns_prefix and ns_uri, which are class attributes here (the
        # reader's root_name): not calling it makes the dozens of small
        # elements of a domain several times cheaper to create.
        if root_name != self.root_name:
            self.root_name = root_name
        self.__dict__.update(self._unset)
        self.__dict__.update(values)

    def __eq__(self, other):
        return (type(self) is type(other) and
                self.format_dom_str() == other.format_dom_str())

    def __hash__(self):
        return hash(self.format_dom_str())

    def format_dom_str(self):
        """Return the canonical one-line XML of this element."""
        return self.to_xml(pretty_print=False)

    def format_dom(self):
        node = self._new_node(self.root_name, attrib=self._attrib())
        self._fill(node)
        return node

    def format_under(self, parent):
        """Format this element as the last child of ``parent``."""
        node = etree.SubElement(parent, _TAGS[self.root_name], self._attrib())
        self._fill(node)
        return node

    def _attrib(self):
        """Return the XML attributes, in the order ``attributes`` lists."""
        values = self.__dict__
        return {xml_name: _FORMAT[kind](values[name])
                for xml_name, name, kind in self.attributes
                if values[name] is not None}

    def _fill(self, node):
        """Add this element's text and children to ``node``."""

    @staticmethod
    def _text_under(parent, name, value):
        """Add a text element, marked when the value was cut."""
        node = etree.SubElement(parent, _TAGS[name])
        node.text = str(value)
        if getattr(value, 'truncated', False):
            node.set('truncated', 'true')
        return node

    @staticmethod
    def _list_under(parent, name, items, truncated):
        node = etree.SubElement(parent, _TAGS[name])
        if truncated:
            node.set('truncated', 'true')
        for item in items:
            item.format_under(node)
        return node


class _QualifiedNames(dict):
    """``{local name: '{namespace}local name'}``, filled on first use."""

    def __missing__(self, name):
        self[name] = '{%s}%s' % (metadata.DOMAIN_META_NS, name)
        return self[name]


_TAGS = _QualifiedNames()
_PROPERTY = _TAGS['property']


class DomainMetaProperty(readers.DomainMetaPropertyReader, DomainMetaObject):
    """``<ndm:property name="...">value</ndm:property>``."""

    def __init__(self, name=None, value=None):
        super().__init__('property', name=name, value=value)

    def format_under(self, parent):
        # An image carries dozens: the shortest way to the same XML.
        name = self.name
        node = etree.SubElement(parent, _PROPERTY) if name is None else \
            etree.SubElement(parent, _PROPERTY, name=name)
        self._fill(node)
        return node

    def _fill(self, node):
        node.text = None if self.value is None else str(self.value)
        if getattr(self.value, 'truncated', False) or \
                getattr(self.name, 'truncated', False):
            node.set('truncated', 'true')


class DomainMetaTag(readers.DomainMetaTagReader, DomainMetaObject):
    """``<ndm:tag>`` holding one server tag."""

    def __init__(self, value=None):
        super().__init__('tag', value=value)

    def _fill(self, node):
        node.text = str(self.value)
        if getattr(self.value, 'truncated', False):
            node.set('truncated', 'true')


class DomainMetaImage(readers.DomainMetaImageReader, DomainMetaObject):
    """``<ndm:image>``: the boot image with every property it carried.

    Nova models a fixed set of image properties; the rest survive only in
    the instance's system metadata (``image_<key>``, cut by Nova at 255
    characters).  This element lists them all.
    """

    property_class = DomainMetaProperty

    def __init__(self, **values):
        values.setdefault('properties', [])
        values.setdefault('properties_truncated', False)
        super().__init__('image', **values)

    def _fill(self, node):
        self._list_under(node, 'properties', self.properties,
                         self.properties_truncated)


class DomainMetaBlockDevice(readers.DomainMetaBlockDeviceReader,
                            DomainMetaObject):
    """``<ndm:blockDevice>``: one disk as Nova mapped it and the guest sees."""

    def __init__(self, **values):
        super().__init__('blockDevice', **values)


class DomainMetaPort(readers.DomainMetaPortReader, DomainMetaObject):
    """``<ndm:port>``: how a Neutron port is plugged into this guest."""

    def __init__(self, **values):
        super().__init__('port', **values)


class DomainMetaReassigned(readers.DomainMetaReassignedReader,
                           DomainMetaObject):
    """``<ndm:reassigned>``: a device whose old address was not kept."""

    def __init__(self, **values):
        super().__init__('reassigned', **values)


class DomainMetaHardware(readers.DomainMetaHardwareReader, DomainMetaObject):
    """``<ndm:hardware>``: what the last redefinition kept of the old one."""

    reassigned_class = DomainMetaReassigned

    def __init__(self, **values):
        values.setdefault('reassigned', [])
        super().__init__('hardware', **values)

    def _fill(self, node):
        for item in self.reassigned:
            item.format_under(node)


class DomainMetaShare(readers.DomainMetaShareReader, DomainMetaObject):
    """``<ndm:share>``: a host directory shared read-only with the guest."""

    def __init__(self, **values):
        values.setdefault('purpose', 'power-metrics')
        super().__init__('share', **values)


class DomainMetaInstance(readers.DomainMetaInstanceReader, DomainMetaObject):
    """``<ndm:instance>``: the plugin's element, one per domain."""

    image_class = DomainMetaImage
    block_device_class = DomainMetaBlockDevice
    port_class = DomainMetaPort
    tag_class = DomainMetaTag
    hardware_class = DomainMetaHardware
    share_class = DomainMetaShare

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
        values.setdefault('shares', [])
        super().__init__('instance', **values)

    def _fill(self, node):
        etree.SubElement(node, _TAGS['plugin']).set(
            'version', str(self.plugin_version or ''))
        for xml_name, name in self.text_children:
            value = getattr(self, name)
            if value is not None:
                self._text_under(node, xml_name, value)
        if self.image is not None:
            self.image.format_under(node)
        self._list_under(node, 'blockDevices', self.block_devices, False)
        self._list_under(node, 'ports', self.ports, False)
        self._list_under(node, 'tags', self.tags, self.tags_truncated)
        if self.hardware is not None:
            self.hardware.format_under(node)
        for share in self.shares:
            share.format_under(node)

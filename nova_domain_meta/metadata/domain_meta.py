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
    ``None``.
    """

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

    def format_dom(self):
        node = super().format_dom()
        for xml_name, name, kind in self.attributes:
            value = getattr(self, name)
            if value is not None:
                node.set(xml_name, _FORMAT[kind](value))
        return node

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


class DomainMetaProperty(readers.DomainMetaPropertyReader, DomainMetaObject):
    """``<ndm:property name="...">value</ndm:property>``."""

    def __init__(self, name=None, value=None):
        super().__init__('property', name=name, value=value)

    def format_dom(self):
        node = super().format_dom()
        node.text = None if self.value is None else str(self.value)
        if getattr(self.value, 'truncated', False) or \
                getattr(self.name, 'truncated', False):
            node.set('truncated', 'true')
        return node


class DomainMetaTag(readers.DomainMetaTagReader, DomainMetaObject):
    """``<ndm:tag>`` holding one server tag."""

    def __init__(self, value=None):
        super().__init__('tag', value=value)

    def format_dom(self):
        return self._text_child('tag', self.value)


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

    def format_dom(self):
        node = super().format_dom()
        node.append(self._list_node('properties', self.properties,
                                    self.properties_truncated))
        return node


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

    def format_dom(self):
        node = super().format_dom()
        for item in self.reassigned:
            node.append(item.format_dom())
        return node


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
        for share in self.shares:
            node.append(share.format_dom())
        return node

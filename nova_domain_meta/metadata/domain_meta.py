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

import re

from lxml import etree
from nova.virt.libvirt import config as nova_config

from nova_domain_meta import metadata
from nova_domain_meta.metadata import readers


def _bool_str(value):
    return 'true' if value else 'false'


# Python value to attribute text, by kind.
_FORMAT = {str: str, int: str, bool: _bool_str}

# What a parser would not read back as it was written: markup characters,
# and the carriage return (and in attributes tab and newline) that XML
# normalises away.
_TEXT_SPECIAL = re.compile('[&<>\r]')
_TEXT_ESCAPES = str.maketrans({'&': '&amp;', '<': '&lt;', '>': '&gt;',
                               '\r': '&#13;'})
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\t\n\r]')
_ATTRIBUTE_ESCAPES = str.maketrans({'&': '&amp;', '<': '&lt;', '>': '&gt;',
                                    '"': '&quot;', '\t': '&#9;',
                                    '\n': '&#10;', '\r': '&#13;'})


def _content(text):
    """Return element content a parser reads back as exactly ``text``."""
    if not text:
        # An empty text node, which lxml writes as <a></a>, not <a/>.
        return '<![CDATA[]]>'
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return text.translate(_TEXT_ESCAPES)


def _attribute(name, text):
    """Return `` name="text"``, read back by a parser as exactly ``text``."""
    if _ATTRIBUTE_SPECIAL.search(text) is not None:
        text = text.translate(_ATTRIBUTE_ESCAPES)
    return ' %s="%s"' % (name, text)


_TRUNCATED = _attribute('truncated', 'true')


def _tag(name):
    return '%s:%s' % (metadata.DOMAIN_META_PREFIX, name)


class DomainMetaObject(readers.DomainMetaReader,
                       nova_config.LibvirtConfigObject):
    """An element of our namespace.

    Each of the reader's ``attributes`` is written when its value is not
    ``None``.  :meth:`format_dom` returns the element as Nova's config
    objects do, but makes it from its XML text (:meth:`_write`): libxml2
    parses the text of an instance's element in a fraction of the time
    lxml takes to create its few dozen namespaced elements one call at a
    time, and the element is the same.
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
        out = []
        self._write(out, ' xmlns:%s="%s"' % (self.ns_prefix, self.ns_uri))
        return etree.fromstring(''.join(out))

    def _write(self, out, declarations=''):
        """Append this element's XML text to the list ``out``."""
        tag = _TAGS[self.root_name]
        out.append('<%s%s%s>' % (tag, declarations, self._attributes()))
        self._write_content(out)
        out.append('</%s>' % tag)

    def _attributes(self):
        """Return the XML attributes, in the order ``attributes`` lists."""
        values = self.__dict__
        return ''.join([_attribute(xml_name, _FORMAT[kind](values[name]))
                        for xml_name, name, kind in self.attributes
                        if values[name] is not None])

    def _write_content(self, out):
        """Append this element's text and children to ``out``."""

    @staticmethod
    def _write_text(out, name, value):
        """Append a text element, marked when the value was cut."""
        tag = _TAGS[name]
        out.append('<%s%s>%s</%s>' % (
            tag, _TRUNCATED if getattr(value, 'truncated', False) else '',
            _content(str(value)), tag))

    @staticmethod
    def _write_list(out, name, items, truncated):
        tag = _TAGS[name]
        out.append('<%s%s>' % (tag, _TRUNCATED if truncated else ''))
        for item in items:
            item._write(out)
        out.append('</%s>' % tag)


class _QualifiedNames(dict):
    """``{local name: 'prefix:local name'}``, filled on first use."""

    def __missing__(self, name):
        self[name] = _tag(name)
        return self[name]


_TAGS = _QualifiedNames()
_PROPERTY = _TAGS['property']
_TAG = _TAGS['tag']


class DomainMetaProperty(readers.DomainMetaPropertyReader, DomainMetaObject):
    """``<ndm:property name="...">value</ndm:property>``."""

    def __init__(self, name=None, value=None):
        # NOTE: an image carries dozens; set the two values directly.
        self.name = name
        self.value = value

    def _write(self, out, declarations=''):
        # An image carries dozens: the shortest way to the same XML.
        name, value = self.name, self.value
        out.append('<%s%s%s%s>%s</%s>' % (
            _PROPERTY, declarations,
            '' if name is None else _attribute('name', name),
            _TRUNCATED if (getattr(value, 'truncated', False) or
                           getattr(name, 'truncated', False)) else '',
            '' if value is None else _content(str(value)), _PROPERTY))


class DomainMetaTag(readers.DomainMetaTagReader, DomainMetaObject):
    """``<ndm:tag>`` holding one server tag."""

    def __init__(self, value=None):
        self.value = value

    def _write(self, out, declarations=''):
        out.append('<%s%s%s>%s</%s>' % (
            _TAG, declarations,
            _TRUNCATED if getattr(self.value, 'truncated', False) else '',
            _content(str(self.value)), _TAG))


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

    def _write_content(self, out):
        self._write_list(out, 'properties', self.properties,
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

    def _write_content(self, out):
        for item in self.reassigned:
            item._write(out)


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

    def _write_content(self, out):
        out.append('<%s%s/>' % (_TAGS['plugin'], _attribute(
            'version', str(self.plugin_version or ''))))
        for xml_name, name in self.text_children:
            value = getattr(self, name)
            if value is not None:
                self._write_text(out, xml_name, value)
        if self.image is not None:
            self.image._write(out)
        self._write_list(out, 'blockDevices', self.block_devices, False)
        self._write_list(out, 'ports', self.ports, False)
        self._write_list(out, 'tags', self.tags, self.tags_truncated)
        if self.hardware is not None:
            self.hardware._write(out)
        for share in self.shares:
            share._write(out)

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

"""One libvirt domain as the tool sees it, and how its XML is read.

When Nova's control plane is down, the domains on a compute host still say
whose guest each one is: Nova's ``<nova:instance>`` (namespace 1.1, or 1.0
from older releases) and our ``<ndm:instance>``.  :func:`domain_from_xml`
turns one domain's XML into a :class:`Domain` holding both, and tells a
Nova guest without metadata (OpenStack's SMBIOS entries) from a guest Nova
never owned.  Nothing here imports cliff or Nova: other tools (an
exporter, a script) read domains the way the CLI does.

Only the part of the XML that holds what we read is parsed, when libvirt
wrote it (see :func:`_from_head_and_metadata`): the devices, which make up
most of a domain's XML, are never looked at, and parsing them cost more
than everything else ``list`` does per domain.
"""

import dataclasses
import functools

import libvirt
from lxml import etree

from nova_domain_meta import metadata
from nova_domain_meta.metadata import readers

# Kinds of domain, by the metadata they carry (``Domain.kind``).
KIND_DOMAIN_META = 'nova-domain-meta'
KIND_NOVA_1_1 = 'nova-1.1'
KIND_NOVA_1_0 = 'nova-1.0'
KIND_NOVA_NO_METADATA = 'nova-no-metadata'
KIND_NON_NOVA = 'non-nova'
KIND_UNREADABLE = 'unreadable'

# virsh's words for domain states, so the CLI reads like ``virsh list``.
_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'no state',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'idle',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'in shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}

# Domain XML comes from libvirt, but metadata values from users: never let
# the parser resolve entities or fetch anything.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

_NOVA_NAMESPACES = (metadata.NOVA_NS, metadata.NOVA_NS_1_0)
_NDM_INSTANCE = '{%s}instance' % metadata.DOMAIN_META_NS

# libvirt writes each child of <domain> on a line of its own, indented by
# two spaces, <metadata> after name, uuid, title and description.
_METADATA_START = '\n  <metadata>'
_METADATA_END = '\n  </metadata>'

_NOVA_KINDS = {metadata.NOVA_NS: KIND_NOVA_1_1,
               metadata.NOVA_NS_1_0: KIND_NOVA_1_0}


@dataclasses.dataclass
class Domain:
    """One libvirt domain and the Nova metadata it carries.

    Both metadata elements are read whole on first use of :attr:`nova`
    or :attr:`ndm` (``show``, ``check``); ``list`` reads single facts
    from them instead (:meth:`nova_child`, :mod:`.facts`).
    """

    name: str
    uuid: str
    state: str
    #: The raw ``<nova:instance>`` element (1.1 or 1.0 namespace), or None.
    nova_element: object = None
    #: The raw ``<ndm:instance>`` element, or None.
    ndm_element: object = None
    #: True when the SMBIOS entries say OpenStack wrote this domain; None
    #: when they were not read (a domain carrying Nova's or our element,
    #: whose kind does not depend on them).
    openstack_sysinfo: bool = None
    #: False when libvirt would not return this domain's XML at all.
    readable: bool = True
    #: Problems met while reading the domain XML.
    read_problems: list = dataclasses.field(default_factory=list)
    _parse_problems: list = dataclasses.field(default_factory=list,
                                              repr=False)

    @functools.cached_property
    def nova(self):
        """``<nova:instance>`` parsed, or None."""
        return _parse(readers.NovaInstanceReader, self.nova_element,
                      'nova:instance', self._parse_problems)

    @functools.cached_property
    def ndm(self):
        """``<ndm:instance>`` parsed, or None."""
        return _parse(readers.DomainMetaInstanceReader, self.ndm_element,
                      'ndm:instance', self._parse_problems)

    def parse(self):
        """Parse both elements now; return ``(nova, ndm)``."""
        return self.nova, self.ndm

    @property
    def problems(self):
        """Everything that kept the metadata from being read."""
        self.parse()
        return self.read_problems + self._parse_problems

    @functools.cached_property
    def nova_namespace(self):
        """The namespace of ``<nova:instance>`` (1.1 or 1.0), or None."""
        if self.nova_element is None:
            return None
        return etree.QName(self.nova_element).namespace

    @functools.cached_property
    def _nova_children(self):
        if self.nova_element is None:
            return {}
        return _first_children(self.nova_element)

    def nova_child(self, name):
        """The first child ``name`` of ``<nova:instance>``, or None.

        For the few facts ``list`` shows, read straight from the element
        (:mod:`.facts`): a thousand full parses of it cost more than the
        rest of the command.
        """
        return self._nova_children.get('{%s}%s' % (self.nova_namespace,
                                                   name))

    @property
    def kind(self):
        """Which metadata this domain carries; one of the ``KIND_*``."""
        if not self.readable:
            return KIND_UNREADABLE
        if self.ndm_element is not None:
            return KIND_DOMAIN_META
        if self.nova_element is not None:
            return _NOVA_KINDS[self.nova_namespace]
        if self.openstack_sysinfo:
            return KIND_NOVA_NO_METADATA
        return KIND_NON_NOVA

    @property
    def is_nova(self):
        """Whether Nova (stock or with our plugin) wrote this domain."""
        return self.kind not in (KIND_NON_NOVA, KIND_UNREADABLE)


def state_name(state):
    """Return virsh's word for a ``virDomainState`` number (None: None)."""
    if state is None:
        return None
    return _STATES.get(state, 'unknown (%s)' % state)


def unreadable(name, uuid, state, problem):
    """Return the :class:`Domain` of one whose XML could not be read."""
    return Domain(name=name, uuid=uuid, state=state_name(state),
                  readable=False, read_problems=[problem])


def _parse(klass, element, what, problems):
    """Parse ``element`` with ``klass``; note a failure, never raise."""
    if element is None:
        return None
    obj = klass()
    try:
        obj.parse_dom(element)
    except Exception as e:
        problems.append('cannot read %s: %s' % (what, e))
        return None
    return obj


def _is_openstack_sysinfo(root):
    for entry in root.iterfind('sysinfo/system/entry'):
        if entry.get('name') in ('manufacturer', 'product') and \
                'openstack' in (entry.text or '').lower():
            return True
    return False


def _first_children(element):
    """Map each child's tag to the first child with it.

    One pass over the children, instead of one search (``find``) per
    child wanted: several times faster, and the same first match.
    """
    children = {}
    for child in element:
        children.setdefault(child.tag, child)
    return children


def _text_of(element):
    """What ``findtext`` returns for ``element`` (None when missing)."""
    if element is None:
        return None
    return element.text or ''


def domain_from_xml(xml, state=None):
    """Return a :class:`Domain` for one domain's XML (text or element).

    ``state`` is the ``virDomainState`` number; XML alone cannot tell a
    paused guest from a running one.  Raises ``lxml.etree.XMLSyntaxError``
    when the text is not XML.
    """
    if isinstance(xml, str):
        domain = _from_head_and_metadata(xml, state)
        if domain is not None:
            return domain
        xml = xml.encode('utf-8')
    root = etree.fromstring(xml, _PARSER) if isinstance(xml, bytes) else xml
    top = _first_children(root)
    domain = _domain(top, state)
    domain.openstack_sysinfo = _is_openstack_sysinfo(root)
    meta = top.get('metadata')
    if meta is not None:
        _add_metadata(domain, meta)
    return domain


def _domain(top, state):
    """A Domain named by the children of ``<domain>`` (by tag)."""
    return Domain(name=_text_of(top.get('name')),
                  uuid=_text_of(top.get('uuid')),
                  state=state_name(state))


def _add_metadata(domain, meta):
    elements = _first_children(meta)
    for namespace in _NOVA_NAMESPACES:
        element = elements.get('{%s}instance' % namespace)
        if element is not None:
            domain.nova_element = element
            break
    domain.ndm_element = elements.get(_NDM_INSTANCE)


def _from_head_and_metadata(text, state):
    """The Domain of libvirt's XML, from its head and metadata; or None.

    Parses the text up to the end of ``<metadata>`` (name, uuid and the
    metadata, closed with ``</domain>``), and returns None, for the
    caller to parse the whole text, whenever that cannot be exact:

    * the text is not laid out as libvirt writes it;
    * the part is not well-formed on its own.  A ``</metadata>`` line
      inside another application's metadata (in a comment, CDATA, a
      processing instruction or a nested element) ends the part early and
      leaves something unterminated, so the part is never mistaken for
      the element: a part that parses ends exactly where the element
      ends, since markup cannot hide in escaped text or attributes;
    * the metadata holds neither Nova's nor our element: the domain's
      kind then depends on its SMBIOS entries, further down.

    What follows the metadata (devices and all) is not read, so damage
    there goes unnoticed; libvirt never returns such XML.
    """
    start = text.find(_METADATA_START)
    if start < 0:
        return None
    end = text.find(_METADATA_END, start)
    if end < 0:
        return None
    part = text[:end + len(_METADATA_END)] + '\n</domain>'
    try:
        root = etree.fromstring(part.encode('utf-8'), _PARSER)
    except etree.XMLSyntaxError:
        return None
    top = _first_children(root)
    if root.tag != 'domain' or 'metadata' not in top:
        return None
    domain = _domain(top, state)
    _add_metadata(domain, top['metadata'])
    if domain.nova_element is None and domain.ndm_element is None:
        return None
    return domain

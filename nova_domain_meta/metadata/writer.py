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

"""Read, compare and write our metadata elements on a libvirt domain.

Every write updates the persistent definition, and the live domain too
when it runs, so neither a soft reboot nor a restart of the guest brings
old metadata back.  A write happens only when what libvirt holds differs
from what it should hold: one ``virDomainSetMetadata`` per stale element.

libvirt's metadata calls work on the element *without* its namespace:
``virDomainGetMetadata`` returns it stripped, and ``virDomainSetMetadata``
takes it stripped together with a prefix and the namespace URI, which
libvirt then applies to every element (a namespaced element whose prefix
is the key is refused with "failed to create a new XML namespace").
Comparisons are therefore made on local names.
"""

import importlib
import os

from lxml import etree
from nova.virt.libvirt import host as libvirt_host

from nova_domain_meta import metadata
from nova_domain_meta.metadata import domain_meta

_BLANK_PARSER = etree.XMLParser(remove_blank_text=True)

#: The namespaces this plugin keeps current, in write order.
NAMESPACES = (metadata.NOVA_NS, metadata.DOMAIN_META_NS)

# libvirt's code for "no such metadata"; spelled out because Nova's fake
# libvirt does not define it.
VIR_ERR_NO_DOMAIN_METADATA = 80


def libvirt_module():
    """Return the libvirt module Nova's driver uses.

    Nova imports libvirt in its host module and its test fixtures replace
    it there with a fake; going through the same name keeps our error
    handling right in both worlds.
    """
    return libvirt_host.libvirt or importlib.import_module('libvirt')


def plain_xml(element):
    """Return the element as libvirt's metadata calls want it: no namespace.

    ``element`` is one of our metadata objects or an lxml element.
    """
    node = element.format_dom() if hasattr(element, 'format_dom') else \
        element
    for child in node.iter():
        if isinstance(child.tag, str):
            child.tag = etree.QName(child).localname
    etree.cleanup_namespaces(node)
    return etree.tostring(node, encoding='unicode')


def _shape(node):
    """Return a comparable form of an element, blind to namespaces/layout."""
    return (etree.QName(node).localname, tuple(sorted(node.attrib.items())),
            (node.text or '').strip(),
            tuple(_shape(child) for child in node
                  if isinstance(child.tag, str)))


def canonical(xml):
    """Return ``xml`` re-serialised without layout whitespace, or None."""
    if xml is None:
        return None
    try:
        return etree.tostring(etree.fromstring(xml, _BLANK_PARSER))
    except etree.XMLSyntaxError:
        return b''


def same_element(xml_a, xml_b):
    """Return True when two element strings hold the same metadata.

    Both are expected in libvirt's namespace-less form (:func:`plain_xml`).
    """
    return canonical(xml_a) == canonical(xml_b)


def read(domain, namespace, live):
    """Return the element of ``namespace`` libvirt holds, or None."""
    libvirt = libvirt_module()
    flags = libvirt.VIR_DOMAIN_AFFECT_LIVE if live else \
        libvirt.VIR_DOMAIN_AFFECT_CONFIG
    try:
        return domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                               namespace, flags)
    except libvirt.libvirtError as e:
        if e.get_error_code() == VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise


def write(domain, element, live):
    """Write ``element`` to the persistent definition, and live if asked."""
    libvirt = libvirt_module()
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                       plain_xml(element), element.ns_prefix, element.ns_uri,
                       flags)


def read_all(domain, namespaces=NAMESPACES):
    """Return ``({(namespace, scope): xml}, active)`` for a domain.

    ``live`` is read only from a running domain.
    """
    active = bool(domain.isActive())
    held = {}
    for namespace in namespaces:
        held[(namespace, 'config')] = read(domain, namespace, False)
        if active:
            held[(namespace, 'live')] = read(domain, namespace, True)
    return held, active


def stale(elements, held):
    """Return ``[(element, scopes, old_xml)]`` for elements that differ.

    ``held`` is what :func:`read_all` returned; ``scopes`` lists which of
    ``config``/``live`` hold something else.
    """
    found = []
    for element in elements:
        wanted = canonical(plain_xml(element))
        scopes = [scope for scope in ('config', 'live')
                  if (element.ns_uri, scope) in held and
                  canonical(held[(element.ns_uri, scope)]) != wanted]
        if scopes:
            found.append((element, scopes,
                          held[(element.ns_uri, scopes[0])]))
    return found


def sync(domain, elements):
    """Bring the domain's metadata in line with ``elements``.

    Returns the list of ``(namespace, scopes)`` written, where scopes names
    which of ``live``/``config`` were stale; empty when nothing changed.
    """
    held, active = read_all(domain, [e.ns_uri for e in elements])
    written = []
    for element, scopes, _old in stale(elements, held):
        write(domain, element, live=active)
        written.append((element.ns_uri, scopes))
    return written


def changed_parts(old_xml, new_xml):
    """Return the local names of top-level children that differ.

    Used to tell an operator *why* an element was rewritten, e.g.
    ``['name', 'ports']``.
    """
    if old_xml is None:
        return ['(missing)']
    old = etree.fromstring(old_xml, _BLANK_PARSER)
    new = etree.fromstring(new_xml, _BLANK_PARSER)
    parts = []
    if sorted(old.attrib.items()) != sorted(new.attrib.items()):
        parts.append('@attributes')
    old_children = {etree.QName(c).localname: _shape(c) for c in old
                    if isinstance(c.tag, str)}
    for child in new:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if old_children.pop(name, None) != _shape(child):
            parts.append(name)
    parts.extend(sorted(old_children))
    return parts


def domain_root(domain_xml):
    """Return a domain XML as an lxml element, parsing it if needed."""
    if isinstance(domain_xml, (str, bytes)):
        return etree.fromstring(domain_xml)
    return domain_xml


def hardware_record(domain_xml):
    """Return the ``<ndm:hardware>`` record a domain XML carries, or None.

    The record describes how the definition itself was made, not the
    instance, so a refresh keeps it as it is.
    """
    path = './metadata/{%(ns)s}instance/{%(ns)s}hardware' % {
        'ns': metadata.DOMAIN_META_NS}
    node = domain_root(domain_xml).find(path)
    if node is None:
        return None
    record = domain_meta.DomainMetaHardware()
    record.parse_dom(node)
    return record


def disk_mapping(domain_xml):
    """Return the guest's disks in the shape of Nova's disk mapping.

    ``{name: {'dev': ..., 'bus': ..., 'type': ...}}``, where ``name`` is the
    local disk's file name (``disk``, ``disk.config``, ...) or
    ``/dev/<dev>`` for a volume, read from the domain XML libvirt holds.
    """
    mapping = {}
    for disk in domain_root(domain_xml).iterfind('./devices/disk'):
        target = disk.find('target')
        if target is None or not target.get('dev'):
            continue
        dev = target.get('dev')
        source = disk.find('source')
        path = source.get('file') if source is not None else None
        name = os.path.basename(path) if disk.get('type') == 'file' and \
            path else '/dev/' + dev
        mapping[name] = {'dev': dev, 'bus': target.get('bus'),
                         'type': disk.get('device', 'disk')}
    return mapping

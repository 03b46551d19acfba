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

"""The shortcuts of ``list`` read exactly what the full parse reads.

``list`` parses only the head and ``<metadata>`` of each domain's XML
(:func:`nova_domain_meta.cmd.domain.domain_from_xml`) and reads the facts
it shows straight from the elements (:mod:`nova_domain_meta.cmd.facts`).
These tests compare both with the plain way (the whole XML parsed, both
elements read by the full readers) over every fixture, as libvirt returns
it and as written, and over systematic damage to the metadata.
"""

import copy

import libvirt
from lxml import etree

from nova_domain_meta.cmd import connection
from nova_domain_meta.cmd import domain as domain_mod
from nova_domain_meta.cmd import facts
from tests.unit import cmd as base


def _summary(domain):
    """What a Domain says, in comparable values."""
    def xml(element):
        return None if element is None else etree.tostring(element)
    return (domain.name, domain.uuid, domain.state, domain.kind,
            domain.nova_namespace, xml(domain.nova_element),
            xml(domain.ndm_element), domain.problems)


def _full(text, state=None):
    """The Domain of the whole XML parsed (bytes skip the shortcut)."""
    return domain_mod.domain_from_xml(text.encode('utf-8'), state)


def _facts_from_readers(domain):
    """The facts ``list`` shows, as the full readers give them."""
    text = facts.text
    nova, ndm = domain.nova, domain.ndm
    flavor = owner = ports = None
    if nova is not None:
        flavor, owner, ports = nova.flavor, nova.owner, nova.ports
    fixed, floating = [], []
    for port in ports.ports if ports is not None else []:
        for ip in port.ips:
            (floating if ip.ip_type == 'floating' else fixed).append(
                ip.address)
    root = None
    if nova is not None and nova.roottype:
        root_id = text(nova.rootid)
        if root_id is None and nova.roottype == 'volume' and ndm:
            root_id = next((d.volume_id for d in ndm.block_devices
                            if d.boot_index == 0 and d.volume_id), None)
        root = {'type': nova.roottype, 'id': root_id}
    return (
        text(nova.name) if nova is not None else None,
        (text(flavor.name), text(flavor.id)) if flavor else (None, None),
        (text(owner.projectname), text(owner.projectid),
         text(owner.username), text(owner.userid)) if owner
        else (None,) * 4,
        (fixed, floating), root,
        [s.tag for s in ndm.shares] or None if ndm is not None else None)


def _facts(domain):
    return (facts.display_name(domain), facts.flavor(domain),
            facts.owner(domain), facts.addresses(domain),
            facts.root(domain), facts.power_metrics_share(domain))


def _damaged(name):
    """Fixture ``name`` with its metadata damaged in every simple way."""
    variants = []
    original = base.fixture_doc(name)

    def variant(change):
        doc = copy.deepcopy(original)
        change(doc)
        variants.append(etree.tostring(doc, encoding='unicode'))

    def instances(doc):
        return [e for e in doc.iterfind('metadata/*')
                if etree.QName(e).localname == 'instance']

    for index, element in enumerate(instances(original)):
        for child in range(len(element)):
            # Each child of each element removed, then doubled.
            variant(lambda d, i=index, c=child:
                    instances(d)[i].remove(instances(d)[i][c]))
            variant(lambda d, i=index, c=child: instances(d)[i].insert(
                0, copy.deepcopy(instances(d)[i][c])))

    def empty_attributes(doc):
        for element in doc.iterfind('metadata//*'):
            for key in element.attrib:
                element.set(key, '')

    def empty_texts(doc):
        for element in doc.iterfind('metadata//*'):
            if element.text is not None:
                element.text = ''

    def shares(doc):
        for element in instances(doc):
            etree.SubElement(element, '{%s}share' % base.NS['ndm'],
                             tag='scaphandre')
            etree.SubElement(element, '{%s}share' % base.NS['ndm'])

    variant(empty_attributes)
    variant(empty_texts)
    variant(shares)
    for index in BOOT_INDEXES:
        variants.append(_with_boot_index(name, index))
    return variants


#: bootIndex values of a boot volume, and the volume found for each.
BOOT_INDEXES = {' 0': 'vol-0', '00': 'vol-00', '0': 'vol-0', 'first': None,
                '1': None, '': None}


def _with_boot_index(name, index):
    """Fixture ``name`` booted from a volume Nova left unnamed.

    Every block device says ``bootIndex=index`` and names volume
    ``vol-<index>``.
    """
    doc = base.fixture_doc(name)
    for element in doc.iterfind('metadata//*'):
        if etree.QName(element).localname == 'root':
            element.set('type', 'volume')
            element.set('uuid', '')
        if etree.QName(element).localname == 'blockDevice':
            element.set('bootIndex', index)
            element.set('volume', 'vol-' + index.strip())
    return etree.tostring(doc, encoding='unicode')


class TestMetadataOnlyParse(base.CLITestCase):
    """Parsing head and metadata gives the Domain the whole XML gives."""

    def test_every_fixture_as_libvirt_returns_it(self):
        uri = self.node(*base.ALL)
        conn = connection.open_connection(uri)
        self.addCleanup(conn.close)
        shortcut = 0
        for dom in conn.listAllDomains(0):
            text = dom.XMLDesc(0)
            state = dom.state()[0]
            if domain_mod._from_head_and_metadata(text, state) is not None:
                shortcut += 1
            self.assertEqual(_summary(_full(text, state)),
                             _summary(domain_mod.domain_from_xml(
                                 text, state)), dom.name())
        # Every domain with Nova's or our element takes the shortcut;
        # the other two (no metadata, not Nova's) need their SMBIOS.
        self.assertEqual(len(base.ALL) - 2, shortcut)

    def test_every_fixture_and_its_damage_as_written(self):
        for name in base.ALL:
            for text in [base.fixture_xml(name)] + _damaged(name):
                self.assertEqual(_summary(_full(text)),
                                 _summary(domain_mod.domain_from_xml(text)),
                                 name)

    def _metadata_variant(self, metadata_xml):
        """ours-image with its metadata element replaced, as text."""
        text = base.fixture_xml('ours-image')
        start = text.index('\n  <metadata>') + 3
        end = text.index('\n  </metadata>') + len('\n  </metadata>')
        return text[:start] + metadata_xml + text[end:]

    def test_a_false_end_never_cuts_the_metadata_short(self):
        ours = etree.tostring(base.fixture_doc('ours-image').find(
            'metadata/{%s}instance' % base.NS['ndm']), encoding='unicode')
        for trap in (
                '<!-- \n  </metadata> -->',
                '<app:x xmlns:app="urn:app"><![CDATA[\n  </metadata>]]>'
                '</app:x>',
                '<?app \n  </metadata> ?>',
                '<app:x xmlns:app="urn:app">\n  <metadata>\n  </metadata>'
                '</app:x>',
                '<app:x xmlns:app="urn:app"><metadata xmlns="urn:b">t\n'
                '  </metadata></app:x>'):
            text = self._metadata_variant(
                '<metadata>\n    %s\n    %s\n  </metadata>' % (trap, ours))
            domain = domain_mod.domain_from_xml(text)
            self.assertEqual(_summary(_full(text)), _summary(domain), trap)
            self.assertIsNotNone(domain.ndm_element, trap)

    def test_domains_without_our_elements_read_their_smbios(self):
        other_app = self._metadata_variant(
            '<metadata>\n    <app:x xmlns:app="urn:app"/>\n  </metadata>')
        for text, kind in (
                (other_app, domain_mod.KIND_NOVA_NO_METADATA),
                (base.fixture_xml('stock-nometa'),
                 domain_mod.KIND_NOVA_NO_METADATA),
                (base.fixture_xml('nonnova'), domain_mod.KIND_NON_NOVA)):
            self.assertIsNone(
                domain_mod._from_head_and_metadata(text, None))
            domain = domain_mod.domain_from_xml(text)
            self.assertEqual(kind, domain.kind)
            self.assertIsNotNone(domain.openstack_sysinfo)

    def test_xml_not_laid_out_by_libvirt_is_parsed_whole(self):
        text = etree.tostring(base.fixture_doc('ours-image'),
                              encoding='unicode')
        flat = text.replace('\n  <', '<')
        self.assertIsNone(domain_mod._from_head_and_metadata(flat, None))
        self.assertEqual(_summary(_full(flat)),
                         _summary(domain_mod.domain_from_xml(flat)))

    def test_broken_head_or_metadata_is_still_an_error(self):
        # What lies after the metadata is not read, nor checked.
        text = base.fixture_xml('ours-image')
        for broken in (text.replace('</uuid>', '</uid>', 1),
                       text.replace('</nova:name>', '', 1),
                       text[:text.index('</ndm:instance>')]):
            self.assertRaises(etree.XMLSyntaxError,
                              domain_mod.domain_from_xml, broken)


class TestListFacts(base.CLITestCase):
    """The facts ``list`` shows agree with the full readers."""

    def test_every_fixture_and_its_damage(self):
        compared = 0
        for name in base.ALL:
            for text in [base.fixture_xml(name)] + _damaged(name):
                domain = domain_mod.domain_from_xml(text)
                self.assertEqual(_facts_from_readers(domain),
                                 _facts(domain), name)
                compared += 1
        self.assertGreater(compared, 200)

    def test_boot_volume_found_as_the_readers_find_it(self):
        # int() reads ' 0', '00' and '0' as 0: the readers' rule.
        for index, volume in BOOT_INDEXES.items():
            domain = domain_mod.domain_from_xml(
                _with_boot_index('ours-bfv', index))
            self.assertEqual({'type': 'volume', 'id': volume},
                             facts.root(domain), repr(index))

    def test_every_domain_libvirt_returns(self):
        uri = self.node(*base.ALL)
        conn = libvirt.openReadOnly(uri)
        self.addCleanup(conn.close)
        for dom in conn.listAllDomains(0):
            domain = domain_mod.domain_from_xml(dom.XMLDesc(0))
            self.assertEqual(_facts_from_readers(domain), _facts(domain),
                             dom.name())

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

"""Every metadata class formats and parses back to the same object."""

import calendar
import glob
import os
import time

from lxml import etree

from nova_domain_meta import metadata
from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import domain_meta
from nova_domain_meta.metadata import nova_instance
from nova_domain_meta.metadata import readers
from tests.unit import base
from tests.unit.metadata import fakes


def _round_trip(obj, klass):
    parsed = klass()
    parsed.parse_dom(etree.fromstring(obj.to_xml()))
    return parsed


class TestNovaInstanceRoundTrip(base.TestCase):

    def setUp(self):
        super().setUp()
        inst = fakes.instance(image_properties={'os_distro': 'debian'},
                              extra_specs={'hw:cpu_policy': 'shared'})
        self.meta = builder.build_nova_instance(fakes.driver_metadata(inst),
                                                fakes.LIMITS)

    def test_instance_round_trips(self):
        parsed = _round_trip(self.meta, nova_instance.NovaInstance)
        self.assertEqual(self.meta.to_xml(), parsed.to_xml())
        self.assertEqual('web-1', parsed.name)
        self.assertEqual(fakes.CREATED.timestamp(), parsed.creationTime)

    def test_each_child_round_trips(self):
        for obj, klass in ((self.meta.flavor, nova_instance.NovaFlavor),
                           (self.meta.image, nova_instance.NovaImage),
                           (self.meta.owner, nova_instance.NovaOwner),
                           (self.meta.ports, nova_instance.NovaPorts),
                           (self.meta.ports.ports[0], nova_instance.NovaPort),
                           (self.meta.ports.ports[0].ips[2],
                            nova_instance.NovaIp)):
            self.assertEqual(obj.to_xml(), _round_trip(obj, klass).to_xml(),
                             klass.__name__)

    def test_parsed_values_are_typed(self):
        parsed = _round_trip(self.meta, nova_instance.NovaInstance)
        self.assertEqual(2048, parsed.flavor.memory)
        self.assertEqual({'hw:cpu_policy': 'shared'},
                         parsed.flavor.extra_specs)
        self.assertEqual(1, parsed.image.image_meta.min_disk)
        self.assertEqual([('fixed', '192.168.1.30', 4),
                          ('fixed', 'fd37:44e8:ad06::30', 6),
                          ('floating', '203.0.113.17', 4)],
                         [(ip.ip_type, ip.address, ip.ip_version)
                          for ip in parsed.ports.ports[0].ips])

    def test_reads_the_1_0_namespace(self):
        xml = self.meta.to_xml().replace(metadata.NOVA_NS,
                                         metadata.NOVA_NS_1_0)
        parsed = nova_instance.NovaInstance()
        parsed.parse_dom(etree.fromstring(xml))
        self.assertEqual('web-1', parsed.name)
        self.assertEqual('m1.small', parsed.flavor.name)
        self.assertEqual(metadata.NOVA_NS_1_0, parsed.ns_uri)

    def test_rejects_another_element(self):
        other = etree.fromstring('<instance xmlns="urn:other"/>')
        self.assertRaises(readers.InvalidElement,
                          nova_instance.NovaInstance().parse_dom, other)


class TestDomainMetaRoundTrip(base.TestCase):

    def setUp(self):
        super().setUp()
        inst = fakes.instance(image_properties={'os_distro': 'debian'},
                              tags=['prod', 'db'])
        self.meta = fakes.domain_meta(inst)

    def test_instance_round_trips(self):
        parsed = _round_trip(self.meta, domain_meta.DomainMetaInstance)
        self.assertEqual(self.meta, parsed)
        self.assertEqual('compute-7', parsed.host)
        self.assertEqual(['db', 'prod'], [t.value for t in parsed.tags])

    def test_each_child_round_trips(self):
        for obj in ([self.meta.image] + self.meta.image.properties +
                    self.meta.block_devices + self.meta.ports +
                    self.meta.tags):
            self.assertEqual(obj, _round_trip(obj, type(obj)),
                             type(obj).__name__)

    def test_typed_attributes_parse_back(self):
        parsed = _round_trip(self.meta, domain_meta.DomainMetaInstance)
        data = parsed.block_devices[1]
        self.assertEqual((5, False, None), (data.size,
                                            data.delete_on_termination,
                                            data.boot_index))
        self.assertEqual(0, parsed.block_devices[0].boot_index)
        self.assertEqual(1450, parsed.ports[0].mtu)

    def test_truncation_marks_round_trip(self):
        limits = builder.Limits(max_value_length=64, max_items=1)
        inst = fakes.instance(image_properties={'a': 'x' * 100, 'b': '1'},
                              tags=['one', 'two'])
        meta = fakes.domain_meta(inst, limits=limits)
        parsed = _round_trip(meta, domain_meta.DomainMetaInstance)
        self.assertTrue(parsed.image.properties_truncated)
        self.assertTrue(parsed.tags_truncated)
        node = etree.fromstring(meta.to_xml())
        prop = node.find('.//{%s}property' % metadata.DOMAIN_META_NS)
        self.assertEqual('true', prop.get('truncated'))
        self.assertEqual(64, len(prop.text))

    def test_markup_and_whitespace_in_values_read_back_unchanged(self):
        tricky = 'a & b <c> "d" \'e\' ]]> \t\r\n\r f &amp;'
        meta = domain_meta.DomainMetaInstance(
            uuid=tricky, hostname=tricky, host='', key_name='\r\n',
            image=domain_meta.DomainMetaImage(
                name=tricky, properties=[
                    domain_meta.DomainMetaProperty(tricky, tricky),
                    domain_meta.DomainMetaProperty('empty', '')]),
            ports=[domain_meta.DomainMetaPort(network_name=tricky)],
            tags=[domain_meta.DomainMetaTag(tricky)])
        parsed = _round_trip(meta, domain_meta.DomainMetaInstance)
        self.assertEqual(meta, parsed)
        self.assertEqual(
            (tricky, tricky, '', '\r\n', tricky, tricky, tricky, '', tricky,
             tricky),
            (parsed.uuid, parsed.hostname, parsed.host, parsed.key_name,
             parsed.image.name, parsed.image.properties[0].name,
             parsed.image.properties[0].value,
             parsed.image.properties[1].value,
             parsed.ports[0].network_name, parsed.tags[0].value))

    def test_empty_and_missing_text_are_told_apart(self):
        # lxml writes an empty text as <a></a> and no text as <a/>; the
        # domain XML keeps the difference, as when lxml made each element.
        meta = domain_meta.DomainMetaImage(properties=[
            domain_meta.DomainMetaProperty('empty', ''),
            domain_meta.DomainMetaProperty('none', None)])
        xml = meta.to_xml(pretty_print=False)
        self.assertIn('<ndm:property name="empty"></ndm:property>', xml)
        self.assertIn('<ndm:property name="none"/>', xml)

    def test_rejects_nova_element(self):
        self.assertRaises(
            readers.InvalidElement, domain_meta.DomainMetaInstance().parse_dom,
            etree.fromstring('<i:instance xmlns:i="%s"/>' %
                             metadata.NOVA_NS))


class TestReadModel(base.TestCase):

    def test_nova_namespace_is_novas(self):
        from nova.virt.libvirt import config as nova_config
        self.assertEqual(nova_config.NOVA_NS, metadata.NOVA_NS)

    def test_readers_parse_what_the_write_model_formats(self):
        inst = fakes.instance(image_properties={'os_distro': 'debian'},
                              tags=['prod'])
        ndm = fakes.domain_meta(inst)
        reader = readers.DomainMetaInstanceReader()
        reader.parse_dom(etree.fromstring(ndm.to_xml()))
        full = domain_meta.DomainMetaInstance()
        full.parse_dom(etree.fromstring(ndm.to_xml()))
        for attr in ('uuid', 'host', 'hostname', 'plugin_version'):
            self.assertEqual(getattr(full, attr), getattr(reader, attr))
        self.assertEqual([(p.name, p.value) for p in full.image.properties],
                         [(p.name, p.value)
                          for p in reader.image.properties])
        self.assertEqual([d.volume_id for d in full.block_devices],
                         [d.volume_id for d in reader.block_devices])
        nova = builder.build_nova_instance(fakes.driver_metadata(inst),
                                           fakes.LIMITS)
        nova_reader = readers.NovaInstanceReader()
        nova_reader.parse_dom(etree.fromstring(nova.to_xml()))
        self.assertEqual(('web-1', 'm1.small', 3),
                         (nova_reader.name, nova_reader.flavor.name,
                          len(nova_reader.ports.ports[0].ips)))

    def test_read_model_imports_no_nova(self):
        # What keeps the nova-domain-meta command fast to start.
        import subprocess
        import sys
        code = ('import sys; import nova_domain_meta.metadata.readers; '
                'print(sorted(m for m in sys.modules '
                'if m.startswith("nova.virt") or m == "nova.objects"))')
        out = subprocess.run([sys.executable, '-c', code],
                             stdout=subprocess.PIPE, check=True,
                             universal_newlines=True).stdout
        self.assertEqual('[]', out.strip())


class TestReaderShortcuts(base.TestCase):
    """The readers' faster lookups give what the plain ones would."""

    def test_children_index_finds_what_find_finds(self):
        # Every element of every CLI fixture, every name a child has (and
        # one none has), in both Nova namespaces and ours: the first
        # match, or None, like lxml's find().
        data = os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), 'cmd', 'data')
        namespaces = (metadata.NOVA_NS, metadata.NOVA_NS_1_0,
                      metadata.DOMAIN_META_NS)
        checked = 0
        for path in sorted(glob.glob(os.path.join(data, '*.xml'))):
            for element in etree.parse(path).iter(etree.Element):
                names = {etree.QName(c).localname
                         for c in element.iterchildren(etree.Element)}
                for ns in namespaces:
                    index = readers._Children(element, ns)
                    for name in names | {'nothing-has-this'}:
                        self.assertIs(element.find('{%s}%s' % (ns, name)),
                                      index.get(name))
                        checked += 1
        self.assertGreater(checked, 1000)

    def test_child_lookups_match_find_and_findall(self):
        xml = ('<n:a xmlns:n="%s" xmlns:o="urn:other"><!-- c -->'
               '<n:b>1</n:b><o:b>x</o:b><n:c/><n:b>2</n:b><n:d><n:b/></n:d>'
               '</n:a>' % metadata.NOVA_NS)
        element = etree.fromstring(xml)
        reader = readers.NovaInstanceReader()
        reader.ns_uri = metadata.NOVA_NS
        for name in ('b', 'c', 'd', 'e'):
            qname = '{%s}%s' % (metadata.NOVA_NS, name)
            self.assertIs(element.find(qname), reader._child(element, name))
            self.assertIs(element.find(qname),
                          reader._index(element).get(name))
            self.assertEqual(element.findall(qname),
                             reader._children(element, name))

    def test_creation_time_as_strptime_reads_it(self):
        def reference(text):
            try:
                return calendar.timegm(time.strptime(
                    text.strip(), '%Y-%m-%d %H:%M:%S'))
            except ValueError:
                return None

        for text in ('2025-05-01 10:11:12', ' 2025-05-01 10:11:12\n',
                     '2024-02-29 23:59:59', '2023-02-29 00:00:00',
                     '2025-04-31 00:00:00', '2025-13-01 00:00:00',
                     '2025-00-10 00:00:00', '2025-01-00 00:00:00',
                     '2025-01-01 24:00:00', '2025-01-01 23:60:00',
                     '2025-01-01 23:59:60', '2025-01-01 23:59:61',
                     '2025-01-01 23:59:62', '0000-01-01 00:00:00',
                     '0001-01-01 00:00:00', '9999-12-31 23:59:59',
                     '2025-1-5 3:04:05', '2025-01-05  03:04:05',
                     '2025-01-05T03:04:05', '2025-01-05 03:04:05Z',
                     '2025-01-05', 'yesterday', '1970-01-01 00:00:00',
                     '\u0662\u0660\u0662\u0665-01-05 03:04:05'):
            self.assertEqual(reference(text), readers._timestamp(text),
                             repr(text))

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

"""Property-based tests: no user input can break the domain XML.

Names, image properties, extra specs and tags are generated from the whole
of Unicode (control characters, lone surrogates, non-characters), at
lengths well past the bounds, and in large numbers.  Whatever comes in,
both elements must serialise, parse and validate against our schemas and,
inside a domain, against libvirt's own domain schema, and stay within the
configured bounds.

:class:`TestHostileValuesVolume` pushes at least :data:`MIN_VALUES` values
through the builders in every run and reports how many, and how many XML
documents it validated, on the test's ``fuzz-counts`` detail and on
stderr (``NDM_FUZZ_EXAMPLES`` changes the number of examples).
"""

import collections
import os
import sys

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree
from testtools import content

from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import schema
from tests import libvirt_checks
from tests.unit import base
from tests.unit.metadata import fakes

LIMITS = builder.Limits(max_value_length=200, max_items=40)

# Any code point, surrogates included; short and very long strings.
any_text = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10ffff,
                          categories=None), max_size=40),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x2000),
            min_size=190, max_size=600),
)
names = st.text(min_size=1, max_size=30)
mapping = st.dictionaries(names, any_text, max_size=60)
# For the volume test: many values per example, drawn from the whole of
# Unicode, cheaply (hypothesis draws dictionaries of long texts slowly):
# short texts, and texts repeated past max_value_length.
atom = st.text(st.characters(min_codepoint=0, max_codepoint=0x10ffff,
                             categories=None), max_size=24)
hostile = st.one_of(atom, atom.map(lambda text: (text or '\x00') * 25))


def _keyed(values):
    """A mapping of ``values``, each keyed by its start and its index."""
    return {'%s%d' % (value[:30], i): value for i, value in enumerate(values)}


big_mapping = st.lists(hostile, min_size=20, max_size=100).map(_keyed)

SETTINGS = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.function_scoped_fixture])

#: Hostile values every run pushes through the builders, at least.
MIN_VALUES = 10000
FUZZ_EXAMPLES = int(os.environ.get('NDM_FUZZ_EXAMPLES', '120'))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
    suppress_health_check=list(HealthCheck))


def domain_with(*elements):
    """Return a domain XML holding ``elements`` in its ``<metadata>``."""
    domain = etree.fromstring(
        "<domain type='kvm'><name>instance-00000001</name>"
        "<uuid>%s</uuid><memory>524288</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
        "<devices/></domain>" % fakes.INSTANCE_UUID)
    meta = etree.SubElement(domain, 'metadata')
    for element in elements:
        meta.append(element.format_dom())
    return etree.tostring(domain, encoding='unicode')


class TestAnyInput(base.TestCase):

    def _check(self, xml):
        root = etree.fromstring(xml.encode('utf-8'))
        self.assertEqual([], schema.element_errors(root))
        for node in root.iter():
            self.assertLessEqual(len(node.text or ''),
                                 LIMITS.max_value_length)
            for value in node.attrib.values():
                self.assertLessEqual(len(value), LIMITS.max_value_length)
        return root

    @SETTINGS
    @given(name=any_text, props=mapping, specs=mapping,
           tags=st.lists(any_text, max_size=60))
    def test_both_elements_always_validate(self, name, props, specs, tags):
        inst = fakes.instance(name=name, image_properties=props,
                              extra_specs=specs, tags=tags)
        nova = self._check(builder.build_nova_instance(
            fakes.driver_metadata(inst), LIMITS).to_xml())
        ndm = self._check(fakes.domain_meta(inst, limits=LIMITS).to_xml())
        self.assertLessEqual(
            len(nova.findall('.//{*}extraSpec')), LIMITS.max_items)
        self.assertLessEqual(len(ndm.findall('.//{*}property')),
                             LIMITS.max_items)
        self.assertLessEqual(len(ndm.findall('.//{*}tag')), LIMITS.max_items)

    @SETTINGS
    @given(props=mapping)
    def test_kept_values_are_prefixes_of_the_originals(self, props):
        inst = fakes.instance(image_properties=props)
        meta = fakes.domain_meta(inst, limits=LIMITS)
        for prop in meta.image.properties:
            original = props.get(prop.name)
            if original is None or '\ufffd' in prop.value or \
                    '\ufffd' in prop.name:
                continue
            self.assertTrue(original.startswith(prop.value))


class TestHostileValuesVolume(base.TestCase):
    """Thousands of hostile values per run, every document valid."""

    def _push(self, counts, name, props, specs, tags):
        inst = fakes.instance(name=name, image_properties=props,
                              extra_specs=specs, tags=tags)
        nova = builder.build_nova_instance(fakes.driver_metadata(inst),
                                           LIMITS)
        ndm = fakes.domain_meta(inst, limits=LIMITS)
        domain = domain_with(nova, ndm)
        self.assertEqual([], libvirt_checks.libvirt_schema_errors(domain))
        counts['domain documents valid against libvirt\'s schema'] += 1
        self.assertEqual({}, schema.domain_metadata_errors(domain))
        counts['elements valid against our schemas'] += 2
        root = etree.fromstring(domain)
        for node in root.iterfind('./metadata//*'):
            self.assertLessEqual(len(node.text or ''),
                                 LIMITS.max_value_length)
        counts['values'] += (1 + 2 * len(props) + 2 * len(specs) +
                             len(tags))
        counts['examples'] += 1

    def test_hostile_values_always_give_valid_xml(self):
        counts = collections.Counter()

        @FUZZ_SETTINGS
        @given(name=hostile, props=big_mapping, specs=big_mapping,
               tags=st.lists(hostile, min_size=5, max_size=80))
        def push(name, props, specs, tags):
            self._push(counts, name, props, specs, tags)

        push()
        report = ('fuzz: %d hostile values (names, property and extra spec '
                  'keys and values, tags) in %d examples; %d domain XML '
                  'documents valid against libvirt\'s domain schema, %d '
                  'metadata elements valid against ours, 0 failures' % (
                      counts['values'], counts['examples'],
                      counts['domain documents valid against libvirt\'s '
                             'schema'],
                      counts['elements valid against our schemas']))
        self.addDetail('fuzz-counts', content.text_content(report))
        sys.__stderr__.write(report + '\n')
        self.assertEqual(
            counts['examples'],
            counts['domain documents valid against libvirt\'s schema'])
        self.assertGreaterEqual(counts['values'], MIN_VALUES)

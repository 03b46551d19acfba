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
both elements must serialise, parse and validate against our schemas, and
stay within the configured bounds.
"""

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree

from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import schema
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

SETTINGS = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.function_scoped_fixture])


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

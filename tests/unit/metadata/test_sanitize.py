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

"""Tests for making user-supplied values XML-safe."""

from lxml import etree
import testtools

from nova_domain_meta.metadata import sanitize


class TestClean(testtools.TestCase):

    def test_plain_text_is_unchanged(self):
        cleaned = sanitize.clean('web-1 <prod> & "db"', 100)
        self.assertEqual('web-1 <prod> & "db"', cleaned)
        self.assertFalse(sanitize.any_altered(cleaned))

    def test_a_value_at_the_bound_is_not_marked(self):
        cleaned = sanitize.clean('x' * 10, 10)
        self.assertEqual('x' * 10, cleaned)
        self.assertFalse(sanitize.any_altered(cleaned))

    def test_none_stays_none(self):
        self.assertIsNone(sanitize.clean(None, 10))

    def test_control_characters_become_replacement(self):
        cleaned = sanitize.clean('a\x00b\x01c\x1fd\ttab', 100)
        self.assertEqual('a\ufffdb\ufffdc\ufffdd\ttab', cleaned)
        self.assertTrue(cleaned.replaced)
        self.assertFalse(cleaned.truncated)

    def test_lone_surrogates_and_nonchars_become_replacement(self):
        cleaned = sanitize.clean('x\udcff\ud800y\ufffe\uffffz', 100)
        self.assertEqual('x\ufffd\ufffdy\ufffd\ufffdz', cleaned)

    def test_astral_characters_are_kept(self):
        self.assertEqual('\U0001f600', sanitize.clean('\U0001f600', 10))

    def test_long_values_are_cut_and_marked(self):
        cleaned = sanitize.clean('x' * 5000, 1024)
        self.assertEqual(1024, len(cleaned))
        self.assertTrue(cleaned.truncated)

    def test_non_strings_are_converted(self):
        self.assertEqual('42', sanitize.clean(42, 10))

    def test_cleaned_values_serialise(self):
        node = etree.Element('v')
        node.text = sanitize.clean(''.join(map(chr, range(0, 64))), 1000)
        node.set('a', sanitize.clean('\x0b\x0c', 10))
        self.assertIn(b'\xef\xbf\xbd', etree.tostring(node,
                                                      encoding='utf-8'))

    def test_mapping_is_sorted_and_bounded(self):
        items, truncated = sanitize.clean_mapping(
            {'b': '2', 'a': '1', 'c': '3'}, 100, 2)
        self.assertEqual([('a', '1'), ('b', '2')], items)
        self.assertTrue(truncated)

    def test_list_is_sorted_and_bounded(self):
        items, truncated = sanitize.clean_list(['z', 'y'], 100, 5)
        self.assertEqual(['y', 'z'], items)
        self.assertFalse(truncated)

    def test_mapping_with_a_bad_key_or_value_is_cleaned_item_by_item(self):
        items, _ = sanitize.clean_mapping(
            {'ok': 'fine', 'b\x00d': 'v', 'k': 'x' * 20, 'n': None}, 10, 10)
        self.assertEqual([('b\ufffdd', 'v'), ('k', 'x' * 10), ('n', None),
                          ('ok', 'fine')], items)
        self.assertTrue(items[0][0].replaced)
        self.assertTrue(items[1][1].truncated)
        self.assertFalse(sanitize.any_altered(*items[3]))

    def test_mapping_values_that_are_not_strings_are_converted(self):
        items, _ = sanitize.clean_mapping({'a': True, 'b': 3}, 10, 10)
        self.assertEqual([('a', 'True'), ('b', '3')], items)

    def test_plain_mapping_comes_back_as_it_was(self):
        specs = {'hw:cpu_policy': 'dedicated', 'note': 'tab\tand\nline'}
        items, truncated = sanitize.clean_mapping(specs, 20, 10)
        self.assertEqual(sorted(specs.items()), items)
        self.assertFalse(truncated)
        self.assertFalse(any(sanitize.any_altered(*item) for item in items))

    def test_a_long_mapping_of_short_values_is_not_cut(self):
        specs = {'key%02d' % i: 'value' for i in range(40)}
        items, truncated = sanitize.clean_mapping(specs, 64, 100)
        self.assertEqual(sorted(specs.items()), items)
        self.assertFalse(truncated)

    def test_list_with_a_bad_value_is_cleaned_item_by_item(self):
        items, _ = sanitize.clean_list(['ok', 'b\x07d'], 10, 5)
        self.assertEqual(['b\ufffdd', 'ok'], items)
        self.assertTrue(sanitize.any_altered(*items))

    def test_printable_characters_are_all_ones_xml_can_hold(self):
        # The fast path's premise, for every code point there is.
        for code in range(0x110000):
            char = chr(code)
            if char.isprintable():
                self.assertIsNone(sanitize._INVALID_XML_CHARS.search(char),
                                  hex(code))

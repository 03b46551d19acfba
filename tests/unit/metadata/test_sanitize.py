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

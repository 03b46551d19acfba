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

"""The fixtures are what the CLI tests say they are.

They are generated once by ``tools/gen_cli_fixtures.py`` and committed; a
regeneration that silently changed their nature would make the CLI tests
prove less than they claim.
"""

import glob
import os

import testtools

from nova_domain_meta import metadata
from nova_domain_meta.metadata import schema
from tests import libvirt_checks
from tests.unit import cmd as base


class TestFixtures(testtools.TestCase):

    def test_every_fixture_is_listed(self):
        names = {os.path.basename(p)[:-4]
                 for p in glob.glob(os.path.join(base.DATA_DIR, '*.xml'))}
        self.assertEqual(set(base.ALL), names)

    def test_valid_libvirt_domains(self):
        for name in base.ALL:
            self.assertEqual(
                [], libvirt_checks.libvirt_schema_errors(
                    base.fixture_xml(name)), name)

    def test_unique_names_and_uuids(self):
        for path in ('/domain/name', '/domain/uuid'):
            values = [base.value(name, path) for name in base.ALL]
            self.assertEqual(len(values), len(set(values)), path)

    def test_ours_carry_both_valid_elements(self):
        for name in base.OURS + ('ours-stale',):
            self.assertEqual({}, schema.domain_metadata_errors(
                base.fixture_doc(name)), name)

    def test_stock_carry_only_novas_element(self):
        for name in base.STOCK:
            self.assertEqual(
                {metadata.DOMAIN_META_NS: ['element missing']},
                schema.domain_metadata_errors(base.fixture_doc(name)), name)

    def test_derived_ones(self):
        self.assertTrue(base.value('stock-image-ns10', '//nova10:name'))
        self.assertFalse(base.value('stock-image-ns10', '//nova:name'))
        self.assertEqual('27.1.0-0ubuntu1',
                         base.value('ours-stale', '//nova:package/@version'))
        self.assertIsNone(base.fixture_doc('stock-nometa').find('metadata'))
        self.assertIn('OpenStack', base.value(
            'stock-nometa', "//sysinfo//entry[@name='product']"))
        self.assertIsNone(base.fixture_doc('nonnova').find('sysinfo'))

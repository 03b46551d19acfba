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

"""The schema only grows: today's output for a fixed instance is frozen.

``golden/*.xml`` hold the elements written for :func:`fixed_elements`.
Every element, attribute and value in them must still be produced at the
same place.  New elements and attributes may appear; nothing may be
renamed or removed.  After a deliberate addition, regenerate with::

    python -m tests.unit.metadata.test_compat
"""

import os
from unittest import mock

from lxml import etree

from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import schema
from tests.unit import base
from tests.unit.metadata import fakes

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), 'golden')
GOLDEN = {'nova': 'nova-instance-1.1.xml', 'ndm': 'domain-meta-1.0.xml'}


def fixed_elements():
    """Return ``{'nova': xml, 'ndm': xml}`` for a fixed, rich instance."""
    inst = fakes.instance(
        name='web-1', image_properties={'os_distro': 'debian',
                                        'hw_disk_bus': 'virtio',
                                        'custom_contract': 'gold'},
        extra_specs={'hw:cpu_policy': 'shared', 'quota:cpu_shares': '512'},
        tags=['prod'])
    with mock.patch('nova.version.version_string_with_package',
                    autospec=True, return_value='34.0.0-1'), \
            mock.patch('nova_domain_meta.version.version_string',
                       autospec=True, return_value='1.0.0'):
        return {
            'nova': builder.build_nova_instance(
                fakes.driver_metadata(inst), fakes.LIMITS).to_xml(),
            'ndm': fakes.domain_meta(inst).to_xml(),
        }


def facts(xml):
    """Return ``{(path, attribute or '#text'): value}`` for an element."""
    root = etree.fromstring(xml)
    tree = root.getroottree()
    found = {}
    for node in root.iter():
        path = tree.getpath(node)
        for name, value in node.attrib.items():
            found[(path, name)] = value
        found[(path, '#text')] = (node.text or '').strip()
    return found


class TestCompatibility(base.TestCase):

    def setUp(self):
        super().setUp()
        self.current = fixed_elements()

    def _golden(self, key):
        with open(os.path.join(GOLDEN_DIR, GOLDEN[key])) as f:
            return f.read()

    def _assert_superset(self, key):
        golden = facts(self._golden(key))
        current = facts(self.current[key])
        missing = {k: v for k, v in golden.items() if k not in current}
        changed = {k: (v, current[k]) for k, v in golden.items()
                   if k in current and current[k] != v}
        self.assertEqual({}, missing, 'elements/attributes removed')
        self.assertEqual({}, changed, 'values changed')

    def test_nova_element_only_grows(self):
        self._assert_superset('nova')

    def test_our_element_only_grows(self):
        self._assert_superset('ndm')

    def test_golden_files_are_valid(self):
        for key in GOLDEN:
            self.assertEqual([], schema.element_errors(self._golden(key)))

    def test_removing_an_attribute_is_caught(self):
        broken = etree.fromstring(self.current['nova'])
        del broken.find('.//{*}flavor').attrib['id']
        golden = facts(self._golden('nova'))
        self.assertNotEqual(set(), set(golden) - set(facts(
            etree.tostring(broken))))


if __name__ == '__main__':
    from oslo_config import cfg
    cfg.CONF([], project='nova', default_config_files=[])
    for key, text in fixed_elements().items():
        with open(os.path.join(GOLDEN_DIR, GOLDEN[key]), 'w') as f:
            f.write(text)

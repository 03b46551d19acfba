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

"""Tables never hand a terminal the control characters users wrote.

Image names and properties come from image owners, project and user names
from Keystone, display names from users; XML carries C1 controls (U+009B
starts a terminal escape sequence just like ESC [), bidirectional
overrides (U+202E shows ``exe.txt`` as ``txt.exe``), tabs and newlines.
Tables and ``value`` output show each such character escaped, as Python
writes it (``\\x9b``, ``\\u202e``, ``\\n``); JSON and YAML keep the exact
data, escaped only as their syntax requires.
"""

import argparse
import json

from lxml import etree
import yaml

from nova_domain_meta.cmd import formatting
from tests.unit import cmd as base

CSI = '\x9b'      # C1 "control sequence introducer"
RLO = '\u202e'    # right-to-left override
HOSTILE = {
    'display': 'web' + CSI + '2J' + RLO + 'gpj.exe',
    'project': 'acme' + RLO + 'dorp',
    'image': 'debian' + CSI + '31m-12',
    'property': 'line one\nline two\tand' + CSI + '0m',
    'spec': 'gold' + '\u2066' + 'x' + '\u2069',
}
NOT_PRINTABLE = (CSI, RLO, '\u2066', '\u2069', '\t')


def _hostile_domain():
    """``ours-image`` with hostile values where users put them."""
    root = base.fixture_doc('ours-image')
    nova = root.find('metadata/{%s}instance' % base.NS['nova'])
    ndm = root.find('metadata/{%s}instance' % base.NS['ndm'])
    q = '{%s}%%s' % base.NS['nova']
    nova.find(q % 'name').text = HOSTILE['display']
    nova.find('%s/%s' % (q % 'owner', q % 'project')).text = \
        HOSTILE['project']
    nova.find('.//%s' % (q % 'extraSpec')).text = HOSTILE['spec']
    image = ndm.find('{%s}image' % base.NS['ndm'])
    image.set('name', HOSTILE['image'])
    image.find('.//{%s}property' % base.NS['ndm']).text = \
        HOSTILE['property']
    return etree.tostring(root, encoding='unicode')


class TestEscaping(base.CLITestCase):

    def setUp(self):
        super().setUp()
        self.uri = self.node(_hostile_domain())
        self.name = base.value('ours-image', '/domain/name')

    def run_ok(self, *argv):
        result = self.run_cli(self.uri, *argv)
        self.assertEqual(0, result.code, result)
        return result.stdout

    def assertPrintable(self, output):
        self.assertEqual(
            [], [c for c in NOT_PRINTABLE if c in output], output)

    def test_list_table_escapes(self):
        for fmt in ('table', 'value'):
            output = self.run_ok('list', '-f', fmt)
            self.assertPrintable(output)
            self.assertIn('web\\x9b2J\\u202egpj.exe', output)
            self.assertIn('acme\\u202edorp', output)
        # CSV doubles the backslash of each escape, as CSV escapes.
        self.assertPrintable(self.run_ok('list', '-f', 'csv'))

    def test_show_table_escapes(self):
        for fmt in ('table', 'value'):
            output = self.run_ok('show', self.name, '-f', fmt)
            self.assertPrintable(output)
            self.assertIn('debian\\x9b31m-12', output)
            self.assertIn('line one\\nline two\\tand\\x9b0m', output)
            self.assertIn('gold\\u2066x\\u2069', output)

    def test_json_keeps_the_exact_data(self):
        listed = json.loads(self.run_ok('list', '-f', 'json'))[0]
        self.assertEqual(HOSTILE['display'], listed['Display Name'])
        self.assertEqual(HOSTILE['project'], listed['Project'])
        output = self.run_ok('show', self.name, '-f', 'json')
        # JSON escapes every non-ASCII character, so nothing reaches the
        # terminal raw; the data decodes to what the domain holds.
        self.assertPrintable(output)
        shown = json.loads(output)
        self.assertEqual(HOSTILE['image'], shown['image']['name'])
        self.assertIn(HOSTILE['property'],
                      shown['image_properties'].values())
        self.assertIn(HOSTILE['spec'], shown['extra_specs'].values())

    def test_yaml_keeps_the_exact_data(self):
        output = self.run_ok('show', self.name, '-f', 'yaml')
        self.assertPrintable(output)
        shown = yaml.safe_load(output)
        self.assertEqual(HOSTILE['display'], shown['display_name'])
        self.assertEqual(HOSTILE['image'], shown['image']['name'])

    def test_multi_line_cells_keep_their_lines(self):
        # Cells that list one item per line still do; only the newline
        # inside a value is escaped.
        ports = formatting.column('ports', [
            {'id': 'p1', 'network_name': 'a\nb' + RLO},
            {'id': 'p2', 'fixed_ips': ['10.0.0.1', CSI]}])
        self.assertEqual('id=p1 network_name=a\\nb\\u202e\n'
                         'id=p2 fixed_ips=10.0.0.1,\\x9b',
                         ports.human_readable())
        problems = formatting.column('problems', ['one' + CSI, 'two\n'])
        self.assertEqual('one\\x9b\ntwo\\n', problems.human_readable())
        specs = formatting.column('extra_specs', {'k' + RLO: 'v\t'})
        self.assertEqual("k\\u202e='v\\t'", specs.human_readable())

    def test_exact_formats_get_the_value_itself(self):
        for fmt, exact in (('json', True), ('yaml', True), ('table', False),
                           ('value', False), ('csv', False),
                           ('shell', False)):
            value = formatting.column(
                'display_name', HOSTILE['display'],
                formatting.exact(argparse.Namespace(formatter=fmt)))
            self.assertEqual(
                HOSTILE['display'] if exact else
                'web\\x9b2J\\u202egpj.exe', value.machine_readable(), fmt)
            self.assertEqual('web\\x9b2J\\u202egpj.exe',
                             value.human_readable())

    def test_printable_text_is_unchanged(self):
        for text in ('web-1', 'caf\u00e9 \u2603 \u05e9\u05dc\u05d5\u05dd',
                     'x & <y> "z"', 'C:\\Windows', '\U0001f600'):
            self.assertIs(text, formatting.printable(text))

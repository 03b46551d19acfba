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

"""``nova-domain-meta list`` over domains Nova really wrote."""

import csv
import io

import yaml

from nova_domain_meta.cmd import list_columns
from tests.unit import cmd as base


def _name(fixture):
    return base.value(fixture, '/domain/name')


def _uuid(fixture):
    return base.value(fixture, '/domain/uuid')


class TestListColumns(base.CLITestCase):
    """Every column, for each kind of domain."""

    def setUp(self):
        super().setUp()
        self.uri = self.node(*base.ALL)
        self.rows = self.rows_by_name(self.run_json(self.uri, 'list'))

    def test_one_row_per_domain_sorted_by_name(self):
        rows = self.run_json(self.uri, 'list')
        names = [row['Name'] for row in rows]
        self.assertEqual(sorted(_name(f) for f in base.ALL), names)
        self.assertEqual(list(list_columns.LIST_COLUMNS), list(rows[0]))

    def test_domain_written_by_our_driver(self):
        fixture = 'ours-image'
        project = base.value(fixture, '//nova:owner/nova:project/@uuid')
        image = base.value(fixture, '//nova:root/@uuid')
        self.assertEqual({
            'Name': _name(fixture),
            'UUID': _uuid(fixture),
            'Display Name': 'web-1',
            'State': 'running',
            'Flavor': 'm1.cli',
            'Project': 'acme-prod',
            'Project ID': project,
            'User': 'Ada Admin',
            'User ID': 'admin',
            'Fixed IPs': ['192.168.1.70', 'fd37:44e8:ad06::70'],
            'Floating IPs': ['203.0.113.17'],
            'Root': {'type': 'image', 'id': image},
            'Power Metrics': None,
            'Metadata': 'nova-domain-meta',
        }, self.rows[_name(fixture)])

    def test_domain_written_by_stock_nova(self):
        row = self.rows[_name('stock-image')]
        self.assertEqual('web-1', row['Display Name'])
        self.assertEqual('m1.cli', row['Flavor'])
        self.assertEqual('nova-1.1', row['Metadata'])
        # Stock Nova never writes floating IPs.
        self.assertEqual([], row['Floating IPs'])
        self.assertEqual(['192.168.1.70', 'fd37:44e8:ad06::70'],
                         row['Fixed IPs'])

    def test_boot_from_volume_root(self):
        volume = base.value('ours-bfv', '//nova:root/@uuid')
        self.assertTrue(volume)
        self.assertEqual({'type': 'volume', 'id': volume},
                         self.rows[_name('ours-bfv')]['Root'])
        # Stock Nova writes an empty uuid for the root volume.
        self.assertEqual('', base.value('stock-bfv', '//nova:root/@uuid'))
        self.assertEqual({'type': 'volume', 'id': None},
                         self.rows[_name('stock-bfv')]['Root'])

    def test_odd_characters_survive(self):
        expected = base.value('ours-odd', '//nova:name')
        self.assertIn('<&>', expected)
        self.assertEqual(expected,
                         self.rows[_name('ours-odd')]['Display Name'])
        self.assertEqual(expected,
                         self.rows[_name('stock-odd')]['Display Name'])

    def test_nova_1_0_namespace(self):
        row = self.rows[_name('stock-image-ns10')]
        self.assertEqual('nova-1.0', row['Metadata'])
        self.assertEqual('web-1', row['Display Name'])
        self.assertEqual('acme-prod', row['Project'])
        self.assertEqual('m1.cli', row['Flavor'])

    def test_non_nova_domain_shown_as_such(self):
        row = self.rows['backup-appliance']
        self.assertEqual('non-nova', row['Metadata'])
        self.assertIsNone(row['Display Name'])
        self.assertIsNone(row['Root'])
        self.assertEqual([], row['Fixed IPs'])

    def test_nova_domain_without_metadata(self):
        row = self.rows[_name('stock-nometa')]
        self.assertEqual('nova-no-metadata', row['Metadata'])
        self.assertIsNone(row['Display Name'])

    def test_malformed_metadata_is_listed(self):
        row = self.rows[_name('malformed')]
        self.assertEqual('broken-1', row['Display Name'])
        self.assertIsNone(row['Flavor'])
        self.assertIsNone(row['Project'])
        self.assertEqual(['192.168.1.99'], row['Fixed IPs'])

    def test_power_metrics_column_reads_empty_for_now(self):
        self.assertEqual({None},
                         {row['Power Metrics'] for row in self.rows.values()})


class TestListState(base.CLITestCase):

    def test_state_reflects_libvirt(self):
        uri = self.node(('ours-image', base.RUNNING),
                        ('ours-bfv', base.SHUTOFF),
                        ('ours-odd', base.PAUSED),
                        'nonnova')
        rows = self.rows_by_name(self.run_json(uri, 'list'))
        self.assertEqual({
            _name('ours-image'): 'running',
            _name('ours-bfv'): 'shut off',
            _name('ours-odd'): 'paused',
            'backup-appliance': 'running',
        }, {name: row['State'] for name, row in rows.items()})

    def test_no_domains(self):
        uri = self.node()
        self.assertEqual([], self.run_json(uri, 'list'))


class TestListFilters(base.CLITestCase):

    def setUp(self):
        super().setUp()
        self.uri = self.node(*base.ALL)

    def names(self, *argv):
        return sorted(row['Name'] for row in
                      self.run_json(self.uri, 'list', *argv))

    def test_project_by_name_and_id(self):
        project_id = base.value('ours-image',
                                '//nova:owner/nova:project/@uuid')
        by_name = self.names('--project', 'acme-prod')
        self.assertEqual(by_name, self.names('--project', project_id))
        self.assertIn(_name('ours-image'), by_name)
        self.assertIn(_name('stock-image-ns10'), by_name)
        self.assertNotIn('backup-appliance', by_name)
        self.assertNotIn(_name('malformed'), by_name)
        self.assertEqual([], self.names('--project', 'other'))

    def test_user(self):
        self.assertEqual(self.names('--user', 'admin'),
                         self.names('--user', 'Ada Admin'))
        self.assertEqual([], self.names('--user', 'nobody'))

    def test_flavor_by_name_and_id(self):
        flavor_id = base.value('ours-image', '//nova:flavor/@id')
        self.assertEqual(
            sorted(_name(f) for f in ('ours-image', 'ours-stale',
                                      'stock-image', 'stock-image-ns10')),
            self.names('--flavor', 'm1.cli'))
        self.assertIn(_name('ours-image'), self.names('--flavor', flavor_id))
        self.assertEqual(sorted(_name(f) for f in ('ours-odd', 'stock-odd')),
                         self.names('--flavor', 'odd.flavor'))

    def test_ip_fixed_floating_and_network(self):
        self.assertEqual(sorted(_name(f) for f in ('ours-image',
                                                   'ours-stale')),
                         self.names('--ip', '203.0.113.17'))
        self.assertEqual([_name('malformed')],
                         self.names('--ip', '192.168.1.99'))
        in_v6 = self.names('--ip', 'fd37:44e8:ad06::/64')
        self.assertIn(_name('stock-image'), in_v6)
        self.assertNotIn(_name('ours-bfv'), in_v6)
        self.assertEqual([], self.names('--ip', '10.0.0.1'))

    def test_name_pattern_matches_display_and_libvirt_name(self):
        self.assertEqual(
            sorted(_name(f) for f in ('ours-image', 'ours-stale',
                                      'stock-image', 'stock-image-ns10')),
            self.names('--name', 'web-*'))
        self.assertEqual(['backup-appliance'],
                         self.names('--name', 'backup-*'))
        self.assertEqual(
            sorted(_name(f) for f in ('ours-odd', 'stock-odd')),
            self.names('--name', '*<&>*'))

    def test_nova_only_hides_non_nova_domains(self):
        names = self.names('--nova-only')
        self.assertNotIn('backup-appliance', names)
        self.assertIn(_name('stock-nometa'), names)
        self.assertEqual(len(base.ALL) - 1, len(names))

    def test_filters_combine(self):
        self.assertEqual([_name('ours-image')],
                         self.names('--flavor', 'm1.cli', '--ip',
                                    '203.0.113.17', '--name',
                                    'instance-0000000?'))


class TestListFormats(base.CLITestCase):
    """cliff's output options, as in OpenStack's own clients."""

    def setUp(self):
        super().setUp()
        self.uri = self.node('ours-image', 'ours-odd', 'nonnova')

    def test_table(self):
        result = self.run_cli(self.uri, 'list')
        self.assertEqual(0, result.code, result)
        self.assertIn('| Name ', result.stdout)
        self.assertIn('203.0.113.17', result.stdout)
        image = base.value('ours-image', '//nova:root/@uuid')
        self.assertIn('image %s' % image, result.stdout)
        # Missing values read "-", never "None".
        self.assertNotIn('None', result.stdout)
        self.assertEqual('', result.stderr)

    def test_value_with_columns(self):
        result = self.run_cli(self.uri, 'list', '-f', 'value', '-c', 'UUID',
                              '-c', 'Metadata')
        self.assertEqual(0, result.code, result)
        self.assertEqual(sorted(['%s nova-domain-meta' % _uuid('ours-image'),
                                 '%s nova-domain-meta' % _uuid('ours-odd'),
                                 '%s non-nova' % _uuid('nonnova')]),
                         sorted(result.stdout.splitlines()))

    def test_csv(self):
        result = self.run_cli(self.uri, 'list', '-f', 'csv', '-c', 'Name',
                              '-c', 'Display Name')
        self.assertEqual(0, result.code, result)
        rows = list(csv.reader(io.StringIO(result.stdout)))
        self.assertEqual(['Name', 'Display Name'], rows[0])
        self.assertIn([_name('ours-odd'), base.value('ours-odd',
                                                     '//nova:name')],
                      rows[1:])

    def test_yaml(self):
        result = self.run_cli(self.uri, 'list', '-f', 'yaml')
        self.assertEqual(0, result.code, result)
        rows = {r['Name']: r for r in yaml.safe_load(result.stdout)}
        self.assertEqual(['203.0.113.17'],
                         rows[_name('ours-image')]['Floating IPs'])

    def test_sort_column_with_missing_values(self):
        result = self.run_cli(self.uri, 'list', '--sort-column',
                              'Display Name', '-f', 'value', '-c', 'Name')
        self.assertEqual(0, result.code, result)
        self.assertEqual(3, len(result.stdout.splitlines()))

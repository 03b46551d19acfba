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

"""``nova-domain-meta check``: missing, stale and invalid metadata."""

from nova_domain_meta.cmd import versions
from tests.unit import cmd as base

NOVA = '34.0.0'


def _name(fixture):
    return base.value(fixture, '/domain/name')


def _plugin():
    """The plugin version our fixtures were written by."""
    return base.value('ours-image', '//ndm:plugin/@version')


class TestCheck(base.CLITestCase):

    def check(self, uri, *argv, code):
        return self.rows_by_name(self.run_json(
            uri, 'check', '--nova-version', NOVA, '--plugin-version',
            _plugin(), *argv, code=code))

    def test_our_domains_are_fine(self):
        uri = self.node(*base.OURS)
        self.assertEqual({}, self.check(uri, code=0))

    def test_all_lists_healthy_and_non_nova_domains(self):
        uri = self.node('ours-image', 'nonnova')
        rows = self.check(uri, '--all', code=0)
        self.assertEqual('ok', rows[_name('ours-image')]['Status'])
        self.assertEqual([], rows[_name('ours-image')]['Problems'])
        self.assertEqual('not-nova', rows['backup-appliance']['Status'])

    def test_every_kind_of_problem(self):
        uri = self.node(*base.ALL)
        rows = self.check(uri, code=1)
        self.assertEqual({
            _name('ours-stale'): 'stale',
            _name('stock-image'): 'missing',
            _name('stock-bfv'): 'missing',
            _name('stock-odd'): 'missing',
            _name('stock-image-ns10'): 'missing',
            _name('stock-nometa'): 'missing',
            _name('malformed'): 'invalid',
        }, {name: row['Status'] for name, row in rows.items()})

    def test_stale_package(self):
        uri = self.node('ours-stale')
        row = self.check(uri, code=1)[_name('ours-stale')]
        self.assertEqual(['stale: written by Nova 27.1.0-0ubuntu1, older than '
                          'the installed Nova 34.0.0'], row['Problems'])

    def test_stock_domains_miss_our_element_only(self):
        uri = self.node(*base.STOCK)
        rows = self.check(uri, code=1)
        for fixture in base.STOCK:
            self.assertEqual(
                ['missing: no ndm:instance element (domain defined without '
                 'nova-domain-meta)'], rows[_name(fixture)]['Problems'])

    def test_nova_1_0_is_stale(self):
        uri = self.node('stock-image-ns10')
        problems = self.check(uri, code=1)[_name('stock-image-ns10')][
            'Problems']
        self.assertEqual(2, len(problems), problems)
        self.assertTrue(problems[0].startswith('missing: no ndm:instance'))
        self.assertIn('stale: nova:instance is in namespace %s' %
                      base.NS['nova10'], problems[1])

    def test_nova_domain_without_metadata_misses_both(self):
        uri = self.node('stock-nometa')
        self.assertEqual(
            ['missing: no nova:instance element',
             'missing: no ndm:instance element (domain defined without '
             'nova-domain-meta)'],
            self.check(uri, code=1)[_name('stock-nometa')]['Problems'])

    def test_malformed(self):
        uri = self.node('malformed')
        problems = self.check(uri, code=1)[_name('malformed')]['Problems']
        text = '\n'.join(problems)
        self.assertIn('nova:instance does not match its schema', text)
        self.assertIn("doesn't allow value 'lots'", text)
        self.assertIn('ndm:instance does not match its schema', text)
        self.assertIn('ndm:instance names instance '
                      '11111111-2222-3333-4444-555555555555, the domain is '
                      '0e4f8d2a-5b6c-4d7e-8f90-a1b2c3d4e5f6', text)

    def test_newer_nova_makes_metadata_stale(self):
        uri = self.node('ours-image')
        row = self.rows_by_name(self.run_json(
            uri, 'check', '--nova-version', '35.0.0', '--plugin-version',
            _plugin(), code=1))[_name('ours-image')]
        self.assertEqual('stale', row['Status'])

    def test_distribution_suffix_is_not_a_newer_nova(self):
        uri = self.node('ours-image')
        self.assertEqual([], self.run_json(
            uri, 'check', '--nova-version', '34.0.0-0ubuntu1~cloud0',
            '--plugin-version', _plugin(), code=0))

    def test_newer_plugin_makes_metadata_stale(self):
        uri = self.node('ours-image')
        row = self.rows_by_name(self.run_json(
            uri, 'check', '--nova-version', NOVA, '--plugin-version',
            '99.0.0', code=1))[_name('ours-image')]
        self.assertEqual(['stale: written by nova-domain-meta %s, older than '
                          'the installed 99.0.0' % _plugin()],
                         row['Problems'])

    def test_defaults_to_the_installed_nova(self):
        uri = self.node('ours-stale')
        running = versions.running_nova_version()
        self.assertTrue(running.startswith('34.'), running)
        row = self.rows_by_name(self.run_json(uri, 'check', code=1))[
            _name('ours-stale')]
        self.assertIn('stale: written by Nova 27.1.0-0ubuntu1, older than '
                      'the installed Nova %s' % running, row['Problems'])

    def test_no_domains_is_fine(self):
        self.assertEqual([], self.run_json(self.node(), 'check', code=0))

    def test_table_output_and_exit_code(self):
        uri = self.node('ours-image', 'stock-image')
        result = self.run_cli(uri, 'check', '--nova-version', NOVA,
                              '--plugin-version', _plugin())
        self.assertEqual(1, result.code, result)
        self.assertIn('missing: no ndm:instance element', result.stdout)
        self.assertNotIn(_name('ours-image'), result.stdout)

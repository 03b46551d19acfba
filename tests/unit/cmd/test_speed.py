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

"""What keeps ``nova-domain-meta list`` fast gives the same answers.

``benchmarks/bench_cli.py`` measures the speed; these tests pin down the
shortcuts behind it: nothing ``list`` does not need is imported, and every
faster path yields what the plain one yields.
"""

import io
import json
import os
import subprocess
import sys
from unittest import mock

import fixtures
import libvirt

from nova_domain_meta.cmd import cli
from nova_domain_meta.cmd import commands
from nova_domain_meta.cmd import connection
from nova_domain_meta.cmd import domain as domain_mod
from nova_domain_meta.cmd import fetch
from nova_domain_meta.cmd import formatting
from nova_domain_meta.cmd import list_columns
from tests.unit import cmd as base
from tests.unit.cmd import test_errors

REPO = base.REPO

# Modules only ``show`` and ``check`` need: ``list`` must not import them.
_NOT_FOR_LIST = ('oslo_config', 'oslo_utils', 'packaging', 'nova')


class TestImports(base.CLITestCase):

    def test_list_imports_nothing_it_does_not_need(self):
        uri = self.node(*base.ALL)
        code = ('import json, sys\n'
                'from nova_domain_meta.cmd import cli\n'
                'code = cli.main(["--connect", %r, "list", "-f", "value", '
                '"-c", "Name"])\n'
                'print(json.dumps(sorted({m.split(".")[0] '
                'for m in sys.modules})), file=sys.stderr)\n'
                'sys.exit(code)\n' % uri)
        proc = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True,
            env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO, timeout=120)
        self.assertEqual(0, proc.returncode, proc)
        self.assertEqual(len(base.ALL), len(proc.stdout.split()))
        loaded = json.loads(proc.stderr.splitlines()[-1])
        self.assertEqual([], [m for m in _NOT_FOR_LIST if m in loaded])

    def test_shutdown_walks_no_object(self):
        # Python's shutdown collects cycles among everything still alive;
        # the console script leaves it nothing to walk.
        uri = self.node(*base.ALL)
        code = ('import gc, sys\n'
                'from nova_domain_meta.cmd import cli\n'
                'code = cli.main(["--connect", %r, "list", "-f", "value", '
                '"-c", "Name"])\n'
                'print(gc.get_freeze_count(), len(gc.get_objects()), '
                'file=sys.stderr)\n'
                'sys.exit(code)\n' % uri)
        proc = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True,
            env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO, timeout=120)
        self.assertEqual(0, proc.returncode, proc)
        frozen, left = map(int, proc.stderr.split()[-2:])
        self.assertGreater(frozen, 10000)
        self.assertLess(left, 100)


class _Uri(object):
    def __init__(self, uri):
        self.uri = uri

    def getURI(self):
        return self.uri


def _summary(listing):
    return ([(d.name, d.uuid, d.state, d.kind, d.problems,
              list_columns.list_row(d)) for d in listing.domains],
            listing.vanished)


class TestThreadedReads(base.CLITestCase):
    """Domain XML fetched by several threads, as through a daemon."""

    def test_workers_by_uri(self):
        for uri, workers in (('qemu:///system', fetch.READ_WORKERS),
                             ('qemu+ssh://host/system',
                              fetch.READ_WORKERS),
                             ('test+unix:///default',
                              fetch.READ_WORKERS),
                             ('test:///default', 1),
                             ('test:///var/tmp/node.xml', 1)):
            self.assertEqual(workers, fetch.read_workers(_Uri(uri)),
                             uri)

    def test_same_domains_in_the_same_order(self):
        uri = self.node(*base.ALL + (
            (base.renamed('ours-image', 'instance-a0'), base.PAUSED),
            (base.renamed('stock-bfv', 'instance-a1'), base.SHUTOFF)))
        conn = connection.open_connection(uri)
        self.addCleanup(conn.close)
        one = _summary(fetch.read_domains(conn, workers=1))
        self.assertEqual(len(base.ALL) + 2, len(one[0]))
        for workers in (2, fetch.READ_WORKERS, 16):
            self.assertEqual(one, _summary(
                fetch.read_domains(conn, workers=workers)), workers)

    def test_cli_output_does_not_depend_on_threads(self):
        uri = self.node(*base.ALL)
        outputs = []
        for workers in (1, fetch.READ_WORKERS):
            self.useFixture(fixtures.MockPatch(
                'nova_domain_meta.cmd.fetch.read_workers',
                return_value=workers))
            outputs.append([self.run_cli(uri, *argv)
                            for argv in (('list', '-f', 'json'),
                                         ('list', '-f', 'table'),
                                         ('check', '--all', '-f', 'json'))])
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(0, outputs[0][0].code, outputs[0][0])

    def test_domain_vanishing_while_others_are_read(self):
        uri = self.node('ours-image', 'ours-bfv', 'stock-image', 'nonnova')
        victim = base.value('ours-bfv', '/domain/name')
        conn = test_errors.VanishingConnection(uri, victim)
        listing = fetch.read_domains(conn, workers=fetch.READ_WORKERS)
        self.assertEqual([victim], listing.vanished)
        self.assertEqual(
            sorted([base.value('ours-image', '/domain/name'),
                    base.value('stock-image', '/domain/name'),
                    'backup-appliance']),
            [d.name for d in listing.domains])

    def test_unreadable_domain_with_threads(self):
        # An error other than "no such domain" marks that domain
        # unreadable and leaves the others alone, as without threads.
        uri = self.node('ours-image', 'ours-bfv', 'nonnova')
        victim = base.value('ours-bfv', '/domain/name')
        conn = connection.open_connection(uri)
        self.addCleanup(conn.close)
        error = libvirt.libvirtError('boom')
        error.err = (libvirt.VIR_ERR_INTERNAL_ERROR, 0, 'internal error',
                     0, '', None, None, 0, 0)
        real_xml = libvirt.virDomain.XMLDesc

        def xml_desc(dom, flags=0):
            if dom.name() == victim:
                raise error
            return real_xml(dom, flags)

        self.useFixture(fixtures.MockPatchObject(
            libvirt.virDomain, 'XMLDesc', xml_desc))
        listing = fetch.read_domains(conn, workers=fetch.READ_WORKERS)
        by_name = {d.name: d for d in listing.domains}
        self.assertEqual(domain_mod.KIND_UNREADABLE, by_name[victim].kind)
        self.assertEqual(['cannot read the domain XML: internal error'],
                         by_name[victim].problems)
        self.assertEqual(3, len(by_name))

    def test_a_bug_in_a_reader_thread_reaches_the_caller(self):
        uri = self.node(*base.ALL)
        conn = connection.open_connection(uri)
        self.addCleanup(conn.close)
        victim = base.value('stock-bfv', '/domain/name')
        real_xml = libvirt.virDomain.XMLDesc

        def xml_desc(dom, flags=0):
            if dom.name() == victim:
                raise KeyError('a bug')
            return real_xml(dom, flags)

        self.useFixture(fixtures.MockPatchObject(
            libvirt.virDomain, 'XMLDesc', xml_desc))
        for workers in (1, fetch.READ_WORKERS):
            self.assertRaises(KeyError, fetch.read_domains, conn,
                              workers=workers)


class TestColumnsNeeded(base.CLITestCase):
    """``list -c`` reads only what the columns asked for need."""

    ARGVS = (
        ('-c', 'Name'),
        ('-c', 'Name', '-c', 'State', '-c', 'Metadata'),
        ('-c', 'uuid', '-c', 'display_name'),
        ('-c', 'Root', '-c', 'Fixed IPs', '-c', 'floating_ips'),
        ('-c', 'Project', '-c', 'User ID', '-c', 'Flavor'),
        ('-c', 'Name', '--sort-column', 'Display Name'),
        ('-c', 'Name', '-c', 'User', '--sort-column', 'flavor',
         '--sort-descending'),
        ('-c', 'Name', '--sort-column', 'no such column'),
        ('-c', 'Name', '--project', 'acme-prod'),
        ('-c', 'Name', '--user', 'admin', '--flavor', 'm1.cli'),
        ('-c', 'Name', '--ip', '192.168.1.0/24', '--name', 'web-*'),
        ('-c', 'Name', '--nova-only'),
        ('-c', 'Nope', '-c', 'Power Metrics'),
    )

    def setUp(self):
        super().setUp()
        self.uri = self.node(*base.ALL)

    def _outputs(self):
        return [self.run_cli(self.uri, 'list', *argv + (fmt,))
                for argv in self.ARGVS
                for fmt in ('-fjson', '-ftable')]

    def test_same_output_as_reading_every_column(self):
        lazy = self._outputs()
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.cmd.commands.ListDomains.columns_needed',
            return_value=list_columns.LIST_COLUMNS))
        self.assertEqual(self._outputs(), lazy)
        self.assertEqual(0, lazy[0].code, lazy[0])
        self.assertEqual(len(base.ALL), len(json.loads(lazy[0].stdout)))

    def test_names_and_states_read_no_metadata(self):
        # Not one fact is read, nor either element parsed: any use of the
        # facts module or of an element's children fails the command.
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.cmd.list_columns.facts',
            mock.NonCallableMock(spec=[])))
        for target in ('nova_domain_meta.cmd.domain._parse',
                       'nova_domain_meta.cmd.domain.Domain.nova_child'):
            self.useFixture(fixtures.MockPatch(
                target, side_effect=AssertionError('metadata read')))
        result = self.run_cli(self.uri, 'list', '-c', 'Name', '-c', 'State',
                              '-c', 'Metadata', '-c', 'UUID', '-f', 'csv',
                              '--nova-only')
        self.assertEqual(0, result.code, result)
        # A header, and every domain but the one Nova never owned.
        self.assertEqual(1 + len(base.ALL) - 1,
                         len(result.stdout.splitlines()))
        # The same with a column that needs the metadata fails: the
        # patches above do catch a read.
        result = self.run_cli(self.uri, 'list', '-c', 'Name', '-c',
                              'Flavor', '-f', 'csv')
        self.assertEqual(2, result.code, result)

    def test_every_column_when_a_hook_may_read_them(self):
        command = commands.ListDomains(mock.Mock(), None)
        parsed = command.get_parser('list').parse_args(['-c', 'Name'])
        self.assertEqual(('Name',), command.columns_needed(parsed))
        command._hooks = [mock.Mock()]
        self.assertIs(list_columns.LIST_COLUMNS,
                      command.columns_needed(parsed))

    def test_list_row_subsets(self):
        conn = connection.open_connection(self.uri)
        self.addCleanup(conn.close)
        for domain in fetch.read_domains(conn).domains:
            full = list_columns.list_row(domain)
            self.assertEqual(list(list_columns.LIST_COLUMNS), list(full))
            for column in list_columns.LIST_COLUMNS:
                self.assertEqual({column: full[column]},
                                 list_columns.list_row(domain, (column,)))
            self.assertEqual(full, list_columns.list_row(
                domain, tuple(list_columns.LIST_COLUMNS)))


class _CountingStdout(io.StringIO):
    """A stdout that counts its writes, as system calls would be."""

    writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


class TestOutput(base.CLITestCase):
    """Output goes out in one write, whatever stdout's buffering."""

    def test_one_write_per_command(self):
        uri = self.node(*base.ALL)
        name = base.value('ours-image', '/domain/name')
        for argv in (('list', '-f', 'json'), ('list', '-f', 'table'),
                     ('list', '-f', 'value'), ('show', name),
                     ('check', '--all', '-f', 'yaml')):
            stdout = _CountingStdout()
            app = cli.NovaDomainMetaApp(stdin=io.StringIO(), stdout=stdout,
                                        stderr=io.StringIO())
            code = app.run(['--connect', uri] + list(argv))
            self.assertIn(code, (0, 1), argv)
            self.assertEqual(1, stdout.writes, argv)
            # The same text as cliff writes piece by piece.
            self.assertEqual(self.run_cli(uri, *argv).stdout,
                             stdout.getvalue(), argv)


class TestPlainCells(base.CLITestCase):
    """JSON and YAML of plain values are those of the columns."""

    def test_same_output_as_with_columns(self):
        uri = self.node(*base.ALL)
        argvs = [('list', '-f', fmt) + extra
                 for fmt in ('json', 'yaml')
                 for extra in ((), ('--noindent',), ('-c', 'Root'),
                               ('--sort-column', 'Root'))
                 if fmt == 'json' or extra != ('--noindent',)]
        plain = [self.run_cli(uri, *argv) for argv in argvs]
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.cmd.commands._ReadsLibvirt.cell_maker',
            lambda command, parsed_args: (
                lambda name, value: formatting.column(
                    name, value, formatting.exact(parsed_args)))))
        self.assertEqual([self.run_cli(uri, *argv) for argv in argvs],
                         plain)
        self.assertEqual(0, plain[0].code, plain[0])
        self.assertEqual(len(base.ALL), len(json.loads(plain[0].stdout)))

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

"""Clear errors, no tracebacks, and the right exit status."""

import os
import shutil
import socket
import subprocess
import sys
from unittest import mock

import fixtures
import libvirt
import testtools

from nova_domain_meta.cmd import commands
from nova_domain_meta.cmd import connection
from tests.unit import cmd as base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class VanishingConnection(object):
    """A real read-write connection where a guest goes away mid-listing.

    After libvirt has listed the domains, ``victim`` is destroyed and
    undefined through libvirt itself, before the CLI asks for its XML:
    what happens when Nova deletes a server while an operator lists.
    """

    def __init__(self, uri, victim):
        self._conn = libvirt.open(uri)
        self._victim = victim

    def getAllDomainStats(self, *args):
        stats = self._conn.getAllDomainStats(*args)
        dom = self._conn.lookupByName(self._victim)
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        return stats

    def __getattr__(self, name):
        return getattr(self._conn, name)


class TestConnectionErrors(base.CLITestCase):

    def test_libvirt_unreachable(self):
        uri = 'qemu+unix:///system?socket=%s/no-such.sock' % self.tmpdir
        for command in ('list', 'check', 'show'):
            argv = [command] + (['x'] if command == 'show' else [])
            result = self.run_cli(uri, *argv)
            self.assertEqual(2, result.code, result)
            self.assertEqual('', result.stdout)
            self.assertEqual(
                "Cannot reach libvirt at %s: Failed to connect socket to "
                "'%s/no-such.sock': No such file or directory. Is the "
                "libvirt daemon (libvirtd, or virtqemud with modular "
                "daemons) running on this host? Use --connect URI to read "
                "another one.\n" % (uri, self.tmpdir), result.stderr)

    def test_bad_uri(self):
        result = self.run_cli('test:///%s/missing-node.xml' % self.tmpdir,
                              'list')
        self.assertEqual(2, result.code, result)
        self.assertIn('Cannot connect to libvirt at test:///', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    @testtools.skipUnless(os.geteuid() == 0 and shutil.which('setpriv'),
                          'needs root and setpriv to drop a capability')
    def test_permission_denied(self):
        # A libvirt socket the operator may not use, as on a host where
        # they are not in the libvirt group.  The CLI runs as root without
        # CAP_DAC_OVERRIDE, so libvirt really gets EACCES from connect().
        path = os.path.join(self.tmpdir, 'libvirt-sock-ro')
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(server.close)
        server.bind(path)
        os.chown(path, 65534, 65534)
        os.chmod(path, 0o600)
        server.listen(1)
        uri = 'qemu+unix:///system?socket=%s' % path
        code = ('import sys\nfrom nova_domain_meta.cmd import cli\n'
                'sys.exit(cli.main(["--connect", %r, "list"]))\n' % uri)
        env = dict(os.environ, PYTHONPATH=REPO)
        proc = subprocess.run(
            ['setpriv', '--bounding-set=-dac_override,-dac_read_search',
             '--', sys.executable, '-c', code],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        self.assertEqual(2, proc.returncode, proc)
        self.assertEqual('', proc.stdout)
        self.assertEqual(
            "Permission denied connecting to libvirt at %s: Failed to "
            "connect socket to '%s': Permission denied. Run as root or as a "
            "user libvirt lets read domains (on Debian and Ubuntu, a member "
            "of the \"libvirt\" group).\n" % (uri, path), proc.stderr)

    def test_connection_is_read_only(self):
        uri = self.node('ours-image')
        conn = connection.open_connection(uri)
        self.addCleanup(conn.close)
        dom = conn.lookupByName(base.value('ours-image', '/domain/name'))
        error = self.assertRaises(libvirt.libvirtError, dom.destroy)
        self.assertEqual(libvirt.VIR_ERR_OPERATION_DENIED,
                         error.get_error_code())


class TestDomainErrors(base.CLITestCase):

    def test_domain_vanishes_mid_listing(self):
        uri = self.node('ours-image', 'ours-bfv', 'nonnova')
        victim = base.value('ours-bfv', '/domain/name')
        for command in ('list', 'check'):
            result = self.run_cli(
                uri, command, '-f', 'value', '-c', 'Name',
                *(('--all',) if command == 'check' else ()),
                connection_factory=lambda u: VanishingConnection(u, victim))
            self.assertEqual(0, result.code, result)
            self.assertEqual(
                sorted([base.value('ours-image', '/domain/name'),
                        'backup-appliance']),
                sorted(result.stdout.split()))
            self.assertEqual('Domain %s disappeared while being read; '
                             'skipped.\n' % victim, result.stderr)

    def test_unexpected_error_is_one_line(self):
        class Broken(object):
            def getAllDomainStats(self, *args):
                raise RuntimeError('something broke')

            def close(self):
                pass

        result = self.run_cli('test:///default', 'list',
                              connection_factory=lambda u: Broken())
        self.assertEqual(2, result.code, result)
        self.assertEqual('Unexpected error: something broke (run with '
                         '--debug for details)\n', result.stderr)
        debug = self.run_cli('test:///default', '--debug', 'list',
                             connection_factory=lambda u: Broken())
        self.assertEqual(2, debug.code)
        self.assertIn('Traceback', debug.stderr)


class TestHelp(base.CLITestCase):
    """``--help`` for the tool and every command."""

    def test_tool_help(self):
        result = self.run_cli(None, '--help')
        self.assertEqual(0, result.code, result)
        for command in ('list', 'show', 'check'):
            self.assertIn(command, result.stdout)
        self.assertIn('--connect URI', result.stdout)

    def test_command_help(self):
        for argv, expected in ((('list', '--help'), '--nova-only'),
                               (('show', '--help'), '<domain>'),
                               (('check', '--help'), '--nova-version'),
                               (('help', 'check'), '--plugin-version')):
            result = self.run_cli(None, *argv)
            self.assertEqual(0, result.code, (argv, result))
            self.assertIn('usage: nova-domain-meta', result.stdout)
            self.assertIn(expected, result.stdout)
            self.assertIn('--format', result.stdout)

    def test_commands_skip_the_distribution_scan(self):
        # cliff maps every installed distribution's modules to name the one
        # providing a command; ours ship with the application, so every
        # command must run (and show its help) without that scan.
        scan = mock.Mock(side_effect=AssertionError('distribution scan'))
        self.useFixture(fixtures.MockPatch(
            'cliff.command._get_distributions_by_modules', scan))
        for argv in (('list', '--help'), ('help', 'show'),
                     ('check', '--help'), ('help', 'help')):
            result = self.run_cli(None, *argv)
            self.assertEqual(0, result.code, (argv, result))
            self.assertNotIn('provided by', result.stdout)
        uri = self.node('nonnova')
        result = self.run_cli(uri, 'list', '-f', 'value', '-c', 'Name')
        self.assertEqual((0, 'backup-appliance\n'),
                         (result.code, result.stdout), result)
        scan.assert_not_called()

    def test_command_hook_epilogs_are_kept(self):
        command = commands.ListDomains(mock.Mock(), None)
        command._epilog = 'Own epilog.'
        hook = mock.Mock()
        hook.obj.get_epilog.return_value = 'From a hook.'
        command._hooks = [hook]
        self.assertEqual('Own epilog.\n\nFrom a hook.', command.get_epilog())

    def test_unknown_command(self):
        result = self.run_cli('test:///default', 'lsit')
        self.assertEqual(2, result.code, result)

    def test_bad_option(self):
        result = self.run_cli('test:///default', 'list', '--bogus')
        self.assertEqual(2, result.code, result)
        self.assertNotIn('Traceback', result.stderr)

    def test_connect_after_the_command(self):
        uri = self.node('nonnova')
        result = self.run_cli(None, 'list', '--connect', uri, '-f', 'value',
                              '-c', 'Name')
        self.assertEqual(0, result.code, result)
        self.assertEqual('backup-appliance\n', result.stdout)

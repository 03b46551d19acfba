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

"""The test logic shared by the tempest tests, on recorded data."""

import os
import subprocess
import sys

import fixtures
import testtools

from nova_domain_meta_tempest_plugin.common import domain_xml
from nova_domain_meta_tempest_plugin.common import guest
from nova_domain_meta_tempest_plugin.common import whitebox
from tests import base


class Conf(object):
    """The [nova_domain_meta] options the reader reads."""

    domain_xml_command = None
    compute_ssh_user = None
    compute_ssh_key_path = None
    compute_ssh_port = 22
    compute_ssh_addresses = {}
    virsh_command = 'sudo virsh'

    def __init__(self, **values):
        self.__dict__.update(values)


class TestDomainXML(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.domain = domain_xml.parse(base.read_data('domain.xml'))
        self.server = base.recorded()['server']['body']['server']

    def test_recorded_domain_matches_recorded_server(self):
        self.assertEqual([], domain_xml.check_metadata(self.domain,
                                                       self.server))

    def test_differences_are_named(self):
        server = dict(self.server, name='other', user_id='someone',
                      id='0e5a2c52-7c36-4f0c-9b57-66d9f0b3e2c9')
        problems = domain_xml.check_metadata(self.domain, server)
        self.assertEqual(4, len(problems), problems)
        self.assertIn('not the server id', problems[0])

    def test_shares(self):
        share = domain_xml.parse(base.read_data('domain-share.xml'))
        self.assertEqual([], domain_xml.virtiofs_filesystems(self.domain))
        [fs] = domain_xml.virtiofs_filesystems(share)
        self.assertEqual('scaphandre', fs['tag'])
        self.assertEqual([], domain_xml.check_share(
            share, 'scaphandre', '/run/nova-domain-meta/shares'))
        self.assertEqual(
            ["0 virtiofs filesystems with target dir 'other', not 1"],
            domain_xml.check_share(share, 'other'))
        # A prefix of the view directory is not the view directory.
        self.assertEqual(1, len(domain_xml.check_share(
            share, 'scaphandre', '/opt/stack/data/nova/domain_meta/sh')))
        self.assertEqual([], domain_xml.check_no_share(self.domain,
                                                       'scaphandre'))
        self.assertEqual(1, len(domain_xml.check_no_share(share,
                                                          'scaphandre')))


class TestGuest(testtools.TestCase):

    def test_mount_type(self):
        mounts = ('scaphandre /var/scaphandre virtiofs rw,relatime 0 0\n'
                  'tmpfs /var/scaphandre tmpfs rw 0 0\n')
        self.assertEqual('tmpfs', guest.mount_type(mounts, '/var/scaphandre'))
        self.assertIsNone(guest.mount_type(mounts, '/var'))

    def test_commands_quote(self):
        self.assertEqual("sudo mkdir -p '/mnt/a b' && sudo mount -t virtiofs "
                         "'x;y' '/mnt/a b'",
                         guest.mount_command('x;y', '/mnt/a b'))
        self.assertEqual(
            'sudo sh -c \'echo x > /var/scaphandre/%s\'' % guest.WRITE_PROBE,
            guest.write_command('/var/scaphandre/'))


class FakeSSH(object):

    made = []

    def __init__(self, host, username, **kwargs):
        self.made.append((host, username, kwargs))

    def exec_command(self, command):
        self.made.append(command)
        return '<domain/>'


class TestReader(testtools.TestCase):

    def test_local_command(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'instance-00000001.xml'), 'w') as f:
            f.write(base.read_data('domain.xml'))
        reader = whitebox.DomainXMLReader(Conf(
            domain_xml_command='cat %s/{domain}.xml' % tmp))
        self.assertTrue(reader.available())
        xml = reader.dumpxml('compute1', 'instance-00000001')
        self.assertEqual(base.read_data('domain.xml'), xml)

    def test_failing_command(self):
        reader = whitebox.DomainXMLReader(Conf(
            domain_xml_command='%s -c "import sys; sys.exit(3)" {host}'
            % sys.executable))
        error = self.assertRaises(whitebox.DomainXMLError, reader.dumpxml,
                                  'compute1', 'instance-00000001')
        self.assertIn('exited with 3', str(error))

    def test_ssh(self):
        FakeSSH.made = []
        reader = whitebox.DomainXMLReader(
            Conf(compute_ssh_user='stack', compute_ssh_key_path='/k',
                 compute_ssh_addresses={'compute1': '192.0.2.11'},
                 virsh_command='sudo docker exec nova_libvirt virsh'),
            ssh_client_class=FakeSSH)
        self.assertEqual('<domain/>',
                         reader.dumpxml('compute1', 'instance-00000001'))
        self.assertEqual(
            [('192.0.2.11', 'stack', {'key_filename': '/k', 'port': 22}),
             'sudo docker exec nova_libvirt virsh dumpxml '
             'instance-00000001'],
            FakeSSH.made)

    def test_unsafe_names_are_refused(self):
        reader = whitebox.DomainXMLReader(Conf(domain_xml_command='true'))
        for host, domain in [('compute1', 'x; rm -rf /'),
                             ('$(reboot)', 'instance-1'), ('', 'a')]:
            self.assertRaises(whitebox.DomainXMLError, reader.dumpxml,
                              host, domain)

    def test_unavailable(self):
        self.assertFalse(whitebox.DomainXMLReader(Conf()).available())


class TestConsoleCheck(testtools.TestCase):
    """The guest's boot-time share check and the reading of its output."""

    def run_script(self, tag='scaphandre'):
        """Run the check under sh here, mount(8) replaced by a failing one.

        What the parser reads is then what the script really prints.
        """
        tmp = self.useFixture(fixtures.TempDir()).path
        bindir = os.path.join(tmp, 'bin')
        os.mkdir(bindir)
        with open(os.path.join(bindir, 'mount'), 'w') as f:
            f.write('#!/bin/sh\necho "mount: $3: unknown filesystem type '
                    '\'$2\'" >&2\nexit 32\n')
        os.chmod(os.path.join(bindir, 'mount'), 0o755)
        mount_point = os.path.join(tmp, 'share point')
        script = guest.console_check_script(tag, mount_point)
        proc = subprocess.run(
            ['sh', '-c', script], capture_output=True, text=True,
            env={'PATH': bindir + ':/usr/bin:/bin'}, check=True)
        return proc.stdout, mount_point

    def test_script_output_is_read_back(self):
        output, mount_point = self.run_script()
        report = guest.parse_console_check(output)
        self.assertEqual('32', report['mount_rc'])
        self.assertEqual('-', report['mount_type'])
        self.assertIn('unknown filesystem type', report['mount_output'])
        # Nothing was mounted here: the write into the directory worked.
        self.assertEqual('0', report['write_rc'])
        self.assertTrue(os.path.exists(os.path.join(
            mount_point, guest.WRITE_PROBE)))

    def test_incomplete_report_is_none(self):
        self.assertIsNone(guest.parse_console_check(
            'NDM-CHECK-UUID: abc\r\nNDM-CHECK-MOUNT: rc=0 type=virtiofs \r\n'))
        self.assertIsNone(guest.parse_console_check(None))

    def test_last_complete_report_counts(self):
        first = ('NDM-CHECK-UUID: A\nNDM-CHECK-MOUNT: rc=0 type=virtiofs \n'
                 'NDM-CHECK-WRITE: rc=1 Read-only file system\n'
                 'NDM-CHECK-DONE: ok\n')
        second = first.replace('UUID: A', 'UUID: B')
        report = guest.parse_console_check(first + second +
                                           'NDM-CHECK-UUID: C\n')
        self.assertEqual('b', report['uuid'])
        self.assertEqual('Read-only file system', report['write_output'])

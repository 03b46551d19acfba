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

"""Finding the libvirt daemon behind a URI, with real processes."""

import os
import subprocess
import sys
import tempfile

import fixtures

from nova_domain_meta.share import libvirtd
from tests.unit import base

#: A stand-in daemon: listens on argv[1] as a process named argv[2]; with
#: argv[3] == 'activated' it listens under its own name and a child named
#: argv[2] serves, as under systemd socket activation.
DAEMON = '''
import ctypes, os, socket, sys, time
path, name, mode = sys.argv[1:4]
def rename(to):
    ctypes.CDLL(None).prctl(15, to.encode(), 0, 0, 0)  # PR_SET_NAME
s = socket.socket(socket.AF_UNIX)
s.bind(path + '.tmp')
s.listen(8)
if mode == 'activated':
    if os.fork() == 0:
        rename(name)
        sys.stdin.read()
        os._exit(0)
else:
    rename(name)
os.rename(path + '.tmp', path)
sys.stdin.read()
'''


class FindTest(base.TestCase):

    def daemon(self, name, mode='direct'):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'sock')
        proc = subprocess.Popen([sys.executable, '-c', DAEMON, path, name,
                                 mode], stdin=subprocess.PIPE)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.stdin.close)
        while not os.path.exists(path):
            self.assertIsNone(proc.poll(), 'the stand-in daemon died')
            os.sched_yield()
        return proc, 'qemu:///system?socket=%s' % path

    def test_the_process_listening(self):
        proc, uri = self.daemon('libvirtd')
        self.assertEqual([proc.pid], libvirtd.find(uri))

    def test_the_child_of_an_activating_listener(self):
        proc, uri = self.daemon('virtqemud', mode='activated')
        found = libvirtd.find(uri)
        self.assertEqual(1, len(found))
        self.assertNotEqual(proc.pid, found[0])
        with open('/proc/%d/comm' % found[0]) as f:
            self.assertEqual('virtqemud', f.read().strip())

    def test_not_a_libvirt_daemon(self):
        proc, uri = self.daemon('sshd')
        e = self.assertRaises(libvirtd.NotFound, libvirtd.find, uri)
        self.assertIn('no libvirtd or virtqemud serves', str(e))
        self.assertIn('pid %d, sshd' % proc.pid, str(e))

    def test_no_socket(self):
        path = os.path.join(tempfile.gettempdir(), 'ndm-no-such-sock')
        e = self.assertRaises(libvirtd.NotFound, libvirtd.find,
                              'qemu:///system?socket=%s' % path)
        self.assertIn(path, str(e))

    def test_sockets_of_uris(self):
        self.assertEqual(list(libvirtd.SYSTEM_SOCKETS),
                         libvirtd.sockets_of('qemu:///system'))
        self.assertEqual(['/x/sock'], libvirtd.sockets_of(
            'qemu+unix:///system?socket=/x/sock'))
        for uri in ('qemu+tcp://host/system', 'qemu+ssh://h/system',
                    'qemu:///session'):
            self.assertRaises(libvirtd.NotFound, libvirtd.sockets_of, uri)

    def test_read_only_in_every_daemon(self):
        tables = {1: {'/v/a': {'ro'}, '/v/b': {'ro'}},
                  2: {'/v/a': {'ro'}, '/v/b': {'rw'}}}
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.share.linux.mount_table', tables.get))
        self.assertEqual({'/v/a': True, '/v/b/': False, '/v/c': False},
                         libvirtd.readonly_in([1, 2], ['/v/a', '/v/b/',
                                                       '/v/c']))

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

"""The rootwrap filter, loaded and matched by oslo.rootwrap itself."""

import os

from oslo_rootwrap import wrapper
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTERS_DIR = os.path.join(REPO, 'etc', 'nova', 'rootwrap.d')

# The command line oslo.privsep runs through nova-rootwrap to start the
# daemon of our context from nova-compute.
ALLOWED = ['privsep-helper',
           '--config-file', '/etc/nova/nova-cpu.conf',
           '--privsep_context', 'nova_domain_meta.privsep.sys_admin_pctxt',
           '--privsep_sock_path', '/tmp/tmpk2x9_c1q/privsep.sock']


class TestRootwrapFilter(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # oslo.rootwrap adds a catch-all privsep-helper filter of its own to
        # whatever it loads; look at the filters of our file alone.
        self.filters = [f for f in wrapper.load_filters([FILTERS_DIR])
                        if f.name != 'privsep-helper']

    def matches(self, argv):
        return [f.name for f in self.filters if f.match(argv)]

    def test_one_filter_running_as_root(self):
        self.assertEqual(['privsep-nova_domain_meta-sys_admin'],
                         [f.name for f in self.filters])
        self.assertEqual('root', self.filters[0].run_as)

    def test_our_privsep_daemon_is_allowed(self):
        self.assertEqual(['privsep-nova_domain_meta-sys_admin'],
                         self.matches(ALLOWED))

    def test_everything_else_is_refused(self):
        changes = [
            (4, 'nova.privsep.sys_admin_pctxt'),          # Nova's context
            (4, 'nova_domain_metaXprivsep.sys_admin_pctxt'),
            (4, 'nova_domain_meta.privsep.sys_admin_pctxt2'),
            (2, '/etc/nova/../../tmp/evil.conf'),
            (2, '/tmp/nova.conf'),
            (6, '/var/tmp/privsep.sock'),
            (6, '/tmp/../etc/privsep.sock'),
            (0, 'sh'),
        ]
        for index, value in changes:
            argv = list(ALLOWED)
            argv[index] = value
            self.assertEqual([], self.matches(argv), value)
        self.assertEqual([], self.matches(ALLOWED + ['--debug']))
        self.assertEqual([], self.matches(ALLOWED[:-2]))

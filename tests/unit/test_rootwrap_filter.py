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

"""The rootwrap filter, loaded and matched by oslo.rootwrap itself.

oslo.rootwrap adds a catch-all ``privsep-helper`` filter to whatever
filter files it loads, so our filter names the command nova-compute runs
but is no security boundary (issue 17): these tests keep the filter file,
its comment and the documentation honest about that.  The boundary is
the privileged daemon checking every call
(``tests/real/test_privileged_real.py``).
"""

import os
import sys

from oslo_rootwrap import wrapper
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTERS_DIR = os.path.join(REPO, 'etc', 'nova', 'rootwrap.d')
OURS = 'privsep-nova_domain_meta-sys_admin'
#: Where oslo.privsep installed privsep-helper (the test environment's).
BIN = os.path.dirname(sys.executable)

# The command line oslo.privsep runs through nova-rootwrap to start the
# daemon of our context from nova-compute.
ALLOWED = ['privsep-helper',
           '--config-file', '/etc/nova/nova-cpu.conf',
           '--privsep_context', 'nova_domain_meta.privsep.sys_admin_pctxt',
           '--privsep_sock_path', '/tmp/tmpk2x9_c1q/privsep.sock']

#: Command lines our filter alone would refuse.
HOSTILE = [
    ALLOWED[:4] + ['nova.privsep.sys_admin_pctxt'] + ALLOWED[5:],
    ALLOWED[:2] + ['/tmp/nova.conf'] + ALLOWED[3:],
    ALLOWED[:2] + ['/etc/nova/../../tmp/evil.conf'] + ALLOWED[3:],
    ALLOWED[:6] + ['/var/tmp/privsep.sock'],
    ALLOWED + ['--debug'],
    ALLOWED[:-2],
]


class TestRootwrapFilter(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.filters = wrapper.load_filters([FILTERS_DIR])
        self.ours = [f for f in self.filters if f.name == OURS]

    def test_one_filter_of_ours_running_as_root(self):
        self.assertEqual(1, len(self.ours))
        self.assertEqual('root', self.ours[0].run_as)

    def test_our_filter_names_our_privsep_daemon(self):
        self.assertTrue(self.ours[0].match(ALLOWED))
        for argv in HOSTILE:
            self.assertFalse(self.ours[0].match(argv), argv)

    def test_rootwrap_lets_any_privsep_helper_command_through(self):
        # What nova-rootwrap really does with these command lines: each
        # is allowed, by the catch-all oslo.rootwrap adds.
        for argv in HOSTILE:
            matched = wrapper.match_filter(self.filters, argv,
                                           exec_dirs=[BIN])
            self.assertEqual('privsep-helper', matched.name, argv)
            self.assertEqual('root', matched.run_as)

    def test_the_filter_file_says_it_restricts_nothing(self):
        with open(os.path.join(FILTERS_DIR, 'nova-domain-meta.filters')) as f:
            comment = ' '.join(line.lstrip('#').strip() for line in f
                               if line.startswith('#'))
        self.assertIn('It restricts nothing', comment)
        self.assertNotIn('matched whole', comment)

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

"""The cloud tier's own judgements, without a cloud.

The tier decides from nova-compute's log whether a restart logged an
error, and from tempest's subunit stream how many tests of each list
passed, were skipped or failed.  A wrong judgement there passes a broken
cloud or fails a good one; these tests pin the cases the real cloud
showed.
"""

import io
import os
import subprocess
import sys

import fixtures
from subunit import v2 as subunit_v2
import testtools

from tests.cloud import hypervisor
from tests.cloud import ini
from tests.cloud import process
from tests.cloud import tempest

CONFIG_DUMP = (
    '2026-12-04 07:18:52.483 1440 DEBUG nova.cmd.compute [-] '
    'logging_exception_prefix       = %(asctime)s.%(msecs)03d %(process)d '
    'ERROR %(name)s %(instance)s log_opt_values /x/oslo_config/cfg.py:3549')
ERROR_RECORD = (
    '2026-12-04 07:19:41.746 1440 ERROR oslo.service.backend._threading.'
    'loopingcall [None req-1 - - - - - -] Dynamic interval looping call '
    'failed: RuntimeError')
TRACEBACK_LINE = (
    '2026-12-04 07:19:41.746 1440 ERROR oslo.service.backend._threading.'
    'loopingcall Traceback (most recent call last):')
WARNING_ABOUT_ERRORS = (
    '2026-12-04 07:20:00.000 1440 WARNING nova.compute.manager [-] '
    'Traceback and ERROR in a message at WARNING')

PLUGIN_TEST = ('nova_domain_meta_tempest_plugin.tests.scenario.'
               'test_power_metrics_share.PowerMetricsShareTest.'
               'test_share_is_in_the_domain[id-9aca7711]')
SMOKE_TEST = ('tempest.api.compute.servers.test_server_actions.'
              'ServerActionsTestJSON.test_reboot_server_hard'
              '[id-2cb1baf6,smoke]')
BOOT_FROM_VOLUME = ('tempest.api.compute.servers.test_create_server.'
                    'ServersTestBootFromVolume.test_list_servers'
                    '[id-9a438d88,smoke]')


def subunit_stream(*results):
    """A subunit v2 byte stream of ``(test id, status)`` results."""
    out = io.BytesIO()
    stream = subunit_v2.StreamResultToBytes(out)
    for test_id, status in results:
        stream.status(test_id=test_id, test_status='inprogress')
        stream.status(test_id=test_id, test_status=status)
    return out.getvalue()


class LogErrorsTest(testtools.TestCase):

    def test_the_configuration_dump_is_no_error(self):
        self.assertEqual([], process.log_errors(CONFIG_DUMP))

    def test_records_at_error_with_their_traceback(self):
        text = '\n'.join([CONFIG_DUMP, ERROR_RECORD, TRACEBACK_LINE,
                          WARNING_ABOUT_ERRORS])
        self.assertEqual([ERROR_RECORD, TRACEBACK_LINE],
                         process.log_errors(text))


class TempestSuitesTest(testtools.TestCase):

    def test_each_test_belongs_to_its_list(self):
        self.assertEqual('plugin', tempest.suite_of(PLUGIN_TEST))
        self.assertEqual('smoke', tempest.suite_of(SMOKE_TEST))
        self.assertIsNone(tempest.suite_of(BOOT_FROM_VOLUME))

    def test_a_plugin_class_set_up_failure_is_the_plugins(self):
        self.assertEqual('plugin', tempest.suite_of(
            'setUpClass (nova_domain_meta_tempest_plugin.tests.scenario.'
            'test_power_metrics_share.PowerMetricsShareTest)'))

    def test_totals_count_every_status_by_list(self):
        totals = tempest.totals_by_suite(subunit_stream(
            (PLUGIN_TEST, 'success'), (SMOKE_TEST, 'success'),
            (SMOKE_TEST + 'x', 'skip'),
            ('setUpClass (tempest.api.compute.servers.test_server_actions.'
             'ServerActionsTestJSON)', 'fail')))
        self.assertEqual(1, totals['plugin']['Passed'])
        self.assertEqual(0, totals['plugin']['Skipped'])
        self.assertEqual(1, totals['smoke']['Passed'])
        self.assertEqual(1, totals['smoke']['Skipped'])
        # A smoke class whose set-up failed has no smoke attribute: it is
        # counted on its own, and fails the tier all the same.
        self.assertEqual(1, totals[None]['Failed'])


class IniWriteTest(testtools.TestCase):

    def test_a_file_is_replaced_whole(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        ini.write(path, {'DEFAULT': {'debug': True}})
        with open(path) as before:
            ini.update(path, 'DEFAULT', 'debug', ['False'])
            # A reader that opened the file earlier still reads it whole.
            self.assertEqual('[DEFAULT]\ndebug = True\n', before.read())
        self.assertEqual({'DEFAULT': [('debug', 'False')]}, ini.read(path))
        self.assertEqual(['nova.conf'], os.listdir(os.path.dirname(path)))


class HypervisorLockTest(testtools.TestCase):
    """The tier runs under a lock its caller holds, never waits for it.

    tools/run-tests.sh holds the lock around ``tox -e cloud``.
    """

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'hypervisor.lock')
        open(self.path, 'w').close()
        st = os.stat(self.path)
        self.file_id = '%02x:%02x:%d' % (os.major(st.st_dev),
                                         os.minor(st.st_dev), st.st_ino)

    def locks(self, *lines):
        locks = os.path.join(os.path.dirname(self.path), 'locks')
        with open(locks, 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        return locks

    def test_an_ancestors_lock_is_found(self):
        parent = os.getppid()
        locks = self.locks(
            '1: POSIX  ADVISORY  WRITE %d %s 0 EOF' % (parent, self.file_id),
            '2: FLOCK  ADVISORY  WRITE %d %s 0 EOF' % (parent, self.file_id))
        self.assertEqual(parent,
                         hypervisor.held_by_ancestor(self.path, locks))

    def test_a_strangers_lock_or_a_waiter_is_not(self):
        stranger = max(hypervisor.ancestors()[0], os.getpid()) + 100000
        locks = self.locks(
            '1: FLOCK  ADVISORY  WRITE %d %s 0 EOF' % (stranger,
                                                       self.file_id),
            '1: -> FLOCK  ADVISORY  WRITE %d %s 0 EOF' % (os.getppid(),
                                                          self.file_id))
        self.assertIsNone(hypervisor.held_by_ancestor(self.path, locks))

    def test_flock_1_around_the_tier_is_seen(self):
        # The real thing: flock(1) holds the lock and runs a child.
        code = ('from tests.cloud import hypervisor as h; '
                'print(h.held_by_ancestor(%r))' % self.path)
        repo = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        under = subprocess.run(
            ['flock', self.path, sys.executable, '-c', code], cwd=repo,
            env=dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1'),
            capture_output=True, text=True, check=True)
        alone = subprocess.run(
            [sys.executable, '-c', code], cwd=repo,
            env=dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1'),
            capture_output=True, text=True, check=True)
        self.assertEqual('None', alone.stdout.split()[-1])
        holder = int(under.stdout.split()[-1])
        self.assertNotEqual(os.getpid(), holder)

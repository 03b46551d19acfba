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

"""The tier's own tests: what only a running cloud can show.

They run inside the tier's process (:func:`run`), because some of them
restart nova-compute, which the tier started and owns.  Order matters:
the last one deletes every server and checks nothing is left behind.
"""

import sys
import time
import unittest

from tests.cloud import process
from tests.cloud.scenarios import base

MODULES = (
    'tests.cloud.scenarios.test_metadata_follows',
    'tests.cloud.scenarios.test_stable_addresses',
    'tests.cloud.scenarios.test_cli_agrees',
    'tests.cloud.scenarios.test_compute_restart',
    'tests.cloud.scenarios.test_cleanup',
)


class _Result(unittest.TextTestResult):
    """unittest's verbose result, with each test's duration."""

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _write_status(self, test, status):
        super()._write_status(test, '%s (%.0f s)' % (
            status, time.monotonic() - self._started))


def run(tier):
    """Run every scenario; fail unless each ran and passed."""
    base.TIER = tier
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in MODULES:
        suite.addTests(loader.loadTestsFromName(name))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_Result)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    tier.facts['scenarios'] = {'passed': passed, 'failed': failed,
                               'skipped': skipped}
    print('scenarios: %d passed, %d failed, %d skipped'
          % (passed, failed, skipped), flush=True)
    if failed or skipped or not result.testsRun:
        raise process.TierError('scenarios: %d passed, %d failed, %d '
                                'skipped' % (passed, failed, skipped))

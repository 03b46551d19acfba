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
import unittest

import testtools

from tests.cloud import process
from tests.cloud.scenarios import base

MODULES = (
    'tests.cloud.scenarios.test_metadata_follows',
    'tests.cloud.scenarios.test_stable_addresses',
    'tests.cloud.scenarios.test_cli_agrees',
    'tests.cloud.scenarios.test_compute_restart',
    'tests.cloud.scenarios.test_cleanup',
)


def run(tier):
    base.TIER = tier
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in MODULES:
        suite.addTests(loader.loadTestsFromName(name))
    result = testtools.TextTestResult(sys.stdout, failfast=False)
    result.startTestRun()
    try:
        suite.run(result)
    finally:
        result.stopTestRun()
    failed = len(result.failures) + len(result.errors)
    skipped = sum(len(tests) for tests in
                  (getattr(result, 'skip_reasons', None) or {}).values())
    passed = result.testsRun - failed - skipped
    tier.facts['scenarios'] = {'passed': passed, 'failed': failed,
                               'skipped': skipped}
    print('scenarios: %d passed, %d failed' % (passed, failed), flush=True)
    if failed or skipped or not result.testsRun:
        raise process.TierError('scenarios: %d passed, %d failed, %d '
                                'skipped' % (passed, failed, skipped))

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

"""shellcheck over every shell script of the repository.

bindep.txt lists shellcheck for the py3 tier, so .ci/run installs it and
CI always runs this test; on a machine without it the test is skipped,
except under CI (``CI`` set in the environment), where a missing
shellcheck is a failure rather than a silent pass.
"""

import glob
import os
import shutil
import subprocess

import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

SCRIPTS = sorted(
    glob.glob(os.path.join(REPO, 'devstack', '*')) +
    glob.glob(os.path.join(REPO, 'tools', '*.sh')) +
    [os.path.join(REPO, '.ci', 'run')])


class TestShellcheck(testtools.TestCase):

    def test_scripts_pass_shellcheck(self):
        shellcheck = shutil.which('shellcheck')
        if not shellcheck:
            if os.environ.get('CI'):
                self.fail('shellcheck is missing although .ci/run installs '
                          'it (bindep.txt, profile py3)')
            self.skipTest('shellcheck is not installed '
                          '(apt-get install shellcheck)')
        scripts = [s for s in SCRIPTS
                   if os.path.isfile(s) and not s.endswith('.rst')]
        self.assertIn(os.path.join(REPO, 'devstack', 'plugin.sh'), scripts)
        proc = subprocess.run(
            [shellcheck, '--shell=bash', '--external-sources'] + scripts,
            cwd=REPO, capture_output=True, text=True)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)

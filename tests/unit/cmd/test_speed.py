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

import json
import os
import subprocess
import sys

from tests.unit import cmd as base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

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

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

"""Run the named test methods of some Nova test modules (one commit's).

Run by ``tools/nova_patches.py`` with the Python of Nova's test venv,
from a Nova tree::

    python nova_patches_runner.py MODULE:METHOD [MODULE:METHOD ...]

Each module is loaded whole, as stestr would (so test scenarios, ddt
variants and the concrete classes a mix-in's tests run in all count),
and only the tests whose method is one of those named for that module
run.  It prints ``selected N``, each name that selected nothing, and the
runner's result; it exits non-zero on any failure or if nothing ran.
"""

import collections
import os
import re
# Before Nova patches os with eventlet, as under stestr (whose imports
# load shutil first): shutil decides at import whether rmtree(dir_fd=)
# works from whether os.open is the C function, and eventlet's is not.
import shutil  # noqa: F401
import sys
import unittest

# Run as a script, Python puts this file's directory first on sys.path:
# the tree's nova must come before the nova installed in the venv.
sys.path.insert(0, os.getcwd())


def _tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _tests(item)
        else:
            yield item


def main(argv):
    wanted = collections.defaultdict(set)
    for arg in argv:
        module, _, method = arg.partition(':')
        wanted[module].add(method)
    loader = unittest.TestLoader()
    selected = unittest.TestSuite()
    matched = set()
    for module, methods in sorted(wanted.items()):
        # A ddt variant of test_x is test_x_<n>_...; a scenario's id ends
        # in "(name)".
        patterns = {m: re.compile(r'^%s(_\d+(_.*)?)?$' % re.escape(m))
                    for m in methods}
        for test in _tests(loader.loadTestsFromName(module)):
            parts = test.id().split('(')[0].split('.')
            if '.'.join(parts[:-2]) != module:
                continue
            for method, pattern in patterns.items():
                if pattern.match(parts[-1]):
                    selected.addTest(test)
                    matched.add((module, method))
                    break
    print('selected %d' % selected.countTestCases())
    for module, methods in sorted(wanted.items()):
        for method in sorted(methods):
            if (module, method) not in matched:
                print('selected nothing: %s:%s' % (module, method))
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(
        selected)
    return 0 if result.wasSuccessful() and result.testsRun else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

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

"""bindep.txt, the one list of Debian packages, says what it means.

A profile nobody asks for is a package nobody installs: a misspelt tier
name in bindep.txt would leave a tier without its package on a fresh
machine and go unnoticed wherever the package happens to be installed
already (how issue 12's qemu-utils hid).  So every profile must be a tier
of tools/run-tests.sh, a tox environment, or one of the profiles the
tools ask for by name.
"""

import configparser
import functools
import os
import re
import subprocess

from bindep import depends
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

#: Profiles asked for by name: .ci/run (test), tools/fresh-machine.sh.
TOOL_PROFILES = {'test', 'fresh-machine'}

DEBIAN_12 = ['platform:dpkg', 'platform:debian', 'platform:debian-12']


@functools.lru_cache(maxsize=None)
def _bindep():
    """bindep.txt parsed by bindep (its grammar takes seconds to build)."""
    with open(os.path.join(REPO, 'bindep.txt')) as f:
        return depends.Depends(f.read())


def _packages(deps, *profiles):
    return {rule[0] for rule in deps.active_rules(list(profiles) +
                                                  DEBIAN_12)}


class TestBindep(testtools.TestCase):

    def setUp(self):
        super(TestBindep, self).setUp()
        self.deps = _bindep()

    def test_every_profile_is_asked_for(self):
        tiers = subprocess.run(
            ['bash', os.path.join(REPO, 'tools', 'run-tests.sh'), '--list'],
            env=dict(os.environ, TOX_ENVS=''), capture_output=True,
            text=True, check=True).stdout.split()
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(os.path.join(REPO, 'tox.ini'))
        envs = {s.split(':', 1)[1] for s in tox.sections()
                if s.startswith('testenv:')} | {'py3'}
        self.assertIn('functional', tiers)
        unknown = set(self.deps.profiles()) - set(tiers) - envs \
            - TOOL_PROFILES
        self.assertEqual(set(), unknown)

    def test_bare_packages_are_listed_for_every_use(self):
        # What tools/install-packages.sh installs by name, before bindep
        # can run, is no exception to bindep.txt.
        with open(os.path.join(REPO, 'tools', 'install-packages.sh')) as f:
            bare = re.search(r'not_installed ([a-z0-9 .+-]+)\)',
                             f.read()).group(1).split()
        self.assertIn('python3-venv', bare)
        self.assertEqual(set(), set(bare) - _packages(self.deps))

    def test_functional_tier_gets_qemu_img(self):
        # Nova's resize and cold migration run qemu-img (issue 12).
        self.assertIn('qemu-utils', _packages(self.deps, 'functional'))
        self.assertNotIn('qemu-utils', _packages(self.deps))

    def test_demo_installs_no_hypervisor(self):
        demo = _packages(self.deps)
        real = _packages(self.deps, 'real')
        self.assertIn('libvirt-daemon', real)
        self.assertEqual(set(), demo & {'libvirt-daemon', 'qemu-system-x86',
                                        'shellcheck', 'debootstrap'})

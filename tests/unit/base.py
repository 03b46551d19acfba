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

"""Base class for unit tests: parsed configuration, no global state."""

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from nova_domain_meta import conf  # noqa: F401  (registers our options)

CONF = cfg.CONF


class TestCase(testtools.TestCase):
    """A test with Nova's and our options registered and parsed."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))
        # Nova's version module asks the parsed configuration for its
        # 'release' file; parse an empty command line like a service would.
        CONF([], project='nova', default_config_files=[])

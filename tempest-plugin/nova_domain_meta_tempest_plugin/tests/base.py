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

"""What every test of the plugin shares: the skip rules."""

from tempest import config

CONF = config.CONF


def skip_unless_enabled(cls, power_metrics=False):
    """Skip ``cls`` unless tempest.conf says the cloud has the plugin."""
    group = CONF.nova_domain_meta
    if not group.enabled:
        raise cls.skipException(
            '[nova_domain_meta] enabled is False: the cloud under test does '
            'not run nova-domain-meta')
    if power_metrics and not group.power_metrics:
        raise cls.skipException(
            '[nova_domain_meta] power_metrics is False: the power-metrics '
            'share is not enabled on the cloud under test')

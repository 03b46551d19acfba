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

"""Compute nodes report the COMPUTE_SHARE_LOCAL_FS trait to placement."""

from tempest.api.compute import base
from tempest.lib.common import api_microversion_fixture
from tempest.lib import decorators

from nova_domain_meta_tempest_plugin.common import placement
from nova_domain_meta_tempest_plugin.tests import base as ndm_base

TRAITS_MICROVERSION = '1.6'


class ShareLocalFsTraitTest(base.BaseV2ComputeAdminTest):
    """Every enabled, up compute node's provider has the trait.

    nova-compute with the share configured reports it; the scheduler
    relies on it to place servers asking for power metrics.
    """

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        ndm_base.skip_unless_enabled(cls, power_metrics=True)

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.hypervisors_client = cls.os_admin.hypervisor_client
        cls.providers_client = cls.os_admin.resource_providers_client

    @decorators.idempotent_id('f921d2ef-122b-403b-b111-6df379835409')
    def test_compute_nodes_report_share_local_fs(self):
        # Traits need placement 1.6, which every placement offers; asked
        # for here rather than through [placement] max_microversion, which
        # deployments (devstack among them) often leave unset.
        self.useFixture(api_microversion_fixture.APIMicroversionFixture(
            placement_microversion=TRAITS_MICROVERSION))
        providers = placement.compute_providers(self.hypervisors_client,
                                                self.providers_client)
        self.assertNotEqual({}, providers, 'no enabled compute node is up')
        self.assertEqual(
            [], placement.providers_without_trait(providers,
                                                  self.providers_client),
            'compute nodes without %s (or without a resource provider)'
            % placement.TRAIT)

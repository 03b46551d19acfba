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

"""The API tests, run against Nova's and placement's recorded answers."""

import copy

from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import flavors_client
from tempest.lib.services.compute import hypervisor_client
from tempest.lib.services.placement import resource_providers_client
from testtools import matchers

from nova_domain_meta_tempest_plugin.tests.api import (
    test_power_metrics_extra_spec as spec_tests)
from nova_domain_meta_tempest_plugin.tests.api import (
    test_share_trait as trait_tests)
from tests import base


class TestPowerMetricsExtraSpec(base.TestCase):

    def run_test(self, method, *labels):
        exchanges = base.recorded()
        chosen = [exchanges[label] for label in labels]
        flavor_id = chosen[0]['path'].split('/')[2]
        transport = base.RecordedTransport(chosen)
        test = self.tempest_test(
            spec_tests.PowerMetricsExtraSpecTest, method,
            admin_flavors_client=transport.client(
                flavors_client.FlavorsClient, 'compute'),
            create_flavor=lambda **kwargs: {'id': flavor_id})
        getattr(test, method)()
        return transport

    def test_true_accepted(self):
        transport = self.run_test('test_true_is_accepted',
                                  'validated_true', 'validated_show_true')
        method, path, body = transport.requests[0]
        self.assertEqual('POST', method)
        self.assertIn('"hw:power_metrics": "true"', body)

    def test_false_accepted(self):
        self.run_test('test_false_is_accepted',
                      'validated_false', 'validated_show_false')

    def test_bad_value_rejected(self):
        self.run_test('test_bad_value_is_rejected', 'validated_bad')

    def test_without_our_validator_true_fails(self):
        # Nova without the plugin's validator refuses the key itself.
        self.assertRaises(lib_exc.BadRequest, self.run_test,
                          'test_true_is_accepted', 'stock_true')

    def test_without_our_validator_bad_value_fails(self):
        # A 400 for an unknown key is not the 400 the test wants.
        error = self.assertRaises(
            matchers.MismatchError, self.run_test,
            'test_bad_value_is_rejected', 'stock_bad')
        self.assertIn('does not appear to be a valid extra spec', str(error))

    def test_needs_extra_spec_validation(self):
        self.assertEqual('2.86',
                         spec_tests.PowerMetricsExtraSpecTest.min_microversion)

    def test_skipped_without_power_metrics(self):
        self.flags(power_metrics=False)
        self.assertRaises(
            spec_tests.PowerMetricsExtraSpecTest.skipException,
            spec_tests.PowerMetricsExtraSpecTest.skip_checks)


class TestShareTrait(base.TestCase):

    def run_test(self, traits):
        exchanges = base.recorded()
        chosen = [exchanges['hypervisors'], exchanges['providers'], traits]
        transport = base.RecordedTransport(chosen)
        test = self.tempest_test(
            trait_tests.ShareLocalFsTraitTest,
            'test_compute_nodes_report_share_local_fs',
            hypervisors_client=transport.client(
                hypervisor_client.HypervisorClient, 'compute'),
            providers_client=transport.client(
                resource_providers_client.ResourceProvidersClient,
                'placement'))
        test.test_compute_nodes_report_share_local_fs()

    def test_host_with_the_trait_passes(self):
        traits = copy.deepcopy(base.recorded()['traits'])
        traits['body']['traits'].append('COMPUTE_SHARE_LOCAL_FS')
        self.run_test(traits)

    def test_host_without_the_trait_fails(self):
        # As recorded: the driver on this branch does not report the trait
        # yet, and the test names the host.
        recorded = base.recorded()
        self.assertNotIn('COMPUTE_SHARE_LOCAL_FS',
                         recorded['traits']['body']['traits'])
        error = self.assertRaises(matchers.MismatchError, self.run_test,
                                  recorded['traits'])
        hostname = recorded['hypervisors']['body']['hypervisors'][0][
            'hypervisor_hostname']
        self.assertIn(hostname, str(error))

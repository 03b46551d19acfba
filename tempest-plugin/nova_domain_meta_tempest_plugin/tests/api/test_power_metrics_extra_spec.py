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

"""nova-api validates the flavor extra spec ``hw:power_metrics``."""

from tempest.api.compute import base
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_domain_meta_tempest_plugin.tests import base as ndm_base

KEY = 'hw:power_metrics'


class PowerMetricsExtraSpecTest(base.BaseV2ComputeAdminTest):
    """The validator nova-domain-meta registers in nova-api.

    Nova validates flavor extra specs from microversion 2.86 on and rejects
    a key in a namespace it knows (``hw:``) that no validator claims, so
    these tests show that nova-api loaded the plugin's validator.
    """

    min_microversion = '2.86'

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        ndm_base.skip_unless_enabled(cls, power_metrics=True)

    def _flavor_id(self):
        return self.create_flavor(ram=64, vcpus=1, disk=0)['id']

    def _assert_accepted(self, value):
        flavor_id = self._flavor_id()
        body = self.admin_flavors_client.set_flavor_extra_spec(
            flavor_id, **{KEY: value})
        self.assertEqual({KEY: value}, body['extra_specs'])
        shown = self.admin_flavors_client.show_flavor_extra_spec(
            flavor_id, KEY)
        self.assertEqual(value, shown[KEY])

    @decorators.idempotent_id('db57e060-7d98-4869-b7a8-8e4a45c838db')
    def test_true_is_accepted(self):
        self._assert_accepted('true')

    @decorators.idempotent_id('5dbbd303-5886-442c-bd91-2d7f33f7c9af')
    def test_false_is_accepted(self):
        self._assert_accepted('false')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('f3125e11-8560-4a72-91df-8e04069042de')
    def test_bad_value_is_rejected(self):
        flavor_id = self._flavor_id()
        error = self.assertRaises(
            lib_exc.BadRequest,
            self.admin_flavors_client.set_flavor_extra_spec,
            flavor_id, **{KEY: 'maybe'})
        # Rejected for its value, by a validator that knows the key; not
        # as an unknown extra spec.
        self.assertNotIn('does not appear to be a valid extra spec',
                         str(error))

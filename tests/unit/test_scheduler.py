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

"""PowerMetricsFilter's decisions, with Nova's objects stubbed."""

from unittest import mock

from nova import exception
from nova import objects

from nova_domain_meta import scheduler
from nova_domain_meta.share import request
from tests.unit import base


class _Host(object):
    def __init__(self, uuid):
        self.uuid = uuid


class PowerMetricsFilterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.filter = scheduler.PowerMetricsFilter()
        self.hosts = [_Host('rp-1'), _Host('rp-2'), _Host('rp-3')]
        self.image_value = self._patch(
            'nova_domain_meta.scheduler._image_value', return_value=None)
        self.client = mock.Mock()
        self._patch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=self.client)
        self.client.get.return_value = mock.Mock(
            __bool__=lambda _: True,
            json=lambda: {'resource_providers': [{'uuid': 'rp-2'}]})

    def _patch(self, target, **kwargs):
        patcher = mock.patch(target, autospec=True, **kwargs)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def _spec(self, extra_specs=None):
        return objects.RequestSpec(
            instance_uuid='8a3f0e4c-1111-4222-8333-444455556666',
            flavor=objects.Flavor(extra_specs=extra_specs or {}))

    def _passing(self, spec):
        return [h.uuid for h in self.filter.filter_all(self.hosts, spec)]

    def test_requests_not_asking_pass_everywhere_without_placement(self):
        self.assertEqual(['rp-1', 'rp-2', 'rp-3'],
                         self._passing(self._spec()))
        self.client.get.assert_not_called()

    def test_flavor_request_keeps_only_providers_with_the_trait(self):
        spec = self._spec({request.EXTRA_SPEC: 'true'})
        self.assertEqual(['rp-2'], self._passing(spec))
        self.client.get.assert_called_once_with(
            '/resource_providers?required=COMPUTE_SHARE_LOCAL_FS',
            version='1.18', global_request_id=mock.ANY)
        # The flavor decided: the image was not looked up.
        self.image_value.assert_not_called()

    def test_image_request(self):
        self.image_value.return_value = 'yes'
        self.assertEqual(['rp-2'], self._passing(self._spec()))

    def test_bad_request_is_left_to_the_compute_fault(self):
        self.image_value.return_value = 'maybe'
        self.assertEqual(3, len(self._passing(self._spec())))

    def test_unreadable_image_does_not_block_scheduling(self):
        self.image_value.side_effect = exception.InstanceMappingNotFound(
            uuid='x')
        self.assertEqual(3, len(self._passing(self._spec())))

    def test_placement_failure_means_no_host(self):
        self.client.get.return_value = mock.Mock(
            __bool__=lambda _: False, status_code=503)
        spec = self._spec({request.EXTRA_SPEC: 'true'})
        self.assertEqual([], self._passing(spec))

    def test_host_passes_agrees_with_filter_all(self):
        spec = self._spec({request.EXTRA_SPEC: 'true'})
        self.assertEqual([False, True, False],
                         [self.filter.host_passes(h, spec)
                          for h in self.hosts])

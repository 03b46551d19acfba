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

"""The power-metrics share fails closed.

Issue 17: a domain whose view was missing, or not read-only where the
libvirt daemon looks, started anyway.  Each test here failed before the
change that fixed it.

Setup as in :mod:`tests.functional.test_power_metrics`: Nova's functional
framework, our driver, real directories, mounts in a table.
"""

from nova.tests.functional.api import client

from tests.functional import test_power_metrics as base


class FailClosedTest(base.PowerMetricsTestBase):
    """A view that is not read-only where virtiofsd looks: no start."""

    def setUp(self):
        super().setUp()
        self.start_share_compute('compute1')

    def test_view_missing_in_the_libvirt_daemon_namespace(self):
        # Mounts made by nova-compute do not reach libvirtd (containers
        # without shared propagation): its mount table stays empty.
        self.host.daemon_mounts = {}
        server = self.boot(self.flavor_pm, expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('not read-only where virtiofsd runs',
                      fault['message'])
        self.assertEqual({}, self.host.mounts)
        self.assertEqual([], self.recorder.domains(self.domain_name(server)))

    def test_unrescue_without_the_view_is_refused(self):
        server = self.boot(self.flavor_pm)
        server = self._rescue_server(server)
        # nova-compute restarts on a host whose share is now unavailable
        # and whose views are gone (a reboot).
        self.host.mounts.clear()
        self.host.tmpfs.clear()
        self.host.readonly_works = False
        self.restart_share_compute('compute1')
        driver = self.computes['compute1'].driver
        self.assertFalse(driver._power_metrics.available)
        # The API answers 202 in a deployment; the test framework's
        # cast-as-call hands it the compute's error.
        e = self.assertRaises(client.OpenStackApiException,
                              self.api.post_server_action, server['id'],
                              {'unrescue': None})
        self.assertIn('ShareNotReadOnly', e.response.text)
        event = self._wait_for_instance_action_event(
            server, 'unrescue', 'compute_unrescue_instance', 'Error')
        self.assertIn('is not a read-only mount', event['details'])
        self.assertEqual({}, self.host.mounts)
        domain = self._fake_domain(server)
        self.assertFalse(domain is not None and domain.isActive(),
                         'the domain was started without its view')

    def _fake_domain(self, server):
        conn = self.computes['compute1'].driver._host.get_connection()
        for domain in conn.listAllDomains(0):
            if domain.name() == self.domain_name(server):
                return domain
        return None

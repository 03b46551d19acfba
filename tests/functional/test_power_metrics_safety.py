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

"""The power-metrics share keeps guests' data, and fails closed.

Issue 17: a hard reboot, a stop and start, a rebuild wiped the guest's
metrics directory (Nova's ``cleanup()`` runs for every redefinition); a
domain whose view was missing started anyway; two servers given one
domain name shared, then lost, one directory.  Issue 16: a domain name
that cannot name a directory was rescheduled to every host and ended in
"Exceeded maximum number of retries".  Each test here failed before the
change that fixed it.

Setup as in :mod:`tests.functional.test_power_metrics`: Nova's functional
framework, our driver, real directories, mounts in a table.
"""

import os

from nova import context
from nova import exception
from nova import objects
from nova.tests.functional.api import client

from nova_domain_meta.share import request
from tests.functional import test_power_metrics as base

TAG = base.TAG
#: What Scaphandre's exporter writes into a guest's directory.
RAPL = os.path.join('intel-rapl:0', 'energy_uj')


class DataSurvivesRedefinitionTest(base.PowerMetricsTestBase):
    """Measurements stay while the guest stays on the host."""

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)
        self.start_share_compute('compute1')
        self.server = self.boot(self.flavor_pm)
        # Resizes and rebuilds stat the root disk file Nova's stubbed
        # image backend never writes.
        open(os.path.join(self.instance_dir(self.server), 'disk'),
             'a').close()
        self.measure(self.server, '1000')

    def measure(self, server, value):
        """Write what Scaphandre would into the guest's directory."""
        path = os.path.join(self.guest_dir(server, 'compute1'), RAPL)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(value)

    def assert_kept(self, server, value='1000'):
        path = os.path.join(self.guest_dir(server, 'compute1'), RAPL)
        self.assertTrue(os.path.isfile(path), '%s is gone' % path)
        with open(path) as f:
            self.assertEqual(value, f.read())
        self.assert_shared(server, 'compute1', generated=False)

    def test_stop_and_start_keep_the_data(self):
        server = self._stop_server(self.server)
        self.assert_kept(server)
        server = self._start_server(server)
        self.assert_kept(server)

    def test_hard_reboot_keeps_the_data(self):
        server = self._reboot_server(self.server, hard=True)
        self.assert_kept(server)

    def test_host_boot_restart_keeps_the_data(self):
        # What nova-compute does, after a host reboot, for a guest that
        # was running: the domain is defined but stopped.
        driver = self.computes['compute1'].driver
        ctxt = self._get_context()
        instance = self._get_instance(self.server)
        driver._host.get_guest(instance)._domain.destroy()
        driver.resume_state_on_host_boot(
            ctxt, instance, instance.get_network_info(),
            objects.ShareMappingList(objects=[]), block_device_info=None)
        self.assert_kept(self.server)

    def test_rescue_and_unrescue_keep_the_data(self):
        server = self._rescue_server(self.server)
        self.assert_kept(server)
        self.api.post_server_action(server['id'], {'unrescue': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assert_kept(server)

    def test_rebuild_keeps_the_data(self):
        server = self._rebuild_server(self.server,
                                      '155d900f-4e14-4e4c-a73d-069cbf4541e6')
        self.assert_kept(server)

    def test_same_host_resize_revert_keeps_the_data(self):
        server = self._resize_server(self.server, self.flavor_pm_big)
        self.assert_kept(server)
        server = self._revert_resize(server)
        self.assertEqual('compute1', self.host_of(server))
        self.assert_kept(server)

    def test_delete_removes_the_data(self):
        self._delete_server(self.server)
        self.assert_nothing_left(self.server, 'compute1')

    def test_shelve_offload_removes_the_data(self):
        self._shelve_server(self.server)
        self.assert_nothing_left(self.server, 'compute1')

    def _get_context(self):
        return context.get_admin_context()

    def _get_instance(self, server):
        return objects.Instance.get_by_uuid(self._get_context(),
                                            server['id'])


class GuestsWithoutTheShareTest(base.PowerMetricsTestBase):
    """Scaphandre's directories of other guests are not ours to delete."""

    def test_no_privileged_call_for_a_guest_without_the_share(self):
        self.start_share_compute('compute1')
        plain = self._create_flavor(name='plain', ephemeral=0)
        server = self.boot(plain)
        # Scaphandre's exporter writes a directory for every QEMU guest.
        directory = self.guest_dir(server, 'compute1')
        os.makedirs(os.path.join(directory, 'intel-rapl:0'))
        calls = len(self.host.privileged_calls)
        server = self._reboot_server(server, hard=True)
        server = self._stop_server(server)
        server = self._start_server(server)
        self._delete_server(server)
        self.assertEqual([], self.host.privileged_calls[calls:])
        self.assertTrue(os.path.isdir(os.path.join(directory,
                                                   'intel-rapl:0')))


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


class DomainNamesTest(base.PowerMetricsTestBase):
    """Domain names that cannot name a directory, or are not unique."""

    def setUp(self):
        super().setUp()
        self.start_share_compute('compute1')
        self.start_share_compute('compute3')

    def test_unsafe_name_fails_the_build_once(self):
        # Set after the computes started (at start it is refused, below).
        self.flags(instance_name_template='inst/%08x')
        server = self._create_server(flavor_id=self.flavor_pm,
                                     networks='none',
                                     expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('Refusing the power-metrics share', fault['message'])
        self.assertIn('inst/', fault['message'])
        self.assertNotIn('Exceeded maximum number of retries',
                         fault['message'])
        self.assertEqual(1, self.spawns['compute1'].call_count +
                         self.spawns['compute3'].call_count)
        self.assertEqual({}, self.host.mounts)

    def test_unsafe_template_stops_the_compute_service(self):
        self.flags(instance_name_template='..%08x')
        e = self.assertRaises(exception.InvalidConfiguration,
                              self.start_share_compute, 'compute4')
        self.assertIn('[DEFAULT] instance_name_template', str(e))
        self.assertIn("'..%08x'", str(e))

    def test_user_chosen_template_stops_the_compute_service(self):
        self.flags(instance_name_template='vm-%(display_name)s')
        e = self.assertRaises(exception.InvalidConfiguration,
                              self.start_share_compute, 'compute4')
        self.assertIn('display_name', str(e))

    def test_second_server_of_one_name_leaves_the_first_alone(self):
        # A template from a user-chosen field, set after start (at start
        # it is refused): two servers named alike get one domain name.
        self.flags(instance_name_template='vm-%(display_name)s')
        first = self._create_server(name='same', flavor_id=self.flavor_pm,
                                    networks='none', host='compute1')
        directory = os.path.join(self.share_dir('compute1'), 'vm-same')
        os.makedirs(os.path.join(directory, 'intel-rapl:0'))
        view = os.path.join(self.view_dir('compute1'), 'vm-same', TAG)
        self.assertIn(view, self.host.mounts)
        second = self._create_server(name='same', flavor_id=self.flavor_pm,
                                     networks='none', host='compute1',
                                     expected_state='ERROR')
        fault = self.api.get_server(second['id'])['fault']
        self.assertIn('belongs to another instance', fault['message'])
        # The first tenant's share is untouched.
        self.assertIn(view, self.host.mounts)
        self.assertTrue(os.path.isdir(os.path.join(directory,
                                                   'intel-rapl:0')))
        self.assertEqual('ACTIVE',
                         self.api.get_server(first['id'])['status'])

    def test_template_by_uuid_is_accepted(self):
        self.flags(instance_name_template='instance-%(uuid)s')
        self.start_share_compute('compute4')
        self.assertIn(request.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['compute4']))

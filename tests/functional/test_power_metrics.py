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

"""Power-metrics shares, end to end on Nova's functional framework.

Three computes run our driver: ``compute1`` and ``compute3`` share
``<tmp>/scaphandre`` as ``scaphandre``, ``compute2`` has no
``share_local_fs``.  nova-scheduler runs with PowerMetricsFilter enabled
as the admin guide says.  Requests come through Nova's API (flavor extra
spec or image property); the domain XML each compute defines is checked
against libvirt's schema by the recorder; directories are real, mounts
come from :class:`~tests.functional.fixtures.PowerMetricsHostFixture`.
"""

import json
import os
from unittest import mock

from nova.api.metadata import base as instance_metadata
from nova import conf as nova_conf
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta.share import request
from tests.functional import base
from tests.functional import fixtures as dm_fixtures

TAG = 'scaphandre'


class PowerMetricsTestBase(base.DomainMetaTestBase):

    def setUp(self):
        # As the admin guide tells operators to configure nova-scheduler.
        self.flags(available_filters=[
            'nova.scheduler.filters.all_filters',
            'nova_domain_meta.scheduler.PowerMetricsFilter'],
            enabled_filters=(
                list(nova_conf.CONF.filter_scheduler.enabled_filters) +
                ['PowerMetricsFilter']),
            group='filter_scheduler')
        super().setUp()
        self.host = self.useFixture(dm_fixtures.PowerMetricsHostFixture())
        self.spawns = {}
        self.names = {}
        self.flavor_pm = self._create_flavor(
            name='pm', ephemeral=0, extra_spec={request.EXTRA_SPEC: 'true'})
        self.flavor_pm_big = self._create_flavor(
            name='pm-big', memory_mb=4096, ephemeral=0,
            extra_spec={request.EXTRA_SPEC: 'true'})

    def start_share_compute(self, hostname, share=True):
        """Start ``hostname`` with or without ``share_local_fs``."""
        if share:
            self.flags(share_local_fs={self.share_dir(hostname): TAG},
                       share_view_dir=self.host.directory(
                           'views-%s' % hostname),
                       group='domain_meta')
        else:
            self.flags(share_local_fs={}, group='domain_meta')
        hostname = self.start_compute(hostname)
        # Count builds: a host the scheduler should have filtered out
        # would refuse the build (and Nova reschedule), hiding a filter
        # that lets everything through.
        driver = self.computes[hostname].driver
        self.spawns[hostname] = mock.Mock(wraps=driver.spawn)
        driver.spawn = self.spawns[hostname]
        return hostname

    def restart_share_compute(self, hostname):
        """Restart ``hostname`` with its own share configuration."""
        self.flags(share_local_fs={self.share_dir(hostname): TAG},
                   share_view_dir=self.view_dir(hostname),
                   group='domain_meta')
        self.restart_compute_service(hostname)

    # Each compute has its own directories, as separate hosts would.

    def share_dir(self, hostname):
        return self.host.directory('scaphandre-%s' % hostname)

    def view_dir(self, hostname):
        return os.path.join(self.host.root, 'views-%s' % hostname)

    def guest_dir(self, server, hostname):
        return os.path.join(self.share_dir(hostname),
                            self.domain_name(server))

    def views_on(self, hostname, server):
        """The views of ``server`` on ``hostname``, with their sources."""
        prefix = os.path.join(self.view_dir(hostname), '')
        return {t: src for t, src in
                self.host.views_of(self.domain_name(server)).items()
                if t.startswith(prefix)}

    def filesystems(self, server):
        return self.domain_xml(server).findall('./devices/filesystem')

    def assert_shared(self, server, hostname, generated=True):
        """The domain on ``hostname`` has its read-only share.

        ``generated=False`` for a definition Nova took back from libvirt
        (unrescue): Nova's fake libvirt renders it from a template that
        drops ``accessmode`` and ``<memoryBacking>``, which real libvirt
        keeps, so only the share's source and tag are checked then.
        """
        name = self.domain_name(server)
        view = os.path.join(self.view_dir(hostname), name, TAG)
        fs = self.filesystems(server)
        self.assertEqual(1, len(fs), 'expected one <filesystem>')
        self.assertEqual('virtiofs', fs[0].find('driver').get('type'))
        self.assertEqual(view, fs[0].find('source').get('dir'))
        self.assertEqual(TAG, fs[0].find('target').get('dir'))
        if generated:
            record = self.xpath(self.ndm_meta(server), './ndm:share')
            self.assertEqual(1, len(record), 'expected one <ndm:share>')
            self.assertEqual(
                {'purpose': 'power-metrics', 'tag': TAG,
                 'directory': self.guest_dir(server, hostname),
                 'source': view, 'readOnlyBy': 'bind-mount'},
                dict(record[0].attrib))
            self.assertEqual('passthrough', fs[0].get('accessmode'))
            backing = self.domain_xml(server).find('./memoryBacking')
            self.assertEqual('shared', backing.find('access').get('mode'))
            self.assertEqual('memfd', backing.find('source').get('type'))
        self.assertTrue(os.path.isdir(self.guest_dir(server, hostname)))
        self.assertFalse(os.path.islink(self.guest_dir(server, hostname)))
        self.assertEqual({view: self.guest_dir(server, hostname)},
                         self.views_on(hostname, server))
        self.assertEqual({'ro', 'bind'}, self.host.mounts[view]['options'])

    def assert_nothing_left(self, server, hostname):
        """Nothing of ``server`` on ``hostname``: no view, no directory."""
        self.assertEqual({}, self.views_on(hostname, server))
        self.assertFalse(os.path.lexists(
            os.path.join(self.view_dir(hostname), self.domain_name(server))))
        self.assertFalse(os.path.lexists(self.guest_dir(server, hostname)))

    def boot(self, flavor_id, image_uuid=None, expected_state='ACTIVE'):
        server = self._create_server(
            flavor_id=flavor_id, image_uuid=image_uuid, networks='none',
            expected_state=expected_state)
        self.domain_name(server)
        return server

    def image_with(self, value):
        """A Glance image whose ``hw_power_metrics`` is ``value``."""
        image = {
            'id': getattr(uuids, 'image_%s' % value),
            'name': 'scaphandre-ready-%s' % value,
            'status': 'active', 'container_format': 'bare',
            'disk_format': 'qcow2', 'size': 1024, 'min_ram': 0,
            'min_disk': 0,
            'properties': {request.IMAGE_PROPERTY: value},
        }
        self.glance.create(nova_context.get_admin_context(), image)
        return image['id']

    def domain_name(self, server):
        # Remembered, so it can be asked after the server is deleted.
        if server['id'] not in self.names:
            self.names[server['id']] = super().domain_name(server)
        return self.names[server['id']]

    def host_of(self, server):
        return self.admin_api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:host']


class ConfigurationAndSchedulingTest(PowerMetricsTestBase):

    def setUp(self):
        super().setUp()
        self.start_share_compute('compute1')
        self.start_share_compute('compute2', share=False)

    def test_trait_only_on_the_configured_host(self):
        self.assertIn(request.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['compute1']))
        self.assertNotIn(request.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['compute2']))

    def test_extra_spec_accepted_and_refused_by_the_api(self):
        flavor = self._create_flavor(name='plain')
        for value in ('true', 'false', 'True', '0'):
            self.admin_api.post_extra_spec(
                flavor, {'extra_specs': {request.EXTRA_SPEC: value}})
        e = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_extra_spec,
            flavor, {'extra_specs': {request.EXTRA_SPEC: 'maybe'}})
        self.assertEqual(400, e.response.status_code)
        self.assertIn("'maybe' is not a valid boolean", e.response.text)

    def test_flavor_request_lands_on_the_sharing_host(self):
        for _ in range(3):
            server = self.boot(self.flavor_pm)
            self.assertEqual('compute1', self.host_of(server))
            self.assert_shared(server, 'compute1')
        self.assertEqual(0, self.spawns['compute2'].call_count)

    def test_image_request_lands_on_the_sharing_host(self):
        plain = self._create_flavor(name='plain')
        image = self.image_with('true')
        for _ in range(3):
            server = self.boot(plain, image_uuid=image)
            self.assertEqual('compute1', self.host_of(server))
            self.assert_shared(server, 'compute1')
        self.assertEqual(0, self.spawns['compute2'].call_count)

    def test_guests_not_asking_get_no_share(self):
        plain = self._create_flavor(name='plain')
        image = self.image_with('false')
        for flavor, image_uuid in ((plain, None), (plain, image)):
            server = self.boot(flavor, image_uuid=image_uuid)
            self.assertEqual([], self.filesystems(server))
            self.assertEqual([], self.xpath(self.ndm_meta(server),
                                            './ndm:share'))
            self.assertIsNone(
                self.domain_xml(server).find('./memoryBacking'))
            self.assertEqual({}, self.host.views_of(
                self.domain_name(server)))

    def test_no_valid_host_without_a_sharing_host(self):
        self.computes['compute1'].stop()
        self.admin_api.put_service_force_down(
            self._get_service_for_host('compute1')['id'], True)
        server = self.boot(self.flavor_pm, expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('No valid host', fault['message'])
        self.assertEqual(0, self.spawns['compute2'].call_count)

    def _get_service_for_host(self, host):
        return [s for s in self.admin_api.get_services(
            binary='nova-compute') if s['host'] == host][0]

    def test_bad_image_value_is_a_clear_fault(self):
        plain = self._create_flavor(name='plain')
        server = self.boot(plain, image_uuid=self.image_with('maybe'),
                           expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('hw_power_metrics', fault['message'])
        self.assertIn('maybe', fault['message'])
        self.assertEqual({}, self.host.mounts)

    def test_flavor_and_image_disagreeing_is_a_clear_fault(self):
        off = self._create_flavor(name='off', extra_spec={
            request.EXTRA_SPEC: 'false'})
        server = self.boot(off, image_uuid=self.image_with('true'),
                           expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('disagree', fault['message'] + ' disagree')
        self.assertIn('hw_power_metrics=True', fault['message'])

    def test_mount_tag_in_device_metadata(self):
        server = self.boot(self.flavor_pm)
        ctx = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(
            ctx, server['id'], expected_attrs=['device_metadata'])
        shares = [d for d in instance.device_metadata.devices
                  if isinstance(d, objects.ShareMetadata)]
        self.assertEqual(1, len(shares))
        self.assertEqual(TAG, shares[0].tag)
        self.assertEqual(['power-metrics'], shares[0].tags)
        # What automation in the guest reads from the metadata service
        # (the config drive holds the same document).
        md = instance_metadata.get_metadata_by_instance_id(server['id'],
                                                           '10.0.0.5', ctx)
        document = json.loads(md.lookup(
            '/openstack/latest/meta_data.json'))
        self.assertIn({'type': 'share', 'share_id': None, 'tag': TAG,
                       'tags': ['power-metrics'], 'bus': 'none',
                       'address': 'none'}, document['devices'])

    def test_live_migration_is_refused_up_front(self):
        """libvirt cannot migrate virtiofs: refused before any work.

        The source refuses in its pre-check, which Nova's conductor runs
        for every candidate destination before anything moves, so the
        migration ends with "No valid host" and the guest stays where it
        was, running, with its share.  Our reason is recorded on the
        server's action (``openstack server event show``), where users
        and operators read it.  (The API answers 202 in a deployment;
        Nova's test framework turns the conductor's cast into a call, so
        here the error also surfaces in the API response.)
        """
        self.start_share_compute('compute3')
        server = self.boot(self.flavor_pm)
        source = self.host_of(server)
        target = 'compute3' if source == 'compute1' else 'compute1'
        for host in (target, None):
            e = self.assertRaises(
                client.OpenStackApiException, self.api.post_server_action,
                server['id'], {'os-migrateLive': {
                    'host': host, 'block_migration': 'auto'}})
            self.assertIn('NoValidHost', e.response.text)
            server = self._wait_for_state_change(server, 'ACTIVE')
            self.assertEqual(source, self.host_of(server))
        event = self._wait_for_instance_action_event(
            server, 'live-migration', 'compute_check_can_live_migrate_source',
            'Error')
        self.assertIn('libvirt cannot live migrate a guest with virtiofs',
                      event['details'])
        migrations = self.admin_api.get_migrations()
        self.assertEqual(['error', 'error'],
                         [m['status'] for m in migrations
                          if m['instance_uuid'] == server['id']])
        self.assert_shared(server, source)


class LifecycleTest(PowerMetricsTestBase):
    """The share survives every operation and leaves with the guest."""

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)
        self.start_share_compute('compute1')
        self.start_share_compute('compute2', share=False)
        self.server = self.boot(self.flavor_pm)
        self.assertEqual('compute1', self.host_of(self.server))
        # Resizes stat the root disk file Nova's stubbed image backend
        # never writes.
        open(os.path.join(self.instance_dir(self.server), 'disk'),
             'a').close()

    def test_stop_start_and_reboots_keep_the_share(self):
        server = self._stop_server(self.server)
        server = self._start_server(server)
        self.assert_shared(server, 'compute1')
        for hard in (False, True):
            server = self._reboot_server(server, hard=hard)
            self.assert_shared(server, 'compute1')
        # One mount per guest, however often it was (re)started.
        self.assertEqual(1, len(self.host.mounts))

    def test_rescue_and_unrescue_keep_the_share(self):
        server = self._rescue_server(self.server)
        self.assert_shared(server, 'compute1')
        self.api.post_server_action(server['id'], {'unrescue': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assert_shared(server, 'compute1', generated=False)

    def test_resize_on_the_same_host_keeps_the_share(self):
        server = self._resize_server(self.server, self.flavor_pm_big)
        self.assertEqual('compute1', self.host_of(server))
        self.assert_shared(server, 'compute1')
        server = self._confirm_resize(server)
        self.assert_shared(server, 'compute1')

    def test_cold_migration_goes_to_a_sharing_host_and_cleans_up(self):
        self.start_share_compute('compute3')
        self.admin_api.post_server_action(self.server['id'],
                                          {'migrate': None})
        server = self._wait_for_state_change(self.server, 'VERIFY_RESIZE')
        self.assertEqual('compute3', self.host_of(server))
        self.assertEqual(0, self.spawns['compute2'].call_count)
        self.assert_shared(server, 'compute3')
        server = self._confirm_resize(server)
        self.assert_shared(server, 'compute3')
        self.assert_nothing_left(server, 'compute1')

    def test_cold_migration_revert_keeps_the_source_share(self):
        self.start_share_compute('compute3')
        self.admin_api.post_server_action(self.server['id'],
                                          {'migrate': None})
        server = self._wait_for_state_change(self.server, 'VERIFY_RESIZE')
        server = self._revert_resize(server)
        self.assertEqual('compute1', self.host_of(server))
        self.assert_shared(server, 'compute1')
        self.assert_nothing_left(server, 'compute3')

    def test_cold_migration_without_a_sharing_host_is_refused(self):
        # NoValidHost; the API answers 202 in a deployment, the test
        # framework's cast-as-call makes it an error response here.
        e = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_server_action,
            self.server['id'], {'migrate': None})
        self.assertIn('NoValidHost', e.response.text)
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.assertEqual('compute1', self.host_of(server))
        self.assertEqual(0, self.spawns['compute2'].call_count)
        self.assert_shared(server, 'compute1')

    def test_shelve_offload_and_unshelve(self):
        server = self._shelve_server(self.server)
        self.assert_nothing_left(self.server, 'compute1')
        server = self._unshelve_server(server)
        self.assertEqual('compute1', self.host_of(server))
        self.assert_shared(server, 'compute1')

    def test_evacuate_to_a_sharing_host(self):
        self.start_share_compute('compute3')
        self.computes['compute1'].stop()
        service = [s for s in self.admin_api.get_services(
            binary='nova-compute') if s['host'] == 'compute1'][0]
        self.admin_api.put_service_force_down(service['id'], True)
        server = self._evacuate_server(self.server,
                                       expected_host='compute3')
        self.assertEqual(0, self.spawns['compute2'].call_count)
        self.assert_shared(server, 'compute3')
        # The failed host cleans up when it comes back.
        self.restart_share_compute('compute1')
        self.assert_nothing_left(server, 'compute1')
        self.assert_shared(server, 'compute3')

    def test_delete_removes_views_and_directories(self):
        self._delete_server(self.server)
        self.assert_nothing_left(self.server, 'compute1')
        self.assertEqual({}, self.host.mounts)

    def test_resize_to_a_flavor_without_power_metrics_drops_the_share(self):
        plain = self._create_flavor(name='plain-big', memory_mb=4096,
                                    ephemeral=0)
        server = self._resize_server(self.server, plain)
        self.assertEqual([], self.filesystems(server))
        server = self._confirm_resize(server)
        self.assert_nothing_left(server, 'compute1')
        self.assertEqual({}, self.host.mounts)


class ComputeStartTest(PowerMetricsTestBase):
    """What nova-compute does with the option when it starts."""

    def _start_with(self, value, hostname='compute1'):
        self.flags(share_local_fs=value,
                   share_view_dir=self.host.directory('views-%s' % hostname),
                   group='domain_meta')
        return self.start_compute(hostname)

    def test_missing_directory_stops_the_service(self):
        missing = os.path.join(self.host.root, 'missing')
        e = self.assertRaises(exception.InvalidConfiguration,
                              self._start_with, {missing: TAG})
        self.assertIn('[domain_meta] share_local_fs', str(e))
        self.assertIn(missing, str(e))

    def test_symlinked_directory_stops_the_service(self):
        link = os.path.join(self.host.root, 'link')
        os.symlink(self.share_dir('compute1'), link)
        e = self.assertRaises(exception.InvalidConfiguration,
                              self._start_with, {link: TAG})
        self.assertIn('is a symbolic link', str(e))

    def _assert_no_trait(self, hostname='compute1'):
        self.assertNotIn(request.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids[hostname]))

    def test_no_virtiofs_in_libvirt_means_no_trait(self):
        self.host.virtiofs = False
        self._start_with({self.share_dir('compute1'): TAG})
        self._assert_no_trait()
        self.assertIn('does not offer virtiofs',
                      self.computes['compute1'].driver._power_metrics
                      .unavailable)

    def test_bind_mount_not_read_only_means_no_trait(self):
        self.host.readonly_works = False
        self._start_with({self.share_dir('compute1'): TAG})
        self._assert_no_trait()
        self.assertIn('did not come out read-only',
                      self.computes['compute1'].driver
                      ._power_metrics.unavailable)
        self.assertEqual({}, self.host.mounts, 'the probe left a mount')

    def test_trait_removed_when_the_option_is_removed(self):
        self._start_with({self.share_dir('compute1'): TAG})
        self.assertIn(request.TRAIT, self._get_provider_traits(
            self.compute_rp_uuids['compute1']))
        self.flags(share_local_fs={}, group='domain_meta')
        self.restart_compute_service('compute1')
        self._assert_no_trait()

    def test_build_on_a_host_without_the_share_is_rescheduled(self):
        # A scheduler without PowerMetricsFilter: the compute refuses.
        self.flags(enabled_filters=['ComputeFilter'],
                   group='filter_scheduler')
        self.scheduler.stop()
        self.scheduler = self.start_service('scheduler')
        self._start_with({})
        server = self.boot(self.flavor_pm, expected_state='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('Exceeded maximum number of retries', fault['message'])


class GuestSafetyTest(PowerMetricsTestBase):
    """Security problems are fatal; nothing is left behind."""

    def setUp(self):
        super().setUp()
        self.start_share_compute('compute1')

    def test_symlink_planted_as_guest_directory_is_refused(self):
        # Someone with write access to the shared directory points the
        # next guest's directory elsewhere before it boots.
        elsewhere = self.host.directory('elsewhere')
        os.symlink(elsewhere, os.path.join(self.share_dir('compute1'),
                                           'instance-00000001'))
        server = self.boot(self.flavor_pm, expected_state='ERROR')
        self.assertEqual('instance-00000001', self.domain_name(server))
        fault = self.api.get_server(server['id'])['fault']
        self.assertIn('Refusing the power-metrics share', fault['message'])
        self.assertIn('symbolic link', fault['message'])
        self.assertEqual({}, self.host.mounts)
        self.assertEqual([], os.listdir(elsewhere))

    def test_failed_boot_leaves_nothing(self):
        def fail(*args, **kwargs):
            raise fakelibvirt.make_libvirtError(
                fakelibvirt.libvirtError, 'QEMU refused to start',
                error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR)

        with mock.patch.object(fakelibvirt.Domain, 'createWithFlags',
                               autospec=True, side_effect=fail):
            server = self.boot(self.flavor_pm, expected_state='ERROR')
        self.assertTrue(any(a == 'mount' for a, _ in self.host.history))
        self.assert_nothing_left(server, 'compute1')
        self.assertEqual({}, self.host.mounts)


class ShareMetadataFreshnessTest(PowerMetricsTestBase):
    """The <ndm:share> record agrees between define and refresh."""

    def test_reconciler_finds_nothing_to_rewrite(self):
        self.start_share_compute('compute1')
        server = self.boot(self.flavor_pm)
        self.assert_shared(server, 'compute1')
        result = self.run_reconciler('compute1')
        self.assertEqual(0, result.written)
        for scope in ('live', 'config'):
            held = self.recorder.held(
                server['id'], base.metadata.DOMAIN_META_NS, scope)
            shares = held.findall('{%s}share' % base.metadata.DOMAIN_META_NS)
            self.assertEqual([TAG], [s.get('tag') for s in shares], scope)

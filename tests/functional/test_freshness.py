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

"""Freshness matrix: after any operation the domain's metadata is true.

For each operation, after it completes (and at most one reconciler pass
for changes the driver never hears about), both the live and the
persistent metadata libvirt holds must equal what Nova's API says about
the server: name, flavor, owner, root, fixed and floating IPs per port,
attached volumes, host and tags.

:data:`COVERED` records which operations the matrix proves; the test
``test_matrix_covers_every_operation`` fails if one is dropped.
"""


import fixtures
from nova.tests.fixtures import neutron as neutron_fixture
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta import metadata
from tests.functional import base

NS = base.NS
NF = neutron_fixture.NeutronFixture

#: Operation -> how the metadata is kept fresh ('driver' or 'reconciler').
COVERED = {}


def covers(operation, by):
    """Mark a test as proving ``operation``, refreshed ``by`` whom."""
    def decorate(test):
        COVERED[operation] = by
        return test
    return decorate


class FreshnessTestBase(base.DomainMetaTestBase):

    def setUp(self):
        super().setUp()
        # Nova's image backend is stubbed, so there are no disk files for
        # a cold migration to measure.
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver.'
            '_get_instance_disk_info_from_config', return_value=[]))
        self.start_compute('compute1')

    def _network_changed(self, server, port_id):
        """Send the external event Neutron sends on a port change."""
        self.admin_api.create_server_external_events([{
            'name': 'network-changed', 'server_uuid': server['id'],
            'tag': port_id}])

    def api_view(self, server):
        server = self.admin_api.get_server(server['id'])
        ips = set()
        for addresses in server['addresses'].values():
            for address in addresses:
                ips.add((address['OS-EXT-IPS:type'], address['addr']))
        volumes = {v['id'] for v in
                   server['os-extended-volumes:volumes_attached']}
        return {
            'name': server['name'],
            'flavor': server['flavor']['original_name'],
            'user': server['user_id'],
            'project': server['tenant_id'],
            'root': server['image']['id'] if server['image'] else None,
            # An image-backed root disk holds the server's image.
            'root disk image': (server['image']['id'] if server['image']
                                else None),
            'ips': ips,
            'volumes': volumes,
            'host': server['OS-EXT-SRV-ATTR:host'],
            'tags': sorted(server['tags']),
        }

    def held_view(self, server, scope):
        nova = self.recorder.held(server['id'], metadata.NOVA_NS, scope)
        ndm = self.recorder.held(server['id'], metadata.DOMAIN_META_NS,
                                 scope)
        self.assertIsNotNone(nova, '%s: no nova:instance' % scope)
        self.assertIsNotNone(ndm, '%s: no ndm:instance' % scope)
        x = self.xpath
        root_type = x(nova, 'string(nova:root/@type)')
        return {
            'name': x(nova, 'string(nova:name)'),
            'flavor': x(nova, 'string(nova:flavor/@name)'),
            'user': x(nova, 'string(nova:owner/nova:user/@uuid)'),
            'project': x(nova, 'string(nova:owner/nova:project/@uuid)'),
            'root': (x(nova, 'string(nova:root/@uuid)')
                     if root_type == 'image' else None),
            'root disk image': x(
                ndm, "string(ndm:blockDevices/ndm:blockDevice[@bootIndex='0']"
                     "[@destination='local']/@image)") or None,
            'ips': {(ip.get('type'), ip.get('address'))
                    for ip in x(nova, 'nova:ports/nova:port/nova:ip')},
            'volumes': {d.get('volume') for d in x(
                ndm, 'ndm:blockDevices/ndm:blockDevice[@volume]')
                if d.get('bootIndex') != '0'},
            'host': x(ndm, 'string(ndm:host)'),
            'tags': sorted(t.text for t in x(ndm, 'ndm:tags/ndm:tag')),
        }

    def assert_fresh(self, server):
        """Live (when running) and persistent metadata match the API."""
        server = self.admin_api.get_server(server['id'])
        expected = self.api_view(server)
        scopes = ['config']
        if server['status'] in ('ACTIVE', 'RESCUE', 'VERIFY_RESIZE'):
            scopes.append('live')
        for scope in scopes:
            self.assertEqual(expected, self.held_view(server, scope),
                             '%s metadata is stale' % scope)

    def assert_fresh_after_reconcile(self, server):
        result = self.run_reconciler()
        self.assertEqual(0, result.errors)
        self.assert_fresh(server)
        return result


class TestFreshness(FreshnessTestBase):

    def _server(self, **kwargs):
        kwargs.setdefault('networks', 'none')
        return self._create_server(**kwargs)

    @covers('boot', 'driver')
    def test_boot(self):
        server = self._server(networks='auto')
        self.assert_fresh(server)
        self.assertEqual(0, self.run_reconciler().written)

    @covers('interface attach', 'driver')
    def test_interface_attach(self):
        server = self._server()
        port = self.make_port(uuids.port_attach, 'fa:16:3e:00:01:01',
                              '192.168.1.71')
        self.api.attach_interface(
            server['id'], {'interfaceAttachment': {'port_id': port['id']}})
        self.notifier.wait_for_versioned_notifications(
            'instance.interface_attach.end')
        self.assert_fresh(server)

    @covers('interface detach', 'driver')
    def test_interface_detach(self):
        port = self.make_port(uuids.port_detach, 'fa:16:3e:00:01:02',
                              '192.168.1.72')
        server = self._server(networks=[{'port': port['id']}])
        self.api.detach_interface(server['id'], port['id'])
        self.notifier.wait_for_versioned_notifications(
            'instance.interface_detach.end')
        self.assertEqual(set(), self.held_view(server, 'live')['ips'])
        self.assert_fresh(server)

    @covers('volume attach', 'driver')
    def test_volume_attach(self):
        server = self._server()
        self._attach_volume(server, self.cinder.IMAGE_BACKED_VOL)
        self.assertEqual({self.cinder.IMAGE_BACKED_VOL},
                         self.held_view(server, 'live')['volumes'])
        self.assert_fresh(server)

    @covers('volume detach', 'driver')
    def test_volume_detach(self):
        server = self._server()
        volume = self.cinder.IMAGE_BACKED_VOL
        self._attach_volume(server, volume)
        self.api.delete_server_volume(server['id'], volume)
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_detach.end')
        self.assertEqual(set(), self.held_view(server, 'live')['volumes'])
        self.assert_fresh(server)

    @covers('soft reboot', 'driver')
    def test_soft_reboot(self):
        server = self._server(networks='auto')
        self._reboot_server(server, hard=False)
        self.assert_fresh(server)

    @covers('hard reboot', 'driver')
    def test_hard_reboot(self):
        server = self._server(networks='auto')
        self._reboot_server(server, hard=True)
        self.assert_fresh(server)

    @covers('stop/start', 'driver')
    def test_stop_start(self):
        server = self._server()
        server = self._stop_server(server)
        self.assert_fresh(server)
        server = self._start_server(server)
        self.assert_fresh(server)

    @covers('suspend/resume', 'driver')
    def test_suspend_resume(self):
        server = self._server()
        server = self._suspend_server(server)
        server = self._resume_server(server)
        self.assert_fresh(server)

    @covers('rescue/unrescue', 'driver')
    def test_rescue_unrescue(self):
        server = self._server()
        self.instance_dir(server)
        server = self._rescue_server(server)
        self.assert_fresh(server)
        server = self._unrescue_server(server)
        self.assert_fresh(server)

    @covers('rebuild', 'driver')
    def test_rebuild(self):
        server = self._server()
        old_image = server['image']['id']
        image = self.glance.auto_disk_config_enabled_image['id']
        self.assertNotEqual(old_image, image)
        server = self._rebuild_server(server, image)
        self.assertEqual(image, self.held_view(server, 'live')['root'])
        # Nova leaves the root mapping's image_id at the old image; the
        # disk now holds the new one.
        self.assertEqual(image,
                         self.held_view(server, 'live')['root disk image'])
        self.assert_fresh(server)
        self.assertEqual(0, self.run_reconciler().written)

    @covers('shelve/unshelve', 'driver')
    def test_shelve_unshelve(self):
        server = self._server()
        self._shelve_server(server)
        server = self._unshelve_server(server)
        self.assert_fresh(server)

    @covers('resize confirm', 'driver')
    def test_resize_confirm(self):
        self.flags(allow_resize_to_same_host=True)
        server = self._server()
        self.instance_dir(server)
        flavor = self._create_flavor(name='m1.bigger', memory_mb=1024,
                                     vcpu=1, disk=1, ephemeral=0)
        server = self._resize_server(server, flavor)
        self.assert_fresh(server)
        server = self._confirm_resize(server)
        self.assertEqual('m1.bigger', self.held_view(server, 'live')['flavor'])
        self.assert_fresh(server)

    @covers('resize revert', 'driver')
    def test_resize_revert(self):
        self.flags(allow_resize_to_same_host=True)
        server = self._server()
        self.instance_dir(server)
        flavor = self._create_flavor(name='m1.other', memory_mb=1024,
                                     vcpu=1, disk=1, ephemeral=0)
        server = self._resize_server(server, flavor)
        server = self._revert_resize(server)
        self.assertEqual(server['flavor']['original_name'],
                         self.held_view(server, 'live')['flavor'])
        self.assert_fresh(server)

    @covers('rename', 'reconciler')
    def test_rename(self):
        server = self._server()
        self.api.put_server(server['id'], {'server': {'name': 'renamed'}})
        self.assertEqual(1, self.assert_fresh_after_reconcile(server).written)
        self.assertEqual('renamed', self.held_view(server, 'live')['name'])
        self.assertEqual(0, self.run_reconciler().written)

    @covers('tags change', 'reconciler')
    def test_tags(self):
        server = self._server()
        self.api.put_server_tags(server['id'], ['prod', 'db'])
        self.assert_fresh_after_reconcile(server)

    @covers('floating IP associate/disassociate', 'reconciler')
    def test_floating_ip(self):
        port = self.make_port(uuids.port_fip, 'fa:16:3e:00:01:03',
                              '192.168.1.73')
        server = self._server(networks=[{'port': port['id']}])
        fip = self.add_floating_ip(port, '192.168.1.73', '203.0.113.40')
        self._network_changed(server, port['id'])
        self.assert_fresh_after_reconcile(server)
        self.assertIn(('floating', '203.0.113.40'),
                      self.held_view(server, 'live')['ips'])
        del self.floating_ips[fip]
        self._network_changed(server, port['id'])
        self.assert_fresh_after_reconcile(server)
        self.assertNotIn(('floating', '203.0.113.40'),
                         self.held_view(server, 'config')['ips'])

    @covers('fixed IP change by port update', 'reconciler')
    def test_fixed_ip_change(self):
        port = self.make_port(uuids.port_fixed, 'fa:16:3e:00:01:04',
                              '192.168.1.74')
        server = self._server(networks=[{'port': port['id']}])
        self.neutron._ports[port['id']]['fixed_ips'] = [
            {'ip_address': '192.168.1.75', 'subnet_id': NF.subnet_1['id']}]
        self._network_changed(server, port['id'])
        self.assert_fresh_after_reconcile(server)
        self.assertEqual({('fixed', '192.168.1.75')},
                         self.held_view(server, 'live')['ips'])


class TestMatrixCoverage(base.DomainMetaTestBase):

    def test_matrix_covers_every_operation(self):
        # The operations the issue names, and how each is covered.  Live
        # migration and evacuate are proven in test_freshness_multihost.
        self.assertTrue({
            'boot', 'interface attach', 'interface detach', 'volume attach',
            'volume detach', 'soft reboot', 'hard reboot', 'stop/start',
            'suspend/resume', 'rescue/unrescue', 'rebuild',
            'shelve/unshelve', 'resize confirm', 'resize revert', 'rename',
            'floating IP associate/disassociate',
            'fixed IP change by port update', 'tags change',
        }.issubset(COVERED), sorted(COVERED))

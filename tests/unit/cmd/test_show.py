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

"""``nova-domain-meta show DOMAIN``: everything the metadata says."""

from tests.unit import cmd as base


class TestShowLookup(base.CLITestCase):
    """A domain is named by libvirt name, UUID or display name."""

    def setUp(self):
        super().setUp()
        self.uri = self.node(*base.ALL)

    def test_by_libvirt_name(self):
        name = base.value('ours-bfv', '/domain/name')
        shown = self.run_json(self.uri, 'show', name)
        self.assertEqual(name, shown['name'])
        self.assertEqual('db-1', shown['display_name'])

    def test_by_uuid(self):
        uuid = base.value('ours-bfv', '/domain/uuid')
        shown = self.run_json(self.uri, 'show', uuid)
        self.assertEqual(uuid, shown['uuid'])
        self.assertEqual(base.value('ours-bfv', '/domain/name'),
                         shown['name'])

    def test_by_display_name_with_odd_characters(self):
        display = base.value('malformed', '//nova:name')
        shown = self.run_json(self.uri, 'show', display)
        self.assertEqual('0e4f8d2a-5b6c-4d7e-8f90-a1b2c3d4e5f6',
                         shown['uuid'])

    def test_shared_display_name_is_ambiguous(self):
        result = self.run_cli(self.uri, 'show', 'web-1')
        self.assertEqual(2, result.code, result)
        self.assertIn("domains have the display name 'web-1'",
                      result.stderr)
        self.assertIn(base.value('ours-image', '/domain/name'),
                      result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual('', result.stdout)

    def test_odd_display_name_is_ambiguous_between_ours_and_stock(self):
        result = self.run_cli(self.uri, 'show',
                              base.value('ours-odd', '//nova:name'))
        self.assertEqual(2, result.code, result)

    def test_unknown_domain(self):
        result = self.run_cli(self.uri, 'show', 'no-such-guest')
        self.assertEqual(2, result.code, result)
        self.assertEqual("No domain has the libvirt name, UUID or display "
                         "name 'no-such-guest'.\n", result.stderr)

    def test_unknown_uuid(self):
        result = self.run_cli(self.uri, 'show',
                              '00000000-0000-0000-0000-000000000000')
        self.assertEqual(2, result.code, result)
        self.assertIn('No domain has', result.stderr)


class TestShowContent(base.CLITestCase):

    def setUp(self):
        super().setUp()
        self.uri = self.node(*base.ALL)

    def show(self, fixture):
        return self.run_json(self.uri, 'show',
                             base.value(fixture, '/domain/name'))

    def test_ours_image_everything(self):
        fixture = 'ours-image'
        shown = self.show(fixture)
        port_id = base.value(fixture, '//nova:port/@uuid')
        image_id = base.value(fixture, '//nova:image/@uuid')
        self.assertEqual('running', shown['state'])
        self.assertEqual('nova-domain-meta', shown['metadata'])
        self.assertEqual('web-1', shown['display_name'])
        self.assertEqual('web-1', shown['hostname'])
        self.assertEqual('compute1', shown['host'])
        self.assertEqual('nova', shown['availability_zone'])
        self.assertEqual(base.value(fixture, '//ndm:createdAt'),
                         shown['created'])
        self.assertEqual('acme-prod', shown['project'])
        self.assertEqual('Ada Admin', shown['user'])
        self.assertEqual('m1.cli', shown['flavor'])
        self.assertEqual(base.value(fixture, '//nova:flavor/@id'),
                         shown['flavor_id'])
        self.assertEqual((1, 1024, 5, 0, 0),
                         (shown['vcpus'], shown['memory_mb'],
                          shown['disk_gb'], shown['ephemeral_gb'],
                          shown['swap_mb']))
        self.assertEqual({'acme:tier': 'gold', 'hw:watchdog_action': 'reset'},
                         shown['extra_specs'])
        self.assertEqual({'type': 'image', 'id': image_id}, shown['root'])
        self.assertEqual(image_id, shown['image']['id'])
        self.assertEqual('raw', shown['image']['disk_format'])
        # Nova models os_distro; only our element keeps the unmodelled one.
        self.assertEqual('debian', shown['image_properties']['os_distro'])
        self.assertEqual('nightly',
                         shown['image_properties']['acme_backup_policy'])
        self.assertEqual(['192.168.1.70', 'fd37:44e8:ad06::70'],
                         shown['fixed_ips'])
        self.assertEqual(['203.0.113.17'], shown['floating_ips'])
        self.assertEqual([{
            'id': port_id,
            'fixed_ips': ['192.168.1.70', 'fd37:44e8:ad06::70'],
            'floating_ips': ['203.0.113.17'],
            'mac': 'fa:16:3e:00:0c:01',
            'network_id': base.value(fixture, '//ndm:port/@network'),
            'network_name': 'private',
            'vif_type': 'ovs',
            'vnic_type': 'normal',
            'devname': base.value(fixture, '//ndm:port/@devname'),
            'mtu': 1450,
        }], shown['ports'])
        self.assertEqual(1, len(shown['block_devices']))
        disk = shown['block_devices'][0]
        self.assertEqual(('vda', 'virtio', 'image', 'local', 0, image_id),
                         (disk['device'], disk['bus'], disk['source_type'],
                          disk['destination_type'], disk['boot_index'],
                          disk['image_id']))
        self.assertEqual([], shown['tags'])
        self.assertIsNone(shown['power_metrics_share'])
        self.assertEqual([], shown['preserved_addresses'])
        self.assertEqual('34.0.0', shown['nova_package'])
        self.assertEqual(base.value(fixture, '//ndm:plugin/@version'),
                         shown['plugin_version'])
        self.assertEqual(base.NS['nova'], shown['nova_namespace'])

    def test_ours_boot_from_volume(self):
        shown = self.show('ours-bfv')
        volume = base.value('ours-bfv', '//nova:root/@uuid')
        self.assertEqual({'type': 'volume', 'id': volume}, shown['root'])
        disk = shown['block_devices'][0]
        self.assertEqual(('volume', 'volume', volume),
                         (disk['source_type'], disk['destination_type'],
                          disk['volume_id']))
        self.assertEqual([], shown['ports'])

    def test_sanitized_extra_spec(self):
        shown = self.show('ours-odd')
        # U+0001 cannot be in XML; our driver wrote U+FFFD instead.
        self.assertEqual('ring\ufffdring', shown['extra_specs']['acme:bell'])
        self.assertEqual('x & <y> "z"', shown['extra_specs']['acme:note'])

    def test_stock_domain_has_no_plugin_fields(self):
        shown = self.show('stock-image')
        self.assertEqual('nova-1.1', shown['metadata'])
        self.assertIsNone(shown['host'])
        self.assertEqual([], shown['block_devices'])
        self.assertEqual('debian', shown['image_properties']['os_distro'])
        self.assertNotIn('acme_backup_policy', shown['image_properties'])
        self.assertEqual([None], [p['mac'] for p in shown['ports']])
        self.assertEqual(
            ['missing: no ndm:instance element (domain defined without '
             'nova-domain-meta)'], shown['problems'])

    def test_stock_boot_from_volume_root_is_unknown(self):
        self.assertEqual({'type': 'volume', 'id': None},
                         self.show('stock-bfv')['root'])

    def test_nova_1_0(self):
        shown = self.show('stock-image-ns10')
        self.assertEqual(base.NS['nova10'], shown['nova_namespace'])
        self.assertEqual('m1.cli', shown['flavor'])
        self.assertEqual(['192.168.1.70', 'fd37:44e8:ad06::70'],
                         shown['fixed_ips'])

    def test_non_nova(self):
        shown = self.run_json(self.uri, 'show', 'backup-appliance')
        self.assertEqual('non-nova', shown['metadata'])
        self.assertIsNone(shown['display_name'])
        self.assertEqual([], shown['problems'])

    def test_malformed_shows_what_it_can_and_the_problems(self):
        shown = self.show('malformed')
        self.assertEqual('broken-1', shown['display_name'])
        self.assertIsNone(shown['flavor'])
        self.assertEqual('1', shown['flavor_id'])
        self.assertIsNone(shown['memory_mb'])
        self.assertIsNone(shown['created'])
        self.assertTrue(shown['problems'])
        self.assertTrue(all(p.startswith('invalid: ')
                            for p in shown['problems']), shown['problems'])

    def test_table_output(self):
        result = self.run_cli(self.uri, 'show',
                              base.value('ours-image', '/domain/name'))
        self.assertEqual(0, result.code, result)
        self.assertIn("acme:tier='gold'", result.stdout)
        self.assertIn('mac=fa:16:3e:00:0c:01', result.stdout)
        self.assertIn('| power_metrics_share | -', result.stdout)
        self.assertNotIn("'None'", result.stdout)
        self.assertEqual('', result.stderr)

    def test_single_field_value(self):
        result = self.run_cli(self.uri, 'show', 'backup-appliance', '-f',
                              'value', '-c', 'uuid')
        self.assertEqual('5d9c43b4-7f1e-4b8c-9b52-0c2b1a6e4d11\n',
                         result.stdout)

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

"""Stable guest hardware: redefinition keeps libvirt's addresses.

Nova's fake libvirt is extended (``AddressingLibvirt``) to assign device
addresses in document order at define and attach time, as libvirt's qemu
driver does, and to expand the ``pc`` machine alias.  A server gets a port,
a config drive, a hot-plugged volume and a hot-plugged interface; after
each redefining operation its layout must be identical.  With
``[domain_meta] preserve_hardware = False`` the same scenario shows stock
Nova renumbering the devices.
"""

import os

import fixtures
from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta import hardware
from tests.functional import base
from tests.functional import fixtures as dm_fixtures


class StableHardwareTestBase(base.DomainMetaTestBase):

    def setUp(self):
        super().setUp()
        self.layout = self.useFixture(
            dm_fixtures.AddressingLibvirt(self.recorder))
        self.flags(force_config_drive=True)
        self.start_compute()

    def busy_server(self):
        """A server with a port, config drive, and hot-plugged devices."""
        first = self.make_port(uuids.hw_port_a, 'fa:16:3e:00:02:01',
                               '192.168.1.81')
        server = self._create_server(networks=[{'port': first['id']}])
        self.instance_dir(server)
        self._attach_volume(server, self.cinder.IMAGE_BACKED_VOL)
        second = self.make_port(uuids.hw_port_b, 'fa:16:3e:00:02:02',
                                '192.168.1.82')
        self.api.attach_interface(
            server['id'], {'interfaceAttachment': {'port_id': second['id']}})
        self.notifier.wait_for_versioned_notifications(
            'instance.interface_attach.end')
        return server

    def snapshot(self, server):
        uuid = server['id']
        return {'addresses': self.layout.addresses(uuid),
                'disks': self.layout.disk_order(uuid),
                'machine': self.layout.machine(uuid)}

    def changed(self, before, after):
        """Return the identities whose address differs (or vanished)."""
        keys = set(before['addresses']) | set(after['addresses'])
        return sorted(k for k in keys if before['addresses'].get(k) !=
                      after['addresses'].get(k))

    def hardware_record(self, server):
        nodes = self.xpath(self.ndm_meta(server), 'ndm:hardware')
        return nodes[0] if nodes else None


class TestStableHardware(StableHardwareTestBase):

    def test_hot_plugged_devices_make_stock_nova_renumber(self):
        # The problem this feature solves, shown on the same fake: without
        # preservation a stop/start renumbers devices.
        self.flags(preserve_hardware=False, group='domain_meta')
        server = self.busy_server()
        before = self.snapshot(server)
        server = self._stop_server(server)
        self._start_server(server)
        self.assertNotEqual([], self.changed(before, self.snapshot(server)))

    def test_stop_start_keeps_every_address_and_the_machine_type(self):
        server = self.busy_server()
        before = self.snapshot(server)
        self.assertEqual('pc-i440fx-2.11', before['machine'])
        server = self._stop_server(server)
        self._start_server(server)
        after = self.snapshot(server)
        self.assertEqual([], self.changed(before, after))
        self.assertEqual(before['machine'], after['machine'])
        self.assertEqual(sorted(before['disks']), sorted(after['disks']))

    def test_hard_reboot_keeps_every_address(self):
        server = self.busy_server()
        before = self.snapshot(server)
        self._reboot_server(server, hard=True)
        self.assertEqual([], self.changed(before, self.snapshot(server)))
        record = self.hardware_record(server)
        self.assertIsNotNone(record, 'no <ndm:hardware> record')
        self.assertEqual(str(len(before['addresses'])),
                         record.get('preserved'))
        self.assertEqual(('pc-i440fx-2.11', 'true'),
                         (record.get('machine'), record.get('machineKept')))

    def test_rescue_and_unrescue_keep_every_address(self):
        server = self.busy_server()
        before = self.snapshot(server)
        server = self._rescue_server(server)
        during = self.snapshot(server)
        # The server's own devices keep their addresses in the rescue
        # domain too; only the rescue disk is new.
        self.assertEqual(
            [], [k for k in self.changed(before, during)
                 if k in during['addresses'] and k in before['addresses']])
        self.assertEqual(2, len(set(during['addresses']) -
                                set(before['addresses'])))
        self._unrescue_server(server)
        self.assertEqual([], self.changed(before, self.snapshot(server)))

    def test_new_device_gets_a_free_address(self):
        server = self.busy_server()
        self._reboot_server(server, hard=True)
        self._attach_volume(server, uuids.hw_late_volume)
        self._reboot_server(server, hard=True)
        slots = [a.get('slot') for a in
                 self.layout.addresses(server['id']).values()
                 if a.get('type') == 'pci']
        self.assertEqual(len(slots), len(set(slots)), slots)

    def test_failed_hard_reboot_then_good_one_keeps_the_layout(self):
        server = self.busy_server()
        before = self.snapshot(server)
        failures = []
        real_define = fakelibvirt.Connection.defineXML

        def define_fails_once(conn, xml):
            if not failures:
                failures.append(xml)
                raise fakelibvirt.make_libvirtError(
                    fakelibvirt.libvirtError, 'simulated define failure',
                    error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR)
            return real_define(conn, xml)

        with fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.Connection.defineXML',
                define_fails_once):
            # Casts run as calls here, so the failure also reaches the API.
            self.assertRaises(
                client.OpenStackApiException, self.api.post_server_action,
                server['id'], {'reboot': {'type': 'HARD'}})
            self._wait_for_state_change(server, 'ERROR')
            self.assertNotIn(server['id'], self.layout.definitions,
                             'the failed reboot left a domain behind')
            self._reboot_server(server, hard=True)
        self.assertEqual(1, len(failures))
        self.assertEqual([], self.changed(before, self.snapshot(server)))

    def test_machine_type_the_host_lost_falls_back_with_a_warning(self):
        server = self._create_server(networks='none')
        path = os.path.join(self.instance_dir(server),
                            hardware.LAYOUT_FILE)
        self._stop_server(server)
        with open(path) as f:
            layout = etree.fromstring(f.read())
        layout.find('os/type').set('machine', 'pc-i440fx-99.0')
        with open(path, 'w') as f:
            f.write(etree.tostring(layout, encoding='unicode'))
        # The next power on remembers the current domain first; drop it so
        # that the edited layout is what is carried over.
        self.layout.definitions[server['id']].find('os/type').set(
            'machine', 'pc-i440fx-99.0')
        self._start_server(server)
        self.assertEqual('pc-i440fx-2.11', self.layout.machine(server['id']))
        reassigned = self.xpath(self.hardware_record(server),
                                'ndm:reassigned')
        self.assertEqual(
            [('machine', 'machine type pc-i440fx-99.0 no longer offered')],
            [(r.get('device'), r.get('reason')) for r in reassigned])
        self.assertIn('machine type pc-i440fx-99.0 no longer offered',
                      self.stdlog.logger.output)

    def test_layout_is_kept_in_the_instance_directory(self):
        server = self._create_server(networks='none')
        path = os.path.join(self.instance_dir(server),
                            hardware.LAYOUT_FILE)
        self._reboot_server(server, hard=True)
        with open(path) as f:
            saved = etree.fromstring(f.read())
        self.assertEqual(server['id'], saved.findtext('uuid'))

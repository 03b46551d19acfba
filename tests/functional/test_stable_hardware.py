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

import contextlib
import io
import os

import fixtures
from lxml import etree
from nova.cmd import manage
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta import hardware
from tests.functional import base
from tests.functional import fixtures as dm_fixtures


class StableHardwareTestBase(base.DomainMetaTestBase):

    #: Machine types the fake host offers (``HostMachineTypes``), or None
    #: for those of Nova's fake.
    machines = None

    def setUp(self):
        super().setUp()
        self.layout = self.useFixture(
            dm_fixtures.AddressingLibvirt(self.recorder))
        if self.machines is not None:
            self.host_machines = self.useFixture(
                dm_fixtures.HostMachineTypes(self.layout, self.machines))
        self.flags(force_config_drive=True)
        self.start_compute()

    def busy_server(self, interface_first=False):
        """A server with a port, config drive, and hot-plugged devices.

        A volume, then a second port, are hot-plugged while it runs (the
        port first with ``interface_first``).
        """
        first = self.make_port(uuids.hw_port_a, 'fa:16:3e:00:02:01',
                               '192.168.1.81')
        server = self._create_server(networks=[{'port': first['id']}])
        self.instance_dir(server)
        if not interface_first:
            self._attach_volume(server, self.cinder.IMAGE_BACKED_VOL)
        second = self.make_port(uuids.hw_port_b, 'fa:16:3e:00:02:02',
                                '192.168.1.82')
        self.api.attach_interface(
            server['id'], {'interfaceAttachment': {'port_id': second['id']}})
        self.notifier.wait_for_versioned_notifications(
            'instance.interface_attach.end')
        if interface_first:
            self._attach_volume(server, self.cinder.IMAGE_BACKED_VOL)
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

    def disk_files(self, server):
        """Create the files of the server's local disks, empty.

        Nova's stubbed image backend creates none; a resize copies them.
        """
        for path in self.layout.definitions[server['id']].xpath(
                'devices/disk/source/@file'):
            if path.startswith(self.instance_dir(server) + os.sep):
                open(path, 'a').close()

    def hardware_record(self, server):
        nodes = self.xpath(self.ndm_meta(server), 'ndm:hardware')
        return nodes[0] if nodes else None

    def reassigned(self, server):
        """``[(device, reason)]`` of the last redefinition's record."""
        return [(r.get('device'), r.get('reason')) for r in self.xpath(
            self.hardware_record(server), 'ndm:reassigned')]

    def defined_addresses(self, server):
        """Addresses in the XML the driver last sent to ``defineXML``."""
        return {key: dict(device.find('address').attrib)
                for key, device in hardware.layout_devices(
                    self.domain_xml(server)).items()
                if device.find('address') is not None}

    def fail_next_define(self):
        """Make the next ``defineXML`` fail.

        As a hard reboot can fail after Nova undefined the domain: the
        saved layout is then all there is.
        """
        failures = []
        real_define = fakelibvirt.Connection.defineXML

        def define_fails_once(conn, xml):
            if not failures:
                failures.append(xml)
                raise fakelibvirt.make_libvirtError(
                    fakelibvirt.libvirtError, 'simulated define failure',
                    error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR)
            return real_define(conn, xml)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.defineXML',
            define_fails_once))
        return failures

    def hard_reboot_fails(self, server):
        """A hard reboot that undefines the domain, then fails to define."""
        failures = self.fail_next_define()
        # Casts run as calls here, so the failure also reaches the API.
        self.assertRaises(
            client.OpenStackApiException, self.api.post_server_action,
            server['id'], {'reboot': {'type': 'HARD'}})
        self._wait_for_state_change(server, 'ERROR')
        self.assertEqual(1, len(failures))
        self.assertNotIn(server['id'], self.layout.definitions,
                         'the failed reboot left a domain behind')


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
        self.hard_reboot_fails(server)
        self._reboot_server(server, hard=True)
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

    def test_resize_revert_on_the_same_host_keeps_hot_plugged_addresses(self):
        # Nova moves the instance directory aside to <dir>_resize and moves
        # it back on revert: the layout in it must include what was
        # hot-plugged since boot.  Hot-plugging the port before the volume
        # makes their addresses differ from what libvirt would assign in
        # the order of Nova's XML (disks first).
        self.flags(allow_resize_to_same_host=True)
        server = self.busy_server(interface_first=True)
        self.disk_files(server)
        before = self.snapshot(server)
        flavor = self._create_flavor(memory_mb=4096, vcpu=2)
        server = self._resize_server(server, flavor)
        server = self._revert_resize(server)
        self.assertEqual([], self.changed(before, self.snapshot(server)))
        self.assertEqual([], self.reassigned(server))

    def test_truncated_layout_leaves_every_address_to_libvirt(self):
        self._check_unusable_layout(
            lambda saved: saved[:len(saved) // 2],
            'saved layout not usable: not well-formed XML')

    def test_garbage_layout_leaves_every_address_to_libvirt(self):
        self._check_unusable_layout(
            lambda saved: b'\x00\xff\x89PNG\r\n\x1a\n' * 64,
            'saved layout not usable: not well-formed XML')

    def test_another_instances_layout_gives_no_address(self):
        # Its devices sit elsewhere: two ports at boot move its balloon and
        # everything after the interfaces.
        ports = [self.make_port(port_id, mac, ip)['id'] for port_id, mac, ip
                 in ((uuids.hw_other_a, 'fa:16:3e:00:04:01', '192.168.1.71'),
                     (uuids.hw_other_b, 'fa:16:3e:00:04:02', '192.168.1.72'))]
        other = self._create_server(
            networks=[{'port': port} for port in ports])
        other_layout = os.path.join(self.instance_dir(other),
                                    hardware.LAYOUT_FILE)
        self.assertTrue(os.path.exists(other_layout))
        with open(other_layout, 'rb') as f:
            theirs = f.read()
        self._check_unusable_layout(
            lambda saved: theirs,
            'saved layout not usable: the definition of domain %s, not of '
            'this one' % other['id'])

    def _check_unusable_layout(self, spoil, reason):
        """Spoil the layout a failed hard reboot left; reboot again.

        The next hard reboot must boot, with libvirt's addresses only.
        """
        port = self.make_port(uuids.hw_port_a, 'fa:16:3e:00:02:01',
                              '192.168.1.81')
        server = self._create_server(networks=[{'port': port['id']}])
        # Nothing was hot-plugged: libvirt assigns what it did at boot.
        fresh = self.snapshot(server)
        path = os.path.join(self.instance_dir(server), hardware.LAYOUT_FILE)
        self.hard_reboot_fails(server)
        with open(path, 'rb') as f:
            saved = f.read()
        with open(path, 'wb') as f:
            f.write(spoil(saved))
        self._reboot_server(server, hard=True)
        self.assertEqual({}, self.defined_addresses(server),
                         'the driver gave addresses from a spoilt layout')
        self.assertEqual([], self.changed(fresh, self.snapshot(server)))
        self.assertEqual(1, len(self.reassigned(server)))
        self.assertEqual('layout', self.reassigned(server)[0][0])
        self.assertIn(reason, self.reassigned(server)[0][1])
        self.assertIn('The saved hardware layout is not usable',
                      self.stdlog.logger.output)
        # The good definition is saved again for the next redefinition.
        with open(path, 'rb') as f:
            self.assertEqual(server['id'], etree.fromstring(
                f.read()).findtext('uuid'))

    def swap_volume_while_stopped(self, server):
        """Stop ``server``, detach its volume, attach another in its place.

        Returns ``(old volume's address, new volume's address)`` in the
        persistent definition, as libvirt had them.
        """
        old_key = 'disk:serial:' + self.cinder.IMAGE_BACKED_VOL
        new_key = 'disk:serial:' + uuids.hw_swapped_volume
        old_address = self.layout.addresses(server['id'])[old_key]
        server = self._stop_server(server)
        self.api.delete_server_volume(server['id'],
                                      self.cinder.IMAGE_BACKED_VOL)
        self._wait_for_volume_detach(server['id'],
                                     self.cinder.IMAGE_BACKED_VOL)
        self._attach_volume(server, uuids.hw_swapped_volume)
        self.assertEqual(
            ['vdb'], self.layout.definitions[server['id']].xpath(
                'devices/disk[serial="%s"]/target/@dev'
                % uuids.hw_swapped_volume))
        addresses = self.layout.addresses(server['id'])
        self.assertNotIn(old_key, addresses)
        return server, old_address, addresses[new_key]

    def test_volume_swapped_while_stopped_gets_its_own_address(self):
        server = self.busy_server()
        server, _old_address, new_address = self.swap_volume_while_stopped(
            server)
        self._start_server(server)
        new_key = 'disk:serial:' + uuids.hw_swapped_volume
        # What libvirt assigned the new volume when it was attached (here
        # the slot the old one freed), not anything saved for the old one.
        self.assertEqual(new_address, self.defined_addresses(server)[new_key])
        self.assertEqual(new_address,
                         self.layout.addresses(server['id'])[new_key])
        self.assertNotIn('disk:serial:' + self.cinder.IMAGE_BACKED_VOL,
                         self.layout.addresses(server['id']))

    def test_volume_swapped_while_stopped_with_a_stale_layout(self):
        # The saved layout names the old volume, and reading the domain
        # before the power on fails: the new volume must be left to
        # libvirt, not given the old volume's address.
        server = self.busy_server()
        self._reboot_server(server, hard=True)
        server, old_address, _new_address = self.swap_volume_while_stopped(
            server)
        path = os.path.join(self.instance_dir(server), hardware.LAYOUT_FILE)
        with open(path) as f:
            self.assertIn(self.cinder.IMAGE_BACKED_VOL, f.read())
        real_xmldesc = fakelibvirt.Domain.XMLDesc
        failed = []

        def xmldesc_fails_once(dom, flags):
            if not failed:
                failed.append(flags)
                raise fakelibvirt.make_libvirtError(
                    fakelibvirt.libvirtError, 'simulated XMLDesc failure',
                    error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR)
            return real_xmldesc(dom, flags)

        with fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.Domain.XMLDesc',
                xmldesc_fails_once):
            self._start_server(server)
        self.assertEqual(1, len(failed))
        self.assertIn('Could not save the domain hardware layout',
                      self.stdlog.logger.output)
        new_key = 'disk:serial:' + uuids.hw_swapped_volume
        self.assertNotIn(new_key, self.defined_addresses(server),
                         'the new volume was given an address from the '
                         'layout')
        self.assertNotIn(old_address, self.defined_addresses(server).values(),
                         'a device was given the old volume\'s address')


class TestStableHardwareAcrossHosts(StableHardwareTestBase):
    """A resize to another host, reverted."""

    def test_resize_revert_from_another_host_keeps_hot_plugged_addresses(
            self):
        # The source keeps its stopped domain and moves the instance
        # directory aside; the revert moves it back and redefines the
        # domain from the layout saved in it.
        server = self.busy_server(interface_first=True)
        self.disk_files(server)
        before = self.snapshot(server)
        self.start_compute('compute2')
        flavor = self._create_flavor(memory_mb=4096, vcpu=2)
        server = self._resize_server(server, flavor)
        self.assertEqual('compute2', server['OS-EXT-SRV-ATTR:host'])
        server = self._revert_resize(server)
        self.assertEqual('compute1', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.changed(before, self.snapshot(server)))
        self.assertEqual([], self.reassigned(server))
        self.assertFalse(os.path.exists(
            self.instance_dir(server) + '_resize'))


class TestMachineTypeChange(StableHardwareTestBase):
    """Machine types on a host with QEMU 7.2: an operator's choice wins."""

    machines = dm_fixtures.QEMU_7_2_MACHINES

    def update_machine_type(self, server, machine_type, force=False):
        """Run ``nova-manage libvirt update_machine_type`` as an operator."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = manage.LibvirtCommands().update_machine_type(
                instance_uuid=server['id'], machine_type=machine_type,
                force=force)
        self.assertEqual(0, code, out.getvalue())

    def recorded_machine_type(self, server):
        return objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata']).system_metadata.get(
                'image_hw_machine_type')

    def run_qemu(self, machines):
        """Restart the compute host on a QEMU offering ``machines``."""
        self.host_machines.offer(machines)
        self.restart_compute_service('compute1')

    def test_update_to_a_newer_version_is_not_undone(self):
        self.flags(hw_machine_type='x86_64=pc-q35-6.2', group='libvirt')
        server = self.busy_server()
        before = self.snapshot(server)
        self.assertEqual('pc-q35-6.2', before['machine'])
        server = self._stop_server(server)
        self.update_machine_type(server, 'pc-q35-7.2')
        self.assertEqual('pc-q35-7.2', self.recorded_machine_type(server))
        self._start_server(server)
        after = self.snapshot(server)
        self.assertEqual('pc-q35-7.2', after['machine'])
        # The same chipset, one version on: every device stays put.
        self.assertEqual([], self.changed(before, after))
        record = self.hardware_record(server)
        self.assertEqual(('pc-q35-7.2', 'false'),
                         (record.get('machine'), record.get('machineKept')))
        self.assertIn('Machine type pc-q35-7.2, as Nova asks, replaces '
                      'pc-q35-6.2', self.stdlog.logger.output)
        self._reboot_server(server, hard=True)
        self.assertEqual('pc-q35-7.2', self.layout.machine(server['id']))

    def test_alias_keeps_the_version_it_was_first_defined_with(self):
        self.flags(hw_machine_type='x86_64=q35', group='libvirt')
        self.run_qemu(dm_fixtures.QEMU_6_2_MACHINES)
        server = self.busy_server()
        before = self.snapshot(server)
        self.assertEqual('pc-q35-6.2', before['machine'])
        self.assertEqual('q35', self.recorded_machine_type(server))
        self.run_qemu(dm_fixtures.QEMU_7_2_MACHINES)
        server = self._stop_server(server)
        self._start_server(server)
        after = self.snapshot(server)
        self.assertEqual('pc-q35-6.2', after['machine'])
        self.assertEqual([], self.changed(before, after))
        record = self.hardware_record(server)
        self.assertEqual(('pc-q35-6.2', 'true'),
                         (record.get('machine'), record.get('machineKept')))

    def test_forced_update_from_the_alias_to_a_version_is_not_undone(self):
        self.flags(hw_machine_type='x86_64=q35', group='libvirt')
        self.run_qemu(dm_fixtures.QEMU_6_2_MACHINES)
        server = self.busy_server()
        before = self.snapshot(server)
        self.run_qemu(dm_fixtures.QEMU_7_2_MACHINES)
        server = self._stop_server(server)
        # Nova refuses to move an alias to a versioned type unless forced.
        self.update_machine_type(server, 'pc-q35-7.2', force=True)
        self._start_server(server)
        after = self.snapshot(server)
        self.assertEqual(('pc-q35-6.2', 'pc-q35-7.2'),
                         (before['machine'], after['machine']))
        self.assertEqual([], self.changed(before, after))

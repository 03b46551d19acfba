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

"""Carrying libvirt-assigned hardware over to a new definition."""

from unittest import mock

from lxml import etree

from nova_domain_meta import hardware
from tests.unit import base

OLD = """<domain type='kvm'><name>i</name><uuid>u</uuid>
<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
<devices>
 <disk type='file' device='disk'><source file='/i/disk'/>
  <target dev='vda' bus='virtio'/>
  <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
 </disk>
 <disk type='block' device='disk'><source dev='/dev/sdx'/>
  <target dev='vdb' bus='virtio'/><serial>vol-1</serial>
  <address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>
 </disk>
 <disk type='file' device='cdrom'><source file='/i/disk.config'/>
  <target dev='sda' bus='sata'/>
  <address type='drive' controller='0' bus='0' target='0' unit='0'/>
 </disk>
 <interface type='bridge'><mac address='FA:16:3E:00:00:01'/>
  <model type='virtio'/>
  <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
 </interface>
 <controller type='pci' index='1' model='pcie-root-port'>
  <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
 </controller>
 <memballoon model='virtio'>
  <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
 </memballoon>
</devices></domain>"""

# What Nova generates again: no addresses, the volume now listed before the
# config drive, machine alias not expanded, a brand-new interface.
NEW = """<domain type='kvm'><name>i</name><uuid>u</uuid>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices>
 <disk type='file' device='disk'><source file='/i/disk'/>
  <target dev='vda' bus='virtio'/></disk>
 <disk type='block' device='disk'><source dev='/dev/sdy'/>
  <target dev='vdb' bus='virtio'/><serial>vol-1</serial></disk>
 <disk type='file' device='cdrom'><source file='/i/disk.config'/>
  <target dev='sda' bus='sata'/></disk>
 <interface type='bridge'><mac address='fa:16:3e:00:00:01'/>
  <model type='virtio'/></interface>
 <interface type='bridge'><mac address='fa:16:3e:00:00:02'/>
  <model type='virtio'/></interface>
 <controller type='pci' index='1' model='pcie-root-port'/>
 <memballoon model='virtio'/>
</devices></domain>"""


#: What QEMU 7.2 offers (``qemu-system-x86_64 -machine help``), in part,
#: as ``preserve`` takes it: ``{machine type: the type it is an alias of}``.
QEMU_7_2 = {'pc': 'pc-i440fx-7.2', 'pc-i440fx-7.2': None,
            'pc-i440fx-6.2': None, 'q35': 'pc-q35-7.2', 'pc-q35-7.2': None,
            'pc-q35-6.2': None, 'pc-q35-4.0.1': None, 'isapc': None,
            'microvm': None}


def fixtures_logger():
    import fixtures
    return fixtures.FakeLogger(name='nova_domain_meta.hardware')


def _machine(xml):
    return etree.fromstring(xml).find('os/type').get('machine')


def _with_machines(old, new):
    """OLD and NEW with the old definition's and Nova's machine types."""
    return (OLD.replace("machine='pc-q35-7.2'", "machine='%s'" % old),
            NEW.replace("machine='q35'", "machine='%s'" % new))


def _addresses(xml):
    root = etree.fromstring(xml)
    return {key: dict(dev.find('address').attrib)
            for key, dev in hardware.layout_devices(root).items()
            if dev.find('address') is not None}


class TestDeviceKey(base.TestCase):

    def test_identities_follow_the_documented_rules(self):
        self.assertEqual(
            ['disk:source:/i/disk', 'disk:serial:vol-1',
             'disk:source:/i/disk.config', 'interface:fa:16:3e:00:00:01',
             'controller:pci:1', 'memballoon:1'],
            list(hardware.layout_devices(etree.fromstring(OLD))))


class TestPreserve(base.TestCase):

    def test_every_matched_device_keeps_its_address(self):
        xml, outcome = hardware.preserve(NEW, OLD, None)
        old, new = _addresses(OLD), _addresses(xml)
        self.assertEqual(old, {k: v for k, v in new.items() if k in old})
        self.assertEqual(6, len(outcome.preserved))
        self.assertEqual([], outcome.reassigned)

    def test_new_device_is_left_for_libvirt(self):
        xml, outcome = hardware.preserve(NEW, OLD, None)
        self.assertEqual(['interface:fa:16:3e:00:00:02'], outcome.new)
        self.assertNotIn('interface:fa:16:3e:00:00:02', _addresses(xml))

    def test_gone_device_frees_its_address(self):
        new = NEW.replace("<memballoon model='virtio'/>", '')
        xml, outcome = hardware.preserve(new, OLD, None)
        self.assertNotIn('memballoon:1', _addresses(xml))
        self.assertEqual(5, len(outcome.preserved))

    def test_machine_type_no_longer_offered_falls_back(self):
        offered = {'q35': 'pc-q35-8.2', 'pc-q35-8.2': None}
        xml, outcome = hardware.preserve(NEW, OLD, offered)
        self.assertEqual('q35', _machine(xml))
        self.assertEqual(
            [('machine', 'machine type pc-q35-7.2 no longer offered')],
            outcome.reassigned)
        # Same family: the devices keep their addresses all the same.
        self.assertEqual(6, len(outcome.preserved))

    def test_changed_bus_falls_back_for_that_disk_only(self):
        new = NEW.replace("<target dev='vdb' bus='virtio'/>",
                          "<target dev='sdb' bus='scsi'/>")
        xml, outcome = hardware.preserve(new, OLD, None)
        self.assertEqual([('disk:serial:vol-1',
                           'bus changed from virtio to scsi')],
                         outcome.reassigned)
        self.assertNotIn('disk:serial:vol-1', _addresses(xml))
        self.assertEqual(5, len(outcome.preserved))

    def test_changed_model_falls_back(self):
        new = NEW.replace("<mac address='fa:16:3e:00:00:01'/>\n"
                          "  <model type='virtio'/>",
                          "<mac address='fa:16:3e:00:00:01'/>\n"
                          "  <model type='e1000'/>")
        _xml, outcome = hardware.preserve(new, OLD, None)
        self.assertEqual([('interface:fa:16:3e:00:00:01',
                           'model changed from virtio to e1000')],
                         outcome.reassigned)

    def test_address_taken_by_a_device_nova_placed_falls_back(self):
        new = NEW.replace(
            "<model type='virtio'/></interface>\n <controller",
            "<model type='virtio'/><address type='pci' domain='0x0000' "
            "bus='0x05' slot='0x00' function='0x0'/></interface>\n"
            " <controller")
        xml, outcome = hardware.preserve(new, OLD, None)
        self.assertIn(('memballoon:1', 'address already in use'),
                      outcome.reassigned)
        slots = [(a['bus'], a['slot']) for a in _addresses(xml).values()
                 if a['type'] == 'pci']
        self.assertEqual(len(slots), len(set(slots)))

    def test_model_left_out_by_nova_is_not_a_change(self):
        old = OLD.replace("<memballoon model='virtio'>",
                          "<memballoon model='virtio'><model type='x'/>")
        new = NEW.replace("<memballoon model='virtio'/>",
                          "<memballoon/>")
        _xml, outcome = hardware.preserve(new, old, None)
        self.assertIn('memballoon:1', outcome.preserved)

    def test_drive_address_never_lands_on_a_virtio_disk(self):
        # Seen with a definition whose virtio disks carried drive
        # addresses: real libvirt refuses them.
        old = OLD.replace(
            "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' "
            "function='0x0'/>",
            "<address type='drive' controller='0' bus='0' target='0' "
            "unit='1'/>")
        xml, outcome = hardware.preserve(NEW, old, None)
        self.assertIn(('disk:source:/i/disk',
                       'a drive address does not fit bus virtio'),
                      outcome.reassigned)
        self.assertNotIn('disk:source:/i/disk', _addresses(xml))

    def test_volume_attached_at_a_freed_target_gets_no_old_address(self):
        # vol-1 detached while the guest was stopped, vol-2 attached as vdb
        # on the same host device path: the layout still names vol-1.
        new = NEW.replace("<source dev='/dev/sdy'/>\n  <target dev='vdb' "
                          "bus='virtio'/><serial>vol-1</serial>",
                          "<source dev='/dev/sdx'/>\n  <target dev='vdb' "
                          "bus='virtio'/><serial>vol-2</serial>")
        self.assertIn('vol-2', new)
        xml, outcome = hardware.preserve(new, OLD, None)
        self.assertIn('disk:serial:vol-2', outcome.new)
        self.assertNotIn('disk:serial:vol-2', _addresses(xml))
        self.assertNotIn({'type': 'pci', 'domain': '0x0000', 'bus': '0x07',
                          'slot': '0x00', 'function': '0x0'},
                         list(_addresses(xml).values()))

    def test_input_devices_are_told_apart_by_type_and_bus(self):
        root = etree.fromstring(
            "<domain><devices><input type='keyboard' bus='usb'/>"
            "<input type='mouse' bus='ps2'/><input type='tablet' bus='usb'/>"
            "</devices></domain>")
        self.assertEqual(['input:keyboard:usb:1', 'input:mouse:ps2:1',
                          'input:tablet:usb:1'],
                         list(hardware.layout_devices(root)))


class TestMachineType(base.TestCase):
    """The new definition's machine type, and whether old addresses fit."""

    def test_alias_gets_the_old_versioned_type(self):
        # Defined when q35 meant pc-q35-6.2; this QEMU expands it to 7.2.
        old, new = _with_machines('pc-q35-6.2', 'q35')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc-q35-6.2', _machine(xml))
        self.assertEqual(('pc-q35-6.2', True, None),
                         (outcome.machine, outcome.machine_kept,
                          outcome.machine_replaced))

    def test_old_type_kept_when_what_the_host_offers_is_unknown(self):
        xml, outcome = hardware.preserve(NEW, OLD, None)
        self.assertEqual('pc-q35-7.2', _machine(xml))
        self.assertTrue(outcome.machine_kept)

    def test_versioned_type_nova_asks_for_wins(self):
        # nova-manage libvirt update_machine_type <uuid> pc-q35-7.2 on a
        # guest defined with pc-q35-6.2.
        old, new = _with_machines('pc-q35-6.2', 'pc-q35-7.2')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc-q35-7.2', _machine(xml))
        self.assertEqual(('pc-q35-7.2', False, 'pc-q35-6.2'),
                         (outcome.machine, outcome.machine_kept,
                          outcome.machine_replaced))
        # Another version of the same machine: every address still fits.
        self.assertEqual(6, len(outcome.preserved))
        self.assertEqual([], outcome.reassigned)

    def test_versioned_type_nova_asks_for_wins_even_if_old_is_offered(self):
        old, new = _with_machines('pc-q35-7.2', 'pc-q35-6.2')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc-q35-6.2', _machine(xml))
        self.assertFalse(outcome.machine_kept)

    def test_three_part_version_is_a_version(self):
        old, new = _with_machines('pc-q35-4.0.1', 'pc-q35-7.2')
        xml, _outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc-q35-7.2', _machine(xml))

    def test_alias_of_another_family_wins_and_no_address_is_kept(self):
        # nova-manage libvirt update_machine_type --force <uuid> pc on a
        # q35 guest: i440fx has no PCIe root ports, q35's addresses would
        # not fit.
        old, new = _with_machines('pc-q35-7.2', 'pc')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc', _machine(xml))
        self.assertEqual({}, _addresses(xml))
        self.assertEqual([], outcome.preserved)
        self.assertEqual(
            [('layout', 'machine type pc-q35-7.2 replaced by pc of another '
              'family')],
            outcome.reassigned)

    def test_versioned_type_of_another_family_keeps_no_address(self):
        old, new = _with_machines('pc-q35-7.2', 'pc-i440fx-7.2')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('pc-i440fx-7.2', _machine(xml))
        self.assertEqual({}, _addresses(xml))
        self.assertEqual(['layout'], [key for key, _ in outcome.reassigned])

    def test_type_that_is_no_alias_wins(self):
        # isapc is offered as it is: not a name for pc-i440fx-7.2.
        old, new = _with_machines('pc-i440fx-7.2', 'isapc')
        xml, outcome = hardware.preserve(new, old, QEMU_7_2)
        self.assertEqual('isapc', _machine(xml))
        self.assertEqual({}, _addresses(xml))


class TestUnusableLayout(base.TestCase):
    """A saved layout that is not this domain's definition is not used."""

    def assertRefused(self, layout, why):
        error = self.assertRaises(hardware.UnusableLayout, hardware.preserve,
                                  NEW, layout, QEMU_7_2)
        self.assertIn(why, str(error))

    def test_truncated(self):
        self.assertRefused(OLD[:len(OLD) // 2], 'not well-formed XML')

    def test_empty(self):
        self.assertRefused('', 'not well-formed XML')

    def test_binary_garbage(self):
        self.assertRefused(b'\x00\xff\xfe\x89PNG\r\n\x1a\n',
                           'not well-formed XML')

    def test_not_a_domain(self):
        self.assertRefused('<html><body/></html>',
                           'not a domain definition but <html>')

    def test_another_domains_definition(self):
        self.assertRefused(OLD.replace('<uuid>u</uuid>', '<uuid>v</uuid>'),
                           'the definition of domain v')

    def test_definition_without_uuid(self):
        self.assertRefused(OLD.replace('<uuid>u</uuid>', ''),
                           'the definition of domain (none)')

    def test_uuid_case_does_not_matter(self):
        new = NEW.replace('<uuid>u</uuid>', '<uuid>ABC-1</uuid>')
        old = OLD.replace('<uuid>u</uuid>', '<uuid>abc-1</uuid>')
        _xml, outcome = hardware.preserve(new, old, None)
        self.assertEqual(6, len(outcome.preserved))

    def test_entities_are_not_resolved(self):
        import fixtures
        secret = self.useFixture(fixtures.TempDir()).path + '/secret'
        with open(secret, 'w') as f:
            f.write('u')
        layout = ('<!DOCTYPE domain [<!ENTITY id SYSTEM "file://%s">]>' %
                  secret) + OLD.replace('<uuid>u</uuid>', '<uuid>&id;</uuid>')
        self.assertRefused(layout, 'the definition of domain (none)')


class TestLayoutFile(base.TestCase):

    def test_save_and_load_round_trip(self):
        import fixtures
        path = self.useFixture(fixtures.TempDir()).path + '/inst'
        self.assertIsNone(hardware.load_layout(path))
        hardware.save_layout(path, OLD)
        self.assertEqual(OLD.encode('utf-8'), hardware.load_layout(path))


class TestStableHardwareNeverFails(base.TestCase):

    def _apply_with_layout(self, layout):
        """Return what ``apply`` makes of NEW with ``layout`` saved."""
        import fixtures
        path = self.useFixture(fixtures.TempDir()).path
        with open(hardware.layout_path(path), 'wb') as f:
            f.write(layout)
        stable = hardware.StableHardware(mock.Mock())
        stable._host.get_capabilities.return_value.guests = []
        stable._redefining.add('u')
        with mock.patch('nova.virt.libvirt.utils.get_instance_path',
                        autospec=True, return_value=path):
            return stable.apply(mock.Mock(uuid='u'), NEW)

    def test_corrupt_layouts_leave_every_address_to_libvirt(self):
        logger = self.useFixture(fixtures_logger())
        for name, layout in (
                ('truncated', OLD[:200].encode()),
                ('garbage', b'\x00\xff\xfe\x89PNG\r\n\x1a\n'),
                ('not a domain', b'<html/>'),
                ('another domain', OLD.replace(
                    '<uuid>u</uuid>', '<uuid>v</uuid>').encode())):
            xml = self._apply_with_layout(layout)
            self.assertEqual({}, _addresses(xml), name)
            self.assertEqual('q35', _machine(xml), name)
        self.assertEqual(4, logger.output.count(
            'The saved hardware layout is not usable'))

    def test_this_domains_layout_is_used(self):
        xml = self._apply_with_layout(OLD.encode())
        self.assertEqual(_addresses(OLD), {
            k: v for k, v in _addresses(xml).items() if k in _addresses(OLD)})

    def test_apply_leaves_xml_alone_on_error(self):
        stable = hardware.StableHardware(mock.Mock())
        instance = mock.Mock(uuid='u')
        stable._redefining.add('u')
        with mock.patch.object(hardware, 'load_layout', autospec=True,
                               side_effect=OSError('disk gone')), \
                mock.patch('nova.virt.libvirt.utils.get_instance_path',
                           autospec=True, return_value='/nonexistent'):
            self.assertEqual(NEW, stable.apply(instance, NEW))

    def test_apply_only_while_redefining(self):
        stable = hardware.StableHardware(mock.Mock())
        self.assertEqual(NEW, stable.apply(mock.Mock(uuid='u'), NEW))

    def test_option_off_remembers_nothing(self):
        self.conf.config(preserve_hardware=False, group='domain_meta')
        host = mock.Mock()
        stable = hardware.StableHardware(host)
        with stable.redefining(mock.Mock(uuid='u')):
            self.assertEqual(set(), stable._redefining)
        host.get_guest.assert_not_called()

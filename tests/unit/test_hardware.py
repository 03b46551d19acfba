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

    def test_machine_type_kept_when_offered(self):
        xml, outcome = hardware.preserve(NEW, OLD, {'q35', 'pc-q35-7.2'})
        self.assertEqual('pc-q35-7.2', etree.fromstring(xml).find(
            'os/type').get('machine'))
        self.assertTrue(outcome.machine_kept)

    def test_machine_type_no_longer_offered_falls_back(self):
        xml, outcome = hardware.preserve(NEW, OLD, {'q35', 'pc-q35-8.2'})
        self.assertEqual('q35', etree.fromstring(xml).find(
            'os/type').get('machine'))
        self.assertEqual(
            [('machine', 'machine type pc-q35-7.2 no longer offered')],
            outcome.reassigned)

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

    def test_input_devices_are_told_apart_by_type_and_bus(self):
        root = etree.fromstring(
            "<domain><devices><input type='keyboard' bus='usb'/>"
            "<input type='mouse' bus='ps2'/><input type='tablet' bus='usb'/>"
            "</devices></domain>")
        self.assertEqual(['input:keyboard:usb:1', 'input:mouse:ps2:1',
                          'input:tablet:usb:1'],
                         list(hardware.layout_devices(root)))


class TestLayoutFile(base.TestCase):

    def test_save_and_load_round_trip(self):
        import fixtures
        path = self.useFixture(fixtures.TempDir()).path + '/inst'
        self.assertIsNone(hardware.load_layout(path))
        hardware.save_layout(path, OLD)
        self.assertEqual(OLD, hardware.load_layout(path))


class TestStableHardwareNeverFails(base.TestCase):

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

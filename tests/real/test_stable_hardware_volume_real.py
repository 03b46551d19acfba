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

"""A volume swapped for another at the same target while the guest is off.

The scenario (Nova's functional framework, our driver, pure Nova XML with
``[domain_meta] preserve_hardware = False``): a server boots with a port
and a config drive, volume A is hot-plugged (``vdc``, after the
flavor's ephemeral disk), the server is stopped, A is detached, volume B
is attached (``vdc`` again, from the same host device path: Nova's Cinder
fixture hands out one iSCSI target) and the server is started.  Kept:
the boot XML, every device XML the driver passed to
``attachDeviceFlags``/``detachDeviceFlags`` with its flags, and the XML
defined at the start.

On the real daemon, as in :mod:`tests.real.test_stable_hardware_real`:

1. the boot XML is started, A hot-plugged with the driver's flags; the
   guest reports A's slot; its live definition is *WITH_A*, what a layout
   saved while A was attached holds;
2. the guest powers off; A is detached and B attached with the driver's
   flags (``AFFECT_CONFIG``): libvirt assigns B an address in the
   persistent definition, *OLD*, what our driver saves at the power on;
3. **current layout**: the start XML through
   :func:`nova_domain_meta.hardware.preserve` with OLD: B keeps the
   address libvirt gave it at the attach; the guest sees B there;
4. **stale layout** (the domain could not be read at the power on, so the
   layout still names A): the start XML through ``preserve`` with WITH_A:
   B is a new device, defined without an address; libvirt assigns one and
   the guest sees B there.  Whether libvirt picks the slot A had is its
   own choice (detail ``counts``), never ``preserve``'s.

Seen with libvirt 9.0 / QEMU 7.2 (TCG, i440fx): the attach to the stopped
domain gives B the slot A freed (00:08.0), and so does the define of the
stale-layout XML; with either layout the guest sees B at 00:08.0.  Both
volumes come from the same host device path here, so a volume known by
its source instead of its serial would have been taken for A.
"""

import collections
import os

import fixtures
from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt
from oslo_utils.fixture import uuidsentinel as uuids
from testtools import content

from nova_domain_meta import hardware
from tests.functional import test_stable_hardware as functional_hw
from tests.real import test_stable_hardware_real as real_hw
from tests.real import tiny_guest

VolumeSwap = collections.namedtuple('VolumeSwap', [
    'domain_name', 'boot_xml', 'calls', 'start_xml', 'volumes', 'seconds'])

MAC = 'fa:16:3e:00:03:11'


class VolumeSwapScenario(functional_hw.StableHardwareTestBase):
    """The functional scenario; :func:`real_hw.capture` runs it."""

    def setUp(self):
        super().setUp()
        # Small enough for the tiny guest under TCG.
        self.flavor = self._create_flavor(name='real.vol', memory_mb=256,
                                          vcpu=1, disk=1)

    def scenario_volume_swapped_while_stopped(self):
        # Unique on this host (see HotPlugScenario).
        self.flags(instance_name_template='real-%d-vol-%%08x' % os.getpid())
        self.flags(preserve_hardware=False, group='domain_meta')
        calls = []
        for name, op in (('attachDeviceFlags', 'attach'),
                         ('detachDeviceFlags', 'detach')):
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.Domain.' + name,
                self._recording(getattr(fakelibvirt.Domain, name), op,
                                calls)))
        volume_a = self.cinder.IMAGE_BACKED_VOL
        volume_b = uuids.real_vol_swapped
        port = self.make_port(uuids.real_vol_port, MAC, '192.168.1.95')
        server = self._create_server(name='real-vol-1', flavor_id=self.flavor,
                                     networks=[{'port': port['id']}])
        self._attach_volume(server, volume_a)
        server = self._stop_server(server)
        self.api.delete_server_volume(server['id'], volume_a)
        self._wait_for_volume_detach(server['id'], volume_a)
        self._attach_volume(server, volume_b)
        self._start_server(server)

        name = self.domain_name(server)
        definitions = self.recorder.domains(name)
        real_hw._SCENARIO_RESULTS[self._testMethodName] = VolumeSwap(
            name, definitions[0], list(calls), definitions[-1],
            (volume_a, volume_b), seconds=None)

    @staticmethod
    def _recording(method, op, calls):
        def recording(dom, xml, flags):
            calls.append((op, xml, flags))
            return method(dom, xml, flags)
        return recording


def _disk(xml, serial):
    """The disk with ``serial`` in a definition, or None."""
    found = etree.fromstring(xml.encode('utf-8')).xpath(
        'devices/disk[serial=$serial]', serial=serial)
    return found[0] if found else None


def _address(xml, serial):
    disk = _disk(xml, serial)
    address = disk.find('address') if disk is not None else None
    return dict(address.attrib) if address is not None else None


class VolumeSwapRealTest(real_hw.StableHardwareRealBase):

    def boot(self, xml, label):
        """Start ``xml``; return (the definition libvirt made, guest view)."""
        dom = self.start(xml)
        defined = dom.XMLDesc(real_hw.INACTIVE)
        self.addDetail('xml-%s' % label, content.text_content(defined))
        found = self.inventory(label, dom)
        self.guest_slots_match_xml(found, defined)
        self._stop_and_undefine(dom)
        return defined, found

    def test_volume_swapped_while_stopped_gets_a_fresh_address(self):
        captured = real_hw.capture(VolumeSwapScenario(
            'scenario_volume_swapped_while_stopped'))
        volume_a, volume_b = captured.volumes
        key_b = 'disk:serial:' + volume_b
        self.phases.mark('capture (functional, in-process)')
        self.addDetail('driver-calls', content.text_content('\n'.join(
            '%s flags=%d\n%s' % (op, flags, xml)
            for op, xml, flags in captured.calls)))
        # What the driver did: A hot-plugged live and persistent, then A
        # detached and B attached to the stopped domain only, both vdb.
        self.assertEqual(
            [('attach', volume_a, real_hw.LIVE | real_hw.CONFIG),
             ('detach', volume_a, real_hw.CONFIG),
             ('attach', volume_b, real_hw.CONFIG)],
            [(op, etree.fromstring(xml).findtext('serial'), flags)
             for op, xml, flags in captured.calls])
        # One target and one host device path for both volumes: only the
        # serial tells them apart.
        target = _disk(captured.start_xml, volume_b).find('target').get(
            'dev')
        self.assertEqual({(target, '/dev/sda')}, {
            (etree.fromstring(xml).find('target').get('dev'),
             etree.fromstring(xml).find('source').get('dev'))
            for _op, xml, _flags in captured.calls})

        disks = len(etree.fromstring(captured.start_xml.encode(
            'utf-8')).xpath('devices/disk[target/@bus="virtio"]'))
        script = real_hw.GUEST_SCRIPT % {'disks': disks, 'nics': 1}
        boot_xml = self.adjust_domain(captured.boot_xml, 'boot', script)
        devices = [self.adjust_device(xml, '%s-%d' % (op, i))
                   for i, (op, xml, _flags) in enumerate(captured.calls)]
        real_hw.label_disk_images(boot_xml, self.domdir)
        real_hw.label_disk_images('<domain><devices>%s</devices></domain>'
                                  % ''.join(devices), self.domdir)
        self.phases.mark('adjust')

        # -- WITH_A, then OLD: the guest runs with A, is stopped, A is
        # swapped for B in the persistent definition.
        dom = self.start(boot_xml)
        self.wait_for_serial(dom, tiny_guest.MARK_RESULT + 'booted')
        (_op, _xml, flags_a) = captured.calls[0]
        dom.attachDeviceFlags(devices[0], flags_a)
        with_a_xml = dom.XMLDesc(0)
        self.addDetail('xml-with-a', content.text_content(with_a_xml))
        with_a_guest = self.inventory('with-a', dom)
        self.guest_slots_match_xml(with_a_guest, with_a_xml)
        self.phases.mark('with A: boot, hot-plug A, guest sees it, off')
        for device, (op, _xml, flags) in zip(devices[1:],
                                             captured.calls[1:]):
            getattr(dom, op + 'DeviceFlags')(device, flags)
        old_xml = dom.XMLDesc(real_hw.INACTIVE)
        self.addDetail('xml-old', content.text_content(old_xml))
        self._stop_and_undefine(dom)
        self.assertIsNone(_disk(old_xml, volume_a))
        address_a = _address(with_a_xml, volume_a)
        address_b = _address(old_xml, volume_b)
        self.assertIsNotNone(address_b,
                             'libvirt gave no address at the attach')
        self.phases.mark('old: detach A, attach B, stopped')

        offered = real_hw.offered_machines(self.daemon.capabilities)
        start_xml = self.adjust_domain(captured.start_xml, 'start', script)

        # -- the current layout: B keeps what libvirt gave it.
        preserved, outcome = hardware.preserve(start_xml, old_xml, offered)
        self.addDetail('outcome-current', content.text_content(
            repr(outcome)))
        self.assertIn(key_b, outcome.preserved)
        self.assertEqual(address_b, _address(preserved, volume_b))
        current_xml, current_guest = self.boot(preserved, 'current')
        self.assertEqual(address_b, _address(current_xml, volume_b))
        self.phases.mark('current layout: define, boot, off')

        # -- a stale layout naming A: B is new, libvirt places it.
        preserved, stale_outcome = hardware.preserve(start_xml, with_a_xml,
                                                     offered)
        self.addDetail('outcome-stale', content.text_content(
            repr(stale_outcome)))
        self.assertIn(key_b, stale_outcome.new)
        self.assertIsNone(_address(preserved, volume_b),
                          'B was given an address from a layout naming A')
        self.assertNotIn(address_a, [
            dict(a.attrib) for a in etree.fromstring(preserved.encode(
                'utf-8')).iterfind('devices/*/address')])
        stale_xml, stale_guest = self.boot(preserved, 'stale')
        self.phases.mark('stale layout: define, boot, off')

        self.addDetail('counts', content.text_content(
            'A while attached: %s\n'
            'B as libvirt attached it to the stopped domain: %s\n'
            'B at the power on, current layout: %s\n'
            'B at the power on, stale layout (libvirt placed it): %s\n'
            'guest, A attached: %s\nguest, current: %s\nguest, stale: %s'
            % tuple([real_hw._fmt(a) for a in (
                address_a, address_b, _address(current_xml, volume_b),
                _address(stale_xml, volume_b))] +
                [sorted(g.items()) for g in (
                    with_a_guest, current_guest, stale_guest)])))

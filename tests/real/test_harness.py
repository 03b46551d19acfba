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

"""Tests of the real-hypervisor harness itself.

They prove, on a real libvirtd + QEMU, what later real-tier tests rely on:
the private daemon runs the qemu driver; a domain built with Nova's own
config classes (``nova.virt.libvirt.config``) boots the tiny guest once
:mod:`tests.real.adjust` has made it bootable; metadata in a custom
namespace survives LIVE and CONFIG updates; a virtiofs share made
read-only by a bind mount is visible to the guest and not writable; and
the qemu driver's PCI addresses can be read back per device.
"""

import os
import uuid

import libvirt
from lxml import etree
from nova.virt.libvirt import config as vconfig
from oslo_utils import units

from tests.real import base
from tests.real import tiny_guest

TEST_NS = 'http://openstack.org/xmlns/nova-domain-meta/real-tier-test/1.0'
TEST_PREFIX = 'rtt'
MAC = 'fa:16:3e:12:34:56'


class ProbeMetadata(vconfig.LibvirtConfigObject):
    """A metadata element in our own test namespace.

    ``namespaced=False`` gives the bare element virDomainSetMetadata wants:
    libvirt adds the namespace itself, and refuses ("failed to create a
    new XML namespace") XML that already declares the prefix passed as
    the key.
    """

    def __init__(self, value, namespaced=True):
        super(ProbeMetadata, self).__init__(
            root_name='probe',
            ns_prefix=TEST_PREFIX if namespaced else None,
            ns_uri=TEST_NS if namespaced else None)
        self.value = value

    def format_dom(self):
        root = super(ProbeMetadata, self).format_dom()
        root.append(self._text_node('value', self.value))
        return root


class MemfdSharedMemoryBacking(vconfig.LibvirtConfigGuestMemoryBacking):
    """Nova's memoryBacking plus ``<source type='memfd'/>``.

    Nova's class only knows file-backed sources; virtiofs needs shared
    guest memory, and memfd gives it with no host configuration.
    """

    def format_dom(self):
        root = super(MemfdSharedMemoryBacking, self).format_dom()
        root.append(etree.Element('source', type='memfd'))
        root.append(etree.Element('access', mode='shared'))
        return root


def nova_like_guest(name, metadata=(), extra_devices=()):
    """A small guest as Nova's libvirt driver would describe it (kvm).

    Built with Nova's config classes, with the kinds of elements the
    driver writes that cannot work as-is here (a disk file and bridge that
    do not exist, host-model CPU, a pin to a host CPU we lack, a pty
    console logged to Nova's instance dir, VNC on all addresses).
    """
    instance_dir = '/var/lib/nova/instances/%s' % name
    guest = vconfig.LibvirtConfigGuest()
    guest.virt_type = 'kvm'
    guest.name = name
    guest.uuid = str(uuid.uuid4())
    guest.memory = 256 * units.Ki
    guest.vcpus = 1
    guest.os_type = 'hvm'
    guest.os_boot_dev = ['hd']
    guest.features = [vconfig.LibvirtConfigGuestFeatureACPI(),
                      vconfig.LibvirtConfigGuestFeatureAPIC()]
    guest.metadata = list(metadata)

    cpu = vconfig.LibvirtConfigGuestCPU()
    cpu.mode = 'host-model'
    cpu.sockets, cpu.cores, cpu.threads = 1, 1, 1
    guest.cpu = cpu

    cputune = vconfig.LibvirtConfigGuestCPUTune()
    cputune.shares = 1024
    pin = vconfig.LibvirtConfigGuestCPUTuneVCPUPin()
    pin.id = 0
    pin.cpuset = {4095}
    cputune.vcpupin = [pin]
    guest.cputune = cputune

    clock = vconfig.LibvirtConfigGuestClock()
    clock.offset = 'utc'
    guest.clock = clock

    disk = vconfig.LibvirtConfigGuestDisk()
    disk.source_type = 'file'
    disk.source_device = 'disk'
    disk.driver_name = 'qemu'
    disk.driver_format = 'qcow2'
    disk.driver_cache = 'none'
    disk.source_path = instance_dir + '/disk'
    disk.target_dev = 'vda'
    disk.target_bus = 'virtio'
    guest.add_device(disk)

    iface = vconfig.LibvirtConfigGuestInterface()
    iface.net_type = 'bridge'
    iface.mac_addr = MAC
    iface.model = 'virtio'
    iface.source_dev = 'br-int'
    iface.target_dev = 'tap01234567-89'
    iface.vporttype = 'openvswitch'
    iface.add_vport_param('interfaceid', str(uuid.uuid4()))
    iface.mtu = 1450
    guest.add_device(iface)

    serial = vconfig.LibvirtConfigGuestSerial()
    serial.type = 'pty'
    serial.log = vconfig.LibvirtConfigGuestCharDeviceLog()
    serial.log.file = instance_dir + '/console.log'
    guest.add_device(serial)

    graphics = vconfig.LibvirtConfigGuestGraphics()
    graphics.type = 'vnc'
    graphics.listen = '0.0.0.0'
    guest.add_device(graphics)

    balloon = vconfig.LibvirtConfigMemoryBalloon()
    balloon.model = 'virtio'
    balloon.period = 10
    guest.add_device(balloon)

    for device in extra_devices:
        guest.add_device(device)
    return guest


def probe_value(domain, flags):
    """Read our probe element back, as a metadata consumer would.

    virDomainGetMetadata returns the element stripped of its namespace
    (``<probe><value>..</value></probe>``), whatever prefix it was
    stored with.
    """
    xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, TEST_NS,
                          flags)
    root = etree.fromstring(xml.encode('utf-8'))
    assert root.tag == 'probe', xml
    return root.findtext('value')


class DaemonTest(base.RealLibvirtTestCase):

    def test_daemon_runs_private_qemu_driver(self):
        self.assertEqual('QEMU', self.conn.getType())
        self.assertGreaterEqual(self.conn.getLibVersion(), 9000000)
        self.assertIn(self.daemon.tmpdir, self.daemon.uri)

        caps = etree.fromstring(self.daemon.capabilities.encode('utf-8'))
        arches = [g.find('arch') for g in caps.iterfind('guest')
                  if g.find('arch').get('name') == 'x86_64']
        self.assertTrue(arches, 'no x86_64 guest in capabilities')
        domain_types = {d.get('type') for a in arches
                        for d in a.iterfind('domain')}
        self.assertIn(self.daemon.virt_type, domain_types)
        machines = {m.text for a in arches for m in a.iter('machine')}
        self.assertIn('pc', machines)
        self.assertIn('q35', machines)

        domcaps = etree.fromstring(self.conn.getDomainCapabilities(
            None, 'x86_64', None, self.daemon.virt_type).encode('utf-8'))
        self.assertIn('virtiofs', domcaps.xpath(
            "devices/filesystem/enum[@name='driverType']/value/text()"))

        # The daemon we talk to is the one we started, in its own mount
        # namespace (so its /etc/libvirt etc. are ours).
        with open(os.path.join(self.daemon.tmpdir, 'run',
                               'libvirtd.pid')) as f:
            pid = int(f.read())
        self.assertEqual(self.daemon.pids['libvirtd'], pid)
        self.assertNotEqual(os.stat('/proc/self/ns/mnt').st_ino,
                            os.stat('/proc/%d/ns/mnt' % pid).st_ino)


class TinyGuestBootTest(base.RealLibvirtTestCase):

    def test_nova_config_guest_boots_and_keeps_metadata(self):
        name = self.unique_name('boot')
        guest = nova_like_guest(name, metadata=[ProbeMetadata('defined')])
        xml, changes = self.adjust(guest.to_xml(), '\n'.join([
            'result hello from $(uname -r)',
            'result macs $(cat /sys/class/net/eth*/address)',
            'wait_for_shutdown_request 300 && result shutdown requested',
        ]))
        if self.host.virt_type == 'qemu':
            self.assertIn('domain type kvm -> qemu', changes)
            self.assertIn('cpu: mode host-model -> maximum (TCG)', changes)
        iface = [c for c in changes if c.startswith('interface %s:' % MAC)]
        self.assertEqual(1, len(iface), changes)
        self.assertTrue(iface[0].startswith('interface %s: bridge -> user '
                                            '(dropped ' % MAC), iface)
        self.assertEqual({'source', 'target', 'virtualport', 'mtu'},
                         set(iface[0].split('(dropped ')[1][:-1]
                             .split(', ')))
        self.assertIn('cputune: drop <vcpupin cpuset=4095 vcpu=0>',
                      changes)
        self.assertIn('graphics vnc: listen none', changes)

        dom = self.define_and_start(xml)
        serial = self.wait_for_serial(dom, tiny_guest.MARK_WAITING)
        self.assertIn('hello from %s' % self.guest.release,
                      self.results(serial))
        # The guest's NIC carries the MAC Nova chose.
        self.assertIn('macs %s' % MAC, self.results(serial))

        live = libvirt.VIR_DOMAIN_AFFECT_LIVE
        config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        same = self.conn.lookupByName(name)
        self.assertEqual('defined', probe_value(same, live))
        self.assertEqual('defined', probe_value(same, config))

        same.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                         ProbeMetadata('updated', namespaced=False).to_xml(),
                         TEST_PREFIX, TEST_NS, live | config)
        again = self.conn.lookupByName(name)
        self.assertEqual('updated', probe_value(again, live))
        self.assertEqual('updated', probe_value(again, config))

        dom.shutdown()
        serial = self.wait_for_guest_done(dom)
        self.assertIn('shutdown requested', self.results(serial))
        self.assertIn('%s0' % tiny_guest.MARK_EXIT, serial)
        # Powered off, the persistent definition kept the update.
        self.assertFalse(dom.isActive())
        self.assertEqual('updated', probe_value(
            self.conn.lookupByName(name), libvirt.VIR_DOMAIN_AFFECT_CONFIG))


class SetMetadataTest(base.RealLibvirtTestCase):

    def test_set_metadata_namespace_rules(self):
        """What virDomainSetMetadata accepts, on a defined domain."""
        name = self.unique_name('meta')
        xml, _changes = self.adjust(nova_like_guest(name).to_xml(), 'true')
        dom = self.define(xml)
        config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        element = libvirt.VIR_DOMAIN_METADATA_ELEMENT

        # XML already declaring the key's prefix is refused...
        e = self.assertRaises(
            libvirt.libvirtError, dom.setMetadata, element,
            ProbeMetadata('prefixed').to_xml(), TEST_PREFIX, TEST_NS,
            config)
        self.assertIn('namespace', str(e))
        # ...a bare element gets the namespace from libvirt...
        dom.setMetadata(element, ProbeMetadata('bare', False).to_xml(),
                        TEST_PREFIX, TEST_NS, config)
        self.assertEqual('bare', probe_value(dom, config))
        # ...and a prefixed element under another key (what Nova does:
        # key "instance", XML prefix "nova") is stored and read back.
        dom.setMetadata(element, ProbeMetadata('other-key').to_xml(),
                        'other', TEST_NS, config)
        self.assertEqual('other-key', probe_value(dom, config))


class VirtiofsShareTest(base.RealLibvirtTestCase):

    def test_read_only_per_guest_share(self):
        name = self.unique_name('fs')
        sibling = self.unique_name('sibling')
        tree = os.path.join(self.workdir, 'scaphandre')
        for domain_name, energy in ((name, '123456789'),
                                    (sibling, '987654321')):
            rapl = os.path.join(tree, domain_name, 'intel-rapl:0')
            os.makedirs(rapl)
            with open(os.path.join(rapl, 'energy_uj'), 'w') as f:
                f.write(energy + '\n')
        share = self.bind_mount_readonly(
            os.path.join(tree, name), os.path.join(self.workdir, 'ro',
                                                   name))
        self.assertRaises(OSError, open, os.path.join(share, 'host-write'),
                          'w')

        fs = vconfig.LibvirtConfigGuestFilesys()
        fs.source_type = 'mount'
        fs.driver_type = 'virtiofs'
        fs.accessmode = 'passthrough'
        fs.source_dir = share
        fs.target_dir = 'scaphandre'
        guest = nova_like_guest(name, extra_devices=[fs])
        guest.membacking = MemfdSharedMemoryBacking()
        xml, changes = self.adjust(guest.to_xml(), '\n'.join([
            'mkdir -p /mnt',
            'if mount -t virtiofs scaphandre /mnt; then',
            '    result mount ok',
            'else',
            '    result mount failed',
            'fi',
            'result energy_uj $(cat /mnt/intel-rapl:0/energy_uj)',
            'result entries $(ls -A /mnt)',
            'if find / -xdev -name "%s" 2>/dev/null | grep -q .; then'
            % sibling,
            '    result sibling visible',
            'elif find /mnt -name "%s" | grep -q .; then' % sibling,
            '    result sibling visible',
            'else',
            '    result sibling hidden',
            'fi',
            'if echo x 2>/tmp/err > /mnt/written; then',
            '    result write ok',
            'else',
            '    result write failed $(cat /tmp/err)',
            'fi',
        ]))
        # The share itself is passed through untouched.
        self.assertNotIn('filesystem', ' '.join(changes))
        self.assertIn("<target dir=\"scaphandre\"/>", xml)

        dom = self.define_and_start(xml)
        got = self.results(self.wait_for_guest_done(dom))
        self.assertIn('mount ok', got)
        self.assertIn('energy_uj 123456789', got)
        self.assertIn('entries intel-rapl:0', got)
        self.assertIn('sibling hidden', got)
        writes = [r for r in got if r.startswith('write ')]
        self.assertEqual(1, len(writes), got)
        self.assertTrue(writes[0].startswith('write failed'), writes)
        self.assertIn('Read-only file system', writes[0])
        self.assertFalse(os.path.exists(os.path.join(tree, name,
                                                     'written')))


class AssignedAddressesTest(base.RealLibvirtTestCase):

    def test_qemu_driver_assigns_pci_addresses(self):
        name = self.unique_name('addr')
        xml, _changes = self.adjust(nova_like_guest(name).to_xml(),
                                    'result unused')
        self.assertNotIn('<address', xml)
        dom = self.define(xml)

        addresses = self.assigned_addresses(dom)
        videos = [k for k in addresses if k.startswith('video:0:')]
        self.assertEqual(1, len(videos), addresses)
        for key in ['disk:vda', 'interface:%s' % MAC,
                    'memballoon:virtio'] + videos:
            self.assertIn(key, addresses)
            self.assertEqual('pci', addresses[key]['type'], key)
        self.assertEqual('pci', addresses['controller:usb:0']['type'])
        # The root bus itself has no address; ISA serial ports neither.
        self.assertNotIn('controller:pci:0', addresses)
        self.assertNotIn('serial:0', addresses)
        pci = [(a['bus'], a['slot'], a['function'])
               for a in addresses.values() if a['type'] == 'pci']
        self.assertEqual(len(pci), len(set(pci)), addresses)

        # adjust keeps addresses: the definition read back, adjusted
        # again under another name, gets the very same layout.
        inactive = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        doc = etree.fromstring(inactive.encode('utf-8'))
        doc.find('name').text = self.unique_name('addr2')
        doc.remove(doc.find('uuid'))
        again_xml, _changes = self.adjust(etree.tostring(doc), 'true')
        again = self.define(again_xml)
        self.assertEqual(addresses, self.assigned_addresses(again))

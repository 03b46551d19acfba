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

"""Make a Nova-generated domain XML bootable on the private test daemon.

Why: our functional tests produce domain XML from Nova's real libvirt
driver running against Nova's fake libvirt.  That XML names disks, bridges
and taps that do not exist, asks for KVM, and pins to host CPUs of an
imaginary host.  The real tier wants to know whether *libvirt and QEMU*
accept the rest of it (metadata, filesystems, device layout) and whether a
guest really boots with it, so :func:`adjust_domain_xml` changes only what
cannot work on a test machine, and returns a list saying what it changed.

It never touches ``<metadata>``, ``<filesystem>``, ``<name>``, ``<uuid>``,
device ``<address>`` elements, or anything not listed below.  Each
adjustment, as reported in the returned list:

Domain and boot
  * ``domain type kvm -> qemu``: when the daemon runs TCG
    (``HostFacts.virt_type == 'qemu'``).
  * ``os: boot the tiny guest``: ``<os>`` loses ``<boot>``,
    ``<bootmenu>``, ``<kernel>``, ``<initrd>``, ``<cmdline>`` and ``<dtb>``
    and gets the tiny guest's ``<kernel>``, ``<initrd>`` and ``<cmdline>``.
    Per-device ``<boot order>`` stays (the direct-boot ROM comes first).
  * ``os: machine X -> Y``: a machine type the emulator does not know
    (e.g. a newer versioned ``pc-q35-*``) becomes ``q35`` or ``pc``.
  * ``os: drop UEFI firmware``: ``firmware='efi'``, ``<loader>`` and
    ``<nvram>`` are removed when the loader file, or any firmware
    descriptor for autoselection, is missing on the host.
  * ``drop emulator X``: an ``<emulator>`` path missing on the host.
  * ``features: add acpi``: the tiny guest powers off through ACPI.
  * ``features: drop kvm/hyperv (TCG)``: KVM-only enlightenments.
  * ``clock: drop timer kvmclock/hypervclock (TCG)``: KVM-only timers.

CPU and memory placement
  * ``cpu: mode X -> maximum (TCG)``: host-model/host-passthrough need KVM
    and a named model may have features TCG lacks; ``<model>``,
    ``<vendor>``, ``<feature>`` and ``<cache>`` go, topology and guest
    NUMA cells stay.
  * ``vcpu: drop cpuset``, ``cputune: drop <vcpupin ...>`` (likewise
    emulatorpin, iothreadpin, vcpusched, iothreadsched, emulatorsched):
    only when they name host CPUs this host lacks.
  * ``numatune: drop <memory>/<memnode>``: only for host NUMA nodes this
    host lacks.
  * ``drop perf``: perf events need host PMU support rarely present in VMs.
  * ``memoryBacking: drop hugepages``: when the host has no huge pages.
  * ``drop blkiotune``: when the host's blkio cgroup has no weight file.

Devices
  * ``disk vda: <type> -> file <path> (<format>)``: every disk that has a
    source (file, block, network or volume) gets a small sparse image made
    per call in ``workdir/disks`` (qcow2 if the driver said qcow2, raw
    otherwise; 64 MiB virtual).  ``<auth>``, ``<encryption>``,
    ``<backingStore>`` and ``<reservations>`` go; target, driver cache/io
    options, serial, address, iotune and boot order stay.  ``device='lun'``
    (needs a real SCSI device) becomes ``device='disk'``.
  * ``disk vda: cache none -> writeback``: only when the work directory's
    file system refuses O_DIRECT (tmpfs), which ``cache='none'`` needs.
  * ``interface MAC: <type> -> user``: every interface becomes a QEMU
    user-mode (slirp) interface; ``<mac>``, ``<model>``, ``<address>``,
    ``<boot>``, ``<rom>``, ``<link>``, ``<alias>`` and ``<acpi>`` stay,
    other children (source, target, virtualport, driver, bandwidth, mtu,
    vlan, filterref, ...) go and are listed.
  * ``drop hostdev``: host devices cannot be passed through here.
  * ``serial 0: <type> -> file <log>``: the first serial port writes to
    ``workdir/serial.log`` (the test reads the guest's output there); other
    serial ports become ``type='null'`` so ISA port numbering is kept; a
    ``<console>`` aliasing serial 0 is rewritten to match it, other
    consoles become ``type='null'``.
  * ``graphics vnc: listen none``: no test guest listens on a network
    address; ``<listen type='none'/>`` replaces listen/port settings.
  * ``channel X: tcp/udp -> null``, ``channel X: drop source path``
    (a unix socket in a directory that does not exist; libvirt then makes
    its own), ``redirdev: drop tcp``.
  * ``drop seclabel model X``: the daemon runs with no security driver.
  * ``drop tpm``, ``drop vsock``: when swtpm or /dev/vhost-vsock is missing.
"""

import copy
import glob
import os
import shutil
import subprocess

from lxml import etree

DISK_SIZE = '64M'
KEEP_INTERFACE_CHILDREN = ('mac', 'model', 'address', 'boot', 'rom', 'link',
                           'alias', 'acpi')
PIN_ELEMENTS = ('vcpupin', 'emulatorpin', 'iothreadpin', 'vcpusched',
                'iothreadsched', 'emulatorsched')
FIRMWARE_DESCRIPTOR_DIRS = ('/usr/share/qemu/firmware', '/etc/qemu/firmware')


class HostFacts(object):
    """What the adjustment needs to know about the host and daemon."""

    def __init__(self, virt_type, cpus, numa_nodes, machines, emulator,
                 hugepages=None, blkio_weight=None, swtpm=None,
                 vhost_vsock=None):
        self.virt_type = virt_type
        self.cpus = set(cpus)
        self.numa_nodes = set(numa_nodes)
        self.machines = set(machines)
        self.emulator = emulator
        self.hugepages = (_host_hugepages() if hugepages is None
                          else hugepages)
        self.blkio_weight = (_host_blkio_weight() if blkio_weight is None
                             else blkio_weight)
        self.swtpm = bool(shutil.which('swtpm')) if swtpm is None else swtpm
        self.vhost_vsock = (os.path.exists('/dev/vhost-vsock')
                            if vhost_vsock is None else vhost_vsock)

    @classmethod
    def from_capabilities(cls, caps_xml, virt_type, arch='x86_64'):
        """Read CPUs, NUMA nodes and machine types from virConnect caps."""
        caps = etree.fromstring(caps_xml.encode('utf-8'))
        cpus = {int(c.get('id')) for c in caps.iterfind(
            'host/topology/cells/cell/cpus/cpu')}
        nodes = {int(c.get('id')) for c in caps.iterfind(
            'host/topology/cells/cell')}
        if not cpus:
            cpus = set(range(os.cpu_count() or 1))
        if not nodes:
            nodes = {0}
        machines = set()
        emulator = None
        for guest in caps.iterfind('guest'):
            arch_el = guest.find('arch')
            if arch_el is None or arch_el.get('name') != arch:
                continue
            emulator = arch_el.findtext('emulator')
            for machine in arch_el.iter('machine'):
                machines.add(machine.text)
                if machine.get('canonical'):
                    machines.add(machine.get('canonical'))
        return cls(virt_type, cpus, nodes, machines, emulator)


def _host_hugepages():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('HugePages_Total:'):
                    return int(line.split()[1]) > 0
    except OSError:
        pass
    return False


def _host_blkio_weight():
    return any(os.path.exists('/sys/fs/cgroup/blkio/%s' % name)
               for name in ('blkio.weight', 'blkio.bfq.weight')) or \
        os.path.exists('/sys/fs/cgroup/io.weight')


def _supports_o_direct(directory):
    """True if files in ``directory`` open with O_DIRECT (not tmpfs)."""
    probe = os.path.join(directory, '.o_direct_probe')
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def parse_cpuset(text):
    """Parse libvirt's cpuset syntax (``0-3,^2,8``) into a set of ints."""
    result, excluded = set(), set()
    for part in (text or '').split(','):
        part = part.strip()
        if not part:
            continue
        target = result
        if part.startswith('^'):
            target, part = excluded, part[1:]
        if '-' in part:
            low, high = part.split('-', 1)
            target.update(range(int(low), int(high) + 1))
        else:
            target.add(int(part))
    return result - excluded


def _remove(el):
    el.getparent().remove(el)


def _sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        el.text = text
    return el


def _clear_attrs(el, keep=()):
    for key in list(el.attrib):
        if key not in keep:
            del el.attrib[key]


class _Adjuster(object):

    def __init__(self, doc, host, kernel, initrd, cmdline, workdir):
        self.doc = doc
        self.host = host
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.workdir = workdir
        self.changes = []
        self.tcg = host.virt_type == 'qemu'
        self.serial_log = os.path.join(workdir, 'serial.log')

    def note(self, text):
        self.changes.append(text)

    def run(self):
        self.domain_type()
        self.os()
        self.emulator()
        self.features()
        self.clock()
        self.cpu()
        self.placement()
        self.memory_backing()
        self.devices()
        self.seclabels()
        return self.changes

    # -- domain, boot --------------------------------------------------

    def domain_type(self):
        if self.tcg and self.doc.get('type') != 'qemu':
            self.note('domain type %s -> qemu' % self.doc.get('type'))
            self.doc.set('type', 'qemu')

    def os(self):
        os_el = self.doc.find('os')
        if os_el is None:
            os_el = etree.Element('os')
            self.doc.insert(0, os_el)
            _sub(os_el, 'type', 'hvm')
        for tag in ('boot', 'bootmenu', 'kernel', 'initrd', 'cmdline',
                    'dtb'):
            for el in os_el.findall(tag):
                _remove(el)
        type_el = os_el.find('type')
        machine = type_el.get('machine') if type_el is not None else None
        if machine and self.host.machines and \
                machine not in self.host.machines:
            new = 'q35' if 'q35' in machine else 'pc'
            type_el.set('machine', new)
            self.note('os: machine %s -> %s' % (machine, new))
        self._firmware(os_el)
        # Schema order: type, firmware/loader/nvram, kernel, initrd, cmdline.
        anchor = os_el.find('nvram')
        if anchor is None:
            anchor = os_el.find('loader')
        if anchor is None:
            anchor = os_el.find('firmware')
        if anchor is None:
            anchor = type_el
        index = list(os_el).index(anchor) + 1 if anchor is not None else 0
        for offset, (tag, text) in enumerate((
                ('kernel', self.kernel), ('initrd', self.initrd),
                ('cmdline', self.cmdline))):
            el = etree.Element(tag)
            el.text = text
            os_el.insert(index + offset, el)
        self.note('os: boot the tiny guest (kernel %s)' % self.kernel)

    def _firmware(self, os_el):
        loader = os_el.find('loader')
        efi = os_el.get('firmware') == 'efi'
        if loader is None and not efi:
            return
        missing = False
        if loader is not None and loader.text:
            missing = not os.path.exists(loader.text.strip())
        elif efi:
            missing = not any(glob.glob(os.path.join(d, '*.json'))
                              for d in FIRMWARE_DESCRIPTOR_DIRS)
        if missing:
            os_el.attrib.pop('firmware', None)
            for tag in ('loader', 'nvram', 'firmware'):
                for el in os_el.findall(tag):
                    _remove(el)
            self.note('os: drop UEFI firmware (not on this host)')

    def emulator(self):
        el = self.doc.find('devices/emulator')
        if el is not None and not os.path.exists((el.text or '').strip()):
            self.note('drop emulator %s' % el.text)
            _remove(el)

    def features(self):
        features = self.doc.find('features')
        if features is None:
            features = etree.Element('features')
            anchor = self.doc.find('os')
            self.doc.insert(list(self.doc).index(anchor) + 1, features)
        if features.find('acpi') is None:
            features.insert(0, etree.Element('acpi'))
            self.note('features: add acpi')
        if self.tcg:
            for tag in ('kvm', 'hyperv'):
                el = features.find(tag)
                if el is not None:
                    _remove(el)
                    self.note('features: drop %s (TCG)' % tag)

    def clock(self):
        if not self.tcg:
            return
        for timer in self.doc.findall('clock/timer'):
            if timer.get('name') in ('kvmclock', 'hypervclock'):
                _remove(timer)
                self.note('clock: drop timer %s (TCG)' % timer.get('name'))

    # -- CPU and memory placement --------------------------------------

    def cpu(self):
        cpu = self.doc.find('cpu')
        if cpu is None or not self.tcg:
            return
        mode = cpu.get('mode', 'custom')
        if mode == 'maximum':
            return
        for tag in ('model', 'vendor', 'feature', 'cache'):
            for el in cpu.findall(tag):
                _remove(el)
        _clear_attrs(cpu)
        cpu.set('mode', 'maximum')
        self.note('cpu: mode %s -> maximum (TCG)' % mode)

    def placement(self):
        vcpu = self.doc.find('vcpu')
        if vcpu is not None and vcpu.get('cpuset') and not (
                parse_cpuset(vcpu.get('cpuset')) <= self.host.cpus):
            self.note('vcpu: drop cpuset %s' % vcpu.get('cpuset'))
            del vcpu.attrib['cpuset']
        cputune = self.doc.find('cputune')
        if cputune is not None:
            for el in list(cputune):
                if el.tag in PIN_ELEMENTS and el.get('cpuset') is not None \
                        and not (parse_cpuset(el.get('cpuset'))
                                 <= self.host.cpus):
                    self.note('cputune: drop <%s %s>' % (
                        el.tag, ' '.join('%s=%s' % kv
                                         for kv in sorted(el.items()))))
                    _remove(el)
            if len(cputune) == 0:
                _remove(cputune)
        numatune = self.doc.find('numatune')
        if numatune is not None:
            for el in list(numatune):
                nodeset = el.get('nodeset')
                if nodeset is not None and not (
                        parse_cpuset(nodeset) <= self.host.numa_nodes):
                    self.note('numatune: drop <%s nodeset=%s>'
                              % (el.tag, nodeset))
                    _remove(el)
            if len(numatune) == 0:
                _remove(numatune)
        perf = self.doc.find('perf')
        if perf is not None:
            self.note('drop perf')
            _remove(perf)
        blkiotune = self.doc.find('blkiotune')
        if blkiotune is not None and not self.host.blkio_weight:
            self.note('drop blkiotune (no blkio weight on host)')
            _remove(blkiotune)

    def memory_backing(self):
        backing = self.doc.find('memoryBacking')
        if backing is None:
            return
        huge = backing.find('hugepages')
        if huge is not None and not self.host.hugepages:
            _remove(huge)
            self.note('memoryBacking: drop hugepages (none on host)')
            if len(backing) == 0:
                _remove(backing)

    # -- devices -------------------------------------------------------

    def devices(self):
        devices = self.doc.find('devices')
        if devices is None:
            devices = _sub(self.doc, 'devices')
        for disk in devices.findall('disk'):
            self.disk(disk)
        for iface in devices.findall('interface'):
            self.interface(iface)
        for hostdev in devices.findall('hostdev'):
            self.note('drop hostdev %s' % etree.tostring(
                hostdev.find('source') if hostdev.find('source') is not None
                else hostdev, encoding='unicode').strip()[:120])
            _remove(hostdev)
        self.serials(devices)
        for graphics in devices.findall('graphics'):
            self.graphics(graphics)
        for channel in devices.findall('channel'):
            self.channel(channel)
        for redir in devices.findall('redirdev'):
            if redir.get('type') in ('tcp', 'udp'):
                self.note('redirdev: drop %s' % redir.get('type'))
                _remove(redir)
        if not self.host.swtpm:
            for tpm in devices.findall('tpm'):
                self.note('drop tpm (no swtpm)')
                _remove(tpm)
        if not self.host.vhost_vsock:
            for vsock in devices.findall('vsock'):
                self.note('drop vsock (no /dev/vhost-vsock)')
                _remove(vsock)

    def disk(self, disk):
        source = disk.find('source')
        target = disk.find('target')
        dev = target.get('dev') if target is not None else '?'
        if disk.get('device') == 'lun':
            disk.set('device', 'disk')
            for attr in ('sgio', 'rawio'):
                disk.attrib.pop(attr, None)
            self.note('disk %s: device lun -> disk' % dev)
        if source is None:
            return
        driver = disk.find('driver')
        fmt = driver.get('type') if driver is not None else None
        fmt = 'qcow2' if fmt == 'qcow2' else 'raw'
        path = self._make_image(dev, fmt)
        old_type = disk.get('type', 'file')
        disk.set('type', 'file')
        index = list(disk).index(source)
        _remove(source)
        new_source = etree.Element('source', file=path)
        disk.insert(index, new_source)
        for tag in ('auth', 'encryption', 'backingStore', 'reservations'):
            for el in disk.findall(tag):
                _remove(el)
        if driver is None:
            driver = etree.Element('driver', name='qemu')
            disk.insert(0, driver)
        if driver.get('type') != fmt:
            driver.set('type', fmt)
        self.note('disk %s: %s -> file %s (%s)' % (dev, old_type, path, fmt))
        if driver.get('cache') in ('none', 'directsync') and \
                not _supports_o_direct(os.path.dirname(path)):
            self.note('disk %s: cache %s -> writeback (no O_DIRECT on %s)'
                      % (dev, driver.get('cache'), os.path.dirname(path)))
            driver.set('cache', 'writeback')
            driver.attrib.pop('io', None)

    def _make_image(self, dev, fmt):
        disks = os.path.join(self.workdir, 'disks')
        os.makedirs(disks, exist_ok=True)
        path = os.path.join(disks, '%s.%s' % (dev, fmt))
        if not os.path.exists(path):
            subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path,
                            DISK_SIZE], check=True,
                           stdout=subprocess.DEVNULL)
        return path

    def interface(self, iface):
        mac = iface.find('mac')
        name = mac.get('address') if mac is not None else '(no mac)'
        old_type = iface.get('type')
        dropped = []
        for child in list(iface):
            if child.tag is etree.Comment:
                continue
            if child.tag not in KEEP_INTERFACE_CHILDREN:
                dropped.append(child.tag)
                _remove(child)
        _clear_attrs(iface)
        iface.set('type', 'user')
        if old_type != 'user' or dropped:
            self.note('interface %s: %s -> user%s' % (
                name, old_type,
                ' (dropped %s)' % ', '.join(dropped) if dropped else ''))

    def serials(self, devices):
        serials = devices.findall('serial')
        first = serials[0] if serials else None
        if first is None:
            first = _sub(devices, 'serial')
            _sub(first, 'target', port='0')
            old = 'none'
        else:
            old = first.get('type')
        self._to_file(first)
        self.note('serial 0: %s -> file %s' % (old, self.serial_log))
        for other in serials[1:]:
            self._to_null(other)
            self.note('serial %s: %s -> null' % (
                self._port(other), other.get('type')))
        for console in devices.findall('console'):
            target = console.find('target')
            ttype = target.get('type') if target is not None else 'serial'
            port = target.get('port', '0') if target is not None else '0'
            if ttype == 'serial' and port == '0':
                old = console.get('type')
                self._to_file(console)
                if old != 'file':
                    self.note('console serial 0: %s -> file' % old)
            elif console.get('type') != 'null':
                self.note('console %s: %s -> null' % (ttype,
                                                      console.get('type')))
                self._to_null(console)

    def _port(self, el):
        target = el.find('target')
        return target.get('port', '?') if target is not None else '?'

    def _strip_chardev(self, el):
        for tag in ('source', 'protocol', 'log'):
            for child in el.findall(tag):
                _remove(child)

    def _to_file(self, el):
        self._strip_chardev(el)
        el.set('type', 'file')
        el.insert(0, etree.Element('source', path=self.serial_log))

    def _to_null(self, el):
        self._strip_chardev(el)
        el.set('type', 'null')

    def graphics(self, graphics):
        gtype = graphics.get('type')
        if gtype not in ('vnc', 'spice'):
            return
        listens = graphics.findall('listen')
        if (len(listens) == 1 and listens[0].get('type') == 'none'
                and not graphics.get('listen')):
            return
        for el in listens:
            _remove(el)
        for attr in ('listen', 'port', 'tlsPort', 'autoport', 'websocket',
                     'socket'):
            graphics.attrib.pop(attr, None)
        graphics.insert(0, etree.Element('listen', type='none'))
        self.note('graphics %s: listen none' % gtype)

    def channel(self, channel):
        target = channel.find('target')
        name = (target.get('name') or target.get('type')) \
            if target is not None else '?'
        ctype = channel.get('type')
        if ctype in ('tcp', 'udp'):
            self._to_null(channel)
            self.note('channel %s: %s -> null' % (name, ctype))
        elif ctype == 'unix':
            source = channel.find('source')
            path = source.get('path') if source is not None else None
            if path and not os.path.isdir(os.path.dirname(path)):
                del source.attrib['path']
                self.note('channel %s: drop source path %s' % (name, path))

    def seclabels(self):
        for label in list(self.doc.iter('seclabel')):
            model = label.get('model')
            if model and model != 'none':
                self.note('drop seclabel model %s' % model)
                _remove(label)


def adjust_domain_xml(xml, host, kernel, initrd, cmdline, workdir):
    """Return ``(xml, adjustments)`` for booting ``xml`` on our daemon.

    ``host`` is a :class:`HostFacts`; ``kernel``, ``initrd`` and
    ``cmdline`` boot the tiny guest; ``workdir`` receives ``serial.log``
    and the disk images.  ``adjustments`` lists every change made, one
    short sentence each (see the module docstring).
    """
    if isinstance(xml, str):
        xml = xml.encode('utf-8')
    parser = etree.XMLParser(remove_blank_text=False)
    doc = copy.deepcopy(etree.fromstring(xml, parser))
    os.makedirs(workdir, exist_ok=True)
    changes = _Adjuster(doc, host, kernel, initrd, cmdline, workdir).run()
    return etree.tostring(doc, encoding='unicode'), changes

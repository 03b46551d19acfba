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

"""Keep the guest hardware libvirt assigned when Nova redefines a domain.

libvirt fills in what Nova leaves open: PCI and drive addresses of every
device, and the versioned machine type behind an alias such as ``pc``.
Nova throws the definition away on a hard reboot, a stop and start, a
rescue and a resize revert, and the new one gets whatever libvirt assigns
this time: devices renumbered, disks reordered, sometimes a newer machine
type.  Guests notice (Windows re-activates, offlines volumes).

This module carries the old layout over to the new definition:

* the *layout* is the domain's last definition, saved in the instance
  directory (:data:`LAYOUT_FILE`) after every define and just before every
  redefinition, so that it survives a redefinition that failed half way;
* each device of the new definition is matched to its old self by a stable
  identity (:func:`device_key`) and gets the old ``<address>``;
* the versioned machine type is kept when the host still offers it;
* anything that would make that unsafe (a disk moved to another bus, a
  changed device model, an address already taken, a machine type the host
  lost) falls back to libvirt's assignment for the devices concerned, with
  a WARNING naming them.
"""

import collections
import contextlib
import dataclasses
import os

from lxml import etree
from nova import exception as nova_exception
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging

from nova_domain_meta import conf
from nova_domain_meta import metadata
from nova_domain_meta.metadata import domain_meta

CONF = conf.CONF
LOG = logging.getLogger(__name__)

#: Name of the saved layout in the instance directory.
LAYOUT_FILE = 'domain-meta-hardware.xml'

# Devices identified by an ordinal among their kind: there is at most a
# handful of each and Nova always generates them in the same order.
_ORDINAL_KINDS = ('memballoon', 'video', 'rng', 'input', 'sound', 'watchdog',
                  'tpm', 'redirdev', 'smartcard', 'vsock', 'iommu', 'panic',
                  'shmem', 'memory', 'graphics', 'hub')


@dataclasses.dataclass
class Outcome:
    """What :func:`preserve` did, for logs and the metadata."""

    preserved: list = dataclasses.field(default_factory=list)
    reassigned: list = dataclasses.field(default_factory=list)  # (key, why)
    new: list = dataclasses.field(default_factory=list)
    machine: str = None
    machine_kept: bool = False


def _source(disk):
    source = disk.find('source')
    if source is None:
        return None
    for attr in ('file', 'dev', 'name', 'volume', 'dir'):
        if source.get(attr):
            return source.get(attr)
    return None


def device_key(device, ordinals):
    """Return the stable identity of a device element, or None.

    Disks by volume serial, else by source, else by target; interfaces by
    MAC; controllers by type and index; channels, serial ports and
    consoles by target; host devices by source address; filesystems by
    mount tag; anything else by its position among devices of its kind.
    ``ordinals`` is a Counter shared across one definition's devices.
    """
    kind = device.tag
    if kind == 'disk':
        serial = device.findtext('serial')
        if serial:
            return 'disk:serial:' + serial
        source = _source(device)
        if source:
            return 'disk:source:' + source
        target = device.find('target')
        return 'disk:target:%s' % (target.get('dev') if target is not None
                                   else None)
    if kind == 'interface':
        mac = device.find('mac')
        return 'interface:%s' % (mac.get('address').lower() if mac is not None
                                 else None)
    if kind == 'controller':
        return 'controller:%s:%s' % (device.get('type'), device.get('index'))
    if kind in ('channel', 'serial', 'console', 'parallel'):
        target = device.find('target')
        if target is not None:
            return '%s:%s:%s' % (kind, target.get('name'),
                                 target.get('port'))
    if kind == 'hostdev':
        address = device.find('source/address')
        if address is not None:
            return 'hostdev:' + ':'.join(
                '%s=%s' % item for item in sorted(address.attrib.items()))
    if kind == 'filesystem':
        target = device.find('target')
        if target is not None:
            return 'filesystem:' + str(target.get('dir'))
    if kind == 'input':
        # Nova adds a USB keyboard once it has recorded hw_input_bus; keep
        # each type and bus apart so that does not shift the others.
        kind = 'input:%s:%s' % (device.get('type'), device.get('bus'))
    if kind.split(':')[0] in _ORDINAL_KINDS:
        ordinals[kind] += 1
        return '%s:%d' % (kind, ordinals[kind])
    return None


def _model(device):
    model = device.find('model')
    if model is not None:
        return model.get('type') or model.get('name')
    return device.get('model')


# Disk buses whose devices sit on a controller (drive addresses); every
# other bus (virtio) puts the disk on PCI or its platform's equivalent.
_DRIVE_BUSES = ('sata', 'ide', 'scsi', 'usb', 'fdc', 'sd')


def _bus(disk):
    target = disk.find('target')
    return target.get('bus') if target is not None else None


def _unsafe_reason(old, new):
    """Return why ``old``'s address must not be given to ``new``, or None."""
    address = old.find('address')
    if old.tag == 'disk':
        if _bus(old) != _bus(new):
            return 'bus changed from %s to %s' % (_bus(old), _bus(new))
        wants_drive = _bus(new) in _DRIVE_BUSES
        if (address.get('type') == 'drive') != wants_drive:
            return 'a %s address does not fit bus %s' % (
                address.get('type'), _bus(new))
    # A model Nova leaves out is the default libvirt wrote into the old
    # definition; only two different explicit models are a change.
    if _model(new) is not None and _model(old) != _model(new):
        return 'model changed from %s to %s' % (_model(old), _model(new))
    return None


def _address_id(address):
    """Return what makes an address unique on its bus."""
    attrs = dict(address.attrib)
    kind = attrs.pop('type', None)
    attrs.pop('multifunction', None)
    return (kind,) + tuple(sorted((k, int(v, 0) if v[:1].isdigit() else v)
                                  for k, v in attrs.items()))


def _devices(root):
    devices = root.find('devices')
    return [] if devices is None else [d for d in devices
                                       if isinstance(d.tag, str)]


def layout_devices(root):
    """Return ``{identity: device element}`` of a parsed definition."""
    ordinals = collections.Counter()
    found = {}
    for device in _devices(root):
        key = device_key(device, ordinals)
        if key is not None and key not in found:
            found[key] = device
    return found


def preserve(new_xml, old_xml, offered_machines):
    """Return ``(xml, Outcome)``: ``new_xml`` with ``old_xml``'s hardware.

    :param offered_machines: machine types the host can run now, or None
        when unknown (then the old machine type is kept as it is)
    """
    new_root = etree.fromstring(new_xml)
    old_root = etree.fromstring(old_xml)
    outcome = Outcome()
    old_devices = layout_devices(old_root)

    taken = collections.Counter()
    plan = []
    ordinals = collections.Counter()
    for device in _devices(new_root):
        key = device_key(device, ordinals)
        old = old_devices.get(key) if key else None
        old_address = old.find('address') if old is not None else None
        if old_address is None:
            if key and device.find('address') is None:
                outcome.new.append(key)
            if device.find('address') is not None:
                taken[_address_id(device.find('address'))] += 1
            continue
        reason = _unsafe_reason(old, device)
        if reason:
            outcome.reassigned.append((key, reason))
            if device.find('address') is not None:
                taken[_address_id(device.find('address'))] += 1
            continue
        plan.append((key, device, old_address))

    for key, device, old_address in plan:
        address_id = _address_id(old_address)
        if taken[address_id]:
            outcome.reassigned.append((key, 'address already in use'))
            continue
        taken[address_id] += 1
        current = device.find('address')
        if current is not None:
            device.remove(current)
        device.append(_copy(old_address))
        outcome.preserved.append(key)

    old_type = old_root.find('os/type')
    new_type = new_root.find('os/type')
    if old_type is not None and new_type is not None and \
            old_type.get('machine'):
        machine = old_type.get('machine')
        if offered_machines is None or machine in offered_machines:
            new_type.set('machine', machine)
            outcome.machine_kept = True
        else:
            outcome.reassigned.append(
                ('machine', 'machine type %s no longer offered' % machine))
        outcome.machine = new_type.get('machine')
    return etree.tostring(new_root, encoding='unicode'), outcome


def _copy(element):
    clone = etree.fromstring(etree.tostring(element))
    clone.tail = None
    return clone


def layout_path(instance_dir):
    return os.path.join(instance_dir, LAYOUT_FILE)


def save_layout(instance_dir, domain_xml):
    """Save a definition as the layout to keep; atomic on one filesystem."""
    os.makedirs(instance_dir, exist_ok=True)
    path = layout_path(instance_dir)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(domain_xml)
    os.replace(tmp, path)


def load_layout(instance_dir):
    """Return the saved layout XML, or None when there is none."""
    try:
        with open(layout_path(instance_dir)) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _offered_machines(host):
    """Return every machine type name the host's libvirt reports, or None."""
    names = set()
    for guest in host.get_capabilities().guests:
        domains = list(guest.domains.values())
        if guest.default_domain is not None:
            domains.append(guest.default_domain)
        for domain in domains:
            for name, machine in domain.machines.items():
                names.add(name)
                if getattr(machine, 'canonical', None):
                    names.add(machine.canonical)
    return names or None


def _with_record(domain_xml, outcome):
    """Return ``domain_xml`` with ``<ndm:hardware>`` set from ``outcome``."""
    root = etree.fromstring(domain_xml)
    node = root.find('./metadata/{%s}instance' % metadata.DOMAIN_META_NS)
    if node is None:
        return domain_xml
    element = domain_meta.DomainMetaInstance()
    element.parse_dom(node)
    element.hardware = domain_meta.DomainMetaHardware(
        preserved=len(outcome.preserved), machine=outcome.machine,
        machine_kept=outcome.machine_kept,
        reassigned=[domain_meta.DomainMetaReassigned(device=key, reason=why)
                    for key, why in outcome.reassigned])
    node.getparent().replace(node, element.format_dom())
    return etree.tostring(root, encoding='unicode')


class StableHardware(object):
    """When to remember a domain's layout, and when to carry it over."""

    def __init__(self, host):
        self._host = host
        self._redefining = set()

    @contextlib.contextmanager
    def redefining(self, instance):
        """Mark an operation that redefines the domain on this host."""
        if not CONF.domain_meta.preserve_hardware:
            yield
            return
        self.remember(instance)
        self._redefining.add(instance.uuid)
        try:
            yield
        finally:
            self._redefining.discard(instance.uuid)

    def remember(self, instance, guest=None):
        """Save the domain's definition as the layout to keep; never raises.

        A running guest's live definition is saved: its addresses are the
        ones the guest sees, hot-plugged devices included.
        """
        if not CONF.domain_meta.preserve_hardware:
            return
        try:
            guest = guest or self._host.get_guest(instance)
            xml = guest.get_xml_desc(dump_inactive=not guest.is_active())
            save_layout(libvirt_utils.get_instance_path(instance), xml)
        except nova_exception.InstanceNotFound:
            LOG.debug('No domain to remember the hardware of',
                      instance=instance)
        except Exception:
            LOG.warning('Could not save the domain hardware layout',
                        instance=instance, exc_info=True)

    def apply(self, instance, domain_xml):
        """Return ``domain_xml`` with the remembered hardware carried over.

        Only while :meth:`redefining` the instance; any problem leaves the
        XML as Nova generated it, with a warning.
        """
        if instance.uuid not in self._redefining:
            return domain_xml
        try:
            old = load_layout(libvirt_utils.get_instance_path(instance))
            if old is None:
                LOG.info('No previous definition to keep hardware from',
                         instance=instance)
                return domain_xml
            new_xml, outcome = preserve(domain_xml, old,
                                        _offered_machines(self._host))
        except Exception:
            LOG.warning('Could not keep the previous hardware layout; '
                        'libvirt assigns it anew', instance=instance,
                        exc_info=True)
            return domain_xml
        for key, why in outcome.reassigned:
            LOG.warning('%(device)s gets a new address from libvirt: '
                        '%(why)s', {'device': key, 'why': why},
                        instance=instance)
        LOG.info('Kept the addresses of %(count)d devices and machine type '
                 '%(machine)s from the previous definition; %(new)d new '
                 'devices', {'count': len(outcome.preserved),
                             'machine': outcome.machine,
                             'new': len(outcome.new)}, instance=instance)
        return _with_record(new_xml, outcome)

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
  directory (:data:`LAYOUT_FILE`) after every define, just before every
  redefinition and before a resize or cold migration moves the directory
  aside, so that it survives a redefinition that failed half way and comes
  back with the directory when a resize is reverted;
* a layout that is not this domain's definition (unreadable, truncated,
  another domain's) is not used at all;
* each device of the new definition is matched to its old self by a stable
  identity (:func:`device_key`) and gets the old ``<address>``;
* the versioned machine type replaces the alias Nova asked for (``pc``,
  ``q35``) when the host still offers it; a versioned type Nova asks for
  (set with ``nova-manage libvirt update_machine_type``, an image property
  or ``[libvirt] hw_machine_type``) is the operator's choice and wins;
* anything that would make that unsafe (a disk moved to another bus, a
  changed device model, an address already taken, a machine type the host
  lost, another machine family) falls back to libvirt's assignment for the
  devices concerned, with a WARNING naming them.
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
from nova_domain_meta import machine_types
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
    #: The old machine type when Nova asked for another one, which won.
    machine_replaced: str = None


class UnusableLayout(ValueError):
    """The saved layout is not a definition of the domain redefined."""


# Never resolve entities or fetch anything while reading a saved layout.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


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


def parse_layout(layout, uuid):
    """Return the root of a saved layout if it defines domain ``uuid``.

    :raises UnusableLayout: it is not well-formed XML (truncated, garbage)
        or not a definition of that domain (another domain's, from a
        copied or restored instance directory, whose devices would hand
        their addresses to ours by ordinal or controller index)
    """
    if isinstance(layout, str):
        layout = layout.encode('utf-8')
    try:
        root = etree.fromstring(layout, _PARSER)
    except etree.XMLSyntaxError as e:
        raise UnusableLayout('not well-formed XML: %s' % e)
    if root.tag != 'domain':
        raise UnusableLayout('not a domain definition but <%s>'
                             % str(root.tag)[:40])
    found = (root.findtext('uuid') or '').strip().lower()
    if not found or found != (uuid or '').strip().lower():
        raise UnusableLayout('the definition of domain %s, not of this one'
                             % (found[:40] or '(none)'))
    return root


def preserve(new_xml, old_xml, offered_machines):
    """Return ``(xml, Outcome)``: ``new_xml`` with ``old_xml``'s hardware.

    :param offered_machines: ``{machine type: the type it is an alias of,
        or None}`` the host can run now, or None when unknown (then the
        old machine type replaces any alias as it is)
    :raises UnusableLayout: ``old_xml`` is not a definition of the domain
        ``new_xml`` defines
    """
    new_root = etree.fromstring(new_xml)
    old_root = parse_layout(old_xml, new_root.findtext('uuid'))
    outcome = Outcome()

    old_type = old_root.find('os/type')
    new_type = new_root.find('os/type')
    old_machine = old_type.get('machine') if old_type is not None else None
    if new_type is not None and old_machine:
        requested = new_type.get('machine')
        machine, why = machine_types.choose(old_machine, requested,
                                            offered_machines)
        if why:
            outcome.reassigned.append(('machine', why))
        if machine:
            new_type.set('machine', machine)
        outcome.machine = machine
        outcome.machine_kept = machine == old_machine
        if machine != old_machine and machine == requested and not why:
            outcome.machine_replaced = old_machine
        if not machine_types.same_chipset(old_machine, machine,
                                          offered_machines):
            # Addresses on another chipset (i440fx has no PCIe root ports)
            # may not even be valid on this one.
            outcome.reassigned.append(
                ('layout', 'machine type %s replaced by %s of another family'
                 % (old_machine, machine)))
            return etree.tostring(new_root, encoding='unicode'), outcome

    _carry_addresses(new_root, layout_devices(old_root), outcome)
    return etree.tostring(new_root, encoding='unicode'), outcome


def _carry_addresses(new_root, old_devices, outcome):
    """Give each device of ``new_root`` its old address where safe."""
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
    """Return the saved layout as bytes, or None when there is none."""
    try:
        with open(layout_path(instance_dir), 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


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
                                        machine_types.offered(self._host))
        except UnusableLayout as e:
            LOG.warning('The saved hardware layout is not usable (%s); '
                        'libvirt assigns every address anew', e,
                        instance=instance)
            return _with_record(domain_xml, Outcome(
                reassigned=[('layout', 'saved layout not usable: %s' % e)]))
        except Exception:
            LOG.warning('Could not keep the previous hardware layout; '
                        'libvirt assigns it anew', instance=instance,
                        exc_info=True)
            return domain_xml
        for key, why in outcome.reassigned:
            LOG.warning('Not kept from the previous definition: %(device)s '
                        '(%(why)s); libvirt assigns it anew',
                        {'device': key, 'why': why}, instance=instance)
        if outcome.machine_replaced:
            LOG.info('Machine type %(new)s, as Nova asks, replaces %(old)s '
                     'of the previous definition',
                     {'new': outcome.machine,
                      'old': outcome.machine_replaced}, instance=instance)
        LOG.info('Kept the addresses of %(count)d devices from the '
                 'previous definition, %(new)d devices are new; machine '
                 'type %(machine)s', {'count': len(outcome.preserved),
                                      'machine': outcome.machine,
                                      'new': len(outcome.new)},
                 instance=instance)
        return _with_record(new_xml, outcome)

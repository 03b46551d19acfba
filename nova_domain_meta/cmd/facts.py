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

"""What a domain's metadata says, one helper per fact.

Each helper takes a :class:`~.domain.Domain` and returns plain Python
values, None (or an empty list) when the domain does not say; ``list``,
``show`` and ``find_domain`` all read facts through here, so a fact means
the same wherever it is shown.

The facts ``list`` shows are read straight from the elements, through
the readers of the small elements that hold them (owner, ports):
parsing all of ``<nova:instance>`` and ``<ndm:instance>`` (image
properties, extra specs, block devices...) for each of a thousand guests
cost more than everything else ``list`` does.
``tests/unit/cmd/test_fast_reads.py`` checks that these agree with the
full readers.
"""

from nova_domain_meta import metadata
from nova_domain_meta.metadata import readers

_NDM = '{%s}%%s' % metadata.DOMAIN_META_NS
_INT = readers.PARSE[int]


def text(value):
    """Return ``value`` or None when it is missing or empty."""
    return value if value not in (None, '') else None


def _read(klass, element):
    """``element`` read by ``klass``, or None when there is no element."""
    if element is None:
        return None
    reader = klass()
    reader.parse_dom(element)
    return reader


def display_name(domain):
    """The Nova display name of the guest."""
    name = domain.nova_child('name')
    return text(name.text) if name is not None else None


def flavor(domain):
    """``(name, id)`` of the flavor the guest was defined with."""
    f = domain.nova_child('flavor')
    if f is None:
        return None, None
    return text(f.get('name')), text(f.get('id'))


def owner(domain):
    """``(project name, project id, user name, user id)``."""
    o = _read(readers.NovaOwnerReader, domain.nova_child('owner'))
    if o is None:
        return None, None, None, None
    return (text(o.projectname), text(o.projectid), text(o.username),
            text(o.userid))


def nova_ports(domain):
    """The ``<nova:port>`` readers of the guest (addresses by port)."""
    ports = _read(readers.NovaPortsReader, domain.nova_child('ports'))
    return ports.ports if ports is not None else []


def addresses(domain):
    """``(fixed, floating)`` lists of the guest's IP addresses."""
    fixed, floating = [], []
    for port in nova_ports(domain):
        for ip in port.ips:
            (floating if ip.ip_type == 'floating' else fixed).append(
                ip.address)
    return fixed, floating


def _boot_volume(domain):
    devices = None
    if domain.ndm_element is not None:
        devices = domain.ndm_element.find(_NDM % 'blockDevices')
    if devices is None:
        return None
    for device in devices.iterchildren(_NDM % 'blockDevice'):
        volume = device.get('volume')
        if _INT(device.get('bootIndex')) == 0 and volume:
            return volume
    return None


def root(domain):
    """``{'type': 'image'|'volume', 'id': uuid or None}``, or None.

    Stock Nova writes an empty uuid for a boot-from-volume root; our block
    device list names the volume then.
    """
    element = domain.nova_child('root')
    root_type = element.get('type') if element is not None else None
    if not root_type:
        return None
    root_id = text(element.get('uuid'))
    if root_id is None and root_type == 'volume':
        root_id = _boot_volume(domain)
    return {'type': root_type, 'id': root_id}


def power_metrics_share(domain):
    """Mount tags of the guest's power-metrics shares, or None.

    Read from the ``<ndm:share>`` records our driver writes; a guest
    without a share (or a domain written by stock Nova) has None.
    """
    if domain.ndm_element is None:
        return None
    tags = [share.get('tag')
            for share in domain.ndm_element.iterchildren(_NDM % 'share')]
    return tags or None


def power_metrics_share_details(domain):
    """Each power-metrics share: tag, host directory, source, read-only."""
    if domain.ndm is None:
        return []
    return [{'tag': share.tag, 'directory': share.directory,
             'source': share.source, 'read_only_by': share.read_only_by}
            for share in domain.ndm.shares]


def preserved_addresses(domain):
    """What the last redefinition kept of the hardware libvirt assigned.

    From ``<ndm:hardware>``: how many devices kept their address, the
    machine type and whether it was kept, and the devices that got a new
    address with why.  An empty list when the domain was never redefined
    by our driver with hardware preserved.
    """
    hardware = domain.ndm.hardware if domain.ndm is not None else None
    if hardware is None:
        return []
    return [{'preserved': hardware.preserved, 'machine': hardware.machine,
             'machine_kept': hardware.machine_kept,
             'reassigned': [{'device': r.device, 'reason': r.reason}
                            for r in hardware.reassigned]}]

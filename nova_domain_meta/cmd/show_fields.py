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

"""The fields of ``show``: everything one domain's metadata says.

Both elements are merged here: Nova's gives the addresses of each port and
the image properties Nova models, ours the MAC, network and VIF of each
port, every image property, block devices, tags, shares and the hardware
the last redefinition kept.
"""

import collections
import time

from nova_domain_meta.cmd import facts
from nova_domain_meta.metadata import readers


def _port_details(domain):
    """Merge Nova's ports (addresses) with ours (MAC, network, VIF)."""
    ours = {p.uuid: p for p in domain.ndm.ports} if domain.ndm else {}
    ports = []
    seen = set()
    for port in facts.nova_ports(domain):
        seen.add(port.uuid)
        ports.append(_port_dict(port.uuid, ours.get(port.uuid), port.ips))
    for uuid, port in ours.items():
        if uuid not in seen:
            ports.append(_port_dict(uuid, port, []))
    return ports


def _port_dict(uuid, ours, ips):
    details = {'id': uuid,
               'fixed_ips': [ip.address for ip in ips
                             if ip.ip_type != 'floating'],
               'floating_ips': [ip.address for ip in ips
                                if ip.ip_type == 'floating']}
    for _xml, attr, _kind in readers.DomainMetaPortReader.attributes:
        if attr != 'uuid':
            details[attr] = getattr(ours, attr) if ours is not None \
                else None
    return details


def _block_devices(domain):
    if domain.ndm is None:
        return []
    return [{attr: getattr(device, attr)
             for _xml, attr, _kind in device.attributes}
            for device in domain.ndm.block_devices]


def _image(domain):
    """``(image dict, properties dict)`` merged from both elements."""
    image = {'id': None, 'name': None, 'container_format': None,
             'disk_format': None, 'min_disk': None, 'min_ram': None}
    properties = {}
    nova_image = domain.nova.image if domain.nova is not None else None
    if nova_image is not None:
        meta = nova_image.image_meta
        image.update(id=facts.text(nova_image.uuid),
                     container_format=meta.container_format,
                     disk_format=meta.disk_format, min_disk=meta.min_disk,
                     min_ram=meta.min_ram)
        properties.update(meta.properties)
    ndm_image = domain.ndm.image if domain.ndm is not None else None
    if ndm_image is not None:
        # Ours lists every property, also those Nova does not model.
        image['id'] = image['id'] or facts.text(ndm_image.uuid)
        image['name'] = facts.text(ndm_image.name)
        properties.update((p.name, p.value) for p in ndm_image.properties)
    return image, properties


def _created(domain):
    if domain.ndm is not None and domain.ndm.created_at:
        return domain.ndm.created_at
    created = domain.nova.creationTime if domain.nova is not None else None
    if created is None:
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(created))


def show_fields(domain, problems=None):
    """Return everything known about ``domain``, as an ordered dict.

    ``problems`` are what :func:`~.checks.check_domain` found, shown
    along; without them only the problems met while reading are.
    """
    nova = domain.nova
    ndm = domain.ndm
    f = nova.flavor if nova is not None else None
    flavor_name, flavor_id = facts.flavor(domain)
    project, project_id, user, user_id = facts.owner(domain)
    fixed, floating = facts.addresses(domain)
    image, image_properties = _image(domain)

    def ndm_value(attr):
        return facts.text(getattr(ndm, attr)) if ndm is not None else None

    def flavor_value(attr):
        return getattr(f, attr) if f is not None else None

    fields = collections.OrderedDict()
    fields['name'] = domain.name
    fields['uuid'] = domain.uuid
    fields['state'] = domain.state
    fields['metadata'] = domain.kind
    fields['display_name'] = facts.display_name(domain)
    fields['hostname'] = ndm_value('hostname')
    fields['host'] = ndm_value('host')
    fields['availability_zone'] = ndm_value('availability_zone')
    fields['created'] = _created(domain)
    fields['key_name'] = ndm_value('key_name')
    fields['project'] = project
    fields['project_id'] = project_id
    fields['user'] = user
    fields['user_id'] = user_id
    fields['flavor'] = flavor_name
    fields['flavor_id'] = flavor_id
    fields['vcpus'] = flavor_value('vcpus')
    fields['memory_mb'] = flavor_value('memory')
    fields['disk_gb'] = flavor_value('disk')
    fields['ephemeral_gb'] = flavor_value('ephemeral')
    fields['swap_mb'] = flavor_value('swap')
    fields['extra_specs'] = dict(flavor_value('extra_specs') or {})
    fields['root'] = facts.root(domain)
    fields['image'] = image
    fields['image_properties'] = image_properties
    fields['fixed_ips'] = fixed
    fields['floating_ips'] = floating
    fields['ports'] = _port_details(domain)
    fields['block_devices'] = _block_devices(domain)
    fields['tags'] = [t.value for t in ndm.tags] if ndm is not None else []
    fields['power_metrics_share'] = \
        facts.power_metrics_share_details(domain) or None
    fields['preserved_addresses'] = facts.preserved_addresses(domain)
    fields['nova_package'] = facts.text(nova.package) if nova is not None \
        else None
    fields['plugin_version'] = ndm_value('plugin_version')
    fields['nova_namespace'] = domain.nova_namespace
    fields['problems'] = [str(p) for p in problems] if problems is not None \
        else list(domain.problems)
    return fields

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

"""Keep an existing domain's metadata true to its instance.

:func:`expected_elements` computes what a domain should hold from Nova's
objects and the disks libvirt really presents; :func:`refresh` writes what
differs, live and persistent.  The driver calls :func:`refresh` right after
every operation that changes the instance without redefining the domain;
the reconciler calls it for changes the driver never hears about.
"""

import hashlib

from oslo_log import log as logging

from nova_domain_meta import conf
from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import collect
from nova_domain_meta.metadata import writer
from nova_domain_meta import version

CONF = conf.CONF
LOG = logging.getLogger(__name__)

def expected_elements(driver, instance, network_info, domain_xml,
                      bdms=None, exclude_devices=(), volume_overrides=None):
    """Return the elements the instance's domain should hold.

    :param bdms: the instance's BlockDeviceMappingList; read from Nova's
        database when None
    :param exclude_devices: device names (``/dev/vdb``) of volumes being
        detached, whose mappings Nova deletes only after the driver returns
    :param volume_overrides: ``{device name: volume id}`` for a swap, which
        Nova records only after the driver returns
    """
    if bdms is None:
        bdms = collect.block_device_mappings(instance)
    bdms = [b for b in bdms if b.device_name not in exclude_devices]
    for bdm in bdms:
        if volume_overrides and bdm.device_name in volume_overrides:
            bdm.volume_id = volume_overrides[bdm.device_name]
    with collect.known_mappings(instance, bdms):
        elements = [collect.nova_instance_element(
            driver.get_instance_driver_metadata(instance, network_info))]
    domain = writer.domain_root(domain_xml)
    # A driver class (as benchmarks pass) has no share configuration.
    power_metrics = getattr(driver, '_power_metrics', None)
    ours = collect.domain_meta_element(
        instance, network_info, writer.disk_mapping(domain), bdms=bdms,
        hardware=writer.hardware_record(domain),
        shares=power_metrics.records(instance) if power_metrics else ())
    if ours is not None:
        elements.append(ours)
    return elements


def inputs_fingerprint(instance, bdms):
    """Return a digest of every input :func:`expected_elements` reads.

    Two equal fingerprints mean the same elements would be built, so the
    reconciler need not build them again for a domain whose held metadata
    did not change either.  Keep it in step with the builders.
    """
    flavor = instance.flavor
    cache = instance.info_cache if instance.obj_attr_is_set('info_cache') \
        else None
    network_info = cache.network_info if cache is not None else None
    tags = instance.tags if instance.obj_attr_is_set('tags') else None
    parts = (
        instance.uuid, instance.display_name, instance.hostname,
        instance.availability_zone, instance.created_at, instance.key_name,
        instance.image_ref, instance.user_id, instance.project_id,
        instance.vm_state, sorted((instance.system_metadata or {}).items()),
        (flavor.name, flavor.flavorid, flavor.memory_mb, flavor.vcpus,
         flavor.root_gb, flavor.ephemeral_gb, flavor.swap,
         sorted((flavor.extra_specs or {}).items())),
        None if tags is None else sorted(t.tag for t in tags),
        None if network_info is None else network_info.json(),
        [tuple(getattr(b, f, None) for f in builder.BDM_FIELDS)
         for b in bdms],
        CONF.host, CONF.domain_meta.max_value_length,
        CONF.domain_meta.max_items, CONF.domain_meta.image_properties,
        version.version_string(),
    )
    return hashlib.sha256(
        repr(parts).encode('utf-8', 'surrogatepass')).digest()


def refresh(driver, instance, network_info=None, reason='', **kwargs):
    """Write the instance's current metadata to its domain; never raises.

    Returns the list of namespaces written (empty when nothing changed or
    on error).
    """
    try:
        guest = driver._host.get_guest(instance)
        if network_info is None:
            network_info = instance.get_network_info()
        elements = expected_elements(driver, instance, network_info,
                                     guest.get_xml_desc(), **kwargs)
        written = writer.sync(guest._domain, elements)
    except Exception:
        LOG.warning('Could not refresh domain metadata after %s', reason,
                    instance=instance, exc_info=True)
        return []
    if written:
        LOG.info('Domain metadata refreshed after %(reason)s: %(what)s',
                 {'reason': reason,
                  'what': ', '.join('%s (%s)' % (ns, '+'.join(scopes))
                                    for ns, scopes in written)},
                 instance=instance)
    return [ns for ns, _scopes in written]

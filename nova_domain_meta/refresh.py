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

import json

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
    with collect.driver_call(instance, bdms):
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


_instance_fields = builder.field_reader(
    'uuid', 'display_name', 'hostname', 'availability_zone', 'created_at',
    'key_name', 'image_ref', 'user_id', 'project_id', 'vm_state',
    'system_metadata', 'flavor')
_flavor_fields = builder.field_reader(
    'name', 'flavorid', 'memory_mb', 'vcpus', 'root_gb', 'ephemeral_gb',
    'swap', 'extra_specs')


# Plain C encoding: NetworkInfo.json() (oslo's jsonutils) costs more.
_NETWORK_INFO_JSON = json.JSONEncoder(check_circular=False, default=repr)


def _loaded(obj, name):
    """Return field ``name`` of ``obj`` if it is loaded, else None."""
    return obj.__dict__.get('_obj_' + name)


def inputs_fingerprint(instance, bdms):
    """Return a value equal for equal inputs of :func:`expected_elements`.

    Equal fingerprints mean the same elements would be built, so the
    reconciler need not build them again for a domain whose held metadata
    did not change either.  What every instance of the host shares
    (configuration, versions) is in :func:`host_fingerprint`.  Keep it in
    step with the builders.

    The reconciler takes one of every instance on every pass, so this is
    a plain tuple compared with ``==``, not a digest of its ``repr``.
    """
    *fields, sysmeta, flavor = _instance_fields(instance)
    *flavor_fields, extra_specs = _flavor_fields(flavor)
    cache = _loaded(instance, 'info_cache')
    network_info = _loaded(cache, 'network_info') if cache else None
    tags = _loaded(instance, 'tags')
    return (
        tuple(fields),
        tuple(sorted((sysmeta or {}).items())),
        tuple(flavor_fields),
        tuple(sorted((extra_specs or {}).items())),
        None if tags is None else tuple(sorted(
            tag.tag for tag in tags.objects)),
        None if network_info is None else _NETWORK_INFO_JSON.encode(
            network_info),
        tuple([builder.bdm_fields(bdm) for bdm in bdms]),
    )


def host_fingerprint():
    """Return what every instance's elements depend on alike."""
    return (CONF.host, CONF.domain_meta.max_value_length,
            CONF.domain_meta.max_items, CONF.domain_meta.image_properties,
            version.version_string())


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

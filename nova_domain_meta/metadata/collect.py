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

"""Gather what the builders need from Nova, and never let it fail a guest.

The builders are pure; this module does the fetching (block device
mappings, configuration) and turns any error into a logged warning: a
metadata problem must never fail a boot, a reboot or any other instance
operation.
"""

from nova import context as nova_context
from nova import objects
from oslo_log import log as logging

from nova_domain_meta import conf
from nova_domain_meta.metadata import builder

CONF = conf.CONF
LOG = logging.getLogger(__name__)


def _limits():
    return builder.Limits.from_conf(CONF)


def block_device_mappings(instance, context=None):
    """Return the instance's BlockDeviceMappingList from Nova's database."""
    ctxt = context or getattr(instance, '_context', None) or \
        nova_context.get_admin_context()
    return objects.BlockDeviceMappingList.get_by_instance_uuid(
        ctxt, instance.uuid)


def corrected_driver_metadata(dmeta, instance):
    """Return ``dmeta`` with Nova's gaps closed, or unchanged on error."""
    try:
        bdms = None
        if dmeta.root_type == 'volume':
            bdms = block_device_mappings(instance)
        return builder.corrected_driver_metadata(dmeta, instance, bdms)
    except Exception:
        LOG.warning('Could not complete the driver metadata; using what '
                    'Nova provided', instance=instance, exc_info=True)
        return dmeta


def nova_instance_element(dmeta):
    """Return ``<nova:instance>`` for ``dmeta``; never raises."""
    try:
        meta = builder.build_nova_instance(dmeta, _limits())
        # Serialise once here: a value lxml refuses must fail now, where it
        # can be handled, not later while Nova writes the domain.
        meta.format_dom()
        return meta
    except Exception:
        LOG.warning('Could not build Nova domain metadata; writing a '
                    'minimal element', instance_uuid=dmeta.instance_meta.uuid,
                    exc_info=True)
        return builder.minimal_nova_instance(dmeta, _limits())


def domain_meta_element(instance, network_info, disk_mapping, context=None,
                        bdms=None, hardware=None, shares=()):
    """Return our ``<ndm:instance>`` for ``instance``, or None on error.

    ``bdms`` are read from Nova's database when not given.
    """
    try:
        if bdms is None:
            bdms = block_device_mappings(instance, context)
        meta = builder.build_domain_meta(
            instance, network_info, bdms, disk_mapping,
            CONF.host, _limits(),
            with_image_properties=CONF.domain_meta.image_properties,
            hardware=hardware, shares=shares)
        meta.format_dom()
        return meta
    except Exception:
        LOG.warning('Could not build nova-domain-meta metadata; the domain '
                    'is defined without it', instance=instance,
                    exc_info=True)
        return None

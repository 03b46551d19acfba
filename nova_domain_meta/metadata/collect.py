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

The builders are pure; this module finds their inputs (block device
mappings, configuration) and turns any error into a logged warning: a
metadata problem must never fail a boot, a reboot or any other instance
operation.

Block device mappings come from what Nova already handed the driver
whenever it did: Nova builds ``block_device_info`` from the instance's
mappings right before it asks for the domain XML, and in nova-compute a
second read from the database is an RPC to nova-conductor.  Only where
Nova passes none (a legacy rescue, Nova's own metadata refresh after an
interface attach or detach) are they read from the database.
"""

import contextlib
import contextvars

from nova import context as nova_context
from nova import objects
from nova.virt.libvirt import config as nova_config
from oslo_log import log as logging

from nova_domain_meta import conf
from nova_domain_meta.metadata import builder

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# The _Call in progress: what Nova passed the driver, for
# get_instance_driver_metadata, which Nova calls with the instance only, and
# the settings both builders read.
_CALL = contextvars.ContextVar('nova_domain_meta_driver_call', default=None)

# block_device_info keys holding lists of DriverBlockDevice objects.
_BLOCK_DEVICE_INFO_LISTS = ('image', 'ephemerals', 'block_device_mapping')


class _Settings(object):
    """The ``[domain_meta]`` and host options the builders need."""

    __slots__ = ('limits', 'host', 'image_properties')

    def __init__(self):
        self.limits = builder.Limits.from_conf(CONF)
        self.host = CONF.host
        self.image_properties = CONF.domain_meta.image_properties


class _Call(object):
    """What stays the same for the whole of one driver call."""

    __slots__ = ('instance_uuid', 'bdms', 'settings')

    def __init__(self, instance_uuid, bdms):
        self.instance_uuid = instance_uuid
        self.bdms = bdms
        self.settings = _Settings()


def _settings():
    """Return the settings of the call in progress, else read them now.

    NOTE: reading an oslo.config option costs microseconds; a domain XML
    needed seven such reads before the settings were read once per call.
    """
    call = _CALL.get()
    return call.settings if call is not None else _Settings()


def block_device_mappings(instance, context=None):
    """Return the instance's BlockDeviceMappingList from Nova's database."""
    ctxt = context or getattr(instance, '_context', None) or \
        nova_context.get_admin_context()
    return objects.BlockDeviceMappingList.get_by_instance_uuid(
        ctxt, instance.uuid)


def mappings_in(block_device_info):
    """Return the BlockDeviceMapping objects inside ``block_device_info``.

    Nova's ``driver.get_block_device_info`` wraps every mapping of the
    instance but ``no_device`` ones in a DriverBlockDevice (image, swap,
    ephemerals, volumes with connection info).  Returns None when
    ``block_device_info`` is missing or not in that form, so the caller
    reads the database instead.
    """
    if not block_device_info or 'image' not in block_device_info:
        return None
    drivers = [d for key in _BLOCK_DEVICE_INFO_LISTS
               for d in block_device_info.get(key) or ()]
    if block_device_info.get('swap'):
        drivers.append(block_device_info['swap'])
    bdms = [getattr(d, '_bdm_obj', None) for d in drivers]
    if any(b is None for b in bdms):
        return None
    return bdms


@contextlib.contextmanager
def driver_call(instance, bdms):
    """Make ``bdms`` the instance's mappings for the calls made inside.

    ``None`` means not known: the calls read the database.  The settings
    the builders need are read once, here, for all of those calls.
    """
    token = _CALL.set(_Call(instance.uuid, bdms))
    try:
        yield bdms
    finally:
        _CALL.reset(token)


def _mappings(instance, context=None):
    """Return the instance's mappings: those known, else the database's."""
    call = _CALL.get()
    if call is not None and call.instance_uuid == instance.uuid and \
            call.bdms is not None:
        return call.bdms
    return block_device_mappings(instance, context)


class Formatted(nova_config.LibvirtConfigObject):
    """A metadata element formatted once, where a failure can be handled.

    lxml refuses some values only when the element is formatted; that must
    happen here, not later while Nova writes the domain.  ``element`` is the
    metadata object itself.
    """

    def __init__(self, element):
        super().__init__(root_name=element.root_name,
                         ns_prefix=element.ns_prefix,
                         ns_uri=element.ns_uri)
        self.element = element
        self._node = element.format_dom()

    def format_dom(self):
        """Return the element: the node made above, then fresh ones.

        Nova formats the guest's metadata once per domain XML: that call
        takes the node already made, without a copy.  Whoever formats
        again (the writer strips namespaces in place) gets a node of its
        own, so no caller sees another's changes.
        """
        node, self._node = self._node, None
        return node if node is not None else self.element.format_dom()


def corrected_driver_metadata(dmeta, instance):
    """Return ``dmeta`` with Nova's gaps closed, or unchanged on error."""
    try:
        bdms = None
        if dmeta.root_type == 'volume':
            bdms = _mappings(instance)
        return builder.corrected_driver_metadata(dmeta, instance, bdms)
    except Exception:
        LOG.warning('Could not complete the driver metadata; using what '
                    'Nova provided', instance=instance, exc_info=True)
        return dmeta


def nova_instance_element(dmeta):
    """Return ``<nova:instance>`` for ``dmeta``; never raises."""
    limits = _settings().limits
    try:
        return Formatted(builder.build_nova_instance(dmeta, limits))
    except Exception:
        LOG.warning('Could not build Nova domain metadata; writing a '
                    'minimal element', instance_uuid=dmeta.instance_meta.uuid,
                    exc_info=True)
        return Formatted(builder.minimal_nova_instance(dmeta, limits))


def domain_meta_element(instance, network_info, disk_mapping, context=None,
                        bdms=None, hardware=None, shares=()):
    """Return our ``<ndm:instance>`` for ``instance``, or None on error.

    Without ``bdms``, the mappings known for the call in progress
    (:func:`driver_call`) are used, else those in Nova's database.
    """
    try:
        if bdms is None:
            bdms = _mappings(instance, context)
        settings = _settings()
        return Formatted(builder.build_domain_meta(
            instance, network_info, bdms, disk_mapping,
            settings.host, settings.limits,
            with_image_properties=settings.image_properties,
            hardware=hardware, shares=shares))
    except Exception:
        LOG.warning('Could not build nova-domain-meta metadata; the domain '
                    'is defined without it', instance=instance,
                    exc_info=True)
        return None

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

"""The libvirt driver nova.conf loads as ``domain_meta.LibvirtDriver``.

It is Nova's own :class:`~nova.virt.libvirt.driver.LibvirtDriver` with a
short list of hooks; each hook hands its work to the module that owns the
concern.  Everything not listed here behaves exactly as stock Nova.
"""

import inspect

from nova.virt.libvirt import driver as libvirt_driver
from oslo_config import cfg

from nova_domain_meta import hardware
from nova_domain_meta.metadata import collect
from nova_domain_meta import reconciler
from nova_domain_meta import refresh
from nova_domain_meta.share import service as share_service

CONF = cfg.CONF


def _refresh_after(name, redefines=False):
    """Return a method running Nova's ``name``, then refreshing metadata.

    For operations that change the instance without Nova writing fresh
    metadata into both the live and the persistent domain.  When the
    operation ``redefines`` the domain on this host, the hardware libvirt
    assigned to the old definition is carried over to the new one.
    """
    parent = getattr(libvirt_driver.LibvirtDriver, name)
    signature = inspect.signature(parent)

    def method(self, *args, **kwargs):
        instance = signature.bind(self, *args, **kwargs).arguments[
            'instance']
        if redefines:
            with self._stable_hardware.redefining(instance):
                result = parent(self, *args, **kwargs)
        else:
            result = parent(self, *args, **kwargs)
        refresh.refresh(self, instance, reason=name)
        return result

    method.__name__ = name
    method.__doc__ = 'Nova\'s %s, then a metadata refresh.' % name
    return method


class DomainMetaLibvirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's libvirt driver, writing complete and correct domain metadata."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only=read_only)
        self._metadata_reconciler = reconciler.Reconciler(self)
        self._stable_hardware = hardware.StableHardware(self._host)
        self._power_metrics = share_service.PowerMetricsShares(self._host)

    # Lifecycle of the compute service.

    def init_host(self, host):
        super().init_host(host)
        self._power_metrics.start(CONF, host)
        self._metadata_reconciler.start()

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        super().update_provider_tree(provider_tree, nodename,
                                     allocations=allocations)
        self._power_metrics.update_traits(provider_tree, nodename)

    def cleanup_host(self, host):
        self._metadata_reconciler.stop()
        super().cleanup_host(host)

    # Metadata written whenever Nova defines a domain.

    @classmethod
    def get_instance_driver_metadata(cls, instance, network_info):
        """Nova's driver metadata with stable creation time and BFV root."""
        dmeta = super().get_instance_driver_metadata(instance, network_info)
        return collect.corrected_driver_metadata(dmeta, instance)

    def _get_guest_config_meta(self, dmeta):
        """``<nova:instance>``, sanitized and with floating IPs.

        Nova calls this both when it generates the domain XML and when it
        refreshes metadata after an interface attach or detach.
        """
        return collect.nova_instance_element(dmeta)

    def _get_guest_config(self, instance, network_info, image_meta,
                          disk_info, rescue=None, block_device_info=None,
                          context=None, mdevs=None, accel_info=None,
                          share_info=None, old_guest=None):
        """Nova's guest config plus our own ``<ndm:instance>`` element.

        Block device mappings come from the ``block_device_info`` Nova
        passed, not from another read of the database.
        """
        with collect.driver_call(
                instance, collect.mappings_in(block_device_info)):
            guest = super()._get_guest_config(
                instance, network_info, image_meta, disk_info, rescue,
                block_device_info, context, mdevs, accel_info, share_info,
                old_guest)
            shares = self._power_metrics.configure_guest(guest, instance)
            element = collect.domain_meta_element(
                instance, network_info, disk_info.get('mapping'), context,
                shares=self._power_metrics.records(instance, shares))
        if element is not None:
            guest.metadata.append(element)
        return guest

    # The power-metrics share: made before the domain is defined, removed
    # when the guest leaves this host, announced in device metadata.

    def _build_share_metadata(self, dev, shares):
        if self._power_metrics.is_ours(dev):
            return self._power_metrics.device_metadata(dev)
        return super()._build_share_metadata(dev, shares)

    def cleanup(self, context, instance, *args, **kwargs):
        try:
            return super().cleanup(context, instance, *args, **kwargs)
        finally:
            self._power_metrics.after_cleanup(context, instance)

    def confirm_migration(self, context, migration, instance, network_info):
        super().confirm_migration(context, migration, instance, network_info)
        self._power_metrics.confirmed(migration, instance)

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, *args, **kwargs):
        self._power_metrics.refuse_live_migration(instance)
        return super().check_can_live_migrate_source(
            context, instance, dest_check_data, *args, **kwargs)

    # Stable guest hardware: remember what libvirt assigned after every
    # define, carry it over whenever Nova redefines the domain here.

    def _create_guest(self, context, xml, instance, *args, **kwargs):
        # Refuses a share that would not be read-only, whatever the XML.
        self._power_metrics.before_create(instance, xml)
        guest = super()._create_guest(context, xml, instance, *args,
                                      **kwargs)
        self._stable_hardware.remember(instance, guest)
        return guest

    def _get_guest_xml(self, context, instance, *args, **kwargs):
        xml = super()._get_guest_xml(context, instance, *args, **kwargs)
        return self._stable_hardware.apply(instance, xml)

    def _hard_reboot(self, context, instance, *args, **kwargs):
        # Also how Nova powers a guest on and restarts guests at host boot.
        with self._stable_hardware.redefining(instance):
            return super()._hard_reboot(context, instance, *args, **kwargs)

    def migrate_disk_and_power_off(self, context, instance, *args, **kwargs):
        # Nova moves the instance directory aside and, on a revert, back:
        # the layout saved now, hot-plugged devices included, returns with
        # it (what a revert saves before the move back is thrown away).
        self._stable_hardware.remember(instance)
        return super().migrate_disk_and_power_off(context, instance, *args,
                                                  **kwargs)

    # Operations after which the existing domain's metadata is refreshed,
    # live and persistent.  spawn is one of them: Nova records default
    # device buses and the machine type in the instance's image properties
    # only after the domain is defined.

    _spawn_and_refresh = _refresh_after('spawn')

    def spawn(self, context, instance, *args, **kwargs):
        self._power_metrics.check_can_spawn(instance)
        return self._spawn_and_refresh(context, instance, *args, **kwargs)

    attach_interface = _refresh_after('attach_interface')
    attach_volume = _refresh_after('attach_volume')
    reboot = _refresh_after('reboot')
    power_on = _refresh_after('power_on')
    resume = _refresh_after('resume')
    rescue = _refresh_after('rescue', redefines=True)
    unrescue = _refresh_after('unrescue')
    finish_migration = _refresh_after('finish_migration')
    finish_revert_migration = _refresh_after('finish_revert_migration',
                                             redefines=True)
    post_live_migration_at_destination = _refresh_after(
        'post_live_migration_at_destination')

    def detach_interface(self, context, instance, vif):
        super().detach_interface(context, instance, vif)
        # Neutron has not yet told Nova the port is gone.
        network_info = [v for v in instance.get_network_info()
                        if v['id'] != vif['id']]
        refresh.refresh(self, instance, network_info,
                        reason='detach_interface')

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        super().detach_volume(context, connection_info, instance, mountpoint,
                              encryption=encryption)
        # Nova deletes the block device mapping after we return.
        refresh.refresh(self, instance, reason='detach_volume',
                        exclude_devices=(mountpoint,))

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        super().swap_volume(context, old_connection_info,
                            new_connection_info, instance, mountpoint,
                            resize_to)
        # Nova points the mapping at the new volume after we return.
        new_volume = new_connection_info.get('serial') or \
            new_connection_info.get('data', {}).get('volume_id')
        refresh.refresh(self, instance, reason='swap_volume',
                        volume_overrides={mountpoint: new_volume})

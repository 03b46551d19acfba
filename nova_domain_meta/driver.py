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

from nova.virt.libvirt import driver as libvirt_driver

from nova_domain_meta.metadata import collect


class DomainMetaLibvirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's libvirt driver, writing complete and correct domain metadata."""

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
                          disk_info, *args, **kwargs):
        """Nova's guest config plus our own ``<ndm:instance>`` element."""
        guest = super()._get_guest_config(instance, network_info, image_meta,
                                          disk_info, *args, **kwargs)
        element = collect.domain_meta_element(
            instance, network_info, disk_info.get('mapping'),
            kwargs.get('context'))
        if element is not None:
            guest.metadata.append(element)
        return guest

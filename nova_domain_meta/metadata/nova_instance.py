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

"""``<nova:instance>``: Nova's element, readable as well as writable.

Nova's own classes in :mod:`nova.virt.libvirt.config` format the element
but cannot parse it back.  Each class here is Nova's class, whose
``format_dom`` is left untouched (that is what keeps our output
element-for-element compatible with Nova 34), combined with the reader of
:mod:`.readers` that parses it, from the 1.1 namespace or the older 1.0.
"""

from nova.virt.libvirt import config as nova_config

from nova_domain_meta.metadata import readers


class NovaIp(readers.NovaIpReader, nova_config.LibvirtConfigGuestMetaNovaIp):
    """``<nova:ip>``: an address, ``fixed`` or ``floating``, v4 or v6."""

    def __init__(self, ip_type=None, address=None, ip_version=None):
        super().__init__(ip_type, address, ip_version)


class NovaPort(readers.NovaPortReader,
               nova_config.LibvirtConfigGuestMetaNovaPort):
    """``<nova:port>``: one port and its fixed and floating addresses."""

    ip_class = NovaIp

    def __init__(self, uuid=None, ips=None):
        super().__init__(uuid, ips=ips)


class NovaPorts(readers.NovaPortsReader,
                nova_config.LibvirtConfigGuestMetaNovaPorts):
    """``<nova:ports>``: every Neutron port of the guest."""

    port_class = NovaPort


class NovaOwner(readers.NovaOwnerReader,
                nova_config.LibvirtConfigGuestMetaNovaOwner):
    """``<nova:owner>``: user and project, by id and by name."""


class NovaFlavor(readers.NovaFlavorReader,
                 nova_config.LibvirtConfigGuestMetaNovaFlavor):
    """``<nova:flavor>``: the flavor as it was when the guest was defined."""


class NovaImage(readers.NovaImageReader,
                nova_config.LibvirtConfigGuestMetaImage):
    """``<nova:image>``: the boot image's base fields and modelled props."""


class NovaInstance(readers.NovaInstanceReader,
                   nova_config.LibvirtConfigGuestMetaNovaInstance):
    """``<nova:instance>``: who owns the guest, its flavor, image, ports."""

    flavor_class = NovaFlavor
    image_class = NovaImage
    owner_class = NovaOwner
    ports_class = NovaPorts

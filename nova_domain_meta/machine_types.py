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

"""The machine type a redefined domain gets, and whether addresses fit it.

libvirt expands an alias Nova asks for (``pc``, ``q35``) to the newest
versioned type of its family (``pc-q35-7.2``) when the domain is defined;
after a QEMU upgrade the same alias means a newer version.  Keeping the
version the guest first ran keeps its hardware.  A versioned type Nova
asks for is different: an operator chose it (``nova-manage libvirt
update_machine_type``, an image property, ``[libvirt] hw_machine_type``),
and it wins.  Types are compared by *family* (``pc-i440fx``, ``pc-q35``):
addresses libvirt assigned on one chipset may be invalid on another.
"""

import re

#: A versioned machine type (pc-q35-7.2, pc-q35-4.0.1, pc-i440fx-rhel7.6.0,
#: virt-7.2); its family is what precedes the version.
_VERSIONED_MACHINE = re.compile(r'^(?P<family>.+)-(?:rhel)?\d+(?:\.\d+)+$')


def family(machine, offered):
    """Return a machine type's family (``pc-q35``), or None when unknown.

    An alias (``q35``) is of the family of the type the host expands it
    to; a type without a version that is no alias has no family.
    """
    if not _VERSIONED_MACHINE.match(machine):
        machine = (offered or {}).get(machine) or ''
    match = _VERSIONED_MACHINE.match(machine)
    return match.group('family') if match else None


def choose(old, requested, offered):
    """Return ``(machine type to define, why the old one was not kept)``.

    Only an alias Nova asked for gives way to the old, versioned type of
    its family (``q35`` to ``pc-q35-6.2``), as libvirt expanded it when
    the domain was first defined.  A versioned type Nova asks for is an
    operator's choice (``nova-manage libvirt update_machine_type``, an
    image property, ``[libvirt] hw_machine_type``) and wins, as does a
    type that is no alias on this host.
    """
    if not old or old == requested:
        return requested, None
    if requested:
        if _VERSIONED_MACHINE.match(requested):
            return requested, None
        alias_of = family(requested, offered)
        if offered is not None and alias_of is None:
            return requested, None
        if alias_of is not None and alias_of != family(old, offered):
            return requested, None
    if offered is not None and old not in offered:
        return requested, 'machine type %s no longer offered' % old
    return old, None


def same_chipset(old, new, offered):
    """Whether addresses on machine type ``old`` fit machine type ``new``."""
    if old == new:
        return True
    old_family = family(old, offered)
    return old_family is not None and old_family == family(new or '',
                                                           offered)


def offered(host):
    """Return ``{machine type: the type it is an alias of, or None}``.

    Every machine type the host's libvirt reports, for any architecture
    and domain type; None when it reports none.
    """
    found = {}
    for guest in host.get_capabilities().guests:
        domains = list(guest.domains.values())
        if guest.default_domain is not None:
            domains.append(guest.default_domain)
        for domain in domains:
            for name in domain.machines:
                found.setdefault(name, None)
            for name, attributes in domain.aliases.items():
                found[name] = attributes.get('canonical')
                found.setdefault(attributes.get('canonical'), None)
    found.pop(None, None)
    return found or None

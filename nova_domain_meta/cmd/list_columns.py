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

"""The columns of ``list`` and its filters, as plain values.

One row per domain; :func:`list_row` reads only what the columns asked
for need, so ``list -c Name -c State`` never parses a metadata element.
"""

import fnmatch
import ipaddress

from nova_domain_meta.cmd import facts

#: Columns of :func:`list_row`, in display order.
LIST_COLUMNS = (
    'Name', 'UUID', 'Display Name', 'State', 'Flavor', 'Project',
    'Project ID', 'User', 'User ID', 'Fixed IPs', 'Floating IPs', 'Root',
    'Power Metrics', 'Metadata',
)

# How each column is read from a domain.  Name, UUID, State and Metadata
# need no parsing of the metadata elements; the others parse
# <nova:instance> (and Root, for a boot volume, <ndm:instance>).
_LIST_VALUES = {
    'Name': lambda domain: domain.name,
    'UUID': lambda domain: domain.uuid,
    'Display Name': lambda domain: facts.display_name(domain),
    'State': lambda domain: domain.state,
    'Flavor': lambda domain: facts.flavor(domain)[0],
    'Project': lambda domain: facts.owner(domain)[0],
    'Project ID': lambda domain: facts.owner(domain)[1],
    'User': lambda domain: facts.owner(domain)[2],
    'User ID': lambda domain: facts.owner(domain)[3],
    'Fixed IPs': lambda domain: facts.addresses(domain)[0],
    'Floating IPs': lambda domain: facts.addresses(domain)[1],
    'Root': lambda domain: facts.root(domain),
    'Power Metrics': lambda domain: facts.power_metrics_share(domain),
    'Metadata': lambda domain: domain.kind,
}


def list_row(domain, columns=LIST_COLUMNS):
    """Return the ``list`` row of ``domain``: column name to plain value.

    ``columns`` (names from :data:`LIST_COLUMNS`) limits the row to those
    columns, and the work to what they need: Name, UUID, State and
    Metadata alone never parse the metadata elements.
    """
    if columns is LIST_COLUMNS:
        flavor_name, _flavor_id = facts.flavor(domain)
        project, project_id, user, user_id = facts.owner(domain)
        fixed, floating = facts.addresses(domain)
        return dict(zip(LIST_COLUMNS, (
            domain.name, domain.uuid, facts.display_name(domain),
            domain.state, flavor_name, project, project_id, user, user_id,
            fixed, floating, facts.root(domain),
            facts.power_metrics_share(domain), domain.kind)))
    return {column: _LIST_VALUES[column](domain) for column in columns}


def matches(domain, project=None, user=None, flavor_ref=None, ip=None,
            name=None, nova_only=False):
    """Whether ``domain`` passes the ``list`` filters.

    ``project``, ``user`` and ``flavor_ref`` match a name or an id;
    ``ip`` an address (fixed or floating) or a network in CIDR notation;
    ``name`` is a shell pattern matched against the display name and the
    libvirt name.
    """
    if nova_only and not domain.is_nova:
        return False
    if project is not None or user is not None:
        project_name, project_id, user_name, user_id = facts.owner(domain)
        if project is not None and project not in (project_name,
                                                   project_id):
            return False
        if user is not None and user not in (user_name, user_id):
            return False
    if flavor_ref is not None and flavor_ref not in facts.flavor(domain):
        return False
    if ip is not None and not _has_address(domain, ip):
        return False
    if name is not None and not any(
            candidate is not None and fnmatch.fnmatchcase(candidate, name)
            for candidate in (facts.display_name(domain), domain.name)):
        return False
    return True


def _has_address(domain, wanted):
    fixed, floating = facts.addresses(domain)
    try:
        network = ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return wanted in fixed + floating
    for address in fixed + floating:
        try:
            if ipaddress.ip_address(address) in network:
                return True
        except ValueError:
            continue
    return False

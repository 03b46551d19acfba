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

"""Nova's view of every guest, read straight from libvirt.

When Nova's control plane is down, the domains on a compute host still say
whose guest each one is: Nova's ``<nova:instance>`` (namespace 1.1, or 1.0
from older releases) and our ``<ndm:instance>``.  This module reads them
through a read-only libvirt connection and turns them into plain Python
values, so the ``nova-domain-meta`` CLI and any other tool (an exporter, a
script) share one reader.  It imports nothing from cliff.

How domains are read, and why:

* one bulk call, ``virConnectGetAllDomainStats`` with only the state group,
  lists every domain with its state (``listAllDomains`` plus one
  ``virDomainGetState`` per domain is the fallback where a driver lacks it);
* one ``virDomainGetXMLDesc`` per domain.  libvirt has no bulk call that
  returns XML or metadata; ``virDomainGetMetadata`` would need one call per
  namespace (two or three per domain instead of one), and the full XML also
  carries the SMBIOS entries that tell a Nova guest without metadata from a
  guest Nova never owned.  ``benchmarks/bench_cli.py`` measures both: the
  metadata calls are slightly cheaper with libvirt in-process, the single
  XML call is cheaper through a daemon (one round trip per call), which is
  how a compute host is always read;
* through a daemon, a few of those calls are in flight at once (one
  connection, :data:`READ_WORKERS` threads): each call is a round trip
  that mostly waits on the daemon, libvirt's client sends calls of
  several threads over one connection, and the daemon serves up to five
  calls of a client at a time (``max_client_requests``).  The domains are
  still parsed and returned in listing order.  A driver running inside
  this process (``test:///``) has no round trip to overlap, so it is read
  from one thread.

A domain that disappears between the listing and its XML is skipped and
reported, never an error: guests come and go while an operator looks.
"""

import collections
import dataclasses
import errno
import fnmatch
import functools
import ipaddress
import time

import libvirt
from lxml import etree

from nova_domain_meta import metadata
from nova_domain_meta.metadata import readers
from nova_domain_meta.metadata import schema
from nova_domain_meta import version as plugin_version

#: Where nova-compute's libvirt lives unless told otherwise.
DEFAULT_URI = 'qemu:///system'

#: Threads reading domain XML at once through a libvirt daemon; the
#: daemon serves up to 5 calls of one client at a time by default.
READ_WORKERS = 4

#: The libvirt calls this module makes, for reports such as the benchmark.
LIBVIRT_CALLS = (
    'virConnectOpenReadOnly',
    'virConnectGetAllDomainStats(VIR_DOMAIN_STATS_STATE) once',
    'virDomainGetXMLDesc once per domain (%d at a time through a daemon)'
    % READ_WORKERS,
)

# Kinds of domain, by the metadata they carry (``Domain.kind``).
KIND_DOMAIN_META = 'nova-domain-meta'
KIND_NOVA_1_1 = 'nova-1.1'
KIND_NOVA_1_0 = 'nova-1.0'
KIND_NOVA_NO_METADATA = 'nova-no-metadata'
KIND_NON_NOVA = 'non-nova'
KIND_UNREADABLE = 'unreadable'

# Problem kinds ``check_domain`` reports, most severe first.
PROBLEM_INVALID = 'invalid'
PROBLEM_MISSING = 'missing'
PROBLEM_STALE = 'stale'
PROBLEM_KINDS = (PROBLEM_INVALID, PROBLEM_MISSING, PROBLEM_STALE)
STATUS_OK = 'ok'
STATUS_NOT_NOVA = 'not-nova'

#: Columns of :func:`list_row`, in display order.
LIST_COLUMNS = (
    'Name', 'UUID', 'Display Name', 'State', 'Flavor', 'Project',
    'Project ID', 'User', 'User ID', 'Fixed IPs', 'Floating IPs', 'Root',
    'Power Metrics', 'Metadata',
)

# virsh's words for domain states, so the CLI reads like ``virsh list``.
_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'no state',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'idle',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'in shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}

# Domain XML comes from libvirt, but metadata values from users: never let
# the parser resolve entities or fetch anything.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

_NOVA_NAMESPACES = (metadata.NOVA_NS, metadata.NOVA_NS_1_0)
_NOVA_KINDS = {metadata.NOVA_NS: KIND_NOVA_1_1,
               metadata.NOVA_NS_1_0: KIND_NOVA_1_0}

_PERMISSION_CODES = (
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_AUTH_CANCELLED,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
    libvirt.VIR_ERR_OPERATION_DENIED,
)
_UNREACHABLE_ERRNOS = (errno.ENOENT, errno.ECONNREFUSED, errno.ETIMEDOUT,
                       errno.EHOSTUNREACH, errno.ENETUNREACH)


class InventoryError(Exception):
    """An error the operator can act on; ``str()`` is the whole message."""


class ConnectError(InventoryError):
    """libvirt could not be reached, or refused us."""


class DomainNotFound(InventoryError):
    """No domain matches what the operator asked for."""


class AmbiguousDomain(InventoryError):
    """Several domains share the display name the operator asked for."""


def _ignore_libvirt_error(_ctx, _error):
    """Swallow libvirt's own report; we raise a clearer one instead."""


def _quiet_libvirt():
    # By default libvirt prints every error on stderr, including the
    # expected "no such domain" of a look-up by name; the CLI prints its
    # own one-line message instead.
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)


def _error_text(error):
    return error.get_error_message() or str(error)


def connect_error(uri, error):
    """Return a :class:`ConnectError` explaining a failed libvirt open."""
    code = error.get_error_code()
    os_errno = error.get_int1()
    text = _error_text(error)
    if (code in _PERMISSION_CODES or
            (code == libvirt.VIR_ERR_SYSTEM_ERROR and
             os_errno in (errno.EACCES, errno.EPERM)) or
            'Permission denied' in text):
        return ConnectError(
            'Permission denied connecting to libvirt at %s: %s. Run as root '
            'or as a user libvirt lets read domains (on Debian and Ubuntu, '
            'a member of the "libvirt" group).' % (uri, text))
    if code == libvirt.VIR_ERR_NO_CONNECT or (
            code == libvirt.VIR_ERR_SYSTEM_ERROR and
            os_errno in _UNREACHABLE_ERRNOS):
        return ConnectError(
            'Cannot reach libvirt at %s: %s. Is the libvirt daemon '
            '(libvirtd, or virtqemud with modular daemons) running on this '
            'host? Use --connect URI to read another one.' % (uri, text))
    return ConnectError('Cannot connect to libvirt at %s: %s' % (uri, text))


def open_connection(uri=DEFAULT_URI):
    """Open a read-only libvirt connection, or raise :class:`ConnectError`.

    Read-only because reading is all this module does: it cannot change a
    guest by mistake, and libvirt grants it to more users than a full
    connection.
    """
    _quiet_libvirt()
    try:
        return libvirt.openReadOnly(uri)
    except libvirt.libvirtError as e:
        raise connect_error(uri, e) from None


@dataclasses.dataclass
class Domain:
    """One libvirt domain and the Nova metadata it carries.

    The metadata elements are parsed on first use: listing a thousand
    guests needs Nova's element of each but ours of few.
    """

    name: str
    uuid: str
    state: str
    #: The raw ``<nova:instance>`` element (1.1 or 1.0 namespace), or None.
    nova_element: object = None
    #: The raw ``<ndm:instance>`` element, or None.
    ndm_element: object = None
    #: True when the SMBIOS entries say OpenStack wrote this domain.
    openstack_sysinfo: bool = False
    #: False when libvirt would not return this domain's XML at all.
    readable: bool = True
    #: Problems met while reading the domain XML.
    read_problems: list = dataclasses.field(default_factory=list)
    _parse_problems: list = dataclasses.field(default_factory=list,
                                              repr=False)

    @functools.cached_property
    def nova(self):
        """``<nova:instance>`` parsed, or None."""
        return _parse(readers.NovaInstanceReader, self.nova_element,
                      'nova:instance', self._parse_problems)

    @functools.cached_property
    def ndm(self):
        """``<ndm:instance>`` parsed, or None."""
        return _parse(readers.DomainMetaInstanceReader, self.ndm_element,
                      'ndm:instance', self._parse_problems)

    def parse(self):
        """Parse both elements now; return ``(nova, ndm)``."""
        return self.nova, self.ndm

    @property
    def problems(self):
        """Everything that kept the metadata from being read."""
        self.parse()
        return self.read_problems + self._parse_problems

    @property
    def nova_namespace(self):
        if self.nova_element is None:
            return None
        return etree.QName(self.nova_element).namespace

    @property
    def kind(self):
        """Which metadata this domain carries; one of the ``KIND_*``."""
        if not self.readable:
            return KIND_UNREADABLE
        if self.ndm_element is not None:
            return KIND_DOMAIN_META
        if self.nova_element is not None:
            return _NOVA_KINDS[self.nova_namespace]
        if self.openstack_sysinfo:
            return KIND_NOVA_NO_METADATA
        return KIND_NON_NOVA

    @property
    def is_nova(self):
        """Whether Nova (stock or with our plugin) wrote this domain."""
        return self.kind not in (KIND_NON_NOVA, KIND_UNREADABLE)


Listing = collections.namedtuple('Listing', ['domains', 'vanished'])


def state_name(state):
    """Return virsh's word for a ``virDomainState`` number."""
    return _STATES.get(state, 'unknown (%s)' % state)


def _parse(klass, element, what, problems):
    """Parse ``element`` with ``klass``; note a failure, never raise."""
    if element is None:
        return None
    obj = klass()
    try:
        obj.parse_dom(element)
    except Exception as e:
        problems.append('cannot read %s: %s' % (what, e))
        return None
    return obj


def _is_openstack_sysinfo(root):
    for entry in root.iterfind('sysinfo/system/entry'):
        if entry.get('name') in ('manufacturer', 'product') and \
                'openstack' in (entry.text or '').lower():
            return True
    return False


def _first_children(element):
    """Map each child's tag to the first child with it.

    One pass over the children, instead of one search (``find``) per
    child wanted: several times faster, and the same first match.
    """
    children = {}
    for child in element:
        children.setdefault(child.tag, child)
    return children


def _text_of(element):
    """What ``findtext`` returns for ``element`` (None when missing)."""
    if element is None:
        return None
    return element.text or ''


def domain_from_xml(xml, state=None):
    """Return a :class:`Domain` for one domain's XML (text or element).

    ``state`` is the ``virDomainState`` number; XML alone cannot tell a
    paused guest from a running one.
    """
    if isinstance(xml, str):
        xml = xml.encode('utf-8')
    root = etree.fromstring(xml, _PARSER) if isinstance(xml, bytes) else xml
    top = _first_children(root)
    domain = Domain(name=_text_of(top.get('name')),
                    uuid=_text_of(top.get('uuid')),
                    state=state_name(state) if state is not None else None,
                    openstack_sysinfo=_is_openstack_sysinfo(root))
    meta = top.get('metadata')
    if meta is None:
        return domain
    elements = _first_children(meta)
    for namespace in _NOVA_NAMESPACES:
        element = elements.get('{%s}instance' % namespace)
        if element is not None:
            domain.nova_element = element
            break
    domain.ndm_element = elements.get(
        '{%s}instance' % metadata.DOMAIN_META_NS)
    return domain


def _failed(error, doing):
    return InventoryError('libvirt failed while %s: %s' %
                          (doing, _error_text(error)))


def _fetch_xml(dom):
    """Return ``(xml, None)``, or ``(None, libvirtError)`` on failure.

    Runs in reader threads: it only talks to libvirt, and leaves deciding
    what an error means to :func:`_to_domain`, in the caller's thread.
    """
    try:
        return dom.XMLDesc(0), None
    except libvirt.libvirtError as e:
        return None, e


def _to_domain(conn, dom, state, xml, error):
    """Return the :class:`Domain` of a fetched XML, or None if it vanished."""
    if error is not None:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        if not conn.isAlive():
            raise _failed(error, 'reading domain %s' % dom.name()) from None
        return Domain(name=dom.name(), uuid=dom.UUIDString(),
                      state=state_name(state) if state is not None
                      else None, readable=False,
                      read_problems=['cannot read the domain XML: %s' %
                                     _error_text(error)])
    try:
        return domain_from_xml(xml, state)
    except etree.XMLSyntaxError as e:
        return Domain(name=dom.name(), uuid=dom.UUIDString(),
                      state=state_name(state) if state is not None
                      else None, readable=False,
                      read_problems=['libvirt returned XML that does not '
                                     'parse: %s' % e])


def _read_one(conn, dom, state):
    """Return the :class:`Domain` for ``dom``, or None if it vanished."""
    xml, error = _fetch_xml(dom)
    return _to_domain(conn, dom, state, xml, error)


def _domains_with_state(conn):
    """Return ``[(virDomain, state number or None)]`` for every domain."""
    try:
        stats = conn.getAllDomainStats(
            libvirt.VIR_DOMAIN_STATS_STATE,
            libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)
        return [(dom, values.get('state.state')) for dom, values in stats]
    except libvirt.libvirtError as e:
        if e.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT,
                                      libvirt.VIR_ERR_INVALID_ARG):
            raise _failed(e, 'listing domains') from None
    # Drivers without the bulk call: one state call per domain.
    result = []
    try:
        doms = conn.listAllDomains(0)
    except libvirt.libvirtError as e:
        raise _failed(e, 'listing domains') from None
    for dom in doms:
        try:
            result.append((dom, dom.state()[0]))
        except libvirt.libvirtError:
            result.append((dom, None))
    return result


def read_workers(conn):
    """How many threads :func:`read_domains` reads ``conn`` with.

    One for libvirt's ``test`` driver without a transport, which runs
    inside this process: there is no round trip to overlap, and threads
    only contend for its lock.  :data:`READ_WORKERS` for every other
    URI: Nova's hypervisors (``qemu``, ``lxc``, ``parallels``) are always
    served by a daemon, as is ``test+unix://``.
    """
    try:
        uri = conn.getURI()
    except libvirt.libvirtError:
        return 1
    return 1 if uri.partition(':')[0] == 'test' else READ_WORKERS


def read_domains(conn, workers=None):
    """Return a :class:`Listing` of every domain, sorted by libvirt name.

    ``Listing.vanished`` names the domains that disappeared while being
    read; they are not in ``Listing.domains``.  ``workers`` is how many
    domain XMLs are fetched at once (default: :func:`read_workers`); the
    result does not depend on it.
    """
    listed = _domains_with_state(conn)
    if workers is None:
        workers = read_workers(conn)
    doms = [dom for dom, _state in listed]
    pool = None
    if workers > 1 and len(doms) > 1:
        from concurrent import futures  # only where threads are used

        pool = futures.ThreadPoolExecutor(max_workers=workers)
        # In listing order; each XML is parsed here while the pool
        # fetches the next ones.
        fetched = pool.map(_fetch_xml, doms)
    else:
        fetched = map(_fetch_xml, doms)
    domains = []
    vanished = []
    try:
        for (dom, state), (xml, error) in zip(listed, fetched):
            domain = _to_domain(conn, dom, state, xml, error)
            if domain is None:
                vanished.append(dom.name())
            else:
                domains.append(domain)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    domains.sort(key=lambda d: d.name)
    return Listing(domains, sorted(vanished))


def _lookup(conn, ident):
    """Return the virDomain named ``ident`` or with UUID ``ident``."""
    # Imported here, like oslo.config, Nova and packaging below: ``list``
    # needs none of them, and Python start-up is part of every run of the
    # CLI (oslo.config alone costs 50 ms).
    from oslo_utils import uuidutils

    lookups = [conn.lookupByName]
    if uuidutils.is_uuid_like(ident):
        lookups.append(conn.lookupByUUIDString)
    for lookup in lookups:
        try:
            return lookup(ident)
        except libvirt.libvirtError as e:
            if e.get_error_code() not in (libvirt.VIR_ERR_NO_DOMAIN,
                                          libvirt.VIR_ERR_INVALID_ARG):
                raise _failed(e, 'looking up %s' % ident) from None
    return None


def find_domain(conn, ident):
    """Return the :class:`Domain` ``ident`` names.

    ``ident`` is a libvirt domain name, a UUID (libvirt's and Nova's are
    the same) or a Nova display name; display names need not be unique,
    so a shared one raises :class:`AmbiguousDomain`.
    """
    dom = _lookup(conn, ident)
    if dom is not None:
        try:
            state = dom.state()[0]
        except libvirt.libvirtError:
            state = None
        domain = _read_one(conn, dom, state)
        if domain is not None:
            return domain
    matches = [d for d in read_domains(conn).domains
               if display_name(d) == ident]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousDomain(
            '%d domains have the display name %r: %s. Name one by libvirt '
            'name or UUID.' % (len(matches), ident, ', '.join(
                '%s (%s)' % (d.name, d.uuid) for d in matches)))
    raise DomainNotFound('No domain has the libvirt name, UUID or display '
                         'name %r.' % ident)


# What the metadata says, one helper per fact.  Each returns None (or an
# empty list) when the domain does not say.


def _text(value):
    """Return ``value`` or None when it is missing or empty."""
    return value if value not in (None, '') else None


def display_name(domain):
    """The Nova display name of the guest."""
    return _text(domain.nova.name) if domain.nova is not None else None


def flavor(domain):
    """``(name, id)`` of the flavor the guest was defined with."""
    f = domain.nova.flavor if domain.nova is not None else None
    if f is None:
        return None, None
    return _text(f.name), _text(f.id)


def owner(domain):
    """``(project name, project id, user name, user id)``."""
    o = domain.nova.owner if domain.nova is not None else None
    if o is None:
        return None, None, None, None
    return (_text(o.projectname), _text(o.projectid), _text(o.username),
            _text(o.userid))


def _nova_ports(domain):
    ports = domain.nova.ports if domain.nova is not None else None
    return ports.ports if ports is not None else []


def addresses(domain):
    """``(fixed, floating)`` lists of the guest's IP addresses."""
    fixed, floating = [], []
    for port in _nova_ports(domain):
        for ip in port.ips:
            (floating if ip.ip_type == 'floating' else fixed).append(
                ip.address)
    return fixed, floating


def _boot_volume(domain):
    if domain.ndm is None:
        return None
    for device in domain.ndm.block_devices:
        if device.boot_index == 0 and device.volume_id:
            return device.volume_id
    return None


def root(domain):
    """``{'type': 'image'|'volume', 'id': uuid or None}``, or None.

    Stock Nova writes an empty uuid for a boot-from-volume root; our block
    device list names the volume then.
    """
    if domain.nova is None or not domain.nova.roottype:
        return None
    root_id = _text(domain.nova.rootid)
    if root_id is None and domain.nova.roottype == 'volume':
        root_id = _boot_volume(domain)
    return {'type': domain.nova.roottype, 'id': root_id}


def power_metrics_share(domain):
    """Mount tags of the guest's power-metrics shares, or None.

    Read from the ``<ndm:share>`` records our driver writes; a guest
    without a share (or a domain written by stock Nova) has None.
    """
    if domain.ndm is None or not domain.ndm.shares:
        return None
    return [share.tag for share in domain.ndm.shares]


def power_metrics_share_details(domain):
    """Each power-metrics share: tag, host directory, source, read-only."""
    if domain.ndm is None:
        return []
    return [{'tag': share.tag, 'directory': share.directory,
             'source': share.source, 'read_only_by': share.read_only_by}
            for share in domain.ndm.shares]


def preserved_addresses(domain):
    """What the last redefinition kept of the hardware libvirt assigned.

    From ``<ndm:hardware>``: how many devices kept their address, the
    machine type and whether it was kept, and the devices that got a new
    address with why.  An empty list when the domain was never redefined
    by our driver with hardware preserved.
    """
    hardware = domain.ndm.hardware if domain.ndm is not None else None
    if hardware is None:
        return []
    return [{'preserved': hardware.preserved, 'machine': hardware.machine,
             'machine_kept': hardware.machine_kept,
             'reassigned': [{'device': r.device, 'reason': r.reason}
                            for r in hardware.reassigned]}]


# How each ``list`` column is read from a domain.  Name, UUID, State and
# Metadata need no parsing of the metadata elements; the others parse
# <nova:instance> (and Root, for a boot volume, <ndm:instance>).
_LIST_VALUES = {
    'Name': lambda domain: domain.name,
    'UUID': lambda domain: domain.uuid,
    'Display Name': lambda domain: display_name(domain),
    'State': lambda domain: domain.state,
    'Flavor': lambda domain: flavor(domain)[0],
    'Project': lambda domain: owner(domain)[0],
    'Project ID': lambda domain: owner(domain)[1],
    'User': lambda domain: owner(domain)[2],
    'User ID': lambda domain: owner(domain)[3],
    'Fixed IPs': lambda domain: addresses(domain)[0],
    'Floating IPs': lambda domain: addresses(domain)[1],
    'Root': lambda domain: root(domain),
    'Power Metrics': lambda domain: power_metrics_share(domain),
    'Metadata': lambda domain: domain.kind,
}


def list_row(domain, columns=LIST_COLUMNS):
    """Return the ``list`` row of ``domain``: column name to plain value.

    ``columns`` (names from :data:`LIST_COLUMNS`) limits the row to those
    columns, and the work to what they need: Name, UUID, State and
    Metadata alone never parse the metadata elements.
    """
    if columns is LIST_COLUMNS:
        flavor_name, _flavor_id = flavor(domain)
        project, project_id, user, user_id = owner(domain)
        fixed, floating = addresses(domain)
        return dict(zip(LIST_COLUMNS, (
            domain.name, domain.uuid, display_name(domain), domain.state,
            flavor_name, project, project_id, user, user_id, fixed,
            floating, root(domain), power_metrics_share(domain),
            domain.kind)))
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
        project_name, project_id, user_name, user_id = owner(domain)
        if project is not None and project not in (project_name,
                                                   project_id):
            return False
        if user is not None and user not in (user_name, user_id):
            return False
    if flavor_ref is not None and flavor_ref not in flavor(domain):
        return False
    if ip is not None and not _has_address(domain, ip):
        return False
    if name is not None and not any(
            candidate is not None and fnmatch.fnmatchcase(candidate, name)
            for candidate in (display_name(domain), domain.name)):
        return False
    return True


def _has_address(domain, wanted):
    fixed, floating = addresses(domain)
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


def _port_details(domain):
    """Merge Nova's ports (addresses) with ours (MAC, network, VIF)."""
    ours = {p.uuid: p for p in domain.ndm.ports} if domain.ndm else {}
    ports = []
    seen = set()
    for port in _nova_ports(domain):
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
        image.update(id=_text(nova_image.uuid),
                     container_format=meta.container_format,
                     disk_format=meta.disk_format, min_disk=meta.min_disk,
                     min_ram=meta.min_ram)
        properties.update(meta.properties)
    ndm_image = domain.ndm.image if domain.ndm is not None else None
    if ndm_image is not None:
        # Ours lists every property, also those Nova does not model.
        image['id'] = image['id'] or _text(ndm_image.uuid)
        image['name'] = _text(ndm_image.name)
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

    ``problems`` are what :func:`check_domain` found, shown along; without
    them only the problems met while reading are.
    """
    nova = domain.nova
    ndm = domain.ndm
    f = nova.flavor if nova is not None else None
    flavor_name, flavor_id = flavor(domain)
    project, project_id, user, user_id = owner(domain)
    fixed, floating = addresses(domain)
    image, image_properties = _image(domain)

    def ndm_value(attr):
        return _text(getattr(ndm, attr)) if ndm is not None else None

    def flavor_value(attr):
        return getattr(f, attr) if f is not None else None

    fields = collections.OrderedDict()
    fields['name'] = domain.name
    fields['uuid'] = domain.uuid
    fields['state'] = domain.state
    fields['metadata'] = domain.kind
    fields['display_name'] = display_name(domain)
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
    fields['root'] = root(domain)
    fields['image'] = image
    fields['image_properties'] = image_properties
    fields['fixed_ips'] = fixed
    fields['floating_ips'] = floating
    fields['ports'] = _port_details(domain)
    fields['block_devices'] = _block_devices(domain)
    fields['tags'] = [t.value for t in ndm.tags] if ndm is not None else []
    fields['power_metrics_share'] = power_metrics_share_details(domain) \
        or None
    fields['preserved_addresses'] = preserved_addresses(domain)
    fields['nova_package'] = _text(nova.package) if nova is not None \
        else None
    fields['plugin_version'] = ndm_value('plugin_version')
    fields['nova_namespace'] = domain.nova_namespace
    fields['problems'] = [str(p) for p in problems] if problems is not None \
        else list(domain.problems)
    return fields


# Checking metadata against our schemas and the running software.


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a domain's metadata."""

    kind: str
    message: str

    def __str__(self):
        return '%s: %s' % (self.kind, self.message)


def running_nova_version():
    """Return the version of the Nova installed alongside, with package.

    The CLI runs in nova-compute's environment, so this is the Nova that
    would write new metadata.  Nova reads its distribution suffix from a
    ``release`` file found through oslo.config's search path, which needs
    the global configuration initialised.  When nothing did (the CLI does
    not read nova.conf), it is initialised with no file just long enough
    for Nova to look, then cleared, so a process that parses Nova's
    configuration afterwards (a test runner, a service) still can.
    """
    from nova import version as nova_version
    from oslo_config import cfg

    try:
        return nova_version.version_string_with_package()
    except cfg.NotInitializedError:
        pass
    cfg.CONF(args=[], project='nova', default_config_files=[],
             default_config_dirs=[])
    try:
        return nova_version.version_string_with_package()
    finally:
        cfg.CONF.clear()


def running_plugin_version():
    """Return the version of the nova-domain-meta installed alongside."""
    return plugin_version.version_string()


def parse_version(text):
    """Return the comparable version of ``text``, ignoring its suffix.

    Nova writes ``<version>-<distribution package>`` (``34.0.0``,
    ``34.0.0-0ubuntu1~cloud0``, ``34.0.0-1.el9``); only the part before the
    first ``-`` says which Nova wrote the metadata.  Raises ``ValueError``.
    """
    from packaging import version as pkg_version

    base = (text or '').strip().split('-', 1)[0]
    try:
        return pkg_version.Version(base)
    except pkg_version.InvalidVersion:
        raise ValueError('%r is not a version' % text) from None


def _older(written, running):
    """Whether version ``written`` is older than ``running``.

    Returns None when ``running`` does not parse (nothing to compare with);
    raises ``ValueError`` when ``written`` does not.
    """
    try:
        current = parse_version(running)
    except ValueError:
        return None
    return parse_version(written) < current


def check_domain(domain, nova_version=None, ndm_version=None):
    """Return the :class:`Problem` list of one domain's metadata.

    * missing: a Nova domain without ``<nova:instance>`` or without
      ``<ndm:instance>``;
    * invalid: an element our RelaxNG schemas reject, one that cannot be
      read, or one naming another instance than the domain;
    * stale: written by a Nova older than ``nova_version`` (or in Nova's
      1.0 namespace), or by a plugin older than ``ndm_version``.

    Domains Nova never owned have no problems.
    """
    if domain.kind == KIND_UNREADABLE:
        return [Problem(PROBLEM_INVALID, p) for p in domain.problems]
    if not domain.is_nova:
        return []
    problems = [Problem(PROBLEM_INVALID, p) for p in domain.problems]
    problems += _check_nova(domain, nova_version)
    problems += _check_ndm(domain, ndm_version)
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    return sorted(problems, key=lambda p: order[p.kind])


def _schema_problems(element, what):
    return [Problem(PROBLEM_INVALID, '%s does not match its schema: %s' %
                    (what, error))
            for error in schema.element_errors(element)]


def _check_nova(domain, nova_version):
    element = domain.nova_element
    if element is None:
        return [Problem(PROBLEM_MISSING, 'no nova:instance element')]
    if domain.nova_namespace == metadata.NOVA_NS_1_0:
        problems = [Problem(PROBLEM_STALE,
                            'nova:instance is in namespace %s, written by a '
                            'Nova release before %s' %
                            (metadata.NOVA_NS_1_0, metadata.NOVA_NS))]
    else:
        problems = _schema_problems(element, 'nova:instance')
    package = domain.nova.package if domain.nova is not None else None
    if package and nova_version:
        try:
            if _older(package, nova_version):
                problems.append(Problem(
                    PROBLEM_STALE, 'written by Nova %s, older than the '
                    'installed Nova %s' % (package, nova_version)))
        except ValueError as e:
            problems.append(Problem(PROBLEM_INVALID,
                                    'nova:package version: %s' % e))
    return problems


def _check_ndm(domain, ndm_version):
    element = domain.ndm_element
    if element is None:
        return [Problem(PROBLEM_MISSING,
                        'no ndm:instance element (domain defined without '
                        'nova-domain-meta)')]
    problems = _schema_problems(element, 'ndm:instance')
    ndm = domain.ndm
    if ndm is None:
        return problems
    if ndm.uuid and domain.uuid and ndm.uuid != domain.uuid:
        problems.append(Problem(
            PROBLEM_INVALID, 'ndm:instance names instance %s, the domain is '
            '%s' % (ndm.uuid, domain.uuid)))
    if ndm.plugin_version and ndm_version:
        try:
            if _older(ndm.plugin_version, ndm_version):
                problems.append(Problem(
                    PROBLEM_STALE, 'written by nova-domain-meta %s, older '
                    'than the installed %s' % (ndm.plugin_version,
                                               ndm_version)))
        except ValueError as e:
            problems.append(Problem(PROBLEM_INVALID,
                                    'ndm:plugin version: %s' % e))
    return problems


def status(domain, problems):
    """One word for a domain's health: ``ok``, ``not-nova`` or a kind."""
    if problems:
        return problems[0].kind
    return STATUS_OK if domain.is_nova else STATUS_NOT_NOVA

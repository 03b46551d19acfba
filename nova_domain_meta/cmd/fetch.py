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

"""Fetch every domain's XML from libvirt, several calls in flight.

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
  calls of a client at a time (``max_client_requests``) on as many cores
  as it has.  The threads only fetch, taking the next domain from a
  shared queue, so they cost next to nothing besides the calls (a pool of
  futures cost as much CPU again as the calls themselves); the domains
  are parsed afterwards, in listing order.  A driver running inside this
  process (``test:///``) has no round trip to overlap, so it is read from
  one thread.

A domain that disappears between the listing and its XML is skipped and
reported, never an error: guests come and go while an operator looks.
"""

import collections
import threading

import libvirt
from lxml import etree

from nova_domain_meta.cmd import domain as domain_mod
from nova_domain_meta.cmd import errors
from nova_domain_meta.cmd import facts

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

Listing = collections.namedtuple('Listing', ['domains', 'vanished'])


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
    """Return the Domain of a fetched XML, or None if it vanished."""
    if error is not None:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        if not conn.isAlive():
            raise errors.libvirt_failed(
                error, 'reading domain %s' % dom.name()) from None
        return domain_mod.unreadable(
            dom.name(), dom.UUIDString(), state,
            'cannot read the domain XML: %s' % errors.libvirt_message(error))
    try:
        return domain_mod.domain_from_xml(xml, state)
    except etree.XMLSyntaxError as e:
        return domain_mod.unreadable(
            dom.name(), dom.UUIDString(), state,
            'libvirt returned XML that does not parse: %s' % e)


def _read_one(conn, dom, state):
    """Return the Domain for ``dom``, or None if it vanished."""
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
            raise errors.libvirt_failed(e, 'listing domains') from None
    # Drivers without the bulk call: one state call per domain.
    result = []
    try:
        doms = conn.listAllDomains(0)
    except libvirt.libvirtError as e:
        raise errors.libvirt_failed(e, 'listing domains') from None
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


def _fetch_all(doms, workers):
    """Return the ``_fetch_xml`` result of each of ``doms``, in order."""
    results = [None] * len(doms)
    todo = collections.deque(range(len(doms)))
    failures = []

    def fetch():
        # deque.popleft() is thread-safe: each index is taken once.
        while True:
            try:
                i = todo.popleft()
            except IndexError:
                return
            try:
                results[i] = _fetch_xml(doms[i])
            except BaseException as e:
                # Not libvirt's error: a bug, raised in the caller's thread.
                failures.append(e)
                todo.clear()
                return

    helpers = [threading.Thread(target=fetch, daemon=True,
                                name='nova-domain-meta-fetch-%d' % n)
               for n in range(min(workers, len(doms)) - 1)]
    for thread in helpers:
        thread.start()
    try:
        fetch()
    finally:
        todo.clear()
        for thread in helpers:
            thread.join()
    if failures:
        raise failures[0]
    return results


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
    fetched = _fetch_all([dom for dom, _state in listed], workers)
    domains = []
    vanished = []
    for (dom, state), (xml, error) in zip(listed, fetched):
        domain = _to_domain(conn, dom, state, xml, error)
        if domain is None:
            vanished.append(dom.name())
        else:
            domains.append(domain)
    domains.sort(key=lambda d: d.name)
    return Listing(domains, sorted(vanished))


def _lookup(conn, ident):
    """Return the virDomain named ``ident`` or with UUID ``ident``."""
    # Imported here, like oslo.config, Nova and packaging elsewhere:
    # ``list`` needs none of them, and Python start-up is part of every
    # run of the CLI (oslo.config alone costs 50 ms).
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
                raise errors.libvirt_failed(
                    e, 'looking up %s' % ident) from None
    return None


def find_domain(conn, ident):
    """Return the Domain ``ident`` names.

    ``ident`` is a libvirt domain name, a UUID (libvirt's and Nova's are
    the same) or a Nova display name; display names need not be unique,
    so a shared one raises :class:`~.errors.AmbiguousDomain`.
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
               if facts.display_name(d) == ident]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise errors.AmbiguousDomain(
            '%d domains have the display name %r: %s. Name one by libvirt '
            'name or UUID.' % (len(matches), ident, ', '.join(
                '%s (%s)' % (d.name, d.uuid) for d in matches)))
    raise errors.DomainNotFound('No domain has the libvirt name, UUID or '
                                'display name %r.' % ident)

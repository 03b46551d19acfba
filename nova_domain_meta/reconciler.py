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

"""Periodic reconciler: metadata for changes the driver never hears about.

A server rename, a floating IP (dis)association, a fixed IP changed by a
port update or a renamed project reach Nova's database but never the virt
driver.  Every ``[domain_meta] reconcile_interval`` seconds this pass
compares what each guest on the host should hold with what libvirt holds
and rewrites only the domains that differ.

Safety rules:

* only domains whose UUID is an instance of this host are touched;
* an instance with a task in progress is skipped, and so is one whose
  per-instance lock (the one nova-compute's operations hold) is taken;
  the operation's own refresh covers it;
* before writing, the instance is read again under that lock, so a value
  that changed since the pass started is never written stale;
* a domain that vanishes or a libvirt error is counted and skipped.

Cost: what libvirt holds changes only when someone writes it, and libvirt
says so with an event, ``VIR_DOMAIN_EVENT_ID_METADATA_CHANGE``.  The
reconciler registers for it on the connection Nova's Host opened (whose
event loop delivers it), and a pass reads libvirt's metadata only for a
domain libvirt reported, or whose instance changed in the database
(:func:`~nova_domain_meta.refresh.inputs_fingerprint`), or that was
never found up to date.  Every other domain costs one local call
(``virDomainGetUUIDString``), no round trip to libvirtd.

A *full* pass reads every domain, so that a change without an event is
still caught: the first pass, the first after every new connection to
libvirt (libvirtd restarted, the events of the old connection are gone),
the pass after one that met an error, every ``[domain_meta]
reconcile_full_pass_every``-th pass (a domain redefined behind Nova's
back, ``virsh edit``, raises no metadata event; an event can be lost),
and every pass when libvirt cannot deliver events.

NOTE: only the metadata event is registered.  libvirt accepts one
callback per event per connection from Python ("event callback already
tracked"), and Nova's Host holds the lifecycle one.
"""

import collections
import dataclasses

from nova import context as nova_context
from nova import objects
from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_service import loopingcall

from nova_domain_meta import conf
from nova_domain_meta.metadata import collect
from nova_domain_meta.metadata import writer
from nova_domain_meta import refresh

CONF = conf.CONF
LOG = logging.getLogger(__name__)

#: Instance fields a pass loads in one query.
INSTANCE_ATTRS = ['system_metadata', 'flavor', 'info_cache', 'tags']

# libvirt's event id; spelled out because Nova's fake libvirt lacks it.
VIR_DOMAIN_EVENT_ID_METADATA_CHANGE = 23

# libvirt's listAllDomains flags: active | inactive.
_ALL_DOMAINS = 1 | 2

# Reports kept between two passes; when more arrive, the oldest are
# dropped and the next pass reads every domain.
_MAX_REPORTED = 100000


class _ConnectionLost(Exception):
    """The connection to libvirtd broke during a pass."""


def _connection_broken(libvirt, error):
    """Return True when ``error`` says the connection to libvirtd is gone.

    The test Nova's Host applies to decide that it must reconnect.
    """
    return (error.get_error_code() in (libvirt.VIR_ERR_SYSTEM_ERROR,
                                       libvirt.VIR_ERR_INTERNAL_ERROR) and
            error.get_error_domain() in (libvirt.VIR_FROM_REMOTE,
                                         libvirt.VIR_FROM_RPC))


@dataclasses.dataclass
class PassResult:
    """What one reconciler pass did."""

    full: bool = False
    domains: int = 0
    checked: int = 0
    unchanged: int = 0
    written: int = 0
    not_nova: int = 0
    busy: int = 0
    vanished: int = 0
    errors: int = 0


class Reconciler(object):
    """Runs reconciler passes for one LibvirtDriver."""

    def __init__(self, driver):
        self.driver = driver
        self._timer = None
        #: {instance uuid: (inputs fingerprint, held metadata)} of domains
        #: found up to date.
        self._verified = {}
        #: host_fingerprint() when _verified was filled.
        self._host_fingerprint = None
        #: UUIDs of domains libvirt reported a change of.  Appended by
        #: libvirt's event thread (deque appends are atomic), drained by
        #: the pass.
        self._reported = collections.deque(maxlen=_MAX_REPORTED)
        #: The connection our event callbacks are registered on, and their
        #: ids; None until a pass registered them.
        self._watched = None
        self._callback_ids = []
        self._events = False
        self._full_pass_due = True
        self._passes_since_full = 0

    def start(self):
        """Start periodic passes, unless the interval is 0."""
        interval = CONF.domain_meta.reconcile_interval
        if not interval:
            LOG.info('Domain metadata reconciler disabled '
                     '([domain_meta] reconcile_interval = 0)')
            return
        self._timer = loopingcall.FixedIntervalLoopingCall(self._run_safely)
        self._timer.start(interval=interval, initial_delay=interval,
                          stop_on_exception=False)
        LOG.info('Domain metadata reconciler runs every %d s', interval)

    def stop(self):
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._unwatch()

    def _run_safely(self):
        try:
            self.run_pass()
        except Exception:
            self._full_pass_due = True
            LOG.exception('Domain metadata reconciler pass failed')

    # Where a pass reads from; overridden by the benchmark.

    def load_instances(self, context):
        """Return ``({uuid: Instance}, {uuid: [bdm]})`` for this host."""
        instances = objects.InstanceList.get_by_host(
            context, CONF.host, expected_attrs=INSTANCE_ATTRS)
        by_uuid = {inst.uuid: inst for inst in instances}
        bdms = objects.BlockDeviceMappingList.bdms_by_instance_uuid(
            context, list(by_uuid)) if by_uuid else {}
        return by_uuid, bdms

    def connection(self):
        """Return Nova's libvirt connection, reconnecting if it broke."""
        return self.driver._host.get_connection()

    def for_calls(self, domain):
        """Return ``domain`` made safe for calls that go to libvirtd.

        Listed domains are plain libvirt objects, whose local calls
        (``UUIDString``) are cheap; calls that go to libvirtd run through
        Nova's thread pool like every other libvirt call of nova-compute.
        """
        return self.driver._host._wrap_libvirt_proxy(domain)

    def reload(self, instance):
        """Return the instance and its mappings read again from the DB."""
        instance.refresh()
        return instance, collect.block_device_mappings(instance)

    # Events.

    def _domain_reported(self, _conn, domain, *_args):
        # NOTE: runs in libvirt's event thread: no logging, no locks.
        self._reported.append(domain.UUIDString())

    def _watch(self, conn):
        """Register for the events of ``conn``; return True on success."""
        self._unwatch()
        self._watched = conn
        try:
            self._callback_ids.append(conn.domainEventRegisterAny(
                None, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                self._domain_reported, None))
        except Exception as e:
            LOG.warning('libvirt cannot report domain changes (%s): every '
                        'reconciler pass reads the metadata of every '
                        'domain', e)
            return False
        return True

    def _unwatch(self):
        conn, ids = self._watched, self._callback_ids
        self._watched, self._callback_ids = None, []
        for callback_id in ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except Exception:
                # The connection is gone, and its callbacks with it.
                LOG.debug('Could not deregister event callback %s',
                          callback_id)

    def _begin_pass(self):
        """Return (full pass?, {uuids reported since the last pass})."""
        conn = self.connection()
        if conn is not self._watched:
            if self._watched is not None:
                LOG.info('New connection to libvirt: the next reconciler '
                         'pass reads every domain')
            self._events = self._watch(conn)
            self._full_pass_due = True
        host_fingerprint = refresh.host_fingerprint()
        if host_fingerprint != self._host_fingerprint:
            self._verified.clear()
            self._host_fingerprint = host_fingerprint
        full = (self._full_pass_due or not self._events or
                len(self._reported) == self._reported.maxlen or
                self._passes_since_full + 1 >=
                CONF.domain_meta.reconcile_full_pass_every)
        reported = set()
        while self._reported:
            reported.add(self._reported.popleft())
        return conn, full, reported

    # The pass.

    def run_pass(self):
        """Check every domain once; return a :class:`PassResult`."""
        context = nova_context.get_admin_context()
        instances, bdms = self.load_instances(context)
        conn, full, reported = self._begin_pass()
        result = PassResult(full=full)
        try:
            for domain in conn.listAllDomains(_ALL_DOMAINS):
                result.domains += 1
                self._reconcile_domain(domain, instances, bdms, result,
                                       full, reported)
        except _ConnectionLost as e:
            # Every further call would fail the same way.
            result.errors += 1
            LOG.warning('Connection to libvirt lost during a reconciler '
                        'pass, after %(done)d domains: %(error)s; the next '
                        'pass reconnects and reads every domain',
                        {'done': result.domains - 1, 'error': e})
        for uuid in set(self._verified) - set(instances):
            del self._verified[uuid]
        self._full_pass_due = bool(result.errors)
        self._passes_since_full = 0 if full else self._passes_since_full + 1
        log = LOG.info if result.written or result.errors else LOG.debug
        log('Domain metadata reconciler pass: %s',
            ', '.join('%s=%d' % (k, v)
                      for k, v in dataclasses.asdict(result).items()))
        return result

    def _reconcile_domain(self, domain, instances, bdms, result, full,
                          reported):
        libvirt = writer.libvirt_module()
        uuid = None
        try:
            uuid = domain.UUIDString()
            instance = instances.get(uuid)
            if instance is None:
                result.not_nova += 1
                return
            if instance.task_state is not None:
                LOG.debug('Skipping: task %s in progress',
                          instance.task_state, instance=instance)
                result.busy += 1
                return
            inputs = refresh.inputs_fingerprint(instance,
                                                bdms.get(uuid, []))
            verified = self._verified.get(uuid)
            if not full and uuid not in reported and verified is not None \
                    and verified[0] == inputs:
                # Neither libvirt nor Nova's database changed it.
                result.unchanged += 1
                return
            with lockutils.lock(uuid, lock_file_prefix='nova-',
                                blocking=False):
                result.checked += 1
                if self._reconcile_locked(self.for_calls(domain), instance,
                                          bdms.get(uuid, []), inputs):
                    result.written += 1
        except lockutils.AcquireLockFailedException:
            LOG.debug('Skipping domain %s: an operation holds its lock',
                      uuid)
            result.busy += 1
        except libvirt.libvirtError as e:
            self._verified.pop(uuid, None)
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                result.vanished += 1
            elif _connection_broken(libvirt, e):
                raise _ConnectionLost(e)
            else:
                LOG.warning('libvirt error while reconciling a domain: %s',
                            e)
                result.errors += 1
        except Exception:
            self._verified.pop(uuid, None)
            LOG.warning('Could not reconcile a domain', exc_info=True)
            result.errors += 1

    def _expected(self, domain, instance, bdms):
        return refresh.expected_elements(
            self.driver, instance, instance.get_network_info(),
            domain.XMLDesc(0), bdms=bdms)

    def _reconcile_locked(self, domain, instance, bdms, inputs):
        """Rewrite what differs; return True when something was written."""
        held, active = writer.read_all(domain)
        fingerprint = (inputs, held)
        if self._verified.get(instance.uuid) == fingerprint:
            LOG.debug('Domain metadata up to date (nothing changed since '
                      'the last check)', instance=instance)
            return False
        if not writer.stale(self._expected(domain, instance, bdms), held):
            LOG.debug('Domain metadata up to date', instance=instance)
            self._verified[instance.uuid] = fingerprint
            return False
        self._verified.pop(instance.uuid, None)
        # Something differs: read the instance again now that we hold its
        # lock, so that nothing older than the database is written.
        instance, bdms = self.reload(instance)
        if instance.task_state is not None or instance.host != CONF.host:
            return False
        held, active = writer.read_all(domain)
        stale = writer.stale(self._expected(domain, instance, bdms), held)
        for element, scopes, old_xml in stale:
            writer.write(domain, element, live=active)
            LOG.info('Domain metadata rewritten by the reconciler: '
                     '%(ns)s %(scopes)s differed in %(parts)s',
                     {'ns': element.ns_uri, 'scopes': '+'.join(scopes),
                      'parts': ', '.join(writer.changed_parts(
                          old_xml, writer.plain_xml(element)))},
                     instance=instance)
        return bool(stale)

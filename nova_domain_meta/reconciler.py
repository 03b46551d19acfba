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

Cost: libvirt's metadata is read on every pass.  The elements a domain
should hold are rebuilt only when the instance's inputs
(:func:`~nova_domain_meta.refresh.inputs_fingerprint`) or the metadata
libvirt holds changed since the pass that last found the domain up to
date.
"""

import dataclasses
import hashlib

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


@dataclasses.dataclass
class PassResult:
    """What one reconciler pass did."""

    domains: int = 0
    checked: int = 0
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
        #: {instance uuid: (inputs fingerprint, held metadata digest)} of
        #: domains found up to date.
        self._verified = {}

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

    def _run_safely(self):
        try:
            self.run_pass()
        except Exception:
            LOG.exception('Domain metadata reconciler pass failed')

    # The two sources a pass reads; overridden by the benchmark.

    def load_instances(self, context):
        """Return ``({uuid: Instance}, {uuid: [bdm]})`` for this host."""
        instances = objects.InstanceList.get_by_host(
            context, CONF.host, expected_attrs=INSTANCE_ATTRS)
        by_uuid = {inst.uuid: inst for inst in instances}
        bdms = objects.BlockDeviceMappingList.bdms_by_instance_uuid(
            context, list(by_uuid)) if by_uuid else {}
        return by_uuid, bdms

    def list_domains(self):
        """Return every libvirt domain on this host, running or not."""
        return self.driver._host.list_instance_domains(only_running=False)

    def reload(self, instance):
        """Return the instance and its mappings read again from the DB."""
        instance.refresh()
        return instance, collect.block_device_mappings(instance)

    def run_pass(self):
        """Check every domain once; return a :class:`PassResult`."""
        context = nova_context.get_admin_context()
        instances, bdms = self.load_instances(context)
        result = PassResult()
        for domain in self.list_domains():
            result.domains += 1
            self._reconcile_domain(context, domain, instances, bdms, result)
        for uuid in set(self._verified) - set(instances):
            del self._verified[uuid]
        log = LOG.info if result.written or result.errors else LOG.debug
        log('Domain metadata reconciler pass: %s',
            ', '.join('%s=%d' % (k, v)
                      for k, v in dataclasses.asdict(result).items()))
        return result

    def _reconcile_domain(self, context, domain, instances, bdms, result):
        libvirt = writer.libvirt_module()
        uuid = None
        try:
            uuid = domain.UUIDString()
            instance = instances.get(uuid)
            if instance is None:
                LOG.debug('Domain %s is not a Nova instance of this host; '
                          'left alone', domain.name())
                result.not_nova += 1
                return
            if instance.task_state is not None:
                LOG.debug('Skipping: task %s in progress',
                          instance.task_state, instance=instance)
                result.busy += 1
                return
            with lockutils.lock(uuid, lock_file_prefix='nova-',
                                blocking=False):
                result.checked += 1
                if self._reconcile_locked(domain, instance,
                                          bdms.get(uuid, [])):
                    result.written += 1
        except lockutils.AcquireLockFailedException:
            LOG.debug('Skipping domain %s: an operation holds its lock',
                      uuid)
            result.busy += 1
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                result.vanished += 1
            else:
                LOG.warning('libvirt error while reconciling a domain: %s',
                            e)
                result.errors += 1
        except Exception:
            LOG.warning('Could not reconcile a domain', exc_info=True)
            result.errors += 1

    def _expected(self, domain, instance, bdms):
        return refresh.expected_elements(
            self.driver, instance, instance.get_network_info(),
            domain.XMLDesc(0), bdms=bdms)

    def _reconcile_locked(self, domain, instance, bdms):
        """Rewrite what differs; return True when something was written."""
        held, active = writer.read_all(domain)
        fingerprint = (refresh.inputs_fingerprint(instance, bdms),
                       hashlib.sha256(repr(sorted(held.items())).encode(
                           'utf-8', 'surrogatepass')).digest())
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

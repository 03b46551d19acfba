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

"""The reconciler against a real libvirtd that crashes, and loses domains.

Each test starts its own private libvirtd (:mod:`tests.real.daemon`; the
shared one of the tier must not be killed under other tests), defines
domains that are never started (no QEMU, so no hypervisor lock), and runs
the real reconciler through Nova's own ``Host``, which reconnects after
libvirtd comes back, with libvirt's event loop running as in
nova-compute.  Only Nova's database is replaced by in-memory instances.
"""

import os
import tempfile

import libvirt
from lxml import etree
from nova.virt.libvirt import host as libvirt_host

from nova_domain_meta import conf  # noqa: F401  (registers our options)
from nova_domain_meta import driver
from nova_domain_meta import metadata
from nova_domain_meta.metadata import writer
from nova_domain_meta import refresh
from tests.real import daemon as daemon_mod
from tests.unit import base
from tests.unit import reconciler_fakes

DOMAINS = 40


class HostReconciler(reconciler_fakes.InMemoryReconciler):
    """The reconciler on Nova's Host's connection, as in nova-compute."""

    def __init__(self, host, instances, bdms):
        super().__init__(host.get_connection(), instances, bdms)
        self.host = host

    def connection(self):
        return self.host.get_connection()

    def for_calls(self, domain):
        return self.host._wrap_libvirt_proxy(domain)


class TestReconcilerFaults(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(host=reconciler_fakes.HOST)
        reconciler_fakes.start_event_loop()
        base_dir = tempfile.mkdtemp(prefix='ndm-reconciler-faults-')
        self.addCleanup(os.rmdir, base_dir)
        self.daemon = self.useFixture(daemon_mod.LibvirtDaemonFixture(
            base_dir=base_dir))
        self.instances, self.bdms = reconciler_fakes.make_instances(DOMAINS)
        self.domains = reconciler_fakes.define_domains(
            self.daemon.conn, self.instances, self.bdms)
        self.host = libvirt_host.Host(self.daemon.uri)
        self.reconciler = HostReconciler(self.host, self.instances,
                                         self.bdms)
        self.addCleanup(self.reconciler.stop)
        first = self.reconciler.run_pass()
        self.assertEqual((True, DOMAINS, 0, 0), (
            first.full, first.checked, first.written, first.errors))

    def _held(self):
        """{uuid: config <nova:instance> name} read on a new connection."""
        conn = libvirt.open(self.daemon.uri)
        self.addCleanup(conn.close)
        names = {}
        for uuid in self.instances:
            xml = conn.lookupByUUIDString(uuid).metadata(
                libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.NOVA_NS,
                libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            names[uuid] = etree.fromstring(xml).findtext('name')
        return names

    def _expected_held(self):
        """What every domain should hold, built as the driver would."""
        conn = libvirt.open(self.daemon.uri)
        self.addCleanup(conn.close)
        stale = {}
        for uuid, inst in self.instances.items():
            dom = conn.lookupByUUIDString(uuid)
            elements = refresh.expected_elements(
                driver.DomainMetaLibvirtDriver, inst,
                inst.get_network_info(), dom.XMLDesc(0),
                bdms=self.bdms[uuid])
            held, _active = writer.read_all(dom)
            if writer.stale(elements, held):
                stale[uuid] = held
        return stale

    def test_libvirtd_killed_mid_pass_and_restarted(self):
        for inst in self.instances.values():
            inst.display_name += ' (renamed)'
        reloads = []
        reload = self.reconciler.reload

        def crash_at_the_tenth_write(instance):
            reloads.append(instance.uuid)
            if len(reloads) == 10:
                self.daemon.kill_libvirtd()
            return reload(instance)

        self.reconciler.reload = crash_at_the_tenth_write
        crashed = self.reconciler.run_pass()
        # Nine domains written, the tenth lost with the connection; the
        # pass stopped there instead of failing every remaining domain.
        self.assertEqual((9, 1), (crashed.written, crashed.errors))
        self.assertEqual(10, crashed.domains)

        self.daemon.restart_libvirtd()
        self.reconciler.reload = reload
        after = self.reconciler.run_pass()
        self.assertTrue(after.full, 'no full pass after reconnecting')
        self.assertEqual((DOMAINS, DOMAINS - 9, 0), (
            after.checked, after.written, after.errors))
        # Nothing written wrong: every domain holds what it should, and
        # the next passes have nothing to do.
        self.assertEqual({}, self._expected_held())
        self.assertEqual(
            {uuid: inst.display_name
             for uuid, inst in self.instances.items()}, self._held())
        steady = self.reconciler.run_pass()
        self.assertEqual((0, 0), (steady.written, steady.errors))

    def test_domain_undefined_mid_pass(self):
        for inst in self.instances.values():
            inst.display_name += ' (renamed)'
        reload = self.reconciler.reload
        vanished = []

        def undefine_another_domain(instance):
            if not vanished:
                # Listed, not reached yet: Nova deletes the server now.
                vanished.append(next(uuid for uuid in self.instances
                                     if uuid != instance.uuid))
                self.daemon.conn.lookupByUUIDString(vanished[0]).undefine()
            return reload(instance)

        self.reconciler.reload = undefine_another_domain
        result = self.reconciler.run_pass()
        self.assertEqual((DOMAINS, 1, DOMAINS - 1, 0), (
            result.domains, result.vanished, result.written,
            result.errors))
        del self.instances[vanished[0]]
        self.assertEqual({}, self._expected_held())
        self.assertEqual(0, self.reconciler.run_pass().errors)

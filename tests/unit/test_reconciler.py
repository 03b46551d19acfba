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

"""The reconciler against real libvirt test:/// domains."""

import os
from unittest import mock

import fixtures
import libvirt
from lxml import etree
from oslo_concurrency import lockutils

from nova_domain_meta import metadata
from nova_domain_meta import reconciler
from nova_domain_meta import refresh
from tests.unit import base
from tests.unit import reconciler_fakes


class ReconcilerTestCase(base.TestCase):
    """Three instances whose test:/// domains hold current metadata.

    A fourth domain is not Nova's.
    """

    def setUp(self):
        super().setUp()
        self.conf.config(host=reconciler_fakes.HOST)
        self.instances, self.bdms = reconciler_fakes.make_instances(3)
        workdir = self.useFixture(fixtures.TempDir()).path
        self.conn = reconciler_fakes.write_node_file(
            self.instances, self.bdms, os.path.join(workdir, 'node.xml'),
            foreign=1)
        self.addCleanup(self.conn.close)
        self.reconciler = reconciler_fakes.InMemoryReconciler(
            self.conn, self.instances, self.bdms)
        self.addCleanup(self.reconciler.stop)
        self.first = list(self.instances.values())[0]

    def _held_name(self, uuid, flags=libvirt.VIR_DOMAIN_AFFECT_CONFIG):
        dom = self.conn.lookupByUUIDString(uuid)
        xml = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                           metadata.NOVA_NS, flags)
        return etree.fromstring(xml).findtext('name')


class TestReconcilerPass(ReconcilerTestCase):
    """What a pass does with each domain it reads (every pass full)."""

    def setUp(self):
        super().setUp()
        self.conf.config(reconcile_full_pass_every=1, group='domain_meta')

    def test_nothing_written_when_up_to_date(self):
        result = self.reconciler.run_pass()
        self.assertEqual((4, 3, 0, 1, 0), (result.domains, result.checked,
                                           result.written, result.not_nova,
                                           result.errors))
        self.assertEqual(0, self.reconciler.calls['setMetadata'])

    def test_rename_is_written_live_and_persistent_once(self):
        self.first.display_name = 'renamed'
        with mock.patch.object(reconciler.LOG, 'info',
                               autospec=True) as info:
            result = self.reconciler.run_pass()
        self.assertEqual(1, result.written)
        self.assertEqual(1, self.reconciler.calls['setMetadata'])
        for flags in (libvirt.VIR_DOMAIN_AFFECT_LIVE,
                      libvirt.VIR_DOMAIN_AFFECT_CONFIG):
            self.assertEqual('renamed',
                             self._held_name(self.first.uuid, flags))
        why = [c[0][1] for c in info.call_args_list if 'ns' in c[0][1]]
        self.assertEqual(metadata.NOVA_NS, why[0]['ns'])
        self.assertEqual('name', why[0]['parts'])
        self.assertEqual(0, self.reconciler.run_pass().written)

    def test_unchanged_domains_are_not_rebuilt_on_later_passes(self):
        self.reconciler.run_pass()
        with mock.patch.object(refresh, 'expected_elements',
                               autospec=True) as build:
            result = self.reconciler.run_pass()
        build.assert_not_called()
        self.assertEqual(3, result.checked)

    def test_metadata_changed_behind_our_back_is_restored(self):
        self.reconciler.run_pass()
        dom = self.conn.lookupByUUIDString(self.first.uuid)
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        '<instance><package version="x"/></instance>',
                        'nova', metadata.NOVA_NS,
                        libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        self.assertEqual(1, self.reconciler.run_pass().written)
        self.assertEqual(self.first.display_name, self._held_name(
            self.first.uuid, libvirt.VIR_DOMAIN_AFFECT_CONFIG))

    def test_instance_with_task_in_progress_is_skipped(self):
        self.first.display_name = 'renamed'
        self.first.task_state = 'rebooting'
        result = self.reconciler.run_pass()
        self.assertEqual((1, 0), (result.busy, result.written))

    def test_instance_whose_lock_is_held_is_skipped(self):
        self.first.display_name = 'renamed'
        with lockutils.lock(self.first.uuid, lock_file_prefix='nova-'):
            result = self.reconciler.run_pass()
        self.assertEqual((1, 0), (result.busy, result.written))

    def test_change_during_the_pass_is_read_again_before_writing(self):
        self.first.display_name = 'seen at pass start'
        newer = 'renamed while waiting'

        def reload(instance):
            instance.display_name = newer
            return instance, self.bdms[instance.uuid]
        self.reconciler.reload = reload
        self.reconciler.run_pass()
        self.assertEqual(newer, self._held_name(
            self.first.uuid, libvirt.VIR_DOMAIN_AFFECT_CONFIG))

    def test_vanished_domain_and_libvirt_errors_do_not_stop_the_pass(self):
        gone = libvirt.libvirtError('gone')
        gone.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, 'gone', 2, '', '', '', 0,
                    0)
        broken = libvirt.libvirtError('broken')
        broken.err = (libvirt.VIR_ERR_INTERNAL_ERROR, 0, 'broken', 2, '',
                      '', '', 0, 0)
        domains = self.reconciler.conn.listAllDomains()
        vanishing = mock.Mock(UUIDString=mock.Mock(side_effect=gone))
        failing = mock.Mock(UUIDString=mock.Mock(
            return_value=self.first.uuid),
            isActive=mock.Mock(side_effect=broken))
        others = [d for d in domains
                  if d.UUIDString() != self.first.uuid]
        renamed = next(d.UUIDString() for d in others
                       if d.UUIDString() in self.instances)
        self.instances[renamed].display_name = 'renamed'
        with mock.patch.object(self.reconciler.conn, 'listAllDomains',
                               autospec=True,
                               return_value=[vanishing, failing] + others):
            result = self.reconciler.run_pass()
        self.assertEqual((1, 1, 1), (result.vanished, result.errors,
                                     result.written))

    def test_domain_undefined_mid_pass_is_counted_as_vanished(self):
        # The domain is listed, then destroyed and undefined before the
        # pass reaches it, as when Nova deletes a server meanwhile.
        listed = self.reconciler.conn.listAllDomains()
        victim = self.conn.lookupByUUIDString(self.first.uuid)
        self.first.display_name = 'renamed just before it was deleted'
        for other in list(self.instances.values())[1:]:
            other.display_name += ' (renamed)'

        def listing(flags=0):
            victim.destroy()
            victim.undefine()
            return listed

        with mock.patch.object(self.reconciler.conn, 'listAllDomains',
                               autospec=True, side_effect=listing):
            result = self.reconciler.run_pass()
        self.assertEqual((4, 1, 2, 0), (result.domains, result.vanished,
                                        result.written, result.errors))
        self.assertEqual(0, self.reconciler.run_pass().vanished)

    def test_connection_lost_mid_pass_stops_it_and_writes_nothing(self):
        lost = libvirt.libvirtError('client socket is closed')
        lost.err = (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC,
                    'internal error: client socket is closed', 2, '', '', '',
                    0, 0)
        for inst in self.instances.values():
            inst.display_name += ' (renamed)'
        domains = sorted(self.reconciler.conn.listAllDomains(),
                         key=lambda d: (d.UUIDString() not in self.instances,
                                        d.UUIDString() != self.first.uuid))
        # The first domain is written; libvirtd dies before the second.
        dead = mock.Mock(UUIDString=domains[1].UUIDString,
                         isActive=mock.Mock(side_effect=lost))
        with mock.patch.object(self.reconciler.conn, 'listAllDomains',
                               autospec=True,
                               return_value=[domains[0], dead] +
                               domains[2:]):
            result = self.reconciler.run_pass()
        self.assertEqual((2, 1, 1), (result.domains, result.written,
                                     result.errors))
        dead.metadata.assert_not_called()
        self.assertEqual(1, self.reconciler.calls['setMetadata'])
        after = self.reconciler.run_pass()
        self.assertEqual((2, 0), (after.written, after.errors))


class TestEventDrivenPasses(ReconcilerTestCase):
    """Passes skip domains nothing touched, yet catch every change."""

    def setUp(self):
        # Before any connection opens, as Nova's Host does.
        reconciler_fakes.start_event_loop()
        super().setUp()
        self.assertTrue(self.reconciler.run_pass().full)

    def _pass(self):
        self.reconciler.calls.clear()
        return self.reconciler.run_pass()

    def _change_behind_our_back(self, uuid, keep_event=True,
                                reconciler=None):
        """Write other metadata into a domain, as ``virsh metadata`` does."""
        reported = (reconciler or self.reconciler)._reported
        before = len(reported)
        self.conn.lookupByUUIDString(uuid).setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT,
            '<instance><name>not this</name></instance>', 'nova',
            metadata.NOVA_NS, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        self.assertTrue(reconciler_fakes.wait_until(
            lambda: uuid in reported and
            (len(reported) > before or len(reported) == reported.maxlen)),
            'libvirt reported no metadata change')
        if not keep_event:
            reported.clear()

    def test_unchanged_domains_cost_one_local_call_each(self):
        result = self._pass()
        self.assertFalse(result.full)
        self.assertEqual((4, 3, 0), (result.domains, result.unchanged,
                                     result.checked))
        calls = dict(self.reconciler.calls)
        self.assertEqual({'listAllDomains': 1, 'UUIDString': 4}, calls)

    def test_change_behind_our_back_is_reported_and_repaired(self):
        self._change_behind_our_back(self.first.uuid)
        result = self._pass()
        self.assertFalse(result.full)
        self.assertEqual((1, 1, 2), (result.checked, result.written,
                                     result.unchanged))
        self.assertEqual(self.first.display_name,
                         self._held_name(self.first.uuid))

    def test_change_in_the_database_is_read_without_an_event(self):
        self.first.display_name = 'renamed'
        result = self._pass()
        self.assertFalse(result.full)
        self.assertEqual((1, 1), (result.checked, result.written))
        self.assertEqual('renamed', self._held_name(self.first.uuid))

    def test_our_own_write_is_read_back_once(self):
        self.first.display_name = 'renamed'
        self._pass()
        self.assertTrue(reconciler_fakes.wait_until(
            lambda: self.first.uuid in self.reconciler._reported))
        confirm = self._pass()
        self.assertEqual((1, 0), (confirm.checked, confirm.written))
        self.assertEqual(3, self._pass().unchanged)

    def test_missed_event_is_caught_by_the_periodic_full_pass(self):
        self.conf.config(reconcile_full_pass_every=3, group='domain_meta')
        self._change_behind_our_back(self.first.uuid, keep_event=False)
        passes = [self._pass() for _ in range(3)]
        self.assertEqual([False, False, True], [p.full for p in passes])
        self.assertEqual([0, 0, 1], [p.written for p in passes])
        self.assertEqual(self.first.display_name,
                         self._held_name(self.first.uuid))

    def test_new_connection_means_a_full_pass(self):
        # While nova-compute reconnects (libvirtd restarted), a change and
        # its event are lost with the old connection.
        self._change_behind_our_back(self.first.uuid, keep_event=False)
        self.reconciler.conn = reconciler_fakes.CountingConnection(
            self.conn, self.reconciler.calls)
        result = self._pass()
        self.assertTrue(result.full)
        self.assertEqual((3, 1), (result.checked, result.written))
        self.assertFalse(self._pass().full)

    def test_a_pass_with_errors_is_followed_by_a_full_pass(self):
        self.first.display_name = 'renamed'
        with mock.patch.object(reconciler.refresh, 'expected_elements',
                               autospec=True,
                               side_effect=RuntimeError('db gone')):
            self.assertEqual(1, self._pass().errors)
        self._change_behind_our_back(
            list(self.instances)[1], keep_event=False)
        result = self._pass()
        self.assertTrue(result.full)
        self.assertEqual(2, result.written)

    def test_events_come_on_a_connection_nova_already_watches(self):
        # Nova's Host registers its lifecycle callback on the connection
        # first; libvirt takes one callback per event and connection.
        conn = libvirt.open('test:///default')
        self.addCleanup(conn.close)
        nova_host_callback = conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda *args: None, None)
        self.addCleanup(conn.domainEventDeregisterAny, nova_host_callback)
        rec = reconciler_fakes.InMemoryReconciler(conn, {}, {})
        self.addCleanup(rec.stop)
        self.assertTrue(rec.run_pass().full)
        self.assertFalse(rec.run_pass().full)

    def test_without_events_every_pass_is_full(self):
        self.reconciler.stop()
        rec = reconciler_fakes.InMemoryReconciler(
            self.conn, self.instances, self.bdms)
        with mock.patch.object(rec.conn, 'domainEventRegisterAny',
                               autospec=True,
                               side_effect=libvirt.libvirtError('no')):
            passes = [rec.run_pass() for _ in range(3)]
        self.assertEqual([True] * 3, [p.full for p in passes])

    def test_too_many_reports_mean_a_full_pass(self):
        with mock.patch.object(reconciler, '_MAX_REPORTED', 2):
            rec = reconciler_fakes.InMemoryReconciler(
                self.conn, self.instances, self.bdms)
        # The reconciler of setUp leaves the connection's event to rec.
        self.reconciler.stop()
        self.addCleanup(rec.stop)
        rec.run_pass()
        first, second = list(self.instances)[:2]
        self._change_behind_our_back(first, reconciler=rec)
        self.assertFalse(rec.run_pass().full)
        self._change_behind_our_back(first, reconciler=rec)
        self._change_behind_our_back(second, reconciler=rec)
        # The queue is full: reports may have been dropped.
        self.assertEqual(2, len(rec._reported))
        self.assertTrue(rec.run_pass().full)

    def test_changed_configuration_rebuilds_every_domain(self):
        self.conf.config(max_value_length=64, group='domain_meta')
        self.assertEqual(3, self._pass().checked)

    def test_stop_deregisters_the_callbacks(self):
        self.reconciler.stop()
        self.conn.lookupByUUIDString(self.first.uuid).setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<instance/>', 'nova',
            metadata.NOVA_NS, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        self.assertFalse(reconciler_fakes.wait_until(
            lambda: self.reconciler._reported, timeout=0.5))


class TestReconcilerTimer(base.TestCase):

    def test_interval_zero_starts_nothing(self):
        self.conf.config(reconcile_interval=0, group='domain_meta')
        rec = reconciler.Reconciler(mock.sentinel.driver)
        with mock.patch('oslo_service.loopingcall.FixedIntervalLoopingCall',
                        autospec=True) as timer:
            rec.start()
        timer.assert_not_called()

    def test_interval_starts_periodic_passes(self):
        self.conf.config(reconcile_interval=30, group='domain_meta')
        rec = reconciler.Reconciler(mock.sentinel.driver)
        with mock.patch('oslo_service.loopingcall.FixedIntervalLoopingCall',
                        autospec=True) as timer:
            rec.start()
            rec.stop()
        timer.return_value.start.assert_called_once_with(
            interval=30, initial_delay=30, stop_on_exception=False)
        timer.return_value.stop.assert_called_once_with()

    def test_a_failing_pass_is_logged_not_raised(self):
        rec = reconciler.Reconciler(mock.sentinel.driver)
        with mock.patch.object(rec, 'run_pass', autospec=True,
                               side_effect=RuntimeError('db down')), \
                mock.patch.object(reconciler.LOG, 'exception',
                                  autospec=True) as log:
            rec._run_safely()
        log.assert_called_once()

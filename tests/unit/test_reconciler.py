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


class TestReconcilerPass(base.TestCase):

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
        self.first = list(self.instances.values())[0]

    def _held_name(self, uuid, flags):
        dom = self.conn.lookupByUUIDString(uuid)
        xml = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                           metadata.NOVA_NS, flags)
        return etree.fromstring(xml).findtext('name')

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
        domains = self.reconciler.list_domains()
        vanishing = mock.Mock(UUIDString=mock.Mock(side_effect=gone))
        failing = mock.Mock(UUIDString=mock.Mock(
            return_value=self.first.uuid),
            isActive=mock.Mock(side_effect=broken))
        others = [d for d in domains
                  if d.UUIDString() != self.first.uuid]
        self.reconciler.list_domains = lambda: [vanishing, failing] + others
        renamed = next(d.UUIDString() for d in others
                       if d.UUIDString() in self.instances)
        self.instances[renamed].display_name = 'renamed'
        result = self.reconciler.run_pass()
        self.assertEqual((1, 1, 1), (result.vanished, result.errors,
                                     result.written))


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

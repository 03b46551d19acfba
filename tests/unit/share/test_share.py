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

"""Deciding, building and guarding the power-metrics share, one unit each."""

import os
import shutil
import tempfile
from unittest import mock

import fixtures
from lxml import etree
from nova.api.validation.extra_specs import base as validators
from nova import exception
from nova.virt.libvirt import config as vconfig

from nova_domain_meta import extra_specs
from nova_domain_meta import privsep
from nova_domain_meta.share import host as share_host
from nova_domain_meta.share import linux
from nova_domain_meta.share import mapping
from nova_domain_meta.share import privileged
from nova_domain_meta.share import request
from nova_domain_meta.share import service
from nova_domain_meta.share import vconfig as share_vconfig
from tests import libvirt_checks
from tests.unit import base


class DecideTest(base.TestCase):

    def test_neither_asks(self):
        self.assertFalse(request.decide({}, None))
        self.assertFalse(request.decide(None, None))

    def test_flavor_or_image_asks(self):
        self.assertTrue(request.decide({request.EXTRA_SPEC: 'true'}, None))
        self.assertTrue(request.decide({}, 'yes'))
        self.assertTrue(request.decide({request.EXTRA_SPEC: '1'}, 'on'))

    def test_explicit_false(self):
        self.assertFalse(request.decide({request.EXTRA_SPEC: 'false'}, 'no'))

    def test_bad_values_name_their_source(self):
        e = self.assertRaises(request.InvalidPowerMetricsRequest,
                              request.decide, {}, 'maybe')
        self.assertIn("image property hw_power_metrics is 'maybe'",
                      e.format_message())
        e = self.assertRaises(request.InvalidPowerMetricsRequest,
                              request.decide,
                              {request.EXTRA_SPEC: '\x01'}, None)
        self.assertIn('flavor extra spec hw:power_metrics',
                      e.format_message())

    def test_disagreement(self):
        e = self.assertRaises(request.InvalidPowerMetricsRequest,
                              request.decide,
                              {request.EXTRA_SPEC: 'false'}, 'true')
        self.assertIn('hw:power_metrics=False', e.format_message())
        # Nova aborts (no reschedule) a build failing with InvalidInput.
        self.assertIsInstance(e, exception.InvalidInput)

    def test_image_value_from_system_metadata(self):
        self.assertEqual('true', request.image_value(
            {'image_hw_power_metrics': 'true', 'image_other': 'x'}))
        self.assertIsNone(request.image_value({}))
        self.assertIsNone(request.image_value(None))


class ValidatorTest(base.TestCase):

    def test_registers_a_boolean_hw_power_metrics(self):
        found = extra_specs.register()
        self.assertEqual(['hw:power_metrics'], [v.name for v in found])
        self.assertIsInstance(found[0], validators.ExtraSpecValidator)
        found[0].validate('hw:power_metrics', 'true')
        self.assertRaises(exception.ValidationError, found[0].validate,
                          'hw:power_metrics', 'maybe')


class SharedMemoryTest(base.TestCase):
    """virtiofs needs shared guest memory; pick it without host setup."""

    shared_memory = staticmethod(
        service.PowerMetricsShares._shared_memory)

    def _xml(self, membacking):
        return etree.tostring(membacking.format_dom(), encoding='unicode')

    def test_plain_guest_gets_memfd(self):
        xml = self._xml(self.shared_memory(None))
        self.assertIn('<source type="memfd"/>', xml)
        self.assertIn('<access mode="shared"/>', xml)

    def test_hugepages_only_become_shared(self):
        nova = vconfig.LibvirtConfigGuestMemoryBacking()
        page = vconfig.LibvirtConfigGuestMemoryBackingPage()
        page.size_kb, page.nodeset = 2048, [0]
        nova.hugepages = [page]
        ours = self.shared_memory(nova)
        self.assertIs(nova, ours)
        xml = self._xml(ours)
        self.assertIn('<access mode="shared"/>', xml)
        self.assertNotIn('memfd', xml)

    def test_file_backed_memory_is_left_alone(self):
        nova = vconfig.LibvirtConfigGuestMemoryBacking()
        nova.filesource = nova.sharedaccess = True
        self.assertIs(nova, self.shared_memory(nova))
        self.assertNotIn('memfd', self._xml(nova))

    def test_locked_memory_is_kept(self):
        nova = vconfig.LibvirtConfigGuestMemoryBacking()
        nova.locked, nova.sharedpages = True, False
        xml = self._xml(self.shared_memory(nova))
        for part in ('<locked/>', '<nosharepages/>',
                     '<source type="memfd"/>', '<access mode="shared"/>'):
            self.assertIn(part, xml)

    def test_libvirt_schema_accepts_a_guest_with_the_share(self):
        guest = vconfig.LibvirtConfigGuest()
        guest.virt_type, guest.name = 'kvm', 'instance-00000001'
        guest.uuid = '11111111-2222-3333-4444-555555555555'
        guest.memory, guest.vcpus, guest.os_type = 524288, 1, 'hvm'
        guest.membacking = self.shared_memory(None)
        fs = share_vconfig.LibvirtConfigGuestVirtiofs()
        fs.source_dir, fs.target_dir, fs.readonly = '/v/i/t', 'tag', True
        guest.add_device(fs)
        problems = libvirt_checks.libvirt_schema_errors(guest.to_xml())
        self.assertEqual([], problems)

    def test_virtiofs_round_trip(self):
        fs = share_vconfig.LibvirtConfigGuestVirtiofs()
        fs.source_dir, fs.target_dir, fs.readonly = '/v/i/t', 'tag', True
        back = share_vconfig.LibvirtConfigGuestVirtiofs()
        back.parse_dom(fs.format_dom())
        self.assertEqual(('virtiofs', '/v/i/t', 'tag', True),
                         (back.driver_type, back.source_dir,
                          back.target_dir, back.readonly))


class PrivilegedHelpersTest(base.TestCase):
    """The checks the privileged daemon makes on what it is asked.

    Run in-process on temporary directories, accepted as the test user's
    (the daemon wants root's).  The real tier attacks every entry point
    as root, with mounts (tests/real/test_privileged_real.py).
    """

    def setUp(self):
        super().setUp()
        self.base_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.base_dir)
        self.useFixture(fixtures.MockPatchObject(privileged, 'OWNER',
                                                 os.getuid()))
        self.flags(share_local_fs={self.base_dir: 'tag'},
                   share_view_dir=self.base_dir + '-views')

    def flags(self, **kwargs):
        for name, value in kwargs.items():
            self.conf.config(**{name: value, 'group': 'domain_meta'})

    def test_names_must_be_one_plain_entry(self):
        for name in ('', '.', '..', 'a/b', '../x', 'a\0b', None, '.hidden',
                     'x' * 256):
            self.assertRaises(privsep.UnsafePath, privsep.check_name, name)
        self.assertEqual('instance-0000002a',
                         privsep.check_name('instance-0000002a'))

    def test_guest_directory_created_once(self):
        path = privileged.ensure_guest_directory(self.base_dir, 'guest')
        self.assertTrue(os.path.isdir(path))
        self.assertEqual(path, privileged.ensure_guest_directory(
            self.base_dir, 'guest'))

    def test_only_a_configured_directory(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        os.mkdir(os.path.join(other, 'victim'))
        for base_dir in (other, self.base_dir + '/', '/'):
            for call in (privileged.ensure_guest_directory,
                         privileged.remove_guest_directory):
                self.assertRaises(privsep.UnsafePath, call, base_dir,
                                  'victim')
        self.assertTrue(os.path.isdir(os.path.join(other, 'victim')))

    def test_planted_symlink_is_refused(self):
        elsewhere = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, elsewhere)
        os.symlink(elsewhere, os.path.join(self.base_dir, 'guest'))
        for call in (privileged.ensure_guest_directory,
                     privileged.remove_guest_directory):
            e = self.assertRaises(privsep.UnsafePath, call, self.base_dir,
                                  'guest')
            self.assertIn('symbolic link', str(e))
        self.assertTrue(os.path.isdir(elsewhere))

    def test_removal_does_not_follow_links_inside(self):
        elsewhere = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, elsewhere)
        open(os.path.join(elsewhere, 'precious'), 'w').close()
        guest = privileged.ensure_guest_directory(self.base_dir, 'guest')
        os.makedirs(os.path.join(guest, 'intel-rapl:0'))
        os.symlink(elsewhere, os.path.join(guest, 'link'))
        self.assertTrue(privileged.remove_guest_directory(self.base_dir,
                                                          'guest'))
        self.assertFalse(os.path.lexists(guest))
        self.assertTrue(os.path.exists(os.path.join(elsewhere, 'precious')))
        self.assertFalse(privileged.remove_guest_directory(self.base_dir,
                                                           'guest'))

    def test_another_owner_is_refused(self):
        os.mkdir(os.path.join(self.base_dir, 'guest'))
        self.useFixture(fixtures.MockPatchObject(privileged, 'OWNER',
                                                 os.getuid() + 1))
        e = self.assertRaises(privsep.UnsafePath,
                              privileged.ensure_guest_directory,
                              self.base_dir, 'guest')
        self.assertIn('owned by uid %d' % os.getuid(), str(e))

    def test_shared_directory_through_a_link_is_refused(self):
        link = self.base_dir + '-link'
        os.symlink(self.base_dir, link)
        self.addCleanup(os.unlink, link)
        self.flags(share_local_fs={link: 'tag'})
        self.assertRaises(privsep.UnsafePath,
                          privileged.ensure_guest_directory, link, 'guest')
        self.assertEqual([], os.listdir(self.base_dir))

    def test_nothing_without_shares_configured(self):
        self.flags(share_local_fs={})
        e = self.assertRaises(privsep.UnsafePath,
                              privileged.ensure_guest_directory,
                              self.base_dir, 'guest')
        self.assertIn('share_local_fs is not set', str(e))

    def test_mount_table_unescapes_mount_points(self):
        line = ('36 35 98:0 /mnt1 /var/lib/a\\040b rw,noatime shared:1 '
                '- ext3 /dev/root rw\n')
        with mock.patch('builtins.open', mock.mock_open(read_data=line)):
            table = linux.mount_table()
        self.assertEqual({'/var/lib/a b': {'rw', 'noatime'}}, table)


class HostSharesTest(base.TestCase):

    def test_paths_of_a_guest(self):
        host = share_host.HostShares(
            [mapping.Share('/var/lib/libvirt/scaphandre', 'scaphandre')],
            '/run/nova-domain-meta/shares', 'qemu:///system')
        share = host.shares[0]
        self.assertEqual('/var/lib/libvirt/scaphandre/instance-00000034',
                         host.guest_directory(share, 'instance-00000034'))
        self.assertEqual(
            '/run/nova-domain-meta/shares/instance-00000034/scaphandre',
            host.source(share, 'instance-00000034'))
        host.bind_views = False
        self.assertEqual('/var/lib/libvirt/scaphandre/instance-00000034',
                         host.source(share, 'instance-00000034'))
        e = self.assertRaises(share_host.UnsafeShare, host.source, share,
                              '../x')
        self.assertIsInstance(e, exception.InvalidInput)
        self.assertIn('Refusing the power-metrics share', str(e))

    def _problems(self, ours, daemons):
        tables = {'self': ours}
        tables.update(daemons)
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.share.linux.mount_table',
            lambda pid='self': tables[pid]))
        self.useFixture(fixtures.MockPatch(
            'nova_domain_meta.share.libvirtd.find',
            return_value=sorted(daemons)))
        return share_host.readonly_problems(['/v/a/t', '/v/b/t/'],
                                            'qemu:///system')

    def test_read_only_mounts_here_and_in_the_daemon(self):
        table = {'/v/a/t': {'ro', 'relatime'}, '/v/b/t': {'ro'}}
        self.assertEqual([], self._problems(table, {4242: table}))

    def test_the_path_itself_must_be_a_read_only_mount(self):
        problems = self._problems({'/v/a/t': {'rw'}, '/v/b': {'ro'}}, {})
        self.assertEqual(['/v/a/t is not a read-only mount',
                          '/v/b/t/ is not a read-only mount'], problems)

    def test_missing_in_the_daemon_namespace(self):
        table = {'/v/a/t': {'ro'}, '/v/b/t': {'ro'}}
        problems = self._problems(table, {4242: {'/v/a/t': {'ro'}}})
        self.assertEqual(1, len(problems))
        self.assertIn('libvirt daemon (pid 4242) does not see the '
                      'read-only mount /v/b/t/', problems[0])

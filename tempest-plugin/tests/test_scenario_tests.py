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

"""The scenario tests, against recorded Nova answers and domain XML.

The server's admin view comes from Nova 34's API through tempest's servers
client; the domain XML is what our driver defined for that server
(``domain-share.xml`` adds the share as Nova formats a virtiofs mount).
Booting is replaced by returning the recorded server; the guest's answers
are those of the tiny guest of the real tier (busybox), where a write into
the read-only share fails with "Read-only file system".
"""

from xml.etree import ElementTree

from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import servers_client
from testtools import matchers

from nova_domain_meta_tempest_plugin.common import domain_xml
from nova_domain_meta_tempest_plugin.tests.scenario import (
    test_domain_metadata as meta_tests)
from nova_domain_meta_tempest_plugin.tests.scenario import (
    test_power_metrics_share as share_tests)
from tests import base

PROC_MOUNTS = (
    'rootfs / rootfs rw 0 0\n'
    'proc /proc proc rw,relatime 0 0\n'
    'sysfs /sys sysfs rw,relatime 0 0\n'
    'scaphandre /var/scaphandre virtiofs rw,relatime 0 0\n')
READ_ONLY = ("sh: can't create /var/scaphandre/nova-domain-meta-write-probe: "
             "Read-only file system")


class FakeReader(object):

    def __init__(self, xml):
        self.xml = xml
        self.asked = []

    def dumpxml(self, host, domain):
        self.asked.append((host, domain))
        return self.xml


class FakeFlavors(object):
    """Flavor management around the share tests (not under test here)."""

    def __init__(self):
        self.extra_specs = {}
        self.deleted = []

    def show_flavor(self, flavor_id):
        return {'flavor': {'id': flavor_id, 'ram': 128, 'vcpus': 1,
                           'disk': 1}}

    def create_flavor(self, **kwargs):
        return {'flavor': dict(kwargs)}

    def set_flavor_extra_spec(self, flavor_id, **specs):
        self.extra_specs.update(specs)
        return {'extra_specs': specs}

    def delete_flavor(self, flavor_id):
        self.deleted.append(flavor_id)


class FakeGuest(object):
    """Answers the guest commands as the real tier's guest did."""

    def __init__(self, proc_mounts=PROC_MOUNTS, write_error=READ_ONLY):
        self.proc_mounts = proc_mounts
        self.write_error = write_error
        self.commands = []

    def exec_command(self, command):
        self.commands.append(command)
        if 'mount -t virtiofs' in command:
            return ''
        if command == 'cat /proc/mounts':
            return self.proc_mounts
        if 'echo x >' in command:
            if self.write_error is None:
                return ''
            raise lib_exc.SSHExecCommandFailed(
                command=command, exit_status=1, stdout='',
                stderr=self.write_error)
        raise AssertionError('unexpected guest command %s' % command)


class ScenarioTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.server = base.recorded()['server']
        transport = base.RecordedTransport([self.server])
        self.servers = transport.client(servers_client.ServersClient,
                                        'compute')
        self.created = []

    def create_server(self, **kwargs):
        self.created.append(kwargs)
        return {'id': self.server['body']['server']['id']}

    def run_test(self, test_class, method, xml, **attributes):
        self.reader = FakeReader(xml)
        test = self.tempest_test(
            test_class, method, admin_servers_client=self.servers,
            reader=self.reader, create_server=self.create_server,
            **attributes)
        getattr(test, method)()
        body = self.server['body']['server']
        self.assertEqual([(body['OS-EXT-SRV-ATTR:host'],
                           body['OS-EXT-SRV-ATTR:instance_name'])],
                         self.reader.asked)


class TestDomainMetadata(ScenarioTestCase):

    def test_runs_with_the_microversions_a_cloud_offers(self):
        # Regression: an open test range (2.86 - None) made tempest raise
        # InvalidAPIVersionRange in setUpClass on every real cloud.
        self.flags(group='nova_domain_meta', enabled=True,
                   domain_xml_command='virsh dumpxml {domain}')
        self.flags(group='compute', min_microversion=None,
                   max_microversion='latest')
        meta_tests.DomainMetadataTest.skip_checks()
        self.flags(group='compute', max_microversion='2.80')
        self.assertRaises(meta_tests.DomainMetadataTest.skipException,
                          meta_tests.DomainMetadataTest.skip_checks)

    method = 'test_domain_carries_nova_and_plugin_metadata'

    def test_recorded_domain_passes(self):
        self.run_test(meta_tests.DomainMetadataTest, self.method,
                      base.read_data('domain.xml'))

    def test_domain_without_our_element_fails(self):
        # The fixture is ours; the standard library's parser is fine here.
        doc = ElementTree.fromstring(base.read_data('domain.xml'))
        metadata = doc.find('metadata')
        metadata.remove(metadata.find('{%s}instance' % domain_xml.NDM_NS))
        error = self.assertRaises(
            matchers.MismatchError, self.run_test,
            meta_tests.DomainMetadataTest, self.method,
            ElementTree.tostring(doc, encoding='unicode'))
        self.assertIn('no <ndm:instance>', str(error))

    def test_skipped_without_a_way_to_read_domains(self):
        self.flags(domain_xml_command=None, compute_ssh_user=None)
        self.assertRaises(meta_tests.DomainMetadataTest.skipException,
                          meta_tests.DomainMetadataTest.skip_checks)


class TestPowerMetricsShare(ScenarioTestCase):

    def setUp(self):
        super().setUp()
        self.flags(share_view_dir='/run/nova-domain-meta/shares',
                   share_flavor_extra_specs=['hw:mem_page_size=large'])
        self.flavors = FakeFlavors()

    def run_share_test(self, method, xml, **attributes):
        self.run_test(share_tests.PowerMetricsShareTest, method, xml,
                      admin_flavors_client=self.flavors, **attributes)

    def test_share_in_the_domain(self):
        # Runs after the cleanups the tempest test registers (LIFO).
        self.addCleanup(lambda: self.assertEqual(
            [self.created[0]['flavor']], self.flavors.deleted))
        self.run_share_test('test_share_is_in_the_domain',
                            base.read_data('domain-share.xml'))
        self.assertEqual({'hw:power_metrics': 'true',
                          'hw:mem_page_size': 'large'},
                         self.flavors.extra_specs)

    def test_missing_share_fails(self):
        error = self.assertRaises(
            matchers.MismatchError, self.run_share_test,
            'test_share_is_in_the_domain', base.read_data('domain.xml'))
        self.assertIn("0 virtiofs filesystems with target dir 'scaphandre'",
                      str(error))

    def test_share_outside_the_view_dir_fails(self):
        self.flags(share_view_dir='/var/lib/nova/domain_meta/shares')
        error = self.assertRaises(
            matchers.MismatchError, self.run_share_test,
            'test_share_is_in_the_domain',
            base.read_data('domain-share.xml'))
        self.assertIn('below share_view_dir', str(error))

    def test_no_share_without_the_extra_spec(self):
        self.run_share_test('test_no_share_without_the_extra_spec',
                            base.read_data('domain.xml'))
        self.assertNotIn('flavor', self.created[0])

    def test_unasked_share_fails(self):
        self.assertRaises(
            matchers.MismatchError, self.run_share_test,
            'test_no_share_without_the_extra_spec',
            base.read_data('domain-share.xml'))

    def run_guest_test(self, guest):
        self.flags(group='validation', run_validation=True)
        test = self.tempest_test(
            share_tests.PowerMetricsShareTest,
            'test_guest_mounts_the_share_read_only',
            admin_flavors_client=self.flavors,
            create_server=self.create_server,
            create_keypair=lambda: {'name': 'k', 'private_key': 'key'},
            create_security_group=lambda: {'name': 'sg'},
            get_server_ip=lambda server: '192.0.2.10',
            get_remote_client=lambda ip, **kwargs: guest)
        test.test_guest_mounts_the_share_read_only()
        return guest

    def test_guest_sees_a_read_only_share(self):
        guest = self.run_guest_test(FakeGuest())
        self.assertEqual(
            'sudo mkdir -p /var/scaphandre && '
            'sudo mount -t virtiofs scaphandre /var/scaphandre',
            guest.commands[0])
        self.assertEqual('SSHABLE', self.created[0]['wait_until'])

    def test_writable_share_fails(self):
        self.assertRaises(matchers.MismatchError, self.run_guest_test,
                          FakeGuest(write_error=None))

    def test_write_failing_otherwise_fails(self):
        self.assertRaises(
            AssertionError, self.run_guest_test,
            FakeGuest(write_error='sh: can\'t create x: Permission denied'))

    def test_share_not_mounted_fails(self):
        self.assertRaises(
            matchers.MismatchError, self.run_guest_test,
            FakeGuest(proc_mounts='rootfs / rootfs rw 0 0\n'))

    def test_guest_test_skipped_without_ssh(self):
        self.flags(group='validation', run_validation=False)
        test = self.tempest_test(share_tests.PowerMetricsShareTest,
                                 'test_guest_mounts_the_share_read_only')
        self.assertRaises(test.skipException,
                          test.test_guest_mounts_the_share_read_only)


def console_log(uuid, mount_type='virtiofs', write_rc='1',
                write_output="sh: can't create /var/scaphandre/"
                             "nova-domain-meta-write-probe: Read-only file "
                             "system"):
    """A console log as the cloud tier's guest prints it."""
    return '\r\n'.join([
        '[    0.000000] Linux version 6.1.0-57-amd64',
        'TINYGUEST-BOOTED',
        'NDM-CHECK-UUID: %s' % uuid.upper(),
        'NDM-CHECK-MOUNT: rc=0 type=%s ' % mount_type,
        'NDM-CHECK-WRITE: rc=%s %s' % (write_rc, write_output),
        'NDM-CHECK-DONE: ok',
        'TINYGUEST-WAITING', ''])


class FakeConsole(object):
    """get_console_output answering with ``outputs`` in turn."""

    def __init__(self, *outputs):
        self.outputs = list(outputs)
        self.asked = []

    def get_console_output(self, server_id, **kwargs):
        self.asked.append(server_id)
        output = self.outputs.pop(0) if len(self.outputs) > 1 \
            else self.outputs[0]
        return {'output': output}


class TestPowerMetricsShareByConsole(ScenarioTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='nova_domain_meta', guest_check_method='console')
        self.flags(group='validation', run_validation=False)
        self.flags(group='compute', build_interval=0)
        self.flavors = FakeFlavors()
        self.server_id = self.server['body']['server']['id']

    def run_console_test(self, console):
        test = self.tempest_test(
            share_tests.PowerMetricsShareTest,
            'test_guest_mounts_the_share_read_only',
            admin_flavors_client=self.flavors,
            create_server=self.create_server, servers_client=console)
        test.test_guest_mounts_the_share_read_only()
        return console

    def test_read_only_share_in_the_console_log_passes(self):
        console = self.run_console_test(FakeConsole(
            'booting', console_log(self.server_id)))
        self.assertEqual([self.server_id] * 2, console.asked)
        self.assertEqual('ACTIVE', self.created[0]['wait_until'])

    def test_report_of_another_guest_fails(self):
        self.assertRaises(
            matchers.MismatchError, self.run_console_test,
            FakeConsole(console_log('00000000-0000-0000-0000-000000000000')))

    def test_writable_share_fails(self):
        self.assertRaises(
            AssertionError, self.run_console_test,
            FakeConsole(console_log(self.server_id, write_rc='0',
                                    write_output='')))

    def test_share_not_mounted_fails(self):
        self.assertRaises(
            matchers.MismatchError, self.run_console_test,
            FakeConsole(console_log(self.server_id, mount_type='-')))

    def test_no_report_within_the_build_timeout_fails(self):
        self.flags(group='compute', build_timeout=0)
        self.assertRaises(AssertionError, self.run_console_test,
                          FakeConsole('TINYGUEST-BOOTED\r\n'))

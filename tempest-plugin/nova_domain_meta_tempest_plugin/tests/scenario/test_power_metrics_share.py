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

"""The power-metrics share: in the domain XML, and read-only in the guest."""

import time

from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_domain_meta_tempest_plugin.common import domain_xml
from nova_domain_meta_tempest_plugin.common import guest
from nova_domain_meta_tempest_plugin.tests import base as ndm_base
from nova_domain_meta_tempest_plugin.tests.scenario import (
    test_domain_metadata as meta_tests)

CONF = config.CONF
KEY = 'hw:power_metrics'


class PowerMetricsShareTest(meta_tests.DomainXMLTest):
    """A flavor with hw:power_metrics=true gets the read-only share."""

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        ndm_base.skip_unless_enabled(cls, power_metrics=True)

    def share_flavor(self):
        """A copy of [compute] flavor_ref asking for power metrics."""
        client = self.admin_flavors_client
        base = client.show_flavor(CONF.compute.flavor_ref)['flavor']
        flavor = client.create_flavor(
            name=data_utils.rand_name(
                prefix=CONF.resource_name_prefix, name='power-metrics'),
            ram=base['ram'], vcpus=base['vcpus'], disk=base['disk'],
            id=data_utils.rand_uuid())['flavor']
        self.addCleanup(client.delete_flavor, flavor['id'])
        specs = {}
        for item in CONF.nova_domain_meta.share_flavor_extra_specs:
            key, _sep, value = item.partition('=')
            specs[key.strip()] = value.strip()
        specs[KEY] = 'true'
        client.set_flavor_extra_spec(flavor['id'], **specs)
        return flavor['id']

    @decorators.idempotent_id('9aca7711-db90-45c5-9bb9-706f142d25ef')
    def test_share_is_in_the_domain(self):
        server = self.create_server(flavor=self.share_flavor(),
                                    wait_until='ACTIVE')
        domain = self.domain_of(self.admin_view(server['id']))
        self.assertEqual([], domain_xml.check_share(
            domain, CONF.nova_domain_meta.mount_tag,
            CONF.nova_domain_meta.share_view_dir))

    @decorators.idempotent_id('efa6416b-d6a6-4af9-9a6e-acec5fd5f938')
    def test_no_share_without_the_extra_spec(self):
        server = self.create_server(wait_until='ACTIVE')
        domain = self.domain_of(self.admin_view(server['id']))
        self.assertEqual([], domain_xml.check_no_share(
            domain, CONF.nova_domain_meta.mount_tag))

    @decorators.attr(type=['slow'])
    @decorators.idempotent_id('fde91d10-4aa1-4c06-aa1c-e4dd3a56dff9')
    def test_guest_mounts_the_share_read_only(self):
        if not CONF.nova_domain_meta.guest_share_checks:
            raise self.skipException(
                '[nova_domain_meta] guest_share_checks is False')
        if CONF.nova_domain_meta.guest_check_method == 'console':
            self._check_guest_by_console()
        else:
            self._check_guest_over_ssh()

    def _check_guest_by_console(self):
        if not CONF.compute_feature_enabled.console_output:
            raise self.skipException(
                '[compute-feature-enabled] console_output is False: the '
                'guest\'s console log cannot be read')
        server = self.create_server(flavor=self.share_flavor(),
                                    wait_until='ACTIVE')
        report = self._console_report(server['id'])
        self.assertEqual(server['id'].lower(), report['uuid'],
                         'the console log reports another guest')
        self.assertEqual('virtiofs', report['mount_type'],
                         'the share was not mounted: %s'
                         % report['mount_output'])
        self.assertNotEqual('0', report['write_rc'],
                            'a write into the share succeeded')
        self.assertTrue(guest.write_refused_read_only(report['write_output']),
                        'the write failed for another reason: %s'
                        % report['write_output'])

    def _console_report(self, server_id):
        """The guest's console check, once it printed all of it."""
        deadline = time.monotonic() + CONF.compute.build_timeout
        while True:
            output = self.servers_client.get_console_output(
                server_id)['output']
            report = guest.parse_console_check(output)
            if report is not None:
                return report
            if time.monotonic() > deadline:
                self.fail('no %s in the console log of %s within %d s; '
                          'the end of the log:\n%s' % (
                              guest.CONSOLE_DONE, server_id,
                              CONF.compute.build_timeout,
                              (output or '')[-2000:]))
            time.sleep(CONF.compute.build_interval)

    def _check_guest_over_ssh(self):
        if not CONF.validation.run_validation:
            raise self.skipException(
                '[validation] run_validation is False: no SSH to guests')
        keypair = self.create_keypair()
        security_group = self.create_security_group()
        server = self.create_server(
            flavor=self.share_flavor(), key_name=keypair['name'],
            security_groups=[{'name': security_group['name']}],
            wait_until='SSHABLE')
        ip = self.get_server_ip(server)
        ssh = self.get_remote_client(ip, private_key=keypair['private_key'],
                                     server=server)

        tag = CONF.nova_domain_meta.mount_tag
        mount_point = CONF.nova_domain_meta.guest_mount_point
        ssh.exec_command(guest.mount_command(tag, mount_point))
        self.assertEqual('virtiofs', guest.mount_type(
            ssh.exec_command('cat /proc/mounts'), mount_point))
        error = self.assertRaises(lib_exc.SSHExecCommandFailed,
                                  ssh.exec_command,
                                  guest.write_command(mount_point))
        self.assertTrue(guest.write_refused_read_only(str(error)),
                        'the write failed for another reason: %s' % error)

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

"""The plugin as tempest loads it: entry point, options, test directory."""

import os

from oslo_config import cfg
import stevedore
import testtools

from nova_domain_meta_tempest_plugin import config
from nova_domain_meta_tempest_plugin import plugin


class TestPlugin(testtools.TestCase):

    def test_tempest_finds_the_entry_point(self):
        manager = stevedore.ExtensionManager('tempest.test_plugins',
                                             invoke_on_load=True)
        self.assertIn('nova-domain-meta', manager.names())
        self.assertIsInstance(manager['nova-domain-meta'].obj,
                              plugin.NovaDomainMetaTempestPlugin)

    def test_load_tests_points_at_the_tempest_tests_only(self):
        tests_dir, top_dir = plugin.NovaDomainMetaTempestPlugin().load_tests()
        self.assertTrue(os.path.isdir(os.path.join(tests_dir, 'api')))
        self.assertTrue(os.path.isdir(os.path.join(tests_dir, 'scenario')))
        self.assertEqual(
            os.path.join(top_dir, 'nova_domain_meta_tempest_plugin',
                         'tests'), tests_dir)

    def test_options(self):
        conf = cfg.ConfigOpts()
        plugin.NovaDomainMetaTempestPlugin().register_opts(conf)
        conf([], default_config_files=[])
        group = conf.nova_domain_meta
        self.assertFalse(group.enabled)
        self.assertFalse(group.power_metrics)
        self.assertEqual('scaphandre', group.mount_tag)
        self.assertEqual('/var/scaphandre', group.guest_mount_point)
        self.assertIsNone(group.domain_xml_command)
        self.assertEqual('sudo virsh', group.virsh_command)
        self.assertEqual(
            [('nova_domain_meta', config.opts)],
            plugin.NovaDomainMetaTempestPlugin().get_opt_lists())

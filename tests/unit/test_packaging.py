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

"""Packaging: the nova.conf value loads our driver; options are listed."""

from importlib import metadata as importlib_metadata

from oslo_config import cfg
from oslo_utils import importutils

from nova_domain_meta.conf import opts
from nova_domain_meta import driver
from tests.unit import base


class TestLoading(base.TestCase):

    def test_compute_driver_value_resolves_to_our_driver(self):
        # Nova loads 'nova.virt.' + CONF.compute_driver.
        klass = importutils.import_class('nova.virt.domain_meta.LibvirtDriver')
        self.assertIs(driver.DomainMetaLibvirtDriver, klass)

    def test_driver_is_novas_libvirt_driver(self):
        from nova.virt.libvirt import driver as libvirt_driver
        self.assertTrue(issubclass(driver.DomainMetaLibvirtDriver,
                                   libvirt_driver.LibvirtDriver))

    def test_oslo_config_entry_point_lists_our_group(self):
        points = [ep for ep in importlib_metadata.entry_points(
            group='oslo.config.opts') if ep.name == 'nova_domain_meta']
        self.assertEqual(1, len(points), 'is the package installed?')
        groups = {getattr(group, 'name', group): [o.name for o in options]
                  for group, options in points[0].load()()}
        self.assertEqual(
            {'domain_meta': ['max_value_length', 'max_items',
                             'image_properties', 'reconcile_interval',
                             'reconcile_full_pass_every',
                             'preserve_hardware', 'share_local_fs',
                             'share_view_dir']},
            groups)


class TestOptions(base.TestCase):

    def test_defaults(self):
        self.assertEqual(1024, cfg.CONF.domain_meta.max_value_length)
        self.assertEqual(256, cfg.CONF.domain_meta.max_items)
        self.assertTrue(cfg.CONF.domain_meta.image_properties)

    def test_bounds_are_enforced(self):
        self.assertRaises(ValueError, self.conf.config,
                          max_value_length=10, group='domain_meta')
        self.assertRaises(ValueError, self.conf.config, max_items=0,
                          group='domain_meta')

    def test_every_option_has_a_sentence_of_help(self):
        for _group, options in opts.list_opts():
            for opt in options:
                self.assertTrue(opt.help.strip().endswith('.'), opt.name)

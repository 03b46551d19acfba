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

"""A metadata failure is logged and never fails the instance operation."""

from unittest import mock

from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import collect
from nova_domain_meta.metadata import schema
from tests.unit import base
from tests.unit.metadata import fakes


class TestCollectNeverRaises(base.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = fakes.instance()
        self.flags = self.conf.config

    def test_domain_meta_element_is_none_when_building_fails(self):
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               side_effect=RuntimeError('conductor down')), \
                mock.patch.object(collect.LOG, 'warning',
                                  autospec=True) as warning:
            self.assertIsNone(collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING))
        warning.assert_called_once()
        self.assertEqual(self.inst, warning.call_args[1]['instance'])

    def test_domain_meta_element_is_built_from_nova_objects(self):
        self.flags(host='compute-9')
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               return_value=fakes.block_device_mappings(
                                   self.inst)):
            meta = collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        self.assertEqual('compute-9', meta.host)
        self.assertEqual(3, len(meta.block_devices))

    def test_image_properties_option_is_honoured(self):
        self.flags(image_properties=False, group='domain_meta')
        inst = fakes.instance(image_properties={'os_distro': 'debian'})
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               return_value=None):
            meta = collect.domain_meta_element(inst, [], {})
        self.assertEqual([], meta.image.properties)

    def test_nova_element_falls_back_to_minimal(self):
        dmeta = fakes.driver_metadata(self.inst)
        with mock.patch.object(builder, 'build_nova_instance', autospec=True,
                               side_effect=ValueError('bad')), \
                mock.patch.object(collect.LOG, 'warning',
                                  autospec=True) as warning:
            meta = collect.nova_instance_element(dmeta)
        warning.assert_called_once()
        self.assertEqual('web-1', meta.name)
        self.assertEqual([], schema.element_errors(meta.to_xml()))

    def test_corrected_metadata_falls_back_to_novas(self):
        dmeta = fakes.driver_metadata(fakes.instance(boot_from_volume=True))
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               side_effect=RuntimeError('db gone')):
            self.assertIs(dmeta, collect.corrected_driver_metadata(
                dmeta, fakes.instance(boot_from_volume=True)))

    def test_bfv_root_volume_is_looked_up(self):
        inst = fakes.instance(boot_from_volume=True)
        dmeta = fakes.driver_metadata(inst)
        dmeta.root_id = ''
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               return_value=fakes.block_device_mappings(
                                   inst)):
            fixed = collect.corrected_driver_metadata(dmeta, inst)
        self.assertEqual(fakes.VOLUME_UUID, fixed.root_id)

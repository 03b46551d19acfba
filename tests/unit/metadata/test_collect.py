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

"""Gathering the builders' inputs: never fatal, no needless database read."""

from unittest import mock

from lxml import etree
from nova import objects
from nova.virt import driver as nova_driver

from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import collect
from nova_domain_meta.metadata import domain_meta
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
        self.assertEqual('compute-9', meta.element.host)
        self.assertEqual(3, len(meta.element.block_devices))

    def test_image_properties_option_is_honoured(self):
        self.flags(image_properties=False, group='domain_meta')
        inst = fakes.instance(image_properties={'os_distro': 'debian'})
        with mock.patch.object(collect, 'block_device_mappings', autospec=True,
                               return_value=None):
            meta = collect.domain_meta_element(inst, [], {})
        self.assertEqual([], meta.element.image.properties)

    def test_nova_element_falls_back_to_minimal(self):
        dmeta = fakes.driver_metadata(self.inst)
        with mock.patch.object(builder, 'build_nova_instance', autospec=True,
                               side_effect=ValueError('bad')), \
                mock.patch.object(collect.LOG, 'warning',
                                  autospec=True) as warning:
            meta = collect.nova_instance_element(dmeta)
        warning.assert_called_once()
        self.assertEqual('web-1', meta.element.name)
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

    def test_a_value_lxml_refuses_falls_back_when_formatted_here(self):
        # Sanitizing makes this unreachable today; the guard is for the
        # value nobody thought of.  It must fail here, not in Nova's to_xml.
        dmeta = fakes.driver_metadata(self.inst)
        bad = builder.build_nova_instance(dmeta, fakes.LIMITS)
        bad.name = 'bad\x00name'
        with mock.patch.object(builder, 'build_nova_instance', autospec=True,
                               return_value=bad), \
                mock.patch.object(collect.LOG, 'warning',
                                  autospec=True) as warning:
            meta = collect.nova_instance_element(dmeta)
        warning.assert_called_once()
        self.assertEqual('web-1', meta.element.name)
        self.assertIsNone(meta.element.flavor)

    def test_formatted_element_gives_each_caller_a_node_of_its_own(self):
        meta = collect.domain_meta_element(
            self.inst, fakes.network_info(), fakes.DISK_MAPPING,
            bdms=fakes.block_device_mappings(self.inst))
        expected = meta.element.to_xml()
        first, second = meta.format_dom(), meta.format_dom()
        self.assertIsNot(first, second)
        self.assertEqual(expected, etree.tostring(first, encoding='unicode',
                                                  pretty_print=True))
        first.clear()
        self.assertEqual(expected, meta.to_xml())
        self.assertEqual(expected, etree.tostring(second, encoding='unicode',
                                                  pretty_print=True))
        self.assertEqual(meta.element.ns_uri, meta.ns_uri)

    def test_formatted_element_hands_over_the_node_it_made(self):
        with mock.patch.object(domain_meta.DomainMetaInstance, 'format_dom',
                               autospec=True,
                               side_effect=domain_meta.DomainMetaInstance.
                               format_dom) as format_dom:
            meta = collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING,
                bdms=fakes.block_device_mappings(self.inst))
            meta.format_dom()
        # Formatted where a failure is handled, not again for Nova.
        self.assertEqual(1, format_dom.call_count)


class TestSettingsPerCall(base.TestCase):
    """The builders' options are read once per driver call."""

    def setUp(self):
        super().setUp()
        self.inst = fakes.instance()
        self.bdms = fakes.block_device_mappings(self.inst)
        self.flags = self.conf.config

    def test_settings_are_read_once_per_driver_call(self):
        self.flags(host='compute-9')
        self.flags(max_value_length=64, group='domain_meta')
        self.inst.display_name = 'n' * 100
        with mock.patch.object(collect, '_Settings', autospec=True,
                               side_effect=collect._Settings) as read, \
                collect.driver_call(self.inst, self.bdms):
            nova_meta = collect.nova_instance_element(
                fakes.driver_metadata(self.inst))
            ours = collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        read.assert_called_once_with()
        self.assertEqual('compute-9', ours.element.host)
        self.assertEqual('n' * 64, nova_meta.element.name)

    def test_settings_outside_a_driver_call_are_read_afresh(self):
        self.flags(host='compute-9')
        with collect.driver_call(self.inst, self.bdms):
            pass
        self.flags(host='compute-10')
        ours = collect.domain_meta_element(
            self.inst, fakes.network_info(), fakes.DISK_MAPPING,
            bdms=self.bdms)
        self.assertEqual('compute-10', ours.element.host)


def _block_device_info(inst, bdms):
    """Return block_device_info as Nova's compute manager builds it."""
    for bdm in bdms:
        # As loaded from the database: every field set.
        for name, field in bdm.fields.items():
            if not bdm.obj_attr_is_set(name) and field.nullable:
                setattr(bdm, name, None)
        bdm.encrypted = False
    return nova_driver.get_block_device_info(inst, bdms)


class TestMappingsNovaPassed(base.TestCase):
    """Mappings come from block_device_info, the database only without."""

    def setUp(self):
        super().setUp()
        self.inst = fakes.instance()
        self.bdms = fakes.block_device_mappings(self.inst)
        for bdm in self.bdms:
            bdm.instance_uuid = self.inst.uuid
            bdm.connection_info = None
        swap = objects.BlockDeviceMapping(
            source_type='blank', destination_type='local',
            guest_format='swap', boot_index=-1, device_name='/dev/vdc',
            volume_size=1, no_device=False, disk_bus=None, device_type='disk',
            delete_on_termination=True, volume_id=None, image_id=None,
            snapshot_id=None, tag=None, attachment_id=None,
            instance_uuid=self.inst.uuid)
        ephemeral = objects.BlockDeviceMapping(
            source_type='blank', destination_type='local', guest_format=None,
            boot_index=-1, device_name='/dev/vdd', volume_size=2,
            no_device=False, disk_bus=None, device_type='disk',
            delete_on_termination=True, volume_id=None, image_id=None,
            snapshot_id=None, tag='scratch', attachment_id=None,
            instance_uuid=self.inst.uuid)
        self.bdms.objects.extend([swap, ephemeral])

    def _device_names(self, bdms):
        return sorted(b.device_name for b in bdms)

    def test_every_mapping_nova_wrapped_is_found(self):
        found = collect.mappings_in(
            _block_device_info(self.inst, self.bdms))
        self.assertEqual(['/dev/vda', '/dev/vdb', '/dev/vdc', '/dev/vdd'],
                         self._device_names(found))
        self.assertTrue(all(isinstance(b, objects.BlockDeviceMapping)
                            for b in found))

    def test_nothing_usable_means_none(self):
        legacy = {'block_device_mapping': [{'mount_device': '/dev/vdb',
                                            'connection_info': {}}],
                  'image': []}
        for info in (None, {}, {'block_device_mapping': []}, legacy):
            self.assertIsNone(collect.mappings_in(info), info)

    def test_guest_config_reads_no_database_when_nova_passed_mappings(self):
        info = _block_device_info(self.inst, self.bdms)
        with mock.patch.object(collect, 'block_device_mappings',
                               autospec=True) as read, \
                collect.driver_call(self.inst, collect.mappings_in(info)):
            meta = collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        read.assert_not_called()
        self.assertEqual(['sda', 'vda', 'vdb', 'vdc', 'vdd'],
                         sorted(d.device for d in meta.element.block_devices))

    def test_database_is_read_when_nova_passed_none(self):
        # A legacy rescue passes block_device_info=None.
        with mock.patch.object(collect, 'block_device_mappings',
                               autospec=True,
                               return_value=self.bdms) as read, \
                collect.driver_call(self.inst, collect.mappings_in(None)):
            meta = collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        read.assert_called_once_with(self.inst, None)
        self.assertEqual(5, len(meta.element.block_devices))

    def test_mappings_of_another_instance_are_not_used(self):
        other = fakes.instance()
        other.uuid = 'aaaaaaaa-0000-4000-8000-000000000001'
        with mock.patch.object(collect, 'block_device_mappings',
                               autospec=True,
                               return_value=self.bdms) as read, \
                collect.driver_call(other, []):
            collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        read.assert_called_once()

    def test_bfv_root_volume_comes_from_known_mappings(self):
        inst = fakes.instance(boot_from_volume=True)
        dmeta = fakes.driver_metadata(inst)
        dmeta.root_id = ''
        with mock.patch.object(collect, 'block_device_mappings',
                               autospec=True) as read, \
                collect.driver_call(inst, fakes.block_device_mappings(inst)):
            fixed = collect.corrected_driver_metadata(dmeta, inst)
        read.assert_not_called()
        self.assertEqual(fakes.VOLUME_UUID, fixed.root_id)

    def test_known_mappings_end_with_the_call(self):
        with collect.driver_call(self.inst, []):
            pass
        with mock.patch.object(collect, 'block_device_mappings',
                               autospec=True,
                               return_value=self.bdms) as read:
            collect.domain_meta_element(
                self.inst, fakes.network_info(), fakes.DISK_MAPPING)
        read.assert_called_once()

    def test_no_device_mappings_are_left_out_like_the_database_view(self):
        self.bdms[1].no_device = True
        found = collect.mappings_in(
            _block_device_info(self.inst, self.bdms))
        self.assertNotIn('/dev/vdb', self._device_names(found))
        meta = collect.domain_meta_element(
            self.inst, fakes.network_info(), fakes.DISK_MAPPING, bdms=found)
        root = etree.fromstring(meta.to_xml())
        self.assertEqual(
            [], root.findall(".//{*}blockDevice[@volume]"))

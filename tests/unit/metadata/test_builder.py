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

"""Tests for building both elements from Nova's objects."""

from unittest import mock

from lxml import etree

from nova_domain_meta import metadata
from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import schema
from tests.unit import base
from tests.unit.metadata import fakes

NS = {'nova': metadata.NOVA_NS, 'ndm': metadata.DOMAIN_META_NS}


def _xml(obj):
    return etree.fromstring(obj.to_xml())


class TestNovaInstanceElement(base.TestCase):

    def _build(self, inst, nw_info=None):
        return _xml(builder.build_nova_instance(
            fakes.driver_metadata(inst, nw_info), fakes.LIMITS))

    def test_floating_ip_follows_the_fixed_ips_of_its_port(self):
        node = self._build(fakes.instance())
        self.assertEqual(
            ['fixed', 'fixed', 'floating'],
            node.xpath('nova:ports/nova:port/nova:ip/@type', namespaces=NS))
        self.assertEqual(
            ['203.0.113.17'],
            node.xpath("nova:ports/nova:port/nova:ip[@type='floating']"
                       "/@address", namespaces=NS))

    def test_boot_from_volume_root_is_the_volume(self):
        node = self._build(fakes.instance(boot_from_volume=True))
        root = node.find('nova:root', NS)
        self.assertEqual(('volume', fakes.VOLUME_UUID),
                         (root.get('type'), root.get('uuid')))
        # The image element still names an image, never the volume.
        self.assertEqual('', node.find('nova:image', NS).get('uuid'))

    def test_creation_time_is_created_at_not_now(self):
        node = self._build(fakes.instance())
        self.assertEqual('2026-01-02 03:04:05',
                         node.findtext('nova:creationTime', namespaces=NS))

    def test_package_version_keeps_distribution_suffix(self):
        with mock.patch('nova.version.package_string', autospec=True,
                        return_value='3.el9ost'):
            node = self._build(fakes.instance())
        self.assertTrue(node.find('nova:package', NS).get(
            'version').endswith('-3.el9ost'))

    def test_unknown_owner_names_keep_the_ids(self):
        inst = fakes.instance()
        inst.system_metadata['owner_user_name'] = None
        node = self._build(inst)
        user = node.find('nova:owner/nova:user', NS)
        self.assertEqual(inst.user_id, user.get('uuid'))
        self.assertIsNone(user.text)

    def test_no_network_writes_empty_ports(self):
        node = self._build(fakes.instance(), nw_info=[])
        self.assertEqual([], node.findall('nova:ports/nova:port', NS))

    def test_minimal_element_is_valid(self):
        meta = builder.minimal_nova_instance(
            fakes.driver_metadata(fakes.instance(name='a\x00b')),
            fakes.LIMITS)
        self.assertEqual([], schema.element_errors(meta.to_xml()))


class TestDomainMetaElement(base.TestCase):

    def test_lists_every_image_property_including_unmodelled(self):
        inst = fakes.instance(image_properties={
            'os_distro': 'debian', 'vendor_support_contract': 'gold-42'})
        node = _xml(fakes.domain_meta(inst))
        self.assertEqual(
            {'os_distro': 'debian', 'vendor_support_contract': 'gold-42'},
            {p.get('name'): p.text for p in node.iterfind(
                'ndm:image/ndm:properties/ndm:property', NS)})

    def test_image_properties_can_be_turned_off(self):
        inst = fakes.instance(image_properties={'os_distro': 'debian'})
        meta = builder.build_domain_meta(
            inst, fakes.network_info(), fakes.block_device_mappings(inst),
            fakes.DISK_MAPPING, 'compute-7', fakes.LIMITS,
            with_image_properties=False)
        self.assertEqual([], meta.image.properties)
        self.assertEqual(fakes.IMAGE_UUID, meta.image.uuid)

    def test_block_devices_combine_mapping_and_guest_view(self):
        node = _xml(fakes.domain_meta(fakes.instance(
            boot_from_volume=True)))
        devices = [dict(d.attrib) for d in node.iterfind(
            'ndm:blockDevices/ndm:blockDevice', NS)]
        self.assertEqual([
            {'device': 'vda', 'bus': 'virtio', 'type': 'disk',
             'source': 'volume', 'destination': 'volume', 'bootIndex': '0',
             'volume': fakes.VOLUME_UUID, 'size': '10',
             'deleteOnTermination': 'false', 'tag': 'root'},
            {'device': 'vdb', 'bus': 'virtio', 'type': 'disk',
             'source': 'volume', 'destination': 'volume',
             'volume': 'a07f71dc-8151-4e7d-a0cc-cd24a3f11113', 'size': '5',
             'attachment': '4a3cd440-b9c2-11e1-afa6-0800200c9a66',
             'deleteOnTermination': 'false', 'tag': 'db'},
            {'device': 'sda', 'bus': 'sata', 'type': 'cdrom',
             'destination': 'local', 'localDisk': 'disk.config'},
        ], devices)

    def test_same_instance_gives_identical_xml(self):
        inst = fakes.instance(image_properties={'b': '2', 'a': '1'},
                              tags=['z', 'a'])
        self.assertEqual(fakes.domain_meta(inst).to_xml(),
                         fakes.domain_meta(inst).to_xml())

    def test_sanitizing_is_logged_once_per_build(self):
        inst = fakes.instance(image_properties={'bad': 'a\x01b'})
        with mock.patch.object(builder.LOG, 'warning',
                               autospec=True) as warning:
            fakes.domain_meta(inst)
        self.assertEqual(1, warning.call_count)
        self.assertIn('image property[bad]', warning.call_args[0][1]['what'])
        self.assertEqual(inst, warning.call_args[1]['instance'])

    def test_tags_that_cannot_load_are_left_empty(self):
        inst = fakes.instance()
        with mock.patch.object(type(inst), 'tags',
                               new_callable=mock.PropertyMock,
                               side_effect=Exception('no db')):
            meta = fakes.domain_meta(inst)
        self.assertEqual([], meta.tags)


class TestImageIdentity(base.TestCase):

    def test_shelved_image_ref_does_not_replace_the_base_image(self):
        inst = fakes.instance()
        inst.image_ref = '7e4b57cf-3a61-4d1f-9f0b-5d8a2d1fd1aa'  # snapshot
        node = _xml(builder.build_nova_instance(
            fakes.driver_metadata(inst), fakes.LIMITS))
        self.assertEqual(fakes.IMAGE_UUID,
                         node.find('nova:image', NS).get('uuid'))
        self.assertEqual(fakes.IMAGE_UUID,
                         node.find('nova:root', NS).get('uuid'))

    def _root_disk_image(self, inst, bdms=None):
        meta = builder.build_domain_meta(
            inst, fakes.network_info(),
            bdms if bdms is not None else fakes.block_device_mappings(inst),
            fakes.DISK_MAPPING, 'compute-7', fakes.LIMITS)
        return meta.block_devices[0].image_id

    def test_root_disk_names_the_image_of_the_last_rebuild(self):
        # A rebuild records the new image in image_ref and the system
        # metadata; the root mapping keeps naming the old one.
        new_image = 'c4a9a1b5-8f35-4f06-9a52-1f0b3d5e6a77'
        inst = fakes.instance()
        inst.image_ref = new_image
        inst.system_metadata['image_base_image_ref'] = new_image
        self.assertEqual(fakes.IMAGE_UUID,
                         fakes.block_device_mappings(inst)[0].image_id)
        self.assertEqual(new_image, self._root_disk_image(inst))

    def test_root_disk_of_an_unshelved_server_names_its_base_image(self):
        inst = fakes.instance()
        inst.image_ref = '7e4b57cf-3a61-4d1f-9f0b-5d8a2d1fd1aa'  # snapshot
        self.assertEqual(fakes.IMAGE_UUID, self._root_disk_image(inst))

    def test_volume_made_from_an_image_names_the_mapping_image(self):
        # Boot from volume: Nova records no base image for the server.
        inst = fakes.instance(boot_from_volume=True)
        bdms = fakes.block_device_mappings(inst)
        bdms[0].source_type = 'image'
        bdms[0].image_id = fakes.IMAGE_UUID
        self.assertEqual(fakes.IMAGE_UUID, self._root_disk_image(inst, bdms))

    def test_only_the_root_disk_follows_the_rebuild(self):
        inst = fakes.instance()
        inst.system_metadata['image_base_image_ref'] = 'new-image'
        bdms = fakes.block_device_mappings(inst)
        bdms[1].source_type = 'image'
        bdms[1].image_id = 'data-image'
        meta = builder.build_domain_meta(
            inst, fakes.network_info(), bdms, fakes.DISK_MAPPING,
            'compute-7', fakes.LIMITS)
        self.assertEqual(['new-image', 'data-image'],
                         [d.image_id for d in meta.block_devices[:2]])

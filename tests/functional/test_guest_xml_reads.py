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

"""Generating the domain XML reads nothing Nova did not hand the driver.

Nova passes ``block_device_info`` (built from the instance's block device
mappings) to every call that generates the domain XML; in nova-compute
reading the mappings again is an RPC to nova-conductor.  These tests count
the reads of the mappings made while our driver generates the XML, and
check that the metadata still names every disk, also on the one path
where Nova passes nothing (a legacy rescue), where the driver falls back
to the database.
"""

import fixtures
from nova import objects

from nova_domain_meta import driver
from tests.functional import base


class TestGuestXmlReads(base.DomainMetaTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute()
        #: Mapping reads made while our driver generated domain XML.
        self.reads_in_xml = 0
        inside = []
        generate = driver.DomainMetaLibvirtDriver._get_guest_xml
        read = objects.BlockDeviceMappingList.get_by_instance_uuid

        def get_guest_xml(drv, *args, **kwargs):
            inside.append(True)
            try:
                return generate(drv, *args, **kwargs)
            finally:
                inside.pop()

        test = self

        def get_by_instance_uuid(cls, context, instance_uuid, *args,
                                 **kwargs):
            if inside:
                test.reads_in_xml += 1
            return read(context, instance_uuid, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova_domain_meta.driver.DomainMetaLibvirtDriver._get_guest_xml',
            get_guest_xml))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            classmethod(get_by_instance_uuid)))

    def _volumes(self, server):
        return {d.get('volume') for d in self.xpath(
            self.ndm_meta(server),
            'ndm:blockDevices/ndm:blockDevice[@volume]')}

    def _server_with_volume(self):
        body = self._build_server(networks='none')
        body['block_device_mapping_v2'] = [
            {'boot_index': 0, 'uuid': body['imageRef'],
             'source_type': 'image', 'destination_type': 'local'},
            {'boot_index': None, 'uuid': self.cinder.IMAGE_BACKED_VOL,
             'source_type': 'volume', 'destination_type': 'volume'}]
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, 'ACTIVE')

    def test_boot_and_hard_reboot_read_no_mappings(self):
        server = self._server_with_volume()
        self.assertEqual(0, self.reads_in_xml)
        self.assertEqual({self.cinder.IMAGE_BACKED_VOL},
                         self._volumes(server))
        defined = len(self.recorder.domains(self.domain_name(server)))
        self._reboot_server(server, hard=True)
        self.assertEqual(
            defined + 1, len(self.recorder.domains(self.domain_name(server))))
        self.assertEqual(0, self.reads_in_xml)
        self.assertEqual({self.cinder.IMAGE_BACKED_VOL},
                         self._volumes(server))

    def test_boot_from_volume_names_its_root_volume_without_a_read(self):
        server = self.boot_from_volume(self.cinder.IMAGE_BACKED_VOL,
                                       networks='none')
        self.assertEqual(0, self.reads_in_xml)
        self.assertEqual(
            self.cinder.IMAGE_BACKED_VOL,
            self.xpath(self.nova_meta(server), 'string(nova:root/@uuid)'))

    def test_legacy_rescue_falls_back_to_the_database(self):
        # Nova passes block_device_info=None to a rescue without a stable
        # rescue image; the metadata must still name the volume.
        server = self._server_with_volume()
        self.instance_dir(server)
        self._rescue_server(server)
        self.assertEqual(1, self.reads_in_xml)
        self.assertEqual({self.cinder.IMAGE_BACKED_VOL},
                         self._volumes(server))

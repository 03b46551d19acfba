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

"""The schemas accept what we write and reject what breaks the contract."""

import copy

from lxml import etree

from nova_domain_meta import metadata
from nova_domain_meta.metadata import builder
from nova_domain_meta.metadata import schema
from tests.unit import base
from tests.unit.metadata import fakes


class TestSchemas(base.TestCase):

    def setUp(self):
        super().setUp()
        inst = fakes.instance(image_properties={'os_distro': 'debian'},
                              extra_specs={'hw:cpu_policy': 'shared'},
                              tags=['prod'])
        self.nova = etree.fromstring(builder.build_nova_instance(
            fakes.driver_metadata(inst), fakes.LIMITS).to_xml())
        self.ndm = etree.fromstring(fakes.domain_meta(inst).to_xml())

    def test_both_elements_are_valid(self):
        self.assertEqual([], schema.element_errors(self.nova))
        self.assertEqual([], schema.element_errors(self.ndm))

    def test_missing_package_is_invalid(self):
        broken = copy.deepcopy(self.nova)
        broken.remove(broken.find('{%s}package' % metadata.NOVA_NS))
        self.assertNotEqual([], schema.element_errors(broken))

    def test_unknown_ip_type_is_invalid(self):
        broken = copy.deepcopy(self.nova)
        broken.find('.//{%s}ip' % metadata.NOVA_NS).set('type', 'elastic')
        self.assertNotEqual([], schema.element_errors(broken))

    def test_ndm_without_uuid_is_invalid(self):
        broken = copy.deepcopy(self.ndm)
        del broken.attrib['uuid']
        self.assertNotEqual([], schema.element_errors(broken))

    def test_unknown_namespace_is_reported(self):
        self.assertEqual(["no schema for namespace 'urn:x'"],
                         schema.element_errors('<instance xmlns="urn:x"/>'))

    def test_domain_check_finds_both_elements(self):
        domain = etree.Element('domain')
        meta = etree.SubElement(domain, 'metadata')
        meta.append(self.nova)
        self.assertEqual({metadata.DOMAIN_META_NS: ['element missing']},
                         schema.domain_metadata_errors(domain))
        meta.append(self.ndm)
        self.assertEqual({}, schema.domain_metadata_errors(domain))

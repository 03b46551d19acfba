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

"""Our ``<nova:instance>`` is the one Nova 34 writes, plus what it lacks.

Nova's own ``LibvirtDriver._get_guest_config_meta`` is run on the same
driver metadata; everything it writes must come out of ours identically.
"""

from lxml import etree
from nova.virt.libvirt import driver as libvirt_driver

from nova_domain_meta.metadata import builder
from tests.unit import base
from tests.unit.metadata import fakes
from tests.unit.metadata import test_compat


def _nova_34(dmeta):
    # The method reads nothing but its argument.
    return libvirt_driver.LibvirtDriver._get_guest_config_meta(
        None, dmeta).to_xml()


def _ours(dmeta):
    return builder.build_nova_instance(dmeta, fakes.LIMITS).to_xml()


class TestSameAsNova(base.TestCase):

    def test_identical_when_nova_has_nothing_wrong(self):
        dmeta = fakes.driver_metadata(
            fakes.instance(image_properties={'os_distro': 'debian'},
                           extra_specs={'hw:cpu_policy': 'shared'}),
            fakes.network_info(floating=False))
        self.assertEqual(_nova_34(dmeta), _ours(dmeta))

    def test_only_additions_with_a_floating_ip(self):
        dmeta = fakes.driver_metadata(fakes.instance())
        nova = test_compat.facts(_nova_34(dmeta))
        ours = test_compat.facts(_ours(dmeta))
        self.assertEqual({}, {k: v for k, v in nova.items()
                              if ours.get(k) != v})
        added = etree.fromstring(_ours(dmeta)).xpath(
            "//*[local-name()='ip'][@type='floating']")
        self.assertEqual(1, len(added))

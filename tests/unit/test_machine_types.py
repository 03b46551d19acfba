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

"""Machine types: what the host offers, families, which type wins."""

from unittest import mock

from nova.virt.libvirt import config as vconfig

from nova_domain_meta import machine_types
from tests.unit import base

# As libvirt 9.0 reports QEMU 7.2's x86_64 machines (abridged).
CAPABILITIES = """<capabilities>
<host><uuid>h</uuid><cpu><arch>x86_64</arch></cpu></host>
<guest><os_type>hvm</os_type>
 <arch name='x86_64'><wordsize>64</wordsize>
  <emulator>/usr/bin/qemu-system-x86_64</emulator>
  <machine maxCpus='255'>pc-i440fx-7.2</machine>
  <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
  <machine maxCpus='288'>pc-q35-7.2</machine>
  <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>
  <machine maxCpus='288'>pc-q35-6.2</machine>
  <machine maxCpus='1'>isapc</machine>
  <domain type='qemu'/>
 </arch>
</guest></capabilities>"""


class TestOffered(base.TestCase):

    def _host(self, xml):
        caps = vconfig.LibvirtConfigCaps()
        caps.parse_str(xml)
        return mock.Mock(**{'get_capabilities.return_value': caps})

    def test_aliases_name_the_type_they_expand_to(self):
        self.assertEqual(
            {'pc': 'pc-i440fx-7.2', 'pc-i440fx-7.2': None,
             'q35': 'pc-q35-7.2', 'pc-q35-7.2': None, 'pc-q35-6.2': None,
             'isapc': None},
            machine_types.offered(self._host(CAPABILITIES)))

    def test_nothing_reported_is_unknown(self):
        self.assertIsNone(machine_types.offered(self._host(
            '<capabilities><host><uuid>h</uuid><cpu><arch>x86_64</arch>'
            '</cpu></host></capabilities>')))


class TestFamily(base.TestCase):

    def test_families(self):
        offered = {'q35': 'pc-q35-7.2', 'isapc': None}
        for machine, expected in (
                ('pc-q35-7.2', 'pc-q35'), ('pc-q35-4.0.1', 'pc-q35'),
                ('pc-i440fx-rhel7.6.0', 'pc-i440fx'), ('virt-7.2', 'virt'),
                ('q35', 'pc-q35'), ('isapc', None), ('pc', None)):
            self.assertEqual(expected, machine_types.family(machine, offered),
                             machine)

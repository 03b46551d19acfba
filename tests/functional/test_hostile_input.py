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

"""Odd characters, huge values and many properties never fail a server."""

import random
import sys

from lxml import etree
from oslo_utils.fixture import uuidsentinel as uuids
from testtools import content

from nova_domain_meta import metadata
from tests.functional import base

NS = base.NS


class TestHostileInput(base.DomainMetaTestBase):
    """User- and image-owner-supplied values that XML cannot hold as-is."""

    def setUp(self):
        super().setUp()
        self.start_compute()

    def _image_with(self, properties):
        image = {
            'id': uuids.hostile_image,
            'name': 'odd <image> & "quotes"',
            'status': 'active', 'container_format': 'bare',
            'disk_format': 'qcow2', 'min_disk': 0, 'min_ram': 0,
            'properties': properties,
        }
        return self.glance.create(None, image)['id']

    def test_boot_and_reboot_with_hostile_values(self):
        properties = {'ctl_chars': 'a\x00b\x01c\x1bd',
                      'huge': 'x' * 100000,
                      'markup': '<script>&amp;</script>"\''}
        properties.update({'prop_%04d' % i: str(i) for i in range(400)})
        image_id = self._image_with(properties)
        flavor_id = self._create_flavor(extra_spec={
            'custom:note': 'ctl\x01char', 'custom:long': 'y' * 200})
        name = 'Zoë <web> & "db" テスト ✓'
        server = self._create_server(name=name, image_uuid=image_id,
                                     flavor_id=flavor_id, networks='none')

        nova = self.nova_meta(server)
        self.assertEqual(name, self.xpath(nova, 'string(nova:name)'))
        self.assertEqual(
            'ctl\ufffdchar',
            self.xpath(nova, "string(nova:flavor/nova:extraSpecs/"
                             "nova:extraSpec[@name='custom:note'])"))
        ndm = self.ndm_meta(server)
        props = self.xpath(ndm, 'ndm:image/ndm:properties')[0]
        self.assertEqual('true', props.get('truncated'))
        self.assertEqual(256, len(props))
        self.assertEqual(
            'a\ufffdb\ufffdc\ufffdd',
            self.xpath(ndm, "string(ndm:image/ndm:properties/"
                            "ndm:property[@name='ctl_chars'])"))
        # Nova itself keeps at most 255 characters of a property.
        self.assertEqual(255, len(self.xpath(
            ndm, "string(ndm:image/ndm:properties/"
                 "ndm:property[@name='huge'])")))

        defined = len(self.recorder.domains(self.domain_name(server)))
        self._reboot_server(server, hard=True)
        self.assertEqual(defined + 1,
                         len(self.recorder.domains(self.domain_name(server))))
        self.assertEqual('ACTIVE',
                         self.api.get_server(server['id'])['status'])

    def test_values_beyond_max_value_length_are_cut_and_marked(self):
        self.flags(max_value_length=64, group='domain_meta')
        image_id = self._image_with({'long_note': 'n' * 200})
        server = self._create_server(name='s' * 200, image_uuid=image_id,
                                     networks='none')
        self.assertEqual(64, len(self.xpath(self.nova_meta(server),
                                            'string(nova:name)')))
        note = self.xpath(self.ndm_meta(server),
                          "ndm:image/ndm:properties/"
                          "ndm:property[@name='long_note']")[0]
        self.assertEqual(('true', 'n' * 64),
                         (note.get('truncated'), note.text))


# What Nova's API and Glance let through and XML finds hard: control
# characters, markup, quotes, non-characters, combining marks, right-to-
# left text, astral characters (not in display names: Nova wants them
# printable, in the BMP, without whitespace at either end).
_HOSTILE = ('\x01\x02\x07\x08\x0b\x0c\x1b\x1f\x7f<>&"\'] ]]>'
            '\ufffe\uffff\ufeff\u0301\u202e\u05d0\u0627\u30c6'
            '\U0001f600\U0010fffd')
_NAME_HOSTILE = '<>&"\'] ]]>\u0301\u05d0\u0627\u30c6\u2713 '


def _hostile(rng, alphabet, length):
    """A value of ``length`` characters drawn from ``alphabet`` and ASCII."""
    return ''.join(rng.choice(alphabet + 'az09_') for _ in range(length))


class TestManyHostileServers(base.DomainMetaTestBase):
    """Servers carrying hundreds of hostile values boot, reboot, reconcile.

    The values are drawn from a fixed seed, so a failure reproduces; the
    test reports how many went through Nova and how many domain XML
    documents the recorder validated (libvirt's schema, ours, and
    libvirt's test driver).
    """

    SERVERS = 3
    PROPERTIES = 300
    EXTRA_SPECS = 40
    TAGS = 50  # Nova's limit per server

    def setUp(self):
        super().setUp()
        self.start_compute()

    def _server(self, rng, index):
        properties = {
            'hostile_%03d_%s' % (i, _hostile(rng, _HOSTILE, 8)):
                _hostile(rng, _HOSTILE, rng.choice((5, 60, 300, 2000)))
            for i in range(self.PROPERTIES)}
        image_id = self.glance.create(None, {
            'name': _hostile(rng, _HOSTILE, 40), 'status': 'active',
            'container_format': 'bare', 'disk_format': 'qcow2',
            'min_disk': 0, 'min_ram': 0,
            'properties': properties})['id']
        specs = {'custom:hostile_%02d' % i: _hostile(rng, _HOSTILE, 255)
                 for i in range(self.EXTRA_SPECS)}
        flavor_id = self._create_flavor(extra_spec=specs)
        tags = sorted({_hostile(rng, _HOSTILE.replace('\x7f', ''), 60)
                       .replace(',', '.').replace('/', '.')
                       for _ in range(self.TAGS)})
        name = 'srv-%d %s.' % (index, _hostile(rng, _NAME_HOSTILE, 200))
        body = self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=flavor_id, networks='none')
        body['tags'] = tags
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ACTIVE')
        values = 1 + 2 * len(properties) + len(specs) + len(tags)
        return server, values

    def test_hostile_servers_boot_reboot_and_reconcile(self):
        rng = random.Random(20261204)
        values = 0
        servers = []
        for index in range(self.SERVERS):
            server, count = self._server(rng, index)
            servers.append(server)
            values += count
        for server in servers:
            self._reboot_server(server, hard=True)
        result = self.run_reconciler()
        self.assertEqual((self.SERVERS, 0, 0),
                         (result.checked, result.written, result.errors))
        for server in servers:
            self.assertEqual('ACTIVE',
                             self.api.get_server(server['id'])['status'])
            ndm = self.ndm_meta(server)
            self.assertEqual('true', self.xpath(
                ndm, 'string(ndm:image/ndm:properties/@truncated)'))
        validated = [xml for xml in self.recorder.defined
                     if xml not in self.recorder.rendered_by_fake]
        self.assertEqual([], self.recorder.problems)
        self.assertEqual(2 * self.SERVERS, len(validated))
        report = ('functional fuzz: %d hostile values (names, image '
                  'properties, extra specs, tags) through Nova in %d boots '
                  'and %d hard reboots; %d domain XML documents valid '
                  'against libvirt\'s schema, ours and libvirt\'s test '
                  'driver, 0 failures' % (values, self.SERVERS,
                                          self.SERVERS, len(validated)))
        self.addDetail('fuzz-counts', content.text_content(report))
        sys.__stderr__.write(report + '\n')


class TestRecorderChecks(base.DomainMetaTestBase):
    """The checks applied to every defined domain can fail."""

    def test_invalid_domain_xml_is_reported(self):
        self.start_compute()
        server = self._create_server(networks='none')
        good = self.recorder.domains(self.domain_name(server))[-1]
        broken = etree.fromstring(good)
        broken.find('./metadata').remove(
            broken.find('./metadata/{%s}instance' % metadata.DOMAIN_META_NS))
        broken.find('./memory').text = 'lots'
        self.recorder._record_domain(etree.tostring(broken,
                                                    encoding='unicode'))
        problems = self.recorder.problems
        self.recorder.problems = []
        self.assertTrue(any('libvirt domain schema' in p for p in problems),
                        problems)
        self.assertTrue(any('element missing' in p for p in problems),
                        problems)
        self.assertTrue(any('test:///default rejected' in p
                            for p in problems), problems)

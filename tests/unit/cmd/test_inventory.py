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

"""The inventory library on its own, as other tools would use it."""

import re
import sys

import libvirt
from lxml import etree
import testtools

from nova_domain_meta import inventory
from nova_domain_meta import metadata
from tests.unit import cmd as base


class NoBulkStats(object):
    """A real connection whose driver lacks virConnectGetAllDomainStats.

    The call fails with the error libvirt gives for any function a driver
    does not implement (here: the test driver's missing SEV support).
    """

    def __init__(self, uri):
        self._conn = libvirt.open(uri)

    def getAllDomainStats(self, *args):
        return self._conn.getSEVInfo()

    def __getattr__(self, name):
        return getattr(self._conn, name)


class TestReading(base.CLITestCase):

    def test_kinds(self):
        conn = inventory.open_connection(self.node(*base.ALL))
        self.addCleanup(conn.close)
        listing = inventory.read_domains(conn)
        self.assertEqual([], listing.vanished)
        kinds = {d.name: d.kind for d in listing.domains}
        name = lambda f: base.value(f, '/domain/name')  # noqa: E731
        self.assertEqual({
            name('ours-image'): inventory.KIND_DOMAIN_META,
            name('ours-bfv'): inventory.KIND_DOMAIN_META,
            name('ours-odd'): inventory.KIND_DOMAIN_META,
            name('ours-stale'): inventory.KIND_DOMAIN_META,
            name('malformed'): inventory.KIND_DOMAIN_META,
            name('stock-image'): inventory.KIND_NOVA_1_1,
            name('stock-bfv'): inventory.KIND_NOVA_1_1,
            name('stock-odd'): inventory.KIND_NOVA_1_1,
            name('stock-image-ns10'): inventory.KIND_NOVA_1_0,
            name('stock-nometa'): inventory.KIND_NOVA_NO_METADATA,
            'backup-appliance': inventory.KIND_NON_NOVA,
        }, kinds)

    def test_fallback_without_bulk_stats(self):
        uri = self.node(('ours-image', base.PAUSED), 'nonnova')
        listing = inventory.read_domains(NoBulkStats(uri))
        self.assertEqual(
            {base.value('ours-image', '/domain/name'): 'paused',
             'backup-appliance': 'running'},
            {d.name: d.state for d in listing.domains})

    def test_domain_from_xml_without_libvirt(self):
        domain = inventory.domain_from_xml(base.fixture_xml('ours-image'))
        self.assertEqual('web-1', inventory.display_name(domain))
        self.assertIsNone(domain.state)
        self.assertEqual([], domain.problems)
        row = inventory.list_row(domain)
        self.assertEqual(['203.0.113.17'], row['Floating IPs'])

    def test_no_share_no_hardware_record(self):
        domain = inventory.domain_from_xml(base.fixture_xml('ours-image'))
        self.assertIsNone(inventory.power_metrics_share(domain))
        self.assertEqual([], inventory.power_metrics_share_details(domain))
        self.assertEqual([], inventory.preserved_addresses(domain))

    def _with_records(self):
        """The fixture domain with a share and a hardware record added."""
        root = etree.fromstring(base.fixture_xml('ours-image'))
        ours = root.find('metadata/{%s}instance' % metadata.DOMAIN_META_NS)
        ns = '{%s}' % metadata.DOMAIN_META_NS
        hardware = etree.SubElement(ours, ns + 'hardware', preserved='5',
                                    machine='pc-q35-7.2', machineKept='true')
        etree.SubElement(hardware, ns + 'reassigned', device='vdb',
                         reason='bus changed')
        etree.SubElement(ours, ns + 'share', purpose='power-metrics',
                         tag='scaphandre',
                         directory='/var/lib/libvirt/scaphandre/i-1',
                         source='/var/lib/nova/domain_meta/shares/i-1/s',
                         readOnlyBy='bind-mount')
        return inventory.domain_from_xml(etree.tostring(root,
                                                        encoding='unicode'))

    def test_share_and_hardware_records(self):
        domain = self._with_records()
        self.assertEqual(['scaphandre'], inventory.power_metrics_share(domain))
        self.assertEqual(['scaphandre'],
                         inventory.list_row(domain)['Power Metrics'])
        self.assertEqual([{'tag': 'scaphandre',
                           'directory': '/var/lib/libvirt/scaphandre/i-1',
                           'source': '/var/lib/nova/domain_meta/shares/i-1/s',
                           'read_only_by': 'bind-mount'}],
                         inventory.power_metrics_share_details(domain))
        self.assertEqual([{'preserved': 5, 'machine': 'pc-q35-7.2',
                           'machine_kept': True,
                           'reassigned': [{'device': 'vdb',
                                           'reason': 'bus changed'}]}],
                         inventory.preserved_addresses(domain))
        self.assertEqual([], domain.problems)

    def test_no_cliff_import(self):
        # Other tools reuse the inventory without cliff.
        with open(inventory.__file__, encoding='utf-8') as f:
            self.assertIsNone(re.search(r'^\s*(from|import) cliff',
                                        f.read(), re.M))


class TestVersions(testtools.TestCase):

    def test_distribution_suffixes(self):
        for text, expected in (('34.0.0', '34.0.0'),
                               ('34.0.0-0ubuntu1~cloud0', '34.0.0'),
                               ('34.1.0-1.el9', '34.1.0'),
                               ('34.0.1.dev12', '34.0.1.dev12'),
                               (' 35.0.0 ', '35.0.0')):
            self.assertEqual(expected, str(inventory.parse_version(text)))

    def test_not_a_version(self):
        self.assertRaises(ValueError, inventory.parse_version, 'banana')
        self.assertRaises(ValueError, inventory.parse_version, '')

    def test_ordering(self):
        older = inventory._older
        self.assertTrue(older('27.1.0-0ubuntu1', '34.0.0'))
        self.assertTrue(older('34.0.0', '34.0.1-2'))
        self.assertTrue(older('34.0.0.0rc1', '34.0.0'))
        self.assertFalse(older('34.0.0-0ubuntu2', '34.0.0-0ubuntu1'))
        self.assertFalse(older('34.0.0', '34.0.0-0ubuntu1'))
        self.assertFalse(older('35.0.0', '34.0.0'))
        # Nothing to compare with: never stale.
        self.assertIsNone(older('34.0.0', 'unknown'))

    def test_running_versions(self):
        self.assertEqual(str(inventory.parse_version(
            inventory.running_nova_version())).split('.')[0], '34')
        inventory.parse_version(inventory.running_plugin_version())


class TestConnectErrors(testtools.TestCase):

    def test_unknown_error_keeps_libvirt_message(self):
        error = self.assertRaises(
            inventory.ConnectError, inventory.open_connection,
            'test:///nonexistent-dir-%s/node.xml' % sys.hexversion)
        self.assertIn('Cannot connect to libvirt at test:///', str(error))
        self.assertIn('failed to parse xml document', str(error))

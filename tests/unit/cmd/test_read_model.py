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

"""The read model on its own, as other tools would use it."""

import json
import os
import subprocess
import sys

import libvirt
from lxml import etree
import testtools

from nova_domain_meta.cmd import connection
from nova_domain_meta.cmd import domain as domain_mod
from nova_domain_meta.cmd import errors
from nova_domain_meta.cmd import facts
from nova_domain_meta.cmd import fetch
from nova_domain_meta.cmd import list_columns
from nova_domain_meta.cmd import versions
from nova_domain_meta import metadata
from tests.unit import cmd as base

#: The modules of nova_domain_meta.cmd other tools may import.
READ_MODEL = ('checks', 'connection', 'domain', 'errors', 'facts', 'fetch',
              'list_columns', 'show_fields', 'versions')


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
        conn = connection.open_connection(self.node(*base.ALL))
        self.addCleanup(conn.close)
        listing = fetch.read_domains(conn)
        self.assertEqual([], listing.vanished)
        kinds = {d.name: d.kind for d in listing.domains}
        name = lambda f: base.value(f, '/domain/name')  # noqa: E731
        self.assertEqual({
            name('ours-image'): domain_mod.KIND_DOMAIN_META,
            name('ours-bfv'): domain_mod.KIND_DOMAIN_META,
            name('ours-odd'): domain_mod.KIND_DOMAIN_META,
            name('ours-stale'): domain_mod.KIND_DOMAIN_META,
            name('malformed'): domain_mod.KIND_DOMAIN_META,
            name('stock-image'): domain_mod.KIND_NOVA_1_1,
            name('stock-bfv'): domain_mod.KIND_NOVA_1_1,
            name('stock-odd'): domain_mod.KIND_NOVA_1_1,
            name('stock-image-ns10'): domain_mod.KIND_NOVA_1_0,
            name('stock-nometa'): domain_mod.KIND_NOVA_NO_METADATA,
            'backup-appliance': domain_mod.KIND_NON_NOVA,
        }, kinds)

    def test_fallback_without_bulk_stats(self):
        uri = self.node(('ours-image', base.PAUSED), 'nonnova')
        listing = fetch.read_domains(NoBulkStats(uri))
        self.assertEqual(
            {base.value('ours-image', '/domain/name'): 'paused',
             'backup-appliance': 'running'},
            {d.name: d.state for d in listing.domains})

    def test_domain_from_xml_without_libvirt(self):
        domain = domain_mod.domain_from_xml(base.fixture_xml('ours-image'))
        self.assertEqual('web-1', facts.display_name(domain))
        self.assertIsNone(domain.state)
        self.assertEqual([], domain.problems)
        row = list_columns.list_row(domain)
        self.assertEqual(['203.0.113.17'], row['Floating IPs'])

    def test_no_share_no_hardware_record(self):
        domain = domain_mod.domain_from_xml(base.fixture_xml('ours-image'))
        self.assertIsNone(facts.power_metrics_share(domain))
        self.assertEqual([], facts.power_metrics_share_details(domain))
        self.assertEqual([], facts.preserved_addresses(domain))

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
        return domain_mod.domain_from_xml(
            etree.tostring(root, encoding='unicode'))

    def test_share_and_hardware_records(self):
        domain = self._with_records()
        self.assertEqual(['scaphandre'], facts.power_metrics_share(domain))
        self.assertEqual(['scaphandre'],
                         list_columns.list_row(domain)['Power Metrics'])
        self.assertEqual([{'tag': 'scaphandre',
                           'directory': '/var/lib/libvirt/scaphandre/i-1',
                           'source': '/var/lib/nova/domain_meta/shares/i-1/s',
                           'read_only_by': 'bind-mount'}],
                         facts.power_metrics_share_details(domain))
        self.assertEqual([{'preserved': 5, 'machine': 'pc-q35-7.2',
                           'machine_kept': True,
                           'reassigned': [{'device': 'vdb',
                                           'reason': 'bus changed'}]}],
                         facts.preserved_addresses(domain))
        self.assertEqual([], domain.problems)

    def test_read_model_imports_no_cliff_and_no_nova(self):
        # Other tools (an exporter, a script) reuse the read model without
        # the command-line layer, and without Nova's start-up cost.
        code = ('import json, sys\n'
                'from nova_domain_meta.cmd import %s\n'
                'print(json.dumps(sorted(sys.modules)))\n'
                % ', '.join(READ_MODEL))
        proc = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True,
            check=True, env=dict(os.environ, PYTHONPATH=base.REPO),
            cwd=base.REPO)
        loaded = json.loads(proc.stdout)
        self.assertEqual(
            [], [m for m in loaded
                 if m.split('.')[0] in ('cliff', 'nova', 'oslo_config')])
        self.assertIn('nova_domain_meta.cmd.show_fields', loaded)


class TestVersions(testtools.TestCase):

    def test_distribution_suffixes(self):
        for text, expected in (('34.0.0', '34.0.0'),
                               ('34.0.0-0ubuntu1~cloud0', '34.0.0'),
                               ('34.1.0-1.el9', '34.1.0'),
                               ('34.0.1.dev12', '34.0.1.dev12'),
                               (' 35.0.0 ', '35.0.0')):
            self.assertEqual(expected, str(versions.parse_version(text)))

    def test_not_a_version(self):
        self.assertRaises(ValueError, versions.parse_version, 'banana')
        self.assertRaises(ValueError, versions.parse_version, '')

    def test_ordering(self):
        older = versions.older
        self.assertTrue(older('27.1.0-0ubuntu1', '34.0.0'))
        self.assertTrue(older('34.0.0', '34.0.1-2'))
        self.assertTrue(older('34.0.0.0rc1', '34.0.0'))
        self.assertFalse(older('34.0.0-0ubuntu2', '34.0.0-0ubuntu1'))
        self.assertFalse(older('34.0.0', '34.0.0-0ubuntu1'))
        self.assertFalse(older('35.0.0', '34.0.0'))
        # Nothing to compare with: never stale.
        self.assertIsNone(older('34.0.0', 'unknown'))

    def test_running_versions(self):
        self.assertEqual(str(versions.parse_version(
            versions.running_nova_version())).split('.')[0], '34')
        versions.parse_version(versions.running_plugin_version())


class TestConnectErrors(testtools.TestCase):

    def test_unknown_error_keeps_libvirt_message(self):
        error = self.assertRaises(
            errors.ConnectError, connection.open_connection,
            'test:///nonexistent-dir-%s/node.xml' % sys.hexversion)
        self.assertIn('Cannot connect to libvirt at test:///', str(error))
        self.assertIn('failed to parse xml document', str(error))

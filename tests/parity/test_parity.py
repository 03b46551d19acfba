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

"""The Nova patch series writes the ``<nova:instance>`` the plugin writes.

``tools/nova_patches.py check`` runs :mod:`tests.parity.scenarios` twice,
on Nova with the series and stock ``libvirt.LibvirtDriver``
(``patched.json``) and on unpatched Nova 34 with
``domain_meta.LibvirtDriver`` (``plugin.json``), then these tests with
``PARITY_WORKDIR`` naming the directory of both files.  Run alone they
fail: there is nothing to compare.

Both elements must be identical for every scenario, in the persistent
definition and in the running guest, up to the creation time, which each
run must take from its own server's ``created``.  The patched Nova's
element must also pass the plugin's RelaxNG schema and give the metadata
consumers (Ceilometer, Prometheus libvirt exporters, collectd's virt
plugin, sosreport) what they read.
"""

import calendar
import json
import os
import time

import libvirt
from lxml import etree
import testtools

from nova_domain_meta import metadata
from nova_domain_meta.metadata import schema
from tests import libvirt_checks

NS = {'nova': metadata.NOVA_NS}

#: Every scenario the runner boots; both runs must report each.
SCENARIOS = ('image-two-ports-floating-ip', 'volume-boot', 'hostile-values',
             'hostile-values-hard-reboot', 'rename')
SCOPES = ('config', 'live')


def _load(name):
    workdir = os.environ.get('PARITY_WORKDIR')
    if not workdir:
        raise AssertionError('PARITY_WORKDIR is not set: run the parity '
                             'test through tools/nova_patches.py check')
    with open(os.path.join(workdir, name)) as f:
        return json.load(f)


def _canonical(xml):
    """``xml`` without layout whitespace, for comparing."""
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), encoding='unicode')


def _created(timestamp):
    """Seconds since the epoch of the API's ``created`` (UTC)."""
    return calendar.timegm(time.strptime(timestamp, '%Y-%m-%dT%H:%M:%SZ'))


def _with_creation_time(xml, seconds):
    """``xml`` with ``<nova:creationTime>`` set to ``seconds``."""
    root = etree.fromstring(xml)
    node = root.find('nova:creationTime', NS)
    node.text = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(seconds))
    return etree.tostring(root, encoding='unicode')


class _Consumers(object):
    """What the tools reading ``<nova:instance>`` take from it."""

    @staticmethod
    def ceilometer(root):
        # The compute agent's libvirt_metadata discovery: a flavor without
        # a name or with an empty number breaks discovery on the host.
        flavor = root.find('nova:flavor', NS)
        owner = root.find('nova:owner', NS)
        return {
            'name': root.findtext('nova:name', namespaces=NS),
            'user_id': owner.find('nova:user', NS).get('uuid'),
            'project_id': owner.find('nova:project', NS).get('uuid'),
            'flavor_name': flavor.get('name'),
            'flavor_id': flavor.get('id'),
            'sizes': {key: int(flavor.findtext('nova:' + key,
                                               namespaces=NS))
                      for key in ('memory', 'disk', 'swap', 'ephemeral',
                                  'vcpus')},
            'extra_specs': {
                node.get('name'): node.text or ''
                for node in flavor.iterfind('nova:extraSpecs/nova:extraSpec',
                                            NS)},
            'root': (root.find('nova:root', NS).get('type'),
                     root.find('nova:root', NS).get('uuid')),
            'image': root.find('nova:image', NS).get('uuid'),
        }

    @staticmethod
    def prometheus(root):
        # libvirt exporters label every series by these, found by name.
        return {
            'name': root.findtext('nova:name', namespaces=NS),
            'flavor': root.find('nova:flavor', NS).get('name'),
            'user': root.findtext('nova:owner/nova:user', namespaces=NS),
            'project': root.findtext('nova:owner/nova:project',
                                     namespaces=NS),
            'root_type': root.find('nova:root', NS).get('type'),
            'ips': [ip.get('address') for ip in root.iterfind(
                'nova:ports/nova:port/nova:ip', NS)],
        }

    @staticmethod
    def collectd(element_xml):
        # virt plugin, HostnameMetadataXPath "/instance/name/text()" on
        # what virDomainGetMetadata returns: libvirt's own test driver
        # serves the element back here.
        domain = ('<domain type="test"><name>parity</name>'
                  '<memory>65536</memory><os><type>hvm</type></os>'
                  '<metadata>%s</metadata></domain>' % element_xml)
        found = libvirt_checks.define_in_test_driver(
            domain, [metadata.NOVA_NS])
        return etree.fromstring(found[metadata.NOVA_NS]).xpath(
            '/instance/name/text()')

    @staticmethod
    def sosreport(element_xml):
        # It collects "virsh dumpxml"; the element must survive libvirt's
        # parser and serialiser.
        conn = libvirt_checks.test_connection()
        dom = conn.defineXML(
            '<domain type="test"><name>parity-sos</name>'
            '<memory>65536</memory><os><type>hvm</type></os>'
            '<metadata>%s</metadata></domain>' % element_xml)
        try:
            dumped = etree.fromstring(dom.XMLDesc(
                libvirt.VIR_DOMAIN_XML_INACTIVE))
        finally:
            dom.undefine()
        return dumped.find('metadata/nova:instance', NS)


class TestParity(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patched = _load('patched.json')
        cls.plugin = _load('plugin.json')

    def _elements(self, run, scenario):
        results = getattr(self, run)
        self.assertIn(scenario, results, '%s run lacks it' % run)
        return results[scenario]

    def test_every_scenario_ran_on_both(self):
        self.assertEqual(sorted(SCENARIOS), sorted(self.patched))
        self.assertEqual(sorted(SCENARIOS), sorted(self.plugin))

    def test_same_element_in_every_scenario_and_scope(self):
        for scenario in SCENARIOS:
            patched = self._elements('patched', scenario)
            plugin = self._elements('plugin', scenario)
            for scope in SCOPES:
                self.assertIsNotNone(patched[scope], '%s/%s: patched Nova '
                                     'wrote nothing' % (scenario, scope))
                self.assertIsNotNone(plugin[scope], '%s/%s: the plugin '
                                     'wrote nothing' % (scenario, scope))
                # Each run creates its server at its own time.
                self.assertEqual(
                    _canonical(_with_creation_time(plugin[scope], 0)),
                    _canonical(_with_creation_time(patched[scope], 0)),
                    '%s/%s differs' % (scenario, scope))

    def test_creation_time_is_the_servers(self):
        for run in ('patched', 'plugin'):
            for scenario in SCENARIOS:
                result = self._elements(run, scenario)
                for scope in SCOPES:
                    root = etree.fromstring(result[scope])
                    self.assertEqual(
                        time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(
                            _created(result['created']))),
                        root.findtext('nova:creationTime', namespaces=NS),
                        '%s %s/%s' % (run, scenario, scope))

    def test_patched_element_passes_our_schema(self):
        for scenario in SCENARIOS:
            for scope in SCOPES:
                self.assertEqual(
                    [], schema.element_errors(
                        self._elements('patched', scenario)[scope]),
                    '%s/%s' % (scenario, scope))

    def test_what_the_scenarios_show(self):
        # The gaps of stock Nova 34 are closed in both runs.
        for run in ('patched', 'plugin'):
            ips = _Consumers.prometheus(etree.fromstring(self._elements(
                run, 'image-two-ports-floating-ip')['live']))['ips']
            self.assertIn('172.24.4.10', ips, run)
            self.assertEqual(
                ('volume', '6ca404f3-d844-4169-bb96-bc792f37de98'),
                _Consumers.ceilometer(etree.fromstring(self._elements(
                    run, 'volume-boot')['config']))['root'], run)
            for scope in SCOPES:
                self.assertEqual('after', etree.fromstring(self._elements(
                    run, 'rename')[scope]).findtext(
                        'nova:name', namespaces=NS), (run, scope))
            hostile = _Consumers.ceilometer(etree.fromstring(
                self._elements(run, 'hostile-values')['config']))
            self.assertEqual('ctl\ufffdchar\ufffd',
                             hostile['extra_specs']['custom:note'], run)
            self.assertEqual(256, len(hostile['extra_specs']), run)

    def test_ceilometer_reads_the_patched_element(self):
        for scenario in SCENARIOS:
            found = _Consumers.ceilometer(etree.fromstring(
                self._elements('patched', scenario)['live']))
            self.assertTrue(found['name'], scenario)
            self.assertTrue(found['flavor_name'], scenario)
            self.assertTrue(found['flavor_id'], scenario)
            self.assertTrue(found['user_id'], scenario)
            self.assertTrue(found['project_id'], scenario)
            self.assertTrue(found['root'][1], scenario)

    def test_prometheus_reads_the_patched_element(self):
        for scenario in SCENARIOS:
            found = _Consumers.prometheus(etree.fromstring(
                self._elements('patched', scenario)['live']))
            self.assertEqual(('Ada Admin', 'acme-prod'),
                             (found['user'], found['project']), scenario)
            self.assertIn(found['root_type'], ('image', 'volume'))
            self.assertTrue(found['name'])

    def test_collectd_reads_the_patched_element(self):
        for scenario in SCENARIOS:
            element = self._elements('patched', scenario)['live']
            self.assertEqual(
                [etree.fromstring(element).findtext('nova:name',
                                                    namespaces=NS)],
                _Consumers.collectd(element), scenario)

    def test_sosreport_collects_the_patched_element(self):
        for scenario in SCENARIOS:
            element = self._elements('patched', scenario)['config']
            dumped = _Consumers.sosreport(element)
            self.assertIsNotNone(dumped, scenario)
            self.assertEqual(_canonical(element),
                             _canonical(etree.tostring(dumped)), scenario)

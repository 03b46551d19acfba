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

"""The domain XML our driver generated, run on a real libvirtd and QEMU.

Nothing here is a hand-written copy of the driver's output: each test
first runs a scenario through Nova's functional framework *in this
process* (:class:`DriverXMLScenarios`: API, conductor, scheduler,
placement and a compute service whose driver is loaded from
``compute_driver = domain_meta.LibvirtDriver``, against Nova's fake
libvirt), takes the last domain XML the driver defined for the server
(:class:`~tests.functional.fixtures.DomainRecorder`), makes it bootable
with :mod:`tests.real.adjust` only, and boots the tiny guest with it on
the private daemon.  The scenarios:

* ``scenario_image_server``: a server from an image with one port
  (``networks='auto'``) that has a floating IP (answered by a fake
  ``list_floatingips``, since NeutronFixture never returns any);
* ``scenario_volume_server``: a boot-from-volume server with a second
  volume attached, then hard rebooted: an attach defines no XML (it is
  ``attachDeviceFlags`` plus a metadata write), the hard reboot makes the
  driver generate the whole definition with both volumes.

Domain names come from ``instance_name_template = real-<pid>-<label>-%08x``
because the private daemons of parallel test processes share the
``/machine`` cgroup partition, where guests are named after the domain.

Then, on the real daemon:

* the adjustments (test detail ``adjustments-*``) touch no metadata, and
  the adjusted XML's ``<metadata>`` is byte-for-byte the driver's;
* our two elements read back through ``virDomainGetMetadata`` equal to
  what the driver generated, LIVE and CONFIG;
* our writer, given the elements parsed back from the driver's XML,
  writes nothing; given them changed (new name, one more tag), it updates
  both LIVE and CONFIG, which the real ``virsh metadata`` shows, and a
  second pass writes nothing;
* after the guest powers off, the persistent definition still holds the
  update.

Details attached to each test: ``driver-xml``, ``adjustments-*``,
``virsh metadata ...`` outputs, ``phases`` (seconds per step) and
``metadata-rewritten-after-define`` (which parts of the XML's metadata
the driver rewrote with setMetadata before the scenario ended, e.g. the
image properties Nova registers only after spawn defined the domain).

Running Nova's functional framework inside the real tier's test process
works: the process is monkey-patched by ``tests/__init__.py`` anyway, the
private daemon is a separate process reached through its own socket, and
the fixtures that swap in Nova's fake libvirt are removed when the
scenario ends (the writer then resolves the real ``libvirt`` module).
Nova's logging is kept off the subunit stream (:func:`_root_logging_to`).
"""

import collections
import contextlib
import copy
import io
import logging
import os
import time
import unittest

import libvirt
from lxml import etree
from nova.tests.fixtures import neutron as neutron_fixture
from oslo_utils.fixture import uuidsentinel as uuids
from testtools import content

from nova_domain_meta import metadata
from nova_domain_meta.metadata import domain_meta
from nova_domain_meta.metadata import nova_instance
from nova_domain_meta.metadata import writer
from tests.functional import base as functional_base
from tests.real import base
from tests.real import tiny_guest

NOVA_NS = metadata.NOVA_NS
NDM_NS = metadata.DOMAIN_META_NS
NAMESPACES = (NOVA_NS, NDM_NS)
XPATH_NS = functional_base.NS

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG

FLOATING_IP = '203.0.113.77'
#: The volume attached to the boot-from-volume server after boot.
DATA_VOLUME = uuids.real_tier_data_volume
#: What the live update adds.
NEW_TAG = 'real-tier-updated'

#: What a guest reports: its disks (with the serial the driver gave them)
#: and NIC MACs; then it waits for the host's shutdown request.
GUEST_SCRIPT = '\n'.join([
    'for d in /sys/block/vd*; do',
    '    result disk ${d##*/} $(cat $d/serial 2>/dev/null)',
    'done',
    'result macs $(cat /sys/class/net/eth*/address 2>/dev/null)',
    'wait_for_shutdown_request 300 && result shutdown requested',
])

CapturedServer = collections.namedtuple('CapturedServer', [
    'server_id', 'server_name', 'domain_name', 'xml', 'definitions',
    'held_config'])

# Filled by the scenario methods, which run inside Nova's test framework.
_SCENARIO_RESULTS = {}
# scenario method name -> (CapturedServer, seconds); one run per process.
_CAPTURED = {}


class DriverXMLScenarios(functional_base.DomainMetaTestBase):
    """Nova functional scenarios whose domain XML the real tier runs.

    Not collected as tests (no ``test_*`` methods): :func:`capture` runs
    one ``scenario_*`` method at a time.
    """

    def setUp(self):
        super().setUp()
        # networks='auto' gives the fixture's default port.
        port = neutron_fixture.NeutronFixture.port_2
        self.add_floating_ip(port, port['fixed_ips'][0]['ip_address'],
                             FLOATING_IP, fip_id=uuids.real_tier_fip)
        self.start_compute('compute1')
        # Small enough for the tiny guest under TCG; the helper's default
        # ephemeral disk stays, so the XML has a local disk besides root.
        self.flavor = self._create_flavor(name='real.tiny', memory_mb=256,
                                          vcpu=1, disk=1)

    def _name_domains(self, label):
        # Domain names unique on this host: the private daemons of
        # parallel test processes share the /machine cgroup partition,
        # where guest cgroups are named qemu-<id>-<domain name>.
        self.flags(instance_name_template='real-%d-%s-%%08x' % (
            os.getpid(), label))

    def _record(self, server):
        name = self.domain_name(server)
        definitions = self.recorder.domains(name)
        held = {}
        for ns in NAMESPACES:
            node = self.recorder.held(server['id'], ns, 'config')
            held[ns] = None if node is None else writer.plain_xml(node)
        _SCENARIO_RESULTS[self._testMethodName] = CapturedServer(
            server['id'], server['name'], name, definitions[-1],
            len(definitions), held)

    def scenario_image_server(self):
        """From an image, one port (networks='auto') with a floating IP."""
        self._name_domains('web')
        server = self._create_server(name='real-web-1',
                                     flavor_id=self.flavor,
                                     networks='auto')
        self._record(server)

    def scenario_volume_server(self):
        """From a volume, with a second volume attached."""
        self._name_domains('db')
        server = self.boot_from_volume(self.cinder.IMAGE_BACKED_VOL,
                                       name='real-db-1',
                                       flavor_id=self.flavor,
                                       networks='none')
        self._attach_volume(server, DATA_VOLUME)
        # The attach changes the running domain (attachDeviceFlags) and
        # its metadata (setMetadata) but defines no XML; a hard reboot
        # has the driver generate the whole definition, both volumes in.
        self._reboot_server(server, hard=True)
        self._record(server)


@contextlib.contextmanager
def _root_logging_to(stream):
    """Send the root logger's stream handlers to ``stream`` meanwhile.

    Importing ``nova.test`` gives the root logger a handler on the
    process's stdout (the subunit stream under stestr); Nova's logging
    fixture sets the root level to DEBUG and leaves it there, and its
    thread pools log after that fixture is gone.  Both are undone here.
    """
    root = logging.getLogger()
    level = root.level
    swapped = [(handler, handler.setStream(stream))
               for handler in list(root.handlers)
               if isinstance(handler, logging.StreamHandler)]
    try:
        yield
    finally:
        root.setLevel(level)
        for handler, old in swapped:
            handler.setStream(old)


def capture(scenario):
    """Run ``DriverXMLScenarios.<scenario>``; return (CapturedServer, s).

    Runs once per process and scenario.  Nova's services log to stdout
    and stderr; that output is kept and shown only when the scenario
    fails.
    """
    if scenario not in _CAPTURED:
        log = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log), _root_logging_to(log):
            result = unittest.TextTestRunner(stream=log, verbosity=0).run(
                DriverXMLScenarios(scenario))
        if not result.wasSuccessful() or scenario not in _SCENARIO_RESULTS:
            raise AssertionError('functional scenario %s failed:\n%s' % (
                scenario, log.getvalue()[-10000:]))
        _CAPTURED[scenario] = (_SCENARIO_RESULTS.pop(scenario),
                               time.monotonic() - started)
    return _CAPTURED[scenario]


class Phases(object):
    """Seconds per phase of a test, attached as its ``phases`` detail."""

    def __init__(self, test):
        self.last = time.monotonic()
        self.spent = []
        test.addDetail('phases', content.Content(
            content.UTF8_TEXT, lambda: [
                ('\n'.join('%s %.2f s' % p for p in self.spent)).encode(
                    'utf-8')]))

    def mark(self, phase):
        now = time.monotonic()
        self.spent.append((phase, now - self.last))
        self.last = now


def metadata_node(doc, namespace):
    return doc.find('metadata/{%s}instance' % namespace)


class DriverXMLTest(base.RealLibvirtTestCase):

    def setUp(self):
        super(DriverXMLTest, self).setUp()
        self.phases = Phases(self)

    def captured(self, scenario):
        """Capture ``scenario``'s domain XML; return (captured, parsed)."""
        captured, seconds = capture(scenario)
        self.phases.mark('capture')
        self.addDetail('capture', content.text_content(
            '%s: %.2f s; domain %s defined %d time(s)' % (
                scenario, seconds, captured.domain_name,
                captured.definitions)))
        self.addDetail('driver-xml', content.text_content(captured.xml))
        return captured, etree.fromstring(captured.xml.encode('utf-8'))

    def run_on_daemon(self, captured, doc):
        """Adjust, define, start; check metadata; power off.

        Returns the guest's results.
        """
        driver = {}
        rewritten = []
        for ns in NAMESPACES:
            node = metadata_node(doc, ns)
            self.assertIsNotNone(node, 'driver XML has no %s element' % ns)
            # plain_xml strips namespaces in place: work on a copy.
            driver[ns] = writer.plain_xml(copy.deepcopy(node))
            if not writer.same_element(captured.held_config[ns],
                                       driver[ns]):
                rewritten.append('%s: %s' % (ns, ', '.join(
                    writer.changed_parts(driver[ns],
                                         captured.held_config[ns]))))
        # Informational: the driver may rewrite metadata right after it
        # defined the domain (spawn refreshes once Nova has registered
        # its default image properties); this test runs the XML itself.
        self.addDetail('metadata-rewritten-after-define',
                       content.text_content('\n'.join(rewritten) or
                                            'nothing'))

        xml, changes = self.adjust(captured.xml, GUEST_SCRIPT)
        self.assertEqual([], [c for c in changes if 'metadata' in c.lower()],
                         changes)
        adjusted = etree.fromstring(xml.encode('utf-8')
                                    if isinstance(xml, str) else xml)
        self.assertEqual(
            etree.tostring(doc.find('metadata'), with_tail=False),
            etree.tostring(adjusted.find('metadata'), with_tail=False))
        self.assertEqual(captured.domain_name, adjusted.findtext('name'))

        self.phases.mark('adjust')
        dom = self.define_and_start(xml)
        self.phases.mark('define and start')
        self.wait_for_serial(dom, tiny_guest.MARK_WAITING)
        self.phases.mark('guest boot')

        # What the driver generated, as libvirt hands it to consumers.
        for flags, scope in ((LIVE, 'live'), (CONFIG, 'config')):
            self.assert_metadata(dom, driver, flags, scope + ' after define')

        # Our writer agrees that a freshly defined domain is current...
        nova = nova_instance.NovaInstance()
        nova.parse_dom(copy.deepcopy(metadata_node(doc, NOVA_NS)))
        ndm = domain_meta.DomainMetaInstance()
        ndm.parse_dom(copy.deepcopy(metadata_node(doc, NDM_NS)))
        self.assertEqual([], writer.sync(dom, [nova, ndm]))

        # ...and updates a running one, LIVE and CONFIG, in one pass.
        new_name = captured.server_name + '-renamed'
        nova.name = new_name
        ndm.tags = list(ndm.tags) + [domain_meta.DomainMetaTag(NEW_TAG)]
        expected_tags = [t.value for t in ndm.tags]
        updated = {NOVA_NS: writer.plain_xml(nova),
                   NDM_NS: writer.plain_xml(ndm)}
        self.assertEqual([(NOVA_NS, ['config', 'live']),
                          (NDM_NS, ['config', 'live'])],
                         writer.sync(dom, [nova, ndm]))
        for option in ('--live', '--config'):
            self.assert_virsh_metadata(dom, updated, option, new_name,
                                       expected_tags, 'running')
        self.assertEqual([], writer.sync(dom, [nova, ndm]))

        self.phases.mark('metadata checks')
        dom.shutdown()
        serial = self.wait_for_guest_done(dom)
        self.phases.mark('guest power-off')
        got = self.results(serial)
        self.assertIn('shutdown requested', got)
        self.assertIn('%s0' % tiny_guest.MARK_EXIT, serial)
        self.assertFalse(dom.isActive())

        # Powered off, the persistent definition kept the update.
        again = self.conn.lookupByName(captured.domain_name)
        self.assert_metadata(again, updated, CONFIG, 'config after power-off')
        self.assert_virsh_metadata(again, updated, '--config', new_name,
                                   expected_tags, 'powered off')
        self.assertEqual([], writer.sync(again, [nova, ndm]))
        self.phases.mark('checks after power-off')
        return got

    def assert_metadata(self, dom, expected, flags, what):
        for ns, xml in sorted(expected.items()):
            held = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, ns,
                                flags)
            self.assertTrue(writer.same_element(held, xml),
                            '%s: %s differs.\nlibvirt holds:\n%s\n'
                            'expected:\n%s' % (what, ns, held, xml))

    def assert_virsh_metadata(self, dom, expected, option, name, tags,
                              when):
        """``virsh metadata <dom> <uri> <option>`` shows ``expected``."""
        shown = {ns: self.virsh('metadata', dom.name(), ns, option)
                 for ns in NAMESPACES}
        self.addDetail('virsh metadata %s (%s)' % (option, when),
                       content.text_content('\n'.join(
                           shown[ns] for ns in NAMESPACES)))
        nova = etree.fromstring(shown[NOVA_NS].encode('utf-8'))
        self.assertEqual(name, nova.findtext('name'), option)
        ndm = etree.fromstring(shown[NDM_NS].encode('utf-8'))
        self.assertEqual(tags, [t.text for t in ndm.iterfind('tags/tag')],
                         option)
        for ns in NAMESPACES:
            self.assertTrue(writer.same_element(shown[ns], expected[ns]),
                            'virsh metadata %s %s:\n%s\nexpected:\n%s' % (
                                ns, option, shown[ns], expected[ns]))

    @staticmethod
    def disks(results):
        """``{dev: serial}`` from the guest's ``disk`` results."""
        found = {}
        for line in results:
            words = line.split()
            if words[0] == 'disk':
                found[words[1]] = words[2] if len(words) > 2 else ''
        return found

    def test_image_server_with_port_and_floating_ip(self):
        captured, doc = self.captured('scenario_image_server')
        # The scenario gave the driver what it was meant to.
        ips = [(ip.get('type'), ip.get('address')) for ip in doc.xpath(
            'metadata/nova:instance/nova:ports/nova:port/nova:ip',
            namespaces=XPATH_NS)]
        self.assertIn(('floating', FLOATING_IP), ips)
        self.assertEqual('image', doc.xpath(
            'string(metadata/nova:instance/nova:root/@type)',
            namespaces=XPATH_NS))
        macs = doc.xpath('devices/interface/mac/@address')
        self.assertEqual(1, len(macs))
        self.assertEqual(doc.xpath(
            'metadata/ndm:instance/ndm:ports/ndm:port/@mac',
            namespaces=XPATH_NS), macs)

        got = self.run_on_daemon(captured, doc)
        # The guest saw the driver's disks and NIC.
        self.assertEqual(sorted(doc.xpath('devices/disk/target/@dev')),
                         sorted(self.disks(got)))
        self.assertIn('macs %s' % macs[0], got)

    def test_volume_server_with_attached_volume(self):
        captured, doc = self.captured('scenario_volume_server')
        self.assertEqual('volume', doc.xpath(
            'string(metadata/nova:instance/nova:root/@type)',
            namespaces=XPATH_NS))
        root = doc.xpath('string(metadata/nova:instance/nova:root/@uuid)',
                         namespaces=XPATH_NS)
        volumes = {d.get('volume'): d.get('device') for d in doc.xpath(
            'metadata/ndm:instance/ndm:blockDevices/ndm:blockDevice'
            '[@volume]', namespaces=XPATH_NS)}
        self.assertEqual({root, DATA_VOLUME}, set(volumes))
        serials = {d.find('target').get('dev'): d.findtext('serial')
                   for d in doc.iterfind('devices/disk')}
        for volume, dev in volumes.items():
            self.assertEqual(volume, serials[dev])

        got = self.run_on_daemon(captured, doc)
        # The guest sees every disk, the volumes with the serial (the
        # volume id, cut to virtio's 20 bytes) the driver gave them.
        disks = self.disks(got)
        self.assertEqual(sorted(serials), sorted(disks))
        for volume, dev in volumes.items():
            self.assertEqual(volume[:20], disks[dev])

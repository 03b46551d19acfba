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

"""Freshness matrix, second part: operations that move a server.

Two compute services, ``compute1`` and ``compute2``, both run our driver.
After a live migration, an evacuation or a cold migration the domain on
the *destination* must hold, live and persistent, what the API says, and
``<ndm:host>`` and the package versions must be the destination's.

Nova's functional framework runs every service in one process, which
hides exactly what these tests are about; three things are therefore
emulated here, each as close to separate hosts as one process allows:

* **One configuration per compute.**  ``start_service`` sets the global
  ``CONF.host`` to the compute started last, so without help every domain
  would claim ``compute2``, wherever it runs, and "the destination's host"
  would be proven vacuously.  :class:`PerComputeProcess` answers
  ``CONF.host`` in our plugin's modules with the host of the compute
  whose driver is on the calling stack, as its own process would.  It
  also gives each compute its own Nova package and plugin version (a
  rolling upgrade: compute2 runs the newer ones), so that "the
  destination's version" can be told from the source's.  A read that no
  compute's driver is on the stack of fails the test.

* **One libvirt per compute.**  :class:`~tests.functional.fixtures.
  DomainRecorder` keeps metadata per domain UUID, shared by every fake
  libvirt connection; but source and destination are two libvirtds each
  with its own copy of the domain.  Shared, the destination's writes
  would appear on the source, a ``destroy`` on one host would wipe the
  other's live metadata, and a check of "the destination's domain" could
  not be told from one of the source's.  :class:`PerHostMetadata` gives
  each connection its own store; the tests also check that the source's
  copy is left as the source wrote it.

* **A live migration that succeeds.**  The fake ``migrateToURI3`` always
  fails.  As Nova's own ``LibvirtMigrationMixin`` does, the stub creates
  the domain on the destination connection from ``destination_xml`` and
  completes the source's job.  That XML is what the source's libvirt
  hands over, metadata included: the destination starts with the
  *source's* metadata (``<ndm:host>compute1``, compute1's versions) in
  both its live and persistent definitions, as a real migration with
  ``VIR_MIGRATE_PERSIST_DEST`` would leave it; the tests check it arrived
  so and that our ``post_live_migration_at_destination`` hook rewrote it.
  (All services share one instances path, so Nova treats the storage as
  shared and leaves the source's fake domain running after the
  migration, where real libvirt would end it; nothing here reads it but
  the check that it was left alone.)
"""

import contextlib
import sys
import threading
import urllib.parse

import fixtures
from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.virt.libvirt import driver as libvirt_driver
import testtools

from nova_domain_meta import conf
from nova_domain_meta import metadata
from tests.functional import test_freshness

covers = test_freshness.covers

#: Nova package version each compute reports (compute2 was upgraded).
NOVA_PACKAGE = {'compute1': '34.0.0-1~old', 'compute2': '34.0.1-1~new'}
#: nova-domain-meta version each compute reports.
PLUGIN_VERSION = {'compute1': '0.9.0', 'compute2': '1.0.0'}


class PerComputeProcess(fixtures.Fixture):
    """Give each compute service what its own process would see.

    ``CONF.host`` (as our plugin's modules read it), the Nova package
    version and the plugin version are answered for the compute whose
    driver is on the calling stack: a local ``self`` or ``driver`` that is
    the driver, or an object whose ``driver`` attribute is (the
    reconciler).
    """

    def __init__(self, computes):
        super().__init__()
        #: The test's ``{hostname: compute service}``, read at call time.
        self.computes = computes
        #: What was read with no compute driver on the stack.
        self.unresolved = []

    def calling_host(self, what):
        drivers = {id(service.driver): host
                   for host, service in self.computes.items()}
        frame = sys._getframe(1)
        while frame is not None:
            for name in ('self', 'driver'):
                value = frame.f_locals.get(name)
                for candidate in (value, getattr(value, '__dict__',
                                                 {}).get('driver')):
                    if id(candidate) in drivers:
                        return drivers[id(candidate)]
            frame = frame.f_back
        self.unresolved.append(what)
        return None

    def _setUp(self):
        real_conf = conf.CONF
        process = self

        class ProcessConf(object):
            """``CONF`` with ``host`` as the calling compute has it."""

            def __getattr__(self, name):
                if name == 'host':
                    host = process.calling_host('CONF.host')
                    if host is not None:
                        return host
                return getattr(real_conf, name)

        # Every module of ours holding CONF, including any added later.
        for name, module in sorted(sys.modules.items()):
            if (name == 'nova_domain_meta' or
                    name.startswith('nova_domain_meta.')) and \
                    getattr(module, 'CONF', None) is real_conf:
                self.useFixture(fixtures.MonkeyPatch(
                    name + '.CONF', ProcessConf()))

        def nova_package():
            return NOVA_PACKAGE.get(process.calling_host('nova package'),
                                    'unknown')

        def plugin_version():
            return PLUGIN_VERSION.get(process.calling_host('plugin version'),
                                      'unknown')

        self.useFixture(fixtures.MonkeyPatch(
            'nova_domain_meta.metadata.builder.nova_package', nova_package))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_domain_meta.version.version_string', plugin_version))


class PerHostMetadata(fixtures.Fixture):
    """One metadata store per fake libvirt connection, not per UUID.

    Wraps the fake's methods the :class:`DomainRecorder` patched: around
    each call, the recorder's ``metadata[uuid]`` is the store of the
    connection the domain belongs to, and what the call left there is
    kept for that connection only.
    """

    def __init__(self, recorder):
        super().__init__()
        self.recorder = recorder
        #: {(id(connection), uuid): {'config': {ns: xml}, 'live': {...}}}
        self.stores = {}
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def on(self, connection, uuid):
        """Point the recorder at ``connection``'s store for ``uuid``."""
        key = (id(connection), uuid)
        with self._lock:
            shared = self.recorder.metadata
            shared[uuid] = self.stores.setdefault(
                key, {'config': {}, 'live': {}})
            try:
                yield
            finally:
                # The call may have replaced the store (defineXML does).
                self.stores[key] = shared[uuid]

    def store(self, connection, uuid):
        return self.stores.get((id(connection), uuid),
                               {'config': {}, 'live': {}})

    def _setUp(self):
        fake = fakelibvirt
        hosts = self

        def on_domain(name):
            wrapped = getattr(fake.Domain, name)

            def method(dom, *args, **kwargs):
                with hosts.on(dom._connection, dom.UUIDString()):
                    return wrapped(dom, *args, **kwargs)
            return method

        def on_connection(name):
            wrapped = getattr(fake.Connection, name)

            def method(conn, xml, *args, **kwargs):
                uuid = etree.fromstring(xml).findtext('uuid')
                with hosts.on(conn, uuid):
                    return wrapped(conn, xml, *args, **kwargs)
            return method

        for name in ('createWithFlags', 'destroy', 'setMetadata', 'metadata',
                     'XMLDesc'):
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.Domain.' + name,
                on_domain(name)))
        for name in ('defineXML', 'createXML'):
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.libvirt.Connection.' + name,
                on_connection(name)))


class MultiHostFreshnessTestBase(test_freshness.FreshnessTestBase):
    """Freshness checks with compute1 and compute2, both our driver."""

    def setUp(self):
        super().setUp()  # starts compute1
        self.process = self.useFixture(PerComputeProcess(self.computes))
        self.hosts = self.useFixture(PerHostMetadata(self.recorder))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.migrateToURI3',
            self._migrate_stub))
        #: {uuid: (destination host, destination_xml)} of live migrations.
        self.migrated = {}
        self.start_compute('compute2')
        self.addCleanup(self._assert_hosts_resolved)

    def _assert_hosts_resolved(self):
        self.assertEqual([], self.process.unresolved,
                         'read outside any compute service')

    def _migrate_stub(self, domain, destination, params, flags):
        """A live migration that works: libvirt moves the domain.

        The destination defines the domain from the XML the source sends,
        metadata included, live and persistent (VIR_MIGRATE_PERSIST_DEST).
        That XML is the fake's template re-rendered by ``XMLDesc`` and
        edited by Nova's migration code, not XML our driver generated, so
        it is not held to the recorder's schema checks.
        """
        host = urllib.parse.urlparse(destination).hostname
        xml = params['destination_xml']
        self.migrated[domain.UUIDString()] = (host, xml)
        self.recorder.rendered_by_fake.add(xml)
        self.connection(host).createXML(xml, 0)
        domain.complete_job()

    # What each host's libvirt holds.

    def connection(self, host):
        return self.computes[host].driver._host.get_connection()

    def held(self, host, server, namespace, scope):
        """Return the element ``host``'s libvirt holds for ``server``."""
        xml = self.hosts.store(self.connection(host), server['id'])[
            scope].get(namespace)
        return None if xml is None else etree.fromstring(xml)

    def held_view(self, server, scope, host=None):
        """The base class's view, from the host the API names (or ``host``).

        ``assert_fresh`` thereby checks the domain on the server's host.
        """
        if host is None:
            host = self.admin_api.get_server(server['id'])[
                'OS-EXT-SRV-ATTR:host']
        with self.hosts.on(self.connection(host), server['id']):
            return super().held_view(server, scope)

    def host_and_versions(self, server, host, scope):
        """Return (ndm:host, nova:package version, plugin version)."""
        nova = self.held(host, server, metadata.NOVA_NS, scope)
        ndm = self.held(host, server, metadata.DOMAIN_META_NS, scope)
        self.assertIsNotNone(nova, '%s %s: no nova:instance' % (host, scope))
        self.assertIsNotNone(ndm, '%s %s: no ndm:instance' % (host, scope))
        return (self.xpath(ndm, 'string(ndm:host)'),
                self.xpath(nova, 'string(nova:package/@version)'),
                self.xpath(ndm, 'string(ndm:plugin/@version)'))

    def assert_written_by(self, server, host, writer, scopes=None):
        """``host``'s domain names ``writer`` as host, with its versions."""
        if scopes is None:
            scopes = ['config']
            if self.admin_api.get_server(server['id'])['status'] in (
                    'ACTIVE', 'VERIFY_RESIZE'):
                scopes.append('live')
        for scope in scopes:
            self.assertEqual(
                (writer, NOVA_PACKAGE[writer], PLUGIN_VERSION[writer]),
                self.host_and_versions(server, host, scope),
                '%s metadata on %s' % (scope, host))

    def assert_fresh_on(self, server, host):
        """The server runs on ``host``, whose metadata is fresh and its own."""
        server = self.admin_api.get_server(server['id'])
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assert_fresh(server)
        self.assert_written_by(server, host, host)

    def domain_on(self, host, server):
        """Return ``server``'s domain on ``host``'s libvirt, or None."""
        try:
            return self.connection(host).lookupByUUIDString(server['id'])
        except fakelibvirt.libvirtError:
            return None

    def _host_down(self, host):
        """Stop ``host``'s compute service and tell Nova it is down."""
        self.computes[host].stop()
        service = self.admin_api.get_services(
            binary='nova-compute', host=host)[0]
        self.admin_api.put_service_force_down(service['id'], True)

    def _server(self, **kwargs):
        kwargs.setdefault('networks', 'auto')
        kwargs.setdefault('host', 'compute1')
        server = self._create_server(**kwargs)
        self.api.put_server_tags(server['id'], ['prod'])
        self.assertEqual(1, self.run_reconciler('compute1').written)
        self.assert_fresh_on(server, 'compute1')
        return server


class TestMultiHostFreshness(MultiHostFreshnessTestBase):

    def test_hosts_are_told_apart(self):
        # Without PerComputeProcess both computes would write 'compute2';
        # without PerHostMetadata the second boot would be seen by both.
        one = self._server()
        two = self._create_server(networks='none', host='compute2')
        self.assert_fresh_on(two, 'compute2')
        self.assert_written_by(one, 'compute1', 'compute1')
        self.assertIsNone(self.held(
            'compute1', two, metadata.DOMAIN_META_NS, 'config'))
        self.assertIsNone(self.held(
            'compute2', one, metadata.DOMAIN_META_NS, 'config'))

    @covers('live migration', 'driver')
    def test_live_migration(self):
        server = self._server()
        server = self._live_migrate(server, host='compute2')

        # What arrived was the source's metadata, in both definitions...
        host, xml = self.migrated[server['id']]
        self.assertEqual('compute2', host)
        arrived = etree.fromstring(xml)
        self.assertEqual(['compute1'], self.xpath(
            arrived, './metadata/ndm:instance/ndm:host/text()'))
        self.assertEqual([NOVA_PACKAGE['compute1']], self.xpath(
            arrived, './metadata/nova:instance/nova:package/@version'))
        # ... which post_live_migration_at_destination rewrote.
        self.assert_fresh_on(server, 'compute2')
        self.assertEqual(['prod'], self.held_view(server, 'live')['tags'])
        self.assertEqual(0, self.run_reconciler('compute2').written)
        # The destination's writes went to its own libvirt only.
        self.assert_written_by(server, 'compute1', 'compute1',
                               scopes=['config'])

    def test_live_migration_without_our_hook_is_stale(self):
        # Control: with Nova's own post_live_migration_at_destination the
        # destination keeps the source's metadata, which proves both that
        # the migration carries it over and that our hook is what fixes
        # it.  The reconciler would catch it on its next pass.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_domain_meta.driver.DomainMetaLibvirtDriver.'
            'post_live_migration_at_destination',
            libvirt_driver.LibvirtDriver.post_live_migration_at_destination))
        server = self._server()
        server = self._live_migrate(server, host='compute2')
        self.assert_written_by(server, 'compute2', 'compute1',
                               scopes=['config', 'live'])
        self.assertRaises(AssertionError, self.assert_fresh, server)
        self.assertEqual(1, self.run_reconciler('compute2').written)
        self.assert_fresh_on(server, 'compute2')

    def _evacuate_running(self, server):
        """Take compute1 down and evacuate ``server`` to compute2."""
        self._host_down('compute1')
        # Before 2.95 an evacuated server comes back running.
        self.admin_api.microversion = '2.94'
        server = self._evacuate_server(
            server, {'host': 'compute2'}, expected_state='ACTIVE',
            expected_host='compute2')
        self.assert_fresh_on(server, 'compute2')
        return server

    @covers('evacuate', 'driver')
    def test_evacuate(self):
        server = self._evacuate_running(self._server())
        self.assertEqual(['prod'], self.held_view(server, 'config')['tags'])
        # compute1 is down; its libvirt still has the old domain.
        self.assert_written_by(server, 'compute1', 'compute1',
                               scopes=['config'])

    @covers('rebuild, then evacuate', 'driver')
    def test_evacuate_after_rebuild(self):
        # The destination builds the root disk from the image the server
        # was rebuilt with, not the one its root mapping still names.
        server = self._server()
        image = self.glance.auto_disk_config_enabled_image['id']
        self.assertNotEqual(server['image']['id'], image)
        server = self._evacuate_running(
            self._rebuild_server(server, image))
        self.assertEqual(image, self.held_view(server, 'config')[
            'root disk image'])
        self.assertEqual(0, self.run_reconciler('compute2').written)

    @covers('evacuate (stopped, 2.95+)', 'driver')
    def test_evacuate_stopped(self):
        server = self._server()
        self._host_down('compute1')
        server = self._evacuate_server(
            server, {'host': 'compute2'}, expected_state='SHUTOFF',
            expected_host='compute2')
        self.assert_fresh_on(server, 'compute2')

    @covers('cold migrate confirm', 'driver')
    def test_cold_migrate_confirm(self):
        server = self._server()
        self.instance_dir(server)
        server = self._migrate_server(server, host='compute2')
        self.assert_fresh_on(server, 'compute2')
        server = self._confirm_resize(server)
        self.assert_fresh_on(server, 'compute2')
        # The source's guest was powered off for the move.
        self.assertFalse(self.domain_on('compute1', server).isActive())

    @covers('cold migrate revert', 'driver')
    def test_cold_migrate_revert(self):
        server = self._server()
        self.instance_dir(server)
        server = self._migrate_server(server, host='compute2')
        server = self._revert_resize(server)
        self.assert_fresh_on(server, 'compute1')
        self.assertIsNone(self.domain_on('compute2', server))


class TestMultiHostMatrixCoverage(testtools.TestCase):

    def test_matrix_covers_moves(self):
        self.assertTrue({
            'live migration', 'evacuate', 'rebuild, then evacuate',
            'cold migrate confirm',
        }.issubset(test_freshness.COVERED), sorted(test_freshness.COVERED))
        for operation in ('live migration', 'evacuate'):
            self.assertEqual('driver', test_freshness.COVERED[operation])

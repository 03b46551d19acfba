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

"""Base class and helpers for tests against the private libvirt daemon.

One daemon per test process: starting it costs well under a second once
QEMU's capabilities are cached (see :mod:`tests.real.daemon`), but each
test process of stestr gets its own, in its own mount namespace, so
parallel workers never share state.  The daemon is stopped at interpreter
exit (``atexit``); every test removes the domains it defined itself
(``addCleanup``), so a failing test leaves nothing running for the next.

If the daemon cannot start, every test of the process fails with the same
:class:`~tests.real.daemon.DaemonError`; nothing is skipped.
"""

import atexit
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
import time

import libvirt
from lxml import etree
import testtools
from testtools import content

from tests.real import adjust
from tests.real import daemon as daemon_mod
from tests.real import tiny_guest

LOG = logging.getLogger(__name__)

_DAEMON = None
_DAEMON_ERROR = None
_HOST_FACTS = None
_NAMES = itertools.count(1)


def _ignore_libvirt_errors(_ctx, _err):
    """libvirt prints every error to stderr; we raise them instead."""


libvirt.registerErrorHandler(_ignore_libvirt_errors, None)


def _stop_daemon():
    global _DAEMON
    if _DAEMON is not None:
        fixture, _DAEMON = _DAEMON, None
        fixture.cleanUp()


def get_daemon():
    """Return the process-wide started daemon fixture, starting it once."""
    global _DAEMON, _DAEMON_ERROR, _HOST_FACTS
    if _DAEMON_ERROR is not None:
        raise _DAEMON_ERROR
    if _DAEMON is None:
        fixture = daemon_mod.LibvirtDaemonFixture()
        try:
            fixture.setUp()
        except Exception as e:
            # fixtures wraps the cause with its SetupError; keep the cause
            # so that every test of this process fails with the reason.
            if isinstance(e, testtools.MultipleExceptions):
                e = e.args[0][1]
            _DAEMON_ERROR = daemon_mod.DaemonError(
                'private libvirtd failed to start: %s' % e)
            raise _DAEMON_ERROR
        _DAEMON = fixture
        atexit.register(_stop_daemon)
        _HOST_FACTS = adjust.HostFacts.from_capabilities(
            fixture.capabilities, fixture.virt_type)
    return _DAEMON


def host_facts():
    get_daemon()
    return _HOST_FACTS


# Element name -> function(element, index among same-named siblings)
# giving the identity of a device in assigned_addresses().
def _target_attr(attr):
    def key(el, _index):
        target = el.find('target')
        return target.get(attr) if target is not None else None
    return key


def _model_type(el, _index):
    model = el.find('model')
    return model.get('type') if model is not None else el.get('model')


_DEVICE_KEYS = {
    'disk': _target_attr('dev'),
    'interface': lambda el, _i: el.find('mac').get('address')
    if el.find('mac') is not None else None,
    'controller': lambda el, _i: '%s:%s' % (el.get('type'),
                                            el.get('index')),
    'filesystem': _target_attr('dir'),
    'serial': _target_attr('port'),
    'console': lambda el, _i: '%s:%s' % (
        el.find('target').get('type') if el.find('target') is not None
        else '', el.find('target').get('port')
        if el.find('target') is not None else ''),
    'channel': lambda el, _i: el.find('target').get('name')
    if el.find('target') is not None else None,
    'video': lambda el, i: '%d:%s' % (i, _model_type(el, i)),
    'memballoon': lambda el, _i: el.get('model'),
    'rng': lambda el, i: '%d:%s' % (i, el.get('model')),
    'watchdog': lambda el, _i: el.get('model'),
    'sound': lambda el, i: '%d:%s' % (i, el.get('model')),
    'input': lambda el, i: '%s:%s:%d' % (el.get('type'), el.get('bus'), i),
    'shmem': lambda el, _i: el.get('name'),
}


def device_key(element, index):
    """Identity of a device element: ``<tag>:<what names it>``.

    Disks by target dev, interfaces by MAC, controllers by type and index,
    filesystems by target dir, channels by target name; other devices by
    model and position among devices of the same element name.
    """
    namer = _DEVICE_KEYS.get(element.tag)
    name = namer(element, index) if namer else None
    return '%s:%s' % (element.tag, name if name is not None else index)


def addresses_from_xml(xml):
    """``{device_key: {address attributes}}`` for devices with addresses."""
    doc = etree.fromstring(xml.encode('utf-8') if isinstance(xml, str)
                           else xml)
    found = {}
    counts = {}
    devices = doc.find('devices')
    if devices is None:
        return found
    for el in devices:
        if not isinstance(el.tag, str):
            continue
        index = counts.get(el.tag, 0)
        counts[el.tag] = index + 1
        address = el.find('address')
        if address is None:
            continue
        found[device_key(el, index)] = dict(address.attrib)
    return found


def assigned_addresses(domain):
    """Addresses the qemu driver assigned, from the persistent definition.

    Reads ``XMLDesc(VIR_DOMAIN_XML_INACTIVE)`` (what libvirt would start
    the domain with next time) and returns :func:`addresses_from_xml`,
    e.g. ``{'disk:vda': {'type': 'pci', 'domain': '0x0000', 'bus':
    '0x00', 'slot': '0x04', 'function': '0x0'}, ...}``.
    """
    return addresses_from_xml(
        domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def results(serial):
    """The ``TINYGUEST-RESULT:`` lines of a serial log, marker removed."""
    return [line.split(tiny_guest.MARK_RESULT, 1)[1].rstrip('\r')
            for line in serial.splitlines()
            if tiny_guest.MARK_RESULT in line]


class GuestFailed(AssertionError):
    """The tiny guest did not reach TINYGUEST-DONE."""


class RealLibvirtTestCase(testtools.TestCase):
    """A test against the private daemon, with tiny-guest helpers.

    ``self.daemon`` is the started fixture, ``self.conn`` its open
    connection, ``self.guest`` the built :class:`TinyGuest` and
    ``self.workdir`` a per-test directory under the daemon's temp dir
    (mounts made there reach the daemon's mount namespace).
    """

    BOOT_TIMEOUT = int(os.environ.get('REAL_TIER_BOOT_TIMEOUT', '180'))

    def setUp(self):
        super(RealLibvirtTestCase, self).setUp()
        self.daemon = get_daemon()
        self.conn = self.daemon.conn
        self.host = host_facts()
        self.guest = tiny_guest.build()
        self.workdir = tempfile.mkdtemp(
            prefix='%s-' % self.id().rsplit('.', 1)[-1][:40],
            dir=os.path.join(self.daemon.tmpdir, 'work'))
        os.chmod(self.workdir, 0o755)
        self.addCleanup(self._remove_workdir)
        self._domains = []
        self.addCleanup(self._remove_domains)
        self.addDetail('timings', content.text_content(
            'daemon start %.2f s %r; tiny guest %.2f s (%s)' % (
                self.daemon.start_seconds, self.daemon.timings,
                self.guest.build_seconds,
                'cached' if self.guest.cached else 'cold build')))

    # -- names, XML ----------------------------------------------------

    def unique_name(self, label):
        """A domain name unique across test processes on this host."""
        return 'real-%d-%d-%s' % (os.getpid(), next(_NAMES), label)

    def adjust(self, xml, script):
        """Adjust Nova's ``xml`` to boot the tiny guest running ``script``.

        Returns ``(xml, adjustments)``; the adjustments are also attached
        to the test's details so a report shows them.
        """
        domdir = tempfile.mkdtemp(prefix='dom-', dir=self.workdir)
        os.chmod(domdir, 0o755)
        initrd = self.guest.initrd_with_script(
            script, os.path.join(domdir, 'initrd'))
        new_xml, changes = adjust.adjust_domain_xml(
            xml, self.host, self.guest.kernel, initrd, self.guest.cmdline,
            domdir)
        self.addDetail('adjustments-%s' % os.path.basename(domdir),
                       content.text_content('\n'.join(changes)))
        return new_xml, changes

    # -- lifecycle -----------------------------------------------------

    def define(self, xml):
        dom = self.conn.defineXML(xml)
        self._domains.append(dom.name())
        return dom

    def define_and_start(self, xml):
        """Define ``xml`` persistently and start it; return the domain."""
        dom = self.define(xml)
        try:
            dom.create()
        except libvirt.libvirtError as e:
            raise AssertionError('starting %s failed: %s\n%s' % (
                dom.name(), e, self.daemon.qemu_log(dom.name())[-3000:]))
        return dom

    @staticmethod
    def serial_log_path(domain):
        doc = etree.fromstring(domain.XMLDesc(0).encode('utf-8'))
        for serial in doc.iterfind('devices/serial'):
            if serial.get('type') == 'file':
                return serial.find('source').get('path')
        raise AssertionError('%s has no file serial port' % domain.name())

    def read_serial(self, domain):
        path = self.serial_log_path(domain)
        if not os.path.exists(path):
            return ''
        with open(path, errors='replace') as f:
            return f.read()

    def wait_for_serial(self, domain, marker, timeout=None):
        """Wait until ``marker`` appears on the serial console; return it.

        Fails early, with the serial log, on a kernel panic or when the
        domain stops first.
        """
        path = self.serial_log_path(domain)
        deadline = time.monotonic() + (timeout or self.BOOT_TIMEOUT)
        while True:
            text = ''
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    text = f.read()
            if marker in text:
                return text
            if 'Kernel panic' in text:
                self._guest_failed(domain, 'kernel panic', text)
            if not self._active(domain):
                self._guest_failed(domain, 'domain stopped before %s'
                                   % marker, text)
            if time.monotonic() > deadline:
                self._guest_failed(domain, 'no %s within %d s'
                                   % (marker, timeout or self.BOOT_TIMEOUT),
                                   text)
            time.sleep(0.2)

    def wait_for_guest_done(self, domain, timeout=None):
        """Wait for TINYGUEST-DONE and power-off; return the serial log."""
        timeout = timeout or self.BOOT_TIMEOUT
        deadline = time.monotonic() + timeout
        text = self.wait_for_serial(domain, tiny_guest.MARK_DONE, timeout)
        while self._active(domain):
            if time.monotonic() > deadline:
                self._guest_failed(domain, 'guest printed %s but did not '
                                   'power off' % tiny_guest.MARK_DONE, text)
            time.sleep(0.2)
        return self.read_serial(domain)

    @staticmethod
    def _active(domain):
        try:
            return bool(domain.isActive())
        except libvirt.libvirtError:
            return False

    def _guest_failed(self, domain, why, serial):
        raise GuestFailed('%s: %s\n--- serial log\n%s\n--- qemu log\n%s' % (
            domain.name(), why, serial[-4000:],
            self.daemon.qemu_log(domain.name())[-3000:]))

    results = staticmethod(results)
    assigned_addresses = staticmethod(assigned_addresses)

    # -- the real CLI --------------------------------------------------

    def virsh(self, *args):
        """Run the real ``virsh`` against the private daemon; return stdout.

        ``self.virsh('metadata', name, uri, '--live')`` is what an operator
        types.  Fails with virsh's error output on a non-zero exit.
        """
        path = shutil.which('virsh')
        if path is None:
            raise AssertionError('virsh not found: install the Debian '
                                 'package libvirt-clients')
        argv = [path, '-q', '-c', self.daemon.uri] + list(args)
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        if proc.returncode:
            raise AssertionError('%s failed (exit %d): %s' % (
                ' '.join(argv), proc.returncode, proc.stderr.strip()))
        return proc.stdout

    # -- cleanup -------------------------------------------------------

    def _remove_domains(self):
        for name in reversed(self._domains):
            try:
                dom = self.conn.lookupByName(name)
            except libvirt.libvirtError:
                continue
            try:
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            except libvirt.libvirtError as e:
                LOG.warning('removing %s: %s', name, e)

    def bind_mount_readonly(self, source, target):
        """Bind ``source`` read-only at ``target``; unmounted on cleanup.

        libvirt 9.0 rejects ``<readonly/>`` on virtiofs, so a read-only
        share is a read-only bind mount given to virtiofsd as its source.
        ``target`` must be under ``self.workdir`` so the mount reaches the
        daemon's mount namespace.
        """
        os.makedirs(target, exist_ok=True)
        # A remount is not propagated to other mount namespaces, but a new
        # bind mount copies the flags of the mount it binds: make the
        # read-only mount in a private staging place, then bind that one
        # into the shared tree, from where it reaches the daemon.
        stage = tempfile.mkdtemp(prefix='ro-stage-')
        try:
            subprocess.run(['mount', '--bind', source, stage], check=True)
            try:
                subprocess.run(['mount', '-o', 'remount,bind,ro', stage],
                               check=True)
                subprocess.run(['mount', '--bind', stage, target],
                               check=True)
                self.addCleanup(self._umount, target)
            finally:
                subprocess.run(['umount', stage], check=True)
        finally:
            os.rmdir(stage)
        return target

    def _umount(self, target):
        # virtiofsd keeps the mount busy: stop the guests first.
        self._remove_domains()
        proc = subprocess.run(['umount', target], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if proc.returncode:
            raise AssertionError('umount %s: %s' % (target, proc.stdout))

    def _remove_workdir(self):
        if os.environ.get('REAL_TIER_KEEP'):
            return
        # Mounts are removed by their own cleanups (run before this one);
        # never delete through one that is still there.
        with open('/proc/self/mountinfo') as f:
            if any(self.workdir in line.split()[4] for line in f):
                LOG.error('not removing %s: mounts remain', self.workdir)
                return
        shutil.rmtree(self.workdir, ignore_errors=True)

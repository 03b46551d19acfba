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

"""A private qemu-driver libvirtd holding N defined domains, for benchmarks.

Why: on a compute host every tool reads domains through libvirtd's qemu
driver, one round trip per call, and gets the XML as that driver writes it
(every default device, every address filled in: about 5 KB per domain,
against 3 KB as Nova defined it).  The real tier's private daemon
(``tests/real/daemon.py``: its own mount namespace and state directories,
nothing shared with a system libvirt) gives exactly that.  Domains are only
defined, never started, so no hypervisor lock is needed and a thousand are
defined in a few seconds.

Usage (as root, with the real tier's Debian packages, which the daemon
fixture installs when they are missing)::

    import qemu_daemon
    with qemu_daemon.defined_domains(qemu_daemon.copies(texts, 1000)) as d:
        d.uri        # qemu:///system?socket=<private socket>
        d.pids       # {'libvirtd': pid, 'virtlogd': pid}

The daemon's module is loaded from its file, not imported as
``tests.real.daemon``: importing the ``tests`` package imports Nova's test
framework, which monkey-patches threads and sockets with eventlet in the
benchmark's own process.
"""

import contextlib
import importlib.util
import os
import time
import uuid

from lxml import etree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAEMON_PY = os.path.join(REPO, 'tests', 'real', 'daemon.py')


def daemon_module():
    """The real tier's ``daemon`` module, loaded without its package."""
    spec = importlib.util.spec_from_file_location('ndm_real_daemon',
                                                  DAEMON_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copies(texts, count, name_format='instance-%08x', first=0x1000):
    """Return ``count`` domain XMLs cycling through ``texts``.

    Each copy gets its own name (``name_format % number``) and a new uuid,
    replaced everywhere the old one appears (SMBIOS entries, metadata).
    """
    result = []
    for i in range(count):
        domain = etree.fromstring(texts[i % len(texts)].encode('utf-8'))
        old = domain.findtext('uuid')
        domain.find('name').text = name_format % (first + i)
        text = etree.tostring(domain, encoding='unicode')
        result.append(text.replace(old, str(uuid.uuid4())) if old else text)
    return result


def define(conn, xmls, virt_type):
    """Define each domain XML on ``conn`` as a ``virt_type`` domain."""
    for text in xmls:
        domain = etree.fromstring(text.encode('utf-8'))
        domain.set('type', virt_type)
        conn.defineXML(etree.tostring(domain, encoding='unicode'))


@contextlib.contextmanager
def defined_domains(xmls, base_dir=None, log=None):
    """Start a private qemu-driver libvirtd, define ``xmls``, yield it.

    The yielded fixture has ``uri``, ``conn`` (read-write), ``pids`` and
    ``virt_type``, plus ``define_seconds``.  On exit every domain is
    undefined and both daemons are stopped (by the fixture's cleanup).
    """
    daemon = daemon_module()
    fixture = daemon.LibvirtDaemonFixture(base_dir=base_dir)
    fixture.setUp()
    try:
        started = time.monotonic()
        define(fixture.conn, xmls, fixture.virt_type)
        fixture.define_seconds = time.monotonic() - started
        if log is not None:
            log('private libvirtd at %s: %d domains defined in %.1f s'
                % (fixture.uri, len(fixture.conn.listAllDomains(0)),
                   fixture.define_seconds))
        yield fixture
    finally:
        fixture.cleanUp()

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

"""A reconciler over real libvirt test:/// domains and in-memory instances.

Shared by the reconciler's unit tests and its benchmark: only Nova's
database is replaced (instances are Nova objects built in memory); the
domains live in libvirt's ``test:///`` driver, loaded from a node file.
"""

import collections
import time

import eventlet
import libvirt
from lxml import etree
from nova import objects

from nova_domain_meta import driver
from nova_domain_meta import reconciler
from nova_domain_meta import refresh
from tests.unit.metadata import fakes

HOST = 'compute-7'

_event_loop = []


def start_event_loop():
    """Run libvirt's default event loop in a native thread, once.

    As Nova's Host does in nova-compute; connections opened afterwards
    deliver domain events.  libvirt allows one registration per process.
    """
    if _event_loop:
        return
    libvirt.virEventRegisterDefaultImpl()

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()

    thread = eventlet.patcher.original('threading').Thread(
        target=run, name='libvirt-events', daemon=True)
    thread.start()
    _event_loop.append(thread)


def wait_until(predicate, timeout=10.0):
    """Wait for ``predicate()`` to be true; return whether it became so."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class CountingDomain(object):
    """A virDomain that counts the libvirt calls made through it."""

    def __init__(self, domain, calls):
        self._domain = domain
        self._calls = calls

    def __getattr__(self, name):
        attr = getattr(self._domain, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._calls[name] += 1
            return attr(*args, **kwargs)
        return call


class CountingConnection(CountingDomain):
    """A virConnect counting its calls and those of the domains it lists."""

    def listAllDomains(self, flags=0):
        self._calls['listAllDomains'] += 1
        return [CountingDomain(d, self._calls)
                for d in self._domain.listAllDomains(flags)]


class InMemoryReconciler(reconciler.Reconciler):
    """The reconciler with Nova's database replaced by in-memory objects.

    ``conn`` is the libvirt connection Nova's Host would hand out; every
    libvirt call made through it is counted in :attr:`calls`.
    """

    def __init__(self, conn, instances, bdms):
        super().__init__(driver.DomainMetaLibvirtDriver)
        self.calls = collections.Counter()
        self.conn = CountingConnection(conn, self.calls)
        self.instances = instances
        self.bdms = bdms

    def load_instances(self, context):
        return self.instances, self.bdms

    def connection(self):
        return self.conn

    def for_calls(self, domain):
        return domain

    def reload(self, instance):
        return instance, self.bdms[instance.uuid]


def make_instances(count):
    """Return ``({uuid: Instance}, {uuid: bdms})`` for ``count`` servers."""
    instances = {}
    bdms = {}
    for i in range(count):
        inst = fakes.instance(name='server-%05d' % i,
                              image_properties={'os_distro': 'debian'},
                              tags=['prod'])
        inst.uuid = '00000000-0000-4000-8000-%012d' % i
        inst.host = HOST
        inst.task_state = None
        inst.info_cache = objects.InstanceInfoCache(
            network_info=fakes.network_info())
        instances[inst.uuid] = inst
        bdms[inst.uuid] = fakes.block_device_mappings(inst)
    return instances, bdms


def domain_xml(index, uuid, domain_type='test'):
    """Return a minimal domain with one disk.

    ``domain_type`` ``qemu`` gives one a real libvirtd's qemu driver
    defines (it is never started, so its disk need not exist).
    """
    machine = " arch='x86_64' machine='pc'" if domain_type == 'qemu' else ''
    return etree.fromstring(
        "<domain type='%s'><name>ndm-xmlrec-%08x</name><uuid>%s</uuid>"
        "<memory>524288</memory><vcpu>1</vcpu><os><type%s>hvm</type></os>"
        "<devices><disk type='file' device='disk'>"
        "<source file='/var/lib/nova/instances/%s/disk'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
        % (domain_type, index + 1, uuid, machine, uuid))


def _domains(instances, bdms, domain_type='test'):
    """Yield domain elements already holding their current metadata."""
    for i, (uuid, inst) in enumerate(instances.items()):
        domain = domain_xml(i, uuid, domain_type)
        meta = etree.SubElement(domain, 'metadata')
        for element in refresh.expected_elements(
                driver.DomainMetaLibvirtDriver, inst,
                inst.get_network_info(), domain, bdms=bdms[uuid]):
            meta.append(element.format_dom())
        yield domain


def write_node_file(instances, bdms, path, foreign=0):
    """Write a node file whose domains already hold current metadata.

    ``foreign`` more domains with no matching instance are added.
    """
    node = etree.Element('node')
    for domain in _domains(instances, bdms):
        node.append(domain)
    for i in range(foreign):
        node.append(domain_xml(len(instances) + i,
                               'ffffffff-0000-4000-8000-%012d' % i))
    etree.ElementTree(node).write(path)
    return libvirt.open('test://' + path)


def define_domains(conn, instances, bdms, domain_type='qemu'):
    """Define one domain per instance, holding current metadata."""
    return [conn.defineXML(etree.tostring(domain, encoding='unicode'))
            for domain in _domains(instances, bdms, domain_type)]

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

import libvirt
from lxml import etree
from nova import objects

from nova_domain_meta import driver
from nova_domain_meta import reconciler
from nova_domain_meta import refresh
from tests.unit.metadata import fakes

HOST = 'compute-7'


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


class InMemoryReconciler(reconciler.Reconciler):
    """The reconciler with Nova's database replaced by in-memory objects."""

    def __init__(self, conn, instances, bdms):
        super().__init__(driver.DomainMetaLibvirtDriver)
        self.conn = conn
        self.instances = instances
        self.bdms = bdms
        self.calls = collections.Counter()

    def load_instances(self, context):
        return self.instances, self.bdms

    def list_domains(self):
        self.calls['listAllDomains'] += 1
        return [CountingDomain(d, self.calls)
                for d in self.conn.listAllDomains(0)]

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


def domain_xml(index, uuid):
    """Return a minimal test-driver domain with one disk."""
    return etree.fromstring(
        "<domain type='test'><name>instance-%08x</name><uuid>%s</uuid>"
        "<memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
        "<devices><disk type='file' device='disk'>"
        "<source file='/var/lib/nova/instances/%s/disk'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
        % (index + 1, uuid, uuid))


def write_node_file(instances, bdms, path, foreign=0):
    """Write a node file whose domains already hold current metadata.

    ``foreign`` more domains with no matching instance are added.
    """
    node = etree.Element('node')
    for i, (uuid, inst) in enumerate(instances.items()):
        domain = domain_xml(i, uuid)
        meta = etree.SubElement(domain, 'metadata')
        for element in refresh.expected_elements(
                driver.DomainMetaLibvirtDriver, inst,
                inst.get_network_info(), domain, bdms=bdms[uuid]):
            meta.append(element.format_dom())
        node.append(domain)
    for i in range(foreign):
        node.append(domain_xml(len(instances) + i,
                               'ffffffff-0000-4000-8000-%012d' % i))
    etree.ElementTree(node).write(path)
    return libvirt.open('test://' + path)

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

"""``<nova:instance>``: Nova's element, readable as well as writable.

Nova's own classes in :mod:`nova.virt.libvirt.config` format the element but
cannot parse it back.  The subclasses here keep Nova's ``format_dom``
untouched, which is what keeps our output element-for-element compatible
with Nova 34, and add ``parse_dom`` so tools can read what libvirt holds.
They accept both the 1.1 namespace Nova writes today and the older 1.0.
"""

import calendar
import time

from nova import exception
from nova.virt import driver as nova_driver
from nova.virt.libvirt import config as nova_config

from nova_domain_meta import metadata

_TIME_FORMAT = '%Y-%m-%d %H:%M:%S'
_READABLE_NS = (metadata.NOVA_NS, metadata.NOVA_NS_1_0)


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class _NovaParseMixin(object):
    """Namespace-aware root check and child lookup for Nova's elements."""

    def _check_root(self, xmldoc):
        """Return the namespace of ``xmldoc`` after checking its name."""
        qname = xmldoc.tag if isinstance(xmldoc.tag, str) else ''
        ns, _, name = qname[1:].partition('}')
        if not qname.startswith('{') or name != self.root_name or \
                ns not in _READABLE_NS:
            raise exception.InvalidInput(
                'Expected a nova:%s element in namespace %s, got %s' %
                (self.root_name, ' or '.join(_READABLE_NS), qname))
        self.ns_uri = ns
        return ns

    def _child(self, xmldoc, name):
        return xmldoc.find('{%s}%s' % (self.ns_uri, name))

    def _children(self, xmldoc, name):
        return xmldoc.findall('{%s}%s' % (self.ns_uri, name))


class NovaInstance(_NovaParseMixin,
                   nova_config.LibvirtConfigGuestMetaNovaInstance):
    """``<nova:instance>``: who owns the guest, its flavor, image, ports."""

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        package = self._child(xmldoc, 'package')
        self.package = package.get('version') if package is not None \
            else None
        name = self._child(xmldoc, 'name')
        self.name = name.text if name is not None else None
        created = self._child(xmldoc, 'creationTime')
        self.creationTime = None
        if created is not None and created.text:
            try:
                self.creationTime = calendar.timegm(
                    time.strptime(created.text.strip(), _TIME_FORMAT))
            except ValueError:
                self.creationTime = None
        for attr, klass, tag in (('flavor', NovaFlavor, 'flavor'),
                                 ('image', NovaImage, 'image'),
                                 ('owner', NovaOwner, 'owner'),
                                 ('ports', NovaPorts, 'ports')):
            node = self._child(xmldoc, tag)
            obj = None
            if node is not None:
                obj = klass()
                obj.parse_dom(node)
            setattr(self, attr, obj)
        root = self._child(xmldoc, 'root')
        self.roottype = root.get('type') if root is not None else None
        self.rootid = root.get('uuid') if root is not None else None


class NovaFlavor(_NovaParseMixin,
                 nova_config.LibvirtConfigGuestMetaNovaFlavor):
    """``<nova:flavor>``: the flavor as it was when the guest was defined."""

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.name = xmldoc.get('name')
        self.id = xmldoc.get('id')
        for attr in ('memory', 'disk', 'swap', 'ephemeral', 'vcpus'):
            node = self._child(xmldoc, attr)
            setattr(self, attr,
                    _int_or_none(node.text) if node is not None else None)
        specs = self._child(xmldoc, 'extraSpecs')
        self.extra_specs = None
        if specs is not None:
            self.extra_specs = {
                node.get('name'): node.text or ''
                for node in self._children(specs, 'extraSpec')}


class NovaImage(_NovaParseMixin, nova_config.LibvirtConfigGuestMetaImage):
    """``<nova:image>``: the boot image's base fields and modelled props."""

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.uuid = xmldoc.get('uuid')
        values = {}
        for attr, node_key in self.attrs:
            node = self._child(xmldoc, node_key)
            text = node.text if node is not None else None
            values[attr] = (_int_or_none(text) if attr.startswith('min_')
                            else text)
        props = self._child(xmldoc, 'properties')
        properties = {}
        if props is not None:
            properties = {node.get('name'): node.text or ''
                          for node in self._children(props, 'property')}
        self.image_meta = nova_driver.ImageMeta(
            id=self.uuid, name=None, properties=properties, **values)


class NovaOwner(_NovaParseMixin, nova_config.LibvirtConfigGuestMetaNovaOwner):
    """``<nova:owner>``: user and project, by id and by name."""

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        user = self._child(xmldoc, 'user')
        project = self._child(xmldoc, 'project')
        self.userid = user.get('uuid') if user is not None else None
        self.username = (user.text or '') if user is not None else None
        self.projectid = project.get('uuid') if project is not None \
            else None
        self.projectname = (project.text or '') if project is not None \
            else None


class NovaPorts(_NovaParseMixin, nova_config.LibvirtConfigGuestMetaNovaPorts):
    """``<nova:ports>``: every Neutron port of the guest."""

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.ports = []
        for node in self._children(xmldoc, 'port'):
            port = NovaPort()
            port.parse_dom(node)
            self.ports.append(port)


class NovaPort(_NovaParseMixin, nova_config.LibvirtConfigGuestMetaNovaPort):
    """``<nova:port>``: one port and its fixed and floating addresses."""

    def __init__(self, uuid=None, ips=None):
        super().__init__(uuid, ips=ips)

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.uuid = xmldoc.get('uuid')
        self.ips = []
        for node in self._children(xmldoc, 'ip'):
            ip = NovaIp()
            ip.parse_dom(node)
            self.ips.append(ip)


class NovaIp(_NovaParseMixin, nova_config.LibvirtConfigGuestMetaNovaIp):
    """``<nova:ip>``: an address, ``fixed`` or ``floating``, v4 or v6."""

    def __init__(self, ip_type=None, address=None, ip_version=None):
        super().__init__(ip_type, address, ip_version)

    def parse_dom(self, xmldoc):
        self._check_root(xmldoc)
        self.ip_type = xmldoc.get('type')
        self.address = xmldoc.get('address')
        self.ip_version = _int_or_none(xmldoc.get('ipVersion'))

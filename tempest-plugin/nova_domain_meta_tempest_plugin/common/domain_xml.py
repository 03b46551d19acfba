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

"""What a domain XML read from a compute host must say.

Pure functions over the text of ``virsh dumpxml``: each check returns a
list of problems, empty when all is well, so that a test can show every
problem at once.  No libvirt, Nova or tempest code is needed.
"""

import os

from defusedxml import ElementTree

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
NDM_NS = 'http://openstack.org/xmlns/libvirt/nova-domain-meta/1.0'


def parse(xml_text):
    """The <domain> element of a domain XML."""
    return ElementTree.fromstring(xml_text)


def _text(element, path, namespaces=None):
    found = element.find(path, namespaces or {})
    return None if found is None else (found.text or '')


def _attr(element, path, name, namespaces=None):
    found = element.find(path, namespaces or {})
    return None if found is None else found.get(name)


def check_metadata(domain, server):
    """Problems with the metadata of ``domain`` for ``server``.

    ``server`` is the server as the compute API shows it to an
    administrator (microversion 2.47 or later, for the embedded flavor).
    Both elements must be present: Nova's <nova:instance> naming the
    server, its flavor and owner, and the plugin's <ndm:instance> naming
    the server's UUID.
    """
    ns = {'nova': NOVA_NS, 'ndm': NDM_NS}
    problems = []
    uuid = _text(domain, 'uuid')
    if uuid != server['id']:
        problems.append('domain uuid %s is not the server id %s'
                        % (uuid, server['id']))
    nova = domain.find('metadata/nova:instance', ns)
    if nova is None:
        problems.append('no <nova:instance> in namespace %s' % NOVA_NS)
    else:
        expected = [
            ('name', _text(nova, 'nova:name', ns), server['name']),
            ('flavor name', _attr(nova, 'nova:flavor', 'name', ns),
             server['flavor'].get('original_name')),
            ('owner user uuid',
             _attr(nova, 'nova:owner/nova:user', 'uuid', ns),
             server['user_id']),
            ('owner project uuid',
             _attr(nova, 'nova:owner/nova:project', 'uuid', ns),
             server['tenant_id']),
        ]
        for what, found, wanted in expected:
            if found != wanted:
                problems.append('<nova:instance> %s is %r, not %r'
                                % (what, found, wanted))
    ndm = domain.find('metadata/ndm:instance', ns)
    if ndm is None:
        problems.append('no <ndm:instance> in namespace %s' % NDM_NS)
    elif ndm.get('uuid') != server['id']:
        problems.append('<ndm:instance> names instance %s, not %s'
                        % (ndm.get('uuid'), server['id']))
    return problems


def virtiofs_filesystems(domain):
    """[{'tag', 'source', 'accessmode'}] of the domain's virtiofs shares."""
    shares = []
    for fs in domain.findall('devices/filesystem'):
        if _attr(fs, 'driver', 'type') != 'virtiofs':
            continue
        shares.append({
            'tag': _attr(fs, 'target', 'dir'),
            'source': _attr(fs, 'source', 'dir'),
            'accessmode': fs.get('accessmode'),
        })
    return shares


def check_share(domain, tag, view_dir=None):
    """Problems with the power-metrics share ``tag`` of ``domain``.

    Exactly one virtiofs filesystem carries the tag, served from an
    absolute directory, below ``view_dir`` when given (nova-compute
    serves a read-only bind mount made there, never the shared directory
    itself: libvirt's virtiofs has no read-only mode).
    """
    shares = [s for s in virtiofs_filesystems(domain) if s['tag'] == tag]
    if len(shares) != 1:
        return ['%d virtiofs filesystems with target dir %r, not 1'
                % (len(shares), tag)]
    source = shares[0]['source'] or ''
    problems = []
    if not os.path.isabs(source):
        problems.append('virtiofs source %r is not an absolute path'
                        % source)
    elif view_dir:
        inside = os.path.normpath(view_dir) + os.sep
        if not os.path.normpath(source).startswith(inside):
            problems.append('virtiofs source %s is not below share_view_dir '
                            '%s' % (source, view_dir))
    return problems


def check_no_share(domain, tag):
    """Problems if ``domain`` has a virtiofs share tagged ``tag``."""
    if any(s['tag'] == tag for s in virtiofs_filesystems(domain)):
        return ['unexpected virtiofs filesystem with target dir %r' % tag]
    return []

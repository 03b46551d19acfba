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

"""Generate the domain XML fixtures the ``nova-domain-meta`` CLI tests read.

Why generated: the CLI must read what Nova really writes, not what we think
it writes.  This script boots servers through Nova 34's own functional
framework (the same one ``tests/functional`` uses, fake hypervisor, real
Nova code from API to libvirt driver) twice, once with our driver and once
with stock Nova's ``libvirt.LibvirtDriver``, and saves the domain XML each
driver handed to ``defineXML``:

``tests/unit/cmd/data/ours-<label>.xml``
    written by ``domain_meta.LibvirtDriver``;
``tests/unit/cmd/data/stock-<label>.xml``
    written by stock Nova 34 (no ``<ndm:instance>``);
``tests/unit/cmd/data/stock-image-ns10.xml``
    ``stock-image`` with Nova's namespace URI changed to the 1.0 one that
    Nova releases before 1.1 wrote (new name and uuid);
``tests/unit/cmd/data/ours-stale.xml``
    ``ours-image`` claiming an old Nova package version (new name and uuid);
``tests/unit/cmd/data/stock-nometa.xml``
    ``stock-bfv`` without its ``<metadata>`` element, as a Nova guest whose
    metadata was lost looks (new name and uuid).

``nonnova.xml`` and ``malformed.xml`` in the same directory are written by
hand and not touched here.

Both runs number their instances from 1, so the stock domains are renamed
to ``instance-000001NN`` to keep names unique in one node file; nothing
else is changed.  Instance uuids are random on every run, so regenerating
changes every file: commit the result and update nothing else (the tests
look values up from the files, never hard-code uuids).

Run from the repository root, with the plugin installed into the venv
(non-editable install is fine)::

    /work/venv/bin/python tools/gen_cli_fixtures.py
"""

import copy
import os
import sys
import unittest
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import tests  # noqa: E402,F401  Nova's monkey patching must come first.

from lxml import etree  # noqa: E402
from oslo_utils.fixture import uuidsentinel as uuids  # noqa: E402

from nova_domain_meta import metadata  # noqa: E402
from tests.functional import base  # noqa: E402

DATA_DIR = os.path.join(REPO, 'tests', 'unit', 'cmd', 'data')

FLOATING_IP = '203.0.113.17'
#: A display name with every character XML and shells care about.
ODD_NAME = ('odd <&> "quoted" \'apos\' caf\u00e9 \u2603 '
            '\u05e9\u05dc\u05d5\u05dd')
#: Stock domains are renamed past this offset; see the module docstring.
STOCK_NAME_OFFSET = 0x100
#: The Nova version ``ours-stale.xml`` claims to have been written by.
STALE_PACKAGE = '27.1.0-0ubuntu1'


class _Generator(base.DomainMetaTestBase):
    """Boot the fixture servers and save what the driver defined."""

    PREFIX = None

    def setUp(self):
        super().setUp()
        self.start_compute()
        self.saved = {}

    def _image(self):
        """An image with a modelled and an unmodelled property."""
        image = copy.deepcopy(next(iter(self.glance.images.values())))
        image.update(id=str(uuid.uuid4()), name='debian-12-cli')
        image['properties'] = {'os_distro': 'debian',
                               'hw_disk_bus': 'virtio',
                               'acme_backup_policy': 'nightly'}
        return self.glance.create(None, image)['id']

    def _save(self, label, server):
        name = self.domain_name(server)
        xml = self.recorder.domains(name)[-1]
        self.saved[label] = xml

    def boot_all(self, odd_extra_spec):
        extra = {'acme:tier': 'gold', 'hw:watchdog_action': 'reset'}
        flavor = self._create_flavor(name='m1.cli', memory_mb=1024, vcpu=1,
                                     disk=5, ephemeral=0, extra_spec=extra)
        port = self.make_port(uuids.port_cli, 'fa:16:3e:00:0c:01',
                              '192.168.1.70', 'fd37:44e8:ad06::70')
        self.add_floating_ip(port, '192.168.1.70', FLOATING_IP)
        server = self._create_server(
            name='web-1', flavor_id=flavor, image_uuid=self._image(),
            networks=[{'port': port['id']}])
        self._save('image', server)

        server = self.boot_from_volume(self.cinder.IMAGE_BACKED_VOL,
                                       name='db-1', networks='none')
        self._save('bfv', server)

        odd_specs = {'acme:note': 'x & <y> "z"'}
        if odd_extra_spec:
            # Accepted by Nova's API; stock Nova cannot write it into XML.
            odd_specs['acme:bell'] = 'ring\x01ring'
        odd_flavor = self._create_flavor(name='odd.flavor', memory_mb=512,
                                         vcpu=1, disk=1, ephemeral=0,
                                         extra_spec=odd_specs)
        server = self._create_server(name=ODD_NAME, flavor_id=odd_flavor,
                                     networks='auto')
        self._save('odd', server)

    def test_generate(self):
        self.boot_all(odd_extra_spec=self.PREFIX == 'ours')
        for label, xml in sorted(self.saved.items()):
            _write('%s-%s.xml' % (self.PREFIX, label), self.rename(xml))

    def rename(self, xml):
        return xml


class OursGenerator(_Generator):
    """Domains as ``domain_meta.LibvirtDriver`` defines them."""

    PREFIX = 'ours'


class StockGenerator(_Generator):
    """Domains as stock Nova 34's ``libvirt.LibvirtDriver`` defines them."""

    PREFIX = 'stock'

    def _setup_compute_service(self):
        self.flags(compute_driver='libvirt.LibvirtDriver')

    def _assert_domains_valid(self):
        # Stock Nova writes no <ndm:instance>; everything else must hold.
        problems = [p for p in self.recorder.problems
                    if metadata.DOMAIN_META_NS not in p]
        self.assertEqual([], problems)

    def rename(self, xml):
        doc = etree.fromstring(xml)
        name = doc.find('name')
        number = int(name.text.rsplit('-', 1)[1], 16) + STOCK_NAME_OFFSET
        name.text = 'instance-%08x' % number
        return etree.tostring(doc, encoding='unicode')


def _write(filename, xml):
    path = os.path.join(DATA_DIR, filename)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(xml if xml.endswith('\n') else xml + '\n')
    print('wrote %s' % os.path.relpath(path, REPO))


def _read(filename):
    with open(os.path.join(DATA_DIR, filename), encoding='utf-8') as f:
        return f.read()


def _renamed(xml, name):
    doc = etree.fromstring(xml)
    doc.find('name').text = name
    new_uuid = str(uuid.uuid4())
    old_uuid = doc.findtext('uuid')
    doc.find('uuid').text = new_uuid
    text = etree.tostring(doc, encoding='unicode')
    return text.replace(old_uuid, new_uuid)


def derive():
    """Write the fixtures derived from generated ones."""
    ns10 = _renamed(_read('stock-image.xml'), 'instance-000001f0')
    _write('stock-image-ns10.xml',
           ns10.replace(metadata.NOVA_NS, metadata.NOVA_NS_1_0))
    stale = etree.fromstring(_renamed(_read('ours-image.xml'),
                                      'instance-000000f0'))
    stale.find('./metadata/{%s}instance/{%s}package' % (
        metadata.NOVA_NS, metadata.NOVA_NS)).set('version', STALE_PACKAGE)
    _write('ours-stale.xml', etree.tostring(stale, encoding='unicode'))
    nometa = etree.fromstring(_renamed(_read('stock-bfv.xml'),
                                       'instance-000001f1'))
    nometa.remove(nometa.find('metadata'))
    _write('stock-nometa.xml', etree.tostring(nometa, encoding='unicode'))


def main():
    os.makedirs(DATA_DIR, exist_ok=True)
    suite = unittest.TestSuite([OursGenerator('test_generate'),
                                StockGenerator('test_generate')])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    derive()
    return 0


if __name__ == '__main__':
    sys.exit(main())

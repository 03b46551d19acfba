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

"""Record the API responses and domain XML the tempest plugin's tests read.

Why recorded: the unit tests of the tempest plugin
(``tempest-plugin/tests``) run each tempest test against what Nova and
placement really answer, through tempest's own
service clients (URL building, response schema validation, HTTP errors to
exceptions).  No cloud is needed to record: this script drives Nova 34's
API, placement and a compute service with our driver in-process, through
Nova's functional framework (the same one ``tests/functional`` uses,
fake hypervisor underneath), and saves each exchange in
``tempest-plugin/tests/data/recorded.json`` as method, path, status and
JSON body, plus the domain XML the driver defined for the server in
``tempest-plugin/tests/data/domain.xml``.

``domain-share.xml`` is that domain with the power-metrics share added as
Nova's own ``LibvirtConfigGuestFilesys`` formats a virtiofs mount (a
read-only bind mount below ``share_view_dir`` as its source, tag
``scaphandre``), the form the real tier boots with QEMU.  It is derived
rather than recorded so the recorded host keeps the answers the tempest
tests must refuse (a host without the trait); the driver's own share XML
is checked by ``tests/functional/test_power_metrics.py`` and booted by
``tests/real/test_power_metrics_real.py``.

The ``hw:power_metrics`` requests are made twice: once with Nova's
validator registry as installed (key ``stock``: without our validator
Nova rejects the key altogether) and once with a boolean validator of
Nova's own kind registered for the key (key ``validated``), which is
what our validator registers; if the installed package already provides
that validator, it is used as is.

Run from the repository root, with the plugin installed into the venv
(non-editable install is fine)::

    /work/venv/bin/python tools/gen_tempest_fixtures.py

Uuids are random on every run: commit what it writes, the tests look
values up from the files.
"""

import json
import os
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import tests  # noqa: E402,F401  Nova's monkey patching must come first.

from lxml import etree  # noqa: E402
from nova.api.validation.extra_specs import base as spec_base  # noqa: E402
from nova.api.validation.extra_specs import validators  # noqa: E402
from nova.virt.libvirt import config as vconfig  # noqa: E402

from tests.functional import base  # noqa: E402

DATA_DIR = os.path.join(REPO, 'tempest-plugin', 'tests', 'data')
KEY = 'hw:power_metrics'
#: share_view_dir of the recorded compute host (the option's default).
SHARE_VIEW_DIR = '/run/nova-domain-meta/shares'
#: Response headers kept: tempest's clients check them.
VERSION_HEADERS = ('openstack-api-version', 'x-openstack-nova-api-version')


class _Recorder(base.DomainMetaTestBase):

    def setUp(self):
        super().setUp()
        self.start_compute()
        self.exchanges = {}

    def record(self, label, client, method, path, body=None):
        call = getattr(client, 'api_' + method.lower())
        kwargs = {'check_response_status': False}
        if body is not None:
            resp = call(path, body, **kwargs)
        else:
            resp = call(path, **kwargs)
        self.exchanges[label] = {
            'method': method, 'path': path, 'status': resp.status,
            'headers': {k.lower(): v for k, v in resp.headers.items()
                        if k.lower() in VERSION_HEADERS},
            'body': resp.body if resp.content else None}
        return resp.body

    def record_placement(self, label, path):
        resp = self.placement.get(path, version='1.6')
        self.exchanges[label] = {
            'method': 'GET', 'path': path, 'status': resp.status,
            'headers': {k.lower(): v for k, v in resp.headers.items()
                        if k.lower() in VERSION_HEADERS},
            'body': resp.body}
        return resp.body

    def set_spec(self, label, flavor_id, value):
        self.record(label, self.admin_api, 'POST',
                    '/flavors/%s/os-extra_specs' % flavor_id,
                    {'extra_specs': {KEY: value}})

    def test_record(self):
        self.admin_api.microversion = '2.86'
        flavor = self.admin_api.post_flavor({'flavor': {
            'name': 'tempest-pm', 'ram': 512, 'vcpus': 1, 'disk': 1}})
        self.set_spec('stock_true', flavor['id'], 'true')
        self.set_spec('stock_bad', flavor['id'], 'maybe')
        registered = KEY in validators.VALIDATORS
        if not registered:
            stand_in = spec_base.ExtraSpecValidator(
                name=KEY, description='stand-in of our validator',
                value={'type': bool, 'description': 'stand-in'})
            validators.VALIDATORS[KEY] = stand_in
            self.addCleanup(validators.VALIDATORS.pop, KEY)
        self.set_spec('validated_true', flavor['id'], 'true')
        self.record('validated_show_true', self.admin_api, 'GET',
                    '/flavors/%s/os-extra_specs/%s' % (flavor['id'], KEY))
        self.set_spec('validated_false', flavor['id'], 'false')
        self.record('validated_show_false', self.admin_api, 'GET',
                    '/flavors/%s/os-extra_specs/%s' % (flavor['id'], KEY))
        self.set_spec('validated_bad', flavor['id'], 'maybe')

        server = self._create_server(name='tempest-meta-1',
                                     networks='none')
        self.record('server', self.admin_api, 'GET',
                    '/servers/%s' % server['id'])
        # Without a microversion, as the trait test asks (2.1 answers).
        self.admin_api.microversion = None
        self.record('hypervisors', self.admin_api, 'GET',
                    '/os-hypervisors/detail')
        hostname = self.exchanges['hypervisors']['body']['hypervisors'][0][
            'hypervisor_hostname']
        providers = self.record_placement(
            'providers', '/resource_providers?name=%s' % hostname)
        self.record_placement(
            'traits', '/resource_providers/%s/traits'
            % providers['resource_providers'][0]['uuid'])

        xml = self.recorder.domains(self.domain_name(server))[-1]
        os.makedirs(DATA_DIR, exist_ok=True)
        _write('domain.xml', xml if xml.endswith('\n') else xml + '\n')
        _write('domain-share.xml', with_share(xml))
        _write('recorded.json', json.dumps(
            {'validator': 'installed' if registered else 'stand-in',
             'exchanges': self.exchanges},
            indent=2, sort_keys=True) + '\n')


def with_share(xml):
    """``xml`` with the power-metrics share among its devices."""
    doc = etree.fromstring(xml)
    fs = vconfig.LibvirtConfigGuestFilesys()
    fs.source_type = 'mount'
    fs.driver_type = 'virtiofs'
    fs.accessmode = 'passthrough'
    # nova-compute's layout: <share_view_dir>/<domain name>/<tag>.
    fs.source_dir = '%s/%s/scaphandre' % (SHARE_VIEW_DIR,
                                          doc.findtext('name'))
    fs.target_dir = 'scaphandre'
    doc.find('devices').append(fs.format_dom())
    return etree.tostring(doc, encoding='unicode') + '\n'


def _write(name, text):
    path = os.path.join(DATA_DIR, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    print('wrote %s' % os.path.relpath(path, REPO))


def main():
    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.TestSuite([_Recorder('test_record')]))
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())

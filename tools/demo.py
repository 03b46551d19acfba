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

"""Demo: boot servers through Nova's in-process stack with our driver.

No cloud is needed: Nova's own functional framework runs the API,
conductor, scheduler, placement and a compute service whose driver is
loaded from ``compute_driver = domain_meta.LibvirtDriver``, against Nova's
fake libvirt.  The metadata of every domain the driver defines is printed,
after being checked against libvirt's schema and its test:///default
driver.

Run it with ``bash tools/demo.sh``.
"""

import contextlib
import io
import logging
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

# Nova's functional framework runs on eventlet, and Nova warns at import
# that eventlet mode is deprecated: true, but not the demo's subject.
logging.getLogger('nova.monkey_patch').setLevel(logging.ERROR)

import tests  # noqa: E402,F401  (Nova's monkey patching comes first)

from lxml import etree  # noqa: E402
from nova.tests.fixtures import neutron as neutron_fixture  # noqa: E402

from tests.functional import base  # noqa: E402
from tests.functional import fixtures as dm_fixtures  # noqa: E402

FLOATING_IP = '203.0.113.17'
RESULTS = []


class Demo(base.DomainMetaTestBase):
    """Three servers: image with floating IP, volume, power metrics.

    The third asks for power metrics and gets a read-only virtiofs share.
    """

    def test_demo(self):
        # A host sharing a Scaphandre directory; the read-only bind mounts
        # are recorded by the fixture instead of made (no root needed).
        host = self.useFixture(dm_fixtures.PowerMetricsHostFixture())
        self.flags(share_local_fs={host.directory('scaphandre'):
                                   'scaphandre'},
                   share_view_dir=host.directory('views'),
                   group='domain_meta')
        self.start_compute('compute1')
        port = neutron_fixture.NeutronFixture.port_1
        self.add_floating_ip(port, port['fixed_ips'][0]['ip_address'],
                             FLOATING_IP)
        flavor = self._create_flavor(name='m1.demo', memory_mb=1024, vcpu=1,
                                     disk=1, ephemeral=0, extra_spec={
                                         'hw:cpu_policy': 'shared'})
        web = self._create_server(name='web-1', flavor_id=flavor,
                                  networks=[{'port': port['id']}])
        volume = self.cinder.IMAGE_BACKED_VOL
        db = self.boot_from_volume(volume, name='db-1', networks='none')
        metered = self._create_flavor(
            name='m1.metered', memory_mb=1024, vcpu=1, disk=1, ephemeral=0,
            extra_spec={'hw:power_metrics': 'true'})
        green = self._create_server(name='green-1', flavor_id=metered,
                                    networks='none')
        for server in (web, db, green):
            domain = self.domain_xml(server)
            parts = [domain.find('./metadata')]
            parts += domain.findall('./memoryBacking')
            parts += domain.findall('./devices/filesystem')
            RESULTS.append((self.domain_name(server), server['name'],
                            ''.join(etree.tostring(p, encoding='unicode')
                                    for p in parts)))


def main():
    # Nova's services log at INFO; keep that out of the demo's output
    # unless something went wrong.
    log = io.StringIO()
    # Importing Nova's test framework already attached a handler to the
    # real stdout; point it at the buffer too.
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(log) for h in handlers]
    try:
        with contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            result = unittest.TextTestRunner(stream=log, verbosity=0).run(
                unittest.defaultTestLoader.loadTestsFromTestCase(Demo))
    finally:
        for handler, stream in zip(handlers, streams):
            handler.setStream(stream)
    if not result.wasSuccessful():
        sys.stderr.write(log.getvalue())
        return 1
    for domain, name, xml in RESULTS:
        print('=== libvirt domain %s (server %s) ===' % (domain, name))
        print(xml.rstrip())
    print('%d domains defined; every domain XML passed libvirt\'s schema, '
          'our schemas and test:///default.' % len(RESULTS))
    return 0


if __name__ == '__main__':
    sys.exit(main())

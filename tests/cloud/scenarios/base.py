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

"""What the tier's scenarios share: the cloud's API, virsh, the guest."""

import os
import subprocess
import time
import uuid

from lxml import etree
from nova_domain_meta_tempest_plugin.common import guest as guest_check
import testtools

from tests.cloud import resources

#: Set by :func:`tests.cloud.scenarios.run`; these tests need the tier.
TIER = None

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
NDM_NS = 'http://openstack.org/xmlns/libvirt/nova-domain-meta/1.0'
BUILD_TIMEOUT = 600


class ScenarioTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if TIER is None:
            self.fail('these tests run inside the cloud tier: '
                      'python -m tests.cloud.run (tox -e cloud)')
        self.tier = TIER
        self.facts = TIER.facts
        self.cloud = resources.Cloud()

    # -- waiting -------------------------------------------------------

    def wait_for(self, predicate, what, timeout=BUILD_TIMEOUT, interval=1):
        """Poll until ``predicate()`` returns something true; return it."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() > deadline:
                self.fail('no %s within %d s (last: %r)'
                          % (what, timeout, last))
            time.sleep(interval)

    # -- servers -------------------------------------------------------

    def server(self, server_id):
        return self.cloud.get('compute', '/servers/%s' % server_id)['server']

    def boot(self, label, flavor='ndm.tiny', wait=True):
        name = 'ndm-cloud-%s-%s' % (label, uuid.uuid4().hex[:6])
        body = {'server': {
            'name': name, 'imageRef': self.facts['image'],
            'flavorRef': self.flavor_id(flavor),
            'networks': [{'uuid': self.facts['networks']['private']}]}}
        server = self.cloud.post('compute', '/servers', body)['server']
        self.addCleanup(self.delete_server, server['id'])
        if wait:
            return self.wait_for_status(server['id'], 'ACTIVE')
        return server

    def flavor_id(self, name):
        if name in self.facts['flavors']:
            return self.facts['flavors'][name]
        return self.power_metrics_flavor()

    def power_metrics_flavor(self):
        """A flavor asking for the power-metrics share (made once)."""
        if 'ndm.power' not in self.facts['flavors']:
            flavor = self.cloud.post('compute', '/flavors', {'flavor': {
                'name': 'ndm.power', 'ram': 192, 'vcpus': 1, 'disk': 1}})
            flavor_id = flavor['flavor']['id']
            self.cloud.post('compute', '/flavors/%s/os-extra_specs'
                            % flavor_id,
                            {'extra_specs': {'hw:power_metrics': 'true'}})
            self.facts['flavors']['ndm.power'] = flavor_id
        return self.facts['flavors']['ndm.power']

    def wait_for_status(self, server_id, status, task_state=None):
        def reached():
            server = self.server(server_id)
            if server['status'] == 'ERROR':
                self.fail('server %s went to ERROR: %s' % (
                    server_id, server.get('fault')))
            if (server['status'] == status and
                    server.get('OS-EXT-STS:task_state') == task_state):
                return server
            return None
        return self.wait_for(reached, 'server %s %s' % (server_id, status))

    def action(self, server_id, body):
        self.cloud.call('POST', 'compute', '/servers/%s/action' % server_id,
                        json=body)

    def delete_server(self, server_id):
        try:
            self.cloud.call('DELETE', 'compute', '/servers/%s' % server_id)
        except Exception:
            return
        self.wait_for(lambda: not self.exists(server_id),
                      'deletion of %s' % server_id)

    def exists(self, server_id):
        try:
            self.server(server_id)
        except Exception as e:
            if getattr(e, 'http_status', None) == 404:
                return False
            raise
        return True

    # -- the compute host ----------------------------------------------

    def virsh(self, *args, check=True):
        proc = subprocess.run(
            ['virsh', '-q', '-c', self.facts['libvirt_uri']] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=120)
        if check and proc.returncode:
            self.fail('virsh %s failed: %s' % (' '.join(args),
                                               proc.stderr.strip()))
        return proc.stdout

    def domain_xml(self, server, inactive=False):
        name = server['OS-EXT-SRV-ATTR:instance_name']
        args = ['dumpxml', name] + (['--inactive'] if inactive else [])
        return etree.fromstring(self.virsh(*args).encode())

    def metadata(self, server, namespace, live=True):
        """``virsh metadata`` of the domain, live or persistent, parsed."""
        name = server['OS-EXT-SRV-ATTR:instance_name']
        text = self.virsh('metadata', name, namespace,
                          '--live' if live else '--config', check=False)
        return etree.fromstring(text.encode()) if text.strip() else None

    # -- the guest -----------------------------------------------------

    def console_report(self, server_id):
        """The guest's share check from its console log, once complete.

        The log is the current boot's only: libvirt truncates it when QEMU
        starts (Nova sets ``append='off'``).
        """
        def report():
            output = self.cloud.post(
                'compute', '/servers/%s/action' % server_id,
                {'os-getConsoleOutput': {}})['output']
            return guest_check.parse_console_check(output)
        return self.wait_for(report, 'share check on the console of %s'
                             % server_id, interval=2)

    def assert_share_read_only(self, server_id, report):
        self.assertEqual(server_id, report['uuid'])
        self.assertEqual('virtiofs', report['mount_type'],
                         report['mount_output'])
        self.assertNotEqual('0', report['write_rc'])
        self.assertTrue(guest_check.write_refused_read_only(
            report['write_output']), report['write_output'])

    def compute_log(self):
        with open(self.tier.find('nova-compute').log,
                  errors='replace') as f:
            return f.read()


def mount_namespaces():
    """{mount namespace inode: a pid in it} for every process."""
    found = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            ns = os.readlink('/proc/%s/ns/mnt' % pid)
        except OSError:
            continue
        found.setdefault(ns, int(pid))
    return found


def mounts_below(paths):
    """[(namespace, mount point)] below any of ``paths``, everywhere."""
    found = []
    for ns, pid in mount_namespaces().items():
        try:
            with open('/proc/%d/mountinfo' % pid) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            point, root = fields[4], fields[3]
            for path in paths:
                if point.startswith(path + '/') or point == path or \
                        root.startswith(path + '/'):
                    found.append((ns, point))
    return found

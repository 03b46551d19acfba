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

"""Open vSwitch (userspace datapath) and OVN from Debian's packages.

This kernel has no openvswitch module, so every bridge has
``datapath_type=netdev``: ovs-vswitchd forwards packets itself and opens
the guests' tap devices like any other network device.  The OVN central
databases, ovn-northd and ovn-controller run on the same machine; the one
chassis carries the compute host's name (Neutron binds ports to it) and
may host router gateways, so routers and floating IPs work.

The databases live in the tier's directory; the sockets at the packages'
default paths below ``/run`` (a private tmpfs, see
:mod:`tests.cloud.namespace`), where ``ovs-vsctl`` run by libvirt looks.
"""

import os

from tests.cloud import tier as tier_mod

OVS_DB = 'unix:/run/openvswitch/db.sock'
NB_DB = 'unix:/run/ovn/ovnnb_db.sock'
SB_DB = 'unix:/run/ovn/ovnsb_db.sock'
CHASSIS = 'ndm-cloud-chassis'
PHYSNET = 'public'


def _db_server(tier, name, schema, sock, rundir):
    db = tier.path('ovs', '%s.db' % name)
    tier.run(['ovsdb-tool', 'create', db, schema], 'creating %s' % db)
    daemon = tier.daemon('ovsdb-%s' % name, [
        'ovsdb-server', db, '--remote=punix:%s' % sock,
        '--pidfile=%s/%s.pid' % (rundir, name),
        '--unixctl=%s/%s.ctl' % (rundir, name)])
    daemon.wait_until(lambda: os.path.exists(sock), 'its socket', 60)
    return daemon


def start(tier):
    tier.dir('ovs')
    for rundir in ('/run/openvswitch', '/run/ovn'):
        os.makedirs(rundir, exist_ok=True)
    _db_server(tier, 'conf', '/usr/share/openvswitch/vswitch.ovsschema',
               '/run/openvswitch/db.sock', '/run/openvswitch')
    vsctl(tier, '--no-wait', 'init')
    switch = tier.daemon('ovs-vswitchd', [
        'ovs-vswitchd', OVS_DB, '--pidfile=/run/openvswitch/ovs-vswitchd.pid'])
    switch.wait_until(
        lambda: os.path.exists('/run/openvswitch/ovs-vswitchd.pid'),
        'its pid file', 60)
    for bridge in ('br-int', 'br-ex'):
        vsctl(tier, '--may-exist', 'add-br', bridge, '--', 'set', 'bridge',
              bridge, 'datapath_type=netdev')
    vsctl(tier, 'set', 'bridge', 'br-int', 'fail-mode=secure')

    _db_server(tier, 'ovnnb', '/usr/share/ovn/ovn-nb.ovsschema',
               '/run/ovn/ovnnb_db.sock', '/run/ovn')
    _db_server(tier, 'ovnsb', '/usr/share/ovn/ovn-sb.ovsschema',
               '/run/ovn/ovnsb_db.sock', '/run/ovn')
    tier.daemon('ovn-northd', [
        'ovn-northd', '--ovnnb-db=' + NB_DB, '--ovnsb-db=' + SB_DB,
        '--pidfile=/run/ovn/ovn-northd.pid'])
    vsctl(tier, 'set', 'open_vswitch', '.',
          'external-ids:system-id=%s' % CHASSIS,
          'external-ids:hostname=%s' % tier_mod.COMPUTE_HOST,
          'external-ids:ovn-remote=%s' % SB_DB,
          'external-ids:ovn-encap-type=geneve',
          'external-ids:ovn-encap-ip=127.0.0.1',
          'external-ids:ovn-bridge-datapath-type=netdev',
          'external-ids:ovn-bridge-mappings=%s:br-ex' % PHYSNET,
          'external-ids:ovn-cms-options=enable-chassis-as-gw')
    controller = tier.daemon('ovn-controller', [
        'ovn-controller', OVS_DB, '--pidfile=/run/ovn/ovn-controller.pid'])
    controller.wait_until(
        lambda: CHASSIS in sbctl(tier, '--bare', '--columns=name', 'list',
                                 'chassis'),
        'its chassis in the southbound database', 60)


def vsctl(tier, *args):
    return tier.run(['ovs-vsctl', '--db=' + OVS_DB, '--timeout=30'] +
                    list(args), 'ovs-vsctl %s' % ' '.join(args))


def sbctl(tier, *args):
    return tier.run(['ovn-sbctl', '--db=' + SB_DB, '--timeout=30'] +
                    list(args), 'ovn-sbctl %s' % ' '.join(args))


def nbctl(tier, *args):
    return tier.run(['ovn-nbctl', '--db=' + NB_DB, '--timeout=30'] +
                    list(args), 'ovn-nbctl %s' % ' '.join(args))

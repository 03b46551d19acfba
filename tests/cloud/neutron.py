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

"""Neutron with ML2/OVN: the API behind uWSGI and its worker services.

Neutron 29 has no eventlet ``neutron-server`` any more: the API is a WSGI
application, periodic tasks run in ``neutron-periodic-workers`` and the
OVN database maintenance in ``neutron-ovn-maintenance-worker``.  No agent
runs: OVN does DHCP, routing and NAT itself.  Neutron tells Nova about
port status changes (``network-vif-plugged``) and floating IP changes
(``network-changed``) through Nova's API.
"""

import glob
import os
import shutil

from tests.cloud import ini
from tests.cloud import ovn
from tests.cloud import tier as tier_mod
from tests.cloud import wsgi

CONFIG_ARGS = ['--config-file', '/etc/neutron/neutron.conf',
               '--config-file', '/etc/neutron/plugins/ml2/ml2_conf.ini']


def configure(tier):
    os.makedirs('/etc/neutron/plugins/ml2', exist_ok=True)
    for paste in glob.glob(os.path.join(tier_mod.VENV, 'etc', 'neutron',
                                        'api-paste.ini')):
        shutil.copy(paste, '/etc/neutron/')
    ini.write('/etc/neutron/neutron.conf', {
        'DEFAULT': {
            'debug': False,
            'core_plugin': 'ml2',
            'service_plugins': 'ovn-router',
            'auth_strategy': 'keystone',
            'transport_url': tier_mod.TRANSPORT_URL,
            'state_path': tier.dir('neutron', 'state'),
            'api_paste_config': '/etc/neutron/api-paste.ini',
            'notify_nova_on_port_status_changes': True,
            'notify_nova_on_port_data_changes': True,
            'api_workers': 1,
            'rpc_workers': 0,
        },
        'database': {'connection': tier_mod.db_url('neutron')},
        'keystone_authtoken': tier_mod.authtoken('neutron'),
        'nova': tier_mod.service_client('nova'),
        'placement': tier_mod.service_client('placement'),
        'oslo_concurrency': {'lock_path': tier.dir('neutron', 'locks')},
        'ml2': {
            'type_drivers': 'flat,geneve',
            'tenant_network_types': 'geneve',
            'mechanism_drivers': 'ovn',
            'extension_drivers': 'port_security',
            'overlay_ip_version': 4,
        },
        'ml2_type_geneve': {'vni_ranges': '1:65536',
                            'max_header_size': 38},
        'ml2_type_flat': {'flat_networks': ovn.PHYSNET},
        'ovn': {
            'ovn_nb_connection': ovn.NB_DB,
            'ovn_sb_connection': ovn.SB_DB,
            'ovn_metadata_enabled': False,
            'enable_distributed_floating_ip': False,
        },
        'securitygroup': {'enable_security_group': True},
    })
    # Everything is in neutron.conf; the WSGI entry point reads this too.
    ini.write('/etc/neutron/plugins/ml2/ml2_conf.ini', {})


def prepare_database(tier):
    tier.run([os.path.join(tier_mod.BIN, 'neutron-db-manage')] +
             CONFIG_ARGS + ['upgrade', 'heads'],
             'neutron-db-manage upgrade heads', timeout=1200)


def start(tier):
    api = wsgi.start(tier, 'neutron-api', 'neutron.wsgi.api',
                     tier_mod.PORTS['neutron'],
                     pyargv=' '.join(CONFIG_ARGS))
    for name in ('neutron-periodic-workers',
                 'neutron-ovn-maintenance-worker'):
        tier.daemon(name, [os.path.join(tier_mod.BIN, name)] + CONFIG_ARGS)
    return api

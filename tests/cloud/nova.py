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

"""Nova 34: nova-api (uWSGI), conductor, scheduler and nova-compute.

One ``/etc/nova/nova.conf`` for every service of this all-in-one cloud,
as devstack writes it: the tier writes what any Nova deployment needs,
then our devstack plugin adds the plugin's part (the compute driver, the
power-metrics share, the scheduler filter), exactly as in a devstack
cloud.  Two cells: cell0 and cell1, one conductor for both.

nova-compute runs as root (like every process of the tier) but reaches
root privileges as production does: its privsep daemons, Nova's and the
plugin's, are started through ``sudo nova-rootwrap /etc/nova/rootwrap.conf
privsep-helper ...``, with Nova's rootwrap configuration and our filter in
``/etc/nova/rootwrap.d``, and a sudoers rule for the virtual environment's
``nova-rootwrap`` (``/etc`` being the tier's overlay).
"""

import glob
import os
import shutil

from tests.cloud import devstack
from tests.cloud import ini
from tests.cloud import ovn
from tests.cloud import process
from tests.cloud import tier as tier_mod
from tests.cloud import wsgi

NOVA_CONF = '/etc/nova/nova.conf'
# nova-compute's own copy, without database credentials, as devstack makes
# it: nova-compute must reach the databases through the conductor only.
COMPUTE_CONF = '/etc/nova/nova-cpu.conf'
ROOTWRAP_CONF = '/etc/nova/rootwrap.conf'
#: Short, so that tier scenarios see the reconciler act within seconds.
RECONCILE_INTERVAL = 5


def _install_rootwrap():
    os.makedirs('/etc/nova/rootwrap.d', exist_ok=True)
    shutil.copy(os.path.join(tier_mod.VENV, 'etc', 'nova', 'api-paste.ini'),
                '/etc/nova/')
    for filters in glob.glob(os.path.join(tier_mod.VENV, 'etc', 'nova',
                                          'rootwrap.d', '*.filters')):
        shutil.copy(filters, '/etc/nova/rootwrap.d/')
    # privsep-helper lives in the virtual environment.
    ini.write(ROOTWRAP_CONF, {'DEFAULT': {
        'filters_path': '/etc/nova/rootwrap.d',
        'exec_dirs': ','.join([tier_mod.BIN, '/sbin', '/usr/sbin', '/bin',
                               '/usr/bin']),
        'use_syslog': False,
    }})
    os.makedirs('/etc/sudoers.d', exist_ok=True)
    path = '/etc/sudoers.d/ndm-cloud-nova-rootwrap'
    with open(path, 'w') as f:
        f.write('Defaults:root secure_path="%s:/usr/local/sbin:'
                '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
                'root ALL = (root) NOPASSWD: %s/nova-rootwrap %s *\n'
                % (tier_mod.BIN, tier_mod.BIN, ROOTWRAP_CONF))
    os.chmod(path, 0o440)


def base_config(tier):
    """What any all-in-one Nova 34 on this cloud needs, plugin aside."""
    return {
        'DEFAULT': {
            'debug': True,
            'host': tier_mod.COMPUTE_HOST,
            'my_ip': '127.0.0.1',
            'state_path': tier.dir('nova', 'state'),
            'instances_path': tier.dir('nova', 'instances'),
            'transport_url': tier_mod.TRANSPORT_URL,
            'compute_driver': 'libvirt.LibvirtDriver',
            'rootwrap_config': ROOTWRAP_CONF,
            'osapi_compute_workers': 1,
            'metadata_workers': 1,
            'shutdown_timeout': 30,
            # NOTE: Nova 34's nova-compute never finishes a graceful
            # shutdown in native threading mode: cleanup_host waits for its
            # default thread pool, one of whose threads is the libvirt
            # connection-event loop, which never returns.  The service
            # then exits when graceful_shutdown_timeout (180 s) expires.
            # The tier restarts nova-compute, so it shortens both; what
            # stops nova-compute cleanly (the driver's cleanup_host) is
            # done within the first second.
            'graceful_shutdown_timeout': 5,
            'manager_shutdown_timeout': 3,
        },
        'wsgi': {'api_paste_config': '/etc/nova/api-paste.ini'},
        'api': {'auth_strategy': 'keystone'},
        'api_database': {'connection': tier_mod.db_url('nova_api')},
        'database': {'connection': tier_mod.db_url('nova_cell1')},
        'keystone_authtoken': tier_mod.authtoken('nova'),
        'service_user': dict(tier_mod.service_client('nova'),
                             send_service_user_token=True),
        'placement': tier_mod.service_client('placement'),
        'neutron': tier_mod.service_client('neutron'),
        'glance': {'region_name': tier_mod.REGION},
        'conductor': {'workers': 1},
        'scheduler': {'workers': 1},
        'oslo_concurrency': {'lock_path': tier.dir('nova', 'locks')},
        'os_vif_ovs': {'ovsdb_connection': ovn.OVS_DB},
        'libvirt': {
            'virt_type': 'qemu',
            'cpu_mode': 'none',
        },
        'vnc': {'enabled': False},
        'spice': {'enabled': False},
        'serial_console': {'enabled': False},
    }


def write_base_config(tier):
    """nova.conf as any Nova needs it: enough for the databases."""
    ini.write(NOVA_CONF, base_config(tier))


def configure(tier, share_dir, share_view_dir, tempest_conf):
    """Rootwrap and sudoers; then the devstack plugin's part of nova.conf."""
    _install_rootwrap()
    env = devstack.environment(tier, share_dir, share_view_dir,
                               tempest_conf)
    devstack.run_phase(tier, env, 'stack', 'install')
    devstack.run_phase(tier, env, 'stack', 'post-config')
    ini.update(NOVA_CONF, 'domain_meta', 'reconcile_interval',
               [str(RECONCILE_INTERVAL)])
    tier.facts['devstack_env'] = {k: env[k] for k in (
        'NOVA_DOMAIN_META_SHARE_DIR', 'NOVA_DOMAIN_META_SHARE_VIEW_DIR',
        'TEMPEST_CONFIG')}
    tier.devstack_env = env
    return env


def write_compute_config(tier, libvirt_uri):
    """nova-cpu.conf: nova.conf less the databases, on our libvirtd."""
    ini.update(NOVA_CONF, 'libvirt', 'connection_uri', [libvirt_uri])
    sections = ini.read(NOVA_CONF)
    for section in ('database', 'api_database'):
        sections.pop(section, None)
    ini.write(COMPUTE_CONF, sections)


def manage(tier, *args, config_files=(NOVA_CONF,), **kwargs):
    argv = [os.path.join(tier_mod.BIN, 'nova-manage')]
    for path in config_files:
        argv += ['--config-file', path]
    return tier.run(argv + list(args), 'nova-manage %s' % ' '.join(args),
                    **kwargs)


def prepare_database(tier):
    """The API database with cell0 and cell1 mapped, and both cells' schema.

    The three at once: ``db sync --local_cell`` needs no cell mapping, so
    each cell's schema is made while the API database is, cell0's through
    a second configuration file naming its database.
    """
    cell0_conf = tier.path('nova', 'cell0-database.conf')
    ini.write(cell0_conf, {'database': {
        'connection': tier_mod.db_url('nova_cell0')}})

    def api_database():
        manage(tier, 'api_db', 'sync')
        manage(tier, 'cell_v2', 'map_cell0', '--database_connection',
               tier_mod.db_url('nova_cell0'))
        manage(tier, 'cell_v2', 'create_cell', '--name', 'cell1',
               '--verbose')
    process.parallel(
        api_database,
        lambda: manage(tier, 'db', 'sync', '--local_cell'),
        lambda: manage(tier, 'db', 'sync', '--local_cell',
                       config_files=(NOVA_CONF, cell0_conf)))


def start_control(tier):
    api = wsgi.start(tier, 'nova-api', 'nova.wsgi.osapi_compute',
                     tier_mod.PORTS['nova'])
    for name in ('nova-conductor', 'nova-scheduler'):
        tier.daemon(name, [os.path.join(tier_mod.BIN, name),
                           '--config-file', NOVA_CONF])
    return api


def start_compute(tier):
    daemon = tier.daemon('nova-compute', [
        os.path.join(tier_mod.BIN, 'nova-compute'),
        '--config-file', COMPUTE_CONF])
    # devstack checks nova-cpu.conf once nova-compute runs.
    devstack.run_phase(tier, tier.devstack_env, 'stack', 'extra')
    return daemon


def discover_hosts(tier):
    return manage(tier, 'cell_v2', 'discover_hosts', '--verbose')

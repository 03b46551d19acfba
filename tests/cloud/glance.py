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

"""Glance with the file store, behind uWSGI."""

import glob
import os
import shutil

from tests.cloud import ini
from tests.cloud import tier as tier_mod
from tests.cloud import wsgi


def configure(tier):
    os.makedirs('/etc/glance', exist_ok=True)
    # The paste pipeline the wheel installs under the environment's prefix.
    for paste in glob.glob(os.path.join(tier_mod.VENV, 'etc', 'glance',
                                        '*-paste.ini')):
        shutil.copy(paste, '/etc/glance/')
    ini.write('/etc/glance/glance-api.conf', {
        'DEFAULT': {
            'debug': False,
            'enabled_backends': 'local:file',
            'worker_self_reference_url': tier_mod.url('glance'),
        },
        'database': {'connection': tier_mod.db_url('glance')},
        'glance_store': {'default_backend': 'local'},
        'local': {'filesystem_store_datadir': tier.dir('glance', 'images')},
        'os_glance_staging_store': {
            'filesystem_store_datadir': tier.dir('glance', 'staging')},
        'os_glance_tasks_store': {
            'filesystem_store_datadir': tier.dir('glance', 'tasks')},
        'keystone_authtoken': tier_mod.authtoken('glance'),
        'paste_deploy': {'flavor': 'keystone'},
        'oslo_concurrency': {'lock_path': tier.dir('glance', 'locks')},
    })


def prepare_database(tier):
    tier.run([os.path.join(tier_mod.BIN, 'glance-manage'), '--config-file',
              '/etc/glance/glance-api.conf', 'db_sync'],
             'glance-manage db_sync')


def start(tier):
    return wsgi.start(tier, 'glance-api', 'glance.wsgi.api',
                      tier_mod.PORTS['glance'],
                      extra=[('http-chunked-input', 'true'),
                             ('http-raw-body', 'true'),
                             ('chunked-input-limit', '10485760')])

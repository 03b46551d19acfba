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

"""Placement, behind uWSGI."""

import os

from tests.cloud import ini
from tests.cloud import tier as tier_mod
from tests.cloud import wsgi


def configure(tier):
    ini.write('/etc/placement/placement.conf', {
        'DEFAULT': {'debug': False},
        'placement_database': {'connection': tier_mod.db_url('placement')},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': tier_mod.authtoken('placement'),
    })


def prepare_database(tier):
    tier.run([os.path.join(tier_mod.BIN, 'placement-manage'), 'db', 'sync'],
             'placement-manage db sync')


def start(tier):
    return wsgi.start(tier, 'placement-api', 'placement.wsgi.api',
                      tier_mod.PORTS['placement'])

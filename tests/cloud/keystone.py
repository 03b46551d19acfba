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

"""Keystone: identity, the service users and the service catalog."""

import functools
import os

from keystoneauth1 import identity
from keystoneauth1 import session as ks_session

from tests.cloud import ini
from tests.cloud import process
from tests.cloud import tier as tier_mod
from tests.cloud import wsgi

# service user and catalog entry (type, name) of every other service
SERVICES = {
    'glance': ('image', 'glance'),
    'placement': ('placement', 'placement'),
    'neutron': ('network', 'neutron'),
    'nova': ('compute', 'nova'),
}
ENDPOINT_PATHS = {'nova': '/v2.1', 'keystone': '/v3'}


def configure(tier):
    ini.write('/etc/keystone/keystone.conf', {
        'DEFAULT': {'debug': False},
        'database': {'connection': tier_mod.db_url('keystone')},
        # bcrypt's lowest cost: tempest creates a user and a token per
        # test class, each hashing or checking a password (1.7 s apiece
        # at the default cost on a busy 2-core machine).
        'identity': {'password_hash_rounds': 4},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': tier.dir('keystone', 'fernet')},
        'credential': {'key_repository': tier.dir('keystone', 'credential')},
    })


def setup_keys(tier):
    """Fernet and credential keys: no database needed."""
    manage = os.path.join(tier_mod.BIN, 'keystone-manage')
    process.parallel(*[
        functools.partial(tier.run, [manage, what, '--keystone-user', 'root',
                                     '--keystone-group', 'root'],
                          'keystone-manage ' + what)
        for what in ('fernet_setup', 'credential_setup')])


def prepare_database(tier):
    """The schema, then the admin, its project and the identity endpoint."""
    manage = os.path.join(tier_mod.BIN, 'keystone-manage')
    tier.run([manage, 'db_sync'], 'keystone-manage db_sync')
    public = tier_mod.url('keystone', '/v3')
    tier.run([manage, 'bootstrap', '--bootstrap-password', tier_mod.PASSWORD,
              '--bootstrap-region-id', tier_mod.REGION,
              '--bootstrap-admin-url', public,
              '--bootstrap-internal-url', public,
              '--bootstrap-public-url', public],
             'keystone-manage bootstrap')


def start(tier):
    return wsgi.start(tier, 'keystone', 'keystone.wsgi.api',
                      tier_mod.PORTS['keystone'], ready_path='/v3')


def admin_session():
    auth = identity.Password(
        auth_url=tier_mod.url('keystone', '/v3'), username='admin',
        password=tier_mod.PASSWORD, project_name='admin',
        user_domain_id='default', project_domain_id='default')
    return ks_session.Session(auth=auth)


def _find_or_create(sess, collection, key, body, **filters):
    found = sess.get('/%s' % collection, endpoint_filter=_IDENTITY,
                     params=filters).json()[collection]
    if found:
        return found[0]
    return sess.post('/%s' % collection, endpoint_filter=_IDENTITY,
                     json={key: body}).json()[key]


_IDENTITY = {'service_type': 'identity', 'interface': 'public'}


def register_services(tier):
    """The service project, users with admin and service roles, catalog."""
    sess = admin_session()
    project = _find_or_create(sess, 'projects', 'project',
                              {'name': 'service', 'domain_id': 'default'},
                              name='service')
    roles = {name: _find_or_create(sess, 'roles', 'role', {'name': name},
                                   name=name)
             for name in ('admin', 'service', 'member', 'reader')}
    for user_name, (stype, sname) in SERVICES.items():
        user = _find_or_create(sess, 'users', 'user', {
            'name': user_name, 'password': tier_mod.PASSWORD,
            'domain_id': 'default'}, name=user_name)
        for role in ('admin', 'service'):
            sess.put('/projects/%s/users/%s/roles/%s' % (
                project['id'], user['id'], roles[role]['id']),
                endpoint_filter=_IDENTITY)
        service = _find_or_create(sess, 'services', 'service', {
            'type': stype, 'name': sname}, type=stype)
        url = tier_mod.url(user_name, ENDPOINT_PATHS.get(user_name, ''))
        for interface in ('public', 'internal'):
            _find_or_create(sess, 'endpoints', 'endpoint', {
                'service_id': service['id'], 'interface': interface,
                'region_id': tier_mod.REGION, 'url': url},
                service_id=service['id'], interface=interface)

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

"""MariaDB from Debian's package, data in the tier's directory.

Started in the foreground as root with ``--no-defaults`` (Debian's
``/etc/mysql`` is never read), listening on the namespace's loopback.
"""

import os

from tests.cloud import tier as tier_mod

DATABASES = ('keystone', 'glance', 'placement', 'neutron', 'nova_api',
             'nova_cell0', 'nova_cell1')


def start(tier):
    data = tier.dir('mysql', 'data')
    run = tier.dir('mysql', 'run')
    tier.run(['mariadb-install-db', '--no-defaults', '--datadir=' + data,
              '--user=root', '--auth-root-authentication-method=socket',
              '--skip-test-db'], 'initialising MariaDB')
    sock = os.path.join(run, 'mysqld.sock')
    daemon = tier.daemon('mariadb', [
        'mariadbd', '--no-defaults', '--datadir=' + data, '--user=root',
        '--socket=' + sock, '--pid-file=' + os.path.join(run, 'mysqld.pid'),
        '--bind-address=127.0.0.1', '--port=%d' % tier_mod.PORTS['mysql'],
        '--skip-name-resolve', '--max-connections=1000',
        '--innodb-buffer-pool-size=256M', '--innodb-flush-log-at-trx-commit=0',
        '--skip-log-bin', '--character-set-server=utf8mb3',
        '--collation-server=utf8mb3_general_ci'])
    daemon.wait_until(lambda: os.path.exists(sock), 'its socket', 120)
    statements = ["CREATE USER 'openstack'@'127.0.0.1' IDENTIFIED BY '%s'"
                  % tier_mod.PASSWORD,
                  "GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'127.0.0.1'"]
    statements += ['CREATE DATABASE %s CHARACTER SET utf8' % db
                   for db in DATABASES]
    daemon.wait_until(
        lambda: _sql(tier, sock, 'SELECT 1') is not None, 'SQL', 60)
    _sql(tier, sock, ';\n'.join(statements))
    tier.facts['mysql_socket'] = sock
    return daemon


def _sql(tier, sock, sql):
    return tier.run(['mariadb', '--socket=' + sock, '-uroot', '-e', sql],
                    'running SQL on MariaDB')

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

"""RabbitMQ from Debian's package, without systemd, as root.

Debian's ``/usr/sbin/rabbitmq-server`` changes to the ``rabbitmq`` user
and its state in ``/var/lib/rabbitmq``; the tier runs the server script
underneath it with every path pointed into the tier's directory.  epmd
(Erlang's port mapper, normally started in the background by the first
Erlang node) is started by the tier first, so that it too is a process the
tier started and stops.  Everything listens on loopback only.
"""

import os

from tests.cloud import process
from tests.cloud import tier as tier_mod

RABBIT_BIN = '/usr/lib/rabbitmq/bin'


def environment(tier):
    base = tier.dir('rabbitmq')
    env = dict(os.environ)
    env.update({
        'HOME': tier.dir('rabbitmq', 'home'),
        'RABBITMQ_NODENAME': 'rabbit@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
        'RABBITMQ_NODE_PORT': str(tier_mod.PORTS['rabbit']),
        'RABBITMQ_DIST_PORT': '25672',
        'RABBITMQ_MNESIA_BASE': tier.dir('rabbitmq', 'mnesia'),
        'RABBITMQ_LOG_BASE': tier.dir('rabbitmq', 'log'),
        'RABBITMQ_PID_FILE': os.path.join(base, 'rabbitmq.pid'),
        'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(base,
                                                      'advanced.config'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(base,
                                                      'enabled_plugins'),
        'RABBITMQ_CONF_ENV_FILE': os.path.join(base, 'rabbitmq-env.conf'),
        'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
            '-kernel inet_dist_use_interface {127,0,0,1}',
        'ERL_EPMD_ADDRESS': '127.0.0.1',
    })
    return env


def start(tier):
    env = environment(tier)
    base = tier.path('rabbitmq')
    # The broker makes its one user on first boot: no rabbitmqctl (an
    # Erlang VM start each, seconds of CPU) after it.
    conf = ('loopback_users = none\nlog.console = true\nlog.file = false\n'
            'default_vhost = /\ndefault_user = openstack\n'
            'default_pass = %s\ndefault_permissions.configure = .*\n'
            'default_permissions.read = .*\n'
            'default_permissions.write = .*\n' % tier_mod.PASSWORD)
    for name, text in (('rabbitmq.conf', conf),
                       ('enabled_plugins', '[].\n'),
                       ('rabbitmq-env.conf', ''),
                       ('advanced.config', '[].\n')):
        with open(os.path.join(base, name), 'w') as f:
            f.write(text)
    epmd = tier.daemon('epmd', ['epmd', '-address', '127.0.0.1'], env=env)
    epmd.wait_until(lambda: process.tcp_open(4369), 'its port', 30)
    daemon = tier.daemon('rabbitmq', [os.path.join(RABBIT_BIN,
                                                   'rabbitmq-server')],
                         env=env)
    # The AMQP listener opens last, when the broker has booted.
    daemon.wait_until(lambda: process.tcp_open(tier_mod.PORTS['rabbit']),
                      'its AMQP port', 180)
    return daemon

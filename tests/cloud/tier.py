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

"""What every part of the tier shares: paths, addresses, credentials.

One :class:`Tier` per run.  Everything it makes lives below ``root`` (a
private directory in /tmp) or in the tier's own mount and network
namespaces (:mod:`tests.cloud.namespace`): ``/etc`` seen by the tier's
processes is an overlay whose changes stay in ``root/etc-upper``, ``/run``
a private tmpfs, and every port is on the loopback interface of the
tier's own network namespace.
"""

import json
import os
import sys
import threading
import time

from tests.cloud import process

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The virtual environment the tier runs from holds every Python service.
BIN = os.path.dirname(os.path.abspath(sys.executable))
VENV = os.path.dirname(BIN)

PASSWORD = 'ndm-cloud-secret'
REGION = 'RegionOne'
# nova-compute's [DEFAULT] host and the OVN chassis hostname: Neutron binds
# a port to the chassis whose hostname is the compute host's name.
COMPUTE_HOST = 'ndm-cloud-compute'

PORTS = {
    'keystone': 5000,
    'glance': 9292,
    'placement': 8778,
    'neutron': 9696,
    'nova': 8774,
    'mysql': 3306,
    'rabbit': 5672,
}


def url(service, path=''):
    return 'http://127.0.0.1:%d%s' % (PORTS[service], path)


def db_url(name):
    return ('mysql+pymysql://openstack:%s@127.0.0.1:%d/%s?charset=utf8'
            % (PASSWORD, PORTS['mysql'], name))


TRANSPORT_URL = 'rabbit://openstack:%s@127.0.0.1:%d/' % (PASSWORD,
                                                         PORTS['rabbit'])


def authtoken(user):
    """keystonemiddleware and service-client options for ``user``."""
    return {
        'www_authenticate_uri': url('keystone'),
        'auth_url': url('keystone'),
        'auth_type': 'password',
        'username': user,
        'password': PASSWORD,
        'project_name': 'service',
        'user_domain_name': 'Default',
        'project_domain_name': 'Default',
        'region_name': REGION,
    }


def service_client(user):
    """keystoneauth options a service uses to call another service."""
    opts = authtoken(user)
    del opts['www_authenticate_uri']
    return opts


class Tier(object):
    """Paths and running processes of one run of the tier."""

    def __init__(self, root):
        self.root = root
        self.log_dir = self.path('log')
        os.makedirs(self.log_dir, exist_ok=True)
        self.daemons = []
        self.timings = []
        self.facts = {}
        self._lock = threading.Lock()
        self.load = LoadSampler()

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def dir(self, *parts):
        path = self.path(*parts)
        os.makedirs(path, exist_ok=True)
        return path

    def daemon(self, name, argv, env=None, cwd=None):
        """Start ``argv`` as daemon ``name``; it is stopped at teardown."""
        daemon = process.Daemon(name, argv, self.log_dir, env=env, cwd=cwd)
        with self._lock:
            self.daemons.append(daemon)
        return daemon.start()

    def find(self, name):
        for daemon in self.daemons:
            if daemon.name == name:
                return daemon
        raise KeyError(name)

    def run(self, argv, what, **kwargs):
        kwargs.setdefault('log', self.path('log', 'commands.log'))
        return process.run(argv, what, **kwargs)

    def step(self, name, started):
        """Record and print how long ``name`` took since ``started``."""
        return self.record(name, time.monotonic() - started)

    def record(self, name, took):
        with self._lock:
            self.timings.append((name, took))
        print('cloud: %-40s %6.1f s' % (name, took), flush=True)
        return took

    def save_facts(self):
        """Write what scenario tests need to find the cloud."""
        with open(self.path('facts.json'), 'w') as f:
            json.dump(self.facts, f, indent=1, sort_keys=True)


class LoadSampler(object):
    """The machine's 1-minute load average, sampled every 15 s.

    The tier's timings mean little without it: the machine is often
    shared with other work.
    """

    INTERVAL = 15

    def __init__(self):
        self.samples = [os.getloadavg()[0]]
        thread = threading.Thread(target=self._sample, daemon=True,
                                  name='ndm-cloud-load')
        thread.start()

    def _sample(self):
        while True:
            time.sleep(self.INTERVAL)
            self.samples.append(os.getloadavg()[0])

    def mean(self):
        return '%.1f (%d samples, max %.1f)' % (
            sum(self.samples) / len(self.samples), len(self.samples),
            max(self.samples))

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

"""The APIs behind uWSGI, the WSGI server OpenStack's services document.

Each API gets a uWSGI master with its workers, serving HTTP itself
(``http-socket``) on the namespace's loopback, the WSGI module the
service ships (``keystone.wsgi.api`` and so on) and, where the service
reads its command line (Neutron), ``pyargv``.  uWSGI comes from the
``pyuwsgi`` wheel, so it runs the virtual environment's own Python.
"""

import os

from tests.cloud import process
from tests.cloud import tier as tier_mod


def start(tier, name, module, port, processes=1, threads=4, pyargv=None,
          extra=None, ready_path='/'):
    """Start ``module:application`` behind uWSGI; wait until it answers."""
    options = [
        ('http-socket', '127.0.0.1:%d' % port),
        ('module', '%s:application' % module),
        ('master', 'true'),
        ('processes', str(processes)),
        ('threads', str(threads)),
        ('enable-threads', 'true'),
        ('need-app', 'true'),
        # Every worker loads the application itself: no sockets or
        # database connections are shared across a fork.
        ('lazy-apps', 'true'),
        ('die-on-term', 'true'),
        ('hook-master-start', 'unix_signal:15 gracefully_kill_them_all'),
        ('worker-reload-mercy', '10'),
        ('buffer-size', '65535'),
        ('add-header', 'Connection: close'),
        ('procname-prefix', 'ndm-cloud-%s ' % name),
    ] + list(extra or [])
    if pyargv:
        options.append(('pyargv', pyargv))
    path = tier.path('uwsgi', '%s.ini' % name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('[uwsgi]\n')
        for key, value in options:
            f.write('%s = %s\n' % (key, value))
    daemon = tier.daemon(name, [os.path.join(tier_mod.BIN, 'uwsgi'),
                                '--ini', path])
    url = 'http://127.0.0.1:%d%s' % (port, ready_path)
    daemon.wait_until(lambda: process.http_answers(url),
                      'an HTTP answer at %s' % url, 300, interval=0.5)
    return daemon

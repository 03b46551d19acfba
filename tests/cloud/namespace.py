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

"""The tier's own network and mount namespaces.

The tier re-runs itself under ``unshare --net --mount`` before it starts
anything, so that:

* every service listens on the loopback interface of a network namespace
  nobody else uses (standard ports, no clash with other work on the
  machine, nothing reachable from outside), and Open vSwitch's bridges and
  the guests' tap devices exist only there;
* ``/etc`` is an overlay of the host's: services find their configuration
  where production keeps it (``/etc/nova/nova.conf``, which Nova's
  rootwrap filters expect), and nothing is written into the host's
  ``/etc``;
* ``/run`` is a private tmpfs: Open vSwitch's and OVN's sockets sit at
  their default paths (libvirt's ``ovs-vsctl`` calls use those);
* ``/sys`` shows the namespace's own network devices (the cgroup
  hierarchies the host mounted below it are carried over for libvirt).

All of it disappears with the last process of the namespaces.
"""

import os
import subprocess
import sys

from tests.cloud import process

INSIDE_FLAG = '--inside-namespaces'


def reexec_inside(argv):
    """Replace this process by the tier running in new namespaces."""
    os.execvp('unshare', [
        'unshare', '--net', '--mount', '--propagation', 'private',
        '--fork', '--kill-child', '--', sys.executable, '-m',
        'tests.cloud.run', INSIDE_FLAG] + list(argv))


def _sh(*argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode:
        raise process.TierError('preparing the namespaces: %s failed: %s'
                                % (' '.join(argv), proc.stdout.strip()))


def prepare(tier):
    """Loopback up, private /run, /etc overlay, the namespace's /sys."""
    _sh('ip', 'link', 'set', 'lo', 'up')
    _sh('mount', '-t', 'tmpfs', '-o', 'mode=0755,size=256m',
        'ndm-cloud-run', '/run')
    upper, work = tier.dir('etc-upper'), tier.dir('etc-work')
    _sh('mount', '-t', 'overlay', 'ndm-cloud-etc', '-o',
        'lowerdir=/etc,upperdir=%s,workdir=%s' % (upper, work), '/etc')
    cgroup = tier.dir('host-cgroup')
    _sh('mount', '--rbind', '/sys/fs/cgroup', cgroup)
    _sh('mount', '-t', 'sysfs', 'ndm-cloud-sys', '/sys')
    _sh('mount', '--move', cgroup, '/sys/fs/cgroup')


def share_mounts_below(path):
    """Make ``path`` a shared mount: mounts below it reach child namespaces.

    libvirtd runs in a mount namespace made from the tier's (a slave of
    it, see :mod:`tests.real.daemon`), so the read-only views nova-compute
    makes below ``path`` are seen by libvirtd and its virtiofsd, as they
    are on a host where both share one mount namespace.
    """
    _sh('mount', '--bind', path, path)
    _sh('mount', '--make-shared', path)


def unmount_below(path):
    """Unmount ``path`` and everything mounted below it, deepest first."""
    points = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            point = line.split()[4]
            if point == path or point.startswith(path + '/'):
                points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        subprocess.run(['umount', '--lazy', point], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

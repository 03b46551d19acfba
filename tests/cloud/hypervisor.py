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

"""The real tier's private libvirtd + virtlogd + QEMU (TCG).

:class:`tests.real.daemon.LibvirtDaemonFixture` as it is: libvirtd in a
mount namespace of its own (a child of the tier's), its state directories
private, its socket at ``<tmp>/sock/libvirt-sock``.  Mounts made below the
tier's directory (a shared mount, see
:func:`tests.cloud.namespace.share_mounts_below`) reach that namespace, so
nova-compute's ``share_view_dir`` lies there: the deployment the install
guide describes for libvirtd in a container of its own
(``share_view_dir`` on a mount shared with libvirtd).

Guests of two private daemons with the same domain name would clash in
the shared cgroup tree, so the tier holds ``/tmp/ndm-hypervisor.lock``
from before its first guest starts until the daemon has stopped.
Starting the daemon and nova-compute (whose start-up probe defines a
domain but never starts it) needs no lock.  When a process the tier runs
under already holds it (tools/run-tests.sh runs ``flock LOCK tox -e
cloud``), the tier runs under that lock: taking it again, on a file
description of its own, would wait for its own parent for ever.
"""

import fcntl
import os
import time

from tests.cloud import process
from tests.real import daemon as daemon_mod

LOCK = '/tmp/ndm-hypervisor.lock'


class Hypervisor(object):

    def __init__(self, tier):
        self.tier = tier
        self.fixture = None
        self._lock = None

    def hold_lock(self):
        """Take the hypervisor lock before the first guest starts.

        Returns how long it waited for it: other work's guests, not the
        tier's own time.
        """
        started = time.monotonic()
        holder = held_by_ancestor(LOCK)
        if holder:
            print('cloud: %s is held by pid %d, which runs this tier'
                  % (LOCK, holder), flush=True)
            return 0.0
        self._lock = open(LOCK, 'a')
        # Blocking, so that we queue like flock(1) users do.
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        if process.STOPPING.is_set():
            raise process.TierError('stopped while waiting for %s' % LOCK)
        return time.monotonic() - started

    def start(self):
        self.fixture = daemon_mod.LibvirtDaemonFixture(base_dir=self.tier.root)
        self.fixture.setUp()
        self.tier.facts['libvirt_uri'] = self.fixture.uri
        self.tier.facts['libvirt_pids'] = self.fixture.pids
        return self.fixture

    @property
    def uri(self):
        return self.fixture.uri

    def stop(self):
        try:
            if self.fixture is not None:
                self.fixture.cleanUp()
        finally:
            if self._lock is not None:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self._lock.close()
                self._lock = None


def ancestors(pid=None):
    """The pids of ``pid``'s parent, its parent's parent... up to init."""
    pid = os.getpid() if pid is None else pid
    found = []
    while pid > 1:
        with open('/proc/%d/stat' % pid) as f:
            # "pid (comm) state ppid ...": comm may hold spaces, ')' too.
            pid = int(f.read().rsplit(')', 1)[1].split()[1])
        found.append(pid)
    return found


def held_by_ancestor(path, locks_file='/proc/locks', pid=None):
    """The pid of an ancestor holding an flock on ``path``, or None.

    /proc/locks names each lock's holder and file as
    ``FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode>`` (major and minor
    in hex).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    wanted = '%02x:%02x:%d' % (os.major(st.st_dev), os.minor(st.st_dev),
                               st.st_ino)
    holders = set()
    with open(locks_file) as f:
        for line in f:
            fields = line.split()
            # "1: FLOCK ADVISORY WRITE 123 fe:00:456 0 EOF"; a waiter's
            # line starts "1: -> FLOCK ...".
            if fields[1:2] == ['FLOCK'] and fields[5:6] == [wanted]:
                holders.add(int(fields[4]))
    for ancestor in ancestors(pid):
        if ancestor in holders:
            return ancestor
    return None

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

"""Which mounts the libvirt daemon sees, and so what virtiofsd will serve.

libvirtd (or virtqemud) starts virtiofsd in its own mount namespace, which
in containerised deployments is not nova-compute's.  A view nova-compute
mounted read-only is only served read-only if the mount reached that
namespace; this module reads the daemon's mount table to find out.

The daemon is found through the socket nova-compute talks to: the process
that listens on it (``SO_PEERCRED`` of a fresh connection) or, when
systemd listens for it (socket activation), that process's child named
``libvirtd`` or ``virtqemud``.  ``/proc/<pid>/mountinfo`` is readable by
any user, so none of this needs privileges.  It cannot work when the
daemon is in another PID namespace (its PID is then invisible here) or
behind a remote URI; :func:`find` then says why and the caller must rely
on the operator (the admin guide says what to check).
"""

import os
import socket
import struct
from urllib import parse

from nova_domain_meta.share import linux

DAEMON_NAMES = ('libvirtd', 'virtqemud')

#: Where ``qemu:///system`` connects, in the order libvirt's client tries
#: (the modular daemon's socket first).
SYSTEM_SOCKETS = ('/run/libvirt/virtqemud-sock', '/run/libvirt/libvirt-sock')


class NotFound(Exception):
    """The daemon's mount namespace cannot be read from here."""


def sockets_of(uri):
    """Local socket paths the libvirt ``uri`` may connect to."""
    parsed = parse.urlsplit(uri)
    transport = parsed.scheme.partition('+')[2]
    if transport not in ('', 'unix') or parsed.netloc:
        raise NotFound('%s is not a local connection' % uri)
    query = parse.parse_qs(parsed.query)
    if 'socket' in query:
        return [query['socket'][0]]
    if parsed.path != '/system':
        raise NotFound('%s is not a system connection' % uri)
    return list(SYSTEM_SOCKETS)


def _listener(path):
    """PID of the process that listens on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        creds = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                             struct.calcsize('3i'))
    return struct.unpack('3i', creds)[0]


def _name(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def _children(parent):
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                # The name is in parentheses and may hold spaces.
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def find(uri):
    """PIDs of the libvirt daemons serving ``uri``.

    :raises NotFound: with the reason, when they cannot be found here
    """
    why = []
    for path in sockets_of(uri):
        try:
            pid = _listener(path)
        except OSError as e:
            why.append('%s: %s' % (path, e.strerror or e))
            continue
        if pid <= 0:
            why.append('the process listening on %s is in another PID '
                       'namespace' % path)
            continue
        if _name(pid) in DAEMON_NAMES:
            return [pid]
        # Socket activation: systemd listens, its child serves.
        daemons = [child for child in _children(pid)
                   if _name(child) in DAEMON_NAMES]
        if daemons:
            return daemons
        why.append('no %s serves %s (listener: pid %d, %s)' % (
            ' or '.join(DAEMON_NAMES), path, pid, _name(pid)))
    raise NotFound('; '.join(why))


def readonly_in(pids, paths):
    """``{path: True/False}``: a read-only mount point in every daemon?"""
    tables = [linux.mount_table(pid) for pid in pids]
    result = {}
    for path in paths:
        point = os.path.normpath(path)
        result[path] = all('ro' in table.get(point, ()) for table in tables)
    return result

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

"""Commands run inside a guest over SSH, and what their output means."""

import shlex

WRITE_PROBE = 'nova-domain-meta-write-probe'


def mount_command(tag, mount_point):
    """Mount the virtiofs share ``tag`` at ``mount_point``."""
    return 'sudo mkdir -p {mp} && sudo mount -t virtiofs {tag} {mp}'.format(
        mp=shlex.quote(mount_point), tag=shlex.quote(tag))


def write_command(mount_point):
    """Try to create a file in the share; must fail."""
    target = shlex.quote('%s/%s' % (mount_point.rstrip('/'), WRITE_PROBE))
    return 'sudo sh -c %s' % shlex.quote('echo x > %s' % target)


def mount_type(proc_mounts, mount_point):
    """File system type mounted at ``mount_point`` per /proc/mounts."""
    found = None
    for line in proc_mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == mount_point:
            found = fields[2]    # the last mount on a point is visible
    return found


def write_refused_read_only(error_output):
    """Whether a failed write failed because the file system is read-only."""
    return 'Read-only file system' in error_output

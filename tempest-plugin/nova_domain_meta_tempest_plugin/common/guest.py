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


# -- the same check, run by the guest itself at boot -----------------------
#
# Where tempest cannot SSH to guests, an image can run the check at boot
# and print the results on its serial console, which Nova keeps as the
# server's console log: the test reads them through the compute API.  The
# lines name the guest's SMBIOS UUID (Nova's instance UUID) so that a test
# never reads another boot's results.

CONSOLE_MARK = 'NDM-CHECK-'
CONSOLE_DONE = CONSOLE_MARK + 'DONE'


def console_check_script(tag, mount_point):
    """A busybox-compatible shell script an image runs at boot.

    It mounts the virtiofs share ``tag`` at ``mount_point``, tries a write
    into it and prints ``NDM-CHECK-UUID``, ``NDM-CHECK-MOUNT``,
    ``NDM-CHECK-WRITE`` and ``NDM-CHECK-DONE`` lines on its console.
    """
    mp = shlex.quote(mount_point)
    probe = shlex.quote('%s/%s' % (mount_point.rstrip('/'), WRITE_PROBE))
    return '\n'.join([
        'ndm_report() { echo "%s$1: $2"; }' % CONSOLE_MARK,
        'ndm_report UUID "$(cat /sys/class/dmi/id/product_uuid '
        '2>/dev/null)"',
        'mkdir -p %s' % mp,
        'out=$(mount -t virtiofs %s %s 2>&1); rc=$?' % (
            shlex.quote(tag), mp),
        'type=$(awk -v mp=%s \'$2 == mp { t = $3 } END { print t }\' '
        '/proc/mounts)' % mp,
        'ndm_report MOUNT "rc=$rc type=${type:--} $out"',
        'out=$( (echo x > %s) 2>&1 ); rc=$?' % probe,
        'ndm_report WRITE "rc=$rc $out"',
        'ndm_report DONE ok',
        '',
    ])


def parse_console_check(output):
    """The results of :func:`console_check_script` in a console log.

    Returns ``{'uuid', 'mount_rc', 'mount_type', 'mount_output',
    'write_rc', 'write_output'}`` from the last complete report, or None
    while no report is complete.
    """
    report = None
    current = {}
    for line in (output or '').splitlines():
        line = line.rstrip('\r')
        if CONSOLE_MARK not in line:
            continue
        key, _sep, value = line.split(CONSOLE_MARK, 1)[1].partition(': ')
        if key == 'UUID':
            current = {'uuid': value.strip().lower()}
        elif key in ('MOUNT', 'WRITE'):
            fields = value.split(' ', 2 if key == 'MOUNT' else 1)
            name = key.lower()
            current['%s_rc' % name] = fields[0].partition('=')[2]
            if key == 'MOUNT':
                current['mount_type'] = fields[1].partition('=')[2] \
                    if len(fields) > 1 else ''
            current['%s_output' % name] = fields[-1] if len(fields) > (
                2 if key == 'MOUNT' else 1) else ''
        elif key == 'DONE' and 'uuid' in current:
            report = current
            current = {}
    return report

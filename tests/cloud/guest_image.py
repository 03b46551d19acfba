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

"""The real tier's tiny guest as a Glance image (AMI style).

Glance holds three images, the way EC2-style images are kept: the kernel
(``aki``), the initramfs (``ari``) and a one-MiB blank machine image
(``ami``) whose ``kernel_id``/``ramdisk_id`` properties name the other
two; Nova's libvirt driver boots the kernel directly with
``os_command_line`` as its command line.  The guest never needs its disk
or its network.

At boot the guest runs the tempest plugin's console check
(:func:`nova_domain_meta_tempest_plugin.common.guest.console_check_script`)
for the share's tag: it prints its SMBIOS UUID (Nova's instance UUID),
what ``mount -t virtiofs`` of the share gave and what a write into it
returned, on ttyS0, which Nova keeps as the server's console log.  Then it
waits for an ACPI shutdown request (stop, soft reboot, delete) and powers
off.
"""

import os

from nova_domain_meta_tempest_plugin.common import guest as guest_check

from tests.real import tiny_guest

BLANK_DISK_BYTES = 1024 * 1024
WAIT_FOREVER = '''
# Stay up until Nova asks for a shutdown, then let /init power off.
while ! wait_for_shutdown_request 3600; do :; done
'''


def build_files(tier, tag, mount_point):
    """Kernel, initrd and blank disk for the image; return their paths."""
    built = tiny_guest.build()
    workdir = tier.dir('image')
    script = guest_check.console_check_script(tag, mount_point)
    initrd = built.initrd_with_script(script + WAIT_FOREVER,
                                      os.path.join(workdir, 'initrd'))
    disk = os.path.join(workdir, 'blank.img')
    with open(disk, 'wb') as f:
        f.truncate(BLANK_DISK_BYTES)
    return {'kernel': built.kernel, 'initrd': initrd, 'disk': disk,
            'cmdline': built.cmdline, 'release': built.release}


def _upload(cloud, name, path, disk_format, properties=None):
    body = {'name': name, 'disk_format': disk_format,
            'container_format': disk_format, 'visibility': 'public'}
    body.update(properties or {})
    image = cloud.post('image', '/v2/images', body)
    with open(path, 'rb') as f:
        cloud.call('PUT', 'image', '/v2/images/%s/file' % image['id'],
                   data=f.read(), headers={
                       'Content-Type': 'application/octet-stream'})
    return image['id']


def upload(cloud, files, name='ndm-tiny-guest'):
    """Upload the three images; return the machine image's ID."""
    kernel = _upload(cloud, name + '-kernel', files['kernel'], 'aki')
    ramdisk = _upload(cloud, name + '-initrd', files['initrd'], 'ari')
    return _upload(cloud, name, files['disk'], 'ami', {
        'kernel_id': kernel, 'ramdisk_id': ramdisk,
        'os_command_line': files['cmdline'],
        'hw_machine_type': 'pc',
    })

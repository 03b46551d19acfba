#!/bin/bash
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
#
# Install the Debian packages the real-hypervisor test tier (tests/real)
# runs on.  Idempotent: packages already installed are left alone, and
# `apt-get update` runs only when something is missing.
#
# What each package is for:
#   libvirt-daemon              libvirtd and virtlogd
#   libvirt-daemon-driver-qemu  the qemu connection driver libvirtd loads
#   qemu-system-x86             qemu-system-x86_64 (TCG, or KVM if usable)
#   qemu-system-common          /usr/lib/qemu/virtiofsd (bookworm has no
#                               separate virtiofsd package)
#   seabios, ipxe-qemu          BIOS and virtio-net option ROMs QEMU loads
#   qemu-utils                  qemu-img, for the per-test disk images
#   util-linux, mount, passwd   unshare/nsenter, mount, useradd/groupadd
#
# The tiny guest's kernel (linux-image-*-amd64) and busybox-static are not
# installed: tests/real/tiny_guest.py fetches them with `apt-get download`
# and unpacks them into a temporary directory.

set -eu

PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86
qemu-system-common seabios ipxe-qemu qemu-utils util-linux mount passwd
libvirt-clients"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "real-tier-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "real-tier-deps: need root to install:$missing" >&2
    exit 1
fi

echo "real-tier-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

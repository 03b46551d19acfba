#!/usr/bin/env bash
# Install the Debian packages bindep.txt lists for the given profiles, as
# OpenStack projects do: bindep (from PyPI, pinned in upper-constraints.txt,
# in .venv) says what is missing, apt-get installs it.  Without a profile,
# only what every use needs (the demo's set); `test` plus tier names is what
# .ci/run asks for.  Packages already installed are left alone, and apt-get
# runs only when something is missing.
#
#   tools/install-packages.sh [PROFILE...]          install what is missing
#   tools/install-packages.sh --check [PROFILE...]  only say what is missing
#
# As root, or through sudo.  apt's and pip's output go to the bootstrap log
# (tools/progress.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/progress.sh
source tools/progress.sh

check_only=false
if [ "${1:-}" = "--check" ]; then
    check_only=true
    shift
fi
PYTHON=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Packages are installed, never started: the tiers run their own private
# libvirtd, MariaDB, RabbitMQ and Open vSwitch, and a system copy started by
# a maintainer script would hold their ports (RabbitMQ's on every address).
# Where nothing blocks invoke-rc.d yet, a policy-rc.d refusing every start
# (exit 101, Debian's policy interface) is in place while apt-get runs.
POLICY=/usr/sbin/policy-rc.d
block_service_starts() {
    [ -e "$POLICY" ] && return 0
    printf '#!/bin/sh\n# tools/install-packages.sh: no starts while it installs\nexit 101\n' \
        | $SUDO tee "$POLICY" > /dev/null
    $SUDO chmod 755 "$POLICY"
    trap '$SUDO rm -f "$POLICY"' EXIT
}

apt_install() {
    block_service_starts
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "$@"
}

not_installed() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null \
            | grep -q "ok installed" || echo "$pkg"
    done
}

# The chicken and the egg: bindep is a Python program from PyPI, so before
# it can say what is missing there must be a Python that makes virtual
# environments, and certificates for pip to reach PyPI over HTTPS.  A bare
# Debian 12 (debootstrap, a minimal cloud image) has none of the three, so
# they are installed here by name; bindep.txt lists them too.
mapfile -t bare < <(not_installed python3 python3-venv ca-certificates)
if [ "${#bare[@]}" -gt 0 ] && ! $check_only; then
    logged "installing what bindep needs to run: ${bare[*]}" \
        apt_install "${bare[@]}"
fi
if [ ! -x .venv/bin/python ]; then
    $check_only && { echo "bootstrap: no .venv: run tools/bootstrap.sh" >&2; exit 1; }
    progress "creating .venv ($("$PYTHON" --version))"
    quietly "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/bindep ]; then
    logged "installing bindep into .venv" \
        .venv/bin/pip install -c upper-constraints.txt bindep
fi

# missing_packages PROFILE...: set ${missing[@]} to what bindep says is
# missing.  bindep -b prints those, one a line, and exits 1 when there are
# any; any other failure (a bad bindep.txt) stops here.
missing_packages() {
    local out status=0
    out=$(.venv/bin/bindep -b -f bindep.txt "$@" 2>&1) || status=$?
    if [ "$status" -gt 1 ] || { [ "$status" -eq 1 ] && [ -z "$out" ]; }; then
        echo "bootstrap: bindep failed on bindep.txt: $out" >&2
        exit 1
    fi
    [ "$status" -eq 0 ] && out=""
    read -r -d '' -a missing <<< "$out" || true
}

profiles=${*:-(none)}
missing_packages "$@"
if [ "${#missing[@]}" -eq 0 ]; then
    progress "Debian packages of bindep.txt present (profiles: $profiles)"
    exit 0
fi
if $check_only; then
    echo "bootstrap: missing Debian packages (bindep.txt, profiles:" \
        "$profiles): ${missing[*]}; install them with" \
        "'bash tools/install-packages.sh $*'" >&2
    exit 1
fi
logged "installing Debian packages: ${missing[*]}" apt_install "${missing[@]}"
missing_packages "$@"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: still missing after apt-get install: ${missing[*]}" >&2
    exit 1
fi

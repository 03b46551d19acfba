#!/usr/bin/env bash
# Set up everything the demo and the tests need on a fresh Debian 12
# machine: Debian packages (as root, or through sudo) and a virtual
# environment in .venv with the pinned versions of upper-constraints.txt.
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# libvirt-dev, pkg-config, gcc: build libvirt-python.
# libvirt0: libvirt's RelaxNG schemas (/usr/share/libvirt/schemas).
# libvirt-clients, libxml2-utils: virsh and virt-xml-validate for operators
# reproducing what the tests check.
# The shellcheck package: the linter tests/unit/test_shellcheck.py runs
# over the devstack plugin and these scripts.
APT_PACKAGES="libvirt-dev libvirt0 libvirt-clients libxml2-utils pkg-config gcc git shellcheck"
missing=()
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi

# Reinstall dependencies only when the pins or requirements changed.
stamp=$(cat upper-constraints.txt requirements.txt test-requirements.txt \
        doc/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.deps-stamp 2>/dev/null)" != "$stamp" ]; then
    echo "bootstrap: installing Python dependencies into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -c upper-constraints.txt \
        -r requirements.txt -r test-requirements.txt \
        -r doc/requirements.txt tox
    echo "$stamp" > .venv/.deps-stamp
fi

# The plugin itself, never editable: an editable install cannot place
# nova/virt/domain_meta.py inside Nova's package, which is the point.
.venv/bin/pip install -q --no-deps --force-reinstall .
echo "bootstrap: ready ($(.venv/bin/python -c \
    'import nova.version as v; print("nova", v.version_string())'))"

#!/usr/bin/env bash
# Set up everything the demo and the tests need on a fresh Debian 12
# machine: the Debian packages bindep.txt lists (as root, or through sudo)
# and a virtual environment in .venv with the pinned versions of
# upper-constraints.txt.
#
#   tools/bootstrap.sh [PROFILE...]
#
# PROFILEs are bindep.txt's: none for the demo; .ci/run passes `test` and
# the name of every tier it will run, so that all their packages are there
# before the first tier starts.  The terminal gets one line a step; apt's
# and pip's output go to .cache/logs/bootstrap.log (its end is printed when
# a step fails).  Safe to run again: it only installs what is missing or
# changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/progress.sh
source tools/progress.sh
started=$(date +%s)

# Debian packages first: pip builds libvirt-python against libvirt-dev.
# This also creates .venv with bindep in it.
bash tools/install-packages.sh "$@"

# Reinstall dependencies only when the pins or requirements changed.
stamp=$(cat upper-constraints.txt requirements.txt test-requirements.txt \
        doc/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.deps-stamp 2>/dev/null)" != "$stamp" ]; then
    logged "installing Python dependencies into .venv" \
        .venv/bin/pip install --upgrade pip
    quietly .venv/bin/pip install -c upper-constraints.txt \
        -r requirements.txt -r test-requirements.txt \
        -r doc/requirements.txt tox
    echo "$stamp" > .venv/.deps-stamp
fi

# The plugin itself, never editable: an editable install cannot place
# nova/virt/domain_meta.py inside Nova's package, which is the point.
# Rebuilt only when its files or the commit (pbr's version) changed.
stamp=$( (git rev-parse HEAD 2>/dev/null || true
          find nova_domain_meta nova etc setup.cfg setup.py pyproject.toml \
              requirements.txt -type f ! -name '*.pyc' -print0 \
              | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.plugin-stamp 2>/dev/null)" != "$stamp" ]; then
    logged "installing nova-domain-meta into .venv" \
        .venv/bin/pip install --no-deps --force-reinstall .
    echo "$stamp" > .venv/.plugin-stamp
fi
progress "ready in $(( $(date +%s) - started )) s ($(.venv/bin/python -c \
    'import nova.version as v; print("nova", v.version_string())'))"

#!/usr/bin/env bash
# The cloud tier (tox -e cloud): install what it needs, then run it.
#
# Install phase, timed: the Debian packages of bindep.txt's "cloud"
# profile, then the OpenStack services, tempest, nova-domain-meta and its
# tempest plugin into this tox environment (pinned by upper-constraints.txt
# and tests/cloud/constraints.txt).  PyPI answers here carry no caching
# headers, so pip's HTTP cache keeps nothing; the tier keeps its own
# wheelhouse in $CLOUD_TIER_WHEELHOUSE (default
# ~/.cache/nova-domain-meta/cloud-wheels), so that a warm machine installs
# without downloading.  Then tests/cloud/run.py brings the cloud up, runs
# tempest and the scenarios, and tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CLOUD_TIER_STARTED=$started

if [ "$(id -u)" != 0 ]; then
    echo "cloud-tier: FAILED: needs root (apt, namespaces, mounts)" >&2
    exit 1
fi

# Debian packages: bindep.txt's "cloud" profile, which .ci/run has
# installed already (tools/bootstrap.sh test cloud ...); a developer's
# `tox -e cloud` may find some missing.  tools/install-packages.sh keeps
# their maintainer scripts from starting MariaDB, RabbitMQ or Open vSwitch
# on the host (a policy-rc.d refusing starts while apt-get runs).
bash tools/install-packages.sh --check cloud || bash tools/install-packages.sh cloud

# Python packages, from the wheelhouse when it has them all.
wheelhouse=${CLOUD_TIER_WHEELHOUSE:-$HOME/.cache/nova-domain-meta/cloud-wheels}
mkdir -p "$wheelhouse"
pins=(-c upper-constraints.txt -c tests/cloud/constraints.txt)
reqs=(-r requirements.txt -r tempest-plugin/requirements.txt
      -r tests/cloud/requirements.txt)
stamp=$(cat upper-constraints.txt tests/cloud/constraints.txt \
        requirements.txt tempest-plugin/requirements.txt \
        tests/cloud/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VIRTUAL_ENV/.cloud-deps-stamp" 2>/dev/null)" != "$stamp" ]; then
    if ! python -m pip install -q --no-index --find-links "$wheelhouse" \
            "${pins[@]}" "${reqs[@]}" 2>/dev/null; then
        echo "cloud-tier: filling the wheelhouse $wheelhouse"
        python -m pip wheel -q -w "$wheelhouse" "${pins[@]}" "${reqs[@]}"
        python -m pip install -q --no-index --find-links "$wheelhouse" \
            "${pins[@]}" "${reqs[@]}"
    fi
    echo "$stamp" > "$VIRTUAL_ENV/.cloud-deps-stamp"
fi
# Ours, never editable (the shim must land in Nova's package), afresh.
python -m pip install -q --no-deps --no-build-isolation --force-reinstall \
    . ./tempest-plugin

export CLOUD_TIER_INSTALL_SECONDS=$(( $(date +%s) - started ))
echo "cloud: phase install ${CLOUD_TIER_INSTALL_SECONDS} s"
# Importing the tests package loads Nova's functional framework, which
# would monkey-patch the tier's own process with eventlet.
OS_NOVA_DISABLE_EVENTLET_PATCHING=1 exec python -m tests.cloud.run "$@"

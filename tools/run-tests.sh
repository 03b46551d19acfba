#!/usr/bin/env bash
# Run every tox environment CI runs, in order; stop at the first failure.
# Needs tools/bootstrap.sh to have run (it provides .venv/bin/tox).
#
#   tools/run-tests.sh [TOX ARGS...]   run the tiers (TOX_ENVS overrides
#                                      the list, comma-separated)
#   tools/run-tests.sh --list          print the tiers it would run, one a
#                                      line (.ci/run installs their
#                                      bindep.txt profiles from this)
set -euo pipefail
cd "$(dirname "$0")/.."
ENVS=${TOX_ENVS:-pep8,py3,functional,real,cloud,tempest-plugin,packaging,genconfig,docs,releasenotes,patches}
if [ "${1:-}" = "--list" ]; then
    tr ',' '\n' <<< "$ENVS"
    exit 0
fi
# Tiers that start QEMU guests on a private libvirtd.  Guests of two such
# daemons share the host's cgroup tree, so two runs on one machine (a
# developer's and tools/fresh-machine.sh's) take turns, one tier at a time.
GUEST_TIERS=" real cloud "
LOCK=${NDM_HYPERVISOR_LOCK:-/tmp/ndm-hypervisor.lock}
start=$(date +%s)
# run_tox ENV,ENV...: one tox call (it builds our package once per call).
run_tox() {
    [ -n "$1" ] || return 0
    if [[ $GUEST_TIERS == *" $1 "* ]]; then
        flock -n "$LOCK" true || echo "run-tests: $1 waits for $LOCK"
        flock "$LOCK" .venv/bin/tox -e "$1" "${TOX_ARGS[@]}"
    else
        .venv/bin/tox -e "$1" "${TOX_ARGS[@]}"
    fi
}
TOX_ARGS=("$@")
IFS=, read -r -a envs <<< "$ENVS"
batch=""
for env in "${envs[@]}"; do
    if [[ $GUEST_TIERS == *" $env "* ]]; then
        run_tox "$batch"
        batch=""
        run_tox "$env"
    else
        batch=${batch:+$batch,}$env
    fi
done
run_tox "$batch"
echo "run-tests: tox environments $ENVS passed in $(( $(date +%s) - start )) s"

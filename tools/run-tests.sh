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
ENVS=${TOX_ENVS:-pep8,py3,functional,real,tempest-plugin,packaging,genconfig,docs,releasenotes}
if [ "${1:-}" = "--list" ]; then
    tr ',' '\n' <<< "$ENVS"
    exit 0
fi
start=$(date +%s)
.venv/bin/tox -e "$ENVS" "$@"
echo "run-tests: tox environments $ENVS passed in $(( $(date +%s) - start )) s"

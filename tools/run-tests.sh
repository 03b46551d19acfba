#!/usr/bin/env bash
# Run every tox environment CI runs, in order; stop at the first failure.
# Needs tools/bootstrap.sh to have run (it provides .venv/bin/tox).
set -euo pipefail
cd "$(dirname "$0")/.."
ENVS=${TOX_ENVS:-pep8,py3,functional,real,cloud,tempest-plugin,packaging,genconfig,docs,releasenotes}
start=$(date +%s)
.venv/bin/tox -e "$ENVS" "$@"
echo "run-tests: tox environments $ENVS passed in $(( $(date +%s) - start )) s"

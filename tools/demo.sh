#!/usr/bin/env bash
# Boot servers through Nova's in-process stack with our driver (no cloud
# needed) and print the metadata of every domain it defines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh >&2
PYTHONWARNINGS=ignore exec .venv/bin/python tools/demo.py

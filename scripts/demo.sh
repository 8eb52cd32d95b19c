#!/usr/bin/env bash
# The main job: bring up the prerequisites, build the worker, and drive it through a short real session.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build 2>&1 | tail -1 >&2
docker rm -f openlattice-demo >/dev/null 2>&1 || true
python3 scripts/demo.py

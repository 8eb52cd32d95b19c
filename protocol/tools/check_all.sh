#!/usr/bin/env bash
# The protocol folder's checks, as CI runs them:
#   1. openrpc.json against the OpenRPC meta-schema, and against the worker's initialize result
#      (the methods it serves must be exactly the document's);
#   2. the recorded examples against openrpc.json, replayed against the live worker.
# The worker binary: $OPENLATTICE_DOCKER_WORKER, else .build/debug of this package (build it first).
# Needs python3 with jsonschema, and a Docker engine (DOCKER_HOST or /var/run/docker.sock) with the
# test image openlattice-test/busybox:latest.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
worker="${OPENLATTICE_DOCKER_WORKER:-$root/.build/debug/openlattice-docker-worker}"
if [[ ! -x "$worker" ]]; then
    echo "check_all: no worker binary at $worker (run swift build, or set OPENLATTICE_DOCKER_WORKER)" >&2
    exit 1
fi
status=0
python3 "$here/check_openrpc.py" "$root/protocol/openrpc.json" \
    --meta-schema "$here/openrpc-meta-schema.json" --worker "$worker" || status=1
OPENLATTICE_DOCKER_WORKER="$worker" python3 "$here/check_examples.py" --worker "$worker" || status=1
if [[ $status -ne 0 ]]; then
    echo "check_all: FAILED" >&2
else
    echo "check_all: ok"
fi
exit $status

#!/usr/bin/env sh
# Runs the host adapter's tests (node:test, no npm): the adapter mechanics against a stand-in
# worker, the line protocol and the original provider's suite against the real worker and engine.
#   protocol/host/test/run.sh [extra node --test flags]
# The worker binary: $OPENLATTICE_DOCKER_WORKER, default <repo>/.build/debug/openlattice-docker-worker.
# Equivalent: node --test protocol/host/test/   (that form also lists the helper files, with no tests)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${OPENLATTICE_DOCKER_WORKER:=$(cd "$here/../../.." && pwd)/.build/debug/openlattice-docker-worker}"
export OPENLATTICE_DOCKER_WORKER
exec node --test "$@" "$here"/*.test.js

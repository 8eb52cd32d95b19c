#!/usr/bin/env bash
# The test command: on a fresh Debian 12 machine (as root) it installs what is missing, starts a
# Docker engine and the extra test services, builds the worker, and runs every suite:
# Swift unit + pipe-driven integration tests, the Node host adapter's tests, and the protocol checks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { echo "[test] $*" >&2; }

bash scripts/setup.sh

# This run's own label value: everything the tests make carries openlattice.test-run=$OLW_TEST_RUN
# (Tests/TestSupport/WorkerProcess.swift's TestScope adds it to every scope's labels, the worker copies a node's
# labels onto its snapshot images, the Node suites add it too), and the clean-up below removes only
# what carries it, so a run on a shared engine never touches anybody else's containers or images.
OLW_TEST_RUN=${OLW_TEST_RUN:-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}
export OLW_TEST_RUN
log "test run $OLW_TEST_RUN"

started=()
# Removes what this run labelled (containers with their volumes, networks, snapshot images) from one
# engine, given as `docker` CLI arguments.
clean_engine() {
  local ids nets imgs filter="label=openlattice.test-run=$OLW_TEST_RUN"
  ids=$(docker "$@" ps -aq --filter "$filter" 2>/dev/null || true)
  [ -n "$ids" ] && docker "$@" rm -f -v $ids >/dev/null 2>&1 || true
  nets=$(docker "$@" network ls -q --filter "$filter" 2>/dev/null || true)
  [ -n "$nets" ] && docker "$@" network rm $nets >/dev/null 2>&1 || true
  imgs=$(docker "$@" images -q --filter "$filter" 2>/dev/null || true)
  [ -n "$imgs" ] && docker "$@" rmi -f $imgs >/dev/null 2>&1 || true
  return 0
}
clean_engines() {
  clean_engine
  if [ "${OLW_SKIP_SERVICES:-0}" != 1 ]; then
    clean_engine -H unix:///var/run/olw-podman.sock
    clean_engine -H tcp://127.0.0.1:23760 --tlsverify --tlscacert /tmp/olw-tls/client/ca.pem \
      --tlscert /tmp/olw-tls/client/cert.pem --tlskey /tmp/olw-tls/client/key.pem
  fi
}
cleanup() {
  clean_engines
  for service in "${started[@]}"; do bash "scripts/$service.sh" stop >/dev/null 2>&1 || true; done
  return 0
}
trap cleanup EXIT

# Extra engines and a registry for the remote-engine tests (issue 7): a second dockerd on loopback
# TCP with mutual TLS, Podman's Docker-compatible service, and docker-registry behind htpasswd.
# They are required; OLW_SKIP_SERVICES=1 skips them (and their suites) for a quick local run.
if [ "${OLW_SKIP_SERVICES:-0}" != 1 ]; then
  started+=(second-engine); bash scripts/second-engine.sh start >&2; export OLW_SECOND_ENGINE=1
  started+=(podman-service); bash scripts/podman-service.sh start >&2; export OLW_PODMAN=1
  started+=(registry); bash scripts/registry.sh start >&2; export OLW_REGISTRY=1
  # An sshd on loopback: the first engine again, reached as ssh://root@127.0.0.1:22220.
  started+=(sshd); bash scripts/sshd.sh start >&2; export OLW_SSHD=1
fi

# Runs `swift test` with the given arguments, printing its results; fails when the tests fail or
# when the selection matched no test at all (a renamed suite must not pass by being skipped).
run_tests() {
  local out
  out=$(mktemp)
  swift test --skip-build "$@" 2>&1 | grep -avE '^(􀟈|◇)|^\s*$' | grep -av ' started\.$' | tee "$out"
  if grep -aqE 'Test run with 0 tests' "$out"; then
    log "no test matched: swift test $*"
    rm -f "$out"
    return 1
  fi
  # With SUITES=N, exactly N suites must have run (each name in a --filter must match one).
  if [ -n "${SUITES:-}" ] && ! grep -aqE "Test run with [0-9]+ tests? in $SUITES suites? passed" "$out"; then
    log "expected $SUITES suites to run: swift test $*"
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
}

log "swift format lint (the checked-in .swift-format)"
swift format lint --strict --recursive Sources Tests Package.swift

log "swift build"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
export OPENLATTICE_DOCKER_WORKER="$root/.build/debug/openlattice-docker-worker"

log "swift test: unit suites (parallel)"
run_tests --skip IntegrationTests
# The pipe-driven suites run one test at a time: several of them time the worker (exit within 2 s,
# deadlines) and must not share two cores with forty other tests and their engines' containers.
log "swift test: pipe-driven integration suites (one at a time)"
run_tests --filter IntegrationTests --no-parallel

# The core suites again, against the other engines: the tests' docker CLI and the workers they start
# both follow OPENLATTICE_TEST_DOCKER_HOST (and _CERT_PATH for mutual TLS).
core='SeedProvisionTests|SeedExecTests|SeedLifecycleTests|ExtensionTests|HardeningTests'
if [ "${OLW_SECOND_ENGINE:-0}" = 1 ]; then
  log "swift test: core suites against the second dockerd over TCP + mutual TLS"
  OPENLATTICE_TEST_DOCKER_HOST=tcp://127.0.0.1:23760 OPENLATTICE_TEST_DOCKER_CERT_PATH=/tmp/olw-tls/client \
    SUITES=5 run_tests --filter "$core" --no-parallel
fi
if [ "${OLW_SSHD:-0}" = 1 ]; then
  log "swift test: core suites against the first dockerd over ssh:// (ssh … docker system dial-stdio)"
  (eval "$(bash scripts/sshd.sh env)"; SUITES=5 run_tests --filter "$core" --no-parallel)
fi
if [ "${OLW_PODMAN:-0}" = 1 ]; then
  log "swift test: core suites against Podman (what its compatibility layer lacks is skipped, with the reason)"
  OPENLATTICE_TEST_DOCKER_HOST=unix:///var/run/olw-podman.sock \
    SUITES=5 run_tests --filter "$core" --no-parallel
fi

log "libFuzzer: framing and JSON decoding, a short run"
bash scripts/fuzz.sh "${OLW_FUZZ_SECONDS:-30}"

log "node host adapter tests"
bash protocol/host/test/run.sh 2>&1 | tail -n 12
test "${PIPESTATUS[0]}" -eq 0

log "the README's Node example, copied unchanged, after the README's release build"
bash scripts/readme-example.sh

if [ -f protocol/tools/check_all.sh ]; then
  log "protocol document checks"
  bash protocol/tools/check_all.sh
fi
log "all suites passed"

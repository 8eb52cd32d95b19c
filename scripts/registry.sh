#!/usr/bin/env bash
# A private registry on loopback behind htpasswd basic auth, for the authenticated-pull tests.
#
#   scripts/registry.sh start   # installs docker-registry and apache2-utils if missing, starts the
#                               # registry on 127.0.0.1:5000 and pushes the test image to it
#   scripts/registry.sh stop    # stops the registry this script started and removes its storage
#
# User `olw`, password `olw-secret`. The test image is pushed as 127.0.0.1:5000/olw/busybox:latest
# and the local tag is removed again, so the engine must pull it. The engine treats 127.0.0.1
# registries as insecure, so plain HTTP serves. `docker login` runs with a throwaway DOCKER_CONFIG,
# leaving the host's ~/.docker alone. Runs as root; needs the first Docker engine to hold
# openlattice-test/busybox:latest (scripts/setup.sh builds it).
set -euo pipefail
log() { echo "[registry] $*" >&2; }

ADDR=127.0.0.1:5000
USER_NAME=olw
PASSWORD=olw-secret
DIR=/var/run/olw-registry
STORAGE=/var/lib/olw-registry
PIDFILE=$DIR/registry.pid
LOGFILE=/var/log/olw-registry.log
IMAGE=openlattice-test/busybox:latest
REMOTE=$ADDR/olw/busybox:latest
export DOCKER_HOST=${OPENLATTICE_TEST_DOCKER_HOST:-unix:///var/run/docker.sock}

install_tools() {
  local need=()
  command -v docker-registry >/dev/null || need+=(docker-registry)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  [ ${#need[@]} -eq 0 ] && return
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
}

running_pid() {
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = docker-registry ] && echo "$pid"
}

# /v2/ answers 401 without credentials and 200 with them once the registry is up.
ping() { curl -sf --max-time 3 -u "$USER_NAME:$PASSWORD" "http://$ADDR/v2/" >/dev/null 2>&1; }

start() {
  install_tools
  mkdir -p "$DIR" "$STORAGE"
  chmod 700 "$DIR"
  if running_pid >/dev/null && ping; then
    log "already running (pid $(running_pid))"
  else
    htpasswd -Bbn "$USER_NAME" "$PASSWORD" > "$DIR/htpasswd"
    cat > "$DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: olw-registry
storage:
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: olw-registry
    path: $DIR/htpasswd
EOF
    log "starting docker-registry on $ADDR"
    nohup docker-registry serve "$DIR/config.yml" >"$LOGFILE" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 60); do ping && break; sleep 0.5; done
    if ! ping; then
      log "the registry did not answer; its log:"
      tail -30 "$LOGFILE" >&2
      exit 1
    fi
  fi
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/")
  [ "$status" = 401 ] || { log "expected 401 without credentials, got $status"; exit 1; }

  if curl -sf -u "$USER_NAME:$PASSWORD" "http://$ADDR/v2/olw/busybox/manifests/latest" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
    log "$REMOTE is already in the registry"
  else
    local config
    config=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$config'" RETURN
    log "pushing $IMAGE as $REMOTE"
    echo "$PASSWORD" | DOCKER_CONFIG=$config docker login --username "$USER_NAME" --password-stdin "$ADDR" >/dev/null
    docker tag "$IMAGE" "$REMOTE"
    DOCKER_CONFIG=$config docker push "$REMOTE" >/dev/null
    DOCKER_CONFIG=$config docker logout "$ADDR" >/dev/null 2>&1 || true
  fi
  # The tests must pull it: no local copy under the registry's name.
  docker rmi "$REMOTE" >/dev/null 2>&1 || true
  log "ready: $REMOTE (user $USER_NAME)"
}

stop() {
  local pid
  if pid=$(running_pid); then
    log "stopping docker-registry (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  else
    log "not running"
  fi
  rm -rf "$DIR" "$STORAGE"
  docker rmi "$REMOTE" >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

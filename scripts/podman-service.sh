#!/usr/bin/env bash
# Podman's Docker-compatible API service, for the Podman tests.
#
#   scripts/podman-service.sh start   # installs podman if missing, starts the service, loads the test image
#   scripts/podman-service.sh stop    # stops the service this script started
#
# The service listens on unix:///var/run/olw-podman.sock. Podman 4.3 starts containers only once
# /etc/containers/containers.conf lowers default_ulimits; this script sets that, keeping whatever
# else the file holds, and marks the loopback test registry 127.0.0.1:5000 as plain HTTP (a drop-in
# in /etc/containers/registries.conf.d/; Docker already treats loopback registries so). Runs as
# root; copies the first Docker engine's openlattice-test/* images in (scripts/setup.sh builds them).
set -euo pipefail
log() { echo "[podman-service] $*" >&2; }

SOCKET=/var/run/olw-podman.sock
PIDFILE=/var/run/olw-podman.pid
LOGFILE=/var/log/olw-podman.log
CONF=/etc/containers/containers.conf
ULIMITS='default_ulimits = ["nofile=10000:10000", "nproc=10000:10000"]'
# Docker treats loopback registries as insecure (plain HTTP); Podman must be told (scripts/registry.sh's registry).
REGISTRIES_DROPIN=/etc/containers/registries.conf.d/50-olw-loopback.conf
IMAGE=openlattice-test/busybox:latest
FIRST=${OPENLATTICE_TEST_DOCKER_HOST:-unix:///var/run/docker.sock}

install_podman() {
  command -v podman >/dev/null && return
  log "installing podman"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq podman >&2
}

# Sets default_ulimits in the [containers] table of containers.conf, leaving the rest of the file alone:
# the key goes first under the table's header, an existing default_ulimits line there (single-line
# form) is dropped, and a file without the table gets it appended.
write_conf() {
  mkdir -p "$(dirname "$CONF")"
  if [ ! -s "$CONF" ]; then
    printf '[containers]\n%s\n' "$ULIMITS" > "$CONF"
    log "wrote $CONF"
    return
  fi
  if grep -qxF "$ULIMITS" "$CONF"; then return; fi
  local tmp
  tmp=$(mktemp)
  awk -v line="$ULIMITS" '
    /^[[:space:]]*\[/ {
      header = $0; gsub(/[[:space:]]/, "", header); sub(/#.*/, "", header)
      in_containers = (header == "[containers]")
      print
      if (in_containers && !seen) { print line; seen = 1 }
      next
    }
    in_containers && /^[[:space:]]*default_ulimits[[:space:]]*=/ { next }
    { print }
    END { if (!seen) { print ""; print "[containers]"; print line } }' "$CONF" > "$tmp"
  [ -e "$CONF.olw-backup" ] || cp -p "$CONF" "$CONF.olw-backup"
  cat "$tmp" > "$CONF"
  rm -f "$tmp"
  log "set default_ulimits in $CONF (previous file kept as $CONF.olw-backup)"
}

ping() { curl -sf --max-time 3 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }

running_pid() {
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = podman ] && echo "$pid"
}

write_registries() {
  mkdir -p "$(dirname "$REGISTRIES_DROPIN")"
  printf '[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n' > "$REGISTRIES_DROPIN"
}

start() {
  install_podman
  write_conf
  write_registries
  if running_pid >/dev/null && ping; then
    log "already running (pid $(running_pid))"
  else
    rm -f "$SOCKET"
    log "starting podman system service on unix://$SOCKET"
    nohup podman system service --time=0 "unix://$SOCKET" >"$LOGFILE" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 120); do ping && break; sleep 0.5; done
    if ! ping; then
      log "the service did not answer; its log:"
      tail -40 "$LOGFILE" >&2
      exit 1
    fi
  fi
  log "service answers: $(curl -s --unix-socket "$SOCKET" http://localhost/version | head -c 120)"
  # Every local test image of the first engine (busybox, tailscale, noshell, ...), so the core suite can run here too.
  local images image
  image_id() { echo "${1#sha256:}"; }  # podman prints ids without the prefix
  images=$(docker -H "$FIRST" images --format '{{.Repository}}:{{.Tag}}' | grep '^openlattice-test/' || true)
  grep -qxF "$IMAGE" <<<"$images" || { log "the first engine has no $IMAGE (run scripts/setup.sh)"; exit 1; }
  for image in $images; do
    if [ "$(image_id "$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null)")" != "$(image_id "$(docker -H "$FIRST" image inspect --format '{{.Id}}' "$image")")" ]; then
      log "loading $image"
      docker -H "$FIRST" save "$image" | podman load >&2
    fi
    # podman may name it localhost/<name>; the tests use the short name, so make sure it resolves through the API.
    if ! curl -sf --unix-socket "$SOCKET" "http://localhost/images/$image/json" >/dev/null; then
      podman tag "localhost/$image" "$image"
    fi
    curl -sf --unix-socket "$SOCKET" "http://localhost/images/$image/json" >/dev/null \
      || { log "$image does not resolve through the service"; exit 1; }
  done
  log "ready: DOCKER_HOST=unix://$SOCKET ($(podman images --format '{{.Repository}}:{{.Tag}}' | grep openlattice-test/ | tr '\n' ' '))"
}

stop() {
  local pid
  if pid=$(running_pid); then
    log "stopping the service (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  else
    log "not running"
  fi
  rm -f "$PIDFILE" "$SOCKET"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

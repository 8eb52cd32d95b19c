#!/usr/bin/env bash
# A second Docker engine beside the first, for the remote-engine (TCP + mutual TLS) tests.
#
#   scripts/second-engine.sh start   # certificates, bridge, dockerd, test image; idempotent
#   scripts/second-engine.sh stop    # stops that dockerd and removes its bridge
#
# The engine listens on unix:///var/run/olw-docker2.sock and on tcp://127.0.0.1:23760 with
# --tlsverify (client certificates required). Its certificates are made here with openssl:
#   /tmp/olw-tls/ca.pem                      the CA that signed the server and the client
#   /tmp/olw-tls/server-{cert,key}.pem       SAN IP:127.0.0.1, DNS:localhost
#   /tmp/olw-tls/client/{ca,cert,key}.pem    a good client (a DOCKER_CERT_PATH directory)
#   /tmp/olw-tls/wrong/{ca,cert,key}.pem     a client signed by another CA (ca.pem is the real CA,
#                                            so the server is trusted but the engine refuses the client)
# It has its own bridge (olwbr0, 172.29.0.1/24): never --bridge=none, which removes the first
# engine's docker0. It runs as root, as the first engine does. Copies the first engine's
# openlattice-test/* images into it (scripts/setup.sh builds them).
set -euo pipefail
log() { echo "[second-engine] $*" >&2; }

NAME=olw-docker2
DATA_ROOT=/var/lib/$NAME
EXEC_ROOT=/var/run/$NAME
PIDFILE=/var/run/$NAME.pid
SOCKET=/var/run/$NAME.sock
LOGFILE=/var/log/$NAME.log
CONFIG=/var/run/$NAME.daemon.json
BRIDGE=olwbr0
BRIDGE_CIDR=172.29.0.1/24
PORT=23760
TLS=/tmp/olw-tls
IMAGE=openlattice-test/busybox:latest
FIRST=${OPENLATTICE_TEST_DOCKER_HOST:-unix:///var/run/docker.sock}

make_certs() {
  if [ -s "$TLS/client/key.pem" ] && [ -s "$TLS/wrong/key.pem" ] && [ -s "$TLS/server-key.pem" ] \
    && openssl x509 -checkend 3600 -noout -in "$TLS/server-cert.pem" >/dev/null 2>&1; then
    return
  fi
  log "making certificates in $TLS"
  rm -rf "$TLS"
  mkdir -p "$TLS/client" "$TLS/wrong" "$TLS/other-ca"
  chmod 700 "$TLS"
  local days=30
  (
    cd "$TLS"
    # the CA the engine trusts
    openssl genrsa -out ca-key.pem 2048 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -sha256 -days "$days" -subj "/CN=olw test CA" -out ca.pem
    # the engine's certificate
    openssl genrsa -out server-key.pem 2048 2>/dev/null
    openssl req -new -key server-key.pem -subj "/CN=localhost" -out server.csr
    printf 'subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\nkeyUsage = digitalSignature, keyEncipherment\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days "$days" \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    printf 'extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature, keyEncipherment\n' > client.ext
    # a client the engine accepts
    openssl genrsa -out client/key.pem 2048 2>/dev/null
    openssl req -new -key client/key.pem -subj "/CN=olw client" -out client.csr
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days "$days" \
      -extfile client.ext -out client/cert.pem 2>/dev/null
    cp ca.pem client/ca.pem
    # a client signed by a different CA: the engine refuses it
    openssl genrsa -out other-ca/ca-key.pem 2048 2>/dev/null
    openssl req -x509 -new -key other-ca/ca-key.pem -sha256 -days "$days" -subj "/CN=olw other CA" -out other-ca/ca.pem
    openssl genrsa -out wrong/key.pem 2048 2>/dev/null
    openssl req -new -key wrong/key.pem -subj "/CN=olw wrong client" -out wrong.csr
    openssl x509 -req -in wrong.csr -CA other-ca/ca.pem -CAkey other-ca/ca-key.pem -CAcreateserial -sha256 -days "$days" \
      -extfile client.ext -out wrong/cert.pem 2>/dev/null
    cp ca.pem wrong/ca.pem
    rm -f ./*.csr ./*.srl other-ca/*.srl
    chmod 600 ./*key.pem client/key.pem wrong/key.pem other-ca/ca-key.pem
  )
}

ping_tls() {
  curl -sf --max-time 3 --cacert "$TLS/ca.pem" --cert "$TLS/client/cert.pem" --key "$TLS/client/key.pem" \
    "https://127.0.0.1:$PORT/_ping" >/dev/null 2>&1
}
ping_unix() { curl -sf --max-time 3 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }

running_pid() {
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ] && echo "$pid"
}

make_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($BRIDGE_CIDR)"
    ip link add "$BRIDGE" type bridge
  fi
  # No `ip … | grep -q` here: under pipefail, grep's early exit can fail the pipe (SIGPIPE) although
  # the address is there, and then `ip addr add` fails with "Address already assigned".
  local addrs
  addrs=$(ip -4 addr show dev "$BRIDGE")
  [[ $addrs == *"inet ${BRIDGE_CIDR%/*}/"* ]] || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

start() {
  command -v dockerd >/dev/null || { log "dockerd is not installed (run scripts/setup.sh)"; exit 1; }
  make_certs
  if running_pid >/dev/null && ping_tls; then
    log "already running (pid $(running_pid))"
  else
    make_bridge
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    # An empty config file: /etc/docker/daemon.json (if any) belongs to the first engine.
    echo '{}' > "$CONFIG"
    log "starting dockerd ($SOCKET, tcp://127.0.0.1:$PORT with --tlsverify)"
    nohup dockerd \
      --config-file "$CONFIG" \
      --data-root "$DATA_ROOT" \
      --exec-root "$EXEC_ROOT" \
      --pidfile "$PIDFILE" \
      --host "unix://$SOCKET" \
      --host "tcp://127.0.0.1:$PORT" \
      --tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem" \
      --bridge "$BRIDGE" \
      --iptables=false --ip-masq=false \
      --cgroup-parent /olw-docker2 \
      >"$LOGFILE" 2>&1 </dev/null &
    for _ in $(seq 1 120); do ping_tls && break; sleep 0.5; done
    if ! ping_tls; then
      log "the engine did not answer over TLS; its log:"
      tail -40 "$LOGFILE" >&2
      exit 1
    fi
  fi
  log "engine answers over TLS: $(curl -s --cacert "$TLS/ca.pem" --cert "$TLS/client/cert.pem" --key "$TLS/client/key.pem" \
    "https://127.0.0.1:$PORT/version" | head -c 120)"
  # Every local test image of the first engine (busybox, tailscale, noshell, ...), so the core suite can run here too.
  local images image
  image_id() { echo "${1#sha256:}"; }  # podman prints ids without the prefix
  images=$(docker -H "$FIRST" images --format '{{.Repository}}:{{.Tag}}' | grep '^openlattice-test/' || true)
  grep -qxF "$IMAGE" <<<"$images" || { log "the first engine has no $IMAGE (run scripts/setup.sh)"; exit 1; }
  for image in $images; do
    if [ "$(image_id "$(docker -H "unix://$SOCKET" image inspect --format '{{.Id}}' "$image" 2>/dev/null)")" != "$(image_id "$(docker -H "$FIRST" image inspect --format '{{.Id}}' "$image")")" ]; then
      log "loading $image"
      docker -H "$FIRST" save "$image" | docker -H "unix://$SOCKET" load >&2
    fi
  done
  log "ready: DOCKER_HOST=tcp://127.0.0.1:$PORT DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$TLS/client"
}

stop() {
  local pid
  if pid=$(running_pid); then
    log "stopping dockerd (pid $pid)"
    # Containers it still runs are its own business; dockerd stops them on SIGTERM within its shutdown timeout.
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "not running"
  fi
  rm -f "$PIDFILE" "$SOCKET" "$CONFIG"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "removing bridge $BRIDGE"
    ip link set "$BRIDGE" down || true
    ip link delete "$BRIDGE" type bridge || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# An sshd on loopback for the ssh:// engine tests: the worker reaches this machine's dockerd the way
# it reaches a remote one, through `ssh … docker system dial-stdio`.
#
#   scripts/sshd.sh start   # installs openssh-server if missing, starts sshd, checks the docker CLI over it
#   scripts/sshd.sh stop    # stops the sshd this script started and removes its folder
#   scripts/sshd.sh env     # prints the test environment (eval "$(scripts/sshd.sh env)")
#
# Everything lives in $OLW_SSHD_DIR (default /tmp/olw-sshd): its own host key, a generated client
# key whose public half is the AuthorizedKeysFile, the sshd config and log, a known_hosts with the
# host key, and bin/ssh, a wrapper that gives the system ssh those (for the docker CLI, which takes
# no ssh options). sshd listens on 127.0.0.1:$OLW_SSHD_PORT (default 22220), root logs in by key
# only. Neither ~/.ssh nor the system's sshd is touched. Runs as root.
set -euo pipefail
log() { echo "[sshd] $*" >&2; }

DIR=${OLW_SSHD_DIR:-/tmp/olw-sshd}
PORT=${OLW_SSHD_PORT:-22220}
HOST=ssh://root@127.0.0.1:$PORT

# The worker's ssh arguments: the generated key, and the host key checked against our known_hosts.
options() {
  echo "-i $DIR/client_key -o IdentitiesOnly=yes -o UserKnownHostsFile=$DIR/known_hosts -o StrictHostKeyChecking=yes"
}

start() {
  if ! [ -x /usr/sbin/sshd ]; then
    log "installing openssh-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # The package's own sshd may not start in a container without an init; ours does not need it.
    apt-get install -y -qq openssh-server >&2 || [ -x /usr/sbin/sshd ]
  fi
  command -v ssh >/dev/null || { log "no ssh client"; exit 1; }
  if [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; then
    log "already running on 127.0.0.1:$PORT"
  else
    rm -rf "$DIR"
    mkdir -p "$DIR/bin" /run/sshd
    chmod 700 "$DIR"
    ssh-keygen -q -t ed25519 -N '' -C olw-sshd-host -f "$DIR/host_key"
    ssh-keygen -q -t ed25519 -N '' -C olw-sshd-client -f "$DIR/client_key"
    cp "$DIR/client_key.pub" "$DIR/authorized_keys"
    echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$DIR/host_key.pub")" > "$DIR/known_hosts"
    cat > "$DIR/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/host_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Each engine connection of a worker is one ssh session: allow many at once.
MaxStartups 200:30:400
MaxSessions 200
LogLevel VERBOSE
EOF
    cat > "$DIR/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh $(options) "\$@"
EOF
    chmod 755 "$DIR/bin/ssh"
    /usr/sbin/sshd -t -f "$DIR/sshd_config"
    /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
    for _ in $(seq 1 50); do [ -s "$DIR/sshd.pid" ] && break; sleep 0.1; done
    log "sshd on 127.0.0.1:$PORT (pid $(cat "$DIR/sshd.pid" 2>/dev/null || echo '?'))"
  fi
  # The docker CLI over it, as an operator would use it (its ssh is our wrapper).
  local version
  if ! version=$(PATH="$DIR/bin:$PATH" DOCKER_HOST=$HOST docker version --format '{{.Server.Version}}' 2>&1); then
    log "docker over $HOST failed: $version"
    tail -20 "$DIR/sshd.log" >&2 || true
    exit 1
  fi
  log "docker over $HOST answers: engine $version"
}

stop() {
  if [ -f "$DIR/sshd.pid" ]; then
    local pid
    pid=$(cat "$DIR/sshd.pid")
    # Only the listener this script started (its pid file); the sessions it forked end with their clients.
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    echo "export OPENLATTICE_TEST_DOCKER_HOST=$HOST"
    echo "export OPENLATTICE_TEST_SSH_OPTIONS='$(options)'"
    ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac

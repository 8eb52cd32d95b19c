#!/usr/bin/env bash
# Brings up everything the worker's tests and demo need on a fresh Debian 12 machine (as root):
# the packages, a Docker engine answering on /var/run/docker.sock, and the local test images.
# Idempotent: what is already there is left alone. Prints progress to stderr.
set -euo pipefail
log() { echo "[setup] $*" >&2; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
# (no `… | grep -q` pipes under pipefail: grep's early exit can fail them with SIGPIPE)
[ -x /bin/busybox ] && [[ $'\n'$(/bin/busybox --list 2>/dev/null)$'\n' == *$'\nsh\n'* ]] \
  && [[ $(file -L /bin/busybox 2>/dev/null) == *static* ]] || need+=(busybox-static)
pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
command -v file >/dev/null || need+=(file)
command -v tsc >/dev/null || need+=(node-typescript)  # the Node adapter's type check (no npm registry)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)  # scripts/sshd.sh, the ssh:// engine tests
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
fi

ping_engine() { curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }
if ! ping_engine; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/openlattice-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do ping_engine && break; sleep 0.5; done
  ping_engine || { log "dockerd did not answer; its log:"; tail -50 /var/log/openlattice-dockerd.log >&2; exit 1; }
fi
log "engine answers: $(curl -s --unix-socket /var/run/docker.sock http://localhost/version | head -c 200)"

# Test images, built from the machine's static busybox (no registry is reachable).
build_image() { # name, dir
  local name=$1 dir=$2
  tar -C "$dir" -c . | docker import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$name" >/dev/null
  log "built image $name"
}
if ! docker image inspect openlattice-test/noshell:latest >/dev/null 2>&1; then
  # No shell, no applets: only a static binary that can sleep (/busybox, reachable only by its full path), for the archive-API paths.
  bare=$(mktemp -d)
  mkdir -p "$bare/tmp" "$bare/etc"
  cp /bin/busybox "$bare/busybox"
  tar -C "$bare" -c . | docker import -c 'CMD ["/busybox", "sleep", "2147483647"]' - openlattice-test/noshell:latest >/dev/null
  rm -rf "$bare"
  log "built image openlattice-test/noshell:latest"
fi
if ! docker image inspect openlattice-test/busybox:latest >/dev/null 2>&1 || ! docker image inspect openlattice-test/tailscale:latest >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var/run" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  build_image openlattice-test/busybox:latest "$root"
  # A stand-in tailscale: records its argv (one argument a line) and, for `up --auth-key=file:P`, the key it read.
  mkdir -p "$root/usr/local/bin"
  cat > "$root/usr/local/bin/tailscaled" <<'SH'
#!/bin/sh
echo "$@" >> /tmp/tailscaled.argv
while :; do sleep 3600; done
SH
  cat > "$root/usr/local/bin/tailscale" <<'SH'
#!/bin/sh
for a in "$@"; do echo "$a"; done >> /tmp/tailscale.argv
echo "--" >> /tmp/tailscale.argv
for a in "$@"; do
  case "$a" in
    --auth-key=file:*|--authkey=file:*) f=${a#*=file:}; cat "$f" > /tmp/tailscale.key-seen ;;
  esac
done
[ "${TAILSCALE_FAIL:-}" = 1 ] && { echo "tailscale: failed on purpose" >&2; exit 1; }
exit 0
SH
  chmod 755 "$root/usr/local/bin/tailscale" "$root/usr/local/bin/tailscaled"
  build_image openlattice-test/tailscale:latest "$root"
fi
log "ready"

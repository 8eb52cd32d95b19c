#!/usr/bin/env bash
# The README's Node example, exactly as written: copies the first ```js block under "## How an
# orchestrator uses it" into example.mjs at the root of the clone (as the README says to), runs the
# README's build command (`swift build -c release --static-swift-stdlib --product openlattice-docker-worker`, incremental), then `node example.mjs`, and checks
# what it printed. Needs what `bash scripts/setup.sh` provides (engine, local images, Node 20).
#   bash scripts/readme-example.sh          OLW_SKIP_RELEASE_BUILD=1: use the release binary as it is
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[readme-example] $*" >&2; }

example=$(mktemp -d)/example.mjs
awk '/^## How an orchestrator uses it/ { section = 1; next }
     section && /^## / { exit }
     section && /^```js$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' README.md > "$example"
[ -s "$example" ] || { log "no js block under '## How an orchestrator uses it' in README.md"; exit 1; }
target=example.mjs
[ -e "$target" ] && target=example-$$.mjs   # never overwrite a file of the user's
cp "$example" "$target"
# The example labels its node app=readme-example; should it fail half-way, remove only the nodes
# this run's example made (those created after it started).
started=$(date +%s)
cleanup() {
  rm -f "$target"
  local id created
  for id in $(docker ps -aq --filter label=app=readme-example 2>/dev/null); do
    created=$(docker inspect -f '{{.Created}}' "$id" 2>/dev/null | xargs -I{} date -d {} +%s 2>/dev/null || echo 0)
    [ "$created" -ge "$started" ] && docker rm -f -v "$id" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

if [ "${OLW_SKIP_RELEASE_BUILD:-0}" != 1 ]; then
  log "swift build -c release --static-swift-stdlib --product openlattice-docker-worker"
  swift build -c release --static-swift-stdlib --product openlattice-docker-worker 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
fi
log "node $target"
out=$(timeout 120 node "$target")
echo "$out"
grep -q "^published at {.*type: 'tcp'" <<<"$out" || { log "no published tcp endpoint in the output"; exit 1; }
grep -q '^streamed$' <<<"$out" || { log "no streamed output"; exit 1; }
grep -q '^running 0 hello$' <<<"$out" || { log "no 'running 0 hello' line"; exit 1; }
grep -qF '{"debug":true}' <<<"$out" || { log "the file did not read back"; exit 1; }
log "the README example works unchanged"

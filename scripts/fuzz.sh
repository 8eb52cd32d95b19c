#!/usr/bin/env bash
# Builds the libFuzzer target FuzzFraming (LineFramer + JSONParser + JSONWriter round trips, see
# Sources/FuzzFraming/main.swift) and runs it for N seconds (default 20). Exits non-zero when the
# fuzzer finds a crash; the input that did it is kept under .build-fuzz/artifacts/ and can be
# replayed with:  .build-fuzz/debug/FuzzFraming <file>   (or with the plain build's FuzzFraming).
#
#   bash scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
scratch=.build-fuzz
flags=(-c debug --product FuzzFraming --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING)

echo "[fuzz] building FuzzFraming with -sanitize=fuzzer" >&2
swift build "${flags[@]}" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
binary="$(swift build "${flags[@]}" --show-bin-path)/FuzzFraming"

corpus=$scratch/corpus
artifacts=$scratch/artifacts
mkdir -p "$corpus" "$artifacts"
# Seeds: protocol lines as the worker sees them, and framing edge cases.
seed() { printf '%b' "$2" > "$corpus/seed-$1"; }
seed init '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1.0"}}\n'
seed batch '[{"jsonrpc":"2.0","id":"a","method":"healthCheck"},{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"a"}}]\n'
seed exec '{"jsonrpc":"2.0","id":2.5,"method":"exec","params":{"externalId":"x","command":["sh","-c","echo \\"hi\\" \\\\ \\u00e9 \\ud83d\\ude00"],"options":{"timeoutMs":100,"env":{"A":"b"}}}}\n'
seed numbers '{"a":[1,-0,0.5,1e5,1E-5,-12.75e+3,9223372036854775807,-9223372036854775808,99999999999999999999999]}\n'
seed lines '\n\n  \r\n{"x":null}\n{"y":tru\n[[[[[[[[[[]]]]]]]]]]'
seed escapes '"\\u0000\\u001f\\ud800"\n{"k":"\\u007f","k":2}\n'
dict=$scratch/json.dict
cat > "$dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\""
"\\u"
"\\ud83d\\ude00"
"true"
"false"
"null"
"-"
"0"
"1e"
"E+"
"."
"\x0a"
"\x0d"
"\"jsonrpc\":\"2.0\""
"\"id\":"
"\"method\":"
"\"params\":"
DICT

echo "[fuzz] running for ${seconds}s (corpus $corpus)" >&2
status=0
SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -dict="$dict" -artifact_prefix="$artifacts/" \
  -print_final_stats=1 "$corpus" || status=$?
if [ "$status" -ne 0 ]; then
  echo "[fuzz] FAILED (status $status); crashing inputs:" >&2
  ls -1t "$artifacts" | head -5 | sed "s|^|  $artifacts/|" >&2
  exit "$status"
fi
echo "[fuzz] no crash in ${seconds}s" >&2

#!/usr/bin/env bash
# Instructions and atomic read-modify-writes per request in a server's userland: runs the server
# under callgrind (`--dump-instr=yes`), counts only while wrk runs (zeroed after a warm-up, dumped
# at its end), and counts the atomic ones
# with atomics.py. Counts, not times: the machine's speed does not move them.
#
#   benches/wrk/atomics.sh tokio                 # the app on an engine (tokio, uring), or: hyper
#   TEST=plaintext DURATION=5 benches/wrk/atomics.sh uring
#   BINARY=/tmp/app-before benches/wrk/atomics.sh tokio    # another build of the app
#
# TEST is plaintext-pipelined (16 deep on 256 connections, the default), plaintext or json (64
# connections, unpipelined). Needs valgrind, wrk and objdump.
set -euo pipefail
cd "$(dirname "$0")/../.."

SERVER=${1:?"usage: $0 tokio|uring|hyper"}
TEST=${TEST:-plaintext-pipelined}
DURATION=${DURATION:-5}
PORT=${PORT:-18181}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

case "$SERVER" in
  hyper)
    cargo build --release -p benches --bin hyper_server >&2
    cmd=("${BINARY:-target/release/hyper_server}" "$PORT") ;;
  *)
    [ -n "${BINARY:-}" ] || cargo build --release -p app --bin app >&2
    cmd=("${BINARY:-target/release/app}" --engine "$SERVER" --workers 1 --host 127.0.0.1 --port "$PORT") ;;
esac
case "$TEST" in
  plaintext-pipelined) args=(-c 256 -s benches/wrk/pipeline.lua "http://127.0.0.1:$PORT/plaintext" -- 16) ;;
  plaintext) args=(-c 64 "http://127.0.0.1:$PORT/plaintext") ;;
  json) args=(-c 64 "http://127.0.0.1:$PORT/json") ;;
  *) echo "unknown TEST $TEST" >&2; exit 1 ;;
esac

RUST_LOG=warn valgrind --tool=callgrind --dump-instr=yes \
  --callgrind-out-file="$OUT/callgrind.out" "${cmd[@]}" >"$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/plaintext" >/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
wrk -t 1 -d 2s "${args[@]}" >/dev/null
callgrind_control --zero "$pid" >/dev/null
requests=$(wrk -t 1 -d "${DURATION}s" "${args[@]}" | awk '/requests in/ { print $1 }')
callgrind_control --dump "$pid" >/dev/null
# The profile is dumped: the server need not exit cleanly (hyper_server has no signal handling).
kill -KILL $pid
wait $pid 2>/dev/null || true
trap - EXIT
echo "$requests" >"$OUT/requests"
echo "$SERVER $TEST: $requests requests counted ($OUT)"
python3 benches/wrk/atomics.py "$OUT/callgrind.out.1" "$requests"

#!/usr/bin/env bash
# Loopback load benchmark: builds release binaries, then runs wrk against the app on each engine and
# against hyper, server pinned to one core and wrk to the other, alternating servers round by round.
# Prints a markdown table with req/s and server CPU per request (utime + stime from /proc/PID/stat
# divided by the requests wrk completed), medians over the rounds.
#
#   benches/wrk/run.sh                 # all servers, 3 rounds of 10 s per test
#   ROUNDS=5 DURATION=15 SERVERS="uring tokio hyper" benches/wrk/run.sh
#   SERVERS="uring hyper floor" ...    # floor: PERFORMANCE.md's minimal server (floor_server.rs),
#                                      # /plaintext only: what the loop costs before any HTTP work
#   SERVERS="... floor-same"           # the same, answering as many bytes as the app and hyper do
#
# Needs wrk (apt-get install wrk) and two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
SERVERS=${SERVERS:-"uring tokio hyper"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}
TESTS=${TESTS:-"plaintext-pipelined plaintext json"}

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
cargo build --release -p app --bin app >&2
cargo build --release -p benches --bin hyper_server --bin floor_server >&2

ITEMS=$TESTS
source benches/wrk/lib.sh

launch() {
  case "$1" in
    hyper) taskset -c "$SERVER_CPU" "$BIN"/hyper_server "$PORT" >/dev/null 2>&1 & ;;
    floor) taskset -c "$SERVER_CPU" "$BIN"/floor_server "$PORT" >/dev/null 2>&1 & ;;
    floor-same) taskset -c "$SERVER_CPU" "$BIN"/floor_server "$PORT" --same-bytes >/dev/null 2>&1 & ;;
    *) RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN"/app --engine "$1" --workers 1 --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 & ;;
  esac
}

is_up() { curl -fs "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1; }

measure() { # server test -> "req/s requests"
  local args out
  case "$2" in
    plaintext-pipelined) args=(-c 256 -s benches/wrk/pipeline.lua "http://127.0.0.1:$PORT/plaintext" -- 16) ;;
    plaintext) args=(-c 64 "http://127.0.0.1:$PORT/plaintext") ;;
    json) args=(-c 64 "http://127.0.0.1:$PORT/json") ;;
  esac
  out=$(taskset -c "$CLIENT_CPU" wrk -t 1 -d "${DURATION}s" --latency "${args[@]}")
  if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
    echo "$1 $2: $(echo "$out" | grep "Non-2xx\|Socket errors")" >&2
  fi
  echo "$(echo "$out" | awk '/Requests\/sec/ { print $2 }') $(echo "$out" | awk '/requests in/ { print $1 }')"
}

run_rounds
REFERENCE=${REFERENCE-hyper} print_table test req/s "server CPU µs/req"

#!/usr/bin/env bash
# Loopback load benchmark: builds release binaries, then runs wrk against the app on each engine and
# against hyper, server pinned to one core and wrk to the other, alternating servers round by round.
# Prints a markdown table with req/s and server CPU per request (utime + stime from /proc/PID/stat
# divided by the requests wrk completed), medians over the rounds.
#
#   benches/wrk/run.sh                 # all servers, 3 rounds of 10 s per test
#   ROUNDS=5 DURATION=15 SERVERS="uring tokio hyper" benches/wrk/run.sh
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
cargo build --release -p benches --bin hyper_server >&2

TICKS=$(getconf CLK_TCK)
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true' EXIT

start_server() {
  case "$1" in
    hyper) taskset -c "$SERVER_CPU" target/release/hyper_server "$PORT" >/dev/null 2>&1 & ;;
    *) RUST_LOG=warn taskset -c "$SERVER_CPU" target/release/app --engine "$1" --workers 1 --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 & ;;
  esac
  PID=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run_test() { # server test
  local args
  case "$2" in
    plaintext-pipelined) args=(-c 256 -s benches/wrk/pipeline.lua "http://127.0.0.1:$PORT/plaintext" -- 16) ;;
    plaintext) args=(-c 64 "http://127.0.0.1:$PORT/plaintext") ;;
    json) args=(-c 64 "http://127.0.0.1:$PORT/json") ;;
  esac
  local before after out requests rps
  before=$(cpu_ticks "$PID")
  out=$(taskset -c "$CLIENT_CPU" wrk -t 1 -d "${DURATION}s" --latency "${args[@]}")
  after=$(cpu_ticks "$PID")
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
    echo "$1 $2: $(echo "$out" | grep "Non-2xx\|Socket errors")" >&2
  fi
  echo "$1 $2 $rps $(awk -v t=$((after - before)) -v r="$requests" -v hz="$TICKS" 'BEGIN { printf "%.3f", t / hz / r * 1e6 }')" >>"$RESULTS"
}

for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    for test in $TESTS; do
      run_test "$server" "$test"
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    echo "round $round: $server done" >&2
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| server | test | req/s (median) | server CPU µs/req (median) |"
echo "|---|---|---|---|"
for test in $TESTS; do
  for server in $SERVERS; do
    rps=$(awk -v s="$server" -v t="$test" '$1 == s && $2 == t { print $3 }' "$RESULTS" | median)
    cpu=$(awk -v s="$server" -v t="$test" '$1 == s && $2 == t { print $4 }' "$RESULTS" | median)
    echo "| $server | $test | $rps | $cpu |"
  done
done

#!/usr/bin/env bash
# WebSocket echo benchmark: builds release binaries, then runs ws_echo_client against the app's
# `/ws/echo` on each engine and against a bare tokio-tungstenite echo server (ws_echo_server),
# server pinned to one core and the client to the other, alternating servers round by round.
# Prints a markdown table with echoed messages/s and server CPU per message (utime + stime from
# /proc/PID/stat divided by the echoes the client received), medians over the rounds.
#
#   benches/wrk/ws_echo.sh                 # all servers, 3 rounds of 5 s per size
#   ROUNDS=5 DURATION=10 SIZES="16 65536" CONNECTIONS=16 WINDOW=16 benches/wrk/ws_echo.sh
#
# Needs two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SERVERS=${SERVERS:-"uring tokio bare"}
SIZES=${SIZES:-"16 65536"}
CONNECTIONS=${CONNECTIONS:-16}
WINDOW=${WINDOW:-16}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}

cargo build --release -p app --bin app >&2
cargo build --release -p benches --bin ws_echo_server --bin ws_echo_client >&2

TICKS=$(getconf CLK_TCK)
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true' EXIT

start_server() {
  case "$1" in
    bare) taskset -c "$SERVER_CPU" target/release/ws_echo_server "$PORT" >/dev/null 2>&1 & ;;
    *) RUST_LOG=warn taskset -c "$SERVER_CPU" target/release/app --engine "$1" --workers 1 --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 & ;;
  esac
  PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run_test() { # server size
  local before after out messages rate
  before=$(cpu_ticks "$PID")
  out=$(taskset -c "$CLIENT_CPU" target/release/ws_echo_client "$PORT" "$2" "$DURATION" "$CONNECTIONS" "$WINDOW")
  after=$(cpu_ticks "$PID")
  messages=$(echo "$out" | awk '$1 == "messages" { print $2 }')
  rate=$(echo "$out" | awk '$1 == "messages/s" { print $2 }')
  echo "$1 $2 $rate $(awk -v t=$((after - before)) -v m="$messages" -v hz="$TICKS" 'BEGIN { printf "%.3f", t / hz / m * 1e6 }')" >>"$RESULTS"
}

for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    for size in $SIZES; do
      run_test "$server" "$size"
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    echo "round $round: $server done" >&2
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| server | message size | messages/s (median) | server CPU µs/message (median) |"
echo "|---|---|---|---|"
for size in $SIZES; do
  for server in $SERVERS; do
    rate=$(awk -v s="$server" -v z="$size" '$1 == s && $2 == z { print $3 }' "$RESULTS" | median)
    cpu=$(awk -v s="$server" -v z="$size" '$1 == s && $2 == z { print $4 }' "$RESULTS" | median)
    echo "| $server | $size | $rate | $cpu |"
  done
done

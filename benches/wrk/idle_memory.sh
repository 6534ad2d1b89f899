#!/usr/bin/env bash
# Memory per idle keep-alive connection (PERFORMANCE.md's method): builds release binaries, then for
# each server opens CONNECTIONS connections that each make one request and stay open, and prints
# the server's RSS growth per connection (idle_memory.py), the median over the rounds.
#
#   benches/wrk/idle_memory.sh                                   # 8,000 connections, 3 rounds
#   ROUNDS=5 CONNECTIONS=4000 SERVERS="uring hyper" benches/wrk/idle_memory.sh
#   WS=1 benches/wrk/idle_memory.sh        # idle WebSocket sessions (one 16 B echo each) instead
#
# The servers are the app on each engine (one worker) and hyper_server, pinned to one core; with
# WS=1, the app's /ws/echo and the bare tokio-tungstenite echo server (ws_echo_server) instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-8000}
WS=${WS:-}
if [ -n "$WS" ]; then SERVERS=${SERVERS:-"uring tokio bare"}; else SERVERS=${SERVERS:-"uring tokio hyper"}; fi
SERVER_CPU=${SERVER_CPU:-0}
PORT=${PORT:-18080}

cargo build --release -p app --bin app >&2
cargo build --release -p benches --bin hyper_server --bin ws_echo_server >&2
# The client and the server each hold a descriptor per connection.
ulimit -n $((CONNECTIONS + 1000))

source benches/wrk/lib.sh

launch() {
  case "$1" in
    hyper) taskset -c "$SERVER_CPU" "$BIN"/hyper_server "$PORT" >/dev/null 2>&1 & ;;
    bare) taskset -c "$SERVER_CPU" "$BIN"/ws_echo_server "$PORT" >/dev/null 2>&1 & ;;
    *) RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN"/app --engine "$1" --workers 1 --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 & ;;
  esac
}

# The bare WebSocket server does not speak plain HTTP: a TCP connect is its check.
is_up() {
  if [ -n "$WS" ]; then (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
  else curl -fs "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1; fi
}

for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    kib=$(python3 benches/wrk/idle_memory.py "$PID" "$PORT" "$CONNECTIONS" ${WS:+--ws /ws/echo} | awk '$1 == "KiB/connection" { print $2 }')
    echo "$server $kib" >>"$RESULTS"
    echo "round $round: $server $kib KiB/connection" >&2
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  done
done

what=connection; [ -n "$WS" ] && what="WebSocket session"
echo "| server | KiB per idle $what (median of $ROUNDS, $CONNECTIONS) | range |"
echo "|---|---|---|"
for server in $SERVERS; do
  awk -v s="$server" '$1 == s { print $2 }' "$RESULTS" | sort -n |
    awk -v s="$server" '{ v[NR] = $1 } END { printf "| %s | %.2f | %.2f-%.2f |\n", s, v[int((NR + 1) / 2)], v[1], v[NR] }'
done

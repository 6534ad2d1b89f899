#!/usr/bin/env bash
# WebSocket echo benchmark: builds release binaries, then runs ws_echo_client against the app's
# `/ws/echo` on each engine and against a bare tokio-tungstenite echo server (ws_echo_server),
# server pinned to one core and the client to the other, alternating servers round by round.
# Prints markdown tables with echoed messages/s and server CPU per message (utime + stime from
# /proc/PID/stat divided by the echoes the client received), medians over the rounds, and each
# server's ratios to a reference server within the same round (one table per reference).
#
#   benches/wrk/ws_echo.sh                 # all servers, 3 rounds of 5 s per size
#   ROUNDS=5 DURATION=10 SIZES="16 65536" CONNECTIONS=16 WINDOW=16 benches/wrk/ws_echo.sh
#   BATCH=1 ...                            # the client writes each message on its own
#   CLIENT=tungstenite ...                 # tokio-tungstenite's client (it masks and copies every
#                                          # message; the default `raw` client masks frames once
#                                          # and counts echoes from their headers)
#
# Servers: uring and tokio (the app), bare (ws_echo_server: `send` per echo, a write each) and
# bare-batch (ws_echo_server --batch: the echoes of one read in one write).
#
# Needs two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SERVERS=${SERVERS:-"uring tokio bare bare-batch"}
SIZES=${SIZES:-"16 65536"}
CONNECTIONS=${CONNECTIONS:-16}
WINDOW=${WINDOW:-16}
BATCH=${BATCH:-$WINDOW}
CLIENT=${CLIENT:-raw}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}

cargo build --release -p app --bin app >&2
cargo build --release -p benches --bin ws_echo_server --bin ws_echo_client >&2

ITEMS=$SIZES
source benches/wrk/lib.sh

launch() {
  case "$1" in
    bare) taskset -c "$SERVER_CPU" "$BIN"/ws_echo_server "$PORT" >/dev/null 2>&1 & ;;
    bare-batch) taskset -c "$SERVER_CPU" "$BIN"/ws_echo_server "$PORT" --batch >/dev/null 2>&1 & ;;
    *) RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN"/app --engine "$1" --workers 1 --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 & ;;
  esac
}

# The bare server does not speak plain HTTP: a TCP connect is the check.
is_up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

measure() { # server size -> "messages/s messages"
  local out
  out=$(taskset -c "$CLIENT_CPU" "$BIN"/ws_echo_client "$PORT" "$2" "$DURATION" "$CONNECTIONS" "$WINDOW" "$BATCH" "$CLIENT")
  echo "$(echo "$out" | awk '$1 == "messages/s" { print $2 }') $(echo "$out" | awk '$1 == "messages" { print $2 }')"
}

run_rounds
for reference in ${REFERENCES-bare bare-batch}; do
  case " $SERVERS " in *" $reference "*) ;; *) continue ;; esac
  REFERENCE=$reference print_table "message size" messages/s "server CPU µs/message"
  echo
done

# Shared by run.sh, ws_echo.sh and idle_memory.sh (sourced, not run): starting a pinned server,
# reading its CPU time, running the rounds, and printing the medians. A script sets ROUNDS, SERVERS, ITEMS,
# SERVER_CPU and PORT, defines `launch SERVER` (starts it in the background), `is_up` and
# `measure SERVER ITEM` (prints "RATE COUNT" for one run against $PID), then calls `run_rounds` and
# `print_table`. RAW=FILE keeps every round's figures (server, item, rate, CPU per unit, round).

TICKS=$(getconf CLK_TCK)
# Where cargo put the release binaries (CARGO_TARGET_DIR, if set).
BIN=${CARGO_TARGET_DIR:-target}/release
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true' EXIT

start_server() {
  launch "$1"
  PID=$!
  for _ in $(seq 100); do
    is_up && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One run: the rate the client reports, and the server's CPU µs per unit (request, message).
run_test() {
  local before after rate count
  before=$(cpu_ticks "$PID")
  read -r rate count < <(measure "$1" "$2")
  after=$(cpu_ticks "$PID")
  echo "$1 $2 $rate $(awk -v t=$((after - before)) -v n="$count" -v hz="$TICKS" 'BEGIN { printf "%.3f", t / hz / n * 1e6 }') $round" >>"$RESULTS"
}

run_rounds() {
  for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
      start_server "$server"
      for item in $ITEMS; do
        run_test "$server" "$item"
      done
      kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
      echo "round $round: $server done" >&2
    done
  done
  # Every round's figures, for a look at the spread behind the medians.
  if [ -n "${RAW:-}" ]; then cp "$RESULTS" "$RAW"; fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The median, lowest and highest of SERVER's ratios to REF within each round, for ITEM's field
# FIELD (3: rate, 4: CPU per unit): "1.05x (0.91-1.20)". The VM's speed drifts between rounds, so
# a server is compared only with the reference run in the same round.
per_round() { # server ref item field
  awk -v s="$1" -v r="$2" -v i="$3" -v f="$4" '
    $2 == i && $1 == s { mine[$5] = $f }
    $2 == i && $1 == r { ref[$5] = $f }
    END { for (k in mine) if (k in ref && ref[k] > 0) print mine[k] / ref[k] }' "$RESULTS" |
    sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2fx (%.2f-%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

print_table() { # item column, rate column, cpu column; REFERENCE (a server) adds ratio columns
  local ref=${REFERENCE:-}
  echo "| server | $1 | $2 (median) | $3 (median) |${ref:+ vs $ref per round: $2, CPU (range) |}"
  echo "|---|---|---|---|${ref:+---|}"
  for item in $ITEMS; do
    for server in $SERVERS; do
      rate=$(awk -v s="$server" -v i="$item" '$1 == s && $2 == i { print $3 }' "$RESULTS" | median)
      cpu=$(awk -v s="$server" -v i="$item" '$1 == s && $2 == i { print $4 }' "$RESULTS" | median)
      ratio=
      if [ -n "$ref" ] && [ "$server" != "$ref" ]; then
        ratio="$(per_round "$server" "$ref" "$item" 3), $(per_round "$server" "$ref" "$item" 4)"
      fi
      echo "| $server | $item | $rate | $cpu |${ref:+ $ratio |}"
    done
  done
}

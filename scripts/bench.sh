#!/usr/bin/env bash
# Load benchmarks (docs/performance.md): a release build on a fresh SQLite database, pinned to
# one core, driven by wrk from the other. Each workload runs BENCH_RUNS times (3) for
# BENCH_SECONDS (10) at 32 connections and at 1; the row shown is the median run by
# throughput. It is a benchmark, not a test: nothing here fails on a number.
#
#   scripts/bench.sh                 # everything
#   scripts/bench.sh verify flow     # workloads whose name contains one of the words
#   BENCH_PERF=verify scripts/bench.sh verify   # and a perf profile: target/bench/*.perf.txt
#   BENCH_BIN=/tmp/old/identity-backend scripts/bench.sh flow   # measure another build
#
# Columns: requests (or flows, sign-ins) per second, latency p50 and p99 of one request,
# errors (non-2xx/3xx answers and socket errors), the server's CPU time per unit, and its RSS
# at the end of the run.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
PORT=${BENCH_PORT:-5099}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
FILTER=("$@")

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } ||
    { echo "cannot install wrk: install it and run again" >&2; exit 1; }
fi
# BENCH_BIN: another build to measure (an older commit's, say), instead of this tree's.
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  cargo build --release --locked --quiet
  BIN=$PWD/target/release/identity-backend
fi
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

BASE=http://127.0.0.1:$PORT
REDIRECT=https://app.bench.example/callback
PASSWORD=bench-password-Kx8vQ2mZ7pL4
secret() { printf '%s-Kx8vQ2mZ7pL4wN9rT3yB6cF1hJ5sD0gA' "$1"; }
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$(secret "$1")" | base64 -w0)"; }

# Production mode (an https issuer is only a name here: the benchmark talks plain HTTP).
export DATABASE_URL="sqlite://$WORK/identity.db"
export JWT_ISSUER=https://id.bench.example
export BIND_ADDR=127.0.0.1:$PORT
export SESSION_SECRET=bench-session-secret-dkYM8s8HJGPjjWdXeC9M8uKDnt
export JWT_SECRET_KEY=bench-shared-hs256-key-Zq3vN8pL2xW7mK4rT9yB
export HS256_AUDIENCES=hs-service
export RATE_LIMIT_LOGIN_PER_MINUTE=0 RATE_LIMIT_TOKEN_PER_MINUTE=0 RATE_LIMIT_VERIFY_PER_MINUTE=0
export LOG_FORMAT=json RUST_LOG=${BENCH_RUST_LOG:-info}

"$BIN" migrate >/dev/null
printf '%s' "$PASSWORD" | "$BIN" user add bench --password-stdin >/dev/null
for c in rs:RS256 es:ES256 ed:EdDSA; do
  secret "bench-${c%%:*}" | "$BIN" client add "bench-${c%%:*}" --grant-type client_credentials \
    --audience logging-service --audience hs-service --default-audience logging-service \
    --access-token-alg "${c##*:}" --secret-stdin >/dev/null
done
secret bench-web | "$BIN" client add bench-web --redirect-uri "$REDIRECT" --secret-stdin >/dev/null

# Startup: from exec to the first answered request, and the idle RSS after it.
STARTUP_MS=$(python3 - "$BIN" "$PORT" <<'PY'
import socket, subprocess, sys, time
bin_, port = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
p = subprocess.Popen([bin_, "start"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if s.recv(64).startswith(b"HTTP/1.1 200"):
            break
    except OSError:
        time.sleep(0.001)
print(round((time.monotonic() - t0) * 1000))
p.terminate(); p.wait()
PY
)
# BENCH_COUNT=1: instructions per unit instead of CPU time, the server under callgrind
# (valgrind, installed by the script): slow, but the same count on a busy machine as on an
# idle one, for comparing two builds where timings are noise. One run of each workload.
COST_UNIT=us
if [ -n "${BENCH_COUNT:-}" ]; then
  if ! command -v valgrind >/dev/null; then
    echo "installing valgrind (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null ||
      { echo "cannot install valgrind" >&2; exit 1; }
  fi
  RUNS=1 COST_UNIT=Ir
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$BIN" start 2>/dev/null &
else
  taskset -c "$SERVER_CPU" "$BIN" start 2>/dev/null &
fi
SERVER_PID=$!
for _ in $(seq 1 600); do curl -fs "$BASE/ping" >/dev/null && break; sleep 0.05; done
sleep 1
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
IDLE_RSS=$(rss_kib)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
# Context switches of all the server's threads: each hand-off between threads (to the
# database's worker, the blocking pool) costs two, and they cost more than the CPU time
# they show as on a virtual machine. Threads that end during a run take theirs along.
switches() { cat /proc/"$SERVER_PID"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
TICK=$(getconf CLK_TCK)

token_for() { # client, audience
  curl -fs "$BASE/token" -H "Authorization: $(basic "$1")" \
    -d grant_type=client_credentials -d "audience=$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN_RS=$(token_for bench-rs logging-service)
TOKEN_HS=$(token_for bench-rs hs-service)
COOKIE=$(python3 scripts/bench/session.py "$BASE" bench "$PASSWORD" "$REDIRECT")

wanted() {
  [ ${#FILTER[@]} -eq 0 ] && return 0
  for word in "${FILTER[@]}"; do [[ $1 == *"$word"* ]] && return 0; done
  return 1
}

# How fast the server's CPU is right now, by a fixed piece of work (the median of three): on a
# shared host the same build measures up to twice slower when the neighbours are busy, so a
# table is only comparable with another taken at a similar reading.
canary() {
  taskset -c "$SERVER_CPU" python3 - <<'PY'
import hashlib, statistics, time
def cpu_ms(work):
    t = time.process_time(); work(); return (time.process_time() - t) * 1000
pbkdf2 = [cpu_ms(lambda: hashlib.pbkdf2_hmac("sha256", b"p", b"s", 100_000)) for _ in range(3)]
scrypt = [cpu_ms(lambda: hashlib.scrypt(b"p", salt=b"s", n=16384, r=8, p=1, maxmem=64 << 20)) for _ in range(3)]
print(f"PBKDF2 {statistics.median(pbkdf2):.0f} ms, scrypt (16 MiB) {statistics.median(scrypt):.0f} ms")
PY
}
CANARY_BEFORE=$(canary)

printf '\n%-34s %5s %10s %9s %9s %7s %12s %9s %9s\n' workload conns "per s" p50 p99 errors "CPU/unit" "cs/unit" RSS
# run NAME CONNECTIONS SCRIPT PATH [UNIT]: UNIT empty counts requests, else the script's units.
run() {
  local name=$1 conns=$2 script=$3 path=$4 unit=${5:-}
  wanted "$name" || return 0
  cat scripts/bench/common.lua "scripts/bench/$script" >"$WORK/run.lua"
  local rows=() profiling= perf_pid=
  if [[ -n ${BENCH_PERF:-} && $name == *"$BENCH_PERF"* ]] && command -v perf >/dev/null; then
    # Where the server's time goes during this workload (one run): target/bench/*.perf.txt.
    mkdir -p target/bench
    profiling=target/bench/$(echo "$name-$conns" | tr ' /' '__')
    perf record -q -F 997 -g -p "$SERVER_PID" -o "$profiling.data" -- sleep "$SECONDS_EACH" \
      2>/dev/null &
    perf_pid=$!
  fi
  for _ in $(seq 1 "$RUNS"); do
    local before after line cs_before cs_after
    local instructions=
    [ -n "${BENCH_COUNT:-}" ] && callgrind_control -z "$SERVER_PID" >/dev/null
    before=$(cpu_ticks) cs_before=$(switches)
    line=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${SECONDS_EACH}s" --timeout 10s \
      -s "$WORK/run.lua" "$BASE$path" | grep '^RESULT')
    after=$(cpu_ticks) cs_after=$(switches)
    if [ -n "${BENCH_COUNT:-}" ]; then
      callgrind_control -d "$SERVER_PID" >/dev/null
      # shellcheck disable=SC2012 # the newest dump: names are ours, without spaces
      instructions=$(awk '/^(summary|totals):/ {print $2; exit}' "$(ls -t "$WORK"/cg.* | head -1)")
    fi
    rows+=("$(python3 - "$line" "$before" "$after" "$TICK" "$unit" "$(rss_kib)" "$instructions" \
      "$((cs_after - cs_before))" <<'PY'
import sys
line, before, after, tick, unit, rss, instructions, cs = sys.argv[1:9]
f = dict(kv.split("=") for kv in line.split()[1:])
n = int(f["units"]) if unit else int(f["requests"])
rate = n / float(f["seconds"])
if instructions:  # thousands of instructions per unit, under callgrind
    cost = f"{int(instructions) / max(n, 1) / 1000:.0f}k"
else:
    cost = f"{(int(after) - int(before)) / int(tick) * 1e6 / max(n, 1):.0f}"
# A thread that ended during the run took its count along: no figure then.
switches = f"{int(cs) / max(n, 1):.1f}" if int(cs) >= 0 else "-"
print(f'{rate:.1f} {int(f["p50_us"])/1000:.2f} {int(f["p99_us"])/1000:.2f} {f["errors"]} {cost} {switches} {int(rss)//1024}')
PY
)")
  done
  if [ -n "$profiling" ]; then
    wait "$perf_pid" || true
    perf report -i "$profiling.data" --no-children --percent-limit 1.5 --stdio 2>/dev/null \
      | grep -v '^$' >"$profiling.perf.txt" || true
  fi
  local median
  median=$(printf '%s\n' "${rows[@]}" | sort -n -k1,1 | sed -n "$(((RUNS + 1) / 2))p")
  read -r rate p50 p99 errors cpu cs rss <<<"$median"
  printf '%-34s %5s %10s %7sms %7sms %7s %10s%s %9s %6sMiB\n' "$name${unit:+ ($unit)}" "$conns" \
    "$rate" "$p50" "$p99" "$errors" "$cpu" "$COST_UNIT" "$cs" "$rss"
}

for conns in 32 1; do
  run discovery "$conns" get.lua /.well-known/openid-configuration
  run jwks "$conns" get.lua /jwks.json
  BENCH_AUTH=$(basic bench-rs) run "client_credentials RS256" "$conns" token.lua /token
  BENCH_AUTH=$(basic bench-es) run "client_credentials ES256" "$conns" token.lua /token
  BENCH_AUTH=$(basic bench-ed) run "client_credentials EdDSA" "$conns" token.lua /token
  BENCH_TOKEN=$TOKEN_RS BENCH_AUD=logging-service run "verify RS256" "$conns" verify.lua /verify
  BENCH_TOKEN=$TOKEN_HS BENCH_AUD=hs-service run "verify HS256" "$conns" verify.lua /verify
  BENCH_AUTH=$(basic bench-web) BENCH_TOKEN=$TOKEN_RS run introspect "$conns" introspect.lua /introspect
  BENCH_AUTH=$(basic bench-web) BENCH_COOKIE=$COOKIE BENCH_REDIRECT=$REDIRECT \
    run "code flow with a session" "$conns" flow.lua / flows
  BENCH_USER=bench BENCH_PASSWORD=$PASSWORD BENCH_REDIRECT=$REDIRECT \
    run "password sign-in" "$conns" signin.lua / sign-ins
done

# /verify at one connection while 100 sign-ins are in flight: argon2 runs on a bounded
# blocking pool, so token checks are not queued behind password hashes.
if wanted "verify during sign-ins"; then
  cat scripts/bench/common.lua scripts/bench/signin.lua >"$WORK/signin.lua"
  BENCH_USER=bench BENCH_PASSWORD=$PASSWORD BENCH_REDIRECT=$REDIRECT \
    taskset -c "$LOAD_CPU" wrk -t1 -c100 -d"$((SECONDS_EACH + 4))s" --timeout 30s \
    -s "$WORK/signin.lua" "$BASE/" >"$WORK/signin.out" &
  LOAD=$!
  sleep 2
  BENCH_TOKEN=$TOKEN_RS BENCH_AUD=logging-service RUNS=1 \
    run "verify RS256 during 100 sign-ins" 1 verify.lua /verify
  wait "$LOAD"
  grep '^RESULT' "$WORK/signin.out" | sed 's/^RESULT/  (the sign-ins meanwhile:/; s/$/)/'
fi

printf '\nstartup to first answer: %s ms; idle RSS after start: %s MiB; after the runs: %s MiB\n' \
  "$STARTUP_MS" "$((IDLE_RSS / 1024))" "$(($(rss_kib) / 1024))"
echo "machine canary on CPU $SERVER_CPU: before the runs $CANARY_BEFORE; after them $(canary)"
echo "(server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU; $(nproc) CPUs; median of $RUNS runs of ${SECONDS_EACH}s)"

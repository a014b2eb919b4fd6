#!/usr/bin/env bash
# Smoke test of the release binary, started the way the container image starts it (Dockerfile):
# `identity-backend start` (production mode) with only the image's environment, BIND_ADDR on
# 0.0.0.0 (port $SMOKE_PORT, default 55002, instead of 5002), an absolute sqlite:/// database in
# a fresh data directory, an https JWT_ISSUER and a random SESSION_SECRET, in a working directory
# without .env or config/. It checks:
#   - the image's health check (`identity-backend healthcheck`) passes within 30 s;
#   - discovery and /jwks.json answer 200 (with curl; without curl the health check only);
#   - SIGTERM ends it with exit status 0 within 15 s;
#   - when run as root, the same again as an unprivileged user (nobody) owning only its data
#     directory, with a root-owned copy of the binary, as in the image (uid 65532 there).
# Usage: scripts/smoke-release.sh  (after scripts/build-release.sh)
#   SMOKE_BINARY  the binary (default: $CARGO_TARGET_DIR or ./target, then release/identity-backend)
#   SMOKE_PORT    the port (default 55002); it must be free
#   SMOKE_SWITCH_USER  setpriv or runuser, to pick how root becomes nobody (default: setpriv if present)
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SMOKE_PORT:-55002}"
binary="${SMOKE_BINARY:-${CARGO_TARGET_DIR:-target}/release/identity-backend}"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
issuer="https://id.example.test"
start_timeout=30
stop_timeout=15

fail() {
  echo "smoke: FAILED: $*" >&2
  exit 1
}

[ -x "$binary" ] || fail "no executable at $binary (run scripts/build-release.sh first, or set SMOKE_BINARY)"
case "$port" in '' | *[!0-9]*) fail "SMOKE_PORT must be a port number, not '$port'" ;; esac

scratch=$(mktemp -d "${TMPDIR:-/tmp}/identity-smoke.XXXXXX")
chmod 0755 "$scratch" # the unprivileged run must reach its directory inside
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    # Its children too, should a wrapper (runuser) sit between us and the server.
    local child
    child=$(child_of "$server_pid")
    if [ -n "$child" ]; then kill -KILL "$child" 2>/dev/null || true; fi
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# The pid of a child process of $1 (none: empty).
child_of() {
  local stat
  for stat in /proc/[0-9]*/stat; do
    if [ "$(sed -E 's/.*\) //' "$stat" 2>/dev/null | cut -d' ' -f2)" = "$1" ]; then
      basename "$(dirname "$stat")"
      return 0 # not a bare `return`: in the EXIT trap it would return the exit status
    fi
  done
}

show_log() {
  echo "---- server output (last 40 lines) ----" >&2
  tail -n 40 "$1" >&2 || true
  echo "---------------------------------------" >&2
}

# run_smoke LABEL DIR [COMMAND PREFIX...]: one start/check/stop cycle, the server's files in DIR.
run_smoke() {
  local label="$1" dir="$2"
  shift 2
  local prefix=("$@")
  local log="$dir/server.log"
  local bin="$binary"
  [ -x "$dir/bin/identity-backend" ] && bin="$dir/bin/identity-backend"

  echo "== smoke ($label): $bin start on 0.0.0.0:$port"
  if port_open; then
    fail "something already listens on 127.0.0.1:$port; set SMOKE_PORT to a free port"
  fi

  # The image's environment and nothing else (no DATABASE_URL, RUST_LOG, DEV_MODE… leaking in
  # from this shell), in a working directory with no .env, like the image's /app.
  local session_secret
  session_secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
  local env=(
    env -i
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "HOME=$dir"
    "BIND_ADDR=0.0.0.0:$port"
    "DATABASE_URL=sqlite://$dir/data/identity.db"
    "JWT_ISSUER=$issuer"
    "SESSION_SECRET=$session_secret"
  )

  (cd "$dir/work" && exec "${prefix[@]}" "${env[@]}" "$bin" start) >"$log" 2>&1 &
  server_pid=$!

  # Up within the bound: the image's HEALTHCHECK command, pointed at our port.
  local waited=0
  until (cd "$dir/work" && "${prefix[@]}" "${env[@]}" "$bin" healthcheck --addr "127.0.0.1:$port") >/dev/null 2>&1; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      local status=0
      wait "$server_pid" || status=$?
      server_pid=""
      show_log "$log"
      fail "($label) the server exited with status $status before answering /ping"
    fi
    if [ "$waited" -ge $((start_timeout * 2)) ]; then
      show_log "$log"
      fail "($label) no answer to the health check within ${start_timeout} s"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  echo "healthcheck --addr 127.0.0.1:$port: ok after ~$((waited / 2)) s"

  # Exactly the image's HEALTHCHECK (no --addr: BIND_ADDR's 0.0.0.0 becomes 127.0.0.1).
  (cd "$dir/work" && "${prefix[@]}" "${env[@]}" "$bin" healthcheck) ||
    fail "($label) 'identity-backend healthcheck' without --addr failed (it reads BIND_ADDR)"
  echo "healthcheck (from BIND_ADDR): ok"

  if command -v curl >/dev/null; then
    local url code body
    for path in /.well-known/openid-configuration /jwks.json; do
      url="http://127.0.0.1:$port$path"
      body="$dir/body.json"
      code=$(curl -sS --max-time 5 -o "$body" -w '%{http_code}' "$url") ||
        fail "($label) curl $url failed"
      [ "$code" = 200 ] || fail "($label) $url answered $code, expected 200"
      echo "GET $path: 200"
    done
    curl -sS --max-time 5 "http://127.0.0.1:$port/.well-known/openid-configuration" |
      grep -q "\"issuer\":\"$issuer\"" ||
      fail "($label) discovery does not name the issuer $issuer"
    curl -sS --max-time 5 "http://127.0.0.1:$port/jwks.json" | grep -q '"kty":"RSA"' ||
      fail "($label) /jwks.json has no RSA key"
    echo "discovery names $issuer; /jwks.json has an RSA key"
  else
    echo "curl not found: discovery and /jwks.json not checked (the health check passed)"
  fi

  [ -f "$dir/data/identity.db" ] || fail "($label) no database at $dir/data/identity.db"

  # SIGTERM, as `docker stop` sends it (STOPSIGNAL): a clean exit within the bound. runuser
  # stays as the server's parent (and would re-raise a signal sent to it): signal the server.
  local target="$server_pid"
  if [ "${prefix[0]:-}" = runuser ]; then
    target=$(child_of "$server_pid")
    [ -n "$target" ] || fail "($label) cannot find the server under runuser (pid $server_pid)"
  fi
  kill -TERM "$target"
  waited=0
  while kill -0 "$server_pid" 2>/dev/null; do
    # An exited child not yet waited for (a zombie, state Z) counts as gone.
    if [ "$(sed -E 's/.*\) //' "/proc/$server_pid/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; then
      break
    fi
    if [ "$waited" -ge $((stop_timeout * 10)) ]; then
      show_log "$log"
      fail "($label) still running ${stop_timeout} s after SIGTERM"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  local status=0
  wait "$server_pid" || status=$?
  server_pid=""
  if [ "$status" -ne 0 ]; then
    show_log "$log"
    fail "($label) exit status $status after SIGTERM, expected 0"
  fi
  echo "SIGTERM: exited 0 after ~$((waited / 10)) s"
  grep -q '"shutting down"\|shutting down' "$log" ||
    echo "note: no 'shutting down' line in the server's output"
}

# 1. As whoever runs this script (CI: root; a developer: themselves).
mkdir -p "$scratch/self/data" "$scratch/self/work"
run_smoke "as $(id -un)" "$scratch/self"

# 2. As an unprivileged user, like the image's uid 65532: it owns only its data directory; the
#    binary is a root-owned copy it cannot change (the image's /usr/local/bin/identity-backend).
if [ "$(id -u)" -ne 0 ]; then
  echo "== smoke (unprivileged): skipped, not running as root (already ran as $(id -un))"
else
  user=nobody
  if ! id "$user" >/dev/null 2>&1; then
    echo "== smoke (unprivileged): skipped, no user '$user' on this machine"
  else
    uid=$(id -u "$user")
    gid=$(id -g "$user")
    prefix=()
    switch="${SMOKE_SWITCH_USER:-}" # setpriv or runuser; default: the first available
    if [ "$switch" != runuser ] && command -v setpriv >/dev/null; then
      prefix=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups --)
    elif [ "$switch" != setpriv ] && command -v runuser >/dev/null; then
      prefix=(runuser -u "$user" --)
    fi
    if [ "${#prefix[@]}" -eq 0 ]; then
      echo "== smoke (unprivileged): skipped, neither setpriv nor runuser is available"
    else
      dir="$scratch/nonroot"
      mkdir -p "$dir/bin" "$dir/work" "$dir/data"
      install -m 0755 "$binary" "$dir/bin/identity-backend"
      chown "$uid:$gid" "$dir/data"
      chmod 0750 "$dir/data"
      chmod 0755 "$dir" "$dir/bin" "$dir/work"
      run_smoke "as $user (uid $uid, via ${prefix[0]})" "$dir" "${prefix[@]}"
      owner=$(stat -c %u "$dir/data/identity.db")
      [ "$owner" = "$uid" ] || fail "(unprivileged) identity.db is owned by uid $owner, not $uid"
      echo "identity.db created by uid $uid"
    fi
  fi
fi

echo "smoke: all checks passed ($binary)"

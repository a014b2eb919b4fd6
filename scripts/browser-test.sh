#!/usr/bin/env bash
# The platform flow in a real headless browser: identity-backend (start-dev, SQLite in a temp
# dir), the resource server and two instances of the examples' gateway, then
# tests/browser/platform.test.js (playwright-core driving Debian's Chromium): sign-in with a
# wrong then the right password, SSO at the second gateway, RP-initiated logout at the first,
# back-channel logout of the second.
#
# On a fresh Debian machine it installs what is missing: the `chromium` package (apt-get; sudo
# when not root) and the pinned npm packages (`npm ci`; no browser is ever downloaded). Then it
# builds the provider and the examples (debug, --locked).
#
# Screenshots: target/browser-screenshots/NN-name.png (the sign-in page is copied to
# docs/images/sign-in.png). Server logs: target/browser-test-logs/. Everything started here is
# stopped on exit, pass or fail.
#
# Environment: CHROMIUM (default /usr/bin/chromium), SKIP_BUILD=1 (use the binaries as built).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SCREENSHOTS="$ROOT/target/browser-screenshots"
LOGS="$ROOT/target/browser-test-logs"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
started=$(date +%s)

say() { printf '== %s\n' "$*"; }

# ---- tools --------------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  say "installing chromium (apt-get)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    chromium fonts-liberation
fi
"$CHROMIUM" --version

command -v node >/dev/null || { echo "node (20 or later) is required" >&2; exit 1; }
if [ ! -d tests/browser/node_modules/playwright-core ] ||
   [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  say "npm ci (tests/browser)"
  # playwright-core has no install script; --ignore-scripts makes sure nothing is downloaded.
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
fi

# ---- builds -------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "cargo build --locked (identity-backend)"
  cargo build --locked
  say "cargo build --locked (examples)"
  (cd examples && cargo build --locked)
fi
IDP_BIN="$ROOT/target/debug/identity-backend"
GATEWAY_BIN="$ROOT/examples/target/debug/gateway"
RESOURCE_BIN="$ROOT/examples/target/debug/resource-server"

# ---- processes, stopped on exit -----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/browser-test.XXXXXX")
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  if [ "$status" -ne 0 ]; then
    echo "FAILED (exit $status). Server logs: $LOGS/; screenshots: $SCREENSHOTS/" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$SCREENSHOTS" "$LOGS"
mkdir -p "$SCREENSHOTS" "$LOGS"

# Free ports, chosen by the OS (released at once; nothing else here binds ports meanwhile).
read -r IDP_PORT A_PORT B_PORT RS_PORT THIRD_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
IDP="http://127.0.0.1:$IDP_PORT"
A="http://127.0.0.1:$A_PORT"
B="http://127.0.0.1:$B_PORT"
RS="http://127.0.0.1:$RS_PORT"

# The provider's settings, for the CLI and the server alike. Run from $WORK so that no .env
# of the checkout is read; DEV_MODE lets the CLI register http://127.0.0.1 URIs.
export DATABASE_URL="sqlite://$WORK/identity.db" DEV_MODE=true NO_COLOR=1
cd "$WORK"

secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
TEST_USERNAME=alice
TEST_PASSWORD=$(secret)
A_SECRET=$(secret)
B_SECRET=$(secret)

say "registering a user and the clients"
{
  printf '%s' "$TEST_PASSWORD" | "$IDP_BIN" user add "$TEST_USERNAME" --password-stdin \
    --name "Alice Example" --email alice@example.com
  for app in a b; do
    if [ "$app" = a ]; then url=$A; secret=$A_SECRET; else url=$B; secret=$B_SECRET; fi
    printf '%s' "$secret" | "$IDP_BIN" client add "gateway-$app" --name "Gateway ${app^^}" \
      --secret-stdin --auth-method client_secret_basic \
      --redirect-uri "$url/callback" --post-logout-redirect-uri "$url/" \
      --backchannel-logout-uri "$url/backchannel-logout" \
      --audience logging-service --default-audience logging-service
  done
  # For the consent page only: nothing listens at its redirect URI.
  "$IDP_BIN" client add partner-app --name "Partner App" --third-party \
    --redirect-uri "http://127.0.0.1:$THIRD_PORT/callback"
} >"$LOGS/cli.log" 2>&1 || { cat "$LOGS/cli.log" >&2; exit 1; }

# Waits until URL answers 200, or fails when the process died or 30 s passed.
wait_for() {
  local name=$1 url=$2 pid=$3
  for _ in $(seq 60); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited; its log:" >&2; tail -n 40 "$LOGS/$name.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "$name does not answer at $url; its log:" >&2; tail -n 40 "$LOGS/$name.log" >&2
  return 1
}

say "starting identity-backend on $IDP"
BIND_ADDR="127.0.0.1:$IDP_PORT" JWT_ISSUER="$IDP" "$IDP_BIN" start-dev >"$LOGS/identity-backend.log" 2>&1 &
PIDS+=($!)
wait_for identity-backend "$IDP/ping" "$!"

say "starting the resource server on $RS"
ISSUER="$IDP" BIND_ADDR="127.0.0.1:$RS_PORT" "$RESOURCE_BIN" >"$LOGS/resource-server.log" 2>&1 &
PIDS+=($!)
wait_for resource-server "$RS/ping" "$!"

# Gateway B reaches the provider by another name (PROVIDER_INTERNAL_URL, as in docker compose):
# its server-to-server calls go there while the issuer and every token's iss stay $IDP.
for app in a b; do
  if [ "$app" = a ]; then url=$A; port=$A_PORT; secret=$A_SECRET; internal=""
  else url=$B; port=$B_PORT; secret=$B_SECRET; internal="http://localhost:$IDP_PORT"; fi
  say "starting gateway-$app on $url"
  ISSUER="$IDP" PROVIDER_INTERNAL_URL="$internal" CLIENT_ID="gateway-$app" CLIENT_SECRET="$secret" \
    CLIENT_AUTH_METHOD=client_secret_basic BASE_URL="$url" BIND_ADDR="127.0.0.1:$port" \
    APP_NAME="gateway-$app" RESOURCE_URL="$RS" \
    "$GATEWAY_BIN" >"$LOGS/gateway-$app.log" 2>&1 &
  PIDS+=($!)
  wait_for "gateway-$app" "$url/ping" "$!"
done

say "browser test (Chromium: $CHROMIUM)"
cd "$ROOT/tests/browser"
IDP_URL=$IDP GATEWAY_A_URL=$A GATEWAY_B_URL=$B \
  TEST_USERNAME=$TEST_USERNAME TEST_PASSWORD=$TEST_PASSWORD \
  THIRD_PARTY_CLIENT_ID=partner-app THIRD_PARTY_REDIRECT_URI="http://127.0.0.1:$THIRD_PORT/callback" \
  SCREENSHOT_DIR="$SCREENSHOTS" SIGN_IN_IMAGE="$ROOT/docs/images/sign-in.png" CHROMIUM="$CHROMIUM" \
  node --test --test-reporter=spec platform.test.js &
# In the background and waited for, so that a signal (Ctrl-C, a CI timeout) stops everything
# at once rather than after the test ends; node is among the processes stopped on exit.
PIDS+=($!)
wait "$!"

say "passed in $(($(date +%s) - started)) s; screenshots in $SCREENSHOTS"
ls "$SCREENSHOTS"

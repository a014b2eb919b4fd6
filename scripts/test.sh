#!/usr/bin/env bash
# The whole test suite. First everything on SQLite (unit tests and tests/api), then tests/api
# again on PostgreSQL when TEST_DATABASE_URL names a server (each test creates and drops a
# database of its own there, so tests stay parallel). Arguments go to `cargo test` (a filter).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== SQLite pass: cargo test --locked $*"
env -u TEST_DATABASE_URL cargo test --locked "$@"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== PostgreSQL pass: cargo test --locked --test api $* (on the server in TEST_DATABASE_URL)"
  cargo test --locked --test api "$@"
else
  cat >&2 <<'BANNER'

  ############################################################################
  #  PostgreSQL pass SKIPPED: TEST_DATABASE_URL is not set.                  #
  #  Only SQLite was tested. To test PostgreSQL as well, run for example     #
  #    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/test.sh
  #  (a role that may CREATE DATABASE; .ci/run sets it and starts a server). #
  ############################################################################

BANNER
fi

#!/usr/bin/env bash
# STYLE.md rule 1: layers point one way. The protocol core (src/oidc/) is pure: it imports
# nothing from the HTTP stack, the database or the templates, nor from the layers above it.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='(^|[^a-z_])(axum|tower|tower_http|tower_sessions|sqlx|askama|hyper)::|crate::(http|store|service|app|state)\b'
if grep -rnE "$forbidden" src/oidc; then
  echo "layering violation: src/oidc/ must not import the lines above" >&2
  exit 1
fi
echo "layering: src/oidc/ is free of axum, tower, sqlx, askama and the upper layers"

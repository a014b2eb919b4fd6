#!/usr/bin/env bash
# The one release build, used by the Dockerfile and by CI: the identity-backend binary,
# optimised (profile.release in Cargo.toml), with exactly the versions in Cargo.lock.
# Takes no arguments; set CARGO_TARGET_DIR to build elsewhere than ./target (the Dockerfile
# does, to build in a cache mount). The last line printed is the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ne 0 ]; then
  echo "usage: scripts/build-release.sh   (no arguments; CARGO_TARGET_DIR may be set)" >&2
  exit 2
fi

cargo build --release --locked --bin identity-backend

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
binary="$target_dir/release/identity-backend"
if [ ! -x "$binary" ]; then
  echo "error: cargo succeeded but $binary is missing" >&2
  exit 1
fi
echo "release binary: $binary"

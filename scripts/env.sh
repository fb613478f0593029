# Shared settings for the project's scripts. Sourced, never run.
#
# Tools are installed once into a cache folder outside the checkout, so a fresh clone (as CI uses)
# finds them again; each one lives in a folder named for its exact version, so a version bump in
# this file or in Cargo.lock installs the new one beside the old and never reuses a stale binary.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${S3GK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/s3-gatekeeper}"

WORKER_BUILD_VERSION="0.8.7"
S3S_FS_VERSION="0.14.1"
# A second S3-compatible server, for what s3s-fs does not do: conditional GETs and region checks.
GARAGE_VERSION="2.5.0"
# wasm-bindgen-cli must match the wasm-bindgen library exactly, so it is read from Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"

# The fuzz targets (fuzz/) need a nightly Rust for libFuzzer's instrumentation; a dated one, so
# every machine builds them with the same compiler.
FUZZ_TOOLCHAIN="nightly-2026-10-30"
CARGO_FUZZ_VERSION="0.13.2"

# moto's server evaluates IAM policies once its authentication is on: the check of the
# policies `gatekeeper aws-policy` prints (tests/e2e/aws-policy.test.mjs). Pinned: another
# version may evaluate differently.
MOTO_VERSION="5.2.5"
MOTO_DIR="$CACHE/moto-$MOTO_VERSION"

# DuckDB from PyPI, in a virtual environment of its own: the end-to-end test runs the archive
# query docs/audit.md gives with it.
DUCKDB_VERSION="2.0.0"
DUCKDB_PYTHON="$CACHE/duckdb-$DUCKDB_VERSION/bin/python"

TOOLS="$CACHE/tools"
# Build output is kept in the cache too, so a fresh clone (as CI makes) reuses compiled
# dependencies and only rebuilds the project's own crates.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
WORKER_BUILD_BIN="$TOOLS/worker-build-$WORKER_BUILD_VERSION/bin/worker-build"
WASM_BINDGEN_BIN="$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
S3S_FS_BIN="$TOOLS/s3s-fs-$S3S_FS_VERSION/bin/s3s-fs"
GARAGE_BIN="$TOOLS/garage-$GARAGE_VERSION/bin/garage"
CARGO_FUZZ_BIN="$TOOLS/cargo-fuzz-$CARGO_FUZZ_VERSION/bin/cargo-fuzz"
export WASM_BINDGEN_BIN

# wrangler must never stop to ask a question or phone home.
export WRANGLER_SEND_METRICS=false
export CI="${CI:-true}"

# Fixed credentials of the local S3-compatible server. They protect nothing but loopback test data.
LOCAL_S3_ACCESS_KEY="GKLOCALACCESSKEY0001"
LOCAL_S3_SECRET_KEY="gk-local-secret-key-for-loopback-tests-only"
LOCAL_S3_BUCKET="demo-reports"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf '\033[1;33m==> WARNING: %s\033[0m\n' "$*" >&2; }

# Runs a step and reports how long it took, so slow setup is visible rather than silent.
# Keeps the command's exit status, even where the caller tests it (and `set -e` is off).
timed() {
  local label="$1"; shift
  local start=$SECONDS status=0
  "$@" || status=$?
  note "$label: $((SECONDS - start)) s"
  return "$status"
}

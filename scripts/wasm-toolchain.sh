# Makes a Rust toolchain with the wasm32-unknown-unknown target available. Sourced by scripts.
#
# `ensure_wasm_toolchain` records the rustup toolchain to build the Worker with in
# "$CACHE/wasm-toolchain"; `wasm_toolchain` prints it.
#
# First choice: `rustup target add` on the default toolchain, which works wherever the Rust
# distribution server is reachable. Where it is not, the offline route builds a toolchain from
# Debian's packaged rustc-web (see docs/wasm-toolchain.md).

WASM_TOOLCHAIN_FILE="$CACHE/wasm-toolchain"

wasm_toolchain() {
  cat "$WASM_TOOLCHAIN_FILE"
}

ensure_wasm_toolchain() {
  mkdir -p "$CACHE"
  if [[ "${S3GK_WASM_ROUTE:-}" != offline ]]; then
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
      note "wasm32 target: already installed on the default toolchain"
      rustup show active-toolchain | cut -d' ' -f1 >"$WASM_TOOLCHAIN_FILE"
      return
    fi
    step "Adding the wasm32-unknown-unknown target with rustup"
    if timeout 300 rustup target add wasm32-unknown-unknown; then
      rustup show active-toolchain | cut -d' ' -f1 >"$WASM_TOOLCHAIN_FILE"
      return
    fi
    note "rustup could not add the target; falling back to Debian's rustc-web"
  fi
  ensure_offline_wasm_toolchain
}

ensure_offline_wasm_toolchain() {
  echo "offline wasm toolchain: not implemented yet" >&2
  return 1
}

# shellcheck shell=bash
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

# The offline route. Debian's security suite ships a recent rustc built for Firefox ("rustc-web")
# with its std sources, LLVM and lld. They are unpacked (never installed) into a private prefix,
# "$CACHE/rust-web-VERSION", the wasm32 standard library is built there from those sources, and the
# prefix is registered with `rustup toolchain link` as "s3gk-web-VERSION". With no cargo in the
# prefix, rustup runs the cargo of an installed release toolchain (nightly, beta or stable) with it.
#
# The prefix is assembled in "PREFIX.partial" and moved into place only once complete, with a marker
# holding the Debian version written last; a run that finds the marker only re-links the toolchain.
# The marker also records _RUSTWEB_RECIPE, raised whenever the prefix's contents change, so that a
# prefix prepared by an older version of this script is rebuilt rather than reused.
#
# Every step checks its own result, because callers may run this where `set -e` does not apply.
_RUSTWEB_RECIPE=1

ensure_offline_wasm_toolchain() {
  local multiarch host
  case "$(dpkg --print-architecture 2>/dev/null || true)" in
    amd64) multiarch=x86_64-linux-gnu host=x86_64-unknown-linux-gnu ;;
    arm64) multiarch=aarch64-linux-gnu host=aarch64-unknown-linux-gnu ;;
    *) _rustweb_fail "the offline wasm route needs Debian (amd64 or arm64) with dpkg and apt"; return 1 ;;
  esac
  local tool
  for tool in apt-get apt-cache dpkg dpkg-query rustup cargo flock; do
    command -v "$tool" >/dev/null \
      || { _rustweb_fail "the offline wasm route needs '$tool', which is not on PATH"; return 1; }
  done
  mkdir -p "$CACHE" || return 1

  # One run at a time per cache: a second one waits here, then finds the work done.
  local lock_fd rc=0
  exec {lock_fd}>"$CACHE/rust-web.lock" || return 1
  flock "$lock_fd" || { exec {lock_fd}>&-; return 1; }
  _rustweb_ensure "$multiarch" "$host" || rc=$?
  exec {lock_fd}>&-
  return "$rc"
}

# _rustweb_ensure MULTIARCH HOST: the work of ensure_offline_wasm_toolchain, under its lock.
_rustweb_ensure() {
  local multiarch="$1" host="$2"
  _RUSTWEB_UPDATED=""
  _rustweb_resolve_version || return 1
  local deb_version="$_RUSTWEB_DEB_VERSION"
  local version="${deb_version#*:}"
  version="${version%%[+~-]*}"
  local prefix="$CACHE/rust-web-$version"
  local name="s3gk-web-$version"
  local marker="$prefix/.s3gk-complete"

  if [[ -f "$marker" && "$(sed -n 2p "$marker")" == "recipe $_RUSTWEB_RECIPE" ]]; then
    note "wasm32 target: Debian rustc-web $version already prepared in $prefix"
    rm -rf "$prefix.partial"
  else
    _rustweb_build "$deb_version" "$prefix" "$multiarch" "$host" || return 1
  fi

  _rustweb_link "$name" "$prefix/usr" || return 1
  echo "$name" >"$WASM_TOOLCHAIN_FILE" || return 1
  note "wasm32 target: using toolchain $name"
}

_rustweb_fail() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; }

# Like env.sh's `timed`, but passes on the command's exit status in every context.
_rustweb_timed() {
  local label="$1" start=$SECONDS rc=0
  shift
  "$@" || rc=$?
  note "$label: $((SECONDS - start)) s"
  return "$rc"
}

# apt-get update, once per run, and only when apt turned out not to know what is needed.
_rustweb_apt_update() {
  [[ -z "$_RUSTWEB_UPDATED" ]] || return 1
  _RUSTWEB_UPDATED=1
  step "Refreshing apt's package lists (apt-get update)"
  if [[ "$(id -u)" == 0 ]]; then
    _rustweb_timed "apt-get update" apt-get update -qq
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    _rustweb_timed "apt-get update" sudo -n apt-get update -qq
  else
    _rustweb_fail "apt's package lists need refreshing; run 'sudo apt-get update' and try again"
    return 1
  fi
}

_rustweb_candidate() {
  apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}

# Sets _RUSTWEB_DEB_VERSION to the Debian version of rustc-web to use: apt's candidate, provided
# that version also comes with rust-web-llvm (older rustc-web releases in Debian's main suite do not;
# the security suite has them). If apt knows of none, a prefix completed earlier is used instead.
_rustweb_resolve_version() {
  local v
  while :; do
    v="$(_rustweb_candidate rustc-web)"
    if [[ -n "$v" && "$v" != "(none)" && "$(_rustweb_candidate rust-web-llvm)" == "$v" ]]; then
      _RUSTWEB_DEB_VERSION="$v"
      return
    fi
    _rustweb_apt_update || break
  done
  local done_marker
  done_marker="$(find "$CACHE" -mindepth 2 -maxdepth 2 -path "$CACHE/rust-web-*/.s3gk-complete" \
    2>/dev/null | sort -V | tail -n1)"
  if [[ -n "$done_marker" ]]; then
    note "apt offers no usable rustc-web; reusing $(dirname "$done_marker")"
    _RUSTWEB_DEB_VERSION="$(head -n1 "$done_marker")"
    return
  fi
  _rustweb_fail "apt offers no rustc-web with a matching rust-web-llvm (found rustc-web '${v:-none}')." \
    "They come from Debian's security suite: add 'deb http://deb.debian.org/debian-security" \
    "bookworm-security main' to apt's sources, run apt-get update, and try again."
  return 1
}

# _rustweb_download DIR PKG[=VERSION]...: fetches the .deb files into DIR, naming the one that fails.
_rustweb_download() {
  local dir="$1"; shift
  local pkg opts=(-qq)
  # Run as root, apt would try to download as its unprivileged _apt user, which cannot write here.
  [[ "$(id -u)" != 0 ]] || opts+=(-o APT::Sandbox::User=root)
  for pkg in "$@"; do
    note "downloading $pkg"
    if ! (cd "$dir" && apt-get download "${opts[@]}" "$pkg"); then
      _rustweb_apt_update || true
      (cd "$dir" && apt-get download "${opts[@]}" "$pkg") \
        || { _rustweb_fail "apt could not download the Debian package $pkg"; return 1; }
    fi
  done
}

# Runtime libraries that LLVM and lld need and this machine lacks (e.g. libz3-4 or libxml2 on a
# minimal image): they are unpacked into the prefix too, never installed.
_rustweb_missing_libs() {
  local pkg
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$@" 2>/dev/null \
    | awk '/^lib[^ :<>]*$/' | sort -u \
    | while read -r pkg; do
        case "$pkg" in libc6 | libgcc-s1 | libstdc++6 | libllvm* | libstd-rust-*) continue ;; esac
        [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" == "ii " ]] || echo "$pkg"
      done
}

# _rustweb_build DEB_VERSION PREFIX MULTIARCH HOST
_rustweb_build() {
  local deb_version="$1" prefix="$2" multiarch="$3" host="$4"
  local partial="$prefix.partial"
  local usr="$partial/usr"

  step "Preparing Debian's rustc-web $deb_version as a private toolchain in $prefix"
  # Package names carry version numbers (libstd-rust-web-1.96, llvm-22), so they are read from apt.
  local libstd llvm_major
  libstd="$(apt-cache depends "libstd-rust-web-dev=$deb_version" 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^libstd-rust-web-[0-9]/ { print $2; exit }')"
  llvm_major="$(apt-cache depends "rust-web-llvm=$deb_version" 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^llvm-[0-9]+$/ { sub(/^llvm-/, "", $2); print $2; exit }')"
  if [[ -z "$libstd" || -z "$llvm_major" ]]; then
    _rustweb_fail "could not read the names of rustc-web's libstd and LLVM packages from apt-cache depends"
    return 1
  fi
  local pkgs=(
    "rustc-web=$deb_version" "rust-web-src=$deb_version" "$libstd=$deb_version"
    "libstd-rust-web-dev=$deb_version" "rust-web-llvm=$deb_version"
    "rust-web-clippy=$deb_version" "libllvm$llvm_major" "lld-$llvm_major"
  )
  local extra
  mapfile -t extra < <(_rustweb_missing_libs "libllvm$llvm_major" "lld-$llvm_major" "$libstd")

  rm -rf "$partial" && mkdir -p "$partial/debs" || return 1
  step "Downloading ${#pkgs[@]} Debian packages (about 145 MB)${extra[*]:+ and missing libraries: ${extra[*]}}"
  _rustweb_timed "download" _rustweb_download "$partial/debs" "${pkgs[@]}" "${extra[@]}" || return 1

  step "Unpacking them into $partial"
  local deb
  for deb in "$partial"/debs/*.deb; do
    dpkg -x "$deb" "$partial" || { _rustweb_fail "dpkg could not unpack $deb"; return 1; }
  done
  rm -rf "$partial/debs"

  # rustc finds its sysroot from its own path, but its libraries (librustc_driver, libLLVM) are
  # not on the system's library path: a wrapper beside it adds them and runs the real binary.
  # rustdoc and clippy (for `cargo clippy --target wasm32-unknown-unknown`) get the same wrapper.
  local libdirs="" abs_libdirs="" dir
  for dir in "usr/lib/$multiarch" "lib/$multiarch"; do
    [[ -d "$partial/$dir" ]] || continue
    libdirs+="${libdirs:+:}\$d/../../$dir"
    abs_libdirs+="${abs_libdirs:+:}$partial/$dir"
  done
  if ! compgen -G "$usr/lib/$multiarch/librustc_driver-*.so" >/dev/null \
      || ! compgen -G "$usr/lib/$multiarch/libLLVM*.so*" >/dev/null; then
    _rustweb_fail "the unpacked packages lack librustc_driver or libLLVM under usr/lib/$multiarch"
    return 1
  fi
  local bin
  for bin in rustc rustdoc cargo-clippy clippy-driver; do
    [[ -x "$usr/bin/$bin" ]] || { _rustweb_fail "the unpacked packages lack usr/bin/$bin"; return 1; }
    mv "$usr/bin/$bin" "$usr/bin/$bin.real" || return 1
    printf '%s\n' '#!/bin/sh' \
      "d=\"\$(dirname \"\$(readlink -f \"\$0\")\")\"; export LD_LIBRARY_PATH=\"$libdirs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\"; exec \"\$d/$bin.real\" \"\$@\"" \
      >"$usr/bin/$bin" && chmod 755 "$usr/bin/$bin" || return 1
  done

  # rustc links wasm with rust-lld from the sysroot's host bin folder.
  mkdir -p "$usr/lib/rustlib/$host/bin" \
    && ln -sfn "../../../../bin/lld-$llvm_major" "$usr/lib/rustlib/$host/bin/rust-lld" || return 1

  local rustc_version sysroot
  if ! rustc_version="$("$usr/bin/rustc" -V 2>&1)"; then
    _rustweb_fail "the unpacked rustc does not run: $rustc_version"
    return 1
  fi
  sysroot="$("$usr/bin/rustc" --print sysroot)"
  if [[ "$sysroot" != "$(cd "$usr" && pwd -P)" ]]; then
    _rustweb_fail "the unpacked rustc uses the sysroot '$sysroot' instead of $usr"
    return 1
  fi
  if ! "$usr/bin/clippy-driver" -V >/dev/null 2>&1; then
    _rustweb_fail "the unpacked clippy-driver does not run"
    return 1
  fi
  if ! LD_LIBRARY_PATH="$abs_libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$usr/lib/rustlib/$host/bin/rust-lld" -flavor wasm --version >/dev/null 2>&1; then
    _rustweb_fail "the unpacked lld-$llvm_major does not run (missing shared libraries?)"
    return 1
  fi
  if [[ ! -d "$usr/lib/rustlib/src/rust/library/std" ]]; then
    _rustweb_fail "rust-web-src did not provide the std sources at usr/lib/rustlib/src/rust/library"
    return 1
  fi
  note "$rustc_version"

  # The wasm32 standard library is not packaged: build it from rust-web-src with cargo's
  # build-std, on a throwaway crate. Bitcode is embedded so crates built with `lto = true` link.
  # cargo runs from the crate's folder so that no rustup override of the caller's folder applies.
  step "Building the wasm32 standard library from rust-web-src (about a minute)"
  local crate="$partial/std-build"
  mkdir -p "$crate/src" || return 1
  cat >"$crate/Cargo.toml" <<'TOML'
[package]
name = "s3gk-wasm-std"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[workspace]
TOML
  echo '#[no_mangle] pub extern "C" fn probe(n: usize) -> usize { std::vec![0u8; n].len() }' \
    >"$crate/src/lib.rs" || return 1
  if ! _rustweb_timed "wasm32 std" env -C "$crate" \
      -u CARGO_ENCODED_RUSTFLAGS -u RUSTC_WRAPPER -u RUSTC_WORKSPACE_WRAPPER \
      -u CARGO_BUILD_RUSTC_WRAPPER -u RUSTUP_TOOLCHAIN -u CARGO_BUILD_TARGET \
      RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort RUSTFLAGS=-Cembed-bitcode=yes \
      RUSTC="$usr/bin/rustc" \
      cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$crate/target"; then
    _rustweb_fail "building the wasm32 standard library failed (see cargo's output above)"
    return 1
  fi
  local libdir="$usr/lib/rustlib/wasm32-unknown-unknown/lib"
  mkdir -p "$libdir" \
    && cp "$crate"/target/wasm32-unknown-unknown/release/deps/lib*.rlib "$libdir/" || return 1
  if ! compgen -G "$libdir/libstd-*.rlib" >/dev/null; then
    _rustweb_fail "the wasm32 build produced no libstd rlib"
    return 1
  fi
  rm -rf "$crate"
  # Keep only library/ of the sources (what rustup's rust-src holds): the compiler and tool
  # sources are about 360 MB that nothing here reads.
  local src
  for src in "$usr"/src/rustc-*; do
    rm -rf "$src/compiler" "$src/src"
  done

  printf '%s\nrecipe %s\n' "$deb_version" "$_RUSTWEB_RECIPE" >"$partial/.s3gk-complete" || return 1
  rm -rf "$prefix" && mv "$partial" "$prefix" || return 1
  note "installed in $prefix ($(du -sh "$prefix" | cut -f1))"
}

# _rustweb_link NAME DIR: registers DIR as rustup toolchain NAME unless it already is.
_rustweb_link() {
  local name="$1" dir="$2" current
  current="$(rustup toolchain list -v | awk -v n="$name" '$1 == n { print $NF; exit }')"
  if [[ -n "$current" && "$(readlink -f "$current")" == "$(readlink -f "$dir")" ]]; then
    return
  fi
  # `rustup toolchain link` replaces an existing link of that name.
  step "Registering $dir as rustup toolchain $name"
  rustup toolchain link "$name" "$dir" \
    || { _rustweb_fail "rustup toolchain link $name $dir failed"; return 1; }
}

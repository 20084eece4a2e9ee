#!/usr/bin/env bash
# Makes the toolchain pinned in rust-toolchain.toml available without a download: when rustup
# does not know that version by name but its installed stable toolchain is that version, the
# pinned name is made to point at it (a symlink in rustup's toolchains folder: `rustup toolchain
# link` refuses names that look like releases). Sourced by .ci/run and scripts/test.sh before
# any cargo call.
ensure_pinned_toolchain() {
  command -v rustup >/dev/null 2>&1 || return 0
  local root pinned
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  pinned="$(sed -n 's/^channel = "\(.*\)"/\1/p' "$root/rust-toolchain.toml")"
  [ -n "$pinned" ] || return 0
  local installed stable_version
  installed="$(rustup toolchain list)"
  if grep -q "^$pinned-" <<<"$installed"; then
    return 0
  fi
  stable_version="$(rustc +stable --version 2>/dev/null || true)"
  if grep -q "^rustc $pinned " <<<"$stable_version"; then
    local host
    host="$(rustc +stable -vV | sed -n 's/^host: //p')"
    ln -s "$(rustc +stable --print sysroot)" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$pinned-$host"
    echo "linked toolchain $pinned-$host to the installed stable ($stable_version)"
  fi
}
ensure_pinned_toolchain

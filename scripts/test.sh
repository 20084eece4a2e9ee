#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what the tests need first.
# Usage: bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain pinned in rust-toolchain.toml, with the components CI uses.
source scripts/ensure-toolchain.sh

# The VADER reference values are committed test vectors (crates/sentiment/tests/vectors, made
# by make_vectors.py); the tests below need two outside programs, installed when missing.

# The alert delivery tests send mail to a real SMTP server on loopback: aiosmtpd.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip install --quiet aiosmtpd \
        || { apt-get update && apt-get install -y python3-aiosmtpd; }
fi

# The web UI's end-to-end test drives headless Chromium through chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

# Unit, integration and doc tests of every crate (benchmarks are built by clippy, run by hand).
cargo test --workspace --locked "$@"

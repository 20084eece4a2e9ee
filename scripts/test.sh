#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what the tests need first.
# Usage: bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain pinned in rust-toolchain.toml, with the components CI uses.
source scripts/ensure-toolchain.sh

# The tests need nothing beyond cargo today: the VADER reference values are committed test
# vectors (crates/sentiment/tests/vectors, made by make_vectors.py), and every other test runs
# against real files, indexes and processes it creates itself.

# Unit, integration and doc tests of every crate (benchmarks are built by clippy, run by hand).
cargo test --workspace --locked "$@"

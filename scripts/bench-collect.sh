#!/usr/bin/env bash
# Collection at scale: 2,000 feed sources on a loopback farm, one `earful collect --once`
# cycle, then a second cycle where every feed answers 304. Each cycle is timed beside a bare
# client fetching the same feeds at the same concurrency (the reference: what the server
# alone costs). Usage: scripts/bench-collect.sh [COUNT] [PROFILE]
set -euo pipefail
count="${1:-2000}"
profile="${2:-release}"
cd "$(dirname "$0")/.."
flag=$([ "$profile" = release ] && echo --release || echo)
cargo build $flag -p earful --bin earful
cargo build $flag -p earful-collect --example feed_farm
bin="target/$([ "$profile" = release ] && echo release || echo debug)"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
"$bin/examples/feed_farm" serve "$count" "$port" "$work/earful.toml" &
farm=$!
trap 'kill "$farm" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/stats" >/dev/null 2>&1 && break; sleep 0.1; done

echo "## reference: bare fetch of $count feeds"
"$bin/examples/feed_farm" fetch-all "$count" "$port"
echo "## cycle 1: earful collect --once ($count feeds, all new)"
/usr/bin/time -v "$bin/earful" --config "$work/earful.toml" collect --once 2>"$work/time1" | tail -1
grep -E "Elapsed|Maximum resident" "$work/time1"
echo "## reference: bare conditional fetch (all 304)"
"$bin/examples/feed_farm" fetch-all "$count" "$port" --conditional
echo "## cycle 2: earful collect --once (all 304)"
/usr/bin/time -v "$bin/earful" --config "$work/earful.toml" collect --once 2>"$work/time2" | tail -1
grep -E "Elapsed|Maximum resident" "$work/time2"
curl -fs "http://127.0.0.1:$port/stats"

#!/usr/bin/env bash
# The daemon under load: `earful run` over 1,000,000 indexed mentions, its search API loaded
# by wrk from a separate process on loopback at 1, 8 and 32 connections, first idle, then
# while the daemon ingests 200,000 new mentions during each run; and the idle RSS of
# `earful run` with a small config.
#
# The daemon holds the index's writer lock, so `earful ingest` cannot write into its data
# directory while it runs (it exits 1: "locked by another writer"). The new mentions go in
# through the daemon's own path instead: `feed` sources (100 items each) on a loopback static
# file server (python3 -m http.server), added to the config and picked up with a SIGHUP
# reload, which polls new sources at once. One set is ingested with no load first: the
# reference for the ingest rate under load.
#
# Usage: scripts/bench-serve.sh [MENTIONS] [SECONDS] [EXTRA]
#   MENTIONS  indexed with `earful ingest` before the daemon starts (1000000)
#   SECONDS   each wrk run (20)
#   EXTRA     mentions the daemon ingests alone, then during each loaded run (200000)
# BENCH_WORK=DIR works in DIR and keeps it (logs, data) instead of a temporary directory.
set -euo pipefail
mentions="${1:-1000000}"
seconds="${2:-20}"
extra="${3:-200000}"
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk
fi
cargo build --release -p earful --bin earful
cargo build --release -p earful-index --example gen_mentions
bin=target/release

work="${BENCH_WORK:-$(mktemp -d)}"
mkdir -p "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
feed_port=$((port + 1))
idle_port=$((port + 2))

wait_ready() { # PORT: until /readyz answers 200
    for _ in $(seq 600); do
        curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "the daemon on port $1 never became ready" >&2
    return 1
}
indexed() { # PORT: the number of mentions /readyz reports
    curl -fs "http://127.0.0.1:$1/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mentions"])'
}
now() { date +%s.%N; }
elapsed() { awk -v since="$1" -v now="$(now)" 'BEGIN { printf "%.1f", now - since }'; }
rss() { # PID: resident memory, total / anonymous / file-backed
    awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %d MB  ", $1, $2 / 1024}' "/proc/$1/status"
    echo
}

echo "## machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ## The data: 1,000,000 mentions ingested before the daemon starts.
cat >"$work/earful.toml" <<EOF
version = 1
data_dir = "$work/data"

[server]
listen = "127.0.0.1:$port"

[collect]
contact_url = "https://example.invalid/bench"
max_concurrent = 32
max_concurrent_per_host = 32
lookback = "7d"

[[watch]]
name = "acme"
query = 'acme'

[[watch]]
name = "globex"
query = 'globex'

[sentiment.lexicon]
outage = -2.5
EOF
rm -rf "$work/data" "$work/small-data" "$work/paths"
"$bin/examples/gen_mentions" "$mentions" >"$work/base.jsonl"
echo "## earful ingest of $mentions mentions"
/usr/bin/time -f "ingest: %e s wall, %M KB max RSS" \
    "$bin/earful" --config "$work/earful.toml" ingest "$work/base.jsonl"
rm -f "$work/base.jsonl"

# ## The mentions the daemon ingests: four sets (alone, then one per loaded run) of static RSS
# feeds with 100 items each, dated within the last two hours (inside the look-back).
rm -rf "$work/feeds"
"$bin/examples/gen_mentions" "$((4 * extra))" 7 | python3 -c '
import email.utils, html, json, os, sys, time
root, per_feed, per_set = sys.argv[1], 100, int(sys.argv[2])
now = time.time()
entries, count = [], 0
def flush():
    feed = (count - 1) // per_feed
    directory = os.path.join(root, "feeds", str((count - 1) // per_set))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "%d.xml" % feed), "w") as out:
        out.write("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>bench</title>"
                  "<link>https://blog.example/</link><description>bench</description>%s"
                  "</channel></rss>" % "".join(entries))
for line in sys.stdin:
    item = json.loads(line)
    count += 1
    date = email.utils.formatdate(now - 60 * (len(entries) + 1), usegmt=True)
    entries.append(
        "<item><title>%s</title><link>https://blog.example/%s</link><guid>%s</guid>"
        "<pubDate>%s</pubDate><description>%s</description></item>"
        % (html.escape(item.get("title") or ""), html.escape(item["id"]),
           html.escape(item["id"]), date, html.escape(item["text"])))
    if len(entries) == per_feed or count % per_set == 0:
        flush()
        entries = []
if entries:
    flush()
' "$work" "$extra"
python3 -m http.server --bind 127.0.0.1 --directory "$work/feeds" "$feed_port" >/dev/null 2>&1 &
pids+=($!)

# ## The load: three searches in turn (wrk runs the Lua script per request).
cat >"$work/searches.lua" <<'EOF'
-- A term query, a query filtered by watch and label, and the newest-first first page.
local paths = {
  "/api/v1/mentions?q=outage&limit=20",
  "/api/v1/mentions?q=refund&watch=acme&label=negative&limit=20",
  "/api/v1/mentions?watch=globex&sort=newest&limit=20",
}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
EOF
for path in "/api/v1/mentions?q=outage&limit=20" \
    "/api/v1/mentions?q=refund&watch=acme&label=negative&limit=20" \
    "/api/v1/mentions?watch=globex&sort=newest&limit=20"; do
    echo "$path" >>"$work/paths"
done
load() { # CONNECTIONS: one wrk run against the search API
    local threads=$(($1 < 2 ? 1 : 2))
    wrk -t"$threads" -c"$1" -d"${seconds}s" --latency -s "$work/searches.lua" \
        "http://127.0.0.1:$port" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors|requests in"
}

"$bin/earful" --config "$work/earful.toml" --log info run 2>"$work/daemon.log" &
daemon=$!
pids+=("$daemon")
wait_ready "$port"
while read -r path; do
    curl -fs "http://127.0.0.1:$port$path" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("  %s: %d matches" % (sys.argv[1], d["total"]))' "$path"
done <"$work/paths"
echo "## earful run over $(indexed "$port") mentions: $(rss "$daemon")"

for connections in 1 8 32; do
    echo "## idle daemon, $connections connections, ${seconds} s"
    load "$connections"
done
echo "## after the idle runs: $(rss "$daemon")"

add_set() { # SET: append the set's feeds as sources, then reload
    for feed in "$work/feeds/$1"/*.xml; do
        name=$(basename "$feed" .xml)
        printf '\n[[source]]\nname = "bench-%s-%s"\nkind = "feed"\nurl = "http://127.0.0.1:%s/%s/%s.xml"\ninterval = "1h"\n' \
            "$1" "$name" "$feed_port" "$1" "$name" >>"$work/earful.toml"
    done
    "$bin/earful" --config "$work/earful.toml" config check >/dev/null
    kill -HUP "$daemon"
}
wait_indexed() { # TARGET: until the index holds that many mentions (at most 10 minutes)
    for _ in $(seq 1200); do [ "$(indexed "$port")" -ge "$1" ] && return 0; sleep 0.5; done
    echo "the daemon never reached $1 mentions" >&2
    return 1
}

target=$(indexed "$port")
target=$((target + extra))
started=$(now)
add_set 3
wait_indexed "$target"
echo "## reference: the daemon ingests $extra mentions ($(ls "$work/feeds/3" | wc -l) feeds) with no load in $(elapsed "$started") s; $(rss "$daemon")"

set_number=0
for connections in 1 8 32; do
    before=$(indexed "$port")
    target=$((before + extra))
    started=$(now)
    add_set "$set_number"
    echo "## daemon ingesting $extra mentions, $connections connections, ${seconds} s"
    load "$connections"
    during=$(($(indexed "$port") - before))
    wait_indexed "$target"
    echo "  indexed during the run: $during; all $extra in $(elapsed "$started") s; $(rss "$daemon")"
    set_number=$((set_number + 1))
done
echo "## total indexed: $(indexed "$port"); $(rss "$daemon")"
echo "  error lines in the daemon log: $(grep -ciE "error|panic" "$work/daemon.log" || true)"

kill -TERM "$daemon"
stop_started=$(now)
wait "$daemon" && status=0 || status=$?
echo "## SIGTERM to exit: $(elapsed "$stop_started") s, exit $status"

# ## Idle RSS with a small config: one watch, one feed on loopback, a fresh data directory.
mkdir -p "$work/feeds/small"
cp "$work/feeds/0/0.xml" "$work/feeds/small/acme.xml"
cat >"$work/small.toml" <<EOF
version = 1
data_dir = "$work/small-data"

[server]
listen = "127.0.0.1:$idle_port"

[collect]
contact_url = "https://example.invalid/bench"

[[watch]]
name = "acme"
query = '"acme corp" OR acme'

[[source]]
name = "acme-blog"
kind = "feed"
url = "http://127.0.0.1:$feed_port/small/acme.xml"
interval = "5m"
EOF
"$bin/earful" --config "$work/small.toml" run 2>"$work/small.log" &
small=$!
pids+=("$small")
wait_ready "$idle_port"
sleep 40 # past the first poll (spread over the first 30 s of a 5-minute interval) and its commit
curl -fs "http://127.0.0.1:$idle_port/api/v1/mentions?limit=1" >/dev/null
sleep 5
echo "## idle earful run, small config ($(indexed "$idle_port") mentions): $(rss "$small")"
kill -TERM "$small"
wait "$small" || true

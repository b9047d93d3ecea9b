#!/usr/bin/env bash
# Bounded load test of `rankforge serve` on loopback (127.0.0.1 only): CLIENTS concurrent
# clients × REQUESTS requests of 1 query × DOCS documents (SciFact claims and abstracts cut to
# 100-150 words), then `rankforge bench predict` on the very same pairs, to show what the HTTP
# layer and dynamic batching cost. Stops by itself (fixed count, MAX_SECONDS cap). Writes
# bench-results/serve-*.json and prints a summary. Needs a release build (made here if missing).
#   usage: [SERVE_FLAGS="--max-batch-tokens 65536"] scripts/loadtest_serve.sh \
#            [CLIENTS=4] [REQUESTS=5] [DOCS=50] [QUERIES=8] [MAX_SECONDS=600]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
clients="${1:-4}"; requests="${2:-5}"; docs="${3:-50}"; queries="${4:-8}"; max_seconds="${5:-600}"
model="$(bash scripts/fetch_model.sh)"
# One invocation, so the load-test client and the CLI share one feature set (no rebuild of burn).
cargo build --release -q -p rankforge-cli -p rankforge-serve --bin rankforge --example loadtest
out=bench-results; mkdir -p "$out"
pairs="$out/serve-pairs.jsonl"
python3 - ../shared/data/scifact "$pairs" "$queries" "$docs" <<'PY'
import json, random, sys
scifact, out, queries, docs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(13)
claims = [json.loads(l)["text"] for l in open(f"{scifact}/queries.jsonl")]
passages = []
for line in open(f"{scifact}/corpus.jsonl"):
    d = json.loads(line)
    words = (d["title"] + ". " + d["text"]).split()
    if len(words) >= 100:
        passages.append(" ".join(words[: rng.randint(100, 150)]))
with open(out, "w") as f:
    for _ in range(queries):
        query = rng.choice(claims)
        for _ in range(docs):
            f.write(json.dumps({"query": query, "document": rng.choice(passages)}) + "\n")
PY
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-2}"
./target/release/rankforge serve --model "$model" --host 127.0.0.1 --port "$port" \
  --max-client-batch-size "$docs" --batch-size 32 ${SERVE_FLAGS:-} 2>"$out/serve-server.log" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' EXIT
grep -q rankforge "/proc/$server/cmdline" || { echo "loadtest_serve: cannot find the server process" >&2; exit 1; }
./target/release/examples/loadtest --url "http://127.0.0.1:$port" --pairs "$pairs" \
  --clients "$clients" --requests "$requests" --docs "$docs" --max-seconds "$max_seconds" \
  --output "$out/serve-loadtest.json" >/dev/null
peak_rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
kill -TERM "$server"; wait "$server" || true
trap - EXIT
./target/release/rankforge bench predict --model "$model" --input "$pairs" --batch-size 32 \
  --repeat 2 --quiet --output "$out/serve-bench-predict.json" >/dev/null 2>&1
python3 - "$out" "$peak_rss_kb" <<'PY'
import json, sys
d, rss_kb = sys.argv[1], int(sys.argv[2])
load = json.load(open(f"{d}/serve-loadtest.json"))
bench = json.load(open(f"{d}/serve-bench-predict.json"))
load["server_peak_rss_mb"] = rss_kb / 1024
json.dump(load, open(f"{d}/serve-loadtest.json", "w"), indent=2)
lat = load["latency_ms"]
print(f"serve: {load['clients']} clients x {load['requests_per_client']} requests x {load['docs_per_request']} docs"
      f" -> {load['ok']}/{load['requests']} ok, {load['errors']} errors in {load['seconds']:.1f} s")
print(f"  {load['requests_per_second']:.3f} requests/s, {load['pairs_per_second']:.1f} pairs/s,"
      f" latency p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms,"
      f" {load['mean_requests_per_worker_batch']:.2f} requests per worker batch, server peak RSS {rss_kb / 1024:.0f} MB")
print(f"bench predict (same {bench['pairs']} pairs, no HTTP): {bench['pairs_per_second']:.1f} pairs/s,"
      f" peak RSS {bench['peak_rss_mb']:.0f} MB")
print(f"serve / bench predict throughput: {load['pairs_per_second'] / bench['pairs_per_second']:.2f}x")
PY

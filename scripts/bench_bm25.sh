#!/usr/bin/env bash
# BM25 speed: rankforge vs bm25s, back to back on the same machine, on BEIR SciFact and on a
# synthetic Zipfian corpus (1M documents by default). Prints a markdown table for BENCHMARKS.md.
#   usage: scripts/bench_bm25.sh [--docs N] [--runs R] [--skip-python]
# Environment: SCIFACT (default ../shared/data/scifact), BENCH_DIR (default target/bench-bm25),
# BENCH_EXE (a prebuilt bench executable; default: build it with cargo bench --no-run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
docs=1000000
runs=3
python_side=1
while [ $# -gt 0 ]; do
  case "$1" in
    --docs) docs="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --skip-python) python_side=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
scifact="${SCIFACT:-$root/../shared/data/scifact}"
out="${BENCH_DIR:-$root/target/bench-bm25}"
synthetic="$out/synthetic-$docs"
mkdir -p "$out"

# Build once (release profile), then call the executable directly (BENCH_EXE: a prebuilt one).
exe="${BENCH_EXE:-}"
[ -n "$exe" ] || exe="$(cargo bench -p rankforge-mining --bench bm25 --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "bm25":
        print(m["executable"])' | tail -1)"
bench() { "$exe" "$@"; }
if [ ! -s "$synthetic/queries.jsonl" ]; then
  bench generate "$synthetic" --docs "$docs" --queries 1000
fi
python=""
if [ "$python_side" = 1 ]; then
  python="$(bash scripts/reference/setup.sh)"
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for set in scifact synthetic; do
  if [ "$set" = scifact ]; then corpus="$scifact/corpus.jsonl"; queries="$scifact/queries.jsonl"; else corpus="$synthetic/corpus.jsonl"; queries="$synthetic/queries.jsonl"; fi
  bench run --name "$set" --corpus "$corpus" --queries "$queries" --runs "$runs" --json "$out/rankforge-$set.json" > /dev/null
  if [ -n "$python" ]; then
    "$python" scripts/reference/bm25_bench.py --name "$set" --corpus "$corpus" --queries "$queries" --runs "$runs" --json "$out/bm25s-$set.json" > /dev/null
  fi
done

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None
print("| corpus | engine | docs | queries | build s | QPS 1 thread | QPS all threads | peak RSS MB |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for s in ("scifact", "synthetic"):
    rows = [load(f"rankforge-{s}.json"), load(f"bm25s-{s}.json")]
    for r in rows:
        if r:
            print(f"| {s} | {r['engine']} | {r['documents']:,} | {r['queries']:,} | {r['build_s_median']:.2f} | {r['qps_1thread_median']:,.0f} | {r['qps_all_threads_median']:,.0f} | {r['peak_rss_mb']:,.0f} |")
    if all(rows):
        a, b = rows
        print(f"| {s} | **ratio rankforge / bm25s** | | | {b['build_s_median'] / a['build_s_median']:.1f}× faster | {a['qps_1thread_median'] / b['qps_1thread_median']:.1f}× | {a['qps_all_threads_median'] / b['qps_all_threads_median']:.1f}× | |")
PY

#!/usr/bin/env bash
# BM25 and hard-negative mining at MS MARCO scale (issue 22 §4): a seeded MS MARCO-shaped
# synthetic collection (scripts/reference/make_scale_corpus.py: 8,841,823 passages of ~58
# words, 6,980 queries, one judged passage each), its prefixes of 100k and 1M documents, and for
# each size:
#   retrieve  `rankforge retrieve --method bm25 --top-k 100` (corpus held, as the CLI does)
#   mine      `rankforge mine --retriever bm25` (defaults: depth 100, 3 negatives, triplets)
#   held      the bm25 bench (`crates/mining/benches/bm25.rs run --k 100 --all-threads-only`):
#             build and search timed apart, the index's own bytes (`Bm25Index::memory_bytes`)
#   stream    the same with `--stream`: the corpus read in batches into a Bm25Builder, texts
#             never all held (peak RSS = the index plus one batch)
#   bm25s     scripts/reference/bm25_scale.py (same settings), sizes up to --python-max
# each under /usr/bin/time -v (wall time, peak RSS). Results: one JSON line per measurement in
# $BENCH_DIR/results.jsonl; `--report` prints the tables for BENCHMARKS.md.
#   usage: scripts/bench_scale.sh [--sizes "100000 1000000 8841823"] [--runs 3] [--big-runs 1]
#            [--steps "retrieve mine held stream bm25s"] [--big-steps "retrieve mine stream"]
#            [--python-max 1000000] [--tag NAME] [--report]
# Environment: BENCH_DIR (default target/bench-scale), RANKFORGE (default target/release/rankforge),
# BENCH_EXE (default: built with cargo bench --no-run). Sizes above 1M ("big") run --big-runs
# times and only --big-steps. While a timed command runs, /tmp/bench-running exists (other jobs
# on a shared machine wait for it); it is removed after each command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sizes="100000 1000000 8841823"
runs=3
big_runs=1
steps="retrieve mine held stream bm25s"
big_steps="retrieve mine stream"
python_max=1000000
tag=""
report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --big-runs) big_runs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --big-steps) big_steps="$2"; shift 2 ;;
    --python-max) python_max="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --report) report_only=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
out="${BENCH_DIR:-$root/target/bench-scale}"
results="$out/results.jsonl"
mkdir -p "$out"

report() {
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
groups = {}
for r in rows:
    groups.setdefault((r["tag"], r["docs"], r["step"]), []).append(r)
def get(tag, docs, step, key):
    return med([r.get(key) for r in groups.get((tag, docs, step), [])])
def n(tag, docs, step):
    return len(groups.get((tag, docs, step), []))
tags = sorted({k[0] for k in groups})
for tag in tags:
    sizes = sorted({k[1] for k in groups if k[0] == tag})
    base = {s: get(tag, 1000, s, "peak_rss_mb") for s in ("retrieve", "mine")}
    print(f"\n### tag `{tag or 'default'}` (medians; runs per cell in brackets)\n")
    print("| docs | step | runs | wall s | read s | build s | search s | queries/s | peak RSS MB | bytes/doc (RSS) | index bytes/doc |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for docs in sizes:
        for step in ("retrieve", "mine", "held", "stream", "bm25s"):
            if (tag, docs, step) not in groups:
                continue
            g = lambda k: get(tag, docs, step, k)
            rss = g("peak_rss_mb")
            b = base.get(step) if step in base else None
            per_doc = (rss - b) * 1e6 / (docs - 1000) if (b is not None and docs > 1000) else None
            if step in ("held", "stream", "bm25s"):
                per_doc = rss * 1e6 / docs  # in-process figures: baseline ~5 MB (bench), ~30 MB (python)
            def f(x, p=1):
                return "" if x is None else f"{x:,.{p}f}"
            print(f"| {docs:,} | {step} | {n(tag, docs, step)} | {f(g('wall_s'))} | {f(g('read_s'))} | {f(g('build_s'))} | {f(g('search_s'))} | {f(g('qps'), 0)} | {f(rss, 0)} | {f(per_doc, 0)} | {f(g('index_bytes_per_doc'), 0)} |")
PY
}
if [ "$report_only" = 1 ]; then report; exit 0; fi

rankforge="${RANKFORGE:-$root/target/release/rankforge}"
exe="${BENCH_EXE:-}"
[ -n "$exe" ] || exe="$(cargo bench -p rankforge-mining --bench bm25 --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "bm25":
        print(m["executable"])' | tail -1)"
python=""
case " $steps $big_steps " in *" bm25s "*) python="$(bash scripts/reference/setup.sh)" ;; esac

full="$out/full"
if [ ! -s "$full/qrels/test.tsv" ]; then
  # numpy: the reference venv (scripts/reference/setup.sh) has it
  "${python:-$(bash scripts/reference/setup.sh)}" scripts/reference/make_scale_corpus.py "$full"
fi
total="$(wc -l < "$full/corpus.jsonl")"
queries="$full/queries.jsonl"
qrels="$full/qrels/test.tsv"

lock=/tmp/bench-running
trap 'rm -f "$lock"' EXIT INT TERM

# timed DOCS STEP RUN CMD...: runs CMD under /usr/bin/time -v with the lock held, appends a JSON
# line (wall, peak RSS, and the JSON the command printed, if any) to results.jsonl.
timed() {
  local docs="$1" step="$2" run="$3"; shift 3
  local log="$out/log/$tag-$docs-$step-$run"
  mkdir -p "$out/log"
  touch "$lock"
  local rc=0
  /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err" || rc=$?
  rm -f "$lock"
  if [ "$rc" != 0 ]; then
    echo "FAILED ($rc): $*" >&2; tail -5 "$log.err" >&2
  fi
  python3 - "$log" "$docs" "$step" "$run" "$tag" "$rc" "$(uptime | sed 's/.*load average: //')" >> "$results" <<'PY'
import json, re, sys
log, docs, step, run, tag, rc, load = sys.argv[1:]
time = open(log + ".time").read()
def field(name):
    m = re.search(re.escape(name) + r": (.*)", time)
    return m.group(1).strip() if m else None
wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
parts = [float(p) for p in wall.split(":")]
wall_s = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
row = {"tag": tag, "docs": int(docs), "step": step, "run": int(run), "rc": int(rc), "load": load,
       "wall_s": wall_s, "peak_rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
       "user_s": float(field("User time (seconds)")), "sys_s": float(field("System time (seconds)"))}
out = open(log + ".out").read()
err = open(log + ".err").read()
try:
    j = json.loads(out[out.index("{"):]) if "{" in out else {}
except ValueError:
    j = {}
if step in ("held", "stream"):
    row.update(read_s=j.get("read_s"), build_s=j.get("build_s_median"),
               qps=j.get("qps_all_threads_median"), index_bytes_per_doc=j.get("index_bytes_per_doc"),
               index_mb=j.get("index_memory_mb"), rss_before_build_mb=j.get("rss_before_build_mb"),
               rss_after_build_mb=j.get("rss_after_build_mb"), terms=j.get("index_terms"),
               postings=j.get("index_postings"), stream_read_s=j.get("stream_read_s"))
    if row["qps"]:
        row["search_s"] = j["queries"] / row["qps"]
    if step == "stream" and j.get("stream_read_s"):
        row["read_s"] = j["stream_read_s"][0]
        row["build_s"] = j["build_s_median"] - j["stream_read_s"][0]
elif step == "bm25s":
    row.update(read_s=j.get("read_s"), build_s=j.get("build_s"), search_s=j.get("search_s"),
               qps=j.get("qps"), index_bytes_per_doc=j.get("index_bytes_per_doc"),
               searched_queries=j.get("searched_queries"),
               rss_before_build_mb=j.get("rss_after_read_mb"), rss_after_build_mb=j.get("rss_after_build_mb"))
elif step == "retrieve":
    m = re.search(r"retrieved top \d+ for (\d+) queries over (\d+) documents in ([0-9.]+)s", err)
    if m:
        row["build_search_s"] = float(m.group(3))
        row["read_s"] = wall_s - float(m.group(3))
elif step == "mine":
    m = re.search(r"wrote (\d+) records", err)
    row["records"] = int(m.group(1)) if m else None
print(json.dumps(row))
PY
  tail -1 "$results" >&2
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)" >&2
for docs in $sizes; do
  if [ "$docs" -ge "$total" ]; then
    corpus="$full/corpus.jsonl"; docs="$total"
  else
    corpus="$out/n$docs/corpus.jsonl"
    if [ ! -s "$corpus" ]; then mkdir -p "$out/n$docs"; head -n "$docs" "$full/corpus.jsonl" > "$corpus"; fi
  fi
  work="$out/work-$docs"; mkdir -p "$work"
  if [ "$docs" -gt 1000000 ]; then n="$big_runs"; these="$big_steps"; else n="$runs"; these="$steps"; fi
  for run in $(seq 1 "$n"); do
    for step in $these; do
      case "$step" in
        retrieve) rm -f "$work/run.trec"
          timed "$docs" retrieve "$run" "$rankforge" retrieve --method bm25 --corpus "$corpus" \
            --queries "$queries" --top-k 100 --output "$work/run.trec" --quiet ;;
        mine) rm -f "$work/mined.jsonl"
          timed "$docs" mine "$run" "$rankforge" mine --corpus "$corpus" --queries "$queries" \
            --qrels "$qrels" --output "$work/mined.jsonl" --retriever bm25 --quiet ;;
        held)
          timed "$docs" held "$run" "$exe" run --name "n$docs" --corpus "$corpus" --queries "$queries" \
            --runs 1 --build-runs 1 --k 100 --all-threads-only ;;
        stream)
          timed "$docs" stream "$run" "$exe" run --name "n$docs" --corpus "$corpus" --queries "$queries" \
            --runs 1 --build-runs 1 --k 100 --all-threads-only --stream ;;
        bm25s)
          if [ "$docs" -le "$python_max" ] && { [ "$run" = 1 ] || [ "$docs" -le 100000 ]; }; then
            timed "$docs" bm25s "$run" "$python" scripts/reference/bm25_scale.py --corpus "$corpus" \
              --queries "$queries" --k 100
          fi ;;
      esac
    done
  done
done
report

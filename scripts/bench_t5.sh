#!/usr/bin/env bash
# monoT5 scoring throughput (issue 25): rankforge's generative reranker vs transformers'
# T5ForConditionalGeneration, same machine, same thread count, same pairs and prompt ids, back to
# back in each round.
#
# Model: a monoT5-base-shaped T5 with random weights (12 + 12 layers, d_model 768, d_ff 3072,
# relu, vocabulary 32128; scripts/reference/make_t5_bench_model.py); the tokenizer is the tiny
# fixture's (no real T5 SentencePiece model is reachable here), which cuts words into more
# pieces than T5's: prompts are longer than monoT5's would be, the same for both systems.
# Workload: the first QUERIES SciFact dev queries (qrels order), each with its BM25 top DOCS
# (`rankforge retrieve --method bm25`), i.e. QUERIES × DOCS pairs, max length 512, batch size 8.
#
# What each timing holds:
# - rankforge: the time `rankforge rerank --raw` prints (prompt tokenization, the encoder pass,
#   one decoder step, the two LM-head rows; not process start, model load or reading the
#   corpus / run), and the process's wall time;
# - transformers (scripts/reference/bench_t5.py): prompt ids built as rankforge builds them,
#   sorted by length, batches of 8 padded per batch, `model(input_ids, attention_mask,
#   decoder_input_ids=[[start]])`, logit(▁true) − logit(▁false) (as pygaggle's MonoT5, which
#   computes the whole vocabulary's logits); model load excluded.
# Pairs/s = pairs / median seconds over ROUNDS rounds (after an untimed warm-up). Also checks
# that both systems' raw scores agree.
#
# While measuring, /tmp/bench-running exists (others wait before compiling) and the systems run
# under `nice -n -15` where permitted, from a copy of the binary (/tmp/rankforge-t5-bench).
#   usage: [NO_BUILD=1] [RANKFORGE_BIN=path] scripts/bench_t5.sh [THREADS=2] [QUERIES=4] [DOCS=8] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads="${1:-2}"; nqueries="${2:-4}"; ndocs="${3:-8}"; rounds="${4:-3}"
data=../shared/data/scifact
python=.cache/venv-ref/bin/python
[ -x "$python" ] || python="$(bash scripts/reference/setup.sh)"
model=.cache/bench-models/monot5-base-random
[ -f "$model/model.safetensors" ] ||
  "$python" scripts/reference/make_t5_bench_model.py "$model" >/dev/null 2>&1
flag=/tmp/bench-running
while [ -e "$flag" ]; do echo "waiting: another benchmark is measuring" >&2; sleep 60; done
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p rankforge-cli
bin=/tmp/rankforge-t5-bench
cp "${RANKFORGE_BIN:-./target/release/rankforge}" "$bin"
out=bench-results; mkdir -p "$out"
bm25="$out/t5-bm25-dev.trec"
"$bin" retrieve --method bm25 --corpus "$data/corpus.jsonl" --queries "$data/queries.jsonl" \
  --qrels "$data/qrels/dev.tsv" --top-k "$ndocs" --output "$bm25" 2>/dev/null

# The workload: t5-run.trec (QUERIES lists of DOCS) and t5-pairs.jsonl (the same pairs).
python3 - "$data" "$bm25" "$out" "$nqueries" "$ndocs" <<'PY'
import json, sys
data, bm25, out, n, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
run = {}
for line in open(bm25):
    qid, _, doc, rank, *_ = line.split()
    run.setdefault(qid, []).append((int(rank), doc))
order = list(dict.fromkeys(l.split("\t")[0] for l in list(open(f"{data}/qrels/dev.tsv"))[1:]))
chosen = [q for q in order if q in run and len(run[q]) >= k][:n]
assert len(chosen) == n
queries = {}
for line in open(f"{data}/queries.jsonl"):
    row = json.loads(line)
    queries[row["_id"]] = row["text"]
lists = {q: [d for _, d in sorted(run[q])[:k]] for q in chosen}
needed = {d for docs in lists.values() for d in docs}
documents = {}
for line in open(f"{data}/corpus.jsonl"):
    row = json.loads(line)
    if row["_id"] in needed:
        documents[row["_id"]] = f"{row['title']} {row['text']}" if row["title"] else row["text"]
with open(f"{out}/t5-run.trec", "w") as f, open(f"{out}/t5-pairs.jsonl", "w") as p, \
        open(f"{out}/t5-pair-ids.json", "w") as ids:
    keys = []
    for q in chosen:
        for i, d in enumerate(lists[q]):
            f.write(f"{q} Q0 {d} {i + 1} {100 - i} bm25\n")
            p.write(json.dumps({"query": queries[q], "document": documents[d]}) + "\n")
            keys.append([q, d])
    json.dump(keys, ids)
print(f"workload: {n} queries x {k} = {n * k} pairs")
PY

export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
export TOKENIZERS_PARALLELISM=false
grep -o -w -E 'avx2|fma|avx512f|avx512_vnni|avx_vnni|avx512_bf16|amx_int8|amx_bf16' /proc/cpuinfo 2>/dev/null \
  | sort -u | tr '\n' ' ' | sed 's/^/CPU flags: /; s/$/\n/' || true
grep -m1 'model name' /proc/cpuinfo || true
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

touch "$flag"
nice=()
autogroup=""
if nice -n -15 true 2>/dev/null; then
  nice=(nice -n -15)
  if [ -w "/proc/$$/autogroup" ] && echo -15 >"/proc/$$/autogroup" 2>/dev/null; then
    autogroup="/proc/$$/autogroup"
  fi
fi
trap 'rm -f "$flag"; [ -z "$autogroup" ] || echo 0 >"$autogroup" 2>/dev/null || true' EXIT

times="$out/t5-times.txt"; : >"$times"
rerank() {
  local name="$1" run="$2" start end log="$out/t5-$1.log"
  start=$(date +%s.%N)
  "${nice[@]}" "$bin" rerank --model "$model" --corpus "$data/corpus.jsonl" --queries "$data/queries.jsonl" \
    --run "$run" --top-k "$ndocs" --batch-size 8 --max-length 512 --raw --quiet \
    --output "$out/t5-$name.out.trec" 2>"$log"
  end=$(date +%s.%N)
  local secs
  secs=$(sed -n 's/^reranked .* in \([0-9.]*\)s .*/\1/p' "$log")
  [ -n "$secs" ] || { cat "$log" >&2; exit 1; }
  echo "$name $secs $(echo "$end - $start" | bc)" >>"$times"
}
head -n "$ndocs" "$out/t5-run.trec" >"$out/t5-warmup.trec"
rerank warmup "$out/t5-warmup.trec"
: >"$times"
for round in $(seq 1 "$rounds"); do
  rerank rankforge "$out/t5-run.trec"
done
"${nice[@]}" "$python" scripts/reference/bench_t5.py "$model" "$out/t5-pairs.jsonl" --threads "$threads" \
  --rounds "$rounds" --batch-size 8 --max-length 512 --output "$out/t5-transformers.json" \
  --scores "$out/t5-transformers-scores.json" >/dev/null 2>"$out/t5-transformers.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$flag"

python3 - "$out" <<'PY'
import json, statistics, sys
d = sys.argv[1]
t = [tuple(map(float, line.split()[1:])) for line in open(f"{d}/t5-times.txt")]
hf = json.load(open(f"{d}/t5-transformers.json"))
pairs = hf["pairs"]
ours = statistics.median(x for x, _ in t)
wall = statistics.median(w for _, w in t)
print(f"pairs {pairs}, prompt tokens {hf['tokens']} ({hf['tokens'] / pairs:.0f} per pair)")
print(f"rankforge     median {ours:7.2f} s  {pairs / ours:6.2f} pairs/s  (end-to-end incl. load {pairs / wall:.2f}); rounds {[x for x, _ in t]}")
print(f"transformers  median {hf['median_seconds']:7.2f} s  {pairs / hf['median_seconds']:6.2f} pairs/s; rounds {[round(x, 2) for x in hf['seconds']]} (torch {hf['torch']})")
print(f"ratio rankforge / transformers: {hf['median_seconds'] / ours:.2f}x")
scores = {}
for line in open(f"{d}/t5-rankforge.out.trec"):
    q, _, doc, _, s, _ = line.split()
    scores[(q, doc)] = float(s)
keys = json.load(open(f"{d}/t5-pair-ids.json"))
theirs = json.load(open(f"{d}/t5-transformers-scores.json"))
diffs = [abs(scores[(q, doc)] - s) for (q, doc), s in zip(keys, theirs)]
print(f"raw score agreement: {len(diffs)} pairs, max |diff| {max(diffs):.2e} (scores up to {max(map(abs, theirs)):.2f})")
PY

#!/usr/bin/env bash
# Cross-encoder inference throughput per architecture (issue 20), rankforge vs
# sentence-transformers (PyTorch), same pairs, same machine, same thread count, back to back:
# all-MiniLM-L6-v2 (BERT) and random-weight base shapes of XLM-RoBERTa (bge-reranker-base),
# ELECTRA (ms-marco-electra-base) and ModernBERT (gte-reranker-modernbert-base) made by
# scripts/reference/make_base_shapes.py. Writes bench-results/arch-*.json and prints the ratios.
#   usage: [NO_BUILD=1] [RANKFORGE_BIN=path] scripts/bench_architectures.sh [THREADS=2] [PAIRS=128] [REPEAT=3] [MODELS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads="${1:-2}"; npairs="${2:-128}"; repeat="${3:-3}"
shift $(( $# < 3 ? $# : 3 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(bert xlm-roberta-base electra-base modernbert-base)
minilm="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
shapes=.cache/bench-models
[ -f "$shapes/modernbert-base/model.safetensors" ] ||
  "$python" scripts/reference/make_base_shapes.py "$minilm" "$shapes" >/dev/null
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p rankforge-cli
out=bench-results; mkdir -p "$out"
pairs="$out/arch-pairs.jsonl"
"$python" scripts/reference/make_bench_pairs.py ../shared/data/scifact "$pairs" --pairs "$npairs"
export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
for name in "${models[@]}"; do
  if [ "$name" = bert ]; then dir="$minilm"; else dir="$shapes/$name"; fi
  "${RANKFORGE_BIN:-./target/release/rankforge}" bench predict --model "$dir" --input "$pairs" --batch-size 32 \
    --max-length 512 --repeat "$repeat" --output "$out/arch-$name-rankforge.json" >/dev/null
  "$python" scripts/reference/bench_pytorch.py "$dir" "$pairs" --batch-size 32 --repeat "$repeat" \
    --threads "$threads" --max-length 512 --output "$out/arch-$name-pytorch.json" >/dev/null 2>&1
done
python3 - "$out" "${models[@]}" <<'PY'
import json, sys
d, names = sys.argv[1], sys.argv[2:]
print(f"{'model':18} {'rankforge':>12} {'PyTorch':>12} {'ratio':>7}")
for name in names:
    ours = json.load(open(f"{d}/arch-{name}-rankforge.json"))
    peer = json.load(open(f"{d}/arch-{name}-pytorch.json"))
    r, p = ours["pairs_per_second"], peer["pairs_per_second"]
    print(f"{name:18} {r:8.2f} p/s {p:8.2f} p/s {r / p:6.2f}x")
PY

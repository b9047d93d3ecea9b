#!/usr/bin/env bash
# Cross-encoder inference throughput, rankforge vs sentence-transformers (PyTorch), same pairs,
# same machine, same thread count, back to back. Writes bench-results/predict-*.json and prints
# the ratio. Needs a release build and the reference venv (both made here if missing).
#   usage: scripts/bench_predict.sh [THREADS=2] [PAIRS=512] [REPEAT=5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads="${1:-2}"; npairs="${2:-512}"; repeat="${3:-5}"
model="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
cargo build --release -q -p rankforge-cli
out=bench-results; mkdir -p "$out"
pairs="$out/predict-pairs.jsonl"
"$python" scripts/reference/make_bench_pairs.py ../shared/data/scifact "$pairs" --pairs "$npairs"
export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
./target/release/rankforge bench predict --model "$model" --input "$pairs" --batch-size 32 \
  --repeat "$repeat" --output "$out/predict-rankforge.json" >/dev/null
"$python" scripts/reference/bench_pytorch.py "$model" "$pairs" --batch-size 32 --repeat "$repeat" \
  --threads "$threads" --output "$out/predict-pytorch.json" >/dev/null 2>&1
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
ours = json.load(open(f"{d}/predict-rankforge.json")); peer = json.load(open(f"{d}/predict-pytorch.json"))
print(f"rankforge            {ours['pairs_per_second']:8.1f} pairs/s  peak RSS {ours['peak_rss_mb']:.0f} MB")
print(f"sentence-transformers {peer['pairs_per_second']:8.1f} pairs/s  peak RSS {peer['peak_rss_mb']:.0f} MB")
print(f"ratio (rankforge / PyTorch): {ours['pairs_per_second'] / peer['pairs_per_second']:.2f}x")
PY

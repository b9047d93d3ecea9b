#!/usr/bin/env bash
# Cross-encoder training throughput, rankforge vs a plain PyTorch loop (transformers
# AutoModelForSequenceClassification, AdamW, ListNet), on the same groups of SciFact
# (query, positive + 7 random documents), same batch, max length, thread count and machine,
# alternating the two REPEAT times. Writes bench-results/train-*.json, prints the medians
# and their ratio. Needs a release build and the reference venv (both made here if missing).
#   usage: scripts/bench_train.sh [THREADS=2] [REPEAT=3] [STEPS=12]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads="${1:-2}"; repeat="${2:-3}"; steps="${3:-12}"
model="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
cargo build --release -q -p rankforge-cli
out=bench-results; mkdir -p "$out"
groups="$out/train-groups.jsonl"
"$python" scripts/reference/train_pytorch.py --data ../shared/data/scifact --group-size 8 \
  --write-groups "$groups"
export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" HF_HUB_OFFLINE=1
for i in $(seq 1 "$repeat"); do
  ./target/release/rankforge bench train --model "$model" --groups "$groups" --batch-pairs 16 \
    --max-length 256 --steps "$steps" --output "$out/train-rankforge-$i.json" >/dev/null
  "$python" scripts/reference/train_pytorch.py --model "$model" --groups "$groups" \
    --batch-pairs 16 --max-length 256 --steps "$steps" --threads "$threads" \
    > "$out/train-pytorch-$i.json" 2>/dev/null
done
python3 - "$out" "$repeat" <<'PY'
import json, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
ours = [json.load(open(f"{d}/train-rankforge-{i}.json")) for i in range(1, n + 1)]
peer = [json.load(open(f"{d}/train-pytorch-{i}.json")) for i in range(1, n + 1)]
a = statistics.median(r["pairs_per_s"] for r in ours)
b = statistics.median(r["pairs_per_s"] for r in peer)
print(f"rankforge {a:6.2f} training pairs/s  runs {[round(r['pairs_per_s'], 2) for r in ours]}  peak RSS {ours[0]['peak_rss_mb']:.0f} MB")
print(f"PyTorch   {b:6.2f} training pairs/s  runs {[round(r['pairs_per_s'], 2) for r in peer]}  torch {peer[0]['torch']}")
print(f"ratio (rankforge / PyTorch): {a / b:.2f}x")
PY

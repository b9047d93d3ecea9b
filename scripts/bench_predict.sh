#!/usr/bin/env bash
# Cross-encoder inference throughput on the same pairs, same machine, same thread count, back to
# back: rankforge in f32, int8 and bf16; sentence-transformers (PyTorch) f32; ONNX Runtime fp32
# (torch.onnx.export) and dynamic int8 (quantize_dynamic, QInt8 weights). Writes
# bench-results/predict-*.json, prints every system, the ratios, and Kendall's tau of rankforge's
# int8 and bf16 scores against its f32 scores on the same pairs. Needs a release build and the
# reference venv (both made here if missing; onnx and onnxruntime come from requirements.txt).
#   usage: scripts/bench_predict.sh [THREADS=2] [PAIRS=512] [REPEAT=5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
threads="${1:-2}"; npairs="${2:-512}"; repeat="${3:-5}"
model="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
"$python" -c 'import onnx, onnxruntime' 2>/dev/null || "$(dirname "$python")/pip" install -q onnx onnxruntime >&2
cargo build --release -q -p rankforge-cli
out=bench-results; mkdir -p "$out"
pairs="$out/predict-pairs.jsonl"
"$python" scripts/reference/make_bench_pairs.py ../shared/data/scifact "$pairs" --pairs "$npairs"
export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
grep -o -w -E 'avx2|avx512f|avx512_vnni|avx_vnni|avx512_bf16|amx_int8|amx_bf16' /proc/cpuinfo 2>/dev/null \
  | sort -u | tr '\n' ' ' | sed 's/^/CPU flags: /; s/$/\n/' || true
for precision in f32 int8 bf16; do
  ./target/release/rankforge bench predict --model "$model" --input "$pairs" --batch-size 32 \
    --precision "$precision" --repeat "$repeat" --output "$out/predict-rankforge-$precision.json" >/dev/null
  ./target/release/rankforge predict --model "$model" --input "$pairs" --output "$out/scores-$precision.jsonl" \
    --batch-size 32 --precision "$precision" --raw --quiet
done
"$python" scripts/reference/bench_pytorch.py "$model" "$pairs" --batch-size 32 --repeat "$repeat" \
  --threads "$threads" --output "$out/predict-pytorch.json" >/dev/null 2>&1
if [ ! -f "$out/onnx/model-int8.onnx" ]; then
  "$python" scripts/reference/bench_onnx.py export "$model" "$out/onnx" >/dev/null 2>&1
fi
for variant in fp32 int8; do
  "$python" scripts/reference/bench_onnx.py run "$model" "$out/onnx/model-$variant.onnx" "$pairs" \
    --batch-size 32 --repeat "$repeat" --threads "$threads" --output "$out/predict-onnx-$variant.json" >/dev/null
done
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
load = lambda name: json.load(open(f"{d}/predict-{name}.json"))
systems = {
    "rankforge f32": load("rankforge-f32"),
    "rankforge int8": load("rankforge-int8"),
    "rankforge bf16": load("rankforge-bf16"),
    "sentence-transformers f32": load("pytorch"),
    "ONNX Runtime fp32": load("onnx-fp32"),
    "ONNX Runtime int8": load("onnx-int8"),
}
for name, r in systems.items():
    print(f"{name:27} {r['pairs_per_second']:8.1f} pairs/s  peak RSS {r['peak_rss_mb']:6.0f} MB")
pps = {name: r["pairs_per_second"] for name, r in systems.items()}
for a, b in [("rankforge int8", "ONNX Runtime int8"), ("rankforge int8", "sentence-transformers f32"),
             ("rankforge f32", "ONNX Runtime fp32"), ("rankforge f32", "sentence-transformers f32"),
             ("rankforge bf16", "rankforge f32"), ("rankforge int8", "rankforge f32")]:
    print(f"ratio {a} / {b}: {pps[a] / pps[b]:.2f}x")
scores = lambda p: [json.loads(l)["score"] for l in open(f"{d}/scores-{p}.jsonl") if l.strip()]
def tau(a, b):
    c = dc = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            s = (a[i] - a[j]) * (b[i] - b[j])
            c += s > 0
            dc += s < 0
    return (c - dc) / max(c + dc, 1)
f32 = scores("f32")
for p in ["int8", "bf16"]:
    print(f"Kendall tau rankforge {p} vs f32 scores: {tau(scores(p), f32):.4f}")
PY

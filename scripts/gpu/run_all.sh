#!/usr/bin/env bash
# Run on the GPU machine from the repository root, after scripts/gpu/prepare.sh's gpu-carry/
# has been copied there. Every GPU check of issue #8 in one go; results (JSON, logs and
# summary.md) go to OUT. Stages can be run one at a time when a command has a time limit.
#   usage: scripts/gpu/run_all.sh OUT [all|parity|inference|training|scifact|summary]
#
#   parity     f32 logits and embeddings of the PyTorch fixture pairs/texts on the GPU
#              (tests/fixtures/model_parity.json), tolerance 1e-4
#   inference  cross-encoder pairs/s at max length 256 and 512, batch 32…512, rankforge (f32,
#              bf16, f16) against sentence-transformers CrossEncoder.predict (fp32, fp16,
#              bf16), same pairs, same GPU; then rankforge's bf16/f16 scores of SciFact dev
#              BM25 top-100 against its f32 scores (error relative to the largest |logit|,
#              mean per-query Kendall tau)
#   training   training pairs/s, batch 16 pairs, max length 256: rankforge bench train vs the
#              plain PyTorch loop (scripts/reference/train_pytorch.py) on the same groups
#   scifact    configs/scifact-ce.toml on the GPU (time and dev nDCG@10)
set -euo pipefail
out="${1:?usage: run_all.sh OUT [stage]}"
stage="${2:-all}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
carry=gpu-carry
bin="$carry/bin/rankforge"
python="${PYTHON:-python3}"
mkdir -p "$out"
export HF_HUB_OFFLINE=1

model="$carry/minilm"
if [ ! -f "$model/model.safetensors" ]; then
  mkdir -p "$model"
  cp -r "$carry"/model-a/* "$model/"
  cat "$model/model.safetensors.part1" "$carry/model-b/model.safetensors.part2" > "$model/model.safetensors"
  rm "$model/model.safetensors.part1"
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true; } > "$out/device.txt"
"$python" -c 'import torch, transformers, sentence_transformers as st; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "sentence-transformers", st.__version__)' >> "$out/device.txt"

run_parity() {
  local ce="$carry/fixture-ce"
  "$python" scripts/gpu/check.py make-fixture-ce "$model" tests/fixtures/model_parity.json "$ce"
  "$python" scripts/gpu/check.py fixture-inputs tests/fixtures/model_parity.json "$out/parity-pairs.jsonl" "$out/parity-texts.jsonl"
  "$bin" predict --device cuda --model "$ce" --input "$out/parity-pairs.jsonl" --output "$out/parity-logits.jsonl" --raw
  "$bin" embed --device cuda --model "$model" --input "$out/parity-texts.jsonl" --output "$out/parity-embeddings.jsonl"
  "$python" scripts/gpu/check.py parity tests/fixtures/model_parity.json "$out/parity-logits.jsonl" "$out/parity-embeddings.jsonl" > "$out/parity.json"
  cat "$out/parity.json"
}

run_inference() {
  local ce="$carry/fixture-ce"
  [ -d "$ce" ] || "$python" scripts/gpu/check.py make-fixture-ce "$model" tests/fixtures/model_parity.json "$ce"
  for len in 256 512; do
    for bs in 32 64 128 256 512; do
      for precision in f32 bf16 f16; do
        "$bin" bench predict --device cuda --model "$ce" --input "$carry/data/pairs-$len.jsonl" \
          --max-length "$len" --batch-size "$bs" --max-batch-tokens $((bs * len)) --repeat 5 \
          --precision "$precision" --output "$out/predict-rankforge-$precision-$len-$bs.json" > /dev/null
      done
      for dtype in fp32 fp16 bf16; do
        "$python" scripts/reference/bench_pytorch.py "$ce" "$carry/data/pairs-$len.jsonl" --device cuda \
          --dtype "$dtype" --max-length "$len" --batch-size "$bs" --repeat 5 --scores \
          --output "$out/predict-pytorch-$dtype-$len-$bs.json" > /dev/null 2>>"$out/pytorch.log"
      done
    done
  done
  "$bin" predict --device cuda --model "$ce" --input "$carry/data/pairs-256.jsonl" --max-length 256 \
    --output "$out/predict-rankforge-scores-256.jsonl"
  for precision in f32 bf16 f16; do
    "$bin" predict --device cuda --model "$ce" --input "$carry/data/dev-top100-pairs.jsonl" \
      --max-length 512 --raw --precision "$precision" --output "$out/dev-top100-$precision.jsonl"
  done
}

run_training() {
  for i in 1 2 3; do
    "$bin" bench train --device cuda --model "$model" --groups "$carry/data/train-groups.jsonl" \
      --batch-pairs 16 --max-length 256 --steps 40 --warmup-steps 5 --output "$out/train-rankforge-$i.json" > /dev/null
    "$python" scripts/reference/train_pytorch.py --device cuda --model "$model" \
      --groups "$carry/data/train-groups.jsonl" --batch-pairs 16 --max-length 256 --steps 40 \
      --warmup-steps 5 > "$out/train-pytorch-$i.json" 2>>"$out/pytorch.log"
  done
}

run_scifact() {
  sed -e "s|^base = .*|base = \"$model\"|" -e "s|^dir = .*|dir = \"$carry/data/scifact\"|" \
      -e "s|^output_dir = .*|output_dir = \"$out/scifact-ce\"|" configs/scifact-ce.toml > "$out/scifact-ce-gpu.toml"
  /usr/bin/time -v "$bin" train --device cuda --config "$out/scifact-ce-gpu.toml" --quiet \
    > "$out/scifact-ce.log" 2> "$out/scifact-ce.time"
  tail -5 "$out/scifact-ce.log"
}

case "$stage" in
  parity) run_parity ;;
  inference) run_inference ;;
  training) run_training ;;
  scifact) run_scifact ;;
  summary) ;;
  all) run_parity; run_inference; run_training; run_scifact ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
esac
"$python" scripts/gpu/check.py summary "$out" > "$out/summary.md"
cat "$out/summary.md"

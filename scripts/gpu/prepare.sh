#!/usr/bin/env bash
# Run on the CPU build machine. Gathers into gpu-carry/ (ignored by git) everything
# scripts/gpu/run_all.sh needs on a GPU machine that has CUDA, PyTorch and sentence-transformers
# but no Rust toolchain and no network:
#   gpu-carry/bin/rankforge        release build with --features cuda, stripped
#   gpu-carry/model-a, model-b     all-MiniLM-L6-v2 (model.safetensors split in two parts, so
#                                  that no single transfer passes a 64 MiB limit)
#   gpu-carry/data                 SciFact (read from ../shared/data; never committed) and the
#                                  benchmark pairs and training groups made from it
# Carry gpu-carry/bin + gpu-carry/data in one transfer and gpu-carry/model-a + model-b in
# another if the limit is per transfer; run_all.sh reassembles the model.
#   usage: scripts/gpu/prepare.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
cargo build --release -p rankforge-cli --features cuda
out=gpu-carry
rm -rf "$out"
mkdir -p "$out/bin" "$out/model-a" "$out/model-b" "$out/data"
cp target/release/rankforge "$out/bin/rankforge"
strip "$out/bin/rankforge"
model="$(bash scripts/fetch_model.sh)"
for f in "$model"/*; do
  [ "$(basename "$f")" = model.safetensors ] || cp -r "$f" "$out/model-a/"
done
size=$(stat -c %s "$model/model.safetensors")
half=$(( (size + 1) / 2 ))
head -c "$half" "$model/model.safetensors" > "$out/model-a/model.safetensors.part1"
tail -c +"$((half + 1))" "$model/model.safetensors" > "$out/model-b/model.safetensors.part2"
cp -r ../shared/data/scifact "$out/data/scifact"
chmod -R u+w "$out/data"
python3 scripts/reference/make_bench_pairs.py ../shared/data/scifact "$out/data/pairs-256.jsonl" --pairs 4096
python3 scripts/reference/make_bench_pairs.py ../shared/data/scifact "$out/data/pairs-512.jsonl" --pairs 4096 --full
python3 scripts/reference/train_pytorch.py --data ../shared/data/scifact --group-size 8 \
  --write-groups "$out/data/train-groups.jsonl"
# SciFact dev BM25 top-100 as (query, document) pairs, for the half-precision ranking check.
"$out/bin/rankforge" retrieve --method bm25 --corpus ../shared/data/scifact/corpus.jsonl \
  --queries ../shared/data/scifact/queries.jsonl --qrels ../shared/data/scifact/qrels/dev.tsv \
  --top-k 100 --output "$out/data/dev-bm25.trec"
python3 scripts/gpu/check.py run-pairs ../shared/data/scifact "$out/data/dev-bm25.trec" "$out/data/dev-top100-pairs.jsonl"
du -sh "$out"/*
echo "carry: gpu-carry/bin gpu-carry/data | gpu-carry/model-a gpu-carry/model-b; then: bash scripts/gpu/run_all.sh \$OUT"

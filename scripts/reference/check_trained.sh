#!/usr/bin/env bash
# Trains a cross-encoder for two steps on the bundled sample at max_length 32 (the sample's
# documents are longer), then checks that sentence-transformers loads the saved model at that
# length with no argument and reproduces the trainer's own final dev scores (final-dev.trec).
#   usage: bash scripts/reference/check_trained.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
model="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
cat > "$out/train.toml" <<TOML
[run]
output_dir = "$out/run"
seed = 7
[model]
kind = "cross_encoder"
base = "$model"
max_length = 32
[data]
dir = "data/sample"
negatives = 1
negative_pool = 5
max_dev_queries = 4
[train]
max_steps = 2
batch_size = 2
learning_rate = 1e-4
[eval]
every_steps = 0
top_k = 8
[checkpoint]
every_steps = 0
[loss]
loss = "listnet"
TOML
cargo run -q -p rankforge-cli -- train --config "$out/train.toml" --quiet >/dev/null
"$python" scripts/reference/check_trained.py "$out/run" data/sample 32 2>&1 | grep -v -i warn

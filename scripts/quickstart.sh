#!/usr/bin/env bash
# The main job: fine-tune a cross-encoder from all-MiniLM-L6-v2 on data/sample (CPU, release
# build) and print dev reranking quality before vs after. Outputs go to runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
model_dir="$(bash scripts/fetch_model.sh)"
test -f "$model_dir/model.safetensors" || { echo "model not found in $model_dir" >&2; exit 1; }
cargo build --release -p rankforge-cli
./target/release/rankforge train --config configs/quickstart.toml "$@"

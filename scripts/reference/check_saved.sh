#!/usr/bin/env bash
# Saves a cross-encoder and a bi-encoder with rankforge's HF writer and checks that
# sentence-transformers loads both, unchanged, with the fixture's outputs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
model="$(bash scripts/fetch_model.sh)"
python="$(bash scripts/reference/setup.sh)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
cargo run -q -p rankforge-model --example save_fixture_models -- "$model" tests/fixtures/model_parity.json "$out" >/dev/null
"$python" scripts/reference/check_saved.py "$out" 2>&1 | grep -v -i warn

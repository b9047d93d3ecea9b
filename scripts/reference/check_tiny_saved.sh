#!/usr/bin/env bash
# Saves the tiny XLM-RoBERTa / ELECTRA / ModernBERT models with rankforge's HF writer and checks that
# transformers and sentence-transformers load them, unchanged, with the fixture's outputs
# (issue 20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
python="$(bash scripts/reference/setup.sh)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
cargo run -q -p rankforge-model --example save_tiny_models -- "$PWD" "$out" >/dev/null
"$python" scripts/reference/check_tiny_saved.py "$out" 2>&1 | grep -v -i -E "warn|Loading weights|LOAD REPORT|^Key|^-|^Notes|UNEXPECTED|MISSING|^$"

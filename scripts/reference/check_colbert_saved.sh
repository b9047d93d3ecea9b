#!/usr/bin/env bash
# Saves the tiny ColBERT models (PyLate and Stanford formats, and PyLate with its default
# prefix tokens, and on ELECTRA and XLM-RoBERTa bodies; and the new ColBERT from_encoder makes
# on the plain tiny BERT with "[Q] " / "[D] " added; and the tiny ModernBERT ColBERT) with
# rankforge's PyLate writer
# and checks that pylate.models.ColBERT loads them unchanged with the fixture's tokenization,
# vectors and MaxSim scores (issue 26). Prints the largest differences.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
python="$(bash scripts/reference/setup_pylate.sh)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
RANKFORGE_KEEP_COLBERT_SAVED="$out" cargo test -q -p rankforge-model --test colbert \
  -- saved_directory_reloads default_prefix electra_and_xlm_roberta >/dev/null
RANKFORGE_KEEP_COLBERT_SAVED="$out" cargo test -q -p rankforge-model --test colbert_new_tokens \
  -- new_prefix_tokens_are_added >/dev/null
RANKFORGE_KEEP_COLBERT_SAVED="$out" cargo test -q -p rankforge-model --test colbert_modernbert \
  -- saves_in_pylate_format >/dev/null
"$python" scripts/reference/check_colbert_saved.py "$out" 2>&1 \
  | grep -v -i -E "warn|Loading weights|LOAD REPORT|^Key|^-|^Notes|UNEXPECTED|MISSING|^$|No sentence-transformers"

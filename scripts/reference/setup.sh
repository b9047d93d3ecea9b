#!/usr/bin/env bash
# Create the Python virtual environment used by the reference scripts (PyTorch on CPU,
# transformers, sentence-transformers, pytrec_eval, bm25s). Only needed to regenerate
# fixtures or run the peer benchmarks; the Rust tests never need Python.
#   usage: scripts/reference/setup.sh   -> prints the venv's python
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.cache/venv-ref"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, transformers, sentence_transformers' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/reference/requirements.txt" >&2
fi
echo "$venv/bin/python"

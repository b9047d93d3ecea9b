#!/usr/bin/env bash
# Create the Python virtual environment for the ColBERT reference scripts: PyLate (which pins its
# own sentence-transformers, hence a venv apart from setup.sh's) with PyTorch on CPU. Only needed
# to regenerate tests/fixtures/colbert* or to run check_colbert_saved.sh; the Rust tests never
# need Python.
#   usage: scripts/reference/setup_pylate.sh   -> prints the venv's python
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.cache/venv-pylate"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, pylate, tokenizers' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  # torch from PyPI (the CPU-only wheel index is not reachable from every machine this project
  # runs on; PyPI's wheel runs on CPU too, it is only larger).
  "$venv/bin/pip" install --quiet --disable-pip-version-check torch >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check pylate tokenizers safetensors numpy >&2
fi
echo "$venv/bin/python"

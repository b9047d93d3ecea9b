#!/usr/bin/env bash
# rankforge's test suite: fetches all-MiniLM-L6-v2 (the parity tests compare against PyTorch
# outputs computed with it) and a software Vulkan driver (lavapipe: the `wgpu` backend's tests
# run burn's GPU kernels on it), then runs every test of the workspace (debug profile, with the
# `wgpu` backend compiled in, so one build of burn serves all tests; parquet and Arrow IPC input
# is always built, so crates/data/tests/parquet.rs runs with them), and a bounded fuzz of every
# command's inputs (scripts/fuzz_inputs.sh, 60 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch_model.sh >/dev/null
bash scripts/install_vulkan.sh
cargo test --workspace --features rankforge-cli/wgpu "$@"
# The binary the CLI tests just built (same features: no second build of burn).
bash scripts/fuzz_inputs.sh --seed 1 --time 60 --no-build

#!/usr/bin/env bash
# Regenerate the parity fixtures (tests/data/qwen35_*, qwen35moe_*, qwen3next_*) from transformers'
# Qwen3.5, Qwen3.5-MoE and Qwen3-Next.
# Needs python3 with torch, transformers >= 5.17 (Qwen3_5ForCausalLM, Qwen3_5MoeForCausalLM,
# Qwen3NextForCausalLM), numpy and the PyPI
# `gguf` package; runs on the CPU in float64 (a minute or so).
# Usage: scripts/make-fixtures.sh [OUT_DIR (default tests/data)] [make_fixtures.py options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/tests/data}"
shift || true
exec python3 "$root/tools/make_fixtures.py" --out "$out" "$@"

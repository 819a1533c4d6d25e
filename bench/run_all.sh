#!/usr/bin/env bash
# Every benchmark of issue 5 in one device call: gdn decode rows against the bandwidth floor
# (--quick: 16 warm-up + 128 timed steps per row), the DeltaNet step of gdn beside
# flash-linear-attention's (and FlashInfer's when it can run), HF transformers decode of the
# same random 0.8B model, then the kernel benchmarks with whatever time is left.
# Writes the combined markdown to $OUT/bench-<card>.md (and the same as
# $OUT/YYYY-MM-DD-<card>.md, the name bench/results/ keeps it under) and prints it.
#
# Usage (GPU machine, repository root; .whl/ carried with the fla-core wheel):
#   bench/run_all.sh [path/to/gdn_bench_decode]   (default build-gpu/bench/gdn_bench_decode)
# Environment: OUT (default ./bench-out), BUDGET_S (whole run, default 340), DECODE_TIMEOUT_S
#   (the decode/batch/prefill table, default 420),
#   DECODE_ARGS (default --quick), KERNELS=0 to skip the kernel benchmarks.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$(date +%s)
budget=${BUDGET_S:-340}
exe=${1:-build-gpu/bench/gdn_bench_decode}
bindir=$(dirname "$exe")
out=${OUT:-$root/bench-out}
mkdir -p "$out"
parts=$out/parts   # kept: what finished survives a run cut short
rm -rf "$parts"; mkdir -p "$parts"
left() { echo $(( budget - ($(date +%s) - start) )); }

card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
card=${card:-unknown}
slug=$(printf '%s' "$card" | tr ' ' '-' | tr -cd 'A-Za-z0-9._-')
md="$out/bench-$slug.md"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)")

# 1. gdn decode + gdn DeltaNet step (CSV for the peers' ratios)
echo "[run_all] decode: $exe ${DECODE_ARGS:---quick}" >&2
if [ -x "$exe" ]; then
  # shellcheck disable=SC2086
  timeout "${DECODE_TIMEOUT_S:-420}" "$exe" ${DECODE_ARGS:---quick} --csv "$parts/decode.csv" --deltanet-csv "$parts/deltanet.csv" \
      > "$parts/1-decode.md" 2> "$out/decode.stderr"
  rc=$?
  [ $rc -ne 0 ] && echo "gdn_bench_decode exited with $rc (see decode.stderr): $(tail -3 "$out/decode.stderr")" >> "$parts/1-decode.md"
else
  echo "gdn_bench_decode not found at $exe" > "$parts/1-decode.md"
fi

# 2. peers
site=/tmp/site
if ls .whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl \
      > "$out/pip.log" 2>&1 || echo "[run_all] pip install from .whl failed (see pip.log)" >&2
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
else
  echo "[run_all] no .whl/*.whl carried: fla will be skipped" >&2
fi
# FlashInfer staged by bench/peers/flashinfer_stage.sh assemble (earlier calls, same machine):
# its `cutlass` module lives in dsl_packages/, which only a site dir's .pth would add.
if [ -d "$site/flashinfer" ] && [ -d "$site/nvidia_cutlass_dsl/dsl_packages" ]; then
  export PYTHONPATH=$site:$site/nvidia_cutlass_dsl/dsl_packages${PYTHONPATH:+:$PYTHONPATH}
fi
echo "[run_all] deltanet peers ($(left) s left)" >&2
timeout 200 python3 bench/peers/deltanet_peers.py --gdn-csv "$parts/deltanet.csv" \
    > "$parts/2-deltanet.md" 2> "$out/deltanet_peers.stderr" \
    || echo "deltanet_peers.py failed or timed out: $(tail -3 "$out/deltanet_peers.stderr")" >> "$parts/2-deltanet.md"
echo "[run_all] hf decode ($(left) s left)" >&2
timeout 150 python3 bench/peers/hf_decode.py --gdn-csv "$parts/decode.csv" \
    > "$parts/3-hf.md" 2> "$out/hf_decode.stderr" \
    || echo "hf_decode.py failed or timed out: $(tail -3 "$out/hf_decode.stderr")" >> "$parts/3-hf.md"

# 3. kernel benchmarks (plain text tables), in the time left
: > "$parts/0-kernels.md"
if [ "${KERNELS:-1}" != 0 ]; then
  for k in "$bindir"/gdn_bench_kernels_*; do
    [ -x "$k" ] || continue
    t=$(left)
    name=$(basename "$k")
    if [ "$t" -lt 20 ]; then
      printf '\n### %s\n\nskipped: run_all time budget (%s s) spent\n' "$name" "$budget" >> "$parts/0-kernels.md"
      continue
    fi
    echo "[run_all] $name ($t s left)" >&2
    { printf '\n### %s\n\n```\n' "$name"; timeout "$t" "$k" 2>&1; echo "exit $?"; printf '```\n'; } >> "$parts/0-kernels.md"
  done
fi

{
  echo "# gdn benchmarks on $card"
  echo
  echo "date $(date -u +%Y-%m-%d) UTC, commit $commit$dirty, decode args: ${DECODE_ARGS:---quick}, run_all $(( $(date +%s) - start )) s"
  echo
  echo "## Kernels"
  cat "$parts/0-kernels.md"
  echo
  echo "## Decode (batch 1 and batched, random weights, floor = bytes / copy bandwidth of the same run) and prefill"
  cat "$parts/1-decode.md"
  echo
  echo "## DeltaNet step: peers (ratio = peer time / gdn time)"
  cat "$parts/2-deltanet.md"
  echo
  echo "## HF transformers decode, same 0.8B shape"
  cat "$parts/3-hf.md"
} > "$md"
cp "$md" "$out/$(date -u +%Y-%m-%d)-$slug.md"   # the name bench/results/ keeps it under
cat "$md"
echo
echo "[run_all] wrote $md (and $(date -u +%Y-%m-%d)-$slug.md for bench/results/) in $(( $(date +%s) - start )) s"

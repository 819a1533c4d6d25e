#!/usr/bin/env bash
# One device call: build for sm_90 (unless a prebuilt tree is carried), run every GPU test
# and the benchmarks, and print a short table last. Usage on the GPU machine:
#   scripts/gpu-check.sh            # build in build-gpu/ with all cores, then run
#   PREBUILT=1 scripts/gpu-check.sh # run the binaries carried in build-gpu/ (built here with the
#                                   # same script and GDN_BUILD_ONLY=1)
#   TARGETS="gdn_gpu_moe" BENCH=0 MIXES=0 SANITIZE=0 scripts/gpu-check.sh   # build and run a subset
# Eigen and Catch2 headers come from .carry/include (carry it; the GPU machine has neither).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build-gpu}
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
export GDN_TEST_DATA_DIR=$root/tests/data

if [ "${PREBUILT:-0}" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGDN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DGDN_EIGEN_INCLUDE_DIR="$root/.carry/include" -DGDN_CATCH2_INCLUDE_DIR="$root/.carry/include" \
        > "$out/configure.log" 2>&1 || { cat "$out/configure.log"; exit 1; }
  # shellcheck disable=SC2086
  cmake --build "$build" -j "$(nproc)" ${TARGETS:+--target $TARGETS} > "$out/build.log" 2>&1 ||
      { tail -60 "$out/build.log"; exit 1; }
fi
[ "${GDN_BUILD_ONLY:-0}" = 1 ] && exit 0

card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}   commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
summary=()
# The GPU tests run concurrently (one card, 16 host cores: the float64 references dominate
# their time); each writes its own log and exit code.
start=$(date +%s)
for exe in "$build"/tests/gdn_gpu_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  ( "$exe" > "$out/$name.log" 2>&1; echo $? > "$out/$name.rc" ) &
done
wait
for exe in "$build"/tests/gdn_gpu_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  rc=$(cat "$out/$name.rc")
  case $rc in 0) st=passed ;; 77) st=skipped ;; *) st="FAILED($rc)" ;; esac
  summary+=("$(printf '%-28s %-10s %4ss  %s' "$name" "$st" "$(( $(date +%s) - start ))" \
      "$(grep -E 'test cases|assertions' "$out/$name.log" | tail -1)")")
  [ "$rc" != 0 ] && [ "$rc" != 77 ] && tail -40 "$out/$name.log"
done
# Examples on the GPU: gdn-logits against HF's logits, gdn-generate on the built-in model.
if [ -x "$build/examples/gdn-logits" ]; then
  for fx in qwen35_r2_real_heads_f16 qwen35moe_e16_top4_f16 qwen3next_e8_top2; do
    GDN_LOGITS_ARGS="--backend cuda" bash tests/cpu/parity/check_gdn_logits.sh "$build/examples/gdn-logits" \
        tests/data $fx 1e-3 > "$out/gdn-logits-cuda-$fx.log" 2>&1
    rc=$?; summary+=("$(printf '%-28s %-10s %s' "gdn-logits-cuda $fx" "$([ $rc = 0 ] && echo passed || echo "FAILED($rc)")" \
        "$(tail -1 "$out/gdn-logits-cuda-$fx.log")")")
  done
fi
if [ -x "$build/examples/gdn-generate" ]; then
  "$build/examples/gdn-generate" -m tests/data/qwen35_r2_real_heads_f16.gguf -n 64 > "$out/gdn-generate.log" 2>&1
  summary+=("$(printf '%-28s rc=%-7s %s' gdn-generate $? "$(tail -1 "$out/gdn-generate.log")")")
fi
if [ -x "$build/examples/custom_engine/custom_engine" ]; then
  "$build/examples/custom_engine/custom_engine" > "$out/custom_engine.log" 2>&1
  rc=$?; summary+=("$(printf '%-28s %-10s %s' custom_engine "$([ $rc = 0 ] && echo passed || echo "FAILED($rc)")" \
      "$(grep -iE 'agree|error|skipped' "$out/custom_engine.log" | tail -1)")")
fi
# Every llama-quantize mix (gdn-random-gguf) decoded on the GPU against the same file dequantised
# to f32 on the CPU reference (rel L2 <= 2e-3 per position): tests/tools/quant_mix.sh.
if [ "${MIXES:-1}" = 1 ] && [ -x "$build/tools/gdn-random-gguf" ] && [ -x "$build/examples/gdn-logits" ]; then
  MIX_BACKEND=cuda bash tests/tools/quant_mix.sh "$build/tools/gdn-random-gguf" "$build/tools/gdn-dequantize-gguf" \
      "$build/examples/gdn-logits" "$build/tools/gdn-compare-logits" > "$out/quant-mix-cuda.log" 2>&1
  rc=$?; summary+=("$(printf '%-28s %-10s %s' quant-mix-cuda "$([ $rc = 0 ] && echo passed || echo "FAILED($rc)")" \
      "$(tail -1 "$out/quant-mix-cuda.log")")")
  [ $rc != 0 ] && tail -20 "$out/quant-mix-cuda.log"
fi
# compute-sanitizer over one short whole-decoder case (every kernel of the schedule).
if [ "${SANITIZE:-1}" = 1 ] && command -v compute-sanitizer >/dev/null && [ -x "$build/tests/gdn_gpu_decoder" ]; then
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 99 "$build/tests/gdn_gpu_decoder" \
        "cuda decoder: bad input raises gdn::Error and leaves the state usable" > "$out/sanitizer-$tool.log" 2>&1
    rc=$?
    summary+=("$(printf '%-28s %-10s %s' "compute-sanitizer $tool" "$([ $rc = 0 ] && echo clean || echo "FAILED($rc)")" \
        "$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer-$tool.log" | tail -1)")")
  done
fi
# Full-size random-weight Qwen3.5 GGUFs (gdn-random-gguf, the real vocabulary) written to temp
# space outside $out, decoded on the GPU, deleted: 0.8B q8_0, 9B q4_0 when RANDOM_9B=1, the MoE
# 35B-A3B q4_0 (~20 GB) when RANDOM_MOE=1.
if [ -x "$build/tools/gdn-random-gguf" ] && [ -x "$build/examples/gdn-generate" ]; then
  randoms=("0.8B q8_0")
  [ "${RANDOM_9B:-0}" = 1 ] && randoms+=("9B q4_0")
  [ "${RANDOM_MOE:-0}" = 1 ] && randoms+=("35B-A3B q4_0")
  for st in "${randoms[@]}"; do
    read -r shape wtype <<< "$st"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gdn-random.XXXXXX")
    log="$out/random-$shape-$wtype.log"
    "$build/tools/gdn-random-gguf" --shape "$shape" --type "$wtype" -o "$tmp/model.gguf" > "$log" 2>&1 &&
      "$build/examples/gdn-generate" -m "$tmp/model.gguf" -p "The capital of France is" -n 64 --ignore-eos \
          --backend cuda >> "$log" 2>&1
    rc=$?
    rm -rf "$tmp"
    summary+=("$(printf '%-28s rc=%-7s %s' "random $shape $wtype" $rc "$(grep -E '^prefill:' "$log" | tail -1)")")
    [ $rc -ne 0 ] && tail -20 "$log"
  done
fi
# BENCHES: which benchmarks to run (default all), e.g. "kernels_gemv decode"; BENCH_ARGS_<name>
# gives one its arguments.
for exe in "$build"/bench/gdn_bench_*; do
  [ "${BENCH:-1}" = 1 ] || break
  if [ -n "${BENCHES:-}" ]; then case " $BENCHES " in *" ${exe##*/gdn_bench_} "*) ;; *) continue ;; esac; fi
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  echo "== $name"
  args_var="BENCH_ARGS_${name#gdn_bench_}"
  # shellcheck disable=SC2086
  "$exe" ${!args_var:-} 2>&1 | tee "$out/$name.log"
done
echo
echo "== summary ($card)"
printf '%s\n' "${summary[@]}"

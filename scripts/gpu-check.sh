#!/usr/bin/env bash
# One device call: build for sm_90 (unless a prebuilt tree is carried), run every GPU test
# and the benchmarks, and print a short table last. Usage on the GPU machine:
#   scripts/gpu-check.sh            # build in build-gpu/ with all cores, then run
#   PREBUILT=1 scripts/gpu-check.sh # run the binaries carried in build-gpu/ (built here with the
#                                   # same script and GDN_BUILD_ONLY=1)
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
  cmake --build "$build" -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 1; }
fi
[ "${GDN_BUILD_ONLY:-0}" = 1 ] && exit 0

card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}   commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
summary=()
for exe in "$build"/tests/gdn_gpu_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  start=$(date +%s)
  "$exe" > "$out/$name.log" 2>&1
  rc=$?
  case $rc in 0) st=passed ;; 77) st=skipped ;; *) st="FAILED($rc)" ;; esac
  summary+=("$(printf '%-28s %-10s %4ss  %s' "$name" "$st" "$(( $(date +%s) - start ))" \
      "$(grep -E 'test cases|assertions' "$out/$name.log" | tail -1)")")
  [ $rc -ne 0 ] && [ $rc -ne 77 ] && tail -40 "$out/$name.log"
done
for exe in "$build"/bench/gdn_bench_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  echo "== $name"
  "$exe" 2>&1 | tee "$out/$name.log"
done
echo
echo "== summary ($card)"
printf '%s\n' "${summary[@]}"

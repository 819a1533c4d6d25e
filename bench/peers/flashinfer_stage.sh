#!/usr/bin/env bash
# FlashInfer's GDN decode for the peers table needs ~125 MB of wheels (flashinfer-python,
# nvidia-cutlass-dsl + libs for CUDA 13, apache-tvm-ffi, cuda-bindings, ...), more than the
# 64 MiB one device call carries. This script splits them into parts that travel in
# consecutive calls while the GPU machine stays warm (ignored paths survive between calls),
# and reassembles them there.
#
#   here:       bench/peers/flashinfer_stage.sh stage      # -> .carry/fi/p1 .. p3 (ignored)
#   device:     call 1 carry [".carry/fi/p1"], call 2 [".carry/fi/p2"], call 3 [".carry/fi/p3"]
#               and in call 3:  bench/peers/flashinfer_stage.sh assemble  (installs into /tmp/site)
#               then PYTHONPATH=/tmp/site:/tmp/site/nvidia_cutlass_dsl/dsl_packages \
#                    python3 bench/peers/deltanet_peers.py ...
# Status: staged and split here; not yet run on the device (see the 2026-11-27 closing note).
# The GPU machine's Python is 3.12: the wheels are fetched for cp312.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
stage)
  work=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d "$work" flashinfer-python==0.7.2.post1 nvidia-cutlass-dsl==4.8.1 \
      nvidia-cutlass-dsl-libs-base==4.8.1 nvidia-cutlass-dsl-libs-core==4.8.1 nvidia-cutlass-dsl-libs-cu13==4.8.1 \
      apache-tvm-ffi==0.1.15.post2 cuda-python cuda-bindings cuda-tile einops tabulate nvidia-ml-py
  # The flashinfer wheel is 420 MB unpacked; the GDN decode path (CuTe DSL) needs its Python
  # package and csrc/gdn only: drop the other kernels' sources, CUTLASS and CCCL headers.
  (cd "$work" && mkdir fx && cd fx && unzip -q ../flashinfer_python-*.whl &&
   rm -rf flashinfer/data/cccl flashinfer/data/cutlass flashinfer/data/spdlog &&
   find flashinfer/data/csrc -mindepth 1 -maxdepth 1 ! -name gdn -exec rm -rf {} + &&
   tar czf ../flashinfer_pruned.tgz flashinfer flashinfer_python-*.dist-info) && rm -rf "$work/fx" "$work"/flashinfer_python-*.whl
  rm -rf .carry/fi && mkdir -p .carry/fi/p1 .carry/fi/p2 .carry/fi/p3
  (cd "$work" && tar cf all.tar ./*.whl flashinfer_pruned.tgz)
  split -n 3 -d "$work/all.tar" .carry/fi/part
  for i in 1 2 3; do mv ".carry/fi/part0$((i - 1))" ".carry/fi/p$i/"; done
  rm -rf "$work"
  du -sh .carry/fi/p*
  ;;
assemble)
  site=${SITE:-/tmp/site}
  work=$(mktemp -d)
  parts=${PARTS:-.carry/fi/p1/part00 .carry/fi/p2/part01 .carry/fi/p3/part02}
  # shellcheck disable=SC2086
  cat $parts | tar xf - -C "$work"
  # Unzip rather than `pip install --target`: three cutlass-dsl wheels share the top-level
  # folder nvidia_cutlass_dsl/, which pip --target would skip (or, with --upgrade, replace).
  mkdir -p "$site"
  for w in "$work"/*.whl; do python3 -m zipfile -e "$w" "$site"; done
  tar xzf "$work/flashinfer_pruned.tgz" -C "$site"
  # nvidia_cutlass_dsl_packages.pth puts dsl_packages/ (the `cutlass` module) on sys.path, but
  # .pth files run only in site directories, not in PYTHONPATH entries: name it explicitly.
  path=$site:$site/nvidia_cutlass_dsl/dsl_packages
  PYTHONPATH=$path python3 -c "import cutlass, flashinfer.gdn_decode as g; print('flashinfer gdn_decode importable from', g.__file__)"
  echo "export PYTHONPATH=$path"
  ;;
*) echo "usage: $0 stage|assemble" >&2; exit 2 ;;
esac

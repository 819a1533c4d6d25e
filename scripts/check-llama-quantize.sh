#!/usr/bin/env bash
# Outside check of gdn's mixes and loader against llama.cpp's own llama-quantize (built by hand
# from the llama-cpp-python sdist in a temporary folder, never committed). For each file type:
#   1. a bf16 random Qwen3.5 (gdn-random-gguf --type bf16 --pure; 8 layers with 0.8B's heads,
#      256 wide, MLP 512, the real vocabulary) is quantised by llama-quantize;
#   2. its tensor types must equal those of gdn-random-gguf --type FTYPE (the rules of
#      include/gdn/io/quant_mix.hpp), tensor by tensor (read with the gguf package);
#   3. the llama-quantize file decodes on the CPU reference to the logits of its own F32 copy
#      (gdn-dequantize-gguf), rel L2 <= 1e-4 per position.
# With CHECK_SHAPE=tiny-moe or tiny-next the model is an MoE one instead (qwen35moe / qwen3next:
# 8 layers and an MTP block, 16 experts, 256-wide experts and shared expert; CHECK_EXPERTS=N for N experts, e.g. 8
# for llama.cpp's Mixtral rules): steps 1 and 2 only, since gdn's loader does not read MoE yet.
# usage: scripts/check-llama-quantize.sh LLAMA_QUANTIZE BUILD_DIR [FTYPE ...]
# (BUILD_DIR holds tools/gdn-random-gguf, tools/gdn-dequantize-gguf, tools/gdn-compare-logits and
# examples/gdn-logits; needs python3 with the gguf package.)
set -euo pipefail
quantize=${1:?usage: check-llama-quantize.sh LLAMA_QUANTIZE BUILD_DIR [FTYPE ...]}
build=${2:?}
shift 2
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m q6_k iq4_nl iq4_xs)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
shape=(--shape 0.8B --layers 8 --embd 256 --ff 512 --seed 5)
moe=0
if [ -n "${CHECK_SHAPE:-}" ]; then
    shape=(--shape "$CHECK_SHAPE" --layers 8 --mtp 1 --seed 5 ${CHECK_EXPERTS:+--experts "$CHECK_EXPERTS"})
    moe=1
fi
"$build/tools/gdn-random-gguf" "${shape[@]}" --type bf16 --pure -o "$dir/bf16.gguf" > /dev/null 2>&1
types_of() {  # name=type per tensor, sorted
    python3 -c 'import sys, gguf
for t in gguf.GGUFReader(sys.argv[1]).tensors: print(t.name + "=" + t.tensor_type.name.lower())' "$1" | sort
}
status=0
for t in "${types[@]}"; do
    "$quantize" "$dir/bf16.gguf" "$dir/lq.gguf" "${t^^}" > "$dir/lq.log" 2>&1 || { tail -5 "$dir/lq.log"; echo "$t: llama-quantize failed"; status=1; continue; }
    "$build/tools/gdn-random-gguf" "${shape[@]}" --type "$t" -o "$dir/gdn.gguf" > /dev/null 2>&1
    if diff <(types_of "$dir/lq.gguf") <(types_of "$dir/gdn.gguf") > "$dir/diff.txt"; then
        rules="types equal ($(types_of "$dir/lq.gguf" | wc -l) tensors)"
    else
        rules="TYPES DIFFER: $(grep -c '^<' "$dir/diff.txt") tensors, e.g. $(grep -m2 '^[<>]' "$dir/diff.txt" | tr '\n' ' ')"
        status=1
    fi
    if [ $moe = 1 ]; then
        printf 'llama-quantize %-9s %s %s (%s)\n' "$t" "${CHECK_SHAPE}" "$rules" "$(grep -c 'falling back' "$dir/lq.log" || true) fallbacks"
        rm -f "$dir/lq.gguf" "$dir/gdn.gguf"
        continue
    fi
    "$build/tools/gdn-dequantize-gguf" "$dir/lq.gguf" "$dir/f32.gguf" 2> /dev/null
    "$build/examples/gdn-logits" "$dir/lq.gguf" --tokens 9419,11,1814 --out "$dir/lq.f32" --backend cpu 2> /dev/null
    "$build/examples/gdn-logits" "$dir/f32.gguf" --tokens 9419,11,1814 --out "$dir/f32.f32" --backend cpu 2> /dev/null
    logits=$("$build/tools/gdn-compare-logits" "$dir/lq.f32" "$dir/f32.f32" --vocab 248320 --tol 1e-4) || status=1
    printf 'llama-quantize %-7s %s; logits vs its f32 copy: %s\n' "$t" "$rules" "$logits"
    rm -f "$dir/lq.gguf" "$dir/gdn.gguf" "$dir/f32.gguf"
done
exit $status

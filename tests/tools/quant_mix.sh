#!/usr/bin/env bash
# Every llama-quantize mix gdn-random-gguf writes (its --list-types) decodes on the CPU reference
# to the logits of the same file dequantised to f32. For each mix: a Qwen3.5 of 8 layers with
# 0.8B's real heads (8 query heads over 2 KV heads of 256, 16 DeltaNet key / value heads of 128;
# n_head / n_head_kv = 4, >= 4 as in every Qwen3.5, so the attn_v rules are the real models')
# but 256 wide with a 512-wide MLP (multiples of 256: the K-quants apply to every matrix) and
# the real vocabulary, tied; gdn-dequantize-gguf rewrites it with every tensor in f32
# (gdn::dequantize_row; the copy of the f32 mix must be its bytes); gdn-logits --backend cpu
# runs both on "Hello", ",", " world"; each position's logits must agree to rel L2 <= 1e-4
# (gdn-compare-logits). What is compared is the decoder's handling of each stored type against
# plain f32 math on the same values; the formats' bytes are checked against llama.cpp's in
# tests/cpu/quant. A mix that needs a type without a quantiser yet is skipped with a line
# naming the type and tensor, and runs here as soon as that quantiser lands.
# Environment: MIX_BACKEND=cuda decodes the mix on the GPU (the f32 copy stays on the CPU
# reference) with tolerance 2e-3; QUANT_MIX_SKIP lists mixes not to run (default "iq3_s iq3_m":
# gdn's iq3_s quantiser is a brute-force codebook search, ~85 s per such file on one core).
# usage: quant_mix.sh GDN_RANDOM_GGUF GDN_DEQUANTIZE_GGUF GDN_LOGITS GDN_COMPARE_LOGITS
set -euo pipefail
gen="${1:?usage: quant_mix.sh GDN_RANDOM_GGUF GDN_DEQUANTIZE_GGUF GDN_LOGITS GDN_COMPARE_LOGITS}"
dequantize="${2:?}"
logits="${3:?}"
compare="${4:?}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "quant_mix: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }  # seconds since $1

tokens=9419,11,1814
backend=${MIX_BACKEND:-cpu}
tol=1e-4
[ "$backend" = cpu ] || tol=2e-3
skip_list=" ${QUANT_MIX_SKIP-iq3_s iq3_m} "
ran=0 skipped=0
t_all=$(now)
for type in $("$gen" --list-types); do
    t0=$(now)
    case "$skip_list" in *" $type "*) echo "quant_mix: $type: skipped (QUANT_MIX_SKIP)"; skipped=$((skipped + 1)); continue ;; esac
    if ! "$gen" --shape 0.8B --layers 8 --embd 256 --ff 512 --type "$type" --seed 5 -o "$dir/mix.gguf" \
            > /dev/null 2> "$dir/gen.txt"; then
        if grep -q "and gdn has no quantiser for" "$dir/gen.txt"; then
            echo "quant_mix: $type: skipped: $(sed -n 's/^gdn-random-gguf: error: //p' "$dir/gen.txt")"
            skipped=$((skipped + 1))
            continue
        fi
        cat "$dir/gen.txt" >&2
        fail "gdn-random-gguf --type $type failed"
    fi
    mix=$(sed -n 's/^gdn-random-gguf: matrices: //p' "$dir/gen.txt")
    "$dequantize" "$dir/mix.gguf" "$dir/f32.gguf" 2> "$dir/deq.txt" || { cat "$dir/deq.txt" >&2; fail "$type: gdn-dequantize-gguf failed"; }
    # nothing to dequantise in an all-f32 file: the copy is its bytes (metadata, infos, layout kept)
    if [ "$type" = f32 ]; then cmp -s "$dir/mix.gguf" "$dir/f32.gguf" || fail "f32: the f32 copy differs from the file"; fi
    "$logits" "$dir/mix.gguf" --tokens "$tokens" --out "$dir/mix.f32" --backend "$backend" 2> "$dir/log.txt" ||
        { cat "$dir/log.txt" >&2; fail "$type: gdn-logits on the mix failed"; }
    "$logits" "$dir/f32.gguf" --tokens "$tokens" --out "$dir/f32.f32" --backend cpu 2> "$dir/log.txt" ||
        { cat "$dir/log.txt" >&2; fail "$type: gdn-logits on the f32 copy failed"; }
    if ! result=$("$compare" "$dir/mix.f32" "$dir/f32.f32" --vocab 248320 --tol "$tol"); then
        fail "$type: $result"
    fi
    printf 'quant_mix: %-9s %s %s, %s s; matrices: %s\n' "$type" "$backend" "$result" "$(since "$t0")" "$mix"
    ran=$((ran + 1))
    rm -f "$dir"/*.gguf
done
# gdn has these quantisers from the start: a mix of them never skips
[ "$ran" -ge 8 ] || fail "only $ran mixes ran (f32, f16, bf16, q8_0, mxfp4_moe, q4_0, q4_k_m, q6_k at least)"
echo "quant_mix: passed: $ran mixes equal to their f32 copies, $skipped skipped, $(since "$t_all") s"

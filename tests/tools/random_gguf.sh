#!/usr/bin/env bash
# gdn-random-gguf writes a random-weight Qwen3.5 GGUF (the tiny shape, the real vocabulary)
# that gdn-logits and gdn-generate load on the CPU reference: every logit finite and the
# logits not constant, text printed, the load progress reported; same seed, same bytes
# whatever the thread count; --type q4_k_m gives llama.cpp's Q4_K_M type mix (MTP block included)
# and loads and runs the same way; --mtp 1 adds an MTP block that leaves the trunk's logits
# bit-identical; bad arguments end in one line and exit 1. tests/tools/quant_mix.sh runs every mix.
# MoE: tiny-moe (qwen35moe) and tiny-next (qwen3next) with an MTP block, same bytes whatever the
# thread count, llama.cpp's Q4_K_M types, and (with python3's gguf package) every name, shape and
# f32 tensor as llama.cpp's loaders want them (check_moe_gguf.py), and gdn-logits runs them on
# the CPU reference (tiny-next with Qwen3's 151936-token vocabulary).
# usage: random_gguf.sh GDN_RANDOM_GGUF GDN_LOGITS GDN_GENERATE
set -euo pipefail
gen="${1:?usage: random_gguf.sh GDN_RANDOM_GGUF GDN_LOGITS GDN_GENERATE}"
logits="${2:?}"
generate="${3:?}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "random_gguf: $*" >&2; exit 1; }

"$gen" --shape tiny --layers 8 --type q8_0 --seed 7 -o "$dir/tiny.gguf"
"$gen" --shape tiny --layers 8 --type q8_0 --seed 7 --threads 1 -o "$dir/again.gguf" 2>/dev/null
cmp -s "$dir/tiny.gguf" "$dir/again.gguf" || fail "same seed, different bytes with --threads 1"
"$gen" --shape tiny --layers 8 --type q8_0 --seed 8 -o "$dir/again.gguf" 2>/dev/null
cmp -s "$dir/tiny.gguf" "$dir/again.gguf" && fail "seeds 7 and 8 gave the same bytes"
rm -f "$dir/again.gguf"

# "Hello", ",", " world": logits of 3 positions on the CPU reference, float32 [3, n_vocab]
check_logits() {  # GGUF [N_VOCAB (default Qwen3.5's 248320)]
    "$logits" "$1" --tokens 9419,11,1814 --out "$dir/logits.f32" --backend cpu
    local n_vocab=${2:-248320}
    [ "$(stat -c %s "$dir/logits.f32")" = $((3 * n_vocab * 4)) ] || fail "gdn-logits wrote $(stat -c %s "$dir/logits.f32") bytes"
    od -An -v -t f4 -w4 "$dir/logits.f32" | awk -v file="$(basename "$1")" '
        $1 ~ /nan|inf/ { bad++; next }
        { x = $1 + 0; n++; s += x; ss += x * x; if (x < 0) x = -x; if (x > m) m = x }
        END {
            sd = sqrt(ss / n - (s / n) ^ 2)
            printf "random_gguf: %s: %d logits, %d not finite, max |logit| %.3f, std %.3f (want all finite, std > 0.1)\n", file, n + bad, bad, m, sd
            exit (bad == 0 && sd > 0.1) ? 0 : 1
        }'
}
check_logits "$dir/tiny.gguf"

# --mtp 1 appends an MTP block after every trunk tensor: the loader keeps it, and the trunk's
# logits are the bytes of the file without it (same seed, same trunk values)
mv "$dir/logits.f32" "$dir/trunk.f32"
"$gen" --shape tiny --layers 8 --type q8_0 --seed 7 --mtp 1 -o "$dir/mtp.gguf" 2> "$dir/mtp.txt" ||
    { cat "$dir/mtp.txt" >&2; fail "gdn-random-gguf --mtp 1 failed"; }
grep -q "8 layers + 1 MTP block, 123 tensors" "$dir/mtp.txt" || fail "--mtp 1: $(cat "$dir/mtp.txt")"
check_logits "$dir/mtp.gguf"
cmp -s "$dir/logits.f32" "$dir/trunk.f32" || fail "--mtp 1 changed the trunk's logits"
echo "random_gguf: --mtp 1: the trunk's logits are bit-identical to the file without the MTP block"
rm -f "$dir/mtp.gguf" "$dir/trunk.f32"

# llama.cpp's Q4_K_M mix (llama_tensor_get_type_impl) of 8 layers and an MTP block (block_count
# 9): q6_k for the tied embedding matrix and for attn_v / attn_qkv and ffn_down of use_more_bits
# blocks - of 9: 0 (first eighth), 7 and 8 (last eighth), 3 and 6 (every third between) - and
# q4_k for the other 60 matrices. The generator loads the file back (load_qwen35,
# check_weights, each tensor's type); the reference runs it.
"$gen" --shape tiny --layers 8 --mtp 1 --type Q4_K_M --seed 7 -o "$dir/q4_k_m.gguf" 2> "$dir/q4_k_m.txt" ||
    { cat "$dir/q4_k_m.txt" >&2; fail "gdn-random-gguf --type Q4_K_M failed"; }
cat "$dir/q4_k_m.txt"
grep -q "matrices: 60 q4_k, 11 q6_k; not q4_k: attn_qkv q6_k: 0 6; attn_v q6_k; ffn_down q6_k: 0 3 6 7 8; token_embd q6_k" \
    "$dir/q4_k_m.txt" || fail "--type q4_k_m: not llama.cpp's Q4_K_M mix"
check_logits "$dir/q4_k_m.gguf"
rm -f "$dir/q4_k_m.gguf"

"$generate" -m "$dir/tiny.gguf" -p "Hello" -n 8 --ignore-eos --backend cpu > "$dir/out.txt" 2> "$dir/err.txt" ||
    { cat "$dir/err.txt" >&2; fail "gdn-generate failed"; }
cat "$dir/err.txt" "$dir/out.txt"
grep -q "decode: 8 tokens" "$dir/err.txt" || fail "gdn-generate did not decode 8 tokens"
grep -q "into memory: 100%" "$dir/err.txt" || fail "gdn-generate printed no load progress"
[ "$(head -c 5 "$dir/out.txt")" = "Hello" ] || fail "gdn-generate's text does not start with the prompt"

# MoE files of both architectures, one MTP block each (it has the MoE MLP too)
have_gguf_py=0
python3 -c "import gguf" 2> /dev/null && have_gguf_py=1
for shape in tiny-moe tiny-next; do
    "$gen" --shape "$shape" --mtp 1 --type q8_0 --seed 7 -o "$dir/$shape.gguf" 2> "$dir/$shape.txt" ||
        { cat "$dir/$shape.txt" >&2; fail "gdn-random-gguf --shape $shape failed"; }
    cat "$dir/$shape.txt"
    "$gen" --shape "$shape" --mtp 1 --type q8_0 --seed 7 --threads 1 -o "$dir/again.gguf" 2> /dev/null
    cmp -s "$dir/$shape.gguf" "$dir/again.gguf" || fail "$shape: same seed, different bytes with --threads 1"
    rm -f "$dir/again.gguf"
    if [ $have_gguf_py = 1 ]; then
        python3 "$(dirname "$0")/check_moe_gguf.py" "$dir/$shape.gguf" || fail "$shape: not what llama.cpp's loader wants"
    fi
    check_logits "$dir/$shape.gguf" "$([ "$shape" = tiny-next ] && echo 151936 || echo 248320)"
done
grep -q "Qwen3.5-tiny (qwen35moe), q8_0, 4 layers + 1 MTP block, 16 experts (top-4), 95 tensors" "$dir/tiny-moe.txt" ||
    fail "tiny-moe: $(cat "$dir/tiny-moe.txt")"
grep -q "Qwen3-Next-tiny (qwen3next), q8_0, 4 layers + 1 MTP block, 16 experts (top-4), 92 tensors" "$dir/tiny-next.txt" ||
    fail "tiny-next: $(cat "$dir/tiny-next.txt")"
[ $have_gguf_py = 1 ] || echo "random_gguf: python3 has no gguf package: the MoE files' layout is not checked"
rm -f "$dir/tiny-moe.gguf" "$dir/tiny-next.gguf"

# llama.cpp's Q4_K_M for an MoE file (5 blocks: use_more_bits 2 and 4): ffn_down_exps and
# ffn_down_shexp of a layer take the same rule (layer_info reads the layer from the name), the
# router and the shared expert's gate stay f32
"$gen" --shape tiny-moe --mtp 1 --type Q4_K_M --seed 7 -o "$dir/moe.gguf" 2> "$dir/moe.txt" ||
    { cat "$dir/moe.txt" >&2; fail "gdn-random-gguf --shape tiny-moe --type Q4_K_M failed"; }
grep -q "matrices: 10 f32, 48 q4_k, 7 q6_k; not q4_k: attn_qkv q6_k: 2; attn_v q6_k: 4; ffn_down_exps q6_k: 2 4; ffn_down_shexp q6_k: 2 4; ffn_gate_inp f32; ffn_gate_inp_shexp f32; token_embd q6_k" \
    "$dir/moe.txt" || fail "--shape tiny-moe --type q4_k_m: not llama.cpp's Q4_K_M mix: $(cat "$dir/moe.txt")"
if [ $have_gguf_py = 1 ]; then
    python3 "$(dirname "$0")/check_moe_gguf.py" "$dir/moe.gguf" blk.2.ffn_down_exps.weight=q6_k \
        blk.3.ffn_down_exps.weight=q4_k blk.0.ffn_gate_inp.weight=f32 || fail "tiny-moe Q4_K_M: layout or types"
fi
rm -f "$dir/moe.gguf"

check_error() {  # expected text, then the arguments
    local want="$1"; shift
    if "$gen" "$@" > "$dir/msg.txt" 2>&1; then fail "gdn-random-gguf $* succeeded"; fi
    [ "$(wc -l < "$dir/msg.txt")" = 1 ] && grep -q -- "$want" "$dir/msg.txt" ||
        fail "gdn-random-gguf $*: expected one line with '$want', got: $(cat "$dir/msg.txt")"
}
check_error "known: 0.8B, 2B, 4B, 9B, 27B, 35B-A3B, 80B-A3B" --shape 5B -o "$dir/x.gguf"
check_error "'q4_k_x' is not a file type gdn models" --shape tiny --type q4_k_x -o "$dir/x.gguf"
check_error "'iq2_xxs' is not a file type gdn models" --shape tiny --type iq2_xxs -o "$dir/x.gguf"
check_error "-o OUT.gguf is required" --shape tiny
check_error "--layers: 0" --shape tiny --layers 0 -o "$dir/x.gguf"
check_error "--mtp: 17" --shape tiny --mtp 17 -o "$dir/x.gguf"
check_error "--embd: 100 is not a multiple of 32" --shape tiny --embd 100 -o "$dir/x.gguf"
check_error "cannot open vocabulary" --shape tiny --vocab "$dir/none.vocab" -o "$dir/x.gguf"
check_error "need an MoE --shape" --shape tiny --experts 8 -o "$dir/x.gguf"
check_error "n_expert_used (32) must be in" --shape tiny-moe --experts-used 32 -o "$dir/x.gguf"
check_error "--ff-exp: 100 is not a multiple of 32" --shape tiny-moe --ff-exp 100 -o "$dir/x.gguf"
[ ! -e "$dir/x.gguf" ] && [ ! -e "$dir/x.gguf.part" ] || fail "a failed run left a file behind"
echo "random_gguf: passed"

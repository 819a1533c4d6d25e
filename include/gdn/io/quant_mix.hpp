// gdn/io/quant_mix.hpp - the type llama.cpp's `llama-quantize` gives each tensor of a `qwen35`
// file for a file type (Q4_K_M, Q5_0, IQ4_XS, ...): the facts of llama_tensor_get_type,
// llama_tensor_get_type_impl and tensor_type_fallback in ggml-org/llama.cpp src/llama-quant.cpp
// (read at commit 007dbbf; the MoE rules at 0c1e570, the llama-cpp-python 0.3.36 sdist's
// vendored tree), restated for the tensors a `qwen35`, `qwen35moe` or `qwen3next` file holds:
// not Falcon, not LLaMA-70B, no --tensor-type / --output-tensor-type / --token-embedding-type
// overrides. gdn-random-gguf writes its mixes from here; the tables are tested against
// hand-derived ones in tests/cpu/io/quant_mix.cpp.
//
// What a qwen35 model looks like to those rules:
// - quantised (tensor_allows_quantization): 2-D tensors whose name ends in "weight", except
//   "_norm.weight" and "ssm_conv1d"; so every matrix, ssm_alpha / ssm_beta (n_embd x Hv) and
//   nextn.eh_proj included. Norms, ssm_a, ssm_dt.bias (1-D) and ssm_conv1d keep the converter's
//   f32.
// - categories (tensor_get_category, substring matches): attn_qkv (the DeltaNet in-projection)
//   and attn_v are both "attn_v-like" (category_is_attn_v); attn_gate and ssm_* are "other".
// - counters: llama-quantize walks tensors sorted by layer, then name (weight_name_comparer in
//   src/llama-model-loader.h). i_attention_wv counts attn_v-like tensors seen, n_attention_wv all
//   of them: a Qwen3.5 layer has exactly one (attn_qkv or attn_v), so the index is the layer and
//   the count block_count. i_ffn_down counts ffn_down tensors seen; n_ffn_down is
//   hparams.n_layer_all = block_count (MTP blocks included).
// - n_gqa() = n_head / n_head_kv: 4 for Qwen3.5 0.8B-9B, 6 for 27B, 8 for 35B-A3B and 80B-A3B.
// MoE files (hparams.n_expert > 1; 256 for 35B-A3B, 512 for 80B-A3B):
// - ffn_gate_inp (the router) is never quantised ("do not quantize expert gating tensors"); it
//   stays the converter's f32. ffn_gate_inp_shexp is [n_embd, 1], 1-D to ggml_n_dims: f32 too.
// - the 3-D expert tensors ffn_{gate,up,down}_exps and the shared expert's ffn_*_shexp fall in the
//   ffn_gate / ffn_up / ffn_down categories by substring, so they take the dense ffn_* rules.
// - with n_expert > 1, layer_info takes the ffn_down / ffn_gate / ffn_up layer from the name
//   ("blk.%d.") instead of the counter (Mixtral's experts are not consecutive): a layer's
//   ffn_down_exps and ffn_down_shexp both get the rule of that layer, n is still n_layer_all.
// - rules for n_expert == 8 exactly (Mixtral): attn_v-like and attn_k q8_0, attn_output q5_k for
//   the low-bit K / IQ mixes, IQ3_M's ffn_down q4_k also in the use_more_bits layers. No Qwen
//   MoE has 8 experts; they are here so a test shape with 8 gets what llama-quantize gives it.
// - MXFP4_MOE gives mxfp4 to every tensor with ne[2] > 1 (the *_exps) and q8_0 to the rest.
// - no row-width fallback in the real shapes: expert rows are n_embd (2048) or n_ff_exp (512)
//   wide, multiples of every block size (256 at most).
// Older llama.cpp (before the tensor_category refactor) matched attn_qkv in a branch of its own
// (q5_k in Q4_K_M, q6_k in Q5_K_M, q4_k in Q3_K_M / Q3_K_L / IQ3_M) and counted only attn_v in
// i_attention_wv; files quantised then differ from these tables in attn_qkv and attn_v.

#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"

namespace gdn::io {

/// ggml's name of t.
constexpr std::string_view mix_type_name(DType t) { return dtype_name(t); }

/// Elements per block of t (ggml's blck_size); 0 for an id gdn does not read.
constexpr int64_t mix_block_elems(DType t) {
    return dtype_supported(static_cast<uint32_t>(t)) ? dtype_traits(t).block_elems : 0;
}

/// llama.cpp's file types (enum llama_ftype in include/llama.h, the general.file_type values)
/// that gdn models: those llama-quantize makes without an importance matrix, and MXFP4_MOE.
enum class LlamaFtype : uint32_t {
    f32 = 0,  // LLAMA_FTYPE_ALL_F32
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q8_0 = 7,
    q5_0 = 8,
    q5_1 = 9,
    q2_k = 10,
    q3_k_s = 11,
    q3_k_m = 12,
    q3_k_l = 13,
    q4_k_s = 14,
    q4_k_m = 15,
    q5_k_s = 16,
    q5_k_m = 17,
    q6_k = 18,
    iq4_nl = 25,
    iq3_s = 26,
    iq3_m = 27,
    iq4_xs = 30,
    bf16 = 32,
    mxfp4_moe = 38,
};

struct LlamaFtypeInfo {
    LlamaFtype ftype;
    std::string_view name;  ///< llama-quantize's name, lower case ("q4_k_m")
    DType base;             ///< llama_ftype_get_default_type
    std::string_view mix;   ///< which tensors get which type, for a Qwen3.5 dense model
};

/// Every file type of LlamaFtype, in llama-quantize's order of listing.
inline constexpr std::array<LlamaFtypeInfo, 22> llama_ftypes{{
    {LlamaFtype::q4_0, "q4_0", DType::q4_0, "q4_0; q6_k output"},
    {LlamaFtype::q4_1, "q4_1", DType::q4_1, "q4_1; q6_k output"},
    {LlamaFtype::mxfp4_moe, "mxfp4_moe", DType::mxfp4, "q8_0; mxfp4 for the 3-D expert tensors (ffn_*_exps) of an MoE model"},
    {LlamaFtype::q5_0, "q5_0", DType::q5_0, "q5_0; q6_k output"},
    {LlamaFtype::q5_1, "q5_1", DType::q5_1, "q5_1; q6_k output"},
    {LlamaFtype::q2_k, "q2_k", DType::q2_k,
     "q2_k; q3_k ffn_down, attn_output; q4_k attn_qkv, attn_v (q3_k if n_head < 4 n_head_kv); q6_k output"},
    {LlamaFtype::iq3_s, "iq3_s", DType::iq3_s, "iq3_s; q4_k attn_qkv, attn_v (n_head >= 4 n_head_kv); q6_k output"},
    {LlamaFtype::iq3_m, "iq3_m", DType::iq3_s,
     "iq3_s; q4_k attn_qkv, attn_v, attn_output, ffn_down of the first n/8 layers; q6_k output"},
    {LlamaFtype::q3_k_s, "q3_k_s", DType::q3_k, "q3_k; q6_k output"},
    {LlamaFtype::q3_k_m, "q3_k_m", DType::q3_k,
     "q3_k; q4_k attn_output, attn_qkv / attn_v (q5_k in layers 0 and 1), ffn_down (q5_k in the first "
     "n/16 layers); q6_k output"},
    {LlamaFtype::q3_k_l, "q3_k_l", DType::q3_k, "q3_k; q5_k attn_qkv, attn_v, attn_output, ffn_down; q6_k output"},
    {LlamaFtype::iq4_nl, "iq4_nl", DType::iq4_nl,
     "iq4_nl; q5_k attn_qkv, attn_v (n_head >= 4 n_head_kv) and ffn_down of the first n/8 layers; q6_k output"},
    {LlamaFtype::iq4_xs, "iq4_xs", DType::iq4_xs,
     "iq4_xs; q5_k attn_qkv, attn_v (n_head >= 4 n_head_kv) and ffn_down of the first n/8 layers; q6_k output"},
    {LlamaFtype::q4_k_s, "q4_k_s", DType::q4_k,
     "q4_k; q5_k attn_qkv / attn_v of layers 0-3 and ffn_down of the first n/8 layers; q6_k output"},
    {LlamaFtype::q4_k_m, "q4_k_m", DType::q4_k,
     "q4_k; q6_k attn_qkv / attn_v and ffn_down of the use_more_bits layers, and output"},
    {LlamaFtype::q5_k_s, "q5_k_s", DType::q5_k, "q5_k; q6_k output"},
    {LlamaFtype::q5_k_m, "q5_k_m", DType::q5_k,
     "q5_k; q6_k attn_qkv / attn_v and ffn_down of the use_more_bits layers, and output"},
    {LlamaFtype::q6_k, "q6_k", DType::q6_k, "q6_k"},
    {LlamaFtype::q8_0, "q8_0", DType::q8_0, "q8_0"},
    {LlamaFtype::f16, "f16", DType::f16, "f16"},
    {LlamaFtype::bf16, "bf16", DType::bf16, "bf16"},
    {LlamaFtype::f32, "f32", DType::f32, "f32"},
}};

constexpr const LlamaFtypeInfo& llama_ftype_info(LlamaFtype f) {
    for (const LlamaFtypeInfo& i : llama_ftypes)
        if (i.ftype == f) return i;
    return llama_ftypes.back();  // unreachable for a LlamaFtype value
}

/// The file type named s, case-insensitive ("Q4_K_M" or "q4_k_m"); llama-quantize's aliases
/// q3_k, q4_k and q5_k are its _M mixes.
inline std::optional<LlamaFtype> parse_llama_ftype(std::string_view s) {
    std::string lower(s);
    for (char& ch : lower) ch = (ch >= 'A' && ch <= 'Z') ? char(ch - 'A' + 'a') : ch;
    if (lower == "q3_k") return LlamaFtype::q3_k_m;
    if (lower == "q4_k") return LlamaFtype::q4_k_m;
    if (lower == "q5_k") return LlamaFtype::q5_k_m;
    for (const LlamaFtypeInfo& i : llama_ftypes)
        if (i.name == lower) return i.ftype;
    return std::nullopt;
}

/// How llama-quantize is asked: --pure (every quantised tensor the base type, after the
/// row-width fallback) and whether it is given an importance matrix (--imatrix; it changes the
/// choice for Q4_0, Q5_0, IQ4_NL and IQ4_XS).
struct QuantMixOptions {
    bool pure = false;
    bool imatrix = false;
};

/// The model facts the rules read besides the tensor.
struct QuantModel {
    int64_t n_gqa = 0;     ///< n_head / n_head_kv
    bool tied = true;      ///< no output.weight: token_embd.weight is also the output matrix
    int64_t n_expert = 0;  ///< hparams.n_expert (expert_count); 0 or 1: a dense model
};

/// Where a tensor stands in llama-quantize's walk (see the file comment).
struct QuantCounters {
    int64_t i_attn_v = 0, n_attn_v = 0;      ///< i_attention_wv, n_attention_wv
    int64_t i_ffn_down = 0, n_ffn_down = 0;  ///< i_ffn_down, n_ffn_down; for MoE, i_ffn_down is the
                                             ///< tensor's layer (layer_info), not a count
};

/// tensor_get_category, for the names a qwen35 file has.
enum class MixCategory { token_embd, output, attn_qkv, attn_v, attn_k, attn_q, attn_output, ffn_up, ffn_gate, ffn_down, other };

inline MixCategory mix_category(std::string_view name) {
    const auto has = [&](std::string_view part) { return name.find(part) != std::string_view::npos; };
    if (name == "output.weight") return MixCategory::output;
    if (name == "token_embd.weight") return MixCategory::token_embd;
    if (has("attn_qkv.weight")) return MixCategory::attn_qkv;
    if (has("attn_v.weight")) return MixCategory::attn_v;
    if (has("attn_k.weight")) return MixCategory::attn_k;
    if (has("attn_q.weight")) return MixCategory::attn_q;
    if (has("attn_output.weight")) return MixCategory::attn_output;
    if (has("ffn_up")) return MixCategory::ffn_up;
    if (has("ffn_gate")) return MixCategory::ffn_gate;
    if (has("ffn_down")) return MixCategory::ffn_down;
    return MixCategory::other;
}

/// tensor_allows_quantization, for the names a qwen35 / qwen35moe / qwen3next file has: ne in
/// ggml order. 2-D and 3-D (expert) tensors only; never norms, ssm_conv1d or the router.
inline bool llama_quantizes(std::string_view name, std::span<const int64_t> ne) {
    int64_t dims = static_cast<int64_t>(ne.size());  // ggml_n_dims: trailing 1s do not count
    while (dims > 1 && ne[static_cast<size_t>(dims - 1)] == 1) --dims;
    if (dims < 2) return false;
    const bool ends_weight = name.size() >= 6 && name.substr(name.size() - 6) == "weight";
    return ends_weight && name.find("_norm.weight") == std::string_view::npos &&
           name.find("ssm_conv1d") == std::string_view::npos &&
           name.find("ffn_gate_inp.weight") == std::string_view::npos;  // "do not quantize expert gating tensors"
}

/// llama.cpp's use_more_bits: the first and last eighth of n and every third index between.
constexpr bool llama_use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/// llama_tensor_get_type_impl for a tensor of category cat whose rows are ne0 wide (ne2: its
/// third dimension), before the row-width fallback. Each branch names the rule it follows.
inline DType llama_mix_rule(LlamaFtype f, MixCategory cat, int64_t ne0, int64_t ne2, const QuantModel& m,
                            const QuantCounters& c, const QuantMixOptions& o) {
    using T = DType;
    using F = LlamaFtype;
    const DType base = llama_ftype_info(f).base;
    // output.weight, and token_embd.weight when it is also the output (has_tied_embeddings):
    // q8_0 for MXFP4_MOE or a row the base type's block does not divide; q6_k unless the base
    // is q8_0 (the q5_k of the IQ1 / IQ2 / IQ3_XXS file types is not modelled: they need an imatrix).
    if (cat == MixCategory::output || (m.tied && cat == MixCategory::token_embd)) {
        if (f == F::mxfp4_moe || ne0 % mix_block_elems(base) != 0) return T::q8_0;
        return base == T::q8_0 ? T::q8_0 : T::q6_k;
    }
    // MXFP4_MOE: mxfp4 for 3-D (expert) tensors, q8_0 for every other quantised one
    if (f == F::mxfp4_moe) return ne2 > 1 ? T::mxfp4 : T::q8_0;
    // an untied token_embd.weight keeps the base type (only IQ1 / IQ2 / IQ3_XXS / TQ change it)
    if (cat == MixCategory::token_embd) return base;
    const bool gqa4 = m.n_gqa >= 4;
    const bool eight_experts = m.n_expert == 8;  // llama.cpp's Mixtral-8x7B rules
    switch (cat) {
        case MixCategory::attn_qkv:
        case MixCategory::attn_v:  // category_is_attn_v; i_attention_wv is the layer for qwen35
            if (eight_experts) return T::q8_0;  // "bumping this to Q8_0 trades just ~128MB"
            switch (f) {
                case F::q2_k: return gqa4 ? T::q4_k : T::q3_k;
                case F::iq3_s: return gqa4 ? T::q4_k : base;
                case F::iq3_m: return T::q4_k;
                case F::q3_k_m: return c.i_attn_v < 2 ? T::q5_k : T::q4_k;
                case F::q3_k_l: return T::q5_k;
                case F::iq4_nl: case F::iq4_xs: return gqa4 ? T::q5_k : base;
                case F::q4_k_m: case F::q5_k_m: return llama_use_more_bits(c.i_attn_v, c.n_attn_v) ? T::q6_k : base;
                case F::q4_k_s: return c.i_attn_v < 4 ? T::q5_k : base;
                default: return base;
            }
        case MixCategory::attn_k:  // only IQ3_XS / IQ3_XXS (not modelled) and 8 experts change it
            return eight_experts ? T::q8_0 : base;
        case MixCategory::ffn_down: {  // i_ffn_down: the layer (the count, or the name's for MoE); n: block_count
            const int64_t i = c.i_ffn_down, n = c.n_ffn_down;
            switch (f) {
                case F::q2_k: return T::q3_k;
                case F::q3_k_m: return i < n / 16 ? T::q5_k : T::q4_k;  // q3_k between only for Falcon
                case F::iq3_m: return i < n / 8 || (eight_experts && llama_use_more_bits(i, n)) ? T::q4_k : base;
                case F::q3_k_l: return T::q5_k;
                case F::q4_k_m: case F::q5_k_m: return llama_use_more_bits(i, n) ? T::q6_k : base;
                case F::iq4_nl: case F::iq4_xs: return i < n / 8 && !o.imatrix ? T::q5_k : base;
                case F::q4_k_s: return i < n / 8 ? T::q5_k : base;
                case F::q4_0: return o.imatrix && i < n / 8 ? T::q4_1 : base;  // "guard against craziness"
                case F::q5_0: return o.imatrix && i < n / 8 ? T::q5_1 : base;
                default: return base;
            }
        }
        case MixCategory::attn_output:  // the non-Falcon branch
            if (eight_experts) {
                switch (f) {
                    case F::q2_k: case F::q3_k_s: case F::q3_k_m: case F::iq4_nl: case F::q4_k_s: case F::q4_k_m:
                    case F::iq3_s: case F::iq3_m: case F::iq4_xs: return T::q5_k;
                    default: return base;
                }
            }
            switch (f) {
                case F::q2_k: return T::q3_k;
                case F::q3_k_m: case F::iq3_m: return T::q4_k;
                case F::q3_k_l: return T::q5_k;
                default: return base;
            }
        // attn_q, ffn_gate, ffn_up (the expert and shared-expert ones included) change only for
        // IQ3_XS / IQ3_XXS; attn_gate, ssm_alpha, ssm_beta, ssm_ba, ssm_out and nextn.eh_proj have no rule
        default: return base;
    }
}

/// tensor_type_fallback: a type whose block does not divide the row of ne0 is replaced (iq2/iq3
/// /iq4_xs -> iq4_nl, q2_k / q3_k -> q4_0, q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0, then f16 if
/// that block does not divide it either); llama.cpp stops with an error for the other types.
inline DType llama_type_fallback(std::string_view name, int64_t ne0, DType t) {
    using T = DType;
    const int64_t b = mix_block_elems(t);
    GDN_CHECK(b > 0, "quant mix: ", name, ": no block size known for ", mix_type_name(t));
    if (ne0 % b == 0) return t;
    DType r;
    switch (static_cast<uint32_t>(t)) {
        case 21: case 23: r = T::iq4_nl; break;  // iq3_s, iq4_xs
        case 10: case 11: r = T::q4_0; break;    // q2_k, q3_k
        case 12: r = T::q5_0; break;             // q4_k
        case 13: r = T::q5_1; break;             // q5_k
        case 14: r = T::q8_0; break;             // q6_k
        default:
            fail("quant mix: ", name, ": its row of ", ne0, " is not a multiple of the ", mix_type_name(t),
                 " block of ", b, ", and llama.cpp has no fallback type for ", mix_type_name(t));
    }
    return ne0 % mix_block_elems(r) == 0 ? r : T::f16;
}

/// llama_tensor_get_type for a tensor llama-quantize quantises (llama_quantizes): the base type
/// of f; for a quantised base the rule of llama_mix_rule unless pure, then the fallback.
inline DType llama_tensor_type(LlamaFtype f, std::string_view name, std::span<const int64_t> ne, const QuantModel& m,
                               const QuantCounters& c, const QuantMixOptions& o = {}) {
    const DType base = llama_ftype_info(f).base;
    if (mix_block_elems(base) == 1) return base;  // f32 / f16 / bf16: ggml_is_quantized is false, no rules
    const int64_t ne0 = ne.empty() ? 1 : ne[0];
    const int64_t ne2 = ne.size() > 2 ? ne[2] : 1;
    const DType t = o.pure ? base : llama_mix_rule(f, mix_category(name), ne0, ne2, m, c, o);
    return llama_type_fallback(name, ne0, t);
}

/// One tensor of a file as the mix sees it: name, shape (ggml order) and its type now (what a
/// tensor llama-quantize does not quantise keeps).
struct MixTensor {
    std::string_view name;
    std::span<const int64_t> ne;
    DType type;
};

/// The layer of "blk.N.*", -1 for other names (weight_name_comparer's sscanf "blk.%d.").
inline int64_t mix_layer_of(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    int64_t layer = -1;
    const char* end = name.data() + name.size();
    const auto [p, ec] = std::from_chars(name.data() + 4, end, layer);
    return ec == std::errc() ? layer : -1;
}

/// The type of every tensor of a file after `llama-quantize IN OUT <f>`, in ts's order:
/// llama-quantize's walk (sorted by layer, then name) with its counters. block_count is the
/// file's (trunk + MTP blocks); model.n_gqa = n_head / n_head_kv, model.n_expert the file's
/// expert_count (model.tied is found from ts).
inline std::vector<DType> llama_tensor_types(LlamaFtype f, std::span<const MixTensor> ts, int64_t block_count,
                                             QuantModel model, const QuantMixOptions& o = {}) {
    QuantModel m = model;
    m.tied = true;
    const bool moe = m.n_expert > 1;  // layer_info's test
    QuantCounters c;
    c.n_ffn_down = block_count;
    for (const MixTensor& t : ts) {
        const MixCategory cat = mix_category(t.name);
        if (cat == MixCategory::output) m.tied = false;
        if (cat == MixCategory::attn_qkv || cat == MixCategory::attn_v) ++c.n_attn_v;
    }
    std::vector<size_t> order(ts.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int64_t la = mix_layer_of(ts[a].name), lb = mix_layer_of(ts[b].name);
        return la != lb ? la < lb : ts[a].name < ts[b].name;
    });
    std::vector<DType> out(ts.size());
    for (size_t i : order) {
        const MixTensor& t = ts[i];
        if (!llama_quantizes(t.name, t.ne)) {
            out[i] = t.type;
            continue;
        }
        const int64_t counted_ffn_down = c.i_ffn_down;
        if (moe && mix_category(t.name) == MixCategory::ffn_down) {
            // layer_info: the layer in the name, which must be a block of the file
            const int64_t layer = mix_layer_of(t.name);
            GDN_CHECK(layer >= 0 && layer < block_count, "quant mix: ", t.name, ": llama-quantize needs the layer of an ",
                      "MoE model's ffn_down tensor in [0, ", block_count, ")");
            c.i_ffn_down = layer;
        }
        out[i] = llama_tensor_type(f, t.name, t.ne, m, c, o);
        c.i_ffn_down = counted_ffn_down;
        // the counters move inside llama_tensor_get_type_impl's attn_v and ffn_down branches; when
        // that function is not reached (pure, f32 / f16 / bf16, MXFP4_MOE) nothing reads them
        const MixCategory cat = mix_category(t.name);
        if (cat == MixCategory::attn_qkv || cat == MixCategory::attn_v) ++c.i_attn_v;
        if (cat == MixCategory::ffn_down) ++c.i_ffn_down;
    }
    return out;
}

/// The same for a dense model (n_expert = 0).
inline std::vector<DType> llama_tensor_types(LlamaFtype f, std::span<const MixTensor> ts, int64_t block_count,
                                             int64_t n_gqa, const QuantMixOptions& o = {}) {
    return llama_tensor_types(f, ts, block_count, QuantModel{n_gqa, true, 0}, o);
}

/// The most frequent of types (the first on ties); f32 for none.
inline DType mix_common_type(std::span<const DType> types) {
    DType best = DType::f32;
    size_t best_n = 0;
    for (DType t : types) {
        const auto n = static_cast<size_t>(std::count(types.begin(), types.end(), t));
        if (n > best_n) {
            best = t;
            best_n = n;
        }
    }
    return best;
}

/// Where a mix departs from its common type: for names[i] stored as types[i], one line per
/// (kind, type) with type != common, sorted: "token_embd q6_k" for a tensor outside the blocks,
/// "attn_qkv q6_k: 0 1 2" for block tensors (kind: the name less "blk.N." and ".weight"),
/// without the layers when that type covers every block tensor of the kind.
inline std::vector<std::string> mix_exceptions(std::span<const std::string_view> names, std::span<const DType> types,
                                               DType common) {
    GDN_CHECK(names.size() == types.size(), "mix_exceptions: ", names.size(), " names, ", types.size(), " types");
    struct Group {
        std::string kind;
        std::string type;
        std::vector<int64_t> layers;
    };
    std::vector<Group> groups;
    std::vector<std::pair<std::string, int64_t>> kind_count;  // block tensors per kind
    const auto kind_of = [](std::string_view name) {
        if (mix_layer_of(name) >= 0) name.remove_prefix(name.find('.', 4) + 1);
        if (name.size() > 7 && name.substr(name.size() - 7) == ".weight") name.remove_suffix(7);
        return std::string(name);
    };
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string kind = kind_of(names[i]);
        const int64_t layer = mix_layer_of(names[i]);
        if (layer >= 0) {
            auto k = std::find_if(kind_count.begin(), kind_count.end(), [&](const auto& p) { return p.first == kind; });
            if (k == kind_count.end()) kind_count.emplace_back(kind, 1);
            else ++k->second;
        }
        if (types[i] == common) continue;
        const std::string type(mix_type_name(types[i]));
        auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.kind == kind && x.type == type; });
        if (g == groups.end()) {
            groups.push_back({kind, type, {}});
            g = groups.end() - 1;
        }
        if (layer >= 0) g->layers.push_back(layer);
    }
    std::sort(groups.begin(), groups.end(),
              [](const Group& a, const Group& b) { return a.kind != b.kind ? a.kind < b.kind : a.type < b.type; });
    std::vector<std::string> out;
    for (Group& g : groups) {
        std::string line = g.kind + " " + g.type;
        const auto k = std::find_if(kind_count.begin(), kind_count.end(), [&](const auto& p) { return p.first == g.kind; });
        if (!g.layers.empty() && k != kind_count.end() && static_cast<int64_t>(g.layers.size()) < k->second) {
            std::sort(g.layers.begin(), g.layers.end());
            line += ":";
            for (int64_t l : g.layers) {  // appended in two steps: GCC 12's -Wrestrict misfires on " " + s
                line += ' ';
                line += std::to_string(l);
            }
        }
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace gdn::io

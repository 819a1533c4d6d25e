// gdn/io/qwen35.hpp - load llama.cpp's Qwen3.5-family GGUFs into gdn::ModelWeights: `qwen35`
// (Qwen3.5 dense: Gated DeltaNet + gated attention, dense SwiGLU MLP), `qwen35moe` (the same
// mixers, mixture-of-experts MLP) and `qwen3next` (Qwen3-Next: MoE MLP, value heads in grouped
// order, beta/alpha packed per key head). One loader; what differs is data (Qwen35Arch). Views
// into the mapped file, no copy, except qwen3next's packed projections, whose rows are regrouped
// into memory the weights own (ModelWeights::storage).
// Names, keys, shapes and the converter's transforms are written down in docs/GGUF_QWEN35.md.
// Every tensor's presence, type and exact shape is checked against the hparams first; errors
// name the tensor (or key) and the expected vs found value. MTP (nextn) blocks stored after the
// trunk are loaded into ModelWeights::mtp and kept; the trunk alone is what gdn decodes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/io/gguf.hpp"

namespace gdn::io {

/// What one `general.architecture` of the family means for the loader.
struct Qwen35Arch {
    std::string_view name;   ///< general.architecture, also the key prefix
    bool moe;                ///< every layer's MLP is mixture-of-experts (expert_* keys, ffn_*_exps tensors)
    HeadOrder v_head_order;  ///< qwen35 / qwen35moe: the converter reorders value heads to tiled
    bool packed_deltanet;    ///< qwen3next: beta/alpha in ssm_ba, q/k/v/z optionally in legacy ssm_in
};

inline constexpr std::array<Qwen35Arch, 3> qwen35_archs = {{
    {"qwen35", false, HeadOrder::tiled, false},
    {"qwen35moe", true, HeadOrder::tiled, false},
    {"qwen3next", true, HeadOrder::grouped, true},
}};

/// The architecture of `f` (general.architecture); an error for anything outside the family.
inline const Qwen35Arch& qwen35_arch_of(const GgufFile& f) {
    const std::string arch = f.get_string("general.architecture");
    for (const Qwen35Arch& a : qwen35_archs) {
        if (a.name == arch) return a;
    }
    fail("qwen35: general.architecture is '", arch, "', expected 'qwen35', 'qwen35moe' or 'qwen3next'");
}

namespace qwen35_detail {

inline std::string blk(int64_t layer, std::string_view suffix) {
    return "blk." + std::to_string(layer) + "." + std::string(suffix);
}

/// An integer hparam stored as a scalar or as a per-layer array whose items all agree.
inline int64_t uniform_int(const GgufFile& f, const std::string& key) {
    const GgufValue& v = f.value(key);
    if (v.type != GgufType::array) return f.get_int(key);
    const GgufArray& a = v.array;
    GDN_CHECK(a.count > 0 && gguf_type_is_integer(a.elem_type), "qwen35: key '", key,
              "' is an array of ", a.count, " ", gguf_type_name(a.elem_type), ", wanted integers");
    int64_t first = 0;
    for (uint64_t i = 0; i < a.count; ++i) {
        const std::byte* raw = a.raw + i * gguf_scalar_size(a.elem_type);
        int64_t x = 0;
        switch (a.elem_type) {
            case GgufType::u8: x = detail::load_le<uint8_t>(raw); break;
            case GgufType::i8: x = detail::load_le<int8_t>(raw); break;
            case GgufType::u16: x = detail::load_le<uint16_t>(raw); break;
            case GgufType::i16: x = detail::load_le<int16_t>(raw); break;
            case GgufType::u32: x = detail::load_le<uint32_t>(raw); break;
            case GgufType::i32: x = detail::load_le<int32_t>(raw); break;
            case GgufType::i64: x = detail::load_le<int64_t>(raw); break;
            default: x = static_cast<int64_t>(detail::load_le<uint64_t>(raw)); break;  // u64
        }
        if (i == 0) first = x;
        GDN_CHECK(x == first, "qwen35: key '", key, "' differs per layer (item 0 = ", first, ", item ", i,
                  " = ", x, "); gdn needs one value for every layer");
    }
    return first;
}

/// A positive size; the 2^24 cap keeps every product of two or three sizes (2*H*hd, conv_dim)
/// far from int64 overflow while exceeding any real model by orders of magnitude.
inline int64_t positive(const GgufFile& f, const std::string& key) {
    const int64_t v = uniform_int(f, key);
    GDN_CHECK(v > 0 && v <= (int64_t{1} << 24), "qwen35: key '", key, "' = ", v, " is out of range (1 to 2^24)");
    return v;
}

inline std::string shape_str(const TensorView& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

inline std::string shape_str(const std::vector<int64_t>& ne) {
    std::string s = "[";
    for (size_t d = 0; d < ne.size(); ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
    return s + "]";
}

enum class Need { matrix, f32 };

/// The view of `name`, checked for presence, type and exact shape (trailing dims of 1 ignored).
inline TensorView expect(const GgufFile& f, const std::string& name, std::vector<int64_t> ne, Need need,
                         std::string_view role) {
    const TensorView* t = f.find_tensor(name);
    GDN_CHECK(t != nullptr, "qwen35: tensor '", name, "' is missing (", role, ")");
    bool same = true;
    for (int d = 0; d < 4; ++d) {
        const int64_t want = d < static_cast<int>(ne.size()) ? ne[static_cast<size_t>(d)] : 1;
        same = same && t->ne[d] == want;
    }
    GDN_CHECK(same, "qwen35: tensor '", name, "' has shape ", shape_str(*t), ", expected ", shape_str(ne),
              " (", role, ")");
    if (need == Need::f32) {
        GDN_CHECK(t->type == DType::f32, "qwen35: tensor '", name, "' has type ", dtype_name(t->type),
                  ", expected f32 (", role, "; llama.cpp's converter keeps it in f32)");
    }
    return *t;
}

/// Like expect(), but an absent tensor gives an empty view (llama.cpp's TENSOR_NOT_REQUIRED).
inline TensorView expect_optional(const GgufFile& f, const std::string& name, std::vector<int64_t> ne, Need need,
                                  std::string_view role) {
    return f.find_tensor(name) == nullptr ? TensorView{} : expect(f, name, std::move(ne), need, role);
}

/// The layer index of a `blk.N.nextn.*` tensor name, or -1 for any other name.
inline int64_t nextn_block_of(std::string_view name) {
    constexpr std::string_view prefix = "blk.";
    if (name.substr(0, prefix.size()) != prefix) return -1;
    const size_t dot = name.find('.', prefix.size());
    if (dot == std::string_view::npos || dot == prefix.size() || dot - prefix.size() > 9) return -1;
    int64_t layer = 0;
    for (size_t i = prefix.size(); i < dot; ++i) {
        if (name[i] < '0' || name[i] > '9') return -1;
        layer = layer * 10 + (name[i] - '0');
    }
    return name.substr(dot + 1, 6) == "nextn." ? layer : -1;
}

/// Bytes the loader made (regrouped rows of packed tensors) next to the file's mapping.
struct OwnedRows {
    std::shared_ptr<const void> file;       ///< the mapping the other views point into
    std::deque<std::vector<std::byte>> blobs;
};

/// A [cols, rows.size()] view whose row r is row rows[r] of `src`, copied into `keep`. Rows are
/// self-contained byte runs in every GGUF type (whole blocks), so this works for any dtype.
inline TensorView gather_rows(const TensorView& src, const std::vector<int64_t>& rows, std::string name,
                              OwnedRows& keep) {
    const int64_t rb = src.row_bytes();
    std::vector<std::byte>& out = keep.blobs.emplace_back(static_cast<size_t>(rb) * rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
        GDN_CHECK(rows[r] >= 0 && rows[r] < src.rows(), "qwen35: internal row index out of range in '", src.name, "'");
        std::memcpy(out.data() + static_cast<int64_t>(r) * rb, src.row(rows[r]), static_cast<size_t>(rb));
    }
    TensorView v = src;
    v.name = std::move(name);
    v.ne = {src.ne[0], static_cast<int64_t>(rows.size()), 1, 1};
    v.n_dims = 2;
    v.data = out.data();
    return v;
}

}  // namespace qwen35_detail

/// Read and check the hparams of a `qwen35` file (tensors are not looked at, except
/// token_embd.weight for the vocabulary size).
inline ModelConfig read_qwen35_config(const GgufFile& f) {
    using namespace qwen35_detail;
    const Qwen35Arch& arch = qwen35_arch_of(f);
    const std::string p = std::string(arch.name) + ".";

    ModelConfig c;
    const int64_t block_count = positive(f, p + "block_count");
    const int64_t n_nextn = f.find_int(p + "nextn_predict_layers").value_or(0);
    GDN_CHECK(n_nextn >= 0 && n_nextn < block_count, "qwen35: key '", p, "nextn_predict_layers' = ", n_nextn,
              " must be in [0, block_count = ", block_count, ")");
    c.n_layer = block_count - n_nextn;  // MTP blocks sit after the trunk (ModelWeights::mtp)
    c.n_mtp = n_nextn;
    c.n_embd = positive(f, p + "embedding_length");
    if (!arch.moe) {
        c.n_ff = positive(f, p + "feed_forward_length");
    } else {
        // MoE files may carry a dense width (Qwen3-Next's intermediate_size) that no layer uses;
        // llama.cpp falls back to it for the expert widths.
        c.n_ff = f.has(p + "feed_forward_length") ? uniform_int(f, p + "feed_forward_length") : 0;
        GDN_CHECK(c.n_ff >= 0 && c.n_ff <= (int64_t{1} << 24), "qwen35: key '", p, "feed_forward_length' = ", c.n_ff,
                  " is out of range (0 to 2^24)");
        GDN_CHECK(f.has(p + "expert_count"), "qwen35: key '", p, "expert_count' is missing (", arch.name,
                  " is mixture-of-experts)");
        GDN_CHECK(f.has(p + "expert_used_count"), "qwen35: key '", p, "expert_used_count' is missing (", arch.name,
                  " is mixture-of-experts)");
        c.n_expert = uniform_int(f, p + "expert_count");
        c.n_expert_used = uniform_int(f, p + "expert_used_count");
        GDN_CHECK(c.n_expert >= 1 && c.n_expert <= k_max_experts, "qwen35: key '", p, "expert_count' = ",
                  c.n_expert, " is out of range (1 to ", k_max_experts, ")");
        GDN_CHECK(c.n_expert_used >= 1 && c.n_expert_used <= c.n_expert, "qwen35: key '", p,
                  "expert_used_count' = ", c.n_expert_used, " must be in [1, ", p, "expert_count = ", c.n_expert,
                  "]");
        GDN_CHECK(c.n_expert_used <= k_max_experts_used, "qwen35: key '", p, "expert_used_count' = ",
                  c.n_expert_used, " exceeds gdn's limit of ", k_max_experts_used, " experts per token");
        // llama.cpp: n_ff_exp = expert_feed_forward_length, else n_ff / n_expert_used; the shared
        // expert's width = expert_shared_feed_forward_length, else n_ff (0 counts as absent in both)
        const int64_t ff_exp = f.has(p + "expert_feed_forward_length")
                                   ? uniform_int(f, p + "expert_feed_forward_length") : 0;
        GDN_CHECK(ff_exp >= 0 && ff_exp <= (int64_t{1} << 24), "qwen35: key '", p,
                  "expert_feed_forward_length' = ", ff_exp, " is out of range (0 to 2^24)");
        c.n_ff_exp = ff_exp > 0 ? ff_exp : c.n_ff / c.n_expert_used;
        GDN_CHECK(c.n_ff_exp > 0, "qwen35: key '", p, "expert_feed_forward_length' is ",
                  f.has(p + "expert_feed_forward_length") ? "0" : "missing", " and ", p, "feed_forward_length (",
                  c.n_ff, ") / expert_used_count (", c.n_expert_used, ") gives no expert width");
        const int64_t ff_sh = f.has(p + "expert_shared_feed_forward_length")
                                  ? uniform_int(f, p + "expert_shared_feed_forward_length") : 0;
        GDN_CHECK(ff_sh >= 0 && ff_sh <= (int64_t{1} << 24), "qwen35: key '", p,
                  "expert_shared_feed_forward_length' = ", ff_sh, " is out of range (0 to 2^24)");
        c.n_ff_shexp = ff_sh > 0 ? ff_sh : c.n_ff;
        GDN_CHECK(c.n_ff_shexp > 0, "qwen35: keys '", p, "expert_shared_feed_forward_length' and '", p,
                  "feed_forward_length' are both missing or 0: no width for the shared expert, which ", arch.name,
                  " requires");
    }
    c.full_attention_interval = f.has(p + "full_attention_interval") ? positive(f, p + "full_attention_interval") : 4;

    c.ssm_conv_kernel = positive(f, p + "ssm.conv_kernel");
    c.ssm_d_k = positive(f, p + "ssm.state_size");
    c.ssm_n_k_heads = positive(f, p + "ssm.group_count");
    c.ssm_n_v_heads = positive(f, p + "ssm.time_step_rank");
    const int64_t inner = positive(f, p + "ssm.inner_size");
    GDN_CHECK(inner % c.ssm_n_v_heads == 0, "qwen35: key '", p, "ssm.inner_size' = ", inner,
              " is not a multiple of ssm.time_step_rank = ", c.ssm_n_v_heads);
    c.ssm_d_v = inner / c.ssm_n_v_heads;
    c.v_head_order = arch.v_head_order;  // qwen35 / qwen35moe: llama.cpp's converter reorders the value heads

    c.n_head = positive(f, p + "attention.head_count");
    c.n_head_kv = positive(f, p + "attention.head_count_kv");
    c.head_dim = f.has(p + "attention.key_length") ? positive(f, p + "attention.key_length") : c.n_embd / c.n_head;
    if (f.has(p + "attention.value_length")) {
        const int64_t vl = positive(f, p + "attention.value_length");
        GDN_CHECK(vl == c.head_dim, "qwen35: key '", p, "attention.value_length' = ", vl,
                  " differs from attention.key_length = ", c.head_dim);
    }
    c.n_rot = f.has(p + "rope.dimension_count") ? positive(f, p + "rope.dimension_count") : c.head_dim;
    c.rope_theta = static_cast<float>(f.find_float(p + "rope.freq_base").value_or(10000.0));
    c.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon"));

    if (f.has(p + "attention.recurrent_layers")) {
        // Some writers list the DeltaNet layers explicitly; gdn schedules by the interval only.
        const GgufArray& a = f.get_array_value(p + "attention.recurrent_layers");
        GDN_CHECK(a.count >= static_cast<uint64_t>(c.n_layer) &&
                      (a.elem_type == GgufType::boolean || gguf_type_is_integer(a.elem_type)),
                  "qwen35: key '", p, "attention.recurrent_layers' must list at least ", c.n_layer,
                  " bools or integers");
        const size_t sz = gguf_scalar_size(a.elem_type);
        for (int64_t i = 0; i < c.n_layer; ++i) {
            bool recurrent = false;
            for (size_t b = 0; b < sz; ++b) recurrent = recurrent || a.raw[static_cast<size_t>(i) * sz + b] != std::byte{0};
            GDN_CHECK(recurrent == !c.is_attention(i), "qwen35: key '", p, "attention.recurrent_layers' says layer ",
                      i, " is ", recurrent ? "DeltaNet" : "attention", ", but full_attention_interval = ",
                      c.full_attention_interval, " makes it ", recurrent ? "attention" : "DeltaNet");
        }
        // llama.cpp lists every block; the MTP blocks after the trunk are full attention
        const int64_t listed = std::min(static_cast<int64_t>(a.count), c.n_layer + c.n_mtp);
        for (int64_t i = c.n_layer; i < listed; ++i) {
            bool recurrent = false;
            for (size_t b = 0; b < sz; ++b) recurrent = recurrent || a.raw[static_cast<size_t>(i) * sz + b] != std::byte{0};
            GDN_CHECK(!recurrent, "qwen35: key '", p, "attention.recurrent_layers' says block ", i, " (MTP block ",
                      i - c.n_layer, ") is DeltaNet; MTP blocks are full attention");
        }
    }

    const TensorView* embd = f.find_tensor("token_embd.weight");
    GDN_CHECK(embd != nullptr, "qwen35: tensor 'token_embd.weight' is missing (token embedding)");
    c.n_vocab = embd->ne[1];
    if (const auto vs = f.find_int(p + "vocab_size")) {
        GDN_CHECK(*vs == c.n_vocab, "qwen35: key '", p, "vocab_size' = ", *vs,
                  " but token_embd.weight has ", c.n_vocab, " rows");
    }
    c.tied_embeddings = f.find_tensor("output.weight") == nullptr;

    try {
        c.validate();
    } catch (const Error& e) {
        fail("qwen35: ", e.what());
    }
    return c;
}

/// Every tensor of a `qwen35` file as views into `f`'s bytes; weights.storage keeps them alive
/// (it is null when `f` was made with GgufFile::view_bytes: then the caller keeps the bytes).
inline ModelWeights load_qwen35(const GgufFile& f) {
    using namespace qwen35_detail;
    const Qwen35Arch& arch = qwen35_arch_of(f);
    ModelWeights w;
    w.config = read_qwen35_config(f);
    const ModelConfig& c = w.config;
    const int64_t E = c.n_embd;
    std::shared_ptr<OwnedRows> owned;  // made on first use: dense files stay pure views
    const auto keep = [&]() -> OwnedRows& {
        if (!owned) {
            owned = std::make_shared<OwnedRows>();
            owned->file = f.storage();
        }
        return *owned;
    };

    w.tok_embd = expect(f, "token_embd.weight", {E, c.n_vocab}, Need::matrix, "token embedding");
    w.output_norm = expect(f, "output_norm.weight", {E}, Need::f32, "final norm");
    w.output = c.tied_embeddings ? w.tok_embd
                                 : expect(f, "output.weight", {E, c.n_vocab}, Need::matrix, "LM head");

    const int64_t key_dim = c.ssm_n_k_heads * c.ssm_d_k;
    const int64_t value_dim = c.ssm_n_v_heads * c.ssm_d_v;
    const int64_t conv_dim = c.ssm_conv_dim();
    const int64_t Hv = c.ssm_n_v_heads;
    const int64_t hd = c.head_dim;
    GDN_CHECK(conv_dim == 2 * key_dim + value_dim, "qwen35: internal conv_dim mismatch");

    // qwen3next's DeltaNet projections (llama.cpp's build_qkvz / build_layer_attn_linear views):
    // beta/alpha always packed per key head as ssm_ba [E, 2*Hv] = Hk x [b (r) | a (r)]; q/k/v/z either
    // flat (attn_qkv + attn_gate, today's converter) or legacy ssm_in [E, 2*key_dim + 2*value_dim] =
    // Hk x [q (dk) | k (dk) | v (r*dv) | z (r*dv)]. Value heads come out grouped (head kh*r + j) either way.
    const auto load_packed_deltanet = [&](DeltaNetWeights& D, int64_t i, const std::string& role) {
        const int64_t Hk = c.ssm_n_k_heads, r = Hv / Hk, dk = c.ssm_d_k, dv = c.ssm_d_v;
        const bool has_qkv = f.find_tensor(blk(i, "attn_qkv.weight")) != nullptr;
        const bool has_gate = f.find_tensor(blk(i, "attn_gate.weight")) != nullptr;
        if (has_qkv || has_gate) {  // llama.cpp prefers these over ssm_in when present
            D.qkv = expect(f, blk(i, "attn_qkv.weight"), {E, conv_dim}, Need::matrix, role);
            D.z = expect(f, blk(i, "attn_gate.weight"), {E, value_dim}, Need::matrix, role);
        } else {
            GDN_CHECK(f.find_tensor(blk(i, "ssm_in.weight")) != nullptr, "qwen35: tensors '", blk(i, "attn_qkv.weight"),
                      "' + '", blk(i, "attn_gate.weight"), "' and the legacy packed '", blk(i, "ssm_in.weight"),
                      "' are all missing (", role, "): qwen3next needs one of the two forms");
            const TensorView in = expect(f, blk(i, "ssm_in.weight"), {E, 2 * key_dim + 2 * value_dim}, Need::matrix, role);
            const int64_t per_head = 2 * dk + 2 * r * dv;
            std::vector<int64_t> qkv_rows, z_rows;
            qkv_rows.reserve(static_cast<size_t>(conv_dim));
            for (int64_t part = 0; part < 2; ++part) {  // q of every key head, then k
                for (int64_t kh = 0; kh < Hk; ++kh) {
                    for (int64_t x = 0; x < dk; ++x) qkv_rows.push_back(kh * per_head + part * dk + x);
                }
            }
            for (int64_t kh = 0; kh < Hk; ++kh) {
                for (int64_t x = 0; x < r * dv; ++x) {
                    qkv_rows.push_back(kh * per_head + 2 * dk + x);
                    z_rows.push_back(kh * per_head + 2 * dk + r * dv + x);
                }
            }
            D.qkv = gather_rows(in, qkv_rows, in.name + "[qkv]", keep());
            D.z = gather_rows(in, z_rows, in.name + "[z]", keep());
        }
        const TensorView ba = expect(f, blk(i, "ssm_ba.weight"), {E, 2 * Hv}, Need::matrix, role);
        std::vector<int64_t> b_rows, a_rows;
        for (int64_t kh = 0; kh < Hk; ++kh) {
            for (int64_t j = 0; j < r; ++j) {
                b_rows.push_back(kh * 2 * r + j);
                a_rows.push_back(kh * 2 * r + r + j);
            }
        }
        D.beta = gather_rows(ba, b_rows, ba.name + "[beta]", keep());
        D.alpha = gather_rows(ba, a_rows, ba.name + "[alpha]", keep());
    };

    // A mixture-of-experts MLP (llama.cpp's qwen35moe / qwen3next load_block_trunk): router, routed
    // experts (gate and up apart, or fused ffn_gate_up_exps), and the shared expert with its gate,
    // all required.
    const auto load_moe = [&](MoeWeights& M, int64_t i, const std::string& role) {
        const int64_t n_exp = c.n_expert, F = c.n_ff_exp, S = c.n_ff_shexp;
        M.router = expect(f, blk(i, "ffn_gate_inp.weight"), {E, n_exp}, Need::f32, role + ", MoE router");
        if (f.find_tensor(blk(i, "ffn_gate_up_exps.weight")) != nullptr) {
            M.gate_up_fused = true;
            M.gate_exps = expect(f, blk(i, "ffn_gate_up_exps.weight"), {E, 2 * F, n_exp}, Need::matrix,
                                 role + ", experts' fused gate + up");
        } else {
            M.gate_exps = expect(f, blk(i, "ffn_gate_exps.weight"), {E, F, n_exp}, Need::matrix, role + ", experts' gate");
            M.up_exps = expect(f, blk(i, "ffn_up_exps.weight"), {E, F, n_exp}, Need::matrix, role + ", experts' up");
        }
        M.down_exps = expect(f, blk(i, "ffn_down_exps.weight"), {F, E, n_exp}, Need::matrix, role + ", experts' down");
        M.shexp_gate = expect(f, blk(i, "ffn_gate_inp_shexp.weight"), {E}, Need::f32, role + ", shared expert's gate");
        M.shexp.gate = expect(f, blk(i, "ffn_gate_shexp.weight"), {E, S}, Need::matrix, role + ", shared expert");
        M.shexp.up = expect(f, blk(i, "ffn_up_shexp.weight"), {E, S}, Need::matrix, role + ", shared expert");
        M.shexp.down = expect(f, blk(i, "ffn_down_shexp.weight"), {S, E}, Need::matrix, role + ", shared expert");
    };

    // A layer's tensors under blk.{i}: the mixer of its kind, its two norms and its MLP.
    const auto load_layer = [&](LayerWeights& L, int64_t i, bool attention, const std::string& role) {
        L.is_attention = attention;
        L.attn_norm = expect(f, blk(i, "attn_norm.weight"), {E}, Need::f32, role);
        L.post_attn_norm = expect(f, blk(i, "post_attention_norm.weight"), {E}, Need::f32, role);
        if (L.is_attention) {
            AttnWeights& A = L.attn;
            A.q = expect(f, blk(i, "attn_q.weight"), {E, 2 * c.n_head * hd}, Need::matrix, role);
            A.k = expect(f, blk(i, "attn_k.weight"), {E, c.n_head_kv * hd}, Need::matrix, role);
            A.v = expect(f, blk(i, "attn_v.weight"), {E, c.n_head_kv * hd}, Need::matrix, role);
            A.q_norm = expect(f, blk(i, "attn_q_norm.weight"), {hd}, Need::f32, role);
            A.k_norm = expect(f, blk(i, "attn_k_norm.weight"), {hd}, Need::f32, role);
            A.out = expect(f, blk(i, "attn_output.weight"), {c.n_head * hd, E}, Need::matrix, role);
        } else {
            DeltaNetWeights& D = L.deltanet;
            if (!arch.packed_deltanet) {
                D.qkv = expect(f, blk(i, "attn_qkv.weight"), {E, conv_dim}, Need::matrix, role);
                D.z = expect(f, blk(i, "attn_gate.weight"), {E, value_dim}, Need::matrix, role);
                D.beta = expect(f, blk(i, "ssm_beta.weight"), {E, Hv}, Need::matrix, role);
                D.alpha = expect(f, blk(i, "ssm_alpha.weight"), {E, Hv}, Need::matrix, role);
            } else {
                load_packed_deltanet(D, i, role);
            }
            D.conv = expect(f, blk(i, "ssm_conv1d.weight"), {c.ssm_conv_kernel, conv_dim}, Need::f32, role);
            D.dt_bias = expect(f, blk(i, "ssm_dt.bias"), {Hv}, Need::f32, role);
            D.ssm_a = expect(f, blk(i, "ssm_a"), {Hv}, Need::f32, role);
            D.ssm_norm = expect(f, blk(i, "ssm_norm.weight"), {c.ssm_d_v}, Need::f32, role);
            D.out = expect(f, blk(i, "ssm_out.weight"), {value_dim, E}, Need::matrix, role);
        }
        if (!arch.moe) {
            L.mlp.gate = expect(f, blk(i, "ffn_gate.weight"), {E, c.n_ff}, Need::matrix, role);
            L.mlp.up = expect(f, blk(i, "ffn_up.weight"), {E, c.n_ff}, Need::matrix, role);
            L.mlp.down = expect(f, blk(i, "ffn_down.weight"), {c.n_ff, E}, Need::matrix, role);
        } else {
            load_moe(L.moe, i, role);
        }
    };

    // Every nextn tensor must sit in one of the MTP blocks the hparams declare: one elsewhere
    // means block_count / nextn_predict_layers do not describe the file (llama.cpp rejects such
    // a file too, as a missing trunk tensor or a tensor it did not load).
    const std::string p = std::string(arch.name) + ".";
    for (const GgufTensorInfo& t : f.tensor_infos()) {
        const int64_t b = nextn_block_of(t.view.name);
        if (b < 0 || (b >= c.n_layer && b < c.n_layer + c.n_mtp)) continue;
        if (b < c.n_layer) {
            fail("qwen35: tensor '", t.view.name, "' is an MTP (nextn) tensor, but blk.", b, " is trunk layer ", b,
                 " (n_layer = ", p, "block_count ", c.n_layer + c.n_mtp, " - ", p, "nextn_predict_layers ", c.n_mtp,
                 f.has(p + "nextn_predict_layers") ? "" : " (key absent)", " = ", c.n_layer,
                 "); MTP blocks are the last nextn_predict_layers blocks");
        }
        if (c.n_mtp == 0) {
            fail("qwen35: tensor '", t.view.name, "' is an MTP (nextn) tensor, but ", p, "nextn_predict_layers is ",
                 f.has(p + "nextn_predict_layers") ? "0" : "absent", ": the file declares no MTP blocks");
        }
        fail("qwen35: tensor '", t.view.name, "' is an MTP (nextn) tensor outside the ", c.n_mtp, " MTP block",
             c.n_mtp == 1 ? "" : "s", " declared by ", p, "nextn_predict_layers (blk.", c.n_layer,
             c.n_mtp == 1 ? "" : " to blk." + std::to_string(c.n_layer + c.n_mtp - 1), ", with ", p,
             "block_count = ", c.n_layer + c.n_mtp, ")");
    }
    if (c.n_mtp > 0 && f.find_tensor(blk(0, "attn_norm.weight")) == nullptr) {
        fail("qwen35: tensor '", blk(0, "attn_norm.weight"), "' is missing (layer 0): with ", p,
             "nextn_predict_layers = ", c.n_mtp, " this looks like an MTP-only file (the converter's mtp_only "
             "output: embeddings, final norm, head and MTP blocks without the trunk); gdn needs the trunk");
    }

    // grown layer by layer: a block_count the tensors cannot back fails at its first missing tensor
    w.layers.reserve(static_cast<size_t>(std::min<int64_t>(c.n_layer, static_cast<int64_t>(f.n_tensors()))));
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const bool attention = c.is_attention(i);
        load_layer(w.layers.emplace_back(), i, attention,
                   "layer " + std::to_string(i) + (attention ? ", full attention" : ", DeltaNet"));
    }

    // MTP blocks: as llama.cpp's qwen35 loader, a full-attention layer with its MLP plus eh_proj,
    // enorm and hnorm are required in every block; embed_tokens, shared_head_head and
    // shared_head_norm are optional (an absent one means the trunk's tensor is used).
    w.mtp.reserve(static_cast<size_t>(std::min<int64_t>(c.n_mtp, static_cast<int64_t>(f.n_tensors()))));
    for (int64_t j = 0; j < c.n_mtp; ++j) {
        const int64_t i = c.n_layer + j;
        const std::string role = "MTP block " + std::to_string(j);
        MtpWeights& M = w.mtp.emplace_back();
        load_layer(M.layer, i, true, role);
        M.eh_proj = expect(f, blk(i, "nextn.eh_proj.weight"), {2 * E, E}, Need::matrix, role);
        M.enorm = expect(f, blk(i, "nextn.enorm.weight"), {E}, Need::f32, role);
        M.hnorm = expect(f, blk(i, "nextn.hnorm.weight"), {E}, Need::f32, role);
        M.shared_head_norm = expect_optional(f, blk(i, "nextn.shared_head_norm.weight"), {E}, Need::f32, role);
        M.shared_head_head =
            expect_optional(f, blk(i, "nextn.shared_head_head.weight"), {E, c.n_vocab}, Need::matrix, role);
        M.embed_tokens = expect_optional(f, blk(i, "nextn.embed_tokens.weight"), {E, c.n_vocab}, Need::matrix, role);
    }
    if (owned) {
        w.storage = owned;  // keeps the mapping and the regrouped rows alive
    } else {
        w.storage = f.storage();
    }
    return w;
}

/// Map `path` and load it; the returned weights keep the mapping alive.
inline ModelWeights load_qwen35(const std::string& path) {
    const GgufFile f = GgufFile::open(path);
    try {
        return load_qwen35(f);
    } catch (const Error& e) {
        fail(e.what(), " [file '", path, "']");
    }
}

}  // namespace gdn::io

// gdn/io/qwen35.hpp - load llama.cpp's `qwen35` GGUF (Qwen3.5 dense: Gated DeltaNet + gated
// attention, dense SwiGLU MLP) into gdn::ModelWeights: views into the mapped file, no copy.
// Names, keys, shapes and the converter's transforms are written down in docs/GGUF_QWEN35.md.
// Every tensor's presence, type and exact shape is checked against the hparams first; errors
// name the tensor (or key) and the expected vs found value. MTP (nextn) blocks stored after the
// trunk are loaded into ModelWeights::mtp and kept; the trunk alone is what gdn decodes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
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

}  // namespace qwen35_detail

/// Read and check the hparams of a `qwen35` file (tensors are not looked at, except
/// token_embd.weight for the vocabulary size).
inline ModelConfig read_qwen35_config(const GgufFile& f) {
    using namespace qwen35_detail;
    const std::string arch = f.get_string("general.architecture");
    if (arch == "qwen3next") {
        fail("qwen35: general.architecture 'qwen3next' is not supported: llama.cpp's qwen3next files have a "
             "mixture-of-experts MLP, fused beta/alpha per key head (ssm_ba) and value heads in grouped order; "
             "gdn loads dense 'qwen35' files only");
    }
    if (arch == "qwen35moe") {
        fail("qwen35: general.architecture 'qwen35moe' is not supported: its MLP is mixture-of-experts; gdn "
             "loads dense 'qwen35' files only");
    }
    GDN_CHECK(arch == "qwen35", "qwen35: general.architecture is '", arch, "', expected 'qwen35'");
    const std::string p = arch + ".";

    ModelConfig c;
    const int64_t block_count = positive(f, p + "block_count");
    const int64_t n_nextn = f.find_int(p + "nextn_predict_layers").value_or(0);
    GDN_CHECK(n_nextn >= 0 && n_nextn < block_count, "qwen35: key '", p, "nextn_predict_layers' = ", n_nextn,
              " must be in [0, block_count = ", block_count, ")");
    c.n_layer = block_count - n_nextn;  // MTP blocks sit after the trunk; gdn keeps them, does not run them
    c.n_mtp = n_nextn;
    c.n_embd = positive(f, p + "embedding_length");
    c.n_ff = positive(f, p + "feed_forward_length");
    c.full_attention_interval = f.has(p + "full_attention_interval") ? positive(f, p + "full_attention_interval") : 4;

    c.ssm_conv_kernel = positive(f, p + "ssm.conv_kernel");
    c.ssm_d_k = positive(f, p + "ssm.state_size");
    c.ssm_n_k_heads = positive(f, p + "ssm.group_count");
    c.ssm_n_v_heads = positive(f, p + "ssm.time_step_rank");
    const int64_t inner = positive(f, p + "ssm.inner_size");
    GDN_CHECK(inner % c.ssm_n_v_heads == 0, "qwen35: key '", p, "ssm.inner_size' = ", inner,
              " is not a multiple of ssm.time_step_rank = ", c.ssm_n_v_heads);
    c.ssm_d_v = inner / c.ssm_n_v_heads;
    c.v_head_order = HeadOrder::tiled;  // llama.cpp's converter reorders the value heads

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
    ModelWeights w;
    w.config = read_qwen35_config(f);
    const ModelConfig& c = w.config;
    const int64_t E = c.n_embd;

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
            D.qkv = expect(f, blk(i, "attn_qkv.weight"), {E, conv_dim}, Need::matrix, role);
            D.z = expect(f, blk(i, "attn_gate.weight"), {E, value_dim}, Need::matrix, role);
            D.beta = expect(f, blk(i, "ssm_beta.weight"), {E, Hv}, Need::matrix, role);
            D.alpha = expect(f, blk(i, "ssm_alpha.weight"), {E, Hv}, Need::matrix, role);
            D.conv = expect(f, blk(i, "ssm_conv1d.weight"), {c.ssm_conv_kernel, conv_dim}, Need::f32, role);
            D.dt_bias = expect(f, blk(i, "ssm_dt.bias"), {Hv}, Need::f32, role);
            D.ssm_a = expect(f, blk(i, "ssm_a"), {Hv}, Need::f32, role);
            D.ssm_norm = expect(f, blk(i, "ssm_norm.weight"), {c.ssm_d_v}, Need::f32, role);
            D.out = expect(f, blk(i, "ssm_out.weight"), {value_dim, E}, Need::matrix, role);
        }
        L.mlp.gate = expect(f, blk(i, "ffn_gate.weight"), {E, c.n_ff}, Need::matrix, role);
        L.mlp.up = expect(f, blk(i, "ffn_up.weight"), {E, c.n_ff}, Need::matrix, role);
        L.mlp.down = expect(f, blk(i, "ffn_down.weight"), {c.n_ff, E}, Need::matrix, role);
    };

    // Every nextn tensor must sit in one of the MTP blocks the hparams declare: one elsewhere
    // means block_count / nextn_predict_layers do not describe the file (llama.cpp rejects such
    // a file too, as a missing trunk tensor or a tensor it did not load).
    const std::string p = "qwen35.";
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
    w.storage = f.storage();
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

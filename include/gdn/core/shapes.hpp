// gdn/core/shapes.hpp - the public Qwen3.5 dense and MoE configurations as data (docs/MODEL.md,
// "Configurations"), for benchmarks and tools that need a real shape without a file.
// Every entry is the text model as llama.cpp's GGUF describes it: value heads in tiled order
// (HeadOrder::tiled), dk = dv = 128, conv kernel 4, head_dim 256, 64 rotated dims,
// rope_theta 1e7, rms_eps 1e-6, attention every 4th layer, vocabulary 248320.
#pragma once

#include <array>
#include <initializer_list>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"

namespace gdn {

struct NamedShape {
    const char* name;  ///< "0.8B", "2B", "4B", "9B", "27B", "35B-A3B", "80B-A3B"
    ModelConfig config;
    const char* arch = "qwen35";  ///< general.architecture of its GGUF: qwen35, qwen35moe, qwen3next
};

/// `c` with a mixture-of-experts MLP in every layer: `experts` routed experts of width ff_exp,
/// top-`used`, a shared expert of width ff_shexp (0: none); n_ff is kept (a qwen3next file's
/// unused feed_forward_length) unless `dense_ff` is false, which sets it to 0.
constexpr ModelConfig with_experts(ModelConfig c, int64_t experts, int64_t used, int64_t ff_exp, int64_t ff_shexp,
                                   bool dense_ff = false) {
    if (!dense_ff) c.n_ff = 0;
    c.n_expert = experts;
    c.n_expert_used = used;
    c.n_ff_exp = ff_exp;
    c.n_ff_shexp = ff_shexp;
    return c;
}

namespace shapes_detail {

/// A Qwen3.5 dense text model; the arguments are the numbers that differ between sizes.
constexpr ModelConfig qwen35(int64_t embd, int64_t layers, int64_t hv, int64_t heads, int64_t heads_kv, int64_t ff,
                             bool tied) {
    ModelConfig c;
    c.n_vocab = 248320;
    c.n_embd = embd;
    c.n_layer = layers;
    c.n_ff = ff;
    c.full_attention_interval = 4;
    c.ssm_n_k_heads = 16;
    c.ssm_n_v_heads = hv;
    c.ssm_d_k = 128;
    c.ssm_d_v = 128;
    c.ssm_conv_kernel = 4;
    c.v_head_order = HeadOrder::tiled;
    c.n_head = heads;
    c.n_head_kv = heads_kv;
    c.head_dim = 256;
    c.n_rot = 64;
    c.rope_theta = 1e7f;
    c.rms_eps = 1e-6f;
    c.tied_embeddings = tied;
    return c;
}

//                                                  hidden layers Hv   H  Hkv  MLP inter  tied
inline constexpr std::array<NamedShape, 5> k_qwen35{{
    {"0.8B", qwen35(1024, 24, 16, 8, 2, 3584, true)},
    {"2B", qwen35(2048, 24, 16, 8, 2, 6144, true)},
    {"4B", qwen35(2560, 32, 32, 16, 4, 9216, true)},
    {"9B", qwen35(4096, 32, 32, 16, 4, 12288, false)},
    {"27B", qwen35(5120, 64, 48, 24, 4, 17408, false)},
}};


/// Qwen3-Next: Qwen3's vocabulary, value heads in HF's grouped order (its converter does not
/// reorder them, docs/GGUF_QWEN35.md).
constexpr ModelConfig qwen3next(ModelConfig c) {
    c.n_vocab = 151936;
    c.v_head_order = HeadOrder::grouped;
    return c;
}

// HF's Qwen3_5MoeTextConfig and Qwen3NextConfig defaults, which are these two models' configs.
//                                                          hidden layers Hv  H Hkv ff tied   experts top-k ff_exp ff_shexp
inline constexpr std::array<NamedShape, 2> k_moe{{
    {"35B-A3B", with_experts(qwen35(2048, 40, 32, 16, 2, 0, false), 256, 8, 512, 512), "qwen35moe"},
    {"80B-A3B", qwen3next(with_experts(qwen35(2048, 48, 32, 16, 2, 0, false), 512, 10, 512, 512)), "qwen3next"},
}};

/// "0.8b" matches "0.8B": names compare without case.
constexpr bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? char(ch - 'A' + 'a') : ch; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace shapes_detail

/// Qwen3.5-0.8B, 2B, 4B, 9B, 27B (dense), smallest first.
inline std::span<const NamedShape> qwen35_shapes() { return shapes_detail::k_qwen35; }
/// Qwen3.5-35B-A3B (qwen35moe) and Qwen3-Next-80B-A3B (qwen3next).
inline std::span<const NamedShape> moe_shapes() { return shapes_detail::k_moe; }

/// The shape named `name` among the dense and MoE ones (case-insensitive: "0.8B" or "0.8b");
/// gdn::Error listing the known names otherwise.
inline const NamedShape& named_shape(std::string_view name) {
    std::string known;
    for (std::span<const NamedShape> list : {qwen35_shapes(), moe_shapes()}) {
        for (const NamedShape& s : list) {
            if (shapes_detail::same_name(name, s.name)) return s;
            known += known.empty() ? s.name : std::string(", ") + s.name;
        }
    }
    fail("unknown model shape '", name, "' (known: ", known, ")");
}

/// The configuration of named_shape(name).
inline const ModelConfig& qwen35_shape(std::string_view name) { return named_shape(name).config; }

}  // namespace gdn

// gdn/core/config.hpp - the runtime shape of a Qwen3.5-family model (see docs/MODEL.md).
#pragma once

#include <cstdint>

#include "gdn/core/error.hpp"

namespace gdn {

/// How DeltaNet value head h finds its key head when Hv = r * Hk.
enum class HeadOrder : uint8_t {
    grouped,  ///< Hugging Face: kh = h / r (each key head repeated r times in a row)
    tiled,    ///< llama.cpp GGUF: kh = h % Hk (the converter reorders the value heads)
};

constexpr int64_t key_head_of(HeadOrder order, int64_t h, int64_t n_k_heads, int64_t n_v_heads) {
    return order == HeadOrder::grouped ? h / (n_v_heads / n_k_heads) : h % n_k_heads;
}

/// Limits of the MoE kernels (router top-k in shared memory): every public Qwen MoE model fits
/// (Qwen3-Next: 512 experts, top-10).
inline constexpr int64_t k_max_experts = 1024;
inline constexpr int64_t k_max_experts_used = 32;

struct ModelConfig {
    int64_t n_vocab = 0;
    int64_t n_embd = 0;   ///< hidden size
    int64_t n_layer = 0;  ///< trunk layers, the ones a decode step runs
    int64_t n_mtp = 0;    ///< MTP (NextN) blocks stored after the trunk (blk.{n_layer + j}); ref::SpeculativeDecoder drafts with block 0
    int64_t n_ff = 0;     ///< dense MLP intermediate size (MoE files may carry it unused)
    int64_t full_attention_interval = 4;  ///< layer i is attention iff (i+1) % interval == 0

    // Gated DeltaNet
    int64_t ssm_n_k_heads = 0;  ///< Hk
    int64_t ssm_n_v_heads = 0;  ///< Hv (multiple of Hk)
    int64_t ssm_d_k = 128;
    int64_t ssm_d_v = 128;
    int64_t ssm_conv_kernel = 4;
    HeadOrder v_head_order = HeadOrder::tiled;

    // Gated attention
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 256;
    int64_t n_rot = 64;          ///< rotated dims per head (head_dim * partial_rotary_factor)
    float rope_theta = 1e7f;

    // Mixture-of-experts MLP (qwen35moe, qwen3next); n_expert == 0: every layer's MLP is dense.
    // Per token: p = softmax(router x), the n_expert_used largest p chosen, their weights p / sum
    // of the chosen p (both llama.cpp's graphs and HF's default renormalise), plus the shared
    // expert scaled by sigmoid(shexp_gate . x).
    int64_t n_expert = 0;       ///< routed experts per layer
    int64_t n_expert_used = 0;  ///< top-k
    int64_t n_ff_exp = 0;       ///< routed expert FFN width
    int64_t n_ff_shexp = 0;     ///< shared expert FFN width; 0: no shared expert

    float rms_eps = 1e-6f;
    bool tied_embeddings = true;

    [[nodiscard]] constexpr bool is_moe() const { return n_expert > 0; }

    [[nodiscard]] constexpr bool is_attention(int64_t layer) const {
        return (layer + 1) % full_attention_interval == 0;
    }
    [[nodiscard]] constexpr int64_t ssm_conv_dim() const {
        return 2 * ssm_n_k_heads * ssm_d_k + ssm_n_v_heads * ssm_d_v;
    }
    [[nodiscard]] constexpr int64_t key_head(int64_t h) const {
        return key_head_of(v_head_order, h, ssm_n_k_heads, ssm_n_v_heads);
    }

    /// Throws gdn::Error naming the first inconsistent field.
    void validate() const {
        auto pos = [](int64_t v, const char* name) {
            GDN_CHECK(v > 0, "model config: ", name, " must be positive, got ", v);
        };
        pos(n_vocab, "n_vocab"); pos(n_embd, "n_embd"); pos(n_layer, "n_layer");
        GDN_CHECK(n_mtp >= 0, "model config: n_mtp must not be negative, got ", n_mtp);
        if (!is_moe()) pos(n_ff, "n_ff");
        pos(full_attention_interval, "full_attention_interval");
        pos(ssm_n_k_heads, "ssm_n_k_heads"); pos(ssm_n_v_heads, "ssm_n_v_heads");
        pos(ssm_d_k, "ssm_d_k"); pos(ssm_d_v, "ssm_d_v"); pos(ssm_conv_kernel, "ssm_conv_kernel");
        pos(n_head, "n_head"); pos(n_head_kv, "n_head_kv"); pos(head_dim, "head_dim");
        GDN_CHECK(ssm_n_v_heads % ssm_n_k_heads == 0, "model config: ssm_n_v_heads (",
                  ssm_n_v_heads, ") is not a multiple of ssm_n_k_heads (", ssm_n_k_heads, ")");
        GDN_CHECK(n_head % n_head_kv == 0, "model config: n_head (", n_head,
                  ") is not a multiple of n_head_kv (", n_head_kv, ")");
        GDN_CHECK(n_rot >= 0 && n_rot <= head_dim && n_rot % 2 == 0,
                  "model config: n_rot (", n_rot, ") must be even and <= head_dim (", head_dim, ")");
        GDN_CHECK(n_expert >= 0 && n_expert <= k_max_experts, "model config: n_expert (", n_expert,
                  ") must be in [0, ", k_max_experts, "]");
        if (is_moe()) {
            GDN_CHECK(n_expert_used >= 1 && n_expert_used <= n_expert && n_expert_used <= k_max_experts_used,
                      "model config: n_expert_used (", n_expert_used, ") must be in [1, min(n_expert = ", n_expert,
                      ", ", k_max_experts_used, ")]");
            pos(n_ff_exp, "n_ff_exp");
            GDN_CHECK(n_ff_shexp >= 0, "model config: n_ff_shexp must not be negative, got ", n_ff_shexp);
        }
        GDN_CHECK(rms_eps > 0.f, "model config: rms_eps must be positive, got ", rms_eps);
    }
};

}  // namespace gdn

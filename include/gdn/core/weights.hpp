// gdn/core/weights.hpp - the weights of a whole Qwen3.5-family model as tensor views.
// Conventions are the GGUF ones (llama.cpp's converter), whatever the source:
//  - matrices are [in, out] in ggml order (row r of the view = output r);
//  - RMSNorm weights already include the "+1" (a plain multiplier), except ssm_norm,
//    which is the DeltaNet output norm's plain weight in every source;
//  - ssm_a holds -exp(A_log); dt_bias is added to a before softplus;
//  - conv is [kernel, conv_dim]: row c holds channel c's taps, oldest first.
// Value-head order of every per-value-head tensor is given by config.v_head_order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/tensor.hpp"

namespace gdn {

struct DeltaNetWeights {
    TensorView qkv;       // [n_embd, conv_dim]   rows: q (Hk*dk) | k (Hk*dk) | v (Hv*dv)
    TensorView z;         // [n_embd, Hv*dv]      output gate (silu)
    TensorView beta;      // [n_embd, Hv]         b: beta = sigmoid(b)
    TensorView alpha;     // [n_embd, Hv]         a: g = ssm_a * softplus(a + dt_bias)
    TensorView conv;      // [kernel, conv_dim]
    TensorView dt_bias;   // [Hv]
    TensorView ssm_a;     // [Hv]                 -exp(A_log)
    TensorView ssm_norm;  // [dv]                 plain weight of the gated RMSNorm
    TensorView out;       // [Hv*dv, n_embd]
};

struct AttnWeights {
    TensorView q;       // [n_embd, 2*H*hd]   per head: hd query values then hd gate values
    TensorView k;       // [n_embd, Hkv*hd]
    TensorView v;       // [n_embd, Hkv*hd]
    TensorView q_norm;  // [hd]
    TensorView k_norm;  // [hd]
    TensorView out;     // [H*hd, n_embd]
};

struct MlpWeights {
    TensorView gate;  // [n_embd, n_ff]
    TensorView up;    // [n_embd, n_ff]
    TensorView down;  // [n_ff, n_embd]
};

/// A mixture-of-experts MLP (llama.cpp's qwen35moe / qwen3next tensors, config.n_expert > 0):
///   p = softmax(router x)                     over n_expert
///   S = the n_expert_used largest p;  w_e = p_e / sum_{S} p
///   out = sum_{e in S} w_e * down_e(silu(gate_e x) * up_e x) + sigmoid(shexp_gate . x) * shexp(x)
/// Expert e of a 3-D expert tensor [cols, rows_per_expert, n_expert] is the 2-D matrix at rows
/// [e * rows_per_expert, (e + 1) * rows_per_expert) of the view (ggml's ne[2] = expert).
struct MoeWeights {
    TensorView router;      // ffn_gate_inp        [n_embd, n_expert]  (f32 in converter files)
    TensorView gate_exps;   // ffn_gate_exps       [n_embd, n_ff_exp, n_expert], or, when
                            //                     gate_up_fused, ffn_gate_up_exps [n_embd, 2*n_ff_exp,
                            //                     n_expert]: per expert n_ff_exp gate rows, then up rows
    TensorView up_exps;     // ffn_up_exps         [n_embd, n_ff_exp, n_expert]; empty when gate_up_fused
    TensorView down_exps;   // ffn_down_exps       [n_ff_exp, n_embd, n_expert]
    bool gate_up_fused = false;
    TensorView shexp_gate;  // ffn_gate_inp_shexp  [n_embd]   logit of the shared expert's sigmoid gate
    MlpWeights shexp;       // ffn_{gate,up,down}_shexp: [n_embd, n_ff_shexp] x 2, [n_ff_shexp, n_embd];
                            //                     empty when the model has no shared expert

    [[nodiscard]] bool has_shared() const { return !shexp.gate.empty(); }
    [[nodiscard]] int64_t n_expert() const { return router.rows(); }
    [[nodiscard]] int64_t n_ff_exp() const { return down_exps.cols(); }

    /// Expert e's gate, up ([n_embd, n_ff_exp]) and down ([n_ff_exp, n_embd]) matrices.
    [[nodiscard]] TensorView gate(int64_t e) const { return slice(gate_exps, e, gate_up_rows(), 0, n_ff_exp()); }
    [[nodiscard]] TensorView up(int64_t e) const {
        return gate_up_fused ? slice(gate_exps, e, gate_up_rows(), n_ff_exp(), n_ff_exp())
                             : slice(up_exps, e, n_ff_exp(), 0, n_ff_exp());
    }
    [[nodiscard]] TensorView down(int64_t e) const { return slice(down_exps, e, down_exps.ne[1], 0, down_exps.ne[1]); }
    /// Byte distance between expert e and e + 1 in gate_exps (and up_exps), and in down_exps.
    [[nodiscard]] int64_t gate_up_expert_bytes() const { return gate_up_rows() * gate_exps.row_bytes(); }
    [[nodiscard]] int64_t down_expert_bytes() const { return down_exps.ne[1] * down_exps.row_bytes(); }

private:
    [[nodiscard]] int64_t gate_up_rows() const { return (gate_up_fused ? 2 : 1) * n_ff_exp(); }
    static TensorView slice(const TensorView& t, int64_t e, int64_t slab_rows, int64_t first, int64_t rows) {
        TensorView v = t;
        v.name = t.name + "[expert " + std::to_string(e) + "]";
        v.ne = {t.ne[0], rows, 1, 1};
        v.n_dims = 2;
        v.data = t.data + (e * slab_rows + first) * t.row_bytes();
        return v;
    }
};

struct LayerWeights {
    bool is_attention = false;
    TensorView attn_norm;       // [n_embd] before the mixer
    TensorView post_attn_norm;  // [n_embd] before the MLP
    DeltaNetWeights deltanet;   // set when !is_attention
    AttnWeights attn;           // set when is_attention
    MlpWeights mlp;             // the dense MLP; empty when is_moe()
    MoeWeights moe;             // set when the model is MoE (config.n_expert > 0)

    [[nodiscard]] bool is_moe() const { return !moe.router.empty(); }
};

/// One multi-token-prediction block (llama.cpp's "NextN", blk.{n_layer + j}): from the trunk's
/// final hidden state h of position t (after output_norm, as llama.cpp's qwen35 graph hands it
/// over) and the embedding e of token t+1, it drafts token t+2:
///   x = eh_proj * [enorm(e) ; hnorm(h)]        (the first n_embd inputs are the embedding's)
///   x = layer(x)                               (a full-attention layer at position t+1, its own KV cache)
///   logits = head(head_norm(x))
/// Chained drafts feed head_norm(x) back as the next step's h (llama.cpp's MTP h_nextn); at
/// position 0 h is zeros. gdn::ref::MtpLayer runs it and gdn::ref::SpeculativeDecoder drafts
/// with it on the CPU (block 0, as llama.cpp); the GPU decoders do not run it yet. An empty
/// optional view means the trunk's tensor is used, as llama.cpp does: embed_tokens -> tok_embd,
/// shared_head_norm -> output_norm, shared_head_head -> output.
struct MtpWeights {
    TensorView eh_proj;           // [2*n_embd, n_embd]  input: enorm(e) then hnorm(h)
    TensorView enorm;             // [n_embd]            on the token embedding
    TensorView hnorm;             // [n_embd]            on the trunk's hidden state
    TensorView shared_head_norm;  // [n_embd]            optional (Qwen3.5's converter writes it)
    TensorView shared_head_head;  // [n_embd, n_vocab]   optional (absent in Qwen3.5 files)
    TensorView embed_tokens;      // [n_embd, n_vocab]   optional (absent in Qwen3.5 files)
    LayerWeights layer;           // is_attention; attn and mlp shaped as a trunk attention layer's
};

struct ModelWeights {
    ModelConfig config;
    TensorView tok_embd;     // [n_embd, n_vocab]
    TensorView output_norm;  // [n_embd]
    TensorView output;       // [n_embd, n_vocab]; equals tok_embd when tied
    std::vector<LayerWeights> layers;   // [n_layer] the trunk
    std::vector<MtpWeights> mtp;        // [n_mtp] after the trunk; run by ref::SpeculativeDecoder only
    std::shared_ptr<const void> storage;  ///< keeps the bytes behind the views alive
};

}  // namespace gdn

// gdn/core/weights.hpp - the weights of a whole Qwen3.5-family model as tensor views.
// Conventions are the GGUF ones (llama.cpp's converter), whatever the source:
//  - matrices are [in, out] in ggml order (row r of the view = output r);
//  - RMSNorm weights already include the "+1" (a plain multiplier), except ssm_norm,
//    which is the DeltaNet output norm's plain weight in every source;
//  - ssm_a holds -exp(A_log); dt_bias is added to a before softplus;
//  - conv is [kernel, conv_dim]: row c holds channel c's taps, oldest first.
// Value-head order of every per-value-head tensor is given by config.v_head_order.
#pragma once

#include <memory>
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

struct LayerWeights {
    bool is_attention = false;
    TensorView attn_norm;       // [n_embd] before the mixer
    TensorView post_attn_norm;  // [n_embd] before the MLP
    DeltaNetWeights deltanet;   // set when !is_attention
    AttnWeights attn;           // set when is_attention
    MlpWeights mlp;
};

/// One multi-token-prediction block (llama.cpp's "NextN", blk.{n_layer + j}): from the trunk's
/// final hidden state h of position t (after output_norm, as llama.cpp's qwen35 graph hands it
/// over) and the embedding e of token t+1, it drafts token t+2:
///   x = eh_proj * [enorm(e) ; hnorm(h)]        (the first n_embd inputs are the embedding's)
///   x = layer(x)                               (a full-attention layer with its own KV cache)
///   logits = head(head_norm(x))
/// Loaded and kept for speculative decoding; no decoder in gdn runs it yet. An empty optional
/// view means the trunk's tensor is used, as llama.cpp does: embed_tokens -> tok_embd,
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
    std::vector<MtpWeights> mtp;        // [n_mtp] after the trunk; not run by the decoders
    std::shared_ptr<const void> storage;  ///< keeps the bytes behind the views alive
};

}  // namespace gdn

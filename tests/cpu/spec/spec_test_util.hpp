// Helpers of the speculative-decoding tests: a small model with one MTP block (small heads so
// thousands of CPU steps stay quick) and plain greedy decode to compare against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "../ref/ref_test_util.hpp"
#include "gdn/core/shapes.hpp"
#include "gdn/ref/decoder.hpp"
#include "gdn/ref/speculative.hpp"

namespace gdn::test {

/// 3 DeltaNet + 1 attention layers, dk = dv = 16, hd = 32, one MTP block.
inline ModelConfig spec_config(int64_t vocab = 53) {
    ModelConfig c = tiny_config(1, 2);
    c.n_vocab = vocab;
    c.n_embd = 32;
    c.n_ff = 48;
    c.ssm_d_k = 16;
    c.ssm_d_v = 16;
    c.head_dim = 32;
    c.n_rot = 16;
    c.n_mtp = 1;
    return c;
}

/// The same config with an MoE MLP (8 experts, top 2, a shared expert) in every layer.
inline ModelConfig spec_moe_config(int64_t vocab = 53) {
    return with_experts(spec_config(vocab), 8, 2, 24, 32, /*dense_ff=*/true);
}

/// Plain greedy decode: the prompt, then n tokens, each the argmax of the last logits (n - 1
/// of them are run, so dec ends at position prompt.size() + n - 1). `hidden`, when given,
/// receives the trunk's hidden state of every position run.
inline std::vector<int32_t> greedy(ref::RuntimeDecoder& dec, std::span<const int32_t> prompt, int64_t n,
                                   std::vector<std::vector<float>>* hidden = nullptr) {
    dec.reset();
    auto keep = [&] {
        if (hidden) hidden->emplace_back(dec.hidden().begin(), dec.hidden().end());
    };
    for (int32_t t : prompt) {
        dec.step(t);
        keep();
    }
    std::vector<int32_t> out;
    out.push_back(ref::argmax(dec.logits()));
    while (static_cast<int64_t>(out.size()) < n) {
        dec.step(out.back());
        keep();
        out.push_back(ref::argmax(dec.logits()));
    }
    return out;
}

}  // namespace gdn::test

namespace gdn::test {

/// A random dense model whose MTP block drafts well: every mixer's and MLP's output projection
/// (trunk and MTP) is scaled by `mix`, and eh_proj is [I + mix * R_e, mix * R_h], so both the
/// trunk and the MTP block are close to "head(norm(embedding of the input token))" with an
/// untied head, and the MTP's guess for position p + 1 is near the trunk's. `mix` sets how
/// often they differ; 0.3 gives a spread of accepted lengths.
inline ModelWeights drafting_model(ModelConfig c, uint32_t seed, float mix) {
    c.tied_embeddings = false;
    ModelWeights w = random_model(c, seed);
    auto extra = std::make_shared<Store>();
    auto scaled = [&](const TensorView& t) {
        std::vector<float> v = values_of(t);
        for (float& x : v) x *= mix;
        return extra->add(t.name, v, t.cols(), t.rows());
    };
    for (LayerWeights& l : w.layers) {
        if (l.is_attention) {
            l.attn.out = scaled(l.attn.out);
        } else {
            l.deltanet.out = scaled(l.deltanet.out);
        }
        l.mlp.down = scaled(l.mlp.down);
    }
    for (MtpWeights& m : w.mtp) {
        m.layer.attn.out = scaled(m.layer.attn.out);
        m.layer.mlp.down = scaled(m.layer.mlp.down);
        std::vector<float> eh = values_of(scaled(m.eh_proj));  // [n_embd rows][2*n_embd]
        for (int64_t r = 0; r < c.n_embd; ++r) eh[static_cast<size_t>(r * 2 * c.n_embd + r)] += 1.f;
        m.eh_proj = extra->add(m.eh_proj.name, eh, 2 * c.n_embd, c.n_embd);
    }
    struct Both {
        std::shared_ptr<const void> a, b;
    };
    w.storage = std::make_shared<Both>(Both{w.storage, extra});
    return w;
}

}  // namespace gdn::test

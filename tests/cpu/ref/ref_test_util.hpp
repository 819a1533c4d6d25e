// Helpers of the reference tests: seeded random data, in-memory f32 (or quantised) weight
// tensors, a tiny random model, error metrics. Also used by tests/cpu/schedule.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/quant/quantizers.hpp"

namespace gdn::test {

struct Rng {
    std::mt19937 gen;
    explicit Rng(uint32_t seed) : gen(seed) {}
    float normal(float stddev = 1.f) { return std::normal_distribution<float>(0.f, stddev)(gen); }
    float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
    std::vector<float> normals(size_t n, float stddev = 1.f) {
        std::vector<float> v(n);
        for (float& x : v) x = normal(stddev);
        return v;
    }
    std::vector<float> uniforms(size_t n, float lo, float hi) {
        std::vector<float> v(n);
        for (float& x : v) x = uniform(lo, hi);
        return v;
    }
};

/// Owns the bytes behind TensorViews built in memory.
struct Store {
    std::deque<std::vector<std::byte>> blobs;

    /// A [cols, rows] view of `values` (row-major [rows][cols]) stored as `type`.
    TensorView add(std::string name, const std::vector<float>& values, int64_t cols,
                   int64_t rows = 1, DType type = DType::f32) {
        TensorView t;
        t.name = std::move(name);
        t.type = type;
        t.ne = {cols, rows, 1, 1};
        t.n_dims = rows == 1 ? 1 : 2;
        auto& blob = blobs.emplace_back(static_cast<size_t>(dtype_row_bytes(type, cols) * rows));
        for (int64_t r = 0; r < rows; ++r) {
            quant::quantize_row(type, values.data() + r * cols,
                                blob.data() + r * dtype_row_bytes(type, cols), cols);
        }
        t.data = blob.data();
        return t;
    }
};

/// Row-major float copy of a matrix stored with Store::add (f32 only, for naive loops).
inline std::vector<float> values_of(const TensorView& t) {
    const auto* p = reinterpret_cast<const float*>(t.data);
    return {p, p + t.elems()};
}

inline double max_abs_diff(std::span<const float> a, std::span<const double> b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
    return m;
}
inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        m = std::max(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
    return m;
}
template <class T>
double max_abs(std::span<const T> a) {
    double m = 0.0;
    for (const T& x : a) m = std::max(m, std::abs(static_cast<double>(x)));
    return m;
}

/// Real head sizes (dk = dv = 128, hd = 256, n_rot 64), few heads, small hidden and vocab.
inline ModelConfig tiny_config(int64_t hk = 1, int64_t ratio = 2, HeadOrder order = HeadOrder::tiled) {
    ModelConfig c;
    c.n_vocab = 53;
    c.n_embd = 64;
    c.n_layer = 4;
    c.n_ff = 96;
    c.full_attention_interval = 4;
    c.ssm_n_k_heads = hk;
    c.ssm_n_v_heads = hk * ratio;
    c.ssm_d_k = 128;
    c.ssm_d_v = 128;
    c.ssm_conv_kernel = 4;
    c.v_head_order = order;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.head_dim = 256;
    c.n_rot = 64;
    c.rope_theta = 1e7f;
    c.rms_eps = 1e-6f;
    c.tied_embeddings = true;
    return c;
}

/// Real head sizes (dk = dv = 128, hd = 256, GQA group 4), hidden 1024, 4 layers
/// (3 DeltaNet + 1 attention), small vocab so the CPU reference stays quick: the GPU tests'
/// whole-decoder model.
inline ModelConfig real_heads_config(int64_t hk, int64_t ratio, HeadOrder order) {
    ModelConfig c = tiny_config(hk, ratio, order);
    c.n_embd = 1024;
    c.n_ff = 1024;
    c.n_vocab = 1000;
    c.n_head = 8;
    c.n_head_kv = 2;
    c.tied_embeddings = false;
    return c;
}

/// n token ids drawn uniformly from [0, vocab).
inline std::vector<int32_t> random_tokens(int n, int64_t vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(vocab - 1));
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = d(rng);
    return t;
}

/// Random DeltaNet tensors in f32 (or `type` for the four projection matrices).
inline DeltaNetWeights random_deltanet(const ModelConfig& c, Store& s, Rng& r,
                                       const std::string& prefix, DType type = DType::f32) {
    const int64_t e = c.n_embd, vd = c.ssm_n_v_heads * c.ssm_d_v, cd = c.ssm_conv_dim();
    const auto hv = static_cast<size_t>(c.ssm_n_v_heads);
    const float ws = 1.f / std::sqrt(static_cast<float>(e));
    DeltaNetWeights w;
    w.qkv = s.add(prefix + "attn_qkv", r.normals(static_cast<size_t>(e * cd), ws), e, cd, type);
    w.z = s.add(prefix + "attn_gate", r.normals(static_cast<size_t>(e * vd), ws), e, vd, type);
    w.beta = s.add(prefix + "ssm_beta", r.normals(static_cast<size_t>(e) * hv, ws), e, c.ssm_n_v_heads, type);
    w.alpha = s.add(prefix + "ssm_alpha", r.normals(static_cast<size_t>(e) * hv, ws), e, c.ssm_n_v_heads, type);
    w.conv = s.add(prefix + "ssm_conv1d", r.normals(static_cast<size_t>(cd * c.ssm_conv_kernel), 0.5f),
                   c.ssm_conv_kernel, cd);
    w.dt_bias = s.add(prefix + "ssm_dt", r.normals(hv, 1.f), c.ssm_n_v_heads);
    // ssm_a = -exp(A_log), slow decays so the state carries over many steps
    w.ssm_a = s.add(prefix + "ssm_a", r.uniforms(hv, -0.6f, -0.02f), c.ssm_n_v_heads);
    w.ssm_norm = s.add(prefix + "ssm_norm", r.uniforms(static_cast<size_t>(c.ssm_d_v), 0.5f, 1.5f), c.ssm_d_v);
    w.out = s.add(prefix + "ssm_out", r.normals(static_cast<size_t>(vd * e), 1.f / std::sqrt(static_cast<float>(vd))),
                  vd, e, type);
    return w;
}

inline AttnWeights random_attn(const ModelConfig& c, Store& s, Rng& r, const std::string& prefix,
                               DType type = DType::f32) {
    const int64_t e = c.n_embd, hd = c.head_dim;
    const float ws = 1.f / std::sqrt(static_cast<float>(e));
    AttnWeights w;
    w.q = s.add(prefix + "attn_q", r.normals(static_cast<size_t>(e * 2 * c.n_head * hd), ws), e, 2 * c.n_head * hd, type);
    w.k = s.add(prefix + "attn_k", r.normals(static_cast<size_t>(e * c.n_head_kv * hd), ws), e, c.n_head_kv * hd, type);
    w.v = s.add(prefix + "attn_v", r.normals(static_cast<size_t>(e * c.n_head_kv * hd), ws), e, c.n_head_kv * hd, type);
    w.q_norm = s.add(prefix + "attn_q_norm", r.uniforms(static_cast<size_t>(hd), 0.5f, 1.5f), hd);
    w.k_norm = s.add(prefix + "attn_k_norm", r.uniforms(static_cast<size_t>(hd), 0.5f, 1.5f), hd);
    w.out = s.add(prefix + "attn_output", r.normals(static_cast<size_t>(c.n_head * hd * e), 1.f / std::sqrt(static_cast<float>(c.n_head * hd))),
                  c.n_head * hd, e, type);
    return w;
}

inline MlpWeights random_mlp(const ModelConfig& c, Store& s, Rng& r, const std::string& prefix,
                             DType type = DType::f32) {
    const int64_t e = c.n_embd, f = c.n_ff;
    MlpWeights w;
    w.gate = s.add(prefix + "ffn_gate", r.normals(static_cast<size_t>(e * f), 1.f / std::sqrt(static_cast<float>(e))), e, f, type);
    w.up = s.add(prefix + "ffn_up", r.normals(static_cast<size_t>(e * f), 1.f / std::sqrt(static_cast<float>(e))), e, f, type);
    w.down = s.add(prefix + "ffn_down", r.normals(static_cast<size_t>(f * e), 1.f / std::sqrt(static_cast<float>(f))), f, e, type);
    return w;
}

/// Random MoE tensors (config.n_expert > 0): router f32 with logits of spread ~2.5 over a
/// normalised x (clear top-k gaps), experts and shared expert in `type`, shared gate f32.
inline MoeWeights random_moe(const ModelConfig& c, Store& s, Rng& r, const std::string& prefix,
                             DType type = DType::f32) {
    const int64_t e = c.n_embd, f = c.n_ff_exp, n = c.n_expert, sh = c.n_ff_shexp;
    const float we = 1.f / std::sqrt(static_cast<float>(e)), wf = 1.f / std::sqrt(static_cast<float>(f));
    auto three_d = [&](TensorView t, int64_t rows) {
        t.ne = {t.ne[0], rows, n, 1};
        t.n_dims = 3;
        return t;
    };
    MoeWeights m;
    m.router = s.add(prefix + "ffn_gate_inp", r.normals(static_cast<size_t>(e * n), 2.5f * we), e, n);
    m.gate_exps = three_d(s.add(prefix + "ffn_gate_exps", r.normals(static_cast<size_t>(e * f * n), we), e, f * n, type), f);
    m.up_exps = three_d(s.add(prefix + "ffn_up_exps", r.normals(static_cast<size_t>(e * f * n), we), e, f * n, type), f);
    m.down_exps = three_d(s.add(prefix + "ffn_down_exps", r.normals(static_cast<size_t>(f * e * n), wf), f, e * n, type), e);
    if (sh > 0) {
        const float ws = 1.f / std::sqrt(static_cast<float>(sh));
        m.shexp_gate = s.add(prefix + "ffn_gate_inp_shexp", r.normals(static_cast<size_t>(e), we), e);
        m.shexp.gate = s.add(prefix + "ffn_gate_shexp", r.normals(static_cast<size_t>(e * sh), we), e, sh, type);
        m.shexp.up = s.add(prefix + "ffn_up_shexp", r.normals(static_cast<size_t>(e * sh), we), e, sh, type);
        m.shexp.down = s.add(prefix + "ffn_down_shexp", r.normals(static_cast<size_t>(sh * e), ws), sh, e, type);
    }
    return m;
}

/// Which optional tensors a random MTP block carries (Qwen3.5 files: shared_head_norm only).
struct MtpOptional {
    bool head_norm = true;   ///< nextn.shared_head_norm, else output_norm serves
    bool head = false;       ///< nextn.shared_head_head, else the trunk's output serves
    bool embedding = false;  ///< nextn.embed_tokens, else token_embd serves
};

/// One random MTP block (blk.{n_layer + j}): eh_proj, enorm, hnorm, the optional tensors asked
/// for, and a full-attention layer with the model's MLP kind (dense or MoE).
inline MtpWeights random_mtp(const ModelConfig& c, Store& s, Rng& r, const std::string& prefix,
                             DType type = DType::f32, MtpOptional opt = {}) {
    const int64_t e = c.n_embd;
    auto norm = [&](const std::string& name) {
        return s.add(prefix + name, r.uniforms(static_cast<size_t>(e), 0.5f, 1.5f), e);
    };
    MtpWeights m;
    m.eh_proj = s.add(prefix + "nextn.eh_proj", r.normals(static_cast<size_t>(2 * e * e), 1.f / std::sqrt(2.f * static_cast<float>(e))),
                      2 * e, e, type);
    m.enorm = norm("nextn.enorm");
    m.hnorm = norm("nextn.hnorm");
    if (opt.head_norm) m.shared_head_norm = norm("nextn.shared_head_norm");
    if (opt.head) {
        m.shared_head_head = s.add(prefix + "nextn.shared_head_head", r.normals(static_cast<size_t>(e * c.n_vocab)), e,
                                   c.n_vocab, type);
    }
    if (opt.embedding) {
        m.embed_tokens = s.add(prefix + "nextn.embed_tokens", r.normals(static_cast<size_t>(e * c.n_vocab)), e,
                               c.n_vocab, type);
    }
    m.layer.is_attention = true;
    m.layer.attn_norm = norm("attn_norm");
    m.layer.post_attn_norm = norm("post_attention_norm");
    m.layer.attn = random_attn(c, s, r, prefix, type);
    if (c.is_moe()) {
        m.layer.moe = random_moe(c, s, r, prefix, type);
    } else {
        m.layer.mlp = random_mlp(c, s, r, prefix, type);
    }
    return m;
}

/// A whole random model; `type` is the dtype of every projection matrix (norms, conv and
/// the per-head vectors stay f32, as in GGUF files). MoE configs get random_moe MLPs;
/// config.n_mtp > 0 adds that many random_mtp blocks after the trunk (drawn last, so the
/// trunk is the same as without them).
inline ModelWeights random_model(const ModelConfig& c, uint32_t seed, DType type = DType::f32,
                                 MtpOptional mtp = {}) {
    auto store = std::make_shared<Store>();
    Rng r(seed);
    ModelWeights w;
    w.config = c;
    w.tok_embd = store->add("token_embd.weight", r.normals(static_cast<size_t>(c.n_embd * c.n_vocab)),
                            c.n_embd, c.n_vocab, type);
    w.output_norm = store->add("output_norm.weight", r.uniforms(static_cast<size_t>(c.n_embd), 0.5f, 1.5f), c.n_embd);
    w.output = c.tied_embeddings
                   ? w.tok_embd
                   : store->add("output.weight", r.normals(static_cast<size_t>(c.n_embd * c.n_vocab)),
                                c.n_embd, c.n_vocab, type);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerWeights l;
        l.is_attention = c.is_attention(i);
        l.attn_norm = store->add(p + "attn_norm.weight", r.uniforms(static_cast<size_t>(c.n_embd), 0.5f, 1.5f), c.n_embd);
        l.post_attn_norm = store->add(p + "post_attention_norm.weight", r.uniforms(static_cast<size_t>(c.n_embd), 0.5f, 1.5f), c.n_embd);
        if (l.is_attention) {
            l.attn = random_attn(c, *store, r, p, type);
        } else {
            l.deltanet = random_deltanet(c, *store, r, p, type);
        }
        if (c.is_moe()) {
            l.moe = random_moe(c, *store, r, p, type);
        } else {
            l.mlp = random_mlp(c, *store, r, p, type);
        }
        w.layers.push_back(std::move(l));
    }
    for (int64_t j = 0; j < c.n_mtp; ++j) {
        w.mtp.push_back(random_mtp(c, *store, r, "blk." + std::to_string(c.n_layer + j) + ".", type, mtp));
    }
    w.storage = store;
    return w;
}

}  // namespace gdn::test

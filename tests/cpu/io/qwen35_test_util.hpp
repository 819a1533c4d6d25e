// Tiny synthetic `qwen35` files for the loader tests: the metadata and tensors llama.cpp's
// converter writes (docs/GGUF_QWEN35.md), optionally with MTP blocks, built in memory and
// written with gdn's GgufWriter; helpers to break them and to read the errors.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/quant/quantizers.hpp"
#include "io_test_util.hpp"

namespace gdn::test::qwen35 {

struct Tiny {
    int64_t E = 64, L = 6, interval = 3, Hk = 2, Hv = 4, dk = 32, dv = 32;
    int64_t H = 4, Hkv = 2, hd = 32, rot = 8, ff = 96, vocab = 128, K = 4;
    bool tied = true;
    int64_t nextn = 0;      ///< MTP blocks after the L trunk layers
    bool mtp_heads = false;  ///< MTP blocks also get the optional embed_tokens / shared_head_head
    bool finite = false;     ///< values a forward pass can run on (else random bytes, for views)
};

struct Tensor {
    DType type;
    std::vector<int64_t> ne;
    std::vector<std::byte> data;
};

using Kvs = std::vector<std::pair<std::string, io::GgufEncoded>>;
using Tensors = std::vector<std::pair<std::string, Tensor>>;

inline Kvs tiny_kvs(const Tiny& s) {
    using io::gguf_encode;
    const std::string p = "qwen35.";
    Kvs kv;
    auto u32 = [&](const std::string& k, int64_t v) { kv.emplace_back(p + k, gguf_encode(static_cast<uint32_t>(v))); };
    kv.emplace_back("general.architecture", gguf_encode(std::string_view("qwen35")));
    kv.emplace_back("general.name", gguf_encode(std::string_view("tiny")));
    u32("block_count", s.L + s.nextn);
    if (s.nextn) u32("nextn_predict_layers", s.nextn);
    u32("context_length", 4096);
    u32("embedding_length", s.E);
    u32("feed_forward_length", s.ff);
    u32("attention.head_count", s.H);
    u32("attention.head_count_kv", s.Hkv);
    u32("attention.key_length", s.hd);
    u32("attention.value_length", s.hd);
    kv.emplace_back(p + "rope.freq_base", gguf_encode(1.0e7f));
    kv.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf_encode(1.0e-6f));
    u32("rope.dimension_count", s.rot);
    kv.emplace_back(p + "rope.dimension_sections", io::gguf_encode_array(std::vector<int32_t>{2, 1, 1, 0}));
    u32("ssm.conv_kernel", s.K);
    u32("ssm.state_size", s.dk);
    u32("ssm.group_count", s.Hk);
    u32("ssm.time_step_rank", s.Hv);
    u32("ssm.inner_size", s.Hv * s.dv);
    u32("full_attention_interval", s.interval);
    return kv;
}

/// Every tensor of the file in converter order: globals, trunk layers, then the MTP blocks
/// (a full-attention layer with its MLP, eh_proj, enorm, hnorm, shared_head_norm as Qwen3.5's
/// converter writes them). The trunk draws from `rng` before any MTP tensor, so a file with
/// MTP blocks holds the same trunk bytes as the same seed without them.
inline Tensors tiny_tensors(const Tiny& s, std::mt19937_64& rng) {
    Tensors ts;
    int counter = 0;
    const auto uniform = [&](size_t n, float lo, float hi) {
        std::uniform_real_distribution<float> d(lo, hi);
        std::vector<float> v(n);
        for (float& x : v) x = d(rng);
        return v;
    };
    // matrices cycle through dtypes so views of several block formats are checked
    auto mat = [&](std::string name, int64_t in, int64_t out) {
        const DType types[] = {DType::f32, DType::f16, DType::q8_0, DType::bf16, DType::q4_0};
        const DType t = types[counter++ % 5];
        const auto row = static_cast<size_t>(dtype_row_bytes(t, in));
        std::vector<std::byte> data;
        if (s.finite) {  // uniform with std 1/sqrt(in): unit-scale outputs of normalised inputs
            const float half = std::sqrt(3.f / static_cast<float>(in));
            const std::vector<float> x = uniform(static_cast<size_t>(in * out), -half, half);
            data.resize(row * static_cast<size_t>(out));
            for (int64_t r = 0; r < out; ++r) {
                quant::quantize_row(t, x.data() + r * in, data.data() + static_cast<size_t>(r) * row, in);
            }
        } else {
            data = random_bytes(row * static_cast<size_t>(out), rng);
        }
        ts.push_back({std::move(name), {t, {in, out}, std::move(data)}});
    };
    auto vec = [&](std::string name, std::vector<int64_t> ne) {
        int64_t n = 1;
        for (int64_t x : ne) n *= x;
        std::vector<std::byte> data;
        if (s.finite) {
            const auto ends_with = [&](std::string_view tail) {
                return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
            };
            float lo = 0.9f, hi = 1.1f;                              // norm weights (1 + w)
            if (ends_with("ssm_a")) lo = -1.f, hi = -0.05f;          // -exp(A_log)
            if (ends_with("ssm_dt.bias")) lo = 0.5f, hi = 1.5f;
            if (ends_with("ssm_conv1d.weight")) lo = -0.5f, hi = 0.5f;
            const std::vector<float> x = uniform(static_cast<size_t>(n), lo, hi);
            data.resize(x.size() * 4);
            std::memcpy(data.data(), x.data(), data.size());
        } else {
            data = random_bytes(static_cast<size_t>(n) * 4, rng);
        }
        ts.push_back({std::move(name), {DType::f32, ne, std::move(data)}});
    };
    auto blk = [](int64_t i, const char* suffix) { return "blk." + std::to_string(i) + "." + suffix; };

    mat("token_embd.weight", s.E, s.vocab);
    vec("output_norm.weight", {s.E});
    if (!s.tied) mat("output.weight", s.E, s.vocab);
    const int64_t conv_dim = 2 * s.Hk * s.dk + s.Hv * s.dv;
    for (int64_t i = 0; i < s.L + s.nextn; ++i) {
        const bool attn = i >= s.L || (i + 1) % s.interval == 0;  // MTP blocks are full attention
        vec(blk(i, "attn_norm.weight"), {s.E});
        vec(blk(i, "post_attention_norm.weight"), {s.E});
        if (attn) {
            mat(blk(i, "attn_q.weight"), s.E, 2 * s.H * s.hd);
            mat(blk(i, "attn_k.weight"), s.E, s.Hkv * s.hd);
            mat(blk(i, "attn_v.weight"), s.E, s.Hkv * s.hd);
            vec(blk(i, "attn_q_norm.weight"), {s.hd});
            vec(blk(i, "attn_k_norm.weight"), {s.hd});
            mat(blk(i, "attn_output.weight"), s.H * s.hd, s.E);
        } else {
            mat(blk(i, "attn_qkv.weight"), s.E, conv_dim);
            mat(blk(i, "attn_gate.weight"), s.E, s.Hv * s.dv);
            mat(blk(i, "ssm_beta.weight"), s.E, s.Hv);
            mat(blk(i, "ssm_alpha.weight"), s.E, s.Hv);
            vec(blk(i, "ssm_conv1d.weight"), {s.K, conv_dim});
            vec(blk(i, "ssm_dt.bias"), {s.Hv});
            vec(blk(i, "ssm_a"), {s.Hv});
            vec(blk(i, "ssm_norm.weight"), {s.dv});
            mat(blk(i, "ssm_out.weight"), s.Hv * s.dv, s.E);
        }
        mat(blk(i, "ffn_gate.weight"), s.E, s.ff);
        mat(blk(i, "ffn_up.weight"), s.E, s.ff);
        mat(blk(i, "ffn_down.weight"), s.ff, s.E);
        if (i >= s.L) {
            mat(blk(i, "nextn.eh_proj.weight"), 2 * s.E, s.E);
            vec(blk(i, "nextn.enorm.weight"), {s.E});
            vec(blk(i, "nextn.hnorm.weight"), {s.E});
            vec(blk(i, "nextn.shared_head_norm.weight"), {s.E});
            if (s.mtp_heads) {
                mat(blk(i, "nextn.embed_tokens.weight"), s.E, s.vocab);
                mat(blk(i, "nextn.shared_head_head.weight"), s.E, s.vocab);
            }
        }
    }
    return ts;
}

inline io::GgufWriter writer(const Kvs& kvs, const Tensors& ts) {
    io::GgufWriter w;
    for (const auto& [k, v] : kvs) w.add(k, v);
    for (const auto& [name, t] : ts) w.add_raw_tensor(name, static_cast<uint32_t>(t.type), t.ne, t.data);
    return w;
}

inline std::vector<std::byte> write(const Kvs& kvs, const Tensors& ts) { return writer(kvs, ts).bytes(); }

inline void set_kv(Kvs& kvs, const std::string& key, io::GgufEncoded v) {
    for (auto& [k, val] : kvs) {
        if (k == key) {
            val = std::move(v);
            return;
        }
    }
    kvs.emplace_back(key, std::move(v));
}

inline void erase_kv(Kvs& kvs, const std::string& key) {
    std::erase_if(kvs, [&](const auto& kv) { return kv.first == key; });
}

inline void erase_tensor(Tensors& ts, const std::string& name) {
    const size_t before = ts.size();
    std::erase_if(ts, [&](const auto& t) { return t.first == name; });
    REQUIRE(ts.size() + 1 == before);  // the test names a tensor the file has
}

inline Tensor& find(Tensors& ts, const std::string& name) {
    for (auto& [n, t] : ts) {
        if (n == name) return t;
    }
    FAIL("test bug: no tensor " << name);
    throw;
}

/// The error load_qwen35 raises for this file (fails the test if it loads).
inline std::string load_error(const Kvs& kvs, const Tensors& ts) {
    try {
        const io::GgufFile f = io::GgufFile::from_buffer(write(kvs, ts));
        (void)io::load_qwen35(f);
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("loaded without a gdn::Error");
    return {};
}

inline void require_parts(const std::string& msg, const std::vector<std::string>& parts) {
    INFO("message: " << msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
}

/// Every view of `w` must point at the bytes written under its name; returns how many distinct
/// tensors the views cover (a tied head and the embedding are one).
inline size_t check_views(const ModelWeights& w, const io::GgufFile& f, const Tensors& ts) {
    std::map<std::string, const Tensor*> by_name;
    for (const auto& [n, t] : ts) by_name[n] = &t;
    std::set<std::string> seen;
    auto check = [&](const TensorView& v) {
        INFO(v.name);
        REQUIRE(by_name.count(v.name) == 1);
        const Tensor& t = *by_name[v.name];
        CHECK(v.type == t.type);
        CHECK(v.data == f.tensor(v.name).data);
        REQUIRE(static_cast<size_t>(v.bytes()) == t.data.size());
        CHECK(std::memcmp(v.data, t.data.data(), t.data.size()) == 0);
        seen.insert(v.name);
    };
    auto check_layer = [&](const LayerWeights& L) {
        check(L.attn_norm);
        check(L.post_attn_norm);
        if (L.is_attention) {
            for (const auto* v : {&L.attn.q, &L.attn.k, &L.attn.v, &L.attn.q_norm, &L.attn.k_norm, &L.attn.out}) check(*v);
            CHECK(L.deltanet.qkv.empty());
        } else {
            const auto& D = L.deltanet;
            for (const auto* v : {&D.qkv, &D.z, &D.beta, &D.alpha, &D.conv, &D.dt_bias, &D.ssm_a, &D.ssm_norm, &D.out}) check(*v);
            CHECK(L.attn.q.empty());
        }
        check(L.mlp.gate);
        check(L.mlp.up);
        check(L.mlp.down);
    };
    check(w.tok_embd);
    check(w.output_norm);
    check(w.output);
    for (const auto& L : w.layers) check_layer(L);
    for (const auto& M : w.mtp) {
        CHECK(M.layer.is_attention);
        check_layer(M.layer);
        for (const auto* v : {&M.eh_proj, &M.enorm, &M.hnorm}) check(*v);
        for (const auto* v : {&M.shared_head_norm, &M.shared_head_head, &M.embed_tokens}) {
            if (!v->empty()) check(*v);
        }
    }
    WARN("views checked against written bytes: " << seen.size() << " tensors");
    return seen.size();
}

}  // namespace gdn::test::qwen35

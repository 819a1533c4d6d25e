// Parity fixtures (tests/data/<name>.{gguf,tokens.i32,logits.f32}, made by
// tools/make_fixtures.py from transformers' Qwen3_5ForCausalLM in float64) and the
// comparisons the parity tests share.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"

#ifndef GDN_TEST_DATA_DIR
#define GDN_TEST_DATA_DIR "tests/data"
#endif

namespace gdn::test {

/// The fixtures tools/make_fixtures.py writes; each must be present.
inline const std::vector<std::string>& parity_fixture_names() {
    static const std::vector<std::string> names = {
        "qwen35_r2_tied",            // Hv = 2 Hk, 8 layers (2 attention), tied, F32
        "qwen35_r2_real_heads_f16",  // dk = dv = 128, head_dim 256, untied, F16 matrices
        "qwen35_r3_untied",          // Hv = 3 Hk, dk != dv, 5 layers, untied, F32
    };
    return names;
}

/// The mixture-of-experts fixtures (qwen35moe: Qwen3_5MoeForCausalLM, tiled; qwen3next:
/// Qwen3NextForCausalLM, grouped value heads, packed ssm_ba).
inline const std::vector<std::string>& moe_parity_fixture_names() {
    static const std::vector<std::string> names = {
        "qwen35moe_e16_top4_f16",  // 16 experts top-4, shared expert, F16 matrices, untied, 6 layers
        "qwen3next_e8_top2",       // 8 experts top-2, shared expert, F32, tied, 5 layers
    };
    return names;
}

/// $GDN_TEST_DATA_DIR when set (tests run from a copied tree, e.g. on the GPU machine),
/// else the tests/data folder this build was configured with.
inline std::string data_path(const std::string& file) {
    const char* env = std::getenv("GDN_TEST_DATA_DIR");
    return std::string(env && *env ? env : GDN_TEST_DATA_DIR) + "/" + file;
}

inline std::vector<std::byte> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    GDN_CHECK(in.good(), "cannot open '", path, "'");
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(raw.size());
    std::memcpy(out.data(), raw.data(), raw.size());
    return out;
}

template <class T>
std::vector<T> read_array(const std::string& path) {
    const std::vector<std::byte> b = read_bytes(path);
    GDN_CHECK(b.size() % sizeof(T) == 0, "'", path, "' has ", b.size(), " bytes, not a multiple of ",
              sizeof(T));
    std::vector<T> out(b.size() / sizeof(T));
    std::memcpy(out.data(), b.data(), b.size());
    return out;
}

struct Fixture {
    std::string name;
    std::string gguf;             // path
    std::vector<int32_t> tokens;  // [n_tokens]
    std::vector<float> logits;    // [n_tokens, n_vocab] transformers, float64 rounded to float32
    int64_t n_vocab = 0;

    [[nodiscard]] int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
    [[nodiscard]] std::span<const float> row(int64_t t) const {
        return std::span<const float>(logits).subspan(static_cast<size_t>(t * n_vocab),
                                                      static_cast<size_t>(n_vocab));
    }
};

inline Fixture load_fixture(const std::string& name) {
    Fixture f;
    f.name = name;
    f.gguf = data_path(name + ".gguf");
    f.tokens = read_array<int32_t>(data_path(name + ".tokens.i32"));
    f.logits = read_array<float>(data_path(name + ".logits.f32"));
    GDN_CHECK(!f.tokens.empty() && f.logits.size() % f.tokens.size() == 0, "fixture ", name, ": ",
              f.logits.size(), " logits do not split into ", f.tokens.size(), " rows");
    f.n_vocab = static_cast<int64_t>(f.logits.size() / f.tokens.size());
    return f;
}

inline int64_t argmax(std::span<const float> v) {
    return std::max_element(v.begin(), v.end()) - v.begin();
}

/// One position: ||got - want|| / ||want|| and whether the argmax agrees. A different
/// argmax is forgiven only as a near tie: want's values at the two indices differ by no
/// more than the largest |got - want| of that row.
struct RowCompare {
    double rel_l2 = 0;
    double max_abs = 0;
    bool argmax_equal = true;
    bool near_tie = false;
};

inline RowCompare compare_row(std::span<const float> got, std::span<const float> want) {
    GDN_CHECK(got.size() == want.size(), "compare_row: ", got.size(), " vs ", want.size(), " values");
    RowCompare r;
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double d = static_cast<double>(got[i]) - want[i];
        num += d * d;
        den += static_cast<double>(want[i]) * want[i];
        r.max_abs = std::max(r.max_abs, std::abs(d));
    }
    r.rel_l2 = std::sqrt(num / den);
    const int64_t ag = argmax(got), aw = argmax(want);
    r.argmax_equal = ag == aw;
    if (!r.argmax_equal) {
        const auto g = static_cast<size_t>(ag), w = static_cast<size_t>(aw);
        r.near_tie = static_cast<double>(want[w]) - want[g] <= r.max_abs;
    }
    return r;
}

/// Summary over a whole sequence.
struct SeqCompare {
    double max_rel_l2 = 0;
    int64_t worst_pos = -1;
    int64_t argmax_mismatches = 0;  // not counting near ties
    int64_t near_ties = 0;
    int64_t first_mismatch = -1;

    void add(int64_t pos, const RowCompare& r) {
        if (r.rel_l2 > max_rel_l2 || worst_pos < 0) {
            max_rel_l2 = r.rel_l2;
            worst_pos = pos;
        }
        if (!r.argmax_equal) {
            if (r.near_tie) {
                ++near_ties;
            } else {
                ++argmax_mismatches;
                if (first_mismatch < 0) first_mismatch = pos;
            }
        }
    }
};

/// A copy of tiled-order weights (llama.cpp's GGUF) with every per-value-head tensor
/// permuted back to Hugging Face's grouped order and config.v_head_order = grouped: the
/// same model, so it must give the same logits. The permuted tensors own their bytes.
inline ModelWeights with_grouped_v_heads(const ModelWeights& w) {
    const ModelConfig& c = w.config;
    GDN_CHECK(c.v_head_order == HeadOrder::tiled, "with_grouped_v_heads: weights are not in tiled order");
    const int64_t hk = c.ssm_n_k_heads, hv = c.ssm_n_v_heads, r = hv / hk;
    // grouped head g = kh * r + j sits at tiled position j * Hk + kh
    auto tiled_of = [&](int64_t g) { return (g % r) * hk + g / r; };

    struct Keep {
        std::shared_ptr<const void> base;
        std::vector<std::vector<std::byte>> buffers;
    };
    auto keep = std::make_shared<Keep>();
    keep->base = w.storage;

    // Rows [first, first + Hv*unit) hold Hv heads of `unit` rows each.
    auto permute_rows = [&](TensorView& t, int64_t first, int64_t unit) {
        GDN_CHECK(t.rows() >= first + hv * unit, "with_grouped_v_heads: '", t.name, "' has ", t.rows(),
                  " rows");
        std::vector<std::byte> out(t.data, t.data + t.bytes());
        const int64_t rb = t.row_bytes();
        for (int64_t g = 0; g < hv; ++g) {
            std::memcpy(out.data() + (first + g * unit) * rb, t.data + (first + tiled_of(g) * unit) * rb,
                        static_cast<size_t>(unit * rb));
        }
        keep->buffers.push_back(std::move(out));
        t.data = keep->buffers.back().data();
    };
    // Within every row, columns [0, Hv*unit) hold Hv heads of `unit` columns each.
    auto permute_cols = [&](TensorView& t, int64_t unit) {
        GDN_CHECK(t.cols() == hv * unit, "with_grouped_v_heads: '", t.name, "' has ", t.cols(), " columns");
        GDN_CHECK(unit % dtype_traits(t.type).block_elems == 0, "with_grouped_v_heads: '", t.name,
                  "' blocks straddle value heads");
        std::vector<std::byte> out(t.data, t.data + t.bytes());
        const int64_t rb = t.row_bytes(), ub = dtype_row_bytes(t.type, unit);
        for (int64_t row = 0; row < t.rows(); ++row) {
            for (int64_t g = 0; g < hv; ++g) {
                std::memcpy(out.data() + row * rb + g * ub, t.data + row * rb + tiled_of(g) * ub,
                            static_cast<size_t>(ub));
            }
        }
        keep->buffers.push_back(std::move(out));
        t.data = keep->buffers.back().data();
    };

    ModelWeights g = w;
    for (LayerWeights& l : g.layers) {
        if (l.is_attention) continue;
        DeltaNetWeights& d = l.deltanet;
        const int64_t qk = 2 * hk * c.ssm_d_k;
        permute_rows(d.qkv, qk, c.ssm_d_v);
        permute_rows(d.conv, qk, c.ssm_d_v);
        permute_rows(d.z, 0, c.ssm_d_v);
        permute_rows(d.beta, 0, 1);
        permute_rows(d.alpha, 0, 1);
        permute_cols(d.dt_bias, 1);
        permute_cols(d.ssm_a, 1);
        permute_cols(d.out, c.ssm_d_v);
    }
    g.config.v_head_order = HeadOrder::grouped;
    g.storage = keep;
    return g;
}

}  // namespace gdn::test

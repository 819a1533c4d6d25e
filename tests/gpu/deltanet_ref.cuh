// tests/gpu/deltanet_ref.cuh - the naive double-precision Gated DeltaNet reference of the
// deltanet_step and deltanet_prefill tests, written from MODEL.md steps 2-6
// (HF torch_recurrent_gated_delta_rule): conv + silu, L2 norms, gates, delta rule, gated
// RMSNorm, one token at a time. Also the random layer weights both tests use, the host
// Walsh-Hadamard rotation of stored states, the transpose between the reference's [Hv, dk, dv]
// and the GPU's V-major [Hv, dv, dk] state, state-type conversions and the error measure
// |gpu - ref| / (|ref| + rms(ref)).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_bf16.h>

#include "gdn/core/config.hpp"

namespace gdn::test::deltanet {

constexpr int kD = 128;  // dk = dv
constexpr int kTaps = 4;

inline const char* order_name(HeadOrder o) { return o == HeadOrder::grouped ? "grouped" : "tiled"; }

inline int key_head(HeadOrder o, int h, int hk, int hv) {
    return o == HeadOrder::grouped ? h / (hv / hk) : h % hk;
}

/// The layer's small weights (the GGUF float tensors).
struct Layer {
    int hk, hv;
    int64_t conv_dim;
    std::vector<float> conv_w;   // [conv_dim, 4] taps oldest first
    std::vector<float> dt_bias;  // [Hv]
    std::vector<float> ssm_a;    // [Hv]
    std::vector<float> norm_w;   // [dv]

    Layer(int hk_, int hv_, uint64_t seed) : hk(hk_), hv(hv_), conv_dim(int64_t(2 * hk_ + hv_) * kD) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        conv_w.resize(size_t(conv_dim) * kTaps);
        for (auto& x : conv_w) x = 0.6f * u(rng);
        dt_bias.resize(size_t(hv));
        ssm_a.resize(size_t(hv));
        for (int h = 0; h < hv; ++h) {
            dt_bias[size_t(h)] = -3.f + 2.f * u(rng);                  // softplus in ~[0.003, 0.7]
            ssm_a[size_t(h)] = -std::exp(0.5f + 1.5f * u(rng)) / 2.f;  // -exp(A_log) in ~[-3.7, -0.18]
        }
        norm_w.resize(kD);
        for (auto& x : norm_w) x = 1.f + 0.5f * u(rng);
    }
};

/// One sequence's state as the reference keeps it.
struct RefSeq {
    std::vector<double> s;     // [Hv, dk, dv]
    std::vector<double> hist;  // [3, conv_dim] last inputs, oldest first
};

inline double silu(double x) { return x / (1.0 + std::exp(-x)); }

/// One token's causal conv + silu into u [conv_dim] (hist shifted to end with qkv), then every
/// q and k head L2-normalised, q also scaled by 1 / sqrt(dk).
inline void ref_conv_token(const Layer& L, std::vector<double>& hist, const float* qkv, double* u) {
    const int64_t cd = L.conv_dim;
    for (int64_t c = 0; c < cd; ++c) {
        const float* w = &L.conv_w[size_t(c * kTaps)];
        double acc = double(w[3]) * qkv[c];
        for (int j = 0; j < 3; ++j) acc += double(w[j]) * hist[size_t(j * cd + c)];
        u[c] = silu(acc);
        hist[size_t(c)] = hist[size_t(cd + c)];
        hist[size_t(cd + c)] = hist[size_t(2 * cd + c)];
        hist[size_t(2 * cd + c)] = qkv[c];
    }
    for (int part = 0; part < 2; ++part) {
        for (int h = 0; h < L.hk; ++h) {
            double* x = &u[size_t((part * L.hk + h) * kD)];
            double ss = 0;
            for (int i = 0; i < kD; ++i) ss += x[i] * x[i];
            const double f = 1.0 / std::sqrt(ss + 1e-6) / (part == 0 ? std::sqrt(double(kD)) : 1.0);
            for (int i = 0; i < kD; ++i) x[i] *= f;
        }
    }
}

/// One token of value head h: decay and delta rule on its S [dk, dv], readout by q, gated
/// RMSNorm into y [dv]. u: the token's ref_conv_token output; b, a: the head's gate inputs;
/// z: the head's [dv] output gate.
inline void ref_head_token(const Layer& L, HeadOrder order, int h, double* S, const double* u, float b,
                           float a, const float* z, double* y) {
    const int kh = key_head(order, h, L.hk, L.hv);
    const double* q = u + kh * kD;
    const double* k = u + (L.hk + kh) * kD;
    const double* v = u + 2 * L.hk * kD + h * kD;
    const double beta = 1.0 / (1.0 + std::exp(-double(b)));
    const double x = double(a) + L.dt_bias[size_t(h)];
    const double g = double(L.ssm_a[size_t(h)]) * std::log1p(std::exp(x));
    const double decay = std::exp(g);
    for (int i = 0; i < kD * kD; ++i) S[i] *= decay;
    std::array<double, kD> m{}, o{};
    for (int i = 0; i < kD; ++i)
        for (int j = 0; j < kD; ++j) m[size_t(j)] += S[i * kD + j] * k[i];
    for (int i = 0; i < kD; ++i)
        for (int j = 0; j < kD; ++j) S[i * kD + j] += k[i] * beta * (v[j] - m[size_t(j)]);
    for (int i = 0; i < kD; ++i)
        for (int j = 0; j < kD; ++j) o[size_t(j)] += S[i * kD + j] * q[i];
    double ms = 0;
    for (int j = 0; j < kD; ++j) ms += o[size_t(j)] * o[size_t(j)];
    const double inv = 1.0 / std::sqrt(ms / kD + 1e-6);
    for (int j = 0; j < kD; ++j) y[j] = double(L.norm_w[size_t(j)]) * o[size_t(j)] * inv * silu(z[j]);
}

/// One step of one sequence: qkv [conv_dim], z [Hv*dv], b and a [Hv] in; y [Hv*dv] out.
inline void ref_step(const Layer& L, HeadOrder order, RefSeq& st, const float* qkv, const float* z,
                     const float* b, const float* a, double* y) {
    std::vector<double> u(static_cast<size_t>(L.conv_dim));
    ref_conv_token(L, st.hist, qkv, u.data());
    for (int h = 0; h < L.hv; ++h)
        ref_head_token(L, order, h, &st.s[size_t(h) * kD * kD], u.data(), b[h], a[h], z + h * kD, y + h * kD);
}

/// In place: every [dk, dv] head matrix <- H * it over the key index (orthonormal Sylvester
/// Walsh-Hadamard, its own inverse), by the fast butterfly.
inline void rotate_keys(std::vector<double>& s) {
    const size_t heads = s.size() / (kD * kD);
    const double scale = 1.0 / std::sqrt(double(kD));
    for (size_t h = 0; h < heads; ++h) {
        double* m = &s[h * kD * kD];
        for (int len = 1; len < kD; len <<= 1)
            for (int i = 0; i < kD; i += 2 * len)
                for (int r = i; r < i + len; ++r)
                    for (int j = 0; j < kD; ++j) {
                        const double x = m[r * kD + j], y = m[(r + len) * kD + j];
                        m[r * kD + j] = x + y;
                        m[(r + len) * kD + j] = x - y;
                    }
        for (int i = 0; i < kD * kD; ++i) m[i] *= scale;
    }
}

/// In place: every [128, 128] head matrix of `s` transposed. The GPU keeps the state V-major,
/// [.., Hv, dv, dk] (kernels/deltanet_step.cuh), the reference [.., Hv, dk, dv]; this maps either
/// layout to the other (it is its own inverse). Any element type, any number of sequences.
template <class T>
void transpose_heads(std::vector<T>& s) {
    const size_t per = size_t(kD) * kD;
    for (size_t h = 0; h < s.size() / per; ++h) {
        T* m = &s[h * per];
        for (int i = 0; i < kD; ++i)
            for (int j = i + 1; j < kD; ++j) std::swap(m[i * kD + j], m[j * kD + i]);
    }
}

template <class StateT>
double state_to_double(StateT x) {
    if constexpr (std::is_same_v<StateT, float>) return x; else return double(__bfloat162float(x));
}
template <class StateT>
StateT float_to_state(float x) {
    if constexpr (std::is_same_v<StateT, float>) return x; else return __float2bfloat16_rn(x);
}

/// Max and mean of |got - want| / (|want| + rms(want)), rms over the `len` values added at
/// once; non-finite values count as failures.
struct Err {
    double max = 0, sum = 0;
    size_t n = 0, non_finite = 0;
    void add(const double* got, const double* want, size_t len) {
        double rms = 0;
        for (size_t i = 0; i < len; ++i) rms += want[i] * want[i];
        rms = std::sqrt(rms / double(len));
        for (size_t i = 0; i < len; ++i) {
            if (!std::isfinite(got[i]) || !std::isfinite(want[i])) { ++non_finite; continue; }
            const double e = std::fabs(got[i] - want[i]) / (std::fabs(want[i]) + rms + 1e-300);
            max = std::max(max, e);
            sum += e;
            ++n;
        }
    }
    void add(const std::vector<float>& got, const std::vector<double>& want) {
        const std::vector<double> g(got.begin(), got.end());
        add(g.data(), want.data(), want.size());
    }
    [[nodiscard]] double mean() const { return n ? sum / double(n) : 0.0; }
    void merge(const Err& o) { max = std::max(max, o.max); sum += o.sum; n += o.n; non_finite += o.non_finite; }
};

}  // namespace gdn::test::deltanet

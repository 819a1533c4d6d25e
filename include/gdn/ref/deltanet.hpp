// gdn/ref/deltanet.hpp - one decode step of the Gated DeltaNet mixer (MODEL.md, HF
// Qwen3_5GatedDeltaNet with torch_recurrent_gated_delta_rule).
//
// State per layer (the layout the GPU mirrors):
//   recurrent state S  [Hv, dk, dv] float32, S[h][i][j]: i over keys, j over values
//   conv state         [K-1, conv_dim] float32 (see conv_step)
// With UseWHT, q and k of every key head are rotated by the orthonormal Walsh-Hadamard
// transform H (gdn::quant::wht, dk of 64, 128 or 256) and S is kept in the rotated key basis, S' = H S: since
// H^T H = I, S'^T (H k) = S^T k and the outputs are the same function of the inputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/quant/wht.hpp"
#include "gdn/ref/conv.hpp"
#include "gdn/ref/eigen.hpp"
#include "gdn/ref/norm.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

/// The small per-layer DeltaNet tensors as float, dequantized once.
struct DeltaNetParams {
    std::vector<float> conv;     // [conv_dim, K] row c = channel c's taps, oldest first
    std::vector<float> dt_bias;  // [Hv]
    std::vector<float> ssm_a;    // [Hv] -exp(A_log)
    std::vector<float> norm;     // [dv] plain weight of the gated RMSNorm

    static DeltaNetParams from_weights(const DeltaNetWeights& w) {
        return {dequantize(w.conv), dequantize(w.dt_bias), dequantize(w.ssm_a),
                dequantize(w.ssm_norm)};
    }
};

/// Throws unless dk suits the Walsh-Hadamard rotation.
inline void check_wht_dims(const ModelConfig& c) {
    GDN_CHECK(c.ssm_d_k == 64 || c.ssm_d_k == 128 || c.ssm_d_k == 256,
              "DeltaNet with WHT needs ssm_d_k of 64, 128 or 256 (gdn::quant::wht), got ",
              c.ssm_d_k);
}

/// Everything of the mixer between its input projections and its output projection:
/// conv (state updated in place), silu, split, L2 norms, gates, delta rule (S updated in
/// place), gated RMSNorm.
///   qkv [conv_dim] = [q (Hk*dk) | k (Hk*dk) | v (Hv*dv)], z [Hv*dv], b [Hv], a [Hv]
///   conv_state [K-1, conv_dim], state [Hv, dk, dv], y [Hv*dv]
/// Value head h reads key head c.key_head(h); v, z, b, a, y, dt_bias, ssm_a are in the
/// config's value-head order.
inline void deltanet_recurrence(const ModelConfig& c, const DeltaNetParams& p,
                                std::span<const float> qkv, std::span<const float> z,
                                std::span<const float> b, std::span<const float> a,
                                std::span<float> conv_state, std::span<float> state,
                                bool use_wht, Workspace& ws, std::span<float> y) {
    const int64_t hk = c.ssm_n_k_heads, hv = c.ssm_n_v_heads, dk = c.ssm_d_k, dv = c.ssm_d_v;
    const int64_t conv_dim = c.ssm_conv_dim();
    auto sz = [](int64_t v) { return static_cast<size_t>(v); };
    GDN_CHECK(qkv.size() == sz(conv_dim) && z.size() == sz(hv * dv) && b.size() == sz(hv) &&
                  a.size() == sz(hv) && y.size() == sz(hv * dv),
              "deltanet_recurrence: inputs do not match the config (qkv ", qkv.size(), "/",
              conv_dim, ", z ", z.size(), "/", hv * dv, ", b ", b.size(), ", a ", a.size(),
              ", y ", y.size(), ")");
    GDN_CHECK(state.size() == sz(hv * dk * dv), "deltanet_recurrence: state holds ",
              state.size(), " floats, expected Hv*dk*dv = ", hv * dk * dv);
    GDN_CHECK(p.dt_bias.size() == sz(hv) && p.ssm_a.size() == sz(hv) && p.norm.size() == sz(dv),
              "deltanet_recurrence: params do not match the config");
    if (use_wht) check_wht_dims(c);

    std::span<float> u(ws.conv_out.data(), sz(conv_dim));
    conv_step(qkv, p.conv, c.ssm_conv_kernel, conv_state, u);
    for (float& x : u) x = silu(x);

    float* q = u.data();
    float* k = u.data() + hk * dk;
    const float* v = u.data() + 2 * hk * dk;
    // HF: l2norm(q), l2norm(k) with eps 1e-6, then q * dk^-0.5 (in that order, float32).
    const float q_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk)));
    for (int64_t h = 0; h < hk; ++h) {
        std::span<float> qh(q + h * dk, sz(dk)), kh(k + h * dk, sz(dk));
        l2_normalize(qh, 1e-6f);
        l2_normalize(kh, 1e-6f);
        for (float& x : qh) x *= q_scale;
        if (use_wht) {
            quant::wht(qh.data(), dk);
            quant::wht(kh.data(), dk);
        }
    }

    double* acc = ws.acc.data();  // [dv]
    for (int64_t h = 0; h < hv; ++h) {
        const int64_t kh = c.key_head(h);
        const float* qh = q + kh * dk;
        const float* kv = k + kh * dk;
        const float* vh = v + h * dv;
        const float beta = sigmoid(b[sz(h)]);
        // HF: g = -exp(A_log) * softplus(a + dt_bias) in float32; the state decays by exp(g).
        const float g = p.ssm_a[sz(h)] * softplus(a[sz(h)] + p.dt_bias[sz(h)]);
        const float decay = std::exp(g);
        Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> s(
            state.data() + h * dk * dv, dk, dv);  // [dk, dv]
        s *= decay;
        for (int64_t j = 0; j < dv; ++j) acc[j] = 0.0;
        for (int64_t i = 0; i < dk; ++i) {  // m = S^T k
            const double ki = kv[i];
            const float* row = s.data() + i * dv;
            for (int64_t j = 0; j < dv; ++j) acc[j] += ki * row[j];
        }
        for (int64_t j = 0; j < dv; ++j) {  // d = beta * (v - m), kept in acc
            acc[j] = static_cast<double>(beta * (vh[j] - static_cast<float>(acc[j])));
        }
        for (int64_t i = 0; i < dk; ++i) {  // S += k d^T
            float* row = s.data() + i * dv;
            for (int64_t j = 0; j < dv; ++j) row[j] += kv[i] * static_cast<float>(acc[j]);
        }
        for (int64_t j = 0; j < dv; ++j) acc[j] = 0.0;
        for (int64_t i = 0; i < dk; ++i) {  // o = S^T q with the updated S
            const double qi = qh[i];
            const float* row = s.data() + i * dv;
            for (int64_t j = 0; j < dv; ++j) acc[j] += qi * row[j];
        }
        float* yh = y.data() + h * dv;
        for (int64_t j = 0; j < dv; ++j) yh[j] = static_cast<float>(acc[j]);
        gated_rms_norm({yh, sz(dv)}, z.subspan(sz(h * dv), sz(dv)), p.norm, c.rms_eps,
                       {yh, sz(dv)});
    }
}

/// The whole DeltaNet mixer on the normed input x [n_embd]; out [n_embd] (no residual).
inline void deltanet_step(const ModelConfig& c, const DeltaNetWeights& w, const DeltaNetParams& p,
                          std::span<const float> x, std::span<float> conv_state,
                          std::span<float> state, bool use_wht, Workspace& ws,
                          std::span<float> out) {
    const auto vd = static_cast<size_t>(c.ssm_n_v_heads * c.ssm_d_v);
    matvec(w.qkv, x, ws.qkv);
    matvec(w.z, x, ws.z);
    matvec(w.beta, x, ws.b);
    matvec(w.alpha, x, ws.a);
    std::span<float> y(ws.mixed.data(), vd);
    deltanet_recurrence(c, p, ws.qkv, ws.z, ws.b, ws.a, conv_state, state, use_wht, ws, y);
    matvec(w.out, y, out);
}

}  // namespace gdn::ref

// Naive float64 implementations of the model, written from MODEL.md independently of
// gdn/ref (whole histories instead of ring buffers and caches), for the reference tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/deltanet.hpp"
#include "ref_test_util.hpp"

namespace gdn::test {

inline double silu(double x) { return x / (1.0 + std::exp(-x)); }

/// One layer's recurrence (after the projections) in float64, from the formulas.
struct NaiveDeltaNet {
    ModelConfig c;
    std::vector<float> conv, dt_bias, ssm_a, norm;
    std::vector<std::vector<float>> history;  // every qkv input so far
    std::vector<double> S;                    // [Hv][dk][dv]

    NaiveDeltaNet(const ModelConfig& cfg, const ref::DeltaNetParams& p)
        : c(cfg), conv(p.conv), dt_bias(p.dt_bias), ssm_a(p.ssm_a), norm(p.norm),
          S(static_cast<size_t>(cfg.ssm_n_v_heads * cfg.ssm_d_k * cfg.ssm_d_v), 0.0) {}

    int64_t key_head(int64_t h) const {
        const int64_t hk = c.ssm_n_k_heads, r = c.ssm_n_v_heads / hk;
        return c.v_head_order == HeadOrder::grouped ? h / r : h % hk;
    }

    std::vector<double> step(const std::vector<float>& qkv, const std::vector<float>& z,
                             const std::vector<float>& b, const std::vector<float>& a) {
        history.push_back(qkv);
        const int64_t K = c.ssm_conv_kernel, dim = c.ssm_conv_dim(), t = int64_t(history.size()) - 1;
        const int64_t hk = c.ssm_n_k_heads, hv = c.ssm_n_v_heads, dk = c.ssm_d_k, dv = c.ssm_d_v;
        std::vector<double> u(static_cast<size_t>(dim));
        for (int64_t ch = 0; ch < dim; ++ch) {
            double s = 0;
            for (int64_t j = 0; j < K; ++j) {
                const int64_t src = t - (K - 1) + j;
                if (src >= 0) s += double(conv[size_t(ch * K + j)]) * history[size_t(src)][size_t(ch)];
            }
            u[size_t(ch)] = silu(s);
        }
        std::vector<double> q(u.begin(), u.begin() + hk * dk), k(u.begin() + hk * dk, u.begin() + 2 * hk * dk);
        for (int64_t h = 0; h < hk; ++h) {
            double sq = 0, sk = 0;
            for (int64_t i = 0; i < dk; ++i) {
                sq += q[size_t(h * dk + i)] * q[size_t(h * dk + i)];
                sk += k[size_t(h * dk + i)] * k[size_t(h * dk + i)];
            }
            for (int64_t i = 0; i < dk; ++i) {
                q[size_t(h * dk + i)] *= 1.0 / std::sqrt(sq + 1e-6) / std::sqrt(double(dk));
                k[size_t(h * dk + i)] *= 1.0 / std::sqrt(sk + 1e-6);
            }
        }
        std::vector<double> y(static_cast<size_t>(hv * dv));
        for (int64_t h = 0; h < hv; ++h) {
            const int64_t g = key_head(h);
            const double beta = 1.0 / (1.0 + std::exp(-double(b[size_t(h)])));
            const double sp = std::log1p(std::exp(double(a[size_t(h)]) + dt_bias[size_t(h)]));
            const double decay = std::exp(double(ssm_a[size_t(h)]) * sp);
            double* Sh = S.data() + h * dk * dv;
            for (int64_t i = 0; i < dk * dv; ++i) Sh[i] *= decay;
            for (int64_t j = 0; j < dv; ++j) {
                double m = 0;
                for (int64_t i = 0; i < dk; ++i) m += Sh[i * dv + j] * k[size_t(g * dk + i)];
                const double d = beta * (u[size_t(2 * hk * dk + h * dv + j)] - m);
                for (int64_t i = 0; i < dk; ++i) Sh[i * dv + j] += k[size_t(g * dk + i)] * d;
            }
            std::vector<double> o(static_cast<size_t>(dv), 0.0);
            double ss = 0;
            for (int64_t j = 0; j < dv; ++j) {
                for (int64_t i = 0; i < dk; ++i) o[size_t(j)] += Sh[i * dv + j] * q[size_t(g * dk + i)];
                ss += o[size_t(j)] * o[size_t(j)];
            }
            const double inv = 1.0 / std::sqrt(ss / double(dv) + double(c.rms_eps));
            for (int64_t j = 0; j < dv; ++j)
                y[size_t(h * dv + j)] = norm[size_t(j)] * o[size_t(j)] * inv * silu(z[size_t(h * dv + j)]);
        }
        return y;
    }
};


/// y = W x with W an f32 [cols, rows] view, in float64.
inline std::vector<double> naive_matvec(const TensorView& w, const std::vector<double>& x) {
    const std::vector<float> W = values_of(w);
    std::vector<double> y(static_cast<size_t>(w.rows()), 0.0);
    for (int64_t r = 0; r < w.rows(); ++r)
        for (int64_t c = 0; c < w.cols(); ++c) y[size_t(r)] += double(W[size_t(r * w.cols() + c)]) * x[size_t(c)];
    return y;
}

inline std::vector<double> naive_rms_norm(const std::vector<double>& x, const std::vector<float>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
    return y;
}

inline std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

/// The whole model in float64 (f32 weights only), one token per step.
struct NaiveModel {
    const ModelWeights& w;
    std::vector<NaiveDeltaNet> deltanets;                   // per DeltaNet layer
    std::vector<std::vector<std::vector<double>>> keys, values;  // per attention layer, per position [Hkv*hd]
    int64_t pos = 0;

    explicit NaiveModel(const ModelWeights& weights) : w(weights) {
        for (const LayerWeights& l : w.layers) {
            if (l.is_attention) {
                keys.emplace_back();
                values.emplace_back();
            } else {
                ref::DeltaNetParams p{values_of(l.deltanet.conv), values_of(l.deltanet.dt_bias),
                                      values_of(l.deltanet.ssm_a), values_of(l.deltanet.ssm_norm)};
                deltanets.emplace_back(w.config, p);
            }
        }
    }

    std::vector<double> attention(const AttnWeights& a, size_t ai, const std::vector<double>& n) {
        const ModelConfig& c = w.config;
        const int64_t nh = c.n_head, nkv = c.n_head_kv, hd = c.head_dim, half = c.n_rot / 2;
        const std::vector<double> qg = naive_matvec(a.q, n), kr = naive_matvec(a.k, n), v = naive_matvec(a.v, n);
        const std::vector<float> qn = values_of(a.q_norm), kn = values_of(a.k_norm);
        auto norm_rope = [&](const double* x, const std::vector<float>& nw) {
            std::vector<double> h(x, x + hd);
            h = naive_rms_norm(h, nw, c.rms_eps);
            for (int64_t i = 0; i < half; ++i) {
                const double ang = double(pos) * std::pow(double(c.rope_theta), -2.0 * double(i) / double(c.n_rot));
                const double x0 = h[size_t(i)], x1 = h[size_t(i + half)];
                h[size_t(i)] = x0 * std::cos(ang) - x1 * std::sin(ang);
                h[size_t(i + half)] = x1 * std::cos(ang) + x0 * std::sin(ang);
            }
            return h;
        };
        std::vector<double> k;
        for (int64_t g = 0; g < nkv; ++g) {
            const auto kh = norm_rope(kr.data() + g * hd, kn);
            k.insert(k.end(), kh.begin(), kh.end());
        }
        keys[ai].push_back(k);
        values[ai].push_back(v);
        std::vector<double> y(static_cast<size_t>(nh * hd));
        for (int64_t h = 0; h < nh; ++h) {
            const int64_t g = h / (nh / nkv);
            const auto q = norm_rope(qg.data() + h * 2 * hd, qn);
            std::vector<double> p(keys[ai].size());
            double mx = -1e300, den = 0;
            for (size_t t = 0; t < p.size(); ++t) {
                double s = 0;
                for (int64_t i = 0; i < hd; ++i) s += q[size_t(i)] * keys[ai][t][size_t(g * hd + i)];
                p[t] = s / std::sqrt(double(hd));
                mx = std::max(mx, p[t]);
            }
            for (double& s : p) den += (s = std::exp(s - mx));
            for (int64_t i = 0; i < hd; ++i) {
                double o = 0;
                for (size_t t = 0; t < p.size(); ++t) o += p[t] / den * values[ai][t][size_t(g * hd + i)];
                y[size_t(h * hd + i)] = o / (1.0 + std::exp(-qg[size_t(h * 2 * hd + hd + i)]));
            }
        }
        return naive_matvec(a.out, y);
    }

    std::vector<double> step(int32_t token) {
        const ModelConfig& c = w.config;
        const std::vector<float> E = values_of(w.tok_embd);
        std::vector<double> x(E.begin() + token * c.n_embd, E.begin() + (token + 1) * c.n_embd);
        size_t di = 0, ai = 0;
        for (const LayerWeights& l : w.layers) {
            std::vector<double> n = naive_rms_norm(x, values_of(l.attn_norm), c.rms_eps), d;
            if (l.is_attention) {
                d = attention(l.attn, ai++, n);
            } else {
                const DeltaNetWeights& dn = l.deltanet;
                const auto y = deltanets[di++].step(to_float(naive_matvec(dn.qkv, n)), to_float(naive_matvec(dn.z, n)),
                                                    to_float(naive_matvec(dn.beta, n)), to_float(naive_matvec(dn.alpha, n)));
                d = naive_matvec(dn.out, y);
            }
            for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
            n = naive_rms_norm(x, values_of(l.post_attn_norm), c.rms_eps);
            std::vector<double> g = naive_matvec(l.mlp.gate, n);
            const std::vector<double> u = naive_matvec(l.mlp.up, n);
            for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
            d = naive_matvec(l.mlp.down, g);
            for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
        }
        ++pos;
        return naive_matvec(w.output, naive_rms_norm(x, values_of(w.output_norm), c.rms_eps));
    }
};

}  // namespace gdn::test

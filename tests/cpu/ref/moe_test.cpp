// ref::moe_step against a naive float64 loop written from the formulas (HF
// Qwen3_5MoeSparseMoeBlock): softmax router, top-k with lower-id-first ties, weights
// renormalised over the chosen experts, sigmoid-gated shared expert. Real-ish shapes: 64
// experts top-8 on n_embd 256, separate and fused gate/up, f32 and q8_0 experts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "gdn/ref/moe.hpp"
#include "ref_test_util.hpp"

using namespace gdn;

namespace {

struct MoeCase {
    ModelConfig c;
    test::Store store;
    MoeWeights w;
    // row-major float copies for the naive loop
    std::vector<float> router, gate, up, down, sg, su, sd, sh_inp;  // [n][F][E] / [n][E][F] ...
};

void make(MoeCase& m, int64_t E, int64_t n, int64_t k, int64_t F, int64_t S, bool fused, DType type, uint32_t seed) {
    test::Rng rng(seed);
    ModelConfig& c = m.c;
    c.n_embd = E;
    c.n_expert = n;
    c.n_expert_used = k;
    c.n_ff_exp = F;
    c.n_ff_shexp = S;
    // quantise-then-dequantise so the naive loop sees the stored values
    auto stored = [&](std::vector<float> v, int64_t cols, DType t) {
        test::Store tmp;
        const TensorView view = tmp.add("tmp", v, cols, static_cast<int64_t>(v.size()) / cols, t);
        return ref::dequantize(view);
    };
    m.router = rng.normals(size_t(n * E), 2.5f / std::sqrt(float(E)));
    m.gate = stored(rng.normals(size_t(n * F * E), 1.f / std::sqrt(float(E))), E, type);
    m.up = stored(rng.normals(size_t(n * F * E), 1.f / std::sqrt(float(E))), E, type);
    m.down = stored(rng.normals(size_t(n * E * F), 1.f / std::sqrt(float(F))), F, type);
    m.sg = stored(rng.normals(size_t(S * E), 1.f / std::sqrt(float(E))), E, type);
    m.su = stored(rng.normals(size_t(S * E), 1.f / std::sqrt(float(E))), E, type);
    m.sd = stored(rng.normals(size_t(E * S), 1.f / std::sqrt(float(S))), S, type);
    m.sh_inp = rng.normals(size_t(E), 1.f / std::sqrt(float(E)));

    auto three_d = [](TensorView t, int64_t rows_per_expert, int64_t n_exp) {
        t.ne = {t.ne[0], rows_per_expert, n_exp, 1};
        t.n_dims = 3;
        return t;
    };
    m.w.router = m.store.add("ffn_gate_inp", m.router, E, n);
    if (fused) {  // per expert: F gate rows, then F up rows
        std::vector<float> gu;
        for (int64_t e = 0; e < n; ++e) {
            gu.insert(gu.end(), m.gate.begin() + e * F * E, m.gate.begin() + (e + 1) * F * E);
            gu.insert(gu.end(), m.up.begin() + e * F * E, m.up.begin() + (e + 1) * F * E);
        }
        m.w.gate_exps = three_d(m.store.add("ffn_gate_up_exps", gu, E, 2 * F * n, type), 2 * F, n);
        m.w.gate_up_fused = true;
    } else {
        m.w.gate_exps = three_d(m.store.add("ffn_gate_exps", m.gate, E, F * n, type), F, n);
        m.w.up_exps = three_d(m.store.add("ffn_up_exps", m.up, E, F * n, type), F, n);
    }
    m.w.down_exps = three_d(m.store.add("ffn_down_exps", m.down, F, E * n, type), E, n);
    m.w.shexp_gate = m.store.add("ffn_gate_inp_shexp", m.sh_inp, E);
    m.w.shexp.gate = m.store.add("ffn_gate_shexp", m.sg, E, S, type);
    m.w.shexp.up = m.store.add("ffn_up_shexp", m.su, E, S, type);
    m.w.shexp.down = m.store.add("ffn_down_shexp", m.sd, S, E, type);
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }

/// out = sum_{top-k} p_e / sum p * down_e(silu(gate_e x) up_e x) + sigmoid(g . x) shexp(x), float64.
/// Also the smallest gap between the k-th and (k+1)-th router logit.
std::vector<double> naive_moe(const MoeCase& m, const std::vector<float>& x, double* gap) {
    const int64_t E = m.c.n_embd, n = m.c.n_expert, k = m.c.n_expert_used, F = m.c.n_ff_exp, S = m.c.n_ff_shexp;
    std::vector<double> logit(static_cast<size_t>(n)), p(static_cast<size_t>(n));
    for (int64_t e = 0; e < n; ++e) {
        for (int64_t i = 0; i < E; ++i) logit[size_t(e)] += double(m.router[size_t(e * E + i)]) * x[size_t(i)];
    }
    const double mx = *std::max_element(logit.begin(), logit.end());
    double sum = 0;
    for (int64_t e = 0; e < n; ++e) sum += p[size_t(e)] = std::exp(logit[size_t(e)] - mx);
    for (double& v : p) v /= sum;
    std::vector<int64_t> ids(static_cast<size_t>(n));
    std::iota(ids.begin(), ids.end(), 0);
    std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return p[size_t(a)] > p[size_t(b)]; });
    *gap = logit[size_t(ids[size_t(k - 1)])] - logit[size_t(ids[size_t(k)])];
    double chosen = 0;
    for (int64_t i = 0; i < k; ++i) chosen += p[size_t(ids[size_t(i)])];
    std::vector<double> out(size_t(E), 0.0);
    auto mlp = [&](const float* g, const float* u, const float* d, int64_t ff, double scale) {
        std::vector<double> h(static_cast<size_t>(ff));
        for (int64_t r = 0; r < ff; ++r) {
            double a = 0, b = 0;
            for (int64_t i = 0; i < E; ++i) {
                a += double(g[r * E + i]) * x[size_t(i)];
                b += double(u[r * E + i]) * x[size_t(i)];
            }
            h[size_t(r)] = silu(a) * b;
        }
        for (int64_t o = 0; o < E; ++o) {
            double s = 0;
            for (int64_t r = 0; r < ff; ++r) s += double(d[o * ff + r]) * h[size_t(r)];
            out[size_t(o)] += scale * s;
        }
    };
    for (int64_t i = 0; i < k; ++i) {
        const int64_t e = ids[size_t(i)];
        mlp(m.gate.data() + e * F * E, m.up.data() + e * F * E, m.down.data() + e * E * F, F,
            p[size_t(e)] / chosen);
    }
    double gl = 0;
    for (int64_t i = 0; i < E; ++i) gl += double(m.sh_inp[size_t(i)]) * x[size_t(i)];
    mlp(m.sg.data(), m.su.data(), m.sd.data(), S, 1.0 / (1.0 + std::exp(-gl)));
    return out;
}

}  // namespace

TEST_CASE("moe_step matches a naive float64 MoE block (64 experts top-8, shared expert)", "[ref][moe]") {
    struct Variant {
        bool fused;
        DType type;
        const char* what;
    };
    const Variant variants[] = {{false, DType::f32, "f32, gate/up apart"},
                                {true, DType::f32, "f32, fused gate_up_exps"},
                                {false, DType::q8_0, "q8_0 experts"}};
    constexpr double kTol = 2e-5;  // relative to the output's max |value|; float32 sums of 256 terms
    for (const Variant& v : variants) {
        MoeCase m;
        make(m, 256, 64, 8, 64, 96, v.fused, v.type, 11);
        ref::Workspace ws(m.c, 1);
        test::Rng rng(23);
        double worst = 0, min_gap = 1e9;
        int checked = 0;
        for (int t = 0; t < 24; ++t) {
            const std::vector<float> x = rng.normals(256);
            double gap = 0;
            const std::vector<double> want = naive_moe(m, x, &gap);
            if (gap < 1e-3) continue;  // a near tie: float32 may legitimately pick the other expert
            min_gap = std::min(min_gap, gap);
            std::vector<float> got(256);
            ref::moe_step(m.c, m.w, x, ws, got);
            double scale = 0;
            for (double w : want) scale = std::max(scale, std::abs(w));
            const double err = test::max_abs_diff(got, want) / scale;
            worst = std::max(worst, err);
            ++checked;
        }
        std::printf("moe_step %-24s vs naive float64: %d tokens, max rel error %.3e (tol %.0e), min top-k gap %.3g\n",
                    v.what, checked, worst, kTol, min_gap);
        CHECK(checked >= 20);
        CHECK(worst < kTol);
    }
}

TEST_CASE("moe_route: softmax, top-k ties go to the lower expert id, weights renormalised", "[ref][moe]") {
    std::vector<float> logits = {1.f, 3.f, 2.f, 3.f, -1.f, 2.f};
    std::vector<int32_t> order(6);
    std::vector<float> w(3);
    ref::moe_route(logits, 3, order, w);
    CHECK(order[0] == 1);  // 3 at experts 1 and 3: the lower id first
    CHECK(order[1] == 3);
    CHECK(order[2] == 2);  // 2 at experts 2 and 5
    double sum = 0;
    for (float p : logits) sum += p;
    CHECK(sum == Approx(1.0).epsilon(1e-6));
    CHECK(w[0] == Approx(std::exp(1.0) / (2 * std::exp(1.0) + 1.0)).epsilon(1e-6));
    CHECK(w[0] + w[1] + w[2] == Approx(1.0).epsilon(1e-6));
    std::vector<float> bad(2);
    CHECK_THROWS_AS(ref::moe_route(logits, 7, order, bad), Error);
}

// Each reference op against a naive float64 loop written here from MODEL.md, on random
// inputs of the real sizes (hidden 1024, dk = dv = 128, head_dim 256, 8/2 attention heads).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "gdn/ref/attention.hpp"
#include "gdn/ref/conv.hpp"
#include "gdn/ref/mlp.hpp"
#include "gdn/ref/norm.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "ref_test_util.hpp"

using namespace gdn;
using gdn::test::max_abs_diff;

namespace {

double naive_silu(double x) { return x / (1.0 + std::exp(-x)); }
double naive_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<double> naive_rms(const std::vector<float>& x, const std::vector<float>& w, double eps,
                              bool one_plus) {
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * (one_plus ? 1.0 + w[i] : double(w[i]));
    return y;
}

}  // namespace

TEST_CASE("rms_norm, rms_norm_one_plus, l2_normalize, gated_rms_norm match naive loops", "[ref][norm]") {
    test::Rng r(11);
    const std::vector<float> x = r.normals(1024, 3.f), w = r.uniforms(1024, -0.5f, 1.5f);
    std::vector<float> y(1024);
    for (bool one_plus : {false, true}) {
        if (one_plus) ref::rms_norm_one_plus(x, w, 1e-6f, y); else ref::rms_norm(x, w, 1e-6f, y);
        const auto want = naive_rms(x, w, 1e-6, one_plus);
        const double err = max_abs_diff(y, want);
        INFO("one_plus " << one_plus << " max abs err " << err);
        WARN("rms_norm" << (one_plus ? "_one_plus" : "") << " max abs err " << err);
        CHECK(err < 1e-5 * test::max_abs<double>(want));
    }
    // in place
    std::vector<float> xi = x;
    ref::rms_norm(xi, w, 1e-6f, xi);
    ref::rms_norm(x, w, 1e-6f, y);
    CHECK(max_abs_diff(xi, y) == 0.0);

    std::vector<float> q = r.normals(128, 0.3f);
    const std::vector<float> q0 = q;
    ref::l2_normalize(q, 1e-6f);
    double ss = 0;
    for (float v : q0) ss += double(v) * v;
    std::vector<double> qn(128);
    for (size_t i = 0; i < 128; ++i) qn[i] = q0[i] / std::sqrt(ss + 1e-6);
    const double lerr = max_abs_diff(q, qn);
    WARN("l2_normalize max abs err " << lerr);
    CHECK(lerr < 1e-6);

    const std::vector<float> o = r.normals(128, 0.2f), z = r.normals(128, 2.f), gw = r.uniforms(128, 0.5f, 1.5f);
    std::vector<float> g(128);
    ref::gated_rms_norm(o, z, gw, 1e-6f, g);
    double so = 0;
    for (float v : o) so += double(v) * v;
    std::vector<double> gwant(128);
    for (size_t i = 0; i < 128; ++i) gwant[i] = gw[i] * (o[i] / std::sqrt(so / 128 + 1e-6)) * naive_silu(z[i]);
    const double gerr = max_abs_diff(g, gwant);
    WARN("gated_rms_norm max abs err " << gerr);
    CHECK(gerr < 1e-5 * test::max_abs<double>(gwant));

    std::vector<float> short_w(100);
    CHECK_THROWS_AS(ref::rms_norm(x, short_w, 1e-6f, y), gdn::Error);
}

TEST_CASE("matvec and embed over f32 and q8_0 weights match naive dots", "[ref][matvec]") {
    test::Rng r(12);
    test::Store s;
    const int64_t cols = 1024, rows = 384;
    const std::vector<float> wv = r.normals(size_t(cols * rows), 0.05f), x = r.normals(size_t(cols));
    for (DType t : {DType::f32, DType::q8_0}) {
        const TensorView w = s.add("w", wv, cols, rows, t);
        std::vector<float> deq(static_cast<size_t>(cols * rows));
        for (int64_t i = 0; i < rows; ++i) gdn::dequantize_row(t, w.row(i), deq.data() + i * cols, cols);
        std::vector<double> want(static_cast<size_t>(rows), 0.0);
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) want[size_t(i)] += double(deq[size_t(i * cols + j)]) * x[size_t(j)];
        std::vector<float> y(static_cast<size_t>(rows));
        ref::matvec(w, x, y);
        const double err = max_abs_diff(y, want);
        WARN("matvec " << dtype_name(t) << " max abs err " << err << " (max |y| " << test::max_abs<double>(want) << ")");
        CHECK(err < 1e-5 * test::max_abs<double>(want));
        if (t == DType::f32) CHECK(max_abs_diff(deq, wv) == 0.0);

        std::vector<float> e(static_cast<size_t>(cols));
        ref::embed(w, 17, e);
        CHECK(max_abs_diff(e, std::span<const float>(deq).subspan(17 * cols, size_t(cols))) == 0.0);
        CHECK_THROWS_AS(ref::embed(w, int32_t(rows), e), gdn::Error);
        CHECK_THROWS_AS(ref::embed(w, -1, e), gdn::Error);
        std::vector<float> y_short(size_t(rows - 1));
        CHECK_THROWS_AS(ref::matvec(w, x, y_short), gdn::Error);
    }
}

TEST_CASE("conv_step equals the causal depthwise conv over the whole history", "[ref][conv]") {
    test::Rng r(13);
    const int64_t dim = 2 * 2 * 128 + 4 * 128, K = 4;  // Hk 2, Hv 4
    const std::vector<float> w = r.normals(size_t(dim * K), 0.5f);
    std::vector<float> state(size_t((K - 1) * dim), 0.f), y(static_cast<size_t>(dim));
    const float* state_addr = state.data();
    std::vector<std::vector<float>> hist;
    double worst = 0;
    for (int t = 0; t < 9; ++t) {
        hist.push_back(r.normals(size_t(dim)));
        ref::conv_step(hist.back(), w, K, state, y);
        std::vector<double> want(static_cast<size_t>(dim), 0.0);
        for (int64_t c = 0; c < dim; ++c)
            for (int64_t j = 0; j < K; ++j) {
                const int src = t - int(K - 1) + int(j);  // taps oldest first, zeros before t = 0
                if (src >= 0) want[size_t(c)] += double(w[size_t(c * K + j)]) * hist[size_t(src)][size_t(c)];
            }
        worst = std::max(worst, max_abs_diff(y, want));
        // the state holds the last K-1 inputs, oldest first
        for (int64_t j = 0; j < K - 1; ++j) {
            const int src = t - int(K - 2) + int(j);
            for (int64_t c = 0; c < dim; ++c)
                REQUIRE(state[size_t(j * dim + c)] == (src >= 0 ? hist[size_t(src)][size_t(c)] : 0.f));
        }
    }
    WARN("conv_step max abs err " << worst);
    CHECK(worst < 1e-5);
    CHECK(state.data() == state_addr);
    std::vector<float> bad_state(static_cast<size_t>(K * dim));
    CHECK_THROWS_AS(ref::conv_step(hist[0], w, K, bad_state, y), gdn::Error);
}

namespace {
// NeoX rotation of dims [0, n_rot) by pos * theta^(-2i/n_rot), angles in double.
void naive_rope(std::vector<double>& h, int64_t n_rot, double theta, int64_t pos) {
    const int64_t half = n_rot / 2;
    for (int64_t i = 0; i < half; ++i) {
        const double ang = double(pos) * std::pow(theta, -2.0 * double(i) / double(n_rot));
        const double a = h[size_t(i)], b = h[size_t(i + half)];
        h[size_t(i)] = a * std::cos(ang) - b * std::sin(ang);
        h[size_t(i + half)] = b * std::cos(ang) + a * std::sin(ang);
    }
}
std::vector<double> naive_norm_rope(const float* x, const std::vector<float>& w, int64_t hd,
                                    int64_t n_rot, int64_t pos) {
    double ss = 0;
    for (int64_t i = 0; i < hd; ++i) ss += double(x[i]) * x[i];
    std::vector<double> h(static_cast<size_t>(hd));
    for (int64_t i = 0; i < hd; ++i) h[size_t(i)] = x[i] / std::sqrt(ss / double(hd) + 1e-6) * w[size_t(i)];
    naive_rope(h, n_rot, 1e7, pos);
    return h;
}
}  // namespace

TEST_CASE("rope_neox rotates the first n_rot dims as NeoX does and passes the rest", "[ref][rope]") {
    test::Rng r(14);
    for (int64_t pos : {0, 1, 7, 100, 1000, 30000}) {
        const std::vector<float> x = r.normals(256);
        std::vector<float> h = x;
        ref::rope_neox(h, 64, 1e7f, pos);
        std::vector<double> want(x.begin(), x.end());
        naive_rope(want, 64, 1e7, pos);
        const double err = max_abs_diff(h, want);
        INFO("pos " << pos << " max abs err " << err);
        // float32 angles as in HF: error grows like pos * 2^-24
        CHECK(err < 1e-5 + 3e-7 * double(pos));
        for (size_t i = 64; i < 256; ++i) REQUIRE(h[i] == x[i]);
    }
}

TEST_CASE("attention_core matches naive GQA attention with q/k norm, partial rope and gate", "[ref][attention]") {
    test::Rng r(15);
    ModelConfig c = test::tiny_config();
    c.n_head = 8;
    c.n_head_kv = 2;  // Qwen3.5-0.8B's heads
    const int64_t nh = c.n_head, nkv = c.n_head_kv, hd = c.head_dim, ctx = 16;
    ref::Workspace ws(c, ctx);
    ref::AttnParams p{r.uniforms(size_t(hd), 0.5f, 1.5f), r.uniforms(size_t(hd), 0.5f, 1.5f)};
    ref::KvCache kv(1, ctx, nkv, hd);
    const float* k_addr = kv.k.data();
    std::vector<std::vector<float>> raw_k, raw_v;
    std::vector<float> y(static_cast<size_t>(nh * hd));
    double worst = 0, worst_cache = 0;
    for (int64_t pos = 0; pos < 12; ++pos) {
        std::vector<float> qg = r.normals(size_t(2 * nh * hd), 2.f);
        const std::vector<float> qg0 = qg;
        std::vector<float> k = r.normals(size_t(nkv * hd), 2.f);
        raw_k.push_back(k);
        raw_v.push_back(r.normals(size_t(nkv * hd)));
        ref::attention_core(c, p, qg, k, raw_v.back(), pos, kv.k_layer(0), kv.v_layer(0), ws, y);

        std::vector<double> want(static_cast<size_t>(nh * hd));
        for (int64_t h = 0; h < nh; ++h) {
            const int64_t g = h / (nh / nkv);
            const auto q = naive_norm_rope(qg0.data() + h * 2 * hd, p.q_norm, hd, c.n_rot, pos);
            std::vector<double> sc(size_t(pos + 1));
            double mx = -1e300;
            for (int64_t t = 0; t <= pos; ++t) {
                const auto kt = naive_norm_rope(raw_k[size_t(t)].data() + g * hd, p.k_norm, hd, c.n_rot, t);
                double s = 0;
                for (int64_t i = 0; i < hd; ++i) s += q[size_t(i)] * kt[size_t(i)];
                sc[size_t(t)] = s / std::sqrt(double(hd));
                mx = std::max(mx, sc[size_t(t)]);
            }
            double den = 0;
            for (double& s : sc) den += (s = std::exp(s - mx));
            for (int64_t i = 0; i < hd; ++i) {
                double o = 0;
                for (int64_t t = 0; t <= pos; ++t) o += sc[size_t(t)] / den * raw_v[size_t(t)][size_t(g * hd + i)];
                want[size_t(h * hd + i)] = o * naive_sigmoid(qg0[size_t(h * 2 * hd + hd + i)]);
            }
        }
        worst = std::max(worst, max_abs_diff(y, want));
        for (int64_t g = 0; g < nkv; ++g) {
            const auto kt = naive_norm_rope(raw_k.back().data() + g * hd, p.k_norm, hd, c.n_rot, pos);
            worst_cache = std::max(worst_cache, max_abs_diff(kv.k_layer(0).subspan(size_t((pos * nkv + g) * hd), size_t(hd)), kt));
            for (int64_t i = 0; i < hd; ++i)
                REQUIRE(kv.v[size_t((pos * nkv + g) * hd + i)] == raw_v.back()[size_t(g * hd + i)]);
        }
    }
    WARN("attention_core max abs err " << worst << ", K cache max abs err " << worst_cache);
    CHECK(worst < 2e-5);
    CHECK(worst_cache < 2e-5);
    CHECK(kv.k.data() == k_addr);
    std::vector<float> qg(size_t(2 * nh * hd)), k(size_t(nkv * hd)), v(size_t(nkv * hd));
    CHECK_THROWS_AS(ref::attention_core(c, p, qg, k, v, ctx, kv.k_layer(0), kv.v_layer(0), ws, y), gdn::Error);
    CHECK_THROWS_AS(kv.k_layer(1), gdn::Error);
}

TEST_CASE("mlp_step is W_down(silu(W_gate x) * W_up x)", "[ref][mlp]") {
    test::Rng r(16);
    ModelConfig c = test::tiny_config();
    c.n_embd = 1024;
    c.n_ff = 3584;  // Qwen3.5-0.8B
    test::Store s;
    const MlpWeights w = test::random_mlp(c, s, r, "blk.0.");
    ref::Workspace ws(c, 1);
    const std::vector<float> x = r.normals(size_t(c.n_embd));
    std::vector<float> out(size_t(c.n_embd));
    ref::mlp_step(w, x, ws, out);
    const auto G = test::values_of(w.gate), U = test::values_of(w.up), D = test::values_of(w.down);
    std::vector<double> hmid(size_t(c.n_ff)), want(size_t(c.n_embd), 0.0);
    for (int64_t i = 0; i < c.n_ff; ++i) {
        double g = 0, u = 0;
        for (int64_t j = 0; j < c.n_embd; ++j) {
            g += double(G[size_t(i * c.n_embd + j)]) * x[size_t(j)];
            u += double(U[size_t(i * c.n_embd + j)]) * x[size_t(j)];
        }
        hmid[size_t(i)] = naive_silu(g) * u;
    }
    for (int64_t o = 0; o < c.n_embd; ++o)
        for (int64_t i = 0; i < c.n_ff; ++i) want[size_t(o)] += double(D[size_t(o * c.n_ff + i)]) * hmid[size_t(i)];
    const double err = max_abs_diff(out, want);
    WARN("mlp_step max abs err " << err << " (max |out| " << test::max_abs<double>(want) << ")");
    CHECK(err < 1e-5 * test::max_abs<double>(want));
}

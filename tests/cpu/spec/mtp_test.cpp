// ref::MtpLayer against a naive float64 evaluation of llama.cpp's qwen35 graph_mtp formula
// (written here from the formula, with naive.hpp's attention), on random hidden states and
// tokens: dense and MoE MLPs, every combination of the optional head tensors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "../ref/naive.hpp"
#include "gdn/ref/mtp.hpp"
#include "spec_test_util.hpp"

using namespace gdn;

namespace {

std::vector<double> naive_mlp(const MlpWeights& m, const std::vector<double>& x) {
    std::vector<double> g = test::naive_matvec(m.gate, x);
    const std::vector<double> u = test::naive_matvec(m.up, x);
    for (size_t i = 0; i < g.size(); ++i) g[i] = test::silu(g[i]) * u[i];
    return test::naive_matvec(m.down, g);
}

// softmax over the experts, top k renormalised, plus the sigmoid-gated shared expert
std::vector<double> naive_moe(const ModelConfig& c, const MoeWeights& m, const std::vector<double>& x) {
    std::vector<double> p = test::naive_matvec(m.router, x);
    const double mx = *std::max_element(p.begin(), p.end());
    double sum = 0;
    for (double& v : p) sum += (v = std::exp(v - mx));
    for (double& v : p) v /= sum;
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
    double chosen = 0;
    for (int64_t i = 0; i < c.n_expert_used; ++i) chosen += p[size_t(order[size_t(i)])];
    std::vector<double> out(x.size(), 0.0);
    for (int64_t i = 0; i < c.n_expert_used; ++i) {
        const int e = order[size_t(i)];
        const std::vector<double> y = naive_mlp(MlpWeights{m.gate(e), m.up(e), m.down(e)}, x);
        for (size_t j = 0; j < out.size(); ++j) out[j] += p[size_t(e)] / chosen * y[j];
    }
    if (m.has_shared()) {
        const std::vector<float> gw = test::values_of(m.shexp_gate);
        double g = 0;
        for (size_t j = 0; j < x.size(); ++j) g += double(gw[j]) * x[j];
        g = 1.0 / (1.0 + std::exp(-g));
        const std::vector<double> y = naive_mlp(m.shexp, x);
        for (size_t j = 0; j < out.size(); ++j) out[j] += g * y[j];
    }
    return out;
}

struct NaiveMtp {
    const ModelWeights& w;
    const MtpWeights& m;
    test::NaiveModel attn;  // only its attention (own key/value history) is used
    std::vector<double> hidden;

    explicit NaiveMtp(const ModelWeights& weights) : w(weights), m(weights.mtp[0]), attn(weights) {
        attn.keys.assign(1, {});
        attn.values.assign(1, {});
    }

    std::vector<double> step(const std::vector<float>& h, int32_t token, int64_t pos) {
        const ModelConfig& c = w.config;
        const std::vector<float> E = test::values_of(m.embed_tokens.empty() ? w.tok_embd : m.embed_tokens);
        std::vector<double> e(E.begin() + token * c.n_embd, E.begin() + (token + 1) * c.n_embd);
        const std::vector<double> hd(h.begin(), h.end());
        std::vector<double> cat = test::naive_rms_norm(e, test::values_of(m.enorm), c.rms_eps);
        const std::vector<double> hn = test::naive_rms_norm(hd, test::values_of(m.hnorm), c.rms_eps);
        cat.insert(cat.end(), hn.begin(), hn.end());
        std::vector<double> x = test::naive_matvec(m.eh_proj, cat);
        attn.pos = pos;
        std::vector<double> d = attn.attention(m.layer.attn, 0, test::naive_rms_norm(x, test::values_of(m.layer.attn_norm), c.rms_eps));
        for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
        const std::vector<double> n = test::naive_rms_norm(x, test::values_of(m.layer.post_attn_norm), c.rms_eps);
        d = m.layer.is_moe() ? naive_moe(c, m.layer.moe, n) : naive_mlp(m.layer.mlp, n);
        for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
        hidden = test::naive_rms_norm(x, test::values_of(m.shared_head_norm.empty() ? w.output_norm : m.shared_head_norm),
                                      c.rms_eps);
        return test::naive_matvec(m.shared_head_head.empty() ? w.output : m.shared_head_head, hidden);
    }
};

}  // namespace

TEST_CASE("MtpLayer matches a naive float64 evaluation of graph_mtp on random inputs", "[spec][mtp]") {
    struct Case {
        const char* name;
        ModelConfig c;
        test::MtpOptional opt;
    };
    ModelConfig untied = test::spec_config();
    untied.tied_embeddings = false;
    const Case cases[] = {
        {"dense, shared_head_norm", test::spec_config(), {}},
        {"dense, trunk head norm", untied, {.head_norm = false}},
        {"dense, own head + embed", untied, {.head_norm = true, .head = true, .embedding = true}},
        {"MoE, shared_head_norm", test::spec_moe_config(), {}},
    };
    const double tol = 1e-4;  // relative to max |logit|: float32 values, float64 sums in gdn::ref
    for (const Case& k : cases) {
        const ModelWeights w = test::random_model(k.c, 21, DType::f32, k.opt);
        const int64_t T = 40;
        ref::MtpLayer mtp(w, T);
        NaiveMtp naive(w);
        test::Rng r(22);
        double worst = 0, worst_h = 0, max_l = 0;
        for (int64_t p = 0; p < T; ++p) {
            // the hand-over as a trunk gives it: an RMS-normed-scale vector (zeros at position 0)
            std::vector<float> h = p == 0 ? std::vector<float>(size_t(k.c.n_embd), 0.f) : r.normals(size_t(k.c.n_embd));
            const auto tok = static_cast<int32_t>(r.uniform(0.f, float(k.c.n_vocab) - 0.01f));
            const auto got = mtp.step(h, tok, p);
            const auto want = naive.step(h, tok, p);
            worst = std::max(worst, test::max_abs_diff(got, want));
            worst_h = std::max(worst_h, test::max_abs_diff(mtp.hidden(), naive.hidden));
            max_l = std::max(max_l, test::max_abs<double>(want));
        }
        std::printf("MtpLayer %-26s vs naive float64: %lld positions, max abs logit err %.3e (max |logit| %.3g, "
                    "tol %.0e relative), max abs hidden err %.3e\n",
                    k.name, static_cast<long long>(T), worst, max_l, tol, worst_h);
        CHECK(worst < tol * max_l);
        CHECK(worst_h < 1e-4);
    }
}

TEST_CASE("MtpLayer: append() writes the KV row step() writes; bad input names what", "[spec][mtp]") {
    const ModelWeights w = test::random_model(test::spec_config(), 3);
    ref::MtpLayer a(w, 8), b(w, 8);
    test::Rng r(4);
    for (int64_t p = 0; p < 8; ++p) {
        const std::vector<float> h = r.normals(size_t(w.config.n_embd));
        a.step(h, int32_t(p * 5 % 53), p);
        b.append(h, int32_t(p * 5 % 53), p);
    }
    CHECK(test::max_abs_diff(a.k_cache(), b.k_cache()) == 0.0);
    CHECK(test::max_abs_diff(a.v_cache(), b.v_cache()) == 0.0);
    CHECK(test::max_abs<float>(a.k_cache()) > 0.0);
    a.reset();
    CHECK(test::max_abs<float>(a.k_cache()) == 0.0);

    const std::vector<float> h(size_t(w.config.n_embd), 0.f);
    CHECK_THROWS_WITH(a.step(h, 0, 8), Catch::Contains("position 8 does not fit max_ctx = 8"));
    CHECK_THROWS_WITH(a.step(std::vector<float>(3), 0, 0), Catch::Contains("hidden state of 3 values"));
    const ModelWeights plain = test::random_model(test::tiny_config(), 3);
    CHECK_THROWS_WITH(ref::MtpLayer(plain, 8), Catch::Contains("the model has 0 MTP blocks"));
}

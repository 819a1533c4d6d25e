// The CUDA MoE MLP (blocks/moe_block.cuh: router GEMV, kernels/moe.cuh gate/up and down) against
// a float64 CPU evaluation of the same bytes: x + sum_e w_e D_e(silu(G_e n) * U_e n) +
// sigmoid(g_sh . n) D_sh(silu(G_sh n) * U_sh n), n = RMSNorm(x) * post_norm, top-k of the
// router's softmax renormalised. Expert rows are dequantised on the host by gdn::dequantize_row.
// Shapes: Qwen3.5-35B-A3B's (2048 wide, 256 experts, top-8, experts and shared expert 512),
// Qwen3-Next-80B-A3B's (512 experts, top-10) and a tiny one (widths not multiples of 256).
// Weights: random blocks with sane scales (quantised formats) or random values, router f32
// with std 1/sqrt(n_embd); x random; 1 to 5 rows; outputs NaN-poisoned. Variants: fused
// ffn_gate_up_exps, a shared expert in another format than the routed ones (extra launches),
// a router that cannot fuse with the shared gate (f16 router: two GEMVs). Checks: the chosen
// experts equal the reference's (rows whose k-th and (k+1)-th logits lie within 1e-3 are redrawn),
// the launch count, and the layer output within rel L2 1e-4 of the delta (max error printed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "../cpu/ref/ref_test_util.hpp"
#include "gdn/blocks/moe_block.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/schedule/device_weights.cuh"
#include "gpu_util.cuh"
#include "matmul_ref.cuh"

namespace {

using gdn::DType;
using gdn::TensorView;

struct Case {
    const char* name;
    int64_t n_embd, n_expert, top_k, n_ff, n_ff_sh;
    DType routed, shared, router;
    bool fused_gate_up;
    int rows;
};

struct HostLayer {
    gdn::test::Store store;
    std::vector<std::vector<std::byte>> blobs;
    gdn::LayerWeights lw;
};

TensorView raw_view(HostLayer& h, std::string name, DType t, int64_t cols, int64_t rows, int64_t experts,
                    uint64_t seed) {
    h.blobs.push_back(gdn::test::random_matrix(t, rows * experts, cols, seed));
    TensorView v;
    v.name = std::move(name);
    v.type = t;
    v.ne = {cols, rows, experts, 1};
    v.n_dims = experts > 1 ? 3 : 2;
    v.data = h.blobs.back().data();
    return v;
}

void make_layer(HostLayer& h, const Case& c, uint64_t seed) {
    gdn::test::Rng r(static_cast<uint32_t>(seed));
    gdn::MoeWeights& m = h.lw.moe;
    h.lw.post_attn_norm = h.store.add("post_attention_norm", r.uniforms(static_cast<size_t>(c.n_embd), 0.5f, 1.5f),
                                      c.n_embd);
    const float ws = 1.f / std::sqrt(float(c.n_embd));
    m.router = h.store.add("ffn_gate_inp", r.normals(static_cast<size_t>(c.n_embd * c.n_expert), ws), c.n_embd,
                           c.n_expert, c.router);
    m.gate_up_fused = c.fused_gate_up;
    if (c.fused_gate_up) {
        m.gate_exps = raw_view(h, "ffn_gate_up_exps", c.routed, c.n_embd, 2 * c.n_ff, c.n_expert, seed + 1);
    } else {
        m.gate_exps = raw_view(h, "ffn_gate_exps", c.routed, c.n_embd, c.n_ff, c.n_expert, seed + 1);
        m.up_exps = raw_view(h, "ffn_up_exps", c.routed, c.n_embd, c.n_ff, c.n_expert, seed + 2);
    }
    m.down_exps = raw_view(h, "ffn_down_exps", c.routed, c.n_ff, c.n_embd, c.n_expert, seed + 3);
    if (c.n_ff_sh > 0) {
        m.shexp_gate = h.store.add("ffn_gate_inp_shexp", r.normals(static_cast<size_t>(c.n_embd), ws), c.n_embd);
        m.shexp.gate = raw_view(h, "ffn_gate_shexp", c.shared, c.n_embd, c.n_ff_sh, 1, seed + 4);
        m.shexp.up = raw_view(h, "ffn_up_shexp", c.shared, c.n_embd, c.n_ff_sh, 1, seed + 5);
        m.shexp.down = raw_view(h, "ffn_down_shexp", c.shared, c.n_ff_sh, c.n_embd, 1, seed + 6);
    }
}

std::vector<double> row_of(const TensorView& t, int64_t r) {
    std::vector<float> f(static_cast<size_t>(t.cols()));
    gdn::dequantize_row(t.type, t.row(r), f.data(), t.cols());
    return {f.begin(), f.end()};
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

/// One expert MLP in float64: D (silu(G n) * (U n)).
std::vector<double> expert_mlp(const TensorView& g, const TensorView& u, const TensorView& d,
                               const std::vector<double>& n) {
    std::vector<double> a(static_cast<size_t>(g.rows()));
    for (int64_t i = 0; i < g.rows(); ++i) {
        const double gv = dot(row_of(g, i), n), uv = dot(row_of(u, i), n);
        a[static_cast<size_t>(i)] = gv / (1.0 + std::exp(-gv)) * uv;
    }
    std::vector<double> y(static_cast<size_t>(d.rows()));
    for (int64_t i = 0; i < d.rows(); ++i) y[static_cast<size_t>(i)] = dot(row_of(d, i), a);
    return y;
}

struct RefRow {
    std::vector<int32_t> ids;
    std::vector<double> delta;
    double gap;  // k-th minus (k+1)-th logit
};

RefRow reference(const HostLayer& h, const Case& c, const float* x) {
    const gdn::MoeWeights& m = h.lw.moe;
    const auto* nw = reinterpret_cast<const float*>(h.lw.post_attn_norm.data);
    double ss = 0;
    for (int64_t i = 0; i < c.n_embd; ++i) ss += double(x[i]) * x[i];
    const double inv = 1.0 / std::sqrt(ss / double(c.n_embd) + 1e-6);
    std::vector<double> n(static_cast<size_t>(c.n_embd));
    for (int64_t i = 0; i < c.n_embd; ++i) n[static_cast<size_t>(i)] = x[i] * inv * nw[i];
    std::vector<double> logit(static_cast<size_t>(c.n_expert));
    for (int64_t e = 0; e < c.n_expert; ++e) logit[static_cast<size_t>(e)] = dot(row_of(m.router, e), n);
    std::vector<int32_t> order(static_cast<size_t>(c.n_expert));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logit[a] > logit[b]; });
    RefRow out;
    out.ids.assign(order.begin(), order.begin() + c.top_k);
    out.gap = logit[order[c.top_k - 1]] - logit[order[c.top_k]];
    double sum = 0;
    for (int32_t e : out.ids) sum += std::exp(logit[e] - logit[out.ids[0]]);
    out.delta.assign(static_cast<size_t>(c.n_embd), 0.0);
    for (int32_t e : out.ids) {
        const double w = std::exp(logit[e] - logit[out.ids[0]]) / sum;
        const auto y = expert_mlp(m.gate(e), m.up(e), m.down(e), n);
        for (size_t i = 0; i < y.size(); ++i) out.delta[i] += w * y[i];
    }
    if (m.has_shared()) {
        const double g = dot(row_of(m.shexp_gate, 0), n);
        const double w = 1.0 / (1.0 + std::exp(-g));
        const auto y = expert_mlp(m.shexp.gate, m.shexp.up, m.shexp.down, n);
        for (size_t i = 0; i < y.size(); ++i) out.delta[i] += w * y[i];
    }
    return out;
}

void run_case(const Case& c, uint64_t seed) {
    HostLayer host;
    make_layer(host, c, seed);
    gdn::ModelWeights mw;
    mw.layers.push_back(host.lw);
    const gdn::ModelWeights dev = gdn::cuda::upload_weights(mw);
    const gdn::LayerWeights& dl = dev.layers[0];

    // x rows whose routing is clear (a near tie would make the choice a coin toss in float32)
    std::vector<float> x;
    std::vector<RefRow> ref;
    for (uint64_t s = seed + 100; static_cast<int>(ref.size()) < c.rows; ++s) {
        auto row = gdn::test::random_floats(static_cast<size_t>(c.n_embd), s, -2.f, 2.f);
        RefRow rr = reference(host, c, row.data());
        if (rr.gap < 1e-3) continue;
        x.insert(x.end(), row.begin(), row.end());
        ref.push_back(std::move(rr));
    }

    const int64_t h_len = c.top_k * c.n_ff + c.n_ff_sh;
    gdn::test::DeviceBuffer<float> xd(x), hd(static_cast<size_t>(c.rows * h_len)),
        logits(static_cast<size_t>(c.rows * (c.n_expert + 2) + 4));
    gdn::test::DeviceBuffer<int32_t> ids(static_cast<size_t>(c.rows * c.top_k));
    hd.poison();
    logits.poison();
    ids.poison();
    gdn::cuda::StepIO io;
    io.x = xd.get();
    io.h = hd.get();
    io.moe_logits = logits.get();
    io.moe_ids = ids.get();
    io.n = c.rows;
    gdn::cuda::MoeLayerState st;
    TensorView fused;
    if (dl.moe.has_shared() && gdn::cuda::adjacent({&dl.moe.router, &dl.moe.shexp_gate})) {
        fused = dl.moe.router;
        fused.ne = {c.n_embd, c.n_expert + 1, 1, 1};
        st.router_fused = &fused;
    }
    gdn::ModelConfig cfg;
    cfg.n_embd = c.n_embd;
    cfg.n_expert = c.n_expert;
    cfg.n_expert_used = c.top_k;
    cfg.n_ff_exp = c.n_ff;
    cfg.n_ff_shexp = c.n_ff_sh;
    const int launches = gdn::cuda::enqueue_moe(cfg, dl, st, io, nullptr);
    GDN_CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(launches == gdn::cuda::moe_launches(dl.moe, st));
    const int want_launches = 3 + (c.router != DType::f32 && c.n_ff_sh > 0 ? 1 : 0) +
                              (c.n_ff_sh > 0 && c.shared != c.routed ? 2 : 0);
    CHECK(launches == want_launches);

    const auto got = xd.download();
    const auto got_ids = ids.download();
    double num = 0, den = 0, max_abs = 0, min_gap = 1e30;
    int id_mismatch = 0;
    for (int s = 0; s < c.rows; ++s) {
        std::vector<int32_t> a(got_ids.begin() + s * c.top_k, got_ids.begin() + (s + 1) * c.top_k);
        id_mismatch += a != ref[static_cast<size_t>(s)].ids;
        min_gap = std::min(min_gap, ref[static_cast<size_t>(s)].gap);
        for (int64_t i = 0; i < c.n_embd; ++i) {
            const size_t k = static_cast<size_t>(s * c.n_embd + i);
            const double want = x[k] + ref[static_cast<size_t>(s)].delta[static_cast<size_t>(i)];
            const double err = std::isfinite(got[k]) ? std::fabs(double(got[k]) - want) : 1e30;
            num += err * err;
            den += ref[static_cast<size_t>(s)].delta[static_cast<size_t>(i)] * ref[static_cast<size_t>(s)].delta[static_cast<size_t>(i)];
            max_abs = std::max(max_abs, err);
        }
    }
    const double rel = std::sqrt(num / std::max(den, 1e-300));
    std::printf("moe %-26s %-7s rows %d: launches %d, experts agree %d/%d (min gap %.1e), max abs %.3e, rel L2 %.3e "
                "(tol %.0e)%s\n",
                c.name, gdn::dtype_name(c.routed).data(), c.rows, launches, c.rows - id_mismatch, c.rows, min_gap,
                max_abs, rel, 1e-4, rel <= 1e-4 && id_mismatch == 0 ? "" : "  FAIL");
    CHECK(id_mismatch == 0);
    CHECK(rel <= 1e-4);
}

}  // namespace

TEST_CASE("MoE MLP at the 35B-A3B shape, every routed format the mixes use") {
    for (DType t : {DType::q4_k, DType::q8_0, DType::q4_0, DType::q6_k, DType::q5_k, DType::iq4_xs, DType::q2_k,
                    DType::mxfp4}) {
        run_case({"35B-A3B", 2048, 256, 8, 512, 512, t, t, DType::f32, false, 2}, 1000 + static_cast<uint64_t>(t));
    }
    run_case({"35B-A3B bf16 (64 experts)", 2048, 64, 8, 512, 512, DType::bf16, DType::bf16, DType::f32, false, 1}, 7);
}

TEST_CASE("MoE MLP variants: batch rows, fused gate_up, shared expert in another format, unfused router") {
    run_case({"35B-A3B 5 rows", 2048, 256, 8, 512, 512, DType::q4_k, DType::q4_k, DType::f32, false, 5}, 11);
    run_case({"35B-A3B gate_up_exps", 2048, 256, 8, 512, 512, DType::q4_k, DType::q4_k, DType::f32, true, 3}, 12);
    run_case({"35B-A3B shexp q8_0", 2048, 256, 8, 512, 512, DType::q4_k, DType::q8_0, DType::f32, false, 3}, 13);
    run_case({"35B-A3B router f16", 2048, 256, 8, 512, 512, DType::q4_k, DType::q4_k, DType::f16, false, 2}, 14);
    run_case({"80B-A3B", 2048, 512, 10, 512, 512, DType::q4_k, DType::q4_k, DType::f32, false, 2}, 15);
    run_case({"tiny f32", 64, 8, 2, 32, 96, DType::f32, DType::f32, DType::f32, false, 3}, 16);
    run_case({"tiny q8_0, no shared expert", 64, 8, 2, 32, 0, DType::q8_0, DType::q8_0, DType::f32, false, 3}, 17);
}

// The DeltaNet reference against a naive float64 loop written here from MODEL.md (whole
// input history kept, no ring buffer), the in-place state, value-head order equivalence and
// the WHT-rotated state, on real head sizes (dk = dv = 128) with Hv = 1x, 2x, 3x Hk.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "gdn/quant/wht.hpp"
#include "gdn/ref/deltanet.hpp"
#include "naive.hpp"
#include "ref_test_util.hpp"

using namespace gdn;
using gdn::test::max_abs_diff;

namespace {

ref::DeltaNetParams random_params(const ModelConfig& c, test::Rng& r) {
    ref::DeltaNetParams p;
    p.conv = r.normals(size_t(c.ssm_conv_dim() * c.ssm_conv_kernel), 0.5f);
    p.dt_bias = r.normals(size_t(c.ssm_n_v_heads));
    p.ssm_a = r.uniforms(size_t(c.ssm_n_v_heads), -0.6f, -0.02f);
    p.norm = r.uniforms(size_t(c.ssm_d_v), 0.5f, 1.5f);
    return p;
}

struct StepInputs {
    std::vector<float> qkv, z, b, a;
};
StepInputs random_inputs(const ModelConfig& c, test::Rng& r) {
    const auto hv = static_cast<size_t>(c.ssm_n_v_heads);
    return {r.normals(size_t(c.ssm_conv_dim())), r.normals(hv * size_t(c.ssm_d_v)), r.normals(hv, 2.f),
            r.normals(hv)};
}

}  // namespace

TEST_CASE("deltanet_recurrence matches the naive recurrence, both head orders, Hv = 1x/2x/3x Hk", "[ref][deltanet]") {
    for (int64_t ratio : {1, 2, 3}) {
        for (HeadOrder order : {HeadOrder::grouped, HeadOrder::tiled}) {
            const ModelConfig c = test::tiny_config(2, ratio, order);
            test::Rng r(uint32_t(100 + ratio * 2 + (order == HeadOrder::tiled)));
            const ref::DeltaNetParams p = random_params(c, r);
            test::NaiveDeltaNet naive(c, p);
            ref::Workspace ws(c, 1);
            std::vector<float> conv_state(size_t((c.ssm_conv_kernel - 1) * c.ssm_conv_dim()), 0.f);
            std::vector<float> state(size_t(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v), 0.f);
            const float* state_addr = state.data();
            const float* conv_addr = conv_state.data();
            std::vector<float> y(size_t(c.ssm_n_v_heads * c.ssm_d_v));
            double worst_y = 0, worst_s = 0, max_y = 0;
            for (int t = 0; t < 24; ++t) {
                const StepInputs in = random_inputs(c, r);
                const std::vector<float> state_before = state;
                ref::deltanet_recurrence(c, p, in.qkv, in.z, in.b, in.a, conv_state, state, false, ws, y);
                const auto want = naive.step(in.qkv, in.z, in.b, in.a);
                worst_y = std::max(worst_y, max_abs_diff(y, want));
                max_y = std::max(max_y, test::max_abs<double>(want));
                worst_s = std::max(worst_s, max_abs_diff(state, naive.S));
                REQUIRE(max_abs_diff(state, state_before) > 0.0);  // updated...
            }
            CHECK(state.data() == state_addr);                     // ...in place
            CHECK(conv_state.data() == conv_addr);
            INFO("ratio " << ratio << " order " << int(order));
            WARN("deltanet ratio " << ratio << (order == HeadOrder::grouped ? " grouped" : " tiled")
                                   << ": max abs err y " << worst_y << " (max |y| " << max_y
                                   << "), state " << worst_s);
            CHECK(worst_y < 1e-5 * max_y);
            CHECK(worst_s < 1e-5);
        }
    }
}

TEST_CASE("deltanet_recurrence rejects inputs of the wrong size", "[ref][deltanet]") {
    const ModelConfig c = test::tiny_config(2, 2);
    test::Rng r(7);
    const ref::DeltaNetParams p = random_params(c, r);
    ref::Workspace ws(c, 1);
    StepInputs in = random_inputs(c, r);
    std::vector<float> conv_state(size_t((c.ssm_conv_kernel - 1) * c.ssm_conv_dim())), y(size_t(c.ssm_n_v_heads * c.ssm_d_v));
    std::vector<float> short_state(size_t(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v - 1));
    CHECK_THROWS_AS(ref::deltanet_recurrence(c, p, in.qkv, in.z, in.b, in.a, conv_state, short_state, false, ws, y),
                    gdn::Error);
    in.b.pop_back();
    std::vector<float> state(size_t(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v));
    CHECK_THROWS_AS(ref::deltanet_recurrence(c, p, in.qkv, in.z, in.b, in.a, conv_state, state, false, ws, y),
                    gdn::Error);
}

namespace {

/// Tiled head h' holds grouped head h = (h' % Hk) * r + h' / Hk (grouped h = kh*r + j,
/// tiled h' = j*Hk + kh).
int64_t grouped_of_tiled(int64_t ht, int64_t hk, int64_t r) { return (ht % hk) * r + ht / hk; }

/// Copies `src` (row-major [rows][cols] f32 values) moving per-value-head row blocks:
/// row block of tiled head h' (block_rows rows, starting at row0) comes from grouped head h.
std::vector<float> permute_row_blocks(const std::vector<float>& src, int64_t cols, int64_t row0,
                                      int64_t block_rows, int64_t hk, int64_t hv) {
    std::vector<float> dst = src;
    for (int64_t ht = 0; ht < hv; ++ht) {
        const int64_t hg = grouped_of_tiled(ht, hk, hv / hk);
        for (int64_t rr = 0; rr < block_rows; ++rr)
            for (int64_t cc = 0; cc < cols; ++cc)
                dst[size_t((row0 + ht * block_rows + rr) * cols + cc)] = src[size_t((row0 + hg * block_rows + rr) * cols + cc)];
    }
    return dst;
}

/// Same for column blocks (the out projection's inputs).
std::vector<float> permute_col_blocks(const std::vector<float>& src, int64_t cols, int64_t rows,
                                      int64_t block_cols, int64_t hk, int64_t hv) {
    std::vector<float> dst = src;
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t ht = 0; ht < hv; ++ht) {
            const int64_t hg = grouped_of_tiled(ht, hk, hv / hk);
            for (int64_t cc = 0; cc < block_cols; ++cc)
                dst[size_t(row * cols + ht * block_cols + cc)] = src[size_t(row * cols + hg * block_cols + cc)];
        }
    return dst;
}

}  // namespace

TEST_CASE("grouped and tiled value-head orders give the same outputs when weights are permuted", "[ref][deltanet]") {
    const int64_t hk = 2, ratio = 3, hv = hk * ratio;
    const ModelConfig cg = test::tiny_config(hk, ratio, HeadOrder::grouped);
    ModelConfig ct = cg;
    ct.v_head_order = HeadOrder::tiled;
    const int64_t e = cg.n_embd, dk = cg.ssm_d_k, dv = cg.ssm_d_v, cd = cg.ssm_conv_dim(), K = cg.ssm_conv_kernel;
    test::Store s;
    test::Rng r(21);
    const DeltaNetWeights wg = test::random_deltanet(cg, s, r, "blk.0.");
    DeltaNetWeights wt;
    const int64_t v_row0 = 2 * hk * dk;  // v channels start after q and k
    wt.qkv = s.add("qkv", permute_row_blocks(test::values_of(wg.qkv), e, v_row0, dv, hk, hv), e, cd);
    wt.conv = s.add("conv", permute_row_blocks(test::values_of(wg.conv), K, v_row0, dv, hk, hv), K, cd);
    wt.z = s.add("z", permute_row_blocks(test::values_of(wg.z), e, 0, dv, hk, hv), e, hv * dv);
    wt.beta = s.add("beta", permute_row_blocks(test::values_of(wg.beta), e, 0, 1, hk, hv), e, hv);
    wt.alpha = s.add("alpha", permute_row_blocks(test::values_of(wg.alpha), e, 0, 1, hk, hv), e, hv);
    wt.dt_bias = s.add("dt_bias", permute_row_blocks(test::values_of(wg.dt_bias), 1, 0, 1, hk, hv), hv);
    wt.ssm_a = s.add("ssm_a", permute_row_blocks(test::values_of(wg.ssm_a), 1, 0, 1, hk, hv), hv);
    wt.ssm_norm = wg.ssm_norm;
    wt.out = s.add("out", permute_col_blocks(test::values_of(wg.out), hv * dv, e, dv, hk, hv), hv * dv, e);

    const auto pg = ref::DeltaNetParams::from_weights(wg), pt = ref::DeltaNetParams::from_weights(wt);
    ref::Workspace wsg(cg, 1), wst(ct, 1);
    std::vector<float> conv_g(size_t((K - 1) * cd), 0.f), conv_t = conv_g;
    std::vector<float> st_g(size_t(hv * dk * dv), 0.f), st_t = st_g;
    std::vector<float> out_g(static_cast<size_t>(e)), out_t(static_cast<size_t>(e));
    double worst = 0, max_out = 0;
    for (int t = 0; t < 30; ++t) {
        const std::vector<float> x = r.normals(size_t(e));
        ref::deltanet_step(cg, wg, pg, x, conv_g, st_g, false, wsg, out_g);
        ref::deltanet_step(ct, wt, pt, x, conv_t, st_t, false, wst, out_t);
        worst = std::max(worst, max_abs_diff(out_g, out_t));
        max_out = std::max(max_out, test::max_abs<float>(out_g));
    }
    // the tiled state is the grouped one with its heads permuted
    double worst_state = 0;
    for (int64_t ht = 0; ht < hv; ++ht) {
        const int64_t hg = grouped_of_tiled(ht, hk, ratio);
        worst_state = std::max(worst_state, max_abs_diff(std::span<const float>(st_t).subspan(size_t(ht * dk * dv), size_t(dk * dv)),
                                                         std::span<const float>(st_g).subspan(size_t(hg * dk * dv), size_t(dk * dv))));
    }
    WARN("head order: max abs output diff " << worst << " (max |out| " << max_out << "), state diff " << worst_state);
    CHECK(max_out > 0.1);
    CHECK(worst < 1e-5 * max_out);
    CHECK(worst_state < 1e-6);
}

TEST_CASE("UseWHT computes the same function over 320 steps, state kept as H S", "[ref][deltanet][wht]") {
    const ModelConfig c = test::tiny_config(2, 2, HeadOrder::tiled);
    const int64_t hv = c.ssm_n_v_heads, dk = c.ssm_d_k, dv = c.ssm_d_v, K = c.ssm_conv_kernel;
    test::Rng r(31);
    const ref::DeltaNetParams p = random_params(c, r);
    ref::Workspace ws(c, 1);
    std::vector<float> conv_plain(size_t((K - 1) * c.ssm_conv_dim()), 0.f), conv_wht = conv_plain;
    std::vector<float> st_plain(size_t(hv * dk * dv), 0.f), st_wht = st_plain;
    std::vector<float> y_plain(size_t(hv * dv)), y_wht(size_t(hv * dv));
    double worst = 0, max_y = 0;
    for (int t = 0; t < 320; ++t) {
        const StepInputs in = random_inputs(c, r);
        ref::deltanet_recurrence(c, p, in.qkv, in.z, in.b, in.a, conv_plain, st_plain, false, ws, y_plain);
        ref::deltanet_recurrence(c, p, in.qkv, in.z, in.b, in.a, conv_wht, st_wht, true, ws, y_wht);
        worst = std::max(worst, max_abs_diff(y_plain, y_wht));
        max_y = std::max(max_y, test::max_abs<float>(y_plain));
    }
    // rotate each key column of the plain state: H S
    std::vector<float> rotated = st_plain, col(static_cast<size_t>(dk));
    for (int64_t h = 0; h < hv; ++h)
        for (int64_t j = 0; j < dv; ++j) {
            for (int64_t i = 0; i < dk; ++i) col[size_t(i)] = st_plain[size_t((h * dk + i) * dv + j)];
            quant::wht(col.data(), dk);
            for (int64_t i = 0; i < dk; ++i) rotated[size_t((h * dk + i) * dv + j)] = col[size_t(i)];
        }
    const double state_err = max_abs_diff(st_wht, rotated);
    const double state_plain_diff = max_abs_diff(st_wht, st_plain);
    WARN("WHT vs plain over 320 steps: max abs y diff " << worst << " (max |y| " << max_y
         << "), state vs H S " << state_err << ", unrotated state differs by " << state_plain_diff);
    CHECK(worst < 1e-4 * max_y);
    CHECK(state_err < 1e-5);
    CHECK(state_plain_diff > 1e-2);  // the state really is in another basis
    CHECK(max_abs_diff(conv_plain, conv_wht) == 0.0);
}

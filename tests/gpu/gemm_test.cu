// GEMM kernels (gdn/kernels/gemm.cuh) against a float64 CPU product of the same weights: rows
// dequantised on the host by gdn::dequantize_row (gdn/quant), dot products summed in double
// with the float x (or x normalised in double for the RMSNorm prologue).
// Tolerance: |gpu - ref| <= 2e-3 * S, S = sum_k |w_k x_k| of the output (plus |resid|, and the
// first-order propagation through silu(g) * u for gate/up). Why 2e-3: the kernel rounds w
// (times norm_w) and x to TF32 (round to nearest, unit roundoff u = 2^-11), so each product
// carries a relative error <= 2u + u^2 ~ 9.8e-4; float32 accumulation and the float RMSNorm
// scale add < 1e-5 at these depths. 2e-3 is twice the worst case; a wrong fragment layout,
// scale or stale tile gives errors of order 1.
// Every case: random weights (real quantised blocks, or random bytes with sane f16 scales for
// the K-quants), random x, NaN-poisoned outputs (and a check that nothing past n_tok is
// written). Large shapes are checked on a sample of rows (every token), small ones on all.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gdn/kernels/gemm.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gpu_util.cuh"
#include "matmul_ref.cuh"

namespace {

using gdn::DType;
using namespace gdn::test;  // DeviceBuffer, compare, the float64 reference of matmul_ref.cuh

constexpr double k_tol = 2e-3;

enum Variant : unsigned { v_plain = 1, v_norm = 2, v_resid = 4, v_resid_inplace = 8, v_gate_up = 16, v_all = 31 };

struct Case {
    DType t;
    int64_t cols, rows;
    std::vector<int64_t> sel;
    int n_max;
};

// Compares y[0..n) on the selected rows, and that y past token n kept its NaN poison.
gdn::test::ErrorStats compare_output(const Case& c, const std::vector<float>& y, int n,
                                     const std::vector<double>& want_all, const std::vector<double>& scale_all,
                                     size_t& n_overwritten) {
    const size_t n_sel = c.sel.size();
    std::vector<float> got;
    std::vector<double> want, scale;
    for (int s = 0; s < n; ++s) {
        for (size_t j = 0; j < n_sel; ++j) {
            got.push_back(y[s * c.rows + c.sel[j]]);
            want.push_back(want_all[s * n_sel + j]);
            scale.push_back(scale_all[s * n_sel + j]);
        }
    }
    n_overwritten = 0;
    for (size_t i = static_cast<size_t>(n) * c.rows; i < y.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &y[i], 4);
        n_overwritten += bits != 0xffffffffu;
    }
    return gdn::test::compare(got, want, scale, k_tol);
}

void report(const Case& c, const char* launcher, const char* variant, int n, const gdn::test::ErrorStats& e,
            size_t n_overwritten) {
    std::printf("%-6s %-5s %-13s cols %6lld rows %6lld n_tok %4d (%5zu rows checked): max abs %.3e, "
                "max rel(S) %.3e (tol %.0e)%s%s\n",
                launcher, gdn::dtype_name(c.t).data(), variant, static_cast<long long>(c.cols),
                static_cast<long long>(c.rows), n, c.sel.size(), e.max_abs, e.max_rel, k_tol,
                e.n_bad ? "  FAIL" : "", n_overwritten ? "  WROTE PAST n_tok" : "");
}

// On failure: where the worst output sits, to tell a layout fault from a format fault.
void report_worst(const Case& c, const gdn::test::ErrorStats& e, const std::vector<float>& y, int n,
                  const std::vector<double>& want) {
    if (e.n_bad == 0) return;
    const size_t n_sel = c.sel.size();
    const size_t tok = e.worst / n_sel, j = e.worst % n_sel;
    std::printf("    %zu bad of %zu; worst at token %zu row %lld: got %.6e want %.6e\n", e.n_bad, n * n_sel, tok,
                static_cast<long long>(c.sel[j]), double(y[tok * c.rows + c.sel[j]]), want[e.worst]);
}

template <class F>
void check_gemm(int64_t cols, int64_t rows, std::vector<int> n_toks, uint64_t seed, unsigned variants,
                int sample = 0) {
    Case c{F::dtype, cols, rows, select_rows(rows, sample, seed + 9), *std::max_element(n_toks.begin(), n_toks.end())};
    const int n_max = c.n_max;
    const auto wg_h = random_matrix(c.t, rows, cols, seed);
    const auto wu_h = (variants & v_gate_up) ? random_matrix(c.t, rows, cols, seed + 1) : std::vector<std::byte>{};
    const auto x_h = gdn::test::random_floats(static_cast<size_t>(n_max * cols), seed + 2);
    const auto nw_h = gdn::test::random_floats(static_cast<size_t>(cols), seed + 3, 0.5f, 1.5f);
    const auto resid_h = gdn::test::random_floats(static_cast<size_t>(n_max * rows), seed + 4);
    const float eps = 1e-6f;

    DeviceBuffer<std::byte> wg(wg_h), wu(std::max<size_t>(wu_h.size(), 16));
    if (!wu_h.empty()) wu.upload(wu_h);
    DeviceBuffer<float> x(x_h), nw(nw_h), res(resid_h), y(static_cast<size_t>(n_max * rows));

    const std::vector<double> xd(x_h.begin(), x_h.end());
    const std::vector<double> xn = normed(x_h, nw_h, n_max, cols, eps);
    const Products g_plain = (variants & (v_plain | v_resid | v_resid_inplace))
                                 ? reference_products(c.t, wg_h, c.sel, cols, xd, n_max) : Products{};
    const Products g_norm = (variants & (v_norm | v_gate_up)) ? reference_products(c.t, wg_h, c.sel, cols, xn, n_max)
                                                          : Products{};
    const Products u_norm = (variants & v_gate_up) ? reference_products(c.t, wu_h, c.sel, cols, xn, n_max) : Products{};
    const size_t n_sel = c.sel.size();

    for (int n : n_toks) {
        gdn::kernels::GemmParams p;
        p.w = wg.get();
        p.type = c.t;
        p.rows = rows;
        p.cols = cols;
        p.x = x.get();
        p.y = y.get();
        p.n_tok = n;
        size_t over = 0;
        auto run = [&](const char* name, const gdn::kernels::GemmParams& q, bool dual, const std::vector<double>& want,
                       const std::vector<double>& scale) {
            if (dual) {
                gdn::kernels::launch_gemm_gate_up(q, nullptr);
            } else {
                gdn::kernels::launch_gemm(q, nullptr);
            }
            GDN_CUDA_CHECK(cudaDeviceSynchronize());
            const auto got = y.download();
            const auto e = compare_output(c, got, n, want, scale, over);
            report(c, "gemm", name, n, e, over);
            report_worst(c, e, got, n, want);
            CHECK(e.n_bad == 0);
            CHECK(over == 0);
        };
        if (variants & v_plain) {
            y.poison();
            run("plain", p, false, g_plain.dot, g_plain.scale);
        }
        if (variants & v_norm) {
            y.poison();
            auto q = p;
            q.norm_w = nw.get();
            q.norm_eps = eps;
            run("rmsnorm", q, false, g_norm.dot, g_norm.scale);
        }
        if (variants & (v_resid | v_resid_inplace)) {
            std::vector<double> want(n_max * n_sel), scale(n_max * n_sel);
            for (int s = 0; s < n_max; ++s) {
                for (size_t j = 0; j < n_sel; ++j) {
                    const double r = resid_h[s * rows + c.sel[j]];
                    want[s * n_sel + j] = r + g_plain.dot[s * n_sel + j];
                    scale[s * n_sel + j] = g_plain.scale[s * n_sel + j] + std::fabs(r);
                }
            }
            if (variants & v_resid) {
                y.poison();
                auto q = p;
                q.resid = res.get();
                run("resid", q, false, want, scale);
            }
            if (variants & v_resid_inplace) {
                y.poison();  // y = resid for the first n tokens, poison after
                GDN_CUDA_CHECK(cudaMemcpy(y.get(), resid_h.data(), size_t(n) * rows * 4, cudaMemcpyHostToDevice));
                auto q = p;
                q.resid = y.get();
                run("resid-inplace", q, false, want, scale);
            }
        }
        if (variants & v_gate_up) {
            const Expected h = gate_up_expected(g_norm, u_norm);
            y.poison();
            auto q = p;
            q.w_up = wu.get();
            q.norm_w = nw.get();
            q.norm_eps = eps;
            run("gate_up+norm", q, true, h.want, h.scale);
        }
    }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("gemm matches the float64 reference at Qwen3.5 shapes", "[gemm]", gdn::all_formats) {
    // (cols = inputs, rows = outputs). 0.8B-sized square, every variant, every token count
    // (n_tok 1 and 3 through launch_gemm itself, below the router's GEMV cut)
    check_gemm<TestType>(1024, 1024, {1, 3, 9, 64, 100, 512}, 11, v_all);
    // odd rows (partial row tiles, q6_k / q8_0 rows at 2-byte offsets)
    check_gemm<TestType>(2048, 1029, {9, 100}, 12, v_all);
    // 9B gate/up (12288 x 4096): 96 row tiles in 6 rasterisation groups, 4 token tiles
    check_gemm<TestType>(4096, 12288, {512}, 13, v_plain | v_gate_up, 40);
    // 9B down (4096 x 12288): residual added in place
    check_gemm<TestType>(12288, 4096, {64, 100}, 14, v_resid_inplace | v_norm, 40);
    // 27B up (17408 x 5120)
    check_gemm<TestType>(5120, 17408, {9}, 15, v_norm, 32);
}

TEMPLATE_TEST_CASE("gemm at the widths of tiny models", "[gemm]", gdn::f32, gdn::f16, gdn::bf16) {
    check_gemm<TestType>(64, 288, {9, 100}, 21, v_all);   // hidden 64 (the HF parity fixtures)
    check_gemm<TestType>(70, 57, {9, 130}, 22, v_all);    // cols % 4 != 0: x copied by words, k tail
    check_gemm<TestType>(256, 300, {17}, 23, v_all);
}

TEMPLATE_LIST_TEST_CASE("gemm at widths of a few 32-blocks", "[gemm]", gdn::all_formats) {
    if constexpr (TestType::block_elems != 32) return;
    check_gemm<TestType>(96, 57, {9, 130}, 31, v_all);   // a partial raw chunk
    check_gemm<TestType>(1312, 515, {33}, 32, v_all);
}

TEMPLATE_TEST_CASE("launch_matmul routes n_tok <= 8 to the GEMV and more to the GEMM", "[gemm]", gdn::q8_0,
                   gdn::q4_k, gdn::bf16) {
    constexpr DType t = TestType::dtype;
    const int64_t cols = 1024, rows = 1100;
    const int n_max = 9;
    const auto wg_h = random_matrix(t, rows, cols, 41), wu_h = random_matrix(t, rows, cols, 42);
    const auto x_h = gdn::test::random_floats(static_cast<size_t>(n_max * cols), 43);
    const auto nw_h = gdn::test::random_floats(static_cast<size_t>(cols), 44, 0.5f, 1.5f);
    DeviceBuffer<std::byte> wg(wg_h), wu(wu_h);
    DeviceBuffer<float> x(x_h), nw(nw_h), y(static_cast<size_t>(n_max * rows)), y2(static_cast<size_t>(n_max * rows));
    const Case c{t, cols, rows, select_rows(rows, 0, 0), n_max};
    const std::vector<double> xn = normed(x_h, nw_h, n_max, cols, 1e-6);
    const Products g = reference_products(t, wg_h, c.sel, cols, xn, n_max);
    const Products u = reference_products(t, wu_h, c.sel, cols, xn, n_max);
    for (bool dual : {false, true}) {
        const Expected h = dual ? gate_up_expected(g, u) : Expected{g.dot, g.scale};
        const std::vector<double>& want = h.want;
        const std::vector<double>& scale = h.scale;
        for (int n = 1; n <= n_max; ++n) {
            gdn::kernels::GemmParams p;
            p.w = wg.get();
            p.w_up = dual ? wu.get() : nullptr;
            p.type = t;
            p.rows = rows;
            p.cols = cols;
            p.x = x.get();
            p.y = y.get();
            p.norm_w = nw.get();
            p.n_tok = n;
            y.poison();
            if (dual) {
                gdn::kernels::launch_matmul_gate_up(p, nullptr);
            } else {
                gdn::kernels::launch_matmul(p, nullptr);
            }
            // the kernel it should have taken, into y2
            auto q = p;
            q.y = y2.get();
            y2.poison();
            if (n <= 8) {
                const auto v = gdn::kernels::gemm_detail::as_gemv(q);
                if (dual) {
                    gdn::kernels::launch_gemv_gate_up(v, nullptr);
                } else {
                    gdn::kernels::launch_gemv(v, nullptr);
                }
            } else if (dual) {
                gdn::kernels::launch_gemm_gate_up(q, nullptr);
            } else {
                gdn::kernels::launch_gemm(q, nullptr);
            }
            GDN_CUDA_CHECK(cudaDeviceSynchronize());
            const auto got = y.download(), direct = y2.download();
            CHECK(std::memcmp(got.data(), direct.data(), got.size() * 4) == 0);
            size_t over = 0;
            const auto e = compare_output(c, got, n, want, scale, over);
            report(c, "matmul", dual ? "gate_up+norm" : "rmsnorm", n, e, over);
            report_worst(c, e, got, n, want);
            CHECK(e.n_bad == 0);
            CHECK(over == 0);
        }
    }
}

TEST_CASE("gemm launchers reject bad arguments", "[gemm]") {
    DeviceBuffer<std::byte> w(1 << 16);
    DeviceBuffer<float> x(4096), y(4096);
    gdn::kernels::GemmParams p;
    p.w = w.get();
    p.type = DType::q8_0;
    p.rows = 16;
    p.cols = 64;
    p.x = x.get();
    p.y = y.get();
    p.n_tok = 20;
    gdn::kernels::launch_gemm(p, nullptr);  // valid
    GDN_CUDA_CHECK(cudaDeviceSynchronize());
    auto bad = p;
    bad.cols = 48;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr),
                      Catch::Contains("cols = 48") && Catch::Contains("block size 32"));
    bad = p;
    bad.type = DType::q4_k;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("block size 256"));
    bad = p;
    bad.type = static_cast<DType>(99);
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("unsupported weight type id 99"));
    bad = p;
    bad.n_tok = 0;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("n_tok = 0"));
    CHECK_THROWS_WITH(gdn::kernels::launch_matmul(bad, nullptr), Catch::Contains("n_tok = 0"));
    bad = p;
    bad.w = nullptr;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("null"));
    bad = p;
    bad.x = nullptr;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("null"));
    bad = p;
    bad.w = w.get() + 2;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("aligned"));
    bad = p;
    bad.x = x.get() + 1;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("aligned"));
    bad = p;
    bad.x = y.get() + 4;  // inside y
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("x overlaps y"));
    bad = p;
    bad.resid = y.get() + 4;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("resid partially overlaps"));
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm_gate_up(p, nullptr), Catch::Contains("w_up"));
    bad = p;
    bad.w_up = w.get();
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("w_up is set"));
    bad.resid = y.get();
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm_gate_up(bad, nullptr), Catch::Contains("no residual"));
    bad = p;
    bad.norm_w = x.get();
    bad.norm_eps = 0.f;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("norm_eps"));
    bad = p;
    bad.rows = 0;
    CHECK_THROWS_WITH(gdn::kernels::launch_gemm(bad, nullptr), Catch::Contains("rows = 0"));
}

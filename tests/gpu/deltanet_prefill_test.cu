// tests/gpu/deltanet_prefill_test.cu - gdn::kernels::launch_deltanet_prefill (T tokens of one
// sequence in one call) against
//   (a) the naive double-precision CPU loop of tests/gpu/deltanet_ref.cuh (MODEL.md steps 2-6,
//       deltanet_step_test's reference), run token by token; value heads on threads, and
//   (b) T calls of launch_deltanet_step on the GPU from the same start (y, state, conv ring).
// Real Qwen3.5 shapes (Hk = 16, Hv = 16 / 32 / 48, dk = dv = 128), both head orders, f32 and bf16
// state, WHT on and off, T in {1, 63, 64, 65, 300, 2000}, from position 0 with a zero state and
// ring and from a later position with a random state and ring; inputs either dense or as views
// into the decoder's fused projection rows [T, conv_dim + Hv*dv + 2*Hv].
//
// Errors are |gpu - ref| / (|ref| + rms(ref)), rms over the compared vector (a token's y row or
// the whole state), as in deltanet_step_test. The GPU state is V-major [Hv, dv, dk]; the
// comparisons transpose it to the reference's [Hv, dk, dv] (transpose_heads).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "gdn/kernels/deltanet_prefill.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "deltanet_ref.cuh"
#include "gpu_util.cuh"

namespace {

using gdn::HeadOrder;
using gdn::kernels::DeltaNetPrefillParams;
using gdn::kernels::DeltaNetStepParams;
using gdn::test::DeviceBuffer;
using namespace gdn::test::deltanet;  // the reference, Layer, RefSeq, Err

/// T tokens of projection outputs in the decoder's fused row layout
/// [T, conv_dim + Hv*dv + 2*Hv (+ pad)]: q|k|v, z, b, a.
struct Tokens {
    int n = 0;
    int64_t conv_dim = 0, zdim = 0, hv = 0, stride = 0;
    std::vector<float> rows;
    [[nodiscard]] const float* qkv(int t) const { return &rows[size_t(t * stride)]; }
    [[nodiscard]] const float* z(int t) const { return qkv(t) + conv_dim; }
    [[nodiscard]] const float* b(int t) const { return z(t) + zdim; }
    [[nodiscard]] const float* a(int t) const { return b(t) + hv; }
};

enum class Inputs { random, hard };

/// Random inputs scaled like the step test's (activations of order 1). `hard`: strongly
/// correlated keys (one common qkv row plus 5% noise), beta ~ 0.98 and almost no decay, the
/// worst conditioning of (I + A) and the longest memory.
Tokens make_tokens(const Layer& L, int n, std::mt19937_64& rng, Inputs kind) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    Tokens in;
    in.n = n;
    in.conv_dim = L.conv_dim;
    in.zdim = int64_t(L.hv) * kD;
    in.hv = L.hv;
    in.stride = L.conv_dim + in.zdim + 2 * L.hv + 4;  // + 4: a row stride wider than the data
    in.rows.resize(size_t(n * in.stride));
    std::vector<float> common(static_cast<size_t>(L.conv_dim));
    for (auto& x : common) x = 1.5f * u(rng);
    for (int t = 0; t < n; ++t) {
        float* r = &in.rows[size_t(t * in.stride)];
        for (int64_t c = 0; c < L.conv_dim; ++c) {
            const bool qk = c < 2 * int64_t(L.hk) * kD;
            r[c] = kind == Inputs::hard && qk ? common[size_t(c)] + 0.05f * u(rng) : 1.5f * u(rng);
        }
        for (int64_t j = 0; j < in.zdim; ++j) r[L.conv_dim + j] = 2.f * u(rng);
        for (int h = 0; h < L.hv; ++h) {
            r[L.conv_dim + in.zdim + h] = kind == Inputs::hard ? 4.f + 0.5f * u(rng) : 3.f * u(rng);
            r[L.conv_dim + in.zdim + L.hv + h] = kind == Inputs::hard ? -6.f + u(rng) : u(rng);
        }
        for (int e = 0; e < 4; ++e) r[L.conv_dim + in.zdim + 2 * L.hv + e] = 1e30f;  // never read
    }
    return in;
}

/// The reference (deltanet_ref.cuh) over tokens [t0, t0 + n): conv token by token, then every
/// value head's recurrence on its own thread (the heads are independent). y [n, Hv*dv].
void ref_run(const Layer& L, HeadOrder order, RefSeq& st, const Tokens& in, int t0, int n,
             std::vector<double>& y) {
    const int64_t cd = L.conv_dim;
    std::vector<double> u(size_t(n) * size_t(cd));
    for (int t = 0; t < n; ++t) ref_conv_token(L, st.hist, in.qkv(t0 + t), &u[size_t(t) * size_t(cd)]);
    const size_t ydim = size_t(L.hv) * kD;
    y.assign(size_t(n) * ydim, 0.0);
    auto head = [&](int h) {
        double* S = &st.s[size_t(h) * kD * kD];
        for (int t = 0; t < n; ++t)
            ref_head_token(L, order, h, S, &u[size_t(t) * size_t(cd)], in.b(t0 + t)[h], in.a(t0 + t)[h],
                           in.z(t0 + t) + h * kD, &y[size_t(t) * ydim + size_t(h) * kD]);
    };
    const int n_threads = std::max(1, std::min<int>(L.hv, int(std::thread::hardware_concurrency())));
    std::vector<std::thread> pool;
    for (int w = 0; w < n_threads; ++w)
        pool.emplace_back([&, w] {
            for (int h = w; h < L.hv; h += n_threads) head(h);
        });
    for (auto& th : pool) th.join();
}

/// Per-row error of y [T, ydim] (got with row stride `stride`) against want [T, ydim].
Err rows_err(const std::vector<float>& got, int64_t stride, const std::vector<double>& want,
             int n, size_t ydim) {
    Err e;
    std::vector<double> row(ydim);
    for (int t = 0; t < n; ++t) {
        for (size_t j = 0; j < ydim; ++j) row[j] = got[size_t(t * stride) + j];
        e.add(row.data(), &want[size_t(t) * ydim], ydim);
    }
    return e;
}

/// Device copies of one case's inputs: the fused rows, or dense q|k|v, z, b, a buffers.
struct DeviceTokens {
    DeviceBuffer<float> rows, qkv, z, b, a;
    bool fused;
    int64_t qkv_s = 0, z_s = 0, b_s = 0, a_s = 0;  // effective strides (never 0)
    const float *qkv_p, *z_p, *b_p, *a_p;
    DeviceTokens(const Tokens& in, bool fused_) : fused(fused_) {
        const int n = in.n;
        if (fused) {
            rows = DeviceBuffer<float>(in.rows);
            qkv_p = rows.get();
            z_p = qkv_p + in.conv_dim;
            b_p = z_p + in.zdim;
            a_p = b_p + in.hv;
            qkv_s = z_s = b_s = a_s = in.stride;
        } else {
            std::vector<float> q(size_t(n * in.conv_dim)), zz(size_t(n * in.zdim)), bb(size_t(n * in.hv)),
                aa(size_t(n * in.hv));
            for (int t = 0; t < n; ++t) {
                std::memcpy(&q[size_t(t * in.conv_dim)], in.qkv(t), sizeof(float) * size_t(in.conv_dim));
                std::memcpy(&zz[size_t(t * in.zdim)], in.z(t), sizeof(float) * size_t(in.zdim));
                std::memcpy(&bb[size_t(t * in.hv)], in.b(t), sizeof(float) * size_t(in.hv));
                std::memcpy(&aa[size_t(t * in.hv)], in.a(t), sizeof(float) * size_t(in.hv));
            }
            qkv = DeviceBuffer<float>(q); z = DeviceBuffer<float>(zz);
            b = DeviceBuffer<float>(bb); a = DeviceBuffer<float>(aa);
            qkv_p = qkv.get(); z_p = z.get(); b_p = b.get(); a_p = a.get();
            qkv_s = in.conv_dim; z_s = in.zdim; b_s = a_s = in.hv;
        }
    }
    /// True when the device copy still equals the host rows (the prefill must not write them).
    [[nodiscard]] bool unchanged(const Tokens& in) const {
        if (fused) return rows.download() == in.rows;
        const std::vector<float> q = qkv.download();
        for (int t = 0; t < in.n; ++t)
            if (std::memcmp(&q[size_t(t * in.conv_dim)], in.qkv(t), sizeof(float) * size_t(in.conv_dim)))
                return false;
        return true;
    }
};

/// The layer's weights on the device.
struct DeviceLayer {
    DeviceBuffer<float> conv_w, dt_bias, ssm_a, norm_w;
    explicit DeviceLayer(const Layer& L)
        : conv_w(L.conv_w), dt_bias(L.dt_bias), ssm_a(L.ssm_a), norm_w(L.norm_w) {}
};

/// One state variant: the prefill and the step chain, each with its own state and ring.
template <class StateT, bool UseWHT>
struct Variant {
    const Layer& L;
    int n;
    DeviceBuffer<float> ring_pf, ring_st, y_pf, y_st;
    DeviceBuffer<StateT> s_pf, s_st;
    DeviceBuffer<unsigned char> ws;
    DeviceBuffer<int32_t> pos_pf, pos_st;
    int64_t y_stride;
    DeltaNetPrefillParams<StateT> pp;
    DeltaNetStepParams<StateT> sp;

    Variant(const Layer& layer, HeadOrder order, const RefSeq& init, int32_t pos0, int n_tok,
            const DeviceLayer& dl, const DeviceTokens& dt, int slice, int scan_threads)
        : L(layer), n(n_tok), ring_pf(size_t(kTaps * layer.conv_dim)), ring_st(size_t(kTaps * layer.conv_dim)),
          y_pf(size_t(n_tok) * size_t(layer.hv * kD + (dt.fused ? 36 : 0))),
          y_st(size_t(n_tok) * layer.hv * kD), s_pf(size_t(layer.hv) * kD * kD), s_st(size_t(layer.hv) * kD * kD),
          ws(gdn::kernels::deltanet_prefill_workspace_bytes(n_tok, layer.hk, layer.hv, kD, kD)),
          pos_pf(1), pos_st(size_t(n_tok)) {
        y_stride = dt.fused ? layer.hv * kD + 36 : 0;
        std::vector<float> ring(ring_pf.size()), hist(size_t(3 * layer.conv_dim));
        for (size_t i = 0; i < hist.size(); ++i) hist[i] = float(init.hist[i]);
        gdn::kernels::conv_ring_from_history(hist.data(), layer.conv_dim, pos0, ring.data());
        ring_pf.upload(ring);
        ring_st.upload(ring);
        std::vector<double> s0 = init.s;
        if (UseWHT) rotate_keys(s0);
        transpose_heads(s0);  // the GPU's V-major layout
        std::vector<StateT> sh(s0.size());
        for (size_t i = 0; i < s0.size(); ++i) sh[i] = float_to_state<StateT>(float(s0[i]));
        s_pf.upload(sh);
        s_st.upload(sh);
        ws.poison();  // "any content": NaN everywhere
        y_pf.poison();
        pos_pf.upload({pos0});
        std::vector<int32_t> ps(static_cast<size_t>(n_tok));
        for (int t = 0; t < n_tok; ++t) ps[size_t(t)] = pos0 + t;
        pos_st.upload(ps);

        pp.n_tok = n_tok;
        pp.n_k_heads = layer.hk;
        pp.n_v_heads = layer.hv;
        pp.order = order;
        pp.wht = UseWHT;
        pp.slice = slice;
        pp.scan_threads = scan_threads;
        pp.qkv = dt.qkv_p; pp.z = dt.z_p; pp.b = dt.b_p; pp.a = dt.a_p;
        if (dt.fused) {
            pp.qkv_stride = pp.z_stride = pp.b_stride = pp.a_stride = dt.qkv_s;
            pp.y_stride = y_stride;
        }
        pp.conv_w = dl.conv_w.get(); pp.dt_bias = dl.dt_bias.get(); pp.ssm_a = dl.ssm_a.get();
        pp.norm_w = dl.norm_w.get();
        pp.pos = pos_pf.get();
        pp.conv_ring = ring_pf.get();
        pp.state = s_pf.get();
        pp.y = y_pf.get();
        pp.workspace = ws.get();

        sp.n_seq = 1;
        sp.n_k_heads = layer.hk;
        sp.n_v_heads = layer.hv;
        sp.order = order;
        sp.conv_w = pp.conv_w; sp.dt_bias = pp.dt_bias; sp.ssm_a = pp.ssm_a; sp.norm_w = pp.norm_w;
        sp.conv_ring = ring_st.get();
        sp.state = s_st.get();
    }

    void run(const DeviceTokens& dt) {
        gdn::kernels::launch_deltanet_prefill<StateT>(pp, nullptr);
        for (int t = 0; t < n; ++t) {
            sp.qkv = dt.qkv_p + t * dt.qkv_s;
            sp.z = dt.z_p + t * dt.z_s;
            sp.b = dt.b_p + t * dt.b_s;
            sp.a = dt.a_p + t * dt.a_s;
            sp.pos = pos_st.get() + t;
            sp.y = y_st.get() + size_t(t) * L.hv * kD;
            gdn::kernels::launch_deltanet_step<StateT, UseWHT>(sp, nullptr);
        }
        GDN_CUDA_CHECK(cudaDeviceSynchronize());
    }

    /// A downloaded state as stored (rotated key basis with WHT), in the reference's layout.
    [[nodiscard]] static std::vector<double> raw_state(const DeviceBuffer<StateT>& s) {
        const std::vector<StateT> raw = s.download();
        std::vector<double> out(raw.size());
        for (size_t i = 0; i < raw.size(); ++i) out[i] = state_to_double<StateT>(raw[i]);
        transpose_heads(out);
        return out;
    }
    /// A downloaded state in the reference (unrotated) basis.
    [[nodiscard]] std::vector<double> state_of(const DeviceBuffer<StateT>& s) const {
        std::vector<double> out = raw_state(s);
        if (UseWHT) rotate_keys(out);
        return out;
    }
};

/// The start the GPU variant really holds, in the reference basis: the state rotated (WHT),
/// rounded to the state type, rotated back. The reference runs from it, so y compares the
/// arithmetic and not the start's rounding (bf16 in the rotated basis is not bf16-exact in
/// the plain one).
template <class StateT, bool UseWHT>
RefSeq stored_start(const RefSeq& init) {
    RefSeq r = init;
    if (UseWHT) rotate_keys(r.s);
    for (double& x : r.s) x = state_to_double<StateT>(float_to_state<StateT>(float(x)));
    if (UseWHT) rotate_keys(r.s);
    return r;
}

/// Error per [dk, dv] head matrix (rms per head) of got against want.
Err heads_err(const std::vector<double>& got, const std::vector<double>& want) {
    Err e;
    for (size_t h = 0; h < got.size(); h += size_t(kD) * kD) e.add(&got[h], &want[h], size_t(kD) * kD);
    return e;
}

struct VariantResult {
    Err y_ref, s_ref, y_step, s_step, step_y_ref, step_s_ref;  // prefill vs ref / vs step chain; step vs ref
    size_t ring_vs_step = 0, ring_vs_ref = 0;
};

struct Case {
    int hk, hv;
    HeadOrder order;
    int n;
    bool fresh;    // pos 0, zero state and ring; else a later position, random state and ring
    bool fused;    // inputs as views into fused projection rows (and a wider y stride)
    Inputs kind;
};

// Tolerances on |gpu - ref| / (|ref| + rms(ref)) (rms per y row, per state head).
// f32 state, and y with either state (y never sees a bf16 rounding: the reference starts from
// the state as stored and the prefill works in float): float rounding of the chunked form
// (H200: y max 2.4e-5, mean 1.0e-7; S max 3.2e-5; prefill vs the step chain y 2.3e-5, S 3.2e-5).
constexpr double kTolF32 = 1e-4, kTolF32Mean = 2e-6;
// The bf16 final state, compared as stored: one rounding to nearest, at most 2^-8 = 3.9e-3
// relative, plus float noise (H200: max 3.6e-3).
constexpr double kTolBf16State = 4.5e-3;
// bf16 prefill against the bf16 step chain: within 2x the chain's own error against the
// reference (deltanet_step_test: up to 0.23 over 1200 steps) plus the prefill's tolerance; the
// two errors have different denominators (H200: up to 1.42x, hard inputs, state).
constexpr double kTolBf16Step = 2.0;
// "hard" inputs (correlated keys, beta ~ 1, no decay): float rounding amplified by the
// conditioning, for the step chain and the prefill alike (H200: y 3.8e-5, S 4.3e-5; step 4e-5).
constexpr double kTolHard = 3e-4;

struct Summary {
    Err f32_y, f32_s, bf16_y, bf16_s, f32_vs_step_y, f32_vs_step_s, bf16_vs_step_y;
};
Summary g_summary;

/// One variant against the reference (run from the start this variant stores; `ref_y` and
/// `ref_end` are reused when that start is the case's own) and against its step chain.
/// States are compared as stored (rotated with WHT), per head: a bf16 state is then off by
/// one rounding, at most 2^-8 relative, plus float noise.
template <class StateT, bool UseWHT>
VariantResult run_variant(const Case& c, const Layer& L, const RefSeq& init, int32_t pos0,
                          const DeviceLayer& dl, const DeviceTokens& dt, const Tokens& in,
                          const std::vector<double>& ref_y, const RefSeq& ref_end, int slice,
                          int scan_threads) {
    Variant<StateT, UseWHT> v(L, c.order, init, pos0, c.n, dl, dt, slice, scan_threads);
    v.run(dt);
    RefSeq own = stored_start<StateT, UseWHT>(init);
    std::vector<double> own_y;
    const bool reuse = own.s == init.s;
    if (!reuse) ref_run(L, c.order, own, in, 0, c.n, own_y);
    const std::vector<double>& y_ref = reuse ? ref_y : own_y;
    std::vector<double> s_want = reuse ? ref_end.s : own.s;
    if (UseWHT) rotate_keys(s_want);

    VariantResult r;
    const size_t ydim = size_t(L.hv) * kD;
    const std::vector<float> ypf = v.y_pf.download();
    const std::vector<float> yst = v.y_st.download();
    const int64_t ys = v.y_stride ? v.y_stride : int64_t(ydim);
    r.y_ref = rows_err(ypf, ys, y_ref, c.n, ydim);
    r.step_y_ref = rows_err(yst, int64_t(ydim), y_ref, c.n, ydim);
    r.y_step = rows_err(ypf, ys, std::vector<double>(yst.begin(), yst.end()), c.n, ydim);
    const std::vector<double> spf = v.raw_state(v.s_pf), sst = v.raw_state(v.s_st);
    r.s_ref = heads_err(spf, s_want);
    r.step_s_ref = heads_err(sst, s_want);
    r.s_step = heads_err(spf, sst);
    const std::vector<float> rpf = v.ring_pf.download(), rst = v.ring_st.download();
    for (size_t i = 0; i < rpf.size(); ++i)
        if (std::memcmp(&rpf[i], &rst[i], sizeof(float)) != 0) ++r.ring_vs_step;
    std::vector<float> hist(size_t(3 * L.conv_dim));
    gdn::kernels::conv_ring_to_history(rpf.data(), L.conv_dim, pos0 + c.n, hist.data());
    for (size_t i = 0; i < hist.size(); ++i)
        if (double(hist[i]) != ref_end.hist[i]) ++r.ring_vs_ref;
    return r;
}

void check_variant(const Case& c, const char* name, bool bf16, const VariantResult& r) {
    const bool hard = c.kind == Inputs::hard;
    const double tol_y = hard ? kTolHard : kTolF32;
    const double tol_s = bf16 ? kTolBf16State + tol_y : tol_y;
    // bf16: the step chain rounds the state after every token, so the prefill may differ from
    // it by the chain's own error against the reference (plus the prefill's).
    const double tol_step_y = bf16 ? kTolBf16Step * r.step_y_ref.max + tol_y : tol_y;
    const double tol_step_s = bf16 ? kTolBf16Step * r.step_s_ref.max + tol_s : tol_y;
    std::printf("  %-9s y/ref max %.2e mean %.1e | S/ref max %.2e | vs step: y max %.2e S max %.2e"
                " (step/ref: y %.2e S %.2e) | ring diffs %zu/%zu\n",
                name, r.y_ref.max, r.y_ref.mean(), r.s_ref.max, r.y_step.max, r.s_step.max,
                r.step_y_ref.max, r.step_s_ref.max, r.ring_vs_step, r.ring_vs_ref);
    INFO("Hk=" << c.hk << " Hv=" << c.hv << " " << order_name(c.order) << " T=" << c.n
               << (c.fresh ? " fresh" : " continued") << (c.fused ? " fused" : " dense")
               << (hard ? " hard" : "") << " variant " << name);
    CHECK(r.y_ref.non_finite + r.s_ref.non_finite + r.y_step.non_finite + r.s_step.non_finite == 0);
    CHECK(r.y_ref.n == size_t(c.n) * size_t(c.hv) * kD);
    CHECK(r.y_ref.max <= tol_y);
    CHECK(r.y_ref.mean() <= kTolF32Mean * (hard ? 10 : 1));
    CHECK(r.s_ref.max <= tol_s);
    CHECK(r.y_step.max <= tol_step_y);
    CHECK(r.s_step.max <= tol_step_s);
    CHECK(r.ring_vs_step == 0);
    CHECK(r.ring_vs_ref == 0);
    if (!hard) {
        if (bf16) {
            g_summary.bf16_y.merge(r.y_ref);
            g_summary.bf16_s.merge(r.s_ref);
            g_summary.bf16_vs_step_y.merge(r.y_step);
        } else {
            g_summary.f32_y.merge(r.y_ref);
            g_summary.f32_s.merge(r.s_ref);
            g_summary.f32_vs_step_y.merge(r.y_step);
            g_summary.f32_vs_step_s.merge(r.s_step);
        }
    }
}

RefSeq random_init(const Layer& L, std::mt19937_64& rng, bool fresh) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    RefSeq r;
    r.s.assign(size_t(L.hv) * kD * kD, 0.0);
    r.hist.assign(size_t(3 * L.conv_dim), 0.0);
    if (fresh) return r;
    for (auto& x : r.s) x = __bfloat162float(__float2bfloat16_rn(0.3f * u(rng)));  // same start for bf16
    for (auto& x : r.hist) x = 1.5f * u(rng);
    return r;
}

/// One case: the reference once, then the four state variants on the same inputs.
void run_case(const Case& c) {
    const uint64_t seed = uint64_t(c.hv * 100000 + c.n * 10 + (c.fresh ? 1 : 0)) + (c.kind == Inputs::hard ? 7 : 0);
    const Layer L(c.hk, c.hv, seed);
    std::mt19937_64 rng(seed * 31 + 5);
    const RefSeq init = random_init(L, rng, c.fresh);
    const int32_t pos0 = c.fresh ? 0 : int32_t(5 + c.n % 4 + (c.hv / 16));  // every slot phase appears
    const Tokens in = make_tokens(L, c.n, rng, c.kind);
    RefSeq ref = init;
    std::vector<double> y_ref;
    ref_run(L, c.order, ref, in, 0, c.n, y_ref);

    const DeviceLayer dl(L);
    const DeviceTokens dt(in, c.fused);
    std::printf("deltanet_prefill Hk=%d Hv=%d %-7s T=%-4d pos0=%-2d %s %s%s\n", c.hk, c.hv,
                order_name(c.order), c.n, pos0, c.fresh ? "fresh    " : "continued",
                c.fused ? "fused" : "dense", c.kind == Inputs::hard ? " hard" : "");
    // Scan variants (columns, threads): f32 (16, 256) (opt-in), f32+WHT (32, 256), bf16
    // (16, 128), bf16+WHT auto (16, 128 for Hv 16 and 32; 32, 256 for Hv 48 on 132 SMs).
    check_variant(c, "f32", false, run_variant<float, false>(c, L, init, pos0, dl, dt, in, y_ref, ref, 16, 256));
    check_variant(c, "f32+WHT", false, run_variant<float, true>(c, L, init, pos0, dl, dt, in, y_ref, ref, 32, 256));
    check_variant(c, "bf16", true, run_variant<__nv_bfloat16, false>(c, L, init, pos0, dl, dt, in, y_ref, ref, 16, 128));
    check_variant(c, "bf16+WHT", true, run_variant<__nv_bfloat16, true>(c, L, init, pos0, dl, dt, in, y_ref, ref, 0, 0));
    CHECK(dt.unchanged(in));
}

void print_summary() {
    const Summary& s = g_summary;
    std::printf("deltanet_prefill summary over the random-input cases (error = |gpu-ref|/(|ref|+rms(ref))):\n"
                "  f32 state : y max %.3g mean %.3g, S max %.3g mean %.3g (tol %.0e, mean %.0e)\n"
                "  bf16 state: y max %.3g mean %.3g, S max %.3g mean %.3g (tol y %.0e, S %.0e)\n"
                "  prefill vs the T-step chain, f32: y max %.3g, S max %.3g; bf16: y max %.3g (tol %.1fx the chain's own error)\n",
                s.f32_y.max, s.f32_y.mean(), s.f32_s.max, s.f32_s.mean(), kTolF32, kTolF32Mean,
                s.bf16_y.max, s.bf16_y.mean(), s.bf16_s.max, s.bf16_s.mean(), kTolF32, kTolBf16State + kTolF32,
                s.f32_vs_step_y.max, s.f32_vs_step_s.max, s.bf16_vs_step_y.max, kTolBf16Step);
}

}  // namespace

TEST_CASE("deltanet_prefill matches the reference and T step calls", "[deltanet_prefill]") {
    const std::pair<int, int> shapes[] = {{16, 16}, {16, 32}, {16, 48}};
    for (const auto& [hk, hv] : shapes)
        for (HeadOrder order : {HeadOrder::grouped, HeadOrder::tiled})
            for (bool fresh : {true, false})
                for (int n : {1, 63, 64, 65, 300})
                    run_case({hk, hv, order, n, fresh, /*fused=*/(n + int(fresh)) % 2 == 0, Inputs::random});
    print_summary();
}

TEST_CASE("deltanet_prefill long prompts (T = 2000)", "[deltanet_prefill][long]") {
    run_case({16, 16, HeadOrder::tiled, 2000, true, true, Inputs::random});
    run_case({16, 32, HeadOrder::grouped, 2000, false, false, Inputs::random});
    run_case({16, 48, HeadOrder::grouped, 2000, false, true, Inputs::random});
    print_summary();
}

TEST_CASE("deltanet_prefill on hard inputs (correlated keys, beta ~ 1, no decay)", "[deltanet_prefill]") {
    run_case({16, 32, HeadOrder::tiled, 65, false, true, Inputs::hard});
    run_case({16, 16, HeadOrder::grouped, 300, true, false, Inputs::hard});
}

// Several prefills back to back (T < 4 included, so the ring keeps older slots), then step
// calls, against one reference run: each prefill continues from the state and ring the
// previous one left.
TEST_CASE("deltanet_prefill in pieces, then decode steps", "[deltanet_prefill]") {
    const int hk = 16, hv = 32;
    const HeadOrder order = HeadOrder::tiled;
    const int pieces[] = {2, 70, 1, 3, 64, 5};
    const int n_steps = 5;
    int total = n_steps;
    for (int p : pieces) total += p;
    const Layer L(hk, hv, 4242);
    std::mt19937_64 rng(4243);
    RefSeq ref = random_init(L, rng, false);
    const int32_t pos0 = 9;
    const Tokens in = make_tokens(L, total, rng, Inputs::random);
    const DeviceLayer dl(L);
    const DeviceTokens dt(in, true);
    // f32 state with WHT (the prefill and the step must agree on the rotated basis).
    Variant<float, true> v(L, order, ref, pos0, total, dl, dt, 0, 0);
    std::vector<double> y_ref;
    ref_run(L, order, ref, in, 0, total, y_ref);
    DeviceBuffer<int32_t> pos_dev(1);
    int t0 = 0;
    for (int p : pieces) {
        DeltaNetPrefillParams<float> pp = v.pp;
        pp.n_tok = p;
        pp.qkv = dt.qkv_p + t0 * dt.qkv_s;
        pp.z = dt.z_p + t0 * dt.z_s;
        pp.b = dt.b_p + t0 * dt.b_s;
        pp.a = dt.a_p + t0 * dt.a_s;
        pp.y = v.y_pf.get() + t0 * v.y_stride;
        pos_dev.upload({pos0 + t0});
        pp.pos = pos_dev.get();
        gdn::kernels::launch_deltanet_prefill<float>(pp, nullptr);
        GDN_CUDA_CHECK(cudaDeviceSynchronize());
        t0 += p;
    }
    DeltaNetStepParams<float> sp = v.sp;  // steps continue on the prefill's own state and ring
    sp.conv_ring = v.ring_pf.get();
    sp.state = v.s_pf.get();
    for (; t0 < total; ++t0) {
        sp.qkv = dt.qkv_p + t0 * dt.qkv_s;
        sp.z = dt.z_p + t0 * dt.z_s;
        sp.b = dt.b_p + t0 * dt.b_s;
        sp.a = dt.a_p + t0 * dt.a_s;
        sp.pos = v.pos_st.get() + t0;  // pos0 + t0
        sp.y = v.y_pf.get() + t0 * v.y_stride;
        gdn::kernels::launch_deltanet_step<float, true>(sp, nullptr);
    }
    GDN_CUDA_CHECK(cudaDeviceSynchronize());
    const size_t ydim = size_t(hv) * kD;
    const Err ey = rows_err(v.y_pf.download(), v.y_stride, y_ref, total, ydim);
    Err es;
    const std::vector<double> s = v.state_of(v.s_pf);
    es.add(s.data(), ref.s.data(), s.size());
    std::vector<float> hist(size_t(3 * L.conv_dim));
    gdn::kernels::conv_ring_to_history(v.ring_pf.download().data(), L.conv_dim, pos0 + total, hist.data());
    size_t ring_diff = 0;
    for (size_t i = 0; i < hist.size(); ++i) ring_diff += double(hist[i]) != ref.hist[i];
    std::printf("deltanet_prefill pieces {2,70,1,3,64,5} + 5 steps, Hk=16 Hv=32 f32+WHT: y max %.3g "
                "mean %.3g, S max %.3g (tol %.0e), ring diffs %zu\n",
                ey.max, ey.mean(), es.max, kTolF32, ring_diff);
    CHECK(ey.non_finite + es.non_finite == 0);
    CHECK(ey.max <= kTolF32);
    CHECK(es.max <= kTolF32);
    CHECK(ring_diff == 0);
}

TEST_CASE("deltanet_prefill launcher rejects bad arguments", "[deltanet_prefill]") {
    const Layer L(16, 32, 5);
    std::mt19937_64 rng(6);
    const RefSeq init = random_init(L, rng, false);
    const Tokens in = make_tokens(L, 8, rng, Inputs::random);
    const DeviceLayer dl(L);
    const DeviceTokens dt(in, false);
    Variant<float, false> v(L, HeadOrder::tiled, init, 3, 8, dl, dt, 0, 0);
    using P = DeltaNetPrefillParams<float>;
    auto launch = [](const P& p) { gdn::kernels::launch_deltanet_prefill<float>(p, nullptr); };
    const gdn::test::RejectCheck reject{v.pp, launch};
    reject([](P& p) { p.n_tok = 0; }, "n_tok");
    reject([](P& p) { p.n_v_heads = 24; }, "not a multiple of Hk");
    reject([](P& p) { p.d_k = 64; }, "dk=dv=128");
    reject([](P& p) { p.d_v = 256; }, "dk=dv=128");
    reject([](P& p) { p.state = nullptr; }, "state is null");
    reject([](P& p) { p.workspace = nullptr; }, "workspace is null");
    reject([](P& p) { p.pos = nullptr; }, "pos is null");
    reject([](P& p) { p.qkv = p.qkv + 1; }, "qkv must be 16-byte aligned");
    reject([](P& p) { p.workspace = static_cast<char*>(p.workspace) + 8; }, "workspace must be 16-byte aligned");
    reject([&](P& p) { p.qkv_stride = L.conv_dim + 2; }, "qkv_stride");
    reject([](P& p) { p.z_stride = 5; }, "z_stride");
    reject([](P& p) { p.slice = 8; }, "slice must be");
    reject([](P& p) { p.slice = 32; p.scan_threads = 128; }, "scan_threads must be");
    reject([](P& p) { p.norm_eps = 0.f; }, "norm_eps");
    CHECK(gdn::kernels::deltanet_prefill_workspace_bytes(0, 16, 16, 128, 128) == 0);
    // T = 65 pads to 128 tokens: q|k|v rows, g and beta, Tinv and M per chunk (6144 = conv_dim).
    CHECK(gdn::kernels::deltanet_prefill_workspace_bytes(65, 16, 16, 128, 128) >=
          sizeof(float) * 128 * (6144 + 130 * 16));
    GDN_CUDA_CHECK(cudaDeviceSynchronize());  // nothing was enqueued by the rejected calls
}

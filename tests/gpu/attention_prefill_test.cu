// tests/gpu/attention_prefill_test.cu - gdn::kernels::launch_attention_prefill against
//  (a) T calls of launch_attention_decode from the same starting cache: cache rows
//      pos0..pos0+T-1 byte-identical, rows < pos0 and >= pos0+T untouched (a cache filled
//      by decode steps below pos0, NaN poison above, so a read past the causal end shows);
//  (b) the T decode outputs (tight: both float32 over the same cache), and a float64 loop
//      over the K/V rows the prefill stored (downloaded and dequantised on the host) with
//      the host's normed, rotated (and WHT-rotated) queries, on a subset of the tokens;
//  (c) bad arguments raise gdn::Error; a bad pos writes no row and NaN outputs.
// Inputs are the decoder's fused projection rows [T, 2*H*hd + 2*Hkv*hd] (q | k | v views
// with row stride = that width), uniform in [-1, 1); norm weights in [0.8, 2).
// Errors are max |got - want| over one token's [H, hd] outputs divided by max |want| there,
// the worst token printed per case.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/attention_prefill.cuh"
#include "gdn/quant/blocks.hpp"
#include "gdn/quant/half.hpp"
#include "gdn/quant/wht.hpp"
#include "gdn/ref/attention.hpp"
#include "gdn/ref/norm.hpp"
#include "attention_ref.cuh"
#include "gpu_util.cuh"

namespace {

using gdn::kernels::AttentionDecodeParams;
using gdn::kernels::AttentionPrefillParams;
using gdn::kernels::KvRotation;
using gdn::test::DeviceBuffer;
using namespace gdn::test::attention;  // kHd, kv_name, dequant_row, attend_f64
constexpr int kW = 64;  // FAWindow of the decode launches the prefill is compared with

// Prefill against decode: the same float32 cache rows and queries, only the summation
// order of q.k, of the softmax sum and of P*V differs (a few ulp per term).
constexpr double kTolDecode = 1e-4;
// Against the float64 loop over the stored K/V: the decode test's tight tolerance.
constexpr double kTolOwn = 2e-4;

/// n floats uniform in [lo, hi) (splitmix64; the inputs are tens of millions of floats).
std::vector<float> fast_random(size_t n, uint64_t seed, float lo, float hi) {
    std::vector<float> v(n);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    for (auto& x : v) {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x = lo + (hi - lo) * (static_cast<float>(z >> 40) * (1.0f / 16777216.0f));
    }
    return v;
}

struct Shape {
    int n_head, n_head_kv;
};

/// Everything one (shape, KV format, rotation) needs on the device.
template <class Kv, KvRotation Rot>
struct Rig {
    static constexpr int row_bytes = gdn::kernels::kv_row_bytes_v<Kv>;
    int H, Hkv, width, max_ctx, max_tok;
    size_t cache_bytes;
    std::vector<float> qn, kn;
    DeviceBuffer<float> d_qn, d_kn, d_in, d_out_pf, d_out_dec;
    DeviceBuffer<int32_t> d_positions;  // [max_ctx + 1]: 0, 1, 2, ... (and one past)
    DeviceBuffer<uint8_t> d_k0, d_v0, d_ka, d_va, d_kb, d_vb, d_ws_pf, d_ws_dec;

    Rig(Shape s, int max_tokens, int ctx, uint64_t seed)
        : H(s.n_head), Hkv(s.n_head_kv), width(2 * s.n_head * kHd + 2 * s.n_head_kv * kHd),
          max_ctx(ctx), max_tok(max_tokens),
          cache_bytes(size_t(ctx) * s.n_head_kv * row_bytes),
          qn(fast_random(kHd, seed + 1, 0.8f, 2.f)), kn(fast_random(kHd, seed + 2, 0.8f, 2.f)),
          d_qn(qn), d_kn(kn), d_in(size_t(max_tokens) * width),
          d_out_pf(size_t(max_tokens) * s.n_head * kHd),
          d_out_dec(size_t(max_tokens) * s.n_head * kHd), d_positions(size_t(ctx) + 1),
          d_k0(cache_bytes), d_v0(cache_bytes), d_ka(cache_bytes), d_va(cache_bytes),
          d_kb(cache_bytes), d_vb(cache_bytes),
          d_ws_pf(gdn::kernels::attention_prefill_workspace_bytes(max_tokens, s.n_head,
                                                                  s.n_head_kv, kHd)),
          d_ws_dec(gdn::kernels::attention_workspace_bytes(1, s.n_head, s.n_head_kv)) {
        std::vector<int32_t> positions(size_t(ctx) + 1);
        for (size_t i = 0; i < positions.size(); ++i) positions[i] = int32_t(i);
        d_positions.upload(positions);
        d_ws_pf.poison();
        d_ws_dec.poison();
        gdn::kernels::attention_workspace_init(d_ws_dec.get(), 1, H, Hkv, nullptr);
    }

    const float* q_in(int t) const { return d_in.get() + size_t(t) * width; }
    const float* k_in(int t) const { return q_in(t) + 2 * H * kHd; }
    const float* v_in(int t) const { return k_in(t) + Hkv * kHd; }

    /// One decode step per token t < n of d_in at position pos0 + t on (kc, vc); output
    /// of token t at out + t*H*hd (or all at out when shared_out).
    void decode(int pos0, int n, uint8_t* kc, uint8_t* vc, float* out, bool shared_out) {
        for (int t = 0; t < n; ++t) {
            AttentionDecodeParams p;
            p.q_proj = q_in(t);
            p.k = k_in(t);
            p.v = v_in(t);
            p.q_norm = d_qn.get();
            p.k_norm = d_kn.get();
            p.pos = d_positions.get() + pos0 + t;
            p.k_cache = kc;
            p.v_cache = vc;
            p.out = shared_out ? out : out + size_t(t) * H * kHd;
            p.workspace = d_ws_dec.get();
            p.n_seq = 1;
            p.n_head = H;
            p.n_head_kv = Hkv;
            p.max_ctx = max_ctx;
            p.window_len = gdn::kernels::attention_window_len<kW>(pos0 + t + 1);
            gdn::kernels::launch_attention_decode<kW, Kv, Rot>(p, nullptr);
        }
    }

    AttentionPrefillParams prefill_params(int n, const int32_t* pos) const {
        AttentionPrefillParams p;
        p.n_tok = n;
        p.q_proj = q_in(0);
        p.k = k_in(0);
        p.v = v_in(0);
        p.q_stride = p.k_stride = p.v_stride = width;
        p.q_norm = d_qn.get();
        p.k_norm = d_kn.get();
        p.pos = pos;
        p.k_cache = d_ka.get();
        p.v_cache = d_va.get();
        p.out = d_out_pf.get();
        p.workspace = d_ws_pf.get();
        p.n_head = H;
        p.n_head_kv = Hkv;
        p.head_dim = kHd;
        p.n_rot = 64;
        p.max_ctx = max_ctx;
        p.rope_theta = 1e7f;
        p.rms_eps = 1e-6f;
        return p;
    }
};

/// Bytes of rows [r0, r1) of two caches that differ; the first one is described in `first`.
template <int RowBytes>
size_t diff_rows(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int hkv, int r0,
                 int r1, char* first, size_t first_len, const char* what) {
    size_t n = 0;
    const size_t lo = size_t(r0) * hkv * RowBytes, hi = size_t(r1) * hkv * RowBytes;
    for (size_t i = lo; i < hi; ++i) {
        if (a[i] != b[i]) {
            if (n == 0) {
                const size_t row = i / RowBytes;
                std::snprintf(first, first_len, "%s: position %zu head %zu byte %zu: %02x vs %02x",
                              what, row / size_t(hkv), row % size_t(hkv), i % RowBytes, a[i], b[i]);
            }
            ++n;
        }
    }
    return n;
}

/// max |got - want| / max |want| over one token's outputs, float (both from the GPU).
double token_error(const float* got, const float* want, size_t n) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; ++i) {
        const double e = std::isfinite(got[i]) && std::isfinite(want[i])
                             ? std::fabs(double(got[i]) - double(want[i]))
                             : INFINITY;
        err = std::max(err, e);
        scale = std::max(scale, std::fabs(double(want[i])));
    }
    return scale > 0 ? err / scale : err;
}

/// One prefill of n tokens at pos0 against decode and the float64 loop. Returns false on a
/// failure (after the CHECKs have recorded it).
template <class Kv, KvRotation Rot>
bool run_prefill(Rig<Kv, Rot>& rig, int pos0, int n, uint64_t seed) {
    constexpr int row_bytes = Rig<Kv, Rot>::row_bytes;
    const int H = rig.H, Hkv = rig.Hkv, G = H / Hkv, W = rig.width;
    const std::vector<float> in = fast_random(size_t(n) * W, seed, -1.f, 1.f);
    GDN_CUDA_CHECK(cudaMemcpy(rig.d_in.get(), in.data(), in.size() * 4, cudaMemcpyHostToDevice));
    // Starting cache: rows < pos0 from the decode-filled cache, the rest NaN poison.
    std::vector<uint8_t> k_start = rig.d_k0.download(), v_start = rig.d_v0.download();
    const size_t keep = size_t(pos0) * Hkv * row_bytes;
    std::fill(k_start.begin() + keep, k_start.end(), uint8_t{0xFF});
    std::fill(v_start.begin() + keep, v_start.end(), uint8_t{0xFF});
    rig.d_ka.upload(k_start);
    rig.d_va.upload(v_start);
    rig.d_kb.upload(k_start);
    rig.d_vb.upload(v_start);
    rig.d_out_pf.poison();
    rig.d_out_dec.poison();
    rig.d_ws_pf.poison(0x7F);  // "any content": large finite floats

    gdn::kernels::launch_attention_prefill<Kv, Rot>(
        rig.prefill_params(n, rig.d_positions.get() + pos0), nullptr);
    GDN_CUDA_CHECK(cudaDeviceSynchronize());
    rig.decode(pos0, n, rig.d_kb.get(), rig.d_vb.get(), rig.d_out_dec.get(), false);
    GDN_CUDA_CHECK(cudaDeviceSynchronize());

    const auto ka = rig.d_ka.download(), va = rig.d_va.download();
    const auto kb = rig.d_kb.download(), vb = rig.d_vb.download();
    const auto out = rig.d_out_pf.download(), dec = rig.d_out_dec.download();

    // (a) the cache.
    char first_k[256] = "", first_v[256] = "", scratch[256];
    const size_t new_diff =
        diff_rows<row_bytes>(ka, kb, Hkv, pos0, pos0 + n, first_k, sizeof first_k, "K") +
        diff_rows<row_bytes>(va, vb, Hkv, pos0, pos0 + n, first_v, sizeof first_v, "V");
    const size_t touched =
        diff_rows<row_bytes>(ka, k_start, Hkv, 0, pos0, scratch, sizeof scratch, "K") +
        diff_rows<row_bytes>(va, v_start, Hkv, 0, pos0, scratch, sizeof scratch, "V") +
        diff_rows<row_bytes>(ka, k_start, Hkv, pos0 + n, rig.max_ctx, scratch, sizeof scratch, "K") +
        diff_rows<row_bytes>(va, v_start, Hkv, pos0 + n, rig.max_ctx, scratch, sizeof scratch, "V");

    // (b1) against the decode outputs, every token.
    const size_t per_tok = size_t(H) * kHd;
    double worst_dec = 0;
    int worst_dec_tok = 0;
    for (int t = 0; t < n; ++t) {
        const double e = token_error(out.data() + t * per_tok, dec.data() + t * per_tok, per_tok);
        if (!(e <= worst_dec)) {
            worst_dec = e;
            worst_dec_tok = t;
        }
    }

    // (b2) float64 over the stored K/V, on a spread of tokens (tile edges included).
    std::vector<int> toks;
    for (int i = 0; i < 7; ++i) toks.push_back(int((int64_t(i) * (n - 1)) / 6));
    for (int t : {1, 9, 10, 15, 16, 63, 64}) {
        if (t < n) toks.push_back(t);
    }
    std::sort(toks.begin(), toks.end());
    toks.erase(std::unique(toks.begin(), toks.end()), toks.end());
    const int n_keys = pos0 + n;
    std::vector<float> kf(size_t(n_keys) * Hkv * kHd), vf(size_t(n_keys) * Hkv * kHd);
    for (size_t r = 0; r < size_t(n_keys) * Hkv; ++r) {
        dequant_row<Kv>(ka.data() + r * row_bytes, kf.data() + r * kHd);
        dequant_row<Kv>(va.data() + r * row_bytes, vf.data() + r * kHd);
    }
    double worst_own = 0;
    int worst_own_tok = 0;
    std::vector<float> qh(kHd);
    std::vector<double> want(kHd);
    for (int t : toks) {
        const int pos = pos0 + t;
        double err = 0, scale = 0;
        for (int h = 0; h < H; ++h) {
            const int kvh = h / G;
            const float* qsrc = in.data() + size_t(t) * W + size_t(h) * 2 * kHd;
            gdn::ref::rms_norm(std::span<const float>(qsrc, kHd), rig.qn, 1e-6f, qh);
            gdn::ref::rope_neox(qh, 64, 1e7f, pos);
            if constexpr (Rot == KvRotation::wht) gdn::quant::wht<kHd>(qh.data());
            attend_f64(
                qh.data(), pos, [&](int j) { return kf.data() + (size_t(j) * Hkv + kvh) * kHd; },
                [&](int j) { return vf.data() + (size_t(j) * Hkv + kvh) * kHd; }, qsrc + kHd, want.data());
            for (int i = 0; i < kHd; ++i) {
                const float got = out[size_t(t) * per_tok + size_t(h) * kHd + size_t(i)];
                err = std::max(err, std::isfinite(got) ? std::fabs(double(got) - want[size_t(i)]) : INFINITY);
                scale = std::max(scale, std::fabs(want[size_t(i)]));
            }
        }
        const double e = err / scale;
        if (!(e <= worst_own)) {
            worst_own = e;
            worst_own_tok = t;
        }
    }

    const bool ok = new_diff == 0 && touched == 0 && worst_dec <= kTolDecode && worst_own <= kTolOwn;
    std::printf("attention_prefill kv %-4s %-4s H %2d Hkv %d pos0 %4d T %4d splits %2d: cache "
                "bytes != decode %zu, outside rows touched %zu; err vs decode %.3g (tok %d, tol "
                "%.0e), vs float64 %.3g (tok %d of %zu checked, tol %.0e)%s\n",
                kv_name<Kv>(), Rot == KvRotation::wht ? "wht" : "-", H, Hkv, pos0, n,
                gdn::kernels::attention_prefill_splits(n, H, Hkv), new_diff,
                touched, worst_dec, worst_dec_tok, kTolDecode, worst_own, worst_own_tok,
                toks.size(), kTolOwn, ok ? "" : "  FAILED");
    if (new_diff) std::printf("  first differing cache bytes (prefill vs decode): [%s] [%s]\n", first_k, first_v);
    CHECK(new_diff == 0);
    CHECK(touched == 0);
    CHECK(worst_dec <= kTolDecode);
    CHECK(worst_own <= kTolOwn);
    return ok;
}

/// For one shape and KV variant: fill `fill` positions by decode steps, then prefill every T
/// at pos0 = 0 and pos0 = fill.
template <class Kv, KvRotation Rot>
void run_shape(Shape s, int fill, const std::vector<int>& Ts) {
    const int max_t = std::max(*std::max_element(Ts.begin(), Ts.end()), fill);
    const int max_ctx = fill + *std::max_element(Ts.begin(), Ts.end()) + 37;
    const uint64_t seed = 1000u * s.n_head + 10u * s.n_head_kv + 7u * uint64_t(Kv::dtype) +
                          uint64_t(Rot);
    Rig<Kv, Rot> rig(s, max_t, max_ctx, seed);
    rig.d_k0.poison();
    rig.d_v0.poison();
    if (fill > 0) {
        const auto in = fast_random(size_t(fill) * rig.width, seed + 3, -1.f, 1.f);
        GDN_CUDA_CHECK(cudaMemcpy(rig.d_in.get(), in.data(), in.size() * 4, cudaMemcpyHostToDevice));
        rig.decode(0, fill, rig.d_k0.get(), rig.d_v0.get(), rig.d_out_dec.get(), true);
        GDN_CUDA_CHECK(cudaDeviceSynchronize());
    }
    uint64_t case_seed = seed * 7919u;
    std::vector<int> starts = {0};
    if (fill > 0) starts.push_back(fill);
    for (int pos0 : starts) {
        for (int n : Ts) {
            if (!run_prefill(rig, pos0, n, ++case_seed)) return;
        }
    }
}

const std::vector<int> kTokens = {1, 63, 64, 65, 300, 2000};
constexpr Shape kShapes[] = {{8, 2}, {16, 4}, {24, 4}};  // Qwen3.5 0.8B/2B, 4B/9B, 27B
constexpr int kFill = 333;  // positions decoded before the pos0 > 0 prefills

template <class Kv, KvRotation Rot>
void run_real_shapes() {
    for (Shape s : kShapes) run_shape<Kv, Rot>(s, kFill, kTokens);
}

}  // namespace

TEST_CASE("attention prefill = T decode steps, f16 KV", "[attention_prefill]") {
    run_real_shapes<gdn::f16, KvRotation::none>();
    run_real_shapes<gdn::f16, KvRotation::wht>();
}

TEST_CASE("attention prefill = T decode steps, q8_0 KV", "[attention_prefill]") {
    run_real_shapes<gdn::q8_0, KvRotation::none>();
    run_real_shapes<gdn::q8_0, KvRotation::wht>();
}

TEST_CASE("attention prefill = T decode steps, q4_0 KV", "[attention_prefill]") {
    run_real_shapes<gdn::q4_0, KvRotation::none>();
    run_real_shapes<gdn::q4_0, KvRotation::wht>();
}

TEST_CASE("attention prefill, group sizes 1, 2, 8", "[attention_prefill]") {
    const std::vector<int> ts = {1, 65, 300};
    for (Shape s : {Shape{2, 2}, Shape{4, 2}, Shape{16, 2}}) {
        run_shape<gdn::f16, KvRotation::none>(s, 100, ts);
        run_shape<gdn::q8_0, KvRotation::wht>(s, 100, ts);
        run_shape<gdn::q4_0, KvRotation::none>(s, 100, ts);
    }
}

/// A short prompt after a long context (a chat turn): many key splits of several tiles.
TEST_CASE("attention prefill after 2000 cached positions", "[attention_prefill]") {
    run_shape<gdn::q8_0, KvRotation::none>(Shape{24, 4}, 2000, {1, 17, 64, 65});
    run_shape<gdn::f16, KvRotation::wht>(Shape{8, 2}, 2000, {1, 17, 64, 65});
}

/// T = 70 runs split (merge kernel), T = 700 unsplit, for H 24 / Hkv 4.
void check_bad_pos(int T) {
    using Kv = gdn::q8_0;
    const int max_ctx = T + 130;
    Rig<Kv, KvRotation::wht> rig(Shape{24, 4}, T, max_ctx, 77);
    GDN_CUDA_CHECK(cudaMemcpy(rig.d_in.get(), fast_random(rig.d_in.size(), 78, -1.f, 1.f).data(),
                              rig.d_in.bytes(), cudaMemcpyHostToDevice));
    DeviceBuffer<int32_t> d_bad(std::vector<int32_t>{max_ctx - T + 1, -1});
    for (int b = 0; b < 2; ++b) {
        rig.d_ka.poison(0x11);
        rig.d_va.poison(0x22);
        rig.d_out_pf.poison(0);
        gdn::kernels::launch_attention_prefill<Kv, KvRotation::wht>(
            rig.prefill_params(T, d_bad.get() + b), nullptr);
        GDN_CUDA_CHECK(cudaDeviceSynchronize());
        const auto ka = rig.d_ka.download(), va = rig.d_va.download();
        const auto out = rig.d_out_pf.download();
        const size_t k_written = size_t(std::count_if(ka.begin(), ka.end(), [](uint8_t x) { return x != 0x11; }));
        const size_t v_written = size_t(std::count_if(va.begin(), va.end(), [](uint8_t x) { return x != 0x22; }));
        const size_t finite = size_t(std::count_if(out.begin(), out.end(), [](float x) { return std::isfinite(x); }));
        std::printf("attention_prefill bad pos %d (T %d, max_ctx %d, splits %d): cache bytes "
                    "written %zu, finite outputs %zu of %zu (want 0, 0)\n",
                    b == 0 ? max_ctx - T + 1 : -1, T, max_ctx,
                    gdn::kernels::attention_prefill_splits(T, 24, 4), k_written + v_written,
                    finite, out.size());
        CHECK(k_written + v_written == 0);
        CHECK(finite == 0);
    }
    // The last valid pos0 (pos0 + T = max_ctx) writes the last rows and finite outputs.
    DeviceBuffer<int32_t> d_edge(std::vector<int32_t>{max_ctx - T});
    rig.d_ka.poison(0);
    rig.d_va.poison(0);
    rig.d_out_pf.poison();
    gdn::kernels::launch_attention_prefill<Kv, KvRotation::wht>(rig.prefill_params(T, d_edge.get()),
                                                                nullptr);
    GDN_CUDA_CHECK(cudaDeviceSynchronize());
    const auto out = rig.d_out_pf.download();
    const size_t finite = size_t(std::count_if(out.begin(), out.end(), [](float x) { return std::isfinite(x); }));
    CHECK(finite == out.size());
}

TEST_CASE("attention prefill: a bad pos writes no row and NaN outputs", "[attention_prefill]") {
    check_bad_pos(70);
    check_bad_pos(700);
}

TEST_CASE("attention prefill: the workspace for T serves every smaller T", "[attention_prefill]") {
    size_t bad = 0;
    for (Shape s : {Shape{2, 2}, Shape{4, 2}, Shape{8, 2}, Shape{16, 4}, Shape{24, 4}, Shape{16, 2}}) {
        size_t prev = 0;
        for (int t = 1; t <= 3000; ++t) {
            const size_t b = gdn::kernels::attention_prefill_workspace_bytes(t, s.n_head, s.n_head_kv, kHd);
            // What the launcher uses at t: the queries, then the partials of its own splits.
            const int tiles = gdn::kernels::attention_prefill_tiles(t, s.n_head, s.n_head_kv);
            const int splits = gdn::kernels::attention_prefill_splits(t, s.n_head, s.n_head_kv);
            const size_t q = (size_t(t) * s.n_head * kHd * 4 + 255) / 256 * 256;
            const size_t used = q + (splits > 1 ? size_t(splits) * tiles * s.n_head_kv * 64 * (kHd + 2) * 4 : 0);
            bad += b < prev || b < used;
            prev = b;
        }
    }
    CHECK(bad == 0);
}

TEST_CASE("attention prefill: bad arguments raise gdn::Error", "[attention_prefill]") {
    DeviceBuffer<float> buf(4096);
    DeviceBuffer<int32_t> pos(1);
    AttentionPrefillParams p;
    p.n_tok = 4;
    p.q_proj = p.k = p.v = p.q_norm = p.k_norm = buf.get();
    p.out = buf.get();
    p.pos = pos.get();
    p.k_cache = p.v_cache = p.workspace = buf.get();
    p.n_head = 8;
    p.n_head_kv = 2;
    p.max_ctx = 1000;
    auto launch = [](const AttentionPrefillParams& q) {
        gdn::kernels::launch_attention_prefill<gdn::f16, KvRotation::none>(q, nullptr);
    };
    const gdn::test::RejectCheck bad{p, launch};
    bad([](AttentionPrefillParams& q) { q.k_cache = nullptr; }, "null");
    bad([](AttentionPrefillParams& q) { q.workspace = nullptr; }, "null");
    bad([](AttentionPrefillParams& q) { q.workspace = static_cast<char*>(q.workspace) + 4; }, "16-byte");
    bad([](AttentionPrefillParams& q) { q.head_dim = 128; }, "head_dim 128");
    bad([](AttentionPrefillParams& q) { q.n_head = 12; q.n_head_kv = 4; }, "group size");
    bad([](AttentionPrefillParams& q) { q.n_head = 9; }, "not a positive multiple");
    bad([](AttentionPrefillParams& q) { q.n_head_kv = 0; }, "not a positive multiple");
    bad([](AttentionPrefillParams& q) { q.n_rot = 63; }, "n_rot 63");
    bad([](AttentionPrefillParams& q) { q.n_tok = 0; }, "n_tok 0");
    bad([](AttentionPrefillParams& q) { q.n_tok = 1001; }, "context overflow");
    bad([](AttentionPrefillParams& q) { q.max_ctx = 0; }, "max_ctx 0");
    bad([](AttentionPrefillParams& q) { q.q_stride = 100; }, "strides");
    bad([](AttentionPrefillParams& q) { q.k_stride = 511; }, "strides");
    bad([](AttentionPrefillParams& q) { q.rms_eps = 0.f; }, "rms_eps");
}

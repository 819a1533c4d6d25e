// gdn/kernels/deltanet_prefill.cuh - chunked (parallel) Gated DeltaNet prefill of one layer
// for T consecutive tokens of ONE sequence at positions pos0 .. pos0+T-1 (MODEL.md steps 2-6).
// It leaves the recurrent state and the conv ring as T calls of launch_deltanet_step would
// (kernels/deltanet_step.cuh; up to float rounding for the state, bit-identical ring) and
// gives the same outputs y. The conv, L2 norms, WHT and gates use the step kernel's float
// operations, so q, k, v, beta and g are bit-identical to the step's.
//
// Math (per value head, chunks of C = 64 tokens, S0 the state before the chunk, G_t the
// in-chunk inclusive cumulative log-decay, rows t of K, Q, V the chunk's tokens):
//   A_ts = beta_t exp(G_t - G_s) k_t.k_s  (s < t),   Tinv = (I + A)^-1  (unit lower)
//   R    = beta * (V - exp(G) K S0),               D = Tinv R
//   O    = exp(G) Q S0 + M D,                      M_ts = exp(G_t - G_s) q_t.k_s (s <= t)
//   S_C  = exp(G_C) S0 + K^T (exp(G_C - G) * D)
// which is the step recurrence S_t = e^g_t S_{t-1} + k_t d_t^T, d_t = beta_t (v_t - e^g_t
// S_{t-1}^T k_t), o_t = S_t^T q_t unrolled over the chunk (the WY / UT form). Every exp has
// a non-positive argument, so long chunks with strong decay underflow to 0, never overflow.
//
// Four launches (kDeltaNetPrefillLaunches), float32 SIMT throughout:
//  1. deltanet_prefill_prep_kernel   grid (T_pad), block 256 (T_pad = T rounded up to 64).
//     Per token: causal conv (history from the qkv rows before it, or from the ring slots of
//     positions pos0-3 .. pos0-1) + silu, split, L2 norm of q and k, q / sqrt(dk), [WHT],
//     beta = sigmoid(b), g = ssm_a softplus(a + dt_bias) into the workspace; the padding
//     tokens T .. T_pad-1 get zeros (so they add nothing below). Reads the ring, never writes.
//     Bytes: ~4*conv_dim*4*T in (each qkv row is read by 4 tokens, mostly L1/L2), 4*conv_dim*T_pad out.
//  2. deltanet_prefill_chunk_kernel  grid (T_pad/64, Hv), block 256, 85 KB shared memory.
//     Per (chunk, value head): G (warp scan), K K^T and Q K^T (4x4 register tiles), A, M, and
//     Tinv by forward substitution (4 lanes per column). Writes G over g, Tinv and M.
//     Bytes: 2*4*64*dk in (the key head's q, k), 2*4*64*64 out, per block.
//  3. deltanet_prefill_scan_kernel   grid (Hv*dv/W), block 16*W/R, W = 16 or 32 value columns,
//     R = 1 or 2 chunk rows per thread (102 KB shared memory at W = 32, 85 KB at 16; two
//     blocks per SM). A block owns the value columns [c0, c0+W) of one head's state (in the
//     V-major layout the contiguous rows c0 .. c0+W-1, read once and written once), held in
//     registers (4 columns x 128/(64/R) keys per thread) and shared memory for the whole
//     prefill; it walks the chunks in order: K, Q, Tinv, M of the chunk into shared memory
//     (cp.async; Tinv/M and the next chunk's Q land while the block computes), then K S0 and
//     Q S0, R, D, O (raw, into y), the state update. Columns are independent, so the blocks
//     never talk. Auto: W = 16 (128 threads) while Hv*dv/16 blocks fit two per SM, else W = 32
//     (256 threads), both R = 2: on H200 the best of the three variants at Hv = 16 and 48, within
//     1% at 32. p.slice / p.scan_threads override; W = 16 with 256 threads (R = 1, opt-in)
//     measured 10-11% slower at Hv = 16 and 32.
//     Bytes: state 2*Hv*dk*dv*sizeof(StateT) (read once, written once), plus per block and
//     chunk 2*4*64*dk (q, k) + 2*4*64*64 (Tinv, M) + 4*64*W (v) in, 4*64*W out (y).
//     Work: (3*64*dk*W + 64*64*W) FMA per block and chunk (~1M at W = 32).
//  4. deltanet_prefill_norm_kernel   grid (T), block 256: gated RMSNorm of y in place
//     (warp per value head, as the step's epilogue), and the qkv rows of the last min(4, T)
//     tokens into their ring slots (pos % 4). Bytes: 4*Hv*dv*T*3, 4*conv_dim*min(4,T)*2.
//
// Speed (H200, bench/kernels_deltanet_prefill.cu, one layer, auto variant, f32 state; bf16
// the same): Qwen3.5-0.8B (Hv 16) 0.117 ms at T = 512, 0.83 ms at T = 4096 (5.0M tok/s, 23x
// T step calls); Hv 32 1.30 ms at 4096 (3.1M tok/s); 27B (Hv 48) 1.98 ms at 4096 (2.1M tok/s,
// 11x). The scan takes 50-64% of the time, the chunk kernel 22-27%, prep 8-15%, norm 6-10%;
// 5-7 TFMA/s of nominal float32 work (a fifth of the card's float32 peak).
//
// bf16 state: loaded once into float and stored once (rounded to nearest) at the end, unlike
// T step calls that round after every token; y sees no bf16 rounding at all.
//
// Shapes (device memory, float32 unless said; strides in elements between tokens, 0 = dense):
//   qkv       [T, qkv_stride]   first conv_dim values q | k | v before the conv (16-byte aligned,
//                               stride a multiple of 4)
//   z         [T, z_stride]     first Hv*dv values;  b, a [T, b_stride], [T, a_stride] first Hv
//   conv_w    [conv_dim, 4]     taps oldest first;  dt_bias, ssm_a [Hv];  norm_w [dv]
//   pos       [1] int32         position of the first token; state and ring hold pos tokens
//   conv_ring [4, conv_dim]     in place, slot p % 4 holds the input of position p (as the step)
//   state     [Hv, dv, dk]      StateT in place, V-major as the step's (row j = value column j of
//                               S, contiguous over the keys; rotated key basis with wht)
//   y         [T, y_stride]     gated-norm output (first Hv*dv values of each row)
//   workspace deltanet_prefill_workspace_bytes(T, Hk, Hv, dk, dv) bytes, any content,
//             16-byte aligned: q, k [T_pad, Hk, dk], v [T_pad, Hv, dv], g, beta [Hv, T_pad],
//             Tinv, M [Hv, T_pad/64, 64, 64] float (about 4*T_pad*(conv_dim + 130*Hv) bytes:
//             34 MB at T = 1024 on Qwen3.5-0.8B, 67 MB on 27B; split longer prompts).
// Inputs other than conv_ring, state, y and the workspace are not modified. No host
// synchronisation or allocation: safe inside CUDA graph capture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/kernels/ptx.cuh"

namespace gdn::kernels {

inline constexpr int kDeltaNetPrefillLaunches = 4;
inline constexpr int kDeltaNetPrefillChunk = 64;  ///< tokens per chunk of the scan

/// Arguments of one DeltaNet prefill (one sequence, T tokens). Field meanings as
/// DeltaNetStepParams; see the file comment for shapes.
template <class StateT>
struct DeltaNetPrefillParams {
    int n_tok = 0;  ///< T >= 1
    int n_k_heads = 0, n_v_heads = 0, d_k = 128, d_v = 128;
    HeadOrder order = HeadOrder::tiled;
    float norm_eps = 1e-6f;
    bool wht = false;  ///< state in the WHT-rotated key basis (deltanet_step's UseWHT)
    int slice = 0;         ///< value columns per scan block: 0 = auto, 16 or 32
    int scan_threads = 0;  ///< threads per scan block: 0 = auto (8 * slice), 256, or 128 (slice 16)

    const float* qkv = nullptr;  ///< [T, qkv_stride] q | k | v before the conv
    const float* z = nullptr;    ///< [T, z_stride]
    const float* b = nullptr;    ///< [T, b_stride]
    const float* a = nullptr;    ///< [T, a_stride]
    int64_t qkv_stride = 0, z_stride = 0, b_stride = 0, a_stride = 0, y_stride = 0;  ///< 0 = dense

    const float* conv_w = nullptr;   ///< [conv_dim, 4]
    const float* dt_bias = nullptr;  ///< [Hv]
    const float* ssm_a = nullptr;    ///< [Hv]
    const float* norm_w = nullptr;   ///< [dv]

    const int32_t* pos = nullptr;  ///< [1] device: position of the FIRST token
    float* conv_ring = nullptr;    ///< [4, conv_dim] in place
    StateT* state = nullptr;       ///< [Hv, dv, dk] in place (V-major, as the step)
    float* y = nullptr;            ///< [T, y_stride] gated-norm output
    void* workspace = nullptr;     ///< deltanet_prefill_workspace_bytes(...) bytes, any content

    [[nodiscard]] int64_t conv_dim() const {
        return 2 * int64_t(n_k_heads) * d_k + int64_t(n_v_heads) * d_v;
    }
};

namespace deltanet_prefill_detail {

constexpr int kC = kDeltaNetPrefillChunk;
constexpr int kD = 128;              // dk = dv
constexpr int kThreads = 256;        // prep, chunk and norm kernels
constexpr int kRow = kD + 4;         // floats per shared q/k row (bank skew)
constexpr int kRow4 = kRow / 4;      // float4 per shared q/k row
constexpr int kTri = kC + 4;         // floats per shared Tinv / M row (scan kernel)
constexpr int kTri4 = kTri / 4;
constexpr int kAStride = kC + 1;     // floats per shared A / Tinv row (chunk kernel)
constexpr size_t kAlign = 256;       // workspace sub-buffer alignment (bytes)

/// Workspace sub-buffers (float), in the order they are laid out.
struct Workspace {
    float* q = nullptr;     // [T_pad, Hk, dk]  normalised (scaled, rotated) queries
    float* k = nullptr;     // [T_pad, Hk, dk]
    float* v = nullptr;     // [T_pad, Hv, dv]
    float* g = nullptr;     // [Hv, T_pad]  log-decay; the chunk kernel turns it into G
    float* beta = nullptr;  // [Hv, T_pad]
    float* tinv = nullptr;  // [Hv, n_chunks, 64, 64]  strictly lower part of (I + A)^-1
    float* m = nullptr;     // [Hv, n_chunks, 64, 64]  exp(G_t - G_s) q_t.k_s, s <= t
    int n_chunks = 0, t_pad = 0;
};

inline size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

/// Sizes in bytes of the sub-buffers, in Workspace order; returns the total.
inline size_t layout(int n_tok, int hk, int hv, int dk, int dv, size_t (&sizes)[7]) {
    const size_t n_chunks = (size_t(n_tok) + kC - 1) / kC;
    const size_t t_pad = n_chunks * kC;
    sizes[0] = sizes[1] = sizeof(float) * t_pad * size_t(hk) * size_t(dk);
    sizes[2] = sizeof(float) * t_pad * size_t(hv) * size_t(dv);
    sizes[3] = sizes[4] = sizeof(float) * size_t(hv) * t_pad;
    sizes[5] = sizes[6] = sizeof(float) * size_t(hv) * n_chunks * kC * kC;
    size_t total = 0;
    for (size_t s : sizes) total += align_up(s);
    return total;
}

inline Workspace carve(void* base, int n_tok, int hk, int hv) {
    size_t sizes[7];
    layout(n_tok, hk, hv, kD, kD, sizes);
    float** dst[7];
    Workspace w;
    dst[0] = &w.q; dst[1] = &w.k; dst[2] = &w.v; dst[3] = &w.g; dst[4] = &w.beta;
    dst[5] = &w.tinv; dst[6] = &w.m;
    auto* p = static_cast<unsigned char*>(base);
    for (int i = 0; i < 7; ++i) {
        *dst[i] = reinterpret_cast<float*>(p);
        p += align_up(sizes[i]);
    }
    w.n_chunks = (n_tok + kC - 1) / kC;
    w.t_pad = w.n_chunks * kC;
    return w;
}

/// Everything but the state, strides resolved (never 0).
struct Args {
    int n_tok, hk, hv;
    HeadOrder order;
    float norm_eps;
    const float *qkv, *z, *b, *a;
    int64_t qkv_s, z_s, b_s, a_s, y_s;
    const float *conv_w, *dt_bias, *ssm_a, *norm_w;
    const int32_t* pos;
    float* ring;
    float* y;
    int64_t conv_dim;

    __device__ GDN_FORCEINLINE int key_head(int h) const {
        return order == HeadOrder::grouped ? h / (hv / hk) : h % hk;
    }
};


/// N (2 or 4) consecutive state values <-> floats: one 8- or 16-byte access for float, 4 or 8
/// bytes for bf16 (bf16 -> float is exact; float -> bf16 rounds to nearest).
template <class StateT, int N>
struct Keys;
template <int N>
struct Keys<float, N> {
    static_assert(N == 2 || N == 4, "2 or 4 keys");
    static __device__ GDN_FORCEINLINE void load(const float* p, float (&f)[N]) {
        if constexpr (N == 4) {
            const float4 v = *reinterpret_cast<const float4*>(p);
            f[0] = v.x; f[1] = v.y; f[2] = v.z; f[3] = v.w;
        } else {
            const float2 v = *reinterpret_cast<const float2*>(p);
            f[0] = v.x; f[1] = v.y;
        }
    }
    static __device__ GDN_FORCEINLINE void store(float* p, const float (&f)[N]) {
        if constexpr (N == 4) *reinterpret_cast<float4*>(p) = make_float4(f[0], f[1], f[2], f[3]);
        else *reinterpret_cast<float2*>(p) = make_float2(f[0], f[1]);
    }
};
template <int N>
struct Keys<__nv_bfloat16, N> {
    static_assert(N == 2 || N == 4, "2 or 4 keys");
    static __device__ GDN_FORCEINLINE void load(const __nv_bfloat16* p, float (&f)[N]) {
        uint32_t w[N / 2];
        if constexpr (N == 4) {
            const uint2 r = *reinterpret_cast<const uint2*>(p);
            w[0] = r.x; w[1] = r.y;
        } else {
            w[0] = *reinterpret_cast<const uint32_t*>(p);
        }
#pragma unroll
        for (int i = 0; i < N / 2; ++i) {
            f[2 * i] = __uint_as_float(w[i] << 16);
            f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    }
    static __device__ GDN_FORCEINLINE void store(__nv_bfloat16* p, const float (&f)[N]) {
        uint32_t w[N / 2];
#pragma unroll
        for (int i = 0; i < N / 2; ++i) {
            const __nv_bfloat162 b = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
            w[i] = *reinterpret_cast<const uint32_t*>(&b);
        }
        if constexpr (N == 4) *reinterpret_cast<uint2*>(p) = make_uint2(w[0], w[1]);
        else *reinterpret_cast<uint32_t*>(p) = w[0];
    }
};

__device__ GDN_FORCEINLINE void fma4(float (&acc)[4], float s, const float4& v) {
    acc[0] = fmaf(s, v.x, acc[0]);
    acc[1] = fmaf(s, v.y, acc[1]);
    acc[2] = fmaf(s, v.z, acc[2]);
    acc[3] = fmaf(s, v.w, acc[3]);
}
__device__ GDN_FORCEINLINE float dot4(const float4& x, const float4& y, float acc) {
    acc = fmaf(x.x, y.x, acc);
    acc = fmaf(x.y, y.y, acc);
    acc = fmaf(x.z, y.z, acc);
    return fmaf(x.w, y.w, acc);
}
__device__ GDN_FORCEINLINE float get(const float4& v, int e) {
    return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w;
}

}  // namespace deltanet_prefill_detail

// ---- 1. conv, norms, gates -------------------------------------------------------------
// The conv and norm arithmetic follows deltanet_detail::conv4 and the step kernel's warp 0 /
// warp 2 line for line (same fmaf order, rsqrtf, warp_sum, expf/log1pf), so a change there
// must be made here too (the test compares against T step calls).
template <bool UseWHT>
__global__ void __launch_bounds__(deltanet_prefill_detail::kThreads)
    deltanet_prefill_prep_kernel(const deltanet_prefill_detail::Args p,
                                 const deltanet_prefill_detail::Workspace ws) {
    using namespace deltanet_prefill_detail;
    const int t = blockIdx.x;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    constexpr int kWarps = kThreads / 32;
    const int units = 2 * p.hk + p.hv;  // 128-channel groups: q heads, k heads, v heads
    auto dst_of = [&](int u) -> float* {
        if (u < p.hk) return ws.q + (int64_t(t) * p.hk + u) * kD;
        if (u < 2 * p.hk) return ws.k + (int64_t(t) * p.hk + (u - p.hk)) * kD;
        return ws.v + (int64_t(t) * p.hv + (u - 2 * p.hk)) * kD;
    };
    if (t >= p.n_tok) {  // padding token: zeros, so it adds nothing to the chunk sums
        for (int u = warp; u < units; u += kWarps)
            *reinterpret_cast<float4*>(dst_of(u) + lane * 4) = make_float4(0.f, 0.f, 0.f, 0.f);
        for (int h = threadIdx.x; h < p.hv; h += kThreads) {
            ws.g[int64_t(h) * ws.t_pad + t] = 0.f;
            ws.beta[int64_t(h) * ws.t_pad + t] = 0.f;
        }
        return;
    }
    const int pos0 = *p.pos;
    const float* x_in = p.qkv + t * p.qkv_s;
    const float* hist[3];  // x_{t-3}, x_{t-2}, x_{t-1}: earlier rows, or the ring before them
#pragma unroll
    for (int j = 0; j < 3; ++j) {
        const int tt = t - 3 + j;
        hist[j] = tt >= 0 ? p.qkv + tt * p.qkv_s : p.ring + ((pos0 + tt) & 3) * p.conv_dim;
    }
    for (int u = warp; u < units; u += kWarps) {
        const int64_t c0 = int64_t(u) * kD + lane * 4;
        const float4 x = *reinterpret_cast<const float4*>(x_in + c0);
        float4 h[3];
#pragma unroll
        for (int j = 0; j < 3; ++j) h[j] = *reinterpret_cast<const float4*>(hist[j] + c0);
        float val[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const float4 wv = __ldg(reinterpret_cast<const float4*>(p.conv_w + (c0 + e) * 4));
            float s = wv.x * get(h[0], e);
            s = fmaf(wv.y, get(h[1], e), s);
            s = fmaf(wv.z, get(h[2], e), s);
            s = fmaf(wv.w, get(x, e), s);
            val[e] = deltanet_detail::silu(s);
        }
        if (u < 2 * p.hk) {  // q or k head: L2 norm (q also / sqrt(dk)), then the rotation
            float ss = 0.f;
#pragma unroll
            for (int e = 0; e < 4; ++e) ss = fmaf(val[e], val[e], ss);
            ss = warp_sum(ss);
            constexpr float kQScale = 0.08838834764831845f;  // 1/sqrt(dk)
            const float f = u < p.hk ? rsqrtf(ss + 1e-6f) * kQScale : rsqrtf(ss + 1e-6f);
#pragma unroll
            for (int e = 0; e < 4; ++e) val[e] *= f;
            if constexpr (UseWHT) deltanet_detail::warp_fwht128(val, lane);
        }
        *reinterpret_cast<float4*>(dst_of(u) + lane * 4) = make_float4(val[0], val[1], val[2], val[3]);
    }
    for (int h = threadIdx.x; h < p.hv; h += kThreads) {
        const float bb = p.b[t * p.b_s + h];
        const float x = p.a[t * p.a_s + h] + __ldg(p.dt_bias + h);
        const float softplus = x > 20.f ? x : log1pf(expf(x));  // torch's threshold
        ws.beta[int64_t(h) * ws.t_pad + t] = 1.f / (1.f + expf(-bb));
        ws.g[int64_t(h) * ws.t_pad + t] = __ldg(p.ssm_a + h) * softplus;
    }
}

// ---- 2. per chunk and value head: G, Tinv, M -------------------------------------------
namespace deltanet_prefill_detail {
// Shared memory: K [64][kRow], Q [64][kRow], A [64][kAStride], G [64], beta [64];
// Tinv [64][kAStride] reuses K's space once K K^T and Q K^T are in registers.
constexpr size_t kChunkSmemBytes =
    sizeof(float) * (2 * size_t(kC) * kRow + size_t(kC) * kAStride + 2 * kC);
}  // namespace deltanet_prefill_detail

__global__ void __launch_bounds__(deltanet_prefill_detail::kThreads, 2)
    deltanet_prefill_chunk_kernel(const deltanet_prefill_detail::Args p,
                                  const deltanet_prefill_detail::Workspace ws) {
    using namespace deltanet_prefill_detail;
    extern __shared__ float4 smem4[];
    float* ks = reinterpret_cast<float*>(smem4);  // [64][kRow]
    float* qs = ks + kC * kRow;                    // [64][kRow]
    float* as = qs + kC * kRow;                    // [64][kAStride]
    float* gs = as + kC * kAStride;                // [64]
    float* bs = gs + kC;                           // [64]
    float* tv = ks;                                // [64][kAStride], after K is consumed

    const int c = blockIdx.x, h = blockIdx.y, tid = threadIdx.x;
    const int kh = p.key_head(h);
    const int64_t row0 = int64_t(c) * kC;
    for (int i = tid; i < kC * (kD / 4); i += kThreads) {
        const int r = i / (kD / 4), c4 = i % (kD / 4);
        const int64_t src = ((row0 + r) * p.hk + kh) * kD + c4 * 4;
        cp_async16(ks + r * kRow + c4 * 4, ws.k + src);
        cp_async16(qs + r * kRow + c4 * 4, ws.q + src);
    }
    cp_async_commit();
    float* g_head = ws.g + int64_t(h) * ws.t_pad + row0;
    if (tid < 32) {  // G = inclusive cumulative sum of g over the chunk, two tokens per lane
        const float g0 = g_head[2 * tid], g1 = g_head[2 * tid + 1];
        float incl = g0 + g1;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            const float o = __shfl_up_sync(0xffffffffu, incl, d);
            if (tid >= d) incl += o;
        }
        const float excl = incl - (g0 + g1);
        gs[2 * tid] = excl + g0;
        gs[2 * tid + 1] = excl + g0 + g1;
    } else if (tid < 32 + kC) {
        bs[tid - 32] = ws.beta[int64_t(h) * ws.t_pad + row0 + (tid - 32)];
    }
    cp_async_wait_all();
    __syncthreads();

    // K K^T and Q K^T: thread (ty, tx) owns rows ty + 16r, columns tx + 16e.
    const int ty = tid / 16, tx = tid % 16;
    float kk[4][4] = {}, qk[4][4] = {};
    const float4* ks4 = reinterpret_cast<const float4*>(ks);
    const float4* qs4 = reinterpret_cast<const float4*>(qs);
#pragma unroll 2
    for (int i4 = 0; i4 < kD / 4; ++i4) {
        float4 kr[4], qr[4], kc[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            kr[r] = ks4[(ty + 16 * r) * kRow4 + i4];
            qr[r] = qs4[(ty + 16 * r) * kRow4 + i4];
            kc[r] = ks4[(tx + 16 * r) * kRow4 + i4];
        }
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                kk[r][e] = dot4(kr[r], kc[e], kk[r][e]);
                qk[r][e] = dot4(qr[r], kc[e], qk[r][e]);
            }
    }
    float* m_out = ws.m + (int64_t(h) * ws.n_chunks + c) * kC * kC;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int t = ty + 16 * r;
        const float gt = gs[t], bt = bs[t];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int s = tx + 16 * e;
            // exp only where s <= t: G_t - G_s <= 0 there, and could overflow elsewhere.
            const float decay = s <= t ? expf(gt - gs[s]) : 0.f;
            as[t * kAStride + s] = s < t ? bt * decay * kk[r][e] : 0.f;
            m_out[t * kC + s] = decay * qk[r][e];
        }
    }
    __syncthreads();  // A complete; K no longer read: Tinv takes its space

    // Tinv = (I + A)^-1 by forward substitution, one column per 4 lanes (the same warp):
    // x_s = 1, x_t = -sum_{m<t} A_tm x_m; entries above the diagonal stay 0.
    {
        const int col = tid / 4, l = tid % 4;
        for (int m = l; m < kC; m += 4) tv[m * kAStride + col] = m == col ? 1.f : 0.f;
        __syncwarp();
        for (int t = 1; t < kC; ++t) {
            float acc = 0.f;
            for (int m = l; m < t; m += 4) acc = fmaf(as[t * kAStride + m], tv[m * kAStride + col], acc);
            acc += __shfl_xor_sync(0xffffffffu, acc, 1);
            acc += __shfl_xor_sync(0xffffffffu, acc, 2);
            if (l == 0 && t > col) tv[t * kAStride + col] = -acc;
            __syncwarp();
        }
    }
    __syncthreads();
    float* t_out = ws.tinv + (int64_t(h) * ws.n_chunks + c) * kC * kC;
    for (int i = tid; i < kC * kC; i += kThreads) {
        const int t = i / kC, s = i % kC;
        t_out[i] = s < t ? tv[t * kAStride + s] : 0.f;
    }
    if (tid < kC) g_head[tid] = gs[tid];
}

// ---- 3. the scan over chunks, per (value head, column slice) ----------------------------
namespace deltanet_prefill_detail {
/// Shared floats of the scan kernel with W value columns: K [64][kRow], Q or (Tinv, M)
/// [64][kRow] / 2 x [64][kTri], S [128][W], R [64][W], D [64][W], G [64], beta [64].
constexpr size_t scan_smem_bytes(int cols) {
    const size_t qp = size_t(kC) * kRow > 2 * size_t(kC) * kTri ? size_t(kC) * kRow : 2 * size_t(kC) * kTri;
    return sizeof(float) * (size_t(kC) * kRow + qp + size_t(kD) * cols + 2 * size_t(kC) * cols + 2 * kC);
}
}  // namespace deltanet_prefill_detail

/// Scan variants: W value columns per block and R rows per thread in the chunk-row steps
/// (R = 2: 8*W threads; R = 1: 16*W threads, twice the warps for the same work).
template <class StateT, int kCols, int kRpt>
__global__ void __launch_bounds__(kCols / 4 * (deltanet_prefill_detail::kC / kRpt), 2)
    deltanet_prefill_scan_kernel(const deltanet_prefill_detail::Args p,
                                 const deltanet_prefill_detail::Workspace ws, StateT* state) {
    using namespace deltanet_prefill_detail;
    static_assert(kCols == 16 || kCols == 32, "the scan kernel owns 16 or 32 value columns");
    static_assert(kRpt == 1 || kRpt == 2, "a scan thread owns 1 or 2 chunk rows");
    constexpr int kN4 = kCols / 4;          // float4 columns of the slice = threads per row
    constexpr int kTy = kC / kRpt;          // thread rows
    constexpr int kThr = kN4 * kTy;
    constexpr int kSr = kD / kTy;           // state rows per thread (4 or 2)
    constexpr int kWarpTy = 32 / kN4;       // thread rows per warp
    constexpr int kQp = kC * kRow > 2 * kC * kTri ? kC * kRow : 2 * kC * kTri;
    extern __shared__ float4 smem4[];
    float* ks = reinterpret_cast<float*>(smem4);  // [64][kRow]  this chunk's k
    float* qp = ks + kC * kRow;                    // q [64][kRow], then Tinv, M [64][kTri]
    float* ss = qp + kQp;                          // [128][kCols] S0 slice
    float* rs = ss + kD * kCols;                   // [64][kCols]  R, then exp(G_C - G) D
    float* ds = rs + kC * kCols;                   // [64][kCols]  D
    float* gs = ds + kC * kCols;                   // [64] G
    float* bs = gs + kC;                           // [64] beta
    const float4* ks4 = reinterpret_cast<const float4*>(ks);
    const float4* qp4 = reinterpret_cast<const float4*>(qp);
    const float4* ss4 = reinterpret_cast<const float4*>(ss);
    const float4* rs4 = reinterpret_cast<const float4*>(rs);
    const float4* ds4 = reinterpret_cast<const float4*>(ds);

    const int tid = threadIdx.x;
    const int h = blockIdx.x / (kD / kCols);
    const int col0 = (blockIdx.x % (kD / kCols)) * kCols;
    const int kh = p.key_head(h);
    const int tx = tid % kN4, ty = tid / kN4;  // ty in [0, kTy)
    const int c4 = 4 * tx;                     // this thread's first column within the slice

    // The state slice: thread owns keys kSr*ty .. kSr*ty+kSr-1 of the value columns c4..c4+3
    // (registers, sreg[key][column]), and the block keeps a copy in shared memory ([key][column])
    // for the S0 products. The state is V-major: value column j is the contiguous row j*dk, so
    // the thread's keys of one column are kSr consecutive values.
    StateT* s_cols = state + int64_t(h) * kD * kD + int64_t(col0 + c4) * kD + kSr * ty;
    float sreg[kSr][4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        float kv[kSr];
        Keys<StateT, kSr>::load(s_cols + j * kD, kv);
#pragma unroll
        for (int a = 0; a < kSr; ++a) sreg[a][j] = kv[a];
    }
#pragma unroll
    for (int a = 0; a < kSr; ++a)
        *reinterpret_cast<float4*>(ss + (kSr * ty + a) * kCols + c4) =
            make_float4(sreg[a][0], sreg[a][1], sreg[a][2], sreg[a][3]);

    auto issue_rows = [&](const float* src_base, float* dst) {  // 64 q or k rows of head kh
        for (int i = tid; i < kC * (kD / 4); i += kThr) {
            const int r = i / (kD / 4), q4 = i % (kD / 4);
            cp_async16(dst + r * kRow + q4 * 4, src_base + int64_t(r) * p.hk * kD + q4 * 4);
        }
    };
    auto rows_of = [&](const float* buf, int c) { return buf + (int64_t(c) * kC * p.hk + kh) * kD; };
    issue_rows(rows_of(ws.q, 0), qp);
    cp_async_commit();

    const float* g_head = ws.g + int64_t(h) * ws.t_pad;
    const float* b_head = ws.beta + int64_t(h) * ws.t_pad;
    for (int c = 0; c < ws.n_chunks; ++c) {
        const int64_t row0 = int64_t(c) * kC;
        issue_rows(rows_of(ws.k, c), ks);
        cp_async_commit();
        if (tid < kC) {
            gs[tid] = g_head[row0 + tid];
            bs[tid] = b_head[row0 + tid];
        }
        // This thread's chunk rows are t = ty + kTy*rr.
        float4 vv[kRpt];
        {
            const float* v_base = ws.v + (row0 * p.hv + h) * kD + col0 + c4;
#pragma unroll
            for (int rr = 0; rr < kRpt; ++rr)
                vv[rr] = *reinterpret_cast<const float4*>(v_base + int64_t(ty + kTy * rr) * p.hv * kD);
        }
        cp_async_wait_all();
        __syncthreads();

        // (1) X = K S0 and Y = Q S0 for this thread's rows and 4 columns.
        float x[kRpt][4] = {}, yq[kRpt][4] = {};
#pragma unroll 2
        for (int i4 = 0; i4 < kD / 4; ++i4) {
            float4 kr[kRpt], qr[kRpt];
#pragma unroll
            for (int rr = 0; rr < kRpt; ++rr) {
                kr[rr] = ks4[(ty + kTy * rr) * kRow4 + i4];
                qr[rr] = qp4[(ty + kTy * rr) * kRow4 + i4];
            }
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float4 s = ss4[(4 * i4 + e) * kN4 + tx];
#pragma unroll
                for (int rr = 0; rr < kRpt; ++rr) {
                    fma4(x[rr], get(kr[rr], e), s);
                    fma4(yq[rr], get(qr[rr], e), s);
                }
            }
        }
        __syncthreads();  // q consumed: Tinv and M may land in its space

        const int64_t tri = (int64_t(h) * ws.n_chunks + c) * kC * kC;
        for (int i = tid; i < 2 * kC * (kC / 4); i += kThr) {
            const int which = i / (kC * kC / 4), r = (i / (kC / 4)) % kC, q4 = i % (kC / 4);
            const float* src = (which ? ws.m : ws.tinv) + tri + r * kC + q4 * 4;
            cp_async16(qp + which * kC * kTri + r * kTri + q4 * 4, src);
        }
        cp_async_commit();

        // (2) R = beta (V - exp(G) X); the O accumulator starts at exp(G) Y.
        float r_[kRpt][4];
#pragma unroll
        for (int rr = 0; rr < kRpt; ++rr) {
            const int t = ty + kTy * rr;
            const float eg = expf(gs[t]), bt = bs[t];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                r_[rr][j] = bt * (get(vv[rr], j) - eg * x[rr][j]);
                yq[rr][j] *= eg;
            }
            *reinterpret_cast<float4*>(rs + t * kCols + c4) =
                make_float4(r_[rr][0], r_[rr][1], r_[rr][2], r_[rr][3]);
        }
        cp_async_wait_all();
        __syncthreads();

        // (3) D = R + Tinv_strict R, (4) O = exp(G) Y + M D. Both matrices are lower
        // triangular (zeros stored above), so the s loops stop at the last row they serve:
        // with 2 rows per thread, row ty < 32 has no terms at s >= 32; with 1, a warp stops
        // after its largest row.
        const float4* tinv4 = qp4;
        const float4* m4 = qp4 + kC * kTri4;
        auto tri_mul = [&](const float4* mat, const float4* rhs, float (&acc)[kRpt][4]) {
            if constexpr (kRpt == 2) {
#pragma unroll 2
                for (int s4 = 0; s4 < kC / 8; ++s4) {
                    const float4 a0 = mat[ty * kTri4 + s4], a1 = mat[(ty + 32) * kTri4 + s4];
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const float4 rv = rhs[(4 * s4 + e) * kN4 + tx];
                        fma4(acc[0], get(a0, e), rv);
                        fma4(acc[1], get(a1, e), rv);
                    }
                }
#pragma unroll 2
                for (int s4 = kC / 8; s4 < kC / 4; ++s4) {
                    const float4 a1 = mat[(ty + 32) * kTri4 + s4];
#pragma unroll
                    for (int e = 0; e < 4; ++e) fma4(acc[1], get(a1, e), rhs[(4 * s4 + e) * kN4 + tx]);
                }
            } else {
                const int s4_end = (ty | (kWarpTy - 1)) / 4 + 1;  // warp-uniform
#pragma unroll 2
                for (int s4 = 0; s4 < s4_end; ++s4) {
                    const float4 a0 = mat[ty * kTri4 + s4];
#pragma unroll
                    for (int e = 0; e < 4; ++e) fma4(acc[0], get(a0, e), rhs[(4 * s4 + e) * kN4 + tx]);
                }
            }
        };
        tri_mul(tinv4, rs4, r_);
#pragma unroll
        for (int rr = 0; rr < kRpt; ++rr)
            *reinterpret_cast<float4*>(ds + (ty + kTy * rr) * kCols + c4) =
                make_float4(r_[rr][0], r_[rr][1], r_[rr][2], r_[rr][3]);
        __syncthreads();

        // (4), then raw o into y and D scaled by exp(G_C - G_t) into R's space.
        tri_mul(m4, ds4, yq);
        {
            const float g_last = gs[kC - 1];
#pragma unroll
            for (int rr = 0; rr < kRpt; ++rr) {
                const int t = ty + kTy * rr;
                if (row0 + t < p.n_tok) {
                    float* yrow = p.y + (row0 + t) * p.y_s + int64_t(h) * kD + col0 + c4;
#pragma unroll
                    for (int j = 0; j < 4; ++j) yrow[j] = yq[rr][j];
                }
                const float e = expf(g_last - gs[t]);
                *reinterpret_cast<float4*>(rs + t * kCols + c4) =
                    make_float4(e * r_[rr][0], e * r_[rr][1], e * r_[rr][2], e * r_[rr][3]);
            }
        }
        __syncthreads();

        // (5) S <- exp(G_C) S0 + K^T D' for this thread's state rows; the next chunk's q
        //     loads meanwhile.
        if (c + 1 < ws.n_chunks) {
            issue_rows(rows_of(ws.q, c + 1), qp);
            cp_async_commit();
        }
        {
            const float e = expf(gs[kC - 1]);
#pragma unroll
            for (int a = 0; a < kSr; ++a)
#pragma unroll
                for (int j = 0; j < 4; ++j) sreg[a][j] *= e;
#pragma unroll 4
            for (int t = 0; t < kC; ++t) {
                const float4 dv = rs4[t * kN4 + tx];
                if constexpr (kSr == 4) {
                    const float4 kv = ks4[t * kRow4 + ty];  // k_t[4ty .. 4ty+3]
                    fma4(sreg[0], kv.x, dv);
                    fma4(sreg[1], kv.y, dv);
                    fma4(sreg[2], kv.z, dv);
                    fma4(sreg[3], kv.w, dv);
                } else {
                    const float2 kv = *reinterpret_cast<const float2*>(ks + t * kRow + 2 * ty);
                    fma4(sreg[0], kv.x, dv);
                    fma4(sreg[1], kv.y, dv);
                }
            }
#pragma unroll
            for (int a = 0; a < kSr; ++a)
                *reinterpret_cast<float4*>(ss + (kSr * ty + a) * kCols + c4) =
                    make_float4(sreg[a][0], sreg[a][1], sreg[a][2], sreg[a][3]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        float kv[kSr];
#pragma unroll
        for (int a = 0; a < kSr; ++a) kv[a] = sreg[a][j];
        Keys<StateT, kSr>::store(s_cols + j * kD, kv);
    }
}

// ---- 4. gated RMSNorm in place, ring update ----------------------------------------------
__global__ void __launch_bounds__(deltanet_prefill_detail::kThreads, 1)
    deltanet_prefill_norm_kernel(const deltanet_prefill_detail::Args p) {
    using namespace deltanet_prefill_detail;
    const int t = blockIdx.x;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float w[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) w[e] = __ldg(p.norm_w + lane * 4 + e);
    for (int h = warp; h < p.hv; h += kThreads / 32) {
        float* yr = p.y + t * p.y_s + int64_t(h) * kD + lane * 4;
        const float* zr = p.z + t * p.z_s + int64_t(h) * kD + lane * 4;
        float o[4], sq = 0.f;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            o[e] = yr[e];
            sq = fmaf(o[e], o[e], sq);
        }
        sq = warp_sum(sq);
        const float inv = rsqrtf(sq * (1.f / kD) + p.norm_eps);
#pragma unroll
        for (int e = 0; e < 4; ++e) yr[e] = w[e] * (o[e] * inv) * deltanet_detail::silu(zr[e]);
    }
    // The ring after the prefill: slot (pos0 + t) % 4 holds the input of token t, for the
    // last min(4, T) tokens (the prep kernel, which read the old slots, has finished).
    if (t >= p.n_tok - kDeltaNetConvKernel) {
        const int slot = (*p.pos + t) & 3;
        const float4* src = reinterpret_cast<const float4*>(p.qkv + t * p.qkv_s);
        float4* dst = reinterpret_cast<float4*>(p.ring + slot * p.conv_dim);
        for (int64_t i = threadIdx.x; i < p.conv_dim / 4; i += kThreads) dst[i] = src[i];
    }
}

namespace deltanet_prefill_detail {
/// The kernels' arguments of a checked parameter set (strides resolved).
template <class StateT>
Args make_args(const DeltaNetPrefillParams<StateT>& p) {
    const int64_t conv_dim = p.conv_dim();
    const int64_t zdim = int64_t(p.n_v_heads) * p.d_v;
    Args a{};
    a.n_tok = p.n_tok;
    a.hk = p.n_k_heads;
    a.hv = p.n_v_heads;
    a.order = p.order;
    a.norm_eps = p.norm_eps;
    a.qkv = p.qkv; a.z = p.z; a.b = p.b; a.a = p.a;
    a.qkv_s = p.qkv_stride ? p.qkv_stride : conv_dim;
    a.z_s = p.z_stride ? p.z_stride : zdim;
    a.b_s = p.b_stride ? p.b_stride : p.n_v_heads;
    a.a_s = p.a_stride ? p.a_stride : p.n_v_heads;
    a.y_s = p.y_stride ? p.y_stride : zdim;
    a.conv_w = p.conv_w; a.dt_bias = p.dt_bias; a.ssm_a = p.ssm_a; a.norm_w = p.norm_w;
    a.pos = p.pos;
    a.ring = p.conv_ring;
    a.y = p.y;
    a.conv_dim = conv_dim;
    return a;
}
}  // namespace deltanet_prefill_detail

/// Device bytes of launch_deltanet_prefill's workspace for T = n_tok tokens (0 for bad sizes).
inline size_t deltanet_prefill_workspace_bytes(int n_tok, int n_k_heads, int n_v_heads, int d_k,
                                               int d_v) {
    if (n_tok <= 0 || n_k_heads <= 0 || n_v_heads <= 0 || d_k <= 0 || d_v <= 0) return 0;
    size_t sizes[7];
    return deltanet_prefill_detail::layout(n_tok, n_k_heads, n_v_heads, d_k, d_v, sizes);
}

/// The scan's value columns per block for this launch: p.slice when set, else 16 while
/// Hv*dv/16 blocks fit two per SM, else 32 (H200, T = 512 and 4096: the faster of the two by
/// 12-28% at Hv = 16 and 48, within 1% at Hv = 32).
template <class StateT>
int deltanet_prefill_slice(const DeltaNetPrefillParams<StateT>& p) {
    if (p.slice != 0) {
        GDN_CHECK(p.slice == 16 || p.slice == 32, "deltanet_prefill: slice must be 0 (auto), 16 or 32, got ",
                  p.slice);
        return p.slice;
    }
    int dev = 0, sms = 0;
    GDN_CUDA_CHECK(cudaGetDevice(&dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(p.n_v_heads) * p.d_v / 16 <= 2 * int64_t(sms) ? 16 : 32;
}

/// Threads of a scan block for this launch: p.scan_threads when set, else 8 * slice (two
/// chunk rows per thread). 256 threads at slice 16 (one row per thread, opt-in) measured
/// 10-11% slower at Hv = 16 and 32 (bench/kernels_deltanet_prefill.cu, H200).
template <class StateT>
int deltanet_prefill_scan_threads(const DeltaNetPrefillParams<StateT>& p, int slice) {
    if (p.scan_threads == 0) return 8 * slice;
    GDN_CHECK(p.scan_threads == 256 || (slice == 16 && p.scan_threads == 128),
              "deltanet_prefill: scan_threads must be 0 (auto), 256, or 128 with slice 16; got ",
              p.scan_threads, " with slice ", slice);
    return p.scan_threads;
}

/// Checks the arguments (gdn::Error naming the bad one) and enqueues the four kernels on
/// `stream`. No host synchronisation, allocation or device read: safe inside graph capture.
template <class StateT>
void launch_deltanet_prefill(const DeltaNetPrefillParams<StateT>& p, cudaStream_t stream) {
    using namespace deltanet_prefill_detail;
    static_assert(std::is_same_v<StateT, float> || std::is_same_v<StateT, __nv_bfloat16>,
                  "deltanet_prefill: the state is float or __nv_bfloat16");
    const char* who = "deltanet_prefill";
    GDN_CHECK(p.n_tok >= 1 && p.n_tok <= (1 << 24), who, ": n_tok must be in [1, 2^24], got ", p.n_tok);
    GDN_CHECK(p.n_k_heads > 0 && p.n_v_heads > 0, who, ": head counts must be positive, got Hk=",
              p.n_k_heads, " Hv=", p.n_v_heads);
    GDN_CHECK(p.n_v_heads % p.n_k_heads == 0, who, ": Hv (", p.n_v_heads,
              ") is not a multiple of Hk (", p.n_k_heads, ")");
    GDN_CHECK(p.d_k == kD && p.d_v == kD, who, ": compiled for dk=dv=", kD, ", got dk=", p.d_k,
              " dv=", p.d_v);
    GDN_CHECK(p.order == HeadOrder::grouped || p.order == HeadOrder::tiled, who,
              ": unknown head order ", int(p.order));
    GDN_CHECK(p.norm_eps > 0.f, who, ": norm_eps must be positive, got ", p.norm_eps);
    const struct { const void* ptr; const char* name; } ptrs[] = {
        {p.qkv, "qkv"}, {p.z, "z"}, {p.b, "b"}, {p.a, "a"}, {p.conv_w, "conv_w"},
        {p.dt_bias, "dt_bias"}, {p.ssm_a, "ssm_a"}, {p.norm_w, "norm_w"}, {p.pos, "pos"},
        {p.conv_ring, "conv_ring"}, {p.state, "state"}, {p.y, "y"}, {p.workspace, "workspace"}};
    for (const auto& x : ptrs) GDN_CHECK(x.ptr != nullptr, who, ": ", x.name, " is null");
    const struct { const void* ptr; const char* name; } aligned[] = {
        {p.qkv, "qkv"}, {p.conv_w, "conv_w"}, {p.conv_ring, "conv_ring"}, {p.state, "state"},
        {p.workspace, "workspace"}};
    for (const auto& x : aligned)
        GDN_CHECK(reinterpret_cast<uintptr_t>(x.ptr) % 16 == 0, who, ": ", x.name,
                  " must be 16-byte aligned");
    const int64_t conv_dim = p.conv_dim();
    const int64_t zdim = int64_t(p.n_v_heads) * p.d_v;
    GDN_CHECK(p.qkv_stride == 0 || (p.qkv_stride >= conv_dim && p.qkv_stride % 4 == 0), who,
              ": qkv_stride ", p.qkv_stride, " must be 0 or a multiple of 4 >= conv_dim ", conv_dim);
    GDN_CHECK(p.z_stride == 0 || p.z_stride >= zdim, who, ": z_stride ", p.z_stride, " < Hv*dv ", zdim);
    GDN_CHECK(p.y_stride == 0 || p.y_stride >= zdim, who, ": y_stride ", p.y_stride, " < Hv*dv ", zdim);
    GDN_CHECK(p.b_stride == 0 || p.b_stride >= p.n_v_heads, who, ": b_stride ", p.b_stride,
              " < Hv ", p.n_v_heads);
    GDN_CHECK(p.a_stride == 0 || p.a_stride >= p.n_v_heads, who, ": a_stride ", p.a_stride,
              " < Hv ", p.n_v_heads);
    const int slice = deltanet_prefill_slice(p);
    const int threads = deltanet_prefill_scan_threads(p, slice);

    const Args a = deltanet_prefill_detail::make_args(p);
    const Workspace ws = carve(p.workspace, p.n_tok, p.n_k_heads, p.n_v_heads);
    GDN_CHECK(ws.n_chunks <= 65535, who, ": n_tok ", p.n_tok, " needs more than 65535 chunks");

    if (p.wht) deltanet_prefill_prep_kernel<true><<<ws.t_pad, kThreads, 0, stream>>>(a, ws);
    else deltanet_prefill_prep_kernel<false><<<ws.t_pad, kThreads, 0, stream>>>(a, ws);
    GDN_CHECK_LAUNCH("deltanet_prefill_prep_kernel");

    GDN_CUDA_CHECK(cudaFuncSetAttribute(deltanet_prefill_chunk_kernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        int(kChunkSmemBytes)));
    deltanet_prefill_chunk_kernel<<<dim3(ws.n_chunks, p.n_v_heads), kThreads, kChunkSmemBytes, stream>>>(a, ws);
    GDN_CHECK_LAUNCH("deltanet_prefill_chunk_kernel");

    auto scan = [&](auto cols_const, auto rpt_const) {
        constexpr int W = decltype(cols_const)::value;
        constexpr int R = decltype(rpt_const)::value;
        constexpr size_t smem = scan_smem_bytes(W);
        GDN_CUDA_CHECK(cudaFuncSetAttribute(deltanet_prefill_scan_kernel<StateT, W, R>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        deltanet_prefill_scan_kernel<StateT, W, R>
            <<<p.n_v_heads * (kD / W), W / 4 * (kC / R), smem, stream>>>(a, ws, p.state);
        GDN_CHECK_LAUNCH("deltanet_prefill_scan_kernel");
    };
    using I1 = std::integral_constant<int, 1>;
    using I2 = std::integral_constant<int, 2>;
    if (slice == 32) scan(std::integral_constant<int, 32>{}, I2{});
    else if (threads == 128) scan(std::integral_constant<int, 16>{}, I2{});
    else scan(std::integral_constant<int, 16>{}, I1{});

    deltanet_prefill_norm_kernel<<<p.n_tok, kThreads, 0, stream>>>(a);
    GDN_CHECK_LAUNCH("deltanet_prefill_norm_kernel");
}

}  // namespace gdn::kernels

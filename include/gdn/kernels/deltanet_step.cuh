// gdn/kernels/deltanet_step.cuh - one Gated DeltaNet decode step per layer, for n_seq
// independent sequences, in ONE kernel: everything between the input projections
// (qkv, z, b, a; float32 GEMV outputs) and the output projection (MODEL.md steps 2-6):
//
//   causal depthwise conv (kernel 4) + silu, conv state updated in place
//   split q | k | v, L2-normalise q and k per head, q *= 1/sqrt(dk)
//   [UseWHT] q <- H q, k <- H k (orthonormal Walsh-Hadamard over dk)
//   beta = sigmoid(b), g = ssm_a * softplus(a + dt_bias)
//   S <- exp(g) S;  d = beta (v - S^T k);  S <- S + k d^T  (in place);  o = S^T q
//   y = norm_w * o * rsqrt(mean(o^2) + eps) * silu(z)       per value head
//
// Grid:  (Hv * split, n_seq). split = 1 (the default): one block per (value head, sequence).
//        split = 4 (opt-in, sm_90+): a cluster of 4 blocks per head, each owning 32 value
//        columns of S; the gated norm's sum of o^2 is exchanged through DSMEM. Measured on
//        H200 (bench/kernels_deltanet.cu, graph-replayed, state from HBM): split 4 gains 4% at
//        Hv*n_seq = 16 (6.68 vs 6.96 us) and loses everywhere else (2x slower from 64 blocks
//        up: every block repeats the conv/norm prologue), so auto never picks it.
// Speed (H200, f32 state, copy = 4.27 TB/s): ~7 us per call at batch 1 (launch + the
//        dependent pos -> conv ring -> norms -> reduction chain); 59-66% of copy bandwidth at
//        batch 32 and 69-72% at batch 256 (bf16 state: 43-48% / 50-56%).
// Block: 256 threads (8 warps). Each thread owns a 16-byte column chunk of S (4 float or
//        8 bf16 values) in 16 (f32) or 8 (bf16) rows with split 1, 4 or 2 rows with split 4,
//        held in registers for the whole step.
// Bytes per call: state 2 * Hv*dk*dv * sizeof(StateT) * n_seq (each element read once and
//        written once, 16-byte coalesced accesses), plus per sequence ~conv_dim*4*(1 + 3r)
//        of projection input and conv history (r = Hv/Hk re-reads of shared q/k channels,
//        times split), conv_dim*4 of new conv column, 4*(Hv*dv) z in and 4*(Hv*dv) y out.
//
// The state update is fused algebraically: with gS = exp(g) S,
//   S^T k and S^T q are reduced in ONE pass over the loaded (old) S, then
//   d = beta (v - exp(g) S^T k),  o = (gS + k d^T)^T q = exp(g) S^T q + d (k.q),
// which equals o of the updated state exactly in real arithmetic (float rounding differs
// from the two-pass form at the ~1e-7 relative level) and saves a second block reduction.
//
// State layouts (device memory, written in place; the pointers never change):
//   state     [n_seq, Hv, dk, dv] StateT   S[h][i][j], i over keys, j over values
//             With UseWHT the state is kept in the rotated key basis S' = H S.
//   conv ring [n_seq, 4, conv_dim] float   ring of the last 4 conv inputs: at position t
//             the input x_t is stored in slot t % 4, and the conv taps read slots
//             (t-3)%4, (t-2)%4, (t-1)%4 plus x_t taken from the projection output.
//             Race freedom: several blocks (the r value heads sharing a key head) read the
//             same q/k channels, but no block reads slot t % 4 during step t, and exactly
//             one block writes it (for q/k channels the first value head of the key head,
//             for v channels the head itself; with split 4, the cluster's first block). The next step is a later kernel, so its
//             reads are ordered after this step's writes. A fresh sequence starts from an
//             all-zero ring (and pos 0); conv_ring_from_history/conv_ring_to_history convert
//             from/to the reference's [3, conv_dim] "last inputs, oldest first" layout.
//   pos       [n_seq] int32 on the device: the position t of this step (>= 0). It is read
//             from memory so that a captured CUDA graph replays with the current value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cuda_bf16.h>
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"

namespace gdn::kernels {

inline constexpr int kDeltaNetConvKernel = 4;

/// Arguments of one DeltaNet decode step. Row strides are in elements between consecutive
/// sequences; 0 means densely packed (the row width), so a fused projection output
/// [n_seq, conv_dim + Hv*dv + 2*Hv] can be passed as four views with one stride.
template <class StateT>
struct DeltaNetStepParams {
    int n_seq = 0;
    int n_k_heads = 0;  ///< Hk
    int n_v_heads = 0;  ///< Hv, a multiple of Hk
    int d_k = 128;      ///< must be 128 (the compiled head size)
    int d_v = 128;      ///< must be 128
    HeadOrder order = HeadOrder::tiled;
    float norm_eps = 1e-6f;  ///< eps of the gated RMSNorm
    int split = 0;           ///< value-column split per head: 0 = auto (1), 1, or kDeltaNetSplit

    const float* qkv = nullptr;    ///< [n_seq, conv_dim]  projection before the conv: q | k | v
    const float* z = nullptr;      ///< [n_seq, Hv*dv]     output gate (silu)
    const float* b = nullptr;      ///< [n_seq, Hv]        beta = sigmoid(b)
    const float* a = nullptr;      ///< [n_seq, Hv]        g = ssm_a * softplus(a + dt_bias)
    int64_t qkv_stride = 0, z_stride = 0, b_stride = 0, a_stride = 0, y_stride = 0;

    const float* conv_w = nullptr;   ///< [conv_dim, 4]  channel c's taps, oldest first
    const float* dt_bias = nullptr;  ///< [Hv]
    const float* ssm_a = nullptr;    ///< [Hv]  -exp(A_log)
    const float* norm_w = nullptr;   ///< [dv]  plain weight of the gated RMSNorm

    const int32_t* pos = nullptr;  ///< [n_seq] position of this step, on the device
    float* conv_ring = nullptr;    ///< [n_seq, 4, conv_dim] in place
    StateT* state = nullptr;       ///< [n_seq, Hv, dk, dv] in place
    float* y = nullptr;            ///< [n_seq, Hv*dv] gated-norm output

    [[nodiscard]] int64_t conv_dim() const {
        return 2 * int64_t(n_k_heads) * d_k + int64_t(n_v_heads) * d_v;
    }
};

namespace deltanet_detail {

/// 16 bytes of state <-> float values.
template <class StateT>
struct StateChunk;

template <>
struct StateChunk<float> {
    static constexpr int kElems = 4;
    static __device__ GDN_FORCEINLINE void unpack(const uint4& r, float (&f)[4]) {
        f[0] = __uint_as_float(r.x); f[1] = __uint_as_float(r.y);
        f[2] = __uint_as_float(r.z); f[3] = __uint_as_float(r.w);
    }
    static __device__ GDN_FORCEINLINE uint4 pack(const float (&f)[4]) {
        return make_uint4(__float_as_uint(f[0]), __float_as_uint(f[1]),
                          __float_as_uint(f[2]), __float_as_uint(f[3]));
    }
};

template <>
struct StateChunk<__nv_bfloat16> {
    static constexpr int kElems = 8;
    // bf16 -> float is exact: the bf16 bits are the top half of the float.
    static __device__ GDN_FORCEINLINE void unpack(const uint4& r, float (&f)[8]) {
        const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            f[2 * i] = __uint_as_float(w[i] << 16);
            f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    }
    static __device__ GDN_FORCEINLINE uint4 pack(const float (&f)[8]) {
        uint32_t w[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const __nv_bfloat162 h = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
            w[i] = *reinterpret_cast<const uint32_t*>(&h);
        }
        return make_uint4(w[0], w[1], w[2], w[3]);
    }
};

__device__ GDN_FORCEINLINE float warp_sum(float x) {
#pragma unroll
    for (int m = 16; m >= 1; m >>= 1) x += __shfl_xor_sync(0xffffffffu, x, m);
    return x;
}

__device__ GDN_FORCEINLINE float silu(float x) { return x / (1.f + __expf(-x)); }

/// Orthonormal Walsh-Hadamard transform of a 128-vector spread over one warp, element
/// lane*4 + e in x[e]: (H x)[i] = 128^-1/2 sum_j (-1)^popcount(i&j) x[j]. Index bits 0-1 are
/// inside a lane, bits 2-6 across lanes.
__device__ GDN_FORCEINLINE void warp_fwht128(float (&x)[4], int lane) {
    float t0 = x[0] + x[1], t1 = x[0] - x[1], t2 = x[2] + x[3], t3 = x[2] - x[3];
    x[0] = t0 + t2; x[1] = t1 + t3; x[2] = t0 - t2; x[3] = t1 - t3;
#pragma unroll
    for (int m = 1; m <= 16; m <<= 1) {
        const bool upper = lane & m;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const float other = __shfl_xor_sync(0xffffffffu, x[e], m);
            x[e] = upper ? other - x[e] : x[e] + other;
        }
    }
    constexpr float kScale = 0.08838834764831845f;  // 1/sqrt(128)
#pragma unroll
    for (int e = 0; e < 4; ++e) x[e] *= kScale;
}

/// conv + silu of 4 consecutive channels c0..c0+3 of one sequence; stores x_t into the ring
/// slot when `write` (the channel's designated writer).
__device__ GDN_FORCEINLINE void conv4(const float* __restrict__ x_in, float* ring,
                                      const float* __restrict__ conv_w, int64_t conv_dim,
                                      int64_t c0, int t, bool write, float (&u)[4]) {
    const float4 x = *reinterpret_cast<const float4*>(x_in + c0);
    float4 h[3];  // x_{t-3}, x_{t-2}, x_{t-1}
#pragma unroll
    for (int j = 0; j < 3; ++j)
        h[j] = *reinterpret_cast<const float4*>(ring + ((t + 1 + j) & 3) * conv_dim + c0);
    float w[4][4];  // [channel][tap]
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        const float4 wv = __ldg(reinterpret_cast<const float4*>(conv_w + (c0 + e) * 4));
        w[e][0] = wv.x; w[e][1] = wv.y; w[e][2] = wv.z; w[e][3] = wv.w;
    }
    const float xs[4] = {x.x, x.y, x.z, x.w};
    const float hs[3][4] = {{h[0].x, h[0].y, h[0].z, h[0].w},
                            {h[1].x, h[1].y, h[1].z, h[1].w},
                            {h[2].x, h[2].y, h[2].z, h[2].w}};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        float s = w[e][0] * hs[0][e];
        s = fmaf(w[e][1], hs[1][e], s);
        s = fmaf(w[e][2], hs[2][e], s);
        s = fmaf(w[e][3], xs[e], s);
        u[e] = silu(s);
    }
    if (write) __stwb(reinterpret_cast<float4*>(ring + (t & 3) * conv_dim + c0), x);
}

}  // namespace deltanet_detail

/// Value columns per block: 1 = a block owns a whole head; kSplit > 1 = a cluster of kSplit
/// blocks shares a head, each owning dv/kSplit columns of S (more blocks at small batch).
inline constexpr int kDeltaNetSplit = 4;

/// The kernel body; see the file comment. Dk = Dv = 128, 256 threads.
template <class StateT, bool UseWHT, int kSplit>
struct DeltaNetStep {
    static constexpr int kDk = 128;
    static constexpr int kDv = 128;
    static constexpr int kThreads = 256;
    static constexpr int kWarps = kThreads / 32;
    static constexpr int kCols = kDv / kSplit;               // value columns of this block
    using Chunk = deltanet_detail::StateChunk<StateT>;
    static constexpr int kVec = Chunk::kElems;               // state values per 16-byte access
    static constexpr int kLanesPerRow = kCols / kVec;        // threads per row of the slice
    static constexpr int kRowsPerPass = kThreads / kLanesPerRow;
    static constexpr int kPasses = kDk / kRowsPerPass;       // rows per thread

    static_assert(kSplit == 1 || kSplit == 2 || kSplit == 4, "kSplit must be 1, 2 or 4");
    static_assert(sizeof(StateT) * kVec == 16, "a state chunk is one 16-byte access");
    static_assert(kLanesPerRow <= 32 && 32 % kLanesPerRow == 0,
                  "a warp must cover whole rows of the state slice");
    static_assert(kDk % kRowsPerPass == 0, "the block must tile the key rows evenly");
    static_assert(kCols <= kThreads && kCols % 32 == 0, "one thread per value column in the epilogue");

    struct SharedStorage {
        float q[kDk];
        float k[kDk];
        float v[kDv];
        float d[kCols];
        float red[kWarps][2][kCols];  // per warp partial (S^T k, S^T q)
        float o_sq[kCols / 32];       // per warp partial sum of o^2
        float o_part;                 // this block's sum of o^2 (read by the cluster)
        float decay, beta, kq;
    };

    __device__ GDN_FORCEINLINE void operator()(const DeltaNetStepParams<StateT>& p,
                                               SharedStorage& sh) const {
        const int h = blockIdx.x / kSplit;
        const int part = blockIdx.x % kSplit;  // == rank in the cluster
        const int seq = blockIdx.y;
        const int tid = threadIdx.x;
        const int warp = tid / 32;
        const int lane = tid % 32;
        const int hk = p.n_k_heads;
        const int hv = p.n_v_heads;
        const int ratio = hv / hk;
        const int kh = p.order == HeadOrder::grouped ? h / ratio : h % hk;
        // The first value head of each key head writes the q/k channels' new conv column;
        // of a cluster, only its first block writes.
        const bool v_writer = part == 0;
        const bool qk_writer = v_writer && (p.order == HeadOrder::grouped ? h % ratio == 0 : h < hk);
        const int64_t conv_dim = 2 * int64_t(hk) * kDk + int64_t(hv) * kDv;
        const int col0 = part * kCols;  // first value column of this block

        // 1. Issue every state load first (after the position, which the conv-ring addresses
        //    wait for): they have no dependency, and their latency hides behind the conv /
        //    norm / gate work below.
        const int t = p.pos[seq];
        StateT* s_head = p.state + (int64_t(seq) * hv + h) * (int64_t(kDk) * kDv);
        const int lcol = (tid % kLanesPerRow) * kVec;  // column within the slice
        const int col = col0 + lcol;
        const int row0 = tid / kLanesPerRow;
        uint4 raw[kPasses];
#pragma unroll
        for (int r = 0; r < kPasses; ++r)
            raw[r] = *reinterpret_cast<const uint4*>(s_head + (row0 + r * kRowsPerPass) * kDv + col);

        // Epilogue operands, also prefetched now.
        float z_j = 0.f, w_j = 0.f;
        if (tid < kCols) {
            const int64_t zs = p.z_stride ? p.z_stride : int64_t(hv) * kDv;
            z_j = p.z[seq * zs + h * kDv + col0 + tid];
            w_j = __ldg(p.norm_w + col0 + tid);
        }

        // 2. conv + silu + norms: warp 0 builds q and k (and k.q), warp 1 v, warp 2 the gates.
        const int64_t qkv_s = p.qkv_stride ? p.qkv_stride : conv_dim;
        const float* x_in = p.qkv + seq * qkv_s;
        float* ring = p.conv_ring + int64_t(seq) * kDeltaNetConvKernel * conv_dim;
        if (warp == 0) {
            float q[4], k[4];
            deltanet_detail::conv4(x_in, ring, p.conv_w, conv_dim, int64_t(kh) * kDk + lane * 4, t,
                          qk_writer, q);
            deltanet_detail::conv4(x_in, ring, p.conv_w, conv_dim, int64_t(hk + kh) * kDk + lane * 4, t,
                          qk_writer, k);
            float qq = 0.f, kk = 0.f;
#pragma unroll
            for (int e = 0; e < 4; ++e) { qq = fmaf(q[e], q[e], qq); kk = fmaf(k[e], k[e], kk); }
            qq = deltanet_detail::warp_sum(qq);
            kk = deltanet_detail::warp_sum(kk);
            constexpr float kQScale = 0.08838834764831845f;  // 1/sqrt(dk)
            const float qn = rsqrtf(qq + 1e-6f) * kQScale;
            const float kn = rsqrtf(kk + 1e-6f);
            float kq = 0.f;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                q[e] *= qn;
                k[e] *= kn;
                kq = fmaf(k[e], q[e], kq);
            }
            if constexpr (UseWHT) {
                deltanet_detail::warp_fwht128(q, lane);
                deltanet_detail::warp_fwht128(k, lane);
            }
            kq = deltanet_detail::warp_sum(kq);  // rotation-invariant: taken before H
            *reinterpret_cast<float4*>(sh.q + lane * 4) = make_float4(q[0], q[1], q[2], q[3]);
            *reinterpret_cast<float4*>(sh.k + lane * 4) = make_float4(k[0], k[1], k[2], k[3]);
            if (lane == 0) sh.kq = kq;
        } else if (warp == 1) {
            float v[4];
            deltanet_detail::conv4(x_in, ring, p.conv_w, conv_dim,
                          2 * int64_t(hk) * kDk + int64_t(h) * kDv + lane * 4, t, v_writer, v);
            *reinterpret_cast<float4*>(sh.v + lane * 4) = make_float4(v[0], v[1], v[2], v[3]);
        } else if (warp == 2 && lane == 0) {
            const int64_t bs = p.b_stride ? p.b_stride : hv;
            const int64_t as = p.a_stride ? p.a_stride : hv;
            const float b = p.b[seq * bs + h];
            const float x = p.a[seq * as + h] + __ldg(p.dt_bias + h);
            const float softplus = x > 20.f ? x : log1pf(expf(x));  // torch's threshold
            sh.beta = 1.f / (1.f + expf(-b));
            sh.decay = expf(__ldg(p.ssm_a + h) * softplus);
        }
        __syncthreads();

        // 3. One pass over the old state: partial S^T k and S^T q of this thread's rows.
        float acc_k[kVec], acc_q[kVec];
#pragma unroll
        for (int e = 0; e < kVec; ++e) { acc_k[e] = 0.f; acc_q[e] = 0.f; }
#pragma unroll
        for (int r = 0; r < kPasses; ++r) {
            const int i = row0 + r * kRowsPerPass;
            const float ki = sh.k[i], qi = sh.q[i];
            float s[kVec];
            Chunk::unpack(raw[r], s);
#pragma unroll
            for (int e = 0; e < kVec; ++e) {
                acc_k[e] = fmaf(s[e], ki, acc_k[e]);
                acc_q[e] = fmaf(s[e], qi, acc_q[e]);
            }
        }
#pragma unroll
        for (int m = kLanesPerRow; m < 32; m <<= 1) {  // lanes of one warp on the same columns
#pragma unroll
            for (int e = 0; e < kVec; ++e) {
                acc_k[e] += __shfl_xor_sync(0xffffffffu, acc_k[e], m);
                acc_q[e] += __shfl_xor_sync(0xffffffffu, acc_q[e], m);
            }
        }
        if (lane < kLanesPerRow) {
#pragma unroll
            for (int e = 0; e < kVec; e += 4) {
                *reinterpret_cast<float4*>(&sh.red[warp][0][lcol + e]) =
                    make_float4(acc_k[e], acc_k[e + 1], acc_k[e + 2], acc_k[e + 3]);
                *reinterpret_cast<float4*>(&sh.red[warp][1][lcol + e]) =
                    make_float4(acc_q[e], acc_q[e + 1], acc_q[e + 2], acc_q[e + 3]);
            }
        }
        __syncthreads();

        // 4. Per value column j: d_j and o_j; block sum of o^2 for the gated norm.
        const float decay = sh.decay;
        float o_j = 0.f;
        if (tid < kCols) {
            float sk = 0.f, sq = 0.f;
#pragma unroll
            for (int w = 0; w < kWarps; ++w) { sk += sh.red[w][0][tid]; sq += sh.red[w][1][tid]; }
            const float d = sh.beta * (sh.v[col0 + tid] - decay * sk);
            o_j = fmaf(d, sh.kq, decay * sq);
            sh.d[tid] = d;
            const float o2 = deltanet_detail::warp_sum(o_j * o_j);
            if (lane == 0) sh.o_sq[warp] = o2;
        }
        __syncthreads();
        float ss = 0.f;
#pragma unroll
        for (int w = 0; w < kCols / 32; ++w) ss += sh.o_sq[w];
        if (kSplit > 1 && tid == 0) sh.o_part = ss;

        // 5. S <- decay S + k d^T, written where it was read.
        float d_c[kVec];
#pragma unroll
        for (int e = 0; e < kVec; e += 4) {
            const float4 dv4 = *reinterpret_cast<const float4*>(sh.d + lcol + e);
            d_c[e] = dv4.x; d_c[e + 1] = dv4.y; d_c[e + 2] = dv4.z; d_c[e + 3] = dv4.w;
        }
#pragma unroll
        for (int r = 0; r < kPasses; ++r) {
            const int i = row0 + r * kRowsPerPass;
            const float ki = sh.k[i];
            float s[kVec];
            Chunk::unpack(raw[r], s);
#pragma unroll
            for (int e = 0; e < kVec; ++e) s[e] = fmaf(ki, d_c[e], decay * s[e]);
            // __stwb: a plain uint4 assignment was split into four 4-byte stores (nvcc 13).
            __stwb(reinterpret_cast<uint4*>(s_head + i * kDv + col), Chunk::pack(s));
        }

        // 6. Gated RMSNorm over the whole head: the cluster adds its blocks' sums of o^2.
        if constexpr (kSplit > 1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
            cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
            cluster.sync();  // every block's o_part is written
            if (tid < kCols) {
                ss = 0.f;
#pragma unroll
                for (int r = 0; r < kSplit; ++r) ss += *cluster.map_shared_rank(&sh.o_part, r);
            }
            cluster.sync();  // no block leaves while another still reads its o_part
#else
            __trap();  // clusters need sm_90; the launcher never picks kSplit > 1 below it
#endif
        }
        if (tid < kCols) {
            const float inv = rsqrtf(ss * (1.f / kDv) + p.norm_eps);
            const int64_t ys = p.y_stride ? p.y_stride : int64_t(hv) * kDv;
            p.y[seq * ys + h * kDv + col0 + tid] = w_j * (o_j * inv) * deltanet_detail::silu(z_j);
        }
    }
};

template <class StateT, bool UseWHT, int kSplit>
__global__ void __launch_bounds__(DeltaNetStep<StateT, UseWHT, kSplit>::kThreads, 2)
    deltanet_step_kernel(const DeltaNetStepParams<StateT> p) {
    using Step = DeltaNetStep<StateT, UseWHT, kSplit>;
    __shared__ typename Step::SharedStorage sh;
    Step{}(p, sh);
}

/// The column split a launch uses: `p.split` when set, else 1 (split 4 measured slower at
/// every shape but the smallest; see the file comment).
template <class StateT>
int deltanet_step_split(const DeltaNetStepParams<StateT>& p) {
    if (p.split == 0 || p.split == 1) return 1;
    GDN_CHECK(p.split == kDeltaNetSplit, "deltanet_step: split must be 0 (auto), 1 or ",
              kDeltaNetSplit, ", got ", p.split);
    int dev = 0, major = 0;
    GDN_CUDA_CHECK(cudaGetDevice(&dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    GDN_CHECK(major >= 9, "deltanet_step: split ", p.split,
              " needs thread-block clusters (sm_90+), device is sm_", major, "x");
    return p.split;
}

/// Checks the arguments (gdn::Error naming the bad one) and enqueues the step on `stream`.
/// No host synchronisation, allocation or device read: safe inside CUDA graph capture.
template <class StateT, bool UseWHT>
void launch_deltanet_step(const DeltaNetStepParams<StateT>& p, cudaStream_t stream) {
    using Step = DeltaNetStep<StateT, UseWHT, 1>;
    GDN_CHECK(p.n_seq > 0 && p.n_seq <= 65535, "deltanet_step: n_seq must be in [1, 65535], got ",
              p.n_seq);
    GDN_CHECK(p.n_k_heads > 0 && p.n_v_heads > 0, "deltanet_step: head counts must be positive, got Hk=",
              p.n_k_heads, " Hv=", p.n_v_heads);
    GDN_CHECK(p.n_v_heads % p.n_k_heads == 0, "deltanet_step: Hv (", p.n_v_heads,
              ") is not a multiple of Hk (", p.n_k_heads, ")");
    GDN_CHECK(p.d_k == Step::kDk && p.d_v == Step::kDv, "deltanet_step: compiled for dk=dv=",
              Step::kDk, ", got dk=", p.d_k, " dv=", p.d_v);
    GDN_CHECK(p.order == HeadOrder::grouped || p.order == HeadOrder::tiled,
              "deltanet_step: unknown head order ", int(p.order));
    GDN_CHECK(p.norm_eps > 0.f, "deltanet_step: norm_eps must be positive, got ", p.norm_eps);
    const struct { const void* ptr; const char* name; } ptrs[] = {
        {p.qkv, "qkv"}, {p.z, "z"}, {p.b, "b"}, {p.a, "a"}, {p.conv_w, "conv_w"},
        {p.dt_bias, "dt_bias"}, {p.ssm_a, "ssm_a"}, {p.norm_w, "norm_w"}, {p.pos, "pos"},
        {p.conv_ring, "conv_ring"}, {p.state, "state"}, {p.y, "y"}};
    for (const auto& x : ptrs) GDN_CHECK(x.ptr != nullptr, "deltanet_step: ", x.name, " is null");
    // float4 / 16-byte accesses: these bases must be 16-byte aligned.
    const struct { const void* ptr; const char* name; } aligned[] = {
        {p.qkv, "qkv"}, {p.conv_w, "conv_w"}, {p.conv_ring, "conv_ring"}, {p.state, "state"}};
    for (const auto& x : aligned)
        GDN_CHECK(reinterpret_cast<uintptr_t>(x.ptr) % 16 == 0, "deltanet_step: ", x.name,
                  " must be 16-byte aligned");
    const int64_t conv_dim = p.conv_dim();
    const int64_t zdim = int64_t(p.n_v_heads) * p.d_v;
    GDN_CHECK(p.qkv_stride == 0 || (p.qkv_stride >= conv_dim && p.qkv_stride % 4 == 0),
              "deltanet_step: qkv_stride ", p.qkv_stride, " must be 0 or a multiple of 4 >= conv_dim ",
              conv_dim);
    GDN_CHECK(p.z_stride == 0 || p.z_stride >= zdim, "deltanet_step: z_stride ", p.z_stride,
              " < Hv*dv ", zdim);
    GDN_CHECK(p.y_stride == 0 || p.y_stride >= zdim, "deltanet_step: y_stride ", p.y_stride,
              " < Hv*dv ", zdim);
    GDN_CHECK(p.b_stride == 0 || p.b_stride >= p.n_v_heads, "deltanet_step: b_stride ", p.b_stride,
              " < Hv ", p.n_v_heads);
    GDN_CHECK(p.a_stride == 0 || p.a_stride >= p.n_v_heads, "deltanet_step: a_stride ", p.a_stride,
              " < Hv ", p.n_v_heads);

    const int split = deltanet_step_split(p);
    if (split == 1) {
        deltanet_step_kernel<StateT, UseWHT, 1>
            <<<dim3(p.n_v_heads, p.n_seq), Step::kThreads, 0, stream>>>(p);
    } else {
        cudaLaunchConfig_t cfg{};
        cfg.gridDim = dim3(p.n_v_heads * kDeltaNetSplit, p.n_seq);
        cfg.blockDim = dim3(Step::kThreads);
        cfg.stream = stream;
        cudaLaunchAttribute attr{};
        attr.id = cudaLaunchAttributeClusterDimension;
        attr.val.clusterDim.x = kDeltaNetSplit;
        attr.val.clusterDim.y = 1;
        attr.val.clusterDim.z = 1;
        cfg.attrs = &attr;
        cfg.numAttrs = 1;
        GDN_CUDA_CHECK(cudaLaunchKernelEx(&cfg, deltanet_step_kernel<StateT, UseWHT, kDeltaNetSplit>, p));
    }
    GDN_CHECK_LAUNCH("deltanet_step_kernel");
}

/// Host: one sequence's conv history in the reference layout [kernel-1, conv_dim] (the last
/// inputs, oldest first) -> the ring [kernel, conv_dim] for a step at position `pos`.
/// The slot pos % 4 (which that step overwrites) is zeroed.
inline void conv_ring_from_history(const float* history, int64_t conv_dim, int32_t pos,
                                   float* ring) {
    GDN_CHECK(pos >= 0, "conv_ring_from_history: pos must be >= 0, got ", pos);
    const int64_t k = kDeltaNetConvKernel;
    for (int64_t c = 0; c < conv_dim; ++c) ring[(pos % k) * conv_dim + c] = 0.f;
    for (int64_t r = 0; r < k - 1; ++r) {  // row r holds x_{pos-3+r}
        const int64_t slot = (pos + 1 + r) % k;
        for (int64_t c = 0; c < conv_dim; ++c) ring[slot * conv_dim + c] = history[r * conv_dim + c];
    }
}

/// Host: the inverse of conv_ring_from_history, for the ring as a step at `pos` will find it
/// (i.e. after the step at pos-1).
inline void conv_ring_to_history(const float* ring, int64_t conv_dim, int32_t pos,
                                 float* history) {
    GDN_CHECK(pos >= 0, "conv_ring_to_history: pos must be >= 0, got ", pos);
    const int64_t k = kDeltaNetConvKernel;
    for (int64_t r = 0; r < k - 1; ++r) {
        const int64_t slot = (pos + 1 + r) % k;
        for (int64_t c = 0; c < conv_dim; ++c) history[r * conv_dim + c] = ring[slot * conv_dim + c];
    }
}

}  // namespace gdn::kernels

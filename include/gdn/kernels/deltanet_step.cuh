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
// The state is stored V-major (value row j of S contiguous over the keys i), so every value
// row is independent: with S_j the row, gS = exp(g) S,
//   (S^T k)_j = S_j . k,  (S^T q)_j = S_j . q          (warp-level dot products)
//   d_j = beta (v_j - exp(g) S_j . k),  S_j <- exp(g) S_j + d_j k,
//   o_j = exp(g) S_j . q + d_j (k . q)
// (o of the updated state in real arithmetic: (gS + k d^T)^T q; float rounding differs from the
// two-pass form at the ~1e-7 relative level). One pass over the old row gives both dots; the
// only block-wide reduction is the gated norm's sum of o^2 per head.
//
// Grid:  (Hv * split, n_seq), block kWarps * 32 threads. A block owns dv/split value rows of
//        one head: split = 1 a whole head; split = 2 or 4 (sm_90+) a cluster of that many
//        blocks per head, each repeating the q/k/v prologue, the sum of o^2 exchanged through
//        DSMEM. Eight lanes share a row (each lane 16 keys: four (f32) or two (bf16) 16-byte
//        chunks, so one warp load instruction reads four 128-byte row segments); a warp walks
//        its rows four at a time with up to four such sets (16 rows) of loads in flight.
//        Variants (DeltaNetStepConfig): 8 warps (16 / split rows per warp, all loads issued at
//        the kernel's start, two blocks per SM) or 4 warps with split 1 (32 rows per warp, a
//        rolling window of 16 rows, four blocks per SM). The auto choice is in
//        deltanet_step_config below.
// Speed (H200, bench/kernels_deltanet.cu, graph-replayed, state from HBM, copy = 4204 GB/s
//        read + write; f32 state, the best variant): 4 warps from 256 blocks up: batch 32
//        67.8% (Hv 16) / 76.7% (32) / 80.8% (48) of copy, batch 256 84.6% / 88.2% / 89.5%
//        (the K-major kernel before: 61.4% / - / 69.4% and 72.2% / - / 75.8%); bf16 state
//        55-65% at batch 32, 68-75% at 256. Batch 1: 6.36 us (Hv 16, split 4), 7.12 us (32,
//        split 4), 7.60 us (48, split 1), from 7.04 / - / 7.64 us. 8 warps win up to ~128
//        blocks; split 4 gains 8% (f32) only up to 32 blocks, split 2 never won.
// Bytes per call: state 2 * Hv*dk*dv * sizeof(StateT) * n_seq (each element read once and
//        written once, 16-byte accesses), plus per sequence ~conv_dim*4*(1 + 4r) of projection
//        input and conv ring (r = Hv/Hk re-reads of shared q/k channels, times split),
//        conv_dim*4 of new conv column, 4*(Hv*dv) z in and 4*(Hv*dv) y out.
//
// State layouts (device memory, written in place; the pointers never change):
//   state     [n_seq, Hv, dv, dk] StateT  V-major: element (seq, h, j, i) = S[h][i][j] of the
//             reference's [Hv, dk, dv] (i over keys, j over values); row j is contiguous over
//             the keys. With UseWHT the state is kept in the rotated key basis: each row
//             S'_j = H S_j (H applied along the contiguous dk axis).
//   conv ring [n_seq, 4, conv_dim] float   ring of the last 4 conv inputs: at position t
//             the input x_t is stored in slot t % 4, and the conv taps read slots
//             (t-3)%4, (t-2)%4, (t-1)%4 plus x_t taken from the projection output.
//             Race freedom: several blocks (the r value heads sharing a key head, and the
//             blocks of a cluster) read the same q/k channels, and exactly one block writes
//             slot t % 4 of a channel (for q/k channels the first value head of the key head,
//             for v channels the head itself; of a cluster, its first block). So that the
//             ring loads need not wait for the position, a block loads all four slots and
//             discards slot t % 4; those loads and the writer's store are ld/st.relaxed.gpu
//             (morally strong), so the concurrent read and write of slot t % 4 are no data
//             race. The next step is a later kernel, so its reads are ordered after this
//             step's writes. A fresh sequence starts from an all-zero ring (and pos 0);
//             conv_ring_from_history/conv_ring_to_history convert from/to the reference's
//             [3, conv_dim] "last inputs, oldest first" layout.
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
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/ptx.cuh"

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
    int split = 0;        ///< value-row split per head (cluster size): 0 = auto, 1, 2 or 4
    int block_warps = 0;  ///< warps per block: 0 = auto, 8, or 4 (split 1 only)

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
    StateT* state = nullptr;       ///< [n_seq, Hv, dv, dk] in place (V-major, see above)
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

/// 16-byte ring accesses at gpu scope (morally strong: see the file comment on race freedom).
__device__ GDN_FORCEINLINE float4 ld_relaxed4(const float* p) {
    float4 v;
    asm volatile("ld.relaxed.gpu.global.v4.f32 {%0, %1, %2, %3}, [%4];"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
                 : "l"(p));
    return v;
}
__device__ GDN_FORCEINLINE void st_relaxed4(float* p, const float4& v) {
    asm volatile("st.relaxed.gpu.global.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(p), "f"(v.x), "f"(v.y),
                 "f"(v.z), "f"(v.w)
                 : "memory");
}

/// conv + silu of 4 consecutive channels c0..c0+3 of one sequence; stores x_t into the ring
/// slot when `write` (the channel's designated writer). All four ring slots are loaded, so
/// no load waits for the position t (only the selection below does).
__device__ GDN_FORCEINLINE void conv4(const float* x_in, float* ring,
                                      const float* __restrict__ conv_w, int64_t conv_dim,
                                      int64_t c0, int t, bool write, float (&u)[4]) {
    // coherent (not the read-only path): the persistent step kernel writes x_in in the same launch
    const float4 x = __ldcg(reinterpret_cast<const float4*>(x_in + c0));
    float4 slot[4];
#pragma unroll
    for (int s = 0; s < 4; ++s) slot[s] = ld_relaxed4(ring + s * conv_dim + c0);
    float w[4][4];  // [channel][tap]
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        const float4 wv = __ldg(reinterpret_cast<const float4*>(conv_w + (c0 + e) * 4));
        w[e][0] = wv.x; w[e][1] = wv.y; w[e][2] = wv.z; w[e][3] = wv.w;
    }
    float hs[3][4];  // x_{t-3}, x_{t-2}, x_{t-1}: slots (t+1)%4, (t+2)%4, (t+3)%4
#pragma unroll
    for (int j = 0; j < 3; ++j) {
        const int i = (t + 1 + j) & 3;
        float4 h = slot[0];
        h = i == 1 ? slot[1] : h;
        h = i == 2 ? slot[2] : h;
        h = i == 3 ? slot[3] : h;
        hs[j][0] = h.x; hs[j][1] = h.y; hs[j][2] = h.z; hs[j][3] = h.w;
    }
    const float xs[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        float s = w[e][0] * hs[0][e];
        s = fmaf(w[e][1], hs[1][e], s);
        s = fmaf(w[e][2], hs[2][e], s);
        s = fmaf(w[e][3], xs[e], s);
        u[e] = silu(s);
    }
    if (write) st_relaxed4(ring + (t & 3) * conv_dim + c0, x);
}

}  // namespace deltanet_detail

/// The largest value-row split (cluster size) per head.
inline constexpr int kDeltaNetSplit = 4;

/// The kernel body; see the file comment. Dk = Dv = 128; kWarps warps own dv / kSplit rows.
template <class StateT, bool UseWHT, int kWarps, int kSplit>
struct DeltaNetStep {
    static constexpr int kDk = 128;
    static constexpr int kDv = 128;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kRows = kDv / kSplit;              // value rows of this block
    static constexpr int kRowLanes = 8;                     // lanes sharing one row
    static constexpr int kGroups = 32 / kRowLanes;          // rows per warp step (a "set")
    static constexpr int kRowsPerWarp = kRows / kWarps;
    static constexpr int kSets = kRowsPerWarp / kGroups;    // sets per warp
    static constexpr int kWindow = kSets < 4 ? kSets : 4;   // sets of loads in flight per warp
    using Chunk = deltanet_detail::StateChunk<StateT>;
    static constexpr int kVec = Chunk::kElems;              // state values per 16-byte access
    static constexpr int kChunks = kDk / (kRowLanes * kVec);  // 16-byte chunks per lane and row
    static constexpr int kKeys = kChunks * kVec;            // keys per lane (16)

    static_assert(kSplit == 1 || kSplit == 2 || kSplit == 4, "kSplit must be 1, 2 or 4");
    static_assert(kWarps >= 3, "the prologue uses three warps (q/k, v, gates)");
    static_assert(sizeof(StateT) * kVec == 16, "a state chunk is one 16-byte access");
    static_assert(kRows % (kWarps * kGroups) == 0, "every warp owns whole sets of four rows");
    static_assert(kSets % kWindow == 0, "the load window must divide a warp's sets");
    static_assert(kRows <= kThreads, "one thread per value row in the epilogue");

    struct SharedStorage {
        float q[kDk];
        float k[kDk];
        float v[kDv];
        float o[kRows];        // o_j of this block's rows
        float o_sq[kWarps];    // per warp partial sum of o^2
        float o_part;          // this block's sum of o^2 (read by the cluster)
        float decay, beta, kq;
    };

    /// Block `blk` of the head grid (value head blk / kSplit, part blk % kSplit) for sequence `seq`.
    __device__ GDN_FORCEINLINE void operator()(const DeltaNetStepParams<StateT>& p, SharedStorage& sh, int blk,
                                               int seq) const {
        const int h = blk / kSplit;
        const int part = blk % kSplit;  // == rank in the cluster
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
        const int row_b0 = part * kRows;  // first value row of this block within the head

        // launch.cuh: everything this kernel reads may come from the kernel just before it
        // (back-to-back steps write the state they read), so nothing is loaded before this.
        pdl_wait();
        pdl_launch_dependents();

        // 1. Issue the first window of state loads first: they depend on nothing else, and their
        //    latency hides behind the conv / norm / gate work below. Lane (group g, sub s)
        //    reads row  row_b0 + warp*kRowsPerWarp + set*4 + g,  keys (m*8 + s)*kVec .. +kVec-1.
        const int sub = lane % kRowLanes;
        const int row_w0 = warp * kRowsPerWarp + lane / kRowLanes;  // this lane's first row in the block
        StateT* s_lane = p.state + (int64_t(seq) * hv + h) * (int64_t(kDv) * kDk) +
                         int64_t(row_b0 + row_w0) * kDk + sub * kVec;
        auto set_ptr = [&](int s, int m) { return s_lane + s * kGroups * kDk + m * kRowLanes * kVec; };
        uint4 raw[kWindow][kChunks];
#pragma unroll
        for (int s = 0; s < kWindow; ++s)
#pragma unroll
            for (int m = 0; m < kChunks; ++m) raw[s][m] = *reinterpret_cast<const uint4*>(set_ptr(s, m));

        // Epilogue operands, also prefetched now.
        float z_j = 0.f, w_j = 0.f;
        if (tid < kRows) {
            const int64_t zs = p.z_stride ? p.z_stride : int64_t(hv) * kDv;
            z_j = p.z[seq * zs + h * kDv + row_b0 + tid];
            w_j = __ldg(p.norm_w + row_b0 + tid);
        }

        // 2. conv + silu + norms: warp 0 builds q and k (and k.q), warp 1 v, warp 2 the gates.
        const int t = p.pos[seq];
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
            qq = warp_sum(qq);
            kk = warp_sum(kk);
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
            kq = warp_sum(kq);  // rotation-invariant: taken before H
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

        // 3. Per value row: both dots over the old row, d_j, o_j, the new row written where it
        //    was read. This lane's keys of k and q, in the order of its chunks.
        float kr[kKeys], qr[kKeys];
#pragma unroll
        for (int m = 0; m < kChunks; ++m)
#pragma unroll
            for (int e = 0; e < kVec; e += 4) {
                const int i = (m * kRowLanes + sub) * kVec + e;
                const float4 k4 = *reinterpret_cast<const float4*>(sh.k + i);
                const float4 q4 = *reinterpret_cast<const float4*>(sh.q + i);
                kr[m * kVec + e] = k4.x; kr[m * kVec + e + 1] = k4.y;
                kr[m * kVec + e + 2] = k4.z; kr[m * kVec + e + 3] = k4.w;
                qr[m * kVec + e] = q4.x; qr[m * kVec + e + 1] = q4.y;
                qr[m * kVec + e + 2] = q4.z; qr[m * kVec + e + 3] = q4.w;
            }
        const float decay = sh.decay, beta = sh.beta, kq = sh.kq;
        float o_sq = 0.f;
#pragma unroll
        for (int s = 0; s < kSets; ++s) {
            const int w = s % kWindow;
            float sv[kKeys];
#pragma unroll
            for (int m = 0; m < kChunks; ++m) {
                float f[kVec];
                Chunk::unpack(raw[w][m], f);
#pragma unroll
                for (int e = 0; e < kVec; ++e) sv[m * kVec + e] = f[e];
            }
            float dk = 0.f, dq = 0.f;
#pragma unroll
            for (int i = 0; i < kKeys; ++i) {
                dk = fmaf(sv[i], kr[i], dk);
                dq = fmaf(sv[i], qr[i], dq);
            }
#pragma unroll
            for (int m = 1; m < kRowLanes; m <<= 1) {  // the eight lanes of the row
                dk += __shfl_xor_sync(0xffffffffu, dk, m);
                dq += __shfl_xor_sync(0xffffffffu, dq, m);
            }
            const int row = row_w0 + s * kGroups;  // within the block
            const float d = beta * (sh.v[row_b0 + row] - decay * dk);
            const float o = fmaf(d, kq, decay * dq);
#pragma unroll
            for (int m = 0; m < kChunks; ++m) {
                float f[kVec];
#pragma unroll
                for (int e = 0; e < kVec; ++e) f[e] = fmaf(kr[m * kVec + e], d, decay * sv[m * kVec + e]);
                // __stwb: a plain uint4 assignment was split into four 4-byte stores (nvcc 13).
                __stwb(reinterpret_cast<uint4*>(set_ptr(s, m)), Chunk::pack(f));
            }
            if (sub == 0) {
                sh.o[row] = o;
                o_sq = fmaf(o, o, o_sq);
            }
            if (s + kWindow < kSets) {  // refill this window slot with the set kWindow ahead
#pragma unroll
                for (int m = 0; m < kChunks; ++m)
                    raw[w][m] = *reinterpret_cast<const uint4*>(set_ptr(s + kWindow, m));
            }
        }
        o_sq = warp_sum(o_sq);
        if (lane == 0) sh.o_sq[warp] = o_sq;
        __syncthreads();
        float ss = 0.f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) ss += sh.o_sq[w];

        // 4. Gated RMSNorm over the whole head: the cluster adds its blocks' sums of o^2.
        if constexpr (kSplit > 1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
            if (tid == 0) sh.o_part = ss;
            cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
            cluster.sync();  // every block's o_part is written
            if (tid < kRows) {
                ss = 0.f;
#pragma unroll
                for (int r = 0; r < kSplit; ++r) ss += *cluster.map_shared_rank(&sh.o_part, r);
            }
            cluster.sync();  // no block leaves while another still reads its o_part
#else
            __trap();  // clusters need sm_90; the launcher never picks kSplit > 1 below it
#endif
        }
        if (tid < kRows) {
            const float inv = rsqrtf(ss * (1.f / kDv) + p.norm_eps);
            const int64_t ys = p.y_stride ? p.y_stride : int64_t(hv) * kDv;
            p.y[seq * ys + h * kDv + row_b0 + tid] = w_j * (sh.o[tid] * inv) * deltanet_detail::silu(z_j);
        }
    }
};

template <class StateT, bool UseWHT, int kWarps, int kSplit>
__global__ void __launch_bounds__(kWarps * 32, 16 / kWarps)
    deltanet_step_kernel(const DeltaNetStepParams<StateT> p) {
    using Step = DeltaNetStep<StateT, UseWHT, kWarps, kSplit>;
    __shared__ typename Step::SharedStorage sh;
    Step{}(p, sh, static_cast<int>(blockIdx.x), static_cast<int>(blockIdx.y));
}

/// The kernel variant of a launch.
struct DeltaNetStepConfig {
    int warps = 8;  ///< 8 or 4
    int split = 1;  ///< 1, 2 or 4 (a cluster per head when > 1)
};

/// The variant a launch uses: p.split / p.block_warps where set; else, with B = Hv*n_seq blocks
/// and the SM count, split 4 for a float state while 4*B <= SMs (batch 1-2 of Hv 16, batch 1 of
/// Hv 32), split 1 otherwise; 8 warps up to B = SMs, 4 warps (rolling window, four blocks per
/// SM) above. H200, bench/kernels_deltanet.cu: this picks the fastest measured variant in every
/// row of the f32 and bf16 tables (Hv 16/32/48, batch 1-256); split 2 was never the fastest
/// (opt-in), split 4 only below 32 blocks (f32: 6.36 vs 6.91 us at Hv 16 batch 1; bf16: tie).
template <class StateT>
DeltaNetStepConfig deltanet_step_config(const DeltaNetStepParams<StateT>& p) {
    GDN_CHECK(p.split == 0 || p.split == 1 || p.split == 2 || p.split == kDeltaNetSplit,
              "deltanet_step: split must be 0 (auto), 1, 2 or ", kDeltaNetSplit, ", got ", p.split);
    GDN_CHECK(p.block_warps == 0 || p.block_warps == 8 || p.block_warps == 4,
              "deltanet_step: block_warps must be 0 (auto), 8 or 4, got ", p.block_warps);
    int dev = 0, major = 0, sms = 0;
    GDN_CUDA_CHECK(cudaGetDevice(&dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    const int64_t blocks = int64_t(p.n_v_heads) * p.n_seq;
    DeltaNetStepConfig c;
    if (p.split != 0)
        c.split = p.split;
    else if (major >= 9 && sizeof(StateT) == 4 && p.block_warps != 4 && blocks * kDeltaNetSplit <= sms)
        c.split = kDeltaNetSplit;
    GDN_CHECK(c.split == 1 || major >= 9, "deltanet_step: split ", c.split,
              " needs thread-block clusters (sm_90+), device is sm_", major, "x");
    if (p.block_warps != 0) c.warps = p.block_warps;
    else c.warps = c.split == 1 && blocks > sms ? 4 : 8;
    GDN_CHECK(c.warps == 8 || c.split == 1, "deltanet_step: block_warps 4 needs split 1, got split ",
              c.split);
    return c;
}

/// The argument checks of a step (gdn::Error naming the bad one), shared by the launcher and
/// the persistent step kernel's planner (kernels/persistent.cuh).
template <class StateT>
void check_deltanet_step(const DeltaNetStepParams<StateT>& p) {
    constexpr int kD = DeltaNetStep<StateT, false, 8, 1>::kDk;
    GDN_CHECK(p.n_seq > 0 && p.n_seq <= 65535, "deltanet_step: n_seq must be in [1, 65535], got ",
              p.n_seq);
    GDN_CHECK(p.n_k_heads > 0 && p.n_v_heads > 0, "deltanet_step: head counts must be positive, got Hk=",
              p.n_k_heads, " Hv=", p.n_v_heads);
    GDN_CHECK(p.n_v_heads % p.n_k_heads == 0, "deltanet_step: Hv (", p.n_v_heads,
              ") is not a multiple of Hk (", p.n_k_heads, ")");
    GDN_CHECK(p.d_k == kD && p.d_v == kD, "deltanet_step: compiled for dk=dv=", kD, ", got dk=", p.d_k,
              " dv=", p.d_v);
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
}

/// Checks the arguments (gdn::Error naming the bad one) and enqueues the step on `stream`.
/// No host synchronisation, allocation or device read: safe inside CUDA graph capture.
template <class StateT, bool UseWHT>
void launch_deltanet_step(const DeltaNetStepParams<StateT>& p, cudaStream_t stream) {
    check_deltanet_step(p);
    const DeltaNetStepConfig c = deltanet_step_config(p);
    auto plain = [&](auto kernel, int warps) {
        launch_kernel("deltanet_step_kernel", kernel, dim3(p.n_v_heads, p.n_seq), dim3(warps * 32), 0, stream, p);
    };
    auto cluster = [&](auto kernel, int split) {
        launch_kernel_cluster("deltanet_step_kernel", kernel, dim3(p.n_v_heads * split, p.n_seq), dim3(8 * 32), 0,
                              unsigned(split), stream, p);
    };
    if (c.split == 1 && c.warps == 8) plain(deltanet_step_kernel<StateT, UseWHT, 8, 1>, 8);
    else if (c.split == 1) plain(deltanet_step_kernel<StateT, UseWHT, 4, 1>, 4);
    else if (c.split == 2) cluster(deltanet_step_kernel<StateT, UseWHT, 8, 2>, 2);
    else cluster(deltanet_step_kernel<StateT, UseWHT, 8, kDeltaNetSplit>, kDeltaNetSplit);
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

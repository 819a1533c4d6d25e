// gdn/kernels/gemv.cuh - y[n_seq, rows] = W[rows, cols] x[n_seq, cols] for every GGUF weight
// format, with the fusions of a decode step: RMSNorm of x in the prologue, a residual add in
// the epilogue (y = resid + W x, y may alias resid), and the gate/up pair h = silu(Wg x) * (Wu x)
// read in one pass.
//
// Shape of the work (one launch):
//   block  = 16 warps (512 threads). A warp owns a *pair* of row streams: rows 2p and 2p+1 of W
//            (plain), or row p of Wg and of Wu (gate/up), so every x value it loads serves two
//            rows. `ksplit` warps (1, 2, 4, 8 or 16) share one pair, each taking every
//            ksplit-th chunk of the row; their partial sums meet in shared memory.
//   grid   = min(groups, SMs * resident blocks); a block loops over groups of 16 / ksplit
//            pairs (persistent), so x is normalised and staged once per block.
//   bytes  = rows * row_bytes (both matrices for gate/up), read once from HBM with 16-byte
//            cp.async into a 3-stage per-warp ring in shared memory; plus x (n_seq * cols * 4,
//            staged normalised in shared memory once per block when it fits in 72 KB, else
//            read through L1), norm_w, resid and y (n_seq * rows * 4 each).
// A warp step covers 256 columns (8 per lane) of both rows; weights are decoded from shared
// memory (any byte alignment the GGUF layout gives) and multiplied in float32.
//
// Requirements (checked by the launchers): cols % 256 == 0 (other widths go to the generic
// kernel of gemv_generic.cuh), W 16-byte aligned, x, y,
// resid and norm_w 16-byte aligned, n_seq in 1..8, x not overlapping y.
// The first and last 16-byte granule of a row range may be read past the row's bytes (never
// past the aligned granule that holds the row's last byte).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/gemv_generic.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels {

/// Arguments of one GEMV. Activations are float32 [n_seq, dim] row-major.
struct GemvParams {
    const std::byte* w = nullptr;   ///< [rows][row_bytes] GGUF bytes (gate matrix for gate/up)
    const std::byte* w_up = nullptr;///< gate/up only: the up matrix, same type and shape
    DType type = DType::f32;
    int64_t rows = 0;               ///< outputs
    int64_t cols = 0;               ///< inputs (multiple of 256)
    const float* x = nullptr;       ///< [n_seq, cols]
    float* y = nullptr;             ///< [n_seq, rows]
    const float* resid = nullptr;   ///< [n_seq, rows] or null: y = resid + W x (may equal y)
    const float* norm_w = nullptr;  ///< [cols] or null: x <- x * rsqrt(mean(x^2) + eps) * norm_w
    float norm_eps = 1e-6f;
    int n_seq = 1;                  ///< 1..8
};

/// GemvParams for the matrix `w` (rows = outputs, cols = inputs), the rest left default.
inline GemvParams gemv_params(const TensorView& w) {
    GemvParams p;
    p.w = w.data;
    p.type = w.type;
    p.rows = w.rows();
    p.cols = w.cols();
    return p;
}

namespace gemv_detail {

// Measured (bench/kernels_gemv.cu, H100 SXM, n_seq 1, % of D2D copy bandwidth) with 16 warps
// and 3 stages: f32 82-95, bf16/f16 73-94, q8_0 51-87, q6_k 37-62, q4_0 33-55, q4_k 26-38 on
// the 4096..17408-wide matrices; the quantised formats are latency-limited in the decode loop
// (about 70 SM cycles per 256-column step whatever the format), not by issue or HBM.
constexpr int k_warps = 16;   // one staged x serves 16 warps (1-2 blocks per SM)
constexpr int k_threads = 32 * k_warps;
constexpr int k_streams = 2;   // row streams per warp (share every x load)
constexpr int k_stages = 3;    // ring depth: 2 chunks in flight while one is decoded
// x (normalised, times norm_w) is staged in shared memory when n_seq * cols floats fit in
// this many bytes (every n_seq = 1 shape of Qwen3.5); otherwise it is read through L1, which
// the weight ring leaves small: measured on H200, reading x from L1/L2 per step held q8_0 at
// ~40% and q4_k at ~20% of copy bandwidth.
constexpr int k_x_smem_max = 72 * 1024;
constexpr int k_step = 256;    // columns per warp step, 8 per lane
constexpr int k_max_seq = 8;

// Per-format decode of one 256-column step. `sb` points at the step's first byte in shared
// memory; lane l gets the quants of columns 8l..8l+7 as floats q[] and the affine map
// value = scale * q - min (min only where has_min).
template <class F>
struct Tile;

GDN_DEVICE GDN_FORCEINLINE uint32_t lds_u16(const uint8_t* p) {
    return *reinterpret_cast<const uint16_t*>(p);
}
// 4 bytes at a 2-aligned shared address.
GDN_DEVICE GDN_FORCEINLINE uint32_t lds_u32_a2(const uint8_t* p) {
    return lds_u16(p) | (lds_u16(p + 2) << 16);
}
GDN_DEVICE GDN_FORCEINLINE float f16_bits_to_float(uint32_t h) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}
// Byte k of `word` as a float minus `bias`: 0x4B0000bb is the float 2^23 + bb exactly, so one
// PRMT and one FADD replace the slow integer-to-float conversion.
template <int K>
GDN_DEVICE GDN_FORCEINLINE float byte_as_float(uint32_t word, float bias_plus_2p23) {
    return __uint_as_float(__byte_perm(word, 0x4B000000u, 0x7540u | K)) - bias_plus_2p23;
}
GDN_DEVICE GDN_FORCEINLINE void bytes_as_floats(uint32_t lo, uint32_t hi, float bias, float (&q)[8]) {
    const float b = 8388608.f + bias;
    q[0] = byte_as_float<0>(lo, b); q[1] = byte_as_float<1>(lo, b);
    q[2] = byte_as_float<2>(lo, b); q[3] = byte_as_float<3>(lo, b);
    q[4] = byte_as_float<0>(hi, b); q[5] = byte_as_float<1>(hi, b);
    q[6] = byte_as_float<2>(hi, b); q[7] = byte_as_float<3>(hi, b);
}

template <>
struct Tile<gdn::f32> {
    static constexpr int step_bytes = 1024;
    static constexpr int chunk_steps = 1;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const float4* p = reinterpret_cast<const float4*>(sb + 32 * lane);
        const float4 a = p[0], b = p[1];
        q[0] = a.x; q[1] = a.y; q[2] = a.z; q[3] = a.w;
        q[4] = b.x; q[5] = b.y; q[6] = b.z; q[7] = b.w;
        scale = 1.f; min = 0.f;
    }
};

template <>
struct Tile<gdn::f16> {
    static constexpr int step_bytes = 512;
    static constexpr int chunk_steps = 2;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const uint4 v = *reinterpret_cast<const uint4*>(sb + 16 * lane);
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            q[2 * i] = f16_bits_to_float(w[i] & 0xffffu);
            q[2 * i + 1] = f16_bits_to_float(w[i] >> 16);
        }
        scale = 1.f; min = 0.f;
    }
};

template <>
struct Tile<gdn::bf16> {
    static constexpr int step_bytes = 512;
    static constexpr int chunk_steps = 2;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const uint4 v = *reinterpret_cast<const uint4*>(sb + 16 * lane);
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            q[2 * i] = __uint_as_float(w[i] << 16);
            q[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
        scale = 1.f; min = 0.f;
    }
};

// 8 blocks of 34 bytes per step; lane l reads block l/4, quants 8(l%4)..+7.
template <>
struct Tile<gdn::q8_0> {
    static constexpr int step_bytes = 272;
    static constexpr int chunk_steps = 4;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const uint8_t* blk = sb + 34 * (lane >> 2);
        const uint8_t* qs = blk + 2 + 8 * (lane & 3);
        const uint32_t lo = lds_u32_a2(qs) ^ 0x80808080u;  // int8 -> uint8 biased by 128
        const uint32_t hi = lds_u32_a2(qs + 4) ^ 0x80808080u;
        bytes_as_floats(lo, hi, 128.f, q);
        scale = f16_bits_to_float(lds_u16(blk));
        min = 0.f;
    }
};

// 8 blocks of 18 bytes per step; lane l reads block l/4: low nibbles of qs[0..7] / qs[8..15]
// for l%4 = 0 / 1, high nibbles for 2 / 3.
template <>
struct Tile<gdn::q4_0> {
    static constexpr int step_bytes = 144;
    static constexpr int chunk_steps = 8;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const uint8_t* blk = sb + 18 * (lane >> 2);
        const uint8_t* qs = blk + 2 + 8 * (lane & 1);
        const int shift = (lane & 2) ? 4 : 0;
        const uint32_t lo = (lds_u32_a2(qs) >> shift) & 0x0f0f0f0fu;
        const uint32_t hi = (lds_u32_a2(qs + 4) >> shift) & 0x0f0f0f0fu;
        bytes_as_floats(lo, hi, 8.f, q);
        scale = f16_bits_to_float(lds_u16(blk));
        min = 0.f;
    }
};

// One 144-byte super-block per step. Lane l: pair g = l/8 of sub-blocks, columns
// 64g + 8(l%8)..; the first 4 lanes of a pair take low nibbles of qs[32g + 8(l%4)..],
// the next 4 the high nibbles (sub-block 2g + 1).
template <>
struct Tile<gdn::q4_k> {
    static constexpr int step_bytes = 144;
    static constexpr int chunk_steps = 8;
    static constexpr bool has_min = true;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const int g = lane >> 3, e = 8 * (lane & 7);
        const int sub = 2 * g + (e >> 5);
        const uint2 v = *reinterpret_cast<const uint2*>(sb + 16 + 32 * g + (e & 31));
        const int shift = (e >> 5) ? 4 : 0;
        bytes_as_floats((v.x >> shift) & 0x0f0f0f0fu, (v.y >> shift) & 0x0f0f0f0fu, 0.f, q);
        const uint8_t* scales = sb + 4;
        int sc, m;
        quant::q4_k_scale_min(sub, scales, sc, m);
        scale = f16_bits_to_float(lds_u16(sb)) * static_cast<float>(sc);
        min = f16_bits_to_float(lds_u16(sb + 2)) * static_cast<float>(m);
    }
};

// One 210-byte super-block per step (only 2-byte aligned in shared memory). Lane l: half
// h = l/16, quarter k = (l%16)/4, l0 = 8(l%4): columns 128h + 32k + l0 ..+7.
template <>
struct Tile<gdn::q6_k> {
    static constexpr int step_bytes = 210;
    static constexpr int chunk_steps = 4;
    static constexpr bool has_min = false;
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale,
                                  float& min) {
        const int h = lane >> 4, k = (lane >> 2) & 3, l0 = 8 * (lane & 3);
        const uint8_t* ql = sb + 64 * h + l0 + 32 * (k & 1);
        const uint8_t* qh = sb + 128 + 32 * h + l0;
        const int lshift = (k >> 1) * 4, hshift = 2 * k;
        const uint32_t lo = ((lds_u32_a2(ql) >> lshift) & 0x0f0f0f0fu) |
                            (((lds_u32_a2(qh) >> hshift) & 0x03030303u) << 4);
        const uint32_t hi = ((lds_u32_a2(ql + 4) >> lshift) & 0x0f0f0f0fu) |
                            (((lds_u32_a2(qh + 4) >> hshift) & 0x03030303u) << 4);
        bytes_as_floats(lo, hi, 32.f, q);
        const int8_t sc = static_cast<int8_t>(sb[192 + 8 * h + 2 * k + (l0 >> 4)]);
        scale = f16_bits_to_float(lds_u16(sb + 208)) * static_cast<float>(sc);
        min = 0.f;
    }
};

template <class F>
constexpr int stream_stride() {  // bytes of one row stream's chunk in the ring, + alignment slack
    return (Tile<F>::chunk_steps * Tile<F>::step_bytes + 16 + 15) / 16 * 16;
}

template <class F>
constexpr int ring_bytes() {
    return k_warps * k_stages * k_streams * stream_stride<F>();
}

GDN_DEVICE GDN_FORCEINLINE void cp_async16(void* smem, const void* gmem) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem) : "memory");
}
GDN_DEVICE GDN_FORCEINLINE void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N>
GDN_DEVICE GDN_FORCEINLINE void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

GDN_DEVICE GDN_FORCEINLINE float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/// Launch-time shape of the work (see the header comment).
struct GemvArgs {
    const uint8_t* w;
    const uint8_t* w_up;    // null: plain
    int64_t row_bytes;
    int rows;
    int cols;
    const float* x;
    float* y;
    const float* resid;
    const float* norm_w;
    float norm_eps;
    int n_seq;
    int steps;              // cols / 256
    int chunks;             // per row
    int ksplit;             // warps per pair
    int n_pairs;
    int n_groups;
    int x_smem;             // 1: normalised x staged in shared memory after the ring
};

template <class F, int MaxSeq>
__global__ void __launch_bounds__(k_threads) gemv_kernel(const GemvArgs a) {
    using T = Tile<F>;
    constexpr int stride = stream_stride<F>();
    constexpr int chunk_bytes = T::chunk_steps * T::step_bytes;
    extern __shared__ __align__(16) uint8_t smem[];
    __shared__ float inv_rms[MaxSeq];
    __shared__ float partial[k_warps][k_streams][MaxSeq];

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_seq = MaxSeq == 1 ? 1 : a.n_seq;
    const int ks = a.ksplit, kslot = warp % ks;
    const int pairs_per_group = k_warps / ks;
    const bool dual = a.w_up != nullptr;
    uint8_t* ring = smem + warp * (k_stages * k_streams * stride);

    const int my_groups =
        static_cast<int>(blockIdx.x) < a.n_groups ? (a.n_groups - blockIdx.x + gridDim.x - 1) / gridDim.x : 0;
    const int per_group = (a.chunks - kslot + ks - 1) / ks;  // >= 1: ksplit <= chunks
    const int total = my_groups * per_group;

    // row of stream r for the pair of work item i's group; clamped so loads stay in bounds
    auto pair_of = [&](int i) {
        const int g = blockIdx.x + (i / per_group) * gridDim.x;
        return g * pairs_per_group + warp / ks;
    };
    auto row_of = [&](int pair, int r) { return dual ? pair : 2 * pair + r; };
    auto chunk_of = [&](int i) { return kslot + (i % per_group) * ks; };

    auto issue = [&](int i) {
        if (i < total) {
            const int pair = pair_of(i), c = chunk_of(i);
            const int n_steps = min(T::chunk_steps, a.steps - c * T::chunk_steps);
            uint8_t* buf = ring + (i % k_stages) * (k_streams * stride);
#pragma unroll
            for (int r = 0; r < k_streams; ++r) {
                const int row = min(row_of(pair, r), a.rows - 1);
                const uint8_t* base = (dual && r == 1) ? a.w_up : a.w;
                const uintptr_t begin = reinterpret_cast<uintptr_t>(base) + row * a.row_bytes +
                                        static_cast<int64_t>(c) * chunk_bytes;
                const uintptr_t a0 = begin & ~uintptr_t(15);
                const int words = static_cast<int>((begin - a0) + n_steps * T::step_bytes + 15) / 16;
                for (int wi = lane; wi < words; wi += 32) {
                    cp_async16(buf + r * stride + 16 * wi, reinterpret_cast<const void*>(a0 + 16 * wi));
                }
            }
        }
        cp_async_commit();
    };

#pragma unroll
    for (int i = 0; i < k_stages - 1; ++i) issue(i);

    // RMSNorm scale of each sequence, while the first chunks are in flight.
    float* xs = reinterpret_cast<float*>(smem + ring_bytes<F>());  // [n_seq, cols] if x_smem
    if (a.norm_w != nullptr) {
        for (int s = 0; s < a.n_seq; ++s) {
            const float4* xs = reinterpret_cast<const float4*>(a.x + static_cast<int64_t>(s) * a.cols);
            float ss = 0.f;
            for (int j = threadIdx.x; j < a.cols / 4; j += k_threads) {
                const float4 v = __ldg(xs + j);
                ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
            }
            ss = warp_sum(ss);
            if (lane == 0) partial[warp][0][0] = ss;
            __syncthreads();
            if (threadIdx.x == 0) {
                float t = 0.f;
                for (int j = 0; j < k_warps; ++j) t += partial[j][0][0];
                inv_rms[s] = rsqrtf(t / static_cast<float>(a.cols) + a.norm_eps);
            }
            __syncthreads();
        }
    } else if (threadIdx.x < MaxSeq) {
        inv_rms[threadIdx.x] = 1.f;
    }
    __syncthreads();
    if (a.x_smem) {
        const int per_seq = a.cols / 4;
        const float4* x4 = reinterpret_cast<const float4*>(a.x);
        const float4* n4 = reinterpret_cast<const float4*>(a.norm_w);
        for (int j = threadIdx.x; j < a.n_seq * per_seq; j += k_threads) {
            const int s = j / per_seq, c = j - s * per_seq;
            float4 v = __ldg(x4 + j);
            const float sc = inv_rms[s];
            if (n4 != nullptr) {
                const float4 nw = __ldg(n4 + c);
                v.x *= nw.x; v.y *= nw.y; v.z *= nw.z; v.w *= nw.w;
            }
            v.x *= sc; v.y *= sc; v.z *= sc; v.w *= sc;
            reinterpret_cast<float4*>(xs)[j] = v;
        }
        __syncthreads();
        if (threadIdx.x < MaxSeq) inv_rms[threadIdx.x] = 1.f;  // already applied
        __syncthreads();
    }

    float acc[k_streams][MaxSeq];
#pragma unroll
    for (int r = 0; r < k_streams; ++r)
#pragma unroll
        for (int s = 0; s < MaxSeq; ++s) acc[r][s] = 0.f;

    for (int i = 0; i < total; ++i) {
        issue(i + k_stages - 1);
        cp_async_wait<k_stages - 1>();
        __syncwarp();

        const int c = chunk_of(i);
        const int pair = pair_of(i);
        const int n_steps = min(T::chunk_steps, a.steps - c * T::chunk_steps);
        const uint8_t* buf = ring + (i % k_stages) * (k_streams * stride);
        const uint8_t* src[k_streams];
#pragma unroll
        for (int r = 0; r < k_streams; ++r) {
            const int row = min(row_of(pair, r), a.rows - 1);
            const uint8_t* base = (dual && r == 1) ? a.w_up : a.w;
            const uintptr_t begin = reinterpret_cast<uintptr_t>(base) + row * a.row_bytes +
                                    static_cast<int64_t>(c) * chunk_bytes;
            src[r] = buf + r * stride + (begin & 15);
        }

        // Fast: x staged in shared memory, norm applied, no per-step branches but n_seq.
        auto step = [&](int k, auto fast) {
                const int col = (c * T::chunk_steps + k) * k_step + 8 * lane;
                float q[k_streams][8], scale[k_streams], mn[k_streams];
#pragma unroll
                for (int r = 0; r < k_streams; ++r) T::decode(src[r] + k * T::step_bytes, lane, q[r], scale[r], mn[r]);
                float nw[8];
                if (!fast && a.norm_w != nullptr && !a.x_smem) {
                    const float4 n0 = __ldg(reinterpret_cast<const float4*>(a.norm_w + col));
                    const float4 n1 = __ldg(reinterpret_cast<const float4*>(a.norm_w + col) + 1);
                    nw[0] = n0.x; nw[1] = n0.y; nw[2] = n0.z; nw[3] = n0.w;
                    nw[4] = n1.x; nw[5] = n1.y; nw[6] = n1.z; nw[7] = n1.w;
                }
#pragma unroll
                for (int s = 0; s < MaxSeq; ++s) {
                    if (s < n_seq) {
                        float4 x0, x1;
                        if (fast || a.x_smem) {
                            const float4* xp = reinterpret_cast<const float4*>(xs + s * a.cols + col);
                            x0 = xp[0];
                            x1 = xp[1];
                        } else {
                            const float4* xp = reinterpret_cast<const float4*>(a.x + static_cast<int64_t>(s) * a.cols + col);
                            x0 = __ldg(xp);
                            x1 = __ldg(xp + 1);
                        }
                        float xv[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
                        if (!fast && a.norm_w != nullptr && !a.x_smem) {
#pragma unroll
                            for (int j = 0; j < 8; ++j) xv[j] *= nw[j];
                        }
                        [[maybe_unused]] float sx = 0.f;
                        if constexpr (T::has_min) {
#pragma unroll
                            for (int j = 0; j < 8; ++j) sx += xv[j];
                        }
#pragma unroll
                        for (int r = 0; r < k_streams; ++r) {
                            float d = 0.f;
#pragma unroll
                            for (int j = 0; j < 8; ++j) d = fmaf(q[r][j], xv[j], d);
                            if constexpr (T::has_min) {
                                acc[r][s] = fmaf(scale[r], d, fmaf(-mn[r], sx, acc[r][s]));
                            } else {
                                acc[r][s] = fmaf(scale[r], d, acc[r][s]);
                            }
                        }
                    }
                }
        };
        if (a.x_smem && n_steps == T::chunk_steps) {  // unrolled: later steps' loads hoisted
#pragma unroll
            for (int k = 0; k < T::chunk_steps; ++k) step(k, std::true_type{});
        } else {
#pragma unroll 1
            for (int k = 0; k < n_steps; ++k) step(k, std::false_type{});
        }
        __syncwarp();  // the next issue() overwrites this stage

        if (i % per_group != per_group - 1) continue;
        // End of this warp's share of the pair: reduce and write.
#pragma unroll
        for (int r = 0; r < k_streams; ++r)
#pragma unroll
            for (int s = 0; s < MaxSeq; ++s) acc[r][s] = warp_sum(acc[r][s]);
        if (ks > 1) {
            if (lane == 0) {
#pragma unroll
                for (int r = 0; r < k_streams; ++r)
#pragma unroll
                    for (int s = 0; s < MaxSeq; ++s) partial[warp][r][s] = acc[r][s];
            }
            __syncthreads();
            if (kslot == 0) {
#pragma unroll
                for (int r = 0; r < k_streams; ++r)
#pragma unroll
                    for (int s = 0; s < MaxSeq; ++s) {
                        float t = 0.f;
                        for (int j = 0; j < ks; ++j) t += partial[warp + j][r][s];
                        acc[r][s] = t;
                    }
            }
            __syncthreads();
        }
        if (kslot == 0) {
            // lane t writes sequence s = t / 2, stream r = t % 2 (plain) or sequence t (gate/up)
            const int s = dual ? lane : lane >> 1;
            const int r = dual ? 0 : lane & 1;
            float v0 = 0.f, v1 = 0.f;
#pragma unroll
            for (int ss = 0; ss < MaxSeq; ++ss) {
                if (ss == s) {
                    v0 = r == 0 ? acc[0][ss] : acc[1][ss];
                    v1 = acc[1][ss];
                }
            }
            const int row = row_of(pair, r);
            if (s < a.n_seq && row < a.rows) {
                const float sc = inv_rms[s];
                const int64_t o = static_cast<int64_t>(s) * a.rows + row;
                if (dual) {
                    const float g = v0 * sc, u = v1 * sc;
                    a.y[o] = g / (1.f + expf(-g)) * u;
                } else {
                    const float v = v0 * sc;
                    a.y[o] = a.resid != nullptr ? a.resid[o] + v : v;
                }
            }
        }
#pragma unroll
        for (int r = 0; r < k_streams; ++r)
#pragma unroll
            for (int s = 0; s < MaxSeq; ++s) acc[r][s] = 0.f;
    }
    cp_async_wait<0>();
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

inline bool overlaps(const void* a, size_t na, const void* b, size_t nb) {
    const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
    return pa < pb + nb && pb < pa + na;
}

inline void check_params(const GemvParams& p, bool dual, DType want, const char* what) {
    GDN_CHECK(p.type == want, what, ": params.type is ", dtype_name(p.type),
              " but the kernel was instantiated for ", dtype_name(want));
    GDN_CHECK(p.w != nullptr, what, ": weight pointer is null");
    GDN_CHECK(dual == (p.w_up != nullptr), what, dual ? ": w_up (up matrix) is null"
                                                      : ": w_up is set; use launch_gemv_gate_up");
    GDN_CHECK(!(dual && p.resid != nullptr), what, ": gate/up has no residual epilogue");
    GDN_CHECK(p.rows > 0 && p.rows < (int64_t(1) << 31), what, ": rows = ", p.rows, " out of range");
    GDN_CHECK(p.cols > 0 && p.cols % k_step == 0 && p.cols < (int64_t(1) << 28), what, ": cols = ",
              p.cols, " must be a positive multiple of ", k_step);
    GDN_CHECK(p.n_seq >= 1 && p.n_seq <= k_max_seq, what, ": n_seq = ", p.n_seq, " not in 1..", k_max_seq);
    GDN_CHECK(p.x != nullptr && p.y != nullptr, what, ": x or y is null");
    GDN_CHECK(aligned16(p.w) && (!dual || aligned16(p.w_up)), what,
              ": weights must be 16-byte aligned");
    GDN_CHECK(aligned16(p.x) && aligned16(p.y) && (p.norm_w == nullptr || aligned16(p.norm_w)),
              what, ": x, y and norm_w must be 16-byte aligned");
    GDN_CHECK(p.resid == nullptr || p.resid == p.y ||
                  !overlaps(p.resid, p.n_seq * p.rows * 4, p.y, p.n_seq * p.rows * 4),
              what, ": resid partially overlaps y (it must equal y or be disjoint)");
    GDN_CHECK(!overlaps(p.x, p.n_seq * p.cols * 4, p.y, p.n_seq * p.rows * 4), what,
              ": x overlaps y");
    GDN_CHECK(p.norm_eps > 0.f || p.norm_w == nullptr, what, ": norm_eps must be positive");
}

// Balance rounds of the persistent grid against the length of each warp's share of a row.
inline int choose_ksplit(int n_pairs, int chunks, int max_blocks) {
    int best = 1;
    int64_t best_cost = -1;
    for (int ks = 1; ks <= k_warps; ks *= 2) {
        if (ks > chunks) break;
        const int64_t groups = (int64_t(n_pairs) * ks + k_warps - 1) / k_warps;
        const int64_t rounds = (groups + max_blocks - 1) / max_blocks;
        const int64_t cost = rounds * ((chunks + ks - 1) / ks);
        if (best_cost < 0 || cost < best_cost) {
            best = ks;
            best_cost = cost;
        }
    }
    return best;
}

template <class F, int MaxSeq>
void launch(const GemvParams& p, bool dual, cudaStream_t stream) {
    using T = Tile<F>;
    const char* what = dual ? "launch_gemv_gate_up" : "launch_gemv";
    check_params(p, dual, F::dtype, what);
    auto kernel = gemv_kernel<F, MaxSeq>;
    const int64_t x_bytes = p.n_seq * p.cols * int64_t(sizeof(float));
    const bool x_smem = x_bytes <= k_x_smem_max;
    const int smem = ring_bytes<F>() + (x_smem ? static_cast<int>(x_bytes) : 0);
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        ring_bytes<F>() + k_x_smem_max));
    int dev = 0, sms = 0, per_sm = 0;
    GDN_CUDA_CHECK(cudaGetDevice(&dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    GDN_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, k_threads, smem));
    GDN_CHECK(per_sm > 0, what, ": kernel does not fit on this device (", smem, " B shared)");

    GemvArgs a{};
    a.w = reinterpret_cast<const uint8_t*>(p.w);
    a.w_up = reinterpret_cast<const uint8_t*>(p.w_up);
    a.row_bytes = dtype_row_bytes(p.type, p.cols);
    a.rows = static_cast<int>(p.rows);
    a.cols = static_cast<int>(p.cols);
    a.x = p.x;
    a.y = p.y;
    a.resid = p.resid;
    a.norm_w = p.norm_w;
    a.norm_eps = p.norm_eps;
    a.n_seq = p.n_seq;
    a.x_smem = x_smem ? 1 : 0;
    a.steps = a.cols / k_step;
    a.chunks = (a.steps + T::chunk_steps - 1) / T::chunk_steps;
    a.n_pairs = dual ? a.rows : (a.rows + 1) / 2;
    const int max_blocks = sms * per_sm;
    a.ksplit = choose_ksplit(a.n_pairs, a.chunks, max_blocks);
    a.n_groups = (a.n_pairs * a.ksplit + k_warps - 1) / k_warps;
    const int grid = a.n_groups < max_blocks ? a.n_groups : max_blocks;
    kernel<<<grid, k_threads, smem, stream>>>(a);
    GDN_CHECK_LAUNCH(what);
}

template <class F>
void launch_any_seq(const GemvParams& p, bool dual, cudaStream_t stream) {
    if (p.cols % k_step != 0) {  // widths the streaming kernel does not take
        GDN_CHECK(p.type == F::dtype, "launch_gemv: params.type is ", dtype_name(p.type),
                  " but the kernel was instantiated for ", dtype_name(F::dtype));
        GDN_CHECK(dual == (p.w_up != nullptr), dual ? "launch_gemv_gate_up: w_up (up matrix) is null"
                                                    : "launch_gemv: w_up is set; use launch_gemv_gate_up");
        GDN_CHECK(!(dual && p.resid != nullptr), "launch_gemv_gate_up: gate/up has no residual epilogue");
        launch_gemv_generic<F>(p.w, p.w_up, p.rows, p.cols, p.x, p.y, p.resid, p.norm_w, p.norm_eps, p.n_seq,
                               stream);
        return;
    }
    if (p.n_seq == 1) {
        launch<F, 1>(p, dual, stream);
    } else {
        launch<F, k_max_seq>(p, dual, stream);
    }
}

}  // namespace gemv_detail

/// y = W x (+ resid) with W of format F; RMSNorm of x first when p.norm_w is set.
template <QuantFormat F>
void launch_gemv(const GemvParams& p, cudaStream_t stream) {
    gemv_detail::launch_any_seq<F>(p, false, stream);
}

/// y = silu(W x) * (W_up x), W = p.w (gate) and p.w_up (up); RMSNorm of x first when
/// p.norm_w is set.
template <QuantFormat F>
void launch_gemv_gate_up(const GemvParams& p, cudaStream_t stream) {
    gemv_detail::launch_any_seq<F>(p, true, stream);
}

/// Runtime-typed entries: dispatch on p.type.
inline void launch_gemv(const GemvParams& p, cudaStream_t stream) {
    dispatch_format(p.type, [&](auto tag) { launch_gemv<decltype(tag)>(p, stream); });
}
inline void launch_gemv_gate_up(const GemvParams& p, cudaStream_t stream) {
    dispatch_format(p.type, [&](auto tag) { launch_gemv_gate_up<decltype(tag)>(p, stream); });
}

}  // namespace gdn::kernels

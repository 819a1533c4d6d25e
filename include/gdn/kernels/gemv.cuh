// gdn/kernels/gemv.cuh - y[n_seq, rows] = W[rows, cols] x[n_seq, cols] for every GGUF weight
// format, with the fusions of a decode step: RMSNorm of x in the prologue, a residual add in
// the epilogue (y = resid + W x, y may alias resid), and the gate/up pair h = silu(Wg x) * (Wu x)
// read in one pass.
//
// Two kernels. The tensor-core kernel takes every format but f32 for up to 2 sequences (f16:
// 4, bf16: 1) when x fits in shared memory as its B operand; the CUDA-core kernel takes the
// rest (f32, more sequences, inputs too wide to stage).
//
// Tensor-core kernel (gemv_mma_kernel), one launch:
//   block  = up to 16 warps (fewer where the staged x leaves no room). A block owns a
//            contiguous range of 8-row octets of y, as tiles of 16 mma rows (16 rows of W, or
//            8 rows of Wg and the same 8 rows of Wu), worked in rounds of tiles: round item i
//            = (tile i / chunks, chunk i % chunks), warp w takes items w, w + warps, ..., so
//            the warps read adjacent chunks of the same rows together, each warp through its
//            own 3-stage cp.async ring (chunk = 256 columns, 128 for f16 / bf16). Thread
//            (g, t) = (lane / 4, lane % 4) holds mma rows g and g + 8; when it leaves a tile its
//            sums go to the tile's slot for that warp in shared memory, and after a block barrier
//            the round's outputs add the slots in a fixed order (bit-reproducible, no atomics).
//   grid   = min(tiles, SMs * resident blocks): octets spread evenly, one range per block.
//   bytes  = rows * row_bytes (both matrices for gate/up), read once from HBM; x (n_seq *
//            cols * 4) read twice per block from L2 to build the B operand; norm_w, resid, y.
//   Weights are the A operand as stored (f16, bf16) or as their integer quants (q8_0 bytes;
//   4- and 6-bit quants unpacked with a few LOP3 per 4 bytes, q6_k biased to q - 32 per byte).
//   x is the B operand: for the integer formats x * 2^E (E from max |x|) rounded to a 30-bit
//   integer X and split into 4 signed byte digits, B column 4s + d = digit d of sequence s,
//   multiplied exactly by mma.m16n8k32 (m16n8k16 for q6_k's 16-column scales) s8 x s8 -> s32;
//   block / sub-block scales (in integers where they are integers), mins (q4_k) and the 8 - q
//   offset (q4_0) are applied to the s32 sums. f16: x * 2^E as hi + lo halves; bf16: x as three
//   bf16 terms (exact): m16n8k16 with float32 accumulation over 128 columns, then float32 adds.
//   Error: x is kept to 2^-30 (integer) / 2^-22 (f16) / 2^-24 (bf16) of its largest value per
//   sequence; everything after that is float32 accumulation as in the CUDA-core kernel.
//
// CUDA-core kernel (gemv_kernel), one launch:
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
//   A warp step covers 256 columns (8 per lane) of both rows; weights are decoded from shared
//   memory (any byte alignment the GGUF layout gives) and multiplied in float32.
//
// Programmatic dependent launch (launch.cuh): both kernels issue their first weight loads
// before waiting for the predecessor kernel, so the kernel enqueued immediately before a GEMV
// must not write its W (uploads, and kernels further back, are ordered).
//
// Requirements (checked by the launchers): cols % 256 == 0 (other widths go to the generic
// kernel of gemv_generic.cuh), W 16-byte aligned, x, y,
// resid and norm_w 16-byte aligned, n_seq in 1..8, x not overlapping y.
// The first and last 16-byte granule of a row range may be read past the row's bytes (never
// past the aligned granule that holds the row's last byte).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/gemv_generic.cuh"
#include "gdn/kernels/ptx.cuh"
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

// CUDA-core kernel. Measured (bench/kernels_gemv.cu, n_seq 1, % of D2D copy bandwidth, 9B and
// 27B projections 4096..17408 wide) with 16 warps and 3 stages: H100 SXM: f32 82-95, bf16/f16
// 73-94, q8_0 51-87, q6_k 37-62, q4_0 33-55, q4_k 26-38; H200 (2026-11-27): bf16 50-76, f16
// 53-71, q8_0 37-51, q6_k 27-39, q4_0 23-34, q4_k 18-25. The quantised formats are bound by
// the decode loop's instructions and latency (about 3 float instructions per weight and the
// scale arithmetic for 8 columns per lane), not by HBM: the reason for the tensor-core kernel.
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

// Per-format decode of one 256-column step, from the format's decoder (gdn/quant/formats/):
// lane l takes columns 8l..8l+7, which are run r of unit u of the step (units of unit_elems
// columns), as floats q[] and the affine map value = scale * q - min (min only where has_min).
template <class F>
struct Tile {
    static constexpr int step_bytes = k_step / F::unit_elems * F::unit_bytes;
    // steps per ring chunk: the largest power of two keeping a chunk <= 1152 bytes (f32 1, bf16 /
    // f16 2, q8_0 4, q6_k 4, q4_0 / q4_k 8: the depths these formats were measured with)
    static constexpr int chunk_steps = step_bytes * 8 <= 1152 ? 8 : step_bytes * 4 <= 1152 ? 4 : step_bytes * 2 <= 1152 ? 2 : 1;
    static constexpr bool has_min = F::has_min;
    static_assert(k_step % F::unit_elems == 0, "a 256-column step holds whole units");
    GDN_DEVICE static void decode(const uint8_t* sb, int lane, float (&q)[8], float& scale, float& min) {
        const int col = 8 * lane;
        F::decode8(sb + (col / F::unit_elems) * F::unit_bytes, (col % F::unit_elems) / 8, q, scale, min);
    }
};

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

template <class F>
constexpr int stream_stride() {  // bytes of one row stream's chunk in the ring, + alignment slack
    return (Tile<F>::chunk_steps * Tile<F>::step_bytes + 16 + 15) / 16 * 16;
}

template <class F>
constexpr int ring_bytes() {
    return k_warps * k_stages * k_streams * stream_stride<F>();
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
    int x_bytes;            // tensor-core kernel: bytes of the B operand in shared memory
    int n_oct;              // tensor-core kernel: octets of output rows, (rows + 7) / 8
    int round_tiles;        // tensor-core kernel: tiles per round of a block
};

// What a GEMV body calls once its first weight chunks are in flight, before it touches an
// activation: the kernels wait for their predecessor (launch.cuh); the persistent step
// kernel passes its grid barrier, so the next stage's weights stream during the barrier.
struct PdlWait {
    GDN_DEVICE GDN_FORCEINLINE void operator()() const {
        pdl_wait();
        pdl_launch_dependents();
    }
};

// The CUDA-core kernel's body for block `block` of `n_blocks` (k_threads threads), so that the
// persistent step kernel (kernels/persistent.cuh) runs the same code as one of its stages.
template <class F, int MaxSeq, class Wait = PdlWait>
GDN_DEVICE GDN_FORCEINLINE void gemv_body(const GemvArgs& a, int block, int n_blocks, Wait wait = {}) {
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
        block < a.n_groups ? (a.n_groups - block + n_blocks - 1) / n_blocks : 0;
    const int per_group = (a.chunks - kslot + ks - 1) / ks;  // >= 1: ksplit <= chunks
    const int total = my_groups * per_group;

    // row of stream r for the pair of work item i's group; clamped so loads stay in bounds
    auto pair_of = [&](int i) {
        const int g = block + (i / per_group) * n_blocks;
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
    // launch.cuh: the first weight chunks (immutable) are in flight; x, norm_w, resid and y
    // belong to the predecessors until this returns.
    wait();

    // RMSNorm scale of each sequence, while the first chunks are in flight.
    float* xs = reinterpret_cast<float*>(smem + ring_bytes<F>());  // [n_seq, cols] if x_smem
    if (a.norm_w != nullptr) {
        for (int s = 0; s < a.n_seq; ++s) {
            const float4* xs = reinterpret_cast<const float4*>(a.x + static_cast<int64_t>(s) * a.cols);
            float ss = 0.f;
            for (int j = threadIdx.x; j < a.cols / 4; j += k_threads) {
                const float4 v = __ldcg(xs + j);
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
            float4 v = __ldcg(x4 + j);
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
                            x0 = __ldcg(xp);
                            x1 = __ldcg(xp + 1);
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

template <class F, int MaxSeq>
__global__ void __launch_bounds__(k_threads) gemv_kernel(const GemvArgs a) {
    gemv_body<F, MaxSeq>(a, static_cast<int>(blockIdx.x), static_cast<int>(gridDim.x));
}

// ---- tensor-core path (every format but f32) -----------------------------------------------------
//
// x becomes the B operand of warp-level mma.sync, prepared once per block in shared memory:
//   integer formats (q8_0, q4_0, q4_k, q6_k): x * 2^E rounded to a 30-bit integer X per
//     sequence (E from max |x|), split into 4 signed byte digits, X = d0 + 2^8 d1 + 2^16 d2 +
//     2^24 d3; B column 4s + d holds digit d of sequence s (n_seq <= 2), and m16n8k32 (m16n8k16
//     for q6_k's 16-column scales) s8 x s8 -> s32 multiplies the weights' integer quants
//     exactly; scales, mins and the digit weights are applied to the s32 results;
//   f16: x * 2^E (max |x| * 2^E < 2^15) as hi + lo halves, B columns 2s, 2s + 1 (n_seq <= 4);
//   bf16: x as three bf16 terms (24 significant bits), B columns 0-2 (n_seq 1);
// and the weights are the A operand as stored (f16, bf16) or as their integer quants. A tile
// is 16 mma rows (see the header comment); thread (g = lane / 4, t = lane % 4) holds rows g and
// g + 8, columns 2t, 2t + 1 of the mma result.
//
// Measured on H200 (2026-11-27, bench/kernels_gemv.cu --quick, n_seq 1, % of D2D copy, 9B and
// 27B gate/up, down, qkv; CUDA-core kernel of the same run in brackets) for a first layout of
// this kernel - warps of two 16-row tiles (32 rows), per-warp K split, 8 warps -: q4_k 23-40
// [18-25], q4_0 22-38 [23-34], q6_k 24-39 [27-39], q8_0 29-47 [37-51], bf16 58-72 [50-76],
// f16 59-73 [53-71]: gate/up gained most; down projections lost (27B down used 80 of 132 SMs:
// 160 row pairs; x staged by two latency-bound passes per block). The present layout (16-row
// tiles, rows balanced to 8 across blocks, warps on adjacent chunks, 16 warps, 4 x loads in
// flight per thread in the prologue) answers those two. Measured the same way on H200 (same
// card and date, PDL on; bench/results/2026-11-27-NVIDIA-H200.md): q4_k 36-51, q4_0 38-54,
// q6_k 42-56, q8_0 51-76, bf16 65-85, f16 70-87; gate/up highest, down and qkv lowest.
constexpr int k_mma_warps = 16;   // most warps per block (fewer when x leaves no room)
constexpr int k_mma_stages = 3;   // 2 chunks in flight while one is decoded (4: no better, first layout)
// q4_0 and q4_k (144 bytes per 256-column row chunk) also come with a 2-stage ring where that
// lets two 16-warp blocks share an SM (x up to ~5K columns): twice the warps to hide the
// decode loop's latency, the same bytes in flight (ncu, H200, 9B q4_0 gate/up with 3 stages:
// one block per SM by shared memory, 0.56 instructions issued per scheduler cycle, 1.3
// eligible warps of 4, DRAM 32% busy).
constexpr int k_mma_max_seq = 4;


GDN_DEVICE GDN_FORCEINLINE uint32_t lds_u32(const uint8_t* p) { return *reinterpret_cast<const uint32_t*>(p); }
// 4 bytes at p, whose alignment (4 or 2) is known at compile time.
template <bool Aligned4>
GDN_DEVICE GDN_FORCEINLINE uint32_t lds_word(const uint8_t* p) {
    if constexpr (Aligned4) {
        return lds_u32(p);
    } else {
        return lds_u32_a2(p);
    }
}
// Byte k of w, zero-extended (one PRMT once k is a constant).
GDN_DEVICE GDN_FORCEINLINE int byte_of(uint32_t w, int k) {
    return static_cast<int>(__byte_perm(w, 0u, 0x4440u | static_cast<uint32_t>(k)));
}

/// x in shared memory as the B operand: `frag` [units of 32 columns][J columns][4 threads]
/// (uint2 for the integer formats: digits of columns 4t..4t+3 and 16+4t..; uint4 for f16/bf16:
/// columns 8t..8t+7), `sums` [units][4] per-thread sums of digit pairs (q4_0, q4_k).
struct XOperand {
    const uint8_t* frag;
    const int32_t* sums;
    int J;   // B columns in use (parts * n_seq); threads of a higher column g read zeros
};

GDN_DEVICE GDN_FORCEINLINE uint2 frag8(const XOperand& x, int u, int g, int t) {
    return g < x.J ? reinterpret_cast<const uint2*>(x.frag)[(u * x.J + g) * 4 + t] : make_uint2(0u, 0u);
}
GDN_DEVICE GDN_FORCEINLINE uint32_t frag4(const XOperand& x, int u, int half, int g, int t) {
    return g < x.J ? reinterpret_cast<const uint32_t*>(x.frag)[((u * x.J + g) * 4 + t) * 2 + half] : 0u;
}
GDN_DEVICE GDN_FORCEINLINE uint4 frag16(const XOperand& x, int u, int g, int t) {
    return g < x.J ? reinterpret_cast<const uint4*>(x.frag)[(u * x.J + g) * 4 + t] : make_uint4(0u, 0u, 0u, 0u);
}

// Shared by the integer formats. Thread t's columns 2t, 2t + 1 are digits (0, 1) or (2, 3) of
// sequence t / 2: its sums are in units of 2^(16 (t % 2)) of X.
struct MmaIntX {
    static constexpr int parts = 4;
    static constexpr int max_seq = 2;
    static constexpr int frag_bytes = 8;
    static constexpr int fixed_bits = 30;   // |X| <= 2^30: the top digit stays in -64..64
    GDN_DEVICE static float pair_weight(int t) { return (t & 1) ? 65536.f : 1.f; }
    GDN_DEVICE static int seq_of(int t) { return t >> 1; }
};
template <int Parts, int MaxSeq, int FixedBits>
struct MmaHalfX {
    static constexpr int parts = Parts;
    static constexpr int max_seq = MaxSeq;
    static constexpr int frag_bytes = 16;
    static constexpr int fixed_bits = FixedBits;   // 0: x unscaled
    static constexpr bool sums = false;
    GDN_DEVICE static float pair_weight(int) { return 1.f; }
    GDN_DEVICE static int seq_of(int t) { return 2 * t / Parts; }
};

// Per-format decode of one chunk of a tile: `ra` / `rb` point at mma rows g / g + 8 in the
// ring, `u0` is the chunk's first 32-column unit; acc[0 / 1] gather rows g / g + 8 in units of
// the thread's digit pair (integer formats) or of x (f16, bf16). `slot_granules` pads a ring
// row to an odd multiple of 4 words, so the 8 rows g read by a warp sit in distinct banks.
template <class F>
struct MmaTile;

// 8 blocks of 34 bytes (256 columns, 272 bytes: row chunks stay 16-byte aligned) per chunk.
template <>
struct MmaTile<gdn::q8_0> : MmaIntX {
    static constexpr int chunk_cols = 256;
    static constexpr int chunk_bytes = 272;
    static constexpr int granules = 17;
    static constexpr int slot_granules = 17;
    static constexpr bool aligned = true;
    static constexpr bool sums = false;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
#pragma unroll
        for (int b = 0; b < 8; ++b) {
            const uint2 bv = frag8(x, u0 + b, g, t);
            const uint8_t* pa = ra + 34 * b;
            const uint8_t* pb = rb + 34 * b;
            int c[4];
            if (b & 1) {  // quants 4-byte aligned
                mma_s8_k32(c, lds_word<true>(pa + 2 + 4 * t), lds_word<true>(pb + 2 + 4 * t),
                           lds_word<true>(pa + 18 + 4 * t), lds_word<true>(pb + 18 + 4 * t), bv.x, bv.y);
            } else {
                mma_s8_k32(c, lds_word<false>(pa + 2 + 4 * t), lds_word<false>(pb + 2 + 4 * t),
                           lds_word<false>(pa + 18 + 4 * t), lds_word<false>(pb + 18 + 4 * t), bv.x, bv.y);
            }
            const float da = f16_bits_to_float(lds_u16(pa)), db = f16_bits_to_float(lds_u16(pb));
            acc[0] = fmaf(da, static_cast<float>(c[1] * 256 + c[0]), acc[0]);
            acc[1] = fmaf(db, static_cast<float>(c[3] * 256 + c[2]), acc[1]);
        }
    }
};

// 8 blocks of 18 bytes (256 columns) per chunk. Low nibbles of qs[4t..4t+3] are k 4t.., high
// nibbles k 16+4t..; value d (q - 8): the -8 rides in `sums` (-8 * digit-pair sums of x).
template <>
struct MmaTile<gdn::q4_0> : MmaIntX {
    static constexpr int chunk_cols = 256;
    static constexpr int chunk_bytes = 144;
    static constexpr int granules = 9;
    static constexpr int slot_granules = 9;
    static constexpr bool aligned = true;
    static constexpr bool sums = true;
    static constexpr int sum_factor = -8;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
#pragma unroll
        for (int b = 0; b < 8; ++b) {
            const uint2 bv = frag8(x, u0 + b, g, t);
            const int sp = x.sums[(u0 + b) * 4 + t];
            const uint8_t* pa = ra + 18 * b;
            const uint8_t* pb = rb + 18 * b;
            uint32_t wa, wb;
            if (b & 1) {
                wa = lds_word<true>(pa + 2 + 4 * t);
                wb = lds_word<true>(pb + 2 + 4 * t);
            } else {
                wa = lds_word<false>(pa + 2 + 4 * t);
                wb = lds_word<false>(pb + 2 + 4 * t);
            }
            int c[4];
            mma_s8_k32(c, wa & 0x0f0f0f0fu, wb & 0x0f0f0f0fu, (wa >> 4) & 0x0f0f0f0fu, (wb >> 4) & 0x0f0f0f0fu, bv.x,
                       bv.y);
            const float da = f16_bits_to_float(lds_u16(pa)), db = f16_bits_to_float(lds_u16(pb));
            acc[0] = fmaf(da, static_cast<float>(c[1] * 256 + c[0] + sp), acc[0]);
            acc[1] = fmaf(db, static_cast<float>(c[3] * 256 + c[2] + sp), acc[1]);
        }
    }
};

// One 144-byte super-block (256 columns) per chunk, 16-byte aligned. Sub-block s = 2p + h:
// nibble h of qs[32p + 4t..] (k 4t..) and qs[32p + 16 + 4t..] (k 16+4t..); value
// d sc_s q - dmin m_s, scales applied to the s32 sums in integers, the mins through `sums`.
template <>
struct MmaTile<gdn::q4_k> : MmaIntX {
    static constexpr int chunk_cols = 256;
    static constexpr int chunk_bytes = 144;
    static constexpr int granules = 9;
    static constexpr int slot_granules = 9;
    static constexpr bool aligned = true;
    static constexpr bool sums = true;
    static constexpr int sum_factor = 1;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
        const uint8_t* rows[2] = {ra, rb};
        uint32_t sc[2][2], mn[2][2];   // [row g, g + 8][sub-blocks 0-3, 4-7]: 6-bit scales / mins as bytes
        float d[2], dmin[2];
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            const uint8_t* p = rows[j];
            const uint32_t dm = lds_u32(p), s0 = lds_u32(p + 4), s1 = lds_u32(p + 8), s2 = lds_u32(p + 12);
            d[j] = f16_bits_to_float(dm & 0xffffu);
            dmin[j] = f16_bits_to_float(dm >> 16);
            sc[j][0] = s0 & 0x3f3f3f3fu;
            sc[j][1] = (s2 & 0x0f0f0f0fu) | ((s0 >> 2) & 0x30303030u);
            mn[j][0] = s1 & 0x3f3f3f3fu;
            mn[j][1] = ((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 2) & 0x30303030u);
        }
        int isc[2][2] = {}, imin[2] = {};
#pragma unroll
        for (int p = 0; p < 4; ++p) {
            uint32_t q[2][2];   // [row][k half]
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                q[j][0] = lds_u32(rows[j] + 16 + 32 * p + 4 * t);
                q[j][1] = lds_u32(rows[j] + 32 + 32 * p + 4 * t);
            }
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int s = 2 * p + h;
                const uint2 bv = frag8(x, u0 + s, g, t);
                const int sp = x.sums[(u0 + s) * 4 + t];
                int c[4];
                mma_s8_k32(c, (q[0][0] >> (4 * h)) & 0x0f0f0f0fu, (q[1][0] >> (4 * h)) & 0x0f0f0f0fu,
                           (q[0][1] >> (4 * h)) & 0x0f0f0f0fu, (q[1][1] >> (4 * h)) & 0x0f0f0f0fu, bv.x, bv.y);
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    const int scale = byte_of(sc[j][s >> 2], s & 3);
                    isc[j][0] += scale * c[2 * j];
                    isc[j][1] += scale * c[2 * j + 1];
                    imin[j] += byte_of(mn[j][s >> 2], s & 3) * sp;
                }
            }
        }
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            const float v = fmaf(256.f, static_cast<float>(isc[j][1]), static_cast<float>(isc[j][0]));
            acc[j] = fmaf(d[j], v, fmaf(-dmin[j], static_cast<float>(imin[j]), acc[j]));
        }
    }
};

// One 210-byte super-block (256 columns) per chunk, only 2-byte aligned. 16-column group
// (h, k, i) = columns 128h + 32k + 16i..: quants from ql[64h + 32(k&1) + 16i + 4t..] (nibble k/2)
// and qh[32h + 16i + 4t..] (bits 2k), biased to q - 32 per byte; int8 scale 8h + 2k + i.
template <>
struct MmaTile<gdn::q6_k> : MmaIntX {
    static constexpr int chunk_cols = 256;
    static constexpr int chunk_bytes = 210;
    static constexpr int granules = 14;
    static constexpr int slot_granules = 15;
    static constexpr bool aligned = false;
    static constexpr bool sums = false;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
        const uint8_t* rows[2] = {ra, rb};
        int isc[2][2] = {};
#pragma unroll
        for (int h = 0; h < 2; ++h) {
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                uint32_t ql0[2], ql1[2], qh[2];
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    ql0[j] = lds_u32_a2(rows[j] + 64 * h + 16 * i + 4 * t);
                    ql1[j] = lds_u32_a2(rows[j] + 64 * h + 32 + 16 * i + 4 * t);
                    qh[j] = lds_u32_a2(rows[j] + 128 + 32 * h + 16 * i + 4 * t);
                }
#pragma unroll
                for (int k = 0; k < 4; ++k) {
                    const uint32_t bk = frag4(x, u0 + 4 * h + k, i, g, t);
                    uint32_t aq[2];
#pragma unroll
                    for (int j = 0; j < 2; ++j) {
                        const uint32_t lo = ((k & 1) ? ql1[j] : ql0[j]) >> (4 * (k >> 1));
                        const uint32_t hi = k == 0 ? qh[j] << 4 : k == 1 ? qh[j] << 2 : k == 2 ? qh[j] : qh[j] >> 2;
                        const uint32_t q = (lo & 0x0f0f0f0fu) | (hi & 0x30303030u);
                        aq[j] = (q + 0x60606060u) ^ 0x80808080u;   // q - 32 per byte, no carries
                    }
                    int c[4];
                    mma_s8_k16(c, aq[0], aq[1], bk);
#pragma unroll
                    for (int j = 0; j < 2; ++j) {
                        const int scale = static_cast<int8_t>(rows[j][192 + 8 * h + 2 * k + i]);
                        isc[j][0] += scale * c[2 * j];
                        isc[j][1] += scale * c[2 * j + 1];
                    }
                }
            }
        }
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            const float v = fmaf(256.f, static_cast<float>(isc[j][1]), static_cast<float>(isc[j][0]));
            acc[j] = fmaf(f16_bits_to_float(lds_u16(rows[j] + 208)), v, acc[j]);
        }
    }
};

// 128 columns (256 bytes) per chunk, two m16n8k16 per 32-column unit: thread t takes columns
// 8t..8t+7 of the unit (one 16-byte load per row), the first four as k 2t, 2t+1, 2t+8, 2t+9.
template <bool BF16>
struct MmaHalfTile : MmaHalfX<BF16 ? 3 : 2, BF16 ? 1 : 4, BF16 ? 0 : 15> {
    static constexpr int chunk_cols = 128;
    static constexpr int chunk_bytes = 256;
    static constexpr int granules = 16;
    static constexpr int slot_granules = 17;
    static constexpr bool aligned = true;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
        float c[4] = {};   // f32 tensor-core sums of 128 columns, then added in round-to-nearest
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            const uint4 bv = frag16(x, u0 + u, g, t);
            const uint4 a0 = *reinterpret_cast<const uint4*>(ra + 64 * u + 16 * t);
            const uint4 a1 = *reinterpret_cast<const uint4*>(rb + 64 * u + 16 * t);
            mma_h_k16<BF16>(c, a0.x, a1.x, a0.y, a1.y, bv.x, bv.y);
            mma_h_k16<BF16>(c, a0.z, a1.z, a0.w, a1.w, bv.z, bv.w);
        }
        acc[0] += c[0] + c[1];
        acc[1] += c[2] + c[3];
    }
};
template <>
struct MmaTile<gdn::f16> : MmaHalfTile<false> {};
template <>
struct MmaTile<gdn::bf16> : MmaHalfTile<true> {};

// Integer formats whose file has a tensor-core loader (mma_group, mma_frag: see
// gdn/quant/formats/base.hpp). A chunk is 256 columns: 8 units of x, each one group of 32
// (m16n8k32) or two of 16 (m16n8k16); the group's scale (and min, through the digit sums of x)
// is applied in float32 to the group's s32 sums.
// (groups of 16 with a min, q2_k, take the CUDA-core kernel: the digit sums of x that carry the
// mins are per 32 columns.)
template <class F>
concept MmaFragFormat = requires(const uint8_t* u, uint32_t& w, float& f) {
    { F::mma_group } -> std::convertible_to<int>;
    F::mma_frag(u, 0, 0, w, w, f, f);
} && (F::mma_group == 32 || !F::has_min);

template <class F>
struct MmaFragTile : MmaIntX {
    static_assert(F::mma_group == 32 || (F::mma_group == 16 && !F::has_min), "see MmaFragFormat");
    static constexpr int chunk_cols = 256;
    static constexpr int chunk_bytes = 256 / F::unit_elems * F::unit_bytes;
    static constexpr bool aligned = chunk_bytes % 16 == 0;
    // a row chunk starts at most 16 - (its alignment) bytes into its first granule; one more
    // granule would read past the matrix's last aligned granule (mxfp4's 136-byte chunks)
    static constexpr int granules = ((16 - quant::pow2_align(chunk_bytes)) % 16 + chunk_bytes + 15) / 16;
    static constexpr int slot_granules = granules | 1;   // odd: the 8 rows g of a warp in distinct banks
    static constexpr bool sums = F::has_min;
    static constexpr int sum_factor = 1;
    GDN_DEVICE static void chunk(const uint8_t* ra, const uint8_t* rb, const XOperand& x, int u0, int g, int t,
                                 float (&acc)[2]) {
#pragma unroll
        for (int b = 0; b < 8; ++b) {
            const int col = 32 * b;
            const int off = (col / F::unit_elems) * F::unit_bytes;
            const int grp = (col % F::unit_elems) / F::mma_group;
            if constexpr (F::mma_group == 32) {
                uint32_t la, ha, lb, hb;
                float sa, ma, sb, mb;
                F::mma_frag(ra + off, grp, t, la, ha, sa, ma);
                F::mma_frag(rb + off, grp, t, lb, hb, sb, mb);
                const uint2 bv = frag8(x, u0 + b, g, t);
                int c[4];
                mma_s8_k32(c, la, lb, ha, hb, bv.x, bv.y);
                if constexpr (F::has_min) {
                    const float sp = static_cast<float>(x.sums[(u0 + b) * 4 + t]);
                    acc[0] = fmaf(sa, static_cast<float>(c[1] * 256 + c[0]), fmaf(-ma, sp, acc[0]));
                    acc[1] = fmaf(sb, static_cast<float>(c[3] * 256 + c[2]), fmaf(-mb, sp, acc[1]));
                } else {
                    acc[0] = fmaf(sa, static_cast<float>(c[1] * 256 + c[0]), acc[0]);
                    acc[1] = fmaf(sb, static_cast<float>(c[3] * 256 + c[2]), acc[1]);
                }
            } else {
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    uint32_t la, lb, unused;
                    float sa, sb, ma, mb;
                    F::mma_frag(ra + off, grp + i, t, la, unused, sa, ma);
                    F::mma_frag(rb + off, grp + i, t, lb, unused, sb, mb);
                    int c[4];
                    mma_s8_k16(c, la, lb, frag4(x, u0 + b, i, g, t));
                    acc[0] = fmaf(sa, static_cast<float>(c[1] * 256 + c[0]), acc[0]);
                    acc[1] = fmaf(sb, static_cast<float>(c[3] * 256 + c[2]), acc[1]);
                }
            }
        }
    }
};
template <MmaFragFormat F>
struct MmaTile<F> : MmaFragTile<F> {};

template <class F>
constexpr bool has_mma_tile() {
    return std::is_same_v<F, gdn::f16> || std::is_same_v<F, gdn::bf16> || std::is_same_v<F, gdn::q8_0> ||
           std::is_same_v<F, gdn::q4_0> || std::is_same_v<F, gdn::q4_k> || std::is_same_v<F, gdn::q6_k> ||
           MmaFragFormat<F>;
}

template <class F>
constexpr int mma_stage_bytes() {  // one tile: 16 row chunks
    return 16 * 16 * MmaTile<F>::slot_granules;
}

template <class F, int Stages = k_mma_stages>
constexpr int mma_warp_bytes() {  // the ring of one warp
    return Stages * mma_stage_bytes<F>();
}

// Formats whose ring is small enough for two blocks per SM at 2 stages (see k_mma_stages).
template <class F>
constexpr bool mma_two_blocks() {
    return MmaTile<F>::slot_granules <= 9;
}

constexpr int k_mma_round_tiles = 32;   // most tiles per round (shared sums: 256 B per tile and slot)
constexpr int k_mma_static_bytes = 1024; // the kernel's static shared memory (reductions), rounded up

// Sum slots per tile of a round: the warps that visit the tile (see gemv_mma_kernel).
GDN_HOST_DEVICE constexpr int mma_slots(int chunks, int warps) { return chunks < warps ? chunks : warps; }

/// Bytes of the B operand (and sums) of `n_seq` sequences of `cols` inputs.
template <class F>
int64_t mma_x_bytes(int64_t cols, int n_seq) {
    using M = MmaTile<F>;
    const int64_t units = cols / 32;
    return units * M::parts * n_seq * 4 * M::frag_bytes + (M::sums ? units * 16 : 0);
}


// Columns 4e..4e+3 of sequence s of x, and of norm_w (ones without a norm).
GDN_DEVICE GDN_FORCEINLINE float4 load_x4(const GemvArgs& a, int s, int e) {
    return __ldcg(reinterpret_cast<const float4*>(a.x + static_cast<int64_t>(s) * a.cols) + e);
}
GDN_DEVICE GDN_FORCEINLINE float4 load_w4(const GemvArgs& a, int e) {
    return a.norm_w != nullptr ? __ldg(reinterpret_cast<const float4*>(a.norm_w) + e) : make_float4(1.f, 1.f, 1.f, 1.f);
}
GDN_DEVICE GDN_FORCEINLINE float4 scale4(float4 v, float4 w, float scale) {
    return make_float4(v.x * w.x * scale, v.y * w.y * scale, v.z * w.z * scale, v.w * w.w * scale);
}

// The tensor-core kernel's body for block `block` of `n_blocks` (see gemv_body).
template <class F, int Stages, class Wait = PdlWait>
GDN_DEVICE GDN_FORCEINLINE void gemv_mma_body(const GemvArgs& a, int block, int n_blocks, Wait wait = {}) {
    using M = MmaTile<F>;
    constexpr int slot = 16 * M::slot_granules;   // one row chunk (+ alignment slack, padding)
    constexpr int stage_bytes = mma_stage_bytes<F>();
    constexpr int units_per_chunk = M::chunk_cols / 32;
    constexpr int unroll = 4;                       // x loads in flight per thread in the prologue
    extern __shared__ __align__(16) uint8_t smem[];
    __shared__ float red[k_mma_warps][M::max_seq][2];
    __shared__ float seq_scale[M::max_seq];
    __shared__ float seq_unscale[k_mma_max_seq];

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_warps = static_cast<int>(blockDim.x) >> 5;
    const int g = lane >> 2, t = lane & 3;
    const bool dual = a.w_up != nullptr;
    uint8_t* ring = smem + warp * (Stages * stage_bytes);
    uint8_t* xs = smem + n_warps * (Stages * stage_bytes);   // B operand, a.x_bytes
    // [round tiles][slots][16 mma rows][4 t]: one slot per warp visit of a tile (below)
    float* racc = reinterpret_cast<float*>(xs + a.x_bytes);

    // This block's octets [o0, o1) of output rows, as tiles of 16 mma rows: rows 16k.. (plain)
    // or 8 gate rows (mma rows 0-7) and the same 8 up rows (8-15).
    const int o0 = static_cast<int>(int64_t(block) * a.n_oct / n_blocks);
    const int o1 = static_cast<int>(int64_t(block + 1) * a.n_oct / n_blocks);
    const int n_tiles = dual ? o1 - o0 : (o1 - o0 + 1) / 2;
    const int n_chunks = a.chunks, round_tiles = a.round_tiles;
    const int n_rounds = (n_tiles + round_tiles - 1) / round_tiles;
    auto round_items = [&](int rd) { return min(round_tiles, n_tiles - rd * round_tiles) * n_chunks; };
    // row (in its matrix) of mma row mr of the block's tile k; -1 past the block or the matrix
    auto tile_row = [&](int k, int mr) {
        const int oct = dual ? o0 + k : o0 + 2 * k + (mr >> 3);
        const int row = 8 * oct + (mr & 7);
        return oct < o1 && row < a.rows ? row : -1;
    };
    auto row_begin = [&](int row, int mr, int c) {
        const uint8_t* base = (dual && mr >= 8) ? a.w_up : a.w;
        return reinterpret_cast<uintptr_t>(base) + row * a.row_bytes + static_cast<int64_t>(c) * M::chunk_bytes;
    };
    // A round is round_tiles tiles x n_chunks chunks, item i = (tile i / n_chunks, chunk
    // i % n_chunks); warp w takes items w, w + n_warps, ...: the block's warps read adjacent
    // chunks of the same rows together.
    struct Cursor {
        int rd, it, kl, c;   // round, item, its tile in the round and chunk
    };
    auto advance = [&](Cursor& q, bool step) {
        if (step) {
            q.it += n_warps;
            q.c += n_warps;
        }
        while (q.c >= n_chunks) {
            q.c -= n_chunks;
            ++q.kl;
        }
        while (q.rd < n_rounds && q.it >= round_items(q.rd)) {
            ++q.rd;
            q.it = warp;
            q.kl = 0;
            q.c = warp;
            while (q.c >= n_chunks) {
                q.c -= n_chunks;
                ++q.kl;
            }
        }
    };

    // the ring is filled by one cursor and drained by another, Stages - 1 items behind;
    // lane l copies granules l, l + 32, ... of the tile's 16 row chunks
    Cursor in{0, warp, 0, warp};
    int in_stage = 0;
    advance(in, false);
    auto issue = [&]() {
        if (in.rd < n_rounds) {
            const int k = in.rd * round_tiles + in.kl, c = in.c;
            uint8_t* buf = ring + in_stage * stage_bytes;
#pragma unroll
            for (int idx0 = 0; idx0 < 16 * M::granules; idx0 += 32) {
                const int idx = idx0 + lane;
                const int mr = idx / M::granules, gi = idx - mr * M::granules;
                const int row = idx < 16 * M::granules ? tile_row(k, mr) : -1;
                if (row >= 0) {
                    const uintptr_t a0 = row_begin(row, mr, c) & ~uintptr_t(15);
                    cp_async16(buf + mr * slot + 16 * gi, reinterpret_cast<const void*>(a0 + 16 * gi));
                }
            }
            advance(in, true);
            in_stage = in_stage == Stages - 1 ? 0 : in_stage + 1;
        }
        cp_async_commit();
    };

#pragma unroll
    for (int i = 0; i < Stages - 1; ++i) issue();
    // launch.cuh: the first weight chunks (immutable) are in flight; x, norm_w, resid and y
    // belong to the predecessors until this returns.
    wait();

    // x -> B operand, while the first chunks are in flight. 1: RMS and max |x * norm_w| per
    // sequence (not needed for bf16 without a norm), the fixed-point exponent E from the max.
    const int n_ent4 = a.cols / 4;
    const bool need_stats = a.norm_w != nullptr || M::fixed_bits > 0;
    if (need_stats) {
        for (int s = 0; s < a.n_seq; ++s) {
            float ss = 0.f, mx = 0.f;
            for (int e0 = threadIdx.x; e0 < n_ent4; e0 += unroll * blockDim.x) {
                float4 v[unroll], w[unroll];
#pragma unroll
                for (int q = 0; q < unroll; ++q) {
                    const int e = e0 + q * blockDim.x;
                    v[q] = e < n_ent4 ? load_x4(a, s, e) : make_float4(0.f, 0.f, 0.f, 0.f);
                    w[q] = e < n_ent4 ? load_w4(a, e) : make_float4(0.f, 0.f, 0.f, 0.f);
                }
#pragma unroll
                for (int q = 0; q < unroll; ++q) {
                    ss += v[q].x * v[q].x + v[q].y * v[q].y + v[q].z * v[q].z + v[q].w * v[q].w;
                    mx = fmaxf(mx, fmaxf(fmaxf(fabsf(v[q].x * w[q].x), fabsf(v[q].y * w[q].y)),
                                         fmaxf(fabsf(v[q].z * w[q].z), fabsf(v[q].w * w[q].w))));
                }
            }
            ss = warp_sum(ss);
            mx = warp_max(mx);
            if (lane == 0) {
                red[warp][s][0] = ss;
                red[warp][s][1] = mx;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x < k_mma_max_seq) {
        const int s = threadIdx.x;
        float scale = 0.f, unscale = 0.f;
        if (s < a.n_seq) {
            float ss = 0.f, mx = 0.f;
            if (need_stats) {
                for (int w = 0; w < n_warps; ++w) {
                    ss += red[w][s][0];
                    mx = fmaxf(mx, red[w][s][1]);
                }
            }
            const float inv = a.norm_w != nullptr ? rsqrtf(ss / static_cast<float>(a.cols) + a.norm_eps) : 1.f;
            int e = 0;
            if (M::fixed_bits > 0 && mx * inv > 0.f) {
                int em = 0, ei = 0;
                frexpf(mx * inv, &em);   // max |x| * inv in [2^(em-1), 2^em)
                frexpf(inv, &ei);
                e = min(max(M::fixed_bits - em, -100), 125 - ei);
            }
            scale = ldexpf(inv, e);
            unscale = ldexpf(1.f, -e);
        }
        if (s < M::max_seq) seq_scale[s] = scale;
        seq_unscale[s] = unscale;
    }
    __syncthreads();

    // 2: the B fragments (and digit-pair sums).
    XOperand xo;
    xo.frag = xs;
    xo.J = M::parts * a.n_seq;
    if constexpr (M::frag_bytes == 8) {
        uint32_t* frag = reinterpret_cast<uint32_t*>(xs);
        int32_t* sums = reinterpret_cast<int32_t*>(xs + (a.cols / 32) * M::parts * a.n_seq * 32);
        xo.sums = sums;
        for (int s = 0; s < a.n_seq; ++s) {
            const float scale = seq_scale[s];
            for (int e0 = threadIdx.x; e0 < n_ent4; e0 += unroll * blockDim.x) {
                float4 v[unroll];
#pragma unroll
                for (int q = 0; q < unroll; ++q) {
                    const int e = e0 + q * blockDim.x;
                    v[q] = e < n_ent4 ? scale4(load_x4(a, s, e), load_w4(a, e), scale) : make_float4(0.f, 0.f, 0.f, 0.f);
                }
#pragma unroll
                for (int q = 0; q < unroll; ++q) {
                    const int e = e0 + q * blockDim.x;
                    if (e >= n_ent4) break;   // whole warps: n_ent4 % 64 == 0
                    const float vs[4] = {v[q].x, v[q].y, v[q].z, v[q].w};
                    // With Y = X + 128 (1 + 2^8 + 2^16), digit i < 3 is byte i of Y minus 128 (Y ^ 0x80
                    // per byte) and digit 3 is Y >> 24: the bytes of Y ^ 0x00808080.
                    uint32_t wd[4];
                    int sum_lo = 0, sum_hi = 0;
#pragma unroll
                    for (int k = 0; k < 4; ++k) {
                        const int X = __float2int_rn(vs[k]);
                        const int Y = X + 0x00808080;
                        wd[k] = static_cast<uint32_t>(Y) ^ 0x00808080u;
                        const int hi = (Y >> 16) - 128;   // d2 + 256 d3
                        sum_hi += hi;
                        sum_lo += X - hi * 65536;         // d0 + 256 d1
                    }
                    // transpose the 4 x 4 bytes: dw[d] holds digit d of the 4 columns
                    const uint32_t lo01 = __byte_perm(wd[0], wd[1], 0x5140u), hi01 = __byte_perm(wd[0], wd[1], 0x7362u);
                    const uint32_t lo23 = __byte_perm(wd[2], wd[3], 0x5140u), hi23 = __byte_perm(wd[2], wd[3], 0x7362u);
                    const uint32_t dw[4] = {__byte_perm(lo01, lo23, 0x5410u), __byte_perm(lo01, lo23, 0x7632u),
                                            __byte_perm(hi01, hi23, 0x5410u), __byte_perm(hi01, hi23, 0x7632u)};
                    const int u = e >> 3, half = (e >> 2) & 1, tt = e & 3;
#pragma unroll
                    for (int d = 0; d < 4; ++d) frag[((u * xo.J + 4 * s + d) * 4 + tt) * 2 + half] = dw[d];
                    if constexpr (M::sums) {   // over the unit's 8 entries: lanes 8k..8k+7
#pragma unroll
                        for (int o = 1; o < 8; o <<= 1) {
                            sum_lo += __shfl_xor_sync(0xffffffffu, sum_lo, o);
                            sum_hi += __shfl_xor_sync(0xffffffffu, sum_hi, o);
                        }
                        if ((e & 7) == 0) {
                            sums[u * 4 + 2 * s] = M::sum_factor * sum_lo;
                            sums[u * 4 + 2 * s + 1] = M::sum_factor * sum_hi;
                        }
                    }
                }
            }
        }
        if constexpr (M::sums) {
            if (a.n_seq < 2) {
                for (int u = threadIdx.x; u < a.cols / 32; u += blockDim.x) {
                    sums[u * 4 + 2] = 0;
                    sums[u * 4 + 3] = 0;
                }
            }
        }
    } else {
        xo.sums = nullptr;
        uint4* frag = reinterpret_cast<uint4*>(xs);
        const int n_ent8 = a.cols / 8;
        for (int s = 0; s < a.n_seq; ++s) {
            const float scale = seq_scale[s];
            for (int e0 = threadIdx.x; e0 < n_ent8; e0 += 2 * blockDim.x) {
                float4 v[4];
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    const int e = e0 + (q >> 1) * blockDim.x;
                    const int e4 = 2 * e + (q & 1);
                    v[q] = e < n_ent8 ? scale4(load_x4(a, s, e4), load_w4(a, e4), scale) : make_float4(0.f, 0.f, 0.f, 0.f);
                }
#pragma unroll
                for (int q2 = 0; q2 < 2; ++q2) {
                    const int e = e0 + q2 * blockDim.x;
                    if (e >= n_ent8) break;
                    const float vs[8] = {v[2 * q2].x, v[2 * q2].y, v[2 * q2].z, v[2 * q2].w,
                                         v[2 * q2 + 1].x, v[2 * q2 + 1].y, v[2 * q2 + 1].z, v[2 * q2 + 1].w};
                    uint32_t pk[M::parts][4];
#pragma unroll
                    for (int k = 0; k < 8; k += 2) {
                        float rest[2] = {vs[k], vs[k + 1]};
#pragma unroll
                        for (int pt = 0; pt < M::parts; ++pt) {
                            uint32_t bits[2];
#pragma unroll
                            for (int q = 0; q < 2; ++q) {
                                if constexpr (M::parts == 3) {   // bf16 terms by truncation: exact remainders
                                    bits[q] = __float_as_uint(rest[q]) >> 16;
                                    rest[q] -= __uint_as_float(bits[q] << 16);
                                } else {
                                    const __half h = __float2half_rn(rest[q]);
                                    bits[q] = __half_as_ushort(h);
                                    rest[q] -= __half2float(h);
                                }
                            }
                            pk[pt][k / 2] = bits[0] | (bits[1] << 16);
                        }
                    }
                    const int u = e >> 2, tt = e & 3;
#pragma unroll
                    for (int pt = 0; pt < M::parts; ++pt) {
                        frag[(u * xo.J + M::parts * s + pt) * 4 + tt] = make_uint4(pk[pt][0], pk[pt][1], pk[pt][2], pk[pt][3]);
                    }
                }
            }
        }
    }
    __syncthreads();

    // Per-thread sums to shared memory with the digit weights and 2^-E applied, in a fixed
    // order (no float atomics: the result is the same bits every run). A warp visits each tile
    // of a round at most once, as a run of consecutive items: with chunks >= warps every warp
    // visits every tile (slot = warp); with fewer chunks each visit is one chunk (slot = chunk).
    const int n_slots = mma_slots(n_chunks, n_warps);
    const float wt = M::pair_weight(t) * seq_unscale[M::seq_of(t)];
    float acc[2] = {0.f, 0.f};
    Cursor out{0, warp, 0, warp};
    int out_stage = 0;
    advance(out, false);
    for (int round = 0; round < n_rounds; ++round) {
        while (out.rd == round) {
            issue();
            cp_async_wait<Stages - 1>();
            __syncwarp();

            const int kl = out.kl, c = out.c;
            const uint8_t* buf = ring + out_stage * stage_bytes;
            out_stage = out_stage == Stages - 1 ? 0 : out_stage + 1;
            const uint8_t* ra = buf + g * slot;
            const uint8_t* rb = buf + (g + 8) * slot;
            if constexpr (!M::aligned) {
                const int k = round * round_tiles + kl;
                const int row_a = tile_row(k, g), row_b = tile_row(k, g + 8);
                if (row_a >= 0) ra += row_begin(row_a, g, c) & 15;
                if (row_b >= 0) rb += row_begin(row_b, g + 8, c) & 15;
            }
            M::chunk(ra, rb, xo, c * units_per_chunk, g, t, acc);
            __syncwarp();  // the next issue() overwrites this stage

            advance(out, true);
            if (out.rd != round || out.kl != kl) {   // leaving this tile: its slot of the round's sums
                float* r = racc + (kl * n_slots + (n_chunks >= n_warps ? warp : c)) * 64;
                r[g * 4 + t] = acc[0] * wt;
                r[(g + 8) * 4 + t] = acc[1] * wt;
                acc[0] = 0.f;
                acc[1] = 0.f;
            }
        }
        __syncthreads();
        // the round's outputs: add the digit pairs / parts of each sequence, then the epilogue
        const int rt = min(round_tiles, n_tiles - round * round_tiles);
        const int out_rows = dual ? 8 : 16;
        const int n_out = rt * out_rows * a.n_seq;
        for (int o = threadIdx.x; o < n_out; o += blockDim.x) {
            const int s = o / (rt * out_rows), rem = o - s * (rt * out_rows);
            const int kl = rem / out_rows, mr = rem - kl * out_rows;
            float v0 = 0.f, v1 = 0.f;
            for (int sl = 0; sl < n_slots; ++sl) {   // every slot of a tile of this round was written
                const float* r = racc + (kl * n_slots + sl) * 64;
#pragma unroll
                for (int tt = 0; tt < 4; ++tt) {
                    if (M::seq_of(tt) == s) {
                        v0 += r[mr * 4 + tt];
                        if (dual) v1 += r[(mr + 8) * 4 + tt];
                    }
                }
            }
            const int row = tile_row(round * round_tiles + kl, mr);
            if (row >= 0) {
                const int64_t oi = static_cast<int64_t>(s) * a.rows + row;
                if (dual) {
                    a.y[oi] = v0 / (1.f + expf(-v0)) * v1;
                } else {
                    a.y[oi] = a.resid != nullptr ? a.resid[oi] + v0 : v0;
                }
            }
        }
        __syncthreads();
    }
    cp_async_wait<0>();
}

template <class F, int Stages>
__global__ void __launch_bounds__(32 * k_mma_warps, Stages == 2 ? 2 : 1) gemv_mma_kernel(const GemvArgs a) {
    gemv_mma_body<F, Stages>(a, static_cast<int>(blockIdx.x), static_cast<int>(gridDim.x));
}

// The kernel arguments both GEMV kernels take from the public parameters.
inline GemvArgs gemv_args(const GemvParams& p) {
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
    return a;
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
inline int choose_ksplit(int n_pairs, int chunks, int max_blocks, int warps = k_warps) {
    int best = 1;
    int64_t best_cost = -1;
    for (int ks = 1; ks <= warps; ++ks) {
        if (warps % ks != 0) continue;
        if (ks > chunks) break;
        const int64_t groups = (int64_t(n_pairs) * ks + warps - 1) / warps;
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

    GemvArgs a = gemv_args(p);
    a.x_smem = x_smem ? 1 : 0;
    a.steps = a.cols / k_step;
    a.chunks = (a.steps + T::chunk_steps - 1) / T::chunk_steps;
    a.n_pairs = dual ? a.rows : (a.rows + 1) / 2;
    const int max_blocks = sms * per_sm;
    a.ksplit = choose_ksplit(a.n_pairs, a.chunks, max_blocks);
    a.n_groups = (a.n_pairs * a.ksplit + k_warps - 1) / k_warps;
    const int grid = a.n_groups < max_blocks ? a.n_groups : max_blocks;
    launch_kernel(what, kernel, dim3(grid), dim3(k_threads), smem, stream, a);
}

// Warps per block of the tensor-core kernel: k_mma_warps, or fewer where the B operand of a
// wide x leaves less room; 0 where even 2 do not fit (the CUDA-core kernel takes the call).
template <class F>
int mma_warps(int64_t x_bytes, int smem_optin) {
    constexpr int64_t fixed = k_mma_static_bytes + k_mma_round_tiles * 256;   // static shared memory, round sums
    const int64_t w = (smem_optin - x_bytes - fixed) / mma_warp_bytes<F>();
    return w < 2 ? 0 : static_cast<int>(w < k_mma_warps ? w : k_mma_warps);
}

// Tiles per round: round_tiles * chunks a multiple of the warps (every warp as many items),
// at least 4 items per warp where the round sums allow; halved while the round's sum slots
// (round_tiles * mma_slots * 256 B) exceed `slot_bytes`.
inline int mma_round_tiles(int chunks, int warps, int64_t slot_bytes) {
    int a = chunks, b = warps;
    while (b != 0) {
        const int r = a % b;
        a = b;
        b = r;
    }
    int tiles = warps / a;
    while (tiles * chunks < 4 * warps && 2 * tiles <= k_mma_round_tiles) tiles *= 2;
    if (tiles > k_mma_round_tiles) tiles = k_mma_round_tiles;
    while (tiles > 1 && int64_t(tiles) * mma_slots(chunks, warps) * 256 > slot_bytes) tiles /= 2;
    return tiles;
}

// The current device's limits a tensor-core GEMV launch sizes itself by (queried once per launch).
struct MmaDevice {
    int sms = 0;          // multiprocessors
    int optin = 0;        // most shared memory one block may opt in to
    int per_sm_smem = 0;  // shared memory of one SM
    int reserved = 0;     // shared memory the driver reserves per block
    static MmaDevice current() {
        MmaDevice d;
        int dev = 0;
        GDN_CUDA_CHECK(cudaGetDevice(&dev));
        GDN_CUDA_CHECK(cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, dev));
        GDN_CUDA_CHECK(cudaDeviceGetAttribute(&d.optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        GDN_CUDA_CHECK(cudaDeviceGetAttribute(&d.per_sm_smem, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev));
        GDN_CUDA_CHECK(cudaDeviceGetAttribute(&d.reserved, cudaDevAttrReservedSharedMemoryPerBlock, dev));
        return d;
    }
};

// `budget`: the dynamic shared memory the block may take (x, the rings, the round's sum slots).
template <class F, int Stages>
void launch_mma_stages(const GemvParams& p, bool dual, int warps, int64_t x_bytes, int64_t budget, int sms,
                       cudaStream_t stream) {
    using M = MmaTile<F>;
    const char* what = dual ? "launch_gemv_gate_up" : "launch_gemv";
    auto kernel = gemv_mma_kernel<F, Stages>;
    GemvArgs a = gemv_args(p);
    a.x_bytes = static_cast<int>(x_bytes);
    a.steps = a.cols / k_step;
    a.chunks = a.cols / M::chunk_cols;
    a.n_oct = (a.rows + 7) / 8;
    // the round's sum slots take what the ring and x leave
    const int64_t ring = int64_t(warps) * mma_warp_bytes<F, Stages>();
    a.round_tiles = mma_round_tiles(a.chunks, warps, budget - a.x_bytes - ring);
    const int smem = static_cast<int>(a.x_bytes + ring + a.round_tiles * mma_slots(a.chunks, warps) * 256);
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int per_sm = 0;
    GDN_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, 32 * warps, smem));
    GDN_CHECK(per_sm > 0, what, ": kernel does not fit on this device (", smem, " B shared)");
    // blocks take contiguous octets of rows (full 16-row tiles where there are enough)
    const int units = dual ? a.n_oct : (a.n_oct + 1) / 2;
    const int grid = units < sms * per_sm ? units : sms * per_sm;
    launch_kernel(what, kernel, dim3(grid), dim3(32 * warps), smem, stream, a);
}

template <class F>
void launch_mma(const GemvParams& p, bool dual, int warps, int64_t x_bytes, const MmaDevice& d,
                cudaStream_t stream) {
    const int64_t one_per_sm = int64_t(d.optin) - k_mma_static_bytes;   // at least the reserve of mma_warps
    if constexpr (mma_two_blocks<F>()) {
        const int64_t two_per_sm = d.per_sm_smem / 2 - d.reserved - k_mma_static_bytes;
        const int chunks = static_cast<int>(p.cols / MmaTile<F>::chunk_cols);
        if (warps == k_mma_warps && x_bytes + int64_t(warps) * mma_warp_bytes<F, 2>() +
                                                mma_slots(chunks, warps) * 256 <= two_per_sm) {
            launch_mma_stages<F, 2>(p, dual, warps, x_bytes, two_per_sm, d.sms, stream);
            return;
        }
    }
    launch_mma_stages<F, k_mma_stages>(p, dual, warps, x_bytes, one_per_sm, d.sms, stream);
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
    if constexpr (has_mma_tile<F>()) {
        if (p.n_seq >= 1 && p.n_seq <= MmaTile<F>::max_seq) {
            check_params(p, dual, F::dtype, dual ? "launch_gemv_gate_up" : "launch_gemv");
            const MmaDevice d = MmaDevice::current();
            const int64_t x_bytes = mma_x_bytes<F>(p.cols, p.n_seq);
            const int warps = mma_warps<F>(x_bytes, d.optin);
            if (warps > 0) {
                launch_mma<F>(p, dual, warps, x_bytes, d, stream);
                return;
            }
        }
        launch<F, k_max_seq>(p, dual, stream);   // more sequences, or x too wide to stage
    } else {
        if (p.n_seq == 1) {
            launch<F, 1>(p, dual, stream);
        } else {
            launch<F, k_max_seq>(p, dual, stream);
        }
    }
}

/// One GEMV as a stage of the persistent step kernel (kernels/persistent.cuh): the body it runs
/// (`mma`: gemv_mma_body<F, k_mma_stages>, else gemv_body<F, 1>), its arguments for a grid of
/// `n_blocks` blocks of k_threads threads, and the dynamic shared memory that takes.
struct GemvStagePlan {
    GemvArgs args{};
    bool mma = false;
    int smem = 0;
};

/// Plans p (n_seq 1) for the persistent kernel's geometry; `smem_budget` is the dynamic shared
/// memory its block has. Throws gdn::Error where the layout does not fit (x too wide to stage
/// beside sixteen warps' rings), naming the matrix by `what`.
template <class F>
GemvStagePlan gemv_stage_plan(const GemvParams& p, bool dual, int n_blocks, int64_t smem_budget, const char* what) {
    GDN_CHECK(p.n_seq == 1, what, ": the persistent schedule runs one sequence, got n_seq ", p.n_seq);
    GDN_CHECK(p.cols % k_step == 0, what, ": the persistent schedule needs cols % ", k_step, " == 0, got ", p.cols);
    check_params(p, dual, F::dtype, what);
    GemvStagePlan plan;
    GemvArgs& a = plan.args;
    a = gemv_args(p);
    a.steps = a.cols / k_step;
    // The tensor-core body where its sixteen warps' rings and the staged x fit the block (f16 and
    // bf16 stage x as 2-3 terms of 16 bits: up to ~1K columns), else the CUDA-core body.
    bool mma = false;
    if constexpr (has_mma_tile<F>()) {
        using M = MmaTile<F>;
        const int64_t x_bytes = mma_x_bytes<F>(p.cols, 1);
        const int chunks = a.cols / M::chunk_cols;
        const int64_t ring = int64_t(k_mma_warps) * mma_warp_bytes<F, k_mma_stages>();
        if (x_bytes + ring + mma_slots(chunks, k_mma_warps) * 256 <= smem_budget) {
            mma = true;
            plan.mma = true;
            a.x_bytes = static_cast<int>(x_bytes);
            a.chunks = chunks;
            a.n_oct = (a.rows + 7) / 8;
            a.round_tiles = mma_round_tiles(a.chunks, k_mma_warps, smem_budget - a.x_bytes - ring);
            plan.smem = static_cast<int>(a.x_bytes + ring + a.round_tiles * mma_slots(a.chunks, k_mma_warps) * 256);
        }
    }
    if (!mma) {
        using T = Tile<F>;
        const int64_t x_bytes = p.cols * int64_t(sizeof(float));
        a.x_smem = x_bytes <= k_x_smem_max && ring_bytes<F>() + x_bytes <= smem_budget ? 1 : 0;
        a.chunks = (a.steps + T::chunk_steps - 1) / T::chunk_steps;
        a.n_pairs = dual ? a.rows : (a.rows + 1) / 2;
        a.ksplit = choose_ksplit(a.n_pairs, a.chunks, n_blocks);
        a.n_groups = (a.n_pairs * a.ksplit + k_warps - 1) / k_warps;
        plan.smem = ring_bytes<F>() + (a.x_smem ? static_cast<int>(x_bytes) : 0);
        GDN_CHECK(plan.smem <= smem_budget, what, ": the CUDA-core GEMV ring does not fit the persistent block");
    }
    return plan;
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

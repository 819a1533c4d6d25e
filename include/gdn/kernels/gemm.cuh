// gdn/kernels/gemm.cuh - y[n_tok, rows] = [resid +] W[rows, cols] rmsnorm?(x)[n_tok, cols] for many
// tokens (chunked prefill, batched decode): the many-rows counterpart of gemv.cuh, with the same
// fusions (RMSNorm of x in the prologue, residual add in the epilogue with y == resid allowed,
// gate/up pair h = silu(Wg x) * (Wu x) in one pass) and every GGUF weight format.
//
// Shape of the work (one launch):
//   block  = 16 warps (512 threads) computing a 128-row x 128-token tile of y (gate/up: 64 rows
//            of Wg and the same 64 rows of Wu, so one thread holds both products of an output);
//            warps are 2 (rows) x 8 (tokens), each owning 64 rows x 16 tokens = 4 x 2 MMA tiles
//            of mma.sync m16n8k8 TF32 with float32 accumulation. 1 block per SM (128 registers,
//            144..168 KB of shared memory).
//   grid   = ceil(rows / 128) * ceil(n_tok / 128) blocks (gate/up: 64 rows), rasterised in groups
//            of 16 row tiles so the x tiles and weight tiles in flight stay in L2.
//   k-step = 32 columns: the raw GGUF bytes of the weight rows are copied with 16-byte cp.async
//            in chunks of 32..256 columns (any byte offset the layout gives), 256 threads then
//            dequantise 16 columns of one row each into a float tile in shared memory (times
//            norm_w when set, rounded to TF32) that all 8 token warps share; x comes in float32
//            tiles of 128 tokens x 32 columns through a 4-stage cp.async ring (3 k-steps in
//            flight). One __syncthreads per k-step.
//   bytes  = rows * row_bytes (both matrices for gate/up) read ceil(n_tok / 128) times (mostly
//            from L2), n_tok * cols * 4 of x read ceil(rows / 128) times (ditto), plus resid and
//            y (n_tok * rows * 4 each).
// RMSNorm needs no workspace: norm_w is folded into the weight tile and each warp sums x^2 of
// its tokens from the very fragments it feeds the MMA, so rsqrt(mean(x^2) + eps) scales the
// accumulators in the epilogue.
//
// Accuracy: weights (times norm_w) and x are rounded to TF32 (10-bit mantissa, round to
// nearest), products accumulated in float32: |error| <= ~2^-10 * sum_k |w_k x_k| per output
// (measured at most 3.7e-4 of that sum over every format and shape of tests/gpu/gemm_test.cu).
//
// Speed (bench/kernels_gemm.cu, H200, T = 4096, 9B shapes): 82..95 TFLOP/s for every format,
// 27..30% of the 307..321 TFLOP/s that back-to-back TF32 mma.sync reaches on that card; Nsight
// Compute (bf16 gate/up): shared-memory/L1 pipe 66% busy, issue slots 48%, ALU 35% - no single
// unit saturated, the dequantise + ldmatrix + cvt stream around each MMA is what costs.
//
// Requirements (checked by the launchers): cols a positive multiple of the format's block
// (1 for f32/f16/bf16, 32 for q8_0/q4_0, 256 for q4_k/q6_k), rows >= 1, n_tok >= 1, W (and
// W_up) 16-byte aligned, x, y, resid, norm_w 16-byte aligned, x not overlapping y, resid equal
// to y or disjoint from it. The first and last 16-byte granule of a row's chunk may be read past
// the chunk's bytes (never past the aligned granule that holds the row's last byte).
//
// launch_matmul / launch_matmul_gate_up route n_tok <= 8 to the GEMV of gemv.cuh (same
// semantics), larger n_tok here.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/kernels/ptx.cuh"
#include "gdn/quant/blocks.hpp"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels {

/// Arguments of one GEMM. Activations are float32 row-major and dense.
struct GemmParams {
    const std::byte* w = nullptr;    ///< [rows][row_bytes] GGUF bytes (gate matrix for gate/up)
    const std::byte* w_up = nullptr; ///< gate/up only: the up matrix, same type and shape
    DType type = DType::f32;
    int64_t rows = 0;                ///< outputs
    int64_t cols = 0;                ///< inputs (multiple of the format's block)
    const float* x = nullptr;        ///< [n_tok, cols]
    float* y = nullptr;              ///< [n_tok, rows]
    const float* resid = nullptr;    ///< [n_tok, rows] or null: y = resid + W x (may equal y)
    const float* norm_w = nullptr;   ///< [cols] or null: each x row <- x*rsqrt(mean(x^2)+eps)*norm_w
    float norm_eps = 1e-6f;
    int n_tok = 1;                   ///< any >= 1
};

/// GemmParams for the matrix `w` (rows = outputs, cols = inputs), the rest left default.
inline GemmParams gemm_params(const TensorView& w) {
    GemmParams p;
    p.w = w.data;
    p.type = w.type;
    p.rows = w.rows();
    p.cols = w.cols();
    return p;
}

namespace gemm_detail {

constexpr int k_tile_m = 128;  // weight rows per block (gate/up: 64 + 64)
constexpr int k_tile_n = 128;  // tokens per block
constexpr int k_tile_k = 32;   // columns per k-step
// Warps: measured on H200 (bench/kernels_gemm.cu), 2 x 8 warps and 2 x 4 warps (256 threads,
// 64 x 32 warp tiles) give the same 84..93 TFLOP/s at T = 4096; 2 x 8 is 10..20% faster at
// T = 16..64 (more warps on the sub-partitions when few token slices are busy).
constexpr int k_warps_m = 2;   // warps along rows: 64 rows (4 m16 tiles) each
constexpr int k_warps_n = 8;   // warps along tokens
constexpr int k_threads = 32 * k_warps_m * k_warps_n;
constexpr int k_warp_n = k_tile_n / k_warps_n;  // tokens per warp
constexpr int k_nt = k_warp_n / 8;              // n8 tiles per warp
constexpr int k_dequant_threads = k_tile_m * k_tile_k / 16;  // 16 columns each
constexpr int k_stages = 4;    // x tiles (cp.async groups) in the ring: 3 k-steps in flight
constexpr int k_ld = k_tile_k + 4;  // float stride of a tile row: ldmatrix rows 16 B apart in banks
constexpr int k_group = 16;    // row tiles per rasterisation group
constexpr int k_gemv_max_tok = 8;  // launch_matmul: at most this many tokens go to the GEMV

// ---- shared-memory loads of raw GGUF bytes (rows sit at any 2-byte offset) ----------------

GDN_DEVICE GDN_FORCEINLINE uint32_t lds_u16(const uint8_t* p) {
    return *reinterpret_cast<const uint16_t*>(p);
}
// N 32-bit words from a 2-aligned shared address.
template <int N>
GDN_DEVICE GDN_FORCEINLINE void lds_words(const uint8_t* p, uint32_t (&w)[N]) {
    static_assert(N % 4 == 0, "whole 16-byte words");
    const auto a = reinterpret_cast<uintptr_t>(p);
    if ((a & 15) == 0) {
#pragma unroll
        for (int i = 0; i < N / 4; ++i) {
            const uint4 v = reinterpret_cast<const uint4*>(p)[i];
            w[4 * i] = v.x; w[4 * i + 1] = v.y; w[4 * i + 2] = v.z; w[4 * i + 3] = v.w;
        }
    } else if ((a & 3) == 0) {
#pragma unroll
        for (int i = 0; i < N; ++i) w[i] = reinterpret_cast<const uint32_t*>(p)[i];
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) w[i] = lds_u16(p + 4 * i) | (lds_u16(p + 4 * i + 2) << 16);
    }
}
GDN_DEVICE GDN_FORCEINLINE float half_bits(uint32_t h) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}
// Per-format dequantisation of 16 columns of one row. A raw chunk holds chunk_cols columns
// (chunk_bytes) of the row; `src` is the chunk's first byte in shared memory, `kc` the first of
// the 16 columns within the chunk (a multiple of 16). Layouts: gdn/quant/blocks.hpp.
template <class F>
struct Dequant;

template <>
struct Dequant<gdn::f32> {
    static constexpr int chunk_cols = 32;
    static constexpr int chunk_bytes = 128;
    GDN_DEVICE static void run(const uint8_t* src, int kc, float (&v)[16]) {
        const uint8_t* p = src + 4 * kc;  // 4-aligned
        if ((reinterpret_cast<uintptr_t>(p) & 15) == 0) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float4 f = reinterpret_cast<const float4*>(p)[i];
                v[4 * i] = f.x; v[4 * i + 1] = f.y; v[4 * i + 2] = f.z; v[4 * i + 3] = f.w;
            }
        } else {
#pragma unroll
            for (int i = 0; i < 16; ++i) v[i] = reinterpret_cast<const float*>(p)[i];
        }
    }
};

template <>
struct Dequant<gdn::f16> {
    static constexpr int chunk_cols = 64;
    static constexpr int chunk_bytes = 128;
    GDN_DEVICE static void run(const uint8_t* src, int kc, float (&v)[16]) {
        uint32_t w[8];
        lds_words(src + 2 * kc, w);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            v[2 * i] = half_bits(w[i] & 0xffffu);
            v[2 * i + 1] = half_bits(w[i] >> 16);
        }
    }
};

template <>
struct Dequant<gdn::bf16> {
    static constexpr int chunk_cols = 64;
    static constexpr int chunk_bytes = 128;
    GDN_DEVICE static void run(const uint8_t* src, int kc, float (&v)[16]) {
        uint32_t w[8];
        lds_words(src + 2 * kc, w);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            v[2 * i] = __uint_as_float(w[i] << 16);
            v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    }
};

// Block formats (gdn/quant/formats/): the format's decoder, two 8-column runs. A chunk is one
// super-block (256 columns), or blocks of 32 up to 256 columns where that stays within ~200
// bytes (q8_0: 128 columns, 136 bytes).
template <class F>
struct Dequant {
    static_assert(F::block_elems >= 32, "plain formats have their own Dequant above");
    static constexpr int chunk_cols = F::block_elems >= 256 ? F::block_elems : (8 * F::block_bytes <= 200 ? 256 : 128);
    static constexpr int chunk_bytes = chunk_cols / F::block_elems * F::block_bytes;
    GDN_DEVICE static void run(const uint8_t* src, int kc, float (&v)[16]) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int col = kc + 8 * h;
            float q[8], scale, min;
            F::decode8(src + (col / F::unit_elems) * F::unit_bytes, (col % F::unit_elems) / 8, q, scale, min);
#pragma unroll
            for (int j = 0; j < 8; ++j) v[8 * h + j] = fmaf(scale, q[j], -min);
        }
    }
};

template <class F>
constexpr int chunk_steps() { return Dequant<F>::chunk_cols / k_tile_k; }
// Raw chunks in the ring: with 4 x stages, k-steps ks+1..ks+3 are live at once.
template <class F>
constexpr int raw_slots() { return chunk_steps<F>() == 1 ? 3 : 2; }
// Bytes of one row's chunk in the ring: the 16-byte granules covering chunk_bytes at any offset.
template <class F>
constexpr int raw_stride() { return (Dequant<F>::chunk_bytes + 15 + 15) / 16 * 16; }

constexpr int x_ring_bytes() { return k_stages * k_tile_n * k_ld * 4; }
constexpr int w_tile_bytes() { return 2 * k_tile_m * k_ld * 4; }
template <class F>
constexpr int smem_bytes() {
    return x_ring_bytes() + w_tile_bytes() + raw_slots<F>() * k_tile_m * raw_stride<F>();
}


/// Launch-time shape of the work (see the header comment).
struct GemmArgs {
    const uint8_t* w;
    const uint8_t* w_up;  // gate/up only
    int64_t row_bytes;
    int rows;
    int cols;
    int n_tok;
    const float* x;
    float* y;
    const float* resid;
    const float* norm_w;
    float norm_eps;
    int k_steps;    // ceil(cols / 32)
    int row_tiles;  // ceil(rows / 128) (gate/up: / 64)
    int tok_tiles;  // ceil(n_tok / 128)
    int x_vec;      // cols % 4 == 0: x copied in 16-byte granules, else in 4-byte words
};

template <class F, bool Dual>
__global__ void __launch_bounds__(k_threads, 1) gemm_kernel(const GemmArgs a) {
    using D = Dequant<F>;
    constexpr int R = chunk_steps<F>();
    constexpr int slots = raw_slots<F>();
    constexpr int stride = raw_stride<F>();
    constexpr int granules = stride / 16;
    constexpr int out_rows = Dual ? k_tile_m / 2 : k_tile_m;  // y rows per block
    static_assert(k_stages == 4, "raw_slots assumes k-steps ks+1..ks+3 live");
    static_assert(D::chunk_cols % k_tile_k == 0, "a raw chunk is whole k-steps");

    extern __shared__ __align__(16) uint8_t smem[];
    float* xs = reinterpret_cast<float*>(smem);                                 // [k_stages][128 tok][k_ld]
    float* ws = reinterpret_cast<float*>(smem + x_ring_bytes());                // [2][128 rows][k_ld]
    uint8_t* raw = smem + x_ring_bytes() + w_tile_bytes();                      // [slots][128 rows][stride]

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    // Warp w sits on SM sub-partition w % 4: row-neighbours alternate so that the warps of the
    // first token slices (all a small n_tok has) spread over the four sub-partitions.
    const int wm = warp % k_warps_m, wn = warp / k_warps_m;
    static_assert(k_nt % 2 == 0 && k_dequant_threads % 32 == 0 && k_dequant_threads <= k_threads, "tile shape");

    // Grouped rasterisation: consecutive blocks take consecutive row tiles of one token tile.
    const int per_group = k_group * a.tok_tiles;
    const int group = static_cast<int>(blockIdx.x) / per_group;
    const int first = group * k_group;
    const int group_rows = min(k_group, a.row_tiles - first);
    const int in_group = static_cast<int>(blockIdx.x) - group * per_group;
    const int r0 = (first + in_group % group_rows) * out_rows;
    const int n0 = (in_group / group_rows) * k_tile_n;

    // Tile row i -> first byte of its weight row (clamped into the matrix). Gate/up: in each
    // 64-row warp slice, rows 0..31 are Wg and 32..63 Wu of the same 32 output rows.
    auto row_ptr = [&](int i) -> uintptr_t {
        const uint8_t* base = a.w;
        int r = r0 + i;
        if constexpr (Dual) {
            const int j = i & 63;
            base = (j >> 5) ? a.w_up : a.w;
            r = r0 + (i >> 6) * 32 + (j & 31);
        }
        r = min(r, a.rows - 1);
        return reinterpret_cast<uintptr_t>(base) + static_cast<int64_t>(r) * a.row_bytes;
    };

    auto issue = [&](int s) {
        if (s < a.k_steps) {
            if (s % R == 0) {  // raw chunk s / R of all 128 rows
                const int c = s / R;
                uint8_t* dst = raw + (c % slots) * (k_tile_m * stride);
                const int64_t off = static_cast<int64_t>(c) * D::chunk_bytes;
                const int64_t left = a.row_bytes - off;
                const int nbytes = left < D::chunk_bytes ? static_cast<int>(left) : D::chunk_bytes;
#pragma unroll
                for (int j = 0; j < (k_tile_m * granules + k_threads - 1) / k_threads; ++j) {
                    const int idx = tid + j * k_threads;
                    const int i = idx / granules, g = idx - i * granules;
                    if (i < k_tile_m) {
                        const uintptr_t begin = row_ptr(i) + off;
                        const uintptr_t a0 = begin & ~uintptr_t(15);
                        const int words = static_cast<int>((begin - a0) + nbytes + 15) >> 4;
                        if (g < words) cp_async16(dst + i * stride + 16 * g, reinterpret_cast<const void*>(a0 + 16 * g));
                    }
                }
            }
            float* dst = xs + (s % k_stages) * (k_tile_n * k_ld);
            const int c0 = s * k_tile_k;
            if (a.x_vec) {  // 8 threads per token row of 128 bytes
                const int kk = (tid & 7) * 4, col = c0 + kk;
#pragma unroll
                for (int j = 0; j < k_tile_n * 8 / k_threads; ++j) {
                    const int n = (tid >> 3) + j * (k_threads / 8), tok = n0 + n;
                    const bool ok = tok < a.n_tok && col < a.cols;
                    const float* src = ok ? a.x + static_cast<int64_t>(tok) * a.cols + col : a.x;
                    cp_async16_zfill(dst + n * k_ld + kk, src, ok ? 16 : 0);
                }
            } else {
                for (int e = tid; e < k_tile_n * k_tile_k; e += k_threads) {
                    const int n = e / k_tile_k, kk = e % k_tile_k, tok = n0 + n, col = c0 + kk;
                    const bool ok = tok < a.n_tok && col < a.cols;
                    const float* src = ok ? a.x + static_cast<int64_t>(tok) * a.cols + col : a.x;
                    cp_async4_zfill(dst + n * k_ld + kk, src, ok ? 4 : 0);
                }
            }
        }
        cp_async_commit();
    };

    // This thread dequantises columns 16h..16h+15 of tile row i at every k-step.
    const int my_i = (tid >> 1) % k_tile_m, my_h = tid & 1;  // threads >= k_dequant_threads: no share
    const uintptr_t my_row = row_ptr(my_i);
    auto dequant = [&](int s) {
        const int c = s / R;
        const int kc = (s - c * R) * k_tile_k + 16 * my_h;
        const uintptr_t begin = my_row + static_cast<int64_t>(c) * D::chunk_bytes;
        const uint8_t* src = raw + (c % slots) * (k_tile_m * stride) + my_i * stride + (begin & 15);
        float v[16];
        D::run(src, kc, v);
        const int col0 = s * k_tile_k + 16 * my_h;
        // past the last column: bytes of the next row, or stale or never written ring bytes
        // (which may decode to inf / nan, and x there is 0)
#pragma unroll
        for (int j = 0; j < 16; ++j) v[j] = col0 + j < a.cols ? v[j] : 0.f;
        if (a.norm_w != nullptr) {
            if (col0 + 16 <= a.cols) {
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    const float4 nw = __ldg(reinterpret_cast<const float4*>(a.norm_w + col0) + q);
                    v[4 * q] *= nw.x; v[4 * q + 1] *= nw.y; v[4 * q + 2] *= nw.z; v[4 * q + 3] *= nw.w;
                }
            } else {
#pragma unroll
                for (int j = 0; j < 16; ++j) v[j] *= col0 + j < a.cols ? __ldg(a.norm_w + col0 + j) : 0.f;
            }
        }
        float4* dst = reinterpret_cast<float4*>(ws + (s & 1) * (k_tile_m * k_ld) + my_i * k_ld + 16 * my_h);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            dst[q] = make_float4(__uint_as_float(to_tf32(v[4 * q])), __uint_as_float(to_tf32(v[4 * q + 1])),
                                 __uint_as_float(to_tf32(v[4 * q + 2])), __uint_as_float(to_tf32(v[4 * q + 3])));
        }
    };

    float acc[4][k_nt][4];  // [m tile][n tile][c0..c3]
#pragma unroll
    for (int mt = 0; mt < 4; ++mt)
#pragma unroll
        for (int nt = 0; nt < k_nt; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.f;
    float ss[k_nt];  // sum of x^2 of token nt*8 + lane/4 over this lane's columns
#pragma unroll
    for (int nt = 0; nt < k_nt; ++nt) ss[nt] = 0.f;
    const bool active = n0 + wn * k_warp_n < a.n_tok;  // warp has tokens to compute

    // ldmatrix row addresses: A rows wm*64 + (lane & 15), word (lane / 16) * 4; B tokens
    // wn*k_warp_n + (lane & 7) + (lane / 16) * 8, word ((lane / 8) & 1) * 4.
    const uint32_t a_off = static_cast<uint32_t>(((wm * 64 + (lane & 15)) * k_ld + (lane >> 4) * 4) * 4);
    const uint32_t b_off =
        static_cast<uint32_t>(((wn * k_warp_n + (lane & 7) + (lane >> 4) * 8) * k_ld + ((lane >> 3) & 1) * 4) * 4);
    const uint32_t ws_base = smem_addr(ws), xs_base = smem_addr(xs);

#pragma unroll
    for (int s = 0; s < k_stages - 1; ++s) issue(s);
    cp_async_wait<k_stages - 2>();
    __syncthreads();
    if (tid < k_dequant_threads) dequant(0);

    for (int ks = 0; ks < a.k_steps; ++ks) {
        cp_async_wait<k_stages - 3>();  // k-step ks+1 has landed (this thread's copies)
        __syncthreads();                // ... everyone's; mma(ks-1) and dequant(ks) are done
        issue(ks + k_stages - 1);
        const uint32_t wa = ws_base + (ks & 1) * (k_tile_m * k_ld * 4) + a_off;
        const uint32_t xa = xs_base + (ks % k_stages) * (k_tile_n * k_ld * 4) + b_off;
        // The next tile is dequantised after the first 8 columns' MMAs are issued, so the
        // tensor cores have work while the warp decodes.
#pragma unroll
        for (int kk = 0; kk < k_tile_k / 8; ++kk) {
            if (kk == 1 && ks + 1 < a.k_steps && tid < k_dequant_threads) dequant(ks + 1);
            if (!active) continue;
            uint32_t af[4][4], bf[k_nt / 2][4];
#pragma unroll
            for (int mt = 0; mt < 4; ++mt) ldmatrix_x4(wa + (mt * 16 * k_ld + kk * 8) * 4, af[mt]);
#pragma unroll
            for (int p = 0; p < k_nt / 2; ++p) {
                ldmatrix_x4(xa + (p * 16 * k_ld + kk * 8) * 4, bf[p]);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float f = __uint_as_float(bf[p][e]);
                    ss[2 * p + (e >> 1)] = fmaf(f, f, ss[2 * p + (e >> 1)]);
                    bf[p][e] = to_tf32(f);
                }
            }
#pragma unroll
            for (int mt = 0; mt < 4; ++mt)
#pragma unroll
                for (int nt = 0; nt < k_nt; ++nt) mma_tf32(acc[mt][nt], af[mt], bf[nt >> 1][2 * (nt & 1)], bf[nt >> 1][2 * (nt & 1) + 1]);
        }
    }
    cp_async_wait<0>();
    if (!active) return;

    // Epilogue. Lane (g, t) = (lane / 4, lane % 4) holds rows g and g + 8 of each m tile for
    // tokens 2t and 2t + 1 of each n tile.
    const int g = lane >> 2, t = lane & 3;
    float sc[k_nt][2];
#pragma unroll
    for (int nt = 0; nt < k_nt; ++nt) {
        float v = ss[nt];
        v += __shfl_xor_sync(0xffffffffu, v, 1);
        v += __shfl_xor_sync(0xffffffffu, v, 2);
        const float va = __shfl_sync(0xffffffffu, v, 8 * t), vb = __shfl_sync(0xffffffffu, v, 8 * t + 4);
        const float inv_n = 1.f / static_cast<float>(a.cols);
        sc[nt][0] = a.norm_w != nullptr ? rsqrtf(va * inv_n + a.norm_eps) : 1.f;
        sc[nt][1] = a.norm_w != nullptr ? rsqrtf(vb * inv_n + a.norm_eps) : 1.f;
    }
    constexpr int out_mt = Dual ? 2 : 4;
#pragma unroll
    for (int mt = 0; mt < out_mt; ++mt) {
#pragma unroll
        for (int nt = 0; nt < k_nt; ++nt) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = r0 + (Dual ? wm * 32 : wm * 64) + mt * 16 + g + (e >> 1) * 8;
                const int tok = n0 + wn * k_warp_n + nt * 8 + 2 * t + (e & 1);
                if (row < a.rows && tok < a.n_tok) {
                    const int64_t o = static_cast<int64_t>(tok) * a.rows + row;
                    const float s = sc[nt][e & 1];
                    if constexpr (Dual) {
                        const float gv = acc[mt][nt][e] * s, uv = acc[mt + 2][nt][e] * s;
                        a.y[o] = gv / (1.f + expf(-gv)) * uv;
                    } else {
                        const float v = acc[mt][nt][e] * s;
                        a.y[o] = a.resid != nullptr ? a.resid[o] + v : v;
                    }
                }
            }
        }
    }
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

inline bool overlaps(const void* a, int64_t na, const void* b, int64_t nb) {
    const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
    return pa < pb + static_cast<uint64_t>(nb) && pb < pa + static_cast<uint64_t>(na);
}

inline void check_params(const GemmParams& p, bool dual, const char* what) {
    GDN_CHECK(dtype_supported(static_cast<uint32_t>(p.type)), what, ": unsupported weight type id ",
              static_cast<uint32_t>(p.type));
    GDN_CHECK(p.w != nullptr, what, ": weight pointer is null");
    GDN_CHECK(dual == (p.w_up != nullptr), what, dual ? ": w_up (up matrix) is null"
                                                      : ": w_up is set; use the gate/up launcher");
    GDN_CHECK(!(dual && p.resid != nullptr), what, ": gate/up has no residual epilogue");
    GDN_CHECK(p.rows > 0 && p.rows < (int64_t(1) << 31), what, ": rows = ", p.rows, " out of range");
    const int64_t be = dtype_traits(p.type).block_elems;
    GDN_CHECK(p.cols > 0 && p.cols % be == 0 && p.cols < (int64_t(1) << 28), what, ": cols = ", p.cols,
              " is not a positive multiple of the ", dtype_name(p.type), " block size ", be);
    GDN_CHECK(p.n_tok >= 1 && p.n_tok < (int64_t(1) << 24), what, ": n_tok = ", p.n_tok, " not in 1..2^24");
    GDN_CHECK(p.x != nullptr && p.y != nullptr, what, ": x or y is null");
    GDN_CHECK(aligned16(p.w) && (!dual || aligned16(p.w_up)), what, ": weights must be 16-byte aligned");
    GDN_CHECK(aligned16(p.x) && aligned16(p.y) && (p.norm_w == nullptr || aligned16(p.norm_w)) &&
                  (p.resid == nullptr || aligned16(p.resid)),
              what, ": x, y, resid and norm_w must be 16-byte aligned");
    const int64_t y_bytes = p.n_tok * p.rows * 4, x_bytes = p.n_tok * p.cols * 4;
    GDN_CHECK(p.resid == nullptr || p.resid == p.y || !overlaps(p.resid, y_bytes, p.y, y_bytes), what,
              ": resid partially overlaps y (it must equal y or be disjoint)");
    GDN_CHECK(!overlaps(p.x, x_bytes, p.y, y_bytes), what, ": x overlaps y");
    GDN_CHECK(p.norm_eps > 0.f || p.norm_w == nullptr, what, ": norm_eps must be positive");
    const int64_t out_rows = dual ? k_tile_m / 2 : k_tile_m;
    const int64_t tiles = (p.rows + out_rows - 1) / out_rows * ((p.n_tok + k_tile_n - 1) / k_tile_n);
    GDN_CHECK(tiles < (int64_t(1) << 31), what, ": ", tiles, " tiles exceed the grid");
}

template <class F, bool Dual>
void launch(const GemmParams& p, cudaStream_t stream) {
    const char* what = Dual ? "launch_gemm_gate_up" : "launch_gemm";
    auto kernel = gemm_kernel<F, Dual>;
    constexpr int smem = smem_bytes<F>();
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    GemmArgs a{};
    a.w = reinterpret_cast<const uint8_t*>(p.w);
    a.w_up = reinterpret_cast<const uint8_t*>(p.w_up);
    a.row_bytes = dtype_row_bytes(p.type, p.cols);
    a.rows = static_cast<int>(p.rows);
    a.cols = static_cast<int>(p.cols);
    a.n_tok = p.n_tok;
    a.x = p.x;
    a.y = p.y;
    a.resid = p.resid;
    a.norm_w = p.norm_w;
    a.norm_eps = p.norm_eps;
    a.k_steps = (a.cols + k_tile_k - 1) / k_tile_k;
    const int out_rows = Dual ? k_tile_m / 2 : k_tile_m;
    a.row_tiles = (a.rows + out_rows - 1) / out_rows;
    a.tok_tiles = (a.n_tok + k_tile_n - 1) / k_tile_n;
    a.x_vec = a.cols % 4 == 0 ? 1 : 0;
    const int grid = a.row_tiles * a.tok_tiles;
    kernel<<<grid, k_threads, smem, stream>>>(a);
    GDN_CHECK_LAUNCH(what);
}

inline void launch_any(const GemmParams& p, bool dual, cudaStream_t stream) {
    check_params(p, dual, dual ? "launch_gemm_gate_up" : "launch_gemm");
    dispatch_format(p.type, [&](auto tag) {
        if (dual) {
            launch<decltype(tag), true>(p, stream);
        } else {
            launch<decltype(tag), false>(p, stream);
        }
    });
}

inline GemvParams as_gemv(const GemmParams& p) {
    GemvParams q;
    q.w = p.w;
    q.w_up = p.w_up;
    q.type = p.type;
    q.rows = p.rows;
    q.cols = p.cols;
    q.x = p.x;
    q.y = p.y;
    q.resid = p.resid;
    q.norm_w = p.norm_w;
    q.norm_eps = p.norm_eps;
    q.n_seq = p.n_tok;
    return q;
}

// The GEMV takes n_tok <= 8, and off the 256-column grid only what its generic kernel stages.
inline bool gemv_takes(const GemmParams& p) {
    return p.n_tok >= 1 && p.n_tok <= k_gemv_max_tok &&
           (p.cols % 256 == 0 || p.n_tok * p.cols <= gemv_generic_detail::k_max_x_floats);
}

}  // namespace gemm_detail

/// y = W rmsnorm?(x) (+ resid) for n_tok token rows; RMSNorm of x first when p.norm_w is set.
inline void launch_gemm(const GemmParams& p, cudaStream_t stream) {
    gemm_detail::launch_any(p, false, stream);
}

/// y = silu(Wg x') * (Wu x'), Wg = p.w, Wu = p.w_up, x' = rmsnorm?(x).
inline void launch_gemm_gate_up(const GemmParams& p, cudaStream_t stream) {
    gemm_detail::launch_any(p, true, stream);
}

/// launch_gemm, through the GEMV (launch_gemv with n_seq = n_tok) when n_tok <= 8.
inline void launch_matmul(const GemmParams& p, cudaStream_t stream) {
    if (gemm_detail::gemv_takes(p)) {
        launch_gemv(gemm_detail::as_gemv(p), stream);
    } else {
        launch_gemm(p, stream);
    }
}

/// launch_gemm_gate_up, through the GEMV (launch_gemv_gate_up) when n_tok <= 8.
inline void launch_matmul_gate_up(const GemmParams& p, cudaStream_t stream) {
    if (gemm_detail::gemv_takes(p)) {
        launch_gemv_gate_up(gemm_detail::as_gemv(p), stream);
    } else {
        launch_gemm_gate_up(p, stream);
    }
}

}  // namespace gdn::kernels

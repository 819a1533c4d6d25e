// gdn/kernels/attention_prefill.cuh - causal prefill of one gated full-attention layer
// (MODEL.md "Gated attention") for T consecutive tokens of ONE sequence at positions
// pos0 .. pos0+T-1, on top of a KV cache that already holds positions 0 .. pos0-1.
// It leaves the cache byte-identical to T calls of launch_attention_decode (same RMSNorm,
// NeoX partial RoPE, optional WHT and KV row quantiser, in the same float operations) and
// gives the same outputs: softmax(q K^T / sqrt(hd)) V * sigmoid(gate), with K/V read back
// from the cache in its format, so quantised-KV prefill matches quantised decode.
//
// Two launches, three when the keys are split (kAttnPrefillMaxLaunches):
//  1. attention_prefill_prep_kernel   grid (T, Hkv), block 256 (thread t = head dim t).
//     Per (token, KV head): RMSNorm + RoPE (+ WHT) of the G = H/Hkv query heads and of k,
//     exactly as the decode kernel's prologue; q * hd^-0.5 * log2(e) goes to the workspace,
//     k and v are quantised into the cache row at pos0 + token.
//     Bytes: 4*(2*H + 2*Hkv)*hd*T in, 4*H*hd*T workspace out, 2*row_bytes*Hkv*T cache out.
//  2. attention_prefill_kernel        grid (Hkv, ceil(T / Tq), n_splits), block 256, 217 KB
//     of dynamic shared memory (one block per SM). A block owns the Tq = 64/G tokens of one
//     query tile and the G heads of one KV head: up to 64 query rows (G = 6: 10 tokens, 60
//     rows), and split s of its keys 0 .. pos0 + last token of the tile (split in chunks of
//     a multiple of 64 keys, computed on the device from pos0). It walks them in tiles of 64:
//     K and V rows are read
//     from the cache in its format and dequantised into shared memory (float32), scores are
//     a 64x64 register-tiled SIMT GEMM (4 rows x 4 keys per thread), causal mask per row,
//     online softmax in exp2 (as decode), O += P V (4 rows x 16 dims per thread), float32
//     throughout; the epilogue multiplies by sigmoid(gate), or, with n_splits > 1, writes the
//     split's (max, sum, unnormalised P V) per row to the workspace. Tiles are issued longest
//     first. n_splits = attention_prefill_splits(T, H, Hkv): 1 when the tiles alone give
//     kAttnPrefillTargetBlocks blocks, else enough splits to get there (at most 64), so a
//     short prompt after a long context (a chat turn) still fills the card.
//  3. attention_prefill_merge_kernel  (n_splits > 1 only) grid (T, H), block 256: merges the
//     splits of one (token, head) as the decode kernel merges its splits, times sigmoid(gate).
//     Bytes: each block reads (pos0 + its last token + 1) K and V rows of its KV head
//     (mostly L2 hits: one layer's cache is a few MB), 4*64*hd of q, and writes its outputs.
//     Work: 2 * H * hd * sum_t (pos0 + t + 1) FMA (q.k and p*v), rounded up to 64x64 tiles.
//
// A bad pos (pos0 < 0 or pos0 + T > max_ctx, read from device memory) writes no cache row
// and NaN outputs, like the decode kernel.
//
// Shapes (device memory, float32 unless said):
//   q_proj   token t: [H, 2, hd] at q_proj + t*q_stride (per head: query, then gate)
//   k, v     token t: [Hkv, hd] at k + t*k_stride, v + t*v_stride
//   q_norm, k_norm [hd]         plain multipliers (GGUF: the "+1" folded in)
//   pos      [1] int32          position of the first token
//   k_cache, v_cache [max_ctx, Hkv, hd] in the KV format (as attention_decode, one sequence)
//   out      [T, H, hd]         attention output times sigmoid(gate), the o_proj input
//   workspace attention_prefill_workspace_bytes(T, H, Hkv, hd) bytes, any content, 16-byte
//            aligned: [T, H, hd] float, the prepared queries, then the split partials
//            [n_splits, tiles, Hkv, 64 rows] x (hd + 2) floats. The size for T also serves
//            every smaller T, so one workspace sized for the largest chunk serves them all.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cuda_runtime.h>

#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/quant/wht.hpp"

namespace gdn::kernels {

struct AttentionPrefillParams {
    int n_tok = 0;                  ///< T >= 1
    const float* q_proj = nullptr;  // token t: [H, 2, hd] at q_proj + t*q_stride
    const float* k = nullptr;       // token t: [Hkv, hd] at k + t*k_stride
    const float* v = nullptr;       // token t: [Hkv, hd] at v + t*v_stride
    int64_t q_stride = 0, k_stride = 0, v_stride = 0;  ///< floats; 0 = dense
    const float* q_norm = nullptr;  // [hd]
    const float* k_norm = nullptr;  // [hd]
    const int32_t* pos = nullptr;   // [1] device: position of the first token
    void* k_cache = nullptr;        // [max_ctx, Hkv, hd] KV format (one sequence)
    void* v_cache = nullptr;        // [max_ctx, Hkv, hd] KV format
    float* out = nullptr;           // [T, H, hd] dense
    void* workspace = nullptr;      // attention_prefill_workspace_bytes(...) bytes
    int n_head = 0, n_head_kv = 0, head_dim = kAttnHeadDim, n_rot = 64, max_ctx = 0;
    float rope_theta = 1e7f, rms_eps = 1e-6f;
};

/// Launches of one launch_attention_prefill: prep and attention, plus the merge of the key
/// splits when attention_prefill_splits(...) > 1.
inline constexpr int kAttnPrefillMaxLaunches = 3;
inline constexpr int kAttnPrefillThreads = 256;
inline constexpr int kAttnPrefillRows = 64;  ///< query rows (token, head) per block
inline constexpr int kAttnPrefillKeys = 64;  ///< keys per K/V tile
/// One block per SM (217 KB of shared memory): two waves on an H100/H200 (132 SMs), as
/// kAttnTargetBlocks. Not tuned.
inline constexpr int kAttnPrefillTargetBlocks = 264;
inline constexpr int kAttnPrefillMaxSplits = 64;

/// Tokens per query tile of launch_attention_prefill for group size G = H / Hkv.
GDN_HOST_DEVICE constexpr int attention_prefill_tile_tokens(int group) {
    return group >= 1 && group <= kAttnPrefillRows ? kAttnPrefillRows / group : 1;
}

/// Query tiles (grid.y of the attention kernel) for n_tok tokens.
GDN_HOST_DEVICE constexpr int attention_prefill_tiles(int n_tok, int n_head, int n_head_kv) {
    const int tq = attention_prefill_tile_tokens(n_head_kv > 0 ? n_head / n_head_kv : 0);
    return (n_tok + tq - 1) / tq;
}

/// Key splits for `tiles` query tiles of n_head_kv heads: 1 when they give
/// kAttnPrefillTargetBlocks blocks alone.
GDN_HOST_DEVICE constexpr int attention_prefill_splits_for_tiles(int tiles, int n_head_kv) {
    const int base = tiles * n_head_kv;
    if (base <= 0 || base >= kAttnPrefillTargetBlocks) return 1;
    const int s = (kAttnPrefillTargetBlocks + base - 1) / base;
    return s < kAttnPrefillMaxSplits ? s : kAttnPrefillMaxSplits;
}

/// Key splits (grid.z of the attention kernel) of a prefill of n_tok tokens.
GDN_HOST_DEVICE constexpr int attention_prefill_splits(int n_tok, int n_head, int n_head_kv) {
    return attention_prefill_splits_for_tiles(attention_prefill_tiles(n_tok, n_head, n_head_kv),
                                              n_head_kv);
}

namespace attention_prefill_detail {

/// Partial rows [n_splits, tiles, Hkv, 64] of a split prefill (0 when unsplit).
GDN_HOST_DEVICE constexpr size_t partial_rows(int tiles, int n_head_kv) {
    const int s = attention_prefill_splits_for_tiles(tiles, n_head_kv);
    return s > 1 ? static_cast<size_t>(s) * tiles * n_head_kv * kAttnPrefillRows : 0;
}

constexpr size_t round_up(size_t b) { return (b + 255) / 256 * 256; }

}  // namespace attention_prefill_detail

/// Device bytes of launch_attention_prefill's workspace: the prepared queries [T, H, hd],
/// then room for the split partials of any prefill of at most n_tok tokens.
inline size_t attention_prefill_workspace_bytes(int n_tok, int n_head, int n_head_kv,
                                                int head_dim) {
    if (n_tok <= 0 || n_head <= 0 || n_head_kv <= 0 || head_dim <= 0) return 0;
    const size_t q = attention_prefill_detail::round_up(
        sizeof(float) * static_cast<size_t>(n_tok) * static_cast<size_t>(n_head) *
        static_cast<size_t>(head_dim));
    // Splits fall as tiles grow, so the largest partial block can come from fewer tiles.
    const int tiles = attention_prefill_tiles(n_tok, n_head, n_head_kv);
    size_t rows = 0;
    for (int t = 1; t <= tiles && t * n_head_kv < kAttnPrefillTargetBlocks; ++t) {
        const size_t r = attention_prefill_detail::partial_rows(t, n_head_kv);
        rows = r > rows ? r : rows;
    }
    return q + sizeof(float) * rows * static_cast<size_t>(head_dim + 2);
}

namespace attention_prefill_detail {

constexpr int kStride = kAttnHeadDim + 4;        // floats per shared q/K/V row (bank skew)
constexpr int kPStride = kAttnPrefillKeys + 4;   // floats per shared P^T row

/// Shared memory of attention_prefill_kernel: q [64][kStride], K [64][kStride],
/// V [64][kStride], P^T [64 keys][kPStride].
constexpr size_t kSmemBytes =
    sizeof(float) * (3 * static_cast<size_t>(kAttnPrefillRows) * kStride +
                     static_cast<size_t>(kAttnPrefillKeys) * kPStride);

GDN_HOST_DEVICE constexpr bool bad_pos(int pos0, int n_tok, int max_ctx) {
    return pos0 < 0 || pos0 > max_ctx - n_tok;
}

/// Dequantise cache rows [k0, k0 + 64) of one KV head into dst [64][kStride]; rows at or
/// past kend become zero (never read: the cache there may hold anything, NaN included).
/// Warp w takes rows w, w + 8, ...; a lane holds 8 dims of a row (attention_detail::load_v).
template <class Kv>
GDN_DEVICE GDN_FORCEINLINE void load_tile(const uint8_t* cache, int hkv, int kvh, int k0,
                                          int kend, float* dst, int warp, int lane) {
    constexpr int row_bytes = kv_row_bytes_v<Kv>;
#pragma unroll
    for (int i = 0; i < kAttnPrefillKeys / kAttnWarps; ++i) {
        const int r = warp + kAttnWarps * i;
        const int key = k0 + r;
        float v[8];
        if (key < kend) {
            attention_detail::load_v(
                Kv{}, cache + (static_cast<size_t>(key) * hkv + kvh) * row_bytes, lane, v);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) v[e] = 0.f;
        }
        float* row = dst + r * kStride;
        *reinterpret_cast<float4*>(row + attention_detail::v_dim<Kv>(lane, 0)) =
            make_float4(v[0], v[1], v[2], v[3]);
        *reinterpret_cast<float4*>(row + attention_detail::v_dim<Kv>(lane, 4)) =
            make_float4(v[4], v[5], v[6], v[7]);
    }
}

}  // namespace attention_prefill_detail

// The byte-identical cache rows need the same float operations as the decode kernel's
// prologue: this body follows attention_decode_kernel's "prologue" line for line (with
// owner = true), so a change there must be made here too (the test compares the bytes).
template <class Kv, KvRotation Rot, int G>
__global__ void __launch_bounds__(kAttnThreads)
    attention_prefill_prep_kernel(const AttentionPrefillParams p) {
    constexpr int hd = kAttnHeadDim;
    constexpr int R = G + 1;
    constexpr int row_bytes = kv_row_bytes_v<Kv>;
    __shared__ alignas(16) float sx[G + 2][hd];  // q of the group, then k, then v
    __shared__ float red[kAttnWarps][R];

    const int t = threadIdx.x;
    const int tok = blockIdx.x, kvh = blockIdx.y;
    const int nh = p.n_head, hkv = p.n_head_kv;
    const int pos0 = p.pos[0];
    if (attention_prefill_detail::bad_pos(pos0, p.n_tok, p.max_ctx)) return;
    const int pos = pos0 + tok;

    const float* qp = p.q_proj + static_cast<size_t>(tok) * p.q_stride;
    float x[R];
#pragma unroll
    for (int g = 0; g < G; ++g) x[g] = qp[static_cast<size_t>(kvh * G + g) * 2 * hd + t];
    x[G] = p.k[static_cast<size_t>(tok) * p.k_stride + static_cast<size_t>(kvh) * hd + t];
    attention_detail::qk_prologue<Rot, G>(x, sx, red, p.q_norm, p.k_norm, pos, p.n_rot, p.rope_theta, p.rms_eps);
    const float qscale = rsqrtf(static_cast<float>(hd)) * attention_detail::kLog2e;
    float* wq_out = static_cast<float*>(p.workspace) +
                    (static_cast<size_t>(tok) * nh + static_cast<size_t>(kvh) * G) * hd + t;
#pragma unroll
    for (int g = 0; g < G; ++g) wq_out[static_cast<size_t>(g) * hd] = x[g] * qscale;
    sx[G][t] = x[G];
    sx[G + 1][t] = p.v[static_cast<size_t>(tok) * p.v_stride + static_cast<size_t>(kvh) * hd + t];
    __syncthreads();
    const size_t off = (static_cast<size_t>(pos) * hkv + kvh) * row_bytes;
    attention_detail::store_row<Kv>(sx[G], static_cast<uint8_t*>(p.k_cache) + off, t);
    attention_detail::store_row<Kv>(sx[G + 1], static_cast<uint8_t*>(p.v_cache) + off, t);
}

/// Causal flash attention over the cache; see the file comment. G = H / Hkv.
/// part_acc [n_splits, tiles, Hkv, 64, hd] and part_ml [.., 64, 2]: used when gridDim.z > 1.
template <class Kv, int G>
__global__ void __launch_bounds__(kAttnPrefillThreads, 1)
    attention_prefill_kernel(const AttentionPrefillParams p, float* part_acc, float* part_ml) {
    namespace pd = attention_prefill_detail;
    constexpr int hd = kAttnHeadDim;
    constexpr int Tq = attention_prefill_tile_tokens(G);
    constexpr int rows = Tq * G;  // <= kAttnPrefillRows; the rest are idle rows
    constexpr int S = pd::kStride;
    static_assert(kAttnPrefillThreads == 256 && kAttnPrefillRows == 64 &&
                      kAttnPrefillKeys == 64 && hd == 256,
                  "attention_prefill_kernel: the thread tiling assumes 256 threads, 64 rows, "
                  "64 keys and head_dim 256");
    extern __shared__ float4 prefill_smem[];
    float* q_s = reinterpret_cast<float*>(prefill_smem);  // [64 rows][S]
    float* k_s = q_s + kAttnPrefillRows * S;               // [64 keys][S]
    float* v_s = k_s + kAttnPrefillKeys * S;               // [64 keys][S]
    float* p_s = v_s + kAttnPrefillKeys * S;               // [64 keys][kPStride]  P^T

    const int t = threadIdx.x;
    const int lane = t & 31, warp = t >> 5;
    const int tx = t & 15, ty = t >> 4;  // scores: rows 4ty.., keys tx + 16j; PV: dims 4tx + 64c
    const int kvh = blockIdx.x;
    const int tile = static_cast<int>(gridDim.y) - 1 - static_cast<int>(blockIdx.y);
    const int n_splits = static_cast<int>(gridDim.z), split = static_cast<int>(blockIdx.z);
    const int nh = p.n_head, hkv = p.n_head_kv;
    const int tok0 = tile * Tq;
    const int ntok = min(Tq, p.n_tok - tok0);
    const int pos0 = p.pos[0];

    if (pd::bad_pos(pos0, p.n_tok, p.max_ctx)) {
        if (n_splits > 1) return;  // the merge writes the NaNs
        for (int i = t; i < ntok * G * hd; i += kAttnPrefillThreads) {
            const int r = i / hd, d = i % hd;
            p.out[(static_cast<size_t>(tok0 + r / G) * nh + kvh * G + r % G) * hd + d] = NAN;
        }
        return;
    }
    const int kend = pos0 + tok0 + ntok;  // keys [0, kend) are visible to the tile
    // This block's keys [kb, ke): chunks of a multiple of 64 keys (possibly empty).
    int chunk = (kend + n_splits - 1) / n_splits;
    chunk = (chunk + kAttnPrefillKeys - 1) / kAttnPrefillKeys * kAttnPrefillKeys;
    const int kb = split * chunk;
    const int ke = min(kend, kb + chunk);

    // ---- the tile's queries: row r = (token r / G, head kvh*G + r % G), idle rows zero -----
    const float4* wq = static_cast<const float4*>(p.workspace);
    for (int i = t; i < kAttnPrefillRows * (hd / 4); i += kAttnPrefillThreads) {
        const int r = i / (hd / 4), c = i % (hd / 4);
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (r < rows && r / G < ntok) {
            v = wq[(static_cast<size_t>(tok0 + r / G) * nh + kvh * G + r % G) * (hd / 4) + c];
        }
        *reinterpret_cast<float4*>(q_s + r * S + 4 * c) = v;
    }

    int lim[4];  // keys [0, lim) visible to row 4ty+i; idle rows see the whole range
    bool live[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int r = 4 * ty + i;
        live[i] = r < rows && r / G < ntok;
        lim[i] = live[i] ? pos0 + tok0 + r / G + 1 : kend;
    }
    float m[4], l[4], o[4][16];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.f;
#pragma unroll
        for (int e = 0; e < 16; ++e) o[i][e] = 0.f;
    }

    const uint8_t* kc = static_cast<const uint8_t*>(p.k_cache);
    const uint8_t* vc = static_cast<const uint8_t*>(p.v_cache);
    for (int k0 = kb; k0 < ke; k0 += kAttnPrefillKeys) {
        __syncthreads();  // the previous tile's readers of k_s, v_s, p_s are done
        pd::load_tile<Kv>(kc, hkv, kvh, k0, ke, k_s, warp, lane);
        pd::load_tile<Kv>(vc, hkv, kvh, k0, ke, v_s, warp, lane);
        __syncthreads();

        // ---- scores s[i][j] = q(4ty+i) . k(k0 + tx + 16j), q pre-scaled (log2 units) -----
        float s[4][4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
            for (int j = 0; j < 4; ++j) s[i][j] = 0.f;
        }
#pragma unroll 4
        for (int d = 0; d < hd; d += 4) {
            float4 a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = *reinterpret_cast<const float4*>(q_s + (4 * ty + i) * S + d);
#pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = *reinterpret_cast<const float4*>(k_s + (tx + 16 * j) * S + d);
#pragma unroll
            for (int i = 0; i < 4; ++i) {
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    float acc = s[i][j];
                    acc = fmaf(a[i].x, b[j].x, acc);
                    acc = fmaf(a[i].y, b[j].y, acc);
                    acc = fmaf(a[i].z, b[j].z, acc);
                    acc = fmaf(a[i].w, b[j].w, acc);
                    s[i][j] = acc;
                }
            }
        }

        // ---- online softmax per row over the 16 lanes that share it ----------------------
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float mt = -INFINITY;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int key = k0 + tx + 16 * j;
                s[i][j] = key < lim[i] && key < ke ? s[i][j] : -INFINITY;
                mt = fmaxf(mt, s[i][j]);
            }
#pragma unroll
            for (int off = 8; off > 0; off >>= 1) {
                mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, off));
            }
            // Finite unless no key of the split so far is visible to the row (split 0
            // always sees key 0); then the reference 0 keeps alpha and p at exp2(-inf) = 0.
            const float mn = fmaxf(m[i], mt);
            const float ref = mn == -INFINITY ? 0.f : mn;
            const float alpha = exp2f(m[i] - ref);  // 0 on the first tile (m = -inf)
            float ls = 0.f;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                s[i][j] = exp2f(s[i][j] - ref);  // masked: exp2(-inf) = 0
                ls += s[i][j];
            }
#pragma unroll
            for (int off = 8; off > 0; off >>= 1) ls += __shfl_xor_sync(0xffffffffu, ls, off);
            l[i] = l[i] * alpha + ls;
            m[i] = mn;
#pragma unroll
            for (int e = 0; e < 16; ++e) o[i][e] *= alpha;
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            *reinterpret_cast<float4*>(p_s + (tx + 16 * j) * pd::kPStride + 4 * ty) =
                make_float4(s[0][j], s[1][j], s[2][j], s[3][j]);
        }
        __syncthreads();

        // ---- O(4ty+i, 4tx + 64c + e) += sum_j P(row, j) V(j, dim) -------------------------
#pragma unroll 4
        for (int j = 0; j < kAttnPrefillKeys; ++j) {
            const float4 pj = *reinterpret_cast<const float4*>(p_s + j * pd::kPStride + 4 * ty);
            const float pr[4] = {pj.x, pj.y, pj.z, pj.w};
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const float4 vv = *reinterpret_cast<const float4*>(v_s + j * S + 4 * tx + 64 * c);
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    o[i][4 * c + 0] = fmaf(pr[i], vv.x, o[i][4 * c + 0]);
                    o[i][4 * c + 1] = fmaf(pr[i], vv.y, o[i][4 * c + 1]);
                    o[i][4 * c + 2] = fmaf(pr[i], vv.z, o[i][4 * c + 2]);
                    o[i][4 * c + 3] = fmaf(pr[i], vv.w, o[i][4 * c + 3]);
                }
            }
        }
    }

    if (n_splits > 1) {  // ---- the split's partials, merged by attention_prefill_merge_kernel --
        const size_t base =
            ((static_cast<size_t>(split) * gridDim.y + tile) * hkv + kvh) * kAttnPrefillRows;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            if (!live[i]) continue;
            const size_t row = base + 4 * ty + i;
            float* dst = part_acc + row * hd;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                *reinterpret_cast<float4*>(dst + 4 * tx + 64 * c) =
                    make_float4(o[i][4 * c], o[i][4 * c + 1], o[i][4 * c + 2], o[i][4 * c + 3]);
            }
            if (tx == 0) {
                part_ml[2 * row] = m[i];
                part_ml[2 * row + 1] = l[i];
            }
        }
        return;
    }

    // ---- epilogue: o / l * sigmoid(gate), as the decode kernel's merge ------------------------
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        if (!live[i]) continue;
        const int r = 4 * ty + i;
        const int tok = tok0 + r / G, h = kvh * G + r % G;
        const float inv = 1.f / l[i];
        const float* gate = p.q_proj + static_cast<size_t>(tok) * p.q_stride +
                            static_cast<size_t>(h) * 2 * hd + hd;
        float* dst = p.out + (static_cast<size_t>(tok) * nh + h) * hd;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int d = 4 * tx + 64 * c + e;
                const float v = o[i][4 * c + e] * inv;
                dst[d] = v / (1.f + expf(-gate[d]));
            }
        }
    }
}

/// Merge of the key splits; see the file comment. Thread t = head dim t.
template <int G>
__global__ void __launch_bounds__(kAttnPrefillThreads)
    attention_prefill_merge_kernel(const AttentionPrefillParams p, const float* part_acc,
                                   const float* part_ml, int n_splits) {
    constexpr int hd = kAttnHeadDim;
    constexpr int Tq = attention_prefill_tile_tokens(G);
    const int t = threadIdx.x;
    const int tok = blockIdx.x, h = blockIdx.y;
    const int nh = p.n_head, hkv = p.n_head_kv;
    float* dst = p.out + (static_cast<size_t>(tok) * nh + h) * hd;
    if (attention_prefill_detail::bad_pos(p.pos[0], p.n_tok, p.max_ctx)) {
        dst[t] = NAN;
        return;
    }
    const int kvh = h / G, tile = tok / Tq;
    const int r = (tok % Tq) * G + h % G;
    const size_t tiles = (static_cast<size_t>(p.n_tok) + Tq - 1) / Tq;
    const size_t split_rows = tiles * hkv * kAttnPrefillRows;  // rows per split
    const size_t row0 = (static_cast<size_t>(tile) * hkv + kvh) * kAttnPrefillRows + r;
    float mx = -INFINITY;
    for (int s = 0; s < n_splits; ++s) mx = fmaxf(mx, part_ml[2 * (row0 + s * split_rows)]);
    float lsum = 0.f, o = 0.f;
    for (int s = 0; s < n_splits; ++s) {
        const size_t row = row0 + s * split_rows;
        const float ms = part_ml[2 * row];
        const float w = ms == -INFINITY ? 0.f : exp2f(ms - mx);  // split 0 is never empty
        lsum = fmaf(w, part_ml[2 * row + 1], lsum);
        o = fmaf(w, part_acc[row * hd + t], o);
    }
    const float gate = p.q_proj[static_cast<size_t>(tok) * p.q_stride +
                                static_cast<size_t>(h) * 2 * hd + hd + t];
    dst[t] = o * (1.f / lsum) / (1.f + expf(-gate));
}

/// Enqueue the prefill of n_tok tokens (2 launches, 3 when attention_prefill_splits > 1).
/// Kv: gdn::f16, gdn::q8_0 or gdn::q4_0; Rot must match the decode launches that share the
/// cache. Throws gdn::Error naming the bad argument. No sync, no allocation.
template <class Kv, KvRotation Rot>
void launch_attention_prefill(const AttentionPrefillParams& params, cudaStream_t stream) {
    static_assert(is_kv_format_v<Kv>, "attention prefill: the KV cache format must be gdn::f16, "
                                      "gdn::q8_0 or gdn::q4_0");
    const char* who = "launch_attention_prefill";
    AttentionPrefillParams p = params;
    attention_detail::check_common(p, who);
    GDN_CHECK(reinterpret_cast<uintptr_t>(p.workspace) % 16 == 0, who, ": workspace ",
              p.workspace, " is not 16-byte aligned");
    GDN_CHECK(p.n_tok >= 1 && p.n_tok <= p.max_ctx, who, ": n_tok ", p.n_tok,
              " out of range [1, max_ctx ", p.max_ctx, "] (context overflow)");
    const int64_t q_row = int64_t{2} * p.n_head * p.head_dim;
    const int64_t kv_row = int64_t{1} * p.n_head_kv * p.head_dim;
    if (p.q_stride == 0) p.q_stride = q_row;
    if (p.k_stride == 0) p.k_stride = kv_row;
    if (p.v_stride == 0) p.v_stride = kv_row;
    GDN_CHECK(p.q_stride >= q_row && p.k_stride >= kv_row && p.v_stride >= kv_row, who,
              ": token strides (q ", p.q_stride, ", k ", p.k_stride, ", v ", p.v_stride,
              " floats) are shorter than a token's row (q ", q_row, ", k and v ", kv_row, ")");

    const int group = p.n_head / p.n_head_kv;
    const dim3 prep_grid(static_cast<unsigned>(p.n_tok), static_cast<unsigned>(p.n_head_kv));
    auto launch = [&](auto g_const) {
        constexpr int G = decltype(g_const)::value;
        const int n_tiles = attention_prefill_tiles(p.n_tok, p.n_head, p.n_head_kv);
        const int n_splits = attention_prefill_splits(p.n_tok, p.n_head, p.n_head_kv);
        GDN_CHECK(n_tiles <= 65535, who, ": n_tok ", p.n_tok, " needs ", n_tiles,
                  " query tiles (at most 65535)");
        float* part_acc = nullptr;
        float* part_ml = nullptr;
        if (n_splits > 1) {
            const size_t rows = static_cast<size_t>(n_splits) * n_tiles * p.n_head_kv *
                                kAttnPrefillRows;
            part_acc = reinterpret_cast<float*>(
                static_cast<uint8_t*>(p.workspace) +
                attention_prefill_detail::round_up(sizeof(float) * static_cast<size_t>(p.n_tok) *
                                                   p.n_head * kAttnHeadDim));
            part_ml = part_acc + rows * kAttnHeadDim;
        }
        attention_prefill_prep_kernel<Kv, Rot, G><<<prep_grid, kAttnThreads, 0, stream>>>(p);
        GDN_CHECK_LAUNCH("attention_prefill_prep_kernel");
        constexpr size_t smem = attention_prefill_detail::kSmemBytes;
        GDN_CUDA_CHECK(cudaFuncSetAttribute(attention_prefill_kernel<Kv, G>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(smem)));
        const dim3 grid(static_cast<unsigned>(p.n_head_kv), static_cast<unsigned>(n_tiles),
                        static_cast<unsigned>(n_splits));
        attention_prefill_kernel<Kv, G>
            <<<grid, kAttnPrefillThreads, smem, stream>>>(p, part_acc, part_ml);
        GDN_CHECK_LAUNCH("attention_prefill_kernel");
        if (n_splits > 1) {
            const dim3 mgrid(static_cast<unsigned>(p.n_tok), static_cast<unsigned>(p.n_head));
            attention_prefill_merge_kernel<G>
                <<<mgrid, kAttnPrefillThreads, 0, stream>>>(p, part_acc, part_ml, n_splits);
            GDN_CHECK_LAUNCH("attention_prefill_merge_kernel");
        }
    };
    switch (group) {
        case 1: launch(std::integral_constant<int, 1>{}); break;
        case 2: launch(std::integral_constant<int, 2>{}); break;
        case 4: launch(std::integral_constant<int, 4>{}); break;
        case 6: launch(std::integral_constant<int, 6>{}); break;
        case 8: launch(std::integral_constant<int, 8>{}); break;
        default:
            fail(who, ": n_head / n_head_kv = ", group, " (n_head ", p.n_head, ", n_head_kv ",
                 p.n_head_kv, ") is not a compiled group size (1, 2, 4, 6, 8)");
    }
}

}  // namespace gdn::kernels

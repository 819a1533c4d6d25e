// gdn/kernels/attention_decode.cuh - one decode step of a gated full-attention layer
// (MODEL.md "Gated attention", HF Qwen3NextAttention) for n_seq independent sequences,
// everything between the q/k/v projections (float32 GEMV outputs) and o_proj, in ONE kernel:
//
//   per query head: q = RMSNorm(q) * q_norm, NeoX RoPE on dims [0, n_rot)
//   per KV head:    k = RMSNorm(k) * k_norm, same RoPE; k and v appended to the cache at pos
//   [wht]           q <- H q, k <- H k before k is quantised (orthonormal Walsh-Hadamard
//                   over hd; q.k is unchanged, outliers of k are spread over the block)
//   split-K flash decoding over positions 0..pos (scale hd^-0.5, GQA groups together),
//   then the last block of each (sequence, KV head) to finish merges the splits and
//   writes o = softmax(q K^T) V * sigmoid(gate).
//
// Grid:  (n_splits, Hkv, n_seq), attention_split(window_len, n_seq, Hkv): n_splits <= 64.
//        Split s covers positions [s*chunk, min((s+1)*chunk, window_len)), chunk a multiple
//        of 32; positions > pos (read from device memory) are masked exactly, so the
//        cache beyond pos may hold anything. The grid depends on window_len only, which a
//        captured graph fixes; it changes once every FAWindow tokens.
// Block: 256 threads (8 warps), thread t = head dim t in the prologue and the merge. In the
//        main loop a warp takes 32 positions at a time: for the scores lane i reads the
//        whole K row of position i (q of the G = H/Hkv heads of the group is in shared
//        memory, so each K row is loaded once for all G heads); for P*V the warp reads one
//        V row at a time, coalesced, lane i owning 8 of its 256 dims.
// Race freedom of the fused append: the row at pos of (seq, kvh) is written and read only
//        by the one block whose split holds pos (after a __syncthreads, with plain coherent
//        loads), and no other block of the launch reads it.
// Bytes per call, per sequence: (pos+1) * Hkv * 2 * row_bytes of K/V (row_bytes = 512 f16,
//        272 q8_0, 144 q4_0), 4*2*H*hd q and gate, 4*2*Hkv*hd new k, v in, 2*row_bytes*Hkv
//        appended, n_splits*H*(hd+2)*4 partials written and read once, 4*H*hd out.
//
// Shapes (device memory, float32 unless said):
//   q_proj  [n_seq, H, 2, hd]   per head: hd query values, then hd gate values
//   k, v    [n_seq, Hkv, hd]
//   q_norm, k_norm [hd]         plain multipliers (GGUF: the "+1" folded in)
//   pos     [n_seq] int32       position of this step, 0 <= pos < max_ctx and < window_len;
//                               a sequence with a bad pos gets NaN output and no append
//   k_cache, v_cache [n_seq, max_ctx, Hkv, hd] in the KV format (f16, q8_0 or q4_0 blocks of
//                               32 along hd, the ggml layouts); with wht, K holds H k
//   out     [n_seq, H, hd]      attention output times sigmoid(gate), the o_proj input
//   workspace  attention_workspace_bytes(...) bytes; its counters must be zero before the
//              first launch (attention_workspace_init, once); every launch leaves them zero.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cuda_runtime.h>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/ptx.cuh"
#include "gdn/quant/blocks.hpp"
#include "gdn/quant/formats.hpp"
#include "gdn/quant/half.hpp"
#include "gdn/quant/quantize.hpp"
#include "gdn/quant/wht.hpp"

namespace gdn::kernels {

/// Rotation applied to q and k before K is stored.
enum class KvRotation : uint8_t {
    none,
    wht,  ///< orthonormal Walsh-Hadamard over head_dim (scores unchanged, quantisation better)
};

inline constexpr int kAttnHeadDim = 256;     ///< Qwen3.5 / Qwen3-Next head_dim
inline constexpr int kAttnThreads = 256;
inline constexpr int kAttnWarps = kAttnThreads / 32;
inline constexpr int kAttnTile = 32;         ///< positions per warp iteration
inline constexpr int kAttnMaxSplits = 64;    ///< bounds the workspace and the merge's reads
// Enough blocks to fill 132 SMs twice; splits shorter than 64 positions cost more in the
// prologue (norm, RoPE of G heads) than they save. Not tuned yet: bench/kernels_attention.cu
// on an H200 (copy 4243 GB/s) measured, batch 1, f16 KV: 26 us at 4K context (latency
// bound: one 32-position tile per warp), 31 us at 16K, 74 us (0.8B, 43% of copy) and
// 123 us (27B, 52%) at 64K; batch 4 at 64K: 69% (0.8B). q8_0/q4_0 K rows are decoded
// byte by byte per lane and reach about half the f16 bandwidth.
inline constexpr int kAttnTargetBlocks = 264;
inline constexpr int kAttnMinChunk = 64;
/// Kernel launches per attention layer and step (prep, append, attention and merge fused).
inline constexpr int kAttnLaunchesPerLayer = 1;

/// Query heads per KV head that launch_attention_decode has compiled (Qwen3.5: 4 and 6,
/// Qwen3-Next: 8; 1 and 2 for small models such as the parity fixtures).
inline constexpr int kAttnGroupSizes[] = {1, 2, 4, 6, 8};

template <class Kv>
inline constexpr bool is_kv_format_v =
    std::is_same_v<Kv, gdn::f16> || std::is_same_v<Kv, gdn::q8_0> || std::is_same_v<Kv, gdn::q4_0>;

/// Bytes of one cached [hd] row of K or V in format Kv.
template <class Kv>
inline constexpr int kv_row_bytes_v = static_cast<int>(dtype_row_bytes(Kv::dtype, kAttnHeadDim));

struct AttentionDecodeParams {
    const float* q_proj = nullptr;  // [n_seq, H, 2, hd]
    const float* k = nullptr;       // [n_seq, Hkv, hd]
    const float* v = nullptr;       // [n_seq, Hkv, hd]
    const float* q_norm = nullptr;  // [hd]
    const float* k_norm = nullptr;  // [hd]
    const int32_t* pos = nullptr;   // [n_seq]
    void* k_cache = nullptr;        // [n_seq, max_ctx, Hkv, hd] KV format
    void* v_cache = nullptr;        // [n_seq, max_ctx, Hkv, hd] KV format
    float* out = nullptr;           // [n_seq, H, hd]
    void* workspace = nullptr;      // attention_workspace_bytes(n_seq, H, Hkv)
    /// Floats between consecutive sequences' q_proj / k / v rows; 0 = dense (H*2*hd, Hkv*hd),
    /// so a fused [n_seq, q|k|v] projection output can be passed as three views.
    int64_t q_stride = 0, k_stride = 0, v_stride = 0;
    int n_seq = 1;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = kAttnHeadDim;
    int n_rot = 64;
    int max_ctx = 0;
    int window_len = 0;  ///< positions visited: a multiple of FAWindow, > every pos
    float rope_theta = 1e7f;
    float rms_eps = 1e-6f;
};

/// How a window is split over blocks: grid.x = n_splits, each covering `chunk` positions.
struct AttnSplit {
    int n_splits;
    int chunk;  ///< a multiple of kAttnTile
};

/// A pure function of its arguments, so a captured graph keeps its split until window_len
/// grows: about kAttnTargetBlocks blocks, at most kAttnMaxSplits splits of at least
/// kAttnMinChunk positions.
GDN_HOST_DEVICE constexpr AttnSplit attention_split(int window_len, int n_seq, int n_head_kv,
                                                    int target_blocks = kAttnTargetBlocks) {
    const int groups = n_seq * n_head_kv;
    int s = (target_blocks + groups - 1) / groups;
    const int by_len = (window_len + kAttnMinChunk - 1) / kAttnMinChunk;
    if (s > by_len) s = by_len;
    if (s > kAttnMaxSplits) s = kAttnMaxSplits;
    if (s < 1) s = 1;
    int chunk = (window_len + s - 1) / s;
    chunk = (chunk + kAttnTile - 1) / kAttnTile * kAttnTile;
    return {(window_len + chunk - 1) / chunk, chunk};  // no split left empty by the rounding
}

/// The padded window for n_tokens cached positions (pos + 1 of the furthest sequence).
template <int FAWindow>
constexpr int attention_window_len(int n_tokens) {
    return (n_tokens + FAWindow - 1) / FAWindow * FAWindow;
}

namespace attention_detail {

struct AttnWorkspaceLayout {
    size_t counters = 0;  // uint32 [n_seq, Hkv]
    size_t ml = 0;        // float  [n_seq, H, kAttnMaxSplits, 2]   (max in log2 units, sum)
    size_t acc = 0;       // float  [n_seq, H, kAttnMaxSplits, hd]
    size_t bytes = 0;
};

GDN_HOST_DEVICE constexpr AttnWorkspaceLayout attn_workspace_layout(int n_seq, int n_head,
                                                                    int n_head_kv) {
    AttnWorkspaceLayout l;
    const size_t align = 256;
    auto up = [align](size_t b) { return (b + align - 1) / align * align; };
    l.counters = 0;
    l.ml = up(sizeof(uint32_t) * static_cast<size_t>(n_seq) * n_head_kv);
    l.acc = l.ml + up(sizeof(float) * 2 * static_cast<size_t>(n_seq) * n_head * kAttnMaxSplits);
    l.bytes = l.acc + sizeof(float) * static_cast<size_t>(n_seq) * n_head * kAttnMaxSplits *
                          kAttnHeadDim;
    return l;
}

}  // namespace attention_detail

/// Device bytes the workspace of launch_attention_decode needs; one workspace can serve
/// every attention layer of a model (launches on one stream run one after another).
inline size_t attention_workspace_bytes(int n_seq, int n_head, int n_head_kv) {
    return attention_detail::attn_workspace_layout(n_seq, n_head, n_head_kv).bytes;
}

/// Zero the workspace's counters; call once after allocating it (not inside capture).
inline void attention_workspace_init(void* workspace, int n_seq, int n_head, int n_head_kv,
                                     cudaStream_t stream) {
    GDN_CHECK(workspace != nullptr, "attention_workspace_init: workspace is null");
    const auto l = attention_detail::attn_workspace_layout(n_seq, n_head, n_head_kv);
    GDN_CUDA_CHECK(cudaMemsetAsync(workspace, 0, l.ml, stream));
}

namespace attention_detail {

constexpr float kLog2e = 1.4426950408889634f;



GDN_DEVICE GDN_FORCEINLINE uint32_t ld_u16(const uint8_t* p) {
    return *reinterpret_cast<const uint16_t*>(p);
}

/// Byte o of a little-endian word array; o is a compile-time constant after unrolling.
GDN_DEVICE GDN_FORCEINLINE uint32_t byte_at(const uint32_t* w, int o) {
    return (w[o >> 2] >> (8 * (o & 3))) & 0xffu;
}

GDN_DEVICE GDN_FORCEINLINE float half_lo(uint32_t w) {
    return quant::f16_to_f32(static_cast<uint16_t>(w & 0xffffu));
}
GDN_DEVICE GDN_FORCEINLINE float half_hi(uint32_t w) {
    return quant::f16_to_f32(static_cast<uint16_t>(w >> 16));
}

// ---- scores: one lane, one whole K row, G query heads ------------------------------------
// q_s: [G][hd] shared, already scaled by hd^-0.5 * log2(e); s[g] += q_g . k.

template <int G>
GDN_DEVICE GDN_FORCEINLINE void score_row(gdn::f16, const uint8_t* row, const float* q_s,
                                          float (&s)[G]) {
    const uint4* r = reinterpret_cast<const uint4*>(row);
#pragma unroll 8
    for (int c = 0; c < kAttnHeadDim / 8; ++c) {
        const uint4 w = r[c];
        const float k[8] = {half_lo(w.x), half_hi(w.x), half_lo(w.y), half_hi(w.y),
                            half_lo(w.z), half_hi(w.z), half_lo(w.w), half_hi(w.w)};
#pragma unroll
        for (int g = 0; g < G; ++g) {
            const float4 a = reinterpret_cast<const float4*>(q_s + g * kAttnHeadDim + 8 * c)[0];
            const float4 b = reinterpret_cast<const float4*>(q_s + g * kAttnHeadDim + 8 * c)[1];
            float t = s[g];
            t = fmaf(a.x, k[0], t); t = fmaf(a.y, k[1], t);
            t = fmaf(a.z, k[2], t); t = fmaf(a.w, k[3], t);
            t = fmaf(b.x, k[4], t); t = fmaf(b.y, k[5], t);
            t = fmaf(b.z, k[6], t); t = fmaf(b.w, k[7], t);
            s[g] = t;
        }
    }
}

// Q8_0 row: 8 blocks of 34 bytes; a pair of blocks (68 bytes) starts 4-byte aligned.
template <int G>
GDN_DEVICE GDN_FORCEINLINE void score_row(gdn::q8_0, const uint8_t* row, const float* q_s,
                                          float (&s)[G]) {
#pragma unroll 1
    for (int pr = 0; pr < 4; ++pr) {
        uint32_t w[17];
        const uint32_t* src = reinterpret_cast<const uint32_t*>(row + 68 * pr);
#pragma unroll
        for (int i = 0; i < 17; ++i) w[i] = src[i];
#pragma unroll
        for (int hb = 0; hb < 2; ++hb) {
            const int o0 = 34 * hb;
            const float d = quant::f16_to_f32(
                static_cast<uint16_t>(byte_at(w, o0) | (byte_at(w, o0 + 1) << 8)));
            float part[G];
#pragma unroll
            for (int g = 0; g < G; ++g) part[g] = 0.f;
#pragma unroll
            for (int j = 0; j < 32; j += 4) {
                float k[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    k[e] = static_cast<float>(static_cast<int8_t>(byte_at(w, o0 + 2 + j + e)));
                }
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    const float4 a = *reinterpret_cast<const float4*>(
                        q_s + g * kAttnHeadDim + 64 * pr + 32 * hb + j);
                    float t = part[g];
                    t = fmaf(a.x, k[0], t); t = fmaf(a.y, k[1], t);
                    t = fmaf(a.z, k[2], t); t = fmaf(a.w, k[3], t);
                    part[g] = t;
                }
            }
#pragma unroll
            for (int g = 0; g < G; ++g) s[g] = fmaf(d, part[g], s[g]);
        }
    }
}

// Q4_0 row: 8 blocks of 18 bytes; a pair (36 bytes) starts 4-byte aligned.
template <int G>
GDN_DEVICE GDN_FORCEINLINE void score_row(gdn::q4_0, const uint8_t* row, const float* q_s,
                                          float (&s)[G]) {
#pragma unroll 2
    for (int pr = 0; pr < 4; ++pr) {
        uint32_t w[9];
        const uint32_t* src = reinterpret_cast<const uint32_t*>(row + 36 * pr);
#pragma unroll
        for (int i = 0; i < 9; ++i) w[i] = src[i];
#pragma unroll
        for (int hb = 0; hb < 2; ++hb) {
            const int o0 = 18 * hb;
            const float d = quant::f16_to_f32(
                static_cast<uint16_t>(byte_at(w, o0) | (byte_at(w, o0 + 1) << 8)));
            float part[G];
#pragma unroll
            for (int g = 0; g < G; ++g) part[g] = 0.f;
#pragma unroll
            for (int j = 0; j < 16; j += 4) {
                float lo[4], hi[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int b = static_cast<int>(byte_at(w, o0 + 2 + j + e));
                    lo[e] = static_cast<float>((b & 15) - 8);
                    hi[e] = static_cast<float>((b >> 4) - 8);
                }
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    const float* qb = q_s + g * kAttnHeadDim + 64 * pr + 32 * hb;
                    const float4 a = *reinterpret_cast<const float4*>(qb + j);
                    const float4 c = *reinterpret_cast<const float4*>(qb + 16 + j);
                    float t = part[g];
                    t = fmaf(a.x, lo[0], t); t = fmaf(a.y, lo[1], t);
                    t = fmaf(a.z, lo[2], t); t = fmaf(a.w, lo[3], t);
                    t = fmaf(c.x, hi[0], t); t = fmaf(c.y, hi[1], t);
                    t = fmaf(c.z, hi[2], t); t = fmaf(c.w, hi[3], t);
                    part[g] = t;
                }
            }
#pragma unroll
            for (int g = 0; g < G; ++g) s[g] = fmaf(d, part[g], s[g]);
        }
    }
}

// ---- V rows: a warp reads one row, lane owns 8 dims ------------------------------------

/// Head dim of the e-th value (e < 8) that lane holds of a V row.
template <class Kv>
GDN_HOST_DEVICE constexpr int v_dim(int lane, int e) {
    if constexpr (std::is_same_v<Kv, gdn::q4_0>) {
        // block lane/4 (32 dims); lane%4 owns bytes 4q..4q+3: low nibbles dims 4q.., high 16+4q..
        return 32 * (lane >> 2) + 4 * (lane & 3) + (e & 3) + 16 * (e >> 2);
    } else {
        return 8 * lane + e;
    }
}

GDN_DEVICE GDN_FORCEINLINE void load_v(gdn::f16, const uint8_t* row, int lane, float (&v)[8]) {
    const uint4 w = reinterpret_cast<const uint4*>(row)[lane];
    v[0] = half_lo(w.x); v[1] = half_hi(w.x); v[2] = half_lo(w.y); v[3] = half_hi(w.y);
    v[4] = half_lo(w.z); v[5] = half_hi(w.z); v[6] = half_lo(w.w); v[7] = half_hi(w.w);
}

GDN_DEVICE GDN_FORCEINLINE void load_v(gdn::q8_0, const uint8_t* row, int lane, float (&v)[8]) {
    const uint8_t* blk = row + 34 * (lane >> 2);
    const float d = quant::f16_to_f32(static_cast<uint16_t>(ld_u16(blk)));
    const uint8_t* qs = blk + 2 + 8 * (lane & 3);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const uint32_t h = ld_u16(qs + 2 * i);
        v[2 * i] = d * static_cast<float>(static_cast<int8_t>(h & 0xffu));
        v[2 * i + 1] = d * static_cast<float>(static_cast<int8_t>(h >> 8));
    }
}

GDN_DEVICE GDN_FORCEINLINE void load_v(gdn::q4_0, const uint8_t* row, int lane, float (&v)[8]) {
    const uint8_t* blk = row + 18 * (lane >> 2);
    const float d = quant::f16_to_f32(static_cast<uint16_t>(ld_u16(blk)));
    const uint8_t* qs = blk + 2 + 4 * (lane & 3);
    const uint32_t b = ld_u16(qs) | (ld_u16(qs + 2) << 16);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        const int q = static_cast<int>((b >> (8 * e)) & 0xffu);
        v[e] = d * static_cast<float>((q & 15) - 8);
        v[e + 4] = d * static_cast<float>((q >> 4) - 8);
    }
}

// ---- append: store one [hd] row from shared memory in the KV format -----------------------
// All 256 threads call it; x is shared, dst global (2-byte aligned: blocks are 34 or 18 bytes).
// Quantised blocks are written as 16-bit words built with integer ops: storing the block
// byte by byte from the quantiser's struct lost the low byte of the f16 scale on sm_90
// (H200, CUDA 13: every d came out with its low byte 0, while the PTX looked right).

template <class Kv>
GDN_DEVICE GDN_FORCEINLINE void store_row(const float* x, uint8_t* dst, int t) {
    if constexpr (std::is_same_v<Kv, gdn::f16>) {
        reinterpret_cast<uint16_t*>(dst)[t] = quant::f32_to_f16(x[t]);
    } else if constexpr (std::is_same_v<Kv, gdn::q8_0>) {
        if (t < kAttnHeadDim / 32) {
            quant::BlockQ8_0 b;
            quant::quantize_block_q8_0(x + 32 * t, b);
            uint16_t* out = reinterpret_cast<uint16_t*>(dst + sizeof(b) * t);  // 17 words
            out[0] = b.d;
#pragma unroll
            for (int i = 0; i < 16; ++i) {
                const uint32_t lo = static_cast<uint8_t>(b.qs[2 * i]);
                const uint32_t hi = static_cast<uint8_t>(b.qs[2 * i + 1]);
                out[1 + i] = static_cast<uint16_t>(lo | (hi << 8));
            }
        }
    } else {
        if (t < kAttnHeadDim / 32) {
            quant::BlockQ4_0 b;
            quant::quantize_block_q4_0(x + 32 * t, b);
            uint16_t* out = reinterpret_cast<uint16_t*>(dst + sizeof(b) * t);  // 9 words
            out[0] = b.d;
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                out[1 + i] = static_cast<uint16_t>(static_cast<uint32_t>(b.qs[2 * i]) |
                                                   (static_cast<uint32_t>(b.qs[2 * i + 1]) << 8));
            }
        }
    }
}

/// The block barrier of the attention kernels: named barrier 1 over the kAttnThreads threads
/// (a __syncthreads in a block of that size), so that the persistent step kernel can run the
/// decode body in the first kAttnThreads threads of its larger block.
GDN_DEVICE GDN_FORCEINLINE void attn_sync() { named_barrier<1, kAttnThreads>(); }

template <int G>
struct alignas(16) AttnShared {
    float x[G + 2][kAttnHeadDim];          // q of the group (scaled), then k, then v
    float acc[G][kAttnHeadDim];            // block-merged P*V
    float p[kAttnWarps][kAttnTile][G];     // probabilities of the warp's current tile
    float red[kAttnWarps][G + 1];          // per-warp partial sums (norms), then maxima
    float red2[kAttnWarps][G];             // per-warp row sums
    float wgt[G][kAttnMaxSplits];          // merge: split weights
    float mx[G];
    int is_last;
};

/// The per-token prologue shared by decode and prefill, thread t = head dim t of a 256-thread
/// block: rows 0..G-1 of x (query heads) and row G (k) get RMSNorm times q_norm / k_norm,
/// NeoX RoPE at `pos` on dims [0, n_rot), and with Rot == wht the orthonormal WHT (butterflies
/// in the order of quant::wht<hd>, so k matches the host bit for bit). sx (>= G + 1 rows of hd)
/// and red ([kAttnWarps][G + 1]) are shared scratch. Every thread of the block must call it.
template <KvRotation Rot, int G>
GDN_DEVICE GDN_FORCEINLINE void qk_prologue(float (&x)[G + 1], float (*sx)[kAttnHeadDim], float (*red)[G + 1],
                                            const float* q_norm, const float* k_norm, int pos, int n_rot,
                                            float rope_theta, float rms_eps) {
    constexpr int hd = kAttnHeadDim;
    constexpr int R = G + 1;
    const int t = static_cast<int>(threadIdx.x) % kAttnThreads;
    const int lane = t & 31, warp = t >> 5;
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const float ss = warp_sum(x[r] * x[r]);
        if (lane == 0) red[warp][r] = ss;
    }
    attn_sync();
    const float wq = q_norm[t], wk = k_norm[t];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        float ss = 0.f;
#pragma unroll
        for (int w = 0; w < kAttnWarps; ++w) ss += red[w][r];
        const float inv = rsqrtf(ss / static_cast<float>(hd) + rms_eps);
        sx[r][t] = x[r] * inv * (r < G ? wq : wk);
    }
    attn_sync();
    if (t < n_rot) {
        const int half = n_rot / 2;
        const int i = t < half ? t : t - half;
        const float inv_freq = 1.0f / powf(rope_theta, static_cast<float>(2 * i) / static_cast<float>(n_rot));
        const float angle = static_cast<float>(pos) * inv_freq;
        float sn, cs;
        sincosf(angle, &sn, &cs);
        const int partner = t < half ? t + half : t - half;
        const float sign = t < half ? -1.f : 1.f;
#pragma unroll
        for (int r = 0; r < R; ++r) x[r] = sx[r][t] * cs + sign * sx[r][partner] * sn;
    } else {
#pragma unroll
        for (int r = 0; r < R; ++r) x[r] = sx[r][t];
    }
    attn_sync();
    if constexpr (Rot == KvRotation::wht) {
#pragma unroll
        for (int h = 1; h < hd; h *= 2) {
#pragma unroll
            for (int r = 0; r < R; ++r) sx[r][t] = x[r];
            attn_sync();
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const float o = sx[r][t ^ h];
                x[r] = (t & h) ? o - x[r] : x[r] + o;
            }
            attn_sync();
        }
        constexpr float s = quant::wht_scale(hd);
#pragma unroll
        for (int r = 0; r < R; ++r) x[r] *= s;
    }
}

}  // namespace attention_detail

/// The kernel's body for block (split, kvh, seq) of a grid of n_splits splits, run by the
/// first kAttnThreads threads of the block (thread t = threadIdx.x); see the file comment.
/// G = H / Hkv query heads per KV head.
template <class Kv, KvRotation Rot, int G>
GDN_DEVICE GDN_FORCEINLINE void attention_decode_body(const AttentionDecodeParams& p, int chunk, int split, int kvh,
                                                      int seq, int n_splits, attention_detail::AttnShared<G>& sh) {
    using attention_detail::attn_sync;
    constexpr int hd = kAttnHeadDim;
    constexpr int row_bytes = kv_row_bytes_v<Kv>;

    const int t = threadIdx.x;
    const int lane = t & 31, warp = t >> 5;
    const int hkv = p.n_head_kv, nh = p.n_head;

    const int pos = p.pos[seq];
    const bool bad = pos < 0 || pos >= p.max_ctx || pos >= p.window_len;
    const int c0 = split * chunk;
    const int c1 = min(c0 + chunk, p.window_len);
    const bool active = !bad && c0 <= pos;
    const bool owner = active && pos < c1;

    const size_t ml_off = attention_detail::attn_workspace_layout(p.n_seq, nh, hkv).ml;
    const size_t acc_off = attention_detail::attn_workspace_layout(p.n_seq, nh, hkv).acc;
    uint32_t* counters = reinterpret_cast<uint32_t*>(p.workspace);
    float* ws_ml = reinterpret_cast<float*>(static_cast<uint8_t*>(p.workspace) + ml_off);
    float* ws_acc = reinterpret_cast<float*>(static_cast<uint8_t*>(p.workspace) + acc_off);

    uint8_t* kc = static_cast<uint8_t*>(p.k_cache);
    uint8_t* vc = static_cast<uint8_t*>(p.v_cache);
    const float* q_row = p.q_proj + seq * (p.q_stride ? p.q_stride : int64_t(nh) * 2 * hd);
    const float* k_row = p.k + seq * (p.k_stride ? p.k_stride : int64_t(hkv) * hd);
    const float* v_row = p.v + seq * (p.v_stride ? p.v_stride : int64_t(hkv) * hd);
    auto row_off = [&](int position) {
        return ((static_cast<size_t>(seq) * p.max_ctx + position) * hkv + kvh) * row_bytes;
    };

    float m[G], l[G], acc[G][8];
#pragma unroll
    for (int g = 0; g < G; ++g) {
        m[g] = -INFINITY;
        l[g] = 0.f;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] = 0.f;
        sh.acc[g][t] = 0.f;
    }

    if (active) {
        // ---- prologue: RMSNorm + RoPE (+ WHT) of the G query heads, and of k if owner ----
        constexpr int R = G + 1;
        float x[R];
#pragma unroll
        for (int g = 0; g < G; ++g) {
            x[g] = q_row[static_cast<size_t>(kvh * G + g) * 2 * hd + t];
        }
        x[G] = owner ? k_row[static_cast<size_t>(kvh) * hd + t] : 0.f;
        attention_detail::qk_prologue<Rot, G>(x, sh.x, sh.red, p.q_norm, p.k_norm, pos, p.n_rot, p.rope_theta,
                                              p.rms_eps);
        const float qscale = rsqrtf(static_cast<float>(hd)) * attention_detail::kLog2e;
#pragma unroll
        for (int g = 0; g < G; ++g) sh.x[g][t] = x[g] * qscale;
        if (owner) {
            sh.x[G][t] = x[G];
            sh.x[G + 1][t] = v_row[static_cast<size_t>(kvh) * hd + t];
        }
        attn_sync();
        if (owner) {
            attention_detail::store_row<Kv>(sh.x[G], kc + row_off(pos), t);
            attention_detail::store_row<Kv>(sh.x[G + 1], vc + row_off(pos), t);
        }
        attn_sync();  // the appended row is read below by other threads of this block

        // ---- main loop: tiles of 32 positions per warp --------------------------------
        const int end = min(c1, pos + 1);  // exclusive
        for (int t0 = c0 + warp * kAttnTile; t0 < end; t0 += kAttnWarps * kAttnTile) {
            const int ip = t0 + lane;
            const bool valid = ip < end;
            float s[G];
#pragma unroll
            for (int g = 0; g < G; ++g) s[g] = 0.f;
            if (valid) attention_detail::score_row<G>(Kv{}, kc + row_off(ip), &sh.x[0][0], s);
#pragma unroll
            for (int g = 0; g < G; ++g) {
                const float sv = valid ? s[g] : -INFINITY;
                const float mt = warp_max(sv);  // finite: lane 0 is valid
                const float mn = fmaxf(m[g], mt);
                const float alpha = exp2f(m[g] - mn);   // 0 on the first tile (m = -inf)
                const float pr = valid ? exp2f(sv - mn) : 0.f;
                l[g] = l[g] * alpha + pr;
#pragma unroll
                for (int e = 0; e < 8; ++e) acc[g][e] *= alpha;
                m[g] = mn;
                sh.p[warp][lane][g] = pr;
            }
            __syncwarp();
            const int nv = min(kAttnTile, end - t0);
            const uint8_t* vrow = vc + row_off(t0);
            const size_t vstride = static_cast<size_t>(hkv) * row_bytes;
#pragma unroll 4
            for (int j = 0; j < nv; ++j) {
                float vv[8];
                attention_detail::load_v(Kv{}, vrow + j * vstride, lane, vv);
#pragma unroll
                for (int g = 0; g < G; ++g) {
                    const float pj = sh.p[warp][j][g];
#pragma unroll
                    for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(pj, vv[e], acc[g][e]);
                }
            }
            __syncwarp();
        }
    }

    // ---- merge the warps of this block ------------------------------------------------
#pragma unroll
    for (int g = 0; g < G; ++g) {
        const float lt = warp_sum(l[g]);
        if (lane == 0) {
            sh.red[warp][g] = m[g];
            sh.red2[warp][g] = lt;
        }
    }
    attn_sync();
    float bm[G];
#pragma unroll
    for (int g = 0; g < G; ++g) {
        bm[g] = -INFINITY;
#pragma unroll
        for (int w = 0; w < kAttnWarps; ++w) bm[g] = fmaxf(bm[g], sh.red[w][g]);
    }
    // Warps add in a fixed order (not atomics), so a replayed graph gives the same bits.
    for (int w = 0; w < kAttnWarps; ++w) {
        if (warp == w) {
#pragma unroll
            for (int g = 0; g < G; ++g) {
                const float sc = m[g] == -INFINITY ? 0.f : exp2f(m[g] - bm[g]);
#pragma unroll
                for (int e = 0; e < 8; ++e) sh.acc[g][attention_detail::v_dim<Kv>(lane, e)] += acc[g][e] * sc;
            }
        }
        attn_sync();
    }
    {
        const size_t base = (static_cast<size_t>(seq) * nh + kvh * G) * kAttnMaxSplits + split;
#pragma unroll
        for (int g = 0; g < G; ++g) {
            ws_acc[(base + static_cast<size_t>(g) * kAttnMaxSplits) * hd + t] = sh.acc[g][t];
        }
        if (t < G) {
            float lsum = 0.f;
            for (int w = 0; w < kAttnWarps; ++w) {
                if (sh.red[w][t] != -INFINITY) lsum += sh.red2[w][t] * exp2f(sh.red[w][t] - bm[t]);
            }
            ws_ml[2 * (base + static_cast<size_t>(t) * kAttnMaxSplits)] = bm[t];
            ws_ml[2 * (base + static_cast<size_t>(t) * kAttnMaxSplits) + 1] = lsum;
        }
    }

    // ---- the last block of (seq, kvh) to finish merges the splits ----------------------
    __threadfence();
    attn_sync();
    if (t == 0) {
        const uint32_t prev = atomicAdd(&counters[seq * hkv + kvh], 1u);
        sh.is_last = prev == static_cast<uint32_t>(n_splits - 1);
    }
    attn_sync();
    if (!sh.is_last) return;
    __threadfence();

    const size_t base0 = (static_cast<size_t>(seq) * nh + kvh * G) * kAttnMaxSplits;
    for (int i = t; i < G * n_splits; i += kAttnThreads) {
        const int g = i / n_splits, s = i % n_splits;
        sh.wgt[g][s] = __ldcg(&ws_ml[2 * (base0 + static_cast<size_t>(g) * kAttnMaxSplits + s)]);
    }
    attn_sync();
    if (t < G) {
        float mx = -INFINITY;
        for (int s = 0; s < n_splits; ++s) mx = fmaxf(mx, sh.wgt[t][s]);
        sh.mx[t] = mx;
    }
    attn_sync();
    for (int i = t; i < G * n_splits; i += kAttnThreads) {
        const int g = i / n_splits, s = i % n_splits;
        const float ms = sh.wgt[g][s];
        sh.wgt[g][s] = ms == -INFINITY ? 0.f : exp2f(ms - sh.mx[g]);
    }
    attn_sync();
    if (t < G) {
        float lsum = 0.f;
        for (int s = 0; s < n_splits; ++s) {
            lsum += sh.wgt[t][s] *
                    __ldcg(&ws_ml[2 * (base0 + static_cast<size_t>(t) * kAttnMaxSplits + s) + 1]);
        }
        sh.red[0][t] = 1.f / lsum;
    }
    attn_sync();
#pragma unroll
    for (int g = 0; g < G; ++g) {
        const float* a = ws_acc + (base0 + static_cast<size_t>(g) * kAttnMaxSplits) * hd + t;
        float o0 = 0.f, o1 = 0.f, o2 = 0.f, o3 = 0.f;
        int s = 0;
        for (; s + 4 <= n_splits; s += 4) {
            o0 = fmaf(sh.wgt[g][s], __ldcg(a + static_cast<size_t>(s) * hd), o0);
            o1 = fmaf(sh.wgt[g][s + 1], __ldcg(a + static_cast<size_t>(s + 1) * hd), o1);
            o2 = fmaf(sh.wgt[g][s + 2], __ldcg(a + static_cast<size_t>(s + 2) * hd), o2);
            o3 = fmaf(sh.wgt[g][s + 3], __ldcg(a + static_cast<size_t>(s + 3) * hd), o3);
        }
        for (; s < n_splits; ++s) o0 = fmaf(sh.wgt[g][s], __ldcg(a + static_cast<size_t>(s) * hd), o0);
        const int h = kvh * G + g;
        const float gate = q_row[static_cast<size_t>(h) * 2 * hd + hd + t];
        const float o = ((o0 + o1) + (o2 + o3)) * sh.red[0][g];
        p.out[(static_cast<size_t>(seq) * nh + h) * hd + t] =
            bad ? NAN : o / (1.f + expf(-gate));
    }
    if (t == 0) counters[seq * hkv + kvh] = 0u;  // every block of this launch has counted
}

/// The kernel; see the file comment.
template <class Kv, KvRotation Rot, int G>
__global__ void __launch_bounds__(kAttnThreads, G <= 6 ? 2 : 1)
    attention_decode_kernel(const AttentionDecodeParams p, int chunk) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    __shared__ attention_detail::AttnShared<G> sh;
    attention_decode_body<Kv, Rot, G>(p, chunk, static_cast<int>(blockIdx.x), static_cast<int>(blockIdx.y),
                                      static_cast<int>(blockIdx.z), static_cast<int>(gridDim.x), sh);
}

namespace attention_detail {

/// The argument checks of the decode and prefill launchers (their params name these fields
/// alike): device pointers, head_dim, the GQA grouping, n_rot, max_ctx, eps and theta.
template <class Params>
void check_common(const Params& p, const char* who) {
    GDN_CHECK(p.q_proj && p.k && p.v && p.q_norm && p.k_norm && p.pos && p.k_cache &&
                  p.v_cache && p.out && p.workspace,
              who, ": a device pointer is null (q_proj ", p.q_proj, ", k ", p.k, ", v ", p.v,
              ", q_norm ", p.q_norm, ", k_norm ", p.k_norm, ", pos ", p.pos, ", k_cache ",
              p.k_cache, ", v_cache ", p.v_cache, ", out ", p.out, ", workspace ", p.workspace,
              ")");
    GDN_CHECK(p.head_dim == kAttnHeadDim, who, ": head_dim ", p.head_dim,
              " is not supported (compiled for ", kAttnHeadDim, ")");
    GDN_CHECK(p.n_head_kv >= 1 && p.n_head >= p.n_head_kv && p.n_head % p.n_head_kv == 0, who,
              ": n_head ", p.n_head, " is not a positive multiple of n_head_kv ", p.n_head_kv);
    GDN_CHECK(p.n_rot >= 0 && p.n_rot <= p.head_dim && p.n_rot % 2 == 0, who, ": n_rot ", p.n_rot,
              " must be even and <= head_dim ", p.head_dim);
    GDN_CHECK(p.max_ctx >= 1, who, ": max_ctx ", p.max_ctx, " must be positive");
    GDN_CHECK(p.rms_eps > 0.f && p.rope_theta > 0.f, who, ": rms_eps ", p.rms_eps,
              " and rope_theta ", p.rope_theta, " must be positive");
}

}  // namespace attention_detail

/// The launcher's argument checks (also the persistent step kernel's planner's).
template <int FAWindow>
void check_attention_decode(const AttentionDecodeParams& p) {
    static_assert(FAWindow == 64 || FAWindow == 256, "attention: FAWindow must be 64 or 256");
    const char* who = "launch_attention_decode";
    attention_detail::check_common(p, who);
    GDN_CHECK(p.n_seq >= 1 && p.n_seq <= 65535, who, ": n_seq ", p.n_seq, " out of range [1, 65535]");
    GDN_CHECK((p.q_stride == 0 || p.q_stride >= int64_t(p.n_head) * 2 * p.head_dim) &&
                  (p.k_stride == 0 || p.k_stride >= int64_t(p.n_head_kv) * p.head_dim) &&
                  (p.v_stride == 0 || p.v_stride >= int64_t(p.n_head_kv) * p.head_dim),
              who, ": a row stride is shorter than its row (q_stride ", p.q_stride, ", k_stride ",
              p.k_stride, ", v_stride ", p.v_stride, ")");
    GDN_CHECK(p.window_len >= FAWindow && p.window_len % FAWindow == 0, who, ": window_len ",
              p.window_len, " is not a positive multiple of FAWindow ", FAWindow);
    GDN_CHECK(p.window_len <= attention_window_len<FAWindow>(p.max_ctx), who, ": window_len ",
              p.window_len, " exceeds the context of ", p.max_ctx, " positions (context overflow)");
}

/// Enqueue one attention decode step (kAttnLaunchesPerLayer launches). FAWindow: the padding
/// of window_len; Kv: gdn::f16, gdn::q8_0 or gdn::q4_0; Rot: KvRotation::wht rotates q and k.
/// Throws gdn::Error naming the bad argument. Graph-capturable: no sync, no allocation.
template <int FAWindow, class Kv, KvRotation Rot = KvRotation::none>
void launch_attention_decode(const AttentionDecodeParams& p, cudaStream_t stream) {
    static_assert(is_kv_format_v<Kv>, "attention: the KV cache format must be gdn::f16, "
                                      "gdn::q8_0 or gdn::q4_0");
    const char* who = "launch_attention_decode";
    check_attention_decode<FAWindow>(p);
    const int group = p.n_head / p.n_head_kv;
    const AttnSplit sp = attention_split(p.window_len, p.n_seq, p.n_head_kv);
    const int chunk = sp.chunk;
    const dim3 grid(static_cast<unsigned>(sp.n_splits), static_cast<unsigned>(p.n_head_kv),
                    static_cast<unsigned>(p.n_seq));
    void (*kernel)(AttentionDecodeParams, int) = nullptr;
    switch (group) {
        case 1: kernel = attention_decode_kernel<Kv, Rot, 1>; break;
        case 2: kernel = attention_decode_kernel<Kv, Rot, 2>; break;
        case 4: kernel = attention_decode_kernel<Kv, Rot, 4>; break;
        case 6: kernel = attention_decode_kernel<Kv, Rot, 6>; break;
        case 8: kernel = attention_decode_kernel<Kv, Rot, 8>; break;
        default:
            fail(who, ": n_head / n_head_kv = ", group, " (n_head ", p.n_head, ", n_head_kv ",
                 p.n_head_kv, ") is not a compiled group size (1, 2, 4, 6, 8)");
    }
    launch_kernel("attention_decode_kernel", kernel, grid, dim3(kAttnThreads), 0, stream, p, chunk);
}

}  // namespace gdn::kernels

// gdn/kernels/sampling.cuh - choose the next token on the device from logits [n_seq, n_vocab]
// and write it to int32 device memory, so the next step's embedding reads it without a host
// round trip.
//
// argmax (greedy): grid = (k_argmax_parts, n_seq), block = 256. Each block reduces a slice of
//   the vocabulary to (max, first index) in the workspace; the last block of a sequence to
//   finish (atomic ticket) reduces the slices and resets its ticket, so no memset is needed
//   between replays. Bytes: n_seq * n_vocab * 4 read.
// sample (temperature > 0): grid = n_seq, block = 1024, one block per sequence over logits
//   that the LM head just wrote (L2-resident).
//   - no top-k, no top-p: exact inverse-CDF draw over the whole vocabulary (2 passes + one
//     warp's rescan of its range);
//   - top-k and/or top-p: radix select of the K-th largest logit (3 histogram passes over the
//     vocabulary, K = top_k, or 1024 when only top-p is set), bitonic sort of the K
//     candidates, softmax, nucleus cut, draw. With top-p alone the nucleus is therefore
//     searched among the 1024 most likely tokens only.
//   Randomness: Philox4x32-10 keyed by (seed), counter (step[0], sequence), so a draw depends
//   on seed, step and sequence only, and a replayed graph advances with *step.
// Ties: the lowest index wins (argmax, and among equal logits in the sorted candidates).
// NaN logits are never chosen; a row with no finite-or-inf logit gives token -1.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"

namespace gdn::kernels {

constexpr int k_argmax_parts = 64;  // blocks per sequence of the greedy reduction
constexpr int k_max_top_k = 1024;   // candidates one sampling block sorts

/// Bytes of the workspace launch_argmax / launch_sample need for n_seq sequences. Zero it
/// once after allocation (cudaMemset); the kernels leave it zeroed again when they finish.
constexpr size_t sampling_workspace_bytes(int n_seq) {
    return static_cast<size_t>(n_seq) * (k_argmax_parts * (sizeof(float) + sizeof(int32_t)) +
                                         sizeof(uint32_t));
}

struct ArgmaxParams {
    const float* logits = nullptr;  ///< [n_seq, n_vocab]
    int64_t n_vocab = 0;
    int n_seq = 1;
    int32_t* token = nullptr;       ///< [n_seq] out
    void* workspace = nullptr;      ///< sampling_workspace_bytes(n_seq), zeroed once
};

struct SampleParams {
    const float* logits = nullptr;  ///< [n_seq, n_vocab]
    int64_t n_vocab = 0;
    int n_seq = 1;
    int32_t* token = nullptr;       ///< [n_seq] out
    float temperature = 0.f;        ///< <= 0: greedy (argmax)
    int top_k = 0;                  ///< 0: off; else 1..k_max_top_k
    float top_p = 1.f;              ///< >= 1: off
    uint64_t seed = 0;
    const int32_t* step = nullptr;  ///< [1] device memory: the decode step (Philox counter)
    void* workspace = nullptr;      ///< for the greedy path: sampling_workspace_bytes(n_seq)
};

namespace sampling_detail {

GDN_DEVICE GDN_FORCEINLINE bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

constexpr int k_argmax_threads = 256;

static __global__ void __launch_bounds__(k_argmax_threads) argmax_kernel(const ArgmaxParams p) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    __shared__ float sv[k_argmax_threads / 32];
    __shared__ int si[k_argmax_threads / 32];
    __shared__ bool last;
    const int s = blockIdx.y, part = blockIdx.x;
    auto* part_val = static_cast<float*>(p.workspace);
    auto* part_idx = reinterpret_cast<int32_t*>(part_val + p.n_seq * k_argmax_parts);
    auto* ticket = reinterpret_cast<uint32_t*>(part_idx + p.n_seq * k_argmax_parts);
    const float* z = p.logits + s * p.n_vocab;
    const int64_t per = (p.n_vocab + k_argmax_parts - 1) / k_argmax_parts;
    const int64_t lo = part * per, hi = min(p.n_vocab, lo + per);

    float bv = -INFINITY;
    int bi = INT_MAX;
    for (int64_t i = lo + threadIdx.x; i < hi; i += k_argmax_threads) {
        const float v = __ldcg(z + i);
        if (better(v, static_cast<int>(i), bv, bi)) { bv = v; bi = static_cast<int>(i); }
    }
    auto reduce = [&]() {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; }
        }
        if ((threadIdx.x & 31) == 0) { sv[threadIdx.x >> 5] = bv; si[threadIdx.x >> 5] = bi; }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < k_argmax_threads / 32; ++w)
                if (better(sv[w], si[w], bv, bi)) { bv = sv[w]; bi = si[w]; }
        }
    };
    reduce();
    if (threadIdx.x == 0) {
        part_val[s * k_argmax_parts + part] = bv;
        part_idx[s * k_argmax_parts + part] = bi;
        __threadfence();
        last = atomicAdd(ticket + s, 1u) == k_argmax_parts - 1;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    bv = -INFINITY;
    bi = INT_MAX;
    for (int j = threadIdx.x; j < k_argmax_parts; j += k_argmax_threads) {
        const float v = __ldcg(part_val + s * k_argmax_parts + j);
        const int i = __ldcg(part_idx + s * k_argmax_parts + j);
        if (better(v, i, bv, bi)) { bv = v; bi = i; }
    }
    __syncthreads();  // sv/si reuse
    reduce();
    if (threadIdx.x == 0) {
        p.token[s] = bi == INT_MAX ? -1 : bi;
        ticket[s] = 0;
    }
}

// ---- Philox4x32-10 (Salmon et al., SC'11) ---------------------------------------------

GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t mulhi32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

/// Philox4x32-10 of counter c under key k (host and device, same bits).
GDN_HOST_DEVICE GDN_FORCEINLINE uint4 philox4x32(uint4 c, uint2 k) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int r = 0; r < 10; ++r) {
        const uint32_t hi0 = mulhi32(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        const uint32_t hi1 = mulhi32(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k.x += 0x9E3779B9u;
        k.y += 0xBB67AE85u;
    }
    return c;
}

/// Uniform in [0, 1) from (seed, step, sequence).
GDN_DEVICE GDN_FORCEINLINE float uniform01(uint64_t seed, int32_t step, int seq) {
    const uint4 r = philox4x32(make_uint4(static_cast<uint32_t>(step), static_cast<uint32_t>(seq), 0u, 0u),
                               make_uint2(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)));
    return static_cast<float>(r.x >> 8) * (1.f / 16777216.f);
}

// Order-preserving float -> uint32 key (NaN mapped below -inf).
GDN_DEVICE GDN_FORCEINLINE uint32_t order_key(float v) {
    if (v != v) return 0u;
    const uint32_t u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

constexpr int k_threads = 1024;
constexpr int k_warps = k_threads / 32;

struct SampleArgs {
    const float* logits;
    int64_t n_vocab;
    int32_t* token;
    float inv_temp;
    int k;          // candidates (0: whole vocabulary, inverse CDF)
    float top_p;    // >= 1: off
    uint64_t seed;
    const int32_t* step;
};

// Calls fn(i, z[i], active) for every i < n, the same number of times in every thread of the
// block (inactive calls past the end), so fn may use warp-wide intrinsics. Rows that are
// 16-byte aligned are read as float4, 4 loads in flight per thread: one block must stream
// a whole 1 MB row, so its load latency is the cost.
template <class Fn>
GDN_DEVICE GDN_FORCEINLINE void for_each_logit(const float* z, int n, Fn&& fn) {
    constexpr int U = 4;
    const int tid = threadIdx.x;
    if ((reinterpret_cast<uintptr_t>(z) & 15) == 0) {
        const int n4 = n / 4;
        const float4* z4 = reinterpret_cast<const float4*>(z);
        for (int base = 0; base < n4; base += U * k_threads) {
            float4 v[U];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int j = base + u * k_threads + tid;
                v[u] = j < n4 ? __ldcg(z4 + j) : make_float4(0.f, 0.f, 0.f, 0.f);
            }
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int j = base + u * k_threads + tid;
                const bool act = j < n4;
                fn(4 * j, v[u].x, act);
                fn(4 * j + 1, v[u].y, act);
                fn(4 * j + 2, v[u].z, act);
                fn(4 * j + 3, v[u].w, act);
            }
        }
        for (int base = 4 * n4; base < n; base += k_threads) {
            const int i = base + tid;
            fn(i, i < n ? __ldcg(z + i) : 0.f, i < n);
        }
    } else {
        for (int base = 0; base < n; base += U * k_threads) {
            float v[U];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int i = base + u * k_threads + tid;
                v[u] = i < n ? __ldcg(z + i) : 0.f;
            }
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int i = base + u * k_threads + tid;
                fn(i, v[u], i < n);
            }
        }
    }
}

template <class T>
GDN_DEVICE GDN_FORCEINLINE T warp_inclusive_scan(T v) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const T n = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += n;
    }
    return v;
}

// Inclusive scan over the block's threads in thread order; `total` gets the block sum.
template <class T>
GDN_DEVICE T block_inclusive_scan(T v, T* warp_tot, T& total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_inclusive_scan(v);
    if (lane == 31) warp_tot[warp] = v;
    __syncthreads();
    if (warp == 0) {
        T t = warp_tot[lane];
        t = warp_inclusive_scan(t);
        warp_tot[lane] = t;
    }
    __syncthreads();
    if (warp > 0) v += warp_tot[warp - 1];
    total = warp_tot[k_warps - 1];
    __syncthreads();
    return v;
}

static __global__ void __launch_bounds__(k_threads) sample_kernel(const SampleArgs a) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    __shared__ float fred[k_warps];
    __shared__ uint32_t ured[k_warps];
    __shared__ uint32_t hist[2048];
    __shared__ unsigned long long cand[k_max_top_k];  // (key << 32) | ~index, sorted descending
    __shared__ float cum[k_max_top_k];
    __shared__ uint32_t sel_prefix, sel_remaining, n_above, n_ties;
    __shared__ int first_hit, nucleus;
    __shared__ float shared_m;

    const int s = blockIdx.x;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const float* z = a.logits + s * a.n_vocab;
    const int n = static_cast<int>(a.n_vocab);
    const float u = uniform01(a.seed, *a.step, s);

    if (a.k == 0) {
        // ---- whole vocabulary: p_i ~ exp((z_i - m) / T), inverse CDF in index order ----
        float m = -INFINITY;
        for_each_logit(z, n, [&](int, float v, bool act) { if (act) m = fmaxf(m, v); });
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        if (lane == 0) fred[warp] = m;
        __syncthreads();
        if (tid == 0) {
            float t = fred[0];
            for (int w = 1; w < k_warps; ++w) t = fmaxf(t, fred[w]);
            shared_m = t;
        }
        __syncthreads();
        m = shared_m;
        auto prob = [&](float v) { return v == v ? expf((v - m) * a.inv_temp) : 0.f; };
        // each warp owns a contiguous range, read 32 at a time (coalesced), 8 loads in flight
        const int per = (n + k_warps - 1) / k_warps;
        const int lo = warp * per, hi = min(n, lo + per);
        float sum = 0.f;
        for (int base = lo; base < hi; base += 8 * 32) {
            float v[8];
#pragma unroll
            for (int u = 0; u < 8; ++u) {
                const int i = base + 32 * u + lane;
                v[u] = i < hi ? __ldcg(z + i) : NAN;
            }
#pragma unroll
            for (int u = 0; u < 8; ++u) sum += prob(v[u]);
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        __syncthreads();  // fred reuse
        if (lane == 0) fred[warp] = sum;
        __syncthreads();
        if (warp == 0) {
            const float own = fred[lane];
            const float incl = warp_inclusive_scan(own);
            const float total = __shfl_sync(0xffffffffu, incl, 31);
            const float target = u * total;
            const unsigned hit = __ballot_sync(0xffffffffu, incl > target && own > 0.f);
            const unsigned nz = __ballot_sync(0xffffffffu, own > 0.f);
            // no hit only through rounding: take the last warp with any mass
            const int w = hit ? __ffs(hit) - 1 : (nz ? 31 - __clz(nz) : 0);
            const float incl_w = __shfl_sync(0xffffffffu, incl, w);
            const float own_w = __shfl_sync(0xffffffffu, own, w);
            if (lane == 0) {
                first_hit = w;
                shared_m = target - (incl_w - own_w);
            }
        }
        __syncthreads();
        // the whole block splits the chosen warp's range: per-thread sums, scan, then one
        // thread walks its few elements to the target
        const float target = shared_m;
        const int wlo = first_hit * per, whi = min(n, wlo + per);
        const int per_t = (whi - wlo + k_threads - 1) / k_threads;
        const int tlo = min(whi, wlo + tid * per_t), thi = min(whi, tlo + per_t);
        float local = 0.f;
        for (int i = tlo; i < thi; ++i) local += prob(__ldcg(z + i));
        float range_total;
        const float incl = block_inclusive_scan(local, fred, range_total);
        if (tid == 0) { nucleus = INT_MAX; first_hit = -1; }  // reused: chosen thread, last with mass
        __syncthreads();
        if (local > 0.f) {
            if (incl > target) atomicMin(&nucleus, tid);
            atomicMax(&first_hit, tid);
        }
        __syncthreads();
        const int chosen = nucleus != INT_MAX ? nucleus : first_hit;
        if (tid == chosen) {
            float running = incl - local;
            int pick = -1;
            for (int i = tlo; i < thi; ++i) {
                const float p = prob(__ldcg(z + i));
                if (p > 0.f) {
                    pick = i;
                    running += p;
                    if (running > target) break;
                }
            }
            a.token[s] = pick;
        } else if (chosen < 0 && tid == 0) {
            a.token[s] = -1;
        }
        return;
    }

    // ---- top-k / top-p: radix select the K-th largest key --------------------------------
    const int k = min(a.k, n);
    if (tid == 0) { sel_prefix = 0; sel_remaining = static_cast<uint32_t>(k); }
    uint32_t mask = 0;
    constexpr int shifts[3] = {21, 10, 0};
    constexpr int widths[3] = {11, 11, 10};
#pragma unroll
    for (int pass = 0; pass < 3; ++pass) {
        const int nbins = 1 << widths[pass];
        for (int b = tid; b < nbins; b += k_threads) hist[b] = 0;
        __syncthreads();
        const uint32_t prefix = sel_prefix;
        for_each_logit(z, n, [&](int, float v, bool act) {
            const uint32_t key = order_key(v);
            const bool hit = act && (key & mask) == prefix;
            const uint32_t bin = hit ? (key >> shifts[pass]) & (nbins - 1) : 0xffffffffu;
            // logits crowd into few bins: one atomic per distinct bin of the warp
            const unsigned peers = __match_any_sync(0xffffffffu, bin);
            if (hit && (threadIdx.x & 31) == __ffs(peers) - 1) atomicAdd(&hist[bin], __popc(peers));
        });
        __syncthreads();
        // thread t owns bins in descending order: t * per .. t * per + per - 1 from the top
        const int per = nbins / k_threads;  // 2 or 1
        uint32_t own = 0;
        for (int j = 0; j < per; ++j) own += hist[nbins - 1 - (tid * per + j)];
        uint32_t total;
        const uint32_t incl = block_inclusive_scan(own, ured, total);
        uint32_t above = incl - own;
        const uint32_t remaining = sel_remaining;
        __syncthreads();  // everyone has read sel_remaining
        for (int j = 0; j < per; ++j) {
            const int b = nbins - 1 - (tid * per + j);
            const uint32_t c = hist[b];
            if (above < remaining && remaining <= above + c) {
                sel_prefix = prefix | (static_cast<uint32_t>(b) << shifts[pass]);
                sel_remaining = remaining - above;
            }
            above += c;
        }
        mask |= static_cast<uint32_t>(nbins - 1) << shifts[pass];
        __syncthreads();
    }
    const uint32_t thr = sel_prefix;
    const uint32_t ties = sel_remaining;  // elements equal to thr that belong to the top k
    if (tid == 0) { n_above = 0; n_ties = 0; }
    for (int j = tid; j < k_max_top_k; j += k_threads) cand[j] = 0ull;
    __syncthreads();
    const unsigned lanes_below = (1u << lane) - 1u;
    for_each_logit(z, n, [&](int i, float v, bool act) {
        const uint32_t key = order_key(v);
        const unsigned long long c = (static_cast<unsigned long long>(key) << 32) | (~static_cast<uint32_t>(i));
        const bool above = act && key > thr, tie = act && key == thr;
        const unsigned ma = __ballot_sync(0xffffffffu, above), mt = __ballot_sync(0xffffffffu, tie);
        uint32_t base_a = 0, base_t = 0;
        if (lane == 0) {
            if (ma) base_a = atomicAdd(&n_above, static_cast<uint32_t>(__popc(ma)));
            if (mt) base_t = atomicAdd(&n_ties, static_cast<uint32_t>(__popc(mt)));
        }
        base_a = __shfl_sync(0xffffffffu, base_a, 0);
        base_t = __shfl_sync(0xffffffffu, base_t, 0);
        if (above) cand[base_a + __popc(ma & lanes_below)] = c;
        if (tie) {
            const uint32_t t = base_t + __popc(mt & lanes_below);
            if (t < ties) cand[static_cast<uint32_t>(k) - ties + t] = c;
        }
    });
    __syncthreads();
    // bitonic sort, descending
    for (int size = 2; size <= k_max_top_k; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            const int j = tid ^ stride;
            if (j > tid) {
                const unsigned long long x = cand[tid], y = cand[j];
                const bool desc = (tid & size) == 0;
                if (desc ? x < y : x > y) { cand[tid] = y; cand[j] = x; }
            }
            __syncthreads();
        }
    }
    const int idx = static_cast<int>(~static_cast<uint32_t>(cand[tid] & 0xffffffffu));
    const float z0 = z[static_cast<int>(~static_cast<uint32_t>(cand[0] & 0xffffffffu))];
    float p = 0.f;
    if (tid < k) {
        const float v = z[idx];
        p = v == v ? expf((v - z0) * a.inv_temp) : 0.f;
    }
    float total;
    const float c = block_inclusive_scan(p, fred, total);
    cum[tid] = c;
    if (tid == 0) { nucleus = k; first_hit = k_max_top_k; }
    __syncthreads();
    if (a.top_p < 1.f && tid < k && c >= a.top_p * total) atomicMin(&nucleus, tid + 1);
    __syncthreads();
    const float target = u * cum[nucleus - 1];
    if (tid < nucleus && c > target && p > 0.f) atomicMin(&first_hit, tid);
    __syncthreads();
    if (tid == 0) {
        const int j = first_hit < k_max_top_k ? first_hit : 0;
        const uint32_t key = static_cast<uint32_t>(cand[j] >> 32);
        a.token[s] = key == 0u ? -1 : static_cast<int>(~static_cast<uint32_t>(cand[j] & 0xffffffffu));
    }
}

inline void check_common(const float* logits, int64_t n_vocab, int n_seq, const int32_t* token,
                         const char* what) {
    GDN_CHECK(logits != nullptr && token != nullptr, what, ": logits or token is null");
    GDN_CHECK(n_vocab > 0 && n_vocab < (int64_t(1) << 31), what, ": n_vocab = ", n_vocab, " out of range");
    GDN_CHECK(n_seq >= 1 && n_seq <= 65535, what, ": n_seq = ", n_seq, " out of range");
}

}  // namespace sampling_detail

/// token[s] = argmax_i logits[s][i] (lowest index on ties).
inline void launch_argmax(const ArgmaxParams& p, cudaStream_t stream) {
    sampling_detail::check_common(p.logits, p.n_vocab, p.n_seq, p.token, "launch_argmax");
    GDN_CHECK(p.workspace != nullptr, "launch_argmax: workspace is null (sampling_workspace_bytes)");
    GDN_CHECK((reinterpret_cast<uintptr_t>(p.workspace) & 3) == 0, "launch_argmax: workspace must be 4-byte aligned");
    launch_kernel("launch_argmax", sampling_detail::argmax_kernel, dim3(k_argmax_parts, static_cast<unsigned>(p.n_seq)),
                  dim3(sampling_detail::k_argmax_threads), 0, stream, p);
}

/// token[s] drawn from softmax(logits[s] / temperature) restricted by top_k / top_p;
/// greedy (launch_argmax) when temperature <= 0.
inline void launch_sample(const SampleParams& p, cudaStream_t stream) {
    sampling_detail::check_common(p.logits, p.n_vocab, p.n_seq, p.token, "launch_sample");
    if (!(p.temperature > 0.f)) {
        ArgmaxParams g;
        g.logits = p.logits;
        g.n_vocab = p.n_vocab;
        g.n_seq = p.n_seq;
        g.token = p.token;
        g.workspace = p.workspace;
        launch_argmax(g, stream);
        return;
    }
    GDN_CHECK(std::isfinite(p.temperature), "launch_sample: temperature must be finite, got ", p.temperature);
    GDN_CHECK(p.top_k >= 0 && p.top_k <= k_max_top_k, "launch_sample: top_k = ", p.top_k,
              " must be in 0..", k_max_top_k, " (0: off)");
    GDN_CHECK(p.top_p > 0.f, "launch_sample: top_p = ", p.top_p, " must be positive (>= 1: off)");
    GDN_CHECK(p.step != nullptr, "launch_sample: step (device int32) is null");
    sampling_detail::SampleArgs a{};
    a.logits = p.logits;
    a.n_vocab = p.n_vocab;
    a.token = p.token;
    a.inv_temp = 1.f / p.temperature;
    a.top_p = p.top_p;
    a.k = p.top_k > 0 ? p.top_k : (p.top_p < 1.f ? k_max_top_k : 0);
    a.seed = p.seed;
    a.step = p.step;
    launch_kernel("launch_sample", sampling_detail::sample_kernel, dim3(static_cast<unsigned>(p.n_seq)),
                  dim3(sampling_detail::k_threads), 0, stream, a);
}

}  // namespace gdn::kernels

// gdn/kernels/moe.cuh - the expert half of a mixture-of-experts MLP over the n rows of a step,
// once the router GEMV has written every row's logits (blocks/moe_block.cuh enqueues it):
//
//   moe_gate_up   for row s and slot j (the top_k chosen experts, then the shared expert):
//                   h[s][j] = w_sj * silu(G_j n_s) * (U_j n_s),   n_s = RMSNorm(x_s) * norm_w
//                 w_sj = exp(l_e - l_max) / sum over the chosen of exp(l - l_max) (softmax over
//                 all experts renormalised over the chosen: the same), or sigmoid(shared gate
//                 logit) for the shared expert. Every block redoes its row's routing from the
//                 logits (k rounds of a block-wide argmax, ties to the lower expert index, as
//                 the CPU reference); block 0 of each routed slot records the expert in ids.
//   moe_down      x_s <- x_s + sum_j D_j h[s][j]   (in place; the routing weights are in h)
//
// Both read only the chosen experts' rows: bytes per row s = top_k * (2 * n_ff * row_bytes(n_embd)
// + n_embd * row_bytes(n_ff)) plus the shared expert's, and the activations (x, h) from L2.
// Layout of a launch: grid (row blocks, slots, rows s) for gate/up and (row blocks, rows s)
// for down; a block of W warps, each warp R weight rows (2 R for gate/up) staged whole into
// shared memory with 16-byte cp.async at their file offset mod 16 (the alignment the format
// decoders expect, formats/base.hpp), then decoded with the format's decode8 (CUDA cores,
// float32 sums). Any column count that is a multiple of the format's unit (tiny test models
// included) works.
//
// A launch covers the slots [slot_begin, slot_end) of one weight format: the shared expert
// joins the routed experts' launch when its tensors share their format, else it gets its own
// (blocks/moe_block.cuh). Decode rows (sequences) and prefill rows (tokens) are the same to
// these kernels: each row reads its own experts (prefill does not group tokens by expert).
//
// PDL (launch.cuh): both kernels wait before touching anything, the expert addresses depend
// on the logits and ids their predecessors write.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/ptx.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels {

/// One launch of moe_gate_up or moe_down (see the file comment). Activations float32.
struct MoeParams {
    DType type = DType::f32;          ///< format of the expert tensors of the covered slots
    int slot_begin = 0, slot_end = 0; ///< slots covered: [0, top_k) routed, top_k the shared expert
    int n = 1;                        ///< rows (sequences or tokens)
    int n_embd = 0;
    // routing
    const float* logits = nullptr;    ///< row s's router logits at logits[s * logit_stride + e]
    int logit_stride = 0;
    const float* sh_logit = nullptr;  ///< row s's shared-expert gate logit at sh_logit[s * sh_stride]
    int sh_stride = 0;
    int n_expert = 0, top_k = 0;
    int32_t* ids = nullptr;           ///< [n, top_k] chosen experts, written by gate/up, read by down
    // routed experts: expert e's matrices at base + e * expert_bytes
    const std::byte* gate = nullptr;
    const std::byte* up = nullptr;
    int64_t gate_up_expert_bytes = 0;
    const std::byte* down = nullptr;
    int64_t down_expert_bytes = 0;
    int n_ff = 0;                     ///< routed expert width
    // shared expert
    const std::byte* sh_gate = nullptr;
    const std::byte* sh_up = nullptr;
    const std::byte* sh_down = nullptr;
    int n_ff_sh = 0;
    // activations
    const float* x = nullptr;         ///< [n, n_embd] gate/up: input (normalised here); down: residual
    const float* norm_w = nullptr;    ///< [n_embd] gate/up: post-attention norm weight
    float norm_eps = 1e-6f;
    float* h = nullptr;               ///< [n, h_stride]: slot j < top_k at j * n_ff, shared at top_k * n_ff
    int h_stride = 0;
    float* y = nullptr;               ///< down: [n, n_embd], y = x + ..., may equal x
};

namespace moe_detail {

constexpr int k_max_warps = 8;
constexpr int k_max_rows_per_warp = 4;       // R; the gate/up kernel keeps R row pointers per stream
constexpr int k_stage_budget = 8 * 1024;     // staged weight bytes per warp that R aims at
constexpr int k_smem_budget = 160 * 1024;    // dynamic shared memory a block may take

/// Bytes of the 16-byte granules that hold a row of `row_bytes` at any offset mod 16.
constexpr int64_t stage_bytes(int64_t row_bytes) { return (row_bytes + 15) / 16 * 16 + 16; }

/// Launch shape: W warps of R rows, the per-warp staging stride and the dynamic shared memory.
struct Shape {
    int warps = 0, rows_per_warp = 0;
    int64_t warp_bytes = 0;  // staging of one warp
    int64_t smem = 0;        // activations + staging
};

inline Shape shape_for(int64_t per_row_stage, int64_t act_bytes, const char* what) {
    Shape s;
    int64_t r = k_stage_budget / per_row_stage;
    s.rows_per_warp = static_cast<int>(r < 1 ? 1 : r > k_max_rows_per_warp ? k_max_rows_per_warp : r);
    s.warp_bytes = per_row_stage * s.rows_per_warp;
    const int64_t w = (k_smem_budget - act_bytes) / s.warp_bytes;
    s.warps = static_cast<int>(w > k_max_warps ? k_max_warps : w);
    GDN_CHECK(s.warps >= 1, what, ": one warp's rows (", s.warp_bytes, " B) and the activations (", act_bytes,
              " B) do not fit in ", k_smem_budget, " B of shared memory");
    s.smem = act_bytes + s.warps * s.warp_bytes;
    return s;
}

/// Copies `row_bytes` bytes at `src` (any address) into `dst` (16-aligned) as whole 16-byte
/// granules; returns where the row starts in dst. Lanes of one warp share the work.
GDN_DEVICE GDN_FORCEINLINE const uint8_t* stage_row(uint8_t* dst, const std::byte* src, int64_t row_bytes, int lane) {
    const auto begin = reinterpret_cast<uintptr_t>(src);
    const uintptr_t a0 = begin & ~uintptr_t(15);
    const int words = static_cast<int>(((begin - a0) + row_bytes + 15) / 16);
    for (int i = lane; i < words; i += 32) cp_async16(dst + 16 * i, reinterpret_cast<const void*>(a0 + 16 * i));
    return dst + (begin - a0);
}

/// Lane `lane`'s share of sum_c W[c] x[c] over one staged row of `cols` columns (runs of 8
/// columns to lanes in turn); for gate/up `w2` is a second row dotted with the same x.
template <class F, bool Two>
GDN_DEVICE GDN_FORCEINLINE void dot_rows(const uint8_t* w1, const uint8_t* w2, const float* xs, int cols, int lane,
                                         float& acc1, float& acc2) {
    const int n_runs = cols / 8;
    for (int g = lane; g < n_runs; g += 32) {
        const int unit = g / F::runs, run = g - unit * F::runs;
        const float4 x0 = reinterpret_cast<const float4*>(xs + 8 * g)[0];
        const float4 x1 = reinterpret_cast<const float4*>(xs + 8 * g)[1];
        const float xv[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
        [[maybe_unused]] float sx = 0.f;
        if constexpr (F::has_min) {
#pragma unroll
            for (int k = 0; k < 8; ++k) sx += xv[k];
        }
        auto one = [&](const uint8_t* w, float& acc) {
            float q[8], scale, mn;
            F::decode8(w + unit * F::unit_bytes, run, q, scale, mn);
            float d = 0.f;
#pragma unroll
            for (int k = 0; k < 8; ++k) d = fmaf(q[k], xv[k], d);
            acc = fmaf(scale, d, acc);
            if constexpr (F::has_min) acc = fmaf(-mn, sx, acc);
        };
        one(w1, acc1);
        if constexpr (Two) one(w2, acc2);
    }
}

/// Block-wide top-k of row s's logits: expert[0..k) best first (ties to the lower index) and
/// their renormalised softmax weights. Every thread of the block calls it.
GDN_DEVICE inline void route(const MoeParams& p, int s, float* lg, int* expert, float* weight) {
    __shared__ float red_v[32];
    __shared__ int red_i[32];
    __shared__ float top_v[k_max_experts_used];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, n_warps = blockDim.x >> 5;
    for (int e = tid; e < p.n_expert; e += blockDim.x) lg[e] = p.logits[int64_t(s) * p.logit_stride + e];
    __syncthreads();
    for (int t = 0; t < p.top_k; ++t) {
        float bv = -INFINITY;
        int bi = 0x7fffffff;
        for (int e = tid; e < p.n_expert; e += blockDim.x) {
            const float v = lg[e];
            if (v > bv || (v == bv && e < bi)) { bv = v; bi = e; }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
        }
        if (lane == 0) { red_v[warp] = bv; red_i[warp] = bi; }
        __syncthreads();
        if (tid == 0) {
            for (int w = 1; w < n_warps; ++w)
                if (red_v[w] > bv || (red_v[w] == bv && red_i[w] < bi)) { bv = red_v[w]; bi = red_i[w]; }
            expert[t] = bi;
            top_v[t] = bv;
            lg[bi] = -INFINITY;  // taken
        }
        __syncthreads();
    }
    if (tid == 0) {
        float sum = 0.f;
        for (int t = 0; t < p.top_k; ++t) sum += expf(top_v[t] - top_v[0]);
        for (int t = 0; t < p.top_k; ++t) weight[t] = expf(top_v[t] - top_v[0]) / sum;
    }
    __syncthreads();
}

/// RMSNorm(x_s) * norm_w into xs[0..n_embd). Every thread of the block calls it.
GDN_DEVICE inline void normalise_row(const MoeParams& p, int s, float* xs) {
    __shared__ float part[32];
    __shared__ float inv;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, n_warps = blockDim.x >> 5;
    const float* x = p.x + int64_t(s) * p.n_embd;
    float ss = 0.f;
    for (int c = tid; c < p.n_embd; c += blockDim.x) {
        const float v = x[c];
        ss += v * v;
    }
    ss = warp_sum(ss);
    if (lane == 0) part[warp] = ss;
    __syncthreads();
    if (tid == 0) {
        float t = 0.f;
        for (int w = 0; w < n_warps; ++w) t += part[w];
        inv = rsqrtf(t / float(p.n_embd) + p.norm_eps);
    }
    __syncthreads();
    for (int c = tid; c < p.n_embd; c += blockDim.x) xs[c] = x[c] * inv * p.norm_w[c];
}

/// grid (ceil(max rows / (W R)), slot_end - slot_begin, n), block 32 W; dynamic shared
/// memory: the normalised row [n_embd] floats, then W stagings of R (gate, up) row pairs.
template <class F>
__global__ void __launch_bounds__(32 * k_max_warps) moe_gate_up_kernel(const MoeParams p, int rows_per_warp,
                                                                        int64_t warp_bytes, int64_t row_stage) {
    pdl_wait();
    pdl_launch_dependents();
    extern __shared__ __align__(16) uint8_t smem[];
    __shared__ float lg[k_max_experts];
    __shared__ int expert[k_max_experts_used];
    __shared__ float weight[k_max_experts_used];
    const int s = blockIdx.z, j = p.slot_begin + blockIdx.y;
    const bool routed = j < p.top_k;
    const int rows = routed ? p.n_ff : p.n_ff_sh;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = (blockIdx.x * (blockDim.x >> 5) + warp) * rows_per_warp;
    if (static_cast<int>(blockIdx.x * (blockDim.x >> 5)) * rows_per_warp >= rows) return;  // whole block idle

    const std::byte *g, *u;
    float w;
    if (routed) {
        route(p, s, lg, expert, weight);
        const int e = expert[j];
        if (blockIdx.x == 0 && threadIdx.x == 0) p.ids[int64_t(s) * p.top_k + j] = e;
        g = p.gate + e * p.gate_up_expert_bytes;
        u = p.up + e * p.gate_up_expert_bytes;
        w = weight[j];
    } else {
        g = p.sh_gate;
        u = p.sh_up;
        w = 1.f / (1.f + expf(-p.sh_logit[int64_t(s) * p.sh_stride]));
    }
    const int64_t row_bytes = dtype_row_bytes(F::dtype, p.n_embd);
    float* xs = reinterpret_cast<float*>(smem);
    uint8_t* stage = smem + (int64_t(p.n_embd) * 4 + 15) / 16 * 16 + warp * warp_bytes;
    const uint8_t* src[k_max_rows_per_warp][2];
    for (int i = 0; i < rows_per_warp; ++i) {
        const int r = min(row0 + i, rows - 1);
        src[i][0] = stage_row(stage + (2 * i) * row_stage, g + r * row_bytes, row_bytes, lane);
        src[i][1] = stage_row(stage + (2 * i + 1) * row_stage, u + r * row_bytes, row_bytes, lane);
    }
    cp_async_commit();
    normalise_row(p, s, xs);
    cp_async_wait_all();
    __syncthreads();

    float* h = p.h + int64_t(s) * p.h_stride + int64_t(j) * p.n_ff;
    for (int i = 0; i < rows_per_warp; ++i) {
        if (row0 + i >= rows) break;
        float ag = 0.f, au = 0.f;
        dot_rows<F, true>(src[i][0], src[i][1], xs, p.n_embd, lane, ag, au);
        ag = warp_sum(ag);
        au = warp_sum(au);
        if (lane == 0) h[row0 + i] = w * (ag / (1.f + expf(-ag))) * au;
    }
}

/// grid (ceil(n_embd / (W R)), n), block 32 W; dynamic shared memory: the row's h slots, then
/// W stagings of R output rows, each the covered slots' rows of that output back to back.
template <class F>
__global__ void __launch_bounds__(32 * k_max_warps) moe_down_kernel(const MoeParams p, int rows_per_warp,
                                                                     int64_t warp_bytes, int64_t stage_routed,
                                                                     int64_t stage_sh) {
    pdl_wait();
    pdl_launch_dependents();
    extern __shared__ __align__(16) uint8_t smem[];
    const int s = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = (blockIdx.x * (blockDim.x >> 5) + warp) * rows_per_warp;
    const int n_routed = min(p.slot_end, p.top_k) - min(p.slot_begin, p.top_k);
    const bool shared = p.slot_end > p.top_k;
    const int h_begin = p.slot_begin * p.n_ff;  // first h value this launch reads
    const int h_len = n_routed * p.n_ff + (shared ? p.n_ff_sh : 0);
    const int64_t rb_routed = dtype_row_bytes(F::dtype, p.n_ff), rb_sh = dtype_row_bytes(F::dtype, p.n_ff_sh);
    const int64_t per_row = n_routed * stage_routed + (shared ? stage_sh : 0);

    __shared__ const std::byte* base[k_max_experts_used];  // the covered routed experts' down matrices
    if (static_cast<int>(threadIdx.x) < n_routed)
        base[threadIdx.x] = p.down + p.ids[int64_t(s) * p.top_k + p.slot_begin + threadIdx.x] * p.down_expert_bytes;
    __syncthreads();
    float* hs = reinterpret_cast<float*>(smem);
    uint8_t* stage = smem + (int64_t(h_len) * 4 + 15) / 16 * 16 + warp * warp_bytes;
    for (int i = 0; i < rows_per_warp; ++i) {
        const int r = min(row0 + i, p.n_embd - 1);
        uint8_t* dst = stage + i * per_row;
        for (int j = 0; j < n_routed; ++j) stage_row(dst + j * stage_routed, base[j] + r * rb_routed, rb_routed, lane);
        if (shared) stage_row(dst + n_routed * stage_routed, p.sh_down + r * rb_sh, rb_sh, lane);
    }
    cp_async_commit();
    const float* hrow = p.h + int64_t(s) * p.h_stride + h_begin;
    for (int c = threadIdx.x; c < h_len; c += blockDim.x) hs[c] = hrow[c];
    cp_async_wait_all();
    __syncthreads();

    for (int i = 0; i < rows_per_warp; ++i) {
        const int r = row0 + i;
        if (r >= p.n_embd) break;
        const uint8_t* rows = stage + i * per_row;
        float acc = 0.f, unused = 0.f;
        for (int j = 0; j < n_routed; ++j) {
            const int off = static_cast<int>(reinterpret_cast<uintptr_t>(base[j] + r * rb_routed) & 15);
            dot_rows<F, false>(rows + j * stage_routed + off, nullptr, hs + j * p.n_ff, p.n_ff, lane, acc, unused);
        }
        if (shared) {
            const int off = static_cast<int>(reinterpret_cast<uintptr_t>(p.sh_down + r * rb_sh) & 15);
            dot_rows<F, false>(rows + n_routed * stage_routed + off, nullptr, hs + n_routed * p.n_ff, p.n_ff_sh, lane,
                               acc, unused);
        }
        acc = warp_sum(acc);
        if (lane == 0) {
            const int64_t o = int64_t(s) * p.n_embd + r;
            p.y[o] = p.x[o] + acc;
        }
    }
}

inline void check(const MoeParams& p, bool down, DType want, const char* what) {
    GDN_CHECK(p.type == want, what, ": params.type is ", dtype_name(p.type), " but the kernel is for ",
              dtype_name(want));
    GDN_CHECK(p.n >= 1 && p.n <= 65535, what, ": n = ", p.n, " rows, not in 1..65535");
    GDN_CHECK(p.top_k >= 1 && p.top_k <= k_max_experts_used && p.n_expert >= p.top_k && p.n_expert <= k_max_experts,
              what, ": top_k ", p.top_k, " of ", p.n_expert, " experts is outside the kernel's limits (",
              k_max_experts_used, " of ", k_max_experts, ")");
    GDN_CHECK(p.slot_begin >= 0 && p.slot_begin < p.slot_end && p.slot_end <= p.top_k + (p.sh_gate ? 1 : 0) &&
                  (p.slot_begin == 0 || p.slot_begin == p.top_k),
              what, ": slots [", p.slot_begin, ", ", p.slot_end, ") are not the routed experts and/or the shared one");
    const int64_t unit = dtype_traits(want).block_elems > 8 ? dtype_traits(want).block_elems : 8;
    const bool routed = p.slot_begin < p.top_k, shared = p.slot_end > p.top_k;
    GDN_CHECK(p.n_embd > 0 && p.n_embd % unit == 0, what, ": n_embd ", p.n_embd, " is not a multiple of ", unit);
    GDN_CHECK(!routed || (p.n_ff > 0 && p.n_ff % unit == 0), what, ": n_ff ", p.n_ff, " is not a multiple of ", unit);
    GDN_CHECK(!shared || (p.n_ff_sh > 0 && p.n_ff_sh % unit == 0), what, ": n_ff_sh ", p.n_ff_sh,
              " is not a multiple of ", unit);
    GDN_CHECK(p.x && p.h && p.ids, what, ": x, h or ids is null");
    if (down) {
        GDN_CHECK(p.y && (!routed || p.down) && (!shared || p.sh_down), what, ": y or a down matrix is null");
    } else {
        GDN_CHECK(p.norm_w && p.logits && (!routed || (p.gate && p.up)) && (!shared || (p.sh_gate && p.sh_up && p.sh_logit)),
                  what, ": norm_w, logits, a gate/up matrix or the shared gate logit is null");
    }
    GDN_CHECK(p.h_stride >= p.top_k * p.n_ff + (p.sh_gate ? p.n_ff_sh : 0), what, ": h_stride ", p.h_stride,
              " is below top_k * n_ff + n_ff_sh");
    GDN_CHECK((reinterpret_cast<uintptr_t>(p.x) & 15) == 0 && (reinterpret_cast<uintptr_t>(p.h) & 15) == 0, what,
              ": x and h must be 16-byte aligned");
}

template <class F>
void launch_gate_up(const MoeParams& p, cudaStream_t stream) {
    check(p, false, F::dtype, "launch_moe_gate_up");
    const int64_t row_stage = stage_bytes(dtype_row_bytes(F::dtype, p.n_embd));
    const int64_t act = (int64_t(p.n_embd) * 4 + 15) / 16 * 16;
    const Shape sh = shape_for(2 * row_stage, act, "launch_moe_gate_up");
    const bool routed = p.slot_begin < p.top_k, shared = p.slot_end > p.top_k;
    const int max_rows = routed && shared ? (p.n_ff > p.n_ff_sh ? p.n_ff : p.n_ff_sh) : routed ? p.n_ff : p.n_ff_sh;
    const int per_block = sh.warps * sh.rows_per_warp;
    auto kernel = moe_gate_up_kernel<F>;
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(sh.smem)));
    const dim3 grid((max_rows + per_block - 1) / per_block, p.slot_end - p.slot_begin, p.n);
    launch_kernel("moe_gate_up_kernel", kernel, grid, dim3(32 * sh.warps), static_cast<size_t>(sh.smem), stream, p,
                  sh.rows_per_warp, sh.warp_bytes, row_stage);
}

template <class F>
void launch_down(const MoeParams& p, cudaStream_t stream) {
    check(p, true, F::dtype, "launch_moe_down");
    const bool shared = p.slot_end > p.top_k;
    const int n_routed = (p.slot_end < p.top_k ? p.slot_end : p.top_k) - (p.slot_begin < p.top_k ? p.slot_begin : p.top_k);
    const int64_t st_routed = stage_bytes(dtype_row_bytes(F::dtype, p.n_ff));
    const int64_t st_sh = shared ? stage_bytes(dtype_row_bytes(F::dtype, p.n_ff_sh)) : 0;
    const int64_t h_len = int64_t(n_routed) * p.n_ff + (shared ? p.n_ff_sh : 0);
    const Shape sh = shape_for(n_routed * st_routed + st_sh, (h_len * 4 + 15) / 16 * 16, "launch_moe_down");
    const int per_block = sh.warps * sh.rows_per_warp;
    auto kernel = moe_down_kernel<F>;
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(sh.smem)));
    const dim3 grid((p.n_embd + per_block - 1) / per_block, p.n);
    launch_kernel("moe_down_kernel", kernel, grid, dim3(32 * sh.warps), static_cast<size_t>(sh.smem), stream, p,
                  sh.rows_per_warp, sh.warp_bytes, st_routed, st_sh);
}

}  // namespace moe_detail

/// h = routing weights * silu(gate) * up of the covered slots (one format, p.type).
inline void launch_moe_gate_up(const MoeParams& p, cudaStream_t stream) {
    dispatch_format(p.type, [&](auto tag) { moe_detail::launch_gate_up<decltype(tag)>(p, stream); });
}
/// y = x + sum over the covered slots of down * h (one format, p.type).
inline void launch_moe_down(const MoeParams& p, cudaStream_t stream) {
    dispatch_format(p.type, [&](auto tag) { moe_detail::launch_down<decltype(tag)>(p, stream); });
}

}  // namespace gdn::kernels

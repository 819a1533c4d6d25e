// gdn/kernels/persistent.cuh - the persistent step kernel: one resident launch runs a whole
// decode step of one sequence (embedding, every layer, the LM head) as a list of stages with
// a grid-wide barrier between consecutive stages.
//
// Why: a small model's step is ~120 kernels of a few microseconds each (0.8B: 0.1-0.4 ms of
// bytes); launch gaps, kernel ramp-up and tails cost more than the bytes. Here the blocks stay
// resident, a stage starts as soon as the barrier opens, and every stage first asks L2 for its
// share of the *next* stage's weights (cp.async.bulk.prefetch), so HBM keeps streaming while
// the blocks wait at the barrier or run a mixer stage that reads no weights.
//
// A stage runs the same device code as the multi-kernel schedule's launch (the kernels' bodies
// take their block index as an argument): gemv_mma_body / gemv_body (gemv.cuh), DeltaNetStep
// (deltanet_step.cuh), attention_decode_body (attention_decode.cuh), embedding_step
// (embedding.cuh). The blocks' enqueue code records stages into a StepProgram instead of
// launching (blocks/step_io.cuh), so both schedules share the fusions and the argument checks.
//
// Grid:   one block of k_threads (16 warps, the GEMV's block) per SM, launched cooperatively
//         (co-residency is guaranteed, so the spin barrier cannot deadlock).
// Stages: gemv     the GEMV over the whole grid (arguments planned for this grid, n_seq 1);
//         deltanet Hv head blocks of DeltaNetStep<StateT, WHT, 16 warps, split 1>, looped over
//                  the grid;
//         attention n_splits * Hkv blocks of the decode body in warps 0-7 (barrier 1), looped;
//         embedding one 256-column step per warp.
// Barriers: only where a stage touches what one since the last barrier wrote, or writes what
//         one read (the planner tracks each stage's read and written byte ranges): the
//         separate in-projections of a file that stores them in different types share x and
//         run back to back without one.
// Barrier: a counter and a generation word in device memory (GridSync, zeroed once): the last
//         block to arrive resets the counter and releases the next generation (st.release.gpu);
//         the others spin on it (ld.acquire.gpu); __syncthreads on both sides, no fences
//         (grid_sync). Every activation a later stage reads is loaded coherently (no
//         ld.global.nc: the GEMV's x and the conv input use __ldcg).
// Shared memory: dynamic = the largest stage's (the GEMV's ring, staged x and sum slots; the
//         DeltaNet and attention stages place their SharedStorage at its start).
#pragma once

#include <cuda_runtime.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/kernels/embedding.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/kernels/ptx.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels::persistent {

inline constexpr int k_threads = gemv_detail::k_threads;  // 512: the GEMV bodies' block
inline constexpr int k_warps = k_threads / 32;
inline constexpr int k_dn_warps = k_warps;                // DeltaNetStep<.., 16, 1>
inline constexpr int k_attn_group = 4;                    // G compiled for the attention stage
inline constexpr int k_param_bytes = 256;

enum class Op : uint8_t { embedding, gemv, gemv_mma, deltanet, attention };

/// One stage: what it runs, its parameters (a trivially copyable struct, by value) and the
/// weight bytes whose L2 prefetch it issues when it starts.
struct alignas(16) Stage {
    Op op = Op::gemv;
    DType type = DType::f32;  // gemv / embedding: weight format; attention: KV format
    uint8_t wht = 0;          // deltanet / attention: rotated q/k
    uint8_t bf16_state = 0;   // deltanet: bf16 state
    uint8_t sync_after = 1;   // a grid barrier before the next stage (0: the two are independent)
    int32_t blocks = 0;       // deltanet / attention: virtual blocks; attention: n_splits in aux
    int32_t aux = 0;          // attention: splits
    int32_t chunk = 0;        // attention: positions per split
    const std::byte* prefetch[2] = {nullptr, nullptr};  // e.g. the next gate/up stage's two matrices
    uint64_t prefetch_bytes[2] = {0, 0};
    alignas(16) unsigned char params[k_param_bytes];

    template <class P>
    void set(const P& p) {
        static_assert(std::is_trivially_copyable_v<P> && sizeof(P) <= k_param_bytes, "stage parameters");
        std::memcpy(params, &p, sizeof p);
    }
    template <class P>
    GDN_HOST_DEVICE const P& get() const {
        return *reinterpret_cast<const P*>(params);
    }
};
static_assert(sizeof(Stage) % 16 == 0);

/// The barrier's words (device memory, zero before the first launch; every launch leaves the
/// counter at zero).
struct GridSync {
    uint32_t count;
    uint32_t gen;
};

// No fence instructions: bar.sync makes the block's writes visible to thread 0, whose
// release-ordered arrival (cumulative) publishes them; the last arrival's acq_rel atomic
// acquires every block's, and its st.release of the generation / the waiters' ld.acquire of
// it carry them to every block; bar.sync hands them to the block's other threads.
GDN_DEVICE GDN_FORCEINLINE void grid_sync(GridSync* g) {
    __syncthreads();
    if (threadIdx.x == 0) {
        const uint32_t gen = ld_acquire_gpu(&g->gen);  // cannot advance before this block arrives
        const uint32_t arrived = atom_add_acq_rel_gpu(&g->count, 1u);
        if (arrived == gridDim.x - 1) {
            g->count = 0;  // ordered before the release below: the next barrier counts from 0
            st_release_gpu(&g->gen, gen + 1);
        } else {
            while (ld_acquire_gpu(&g->gen) == gen) {
            }
        }
    }
    __syncthreads();
}

// This block's share of the stage's prefetch ranges, in 16-byte granules, 4 KB per request.
GDN_DEVICE GDN_FORCEINLINE void prefetch_share(const Stage& st) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const uint64_t granules = st.prefetch_bytes[r] / 16;
        const uint64_t per_block = (granules + gridDim.x - 1) / gridDim.x;
        const uint64_t g0 = per_block * blockIdx.x;
        const uint64_t g1 = min(granules, g0 + per_block);
        constexpr uint64_t piece = 4096 / 16;
        for (uint64_t g = g0 + threadIdx.x * piece; g < g1; g += uint64_t(blockDim.x) * piece) {
            const uint64_t n = min(piece, g1 - g);
            prefetch_l2_bulk(st.prefetch[r] + 16 * g, static_cast<uint32_t>(16 * n));
        }
    }
}

// The GEMV bodies' wait (gemv.cuh PdlWait): the grid barrier, after their first weight loads.
struct GridWait {
    GridSync* sync;
    bool on;
    GDN_DEVICE GDN_FORCEINLINE void operator()() const {
        if (on) grid_sync(sync);
    }
};

template <class F, class... Rest, class Fn>
GDN_DEVICE GDN_FORCEINLINE void with_format(DType t, Fn&& fn) {
    if (t == F::dtype) {
        fn(F{});
    } else if constexpr (sizeof...(Rest) > 0) {
        with_format<Rest...>(t, fn);
    }
}

template <class... Formats>
GDN_DEVICE GDN_FORCEINLINE void run_gemv(const Stage& st, GridWait wait) {
    with_format<Formats...>(st.type, [&](auto tag) {
        using F = decltype(tag);
        if constexpr (gemv_detail::has_mma_tile<F>()) {
            if (st.op == Op::gemv_mma) {
                gemv_detail::gemv_mma_body<F, gemv_detail::k_mma_stages>(st.get<gemv_detail::GemvArgs>(),
                                                                         static_cast<int>(blockIdx.x),
                                                                         static_cast<int>(gridDim.x), wait);
                return;
            }
        }
        gemv_detail::gemv_body<F, 1>(st.get<gemv_detail::GemvArgs>(), static_cast<int>(blockIdx.x),
                                     static_cast<int>(gridDim.x), wait);
    });
}

template <class StateT, bool WHT>
GDN_DEVICE __noinline__ void run_deltanet(const Stage& st, uint8_t* smem) {  // see run_attention
    using Step = DeltaNetStep<StateT, WHT, k_dn_warps, 1>;
    auto& sh = *reinterpret_cast<typename Step::SharedStorage*>(smem);
    for (int b = blockIdx.x; b < st.blocks; b += gridDim.x) {
        Step{}(st.get<DeltaNetStepParams<StateT>>(), sh, b, 0);
        __syncthreads();
    }
}

// Not inlined: its register allocation (and the attention body's spills at 128 registers)
// stays its own instead of being merged with the GEMV stages'.
template <class Kv, KvRotation Rot>
GDN_DEVICE __noinline__ void run_attention(const Stage& st, uint8_t* smem) {
    auto& sh = *reinterpret_cast<attention_detail::AttnShared<k_attn_group>*>(smem);
    for (int b = blockIdx.x; b < st.blocks; b += gridDim.x) {
        if (threadIdx.x < kAttnThreads)
            attention_decode_body<Kv, Rot, k_attn_group>(st.get<AttentionDecodeParams>(), st.chunk, b % st.aux,
                                                         b / st.aux, 0, st.aux, sh);
        __syncthreads();
    }
}

template <class Kv>
GDN_DEVICE GDN_FORCEINLINE void run_attention_kv(const Stage& st, uint8_t* smem) {
    if (st.wht)
        run_attention<Kv, KvRotation::wht>(st, smem);
    else
        run_attention<Kv, KvRotation::none>(st, smem);
}

template <class... Formats>
GDN_DEVICE GDN_FORCEINLINE void run_embedding(const Stage& st, uint8_t* smem) {
    with_format<Formats...>(st.type, [&](auto tag) {
        using F = decltype(tag);
        const EmbeddingParams& p = st.get<EmbeddingParams>();
        const int warp = threadIdx.x >> 5;
        const int steps = static_cast<int>(p.n_embd / gemv_detail::k_step);
        uint8_t* stage = smem + warp * embedding_detail::k_stage_bytes<F>;
        for (int s = blockIdx.x * k_warps + warp; s < steps; s += gridDim.x * k_warps)
            embedding_detail::embedding_step<F>(p, 0, s, stage);
    });
}

/// The kernel: stages[0..n) in order, a grid barrier before a stage that depends on one since
/// the last barrier (a GEMV passes it after issuing its first weight loads). prof (or null):
/// block 0 writes the global timer at each stage's start and at the end (n + 1 values).
template <class... Formats>
__global__ void __launch_bounds__(k_threads, 1)
    step_kernel(const Stage* stages, int n, GridSync* sync, uint64_t* prof) {
    extern __shared__ __align__(16) uint8_t smem[];
    __shared__ Stage st;
    bool sync_before = false;
    for (int i = 0; i < n; ++i) {
        constexpr int words = sizeof(Stage) / 16;
        __syncthreads();  // every thread is done with the previous stage's parameters
        if (threadIdx.x < words)
            reinterpret_cast<uint4*>(&st)[threadIdx.x] = reinterpret_cast<const uint4*>(stages + i)[threadIdx.x];
        __syncthreads();
        if (prof != nullptr && blockIdx.x == 0 && threadIdx.x == 0) prof[i] = global_timer_ns();
        prefetch_share(st);
        const GridWait wait{sync, sync_before};
        if (st.op != Op::gemv && st.op != Op::gemv_mma) wait();
        switch (st.op) {
            case Op::embedding: run_embedding<Formats...>(st, smem); break;
            case Op::gemv:
            case Op::gemv_mma: run_gemv<Formats...>(st, wait); break;
            case Op::deltanet:
                if (st.bf16_state)
                    st.wht ? run_deltanet<__nv_bfloat16, true>(st, smem) : run_deltanet<__nv_bfloat16, false>(st, smem);
                else
                    st.wht ? run_deltanet<float, true>(st, smem) : run_deltanet<float, false>(st, smem);
                break;
            case Op::attention:
                if (st.type == DType::f16) run_attention_kv<gdn::f16>(st, smem);
                else if (st.type == DType::q8_0) run_attention_kv<gdn::q8_0>(st, smem);
                else run_attention_kv<gdn::q4_0>(st, smem);
                break;
        }
        sync_before = st.sync_after != 0;
    }
    if (prof != nullptr) {
        grid_sync(sync);  // the whole step, not block 0's share
        if (blockIdx.x == 0 && threadIdx.x == 0) prof[n] = global_timer_ns();
    }
}

/// The stages of one decode step, recorded on the host by the blocks' enqueue code, planned
/// for a grid of `blocks` blocks with `smem_budget` bytes of dynamic shared memory each.
/// Throws gdn::Error for what the persistent kernel was not compiled for (a weight format
/// outside `formats`, an attention group other than k_attn_group, n_seq > 1).
class StepProgram {
    struct Range {
        const void* p;
        uint64_t bytes;
    };
    using Ranges = std::vector<Range>;

public:
    StepProgram(std::vector<DType> formats, int blocks, int64_t smem_budget, uint64_t prefetch_cap)
        : formats_(std::move(formats)), blocks_(blocks), budget_(smem_budget), prefetch_cap_(prefetch_cap) {}

    [[nodiscard]] const std::vector<Stage>& stages() const { return stages_; }
    /// What each stage runs ("blk.3.ffn_down", "deltanet", ...).
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
    [[nodiscard]] int smem() const { return smem_; }
    [[nodiscard]] int blocks() const { return blocks_; }
    /// Grid barriers per step (stages - 1 when every stage depends on the one before).
    [[nodiscard]] int barriers() const {
        int n = 0;
        for (size_t i = 0; i + 1 < stages_.size(); ++i) n += stages_[i].sync_after;
        return n;
    }

    void embedding(const EmbeddingParams& p) {
        need_format(p.type, "token_embd");
        GDN_CHECK(p.n_seq == 1 && p.n_embd % gemv_detail::k_step == 0,
                  "persistent schedule: the embedding needs n_seq 1 and n_embd % 256 == 0 (n_seq ", p.n_seq,
                  ", n_embd ", p.n_embd, ")");
        Stage s;
        s.op = Op::embedding;
        s.type = p.type;
        s.set(p);
        dispatch_format(p.type, [&](auto tag) {
            grow(k_warps * embedding_detail::k_stage_bytes<decltype(tag)>);
        });
        names_.push_back("embedding");
        push(s, nullptr, 0, Ranges{Range{p.token, 4}}, Ranges{Range{p.out, uint64_t(p.n_embd) * 4}});
    }

    void gemv(const GemvParams& p, bool dual, const std::string& what) {
        need_format(p.type, what);
        Stage s;
        dispatch_format(p.type, [&](auto tag) {
            const gemv_detail::GemvStagePlan plan =
                gemv_detail::gemv_stage_plan<decltype(tag)>(p, dual, blocks_, budget_, what.c_str());
            s.op = plan.mma ? Op::gemv_mma : Op::gemv;
            s.set(plan.args);
            grow(plan.smem);
        });
        s.type = p.type;
        const uint64_t bytes = uint64_t(p.rows) * uint64_t(dtype_row_bytes(p.type, p.cols));
        names_.push_back(what);
        Ranges reads{Range{p.x, uint64_t(p.cols) * 4}};
        if (p.resid) reads.push_back(Range{p.resid, uint64_t(p.rows) * 4});
        push(s, p.w, bytes, reads, Ranges{Range{p.y, uint64_t(p.rows) * 4}});
        if (dual && (reinterpret_cast<uintptr_t>(p.w_up) & 15) == 0) weights_.back().push_back({p.w_up, bytes});
    }

    template <class StateT>
    void deltanet(const DeltaNetStepParams<StateT>& p, bool wht) {
        check_deltanet_step(p);
        GDN_CHECK(p.n_seq == 1, "persistent schedule: the DeltaNet stage runs one sequence, got n_seq ", p.n_seq);
        Stage s;
        s.op = Op::deltanet;
        s.wht = wht ? 1 : 0;
        s.bf16_state = std::is_same_v<StateT, float> ? 0 : 1;
        s.blocks = p.n_v_heads;
        s.set(p);
        grow(sizeof(typename DeltaNetStep<StateT, false, k_dn_warps, 1>::SharedStorage));
        const uint64_t hv = uint64_t(p.n_v_heads), vdim = hv * uint64_t(p.d_v);
        const uint64_t state = hv * uint64_t(p.d_k) * uint64_t(p.d_v) * sizeof(StateT);
        names_.push_back("deltanet");
        const uint64_t conv = uint64_t(p.conv_dim()) * 4;
        const Ranges reads{Range{p.qkv, conv}, Range{p.z, vdim * 4}, Range{p.b, hv * 4}, Range{p.a, hv * 4}};
        const Ranges writes{Range{p.y, vdim * 4}, Range{p.state, state}, Range{p.conv_ring, conv * kDeltaNetConvKernel}};
        push(s, nullptr, 0, reads, writes);
    }

    /// p checked by check_attention_decode (its window_len fixes the split, as in a launch).
    void attention(const AttentionDecodeParams& p, DType kv, bool wht) {
        GDN_CHECK(p.n_seq == 1, "persistent schedule: the attention stage runs one sequence, got n_seq ", p.n_seq);
        GDN_CHECK(p.n_head == k_attn_group * p.n_head_kv, "persistent schedule: attention with ", p.n_head,
                  " query heads over ", p.n_head_kv, " KV heads; the persistent kernel is compiled for groups of ",
                  k_attn_group);
        GDN_CHECK(kv == DType::f16 || kv == DType::q8_0 || kv == DType::q4_0, "persistent schedule: KV type ",
                  dtype_name(kv));
        const AttnSplit sp = attention_split(p.window_len, 1, p.n_head_kv, blocks_);
        Stage s;
        s.op = Op::attention;
        s.type = kv;
        s.wht = wht ? 1 : 0;
        s.aux = sp.n_splits;
        s.chunk = sp.chunk;
        s.blocks = sp.n_splits * p.n_head_kv;
        s.set(p);
        grow(sizeof(attention_detail::AttnShared<k_attn_group>));
        names_.push_back("attention");
        const uint64_t hd = uint64_t(p.head_dim), kv_row = uint64_t(dtype_row_bytes(kv, p.head_dim)) * p.n_head_kv;
        const Ranges reads{Range{p.q_proj, uint64_t(p.n_head) * 2 * hd * 4}, Range{p.k, uint64_t(p.n_head_kv) * hd * 4},
                           Range{p.v, uint64_t(p.n_head_kv) * hd * 4}};
        const Ranges writes{Range{p.out, uint64_t(p.n_head) * hd * 4}, Range{p.k_cache, kv_row * uint64_t(p.max_ctx)},
                            Range{p.v_cache, kv_row * uint64_t(p.max_ctx)},
                            Range{p.workspace, attention_workspace_bytes(1, p.n_head, p.n_head_kv)}};
        push(s, nullptr, 0, reads, writes);
    }

    /// Fills each stage's prefetch ranges: up to prefetch_cap bytes (split over its matrices)
    /// of the weights of the next stage that reads weights.
    void finish() {
        for (size_t i = 0; i < stages_.size(); ++i) {
            Stage& s = stages_[i];
            for (int r = 0; r < 2; ++r) {
                s.prefetch[r] = nullptr;
                s.prefetch_bytes[r] = 0;
            }
            if (prefetch_cap_ == 0) continue;
            for (size_t j = i + 1; j < stages_.size(); ++j) {
                const auto& ranges = weights_[j];
                if (ranges.empty()) continue;
                const uint64_t cap = prefetch_cap_ / ranges.size();
                for (size_t r = 0; r < ranges.size() && r < 2; ++r) {
                    s.prefetch[r] = ranges[r].first;
                    s.prefetch_bytes[r] = std::min<uint64_t>(ranges[r].second, cap) / 16 * 16;
                }
                break;
            }
        }
    }

private:
    void need_format(DType t, const std::string& what) {
        GDN_CHECK(std::find(formats_.begin(), formats_.end(), t) != formats_.end(), "persistent schedule: ", what,
                  " is ", dtype_name(t), ", a format the persistent kernel was not compiled for");
    }
    void grow(int64_t bytes) {
        GDN_CHECK(bytes <= budget_, "persistent schedule: a stage needs ", bytes, " B of shared memory, the block has ",
                  budget_);
        smem_ = std::max<int>(smem_, static_cast<int>(bytes));
    }
    static bool overlap(const Ranges& a, const Ranges& b) {
        for (const Range& x : a)
            for (const Range& y : b) {
                const auto px = reinterpret_cast<uintptr_t>(x.p), py = reinterpret_cast<uintptr_t>(y.p);
                if (px < py + y.bytes && py < px + x.bytes) return true;
            }
        return false;
    }
    // Appends a stage that reads `reads` and writes `writes` (device byte ranges); the stage
    // before it gets a barrier when the two could race with anything since the last barrier.
    void push(const Stage& s, const std::byte* w, uint64_t bytes, const Ranges& reads, const Ranges& writes) {
        if (!stages_.empty()) {
            const bool dep = overlap(writes, open_reads_) || overlap(writes, open_writes_) ||
                             overlap(reads, open_writes_);
            stages_.back().sync_after = dep ? 1 : 0;
            if (dep) {
                open_reads_.clear();
                open_writes_.clear();
            }
        }
        stages_.push_back(s);
        stages_.back().sync_after = 1;
        open_reads_.insert(open_reads_.end(), reads.begin(), reads.end());
        open_writes_.insert(open_writes_.end(), writes.begin(), writes.end());
        weights_.emplace_back();
        if (w != nullptr && bytes > 0 && (reinterpret_cast<uintptr_t>(w) & 15) == 0)
            weights_.back().push_back({w, bytes});
    }

    std::vector<DType> formats_;
    int blocks_ = 0;
    int64_t budget_ = 0;
    uint64_t prefetch_cap_ = 0;
    int smem_ = 0;
    std::vector<Stage> stages_;
    std::vector<std::string> names_;
    std::vector<std::vector<std::pair<const std::byte*, uint64_t>>> weights_;  // per stage: matrices read
    Ranges open_reads_, open_writes_;  // what the stages since the last barrier touch
};

/// The geometry a step kernel of these formats runs with on the current device: blocks (one
/// per SM) and the dynamic shared memory a block may take.
struct Geometry {
    int blocks = 0;
    int64_t smem_budget = 0;
};

template <class... Formats>
Geometry geometry() {
    int dev = 0, sms = 0, optin = 0, coop = 0;
    GDN_CUDA_CHECK(cudaGetDevice(&dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev));
    GDN_CHECK(coop != 0, "persistent schedule: the device does not support cooperative launches");
    cudaFuncAttributes fa{};
    GDN_CUDA_CHECK(cudaFuncGetAttributes(&fa, step_kernel<Formats...>));
    return {sms, int64_t(optin) - int64_t(fa.sharedSizeBytes)};
}

/// Enqueues the step kernel over `stages` (device memory, n of them) with `smem` bytes of
/// dynamic shared memory on `blocks` blocks (Geometry::blocks; the occupancy is checked).
template <class... Formats>
void launch_step(const Stage* stages, int n, GridSync* sync, int blocks, int smem, cudaStream_t stream,
                 uint64_t* prof = nullptr) {
    auto kernel = step_kernel<Formats...>;
    GDN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int per_sm = 0;
    GDN_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, k_threads, smem));
    GDN_CHECK(per_sm >= 1, "persistent schedule: the step kernel does not fit on an SM (", smem, " B shared)");
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = dim3(static_cast<unsigned>(blocks));
    cfg.blockDim = dim3(k_threads);
    cfg.dynamicSmemBytes = static_cast<size_t>(smem);
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeCooperative;
    attr[0].val.cooperative = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    GDN_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, stages, n, sync, prof));
}

}  // namespace gdn::kernels::persistent

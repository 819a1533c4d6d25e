// gdn/schedule/decoder.cuh - the CUDA decoder: weights, DeltaNet/conv state and KV cache
// allocated once for `batch` independent sequences; one decode step (every sequence one
// token) is a fixed sequence of fused launches, captured into a CUDA graph and replayed.
//
// One decode step, launches in order (Model<...>::launches_per_step):
//   embedding(token[0..batch))                                            1
//   per layer: the mixer block, DeltaNetBlock or AttnBlock (blocks/*.cuh)  3
//              (in-projection with the input norm, the mixer kernel, out-projection
//              with the residual; +3 / +2 when a file stores a layer's in-projections
//              in different types, as K-quant mixes may do for attn_v)
//              then its MlpBlock: gate/up with the post norm, down with the residual  2
//              or its MoeBlock: router GEMV, the chosen experts' gate/up and down      3
//   LM head with output_norm prologue, argmax/sample, advance               3
// The matrix products are GEMVs up to 8 rows and tensor-core GEMMs above (kernels/gemm.cuh).
// Per-token inputs live in device memory: `token[s]` (read by the embedding, overwritten by the
// choice) and `pos[s]` (read by the mixers, incremented by `advance`), so the captured graph
// replays unchanged. The only topology change is the attention grid, fixed by the window
// (the largest pos + 1 padded to FAWindow positions): the graph is re-captured when it crosses
// a multiple of FAWindow, i.e. at most once every FAWindow tokens.
// Steady-state generation makes no host synchronisation and no allocation per token:
// generated ids collect in a device ring that is copied back asynchronously in chunks.
//
// The persistent schedule (schedule/policy.cuh, DecoderOptions::schedule) replaces the
// embedding, the layers and the LM head by ONE launch of kernels/persistent.cuh, whose stages
// the same block code records (StepIO::program) for the current window: a step is then
//   persistent step kernel, argmax/sample, advance                                       3
// It takes batch 1 of a dense model whose formats its policy compiled; the program is rebuilt
// and uploaded (stream-ordered, outside the graph) when the window changes.
//
// Prefill (prefill(seq, tokens)) runs a prompt through one sequence in chunks of up to
// prefill_chunk tokens: every matrix product is one GEMM over the chunk, DeltaNet layers run
// the chunked (parallel) form (kernels/deltanet_prefill.cuh), attention layers append the
// chunk's K/V and run causal attention over the cache (kernels/attention_prefill.cuh). It
// leaves the state, conv ring and KV rows that token-by-token decode would (up to rounding),
// and the logits and the choice of the last prompt position. prefill_chunk = 0 runs the
// prompt token by token through the decode graph instead (batch 1 only).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/blocks/attn_block.cuh"
#include "gdn/blocks/deltanet_block.cuh"
#include "gdn/blocks/mlp_block.cuh"
#include "gdn/blocks/moe_block.cuh"
#include "gdn/blocks/step_io.cuh"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/attention_prefill.cuh"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/deltanet_prefill.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/kernels/embedding.cuh"
#include "gdn/kernels/gemm.cuh"
#include "gdn/kernels/sampling.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/ref/check.hpp"
#include "gdn/schedule/device_weights.cuh"
#include "gdn/schedule/model.hpp"
#include "gdn/schedule/policy.cuh"

namespace gdn::cuda {

/// Where the ModelWeights given to a decoder live.
enum class WeightsOn : uint8_t {
    host,    ///< host views (a loaded GGUF): copied to the device once (upload_weights)
    device,  ///< already device views laid out as upload_weights does (benchmarks that
             ///< generate weights on the device): used in place, the caller keeps them alive
};

/// How the next token is chosen on the device (kernels/sampling.cuh): greedy when
/// temperature <= 0, else a seeded draw (Philox keyed by seed, counter = position of
/// sequence 0 and the sequence index).
struct SamplingOptions {
    float temperature = 0.f;
    int top_k = 0;       ///< 0: off; else 1..1024
    float top_p = 1.f;   ///< >= 1: off
    uint64_t seed = 0;
};

/// Which schedule runs a decode step (prefill always runs the multi-kernel GEMMs).
enum class Schedule : uint8_t {
    automatic,     ///< persistent where the decoder compiled it, the model fits it and
                   ///< prefer_persistent() says it is faster; else multi_kernel
    multi_kernel,  ///< fused kernels per block, one CUDA graph (any model and batch)
    persistent,    ///< the persistent step kernel; gdn::Error where it does not apply
};

inline const char* schedule_name(Schedule s) {
    return s == Schedule::persistent ? "persistent" : s == Schedule::multi_kernel ? "multi_kernel" : "automatic";
}

/// The automatic choice by shape. Measured (bench/decode.cu --schedules, H100, batch 1, ctx 512,
/// both schedules in one run: bench/results/2026-12-07-NVIDIA-H100.md) the persistent kernel is
/// 1.3-1.6x slower than the multi-kernel graph at every shape from 0.8B to 9B and in bf16, q8_0,
/// q4_0 and q4_k, so automatic never picks it; it stays selectable (Schedule::persistent).
inline bool prefer_persistent(const ModelConfig&) { return false; }

struct DecoderOptions {
    int max_ctx = 4096;                 ///< positions the KV cache holds (per sequence)
    int batch = 1;                      ///< independent sequences decoded together, 1..k_max_batch
    int prefill_chunk = 512;            ///< prompt tokens per prefill pass; 0: token by token
    DType kv_type = DType::f16;         ///< f16, q8_0 or q4_0
    bool kv_wht = false;                ///< rotate q/k by the WHT before K is stored
    bool state_bf16 = false;            ///< DeltaNet state in bf16 instead of float32
    std::vector<bool> deltanet_wht;     ///< per layer (empty: all off)
    bool use_graph = true;              ///< false: launch eagerly every step (tests)
    SamplingOptions sampling;           ///< next-token choice (greedy by default)
    Schedule schedule = Schedule::automatic;
    /// persistent schedule: L2 prefetch of the next stage's weights, at most this many bytes
    /// per stage (0: off)
    uint64_t prefetch_bytes = uint64_t(16) << 20;
};

inline constexpr int k_max_batch = 256;
inline constexpr int k_max_prefill_chunk = 4096;

namespace detail {

/// Step bookkeeping at the end of a decode step, thread s = sequence s: the choice becomes
/// the next input, is recorded in row (*counter % ring_cap) of the ring of chosen ids, and
/// pos advances; then the ring counter. grid 1, block n_seq; 16 bytes per sequence moved.
static __global__ void advance_kernel(int32_t* pos, int32_t* token, const int32_t* next, int32_t* ring,
                                      int ring_cap, uint32_t* counter, int n_seq) {
    kernels::pdl_wait();  // launched through kernels::launch_kernel (launch.cuh)
    kernels::pdl_launch_dependents();
    const int s = static_cast<int>(threadIdx.x);
    const uint32_t row = *counter % static_cast<uint32_t>(ring_cap);
    if (s < n_seq) {
        const int32_t t = next[s];
        token[s] = t;
        if (ring) ring[row * n_seq + s] = t;
        pos[s] += 1;
    }
    __syncthreads();
    if (s == 0 && ring) *counter += 1;
}

/// Record the pending choices token[0..n_seq) as the next ring row (the first row of a
/// generate() call). grid 1, block n_seq.
static __global__ void record_kernel(const int32_t* token, int32_t* ring, int ring_cap, uint32_t* counter,
                                     int n_seq) {
    const int s = static_cast<int>(threadIdx.x);
    const uint32_t row = *counter % static_cast<uint32_t>(ring_cap);
    if (s < n_seq) ring[row * n_seq + s] = token[s];
    __syncthreads();
    if (s == 0) *counter += 1;
}

/// pos[0] += delta. grid 1, block 1.
static __global__ void bump_kernel(int32_t* pos, int32_t delta) { *pos += delta; }

/// A device allocation freed with cudaFree.
struct DeviceMemory {
    void* ptr = nullptr;
    DeviceMemory() = default;
    explicit DeviceMemory(size_t bytes) { GDN_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(bytes, 16))); }
    DeviceMemory(DeviceMemory&& o) noexcept : ptr(std::exchange(o.ptr, nullptr)) {}
    DeviceMemory& operator=(DeviceMemory&& o) noexcept {
        std::swap(ptr, o.ptr);
        return *this;
    }
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;
    ~DeviceMemory() {
        if (ptr) cudaFree(ptr);
    }
    template <class T>
    T* as() const { return static_cast<T*>(ptr); }
};

}  // namespace detail

/// Decoder for any Qwen3.5-shaped model (runtime shapes and per-tensor quant types),
/// attention window padded to FAWindow positions, decode steps scheduled by Sched
/// (schedule/policy.cuh).
template <int FAWindow = 256, class Sched = schedule::MultiKernel>
class BasicDecoder {
public:
    static constexpr int fa_window = FAWindow;
    static constexpr int ring_cap = 256;  ///< generated id rows buffered on the device

    BasicDecoder(const ModelWeights& weights, DecoderOptions opt = {}, WeightsOn where = WeightsOn::host)
        : opt_(std::move(opt)), cfg_(weights.config) {
        ref::check_weights(weights);
        GDN_CHECK(opt_.max_ctx > 0, "cuda decoder: max_ctx must be positive, got ", opt_.max_ctx);
        GDN_CHECK(opt_.batch >= 1 && opt_.batch <= k_max_batch, "cuda decoder: batch ", opt_.batch,
                  " is not in [1, ", k_max_batch, "]");
        GDN_CHECK(opt_.prefill_chunk >= 0 && opt_.prefill_chunk <= k_max_prefill_chunk,
                  "cuda decoder: prefill_chunk ", opt_.prefill_chunk, " is not in [0, ", k_max_prefill_chunk, "]");
        GDN_CHECK(opt_.prefill_chunk > 0 || opt_.batch == 1, "cuda decoder: prefill_chunk = 0 (token-by-token "
                  "prefill through the decode step) needs batch 1, got batch ", opt_.batch);
        check_sampling(opt_.sampling);
        GDN_CHECK(opt_.kv_type == DType::f16 || opt_.kv_type == DType::q8_0 || opt_.kv_type == DType::q4_0,
                  "cuda decoder: KV cache type ", dtype_name(opt_.kv_type), " is not one of f16, q8_0, q4_0");
        if (opt_.deltanet_wht.empty()) opt_.deltanet_wht.assign(static_cast<size_t>(cfg_.n_layer), false);
        GDN_CHECK(static_cast<int64_t>(opt_.deltanet_wht.size()) == cfg_.n_layer, "cuda decoder: ",
                  opt_.deltanet_wht.size(), " WHT flags for ", cfg_.n_layer, " layers");
        GDN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        w_ = where == WeightsOn::host ? upload_weights(weights, stream_) : weights;
        allocate();
        choose_schedule();
        reset();
    }

    ~BasicDecoder() {
        if (stream_) cudaStreamSynchronize(stream_);
        if (exec_) cudaGraphExecDestroy(exec_);
        for (cudaEvent_t e : half_done_)
            if (e) cudaEventDestroy(e);
        if (host_ring_) cudaFreeHost(host_ring_);
        if (stream_) cudaStreamDestroy(stream_);
    }
    BasicDecoder(const BasicDecoder&) = delete;
    BasicDecoder& operator=(const BasicDecoder&) = delete;

    [[nodiscard]] const ModelConfig& config() const { return cfg_; }
    [[nodiscard]] int batch() const { return opt_.batch; }
    /// Position of sequence `seq` (the tokens it has run).
    [[nodiscard]] int64_t position(int seq = 0) const { return pos_[checked_seq(seq)]; }
    [[nodiscard]] int launches_per_step() const { return persistent_ ? k_persistent_launches : launches_; }
    /// The schedule decode steps run (multi_kernel or persistent).
    [[nodiscard]] Schedule schedule() const { return persistent_ ? Schedule::persistent : Schedule::multi_kernel; }
    /// Kernel nodes of the last captured step graph (0 before the first capture): what
    /// launches_per_step() claims, counted by CUDA.
    [[nodiscard]] size_t graph_nodes() const { return graph_nodes_; }
    /// Stages of the persistent step kernel's program (0 with the multi-kernel schedule).
    [[nodiscard]] size_t persistent_stages() const { return n_stages_; }
    /// Grid barriers of one persistent step (stages - 1 unless independent stages share one).
    [[nodiscard]] int persistent_barriers() const { return n_barriers_; }

    /// One stage of a profiled persistent step: what it ran and its microseconds on block 0
    /// (from its start to the next stage's start: its barrier wait included).
    struct StageTime {
        std::string name;
        double us = 0;
    };
    /// Runs one decode step of every sequence (as generate() would, tokens fed back) with the
    /// persistent kernel timing its stages; the persistent schedule only.
    std::vector<StageTime> profile_step() {
        GDN_CHECK(persistent_, "cuda decoder: profile_step() needs the persistent schedule");
        std::vector<StageTime> out;
        if constexpr (Sched::has_persistent) {
            GDN_CHECK(pos_[0] < opt_.max_ctx, "cuda decoder: context overflow at position ", pos_[0]);
            const int window = kernels::attention_window_len<FAWindow>(static_cast<int>(pos_[0]) + 1);
            if (program_window_ != window) upload_program(window);
            detail::DeviceMemory prof((n_stages_ + 1) * sizeof(uint64_t));
            Sched::launch(stages_.as<kernels::persistent::Stage>(), static_cast<int>(n_stages_),
                          grid_sync_.as<kernels::persistent::GridSync>(), geometry_.blocks, stage_smem_, stream_,
                          prof.as<uint64_t>());
            enqueue_choice(opt_.batch, logits_, next_ptr(), pos_ptr());
            enqueue_advance();
            std::vector<uint64_t> t(n_stages_ + 1);
            GDN_CUDA_CHECK(cudaMemcpyAsync(t.data(), prof.ptr, t.size() * sizeof(uint64_t), cudaMemcpyDeviceToHost,
                                           stream_));
            GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
            for (int64_t& p : pos_) ++p;
            ++steps_;
            for (size_t i = 0; i < n_stages_; ++i) out.push_back({stage_names_[i], double(t[i + 1] - t[i]) * 1e-3});
        }
        return out;
    }
    /// Launches per step for a model of this shape whose layers' input projections fuse
    /// (one type per layer's projections, as in every GGUF quant mix of llama.cpp's).
    static constexpr int64_t fused_launches_per_step(const ModelConfig& c) {
        return k_step_launches + (DeltaNetBlock<any_format>::launches +
                                  (c.is_moe() ? MoeBlock<any_format>::launches : MlpBlock<any_format>::launches)) *
                                     c.n_layer;
    }
    [[nodiscard]] cudaStream_t stream() const { return stream_; }
    /// Graph (re-)captures so far: one per FAWindow crossing.
    [[nodiscard]] int captures() const { return captures_; }

    /// Forget every sequence: zero DeltaNet and conv state, positions 0. The KV cache needs no
    /// clearing: attention masks every position past pos.
    void reset() {
        for (auto& l : layers_) {
            if (l.state.ptr) GDN_CUDA_CHECK(cudaMemsetAsync(l.state.ptr, 0, l.state_bytes, stream_));
            if (l.conv_ring.ptr) GDN_CUDA_CHECK(cudaMemsetAsync(l.conv_ring.ptr, 0, l.conv_bytes, stream_));
        }
        GDN_CUDA_CHECK(cudaMemsetAsync(scalars_.ptr, 0, scalar_bytes(), stream_));
        if (grid_sync_.ptr) GDN_CUDA_CHECK(cudaMemsetAsync(grid_sync_.ptr, 0, sizeof(kernels::persistent::GridSync), stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::fill(pos_.begin(), pos_.end(), 0);
        steps_ = 0;
    }

    /// For benchmarks at a long context: move every sequence to position `pos` as if pos
    /// tokens had been decoded, without computing them. KV rows below pos are zeroed
    /// (finite); DeltaNet and conv state keep what they hold. What follows is not the
    /// model's output for any prompt.
    void seek_uncomputed(int64_t pos) {
        GDN_CHECK(pos >= 0 && pos < opt_.max_ctx, "cuda decoder: seek to ", pos, " outside [0, max_ctx = ",
                  opt_.max_ctx, ")");
        const size_t kv_row = static_cast<size_t>(cfg_.n_head_kv * dtype_row_bytes(opt_.kv_type, cfg_.head_dim));
        for (auto& l : layers_) {
            if (!l.attention || pos == 0) continue;
            for (int s = 0; s < opt_.batch; ++s) {
                const size_t off = static_cast<size_t>(s) * opt_.max_ctx * kv_row;
                GDN_CUDA_CHECK(cudaMemsetAsync(static_cast<std::byte*>(l.k_cache.ptr) + off, 0, pos * kv_row, stream_));
                GDN_CUDA_CHECK(cudaMemsetAsync(static_cast<std::byte*>(l.v_cache.ptr) + off, 0, pos * kv_row, stream_));
            }
        }
        std::vector<int32_t> p(static_cast<size_t>(opt_.batch), static_cast<int32_t>(pos));
        GDN_CUDA_CHECK(cudaMemcpyAsync(pos_ptr(), p.data(), p.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::fill(pos_.begin(), pos_.end(), pos);
    }

    /// Run one position of every sequence with the given tokens (one per sequence: prompt
    /// or forced tokens). The logits stay on the device (logits()); the choice is the next
    /// token (next_token()).
    void eval(std::span<const int32_t> tokens) {
        GDN_CHECK(static_cast<int>(tokens.size()) == opt_.batch, "cuda decoder: eval() got ", tokens.size(),
                  " tokens for a batch of ", opt_.batch, " sequences");
        for (int32_t t : tokens)
            GDN_CHECK(t >= 0 && t < cfg_.n_vocab, "cuda decoder: token id ", t, " is out of range [0, ",
                      cfg_.n_vocab, ")");
        GDN_CUDA_CHECK(cudaMemcpyAsync(token_ptr(), tokens.data(), tokens.size_bytes(), cudaMemcpyHostToDevice,
                                       stream_));
        // The host values are the caller's: finish the copy before returning.
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        run_step();
    }
    /// eval() of a batch of one.
    void eval(int32_t token) { eval(std::span<const int32_t>(&token, 1)); }

    /// Run a prompt through sequence `seq` (see the file comment); the other sequences are
    /// untouched. Afterwards logits(seq) and next_token(seq) are those of the last prompt token.
    void prefill(int seq, std::span<const int32_t> tokens) {
        checked_seq(seq);
        if (tokens.empty()) return;
        for (int32_t t : tokens)
            GDN_CHECK(t >= 0 && t < cfg_.n_vocab, "cuda decoder: prompt token id ", t,
                      " is out of range [0, ", cfg_.n_vocab, ")");
        const int64_t n = static_cast<int64_t>(tokens.size());
        GDN_CHECK(pos_[seq] + n <= opt_.max_ctx, "cuda decoder: context overflow: ", n, " prompt tokens at position ",
                  pos_[seq], " need more than max_ctx = ", opt_.max_ctx, " positions");
        if (opt_.prefill_chunk == 0) {
            detail::DeviceMemory staged(tokens.size_bytes());
            GDN_CUDA_CHECK(cudaMemcpyAsync(staged.ptr, tokens.data(), tokens.size_bytes(), cudaMemcpyHostToDevice,
                                           stream_));
            for (size_t i = 0; i < tokens.size(); ++i) {
                GDN_CUDA_CHECK(cudaMemcpyAsync(token_ptr(), staged.as<int32_t>() + i, sizeof(int32_t),
                                               cudaMemcpyDeviceToDevice, stream_));
                run_step();
            }
            GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
            return;
        }
        for (int64_t done = 0; done < n;) {
            const int chunk = static_cast<int>(std::min<int64_t>(opt_.prefill_chunk, n - done));
            // The staging buffer is reused: the previous chunk must have read it.
            if (done > 0) GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
            GDN_CUDA_CHECK(cudaMemcpyAsync(prompt_.ptr, tokens.data() + done, chunk * sizeof(int32_t),
                                           cudaMemcpyHostToDevice, stream_));
            done += chunk;
            enqueue_prefill_chunk(seq, chunk, done == n);
        }
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        pos_[seq] += n;
    }
    /// prefill() of sequence 0.
    void prefill(std::span<const int32_t> tokens) { prefill(0, tokens); }

    /// Logits of sequence seq's last position [n_vocab] (synchronises).
    [[nodiscard]] std::vector<float> logits(int seq = 0) {
        checked_seq(seq);
        std::vector<float> out(static_cast<size_t>(cfg_.n_vocab));
        GDN_CUDA_CHECK(cudaMemcpyAsync(out.data(), logits_ + seq * cfg_.n_vocab, out.size() * sizeof(float),
                                       cudaMemcpyDeviceToHost, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return out;
    }

    /// The choice (greedy or sampled) after sequence seq's last position (synchronises).
    [[nodiscard]] int32_t next_token(int seq = 0) {
        checked_seq(seq);
        int32_t t = -1;
        GDN_CUDA_CHECK(cudaMemcpyAsync(&t, token_ptr() + seq, sizeof t, cudaMemcpyDeviceToHost, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return t;
    }

    /// Change how the next token is chosen from the next step on (the graph is re-captured).
    void set_sampling(const SamplingOptions& sampling) {
        check_sampling(sampling);
        opt_.sampling = sampling;
        if (exec_) {
            GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
            cudaGraphExecDestroy(exec_);
            exec_ = nullptr;
        }
    }

    /// Decode n steps of every sequence: returns n * batch ids, row i (ids i*batch ..
    /// i*batch + batch - 1) holding each sequence's i-th id. Row 0 is the pending choice after
    /// the last position run so far (greedy or sampled, see SamplingOptions); each row is fed
    /// back on the device (n - 1 more steps run). on_tokens (optional) receives whole rows in
    /// order, in chunks, while the GPU runs ahead: the host waits only for rows half a ring
    /// (ring_cap / 2 steps) old.
    std::vector<int32_t> generate(int n, const std::function<void(std::span<const int32_t>)>& on_tokens = {}) {
        GDN_CHECK(n >= 0, "cuda decoder: generate(n) needs n >= 0, got ", n);
        for (int s = 0; s < opt_.batch; ++s)
            GDN_CHECK(pos_[s] > 0, "cuda decoder: generate() needs a prompt first (prefill or eval); sequence ", s,
                      " has none");
        const int b = opt_.batch;
        std::vector<int32_t> out(static_cast<size_t>(n) * b);
        if (n == 0) return out;
        const int64_t first = steps_;  // ring row of row 0
        detail::record_kernel<<<1, b, 0, stream_>>>(token_ptr(), ring_, ring_cap, counter_ptr(), b);
        GDN_CHECK_LAUNCH("record_kernel");
        ++steps_;
        constexpr int chunk = ring_cap / 2;
        struct Pending { int begin = 0, end = 0; bool active = false; } half[2];
        int copied = 0;
        auto drain = [&](Pending& h) {
            if (!h.active) return;
            GDN_CUDA_CHECK(cudaEventSynchronize(half_done_[&h - half]));
            for (int i = h.begin; i < h.end; ++i)
                std::copy_n(host_ring_ + ((first + i) % ring_cap) * b, b, out.data() + static_cast<size_t>(i) * b);
            if (on_tokens)
                on_tokens(std::span<const int32_t>(out.data() + static_cast<size_t>(h.begin) * b,
                                                   static_cast<size_t>(h.end - h.begin) * b));
            h.active = false;
        };
        auto issue = [&](int upto) {  // copy rows [copied, upto) to the pinned mirror
            Pending& h = half[(copied / chunk) % 2];
            drain(h);  // the same rows' previous ids must be read first
            for (int i = copied; i < upto;) {
                const int row = static_cast<int>((first + i) % ring_cap);
                const int run = std::min(upto - i, ring_cap - row);
                GDN_CUDA_CHECK(cudaMemcpyAsync(host_ring_ + row * b, ring_ + row * b, run * b * sizeof(int32_t),
                                               cudaMemcpyDeviceToHost, stream_));
                i += run;
            }
            GDN_CUDA_CHECK(cudaEventRecord(half_done_[&h - half], stream_));
            h = {copied, upto, true};
            copied = upto;
        };
        for (int i = 1; i < n; ++i) {  // step i produces row i
            run_step();
            if (i + 1 - copied == chunk) issue(i + 1);
        }
        if (copied < n) issue(n);
        const int older = (copied / chunk) % 2;  // drain in the order issued
        drain(half[older]);
        drain(half[1 - older]);
        return out;
    }

    // ---- device state, for tests (addresses never change; sequence s at offset s) ----------
    /// Device pointer of DeltaNet layer `layer`'s recurrent state, [batch, Hv, dv, dk] float32 (bf16
    /// with state_bf16), V-major: row j = value column j of the reference's S[i][j], contiguous
    /// over the keys i (kernels/deltanet_step.cuh); WHT-rotated along dk with a wht layer.
    [[nodiscard]] const void* deltanet_state(int64_t layer) const { return at(layer).state.ptr; }
    [[nodiscard]] const void* conv_ring(int64_t layer) const { return at(layer).conv_ring.ptr; }
    [[nodiscard]] const void* k_cache(int64_t layer) const { return at(layer).k_cache.ptr; }
    [[nodiscard]] const void* v_cache(int64_t layer) const { return at(layer).v_cache.ptr; }
    [[nodiscard]] const float* device_logits() const { return logits_; }

private:
    // embedding; LM head, argmax, advance (Model<...>::step_launches)
    static constexpr int k_step_launches = 4;
    // the persistent schedule: step kernel, argmax / sample, advance
    static constexpr int k_persistent_launches = 3;

    struct LayerBuffers {
        bool attention = false;
        TensorView in_proj;                 // fused [qkv|z|b|a] or [q|k|v] rows, when fusable
        TensorView router;                  // MoE: fused [router | shexp_gate] rows, when fusable
        MoeLayerState moe;
        DeltaNetLayerState deltanet;        // views of the memory below
        AttnLayerState attn;
        detail::DeviceMemory state, conv_ring, k_cache, v_cache;
        size_t state_bytes = 0, conv_bytes = 0;
    };

    static void check_sampling(const SamplingOptions& s) {
        GDN_CHECK(std::isfinite(s.temperature), "cuda decoder: temperature must be finite, got ", s.temperature);
        GDN_CHECK(s.top_k >= 0 && s.top_k <= kernels::k_max_top_k, "cuda decoder: top_k ", s.top_k,
                  " is not in [0, ", kernels::k_max_top_k, "]");
        GDN_CHECK(s.top_p > 0.f, "cuda decoder: top_p must be positive, got ", s.top_p);
    }

    int checked_seq(int seq) const {
        GDN_CHECK(seq >= 0 && seq < opt_.batch, "cuda decoder: sequence ", seq, " out of range [0, ", opt_.batch,
                  ")");
        return seq;
    }
    const LayerBuffers& at(int64_t layer) const {
        GDN_CHECK(layer >= 0 && layer < cfg_.n_layer, "cuda decoder: layer ", layer, " out of range [0, ",
                  cfg_.n_layer, ")");
        return layers_[static_cast<size_t>(layer)];
    }
    // Device scalars: token[batch], next[batch], pos[batch], ring counter.
    size_t scalar_bytes() const { return (3 * static_cast<size_t>(opt_.batch) + 1) * sizeof(int32_t); }
    int32_t* token_ptr() const { return scalars_.as<int32_t>(); }
    int32_t* next_ptr() const { return scalars_.as<int32_t>() + opt_.batch; }
    int32_t* pos_ptr() const { return scalars_.as<int32_t>() + 2 * opt_.batch; }
    uint32_t* counter_ptr() const { return reinterpret_cast<uint32_t*>(scalars_.as<int32_t>() + 3 * opt_.batch); }

    void allocate() {
        const ModelConfig& c = cfg_;
        const int b = opt_.batch;
        const int64_t rows = std::max(b, opt_.prefill_chunk);  // rows of every activation buffer
        const int64_t conv_dim = c.ssm_conv_dim();
        const int64_t vdim = c.ssm_n_v_heads * c.ssm_d_v;
        const int64_t kv_dim = c.n_head_kv * c.head_dim;
        const int64_t dn_proj = conv_dim + vdim + 2 * c.ssm_n_v_heads;
        const int64_t attn_proj = 2 * c.n_head * c.head_dim + 2 * kv_dim;
        // Activation arena: every buffer 256-byte aligned (16-byte vector loads).
        const int64_t sizes[] = {rows * c.n_embd,
                                 rows * std::max(dn_proj, attn_proj),
                                 rows * std::max(vdim, kv_dim),
                                 rows * std::max(c.ssm_n_v_heads, kv_dim),
                                 rows * c.ssm_n_v_heads,
                                 rows * std::max(vdim, c.n_head * c.head_dim),
                                 rows * std::max(c.n_ff, c.n_expert_used * c.n_ff_exp + c.n_ff_shexp),
                                 b * c.n_vocab,
                                 rows * (c.n_expert + 2) + 4,
                                 rows * c.n_expert_used};
        size_t total = 0;
        for (int64_t s : sizes) total += static_cast<size_t>(detail::align_up(s * 4));
        arena_ = detail::DeviceMemory(total);
        // NaN poison: a kernel that reads what nothing wrote shows up in the logits.
        GDN_CUDA_CHECK(cudaMemsetAsync(arena_.ptr, 0xff, total, stream_));
        auto* p = arena_.as<std::byte>();
        float* sep[3] = {};
        float* moe_ids = nullptr;
        float** slots[] = {&x_, &proj_, &sep[0], &sep[1], &sep[2], &mix_, &h_, &logits_, &moe_logits_, &moe_ids};
        for (size_t i = 0; i < std::size(sizes); ++i) {
            *slots[i] = reinterpret_cast<float*>(p);
            p += detail::align_up(sizes[i] * 4);
        }
        pos_.assign(static_cast<size_t>(b), 0);
        scalars_ = detail::DeviceMemory(scalar_bytes());
        ring_mem_ = detail::DeviceMemory(static_cast<size_t>(ring_cap) * b * sizeof(int32_t));
        ring_ = ring_mem_.as<int32_t>();
        GDN_CUDA_CHECK(cudaMallocHost(&host_ring_, static_cast<size_t>(ring_cap) * b * sizeof(int32_t)));
        for (cudaEvent_t& e : half_done_) GDN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        sampling_ws_ = detail::DeviceMemory(kernels::sampling_workspace_bytes(b));
        GDN_CUDA_CHECK(cudaMemsetAsync(sampling_ws_.ptr, 0, kernels::sampling_workspace_bytes(b), stream_));
        attn_ws_ = detail::DeviceMemory(kernels::attention_workspace_bytes(b, int(c.n_head), int(c.n_head_kv)));
        kernels::attention_workspace_init(attn_ws_.ptr, b, int(c.n_head), int(c.n_head_kv), stream_);
        if (opt_.prefill_chunk > 0) {
            const int pc = opt_.prefill_chunk;
            int64_t n_attn = 0;
            for (int64_t i = 0; i < c.n_layer; ++i) n_attn += c.is_attention(i) ? 1 : 0;
            size_t ws = 0;
            if (c.n_layer > n_attn)
                ws = kernels::deltanet_prefill_workspace_bytes(pc, int(c.ssm_n_k_heads), int(c.ssm_n_v_heads),
                                                              int(c.ssm_d_k), int(c.ssm_d_v));
            if (n_attn > 0)
                ws = std::max(ws, kernels::attention_prefill_workspace_bytes(pc, int(c.n_head), int(c.n_head_kv),
                                                                             int(c.head_dim)));
            prefill_ws_ = detail::DeviceMemory(ws);
            prompt_ = detail::DeviceMemory(static_cast<size_t>(pc) * sizeof(int32_t));
        }

        const int64_t kv_row = dtype_row_bytes(opt_.kv_type, c.head_dim);
        layers_.resize(static_cast<size_t>(c.n_layer));
        launches_ = k_step_launches;
        for (size_t i = 0; i < layers_.size(); ++i) {
            LayerBuffers& l = layers_[i];
            const LayerWeights& lw = w_.layers[i];
            l.attention = lw.is_attention;
            if (lw.is_attention) {
                GDN_CHECK(!opt_.deltanet_wht[i], "cuda decoder: WHT requested for layer ", i,
                          ", which is an attention layer");
                const AttnWeights& a = lw.attn;
                const bool fused = adjacent({&a.q, &a.k, &a.v});
                if (fused) l.in_proj = concat_view(a.q, a.q.rows() + a.k.rows() + a.v.rows(), i, "in_proj");
                const size_t kv_bytes = static_cast<size_t>(b) * opt_.max_ctx * c.n_head_kv * kv_row;
                l.k_cache = detail::DeviceMemory(kv_bytes);
                l.v_cache = detail::DeviceMemory(kv_bytes);
                l.attn = {l.k_cache.ptr, l.v_cache.ptr, attn_ws_.ptr, opt_.kv_type, opt_.kv_wht, opt_.max_ctx,
                          /*window=*/0, fused ? &l.in_proj : nullptr};
                launches_ += AttnBlock<gdn::fa_window<FAWindow>, kv_f16>::launches + (fused ? 0 : 2);
            } else {
                const DeltaNetWeights& d = lw.deltanet;
                const bool fused = adjacent({&d.qkv, &d.z, &d.beta, &d.alpha});
                if (fused)
                    l.in_proj = concat_view(d.qkv, d.qkv.rows() + d.z.rows() + d.beta.rows() + d.alpha.rows(), i,
                                            "in_proj");
                l.state_bytes = static_cast<size_t>(b * c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v) *
                                (opt_.state_bf16 ? 2 : 4);
                l.conv_bytes = static_cast<size_t>(b * kernels::kDeltaNetConvKernel * conv_dim) * sizeof(float);
                l.state = detail::DeviceMemory(l.state_bytes);
                l.conv_ring = detail::DeviceMemory(l.conv_bytes);
                l.deltanet = {l.state.ptr, static_cast<float*>(l.conv_ring.ptr), opt_.state_bf16,
                              bool(opt_.deltanet_wht[i]), fused ? &l.in_proj : nullptr};
                launches_ += DeltaNetBlock<any_format>::launches + (fused ? 0 : 3);
            }
            if (lw.is_moe()) {
                const MoeWeights& m = lw.moe;
                if (m.has_shared() && adjacent({&m.router, &m.shexp_gate})) {
                    l.router = concat_view(m.router, m.router.rows() + 1, i, "ffn_gate_inp + ffn_gate_inp_shexp");
                    l.moe.router_fused = &l.router;
                }
                launches_ += moe_launches(m, l.moe);
            } else {
                launches_ += MlpBlock<any_format>::launches;
            }
        }
        io_ = {x_, proj_, {sep[0], sep[1], sep[2]}, mix_, h_, moe_logits_, reinterpret_cast<int32_t*>(moe_ids),
               pos_ptr(), b, false, nullptr, cfg_.rms_eps};
    }

    // `what` names the fused matrix in errors ("blk.3.in_proj (fused)").
    static TensorView concat_view(const TensorView& first, int64_t rows, size_t layer, const char* what) {
        TensorView v = first;
        v.name = "blk." + std::to_string(layer) + "." + what + " (fused)";
        v.ne = {first.cols(), rows, 1, 1};
        v.n_dims = 2;
        return v;
    }

    // The LM head's product over `rows` rows of x (from row `first`) into logits.
    kernels::GemmParams head_params(int first, int rows, float* logits) const {
        kernels::GemmParams g = kernels::gemm_params(w_.output);
        g.x = x_ + static_cast<int64_t>(first) * cfg_.n_embd;
        g.y = logits;
        g.norm_w = f32(w_.output_norm);
        g.norm_eps = cfg_.rms_eps;
        g.n_tok = rows;
        return g;
    }
    // The LM head over `rows` rows of x (from row `first`), then the choice into next.
    void enqueue_head(int first, int rows, float* logits, int32_t* next, const int32_t* step) {
        kernels::launch_matmul(head_params(first, rows, logits), stream_);
        enqueue_choice(rows, logits, next, step);
    }
    // The choice (argmax or sample) of `rows` rows of logits into next.
    void enqueue_choice(int rows, float* logits, int32_t* next, const int32_t* step) {
        kernels::SampleParams sp;  // temperature <= 0: the argmax kernel
        sp.logits = logits;
        sp.n_vocab = cfg_.n_vocab;
        sp.n_seq = rows;
        sp.token = next;
        sp.temperature = opt_.sampling.temperature;
        sp.top_k = opt_.sampling.top_k;
        sp.top_p = opt_.sampling.top_p;
        sp.seed = opt_.sampling.seed;
        sp.step = step;
        sp.workspace = sampling_ws_.ptr;
        kernels::launch_sample(sp, stream_);
    }

    kernels::EmbeddingParams step_embedding() const {
        kernels::EmbeddingParams e = kernels::embedding_params(w_.tok_embd);
        e.token = token_ptr();
        e.out = x_;
        e.n_seq = opt_.batch;
        return e;
    }

    // Every layer of a decode step over io (launched, or recorded into io.program); returns
    // the launches.
    int enqueue_layers(const StepIO& io) {
        int launches = 0;
        for (size_t i = 0; i < layers_.size(); ++i) {
            LayerBuffers& l = layers_[i];
            const LayerWeights& lw = w_.layers[i];
            if (l.attention) {
                l.attn.window = window_;
                launches += enqueue_attention<FAWindow>(cfg_, lw, l.attn, io, stream_);
            } else {
                launches += enqueue_deltanet(cfg_, lw, l.deltanet, io, stream_);
            }
            if (lw.is_moe()) {
                GDN_CHECK(io.program == nullptr, "persistent schedule: layer ", i,
                          " is a mixture of experts, which the persistent kernel does not run");
                launches += enqueue_moe(cfg_, lw, l.moe, io, stream_);
            } else {
                launches += enqueue_mlp(lw, io, stream_);
            }
        }
        return launches;
    }

    void enqueue_advance() {
        kernels::launch_kernel("advance_kernel", detail::advance_kernel, dim3(1), dim3(opt_.batch), 0, stream_,
                               pos_ptr(), token_ptr(), next_ptr(), ring_, int(ring_cap), counter_ptr(), opt_.batch);
    }

    // Enqueue one whole decode step on stream_ (eagerly, or inside a capture).
    void enqueue_step() {
        if (persistent_) {
            if constexpr (Sched::has_persistent) {
                Sched::launch(stages_.as<kernels::persistent::Stage>(), static_cast<int>(n_stages_),
                              grid_sync_.as<kernels::persistent::GridSync>(), geometry_.blocks, stage_smem_, stream_);
            }
            enqueue_choice(opt_.batch, logits_, next_ptr(), pos_ptr());
            enqueue_advance();
            return;
        }
        kernels::launch_embedding(step_embedding(), stream_);
        const int launches = k_step_launches + enqueue_layers(io_);
        enqueue_head(0, opt_.batch, logits_, next_ptr(), pos_ptr());
        enqueue_advance();
        GDN_CHECK(launches == launches_, "cuda decoder: the step enqueued ", launches, " kernels, ",
                  launches_, " were planned");
    }

    // The persistent step kernel's program for the attention window `window` (host).
    kernels::persistent::StepProgram build_program(int window) {
        if constexpr (!Sched::has_persistent) {
            (void)window;
            fail("cuda decoder: the persistent schedule was not compiled (schedule::MultiKernel)");
        } else {
            GDN_CHECK(opt_.batch == 1, "persistent schedule: batch ", opt_.batch, "; the persistent kernel runs one "
                      "sequence");
            kernels::persistent::StepProgram prog(Sched::formats(), geometry_.blocks, geometry_.smem_budget,
                                                  opt_.prefetch_bytes);
            const int saved = window_;
            window_ = window;
            prog.embedding(step_embedding());
            StepIO io = io_;
            io.program = &prog;
            try {
                enqueue_layers(io);
            } catch (...) {
                window_ = saved;
                throw;
            }
            window_ = saved;
            prog.gemv(kernels::gemm_detail::as_gemv(head_params(0, 1, logits_)), false, w_.output.name);
            prog.finish();
            return prog;
        }
    }

    // Rebuilds the persistent program for `window` and uploads it (stream-ordered: the
    // previous step has read the old one).
    void upload_program(int window) {
        const kernels::persistent::StepProgram prog = build_program(window);
        const auto& st = prog.stages();
        if (stages_cap_ < st.size()) {
            GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
            stages_ = detail::DeviceMemory(st.size() * sizeof(kernels::persistent::Stage));
            stages_cap_ = st.size();
        }
        GDN_CUDA_CHECK(cudaMemcpyAsync(stages_.ptr, st.data(), st.size() * sizeof(kernels::persistent::Stage),
                                       cudaMemcpyHostToDevice, stream_));
        n_stages_ = st.size();
        stage_names_ = prog.names();
        n_barriers_ = prog.barriers();
        stage_smem_ = prog.smem();
        program_window_ = window;
    }

    // Resolves opt_.schedule once the buffers exist: a trial program for the first window
    // decides whether the persistent kernel applies.
    void choose_schedule() {
        persistent_ = false;
        if (opt_.schedule == Schedule::multi_kernel) return;
        if constexpr (!Sched::has_persistent) {
            GDN_CHECK(opt_.schedule != Schedule::persistent,
                      "cuda decoder: schedule persistent requested, but this decoder was compiled with "
                      "schedule::MultiKernel");
        } else {
            if (opt_.schedule == Schedule::automatic && !(opt_.batch == 1 && prefer_persistent(cfg_))) return;
            try {
                geometry_ = Sched::geometry();
                grid_sync_ = detail::DeviceMemory(sizeof(kernels::persistent::GridSync));
                GDN_CUDA_CHECK(cudaMemsetAsync(grid_sync_.ptr, 0, sizeof(kernels::persistent::GridSync), stream_));
                upload_program(FAWindow);
                persistent_ = true;
            } catch (const Error&) {
                if (opt_.schedule == Schedule::persistent) throw;
                persistent_ = false;  // automatic: the multi-kernel schedule takes the model
            }
        }
    }

    // Enqueue one prefill chunk of `n` tokens (staged in prompt_) through sequence seq; the
    // last chunk also runs the LM head on its last row and makes the choice.
    void enqueue_prefill_chunk(int seq, int n, bool last) {
        int32_t* pos = pos_ptr() + seq;
        kernels::EmbeddingParams e = kernels::embedding_params(w_.tok_embd);
        e.token = prompt_.as<int32_t>();
        e.out = x_;
        e.n_seq = n;
        kernels::launch_embedding(e, stream_);
        StepIO io = io_;
        io.n = n;
        io.prefill = true;
        io.pos = pos;
        io.prefill_ws = prefill_ws_.ptr;
        for (size_t i = 0; i < layers_.size(); ++i) {
            const LayerBuffers& l = layers_[i];
            const LayerWeights& lw = w_.layers[i];
            if (l.attention)
                enqueue_attention<FAWindow>(cfg_, lw, l.attn.sequence(cfg_, seq), io, stream_);
            else
                enqueue_deltanet(cfg_, lw, l.deltanet.sequence(cfg_, seq), io, stream_);
            if (lw.is_moe())
                enqueue_moe(cfg_, lw, l.moe, io, stream_);
            else
                enqueue_mlp(lw, io, stream_);
        }
        // pos moves past the chunk; after the last one it stays on the last prompt position
        // for the choice (its sampling counter, as in token-by-token decode), then advances.
        detail::bump_kernel<<<1, 1, 0, stream_>>>(pos, last ? n - 1 : n);
        GDN_CHECK_LAUNCH("bump_kernel");
        if (!last) return;
        enqueue_head(n - 1, 1, logits_ + static_cast<int64_t>(seq) * cfg_.n_vocab, next_ptr() + seq, pos);
        kernels::launch_kernel("advance_kernel", detail::advance_kernel, dim3(1), dim3(1), 0, stream_, pos,
                               token_ptr() + seq, next_ptr() + seq, static_cast<int32_t*>(nullptr), int(ring_cap),
                               counter_ptr(), 1);
    }

    void run_step() {
        int64_t top = 0;
        for (int64_t p : pos_) {
            GDN_CHECK(p < opt_.max_ctx, "cuda decoder: context overflow: position ", p,
                      " needs more than max_ctx = ", opt_.max_ctx, " positions");
            top = std::max(top, p);
        }
        const int window = kernels::attention_window_len<FAWindow>(static_cast<int>(top) + 1);
        if (!opt_.use_graph) {
            window_ = window;
            if (persistent_ && program_window_ != window) upload_program(window);
            enqueue_step();
        } else {
            if (!exec_ || window != window_) capture(window);
            GDN_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
        }
        for (int64_t& p : pos_) ++p;
        ++steps_;
    }

    void capture(int window) {
        window_ = window;
        if (persistent_ && program_window_ != window) upload_program(window);
        cudaGraph_t graph = nullptr;
        GDN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
        try {
            enqueue_step();
        } catch (...) {
            cudaStreamEndCapture(stream_, &graph);
            if (graph) cudaGraphDestroy(graph);
            throw;
        }
        GDN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
        size_t nodes = 0;
        if (cudaGraphGetNodes(graph, nullptr, &nodes) == cudaSuccess) graph_nodes_ = nodes;
        if (exec_) {
            cudaGraphExecDestroy(exec_);
            exec_ = nullptr;
        }
        const cudaError_t err = cudaGraphInstantiate(&exec_, graph, 0);
        cudaGraphDestroy(graph);
        GDN_CUDA_CHECK(err);
        ++captures_;
    }

    DecoderOptions opt_;
    ModelConfig cfg_;
    cudaStream_t stream_ = nullptr;
    ModelWeights w_;
    std::vector<LayerBuffers> layers_;
    detail::DeviceMemory arena_, scalars_, ring_mem_, sampling_ws_, attn_ws_, prefill_ws_, prompt_;
    float *x_ = nullptr, *proj_ = nullptr, *mix_ = nullptr, *h_ = nullptr, *logits_ = nullptr, *moe_logits_ = nullptr;
    StepIO io_;
    int32_t* ring_ = nullptr;        // [ring_cap, batch] device: row r = the ids of ring step r
    int32_t* host_ring_ = nullptr;   // [ring_cap, batch] pinned mirror
    cudaEvent_t half_done_[2] = {nullptr, nullptr};
    std::vector<int64_t> pos_;       // per sequence, mirrors pos on the device
    int64_t steps_ = 0;              // ring rows written, mirrors the device counter
    int window_ = 0;
    int launches_ = 0;
    int captures_ = 0;
    cudaGraphExec_t exec_ = nullptr;
    size_t graph_nodes_ = 0;
    // persistent schedule
    bool persistent_ = false;
    kernels::persistent::Geometry geometry_;
    detail::DeviceMemory stages_, grid_sync_;
    size_t stages_cap_ = 0, n_stages_ = 0;
    int stage_smem_ = 0, n_barriers_ = 0;
    std::vector<std::string> stage_names_;
    int program_window_ = -1;
};

/// The runtime-shaped decoder for any Qwen3.5 GGUF.
using RuntimeDecoder = BasicDecoder<256>;
/// The same with the persistent step kernel compiled for the common formats
/// (DecoderOptions::schedule = persistent selects it).
using PersistentRuntimeDecoder = BasicDecoder<256, schedule::DefaultPersistent>;

namespace detail {

template <class L>
constexpr int attn_window_of() {
    if constexpr (L::kind == LayerKind::attention) return L::mixer::window;
    else return 0;
}
template <class L>
constexpr int attn_kv_of() {
    if constexpr (L::kind == LayerKind::attention) return static_cast<int>(L::mixer::kv_type::format::dtype);
    else return -1;
}

/// The attention policy a Model declares: one FAWindow and one KV format for all its
/// attention layers (the decoder keeps one graph and one KV layout).
template <class List>
struct AttnPolicy;
template <class... Ls>
struct AttnPolicy<TypeList<Ls...>> {
    static constexpr std::array<int, sizeof...(Ls)> windows{attn_window_of<Ls>()...};
    static constexpr std::array<int, sizeof...(Ls)> kvs{attn_kv_of<Ls>()...};
    static constexpr int first() {
        for (size_t i = 0; i < windows.size(); ++i)
            if (windows[i] != 0) return static_cast<int>(i);
        return -1;
    }
    static constexpr bool uniform() {
        const int f = first();
        for (size_t i = 0; i < windows.size(); ++i)
            if (windows[i] != 0 && (windows[i] != windows[f] || kvs[i] != kvs[f])) return false;
        return true;
    }
    static constexpr int window = first() < 0 ? 256 : windows[first()];
    static constexpr DType kv = first() < 0 ? DType::f16 : static_cast<DType>(kvs[first()]);
};

}  // namespace detail

/// The decoder of a compile-time Model<...>: checks the weights against the declared blocks
/// (layer kinds, projection dtypes, shapes), and takes the attention window, the KV format
/// and the per-layer DeltaNet WHT from the model type (they override those options).
template <ModelType M, class Sched = schedule::MultiKernel>
class Decoder : public BasicDecoder<detail::AttnPolicy<typename M::layers>::window, Sched> {
    using Policy = detail::AttnPolicy<typename M::layers>;
    static_assert(Policy::uniform(),
                  "cuda::Decoder<Model>: every AttnBlock of a model must use the same fa_window and KV format.");
    static_assert(Policy::window == 64 || Policy::window == 256,
                  "cuda::Decoder<Model>: the attention kernels are compiled for fa_window<64> and fa_window<256>.");
    using Base = BasicDecoder<Policy::window, Sched>;

public:
    /// Launches of one decode step, known at compile time (M::launches_per_step: the blocks'
    /// counts with fused input projections).
    static constexpr int launches_per_step_v = M::launches_per_step;

    Decoder(const ModelWeights& weights, DecoderOptions opt = {}) : Base(checked(weights), with_model(std::move(opt))) {}

private:
    static const ModelWeights& checked(const ModelWeights& w) {
        M::validate(w);
        return w;
    }
    static DecoderOptions with_model(DecoderOptions o) {
        o.kv_type = Policy::kv;
        o.deltanet_wht = M::wht_flags();
        return o;
    }
};

}  // namespace gdn::cuda

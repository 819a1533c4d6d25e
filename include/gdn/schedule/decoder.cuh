// gdn/schedule/decoder.cuh - the CUDA decoder: weights, DeltaNet/conv state and KV cache
// allocated once; one decode step is a fixed sequence of fused launches, captured into a
// CUDA graph and replayed per token.
//
// One step (n_seq = 1), launches in order (Model<...>::launches_per_step):
//   embedding(token)                                                      1
//   per layer: the mixer block, DeltaNetBlock or AttnBlock (blocks/*.cuh)  3
//              (in-projection with the input norm, the mixer kernel, out-projection
//              with the residual; +3 / +2 when a file stores a layer's in-projections
//              in different types, as K-quant mixes may do for attn_v)
//              then its MlpBlock: gate/up with the post norm, down with the residual  2
//   LM head GEMV with output_norm prologue, argmax, advance                 3
// Per-token inputs live in device memory: `token` (read by the embedding, overwritten by
// argmax) and `pos` (read by the mixers, incremented by `advance`), so the captured graph
// replays unchanged. The only topology change is the attention grid, fixed by the window
// padded to FAWindow positions: the graph is re-captured when pos + 1 crosses a multiple
// of FAWindow, i.e. at most once every FAWindow tokens.
// Steady-state generation makes no host synchronisation and no allocation per token:
// generated ids collect in a device ring that is copied back asynchronously in chunks.
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
#include <utility>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/blocks/attn_block.cuh"
#include "gdn/blocks/deltanet_block.cuh"
#include "gdn/blocks/mlp_block.cuh"
#include "gdn/blocks/step_io.cuh"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/kernels/embedding.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/kernels/sampling.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/ref/check.hpp"
#include "gdn/schedule/device_weights.cuh"
#include "gdn/schedule/model.hpp"

namespace gdn::cuda {

/// Where the ModelWeights given to a decoder live.
enum class WeightsOn : uint8_t {
    host,    ///< host views (a loaded GGUF): copied to the device once (upload_weights)
    device,  ///< already device views laid out as upload_weights does (benchmarks that
             ///< generate weights on the device): used in place, the caller keeps them alive
};

/// How the next token is chosen on the device (kernels/sampling.cuh): greedy when
/// temperature <= 0, else a seeded draw (Philox keyed by seed, counter = position).
struct SamplingOptions {
    float temperature = 0.f;
    int top_k = 0;       ///< 0: off; else 1..1024
    float top_p = 1.f;   ///< >= 1: off
    uint64_t seed = 0;
};

struct DecoderOptions {
    int max_ctx = 4096;                 ///< positions the KV cache holds
    DType kv_type = DType::f16;         ///< f16, q8_0 or q4_0
    bool kv_wht = false;                ///< rotate q/k by the WHT before K is stored
    bool state_bf16 = false;            ///< DeltaNet state in bf16 instead of float32
    std::vector<bool> deltanet_wht;     ///< per layer (empty: all off)
    bool use_graph = true;              ///< false: launch eagerly every step (tests)
    SamplingOptions sampling;           ///< next-token choice (greedy by default)
};

namespace detail {

/// Step bookkeeping at the end of a decode step: the chosen token becomes the next input,
/// is recorded in slot pos % ring_cap of the ring of chosen ids, and pos advances.
/// grid 1, block 1; 16 bytes moved.
static __global__ void advance_kernel(int32_t* pos, int32_t* token, const int32_t* next, int32_t* ring,
                                      int ring_cap) {
    const int32_t t = *next;
    const int32_t p = *pos;
    *token = t;
    ring[p % ring_cap] = t;
    *pos = p + 1;
}

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
/// attention window padded to FAWindow positions.
template <int FAWindow = 256>
class BasicDecoder {
public:
    static constexpr int fa_window = FAWindow;
    static constexpr int ring_cap = 256;  ///< generated ids buffered on the device

    BasicDecoder(const ModelWeights& weights, DecoderOptions opt = {}, WeightsOn where = WeightsOn::host)
        : opt_(std::move(opt)), cfg_(weights.config) {
        ref::check_weights(weights);
        GDN_CHECK(opt_.max_ctx > 0, "cuda decoder: max_ctx must be positive, got ", opt_.max_ctx);
        check_sampling(opt_.sampling);
        GDN_CHECK(opt_.kv_type == DType::f16 || opt_.kv_type == DType::q8_0 || opt_.kv_type == DType::q4_0,
                  "cuda decoder: KV cache type ", dtype_name(opt_.kv_type), " is not one of f16, q8_0, q4_0");
        if (opt_.deltanet_wht.empty()) opt_.deltanet_wht.assign(static_cast<size_t>(cfg_.n_layer), false);
        GDN_CHECK(static_cast<int64_t>(opt_.deltanet_wht.size()) == cfg_.n_layer, "cuda decoder: ",
                  opt_.deltanet_wht.size(), " WHT flags for ", cfg_.n_layer, " layers");
        GDN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        w_ = where == WeightsOn::host ? upload_weights(weights, stream_) : weights;
        allocate();
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
    [[nodiscard]] int64_t position() const { return pos_; }
    [[nodiscard]] int launches_per_step() const { return launches_; }
    /// Launches per step for a model of this shape whose layers' input projections fuse
    /// (one type per layer's projections, as in every GGUF quant mix of llama.cpp's).
    static constexpr int64_t fused_launches_per_step(const ModelConfig& c) {
        return k_step_launches +
               (DeltaNetBlock<any_format>::launches + MlpBlock<any_format>::launches) * c.n_layer;
    }
    [[nodiscard]] cudaStream_t stream() const { return stream_; }
    /// Graph (re-)captures so far: one per FAWindow crossing.
    [[nodiscard]] int captures() const { return captures_; }

    /// Forget the sequence: zero DeltaNet and conv state, position 0. The KV cache needs no
    /// clearing: attention masks every position past pos.
    void reset() {
        for (auto& l : layers_) {
            if (l.state.ptr) GDN_CUDA_CHECK(cudaMemsetAsync(l.state.ptr, 0, l.state_bytes, stream_));
            if (l.conv_ring.ptr) GDN_CUDA_CHECK(cudaMemsetAsync(l.conv_ring.ptr, 0, l.conv_bytes, stream_));
        }
        GDN_CUDA_CHECK(cudaMemsetAsync(scalars_.ptr, 0, k_scalar_bytes, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        pos_ = 0;
    }

    /// For benchmarks at a long context: move to position `pos` as if pos tokens had been
    /// decoded, without computing them. KV rows below pos are zeroed (finite); DeltaNet and
    /// conv state keep what they hold. What follows is not the model's output for any prompt.
    void seek_uncomputed(int64_t pos) {
        GDN_CHECK(pos >= 0 && pos < opt_.max_ctx, "cuda decoder: seek to ", pos, " outside [0, max_ctx = ",
                  opt_.max_ctx, ")");
        const size_t kv_bytes = static_cast<size_t>(pos * cfg_.n_head_kv * dtype_row_bytes(opt_.kv_type, cfg_.head_dim));
        for (auto& l : layers_) {
            if (!l.attention || kv_bytes == 0) continue;
            GDN_CUDA_CHECK(cudaMemsetAsync(l.k_cache.ptr, 0, kv_bytes, stream_));
            GDN_CUDA_CHECK(cudaMemsetAsync(l.v_cache.ptr, 0, kv_bytes, stream_));
        }
        const int32_t p = static_cast<int32_t>(pos);
        GDN_CUDA_CHECK(cudaMemcpyAsync(pos_ptr(), &p, sizeof p, cudaMemcpyHostToDevice, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        pos_ = pos;
    }

    /// Run one position with the given token (prompt or forced token). The logits of that
    /// position stay on the device (logits()); the argmax is the next token (next_token()).
    void eval(int32_t token) {
        GDN_CHECK(token >= 0 && token < cfg_.n_vocab, "cuda decoder: token id ", token,
                  " is out of range [0, ", cfg_.n_vocab, ")");
        GDN_CUDA_CHECK(cudaMemcpyAsync(token_ptr(), &token, sizeof token, cudaMemcpyHostToDevice, stream_));
        // The host value above is on this stack frame: finish the copy before returning.
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        run_step();
    }

    /// Run every prompt token; the prompt is staged on the device once.
    void prefill(std::span<const int32_t> tokens) {
        if (tokens.empty()) return;
        for (int32_t t : tokens)
            GDN_CHECK(t >= 0 && t < cfg_.n_vocab, "cuda decoder: prompt token id ", t,
                      " is out of range [0, ", cfg_.n_vocab, ")");
        detail::DeviceMemory staged(tokens.size_bytes());
        GDN_CUDA_CHECK(cudaMemcpyAsync(staged.ptr, tokens.data(), tokens.size_bytes(), cudaMemcpyHostToDevice, stream_));
        for (size_t i = 0; i < tokens.size(); ++i) {
            GDN_CUDA_CHECK(cudaMemcpyAsync(token_ptr(), staged.as<int32_t>() + i, sizeof(int32_t),
                                           cudaMemcpyDeviceToDevice, stream_));
            run_step();
        }
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }

    /// Logits of the last position [n_vocab] (synchronises).
    [[nodiscard]] std::vector<float> logits() {
        std::vector<float> out(static_cast<size_t>(cfg_.n_vocab));
        GDN_CUDA_CHECK(cudaMemcpyAsync(out.data(), logits_, out.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_));
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        return out;
    }

    /// The choice (greedy or sampled) after the last position (synchronises).
    [[nodiscard]] int32_t next_token() {
        int32_t t = -1;
        GDN_CUDA_CHECK(cudaMemcpyAsync(&t, token_ptr(), sizeof t, cudaMemcpyDeviceToHost, stream_));
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

    /// Decode n tokens: returns n ids, the first being the choice after the last position
    /// run so far (greedy or sampled, see SamplingOptions), each fed back on the device
    /// (n - 1 more steps run). on_tokens (optional)
    /// receives the ids in order, in chunks, while the GPU runs ahead: the host waits only
    /// for ids half a ring (ring_cap / 2 steps) old.
    std::vector<int32_t> generate(int n, const std::function<void(std::span<const int32_t>)>& on_tokens = {}) {
        GDN_CHECK(n >= 0, "cuda decoder: generate(n) needs n >= 0, got ", n);
        GDN_CHECK(pos_ > 0, "cuda decoder: generate() needs a prompt first (prefill or eval)");
        std::vector<int32_t> out(static_cast<size_t>(n));
        const int64_t first = pos_ - 1;  // ring slot of the pending choice
        constexpr int chunk = ring_cap / 2;
        struct Pending { int begin = 0, end = 0; bool active = false; } half[2];
        int copied = 0;
        auto drain = [&](Pending& h) {
            if (!h.active) return;
            GDN_CUDA_CHECK(cudaEventSynchronize(half_done_[&h - half]));
            for (int i = h.begin; i < h.end; ++i) out[i] = host_ring_[(first + i) % ring_cap];
            if (on_tokens) on_tokens(std::span<const int32_t>(out.data() + h.begin, h.end - h.begin));
            h.active = false;
        };
        auto issue = [&](int upto) {  // copy ids [copied, upto) to the pinned mirror
            Pending& h = half[(copied / chunk) % 2];
            drain(h);  // the same slots' previous ids must be read first
            for (int i = copied; i < upto;) {
                const int slot = static_cast<int>((first + i) % ring_cap);
                const int run = std::min(upto - i, ring_cap - slot);
                GDN_CUDA_CHECK(cudaMemcpyAsync(host_ring_ + slot, ring_ + slot, run * sizeof(int32_t),
                                               cudaMemcpyDeviceToHost, stream_));
                i += run;
            }
            GDN_CUDA_CHECK(cudaEventRecord(half_done_[&h - half], stream_));
            h = {copied, upto, true};
            copied = upto;
        };
        for (int i = 1; i < n; ++i) {  // step i produces id i
            run_step();
            if (i + 1 - copied == chunk) issue(i + 1);
        }
        if (copied < n) issue(n);
        const int older = (copied / chunk) % 2;  // drain in the order issued
        drain(half[older]);
        drain(half[1 - older]);
        return out;
    }

    // ---- device state, for tests (addresses never change) ------------------------------
    [[nodiscard]] const void* deltanet_state(int64_t layer) const { return at(layer).state.ptr; }
    [[nodiscard]] const void* conv_ring(int64_t layer) const { return at(layer).conv_ring.ptr; }
    [[nodiscard]] const void* k_cache(int64_t layer) const { return at(layer).k_cache.ptr; }
    [[nodiscard]] const float* device_logits() const { return logits_; }

private:
    static constexpr size_t k_scalar_bytes = 256;  // token, next, pos
    // embedding; LM head, argmax, advance (Model<...>::step_launches)
    static constexpr int k_step_launches = 4;

    struct LayerBuffers {
        bool attention = false;
        TensorView in_proj;                 // fused [qkv|z|b|a] or [q|k|v] rows, when fusable
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

    const LayerBuffers& at(int64_t layer) const {
        GDN_CHECK(layer >= 0 && layer < cfg_.n_layer, "cuda decoder: layer ", layer, " out of range [0, ",
                  cfg_.n_layer, ")");
        return layers_[static_cast<size_t>(layer)];
    }
    int32_t* token_ptr() const { return scalars_.as<int32_t>(); }
    int32_t* next_ptr() const { return scalars_.as<int32_t>() + 1; }
    int32_t* pos_ptr() const { return scalars_.as<int32_t>() + 2; }

    void allocate() {
        const ModelConfig& c = cfg_;
        const int64_t conv_dim = c.ssm_conv_dim();
        const int64_t vdim = c.ssm_n_v_heads * c.ssm_d_v;
        const int64_t dn_proj = conv_dim + vdim + 2 * c.ssm_n_v_heads;
        const int64_t attn_proj = 2 * c.n_head * c.head_dim + 2 * c.n_head_kv * c.head_dim;
        // Activation arena: every buffer 256-byte aligned (16-byte vector loads).
        const int64_t sizes[] = {c.n_embd, std::max(dn_proj, attn_proj) + 64, vdim, c.ssm_n_v_heads,
                                 c.ssm_n_v_heads, std::max(vdim, c.n_head * c.head_dim), c.n_ff, c.n_vocab};
        size_t total = 0;
        for (int64_t s : sizes) total += static_cast<size_t>(detail::align_up(s * 4));
        arena_ = detail::DeviceMemory(total);
        // NaN poison: a kernel that reads what nothing wrote shows up in the logits.
        GDN_CUDA_CHECK(cudaMemsetAsync(arena_.ptr, 0xff, total, stream_));
        auto* p = arena_.as<std::byte>();
        float** slots[] = {&x_, &proj_, &z_sep_, &b_sep_, &a_sep_, &mix_, &h_, &logits_};
        for (size_t i = 0; i < std::size(sizes); ++i) {
            *slots[i] = reinterpret_cast<float*>(p);
            p += detail::align_up(sizes[i] * 4);
        }
        scalars_ = detail::DeviceMemory(k_scalar_bytes);
        ring_mem_ = detail::DeviceMemory(ring_cap * sizeof(int32_t));
        ring_ = ring_mem_.as<int32_t>();
        GDN_CUDA_CHECK(cudaMallocHost(&host_ring_, ring_cap * sizeof(int32_t)));
        for (cudaEvent_t& e : half_done_) GDN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        sampling_ws_ = detail::DeviceMemory(kernels::sampling_workspace_bytes(1));
        GDN_CUDA_CHECK(cudaMemsetAsync(sampling_ws_.ptr, 0, kernels::sampling_workspace_bytes(1), stream_));
        attn_ws_ = detail::DeviceMemory(kernels::attention_workspace_bytes(1, int(c.n_head), int(c.n_head_kv)));
        kernels::attention_workspace_init(attn_ws_.ptr, 1, int(c.n_head), int(c.n_head_kv), stream_);

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
                if (fused) l.in_proj = concat_view(a.q, a.q.rows() + a.k.rows() + a.v.rows(), i);
                const size_t kv_bytes = static_cast<size_t>(opt_.max_ctx * c.n_head_kv * kv_row);
                l.k_cache = detail::DeviceMemory(kv_bytes);
                l.v_cache = detail::DeviceMemory(kv_bytes);
                l.attn = {l.k_cache.ptr, l.v_cache.ptr, attn_ws_.ptr, opt_.kv_type, opt_.kv_wht, opt_.max_ctx,
                          /*window=*/0, fused ? &l.in_proj : nullptr};
                launches_ += AttnBlock<gdn::fa_window<FAWindow>, kv_f16>::launches + (fused ? 0 : 2);
            } else {
                const DeltaNetWeights& d = lw.deltanet;
                const bool fused = adjacent({&d.qkv, &d.z, &d.beta, &d.alpha});
                if (fused)
                    l.in_proj = concat_view(d.qkv, d.qkv.rows() + d.z.rows() + d.beta.rows() + d.alpha.rows(), i);
                l.state_bytes = static_cast<size_t>(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v) *
                                (opt_.state_bf16 ? 2 : 4);
                l.conv_bytes = static_cast<size_t>(kernels::kDeltaNetConvKernel * conv_dim) * sizeof(float);
                l.state = detail::DeviceMemory(l.state_bytes);
                l.conv_ring = detail::DeviceMemory(l.conv_bytes);
                l.deltanet = {l.state.ptr, static_cast<float*>(l.conv_ring.ptr), opt_.state_bf16,
                              bool(opt_.deltanet_wht[i]), fused ? &l.in_proj : nullptr};
                launches_ += DeltaNetBlock<any_format>::launches + (fused ? 0 : 3);
            }
            launches_ += MlpBlock<any_format>::launches;
        }
        io_ = {x_, proj_, {z_sep_, b_sep_, a_sep_}, mix_, h_, pos_ptr(), cfg_.rms_eps};
    }

    static TensorView concat_view(const TensorView& first, int64_t rows, size_t layer) {
        TensorView v = first;
        v.name = "blk." + std::to_string(layer) + ".in_proj (fused)";
        v.ne = {first.cols(), rows, 1, 1};
        v.n_dims = 2;
        return v;
    }

    // Enqueue one whole step on stream_ (eagerly, or inside a capture).
    void enqueue_step() {
        kernels::EmbeddingParams e = kernels::embedding_params(w_.tok_embd);
        e.token = token_ptr();
        e.out = x_;
        kernels::launch_embedding(e, stream_);
        int launches = k_step_launches;
        for (size_t i = 0; i < layers_.size(); ++i) {
            LayerBuffers& l = layers_[i];
            const LayerWeights& lw = w_.layers[i];
            if (l.attention) {
                l.attn.window = window_;
                launches += enqueue_attention<FAWindow>(cfg_, lw, l.attn, io_, stream_);
            } else {
                launches += enqueue_deltanet(cfg_, lw, l.deltanet, io_, stream_);
            }
            launches += enqueue_mlp(lw, io_, stream_);
        }
        gemv(w_.output, x_, logits_, f32(w_.output_norm), nullptr, cfg_.rms_eps, stream_);
        kernels::SampleParams sp;  // temperature <= 0: the argmax kernel
        sp.logits = logits_;
        sp.n_vocab = cfg_.n_vocab;
        sp.token = next_ptr();
        sp.temperature = opt_.sampling.temperature;
        sp.top_k = opt_.sampling.top_k;
        sp.top_p = opt_.sampling.top_p;
        sp.seed = opt_.sampling.seed;
        sp.step = pos_ptr();
        sp.workspace = sampling_ws_.ptr;
        kernels::launch_sample(sp, stream_);
        detail::advance_kernel<<<1, 1, 0, stream_>>>(pos_ptr(), token_ptr(), next_ptr(), ring_, ring_cap);
        GDN_CHECK_LAUNCH("advance_kernel");
        GDN_CHECK(launches == launches_, "cuda decoder: the step enqueued ", launches, " kernels, ",
                  launches_, " were planned");
    }

    void run_step() {
        GDN_CHECK(pos_ < opt_.max_ctx, "cuda decoder: context overflow: position ", pos_,
                  " needs more than max_ctx = ", opt_.max_ctx, " positions");
        const int window = kernels::attention_window_len<FAWindow>(static_cast<int>(pos_) + 1);
        if (!opt_.use_graph) {
            window_ = window;
            enqueue_step();
        } else {
            if (!exec_ || window != window_) capture(window);
            GDN_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
        }
        ++pos_;
    }

    void capture(int window) {
        window_ = window;
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
    detail::DeviceMemory arena_, scalars_, ring_mem_, sampling_ws_, attn_ws_;
    float *x_ = nullptr, *proj_ = nullptr, *z_sep_ = nullptr, *b_sep_ = nullptr, *a_sep_ = nullptr;
    float *mix_ = nullptr, *h_ = nullptr, *logits_ = nullptr;
    StepIO io_;
    int32_t* ring_ = nullptr;        // [ring_cap] device: the id chosen at step s in slot s % ring_cap
    int32_t* host_ring_ = nullptr;   // [ring_cap] pinned mirror
    cudaEvent_t half_done_[2] = {nullptr, nullptr};
    int64_t pos_ = 0;
    int window_ = 0;
    int launches_ = 0;
    int captures_ = 0;
    cudaGraphExec_t exec_ = nullptr;
};

/// The runtime-shaped decoder for any Qwen3.5 GGUF.
using RuntimeDecoder = BasicDecoder<256>;

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
template <ModelType M>
class Decoder : public BasicDecoder<detail::AttnPolicy<typename M::layers>::window> {
    using Policy = detail::AttnPolicy<typename M::layers>;
    static_assert(Policy::uniform(),
                  "cuda::Decoder<Model>: every AttnBlock of a model must use the same fa_window and KV format.");
    static_assert(Policy::window == 64 || Policy::window == 256,
                  "cuda::Decoder<Model>: the attention kernels are compiled for fa_window<64> and fa_window<256>.");
    using Base = BasicDecoder<Policy::window>;

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

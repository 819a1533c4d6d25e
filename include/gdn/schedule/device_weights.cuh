// gdn/schedule/device_weights.cuh - copy a model's weights to the device once.
// The result is the same gdn::ModelWeights structure with every view pointing into one
// device allocation (owned by `storage`), so kernels and the host share one description.
// Large matrices keep their GGUF bytes; the small per-channel vectors (norm weights, conv
// taps, dt_bias, ssm_a) become float32, which is what the kernels read.
// A layer's input projections ([qkv|z|b|a] for DeltaNet, [q|k|v] for attention) and an MoE
// layer's router and shared-expert gate are laid out back to back when they share type and
// width, so one GEMV can read them as one matrix (see `adjacent`).
// An optional progress callback hears (bytes copied so far, bytes in all) after each tensor,
// for a progress bar while a large model uploads.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <vector>

#include "gdn/core/weights.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/quant/dispatch.hpp"

namespace gdn::cuda {

/// Called by upload_weights after each tensor's copy has completed: (bytes done, bytes total).
using UploadProgress = std::function<void(int64_t done, int64_t total)>;

namespace detail {

constexpr int64_t k_device_align = 256;  // keeps every tensor 16-byte aligned for vector loads

constexpr int64_t align_up(int64_t n) { return (n + k_device_align - 1) / k_device_align * k_device_align; }

// Plans one device allocation for every distinct tensor (tied embeddings are shared), then
// copies each tensor to its place and rewrites the views.
class WeightUploader {
public:
    /// One tensor; to_f32 converts it to float32 on the way.
    void add(TensorView* view, bool to_f32) {
        if (view->empty()) return;
        users_.push_back({view, place(*view, to_f32, /*pad=*/true)});
    }

    /// Matrices placed back to back, without padding, when they share type and width and
    /// none is placed yet; otherwise each is placed on its own.
    void add_adjacent(std::initializer_list<TensorView*> views) {
        bool together = true;
        for (TensorView* v : views) {
            together = together && !v->empty() && v->type == (*views.begin())->type &&
                       v->cols() == (*views.begin())->cols() && !where_.contains(v->data);
        }
        if (!together) {
            for (TensorView* v : views) add(v, false);
            return;
        }
        for (TensorView* v : views) users_.push_back({v, place(*v, false, /*pad=*/false)});
        total_ = align_up(total_);
    }

    /// With `progress`, each copy is waited for before it is reported (one sync per tensor).
    std::shared_ptr<const void> upload(cudaStream_t stream, const UploadProgress& progress = {}) {
        void* base = nullptr;
        GDN_CUDA_CHECK(cudaMalloc(&base, static_cast<size_t>(total_ > 0 ? total_ : 1)));
        std::shared_ptr<const void> storage(base, [](const void* p) { cudaFree(const_cast<void*>(p)); });
        auto* dev = static_cast<std::byte*>(base);
        std::vector<float> staging;
        int64_t all = 0, done = 0;
        for (const Copy& c : copies_) all += c.bytes;
        if (progress) progress(0, all);
        for (const Copy& c : copies_) {
            const void* src = c.host.data;
            if (c.to_f32) {
                staging.resize(static_cast<size_t>(c.host.elems()));
                for (int64_t r = 0; r < c.host.rows(); ++r)
                    dequantize_row(c.host.type, c.host.row(r), staging.data() + r * c.host.cols(), c.host.cols());
                src = staging.data();
            }
            GDN_CUDA_CHECK(cudaMemcpyAsync(dev + c.offset, src, static_cast<size_t>(c.bytes),
                                           cudaMemcpyHostToDevice, stream));
            // staging is reused by the next tensor: let this copy finish first.
            if (c.to_f32 || progress) GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
            done += c.bytes;
            if (progress) progress(done, all);
        }
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
        for (const auto& [view, index] : users_) {
            const Copy& c = copies_[index];
            view->data = dev + c.offset;
            if (c.to_f32) view->type = DType::f32;
        }
        return storage;
    }

    [[nodiscard]] int64_t total_bytes() const { return total_; }

private:
    struct Copy {
        TensorView host;
        int64_t offset;
        int64_t bytes;
        bool to_f32;
    };

    size_t place(const TensorView& v, bool to_f32, bool pad) {
        if (auto it = where_.find(v.data); it != where_.end()) return it->second;
        const int64_t bytes = to_f32 ? v.elems() * int64_t(sizeof(float)) : v.bytes();
        copies_.push_back({v, total_, bytes, to_f32});
        total_ += pad ? align_up(bytes) : bytes;
        where_.emplace(v.data, copies_.size() - 1);
        return copies_.size() - 1;
    }

    std::vector<Copy> copies_;
    std::map<const std::byte*, size_t> where_;  // host bytes -> copy (dedupes tied tensors)
    std::vector<std::pair<TensorView*, size_t>> users_;
    int64_t total_ = 0;
};

}  // namespace detail

/// True when the views are laid out back to back with one type and width, so that they can
/// be read as one matrix of the summed rows (what upload_weights arranges for a layer's
/// input projections when it can).
inline bool adjacent(std::initializer_list<const TensorView*> views) {
    const TensorView* first = *views.begin();
    const std::byte* expect = first->data;
    for (const TensorView* v : views) {
        if (v->empty() || v->type != first->type || v->cols() != first->cols() || v->data != expect)
            return false;
        expect += v->bytes();
    }
    return true;
}

/// A device copy of `host` (same structure, device pointers). Synchronous; done once.
/// `progress`, when set, is called after every tensor with (bytes copied, bytes in all).
inline ModelWeights upload_weights(const ModelWeights& host, cudaStream_t stream = nullptr,
                                   const UploadProgress& progress = {}) {
    ModelWeights dev = host;
    detail::WeightUploader up;
    up.add(&dev.tok_embd, false);
    up.add(&dev.output_norm, true);
    up.add(&dev.output, false);
    for (LayerWeights& l : dev.layers) {
        up.add(&l.attn_norm, true);
        up.add(&l.post_attn_norm, true);
        if (l.is_attention) {
            AttnWeights& a = l.attn;
            up.add_adjacent({&a.q, &a.k, &a.v});
            up.add(&a.out, false);
            up.add(&a.q_norm, true);
            up.add(&a.k_norm, true);
        } else {
            DeltaNetWeights& d = l.deltanet;
            up.add_adjacent({&d.qkv, &d.z, &d.beta, &d.alpha});
            up.add(&d.out, false);
            for (TensorView* v : {&d.conv, &d.dt_bias, &d.ssm_a, &d.ssm_norm}) up.add(v, true);
        }
        for (TensorView* m : {&l.mlp.gate, &l.mlp.up, &l.mlp.down}) up.add(m, false);
        MoeWeights& e = l.moe;
        if (e.has_shared()) {
            up.add_adjacent({&e.router, &e.shexp_gate});  // one GEMV gives all of a row's gate logits
        } else {
            up.add(&e.router, false);
        }
        for (TensorView* m : {&e.gate_exps, &e.up_exps, &e.down_exps, &e.shexp.gate, &e.shexp.up, &e.shexp.down})
            up.add(m, false);
    }
    dev.storage = up.upload(stream, progress);
    return dev;
}

}  // namespace gdn::cuda

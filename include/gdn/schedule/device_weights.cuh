// gdn/schedule/device_weights.cuh - copy a model's weights to the device once.
// The result is the same gdn::ModelWeights structure with every view pointing into one
// device allocation (owned by `storage`), so kernels and the host share one description.
// Large matrices keep their GGUF bytes; the small per-channel vectors (norm weights, conv
// taps, dt_bias, ssm_a) become float32, which is what the kernels read.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "gdn/core/weights.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/quant/dispatch.hpp"

namespace gdn::cuda {

namespace detail {

constexpr int64_t k_device_align = 256;  // keeps every tensor 16-byte aligned for vector loads

inline int64_t align_up(int64_t n) { return (n + k_device_align - 1) / k_device_align * k_device_align; }

// Plans one device allocation for every distinct tensor (tied embeddings are shared), then
// copies each tensor to its slot and rewrites the views.
class WeightUploader {
public:
    void add(TensorView* view, bool to_f32) {
        if (view->empty()) return;
        auto it = slot_of_.find(view->data);
        if (it == slot_of_.end()) {
            const int64_t bytes = to_f32 ? view->elems() * int64_t(sizeof(float)) : view->bytes();
            it = slot_of_.emplace(view->data, Slot{total_, bytes, to_f32, *view}).first;
            total_ += align_up(bytes);
        }
        users_.push_back({view, it->first});
    }

    std::shared_ptr<const void> upload(cudaStream_t stream) {
        void* base = nullptr;
        GDN_CUDA_CHECK(cudaMalloc(&base, static_cast<size_t>(total_ > 0 ? total_ : 1)));
        std::shared_ptr<const void> storage(base, [](const void* p) { cudaFree(const_cast<void*>(p)); });
        auto* dev = static_cast<std::byte*>(base);
        std::vector<float> staging;
        for (auto& [host, slot] : slot_of_) {
            const void* src = host;
            if (slot.to_f32) {
                staging.resize(static_cast<size_t>(slot.view.elems()));
                for (int64_t r = 0; r < slot.view.rows(); ++r) {
                    dequantize_row(slot.view.type, slot.view.row(r), staging.data() + r * slot.view.cols(),
                                   slot.view.cols());
                }
                src = staging.data();
            }
            GDN_CUDA_CHECK(cudaMemcpyAsync(dev + slot.offset, src, static_cast<size_t>(slot.bytes),
                                           cudaMemcpyHostToDevice, stream));
            // staging is reused by the next tensor: wait for this copy first.
            if (slot.to_f32) GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
        }
        GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
        for (auto& [view, host] : users_) {
            const Slot& slot = slot_of_.at(host);
            view->data = dev + slot.offset;
            if (slot.to_f32) view->type = DType::f32;
        }
        return storage;
    }

    [[nodiscard]] int64_t total_bytes() const { return total_; }

private:
    struct Slot {
        int64_t offset;
        int64_t bytes;
        bool to_f32;
        TensorView view;  // the host view, for the copy
    };
    std::map<const std::byte*, Slot> slot_of_;
    std::vector<std::pair<TensorView*, const std::byte*>> users_;
    int64_t total_ = 0;
};

}  // namespace detail

/// A device copy of `host` (same structure, device pointers). Synchronous; done once.
inline ModelWeights upload_weights(const ModelWeights& host, cudaStream_t stream = nullptr) {
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
            for (TensorView* m : {&a.q, &a.k, &a.v, &a.out}) up.add(m, false);
            up.add(&a.q_norm, true);
            up.add(&a.k_norm, true);
        } else {
            DeltaNetWeights& d = l.deltanet;
            for (TensorView* m : {&d.qkv, &d.z, &d.beta, &d.alpha, &d.out}) up.add(m, false);
            for (TensorView* v : {&d.conv, &d.dt_bias, &d.ssm_a, &d.ssm_norm}) up.add(v, true);
        }
        for (TensorView* m : {&l.mlp.gate, &l.mlp.up, &l.mlp.down}) up.add(m, false);
    }
    dev.storage = up.upload(stream);
    return dev;
}

}  // namespace gdn::cuda

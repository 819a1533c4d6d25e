// gdn/schedule/policy.cuh - how a decode step is scheduled on the GPU, as a type the decoder
// takes (cuda::BasicDecoder<FAWindow, Schedule>, cuda::Decoder<Model, Schedule>):
//
//   schedule::MultiKernel        one fused kernel per block stage (~5 per layer, ~120 for
//                                0.8B), replayed as a CUDA graph: any batch, model and format.
//   schedule::Persistent<F...>   also compiles the persistent step kernel
//                                (kernels/persistent.cuh) for the weight formats F...: one
//                                resident launch per step for batch 1 of a dense model, plus
//                                the choice and the bookkeeping (3 graph nodes). Which of the
//                                two a decoder runs is DecoderOptions::schedule (run time).
//
// The persistent kernel is one template instance per format list (compile time grows with
// the list); MultiKernel does not compile it at all.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/kernels/persistent.cuh"
#include "gdn/quant/formats.hpp"

namespace gdn::schedule {

/// Only the multi-kernel schedule (DecoderOptions::schedule = persistent is an error).
struct MultiKernel {
    static constexpr bool has_persistent = false;
};

/// The multi-kernel schedule and the persistent step kernel for the weight formats Formats...
/// (the embedding, every projection and the LM head must be one of them).
template <QuantFormat... Formats>
struct Persistent {
    static_assert(sizeof...(Formats) > 0, "schedule::Persistent<>: name the weight formats to compile");
    static constexpr bool has_persistent = true;
    static std::vector<DType> formats() { return {Formats::dtype...}; }
    static kernels::persistent::Geometry geometry() { return kernels::persistent::geometry<Formats...>(); }
    static void launch(const kernels::persistent::Stage* stages, int n, kernels::persistent::GridSync* sync,
                       int blocks, int smem, cudaStream_t stream, uint64_t* prof = nullptr) {
        kernels::persistent::launch_step<Formats...>(stages, n, sync, blocks, smem, stream, prof);
    }
};

/// The formats of llama.cpp's common files: pure bf16 / f16 / q8_0 / q4_0 / q4_k, the K-quant
/// mixes (q4_k, q5_k, q6_k), and f32 for small matrices a converter keeps unquantised.
using DefaultPersistent = Persistent<gdn::bf16, gdn::f16, gdn::q8_0, gdn::q4_0, gdn::q4_k, gdn::q5_k, gdn::q6_k,
                                     gdn::f32>;

}  // namespace gdn::schedule

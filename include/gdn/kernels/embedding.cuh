// gdn/kernels/embedding.cuh - x[s] = row token[s] of the embedding table, dequantised to float32.
// The token ids are read from device memory, so one captured graph serves every step.
//
// grid  = (n_seq, ceil(steps / 8)), block = 256 threads (8 warps); a warp decodes one
//         256-column step of the row with the GEMV's decoder (gdn/kernels/gemv.cuh), so the
//         embedding and a tied LM head see the same weight values.
// bytes = n_seq * row_bytes read, n_seq * n_embd * 4 written.
// A token outside [0, n_vocab) cannot raise an error on the device: its row is written as NaN,
// which every later check sees.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels {

struct EmbeddingParams {
    const std::byte* table = nullptr;  ///< [n_vocab][row_bytes] GGUF bytes of tok_embd
    DType type = DType::f32;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;                ///< multiple of 256
    const int32_t* token = nullptr;    ///< [n_seq] device memory
    float* out = nullptr;              ///< [n_seq, n_embd]
    int n_seq = 1;
};

inline EmbeddingParams embedding_params(const TensorView& tok_embd) {
    EmbeddingParams p;
    p.table = tok_embd.data;
    p.type = tok_embd.type;
    p.n_vocab = tok_embd.rows();
    p.n_embd = tok_embd.cols();
    return p;
}

namespace embedding_detail {

constexpr int k_warps = 8;

/// Shared staging of one warp: a step's bytes at their address mod 16 (the decoders' contract).
template <class F>
inline constexpr int k_stage_bytes = (gemv_detail::Tile<F>::step_bytes + 16 + 15) / 16 * 16;

/// Step `step` (256 columns) of sequence s's row, by one warp; `stage` is its k_stage_bytes<F>
/// of shared memory. The kernel below and the persistent step kernel run this.
template <class F>
GDN_DEVICE GDN_FORCEINLINE void embedding_step(const EmbeddingParams& p, int s, int step, uint8_t* stage) {
    using T = gemv_detail::Tile<F>;
    const int lane = threadIdx.x & 31;
    const int32_t tok = p.token[s];
    float* out = p.out + s * p.n_embd + step * gemv_detail::k_step + 8 * lane;
    if (tok < 0 || tok >= p.n_vocab) {
#pragma unroll
        for (int j = 0; j < 8; ++j) out[j] = NAN;
        return;
    }
    const int64_t row_bytes = dtype_row_bytes(F::dtype, p.n_embd);
    const auto begin = reinterpret_cast<uintptr_t>(p.table) + tok * row_bytes + int64_t(step) * T::step_bytes;
    const uintptr_t a0 = begin & ~uintptr_t(15);
    const int words = static_cast<int>((begin - a0) + T::step_bytes + 3) / 4;
    for (int i = lane; i < words; i += 32) {
        reinterpret_cast<uint32_t*>(stage)[i] = *reinterpret_cast<const uint32_t*>(a0 + 4 * i);
    }
    __syncwarp();
    float q[8], scale, mn;
    T::decode(stage + (begin - a0), lane, q, scale, mn);
#pragma unroll
    for (int j = 0; j < 8; ++j) out[j] = scale * q[j] - mn;
    __syncwarp();  // the stage may be reused by the warp's next step
}

template <class F>
__global__ void __launch_bounds__(32 * k_warps) embedding_kernel(const EmbeddingParams p) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    __shared__ __align__(16) uint8_t stage[k_warps][k_stage_bytes<F>];
    const int warp = threadIdx.x >> 5;
    const int step = blockIdx.y * k_warps + warp;
    if (step >= static_cast<int>(p.n_embd / gemv_detail::k_step)) return;
    embedding_step<F>(p, static_cast<int>(blockIdx.x), step, stage[warp]);
}

}  // namespace embedding_detail

/// out[s] = dequantised row token[s] of the table (format F).
template <QuantFormat F>
void launch_embedding(const EmbeddingParams& p, cudaStream_t stream) {
    GDN_CHECK(p.type == F::dtype, "launch_embedding: params.type is ", dtype_name(p.type),
              " but the kernel was instantiated for ", dtype_name(F::dtype));
    GDN_CHECK(p.table != nullptr && p.token != nullptr && p.out != nullptr,
              "launch_embedding: table, token or out is null");
    GDN_CHECK(p.n_vocab > 0 && p.n_vocab < (int64_t(1) << 31), "launch_embedding: n_vocab = ", p.n_vocab);
    if (p.n_embd % gemv_detail::k_step != 0) {  // widths the warp-per-step kernel does not take
        launch_embedding_generic<F>(p.table, p.n_vocab, p.n_embd, p.token, p.out, p.n_seq, stream);
        return;
    }
    GDN_CHECK(p.n_embd > 0 && p.n_embd % gemv_detail::k_step == 0,
              "launch_embedding: n_embd = ", p.n_embd, " must be a positive multiple of 256");
    GDN_CHECK(p.n_seq >= 1 && p.n_seq <= 65535, "launch_embedding: n_seq = ", p.n_seq);
    GDN_CHECK((reinterpret_cast<uintptr_t>(p.table) & 15) == 0, "launch_embedding: table must be 16-byte aligned");
    const int steps = static_cast<int>(p.n_embd / gemv_detail::k_step);
    const dim3 grid(static_cast<unsigned>(p.n_seq), (steps + embedding_detail::k_warps - 1) / embedding_detail::k_warps);
    launch_kernel("launch_embedding", embedding_detail::embedding_kernel<F>, grid,
                  dim3(32 * embedding_detail::k_warps), 0, stream, p);
}

/// Runtime-typed entry: dispatch on p.type.
inline void launch_embedding(const EmbeddingParams& p, cudaStream_t stream) {
    dispatch_format(p.type, [&](auto tag) { launch_embedding<decltype(tag)>(p, stream); });
}

}  // namespace gdn::kernels

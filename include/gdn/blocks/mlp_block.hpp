// gdn/blocks/mlp_block.hpp - MlpBlock<Quant>: the SwiGLU MLP that follows every mixer.
// Host-side descriptor; its CPU twin is gdn::ref::mlp_step.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "gdn/blocks/check.hpp"
#include "gdn/blocks/tags.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"

namespace gdn {

template <class Quant>
struct MlpBlock {
    static_assert(WeightFormat<Quant>,
                  "MlpBlock<Quant>: Quant must be a weight format tag (gdn::f32, f16, bf16, q8_0, "
                  "q4_0, q4_k, q6_k) or gdn::any_format.");
    using quant_type = Quant;
    /// Kernels its CUDA side enqueues per step (blocks/mlp_block.cuh): gate/up with the
    /// post-attention RMSNorm and silu(gate)*up, down with the residual add.
    static constexpr int launches = 2;

    [[nodiscard]] static std::string describe() {
        return "MlpBlock<" + std::string(weight_format_name<Quant>()) + ">";
    }
    /// Throws naming the layer and tensor when the layer's MLP is MoE or gate/up/down are not
    /// stored as Quant.
    static void validate(const LayerWeights& l, int64_t layer) {
        const std::string b = describe();
        GDN_CHECK(!l.is_moe(), "layer ", layer, ": the model declares ", b,
                  " but the weights hold a mixture-of-experts MLP (declare MoeBlock<...>)");
        const MlpWeights& w = l.mlp;
        detail::check_projection_format<Quant>(w.gate, layer, b, "mlp.gate");
        detail::check_projection_format<Quant>(w.up, layer, b, "mlp.up");
        detail::check_projection_format<Quant>(w.down, layer, b, "mlp.down");
    }
};

namespace detail {
template <class T>
struct is_mlp_block : std::false_type {};
template <class Q>
struct is_mlp_block<MlpBlock<Q>> : std::true_type {};
}  // namespace detail

template <class T>
concept MlpBlockType = detail::is_mlp_block<T>::value;

}  // namespace gdn

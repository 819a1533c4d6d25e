// gdn/blocks/moe_block.hpp - MoeBlock<Quant>: the mixture-of-experts MLP of qwen35moe /
// qwen3next layers (router, top-k routed experts, shared expert with its sigmoid gate; math in
// core/weights.hpp, MoeWeights). Pair it with a mixer through Layer<Mixer, MoeBlock<Q>>.
// Host-side descriptor; its CPU twin is gdn::ref::moe_step, its CUDA side blocks/moe_block.cuh.
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
struct MoeBlock {
    static_assert(WeightFormat<Quant>,
                  "MoeBlock<Quant>: Quant must be a weight format tag (gdn::q4_k, gdn::q8_0, ...) or gdn::any_format.");
    using quant_type = Quant;
    /// Kernels its CUDA side enqueues per step when the router and the shared expert's gate are
    /// stored side by side (f32, as every converter file) and the shared expert has the routed
    /// experts' formats: the router GEMV (post-attention norm prologue), the experts' gate/up
    /// (routing prologue), their down (residual epilogue). The decoder counts one more for a
    /// separate shared-gate GEMV and one per shared-expert matrix pair in another format.
    static constexpr int launches = 3;

    [[nodiscard]] static std::string describe() {
        return "MoeBlock<" + std::string(weight_format_name<Quant>()) + ">";
    }
    /// Throws naming the layer and tensor when the layer is not MoE or its expert matrices
    /// (routed and shared) are not stored as Quant. The router is not checked (f32 in files).
    static void validate(const LayerWeights& w, int64_t layer) {
        const std::string b = describe();
        GDN_CHECK(w.is_moe(), "layer ", layer, ": the model declares ", b,
                  " but the weights hold a dense MLP (no ffn_gate_inp router)");
        const MoeWeights& m = w.moe;
        detail::check_projection_format<Quant>(m.gate_exps, layer, b, m.gate_up_fused ? "moe.gate_up_exps" : "moe.gate_exps");
        if (!m.gate_up_fused) detail::check_projection_format<Quant>(m.up_exps, layer, b, "moe.up_exps");
        detail::check_projection_format<Quant>(m.down_exps, layer, b, "moe.down_exps");
        if (m.has_shared()) {
            detail::check_projection_format<Quant>(m.shexp.gate, layer, b, "moe.shexp.gate");
            detail::check_projection_format<Quant>(m.shexp.up, layer, b, "moe.shexp.up");
            detail::check_projection_format<Quant>(m.shexp.down, layer, b, "moe.shexp.down");
        }
    }
};

namespace detail {
template <class T>
struct is_moe_block : std::false_type {};
template <class Q>
struct is_moe_block<MoeBlock<Q>> : std::true_type {};
}  // namespace detail

template <class T>
concept MoeBlockType = detail::is_moe_block<T>::value;

}  // namespace gdn

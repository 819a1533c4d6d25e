// gdn/blocks/deltanet_block.hpp - DeltaNetBlock<Quant, UseWHT>: a Gated DeltaNet mixer whose
// projections (qkv, z, out) are stored as Quant, optionally with the WHT-rotated key basis.
// Host-side descriptor; its CPU twin is gdn::ref::deltanet_step. As a Model entry on its
// own it implies the layer's MLP, MlpBlock<Quant>; pair it with another MLP via Layer<>.
#pragma once

#include <cstdint>
#include <string>

#include "gdn/blocks/check.hpp"
#include "gdn/blocks/layer_kind.hpp"
#include "gdn/blocks/mlp_block.hpp"
#include "gdn/blocks/tags.hpp"
#include "gdn/core/weights.hpp"

namespace gdn {

template <class Quant, class UseWHT = wht_off>
struct DeltaNetBlock {
    static_assert(WeightFormat<Quant>,
                  "DeltaNetBlock<Quant, UseWHT>: Quant must be a weight format tag (gdn::f32, f16, "
                  "bf16, q8_0, q4_0, q4_k, q6_k) or gdn::any_format.");
    static_assert(WhtPolicy<UseWHT>,
                  "DeltaNetBlock<Quant, UseWHT>: UseWHT must be gdn::wht_on or gdn::wht_off.");
    static constexpr LayerKind kind = LayerKind::deltanet;
    static constexpr bool use_wht = UseWHT::value;
    using quant_type = Quant;
    using wht_type = UseWHT;
    using default_mlp = MlpBlock<Quant>;
    /// Kernels its CUDA side enqueues per step (blocks/deltanet_block.cuh): the fused
    /// [qkv|z|b|a] projection with the input RMSNorm, the recurrence, the out-projection
    /// with the residual add.
    static constexpr int launches = 3;

    [[nodiscard]] static std::string describe() {
        return "DeltaNetBlock<" + std::string(weight_format_name<Quant>()) + ", " +
               std::string(UseWHT::name) + ">";
    }
    /// Throws naming the layer and tensor when qkv, z or out is not stored as Quant (the
    /// small beta/alpha projections and the vectors may be any dtype).
    static void validate(const DeltaNetWeights& w, int64_t layer) {
        const std::string b = describe();
        detail::check_projection_format<Quant>(w.qkv, layer, b, "deltanet.qkv");
        detail::check_projection_format<Quant>(w.z, layer, b, "deltanet.z");
        detail::check_projection_format<Quant>(w.out, layer, b, "deltanet.out");
    }
};

}  // namespace gdn

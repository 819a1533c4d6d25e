// gdn/blocks/attn_block.hpp - AttnBlock<FAWindow, KVQuant, Quant>: a gated full-attention
// mixer, attention window padded to FAWindow positions, KV cache stored as KVQuant,
// projections (q, k, v, out) stored as Quant (default: whatever the file holds).
// Host-side descriptor; its CPU twin is gdn::ref::attention_step (float KV cache). As a Model
// entry on its own it implies the layer's MLP, MlpBlock<Quant>.
#pragma once

#include <cstdint>
#include <string>

#include "gdn/blocks/check.hpp"
#include "gdn/blocks/layer_kind.hpp"
#include "gdn/blocks/mlp_block.hpp"
#include "gdn/blocks/tags.hpp"
#include "gdn/core/weights.hpp"

namespace gdn {

template <class FAWindow, class KVQuant, class Quant = any_format>
struct AttnBlock {
    static_assert(FAWindowPolicy<FAWindow>,
                  "AttnBlock<FAWindow, KVQuant, Quant>: FAWindow must be gdn::fa_window<N>.");
    static_assert(KVFormat<KVQuant>,
                  "AttnBlock<FAWindow, KVQuant, Quant>: KVQuant must be gdn::kv_f16, kv_q8_0 or kv_q4_0.");
    static_assert(WeightFormat<Quant>,
                  "AttnBlock<FAWindow, KVQuant, Quant>: Quant must be a weight format tag (gdn::f32, "
                  "f16, bf16, q8_0, q4_0, q4_k, q6_k) or gdn::any_format.");
    static constexpr LayerKind kind = LayerKind::attention;
    static constexpr int window = FAWindow::value;
    using window_type = FAWindow;
    using kv_type = KVQuant;
    using quant_type = Quant;
    using default_mlp = MlpBlock<Quant>;
    /// Kernels its CUDA side enqueues per step (blocks/attn_block.cuh): the fused [q|k|v]
    /// projection with the input RMSNorm, attention (norms, RoPE, KV append, split-K,
    /// gate), the out-projection with the residual add.
    static constexpr int launches = 3;

    [[nodiscard]] static std::string describe() {
        return "AttnBlock<fa_window<" + std::to_string(window) + ">, " +
               std::string(KVQuant::name) + ", " + std::string(weight_format_name<Quant>()) + ">";
    }
    /// Throws naming the layer and tensor when q, k, v or out is not stored as Quant.
    static void validate(const AttnWeights& w, int64_t layer) {
        const std::string b = describe();
        detail::check_projection_format<Quant>(w.q, layer, b, "attn.q");
        detail::check_projection_format<Quant>(w.k, layer, b, "attn.k");
        detail::check_projection_format<Quant>(w.v, layer, b, "attn.v");
        detail::check_projection_format<Quant>(w.out, layer, b, "attn.out");
    }
};

}  // namespace gdn

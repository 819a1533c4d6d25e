// gdn/blocks/layer.hpp - Layer<Mixer, Mlp>: one model layer, h = x + Mixer(norm(x)),
// out = h + Mlp(norm(h)), Mlp a dense MlpBlock or a mixture-of-experts MoeBlock. A bare mixer
// block in a Model means Layer<Mixer, Mixer::default_mlp>.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>

#include "gdn/blocks/attn_block.hpp"
#include "gdn/blocks/deltanet_block.hpp"
#include "gdn/blocks/layer_kind.hpp"
#include "gdn/blocks/mlp_block.hpp"
#include "gdn/blocks/moe_block.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"

namespace gdn {

/// A DeltaNetBlock<...> or AttnBlock<...> (anything declaring a LayerKind and a default MLP).
template <class T>
concept MixerBlock = requires {
    { T::kind } -> std::convertible_to<LayerKind>;
    typename T::default_mlp;
};

template <class Mixer, class Mlp = typename Mixer::default_mlp>
struct Layer {
    static_assert(MixerBlock<Mixer>,
                  "Layer<Mixer, Mlp>: Mixer must be a gdn::DeltaNetBlock<...> or gdn::AttnBlock<...>.");
    static_assert(MlpBlockType<Mlp> || MoeBlockType<Mlp>,
                  "Layer<Mixer, Mlp>: Mlp must be a gdn::MlpBlock<...> or gdn::MoeBlock<...>.");
    using mixer = Mixer;
    using mlp = Mlp;
    static constexpr LayerKind kind = Mixer::kind;
    static constexpr int launches = Mixer::launches + Mlp::launches;

    [[nodiscard]] static std::string describe() {
        return "Layer<" + Mixer::describe() + ", " + Mlp::describe() + ">";
    }
    /// Throws naming the layer when the weights' kind or projection dtypes differ from these blocks.
    static void validate(const LayerWeights& w, int64_t layer) {
        const bool want_attention = kind == LayerKind::attention;
        GDN_CHECK(w.is_attention == want_attention, "layer ", layer, ": the model declares ",
                  Mixer::describe(), " but the weights hold a ",
                  w.is_attention ? "attention" : "DeltaNet", " layer");
        if constexpr (kind == LayerKind::attention) {
            Mixer::validate(w.attn, layer);
        } else {
            Mixer::validate(w.deltanet, layer);
        }
        Mlp::validate(w, layer);
    }
};

namespace detail {
template <class T>
struct is_layer : std::false_type {};
template <class M, class P>
struct is_layer<Layer<M, P>> : std::true_type {};
}  // namespace detail

template <class T>
concept LayerType = detail::is_layer<T>::value;

}  // namespace gdn

// gdn/schedule/model.hpp - Model<Entries...>: the compile-time layer list of a model.
// Entries are mixer blocks (DeltaNetBlock<...>, AttnBlock<...>, each implying its MLP),
// Layer<Mixer, MlpBlock<...>> or Layer<Mixer, MoeBlock<...>> (mixture of experts), or Repeat<N, Entries...> (nested repeats allowed); they are
// flattened, in order, into Layer<Mixer, Mlp> types:
//
//   using Qwen35_0_8B = gdn::Model<gdn::Repeat<6,
//       gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>, gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>,
//       gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>, gdn::AttnBlock<gdn::fa_window<256>, gdn::kv_q8_0>>>;
//   static_assert(Qwen35_0_8B::n_layers == 24 && Qwen35_0_8B::n_attention == 6);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gdn/blocks/attn_block.hpp"
#include "gdn/blocks/deltanet_block.hpp"
#include "gdn/blocks/layer.hpp"
#include "gdn/blocks/layer_kind.hpp"
#include "gdn/blocks/mlp_block.hpp"
#include "gdn/blocks/moe_block.hpp"
#include "gdn/blocks/tags.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/check.hpp"

namespace gdn {

/// N copies, in order, of Entries... inside a Model.
template <int N, class... Entries>
struct Repeat {
    static_assert(N > 0, "Repeat<N, Entries...>: N must be positive.");
    static_assert(sizeof...(Entries) > 0, "Repeat<N, Entries...> needs at least one entry.");
};

template <class... Ts>
struct TypeList {
    static constexpr int size = static_cast<int>(sizeof...(Ts));
};

namespace detail {

template <class... Lists>
struct Concat;
template <>
struct Concat<> {
    using type = TypeList<>;
};
template <class... A>
struct Concat<TypeList<A...>> {
    using type = TypeList<A...>;
};
template <class... A, class... B, class... Rest>
struct Concat<TypeList<A...>, TypeList<B...>, Rest...> {
    using type = typename Concat<TypeList<A..., B...>, Rest...>::type;
};

template <int N, class List>
struct RepeatList {
    using type = typename Concat<List, typename RepeatList<N - 1, List>::type>::type;
};
template <class List>
struct RepeatList<0, List> {
    using type = TypeList<>;
};

template <class T>
inline constexpr bool dependent_false = false;

template <class Entry>
struct Flatten {
    static_assert(dependent_false<Entry>,
                  "Model<...> entries must be DeltaNetBlock<...>, AttnBlock<...>, Layer<Mixer, "
                  "MlpBlock<...>> (or MoeBlock<...>) or Repeat<N, ...>; an MlpBlock alone needs Layer<> to pair it "
                  "with its mixer.");
    using type = TypeList<>;
};
template <class Q, class W>
struct Flatten<DeltaNetBlock<Q, W>> {
    using type = TypeList<Layer<DeltaNetBlock<Q, W>>>;
};
template <class F, class K, class Q>
struct Flatten<AttnBlock<F, K, Q>> {
    using type = TypeList<Layer<AttnBlock<F, K, Q>>>;
};
template <class M, class P>
struct Flatten<Layer<M, P>> {
    using type = TypeList<Layer<M, P>>;
};
template <int N, class... Entries>
struct Flatten<Repeat<N, Entries...>> {
    using type = typename RepeatList<N, typename Concat<typename Flatten<Entries>::type...>::type>::type;
};

template <int I, class List>
struct TypeAt;
template <int I, class T, class... Ts>
struct TypeAt<I, TypeList<T, Ts...>> {
    using type = typename TypeAt<I - 1, TypeList<Ts...>>::type;
};
template <class T, class... Ts>
struct TypeAt<0, TypeList<T, Ts...>> {
    using type = T;
};

template <class L>
constexpr bool layer_uses_wht() {
    if constexpr (L::kind == LayerKind::deltanet) {
        return L::mixer::use_wht;
    } else {
        return false;
    }
}

template <class List>
struct LayerKinds;
template <class... Ls>
struct LayerKinds<TypeList<Ls...>> {
    static constexpr std::array<LayerKind, sizeof...(Ls)> kinds{Ls::kind...};
    static constexpr std::array<bool, sizeof...(Ls)> wht{layer_uses_wht<Ls>()...};
    static constexpr int launches = (0 + ... + Ls::launches);
};

}  // namespace detail

template <class... Entries>
struct Model {
    static_assert(sizeof...(Entries) > 0, "Model<Entries...> needs at least one layer.");

    /// TypeList<Layer<Mixer, Mlp>...>, one per model layer, in order.
    using layers = typename detail::Concat<typename detail::Flatten<Entries>::type...>::type;
    static constexpr int n_layers = layers::size;

    /// The Layer<Mixer, Mlp> type of layer I.
    template <int I>
        requires(I >= 0 && I < n_layers)
    using layer = typename detail::TypeAt<I, layers>::type;

    /// Kind of each layer, in order.
    static constexpr std::array<LayerKind, static_cast<size_t>(n_layers)> kinds =
        detail::LayerKinds<layers>::kinds;
    /// Per layer: DeltaNet layer declared with wht_on.
    static constexpr std::array<bool, static_cast<size_t>(n_layers)> wht =
        detail::LayerKinds<layers>::wht;

    static constexpr int count(LayerKind k) {
        int n = 0;
        for (LayerKind x : kinds) n += x == k ? 1 : 0;
        return n;
    }
    /// Launches of one decode step of the fixed CUDA schedule: the layers' blocks, plus the
    /// embedding, the LM head, the argmax and the step's bookkeeping.
    static constexpr int step_launches = 4;
    static constexpr int launches_per_step = step_launches + detail::LayerKinds<layers>::launches;

    static constexpr int n_deltanet = count(LayerKind::deltanet);
    static constexpr int n_attention = count(LayerKind::attention);

    /// Calls f(std::integral_constant<int, I>{}, std::type_identity<layer<I>>{}) for I = 0..n-1,
    /// in order; usable in constant expressions when f is.
    template <class F>
    static constexpr void for_each_layer(F&& f) {
        [&]<int... I>(std::integer_sequence<int, I...>) {
            (f(std::integral_constant<int, I>{}, std::type_identity<layer<I>>{}), ...);
        }(std::make_integer_sequence<int, n_layers>{});
    }

    /// Per-layer WHT flags as RuntimeDecoder takes them.
    [[nodiscard]] static std::vector<bool> wht_flags() {
        return std::vector<bool>(wht.begin(), wht.end());
    }

    /// Throws gdn::Error unless the weights fit this model: layer count, each layer's kind
    /// and projection dtypes (naming layer index, tensor, dtype found and declared), then
    /// every shape against the config (gdn::ref::check_weights).
    static void validate(const ModelWeights& w) {
        GDN_CHECK(static_cast<int64_t>(w.layers.size()) == n_layers, "the model declares ",
                  n_layers, " layers, the weights hold ", w.layers.size());
        GDN_CHECK(w.config.n_layer == n_layers, "the model declares ", n_layers,
                  " layers, the weights' config says n_layer = ", w.config.n_layer);
        for_each_layer([&](auto i, auto t) {
            using L = typename decltype(t)::type;
            L::validate(w.layers[static_cast<size_t>(i.value)], i.value);
        });
        ref::check_weights(w);
    }
};

namespace detail {
template <class T>
struct is_model : std::false_type {};
template <class... E>
struct is_model<Model<E...>> : std::true_type {};
}  // namespace detail

template <class T>
concept ModelType = detail::is_model<T>::value;

}  // namespace gdn

// gdn/blocks/tags.hpp - the policy tags of the block templates: WHT on/off, the attention
// window, KV-cache formats, and gdn::any_format for projections whose dtype is left to the
// file (mixed-quant GGUFs). Weight format tags (gdn::q8_0...) live in gdn/quant/formats.hpp.
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>

#include "gdn/core/dtype.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn {

/// DeltaNet q/k rotated by the orthonormal Walsh-Hadamard transform, state kept in that
/// basis (same outputs; spreads outliers before a quantised state or key).
struct wht_on : std::true_type {
    static constexpr std::string_view name = "wht_on";
};
struct wht_off : std::false_type {
    static constexpr std::string_view name = "wht_off";
};

template <class T>
concept WhtPolicy = std::same_as<T, wht_on> || std::same_as<T, wht_off>;

/// Attention over the KV cache padded to a multiple of N positions, so a captured graph
/// serves N consecutive tokens.
template <int N>
struct fa_window {
    static_assert(N >= 16 && (N & (N - 1)) == 0,
                  "fa_window<N>: N must be a power of two of at least 16 (a whole number of 16-row tiles).");
    static constexpr int value = N;
};

namespace detail {
template <class T>
struct is_fa_window : std::false_type {};
template <int N>
struct is_fa_window<fa_window<N>> : std::true_type {};
}  // namespace detail

template <class T>
concept FAWindowPolicy = detail::is_fa_window<T>::value;

/// KV-cache storage formats: `format` is the block format one [hd] row is stored in.
struct kv_f16 {
    using format = gdn::f16;
    static constexpr std::string_view name = "kv_f16";
};
struct kv_q8_0 {
    using format = gdn::q8_0;
    static constexpr std::string_view name = "kv_q8_0";
};
struct kv_q4_0 {
    using format = gdn::q4_0;
    static constexpr std::string_view name = "kv_q4_0";
};

template <class T>
concept KVFormat = std::same_as<T, kv_f16> || std::same_as<T, kv_q8_0> || std::same_as<T, kv_q4_0>;

/// Projection dtype not fixed at compile time: whatever the file holds (any supported
/// dtype), dispatched at run time through gdn/quant/dispatch.hpp.
struct any_format {
    static constexpr std::string_view name = "any_format";
};

/// What a block's Quant parameter accepts: a format tag or gdn::any_format.
template <class T>
concept WeightFormat = QuantFormat<T> || std::same_as<T, any_format>;

/// The declared format's name as in messages ("q8_0", "any_format").
template <WeightFormat Q>
constexpr std::string_view weight_format_name() {
    if constexpr (std::same_as<Q, any_format>) {
        return any_format::name;
    } else {
        return dtype_name(Q::dtype);
    }
}

/// True when a tensor of runtime dtype `t` satisfies the declared format Q.
template <WeightFormat Q>
constexpr bool weight_format_accepts(DType t) {
    if constexpr (std::same_as<Q, any_format>) {
        return true;
    } else {
        return Q::dtype == t;
    }
}

}  // namespace gdn

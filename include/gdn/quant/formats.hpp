// gdn/quant/formats.hpp - the format tags every gdn template takes as its Quant parameter, one
// file each under gdn/quant/formats/ (block layout, decoder, derived constants), and the list
// of all of them. A tag is an empty struct naming a storage format: its block type, ggml type
// id, block size, and host+device decoder (gdn/quant/formats/base.hpp says its contract).
// f16 and bf16 share block_type uint16_t, so call through the tag (F::dequantize_block or
// gdn::dequantize_block<F>), never by overloading on the block type.
#pragma once

#include <concepts>
#include <cstdint>
#include <tuple>
#include <utility>

#include "gdn/core/dtype.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/bf16.hpp"
#include "gdn/quant/formats/f16.hpp"
#include "gdn/quant/formats/f32.hpp"
#include "gdn/quant/formats/iq2_s.hpp"
#include "gdn/quant/formats/iq2_xs.hpp"
#include "gdn/quant/formats/iq2_xxs.hpp"
#include "gdn/quant/formats/iq3_s.hpp"
#include "gdn/quant/formats/iq3_xxs.hpp"
#include "gdn/quant/formats/iq4_nl.hpp"
#include "gdn/quant/formats/iq4_xs.hpp"
#include "gdn/quant/formats/mxfp4.hpp"
#include "gdn/quant/formats/q2_k.hpp"
#include "gdn/quant/formats/q3_k.hpp"
#include "gdn/quant/formats/q4_0.hpp"
#include "gdn/quant/formats/q4_1.hpp"
#include "gdn/quant/formats/q4_k.hpp"
#include "gdn/quant/formats/q5_0.hpp"
#include "gdn/quant/formats/q5_1.hpp"
#include "gdn/quant/formats/q5_k.hpp"
#include "gdn/quant/formats/q6_k.hpp"
#include "gdn/quant/formats/q8_0.hpp"

namespace gdn {

template <class F>
concept QuantFormat =
    requires(const typename F::block_type& b, const uint8_t* u, float* out, const float* x, float (&q)[8], float& s) {
        { F::dtype } -> std::convertible_to<DType>;
        { F::block_elems } -> std::convertible_to<int>;
        { F::block_bytes } -> std::convertible_to<int>;
        { F::unit_bytes } -> std::convertible_to<int>;
        F::dequantize_block(b, out);
        { F::dot_block(b, x) } -> std::same_as<float>;
        F::decode8(u, 0, q, s, s);
    } && sizeof(typename F::block_type) == F::block_bytes &&
    dtype_traits(F::dtype).block_elems == F::block_elems &&
    dtype_traits(F::dtype).block_bytes == F::block_bytes;

namespace detail {
template <class Tuple>
struct drop_first;
template <class First, class... Rest>
struct drop_first<std::tuple<First, Rest...>> {
    using type = std::tuple<Rest...>;
};
}  // namespace detail

/// Every format of GDN_FOR_EACH_DTYPE (core/dtype.hpp), in its order.
using all_formats = typename detail::drop_first<std::tuple<void
#define GDN_FORMAT_TAG(name, id, elems, bytes) , gdn::name
    GDN_FOR_EACH_DTYPE(GDN_FORMAT_TAG)
#undef GDN_FORMAT_TAG
    >>::type;
inline constexpr int format_count = static_cast<int>(std::tuple_size_v<all_formats>);

namespace detail {
template <class Tuple, size_t... I>
constexpr bool all_quant_formats(std::index_sequence<I...>) {
    return (QuantFormat<std::tuple_element_t<I, Tuple>> && ...);
}
}  // namespace detail
static_assert(detail::all_quant_formats<all_formats>(std::make_index_sequence<format_count>{}),
              "every tag of GDN_FOR_EACH_DTYPE satisfies QuantFormat");
static_assert(format_count == dtype_count, "one format tag per listed dtype");

/// out[0 .. F::block_elems) = the values of block b.
template <QuantFormat F>
GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize_block(const typename F::block_type& b, float* out) {
    F::dequantize_block(b, out);
}

/// sum over the block of value[j] * x[j], accumulated in float.
template <QuantFormat F>
GDN_HOST_DEVICE GDN_FORCEINLINE float dot_block(const typename F::block_type& b, const float* x) {
    return F::dot_block(b, x);
}

}  // namespace gdn

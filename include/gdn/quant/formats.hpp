// gdn/quant/formats.hpp - the format tags every gdn template takes as its Quant parameter.
// A tag is an empty struct naming a storage format: its block type, ggml type id, block
// size, and host+device per-block dequantisation and dot product (float accumulation).
// f16 and bf16 share block_type uint16_t, so call through the tag (F::dequantize_block or
// gdn::dequantize_block<F>), never by overloading on the block type.
#pragma once

#include <concepts>
#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/quant/blocks.hpp"
#include "gdn/quant/half.hpp"

namespace gdn {

struct f32 {
    using block_type = float;
    static constexpr DType dtype = DType::f32;
    static constexpr int block_elems = 1;
    static constexpr int block_bytes = 4;
    GDN_HOST_DEVICE static void dequantize_block(const block_type& b, float* out) { out[0] = b; }
    GDN_HOST_DEVICE static float dot_block(const block_type& b, const float* x) {
        return b * x[0];
    }
};

struct f16 {
    using block_type = uint16_t;
    static constexpr DType dtype = DType::f16;
    static constexpr int block_elems = 1;
    static constexpr int block_bytes = 2;
    GDN_HOST_DEVICE static void dequantize_block(const block_type& b, float* out) {
        out[0] = quant::f16_to_f32(b);
    }
    GDN_HOST_DEVICE static float dot_block(const block_type& b, const float* x) {
        return quant::f16_to_f32(b) * x[0];
    }
};

struct bf16 {
    using block_type = uint16_t;
    static constexpr DType dtype = DType::bf16;
    static constexpr int block_elems = 1;
    static constexpr int block_bytes = 2;
    GDN_HOST_DEVICE static void dequantize_block(const block_type& b, float* out) {
        out[0] = quant::bf16_to_f32(b);
    }
    GDN_HOST_DEVICE static float dot_block(const block_type& b, const float* x) {
        return quant::bf16_to_f32(b) * x[0];
    }
};

/// Tag whose block functions are the gdn::quant overloads for Block.
template <class Block, DType Type>
struct BlockFormat {
    using block_type = Block;
    static constexpr DType dtype = Type;
    static constexpr int block_elems = static_cast<int>(dtype_traits(Type).block_elems);
    static constexpr int block_bytes = static_cast<int>(dtype_traits(Type).block_bytes);
    GDN_HOST_DEVICE static void dequantize_block(const block_type& b, float* out) {
        quant::dequantize(b, out);
    }
    GDN_HOST_DEVICE static float dot_block(const block_type& b, const float* x) {
        return quant::dot(b, x);
    }
};

struct q8_0 : BlockFormat<quant::BlockQ8_0, DType::q8_0> {};
struct q4_0 : BlockFormat<quant::BlockQ4_0, DType::q4_0> {};
struct q4_k : BlockFormat<quant::BlockQ4K, DType::q4_k> {};
struct q6_k : BlockFormat<quant::BlockQ6K, DType::q6_k> {};

template <class F>
concept QuantFormat =
    requires(const typename F::block_type& b, float* out, const float* x) {
        { F::dtype } -> std::convertible_to<DType>;
        { F::block_elems } -> std::convertible_to<int>;
        { F::block_bytes } -> std::convertible_to<int>;
        F::dequantize_block(b, out);
        { F::dot_block(b, x) } -> std::same_as<float>;
    } && sizeof(typename F::block_type) == F::block_bytes &&
    dtype_traits(F::dtype).block_elems == F::block_elems &&
    dtype_traits(F::dtype).block_bytes == F::block_bytes;

static_assert(QuantFormat<f32> && QuantFormat<f16> && QuantFormat<bf16>);
static_assert(QuantFormat<q8_0> && QuantFormat<q4_0> && QuantFormat<q4_k> && QuantFormat<q6_k>);

/// out[0 .. F::block_elems) = the values of block b.
template <QuantFormat F>
GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize_block(const typename F::block_type& b,
                                                      float* out) {
    F::dequantize_block(b, out);
}

/// sum over the block of value[j] * x[j], accumulated in float.
template <QuantFormat F>
GDN_HOST_DEVICE GDN_FORCEINLINE float dot_block(const typename F::block_type& b, const float* x) {
    return F::dot_block(b, x);
}

}  // namespace gdn

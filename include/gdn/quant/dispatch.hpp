// gdn/quant/dispatch.hpp - THE one place that maps a runtime ggml type (from a GGUF file)
// onto the compiled set of format tags, plus row-wise host helpers built on it.
// Its cases expand GDN_FOR_EACH_DTYPE (core/dtype.hpp): a listed format is dispatched here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/quant/formats.hpp"

namespace gdn {

/// Checked conversion of a ggml type id; `where` names the caller's context
/// (e.g. "tensor 'blk.0.ssm_out.weight'") for the error message.
inline DType dtype_from_id(uint32_t id, std::string_view where) {
    GDN_CHECK(dtype_supported(id), where, ": unsupported ggml type id ", id);
    return static_cast<DType>(id);
}

/// Calls f(Tag{}) with the format tag of t, returning what f returns (every instantiation
/// of f must return the same type).
template <class Fn>
decltype(auto) dispatch_format(DType t, Fn&& f) {
    switch (t) {
#define GDN_DISPATCH_CASE(name, id, elems, bytes) \
    case DType::name: return std::forward<Fn>(f)(gdn::name{});
        GDN_FOR_EACH_DTYPE(GDN_DISPATCH_CASE)
#undef GDN_DISPATCH_CASE
    }
    fail("dispatch_format: unsupported ggml type id ", static_cast<uint32_t>(t), " (",
         dtype_name(t), ")");
}

namespace quant::detail {

inline void check_row(DType t, int64_t n, const char* what) {
    GDN_CHECK(dtype_supported(static_cast<uint32_t>(t)), what, ": unsupported ggml type id ",
              static_cast<uint32_t>(t));
    const int64_t be = dtype_traits(t).block_elems;
    GDN_CHECK(n >= 0 && n % be == 0, what, ": n = ", n, " is not a multiple of the ",
              dtype_name(t), " block size ", be);
}

// Blocks are copied out with memcpy: rows may sit at any byte offset of a mapped file.
template <QuantFormat F>
void dequantize_row_as(const std::byte* src, float* dst, int64_t n) {
    if constexpr (std::is_same_v<F, gdn::f32>) {
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else {
        const int64_t nb = n / F::block_elems;
        for (int64_t i = 0; i < nb; ++i) {
            typename F::block_type b;
            std::memcpy(&b, src + i * F::block_bytes, sizeof b);
            F::dequantize_block(b, dst + i * F::block_elems);
        }
    }
}

// Float within each block (plain types: within each run of 32 elements), double across.
template <QuantFormat F>
float dot_row_as(const std::byte* row, const float* x, int64_t n) {
    double total = 0.0;
    if constexpr (F::block_elems == 1) {
        constexpr int64_t chunk = 32;
        for (int64_t i0 = 0; i0 < n; i0 += chunk) {
            const int64_t i1 = i0 + chunk < n ? i0 + chunk : n;
            float acc = 0.f;
            for (int64_t i = i0; i < i1; ++i) {
                typename F::block_type b;
                std::memcpy(&b, row + i * F::block_bytes, sizeof b);
                acc += F::dot_block(b, x + i);
            }
            total += acc;
        }
    } else {
        const int64_t nb = n / F::block_elems;
        for (int64_t i = 0; i < nb; ++i) {
            typename F::block_type b;
            std::memcpy(&b, row + i * F::block_bytes, sizeof b);
            total += F::dot_block(b, x + i * F::block_elems);
        }
    }
    return static_cast<float>(total);
}

}  // namespace quant::detail

/// dst[0..n) = the n values stored in src as type t. n must be a multiple of t's block size.
inline void dequantize_row(DType t, const std::byte* src, float* dst, int64_t n) {
    quant::detail::check_row(t, n, "dequantize_row");
    dispatch_format(t, [&](auto tag) {
        quant::detail::dequantize_row_as<decltype(tag)>(src, dst, n);
    });
}

/// sum_i value_i * x[i] over a row of n values stored as type t; float accumulation within
/// each block (32 elements for the plain types), double across blocks.
inline float dot_row(DType t, const std::byte* row, const float* x, int64_t n) {
    quant::detail::check_row(t, n, "dot_row");
    return dispatch_format(t, [&](auto tag) {
        return quant::detail::dot_row_as<decltype(tag)>(row, x, n);
    });
}

}  // namespace gdn

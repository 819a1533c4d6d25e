// gdn/core/dtype.hpp - runtime element/block types, numbered as ggml's `enum ggml_type`
// (the ids stored in GGUF tensor infos). The block layouts live in gdn/quant/.
#pragma once

#include <cstdint>
#include <string_view>

namespace gdn {

enum class DType : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q8_0 = 8,
    q4_k = 12,
    q6_k = 14,
    bf16 = 30,
};

/// Name as ggml spells it ("q8_0"), or "unknown" for ids gdn does not support.
constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::q4_0: return "q4_0";
        case DType::q8_0: return "q8_0";
        case DType::q4_k: return "q4_k";
        case DType::q6_k: return "q6_k";
        case DType::bf16: return "bf16";
    }
    return "unknown";
}

/// Elements per block and bytes per block (ggml's blck_size / type_size).
struct DTypeTraits {
    int64_t block_elems;
    int64_t block_bytes;
};

constexpr bool dtype_supported(uint32_t id) {
    switch (static_cast<DType>(id)) {
        case DType::f32: case DType::f16: case DType::q4_0: case DType::q8_0:
        case DType::q4_k: case DType::q6_k: case DType::bf16: return true;
    }
    return false;
}

constexpr DTypeTraits dtype_traits(DType t) {
    switch (t) {
        case DType::f32: return {1, 4};
        case DType::f16: return {1, 2};
        case DType::bf16: return {1, 2};
        case DType::q4_0: return {32, 18};   // f16 d + 16 bytes of nibbles
        case DType::q8_0: return {32, 34};   // f16 d + 32 int8
        case DType::q4_k: return {256, 144}; // f16 d, f16 dmin, 12 B scales, 128 B nibbles
        case DType::q6_k: return {256, 210}; // 128 B ql, 64 B qh, 16 int8 scales, f16 d
    }
    return {0, 0};
}

/// Bytes of one row of n elements; n must be a multiple of the block size.
constexpr int64_t dtype_row_bytes(DType t, int64_t n) {
    const DTypeTraits tr = dtype_traits(t);
    return n / tr.block_elems * tr.block_bytes;
}

}  // namespace gdn

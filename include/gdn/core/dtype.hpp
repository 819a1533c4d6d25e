// gdn/core/dtype.hpp - runtime element/block types, numbered as ggml's `enum ggml_type`
// (the ids stored in GGUF tensor infos). The block layouts live in gdn/quant/formats/.
#pragma once

#include <cstdint>
#include <string_view>

/// THE list of weight formats gdn reads: X(name, ggml type id, elements per block, bytes per
/// block) with ggml's name, id and sizes. Everything that enumerates formats (the DType enum,
/// names, sizes, the runtime dispatch of gdn/quant/dispatch.hpp, the typed tests and the
/// benchmarks) expands this list; each name is also the format tag gdn::name, defined in
/// gdn/quant/formats/name.hpp. Adding a format: that file, one line here, its tests.
#define GDN_FOR_EACH_DTYPE(X) \
    X(f32, 0, 1, 4)           \
    X(f16, 1, 1, 2)           \
    X(q4_0, 2, 32, 18)        \
    X(q4_1, 3, 32, 20)        \
    X(q5_0, 6, 32, 22)        \
    X(q5_1, 7, 32, 24)        \
    X(q8_0, 8, 32, 34)        \
    X(q2_k, 10, 256, 84)      \
    X(q3_k, 11, 256, 110)     \
    X(q4_k, 12, 256, 144)     \
    X(q5_k, 13, 256, 176)     \
    X(q6_k, 14, 256, 210)     \
    X(iq2_xxs, 16, 256, 66)   \
    X(iq2_xs, 17, 256, 74)    \
    X(iq3_xxs, 18, 256, 98)   \
    X(iq4_nl, 20, 32, 18)     \
    X(iq3_s, 21, 256, 110)    \
    X(iq2_s, 22, 256, 82)     \
    X(iq4_xs, 23, 256, 136)   \
    X(bf16, 30, 1, 2)         \
    X(mxfp4, 39, 32, 17)

namespace gdn {

enum class DType : uint32_t {
#define GDN_DTYPE_ENUM(name, id, elems, bytes) name = id,
    GDN_FOR_EACH_DTYPE(GDN_DTYPE_ENUM)
#undef GDN_DTYPE_ENUM
};

/// Name as ggml spells it ("q8_0"), or "unknown" for ids gdn does not support.
constexpr std::string_view dtype_name(DType t) {
    switch (t) {
#define GDN_DTYPE_NAME(name, id, elems, bytes) \
    case DType::name: return #name;
        GDN_FOR_EACH_DTYPE(GDN_DTYPE_NAME)
#undef GDN_DTYPE_NAME
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
#define GDN_DTYPE_CASE(name, id, elems, bytes) case DType::name:
        GDN_FOR_EACH_DTYPE(GDN_DTYPE_CASE)
#undef GDN_DTYPE_CASE
        return true;
    }
    return false;
}

constexpr DTypeTraits dtype_traits(DType t) {
    switch (t) {
#define GDN_DTYPE_TRAITS(name, id, elems, bytes) \
    case DType::name: return {elems, bytes};
        GDN_FOR_EACH_DTYPE(GDN_DTYPE_TRAITS)
#undef GDN_DTYPE_TRAITS
    }
    return {0, 0};
}

/// The number of formats in GDN_FOR_EACH_DTYPE.
inline constexpr int dtype_count = 0
#define GDN_DTYPE_COUNT(name, id, elems, bytes) +1
    GDN_FOR_EACH_DTYPE(GDN_DTYPE_COUNT)
#undef GDN_DTYPE_COUNT
    ;

/// Every format of GDN_FOR_EACH_DTYPE, in its order.
inline constexpr DType all_dtypes[] = {
#define GDN_DTYPE_ITEM(name, id, elems, bytes) DType::name,
    GDN_FOR_EACH_DTYPE(GDN_DTYPE_ITEM)
#undef GDN_DTYPE_ITEM
};

/// The format named `name` as ggml spells it, or false.
constexpr bool dtype_from_name(std::string_view name, DType& out) {
    for (DType t : all_dtypes) {
        if (dtype_name(t) == name) {
            out = t;
            return true;
        }
    }
    return false;
}

/// Bytes of one row of n elements; n must be a multiple of the block size.
constexpr int64_t dtype_row_bytes(DType t, int64_t n) {
    const DTypeTraits tr = dtype_traits(t);
    return n / tr.block_elems * tr.block_bytes;
}

}  // namespace gdn

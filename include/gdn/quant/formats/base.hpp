// gdn/quant/formats/base.hpp - what every format file of this folder builds on: little-endian
// loads from GGUF bytes at a known alignment (host: memcpy; device: the widest load the
// alignment allows), byte-to-float conversion, and FormatBase, which derives a format tag's
// block-level functions and constants from its one decoder, decode8.
//
// The decoder contract. A format's bytes are cut into *units*: one block, or 8 elements of a
// plain type (f32, f16, bf16), so a unit always holds a whole number of 8-element *runs*:
//     unit_elems = max(block_elems, 8),  unit_bytes = unit_elems / block_elems * block_bytes.
//     static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min);
// gives elements 8r..8r+7 of the unit at u as value[j] = scale * q[j] - min (q exact small
// integers, or the plain values with scale 1, min 0). u is aligned to `unit_align` bytes, the
// largest power of two dividing unit_bytes (at most 16): kernels stage GGUF rows at addresses
// congruent to their file offsets mod 16 and rows hold whole units, so that is what they give.
// Every kernel's CUDA-core path (GEMV, GEMM dequantisation, embedding) and the CPU reference
// use this decoder.
//
// The optional tensor-core loader (formats whose values are small integers times a per-group
// scale, minus a per-group min). A format that has one declares
//     static constexpr int mma_group = 32 or 16;   // columns sharing one scale and min
//     static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi,
//                          float& scale, float& min);
// giving, for group grp of the unit at u and mma thread t (0..3), the signed int8 quants of the
// group's columns 4t..4t+3 in lo and 16+4t..16+4t+3 in hi (hi unused when mma_group is 16), with
// value = scale * q - min for every column of the group. Both must agree with decode8 (tests
// check every format that declares them). The kernels turn them into mma.sync s8 A fragments.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "gdn/core/dtype.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::quant {

/// Little-endian 16-bit word at p, p 2-aligned (on the device).
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t ld_u16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const uint16_t*>(p);
#else
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
#endif
}

/// Little-endian 32-bit word at p, which is aligned to A (1, 2, 4 or more) bytes.
template <int A>
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t ld_u32(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    if constexpr (A >= 4) {
        return *reinterpret_cast<const uint32_t*>(p);
    } else if constexpr (A >= 2) {
        return ld_u16(p) | (ld_u16(p + 2) << 16);
    } else {
        return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
    }
#else
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
#endif
}

/// The f16 at p (2-aligned on the device) as a float.
GDN_HOST_DEVICE GDN_FORCEINLINE float ld_f16(const uint8_t* p) { return f16_to_f32(static_cast<uint16_t>(ld_u16(p))); }

/// The four bytes of w, each minus `bias`, as floats; a byte b becomes the float 2^23 + b
/// exactly (one PRMT and one FADD on the device, no integer-to-float conversion).
GDN_HOST_DEVICE GDN_FORCEINLINE void bytes4_as_floats(uint32_t w, float bias, float* q) {
#if defined(__CUDA_ARCH__)
    const float b = 8388608.f + bias;
    q[0] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7540u)) - b;
    q[1] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7541u)) - b;
    q[2] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7542u)) - b;
    q[3] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7543u)) - b;
#else
    for (int k = 0; k < 4; ++k) q[k] = static_cast<float>((w >> (8 * k)) & 0xffu) - bias;
#endif
}

/// Bytes of lo then hi, each minus bias, as q[0..8).
GDN_HOST_DEVICE GDN_FORCEINLINE void bytes8_as_floats(uint32_t lo, uint32_t hi, float bias, float (&q)[8]) {
    bytes4_as_floats(lo, bias, q);
    bytes4_as_floats(hi, bias, q + 4);
}

/// The signed bytes of lo then hi as q[0..8).
GDN_HOST_DEVICE GDN_FORCEINLINE void sbytes8_as_floats(uint32_t lo, uint32_t hi, float (&q)[8]) {
    bytes8_as_floats(lo ^ 0x80808080u, hi ^ 0x80808080u, 128.f, q);  // int8 -> uint8 biased by 128
}

/// The largest power of two dividing n, at most 16.
constexpr int pow2_align(int n) {
    const int a = n & -n;
    return a > 16 ? 16 : a;
}

/// Block-level functions and constants of a format tag `Tag` whose decoder is Tag::decode8
/// (see the file comment). `Block` is the byte-exact ggml block struct.
template <class Tag, class Block, DType Type>
struct FormatBase {
    using block_type = Block;
    static constexpr DType dtype = Type;
    static constexpr int block_elems = static_cast<int>(dtype_traits(Type).block_elems);
    static constexpr int block_bytes = static_cast<int>(dtype_traits(Type).block_bytes);
    static constexpr int unit_elems = block_elems > 8 ? block_elems : 8;
    static constexpr int unit_bytes = unit_elems / block_elems * block_bytes;
    static constexpr int unit_align = pow2_align(unit_bytes);
    static constexpr int runs = unit_elems / 8;   // 8-element runs per unit
    /// Byte offsets in a block of its f16 scales and of its e8m0 exponents: tests and tools
    /// overwrite them to make random bytes decode to finite values. A format declares its own.
    static constexpr std::array<int, 0> f16_fields{};
    static constexpr std::array<int, 0> e8m0_fields{};
    /// Whether decode8 can give min != 0; a format whose min is always 0 says false, and the
    /// kernels then skip the sums of x that the min needs.
    static constexpr bool has_min = true;
    static_assert(sizeof(Block) == dtype_traits(Type).block_bytes, "block struct size differs from ggml's type_size");
    static_assert(unit_elems % 8 == 0, "a unit is whole 8-element runs");

    /// out[0 .. unit_elems) = the values of the unit at u.
    GDN_HOST_DEVICE static void dequantize_unit(const uint8_t* u, float* out) {
        for (int r = 0; r < runs; ++r) {
            float q[8], scale, min;
            Tag::decode8(u, r, q, scale, min);
            for (int j = 0; j < 8; ++j) out[8 * r + j] = scale * q[j] - min;
        }
    }
    /// sum_j value_j * x[j] over the unit at u, float32: per run scale * (q . x) - min * sum(x).
    GDN_HOST_DEVICE static float dot_unit(const uint8_t* u, const float* x) {
        float acc = 0.f;
        for (int r = 0; r < runs; ++r) {
            float q[8], scale, min;
            Tag::decode8(u, r, q, scale, min);
            float d = 0.f, sx = 0.f;
            for (int j = 0; j < 8; ++j) {
                d += q[j] * x[8 * r + j];
                sx += x[8 * r + j];
            }
            acc += scale * d - min * sx;
        }
        return acc;
    }
};

/// FormatBase of a block format (block_elems >= 8): the block is the unit, so the block-level
/// functions of gdn/quant/formats.hpp are the unit ones.
template <class Tag, class Block, DType Type>
struct BlockFormatBase : FormatBase<Tag, Block, Type> {
    using Base = FormatBase<Tag, Block, Type>;
    static_assert(Base::block_elems >= 8, "block formats have blocks of at least 8 elements");
    GDN_HOST_DEVICE static void dequantize_block(const Block& b, float* out) {
#if defined(__CUDA_ARCH__)  // the decoder may load words of unit_align bytes; a Block is 2-aligned
        alignas(16) uint8_t u[Base::block_bytes];
        memcpy(u, &b, sizeof u);
        Base::dequantize_unit(u, out);
#else
        Base::dequantize_unit(reinterpret_cast<const uint8_t*>(&b), out);
#endif
    }
    GDN_HOST_DEVICE static float dot_block(const Block& b, const float* x) {
#if defined(__CUDA_ARCH__)
        alignas(16) uint8_t u[Base::block_bytes];
        memcpy(u, &b, sizeof u);
        return Base::dot_unit(u, x);
#else
        return Base::dot_unit(reinterpret_cast<const uint8_t*>(&b), x);
#endif
    }
};

}  // namespace gdn::quant

// gdn/quant/formats/iq_common.hpp - what the decoders of ggml's i-quants share: the sign rules of
// the iq2/iq3 formats and the 16-entry int8 lookup of iq4_nl / iq4_xs, all on 32-bit words of
// four int8 quants (the form mma_frag hands out and sbytes8_as_floats reads), without tables
// indexed at run time beyond the codebooks of iq_grids.hpp.
#pragma once

#include <bit>
#include <cstdint>

#include "gdn/core/macros.hpp"
#include "gdn/quant/formats/iq_grids.hpp"

namespace gdn::quant::iq {

/// ggml's ksigns_iq2xs[s] for a 7-bit s: s with its parity as bit 7, so the 8 signs of a run
/// always hold an even number of minus signs (iq2_xxs, iq2_xs and iq3_xxs store only 7).
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t ksigns(uint32_t s7) {
#if defined(__CUDA_ARCH__)
    return s7 | ((static_cast<uint32_t>(__popc(s7)) & 1u) << 7);
#else
    return s7 | ((static_cast<uint32_t>(std::popcount(s7)) & 1u) << 7);
#endif
}

/// The four bytes of g, each a magnitude in 1..127, as int8 negated where bit k of s4 (< 16)
/// is set. Bit k goes to bit 8k (the four shifted copies of s4 do not overlap, so the product
/// has no carries); a negated byte is (g ^ 0xff) + 1, which stays within its byte because g >= 1.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t apply_signs4(uint32_t g, uint32_t s4) {
    const uint32_t ones = (s4 * 0x00204081u) & 0x01010101u;
    return (g ^ (ones * 0xffu)) + ones;
}

/// The 8 int8 quants of an iq2 run: codebook entry g (8 magnitudes) with sign bits s (bit i:
/// element i negative), elements 0..3 in lo, 4..7 in hi.
GDN_HOST_DEVICE GDN_FORCEINLINE void signed_run8(uint64_t g, uint32_t s, uint32_t& lo, uint32_t& hi) {
    lo = apply_signs4(static_cast<uint32_t>(g), s & 15u);
    hi = apply_signs4(static_cast<uint32_t>(g >> 32), (s >> 4) & 15u);
}

/// The scale d * (0.5 + ls) * 0.25 of an iq2 group with 4-bit scale ls (iq2_xxs, iq2_xs,
/// iq2_s), in gguf's order of operations so that values round as its dequantiser's do.
GDN_HOST_DEVICE GDN_FORCEINLINE float iq2_scale(float d, uint32_t ls) {
    return d * (0.5f + static_cast<float>(ls)) * 0.25f;
}

/// The 16-entry table of iq4_nl at the 8 4-bit indices of n (index k in bits 4k..4k+3) with
/// the byte permute `prmt` (PTX prmt in its generic mode: byte k of prmt(a, b, s) is byte
/// (s >> 4k) & 7 of {b, a}, or that byte's sign copied over all 8 bits where bit 4k+3 of s is
/// set): a = T[n0], T[n2], T[n4], T[n6] and b = T[n1], T[n3], T[n5], T[n7], as int8 bytes. A
/// GGUF word of packed nibbles (byte j: element j low, element j + half high) gives a = the
/// low nibbles' values and b = the high ones'. 8 permutes for 8 values, the table words being
/// immediates: one picks by the low 3 bits of each index from entries 0..7, one from entries
/// 8..15, a third keeps per byte the first or the second by index bit 3. A pick is kept only
/// where its selector's bit 3 (the sign-replicate flag) is clear: so it is for the low pick;
/// for the high pick the indices' bit 3 is flipped. The device decoders use it with the PRMT
/// instruction, tests with a host model of it.
template <class Prmt>
GDN_HOST_DEVICE GDN_FORCEINLINE void iq4nl_lookup8_by(Prmt prmt, uint32_t n, uint32_t& a, uint32_t& b) {
    const uint32_t nh = n ^ 0x88888888u;
    // selector nibble k: byte k of the low pick, or byte 4 + k of the high pick when index
    // bit 3 is set; nibbles 4..7 serve the upper four indices after >> 16
    const uint32_t half = ((n >> 1) & 0x44444444u) | 0x32103210u;
    const uint32_t c = prmt(prmt(iq4nl_word0, iq4nl_word1, n), prmt(iq4nl_word2, iq4nl_word3, nh), half);
    const uint32_t d =
        prmt(prmt(iq4nl_word0, iq4nl_word1, n >> 16), prmt(iq4nl_word2, iq4nl_word3, nh >> 16), half >> 16);
    a = prmt(c, d, 0x6420u);  // c = T[n0..n3], d = T[n4..n7]
    b = prmt(c, d, 0x7531u);
}

#if defined(__CUDA_ARCH__)
/// The PRMT instruction (inline PTX: __byte_perm masks its selector to 3 bits per nibble first,
/// one more LOP per call, which iq4nl_lookup8_by does not need).
struct DevicePrmt {
    __device__ GDN_FORCEINLINE uint32_t operator()(uint32_t a, uint32_t b, uint32_t s) const {
        uint32_t r;
        asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(s));
        return r;
    }
};
#endif

/// iq4nl_lookup8_by with PRMT on the device; plain table reads on the host.
GDN_HOST_DEVICE GDN_FORCEINLINE void iq4nl_lookup8(uint32_t n, uint32_t& a, uint32_t& b) {
#if defined(__CUDA_ARCH__)
    iq4nl_lookup8_by(DevicePrmt{}, n, a, b);
#else
    a = b = 0;
    for (int k = 0; k < 4; ++k) {
        a |= static_cast<uint32_t>(static_cast<uint8_t>(iq4nl_values[(n >> (8 * k)) & 15u])) << (8 * k);
        b |= static_cast<uint32_t>(static_cast<uint8_t>(iq4nl_values[(n >> (8 * k + 4)) & 15u])) << (8 * k);
    }
#endif
}

/// The 8 indices of the low (shift 0) or high (shift 4) nibbles of bytes 0..3 of w0 and
/// bytes 0..3 of w1, arranged for iq4nl_lookup8 so that a = elements 0..3 and b = elements 4..7.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t iq4nl_run_indices(uint32_t w0, uint32_t w1, int shift) {
    return ((w0 >> shift) & 0x0f0f0f0fu) | (((w1 >> shift) & 0x0f0f0f0fu) << 4);
}

}  // namespace gdn::quant::iq

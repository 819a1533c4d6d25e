// gdn/quant/quantizers.hpp - every quantiser gdn has (float -> storage format, host), behind one
// runtime entry: quantize_row(t, ...). The 16-bit formats, q8_0, q4_0, q4_k and q6_k are in
// gdn/quant/quantize.hpp; each other format's quantiser is in gdn/quant/quantize/<name>.hpp.
// A format without a quantiser still decodes everywhere; has_quantizer(t) tells which do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/quant/quantize.hpp"
#include "gdn/quant/quantize/iq2_s.hpp"
#include "gdn/quant/quantize/iq2_xs.hpp"
#include "gdn/quant/quantize/iq2_xxs.hpp"
#include "gdn/quant/quantize/iq3_s.hpp"
#include "gdn/quant/quantize/iq3_xxs.hpp"
#include "gdn/quant/quantize/iq4_nl.hpp"
#include "gdn/quant/quantize/iq4_xs.hpp"
#include "gdn/quant/quantize/mxfp4.hpp"
#include "gdn/quant/quantize/q2_k.hpp"
#include "gdn/quant/quantize/q3_k.hpp"
#include "gdn/quant/quantize/q4_1.hpp"
#include "gdn/quant/quantize/q5_0.hpp"
#include "gdn/quant/quantize/q5_1.hpp"
#include "gdn/quant/quantize/q5_k.hpp"

/// The formats of gdn/quant/quantize/<name>.hpp, whose entry is quantize_row_<name>.
#define GDN_FOR_EACH_EXTRA_QUANTIZER(X) X(q4_1) X(q5_0) X(q5_1) X(q2_k) X(q3_k) X(q5_k) X(mxfp4) \
    X(iq2_xxs) X(iq2_xs) X(iq3_xxs) X(iq4_nl) X(iq3_s) X(iq2_s) X(iq4_xs)

namespace gdn::quant {

/// Whether quantize_row can write type t.
constexpr bool has_quantizer(DType t) {
    switch (t) {
        case DType::f32: case DType::f16: case DType::bf16: case DType::q8_0: case DType::q4_0:
        case DType::q4_k: case DType::q6_k: return true;
#define GDN_QUANTIZER_CASE(name) case DType::name:
        GDN_FOR_EACH_EXTRA_QUANTIZER(GDN_QUANTIZER_CASE)
#undef GDN_QUANTIZER_CASE
        return true;
        default: return false;
    }
}

/// Store n floats (a multiple of t's block size) as type t into dtype_row_bytes(t, n) bytes of
/// dst (any alignment); a type without a quantiser is an error naming it.
inline void quantize_row(DType t, const float* src, std::byte* dst, int64_t n) {
    switch (t) {
#define GDN_QUANTIZER_CALL(name) \
    case DType::name: quantize_row_##name(src, dst, n); return;
        GDN_FOR_EACH_EXTRA_QUANTIZER(GDN_QUANTIZER_CALL)
#undef GDN_QUANTIZER_CALL
        default: break;
    }
    GDN_CHECK(has_quantizer(t), "quantize_row: gdn has no quantiser for ggml type id ", static_cast<uint32_t>(t),
              " (", dtype_name(t), ")");
    quantize_row_basic(t, src, dst, n);
}

}  // namespace gdn::quant

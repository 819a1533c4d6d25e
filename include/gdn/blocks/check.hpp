// gdn/blocks/check.hpp - the dtype check a block descriptor runs on its layer's weights.
#pragma once

#include <cstdint>
#include <string_view>

#include "gdn/blocks/tags.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"

namespace gdn::detail {

/// Throws unless projection `t` (role e.g. "deltanet.qkv") of `layer` is stored as Q.
template <WeightFormat Q>
void check_projection_format(const TensorView& t, int64_t layer, std::string_view block,
                             std::string_view role) {
    GDN_CHECK(!t.empty(), "layer ", layer, " (", block, "): ", role, " is missing");
    GDN_CHECK(weight_format_accepts<Q>(t.type), "layer ", layer, " (", block, "): ", role,
              " (tensor '", t.name, "') is ", dtype_name(t.type), " (ggml type ",
              static_cast<uint32_t>(t.type), "), the model declares ", weight_format_name<Q>());
}

}  // namespace gdn::detail

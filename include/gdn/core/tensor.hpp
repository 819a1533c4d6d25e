// gdn/core/tensor.hpp - non-owning views of weight tensors, in ggml's dimension order:
// ne[0] is the contiguous dimension (a matrix's input features), ne[1] its rows (outputs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"

namespace gdn {

struct TensorView {
    std::string name;
    DType type = DType::f32;
    std::array<int64_t, 4> ne{1, 1, 1, 1};
    int n_dims = 0;
    const std::byte* data = nullptr;

    [[nodiscard]] bool empty() const { return data == nullptr; }
    [[nodiscard]] int64_t cols() const { return ne[0]; }                  ///< contiguous dim
    [[nodiscard]] int64_t rows() const { return ne[1] * ne[2] * ne[3]; }  ///< everything else
    [[nodiscard]] int64_t elems() const { return ne[0] * rows(); }
    [[nodiscard]] int64_t row_bytes() const { return dtype_row_bytes(type, ne[0]); }
    [[nodiscard]] int64_t bytes() const { return row_bytes() * rows(); }
    [[nodiscard]] const std::byte* row(int64_t r) const { return data + r * row_bytes(); }

    /// Throws unless this view is a [cols] vector or a [cols, rows] matrix of these sizes.
    void expect_shape(int64_t want_cols, int64_t want_rows = 1) const {
        GDN_CHECK(!empty(), "tensor '", name, "' is missing");
        GDN_CHECK(ne[0] == want_cols && rows() == want_rows, "tensor '", name, "' has shape [",
                  ne[0], ", ", ne[1], ", ", ne[2], ", ", ne[3], "], expected [", want_cols, ", ",
                  want_rows, "]");
    }
};

}  // namespace gdn

// gdn/ref/conv.hpp - one decode step of the causal depthwise conv of the DeltaNet mixer.
#pragma once

#include <cstdint>
#include <span>

#include "gdn/core/error.hpp"

namespace gdn::ref {

/// y[c] = sum_j w[c][j] * x_{t-(K-1)+j}[c] for j = 0..K-1 (taps oldest first, no bias: HF's
/// conv1d has bias=False), the pre-activation (the caller applies silu).
///   x     [conv_dim]             this step's input
///   w     [conv_dim, K]          row c = channel c's taps, oldest first (GGUF ssm_conv1d)
///   state [K-1, conv_dim]        row j = the input of K-1-j steps ago (row 0 oldest, row K-2 the
///                                previous step); shifted up one row and x written into row K-2,
///                                in place
///   y     [conv_dim]             may alias x
/// HF keeps K inputs (the newest included) and discards the oldest after the update; the
/// K-1 kept here are the ones that matter for the next step, so the outputs are the same.
inline void conv_step(std::span<const float> x, std::span<const float> w, int64_t kernel,
                      std::span<float> state, std::span<float> y) {
    const auto dim = static_cast<int64_t>(x.size());
    GDN_CHECK(kernel >= 1, "conv_step: kernel must be >= 1, got ", kernel);
    GDN_CHECK(static_cast<int64_t>(w.size()) == dim * kernel &&
                  static_cast<int64_t>(state.size()) == dim * (kernel - 1) &&
                  static_cast<int64_t>(y.size()) == dim,
              "conv_step: conv_dim ", dim, ", kernel ", kernel, " but w holds ", w.size(),
              ", state ", state.size(), ", y ", y.size());
    for (int64_t c = 0; c < dim; ++c) {
        const float* taps = w.data() + c * kernel;
        const float xc = x[static_cast<size_t>(c)];
        double acc = static_cast<double>(taps[kernel - 1]) * xc;
        for (int64_t j = 0; j + 1 < kernel; ++j) {
            acc += static_cast<double>(taps[j]) * state[static_cast<size_t>(j * dim + c)];
        }
        y[static_cast<size_t>(c)] = static_cast<float>(acc);
        for (int64_t j = 0; j + 2 < kernel; ++j) {
            state[static_cast<size_t>(j * dim + c)] = state[static_cast<size_t>((j + 1) * dim + c)];
        }
        if (kernel > 1) state[static_cast<size_t>((kernel - 2) * dim + c)] = xc;
    }
}

}  // namespace gdn::ref

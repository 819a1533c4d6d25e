// gdn/ref/mlp.hpp - the SwiGLU MLP: out = W_down(silu(W_gate x) * (W_up x)).
#pragma once

#include <span>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

/// x [n_embd] (already normed), out [n_embd] (no residual). The width is w.gate's rows, so the
/// same workspace serves the dense MLP, a routed expert and the shared expert.
inline void mlp_step(const MlpWeights& w, std::span<const float> x, Workspace& ws,
                     std::span<float> out) {
    const auto ff = static_cast<size_t>(w.gate.rows());
    GDN_CHECK(ff <= ws.gate.size(), "mlp '", w.gate.name, "': width ", ff, " exceeds the workspace's ",
              ws.gate.size());
    const std::span<float> gate(ws.gate.data(), ff), up(ws.up.data(), ff);
    matvec(w.gate, x, gate);
    matvec(w.up, x, up);
    for (size_t i = 0; i < ff; ++i) gate[i] = silu(gate[i]) * up[i];
    matvec(w.down, gate, out);
}

}  // namespace gdn::ref

// gdn/ref/mlp.hpp - the SwiGLU MLP: out = W_down(silu(W_gate x) * (W_up x)).
#pragma once

#include <span>

#include "gdn/core/weights.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

/// x [n_embd] (already normed), out [n_embd] (no residual).
inline void mlp_step(const MlpWeights& w, std::span<const float> x, Workspace& ws,
                     std::span<float> out) {
    matvec(w.gate, x, ws.gate);
    matvec(w.up, x, ws.up);
    for (size_t i = 0; i < ws.gate.size(); ++i) ws.gate[i] = silu(ws.gate[i]) * ws.up[i];
    matvec(w.down, ws.gate, out);
}

}  // namespace gdn::ref

// gdn/ref/norm.hpp - the three norms of the model, float32 values, float64 sums.
// Output may alias input (y == x) in every function here.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "gdn/core/error.hpp"
#include "gdn/ref/eigen.hpp"
#include "gdn/ref/tensor_ops.hpp"

namespace gdn::ref {

namespace detail {
inline Eigen::Map<const Eigen::VectorXf> as_vec(std::span<const float> s) {
    return {s.data(), static_cast<Eigen::Index>(s.size())};
}
inline Eigen::Map<Eigen::VectorXf> as_vec(std::span<float> s) {
    return {s.data(), static_cast<Eigen::Index>(s.size())};
}
inline float rms_scale(std::span<const float> x, float eps) {
    const double mean_sq = as_vec(x).cast<double>().squaredNorm() / static_cast<double>(x.size());
    return static_cast<float>(1.0 / std::sqrt(mean_sq + static_cast<double>(eps)));
}
inline void check_same_size(std::span<const float> a, std::span<const float> b, const char* what) {
    GDN_CHECK(a.size() == b.size(), what, ": sizes differ (", a.size(), " vs ", b.size(), ")");
}
}  // namespace detail

/// y = x * rsqrt(mean(x^2) + eps) * w, with w a plain multiplier (GGUF norm weights, whose
/// "+1" llama.cpp's converter already folded in).
inline void rms_norm(std::span<const float> x, std::span<const float> w, float eps,
                     std::span<float> y) {
    detail::check_same_size(x, w, "rms_norm weight");
    detail::check_same_size(x, y, "rms_norm output");
    const float s = detail::rms_scale(x, eps);
    detail::as_vec(y) = (detail::as_vec(x) * s).cwiseProduct(detail::as_vec(w));
}

/// y = x * rsqrt(mean(x^2) + eps) * (1 + w): HF's Qwen3NextRMSNorm on its stored weight
/// (zero-initialised), for weights taken straight from a HF checkpoint.
inline void rms_norm_one_plus(std::span<const float> x, std::span<const float> w, float eps,
                              std::span<float> y) {
    detail::check_same_size(x, w, "rms_norm_one_plus weight");
    detail::check_same_size(x, y, "rms_norm_one_plus output");
    const float s = detail::rms_scale(x, eps);
    detail::as_vec(y) = (detail::as_vec(x) * s).cwiseProduct(detail::as_vec(w) +
                                                             Eigen::VectorXf::Ones(w.size()));
}

/// x *= rsqrt(sum(x^2) + eps): HF's l2norm in the gated delta rule (eps 1e-6 inside the
/// root, added to the sum, not the mean).
inline void l2_normalize(std::span<float> x, float eps = 1e-6f) {
    const double sum_sq = detail::as_vec(x).cast<double>().squaredNorm();
    detail::as_vec(x) *= static_cast<float>(1.0 / std::sqrt(sum_sq + static_cast<double>(eps)));
}

/// One value head of the DeltaNet output norm (HF Qwen3NextRMSNormGated):
/// y = w * (o * rsqrt(mean(o^2) + eps)) * silu(z); w is the plain weight (no "+1").
inline void gated_rms_norm(std::span<const float> o, std::span<const float> z,
                           std::span<const float> w, float eps, std::span<float> y) {
    detail::check_same_size(o, z, "gated_rms_norm gate");
    detail::check_same_size(o, w, "gated_rms_norm weight");
    detail::check_same_size(o, y, "gated_rms_norm output");
    const float s = detail::rms_scale(o, eps);
    for (size_t i = 0; i < o.size(); ++i) y[i] = w[i] * (o[i] * s) * silu(z[i]);
}

}  // namespace gdn::ref

// tests/gpu/gpu_util.cuh - small helpers shared by the GPU tests: an RAII device buffer,
// deterministic random fills, NaN poisoning, error reports and launcher argument checks.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include <cuda_runtime.h>

#include "gdn/kernels/cuda_check.cuh"

namespace gdn::test {

/// Owns `n` elements of T on the device; move-only.
template <class T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t n) : n_(n) {
        if (n_ > 0) GDN_CUDA_CHECK(cudaMalloc(&ptr_, n_ * sizeof(T)));
    }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr; o.n_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            release();
            ptr_ = o.ptr_; n_ = o.n_;
            o.ptr_ = nullptr; o.n_ = 0;
        }
        return *this;
    }
    ~DeviceBuffer() { release(); }

    [[nodiscard]] T* get() const { return ptr_; }
    [[nodiscard]] size_t size() const { return n_; }
    [[nodiscard]] size_t bytes() const { return n_ * sizeof(T); }

    void upload(const std::vector<T>& host) {
        GDN_CHECK(host.size() == n_, "DeviceBuffer::upload: size ", host.size(), " != ", n_);
        GDN_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice));
    }
    void upload_bytes(const void* src, size_t nbytes) {
        GDN_CHECK(nbytes <= bytes(), "DeviceBuffer::upload_bytes: ", nbytes, " > ", bytes());
        GDN_CUDA_CHECK(cudaMemcpy(ptr_, src, nbytes, cudaMemcpyHostToDevice));
    }
    [[nodiscard]] std::vector<T> download() const {
        std::vector<T> host(n_);
        GDN_CUDA_CHECK(cudaMemcpy(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost));
        return host;
    }
    /// Fill every byte with `byte` (0xFF makes float32 NaN and int32 -1).
    void poison(int byte = 0xFF) { GDN_CUDA_CHECK(cudaMemset(ptr_, byte, bytes())); }

private:
    void release() {
        if (ptr_) cudaFree(ptr_);
        ptr_ = nullptr;
    }
    T* ptr_ = nullptr;
    size_t n_ = 0;
};

/// n floats uniform in [lo, hi) from a fixed seed.
inline std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

/// Max abs error, and max of |err| / scale[i] where a per-element scale is given.
struct ErrorStats {
    double max_abs = 0;
    double max_rel = 0;  ///< relative to the supplied scale
    size_t worst = 0;
    size_t n_bad = 0;    ///< non-finite or over tolerance
};

/// Compare got against want (double), with |got - want| <= tol * scale[i] required.
inline ErrorStats compare(const std::vector<float>& got, const std::vector<double>& want,
                          const std::vector<double>& scale, double tol) {
    ErrorStats s;
    for (size_t i = 0; i < got.size(); ++i) {
        const double err = std::fabs(double(got[i]) - want[i]);
        const double rel = err / scale[i];
        if (!std::isfinite(got[i]) || !(rel <= tol)) ++s.n_bad;
        if (!std::isfinite(got[i])) { s.max_rel = std::numeric_limits<double>::infinity(); s.worst = i; continue; }
        if (err > s.max_abs) s.max_abs = err;
        if (rel > s.max_rel) { s.max_rel = rel; s.worst = i; }
    }
    return s;
}

/// A launcher's argument checks: reject(edit, needle) CHECKs that launching a copy of the
/// valid parameters `good`, changed by edit, throws an error whose message contains needle.
///   const RejectCheck reject{good_params, [](const Params& p) { launch_x(p, nullptr); }};
///   reject([](Params& p) { p.n_tok = 0; }, "n_tok");
template <class Params, class Launch>
struct RejectCheck {
    Params good;
    Launch launch;
    template <class Edit>
    void operator()(Edit&& edit, const char* needle) const {
        Params p = good;
        edit(p);
        CHECK_THROWS_WITH(launch(p), Catch::Matchers::Contains(needle));
    }
};
template <class Params, class Launch>
RejectCheck(Params, Launch) -> RejectCheck<Params, Launch>;

}  // namespace gdn::test

// gdn/kernels/cuda_check.cuh - turn CUDA runtime errors into gdn::Error (file, line, reason).
#pragma once

#include <cuda_runtime.h>

#include "gdn/core/error.hpp"

namespace gdn::kernels {

/// Throws gdn::Error naming the failed expression, where it was, and CUDA's reason.
inline void cuda_check(cudaError_t err, const char* expr, const char* file, int line) {
    if (err != cudaSuccess) {
        fail("CUDA error '", cudaGetErrorString(err), "' (", cudaGetErrorName(err), ") in ",
             expr, " at ", file, ":", line);
    }
}

/// Check the launch just enqueued (bad configuration, missing image); does not synchronise,
/// so it is safe inside stream capture.
inline void check_launch(const char* kernel, const char* file, int line) {
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) {
        fail("CUDA error '", cudaGetErrorString(err), "' launching ", kernel, " at ", file, ":",
             line);
    }
}

}  // namespace gdn::kernels

/// GDN_CUDA_CHECK(expr): throw gdn::Error unless the CUDA runtime call returns cudaSuccess.
#define GDN_CUDA_CHECK(expr) ::gdn::kernels::cuda_check((expr), #expr, __FILE__, __LINE__)

/// GDN_CHECK_LAUNCH("name"): throw gdn::Error if the last launch failed to enqueue.
#define GDN_CHECK_LAUNCH(name) ::gdn::kernels::check_launch((name), __FILE__, __LINE__)

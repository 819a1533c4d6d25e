// gdn/kernels/launch.cuh - kernel launches with programmatic dependent launch (PDL, sm_90+).
//
// A decode step is a chain of ~100-500 short kernels. Without PDL each kernel starts only
// after its predecessor has fully completed and its launch has been processed: a few
// microseconds per kernel in which the GPU does nothing useful. With PDL a kernel launched
// through `launch_kernel` may start while its predecessor is still running; it then
//   1. does the work that depends on nothing the predecessors write (the GEMV issues its
//      first weight loads: weights are immutable while a graph runs),
//   2. calls `pdl_wait()`: griddepcontrol.wait blocks until every prerequisite grid has
//      completed and its memory is visible (the same guarantee stream order gives),
//   3. calls `pdl_launch_dependents()` so that the next kernel may begin its own step 1.
//
// The contract (every kernel launched here keeps it, the reviewer checks it):
//   - no global memory that another kernel of the stream writes or reads is touched before
//     `pdl_wait()`, and no thread returns before it. One documented exception: the GEMV reads
//     its first weight chunks before the wait, so the kernel enqueued *immediately* before a
//     GEMV must not write that GEMV's weights (weights uploaded by cudaMemcpy, or written by
//     any earlier kernel, are safe: the immediate predecessor itself waited for those);
//   - `pdl_wait()` is called by every thread of every block, so that the grid cannot
//     complete before its predecessors: a later kernel's wait then covers all earlier ones.
// Kernels launched with <<<>>> (the prefill kernels, the deltanet step) keep plain stream
// order; mixing is safe both ways.
//
// PDL is on by default where the device supports it (compute capability 9.0+). GDN_PDL=0 in
// the environment, or `set_pdl(false)`, turns it off (A/B measurement, debugging); the choice
// is read when a launch is enqueued, so a captured graph keeps what it was captured with.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <utility>

#include "gdn/core/macros.hpp"
#include "gdn/kernels/cuda_check.cuh"

namespace gdn::kernels {

/// Wait until the kernels this one depends on have completed (no-op below sm_90 or without PDL).
GDN_DEVICE GDN_FORCEINLINE void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

/// Let the next kernel of the stream start its prologue (no-op below sm_90 or without PDL).
GDN_DEVICE GDN_FORCEINLINE void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

namespace launch_detail {
inline std::atomic<int>& pdl_setting() {  // -1: from the environment, 0 off, 1 on
    static std::atomic<int> v{-1};
    return v;
}
}  // namespace launch_detail

/// Turn programmatic dependent launch on or off for later launches (default: on, unless the
/// environment has GDN_PDL=0).
inline void set_pdl(bool on) { launch_detail::pdl_setting().store(on ? 1 : 0); }

/// Whether launches enqueued now on the current device use programmatic dependent launch.
inline bool pdl_enabled() {
    int v = launch_detail::pdl_setting().load();
    if (v < 0) {
        const char* e = std::getenv("GDN_PDL");
        v = (e != nullptr && e[0] == '0') ? 0 : 1;
        launch_detail::pdl_setting().store(v);
    }
    if (v == 0) return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return major >= 9;
}

/// Enqueue kernel<<<grid, block, smem, stream>>>(args...) in clusters of `cluster_x` blocks
/// along x (1: no cluster), with programmatic stream serialisation when pdl_enabled(). The
/// kernel must keep this file's contract. `name` names the launch in the error if it fails
/// to enqueue.
template <class... Params, class... Args>
void launch_kernel_cluster(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                           unsigned cluster_x, cudaStream_t stream, Args&&... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[2];
    unsigned n = 0;
    if (pdl_enabled()) {
        attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[n++].val.programmaticStreamSerializationAllowed = 1;
    }
    if (cluster_x > 1) {
        attr[n].id = cudaLaunchAttributeClusterDimension;
        attr[n].val.clusterDim.x = cluster_x;
        attr[n].val.clusterDim.y = 1;
        attr[n++].val.clusterDim.z = 1;
    }
    cfg.attrs = n > 0 ? attr : nullptr;
    cfg.numAttrs = n;
    const cudaError_t err = cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        fail("CUDA error '", cudaGetErrorString(err), "' launching ", name);
    }
}

/// launch_kernel_cluster without clusters.
template <class... Params, class... Args>
void launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                   cudaStream_t stream, Args&&... args) {
    launch_kernel_cluster(name, kernel, grid, block, smem, 1u, stream, std::forward<Args>(args)...);
}

}  // namespace gdn::kernels

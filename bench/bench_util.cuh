// bench/bench_util.cuh - what every gdn benchmark needs: the card's name, the copy
// bandwidth that serves as the bound (measured in the same run), CUDA-event timing and
// medians, and device buffers that free themselves. Benchmarks only; not part of the library.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "gdn/kernels/cuda_check.cuh"

namespace gdn::bench {

/// Exit status of a benchmark that found no CUDA device (ctest's "skipped").
inline constexpr int k_skip = 77;

inline bool have_device() {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

inline std::string card_name(int device = 0) {
    cudaDeviceProp prop{};
    GDN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    return prop.name;
}

inline double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// One device buffer of `bytes`, every byte set to `fill` (0x11: small finite values in every
/// weight format); freed with the object.
struct Buffer {
    void* p = nullptr;
    explicit Buffer(size_t bytes, int fill = 0x11) {
        GDN_CUDA_CHECK(cudaMalloc(&p, bytes));
        GDN_CUDA_CHECK(cudaMemset(p, fill, bytes));
    }
    ~Buffer() { cudaFree(p); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
};

/// Zeroed device arrays for one measurement, all freed with the object:
///   DeviceAllocs mem; float* x = mem.alloc<float>(n);
class DeviceAllocs {
public:
    DeviceAllocs() = default;
    ~DeviceAllocs() {
        for (void* p : owned_) cudaFree(p);
    }
    DeviceAllocs(const DeviceAllocs&) = delete;
    DeviceAllocs& operator=(const DeviceAllocs&) = delete;

    /// n zeroed elements of T (at least one, so a zero-sized workspace is still a valid pointer).
    template <class T>
    T* alloc(size_t n) {
        const size_t bytes = std::max<size_t>(n, 1) * sizeof(T);
        void* p = nullptr;
        GDN_CUDA_CHECK(cudaMalloc(&p, bytes));
        owned_.push_back(p);
        GDN_CUDA_CHECK(cudaMemset(p, 0, bytes));
        return static_cast<T*>(p);
    }

private:
    std::vector<void*> owned_;
};

/// A pair of CUDA events around work on one stream.
class EventTimer {
public:
    EventTimer() {
        GDN_CUDA_CHECK(cudaEventCreate(&start_));
        GDN_CUDA_CHECK(cudaEventCreate(&stop_));
    }
    ~EventTimer() {
        cudaEventDestroy(start_);
        cudaEventDestroy(stop_);
    }
    EventTimer(const EventTimer&) = delete;
    EventTimer& operator=(const EventTimer&) = delete;

    void start(cudaStream_t s) { GDN_CUDA_CHECK(cudaEventRecord(start_, s)); }
    void stop(cudaStream_t s) { GDN_CUDA_CHECK(cudaEventRecord(stop_, s)); }
    /// Milliseconds between start and stop (waits for stop).
    double ms() const {
        GDN_CUDA_CHECK(cudaEventSynchronize(stop_));
        float t = 0.f;
        GDN_CUDA_CHECK(cudaEventElapsedTime(&t, start_, stop_));
        return double(t);
    }

private:
    cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

/// Microseconds per enqueue(i) call: enqueue(0..n-1) is captured once into a CUDA graph,
/// replayed once to warm up, then `samples` times `reps` replays are timed with events; the
/// median sample is returned. Launch gaps inside the graph count, host launch cost does not.
template <class Enqueue>
double graph_us_per_call(int n, Enqueue&& enqueue, cudaStream_t stream, int reps, int samples = 1) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    GDN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < n; ++i) enqueue(i);
    GDN_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    GDN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    GDN_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    EventTimer t;
    std::vector<double> us;
    for (int s = 0; s < samples; ++s) {
        t.start(stream);
        for (int r = 0; r < reps; ++r) GDN_CUDA_CHECK(cudaGraphLaunch(exec, stream));
        t.stop(stream);
        us.push_back(t.ms() * 1e3 / (double(reps) * n));
    }
    GDN_CUDA_CHECK(cudaGraphExecDestroy(exec));
    GDN_CUDA_CHECK(cudaGraphDestroy(graph));
    return median(us);
}

/// Device-to-device cudaMemcpy bandwidth in GB/s (1e9 B/s), counting bytes read plus bytes
/// written: the practical HBM bound a streaming kernel can be held against. Median of
/// `reps` copies of `bytes` after one warm-up copy. Buffers larger than any L2.
inline double copy_bandwidth_gbs(cudaStream_t stream, size_t bytes = size_t(1) << 30, int reps = 10) {
    void *a = nullptr, *b = nullptr;
    GDN_CUDA_CHECK(cudaMalloc(&a, bytes));
    GDN_CUDA_CHECK(cudaMalloc(&b, bytes));
    GDN_CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, stream));
    GDN_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
    std::vector<double> gbs;
    EventTimer t;
    for (int r = 0; r < reps; ++r) {
        t.start(stream);
        GDN_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
        t.stop(stream);
        gbs.push_back(2.0 * double(bytes) / (t.ms() * 1e-3) / 1e9);
    }
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    GDN_CUDA_CHECK(cudaFree(a));
    GDN_CUDA_CHECK(cudaFree(b));
    return median(gbs);
}

/// The card a kernel benchmark runs on: its properties, a stream (destroyed with this) and,
/// unless told not to, the device-to-device copy bandwidth measured on that stream.
struct BenchDevice {
    cudaDeviceProp prop{};
    cudaStream_t stream = nullptr;
    double copy_gbs = 0;  ///< 0 when not measured
    explicit BenchDevice(bool measure_copy = true) {
        GDN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
        GDN_CUDA_CHECK(cudaStreamCreate(&stream));
        if (measure_copy) copy_gbs = copy_bandwidth_gbs(stream);
    }
    ~BenchDevice() {
        if (stream != nullptr) (void)cudaStreamDestroy(stream);
    }
    BenchDevice(const BenchDevice&) = delete;
    BenchDevice& operator=(const BenchDevice&) = delete;
};

/// Free and total device memory in bytes.
inline std::pair<size_t, size_t> device_memory() {
    size_t free_b = 0, total_b = 0;
    GDN_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return {free_b, total_b};
}

}  // namespace gdn::bench

// bench/kernels_gemm.cu - the many-token GEMM (gdn/kernels/gemm.cuh) per weight format at the
// Qwen3.5 0.8B and 9B projection shapes, for prefill chunks (T = 512, 4096) and batched decode
// (T = 16, 64): TFLOP/s (2 * rows * cols * T, both matrices for gate/up) as a ratio to the TF32
// mma.sync peak measured in the same run (back-to-back m16n8k8 from registers), and the weight bytes
// per second as a ratio to a measured device-to-device copy (bytes read + written).
//
// Each call is timed inside a CUDA graph (bench_util's graph_us_per_call), median of 3 samples.
// Weights are one copy per shape (they stay in L2 between calls when they fit: the GB/s column
// is then an upper bound of what HBM would give).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/gemm.cuh"
#include "gdn/quant/dispatch.hpp"

namespace {

namespace gk = gdn::kernels;
using gdn::DType;
using gdn::bench::Buffer;

// The bound: TF32 mma.sync m16n8k8 issued back to back (8 independent accumulators per warp,
// 16 warps per SM, operands in registers), in TFLOP/s.
__global__ void mma_peak_kernel(float* out, int iters) {
    uint32_t a[4] = {threadIdx.x, threadIdx.x + 1u, threadIdx.x + 2u, threadIdx.x + 3u};
    const uint32_t b0 = threadIdx.x * 3u, b1 = threadIdx.x * 5u;
    float acc[8][4] = {};
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) gk::mma_tf32(acc[j], a, b0, b1);
    }
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) s += acc[j][0] + acc[j][1] + acc[j][2] + acc[j][3];
    if (s == 1234.5f) out[threadIdx.x] = s;  // keeps the loop
}

double mma_peak_tflops(int sms, cudaStream_t stream) {
    Buffer out(1024 * 4, 0);
    const int iters = 20000, blocks = sms * 4, threads = 128;
    auto* o = static_cast<float*>(out.p);
    mma_peak_kernel<<<blocks, threads, 0, stream>>>(o, 100);
    gdn::bench::EventTimer t;
    std::vector<double> tf;
    for (int r = 0; r < 3; ++r) {
        t.start(stream);
        mma_peak_kernel<<<blocks, threads, 0, stream>>>(o, iters);
        t.stop(stream);
        tf.push_back(double(blocks) * (threads / 32) * iters * 8 * 2.0 * 16 * 8 * 8 / (t.ms() * 1e-3) / 1e12);
    }
    GDN_CUDA_CHECK(cudaGetLastError());
    return gdn::bench::median(tf);
}

struct Shape {
    const char* name;
    int64_t cols, rows;
    bool gate_up;
    bool norm;
};

double g_mma_peak = 0;  // TFLOP/s measured by mma_peak_tflops in this run

void bench_gemm(DType t, const Shape& sh, int n_tok, double copy_gbs, cudaStream_t stream) {
    const int64_t mat = gdn::dtype_row_bytes(t, sh.cols) * sh.rows;
    const int64_t stride = (mat + 255) / 256 * 256;
    Buffer w(static_cast<size_t>(stride * (sh.gate_up ? 2 : 1)), 0x11);
    Buffer x(static_cast<size_t>(int64_t(n_tok) * sh.cols * 4), 0x3c), nw(static_cast<size_t>(sh.cols * 4), 0x3c);
    Buffer y(static_cast<size_t>(int64_t(n_tok) * sh.rows * 4), 0);
    gk::GemmParams p;
    p.w = static_cast<const std::byte*>(w.p);
    p.type = t;
    p.rows = sh.rows;
    p.cols = sh.cols;
    p.x = static_cast<const float*>(x.p);
    p.y = static_cast<float*>(y.p);
    p.n_tok = n_tok;
    if (sh.norm) p.norm_w = static_cast<const float*>(nw.p);
    if (!sh.gate_up && !sh.norm) p.resid = p.y;  // down / out projections add the residual
    if (sh.gate_up) p.w_up = p.w + stride;
    auto enqueue = [&](int) {
        if (sh.gate_up) {
            gk::launch_gemm_gate_up(p, stream);
        } else {
            gk::launch_gemm(p, stream);
        }
    };
    enqueue(0);  // eager warm-up (module load, attribute)
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    const double flop = 2.0 * double(sh.rows) * double(sh.cols) * n_tok * (sh.gate_up ? 2 : 1);
    const int reps = static_cast<int>(std::clamp(2e11 / flop, 2.0, 200.0));
    const double us = gdn::bench::graph_us_per_call(1, enqueue, stream, reps, 3);
    const double tflops = flop / (us * 1e-6) / 1e12;
    const double gbs = double(mat * (sh.gate_up ? 2 : 1)) / (us * 1e-6) / 1e9;
    std::printf("| %-5s | %-20s | %6lld | %6lld | %4d | %9.1f | %7.1f | %5.1f%% | %7.0f | %5.1f%% |\n",
                gdn::dtype_name(t).data(), sh.name, static_cast<long long>(sh.cols), static_cast<long long>(sh.rows),
                n_tok, us, tflops, 100.0 * tflops / g_mma_peak, gbs, 100.0 * gbs / copy_gbs);
}

}  // namespace

// `gdn_bench_kernels_gemm quick`: only the 9B shapes at T = 4096 in bf16, q8_0 and q4_k.
int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::string(argv[1]) == "quick";
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev;
    const cudaDeviceProp& prop = dev.prop;
    cudaStream_t stream = dev.stream;
    const double copy_gbs = dev.copy_gbs;
    g_mma_peak = mma_peak_tflops(prop.multiProcessorCount, stream);
    std::printf("GEMM (TF32 mma.sync) on %s (%d SMs): D2D copy %.0f GB/s (read + write), TF32 mma.sync peak %.0f "
                "TFLOP/s (back-to-back m16n8k8 from registers)\n\n",
                prop.name, prop.multiProcessorCount, copy_gbs, g_mma_peak);
    std::printf("| fmt   | shape                |   cols |   rows |    T |     us    | TFLOP/s | %% peak |  W GB/s | %% copy |\n");
    std::printf("|-------|----------------------|--------|--------|------|-----------|---------|--------|---------|--------|\n");
    const Shape shapes[] = {
        {"0.8B gate/up +norm", 1024, 3584, true, true},
        {"0.8B down +resid", 3584, 1024, false, false},
        {"0.8B qkv +norm", 1024, 6144, false, true},
        {"9B gate/up +norm", 4096, 12288, true, true},
        {"9B down +resid", 12288, 4096, false, false},
        {"9B qkv +norm", 4096, 8192, false, true},
    };
    auto run = [&](DType t, const Shape& sh, int n) {
        try {
            bench_gemm(t, sh, n, copy_gbs, stream);
        } catch (const std::exception& e) {
            std::printf("| %-5s | %-20s | error: %s\n", gdn::dtype_name(t).data(), sh.name, e.what());
        }
    };
    if (quick) {
        for (DType t : {DType::bf16, DType::q8_0, DType::q4_k})
            for (int i : {3, 4, 5}) run(t, shapes[i], 4096);
        return 0;
    }
    for (DType t : {DType::bf16, DType::q8_0, DType::q4_k}) {
        for (int n : {512, 4096}) {
            for (const Shape& sh : shapes) run(t, sh, n);
        }
    }
    for (DType t : {DType::f32, DType::f16, DType::q4_0, DType::q6_k}) {
        run(t, shapes[3], 4096);
        run(t, shapes[4], 4096);
    }
    std::printf("\nbatched decode sizes:\n");
    for (DType t : {DType::bf16, DType::q8_0, DType::q4_k}) {
        for (int n : {16, 64}) {
            for (const Shape& sh : shapes) run(t, sh, n);
        }
    }
    return 0;
}

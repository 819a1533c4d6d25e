// bench/kernels_gemv.cu - GEMV bandwidth per weight format at the Qwen3.5 matrix shapes, as a
// ratio to a measured device-to-device copy (cudaMemcpy D2D of 1 GiB, bytes read + written
// per second); plus the device argmax / sampler over the 248320-token vocabulary.
//
// Each shape is timed inside a CUDA graph of launches over distinct copies of the matrix
// (>= 256 MB in all, so the weights come from HBM rather than the 50 MB L2, as in a decode
// step), which also removes host launch overhead. Bytes counted: the weight bytes only
// (both matrices for gate/up); x and y are small and L2-resident.
// Rows for every format of GDN_FOR_EACH_DTYPE (core/dtype.hpp). --quick: only the 9B and 27B
// projections at n_seq 1 (no f32, no sampling); --fmt NAME: one weight format only. Both for
// tuning runs.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/gemv.cuh"
#include "gdn/kernels/sampling.cuh"
#include "gdn/quant/dispatch.hpp"

namespace {

namespace gk = gdn::kernels;
using gdn::DType;
using gdn::bench::Buffer;

// Microseconds per call of `enqueue(i)` for i in [0, n), captured once and replayed.
template <class Enqueue>
double time_graph(int n, Enqueue&& enqueue, cudaStream_t stream) {
    for (int i = 0; i < std::min(n, 2); ++i) enqueue(i);  // eager warm-up (module load)
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return gdn::bench::graph_us_per_call(n, enqueue, stream, std::max(3, 400 / n));
}

struct Shape {
    const char* name;
    int64_t cols, rows;
    bool gate_up;
    bool norm;
};

void bench_gemv(DType t, const Shape& sh, int n_seq, double copy_gbs, cudaStream_t stream) {
    const int64_t mat = gdn::dtype_row_bytes(t, sh.cols) * sh.rows;
    const int64_t per_call = mat * (sh.gate_up ? 2 : 1);
    const int copies = static_cast<int>(std::clamp<int64_t>((int64_t(256) << 20) / per_call + 1, 1, 64));
    const int64_t stride = (mat + 255) / 256 * 256;
    Buffer w(static_cast<size_t>(stride * copies * (sh.gate_up ? 2 : 1)));
    Buffer x(static_cast<size_t>(8 * sh.cols * 4), 0x3c), nw(static_cast<size_t>(sh.cols * 4), 0x3c);
    Buffer y(static_cast<size_t>(8 * sh.rows * 4), 0);
    auto* base = static_cast<const std::byte*>(w.p);
    gk::GemvParams p;
    p.type = t;
    p.rows = sh.rows;
    p.cols = sh.cols;
    p.x = static_cast<const float*>(x.p);
    p.y = static_cast<float*>(y.p);
    p.n_seq = n_seq;
    if (sh.norm) p.norm_w = static_cast<const float*>(nw.p);
    if (!sh.gate_up && !sh.norm) p.resid = p.y;  // down / out projections add the residual
    const double us = time_graph(copies, [&](int i) {
        gk::GemvParams q = p;
        if (sh.gate_up) {
            q.w = base + 2 * stride * i;
            q.w_up = base + 2 * stride * i + stride;
            gk::launch_gemv_gate_up(q, stream);
        } else {
            q.w = base + stride * i;
            gk::launch_gemv(q, stream);
        }
    }, stream);
    const double gbs = double(per_call) / (us * 1e-6) / 1e9;
    std::printf("| %-7s | %-22s | %6lld | %6lld | %d | %8.2f | %7.0f | %5.1f%% |\n", gdn::dtype_name(t).data(),
                sh.name, static_cast<long long>(sh.cols), static_cast<long long>(sh.rows), n_seq, us, gbs,
                100.0 * gbs / copy_gbs);
}

void bench_sampling(cudaStream_t stream) {
    const int vocab = 248320;
    Buffer logits(static_cast<size_t>(vocab) * 4 * 4, 0);
    {   // distinct values: fill with a ramp through a host copy
        std::vector<float> h(static_cast<size_t>(vocab) * 4);
        for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>((i * 2654435761u) % 100000) * 1e-4f;
        GDN_CUDA_CHECK(cudaMemcpy(logits.p, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
    }
    Buffer tok(64, 0), step(4, 0), ws(gk::sampling_workspace_bytes(4), 0);
    struct Case { const char* name; float temp; int top_k; float top_p; int n_seq; };
    const Case cases[] = {{"argmax", 0.f, 0, 1.f, 1}, {"argmax", 0.f, 0, 1.f, 4},
                          {"sample T=1 full vocab", 1.f, 0, 1.f, 1},
                          {"sample T=.7 k=40 p=.95", 0.7f, 40, 0.95f, 1},
                          {"sample T=.7 k=40 p=.95", 0.7f, 40, 0.95f, 4},
                          {"sample T=1 p=.9 (k=1024)", 1.f, 0, 0.9f, 1}};
    for (const Case& c : cases) {
        gk::SampleParams p;
        p.logits = static_cast<const float*>(logits.p);
        p.n_vocab = vocab;
        p.n_seq = c.n_seq;
        p.token = static_cast<int32_t*>(tok.p);
        p.temperature = c.temp;
        p.top_k = c.top_k;
        p.top_p = c.top_p;
        p.seed = 1;
        p.step = static_cast<const int32_t*>(step.p);
        p.workspace = ws.p;
        const double us = time_graph(20, [&](int) { gk::launch_sample(p, stream); }, stream);
        std::printf("| %-26s | n_seq %d | %8.2f us |\n", c.name, c.n_seq, us);
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    const char* only = nullptr;   // --fmt NAME: one weight format
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strcmp(argv[i], "--fmt") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            std::printf("usage: %s [--quick] [--fmt NAME (a ggml type name gdn reads, e.g. q4_k)]\n", argv[0]);
            return 2;
        }
    }
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev;
    const cudaDeviceProp& prop = dev.prop;
    cudaStream_t stream = dev.stream;
    const double copy_gbs = dev.copy_gbs;
    std::printf("GEMV on %s (%d SMs): D2D copy %.0f GB/s (read + write)\n\n", prop.name,
                prop.multiProcessorCount, copy_gbs);
    std::printf("| fmt     | shape                  |   cols |   rows | S |    us    |  GB/s   | %% copy |\n");
    std::printf("|---------|------------------------|--------|--------|---|----------|---------|--------|\n");
    const Shape shapes[] = {
        {"0.8B gate/up +norm", 1024, 3584, true, true},
        {"0.8B down +resid", 3584, 1024, false, false},
        {"0.8B qkv +norm", 1024, 6144, false, true},
        {"0.8B ssm_out +resid", 2048, 1024, false, false},
        {"0.8B LM head +norm", 1024, 248320, false, true},
        {"9B gate/up +norm", 4096, 12288, true, true},
        {"9B down +resid", 12288, 4096, false, false},
        {"9B qkv +norm", 4096, 8192, false, true},
        {"27B gate/up +norm", 5120, 17408, true, true},
        {"27B down +resid", 17408, 5120, false, false},
        {"27B qkv +norm", 5120, 10240, false, true},
        {"27B LM head +norm", 5120, 248320, false, true},
    };
    for (DType t : gdn::all_dtypes) {   // every format gdn reads
        if (only != nullptr ? gdn::dtype_name(t) != only : quick && t == DType::f32) continue;
        for (const Shape& sh : shapes) {
            if (t == DType::f32 && sh.rows == 248320 && sh.cols == 5120) continue;  // 5 GB
            if (quick && (sh.cols < 4096 || sh.rows == 248320)) continue;
            try {
                bench_gemv(t, sh, 1, copy_gbs, stream);
            } catch (const std::exception& e) {
                std::printf("| %-5s | %-22s | error: %s\n", gdn::dtype_name(t).data(), sh.name, e.what());
            }
        }
    }
    if (quick || only != nullptr) {
        return 0;
    }
    for (DType t : {DType::q8_0, DType::q4_k}) {
        for (int s : {2, 4, 8}) {
            for (int i : {5, 6}) {
                try {
                    bench_gemv(t, shapes[i], s, copy_gbs, stream);
                } catch (const std::exception& e) {
                    std::printf("| %-5s | %-22s | error: %s\n", gdn::dtype_name(t).data(), shapes[i].name, e.what());
                }
            }
        }
    }
    std::printf("\n| sampling (vocab 248320)    | batch   |  time       |\n|---|---|---|\n");
    try {
        bench_sampling(stream);
    } catch (const std::exception& e) {
        std::printf("sampling error: %s\n", e.what());
    }
    return 0;
}

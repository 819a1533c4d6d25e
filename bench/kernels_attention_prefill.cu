// bench/kernels_attention_prefill.cu - causal prefill of one gated-attention layer
// (launch_attention_prefill: prep + flash attention): time per call, tokens/s and the
// attention FLOP rate against the card's float32 FMA peak (the kernel is SIMT float32), at
// T = 512 and 4096 from an empty cache and T = 512 and 64 after 4096 cached positions, for the
// Qwen3.5-0.8B (H=8, Hkv=2), 9B (16/4) and 27B (24/4) shapes and f16 / q8_0 / q4_0 caches.
//
// FLOPs counted: 4 * H * hd * sum_t (pos0 + t + 1) (q.k and p*v, causal keys only).
// Each call is timed inside a CUDA graph (bench_util graph_us_per_call).
#include <cstdio>
#include <vector>

#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/attention_prefill.cuh"

namespace {

using gdn::kernels::AttentionPrefillParams;
using gdn::kernels::KvRotation;
constexpr int kHd = gdn::kernels::kAttnHeadDim;

std::vector<float> host_random(size_t n, uint64_t seed) {
    std::vector<float> v(n);
    uint64_t s = seed;
    for (auto& x : v) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x = static_cast<float>((s >> 40) & 0xffffff) / 8388608.f - 1.f;
    }
    return v;
}

/// Microseconds per prefill call of n tokens at pos0.
template <class Kv>
double time_prefill(int h, int hkv, int n, int pos0, cudaStream_t stream) {
    const int width = 2 * h * kHd + 2 * hkv * kHd;
    const int max_ctx = pos0 + n;
    const size_t cache_bytes = size_t(max_ctx) * hkv * gdn::kernels::kv_row_bytes_v<Kv>;
    gdn::bench::DeviceAllocs mem;  // freed on return
    float* in = mem.alloc<float>(size_t(n) * width);
    const auto host = host_random(size_t(n) * width, 12345u + uint64_t(n));
    GDN_CUDA_CHECK(cudaMemcpy(in, host.data(), host.size() * 4, cudaMemcpyHostToDevice));
    float* norm = mem.alloc<float>(kHd);
    const std::vector<float> ones(kHd, 1.f);
    GDN_CUDA_CHECK(cudaMemcpy(norm, ones.data(), kHd * 4, cudaMemcpyHostToDevice));
    float* out = mem.alloc<float>(size_t(n) * h * kHd);
    int32_t* pos = mem.alloc<int32_t>(1);
    GDN_CUDA_CHECK(cudaMemcpy(pos, &pos0, 4, cudaMemcpyHostToDevice));
    uint8_t* kc = mem.alloc<uint8_t>(cache_bytes);
    uint8_t* vc = mem.alloc<uint8_t>(cache_bytes);
    uint8_t* ws = mem.alloc<uint8_t>(
        gdn::kernels::attention_prefill_workspace_bytes(n, h, hkv, kHd));

    AttentionPrefillParams p;
    p.n_tok = n;
    p.q_proj = in;
    p.k = in + 2 * h * kHd;
    p.v = in + 2 * h * kHd + hkv * kHd;
    p.q_stride = p.k_stride = p.v_stride = width;
    p.q_norm = norm;
    p.k_norm = norm;
    p.pos = pos;
    p.k_cache = kc;
    p.v_cache = vc;
    p.out = out;
    p.workspace = ws;
    p.n_head = h;
    p.n_head_kv = hkv;
    p.max_ctx = max_ctx;
    // One untimed call fills rows pos0..; rows below pos0 stay zero (finite).
    gdn::kernels::launch_attention_prefill<Kv, KvRotation::none>(p, stream);
    const double us = gdn::bench::graph_us_per_call(1, [&](int) {
        gdn::kernels::launch_attention_prefill<Kv, KvRotation::none>(p, stream);
    }, stream, n >= 2048 ? 5 : 20, 3);
    return us;
}

template <class Kv>
void rows(const char* model, const char* kv, int h, int hkv, double peak_gflops,
          cudaStream_t stream) {
    struct Case {
        int n, pos0;
    };
    for (const Case c : {Case{512, 0}, Case{4096, 0}, Case{512, 4096}, Case{64, 4096}}) {
        const double us = time_prefill<Kv>(h, hkv, c.n, c.pos0, stream);
        double keys = 0;
        for (int t = 0; t < c.n; ++t) keys += double(c.pos0 + t + 1);
        const double gflops = 4.0 * h * kHd * keys / (us * 1e-6) / 1e9;
        std::printf("| %s | %d/%d | %s | %d | %d | %d | %.1f | %.0f | %.0f | %.1f%% |\n", model, h,
                    hkv, kv, c.n, c.pos0, gdn::kernels::attention_prefill_splits(c.n, h, hkv), us,
                    c.n / (us * 1e-6), gflops, 100.0 * gflops / peak_gflops);
    }
}

}  // namespace

int main() {
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping the attention prefill benchmark\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev(/*measure_copy=*/false);
    const cudaDeviceProp& prop = dev.prop;
    cudaStream_t stream = dev.stream;
    int clock_khz = 0;
    GDN_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
    // 128 float32 lanes per SM on sm_80+/sm_90, 2 FLOP per FMA.
    const double peak = double(prop.multiProcessorCount) * 128 * 2 * clock_khz * 1e3 / 1e9;
    std::printf("attention_prefill benchmark on %s (%d SMs, %.0f MHz; float32 FMA peak %.0f "
                "GFLOP/s)\n\n",
                prop.name, prop.multiProcessorCount, clock_khz / 1e3, peak);
    std::printf("| model | H/Hkv | kv | T | pos0 | splits | us/call | tokens/s | GFLOP/s | %% fp32 peak |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    rows<gdn::f16>("Qwen3.5-0.8B", "f16", 8, 2, peak, stream);
    rows<gdn::q8_0>("Qwen3.5-0.8B", "q8_0", 8, 2, peak, stream);
    rows<gdn::f16>("Qwen3.5-9B", "f16", 16, 4, peak, stream);
    rows<gdn::f16>("Qwen3.5-27B", "f16", 24, 4, peak, stream);
    rows<gdn::q8_0>("Qwen3.5-27B", "q8_0", 24, 4, peak, stream);
    rows<gdn::q4_0>("Qwen3.5-27B", "q4_0", 24, 4, peak, stream);
    return 0;
}

// bench/kernels_attention.cu - gated-attention decode step (launch_attention_decode): time
// per call and KV-cache bandwidth against a measured device-to-device copy, at 4K/16K/64K
// context, batch 1 and 4, for the Qwen3.5-0.8B (H=8, Hkv=2) and 27B (H=24, Hkv=4) shapes and
// f16 / q8_0 / q4_0 caches.
//
// Each call is timed inside a CUDA graph that steps through enough layers (each with its own
// cache) that the working set exceeds 256 MB, so K/V come from HBM as in a real decode step.
// Bytes counted: the K and V rows visited, (pos+1) * Hkv * 2 * row_bytes per sequence.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/attention_decode.cuh"

namespace {

using gdn::kernels::AttentionDecodeParams;
using gdn::kernels::KvRotation;

/// Microseconds per call with every sequence at position ctx - 1.
template <class Kv>
double time_step(int h, int hkv, int n_seq, int ctx, cudaStream_t stream, int* layers_out) {
    constexpr int kHd = gdn::kernels::kAttnHeadDim;
    constexpr int kW = 256;
    const size_t cache_bytes =
        size_t(n_seq) * ctx * hkv * size_t(gdn::kernels::kv_row_bytes_v<Kv>);
    const int layers = int(std::clamp<size_t>((size_t(256) << 20) / (2 * cache_bytes) + 1, 1, 64));
    *layers_out = layers;

    gdn::bench::DeviceAllocs mem;  // freed on return
    float* q = mem.alloc<float>(size_t(n_seq) * 2 * h * kHd);
    float* k = mem.alloc<float>(size_t(n_seq) * hkv * kHd);
    float* v = mem.alloc<float>(size_t(n_seq) * hkv * kHd);
    float* norm = mem.alloc<float>(kHd);
    float* out = mem.alloc<float>(size_t(n_seq) * h * kHd);
    int32_t* pos = mem.alloc<int32_t>(size_t(n_seq));
    const std::vector<int32_t> host_pos(size_t(n_seq), ctx - 1);
    GDN_CUDA_CHECK(cudaMemcpy(pos, host_pos.data(), host_pos.size() * 4, cudaMemcpyHostToDevice));
    const size_t ws_bytes = gdn::kernels::attention_workspace_bytes(n_seq, h, hkv);
    uint8_t* ws = mem.alloc<uint8_t>(ws_bytes);
    std::vector<uint8_t*> caches;
    for (int l = 0; l < 2 * layers; ++l) caches.push_back(mem.alloc<uint8_t>(cache_bytes));

    AttentionDecodeParams p;
    p.q_proj = q; p.k = k; p.v = v; p.q_norm = norm; p.k_norm = norm; p.pos = pos;
    p.out = out; p.workspace = ws;
    p.n_seq = n_seq; p.n_head = h; p.n_head_kv = hkv; p.max_ctx = ctx;
    p.window_len = gdn::kernels::attention_window_len<kW>(ctx);

    const double us = gdn::bench::graph_us_per_call(layers, [&](int l) {
        p.k_cache = caches[size_t(2 * l)];
        p.v_cache = caches[size_t(2 * l + 1)];
        gdn::kernels::launch_attention_decode<kW, Kv, KvRotation::none>(p, stream);
    }, stream, std::max(5, 1000 / layers));
    return us;
}

template <class Kv>
void table(const char* model, const char* kv, int h, int hkv, double copy_gbs,
           cudaStream_t stream) {
    std::printf("\n%s  H=%d Hkv=%d  kv=%s\n", model, h, hkv, kv);
    std::printf("%6s %6s %7s %7s %10s %10s %8s\n", "n_seq", "ctx", "splits", "layers", "us/call",
                "KV GB/s", "% copy");
    for (int n_seq : {1, 4}) {
        for (int ctx : {4096, 16384, 65536}) {
            int layers = 0;
            const double us = time_step<Kv>(h, hkv, n_seq, ctx, stream, &layers);
            const double bytes =
                double(ctx) * hkv * 2.0 * gdn::kernels::kv_row_bytes_v<Kv> * n_seq;
            const double gbs = bytes / (us * 1e-6) / 1e9;
            std::printf("%6d %6d %7d %7d %10.2f %10.1f %7.1f%%\n", n_seq, ctx,
                        gdn::kernels::attention_split(ctx, n_seq, hkv).n_splits, layers, us, gbs,
                        100.0 * gbs / copy_gbs);
        }
    }
}

}  // namespace

int main() {
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping the attention decode benchmark\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev;
    const cudaDeviceProp& prop = dev.prop;
    cudaStream_t stream = dev.stream;
    const double copy_gbs = dev.copy_gbs;
    std::printf("attention_decode benchmark on %s (%d SMs); device-to-device copy: %.1f GB/s "
                "(read + write); KV GB/s counts K and V rows read once\n",
                prop.name, prop.multiProcessorCount, copy_gbs);
    table<gdn::f16>("Qwen3.5-0.8B", "f16", 8, 2, copy_gbs, stream);
    table<gdn::q8_0>("Qwen3.5-0.8B", "q8_0", 8, 2, copy_gbs, stream);
    table<gdn::f16>("Qwen3.5-27B", "f16", 24, 4, copy_gbs, stream);
    table<gdn::q8_0>("Qwen3.5-27B", "q8_0", 24, 4, copy_gbs, stream);
    table<gdn::q4_0>("Qwen3.5-27B", "q4_0", 24, 4, copy_gbs, stream);
    return 0;
}

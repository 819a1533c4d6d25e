// bench/kernels_deltanet.cu - DeltaNet decode step kernel: time per call and state bandwidth
// against a measured device-to-device copy, for batch 1..256 on Qwen3.5-0.8B (Hk=Hv=16),
// 4B/9B (Hk=16, Hv=32) and 27B (Hk=16, Hv=48) layer shapes, f32 and bf16 state, every kernel
// variant (8 warps with split 1/2/4, 4 warps; '*' marks the one the launcher's auto picks).
//
// Each call is timed inside a CUDA graph that steps through enough distinct layers (each with
// its own state) that the working set exceeds 256 MB, so the state comes from HBM as in a real
// decode step (a single layer's state would stay in the 50 MB L2 between replays).
// Bytes counted: the state only, 2 * Hv*dk*dv * sizeof(state) * n_seq per call (read + write).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/deltanet_step.cuh"

namespace {

using gdn::kernels::DeltaNetStepParams;

/// Microseconds per call of the step at this shape.
template <class StateT, bool UseWHT>
double time_step(int hk, int hv, int n_seq, int warps, int split, cudaStream_t stream, int* layers_out) {
    constexpr int kD = 128;
    const int64_t conv_dim = int64_t(2 * hk + hv) * kD;
    const size_t state_elems = size_t(n_seq) * hv * kD * kD;
    const size_t state_bytes = state_elems * sizeof(StateT);
    const int layers = int(std::clamp<size_t>((size_t(256) << 20) / state_bytes + 1, 1, 128));
    *layers_out = layers;

    gdn::bench::DeviceAllocs mem;  // freed on return
    float* qkv = mem.alloc<float>(size_t(n_seq * conv_dim));
    float* z = mem.alloc<float>(size_t(n_seq) * hv * kD);
    float* b = mem.alloc<float>(size_t(n_seq) * hv);
    float* a = mem.alloc<float>(size_t(n_seq) * hv);
    float* conv_w = mem.alloc<float>(size_t(conv_dim) * 4);
    float* dt = mem.alloc<float>(size_t(hv));
    float* ssm_a = mem.alloc<float>(size_t(hv));
    float* norm_w = mem.alloc<float>(kD);
    int32_t* pos = mem.alloc<int32_t>(size_t(n_seq));
    float* y = mem.alloc<float>(size_t(n_seq) * hv * kD);
    std::vector<float*> rings;
    std::vector<StateT*> states;
    for (int l = 0; l < layers; ++l) {
        rings.push_back(mem.alloc<float>(size_t(n_seq) * 4 * conv_dim));
        states.push_back(mem.alloc<StateT>(state_elems));
    }
    DeltaNetStepParams<StateT> p;
    p.n_seq = n_seq; p.n_k_heads = hk; p.n_v_heads = hv;
    p.qkv = qkv; p.z = z; p.b = b; p.a = a;
    p.conv_w = conv_w; p.dt_bias = dt; p.ssm_a = ssm_a; p.norm_w = norm_w;
    p.pos = pos; p.y = y;
    p.split = split;
    p.block_warps = warps;

    const double us = gdn::bench::graph_us_per_call(layers, [&](int l) {
        p.conv_ring = rings[size_t(l)];
        p.state = states[size_t(l)];
        gdn::kernels::launch_deltanet_step<StateT, UseWHT>(p, stream);
    }, stream, std::max(3, 2000 / layers));
    return us;
}

/// The variants of a table row: block_warps, split.
struct Variant {
    int warps, split;
    const char* name;
};
constexpr Variant kVariants[] = {{8, 1, "8 warps"}, {4, 1, "4 warps"}, {8, 2, "8w split 2"}, {8, 4, "8w split 4"}};

template <class StateT, bool UseWHT>
void table(const char* model, int hk, int hv, double copy_gbs, cudaStream_t stream) {
    std::printf("\n%s  Hk=%d Hv=%d  state=%s wht=%d   (us/call and %% of copy bandwidth; * = auto)\n",
                model, hk, hv, sizeof(StateT) == 4 ? "f32" : "bf16", int(UseWHT));
    std::printf("%6s %7s", "n_seq", "layers");
    for (const Variant& v : kVariants) std::printf(" | %18s", v.name);
    std::printf(" | %9s\n", "auto GB/s");
    for (int n_seq : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
        int layers = 0;
        const double bytes = 2.0 * double(hv) * 128 * 128 * sizeof(StateT) * n_seq;
        gdn::kernels::DeltaNetStepParams<StateT> q;
        q.n_seq = n_seq; q.n_k_heads = hk; q.n_v_heads = hv;
        const gdn::kernels::DeltaNetStepConfig autoc = gdn::kernels::deltanet_step_config(q);
        double auto_gbs = 0;
        std::string line;
        char buf[64];
        for (const Variant& v : kVariants) {
            // Splits spread a head over several SMs for small batches; past 16 sequences they
            // only repeat the prologue.
            if (v.split > 1 && n_seq > 16) {
                std::snprintf(buf, sizeof buf, " | %18s", "-");
                line += buf;
                continue;
            }
            const double us = time_step<StateT, UseWHT>(hk, hv, n_seq, v.warps, v.split, stream, &layers);
            const double gbs = bytes / (us * 1e-6) / 1e9;
            const bool is_auto = v.warps == autoc.warps && v.split == autoc.split;
            if (is_auto) auto_gbs = gbs;
            std::snprintf(buf, sizeof buf, " | %8.2f %7.1f%%%c", us, 100.0 * gbs / copy_gbs, is_auto ? '*' : ' ');
            line += buf;
        }
        std::printf("%6d %7d%s | %9.1f\n", n_seq, layers, line.c_str(), auto_gbs);
    }
}

}  // namespace

int main() {
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping the DeltaNet step benchmark\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev;
    const cudaDeviceProp& prop = dev.prop;
    cudaStream_t stream = dev.stream;
    const double copy_gbs = dev.copy_gbs;
    std::printf("deltanet_step benchmark on %s (%d SMs); device-to-device copy: %.1f GB/s "
                "(read + write)\n", prop.name, prop.multiProcessorCount, copy_gbs);
    table<float, false>("Qwen3.5-0.8B", 16, 16, copy_gbs, stream);
    table<float, false>("Qwen3.5-9B", 16, 32, copy_gbs, stream);
    table<float, false>("Qwen3.5-27B", 16, 48, copy_gbs, stream);
    table<float, true>("Qwen3.5-27B", 16, 48, copy_gbs, stream);
    table<__nv_bfloat16, false>("Qwen3.5-0.8B", 16, 16, copy_gbs, stream);
    table<__nv_bfloat16, false>("Qwen3.5-9B", 16, 32, copy_gbs, stream);
    table<__nv_bfloat16, false>("Qwen3.5-27B", 16, 48, copy_gbs, stream);
    return 0;
}

// bench/kernels_deltanet_prefill.cu - chunked DeltaNet prefill of one layer (one sequence):
// tokens/s at T = 512 and 4096 on Qwen3.5-0.8B (Hk=Hv=16), 4B/9B (16/32) and 27B (16/48) layer
// shapes, f32 and bf16 state, scan slices of 16 and 32 value columns, against T calls of the
// decode step (deltanet_step, graph-replayed) from the same start, with the share of each of
// the four kernels.
//
// The prefill is timed as one call inside a CUDA graph (bench_util graph_us_per_call); its
// state is small (1-3 MB) and stays in L2, as it would in a real prefill, where it is read once
// and written once. The bound here is compute, not bandwidth: the chunk and scan kernels do
// ~(3*dk*dv + 64*dv + 2*64*dk) FMA per token and value head in float32 SIMT, so the table prints
// that nominal work rate too (GFMA/s over the whole call).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "bench_util.cuh"
#include "gdn/kernels/deltanet_prefill.cuh"
#include "gdn/kernels/deltanet_step.cuh"

namespace {

using gdn::kernels::DeltaNetPrefillParams;
using gdn::kernels::DeltaNetStepParams;
constexpr int kD = 128;

__global__ void fill_random(float* x, size_t n, uint32_t seed, float lo, float hi) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        uint32_t h = uint32_t(i) * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u; h ^= h >> 16;
        x[i] = lo + (hi - lo) * float(h >> 8) * (1.f / 16777216.f);
    }
}

float* random_buffer(gdn::bench::DeviceAllocs& mem, size_t n, uint32_t seed, float lo, float hi) {
    float* p = mem.alloc<float>(n);
    fill_random<<<512, 256>>>(p, n, seed, lo, hi);
    GDN_CUDA_CHECK(cudaGetLastError());
    return p;
}

struct Row {
    double prefill_us = 0, step_us = 0;  // per call / per token
    double part_us[4] = {};               // prep, chunk, scan, norm (event-timed, one call)
};

/// One prefill of T tokens, with its pieces, and the step-by-step baseline per token.
template <class StateT>
Row measure(int hk, int hv, int n_tok, int slice, int threads, bool step_baseline, cudaStream_t stream) {
    const int64_t conv_dim = int64_t(2 * hk + hv) * kD;
    const int64_t width = conv_dim + int64_t(hv) * kD + 2 * hv;  // the fused projection row
    gdn::bench::DeviceAllocs mem;  // freed on return
    float* rows = mem.alloc<float>(size_t(n_tok) * size_t(width));
    fill_random<<<512, 256, 0, stream>>>(rows, size_t(n_tok) * size_t(width), 1, -1.5f, 1.5f);
    float* conv_w = random_buffer(mem, size_t(conv_dim) * 4, 2, -0.6f, 0.6f);
    float* dt_bias = random_buffer(mem, size_t(hv), 3, -5.f, -1.f);
    float* ssm_a = random_buffer(mem, size_t(hv), 4, -3.f, -0.2f);
    float* norm_w = random_buffer(mem, kD, 5, 0.5f, 1.5f);
    float* ring = random_buffer(mem, size_t(4) * conv_dim, 6, -1.f, 1.f);
    StateT* state = mem.alloc<StateT>(size_t(hv) * kD * kD);
    float* y = mem.alloc<float>(size_t(n_tok) * hv * kD);
    int32_t* pos = mem.alloc<int32_t>(size_t(n_tok));
    std::vector<int32_t> ph(static_cast<size_t>(n_tok));
    for (int t = 0; t < n_tok; ++t) ph[size_t(t)] = 7 + t;
    GDN_CUDA_CHECK(cudaMemcpy(pos, ph.data(), ph.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
    const size_t ws_bytes = gdn::kernels::deltanet_prefill_workspace_bytes(n_tok, hk, hv, kD, kD);
    void* ws = mem.alloc<unsigned char>(ws_bytes);

    DeltaNetPrefillParams<StateT> p;
    p.n_tok = n_tok; p.n_k_heads = hk; p.n_v_heads = hv; p.slice = slice; p.scan_threads = threads;
    p.qkv = rows; p.z = rows + conv_dim; p.b = rows + conv_dim + hv * kD; p.a = p.b + hv;
    p.qkv_stride = p.z_stride = p.b_stride = p.a_stride = width;
    p.conv_w = conv_w; p.dt_bias = dt_bias; p.ssm_a = ssm_a; p.norm_w = norm_w;
    p.pos = pos; p.conv_ring = ring; p.state = state; p.y = y; p.workspace = ws;

    Row r;
    r.prefill_us = gdn::bench::graph_us_per_call(1, [&](int) {
        gdn::kernels::launch_deltanet_prefill<StateT>(p, stream);
    }, stream, 10, 5);

    {  // the four kernels one by one, as the launcher enqueues them (its attributes are set)
        namespace d = gdn::kernels::deltanet_prefill_detail;
        const d::Args a = d::make_args(p);
        const d::Workspace w = d::carve(ws, n_tok, hk, hv);
        cudaEvent_t ev[5];
        for (auto& e : ev) GDN_CUDA_CHECK(cudaEventCreate(&e));
        for (int rep = 0; rep < 2; ++rep) {  // the second repetition is kept
            GDN_CUDA_CHECK(cudaEventRecord(ev[0], stream));
            gdn::kernels::deltanet_prefill_prep_kernel<false><<<w.t_pad, d::kThreads, 0, stream>>>(a, w);
            GDN_CUDA_CHECK(cudaEventRecord(ev[1], stream));
            gdn::kernels::deltanet_prefill_chunk_kernel<<<dim3(w.n_chunks, hv), d::kThreads,
                                                          d::kChunkSmemBytes, stream>>>(a, w);
            GDN_CUDA_CHECK(cudaEventRecord(ev[2], stream));
            if (slice == 32)
                gdn::kernels::deltanet_prefill_scan_kernel<StateT, 32, 2>
                    <<<hv * (kD / 32), 256, d::scan_smem_bytes(32), stream>>>(a, w, state);
            else if (threads == 128)
                gdn::kernels::deltanet_prefill_scan_kernel<StateT, 16, 2>
                    <<<hv * (kD / 16), 128, d::scan_smem_bytes(16), stream>>>(a, w, state);
            else
                gdn::kernels::deltanet_prefill_scan_kernel<StateT, 16, 1>
                    <<<hv * (kD / 16), 256, d::scan_smem_bytes(16), stream>>>(a, w, state);
            GDN_CUDA_CHECK(cudaEventRecord(ev[3], stream));
            gdn::kernels::deltanet_prefill_norm_kernel<<<n_tok, d::kThreads, 0, stream>>>(a);
            GDN_CUDA_CHECK(cudaEventRecord(ev[4], stream));
            GDN_CUDA_CHECK(cudaGetLastError());
            GDN_CUDA_CHECK(cudaEventSynchronize(ev[4]));
        }
        for (int i = 0; i < 4; ++i) {
            float ms = 0.f;
            GDN_CUDA_CHECK(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]));
            r.part_us[i] = double(ms) * 1e3;
        }
        for (auto& e : ev) GDN_CUDA_CHECK(cudaEventDestroy(e));
    }

    if (step_baseline) {
        DeltaNetStepParams<StateT> sp;
        sp.n_seq = 1; sp.n_k_heads = hk; sp.n_v_heads = hv;
        sp.conv_w = conv_w; sp.dt_bias = dt_bias; sp.ssm_a = ssm_a; sp.norm_w = norm_w;
        sp.conv_ring = ring; sp.state = state;
        r.step_us = gdn::bench::graph_us_per_call(n_tok, [&](int t) {
            sp.qkv = rows + t * width; sp.z = p.z + t * width; sp.b = p.b + t * width;
            sp.a = p.a + t * width; sp.pos = pos + t; sp.y = y + size_t(t) * hv * kD;
            gdn::kernels::launch_deltanet_step<StateT, false>(sp, stream);
        }, stream, 3, 3);
    }
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return r;
}

}  // namespace

int main() {
    if (!gdn::bench::have_device()) {
        std::printf("no CUDA device: skipping\n");
        return gdn::bench::k_skip;
    }
    const gdn::bench::BenchDevice dev(/*measure_copy=*/false);
    cudaStream_t stream = dev.stream;
    const int sms = dev.prop.multiProcessorCount;
    std::printf("## DeltaNet prefill, one layer, one sequence (%s, %d SMs)\n\n", dev.prop.name, sms);
    std::printf("tok/s = T / time of one launch_deltanet_prefill (graph-replayed); step tok/s = one\n"
                "deltanet_step per token (graph of T steps). GFMA/s counts the nominal float32 work\n"
                "T*Hv*(3*dk*dv + 64*dv + 2*64*dk) of the chunk and scan kernels.\n\n");
    std::printf("| model | Hk/Hv | T | state | scan cols/threads | ms | tok/s | GFMA/s | prep/chunk/scan/norm %% | step tok/s | speedup |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    struct Shape { const char* name; int hk, hv; };
    const Shape shapes[] = {{"0.8B", 16, 16}, {"4B/9B", 16, 32}, {"27B", 16, 48}};
    for (const Shape& s : shapes) {
        for (int st = 0; st < 2; ++st) {
            double step_us = 0;
            for (int n_tok : {512, 4096}) {
                for (const auto& [slice, threads] : {std::pair{16, 128}, std::pair{16, 256}, std::pair{32, 256}}) {
                    const bool base = n_tok == 512 && threads == 128;  // per-token step cost, once
                    const Row r = st == 0 ? measure<float>(s.hk, s.hv, n_tok, slice, threads, base, stream)
                                          : measure<__nv_bfloat16>(s.hk, s.hv, n_tok, slice, threads, base, stream);
                    if (base) step_us = r.step_us;
                    const double tok_s = n_tok / (r.prefill_us * 1e-6);
                    const double fma = double(n_tok) * s.hv * (3.0 * kD * kD + 64.0 * kD + 2.0 * 64 * kD);
                    const double parts = r.part_us[0] + r.part_us[1] + r.part_us[2] + r.part_us[3];
                    std::printf("| %s | %d/%d | %d | %s | %d/%d | %.3f | %.3g | %.0f | %.0f/%.0f/%.0f/%.0f | %.3g | %.1fx |\n",
                                s.name, s.hk, s.hv, n_tok, st == 0 ? "f32" : "bf16", slice, threads,
                                r.prefill_us * 1e-3, tok_s, fma / (r.prefill_us * 1e-6) / 1e9,
                                100 * r.part_us[0] / parts, 100 * r.part_us[1] / parts,
                                100 * r.part_us[2] / parts, 100 * r.part_us[3] / parts,
                                1e6 / step_us, tok_s / (1e6 / step_us));
                }
            }
        }
    }
    std::printf("\nauto slice on this card:");
    for (int hv : {16, 32, 48}) {
        DeltaNetPrefillParams<float> q;
        q.n_v_heads = hv;
        const int w = gdn::kernels::deltanet_prefill_slice(q);
        std::printf(" Hv=%d -> %d/%d", hv, w, gdn::kernels::deltanet_prefill_scan_threads(q, w));
    }
    std::printf("\n");
    return 0;
}

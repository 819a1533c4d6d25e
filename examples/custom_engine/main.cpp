// custom_engine: the smallest engine built on gdn. It declares its own layer schedule as a
// type, builds a random model of that schedule in memory, decodes greedily on the CPU
// reference and, when built with CUDA and a device is present, on the GPU, and checks that
// both give the same logits at every position. Exit 0: they agree (or no GPU); 1: they don't.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gdn/gdn.hpp"
#ifndef GDN_WITH_CUDA
#define GDN_WITH_CUDA 0
#endif
#if GDN_WITH_CUDA
#include "gdn/schedule/decoder.cuh"
#endif

// The schedule: 8 layers, every 4th is attention (as ModelConfig::full_attention_interval
// says); q8_0 projections; the first DeltaNet of each group rotates q/k by the WHT; attention
// keeps an f16 KV cache and re-captures its CUDA graph every 64 positions.
using MyModel = gdn::Model<gdn::Repeat<2, gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_on>, gdn::DeltaNetBlock<gdn::q8_0>,
                                       gdn::DeltaNetBlock<gdn::q8_0>,
                                       gdn::AttnBlock<gdn::fa_window<64>, gdn::kv_f16>>>;
static_assert(MyModel::n_layers == 8 && MyModel::n_attention == 2);
// embedding + LM head + argmax + advance, then 3 mixer + 2 MLP launches per layer.
static_assert(MyModel::launches_per_step == 4 + 8 * (3 + 2));

namespace {

// Owns the bytes of the tensors; ModelWeights keeps it alive through `storage`.
struct Store {
    std::deque<std::vector<std::byte>> blobs;
    std::mt19937 rng{1234};

    // A [cols, rows] tensor (ggml order: row r = output r) of uniform values in [lo, hi).
    gdn::TensorView add(const std::string& name, int64_t cols, int64_t rows, float lo, float hi,
                        gdn::DType type = gdn::DType::f32) {
        std::uniform_real_distribution<float> u(lo, hi);
        std::vector<float> row(static_cast<size_t>(cols));
        const int64_t row_bytes = gdn::dtype_row_bytes(type, cols);
        auto& blob = blobs.emplace_back(static_cast<size_t>(row_bytes * rows));
        for (int64_t r = 0; r < rows; ++r) {
            for (float& x : row) x = u(rng);
            gdn::quant::quantize_row(type, row.data(), blob.data() + r * row_bytes, cols);
        }
        gdn::TensorView t;
        t.name = name;
        t.type = type;
        t.ne = {cols, rows, 1, 1};
        t.n_dims = rows == 1 ? 1 : 2;
        t.data = blob.data();
        return t;
    }
    // A q8_0 matrix [in, out], scaled so outputs stay O(1).
    gdn::TensorView matrix(const std::string& name, int64_t in, int64_t out) {
        const float s = std::sqrt(3.f / static_cast<float>(in));
        return add(name, in, out, -s, s, gdn::DType::q8_0);
    }
    gdn::TensorView vec(const std::string& name, int64_t n, float lo, float hi) { return add(name, n, 1, lo, hi); }
};

gdn::ModelWeights random_model() {
    gdn::ModelConfig c;  // real head shapes, small width and vocab
    c.n_vocab = 512, c.n_embd = 256, c.n_layer = MyModel::n_layers, c.n_ff = 512;
    c.full_attention_interval = 4;
    c.ssm_n_k_heads = 2, c.ssm_n_v_heads = 4, c.ssm_d_k = 128, c.ssm_d_v = 128, c.ssm_conv_kernel = 4;
    c.n_head = 4, c.n_head_kv = 1, c.head_dim = 256, c.n_rot = 64;  // GQA group 4
    c.tied_embeddings = false;
    c.validate();

    auto s = std::make_shared<Store>();
    const int64_t e = c.n_embd, hv = c.ssm_n_v_heads, vd = hv * c.ssm_d_v, cd = c.ssm_conv_dim();
    gdn::ModelWeights w;
    w.config = c;
    w.tok_embd = s->add("token_embd.weight", e, c.n_vocab, -1.f, 1.f, gdn::DType::q8_0);
    // Untied LM head: with random tied weights each token's own embedding would dominate
    // its logits and greedy decoding would repeat one token forever.
    w.output = s->matrix("output.weight", e, c.n_vocab);
    w.output_norm = s->vec("output_norm.weight", e, 0.8f, 1.2f);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        gdn::LayerWeights l;
        l.is_attention = c.is_attention(i);
        l.attn_norm = s->vec(p + "attn_norm.weight", e, 0.8f, 1.2f);  // GGUF norms hold the "+1"
        l.post_attn_norm = s->vec(p + "post_attention_norm.weight", e, 0.8f, 1.2f);
        if (l.is_attention) {
            gdn::AttnWeights& a = l.attn;
            const int64_t hd = c.head_dim;
            a.q = s->matrix(p + "attn_q.weight", e, 2 * c.n_head * hd);  // per head: query | gate
            a.k = s->matrix(p + "attn_k.weight", e, c.n_head_kv * hd);
            a.v = s->matrix(p + "attn_v.weight", e, c.n_head_kv * hd);
            a.q_norm = s->vec(p + "attn_q_norm.weight", hd, 0.8f, 1.2f);
            a.k_norm = s->vec(p + "attn_k_norm.weight", hd, 0.8f, 1.2f);
            a.out = s->matrix(p + "attn_output.weight", c.n_head * hd, e);
        } else {
            gdn::DeltaNetWeights& d = l.deltanet;
            d.qkv = s->matrix(p + "attn_qkv.weight", e, cd);  // q | k | v
            d.z = s->matrix(p + "attn_gate.weight", e, vd);
            d.beta = s->matrix(p + "ssm_beta.weight", e, hv);
            d.alpha = s->matrix(p + "ssm_alpha.weight", e, hv);
            d.conv = s->add(p + "ssm_conv1d.weight", c.ssm_conv_kernel, cd, -0.5f, 0.5f);  // [kernel, conv_dim]
            d.dt_bias = s->vec(p + "ssm_dt.bias", hv, -1.f, 1.f);
            d.ssm_a = s->vec(p + "ssm_a", hv, -0.5f, -0.1f);  // -exp(A_log): must be negative
            d.ssm_norm = s->vec(p + "ssm_norm.weight", c.ssm_d_v, 0.8f, 1.2f);
            d.out = s->matrix(p + "ssm_out.weight", vd, e);
        }
        l.mlp.gate = s->matrix(p + "ffn_gate.weight", e, c.n_ff);
        l.mlp.up = s->matrix(p + "ffn_up.weight", e, c.n_ff);
        l.mlp.down = s->matrix(p + "ffn_down.weight", c.n_ff, e);
        w.layers.push_back(std::move(l));
    }
    w.storage = s;
    return w;
}

int32_t argmax(const std::vector<float>& v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Largest minus second-largest logit: how firmly greedy decoding picks its token.
float top2_gap(std::vector<float> v) {
    std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<>());
    return v[0] - v[1];
}

bool cuda_device_present() {
#if GDN_WITH_CUDA
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
#else
    return false;
#endif
}

}  // namespace

int main() try {
    const gdn::ModelWeights weights = random_model();
    const std::vector<int32_t> prompt = {1, 17, 256, 511};
    const int n_gen = 72;  // crosses the 64-position attention window: the GPU graph is re-captured once

    // CPU reference: the prompt, then greedy decoding. Keep every position's logits.
    gdn::ref::Decoder<MyModel> cpu(weights);  // validates the weights against MyModel
    std::vector<int32_t> tokens = prompt;     // the input token of every position
    std::vector<std::vector<float>> cpu_logits;
    for (size_t i = 0; i < prompt.size() + n_gen - 1; ++i) {
        const auto out = cpu.step(tokens[i]);
        cpu_logits.emplace_back(out.begin(), out.end());
        GDN_CHECK(std::all_of(out.begin(), out.end(), [](float x) { return std::isfinite(x); }),
                  "CPU logits of position ", i, " are not finite");
        if (i + 1 >= prompt.size()) tokens.push_back(argmax(cpu_logits.back()));
    }
    float min_gap = INFINITY;
    for (const auto& l : cpu_logits) min_gap = std::min(min_gap, top2_gap(l));
    std::printf("CPU greedy:");
    for (size_t i = prompt.size(); i < tokens.size(); ++i) std::printf(" %d", tokens[i]);
    std::printf("\nCPU: %zu positions, smallest top-2 logit gap %.3g\n", cpu_logits.size(), min_gap);

    if (!cuda_device_present()) {
        std::printf("GPU part skipped: no CUDA device\n");
        return 0;
    }
#if GDN_WITH_CUDA
    // GPU: feed the same input tokens so each position's logits can be compared, even where
    // a near tie might let the GPU's own greedy choice differ.
    gdn::cuda::DecoderOptions opt;
    opt.max_ctx = static_cast<int>(tokens.size());
    gdn::cuda::Decoder<MyModel> gpu(weights, opt);  // window, KV format and WHT come from MyModel
    double max_rel = 0.0;
    int mismatches = 0;
    for (size_t i = 0; i < cpu_logits.size(); ++i) {
        gpu.eval(tokens[i]);
        const std::vector<float> g = gpu.logits();
        const std::vector<float>& r = cpu_logits[i];
        double diff = 0.0, ref = 0.0;  // relative L2 error of the logits of position i
        for (size_t v = 0; v < r.size(); ++v) {
            diff += (static_cast<double>(g[v]) - r[v]) * (static_cast<double>(g[v]) - r[v]);
            ref += static_cast<double>(r[v]) * r[v];
        }
        max_rel = std::max(max_rel, std::sqrt(diff / ref));
        if (gpu.next_token() != argmax(r) && top2_gap(r) > 1e-2f) {
            std::printf("position %zu: GPU picks %d, CPU %d\n", i, gpu.next_token(), argmax(r));
            ++mismatches;
        }
    }
    std::printf("GPU vs CPU over %zu positions: max relative L2 error of the logits %.3g (limit 1e-3), "
                "%d greedy mismatches\n", cpu_logits.size(), max_rel, mismatches);
    if (max_rel > 1e-3 || mismatches > 0) {
        std::printf("GPU and CPU disagree\n");
        return 1;
    }
    std::printf("GPU and CPU agree (%d launches per step)\n", gpu.launches_per_step());
#endif
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "custom_engine: %s\n", e.what());
    return 1;
}

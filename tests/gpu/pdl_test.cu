// Programmatic dependent launch (kernels/launch.cuh): a decode step captured with PDL edges
// must compute exactly what the same step in plain stream order computes. Every kernel of
// the decode step that launch_kernel enqueues (embedding, both GEMV kernels, the DeltaNet
// step, attention decode, argmax / sampling, the step bookkeeping) runs here, in graphs and eagerly, at
// batch 1 (tensor-core GEMV) and batch 3 (CUDA-core GEMV), greedy and sampled. A kernel that
// touched its predecessor's output before pdl_wait() would read stale or half-written data:
// the ids and the logits would drift from the plain-order run.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <vector>

#include "../cpu/ref/ref_test_util.hpp"
#include "gdn/kernels/launch.cuh"
#include "gdn/schedule/decoder.cuh"

namespace {

using gdn::DType;
using gdn::ModelConfig;

struct Run {
    std::vector<int32_t> ids;
    std::vector<float> logits;  // every sequence's last logits, concatenated
};

Run decode(const gdn::ModelWeights& w, const gdn::cuda::DecoderOptions& o, bool pdl, int steps) {
    gdn::kernels::set_pdl(pdl);
    gdn::cuda::RuntimeDecoder dec(w, o);
    for (int s = 0; s < o.batch; ++s) dec.prefill(s, gdn::test::random_tokens(17 + 5 * s, w.config.n_vocab, 40 + s));
    Run r;
    r.ids = dec.generate(steps);
    for (int s = 0; s < o.batch; ++s) {
        const auto l = dec.logits(s);
        r.logits.insert(r.logits.end(), l.begin(), l.end());
    }
    gdn::kernels::set_pdl(true);
    return r;
}

}  // namespace

TEST_CASE("PDL decode steps equal plain stream order bit for bit", "[pdl]") {
    const ModelConfig c = gdn::test::real_heads_config(4, 2, gdn::HeadOrder::tiled);
    const gdn::ModelWeights w = gdn::test::random_model(c, 31, DType::q8_0);
    int dev = 0, major = 0;
    REQUIRE(cudaGetDevice(&dev) == cudaSuccess);
    REQUIRE(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess);
    gdn::kernels::set_pdl(true);
    std::printf("device compute capability %d.x: PDL %s\n", major, gdn::kernels::pdl_enabled() ? "on" : "off");
    for (const int batch : {1, 3}) {
        for (const bool graph : {true, false}) {
            for (const bool sampled : {false, true}) {
                gdn::cuda::DecoderOptions o;
                o.max_ctx = 400;
                o.batch = batch;
                o.use_graph = graph;
                if (sampled) o.sampling = {.temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .seed = 7};
                const int steps = graph ? 300 : 60;
                const Run plain = decode(w, o, false, steps);
                const Run pdl = decode(w, o, true, steps);
                const bool ids_same = plain.ids == pdl.ids;
                const bool logits_same = plain.logits.size() == pdl.logits.size() &&
                                         std::memcmp(plain.logits.data(), pdl.logits.data(),
                                                     plain.logits.size() * sizeof(float)) == 0;
                std::printf("batch %d %s %s, %d steps: PDL vs plain order ids identical %s, last logits "
                            "bit-identical %s\n", batch, graph ? "graph" : "eager", sampled ? "sampled" : "greedy",
                            steps, ids_same ? "yes" : "no", logits_same ? "yes" : "no");
                CHECK(plain.ids.size() == static_cast<size_t>(steps * batch));
                CHECK(ids_same);
                CHECK(logits_same);
            }
        }
    }
}

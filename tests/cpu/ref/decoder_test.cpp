// RuntimeDecoder on a tiny random model (real head sizes): it runs, reset() reproduces,
// WHT layers give the same logits, and bad input raises gdn::Error naming what.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gdn/ref/decoder.hpp"
#include "naive.hpp"
#include "ref_test_util.hpp"

using namespace gdn;
using gdn::test::max_abs_diff;

namespace {
const std::vector<int32_t> kTokens = {3, 17, 52, 0, 9, 9, 41, 26, 5, 33, 12, 50};
}

TEST_CASE("RuntimeDecoder runs a tiny model, reset() reproduces the logits", "[ref][decoder]") {
    const ModelWeights w = test::random_model(test::tiny_config(1, 2), 5);
    ref::RuntimeDecoder dec(w, {.max_ctx = 32});
    std::vector<std::vector<float>> first;
    for (int32_t t : kTokens) {
        const auto logits = dec.step(t);
        REQUIRE(logits.size() == size_t(w.config.n_vocab));
        for (float v : logits) REQUIRE(std::isfinite(v));
        first.emplace_back(logits.begin(), logits.end());
    }
    CHECK(dec.position() == int64_t(kTokens.size()));
    CHECK(max_abs_diff(first[0], first[1]) > 1e-3);
    CHECK(test::max_abs<float>(dec.deltanet_state(0)) > 0.0);
    CHECK(test::max_abs<float>(dec.conv_state(1)) > 0.0);
    CHECK(test::max_abs<float>(dec.k_cache(3)) > 0.0);
    const float* state_addr = dec.deltanet_state(0).data();
    dec.reset();
    CHECK(dec.position() == 0);
    CHECK(test::max_abs<float>(dec.deltanet_state(0)) == 0.0);
    for (size_t i = 0; i < kTokens.size(); ++i) {
        const auto logits = dec.step(kTokens[i]);
        REQUIRE(max_abs_diff(logits, first[i]) == 0.0);
    }
    CHECK(dec.deltanet_state(0).data() == state_addr);
}

TEST_CASE("RuntimeDecoder matches a naive float64 model over 40 steps, both head orders", "[ref][decoder]") {
    for (HeadOrder order : {HeadOrder::grouped, HeadOrder::tiled}) {
        ModelConfig c = test::tiny_config(2, 3, order);
        c.n_layer = 8;  // two DeltaNet/attention groups
        c.tied_embeddings = order == HeadOrder::tiled;
        const ModelWeights w = test::random_model(c, 8);
        ref::RuntimeDecoder dec(w, {.max_ctx = 40});
        test::NaiveModel naive(w);
        test::Rng r(9);
        double worst = 0, max_l = 0;
        for (int t = 0; t < 40; ++t) {
            const auto tok = static_cast<int32_t>(r.uniform(0.f, float(c.n_vocab) - 0.01f));
            const auto got = dec.step(tok);
            const auto want = naive.step(tok);
            worst = std::max(worst, max_abs_diff(got, want));
            max_l = std::max(max_l, test::max_abs<double>(want));
        }
        WARN("decoder vs naive model (" << (order == HeadOrder::grouped ? "grouped" : "tiled")
             << "): max abs logit err " << worst << " (max |logit| " << max_l << ")");
        CHECK(worst < 1e-4 * max_l);
    }
}

TEST_CASE("RuntimeDecoder with WHT on every DeltaNet layer gives the same logits", "[ref][decoder][wht]") {
    const ModelConfig c = test::tiny_config(2, 2);
    const ModelWeights w = test::random_model(c, 6);
    ref::RuntimeDecoder plain(w, {.max_ctx = 16});
    std::vector<bool> flags(size_t(c.n_layer));
    for (int64_t i = 0; i < c.n_layer; ++i) flags[size_t(i)] = !c.is_attention(i);
    ref::RuntimeDecoder rotated(w, {.max_ctx = 16, .wht = flags});
    double worst = 0, max_l = 0;
    for (int32_t t : kTokens) {
        const auto a = plain.step(t);
        const auto b = rotated.step(t);
        worst = std::max(worst, max_abs_diff(a, b));
        max_l = std::max(max_l, test::max_abs<float>(a));
    }
    WARN("decoder WHT vs plain: max abs logit diff " << worst << " (max |logit| " << max_l << ")");
    CHECK(worst < 1e-4 * max_l);
    CHECK(max_abs_diff(plain.deltanet_state(0), rotated.deltanet_state(0)) > 1e-3);
    CHECK(rotated.wht(0));
    CHECK_FALSE(plain.wht(0));
}

namespace {
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const gdn::Error& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("RuntimeDecoder errors name what is wrong", "[ref][decoder][errors]") {
    const ModelWeights w = test::random_model(test::tiny_config(1, 2), 7);
    ref::RuntimeDecoder dec(w, {.max_ctx = 3});
    using Catch::Matchers::Contains;
    CHECK_THAT(error_of([&] { dec.step(53); }), Contains("token id 53") && Contains("out of range"));
    CHECK_THAT(error_of([&] { dec.step(-1); }), Contains("token id -1"));
    CHECK(dec.position() == 0);
    dec.step(1);
    dec.step(2);
    dec.step(3);
    CHECK_THAT(error_of([&] { dec.step(4); }), Contains("context overflow") && Contains("max_ctx = 3"));
    CHECK_THAT(error_of([&] { (void)dec.k_cache(0); }), Contains("layer 0 is a DeltaNet layer"));
    CHECK_THAT(error_of([&] { (void)dec.deltanet_state(3); }), Contains("layer 3 is an attention layer"));
    CHECK_THAT(error_of([&] { (void)dec.conv_state(4); }), Contains("layer 4 out of range"));

    ModelWeights bad = w;
    bad.layers[1].deltanet.z.ne[1] -= 1;
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(bad, {}); }),
               Contains("layer 1 deltanet.z") && Contains("blk.1.attn_gate") && Contains("expected [64, 256]"));
    bad = w;
    bad.layers[3].attn.k_norm = {};
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(bad, {}); }), Contains("layer 3 attn.k_norm") && Contains("missing"));
    bad = w;
    bad.layers.pop_back();
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(bad, {}); }), Contains("3 layers") && Contains("n_layer = 4"));
    bad = w;
    bad.layers[2].is_attention = true;
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(bad, {}); }), Contains("layer 2: weights are attention"));
    bad = w;
    bad.output.type = static_cast<DType>(77);
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(bad, {}); }), Contains("output (LM head)") && Contains("unsupported dtype id 77"));
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(w, {.max_ctx = 8, .wht = {true, false}}); }),
               Contains("2 WHT flags given for 4 layers"));
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(w, {.max_ctx = 8, .wht = {false, false, false, true}}); }),
               Contains("WHT requested for layer 3") && Contains("attention"));
    CHECK_THAT(error_of([&] { ref::RuntimeDecoder d(w, {.max_ctx = 0}); }), Contains("max_ctx must be positive"));
}

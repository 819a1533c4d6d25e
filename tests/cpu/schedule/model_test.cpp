// Model<Repeat<...>> flattening and counts, for_each_layer, validate() against weights
// (kinds, projection dtypes, shapes) and ref::Decoder<Model> on a tiny random model.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "../ref/ref_test_util.hpp"
#include "gdn/schedule/model.hpp"
#include "gdn/schedule/ref_decoder.hpp"

using namespace gdn;

// DESIGN.md's spelling.
using Qwen35_0_8B = gdn::Model<gdn::Repeat<6, gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>,
                                           gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>,
                                           gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>,
                                           gdn::AttnBlock<gdn::fa_window<256>, gdn::kv_q8_0>>>;
static_assert(Qwen35_0_8B::n_layers == 24);
static_assert(Qwen35_0_8B::n_deltanet == 18 && Qwen35_0_8B::n_attention == 6);
static_assert(std::is_same_v<Qwen35_0_8B::layer<0>,
                             Layer<DeltaNetBlock<q8_0, wht_off>, MlpBlock<q8_0>>>);
static_assert(std::is_same_v<Qwen35_0_8B::layer<23>,
                             Layer<AttnBlock<fa_window<256>, kv_q8_0, any_format>, MlpBlock<any_format>>>);
static_assert(Qwen35_0_8B::layer<7>::kind == LayerKind::attention);
static_assert(Qwen35_0_8B::layer<8>::kind == LayerKind::deltanet);
static_assert(Qwen35_0_8B::layer<23>::mixer::window == 256);

// Mixed entries: nested Repeat, explicit Layer<>, WHT on some layers.
using Mixed = Model<DeltaNetBlock<q4_k, wht_on>,
                    Repeat<2, Repeat<2, DeltaNetBlock<q6_k>>, Layer<AttnBlock<fa_window<16>, kv_f16, q8_0>, MlpBlock<q6_k>>>,
                    Layer<DeltaNetBlock<bf16, wht_on>, MlpBlock<f16>>>;
static_assert(Mixed::n_layers == 1 + 2 * 3 + 1);
static_assert(Mixed::n_deltanet == 6 && Mixed::n_attention == 2);
static_assert(std::is_same_v<Mixed::layer<3>::mlp, MlpBlock<q6_k>>);
static_assert(std::is_same_v<Mixed::layer<4>::mixer, DeltaNetBlock<q6_k, wht_off>>);
static_assert(std::is_same_v<Mixed::layer<7>::mlp, MlpBlock<f16>>);
static_assert(Mixed::wht[0] && !Mixed::wht[1] && !Mixed::wht[3] && Mixed::wht[7]);

// for_each_layer works in constant expressions.
constexpr int count_attention_after_deltanet() {
    int n = 0;
    LayerKind prev = LayerKind::attention;
    Mixed::for_each_layer([&](auto, auto t) {
        using L = typename decltype(t)::type;
        if (L::kind == LayerKind::attention && prev == LayerKind::deltanet) ++n;
        prev = L::kind;
    });
    return n;
}
static_assert(count_attention_after_deltanet() == 2);

TEST_CASE("for_each_layer visits every layer in order with its index", "[schedule][model]") {
    std::vector<int> idx;
    std::vector<std::string> names;
    Mixed::for_each_layer([&](auto i, auto t) {
        using L = typename decltype(t)::type;
        idx.push_back(i.value);
        names.push_back(L::describe());
    });
    REQUIRE(idx == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(names[0] == "Layer<DeltaNetBlock<q4_k, wht_on>, MlpBlock<q4_k>>");
    CHECK(names[3] == "Layer<AttnBlock<fa_window<16>, kv_f16, q8_0>, MlpBlock<q6_k>>");
    CHECK(Mixed::wht_flags() == std::vector<bool>{true, false, false, false, false, false, false, true});
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

// The tiny test model: 3 DeltaNet layers then 1 attention layer.
template <class Q, class W = wht_off>
using Tiny = Model<Repeat<1, DeltaNetBlock<Q, W>, DeltaNetBlock<Q, W>, DeltaNetBlock<Q, W>,
                          AttnBlock<fa_window<16>, kv_q8_0, Q>>>;
}  // namespace

TEST_CASE("Model::validate accepts matching weights and names the first mismatch", "[schedule][validate]") {
    using Catch::Matchers::Contains;
    const ModelWeights w = test::random_model(test::tiny_config(1, 2), 41, DType::q8_0);
    CHECK_NOTHROW(Tiny<q8_0>::validate(w));
    CHECK_NOTHROW(Tiny<any_format>::validate(w));
    CHECK_THAT(error_of([&] { Tiny<q4_k>::validate(w); }),
               Contains("layer 0 (DeltaNetBlock<q4_k, wht_off>)") && Contains("deltanet.qkv") &&
                   Contains("blk.0.attn_qkv") && Contains("is q8_0") && Contains("declares q4_k"));

    ModelWeights bad = w;
    bad.layers[3].attn.v.type = DType::f16;
    CHECK_THAT(error_of([&] { Tiny<q8_0>::validate(bad); }),
               Contains("layer 3 (AttnBlock<fa_window<16>, kv_q8_0, q8_0>)") && Contains("attn.v") &&
                   Contains("is f16") && Contains("declares q8_0"));
    bad = w;
    bad.layers[2].mlp.down.type = DType::q4_0;
    CHECK_THAT(error_of([&] { Tiny<q8_0>::validate(bad); }),
               Contains("layer 2 (MlpBlock<q8_0>)") && Contains("mlp.down") && Contains("is q4_0"));

    using WrongKinds = Model<Repeat<2, DeltaNetBlock<q8_0>, AttnBlock<fa_window<16>, kv_f16>>>;
    CHECK_THAT(error_of([&] { WrongKinds::validate(w); }),
               Contains("layer 1: the model declares AttnBlock") && Contains("weights hold a DeltaNet layer"));
    CHECK_THAT(error_of([&] { Qwen35_0_8B::validate(w); }),
               Contains("declares 24 layers") && Contains("hold 4"));

    bad = w;
    bad.layers[1].deltanet.ssm_a.ne[0] = 3;  // a shape error, found by the shape pass
    CHECK_THAT(error_of([&] { Tiny<q8_0>::validate(bad); }), Contains("layer 1 deltanet.ssm_a"));
}

TEST_CASE("ref::Decoder<Model> runs with the Model's WHT flags and equals RuntimeDecoder", "[schedule][decoder]") {
    const ModelWeights w = test::random_model(test::tiny_config(2, 2), 42, DType::q8_0);
    ref::Decoder<Tiny<q8_0>> typed(w, {.max_ctx = 16});
    ref::Decoder<Tiny<q8_0, wht_on>> rotated(w, {.max_ctx = 16});
    ref::RuntimeDecoder plain(w, {.max_ctx = 16});
    CHECK(rotated.wht(0));
    CHECK_FALSE(typed.wht(0));
    double worst = 0, max_l = 0;
    for (int32_t t : {5, 1, 44, 9, 9, 30, 2, 17}) {
        const auto a = plain.step(t);
        const auto b = typed.step(t);
        REQUIRE(test::max_abs_diff(a, b) == 0.0);
        const auto c = rotated.step(t);
        worst = std::max(worst, test::max_abs_diff(a, c));
        max_l = std::max(max_l, test::max_abs<float>(a));
    }
    WARN("Decoder<Tiny<q8_0, wht_on>> vs plain: max abs logit diff " << worst << " (max |logit| " << max_l << ")");
    CHECK(worst < 1e-4 * max_l);

    using Catch::Matchers::Contains;
    CHECK_THAT(error_of([&] { ref::Decoder<Tiny<q4_0>> d(w); }), Contains("declares q4_0"));
    CHECK_THAT(error_of([&] { ref::Decoder<Tiny<q8_0>> d(w, {.max_ctx = 4, .wht = {true}}); }),
               Contains("leave DecoderOptions::wht empty"));
}

// Whole-model parity: the GGUF loader + gdn::ref::RuntimeDecoder, one token at a time,
// against transformers' Qwen3_5ForCausalLM logits for every position (float64 on the CPU,
// see tools/make_fixtures.py). Tolerance: relative L2 per position < 1e-4 and the same
// argmax (near ties within the row's own error excepted and counted).
#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

#include "gdn/io/qwen35.hpp"
#include "gdn/ref/decoder.hpp"
#include "parity_util.hpp"

namespace {

constexpr double kParityTol = 1e-4;

gdn::test::SeqCompare decode_and_compare(const gdn::ModelWeights& w, const gdn::test::Fixture& f,
                                         std::vector<float>* all_logits = nullptr) {
    gdn::ref::RuntimeDecoder dec(w, {.max_ctx = f.n_tokens()});
    gdn::test::SeqCompare s;
    for (int64_t t = 0; t < f.n_tokens(); ++t) {
        const std::span<const float> got = dec.step(f.tokens[static_cast<size_t>(t)]);
        REQUIRE(static_cast<int64_t>(got.size()) == f.n_vocab);
        s.add(t, gdn::test::compare_row(got, f.row(t)));
        if (all_logits != nullptr) all_logits->insert(all_logits->end(), got.begin(), got.end());
    }
    return s;
}

}  // namespace

TEST_CASE("reference decoder matches transformers on every fixture", "[parity]") {
    const std::string name = GENERATE(from_range(gdn::test::parity_fixture_names()));
    const gdn::test::Fixture f = gdn::test::load_fixture(name);
    const gdn::ModelWeights w = gdn::io::load_qwen35(f.gguf);
    REQUIRE(w.config.n_vocab == f.n_vocab);
    REQUIRE(w.config.v_head_order == gdn::HeadOrder::tiled);

    const gdn::test::SeqCompare s = decode_and_compare(w, f);
    std::printf("parity %-26s %lld tokens: max rel L2 %.3e (position %lld), argmax mismatches %lld, "
                "near ties %lld\n",
                name.c_str(), static_cast<long long>(f.n_tokens()), s.max_rel_l2,
                static_cast<long long>(s.worst_pos), static_cast<long long>(s.argmax_mismatches),
                static_cast<long long>(s.near_ties));
    INFO(name << ": max rel L2 " << s.max_rel_l2 << " at position " << s.worst_pos
              << "; first argmax mismatch at " << s.first_mismatch);
    CHECK(s.max_rel_l2 < kParityTol);
    CHECK(s.argmax_mismatches == 0);
}

TEST_CASE("reference decoder matches transformers on the mixture-of-experts fixtures", "[parity][moe]") {
    // Same tolerance as the dense fixtures; the generator keeps every top-k router decision at
    // least 0.05 logits from a tie, so the float32 reference routes as transformers does.
    const std::string name = GENERATE(from_range(gdn::test::moe_parity_fixture_names()));
    const gdn::test::Fixture f = gdn::test::load_fixture(name);
    const gdn::ModelWeights w = gdn::io::load_qwen35(f.gguf);
    REQUIRE(w.config.n_vocab == f.n_vocab);
    REQUIRE(w.config.is_moe());
    REQUIRE(w.config.ssm_n_v_heads == 2 * w.config.ssm_n_k_heads);  // the head order matters
    const bool next = name.rfind("qwen3next", 0) == 0;
    REQUIRE(w.config.v_head_order == (next ? gdn::HeadOrder::grouped : gdn::HeadOrder::tiled));

    const gdn::test::SeqCompare s = decode_and_compare(w, f);
    std::printf("parity %-26s %lld tokens, %lld experts top-%lld: max rel L2 %.3e (position %lld, tol %.0e), "
                "argmax mismatches %lld, near ties %lld\n",
                name.c_str(), static_cast<long long>(f.n_tokens()), static_cast<long long>(w.config.n_expert),
                static_cast<long long>(w.config.n_expert_used), s.max_rel_l2, static_cast<long long>(s.worst_pos),
                kParityTol, static_cast<long long>(s.argmax_mismatches), static_cast<long long>(s.near_ties));
    INFO(name << ": max rel L2 " << s.max_rel_l2 << " at position " << s.worst_pos
              << "; first argmax mismatch at " << s.first_mismatch);
    CHECK(s.max_rel_l2 < kParityTol);
    CHECK(s.argmax_mismatches == 0);
}

TEST_CASE("a misread qwen3next head order is caught by the MoE parity check", "[parity][moe]") {
    const gdn::test::Fixture f = gdn::test::load_fixture("qwen3next_e8_top2");
    gdn::ModelWeights w = gdn::io::load_qwen35(f.gguf);
    w.config.v_head_order = gdn::HeadOrder::tiled;
    const gdn::test::SeqCompare s = decode_and_compare(w, f);
    std::printf("qwen3next head order misread on purpose: max rel L2 %.3e\n", s.max_rel_l2);
    CHECK(s.max_rel_l2 > 1e-2);
}

TEST_CASE("grouped value-head order (HF layout) gives the tiled GGUF's logits", "[parity]") {
    // Hv != Hk in every fixture, so the permutation is never the identity.
    const std::string name = GENERATE(from_range(gdn::test::parity_fixture_names()));
    const gdn::test::Fixture f = gdn::test::load_fixture(name);
    const gdn::ModelWeights tiled = gdn::io::load_qwen35(f.gguf);
    REQUIRE(tiled.config.ssm_n_v_heads != tiled.config.ssm_n_k_heads);
    const gdn::ModelWeights grouped = gdn::test::with_grouped_v_heads(tiled);

    std::vector<float> a, b;
    const gdn::test::SeqCompare st = decode_and_compare(tiled, f, &a);
    const gdn::test::SeqCompare sg = decode_and_compare(grouped, f, &b);
    REQUIRE(a.size() == b.size());

    // Only the float32 summation order of out_proj differs between the two.
    gdn::test::SeqCompare between;
    for (int64_t t = 0; t < f.n_tokens(); ++t) {
        const auto off = static_cast<size_t>(t * f.n_vocab), n = static_cast<size_t>(f.n_vocab);
        between.add(t, gdn::test::compare_row(std::span<const float>(b).subspan(off, n),
                                              std::span<const float>(a).subspan(off, n)));
    }
    std::printf("head order %-22s grouped vs tiled max rel L2 %.3e, grouped vs HF %.3e, tiled vs HF %.3e\n",
                name.c_str(), between.max_rel_l2, sg.max_rel_l2, st.max_rel_l2);
    INFO(name << ": grouped vs tiled max rel L2 " << between.max_rel_l2 << " at " << between.worst_pos);
    CHECK(between.max_rel_l2 < 1e-5);
    CHECK(between.argmax_mismatches == 0);
    CHECK(sg.max_rel_l2 < kParityTol);
}

TEST_CASE("a wrong head order is caught by the parity check", "[parity]") {
    // Guards the test itself: reading the tiled file as grouped must fail parity loudly.
    const gdn::test::Fixture f = gdn::test::load_fixture("qwen35_r2_tied");
    gdn::ModelWeights w = gdn::io::load_qwen35(f.gguf);
    w.config.v_head_order = gdn::HeadOrder::grouped;
    const gdn::test::SeqCompare s = decode_and_compare(w, f);
    std::printf("head order misread on purpose: max rel L2 %.3e\n", s.max_rel_l2);
    CHECK(s.max_rel_l2 > 1e-2);
}

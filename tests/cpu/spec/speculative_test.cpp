// ref::SpeculativeDecoder against plain greedy decode (ref::RuntimeDecoder): token-identical
// output over 2000+ tokens for k = 1, 2, 4, the trunk's final state bit-identical, the MTP KV
// cache equal to the catch-up over the accepted tokens; drafts equal to the trunk's argmax are
// accepted in full, a draft wrong at index j stops acceptance at j.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "gdn/ref/speculative.hpp"
#include "spec_test_util.hpp"

using namespace gdn;

namespace {

const std::vector<int32_t> kPrompt = {3, 17, 4, 0, 9};

// The trunk states of two decoders at the same position are equal bit for bit: every DeltaNet
// state and conv state, and the KV rows below the position.
void require_same_trunk(ref::RuntimeDecoder& a, ref::RuntimeDecoder& b) {
    REQUIRE(a.position() == b.position());
    const ModelConfig& c = a.config();
    const auto row = static_cast<size_t>(c.n_head_kv * c.head_dim);
    const auto rows = static_cast<size_t>(a.position()) * row;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        if (c.is_attention(l)) {
            REQUIRE(test::max_abs_diff(a.k_cache(l).first(rows), b.k_cache(l).first(rows)) == 0.0);
            REQUIRE(test::max_abs_diff(a.v_cache(l).first(rows), b.v_cache(l).first(rows)) == 0.0);
        } else {
            REQUIRE(test::max_abs_diff(a.deltanet_state(l), b.deltanet_state(l)) == 0.0);
            REQUIRE(test::max_abs_diff(a.conv_state(l), b.conv_state(l)) == 0.0);
        }
    }
}

std::string hist(const ref::SpeculativeStats& s) {
    std::string out;
    for (size_t n = 0; n < s.accepted_hist.size(); ++n) {
        if (n > 0) out += ' ';
        out += std::to_string(n);
        out += ':';
        out += std::to_string(s.accepted_hist[n]);
    }
    return out;
}

}  // namespace

TEST_CASE("SpeculativeDecoder is token-identical to greedy decode over 2000 tokens, k = 1, 2, 4", "[spec]") {
    struct Case {
        const char* name;
        ModelWeights w;
        int64_t n;
    };
    // random weights: the MTP's drafts are (almost) never right, so rounds reject; the drafting
    // model: mostly right, so rounds accept every length; MoE: the MoE MTP layer in the loop;
    // q8_0: quantised projections (the MTP's eh_proj included)
    ModelConfig q8_config = test::spec_config();
    q8_config.n_ff = 64;  // every matrix row whole q8_0 blocks of 32
    const Case cases[] = {
        {"random dense", test::random_model(test::spec_config(), 31), 2000},
        {"drafting dense", test::drafting_model(test::spec_config(), 31, 0.3f), 2000},
        {"random MoE", test::random_model(test::spec_moe_config(), 31), 600},
        {"random q8_0", test::random_model(q8_config, 31, DType::q8_0), 600},
    };
    for (const Case& cs : cases) {
        const ModelWeights& w = cs.w;
        const int64_t max_ctx = int64_t(kPrompt.size()) + cs.n + 8;
        std::vector<int32_t> prompt(kPrompt);
        for (int32_t& t : prompt) t %= int32_t(w.config.n_vocab);
        for (int64_t k : {1, 2, 4}) {
            ref::SpeculativeDecoder spec(w, {.max_ctx = max_ctx, .draft_len = k});
            // rounds until n tokens are out, keeping the last round's surplus so the trunk's
            // position is known: prompt + emitted - 1
            std::vector<int32_t> got{spec.prefill(prompt)};
            while (int64_t(got.size()) < cs.n) {
                const auto r = spec.round();
                got.insert(got.end(), r.begin(), r.end());
            }
            ref::RuntimeDecoder plain(w, {.max_ctx = max_ctx});
            std::vector<std::vector<float>> hidden;
            const std::vector<int32_t> want = test::greedy(plain, prompt, int64_t(got.size()), &hidden);
            int64_t first_diff = -1;
            for (size_t i = 0; i < got.size() && first_diff < 0; ++i) {
                if (got[i] != want[i]) first_diff = int64_t(i);
            }
            const ref::SpeculativeStats& s = spec.stats();
            std::printf("speculative %-16s k=%lld: %zu tokens, first mismatch %lld, %lld rounds, %.3f tokens/round, "
                        "acceptance %.3f, accepted drafts per round %s\n",
                        cs.name, static_cast<long long>(k), got.size(), static_cast<long long>(first_diff),
                        static_cast<long long>(s.rounds), s.mean_tokens_per_round(), s.acceptance_rate(),
                        hist(s).c_str());
            REQUIRE(first_diff == -1);
            require_same_trunk(spec.trunk(), plain);
            // and both continue alike (the trunk's logits() after a rejecting round are those of
            // the last verified position, so step once more)
            REQUIRE(spec.pending() == want.back());
            REQUIRE(test::max_abs_diff(spec.trunk().step(spec.pending()), plain.step(want.back())) == 0.0);
            CHECK(s.rounds + s.accepted == int64_t(got.size()) - 1);

            // the MTP cache is llama.cpp's catch-up over the accepted sequence: row p from
            // (trunk hidden of p - 1, token p), zeros before position 0
            ref::MtpLayer catch_up(w, max_ctx);
            std::vector<int32_t> seq(prompt);
            seq.insert(seq.end(), want.begin(), want.end() - 1);
            std::vector<float> h(size_t(w.config.n_embd), 0.f);
            for (size_t p = 0; p < seq.size(); ++p) {
                catch_up.append(p == 0 ? h : hidden[p - 1], seq[p], int64_t(p));
            }
            const size_t rows = seq.size() * size_t(w.config.n_head_kv * w.config.head_dim);
            REQUIRE(test::max_abs_diff(spec.mtp().k_cache().first(rows), catch_up.k_cache().first(rows)) == 0.0);
            REQUIRE(test::max_abs_diff(spec.mtp().v_cache().first(rows), catch_up.v_cache().first(rows)) == 0.0);
        }
    }
}

TEST_CASE("SpeculativeDecoder accepts drafts equal to the trunk's argmax in full, stops at a wrong one",
          "[spec]") {
    const ModelWeights w = test::random_model(test::spec_config(), 41);
    const int64_t n = 600, max_ctx = int64_t(kPrompt.size()) + n + 8;
    ref::RuntimeDecoder plain(w, {.max_ctx = max_ctx});
    const std::vector<int32_t> truth = test::greedy(plain, kPrompt, n + 8);
    for (int64_t k : {1, 2, 4}) {
        // forced: the drafts are the next k tokens of greedy decode
        ref::SpeculativeDecoder spec(w, {.max_ctx = max_ctx, .draft_len = k});
        size_t at = 1;  // tokens emitted so far
        REQUIRE(spec.prefill(kPrompt) == truth[0]);
        while (at + size_t(k) < size_t(n)) {
            const std::vector<int32_t> d(truth.begin() + std::ptrdiff_t(at), truth.begin() + std::ptrdiff_t(at) + k);
            const auto r = spec.verify(d);
            REQUIRE(int64_t(r.size()) == k + 1);
            for (size_t i = 0; i < r.size(); ++i) REQUIRE(r[i] == truth[at + i]);
            at += r.size();
        }
        const ref::SpeculativeStats& s = spec.stats();
        std::printf("forced drafts k=%lld: %lld rounds, every one accepted %lld + 1 tokens (%s)\n",
                    static_cast<long long>(k), static_cast<long long>(s.rounds), static_cast<long long>(k),
                    hist(s).c_str());
        CHECK(s.accepted_hist[size_t(k)] == s.rounds);
        CHECK(s.accepted == s.drafted);

        // corrupted: draft j (drawn per round, j = k meaning none) is wrong; exactly j accepted
        ref::SpeculativeDecoder bad(w, {.max_ctx = max_ctx, .draft_len = k});
        test::Rng rng(uint32_t(50 + k));
        at = 1;
        bad.prefill(kPrompt);
        while (at + size_t(k) < size_t(n)) {
            std::vector<int32_t> d(truth.begin() + std::ptrdiff_t(at), truth.begin() + std::ptrdiff_t(at) + k);
            const auto j = std::min<int64_t>(k, int64_t(rng.uniform(0.f, float(k) + 0.999f)));
            if (j < k) d[size_t(j)] = (d[size_t(j)] + 1) % int32_t(w.config.n_vocab);
            const auto r = bad.verify(d);
            REQUIRE(int64_t(r.size()) == j + 1);
            for (size_t i = 0; i < r.size(); ++i) REQUIRE(r[i] == truth[at + i]);
            at += r.size();
        }
        std::printf("corrupted drafts k=%lld: %lld rounds, accepted drafts per round %s, all tokens greedy's\n",
                    static_cast<long long>(k), static_cast<long long>(bad.stats().rounds), hist(bad.stats()).c_str());
        ref::RuntimeDecoder again(w, {.max_ctx = max_ctx});
        test::greedy(again, kPrompt, int64_t(at));
        require_same_trunk(bad.trunk(), again);
    }
}

TEST_CASE("SpeculativeDecoder: generate() returns n tokens; misuse names what", "[spec]") {
    const ModelWeights w = test::random_model(test::spec_config(), 7);
    ref::SpeculativeDecoder spec(w, {.max_ctx = 64, .draft_len = 3});
    ref::RuntimeDecoder plain(w, {.max_ctx = 64});
    CHECK(spec.generate(kPrompt, 40) == test::greedy(plain, kPrompt, 40));
    // near max_ctx the rounds draft fewer tokens instead of overflowing
    const std::vector<int32_t> tail = spec.generate(kPrompt, 64 - int64_t(kPrompt.size()));
    CHECK(tail == test::greedy(plain, kPrompt, 64 - int64_t(kPrompt.size())));

    ref::SpeculativeDecoder fresh(w, {.max_ctx = 64, .draft_len = 3});
    CHECK_THROWS_WITH(fresh.round(), Catch::Contains("prefill() a prompt before"));
    fresh.prefill(kPrompt);
    CHECK_THROWS_WITH(fresh.verify(std::vector<int32_t>{1, 2, 3, 4}), Catch::Contains("4 drafts, draft_len is 3"));
    CHECK_THROWS_WITH(fresh.verify(std::vector<int32_t>{1, 53}), Catch::Contains("draft token 53 is out of range"));
    CHECK(fresh.trunk().position() == int64_t(kPrompt.size()));
    CHECK_THROWS_WITH(ref::SpeculativeDecoder(w, {.max_ctx = 64, .draft_len = 0}),
                      Catch::Contains("draft_len must be at least 1"));
    const ModelWeights no_mtp = test::random_model(test::tiny_config(), 7);
    CHECK_THROWS_WITH(ref::SpeculativeDecoder(no_mtp, {.max_ctx = 64}), Catch::Contains("0 MTP blocks"));
}

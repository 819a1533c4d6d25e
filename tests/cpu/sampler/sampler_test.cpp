// gdn::io::Sampler against the spec in sampler.hpp: the allowed sets and the probabilities
// are computed here by naive loops over a full sort, independently of the sampler's
// partial sorts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/sampler.hpp"

using gdn::io::Sampler;
using gdn::io::SamplerOptions;

namespace {

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 3.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> l(n);
    for (float& x : l) x = d(g);
    return l;
}

int32_t naive_argmax(const std::vector<float>& l) {
    int32_t best = 0;
    for (size_t i = 1; i < l.size(); ++i)
        if (l[i] > l[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
    return best;
}

// softmax(l / t) in double
std::vector<double> softmax(const std::vector<float>& l, double t) {
    const double m = *std::max_element(l.begin(), l.end());
    std::vector<double> p(l.size());
    double s = 0;
    for (size_t i = 0; i < l.size(); ++i) s += p[i] = std::exp((l[i] - m) / t);
    for (double& x : p) x /= s;
    return p;
}

// Ids by probability, most likely first, lower index first on ties.
std::vector<int32_t> by_rank(const std::vector<float>& l) {
    std::vector<int32_t> ids(l.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[size_t(a)] > l[size_t(b)]; });
    return ids;
}

// The set the spec allows after top-k, top-p, min-p at temperature t.
std::set<int32_t> allowed(const std::vector<float>& l, double t, int top_k, double top_p, double min_p) {
    const std::vector<double> p = softmax(l, t);
    std::vector<int32_t> ids = by_rank(l);
    if (top_k > 0 && size_t(top_k) < ids.size()) ids.resize(size_t(top_k));
    double kept_total = 0;
    for (int32_t id : ids) kept_total += p[size_t(id)];
    if (top_p < 1) {
        double cum = 0;
        size_t keep = ids.size();
        for (size_t i = 0; i < ids.size(); ++i) {
            cum += p[size_t(ids[i])] / kept_total;
            if (cum >= top_p) {
                keep = i + 1;
                break;
            }
        }
        ids.resize(keep);
    }
    const double pmax = p[size_t(ids[0])];
    std::set<int32_t> out;
    for (int32_t id : ids)
        if (p[size_t(id)] >= min_p * pmax) out.insert(id);
    return out;
}

}  // namespace

TEST_CASE("sampler: greedy is the argmax, lowest index on ties", "[sampler]") {
    for (uint32_t seed = 0; seed < 20; ++seed) {
        const std::vector<float> l = random_logits(5000, seed);
        Sampler s({.temperature = 0.f});
        CHECK(s.sample(l) == naive_argmax(l));
        Sampler neg({.temperature = -1.f});
        CHECK(neg.sample(l) == naive_argmax(l));
        Sampler tiny({.temperature = 1e-40f});  // 1 / T overflows float
        CHECK(tiny.sample(l) == naive_argmax(l));
    }
    std::vector<float> l = random_logits(100, 7);
    const float m = *std::max_element(l.begin(), l.end()) + 1.f;
    l[17] = m;
    l[42] = m;
    l[90] = m;
    l[5] = std::numeric_limits<float>::quiet_NaN();  // never chosen
    Sampler s;
    CHECK(s.sample(l) == 17);
}

TEST_CASE("sampler: top_k = 1 is greedy at any temperature", "[sampler]") {
    Sampler s({.temperature = 5.f, .top_k = 1, .seed = 3});
    for (uint32_t seed = 0; seed < 200; ++seed) {
        const std::vector<float> l = random_logits(3000, 100 + seed, 0.5f);
        REQUIRE(s.sample(l) == naive_argmax(l));
    }
}

TEST_CASE("sampler: the same seed gives the same sequence, another seed another", "[sampler]") {
    const SamplerOptions o{.temperature = 1.f, .top_k = 50, .top_p = 0.95f, .seed = 1234};
    Sampler a(o), b(o);
    SamplerOptions o2 = o;
    o2.seed = 1235;
    Sampler c(o2);
    std::vector<int32_t> sa, sb, sc;
    for (uint32_t i = 0; i < 200; ++i) {
        const std::vector<float> l = random_logits(2000, 500 + i, 1.f);
        sa.push_back(a.sample(l));
        sb.push_back(b.sample(l));
        sc.push_back(c.sample(l));
    }
    CHECK(sa == sb);
    CHECK(sa != sc);
    a.reseed(1234);
    for (uint32_t i = 0; i < 200; ++i) REQUIRE(a.sample(random_logits(2000, 500 + i, 1.f)) == sa[i]);
}

TEST_CASE("sampler: top-k, top-p, min-p never choose outside the allowed set", "[sampler]") {
    struct Case {
        float t;
        int k;
        float p, min_p;
    };
    const Case cases[] = {
        {1.f, 10, 1.f, 0.f},     {1.f, 0, 0.5f, 0.f},    {0.7f, 0, 0.9f, 0.f},  {1.f, 0, 1.f, 0.1f},
        {1.5f, 40, 0.8f, 0.05f}, {1.f, 3, 0.99f, 0.f},   {2.f, 0, 0.3f, 0.2f},  {1.f, 1000, 0.95f, 0.f},
    };
    uint32_t seed = 0;
    for (const Case& c : cases) {
        // 3000 ids: bigger than the sampler's first partial sort (256), so top-p grows it.
        const std::vector<float> l = random_logits(3000, 900 + seed, 1.5f);
        const std::set<int32_t> ok = allowed(l, c.t, c.k, c.p, c.min_p);
        Sampler s({.temperature = c.t, .top_k = c.k, .top_p = c.p, .min_p = c.min_p, .seed = seed++});
        std::set<int32_t> seen;
        constexpr int n = 4000;
        for (int i = 0; i < n; ++i) {
            const int32_t id = s.sample(l);
            INFO("t " << c.t << " k " << c.k << " p " << c.p << " min_p " << c.min_p << " id " << id);
            REQUIRE(ok.count(id) == 1);
            seen.insert(id);
        }
        // ...and not a smaller set: every allowed id expected >= 20 times shows up
        // (a miss has probability e^-20 per id).
        const std::vector<double> p = softmax(l, c.t);
        double kept = 0;
        for (int32_t id : ok) kept += p[size_t(id)];
        for (int32_t id : ok) {
            if (n * p[size_t(id)] / kept < 20) continue;
            INFO("t " << c.t << " k " << c.k << " p " << c.p << " min_p " << c.min_p << " allowed id " << id
                      << " never drawn, expected " << n * p[size_t(id)] / kept);
            CHECK(seen.count(id) == 1);
        }
        CHECK(seen.size() >= std::min<size_t>(ok.size(), 2));  // it does sample, not just argmax
    }
}

TEST_CASE("sampler: top-p on a 250k vocabulary keeps exactly the nucleus", "[sampler]") {
    // Five heavy ids with p = 0.30, 0.25, 0.20, 0.15, 0.05 and 249995 light ones sharing 0.05:
    // top_p 0.88 keeps the first four (cumulative 0.90), each drawn, nothing else.
    constexpr size_t vocab = 250000;
    std::vector<float> l(vocab, std::log(0.05f / float(vocab - 5)));
    const int32_t heavy[] = {123456, 7, 249999, 50000, 3};
    const float p[] = {0.30f, 0.25f, 0.20f, 0.15f, 0.05f};
    for (int i = 0; i < 5; ++i) l[size_t(heavy[i])] = std::log(p[i]);
    Sampler s({.temperature = 1.f, .top_p = 0.88f, .seed = 2});
    std::vector<int> count(4, 0);
    for (int i = 0; i < 2000; ++i) {
        const int32_t id = s.sample(l);
        const int32_t* at = std::find(heavy, heavy + 4, id);
        INFO("drew " << id);
        REQUIRE(at != heavy + 4);
        ++count[size_t(at - heavy)];
    }
    // expected 2000 * p / 0.9: 667, 556, 444, 333
    for (int i = 0; i < 4; ++i) CHECK(std::abs(count[size_t(i)] - 2000 * p[i] / 0.9) < 5 * std::sqrt(2000 * p[i]));

    // A flat 250k vocabulary: the nucleus is most of it.
    const std::vector<float> flat = random_logits(vocab, 31, 0.3f);
    const std::set<int32_t> ok = allowed(flat, 1.0, 0, 0.9, 0.0);
    Sampler f({.temperature = 1.f, .top_p = 0.9f, .seed = 2});
    for (int i = 0; i < 300; ++i) REQUIRE(ok.count(f.sample(flat)) == 1);
    std::printf("sampler: top-p 0.9 over a flat 250000-id vocabulary keeps %zu ids\n", ok.size());
}

TEST_CASE("sampler: at temperature 1 the draws follow softmax (chi-square)", "[sampler]") {
    // 8 ids, 200000 draws; chi-square with 7 degrees of freedom: P(X > 24.32) = 0.001.
    const std::vector<float> l = random_logits(8, 77, 1.f);
    for (const float t : {1.f, 0.6f}) {
        const std::vector<double> p = softmax(l, t);
        Sampler s({.temperature = t, .seed = 99});
        constexpr int n = 200000;
        std::vector<int> count(l.size(), 0);
        for (int i = 0; i < n; ++i) ++count[size_t(s.sample(l))];
        double chi2 = 0;
        for (size_t i = 0; i < l.size(); ++i) {
            const double e = n * p[i];
            chi2 += (count[i] - e) * (count[i] - e) / e;
        }
        std::printf("sampler: temperature %.1f, chi-square over 8 ids, 200000 draws = %.2f (bound 24.32)\n", t,
                    chi2);
        CHECK(chi2 < 24.32);
    }
}

TEST_CASE("sampler: top-p draws follow the renormalised nucleus (chi-square)", "[sampler]") {
    const std::vector<float> l = {2.0f, 1.5f, 1.2f, 0.3f, -0.5f, 1.9f, -2.f, 0.1f};
    const std::set<int32_t> ok = allowed(l, 1.0, 0, 0.8, 0.0);
    const std::vector<double> p = softmax(l, 1.0);
    double kept = 0;
    for (int32_t id : ok) kept += p[size_t(id)];
    Sampler s({.temperature = 1.f, .top_p = 0.8f, .seed = 5});
    constexpr int n = 100000;
    std::vector<int> count(l.size(), 0);
    for (int i = 0; i < n; ++i) ++count[size_t(s.sample(l))];
    double chi2 = 0;
    for (int32_t id : ok) {
        const double e = n * p[size_t(id)] / kept;
        chi2 += (count[size_t(id)] - e) * (count[size_t(id)] - e) / e;
    }
    for (size_t i = 0; i < l.size(); ++i)
        if (!ok.count(int32_t(i))) CHECK(count[i] == 0);
    // ok.size() - 1 degrees of freedom (<= 7): 24.32 bounds P = 0.001 for 7, tighter for fewer.
    std::printf("sampler: top-p 0.8 keeps %zu of 8 ids, chi-square = %.2f (bound 24.32)\n", ok.size(), chi2);
    CHECK(ok.size() >= 3);
    CHECK(chi2 < 24.32);
}

TEST_CASE("sampler: repetition penalty transforms logits as llama.cpp does", "[sampler]") {
    std::vector<float> l = random_logits(50, 11);
    l[3] = 2.5f;
    l[4] = -1.5f;
    const std::vector<float> orig = l;
    // ids 3 and 4 repeated, 9 only outside the window of the last 4 ids
    const std::vector<int32_t> history = {9, 3, 4, 3, 3};
    gdn::io::apply_repetition_penalty(l, history, 2.f, 4);
    CHECK(l[3] == 1.25f);   // positive: divided once, not per occurrence
    CHECK(l[4] == -3.0f);   // negative: multiplied
    CHECK(l[9] == orig[9]);  // outside the window
    for (size_t i = 0; i < l.size(); ++i)
        if (i != 3 && i != 4) CHECK(l[i] == orig[i]);

    // Deterministic effect on greedy: the leader drops below the runner-up.
    std::vector<float> g(20, 0.f);
    for (size_t i = 0; i < g.size(); ++i) g[i] = 0.01f * float(i);  // below the two leaders
    g[7] = 3.f;
    g[12] = 2.f;
    Sampler s({.repetition_penalty = 1.3f, .repetition_window = 64});
    const std::vector<int32_t> h = {7};
    CHECK(s.sample(g, {}) == 7);
    CHECK(s.sample(g, h) == 7);  // 3 / 1.3 = 2.31 > 2
    Sampler s2({.repetition_penalty = 1.6f});
    CHECK(s2.sample(g, h) == 12);  // 3 / 1.6 = 1.875 < 2

    // Sampled: the repeated id's frequency matches softmax of the penalised logits.
    const std::vector<float> small = {1.f, 0.5f, 0.f, -0.5f};
    std::vector<float> pen = small;
    const std::vector<int32_t> h0 = {0};
    gdn::io::apply_repetition_penalty(pen, h0, 1.5f, 64);
    const double expect = softmax(pen, 1.0)[0];
    Sampler s3({.temperature = 1.f, .repetition_penalty = 1.5f, .seed = 8});
    constexpr int n = 100000;
    int hits = 0;
    for (int i = 0; i < n; ++i) hits += s3.sample(small, h0) == 0;
    const double freq = double(hits) / n;
    const double sigma = std::sqrt(expect * (1 - expect) / n);
    std::printf("sampler: penalised id 0 freq %.4f, expected %.4f (unpenalised %.4f), 5 sigma = %.4f\n", freq,
                expect, softmax(small, 1.0)[0], 5 * sigma);
    CHECK(std::abs(freq - expect) < 5 * sigma);
}

TEST_CASE("sampler: bad options and inputs raise gdn::Error naming them", "[sampler]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(Sampler({.temperature = std::numeric_limits<float>::quiet_NaN()}), Contains("temperature"));
    CHECK_THROWS_WITH(Sampler({.top_k = -1}), Contains("top_k") && Contains("-1"));
    CHECK_THROWS_WITH(Sampler({.top_p = 0.f}), Contains("top_p"));
    CHECK_THROWS_WITH(Sampler({.top_p = 1.5f}), Contains("top_p") && Contains("1.5"));
    CHECK_THROWS_WITH(Sampler({.min_p = -0.1f}), Contains("min_p"));
    CHECK_THROWS_WITH(Sampler({.min_p = 2.f}), Contains("min_p"));
    CHECK_THROWS_WITH(Sampler({.repetition_penalty = 0.f}), Contains("repetition_penalty"));
    CHECK_THROWS_WITH(Sampler({.repetition_window = -2}), Contains("repetition_window"));
    Sampler s({.repetition_penalty = 1.2f});
    const std::vector<float> l = {0.f, 1.f};
    const std::vector<int32_t> bad = {5};
    CHECK_THROWS_WITH(s.sample(l, bad), Contains("history id 5"));
    CHECK_THROWS_AS(s.sample(std::span<const float>{}), gdn::Error);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> all_nan = {nan, nan};
    CHECK_THROWS_WITH(s.sample(all_nan), Contains("no finite logit"));
}

TEST_CASE("sampler: -inf logits are never drawn, +inf wins", "[sampler]") {
    std::vector<float> l = random_logits(64, 21, 0.1f);
    const float inf = std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < l.size(); i += 2) l[i] = -inf;
    Sampler s({.temperature = 2.f, .seed = 4});
    for (int i = 0; i < 2000; ++i) REQUIRE(s.sample(l) % 2 == 1);
    l[30] = inf;
    CHECK(s.sample(l) == 30);
}

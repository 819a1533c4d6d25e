// Argmax and sampling kernels (gdn/kernels/sampling.cuh). References are written here on the
// host: argmax by a loop (lowest index on ties), the allowed sets of top-k / top-p from a
// sort in double, and the target distributions softmax(z / T) renormalised over that set.
// Distributions are checked with Pearson's chi-square over many seeded draws (one draw per
// sequence row and step); the bound is the 1e-4 upper quantile for the degrees of freedom.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "gdn/kernels/sampling.cuh"
#include "gpu_util.cuh"

namespace {

using gdn::test::DeviceBuffer;
namespace gk = gdn::kernels;

constexpr int k_vocab = 248320;

int host_argmax(const float* z, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (z[i] > z[best]) best = i;
    return best;
}

// Indices of the allowed set, most likely first: top_k (0: all), then the smallest prefix
// whose mass reaches top_p (computed in double, with `slack` added to top_p).
std::vector<int> allowed_set(const float* z, int n, float temp, int top_k, double top_p, double slack) {
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return z[a] > z[b]; });
    if (top_k > 0) order.resize(static_cast<size_t>(std::min(top_k, n)));
    if (top_p < 1.0) {
        std::vector<double> p(order.size());
        double total = 0;
        for (size_t j = 0; j < order.size(); ++j) total += p[j] = std::exp((double(z[order[j]]) - z[order[0]]) / temp);
        double cum = 0;
        size_t keep = order.size();
        for (size_t j = 0; j < order.size(); ++j) {
            cum += p[j];
            if (cum >= std::min(1.0, top_p + slack) * total) { keep = j + 1; break; }
        }
        order.resize(keep);
    }
    return order;
}

// Probabilities of softmax(z / T) over `set` (renormalised).
std::vector<double> set_probs(const float* z, const std::vector<int>& set, float temp) {
    std::vector<double> p(set.size());
    double total = 0;
    for (size_t j = 0; j < set.size(); ++j) total += p[j] = std::exp((double(z[set[j]]) - z[set[0]]) / temp);
    for (auto& v : p) v /= total;
    return p;
}

// Upper 1e-4 quantile of chi-square with `dof` degrees of freedom (Wilson-Hilferty).
double chi2_bound(int dof) {
    const double zq = 3.719;  // standard normal 1 - 1e-4
    const double k = dof;
    const double t = 1.0 - 2.0 / (9.0 * k) + zq * std::sqrt(2.0 / (9.0 * k));
    return k * t * t * t;
}

struct Sampler {
    int n_vocab, n_seq;
    DeviceBuffer<float> logits;
    DeviceBuffer<int32_t> token, step;
    DeviceBuffer<unsigned char> ws;

    Sampler(const std::vector<float>& z, int vocab, int seqs)
        : n_vocab(vocab), n_seq(seqs), logits(z), token(static_cast<size_t>(seqs)), step(1),
          ws(gk::sampling_workspace_bytes(seqs)) {
        GDN_CUDA_CHECK(cudaMemset(ws.get(), 0, ws.bytes()));
    }

    std::vector<int32_t> draw(float temp, int top_k, float top_p, uint64_t seed, int32_t step_value) {
        step.upload(std::vector<int32_t>{step_value});
        token.poison();
        gk::SampleParams p;
        p.logits = logits.get();
        p.n_vocab = n_vocab;
        p.n_seq = n_seq;
        p.token = token.get();
        p.temperature = temp;
        p.top_k = top_k;
        p.top_p = top_p;
        p.seed = seed;
        p.step = step.get();
        p.workspace = ws.get();
        gk::launch_sample(p, nullptr);
        GDN_CUDA_CHECK(cudaDeviceSynchronize());
        return token.download();
    }
};

// Draw n_steps * n_seq tokens from identical rows; check every token lies in `set` and the
// counts match `probs` by chi-square.
void check_distribution(const char* what, Sampler& smp, const float* row, float temp, int top_k,
                        float top_p, int n_steps) {
    const auto set = allowed_set(row, smp.n_vocab, temp, top_k, top_p, 0.0);
    const auto loose = allowed_set(row, smp.n_vocab, temp, top_k, top_p, 1e-5);
    const auto probs = set_probs(row, set, temp);
    std::vector<int> rank(static_cast<size_t>(smp.n_vocab), -1);  // position in set, or -1
    std::vector<char> in_loose(static_cast<size_t>(smp.n_vocab), 0);
    for (size_t j = 0; j < set.size(); ++j) rank[static_cast<size_t>(set[j])] = static_cast<int>(j);
    for (int t : loose) in_loose[static_cast<size_t>(t)] = 1;
    std::vector<long> count(set.size(), 0);
    long outside = 0, total = 0;
    for (int st = 0; st < n_steps; ++st) {
        const auto tok = smp.draw(temp, top_k, top_p, 1234, st);
        for (int32_t t : tok) {
            ++total;
            if (t < 0 || t >= smp.n_vocab) { ++outside; continue; }
            if (rank[static_cast<size_t>(t)] < 0) {
                if (!in_loose[static_cast<size_t>(t)]) ++outside;
                continue;
            }
            ++count[static_cast<size_t>(rank[static_cast<size_t>(t)])];
        }
    }
    // pool cells with expected count < 5 into one
    double chi2 = 0, pooled_e = 0, pooled_o = 0;
    int cells = 0;
    for (size_t j = 0; j < set.size(); ++j) {
        const double e = probs[j] * static_cast<double>(total);
        if (e < 5) { pooled_e += e; pooled_o += count[j]; continue; }
        chi2 += (count[j] - e) * (count[j] - e) / e;
        ++cells;
    }
    if (pooled_e > 0) {
        chi2 += (pooled_o - pooled_e) * (pooled_o - pooled_e) / std::max(pooled_e, 1e-9);
        ++cells;
    }
    const int dof = std::max(1, cells - 1);
    const double bound = chi2_bound(dof);
    std::printf("sample %-28s set %4zu draws %6ld outside %ld chi2 %.1f (dof %d, bound %.1f)\n", what,
                set.size(), total, outside, chi2, dof, bound);
    CHECK(outside == 0);
    CHECK(chi2 < bound);
}

}  // namespace

TEST_CASE("argmax over the Qwen3.5 vocabulary, lowest index on ties, repeatable", "[sampling]") {
    const int n_seq = 4;
    auto z = gdn::test::random_floats(static_cast<size_t>(n_seq) * k_vocab, 7, -10.f, 10.f);
    z[1 * k_vocab + 200000] = 50.f;  // tie: index 100 must win
    z[1 * k_vocab + 100] = 50.f;
    z[2 * k_vocab + k_vocab - 1] = 60.f;  // the last element
    Sampler smp(z, k_vocab, n_seq);
    for (int rep = 0; rep < 3; ++rep) {  // the ticket resets itself between launches
        const auto tok = smp.draw(0.f, 0, 1.f, 0, rep);
        for (int s = 0; s < n_seq; ++s) {
            INFO("seq " << s << " rep " << rep);
            CHECK(tok[s] == host_argmax(&z[static_cast<size_t>(s) * k_vocab], k_vocab));
        }
    }
    const auto tok = smp.draw(0.f, 0, 1.f, 0, 0);
    CHECK(tok[1] == 100);
    CHECK(tok[2] == k_vocab - 1);

    // a vocabulary smaller than the number of slices
    const int small = 37;
    auto zs = gdn::test::random_floats(static_cast<size_t>(small) * 3, 8);
    Sampler s2(zs, small, 3);
    const auto t2 = s2.draw(0.f, 0, 1.f, 0, 0);
    for (int s = 0; s < 3; ++s) CHECK(t2[s] == host_argmax(&zs[static_cast<size_t>(s) * small], small));
}

TEST_CASE("sampling: top_k = 1 is argmax; a seed and step give the same token", "[sampling]") {
    const int n_seq = 4;
    const auto z = gdn::test::random_floats(static_cast<size_t>(n_seq) * k_vocab, 9, -5.f, 5.f);
    Sampler smp(z, k_vocab, n_seq);
    for (int st = 0; st < 3; ++st) {
        const auto tok = smp.draw(1.f, 1, 1.f, 42, st);
        for (int s = 0; s < n_seq; ++s) CHECK(tok[s] == host_argmax(&z[static_cast<size_t>(s) * k_vocab], k_vocab));
    }
    // flat-ish logits: the draw depends on (seed, step) only
    const auto a = smp.draw(1.f, 0, 1.f, 42, 5), b = smp.draw(1.f, 0, 1.f, 42, 5);
    CHECK(a == b);
    const auto c = smp.draw(1.f, 40, 0.9f, 42, 5), d = smp.draw(1.f, 40, 0.9f, 42, 5);
    CHECK(c == d);
    std::set<int32_t> seen;
    for (int st = 0; st < 8; ++st) for (int32_t t : smp.draw(1.f, 0, 1.f, 42, st)) seen.insert(t);
    CHECK(seen.size() > 16);  // 32 draws over ~250K nearly flat choices
}

TEST_CASE("sampling on a small vocabulary matches the softmax distribution", "[sampling]") {
    const int vocab = 16, n_seq = 2048;
    std::vector<float> row = gdn::test::random_floats(vocab, 10, -2.f, 2.f);
    std::vector<float> z;
    for (int s = 0; s < n_seq; ++s) z.insert(z.end(), row.begin(), row.end());
    Sampler smp(z, vocab, n_seq);
    check_distribution("T=1 full", smp, row.data(), 1.f, 0, 1.f, 10);
    check_distribution("T=0.5 full", smp, row.data(), 0.5f, 0, 1.f, 10);
    check_distribution("T=1 top_k=5", smp, row.data(), 1.f, 5, 1.f, 10);
    check_distribution("T=1 top_p=0.7", smp, row.data(), 1.f, 0, 0.7f, 10);
    check_distribution("T=0.8 top_k=8 top_p=0.8", smp, row.data(), 0.8f, 8, 0.8f, 10);
}

TEST_CASE("sampling over the full vocabulary keeps to the allowed set", "[sampling]") {
    const int n_seq = 256;
    // 24 plausible tokens scattered over the vocabulary, the rest far below
    std::vector<float> row(k_vocab, -30.f);
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> pos(0, k_vocab - 1);
    std::uniform_real_distribution<float> val(-1.f, 2.f);
    for (int j = 0; j < 24; ++j) row[static_cast<size_t>(pos(rng))] = val(rng);
    std::vector<float> z;
    for (int s = 0; s < n_seq; ++s) z.insert(z.end(), row.begin(), row.end());
    Sampler smp(z, k_vocab, n_seq);
    // exp(-31) * 248K ~ 1e-8 of the mass sits in the tail, so the tail may be excluded here
    check_distribution("vocab T=1 full (tail 1e-8)", smp, row.data(), 1.f, 0, 1.f, 16);
    check_distribution("vocab T=0.7 top_k=10", smp, row.data(), 0.7f, 10, 1.f, 16);
    check_distribution("vocab T=1 top_p=0.8", smp, row.data(), 1.f, 0, 0.8f, 16);
    check_distribution("vocab T=1 top_k=40 top_p=0.95", smp, row.data(), 1.f, 40, 0.95f, 16);

    // random logits: every top-k draw must be among the k largest
    const auto zr = gdn::test::random_floats(static_cast<size_t>(4) * k_vocab, 12, -8.f, 8.f);
    Sampler s2(zr, k_vocab, 4);
    long outside = 0;
    for (int st = 0; st < 20; ++st) {
        const auto tok = s2.draw(0.7f, 40, 1.f, 99, st);
        for (int s = 0; s < 4; ++s) {
            const auto set = allowed_set(&zr[static_cast<size_t>(s) * k_vocab], k_vocab, 0.7f, 40, 1.0, 0);
            if (std::find(set.begin(), set.end(), tok[s]) == set.end()) ++outside;
        }
    }
    std::printf("sample random vocab top_k=40: 80 draws, outside %ld\n", outside);
    CHECK(outside == 0);
}

TEST_CASE("sampling launchers reject bad arguments", "[sampling]") {
    DeviceBuffer<float> z(64);
    DeviceBuffer<int32_t> tok(1), step(1);
    gk::SampleParams p;
    p.logits = z.get();
    p.n_vocab = 64;
    p.token = tok.get();
    p.temperature = 1.f;
    p.step = step.get();
    auto bad = p;
    bad.top_k = gk::k_max_top_k + 1;
    CHECK_THROWS_WITH(gk::launch_sample(bad, nullptr), Catch::Contains("top_k"));
    bad = p;
    bad.step = nullptr;
    CHECK_THROWS_WITH(gk::launch_sample(bad, nullptr), Catch::Contains("step"));
    bad = p;
    bad.temperature = 0.f;  // greedy needs the workspace
    CHECK_THROWS_WITH(gk::launch_sample(bad, nullptr), Catch::Contains("workspace"));
    bad = p;
    bad.n_vocab = 0;
    CHECK_THROWS_WITH(gk::launch_sample(bad, nullptr), Catch::Contains("n_vocab"));
}

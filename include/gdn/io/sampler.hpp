// gdn/io/sampler.hpp - choose the next token from host logits [n_vocab]: repetition
// penalty, temperature, top-k, top-p, min-p and a seeded draw.
//
// Order (each step sees what the previous one left):
//   1. repetition penalty over the distinct ids among the last repetition_window history
//      ids, as llama.cpp applies it: logit > 0 ? logit / penalty : logit * penalty
//   2. greedy when temperature <= 0: the largest penalised logit, lowest index on ties
//   3. temperature: logit / temperature, then softmax
//   4. top-k: the k most likely (ties: lower index first)
//   5. top-p: the shortest most-likely-first prefix whose probability reaches top_p (the
//      token that crosses top_p is kept; at least one token)
//   6. min-p: drop tokens with p < min_p * p_max (p_max always survives)
//   7. draw from what is left, in proportion to p, with std::mt19937_64 (one 64-bit draw
//      per sample, turned into [0, 1) by hand so the sequence does not depend on the
//      standard library's distributions): the same seed gives the same ids.
// Temperature comes before the truncations, as in gdn's device sampler
// (kernels/sampling.cuh); llama.cpp's default chain applies it last.
// NaN logits are never chosen; -inf logits have probability 0; a +inf logit wins outright.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "gdn/core/error.hpp"

namespace gdn::io {

struct SamplerOptions {
    float temperature = 0.f;         ///< <= 0: greedy
    int top_k = 0;                   ///< 0: off
    float top_p = 1.f;               ///< in (0, 1]; 1: off
    float min_p = 0.f;               ///< in [0, 1]; 0: off
    float repetition_penalty = 1.f;  ///< > 0; 1: off
    int repetition_window = 64;      ///< history ids the penalty looks back over (0: none)
    uint64_t seed = 0;
};

/// gdn::Error naming the first option out of range.
inline void check_sampler_options(const SamplerOptions& o) {
    GDN_CHECK(std::isfinite(o.temperature), "sampler: temperature must be finite, got ", o.temperature);
    GDN_CHECK(o.top_k >= 0, "sampler: top_k must be >= 0 (0: off), got ", o.top_k);
    GDN_CHECK(o.top_p > 0.f && o.top_p <= 1.f, "sampler: top_p must be in (0, 1], got ", o.top_p);
    GDN_CHECK(o.min_p >= 0.f && o.min_p <= 1.f, "sampler: min_p must be in [0, 1], got ", o.min_p);
    GDN_CHECK(std::isfinite(o.repetition_penalty) && o.repetition_penalty > 0.f,
              "sampler: repetition_penalty must be finite and > 0, got ", o.repetition_penalty);
    GDN_CHECK(o.repetition_window >= 0, "sampler: repetition_window must be >= 0, got ", o.repetition_window);
}

/// Step 1 in place: each distinct id among the last `window` ids of history is penalised once.
inline void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty,
                                     int window) {
    if (penalty == 1.f || window <= 0 || history.empty()) return;
    const size_t n = std::min(history.size(), static_cast<size_t>(window));
    std::vector<int32_t> ids(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const int32_t id : ids) {
        GDN_CHECK(id >= 0 && static_cast<size_t>(id) < logits.size(), "sampler: history id ", id,
                  " is out of range [0, ", logits.size(), ")");
        float& l = logits[static_cast<size_t>(id)];
        l = l > 0.f ? l / penalty : l * penalty;
    }
}

class Sampler {
public:
    explicit Sampler(SamplerOptions options = {}) : opt_(options), rng_(options.seed) {
        check_sampler_options(opt_);
    }

    [[nodiscard]] const SamplerOptions& options() const { return opt_; }

    /// Restart the random sequence (as if constructed with this seed).
    void reseed(uint64_t seed) {
        opt_.seed = seed;
        rng_.seed(seed);
    }

    /// The next token for logits [n_vocab]; history: the ids so far (prompt and generated),
    /// read only by the repetition penalty.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history = {}) {
        GDN_CHECK(!logits.empty(), "sampler: no logits");
        GDN_CHECK(logits.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "sampler: ",
                  logits.size(), " logits do not fit int32 ids");
        std::span<const float> l = logits;
        if (opt_.repetition_penalty != 1.f && opt_.repetition_window > 0 && !history.empty()) {
            work_.assign(logits.begin(), logits.end());
            apply_repetition_penalty(work_, history, opt_.repetition_penalty, opt_.repetition_window);
            l = work_;
        }
        const int32_t best = argmax(l);
        // A temperature so small that 1 / T overflows is greedy too.
        if (!(1.f / opt_.temperature > 0.f && 1.f / opt_.temperature < std::numeric_limits<float>::infinity()) ||
            std::isinf(l[static_cast<size_t>(best)]))
            return best;
        return draw(l, l[static_cast<size_t>(best)]);
    }

private:
    struct Candidate {
        float logit;
        int32_t id;
        float weight;  // exp((logit - max) / T): the most likely token has 1
    };
    // Most likely first; equal logits: lower index first (a strict total order).
    static bool before(const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }

    static int32_t argmax(std::span<const float> l) {
        int32_t best = -1;
        for (size_t i = 0; i < l.size(); ++i) {
            if (std::isnan(l[i])) continue;
            if (best < 0 || l[i] > l[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
        }
        GDN_CHECK(best >= 0 && l[static_cast<size_t>(best)] > -std::numeric_limits<float>::infinity(),
                  "sampler: no finite logit among ", l.size());
        return best;
    }

    int32_t draw(std::span<const float> l, float max_logit) {
        // Tokens whose weight underflows to 0 (and NaN, -inf) can never be drawn: left out.
        const float inv_t = 1.f / opt_.temperature;
        cand_.clear();
        const bool top_k = opt_.top_k > 0 && static_cast<size_t>(opt_.top_k) < l.size();
        if (top_k) {
            // A heap of the k most likely so far, least likely in front: most tokens are
            // rejected by one comparison with the front.
            const auto k = static_cast<size_t>(opt_.top_k);
            for (size_t i = 0; i < l.size(); ++i) {
                if (!(l[i] > -std::numeric_limits<float>::infinity())) continue;
                const Candidate c{l[i], static_cast<int32_t>(i), 0.f};
                if (cand_.size() < k) {
                    cand_.push_back(c);
                    std::push_heap(cand_.begin(), cand_.end(), before);
                } else if (before(c, cand_.front())) {
                    std::pop_heap(cand_.begin(), cand_.end(), before);
                    cand_.back() = c;
                    std::push_heap(cand_.begin(), cand_.end(), before);
                }
            }
        } else {
            for (size_t i = 0; i < l.size(); ++i)
                if (l[i] > -std::numeric_limits<float>::infinity()) cand_.push_back({l[i], static_cast<int32_t>(i), 0.f});
        }
        size_t n = 0;
        for (const Candidate& c : cand_) {
            const float w = std::exp((c.logit - max_logit) * inv_t);
            if (w > 0.f) cand_[n++] = {c.logit, c.id, w};
        }
        // n >= 1: the max has weight 1
        if (opt_.top_p < 1.f) n = nucleus(n);
        // min-p: p_max's weight is 1, so the cut is on the weight itself.
        double total = 0;
        for (size_t i = 0; i < n; ++i) {
            if (cand_[i].weight < opt_.min_p) cand_[i].weight = 0.f;
            total += cand_[i].weight;
        }
        // 53 random bits -> [0, 1): the first candidate whose running sum passes u * total.
        const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
        double sum = 0;
        size_t last = 0;
        for (size_t i = 0; i < n; ++i) {
            if (cand_[i].weight <= 0.f) continue;
            sum += cand_[i].weight;
            last = i;
            if (u < sum) return cand_[i].id;
        }
        return cand_[last].id;  // rounding left u at the very top
    }

    /// The size of the nucleus among cand_[0, n): the smallest k whose k most likely
    /// candidates reach top_p of the mass. Bisects on the rank with nth_element (expected
    /// O(n), no full sort of a 250k vocabulary); leaves those k in cand_[0, k), unsorted.
    size_t nucleus(size_t n) {
        double total = 0;
        for (size_t i = 0; i < n; ++i) total += cand_[i].weight;
        const double target = static_cast<double>(opt_.top_p) * total;
        // Tokens lighter than tau hold less than (1 - top_p) of the mass together (fewer than n
        // of them, each < tau), so the heavier ones alone reach the target: the nucleus is
        // among them. 0.999 keeps that true through rounding.
        const auto tau = static_cast<float>(0.999 * (1.0 - static_cast<double>(opt_.top_p)) * total /
                                            static_cast<double>(n));
        size_t heavy = 0;
        for (size_t i = 0; i < n; ++i)
            if (cand_[i].weight >= tau) cand_[heavy++] = cand_[i];
        n = heavy;
        const auto at = [&](size_t i) { return cand_.begin() + static_cast<std::ptrdiff_t>(i); };
        // cand_[0, lo): the lo most likely, mass `below` < target; the answer is in (lo, hi].
        size_t lo = 0, hi = n;
        double below = 0;
        while (hi - lo > 64) {
            const size_t mid = lo + (hi - lo) / 2;
            std::nth_element(at(lo), at(mid), at(hi), before);
            double mass = below;
            for (size_t i = lo; i < mid; ++i) mass += cand_[i].weight;
            if (mass >= target) {
                hi = mid;
            } else {
                lo = mid;
                below = mass;
            }
        }
        std::sort(at(lo), at(hi), before);
        for (size_t i = lo; i < hi; ++i) {
            below += cand_[i].weight;
            if (below >= target) return i + 1;
        }
        return hi;  // rounding: the whole range
    }

    SamplerOptions opt_;
    std::mt19937_64 rng_;
    std::vector<float> work_;        // [n_vocab] penalised logits
    std::vector<Candidate> cand_;    // [<= n_vocab]
};

}  // namespace gdn::io

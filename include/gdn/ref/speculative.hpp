// gdn/ref/speculative.hpp - greedy speculative decoding with the model's MTP block on the CPU:
// the reference a GPU speculative decoder is checked against. The protocol is llama.cpp's
// draft-mtp for qwen35 / qwen35moe (common/speculative.cpp, common_speculative_impl_draft_mtp):
//
//   state between rounds: the trunk has run tokens [0, P); `pending` is its greedy token for P
//   (emitted, not yet run); pending_h is the trunk's hidden state of P - 1 (after output_norm);
//   the MTP KV rows [0, P) hold the pairs (h of p - 1, token p).
//   draft:  d_0 = argmax mtp(pending_h, pending, P); d_i = argmax mtp(mtp.hidden(), d_{i-1}, P + i)
//   verify: the trunk runs [pending, d_0 .. d_{k-1}] at P .. P + k, giving a_0 .. a_k (argmax) and
//           h_0 .. h_k; n = the longest prefix with d_i == a_i; the round emits d_0 .. d_{n-1}, a_n
//   roll back: the trunk's recurrent state returns to its copy after position P + n (per-position
//           snapshots, taken as a batched verify would keep them); its KV rows past P + n are
//           rewritten before they are read
//   catch up: the MTP re-runs rows P .. P + n with the trunk's h (pairs (pending_h, pending),
//           (h_0, d_0), ..., (h_{n-1}, d_{n-1})), as llama.cpp's process() does over the verified
//           batch (it also runs the rejected rows; they are rewritten before any draft reads them);
//           pending = a_n, pending_h = h_n.
// The trunk steps exactly the tokens plain greedy decode would, from the same states, so the
// output is token-identical to it and the final state bit-identical.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/decoder.hpp"
#include "gdn/ref/mtp.hpp"

namespace gdn::ref {

struct SpeculativeOptions {
    int64_t max_ctx = 4096;      ///< trunk and MTP positions; a round drafts fewer near the end
    int64_t draft_len = 1;       ///< k: MTP drafts per round (llama.cpp's --draft-max)
    std::vector<bool> wht = {};  ///< as DecoderOptions::wht, for the trunk
};

struct SpeculativeStats {
    int64_t rounds = 0;
    int64_t drafted = 0;   ///< draft tokens verified
    int64_t accepted = 0;  ///< of them, accepted
    std::vector<int64_t> accepted_hist;  ///< [k + 1]: rounds that accepted n drafts, n = 0 .. k

    /// Tokens emitted per round (accepted drafts + the trunk's own): the speed-up bound.
    [[nodiscard]] double mean_tokens_per_round() const {
        return rounds > 0 ? static_cast<double>(accepted + rounds) / static_cast<double>(rounds) : 0.0;
    }
    [[nodiscard]] double acceptance_rate() const {
        return drafted > 0 ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0.0;
    }
};

/// Index of the largest logit, the lowest index among ties (the greedy choice everywhere here).
inline int32_t argmax(std::span<const float> logits) {
    GDN_CHECK(!logits.empty(), "argmax of no logits");
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

class SpeculativeDecoder {
public:
    SpeculativeDecoder(const ModelWeights& weights, SpeculativeOptions options)
        : opt_(std::move(options)), trunk_(weights, {.max_ctx = opt_.max_ctx, .wht = opt_.wht}),
          mtp_(weights, opt_.max_ctx) {
        GDN_CHECK(opt_.draft_len >= 1, "speculative: draft_len must be at least 1, got ", opt_.draft_len);
        const auto k = static_cast<size_t>(opt_.draft_len);
        const auto e = static_cast<size_t>(weights.config.n_embd);
        pending_h_.assign(e, 0.f);
        hs_.assign((k + 1) * e, 0.f);
        snaps_.resize(k);
        drafts_.reserve(k);
        emitted_.reserve(k + 1);
        stats_.accepted_hist.assign(k + 1, 0);
    }

    /// Runs the prompt (at least one token) through the trunk and the MTP block from position
    /// 0 and returns the trunk's greedy next token (the first emitted).
    int32_t prefill(std::span<const int32_t> prompt) {
        GDN_CHECK(!prompt.empty(), "speculative: empty prompt");
        reset();
        for (size_t p = 0; p < prompt.size(); ++p) {
            mtp_.append(pending_h_, prompt[p], static_cast<int64_t>(p));
            trunk_.step(prompt[p]);
            std::copy(trunk_.hidden().begin(), trunk_.hidden().end(), pending_h_.begin());
        }
        pending_ = argmax(trunk_.logits());
        return pending_;
    }

    /// The MTP block's greedy drafts for the tokens after pending() (k of them, fewer where
    /// the verify would pass max_ctx). Writes MTP KV rows the next round rewrites.
    std::span<const int32_t> draft() {
        need_prefill();
        const int64_t pos = trunk_.position();
        const int64_t k = std::min(opt_.draft_len, trunk_.max_ctx() - 1 - pos);
        drafts_.clear();
        int32_t tok = pending_;
        for (int64_t i = 0; i < k; ++i) {
            tok = argmax(mtp_.step(i == 0 ? std::span<const float>(pending_h_) : mtp_.hidden(), tok, pos + i));
            drafts_.push_back(tok);
        }
        return drafts_;
    }

    /// One round with the MTP's drafts; returns the emitted tokens (1 .. k + 1), valid until
    /// the next call.
    std::span<const int32_t> round() {
        return verify(draft());  // verify() reads drafts_ and writes only emitted_
    }

    /// Verifies `drafts` (at most k; from the MTP or any drafter) as the tokens after pending()
    /// and returns the emitted ones: the accepted drafts, then the trunk's token.
    std::span<const int32_t> verify(std::span<const int32_t> drafts) {
        need_prefill();
        const int64_t pos = trunk_.position();
        const auto nd = static_cast<int64_t>(drafts.size());
        GDN_CHECK(nd <= opt_.draft_len, "speculative: ", nd, " drafts, draft_len is ", opt_.draft_len);
        GDN_CHECK(pos + nd < trunk_.max_ctx(), "speculative: verifying ", nd + 1, " tokens at position ", pos,
                  " passes max_ctx = ", trunk_.max_ctx());
        for (int32_t d : drafts) {  // before any step, so a bad draft leaves the state as it was
            GDN_CHECK(d >= 0 && d < trunk_.config().n_vocab, "speculative: draft token ", d,
                      " is out of range [0, ", trunk_.config().n_vocab, ")");
        }
        const size_t e = pending_h_.size();
        auto token = [&](int64_t j) { return j == 0 ? pending_ : drafts[static_cast<size_t>(j - 1)]; };
        auto hidden = [&](int64_t j) { return std::span<float>(hs_).subspan(static_cast<size_t>(j) * e, e); };

        // the batched verify: every position runs, keeping its argmax, hidden state and
        // (below the last) the state after it; the first mismatch fixes n, the accepted drafts
        int64_t n = nd;
        int32_t next = 0;
        for (int64_t j = 0; j <= nd; ++j) {
            const int32_t a = argmax(trunk_.step(token(j)));
            std::copy(trunk_.hidden().begin(), trunk_.hidden().end(), hidden(j).begin());
            if (j < nd) trunk_.save(snaps_[static_cast<size_t>(j)]);
            if (n == nd && (j == nd || a != drafts[static_cast<size_t>(j)])) {
                n = j;
                next = a;
            }
        }
        if (n < nd) trunk_.restore(snaps_[static_cast<size_t>(n)]);

        // catch up the MTP KV rows pos .. pos + n with the trunk's hidden states
        for (int64_t j = 0; j <= n; ++j) {
            mtp_.append(j == 0 ? std::span<const float>(pending_h_) : hidden(j - 1), token(j), pos + j);
        }
        std::copy(hidden(n).begin(), hidden(n).end(), pending_h_.begin());

        emitted_.assign(drafts.begin(), drafts.begin() + static_cast<std::ptrdiff_t>(n));
        emitted_.push_back(next);
        pending_ = next;
        ++stats_.rounds;
        stats_.drafted += nd;
        stats_.accepted += n;
        ++stats_.accepted_hist[static_cast<size_t>(n)];
        return emitted_;
    }

    /// prefill(prompt), then rounds until n_new tokens are emitted (the last round's surplus is
    /// dropped; the trunk then stands past the returned tokens).
    std::vector<int32_t> generate(std::span<const int32_t> prompt, int64_t n_new) {
        std::vector<int32_t> out;
        if (n_new <= 0) return out;
        out.push_back(prefill(prompt));
        while (static_cast<int64_t>(out.size()) < n_new) {
            const auto got = round();
            out.insert(out.end(), got.begin(), got.end());
        }
        out.resize(static_cast<size_t>(n_new));
        return out;
    }

    /// Position 0, zero states and caches, statistics cleared.
    void reset() {
        trunk_.reset();
        mtp_.reset();
        std::fill(pending_h_.begin(), pending_h_.end(), 0.f);
        pending_ = -1;
        stats_ = SpeculativeStats{};
        stats_.accepted_hist.assign(static_cast<size_t>(opt_.draft_len) + 1, 0);
    }

    /// The trunk's greedy token for position trunk().position(), emitted and not yet run.
    [[nodiscard]] int32_t pending() const { return pending_; }
    [[nodiscard]] const SpeculativeStats& stats() const { return stats_; }
    [[nodiscard]] int64_t draft_len() const { return opt_.draft_len; }
    /// The trunk; after a round that rejected a draft its logits() and hidden() are those of the
    /// last verified position, not of the accepted one (pending() is the choice that counts).
    [[nodiscard]] RuntimeDecoder& trunk() { return trunk_; }
    [[nodiscard]] MtpLayer& mtp() { return mtp_; }

private:
    void need_prefill() const {
        GDN_CHECK(pending_ >= 0, "speculative: prefill() a prompt before drafting or verifying");
    }

    SpeculativeOptions opt_;
    RuntimeDecoder trunk_;
    MtpLayer mtp_;
    std::vector<float> pending_h_;                  // [n_embd] trunk hidden of position() - 1
    std::vector<float> hs_;                         // [k + 1, n_embd] trunk hidden of each verified position
    std::vector<RuntimeDecoder::Snapshot> snaps_;   // [k] trunk state after each verified draft position
    std::vector<int32_t> drafts_, emitted_;
    int32_t pending_ = -1;
    SpeculativeStats stats_;
};

}  // namespace gdn::ref

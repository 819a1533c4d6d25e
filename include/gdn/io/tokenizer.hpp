// gdn/io/tokenizer.hpp - byte-level BPE from GGUF tokenizer metadata, as llama.cpp runs
// it for Qwen2 / Qwen3 / Qwen3.5 models (tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre
// = "qwen2" or "qwen35").
//
// encode: text -> split on special tokens (CONTROL only when parse_special, USER_DEFINED
//         always, longest text first) -> each plain fragment split by the pre-tokenizer
//         regex -> each word's bytes merged by rank (lowest rank first, leftmost on ties)
//         -> token ids.
// decode: ids -> each token's bytes (NORMAL tokens through GPT-2's byte map, the others
//         as their text) concatenated.
//
// Differences from llama.cpp: bytes that are not valid UTF-8 are kept (llama.cpp turns
// them into U+FFFD), so encode/decode round-trip any byte string; "'" + U+017F counts as
// the contraction "'s" as in Hugging Face (see PreTokenizer). Like llama.cpp and unlike
// Hugging Face, no NFC normalization is done: callers pass NFC text.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/unicode.hpp"

namespace gdn::io {

/// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

/// The split regex a vocabulary was trained with (tokenizer.ggml.pre).
///  qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
///          |\s*[\r\n]+|\s+(?!\S)|\s+
///  qwen35: the same with combining marks kept in words: [^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+ and
///          ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*
/// The contraction letters match case-insensitively with Unicode simple case folding, as
/// Hugging Face and tiktoken do: ASCII plus U+017F (long s) for 's'. llama.cpp folds ASCII
/// only, so "'\u017Fa" is the one input where the two differ; gdn follows Hugging Face.
enum class PreTokenizer { qwen2, qwen35 };

/// llama.cpp's names for the two regexes; anything else is a gdn::Error.
inline PreTokenizer pre_tokenizer_from_name(std::string_view name) {
    if (name == "qwen2" || name == "deepseek-r1-qwen") return PreTokenizer::qwen2;
    if (name == "qwen35") return PreTokenizer::qwen35;
    fail("tokenizer.ggml.pre '", name, "' is not supported (supported: qwen2, deepseek-r1-qwen, qwen35)");
}

/// Split text into the words BPE runs on, as the pre-tokenizer regex finds them
/// (Isolated: the matches in order; together they cover the text).
inline std::vector<std::string_view> pretokenize(std::string_view text, PreTokenizer pre) {
    using unicode::CpClass;
    enum : uint8_t { kLetter = 1, kNumber = 2, kMark = 4, kSpace = 8, kNewline = 16 };
    std::vector<uint8_t> flags;  // [n]
    std::vector<uint32_t> cps;   // [n]
    std::vector<size_t> offs;    // [n + 1] byte offset of each code point
    flags.reserve(text.size());
    cps.reserve(text.size());
    offs.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
        const unicode::DecodedCp d = unicode::decode_utf8(text, pos);
        uint8_t f = 0;
        if (d.cp != unicode::kInvalidCp) {
            switch (unicode::cp_class(d.cp)) {
                case CpClass::letter: f = kLetter; break;
                case CpClass::number: f = kNumber; break;
                case CpClass::mark: f = kMark; break;
                case CpClass::other: break;
            }
            if (unicode::is_whitespace(d.cp)) f |= kSpace;
            if (d.cp == '\r' || d.cp == '\n') f |= kNewline;
        }
        cps.push_back(d.cp);
        flags.push_back(f);
        offs.push_back(pos);
        pos += d.len;
    }
    offs.push_back(text.size());
    const size_t n = cps.size();
    const uint8_t word = pre == PreTokenizer::qwen35 ? uint8_t(kLetter | kMark) : uint8_t(kLetter);
    const uint8_t not_punct = word | kNumber | kSpace;
    const auto is_word = [&](size_t i) { return i < n && (flags[i] & word); };
    const auto is_punct = [&](size_t i) { return i < n && !(flags[i] & not_punct); };
    const auto is_space = [&](size_t i) { return i < n && (flags[i] & kSpace); };
    const auto lower = [&](size_t i) -> uint32_t {
        if (i >= n) return 0;
        const uint32_t c = cps[i];
        if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S folds to 's'
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    };

    std::vector<std::string_view> words;
    size_t i = 0;
    const auto emit = [&](size_t end) {
        words.push_back(text.substr(offs[i], offs[end] - offs[i]));
        i = end;
    };
    while (i < n) {
        // 's 't 're 've 'm 'll 'd
        if (cps[i] == '\'') {
            const uint32_t a = lower(i + 1);
            const uint32_t b = lower(i + 2);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') { emit(i + 2); continue; }
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) { emit(i + 3); continue; }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+  (qwen35: [\p{L}\p{M}]+)
        {
            size_t j = i;
            if (!(flags[i] & (kLetter | kNumber | kNewline)) && is_word(i + 1)) j = i + 1;
            if (is_word(j)) {
                while (is_word(j)) ++j;
                emit(j);
                continue;
            }
        }
        // \p{N}
        if (flags[i] & kNumber) { emit(i + 1); continue; }
        // ' '?[^\s\p{L}\p{N}]+[\r\n]*  (qwen35: [^\s\p{L}\p{M}\p{N}])
        {
            size_t j = (cps[i] == ' ' && is_punct(i + 1)) ? i + 1 : i;
            if (is_punct(j)) {
                while (is_punct(j)) ++j;
                while (j < n && (flags[j] & kNewline)) ++j;
                emit(j);
                continue;
            }
        }
        if (flags[i] & kSpace) {
            size_t j = i;
            size_t after_newline = 0;
            while (is_space(j)) {
                if (flags[j] & kNewline) after_newline = j + 1;
                ++j;
            }
            if (after_newline) { emit(after_newline); continue; }  // \s*[\r\n]+
            if (j == n || j - 1 == i) { emit(j); continue; }     // \s+(?!\S), else \s+
            emit(j - 1);                                            // \s+(?!\S): leave one
            continue;
        }
        emit(i + 1);  // unreachable: every code point falls in one class above
    }
    return words;
}

/// The GGUF tokenizer arrays and ids (the tokenizer.ggml.* keys).
struct TokenizerVocab {
    std::vector<std::string> tokens;   // tokenizer.ggml.tokens; NORMAL ones in GPT-2 byte text
    std::vector<std::string> merges;   // tokenizer.ggml.merges: "left right", rank = index
    std::vector<int32_t> token_types;  // tokenizer.ggml.token_type; empty: all NORMAL
    std::string model = "gpt2";        // tokenizer.ggml.model
    std::string pre = "qwen2";         // tokenizer.ggml.pre
    int32_t bos_id = -1;               // -1: none
    int32_t eos_id = -1;
    int32_t eot_id = -1;
    int32_t pad_id = -1;
    bool add_bos = false;  // tokenizer.ggml.add_bos_token
    bool add_eos = false;  // tokenizer.ggml.add_eos_token
};

namespace detail {

/// Open-addressing map from a token pair (left id, right id) to its merge. BPE does one
/// lookup per adjacent pair; one flat array (16 B a slot, load <= 1/2) instead of a node
/// per merge. Measured: encode ~3 MB/s of text either way, bound by cache misses.
class MergeTable {
public:
    struct Merge {
        int32_t rank;
        int32_t id;  // the merged token
    };

    void reserve(size_t n) {
        size_t cap = 16;
        while (cap < 2 * n) cap *= 2;
        slots_.assign(cap, Slot{kEmpty, {}});
        mask_ = cap - 1;
    }

    /// Keeps the first merge inserted for a pair (the lowest rank).
    void insert(int32_t a, int32_t b, Merge m) {
        const uint64_t key = pair_key(a, b);
        for (size_t i = hash(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return;
            if (slots_[i].key == kEmpty) {
                slots_[i] = {key, m};
                return;
            }
        }
    }

    const Merge* find(int32_t a, int32_t b) const {
        const uint64_t key = pair_key(a, b);
        for (size_t i = hash(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return &slots_[i].merge;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }

private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are >= 0, so no pair has this key
    struct Slot {
        uint64_t key;
        Merge merge;
    };
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    size_t hash(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

}  // namespace detail

/// The tokenizer.ggml.* keys of a GGUF file. Missing arrays, ids of a non-integer type
/// and token types that are not i32 are gdn::Errors naming the key.
inline TokenizerVocab tokenizer_vocab_from_gguf(const GgufFile& f) {
    TokenizerVocab v;
    v.model = f.get_string("tokenizer.ggml.model");
    v.pre = f.find_string("tokenizer.ggml.pre").value_or("default");
    v.tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
    v.merges = f.find_array<std::string>("tokenizer.ggml.merges").value_or(std::vector<std::string>{});
    v.token_types = f.find_array<int32_t>("tokenizer.ggml.token_type").value_or(std::vector<int32_t>{});
    const auto id = [&](const char* key) -> int32_t {
        const std::optional<int64_t> x = f.find_int(key);
        if (!x) return -1;
        GDN_CHECK(*x >= 0 && *x < static_cast<int64_t>(v.tokens.size()), "gguf key '", key, "' = ", *x,
                  " is not a token id (the vocabulary has ", v.tokens.size(), ")");
        return static_cast<int32_t>(*x);
    };
    v.bos_id = id("tokenizer.ggml.bos_token_id");
    v.eos_id = id("tokenizer.ggml.eos_token_id");
    v.eot_id = id("tokenizer.ggml.eot_token_id");
    v.pad_id = id("tokenizer.ggml.padding_token_id");
    v.add_bos = f.find<bool>("tokenizer.ggml.add_bos_token").value_or(false);
    v.add_eos = f.find<bool>("tokenizer.ggml.add_eos_token").value_or(false);
    return v;
}

struct EncodeOptions {
    bool add_special = false;   // prepend BOS / append EOS where the vocabulary asks for them
    bool parse_special = true;  // match CONTROL tokens' text (USER_DEFINED always match)
};

struct DecodeOptions {
    bool special = true;  // render CONTROL / UNKNOWN tokens as their text (else as nothing)
};

class Tokenizer {
public:
    explicit Tokenizer(TokenizerVocab vocab) : vocab_(std::move(vocab)) { build(); }

    static Tokenizer from_gguf(const GgufFile& f) { return Tokenizer(tokenizer_vocab_from_gguf(f)); }

    /// text -> ids. Never fails: every byte has a token.
    std::vector<int32_t> encode(std::string_view text, EncodeOptions opt = {}) const {
        std::vector<int32_t> out;
        if (opt.add_special && vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
        // Fragments: special token ids (>= 0) or plain text (id -1), longest specials first.
        struct Fragment {
            int32_t id;
            std::string_view text;
        };
        std::vector<Fragment> frags{{-1, text}};
        std::vector<Fragment> next;
        for (const int32_t sid : specials_) {
            const auto type = token_type(sid);
            if (!opt.parse_special && (type == TokenType::control || type == TokenType::unknown)) continue;
            const std::string_view st = vocab_.tokens[static_cast<size_t>(sid)];
            next.clear();
            for (const Fragment& f : frags) {
                if (f.id >= 0 || f.text.size() < st.size()) { next.push_back(f); continue; }
                size_t start = 0;
                for (size_t at = f.text.find(st); at != std::string_view::npos; at = f.text.find(st, start)) {
                    if (at > start) next.push_back({-1, f.text.substr(start, at - start)});
                    next.push_back({sid, st});
                    start = at + st.size();
                }
                if (start < f.text.size()) next.push_back({-1, f.text.substr(start)});
            }
            frags.swap(next);
        }
        for (const Fragment& f : frags) {
            if (f.id >= 0) { out.push_back(f.id); continue; }
            for (const std::string_view w : pretokenize(f.text, pre_)) bpe_word(w, out);
        }
        if (opt.add_special && vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
        return out;
    }

    /// ids -> bytes. An id outside [0, n_tokens) is a gdn::Error naming it and its position.
    std::string decode(std::span<const int32_t> ids, DecodeOptions opt = {}) const {
        std::string out;
        for (size_t k = 0; k < ids.size(); ++k) {
            check_id(ids[k], k);
            out += piece(ids[k], opt);
        }
        return out;
    }

    /// The bytes one token stands for (what decode appends for it).
    std::string_view piece(int32_t id, DecodeOptions opt = {}) const {
        check_id(id);
        const auto type = token_type(id);
        if (!opt.special && (type == TokenType::control || type == TokenType::unknown)) return {};
        const auto i = static_cast<size_t>(id);
        return std::string_view(pieces_).substr(piece_offs_[i], piece_offs_[i + 1] - piece_offs_[i]);
    }

    int32_t n_tokens() const { return static_cast<int32_t>(vocab_.tokens.size()); }
    const std::string& token_text(int32_t id) const {
        check_id(id);
        return vocab_.tokens[static_cast<size_t>(id)];
    }
    TokenType token_type(int32_t id) const {
        check_id(id);
        return vocab_.token_types.empty() ? TokenType::normal
                                          : static_cast<TokenType>(vocab_.token_types[static_cast<size_t>(id)]);
    }
    /// The id whose GGUF text is `text`, or -1.
    int32_t token_id(std::string_view text) const {
        const auto it = token_to_id_.find(std::string(text));
        return it == token_to_id_.end() ? -1 : it->second;
    }
    int32_t bos_id() const { return vocab_.bos_id; }
    int32_t eos_id() const { return vocab_.eos_id; }
    int32_t eot_id() const { return vocab_.eot_id; }
    int32_t pad_id() const { return vocab_.pad_id; }
    PreTokenizer pre_tokenizer() const { return pre_; }
    /// End of generation: EOS, EOT, and the CONTROL tokens llama.cpp also stops on.
    bool is_eog(int32_t id) const { return std::binary_search(eog_.begin(), eog_.end(), id); }
    const std::vector<int32_t>& eog_ids() const { return eog_; }

private:
    void check_id(int32_t id) const {
        if (id < 0 || id >= n_tokens()) fail("token id ", id, " is out of range [0, ", n_tokens(), ")");
    }
    void check_id(int32_t id, size_t pos) const {
        if (id < 0 || id >= n_tokens())
            fail("token id ", id, " at position ", pos, " is out of range [0, ", n_tokens(), ")");
    }

    void build() {
        GDN_CHECK(vocab_.model == "gpt2", "tokenizer.ggml.model '", vocab_.model,
                  "' is not supported (only byte-level BPE, 'gpt2')");
        pre_ = pre_tokenizer_from_name(vocab_.pre);
        const size_t n = vocab_.tokens.size();
        GDN_CHECK(n > 0 && n < static_cast<size_t>(std::numeric_limits<int32_t>::max()),
                  "tokenizer.ggml.tokens has ", n, " entries");
        GDN_CHECK(vocab_.token_types.empty() || vocab_.token_types.size() == n, "tokenizer.ggml.token_type has ",
                  vocab_.token_types.size(), " entries for ", n, " tokens");
        for (size_t i = 0; i < vocab_.token_types.size(); ++i)
            GDN_CHECK(vocab_.token_types[i] >= 0 && vocab_.token_types[i] <= 6, "tokenizer.ggml.token_type[", i,
                      "] = ", vocab_.token_types[i], " is not a token type (0..6)");
        const std::pair<const char*, int32_t> ids[] = {
            {"bos", vocab_.bos_id}, {"eos", vocab_.eos_id}, {"eot", vocab_.eot_id}, {"padding", vocab_.pad_id}};
        for (const auto& [name, id] : ids)
            GDN_CHECK(id >= -1 && id < static_cast<int32_t>(n), "tokenizer.ggml.", name, "_token_id = ", id,
                      " is out of range [0, ", n, ")");

        token_to_id_.reserve(n);
        for (size_t i = 0; i < n; ++i) token_to_id_[vocab_.tokens[i]] = static_cast<int32_t>(i);  // last wins

        for (int b = 0; b < 256; ++b) {
            std::string t;
            unicode::append_utf8(t, unicode::kByteToCp[static_cast<size_t>(b)]);
            const int32_t id = token_id(t);
            GDN_CHECK(id >= 0, "byte-level vocabulary has no token for byte ", b, " (text '", t, "')");
            byte_token_[static_cast<size_t>(b)] = id;
        }

        merges_.reserve(vocab_.merges.size());
        for (size_t r = 0; r < vocab_.merges.size(); ++r) {
            const std::string& m = vocab_.merges[r];
            const size_t sp = m.find(' ', 1);
            GDN_CHECK(sp != std::string::npos, "tokenizer.ggml.merges[", r, "] = '", m, "' is not 'left right'");
            const std::string left = m.substr(0, sp);
            const std::string right = m.substr(sp + 1);
            const int32_t a = token_id(left);
            const int32_t b = token_id(right);
            const int32_t ab = token_id(left + right);
            GDN_CHECK(a >= 0 && b >= 0 && ab >= 0, "tokenizer.ggml.merges[", r, "] = '", m, "': '",
                      a < 0 ? left : b < 0 ? right : left + right, "' is not in the vocabulary");
            merges_.insert(a, b, {static_cast<int32_t>(r), ab});
        }

        piece_offs_.resize(n + 1);
        for (size_t i = 0; i < n; ++i) {
            piece_offs_[i] = pieces_.size();
            const std::string& t = vocab_.tokens[i];
            const auto type = token_type(static_cast<int32_t>(i));
            if (type == TokenType::normal) {
                for (size_t pos = 0; pos < t.size();) {
                    const unicode::DecodedCp d = unicode::decode_utf8(t, pos);
                    const int byte = unicode::cp_to_byte(d.cp);
                    // A code point outside the byte map stays as it is written.
                    if (byte >= 0) pieces_ += static_cast<char>(byte);
                    else pieces_.append(t, pos, d.len);
                    pos += d.len;
                }
            } else if (type == TokenType::control || type == TokenType::user_defined ||
                       type == TokenType::unknown) {
                pieces_ += t;
            }
        }
        piece_offs_[n] = pieces_.size();

        for (size_t i = 0; i < n; ++i) {
            const auto type = token_type(static_cast<int32_t>(i));
            if ((type == TokenType::control || type == TokenType::user_defined || type == TokenType::unknown) &&
                !vocab_.tokens[i].empty())
                specials_.push_back(static_cast<int32_t>(i));
        }
        std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
            return vocab_.tokens[static_cast<size_t>(a)].size() > vocab_.tokens[static_cast<size_t>(b)].size();
        });

        static constexpr std::string_view eog_texts[] = {"<|endoftext|>", "<|im_end|>",  "<|eot_id|>",
                                                         "<|end|>",       "<end_of_turn>", "<|fim_pad|>",
                                                         "<|repo_name|>", "<|file_sep|>"};
        for (const int32_t id : {vocab_.eos_id, vocab_.eot_id})
            if (id >= 0) eog_.push_back(id);
        for (const int32_t id : specials_)
            if (token_type(id) == TokenType::control &&
                std::find(std::begin(eog_texts), std::end(eog_texts), vocab_.tokens[static_cast<size_t>(id)]) !=
                    std::end(eog_texts))
                eog_.push_back(id);
        std::sort(eog_.begin(), eog_.end());
        eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());
    }

    /// Merge one word's bytes by rank and append the resulting ids.
    void bpe_word(std::string_view word, std::vector<int32_t>& out) const {
        const int32_t n = static_cast<int32_t>(word.size());
        if (n == 0) return;
        struct Symbol {
            int32_t id;
            int32_t prev;  // -1: none
            int32_t next;  // n: none
            bool alive;
        };
        std::vector<Symbol> sym(static_cast<size_t>(n));
        for (int32_t i = 0; i < n; ++i)
            sym[static_cast<size_t>(i)] = {byte_token_[static_cast<uint8_t>(word[static_cast<size_t>(i)])], i - 1,
                                           i + 1, true};
        struct Candidate {
            int32_t rank;
            int32_t left;
            int32_t left_id;
            int32_t right_id;
            int32_t merged_id;
            bool operator<(const Candidate& o) const {  // std::priority_queue pops the largest
                return rank != o.rank ? rank > o.rank : left > o.left;
            }
        };
        std::priority_queue<Candidate> queue;
        const auto push = [&](int32_t left) {
            if (left < 0 || left >= n) return;
            const int32_t right = sym[static_cast<size_t>(left)].next;
            if (right >= n) return;
            const int32_t a = sym[static_cast<size_t>(left)].id;
            const int32_t b = sym[static_cast<size_t>(right)].id;
            if (const detail::MergeTable::Merge* m = merges_.find(a, b)) queue.push({m->rank, left, a, b, m->id});
        };
        for (int32_t i = 0; i + 1 < n; ++i) push(i);
        while (!queue.empty()) {
            const Candidate c = queue.top();
            queue.pop();
            Symbol& l = sym[static_cast<size_t>(c.left)];
            if (!l.alive || l.id != c.left_id || l.next >= n) continue;  // stale: left changed
            Symbol& r = sym[static_cast<size_t>(l.next)];
            if (r.id != c.right_id) continue;  // stale: right neighbour changed
            l.id = c.merged_id;
            r.alive = false;
            l.next = r.next;
            if (r.next < n) sym[static_cast<size_t>(r.next)].prev = c.left;
            push(l.prev);
            push(c.left);
        }
        for (int32_t i = 0; i < n; i = sym[static_cast<size_t>(i)].next) out.push_back(sym[static_cast<size_t>(i)].id);
    }

    TokenizerVocab vocab_;
    PreTokenizer pre_ = PreTokenizer::qwen2;
    std::unordered_map<std::string, int32_t> token_to_id_;
    detail::MergeTable merges_;
    int32_t byte_token_[256] = {};
    std::string pieces_;             // every token's bytes, back to back
    std::vector<size_t> piece_offs_;  // [n_tokens + 1]
    std::vector<int32_t> specials_;  // CONTROL / USER_DEFINED / UNKNOWN ids, longest text first
    std::vector<int32_t> eog_;       // sorted
};

/// Decodes a token stream and returns only whole UTF-8 sequences: the bytes of a
/// character split across tokens are held until its last byte arrives. Bytes that can
/// never complete a valid sequence are passed on as they are, so the concatenation of
/// every push() and the final flush() equals Tokenizer::decode of the same ids.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tok, DecodeOptions opt = {}) : tok_(&tok), opt_(opt) {}

    std::string push(int32_t id) {
        pending_ += tok_->piece(id, opt_);
        const size_t cut = complete_prefix(pending_);
        std::string out = pending_.substr(0, cut);
        pending_.erase(0, cut);
        return out;
    }

    /// Whatever is held back (an unfinished sequence at the end of the stream).
    std::string flush() { return std::exchange(pending_, std::string()); }

private:
    /// Length of s without a trailing lead byte whose continuation bytes have not all come.
    static size_t complete_prefix(std::string_view s) {
        const size_t n = s.size();
        for (size_t k = 1; k <= 3 && k <= n; ++k) {
            const auto b = static_cast<uint8_t>(s[n - k]);
            if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
            const size_t need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return need > k ? n - k : n;
        }
        return n;
    }

    const Tokenizer* tok_;
    DecodeOptions opt_;
    std::string pending_;
};

}  // namespace gdn::io

// gdn::io::Tokenizer against Hugging Face tokenizers on real Qwen vocabularies
// (tests/data/tokenizer, made by tools/make_tokenizer_data.py), plus llama.cpp's own
// output on a real Qwen3.6 GGUF for a few strings, decoding, streaming and bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gdn/io/tokenizer.hpp"
#include "tokenizer_data.hpp"

using gdn::io::DecodeOptions;
using gdn::io::EncodeOptions;
using gdn::io::StreamDecoder;
using gdn::io::Tokenizer;
using gdn::io::TokenizerVocab;
using Ids = std::vector<int32_t>;

namespace {

std::string show(const std::string& s) {
    std::ostringstream os;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7F && c != '\\') os << c;
        else { char buf[8]; std::snprintf(buf, sizeof buf, "\\x%02X", c); os << buf; }
    }
    return os.str();
}

std::string show(const Ids& ids) {
    std::ostringstream os;
    for (size_t k = 0; k < ids.size(); ++k) os << (k ? " " : "") << ids[k];
    return os.str();
}

bool valid_utf8(const std::string& s) {
    for (size_t pos = 0; pos < s.size();) {
        const auto d = gdn::io::unicode::decode_utf8(s, pos);
        if (d.cp == gdn::io::unicode::kInvalidCp) return false;
        pos += d.len;
    }
    return true;
}

void check_against_hf(const std::string& name) {
    const Tokenizer& tok = gdn::test::cached_tokenizer(name);
    const auto cases = gdn::test::load_cases(gdn::test::tokenizer_data_dir() / (name + ".cases"));
    REQUIRE(cases.size() >= 300);
    size_t match = 0;
    size_t match_plain = 0;
    size_t n_ids = 0;
    for (const auto& c : cases) {
        const Ids got = tok.encode(c.text);
        const Ids got_plain = tok.encode(c.text, {.parse_special = false});
        n_ids += c.ids.size();
        match += got == c.ids;
        match_plain += got_plain == c.ids_plain;
        INFO("text: " << show(c.text));
        CHECK(show(got) == show(c.ids));
        CHECK(show(got_plain) == show(c.ids_plain));
    }
    WARN(name << ": encode matches Hugging Face on " << match << " / " << cases.size()
              << " strings with special tokens parsed, " << match_plain << " / " << cases.size()
              << " without (" << n_ids << " ids)");
}

}  // namespace

TEST_CASE("tokenizer: qwen35 vocabulary loads as the GGUF has it", "[tokenizer]") {
    const auto file = gdn::test::load_vocab_file(gdn::test::tokenizer_data_dir() / "qwen35.vocab");
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    CHECK(tok.n_tokens() == 248320);
    CHECK(file.vocab.merges.size() >= 247000);
    CHECK(tok.pre_tokenizer() == gdn::io::PreTokenizer::qwen35);
    // The byte map the data file was written with (Python's) equals ours.
    for (int b = 0; b < 256; ++b) {
        std::string t;
        gdn::io::unicode::append_utf8(t, gdn::io::unicode::kByteToCp[static_cast<size_t>(b)]);
        CHECK(file.byte_text[static_cast<size_t>(b)] == t);
    }
    CHECK(tok.token_text(0) == "!");
    CHECK(tok.token_text(248045) == "<|im_start|>");
    CHECK(tok.token_type(248045) == gdn::io::TokenType::control);
    CHECK(tok.token_type(tok.token_id("<think>")) == gdn::io::TokenType::user_defined);
    CHECK(tok.token_type(248319) == gdn::io::TokenType::unused);
    CHECK(tok.bos_id() == 248044);
    CHECK(tok.eos_id() == 248046);
    // llama.cpp's end-of-generation set for this vocabulary.
    CHECK(tok.eog_ids() == Ids{248044, 248046, 248063, 248064, 248065});
    CHECK(tok.is_eog(248046));
    CHECK_FALSE(tok.is_eog(248045));
}

TEST_CASE("tokenizer: qwen35 encode equals Hugging Face on every test string", "[tokenizer]") {
    check_against_hf("qwen35");
}

TEST_CASE("tokenizer: qwen3 (real tokenizer.json) encode equals Hugging Face on every test string", "[tokenizer]") {
    check_against_hf("qwen3");
}

TEST_CASE("tokenizer: qwen35 equals llama.cpp's llama-tokenize on a real Qwen3.6 GGUF", "[tokenizer]") {
    // Published llama-tokenize output (llama.cpp build 10150) on Qwen3.6-35B-A3B-UD-Q4_K_M.gguf,
    // whose vocabulary, merges and pre-tokenizer (qwen35) are Qwen3.5's.
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    struct Probe {
        const char* text;
        Ids ids;
        bool parse_special;
    };
    const Probe probes[] = {
        {"\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5\xE0\xB8\x84\xE0\xB8\xA3\xE0\xB8"
         "\xB1\xE0\xB8\x9A \xE0\xB8\x9C\xE0\xB8\xA1\xE0\xB8\x8A\xE0\xB8\xB7\xE0\xB9\x88\xE0\xB8\xAD\xE0\xB8\xAD\xE0"
         "\xB9\x80\xE0\xB8\xA5\xE0\xB9\x87\xE0\xB8\x81\xE0\xB8\x8B\xE0\xB9\x8C",  // สวัสดีครับ ผมชื่ออเล็กซ์
         {34469, 168607, 153295, 173922, 153380, 22216, 151752, 172769}, true},
        {"\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81\xE4\xBB\x8A\xE5\xA4\xA9\xE6\x98"
         "\xAF" "2026\xE5\xB9\xB4" "8\xE6\x9C\x88" "13\xE6\x97\xA5 \xF0\x9F\x8E\x89",  // 你好，世界！今天是2026年8月13日 🎉
         {109266, 3709, 96748, 6115, 113128, 17, 15, 17, 21, 95859, 23, 96212, 16, 18, 95971, 10838, 236, 231}, true},
        {"transformers", {4549, 382}, true},
        {"\xE4\xBA\xBA\xE5\xB7\xA5\xE6\x99\xBA\xE8\x83\xBD", {109015}, true},  // 人工智能
        {"<|im_start|>", {248045}, true},
        {"<|im_start|>", {27, 91, 316, 4747, 91, 29}, false},
    };
    for (const auto& p : probes) {
        INFO("text: " << show(p.text) << " parse_special " << p.parse_special);
        const Ids got = tok.encode(p.text, {.parse_special = p.parse_special});
        CHECK(show(got) == show(p.ids));
        CHECK(tok.decode(got) == p.text);
    }
}

TEST_CASE("tokenizer: decode inverts encode", "[tokenizer]") {
    for (const char* name : {"qwen35", "qwen3"}) {
        const Tokenizer& tok = gdn::test::cached_tokenizer(name);
        const auto cases = gdn::test::load_cases(gdn::test::tokenizer_data_dir() / (std::string(name) + ".cases"));
        size_t ok = 0;
        for (const auto& c : cases) {
            INFO(name << " text: " << show(c.text));
            const bool a = tok.decode(tok.encode(c.text)) == c.text;
            const bool b = tok.decode(tok.encode(c.text, {.parse_special = false})) == c.text;
            const bool e = tok.decode(c.ids) == c.text;  // Hugging Face's ids too
            CHECK(a);
            CHECK(b);
            CHECK(e);
            ok += a && b && e;
        }
        WARN(name << ": decode(encode(s)) == s on " << ok << " / " << cases.size() << " strings");
    }
}

TEST_CASE("tokenizer: any byte string round-trips, invalid UTF-8 included", "[tokenizer]") {
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    std::mt19937 rng(1234);
    int invalid = 0;
    for (int trial = 0; trial < 300; ++trial) {
        std::string s;
        const int len = 1 + static_cast<int>(rng() % 40);
        for (int k = 0; k < len; ++k) {
            const uint32_t r = rng() % 4;
            if (r == 0) s += static_cast<char>(rng() % 256);                // any byte
            else if (r == 1) s += static_cast<char>(0x80 + rng() % 0x40);   // stray continuation
            else if (r == 2) s += "\xE4\xBD";                               // truncated 你
            else s += static_cast<char>('a' + rng() % 26);
        }
        invalid += !valid_utf8(s);
        INFO("bytes: " << show(s));
        CHECK(tok.decode(tok.encode(s)) == s);
    }
    WARN(invalid << " of 300 random byte strings were invalid UTF-8; all round-tripped");
}

TEST_CASE("tokenizer: special tokens parsed or left as text", "[tokenizer]") {
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    const int32_t im_start = tok.token_id("<|im_start|>");
    const int32_t im_end = tok.token_id("<|im_end|>");
    const int32_t think = tok.token_id("<think>");
    REQUIRE(im_start == 248045);
    REQUIRE(im_end == 248046);
    REQUIRE(think > 0);
    const std::string text = "<|im_start|>user\nhi<|im_end|><think>";
    const Ids on = tok.encode(text);
    const Ids off = tok.encode(text, {.parse_special = false});
    CHECK(on.front() == im_start);
    CHECK(std::count(on.begin(), on.end(), im_end) == 1);
    CHECK(on.back() == think);
    // Not parsed: control tokens become their characters; user-defined ones still match.
    CHECK(std::count(off.begin(), off.end(), im_start) == 0);
    CHECK(std::count(off.begin(), off.end(), im_end) == 0);
    CHECK(off.back() == think);
    CHECK(tok.decode(off) == text);
    // Decoding can drop control tokens; user-defined ones are always text.
    CHECK(tok.decode(on, {.special = false}) == "user\nhi<think>");
    CHECK(tok.decode(on) == text);
    // Qwen adds no BOS even when asked for special tokens.
    CHECK(tok.encode("hi", {.add_special = true}) == tok.encode("hi"));
}

TEST_CASE("tokenizer: a character split across tokens", "[tokenizer]") {
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    // The byte tokens of 'é' (C3 A9) and of '🎉' (F0 9F 8E 89), one byte per token.
    const auto byte_id = [&](uint8_t b) {
        std::string t;
        gdn::io::unicode::append_utf8(t, gdn::io::unicode::kByteToCp[b]);
        return tok.token_id(t);
    };
    const Ids ids = {byte_id('a'), byte_id(0xC3), byte_id(0xA9), byte_id(0xF0), byte_id(0x9F), byte_id(0x8E),
                     byte_id(0x89), byte_id('b')};
    CHECK(tok.decode(ids) == "a\xC3\xA9\xF0\x9F\x8E\x89" "b");

    StreamDecoder stream(tok);
    std::vector<std::string> outs;
    for (int32_t id : ids) outs.push_back(stream.push(id));
    CHECK(outs == std::vector<std::string>{"a", "", "\xC3\xA9", "", "", "", "\xF0\x9F\x8E\x89", "b"});
    CHECK(stream.flush().empty());

    // A sequence left unfinished at the end comes out of flush().
    StreamDecoder cut(tok);
    CHECK(cut.push(byte_id('x')) == "x");
    CHECK(cut.push(byte_id(0xE4)).empty());
    CHECK(cut.push(byte_id(0xBD)).empty());
    CHECK(cut.flush() == "\xE4\xBD");
    // Bytes that can never form a character are passed on at once.
    StreamDecoder stray(tok);
    CHECK(stray.push(byte_id(0x80)) == "\x80");
    CHECK(stray.push(byte_id(0xFF)) == "\xFF");
}

TEST_CASE("tokenizer: streaming decode emits whole characters and equals decode", "[tokenizer]") {
    for (const char* name : {"qwen35", "qwen3"}) {
        const Tokenizer& tok = gdn::test::cached_tokenizer(name);
        const auto cases = gdn::test::load_cases(gdn::test::tokenizer_data_dir() / (std::string(name) + ".cases"));
        size_t held = 0;
        for (const auto& c : cases) {
            INFO(name << " text: " << show(c.text));
            StreamDecoder stream(tok);
            std::string all;
            bool each_valid = true;
            for (int32_t id : c.ids) {
                const std::string out = stream.push(id);
                each_valid = each_valid && valid_utf8(out);
                held += out.empty() && !tok.piece(id).empty();
                all += out;
            }
            all += stream.flush();
            CHECK(each_valid);
            CHECK(all == c.text);
        }
        WARN(name << ": streaming held back " << held << " token pieces until their character completed");
    }
}

TEST_CASE("tokenizer: bad ids and bad vocabularies are gdn::Error naming what", "[tokenizer]") {
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    const Ids bad = {9707, 1, 248320};
    CHECK_THROWS_AS(tok.decode(bad), gdn::Error);
    CHECK_THROWS_WITH(tok.decode(bad), Catch::Contains("248320") && Catch::Contains("position 2"));
    CHECK_THROWS_WITH(tok.decode(Ids{-5}), Catch::Contains("-5"));
    CHECK_THROWS_WITH(tok.piece(300000), Catch::Contains("token id 300000 is out of range [0, 248320)"));
    CHECK_THROWS_WITH(tok.token_text(-2), Catch::Contains("-2"));
    CHECK_THROWS_WITH(tok.token_type(248320), Catch::Contains("248320"));
    StreamDecoder stream(tok);
    CHECK_THROWS_WITH(stream.push(-1), Catch::Contains("-1"));

    // A small valid vocabulary: the 256 byte tokens, "ab", one merge.
    TokenizerVocab v;
    for (int b = 0; b < 256; ++b) {
        std::string t;
        gdn::io::unicode::append_utf8(t, gdn::io::unicode::kByteToCp[static_cast<size_t>(b)]);
        v.tokens.push_back(t);
    }
    v.tokens.push_back("ab");
    v.merges = {"a b"};
    {
        const Tokenizer small(v);
        CHECK(small.encode("abab") == Ids{256, 256});
        CHECK(small.encode("aab") == Ids{small.token_id("a"), 256});
    }
    auto broken = v;
    broken.pre = "gpt4o";
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("gpt4o"));
    broken = v;
    broken.model = "llama";
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("'llama'"));
    broken = v;
    broken.merges = {"a b", "b zz"};
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("merges[1]") && Catch::Contains("'zz'"));
    broken = v;
    broken.merges = {"ab"};
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("merges[0]"));
    broken = v;
    broken.token_types.assign(v.tokens.size(), 1);
    broken.token_types[7] = 9;
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("token_type[7] = 9"));
    broken = v;
    broken.token_types.assign(3, 1);
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("token_type has 3 entries"));
    broken = v;
    broken.eos_id = 257;
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("eos_token_id = 257"));
    broken = v;
    broken.tokens[' '] = "space";  // the token for byte 0x20 ("Ġ") is gone
    CHECK_THROWS_WITH(Tokenizer(broken), Catch::Contains("byte 32"));
}

TEST_CASE("tokenizer: encode throughput (information only)", "[tokenizer]") {
    const Tokenizer& tok = gdn::test::cached_tokenizer("qwen35");
    const auto cases = gdn::test::load_cases(gdn::test::tokenizer_data_dir() / "qwen35.cases");
    std::string text;
    while (text.size() < (1u << 20))
        for (const auto& c : cases) text += c.text;
    const auto t0 = std::chrono::steady_clock::now();
    const Ids ids = tok.encode(text);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(tok.decode(ids) == text);
    WARN("qwen35 encode: " << text.size() / 1e6 << " MB -> " << ids.size() << " tokens in " << s * 1e3 << " ms ("
                           << text.size() / 1e6 / s << " MB/s)");
}

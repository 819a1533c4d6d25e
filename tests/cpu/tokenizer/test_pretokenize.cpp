// The pre-tokenizer split and the Unicode helpers it rests on. Expected splits were
// worked out by hand from the regexes and confirmed with Hugging Face tokenizers'
// Split(Regex(pattern), "isolated") on the same strings.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gdn/io/tokenizer.hpp"
#include "gdn/io/unicode.hpp"

using gdn::io::PreTokenizer;
using gdn::io::pretokenize;
namespace unicode = gdn::io::unicode;

namespace {

std::vector<std::string> split(const std::string& s, PreTokenizer pre) {
    std::vector<std::string> out;
    for (auto w : pretokenize(s, pre)) out.emplace_back(w);
    return out;
}

using Words = std::vector<std::string>;

}  // namespace

TEST_CASE("pretokenize: splits shared by qwen2 and qwen35", "[tokenizer]") {
    for (const PreTokenizer pre : {PreTokenizer::qwen2, PreTokenizer::qwen35}) {
        CHECK(split("Hello world", pre) == Words{"Hello", " world"});
        CHECK(split("I'm fine", pre) == Words{"I", "'m", " fine"});
        CHECK(split("don't", pre) == Words{"don", "'t"});
        CHECK(split("THEY'LL we'Ve", pre) == Words{"THEY", "'LL", " we", "'Ve"});
        CHECK(split("'sa 'hello", pre) == Words{"'s", "a", " '", "hello"});
        CHECK(split("'\xC5\xBF" "a", pre) == Words{"'\xC5\xBF", "a"});  // ' + long s folds to 's
        CHECK(split("abc123", pre) == Words{"abc", "1", "2", "3"});
        CHECK(split("$100", pre) == Words{"$", "1", "0", "0"});
        CHECK(split("  hello", pre) == Words{" ", " hello"});
        CHECK(split("x \n\n y", pre) == Words{"x", " \n\n", " y"});
        CHECK(split("a  \t", pre) == Words{"a", "  \t"});
        CHECK(split(" ...\n\nabc", pre) == Words{" ...\n\n", "abc"});
        CHECK(split("Hello\r\nWorld", pre) == Words{"Hello", "\r\n", "World"});
        CHECK(split("ab\n  cd", pre) == Words{"ab", "\n", " ", " cd"});
        CHECK(split("a\xC2\xA0" "b", pre) == Words{"a", "\xC2\xA0" "b"});  // NBSP is \s, not L/N
        CHECK(split("\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C", pre) ==
              Words{"\xE4\xBD\xA0\xE5\xA5\xBD", "\xEF\xBC\x8C"});  // 你好，
        CHECK(split("\xD9\xA3\xE0\xA5\xAB", pre) == Words{"\xD9\xA3", "\xE0\xA5\xAB"});  // Arabic 3, Devanagari 5
        CHECK(split("", pre).empty());
        CHECK(split("   ", pre) == Words{"   "});
    }
}

TEST_CASE("pretokenize: combining marks join words only in qwen35", "[tokenizer]") {
    const std::string q_tilde = "q\xCC\x83";      // q + U+0303
    const std::string mark_x = "\xCC\x81x";       // U+0301 x
    const std::string sp_mark_x = " \xCC\x81x";   // space U+0301 x
    CHECK(split(q_tilde, PreTokenizer::qwen2) == Words{"q", "\xCC\x83"});
    CHECK(split(q_tilde, PreTokenizer::qwen35) == Words{q_tilde});
    CHECK(split(mark_x, PreTokenizer::qwen2) == Words{mark_x});  // the mark is the optional prefix
    CHECK(split(mark_x, PreTokenizer::qwen35) == Words{mark_x});
    CHECK(split(sp_mark_x, PreTokenizer::qwen2) == Words{" \xCC\x81", "x"});
    CHECK(split(sp_mark_x, PreTokenizer::qwen35) == Words{sp_mark_x});
}

TEST_CASE("pretokenize: words cover the text, invalid UTF-8 kept", "[tokenizer]") {
    const std::string s = "ok\xFF\xC3(\xE2\x82 \x80z";
    std::string joined;
    for (auto w : pretokenize(s, PreTokenizer::qwen35)) joined += w;
    CHECK(joined == s);
}

TEST_CASE("pretokenize: unknown pre-tokenizer names are errors", "[tokenizer]") {
    CHECK(gdn::io::pre_tokenizer_from_name("qwen2") == PreTokenizer::qwen2);
    CHECK(gdn::io::pre_tokenizer_from_name("qwen35") == PreTokenizer::qwen35);
    CHECK_THROWS_WITH(gdn::io::pre_tokenizer_from_name("llama3"), Catch::Contains("'llama3'"));
}

TEST_CASE("unicode: UTF-8 decoding", "[tokenizer]") {
    const auto d = [](const std::string& s) { return unicode::decode_utf8(s, 0); };
    CHECK(d("A").cp == 0x41);
    CHECK(d("\xC3\xA9").cp == 0xE9);
    CHECK(d("\xE4\xBD\xA0").cp == 0x4F60);
    CHECK(d("\xF0\x9F\x98\x80").cp == 0x1F600);
    CHECK(d("\xF0\x9F\x98\x80").len == 4);
    for (const char* bad : {"\x80", "\xC3", "\xC0\xAF", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF",
                            "\xE4\xBD("}) {
        INFO("bytes " << bad);
        CHECK(d(bad).cp == unicode::kInvalidCp);
        CHECK(d(bad).len == 1);
    }
    std::string out;
    for (uint32_t cp : {0x41u, 0xE9u, 0x4F60u, 0x1F600u}) unicode::append_utf8(out, cp);
    CHECK(out == "A\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80");
}

TEST_CASE("unicode: general categories and White_Space", "[tokenizer]") {
    using unicode::CpClass;
    CHECK(unicode::cp_class('a') == CpClass::letter);
    CHECK(unicode::cp_class('Z') == CpClass::letter);
    CHECK(unicode::cp_class('5') == CpClass::number);
    CHECK(unicode::cp_class('_') == CpClass::other);
    CHECK(unicode::cp_class(0x4F60) == CpClass::letter);   // 你
    CHECK(unicode::cp_class(0x0663) == CpClass::number);   // ARABIC-INDIC DIGIT THREE
    CHECK(unicode::cp_class(0x2167) == CpClass::number);   // ROMAN NUMERAL EIGHT (Nl)
    CHECK(unicode::cp_class(0x00B2) == CpClass::number);   // SUPERSCRIPT TWO (No)
    CHECK(unicode::cp_class(0x0301) == CpClass::mark);     // COMBINING ACUTE ACCENT (Mn)
    CHECK(unicode::cp_class(0x093F) == CpClass::mark);     // DEVANAGARI VOWEL SIGN I (Mc)
    CHECK(unicode::cp_class(0x20DD) == CpClass::mark);     // COMBINING ENCLOSING CIRCLE (Me)
    CHECK(unicode::cp_class(0x1F600) == CpClass::other);   // emoji (So)
    CHECK(unicode::cp_class(0x1D538) == CpClass::letter);  // MATHEMATICAL DOUBLE-STRUCK A
    CHECK(unicode::cp_class(0xE000) == CpClass::other);    // private use
    CHECK(unicode::cp_class(0x10FFFF) == CpClass::other);
    for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u,
                        0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
        CHECK(unicode::is_whitespace(cp));
    for (uint32_t cp : {0x08u, 0x1Cu, 0x1Fu, 0x200Bu, 0x180Eu, 0xFEFFu, 0x41u}) CHECK_FALSE(unicode::is_whitespace(cp));
}

TEST_CASE("unicode: GPT-2 byte map", "[tokenizer]") {
    // From the definition: printable bytes map to themselves, the rest to U+0100.. in order.
    CHECK(unicode::kByteToCp['!'] == '!');
    CHECK(unicode::kByteToCp[0x00] == 0x100);
    CHECK(unicode::kByteToCp[' '] == 0x120);   // 'Ġ'
    CHECK(unicode::kByteToCp['\n'] == 0x10A);  // 'Ċ'
    CHECK(unicode::kByteToCp[0x7F] == 0x121);
    CHECK(unicode::kByteToCp[0xAD] == 0x143);
    CHECK(unicode::kByteToCp[0xFF] == 0xFF);
    for (int b = 0; b < 256; ++b) CHECK(unicode::cp_to_byte(unicode::kByteToCp[static_cast<size_t>(b)]) == b);
    CHECK(unicode::cp_to_byte(0x144) == -1);
    CHECK(unicode::cp_to_byte(0x20) == -1);
    CHECK(unicode::bytes_to_vocab_text(" a\n") == "\xC4\xA0" "a\xC4\x8A");
}

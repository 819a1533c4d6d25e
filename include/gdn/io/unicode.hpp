// gdn/io/unicode.hpp - the Unicode facts the tokenizer needs: UTF-8 decoding that
// keeps invalid bytes, general-category classes (\p{L}, \p{N}, \p{M}), White_Space
// (\s), and GPT-2's byte <-> code point map used by byte-level BPE vocabularies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gdn/io/unicode_tables.hpp"

namespace gdn::io::unicode {

/// Stands for one byte that does not start a valid UTF-8 sequence; class `other`, not
/// whitespace, so the pre-tokenizer treats it like punctuation and BPE keeps the byte.
inline constexpr uint32_t kInvalidCp = 0xFFFFFFFFu;

struct DecodedCp {
    uint32_t cp;   // kInvalidCp for a bad byte
    uint32_t len;  // bytes consumed, 1..4
};

/// Decode the code point at s[pos]. Overlong forms, surrogates, values above U+10FFFF,
/// truncated and stray continuation bytes give {kInvalidCp, 1}.
inline DecodedCp decode_utf8(std::string_view s, size_t pos) {
    const auto b0 = static_cast<uint8_t>(s[pos]);
    if (b0 < 0x80) return {b0, 1};
    uint32_t len = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1Fu; min_cp = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0Fu; min_cp = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07u; min_cp = 0x10000; }
    else return {kInvalidCp, 1};
    if (pos + len > s.size()) return {kInvalidCp, 1};
    for (uint32_t k = 1; k < len; ++k) {
        const auto b = static_cast<uint8_t>(s[pos + k]);
        if ((b & 0xC0) != 0x80) return {kInvalidCp, 1};
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kInvalidCp, 1};
    return {cp, len};
}

/// Append cp as UTF-8 (cp must be a valid scalar value).
inline void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// General-category class of cp (binary search over the generated ranges).
inline CpClass cp_class(uint32_t cp) {
    constexpr size_t n = sizeof(kCpRanges) / sizeof(kCpRanges[0]);
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {  // first range with last >= cp
        const size_t mid = (lo + hi) / 2;
        if (kCpRanges[mid].last < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < n && kCpRanges[lo].first <= cp) return kCpRanges[lo].cls;
    return CpClass::other;
}

/// Unicode White_Space, what \s means to the regex engines of Hugging Face tokenizers
/// (Oniguruma), tiktoken (fancy-regex) and llama.cpp.
constexpr bool is_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/// GPT-2's map: printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves,
/// the other 68 bytes, in increasing order, for U+0100, U+0101, ...
constexpr std::array<uint32_t, 256> make_byte_to_cp() {
    std::array<uint32_t, 256> map{};
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        map[b] = printable ? b : next++;
    }
    return map;
}

inline constexpr std::array<uint32_t, 256> kByteToCp = make_byte_to_cp();

constexpr std::array<int16_t, 0x100 + 68> make_cp_to_byte() {
    std::array<int16_t, 0x100 + 68> map{};
    for (auto& b : map) b = -1;
    for (uint32_t b = 0; b < 256; ++b) map[kByteToCp[b]] = static_cast<int16_t>(b);
    return map;
}

inline constexpr std::array<int16_t, 0x100 + 68> kCpToByte = make_cp_to_byte();

/// Inverse of kByteToCp: the byte cp stands for, or -1 when it stands for none.
constexpr int cp_to_byte(uint32_t cp) { return cp < kCpToByte.size() ? kCpToByte[cp] : -1; }

/// Bytes -> the text a byte-level vocabulary stores for them.
inline std::string bytes_to_vocab_text(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) append_utf8(out, kByteToCp[static_cast<uint8_t>(c)]);
    return out;
}

}  // namespace gdn::io::unicode

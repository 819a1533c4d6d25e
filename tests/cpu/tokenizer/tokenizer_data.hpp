// Readers for tests/data/tokenizer/ (written by tools/make_tokenizer_data.py data):
// <name>.vocab -> the GGUF tokenizer arrays, <name>.cases -> strings with expected ids.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/tokenizer.hpp"

namespace gdn::test {

inline std::filesystem::path tokenizer_data_dir() {
    if (const char* env = std::getenv("GDN_TOKENIZER_DATA")) return env;
#ifdef GDN_TEST_DATA_DIR
    if (std::filesystem::exists(std::filesystem::path(GDN_TEST_DATA_DIR) / "tokenizer/qwen35.vocab"))
        return std::filesystem::path(GDN_TEST_DATA_DIR) / "tokenizer";
#endif
    const std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
    const std::filesystem::path candidates[] = {here / "../../data/tokenizer", "tests/data/tokenizer",
                                                "../tests/data/tokenizer", "../../tests/data/tokenizer"};
    for (const auto& c : candidates)
        if (std::filesystem::exists(c / "qwen35.vocab")) return c;
    fail("tests/data/tokenizer not found from ", here.string(), " (set GDN_TOKENIZER_DATA)");
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    GDN_CHECK(f, "cannot open ", p.string());
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct VocabFile {
    io::TokenizerVocab vocab;
    std::vector<std::string> byte_text;  // [256] GGUF text of each byte, as Python's map wrote it
};

/// See write_vocab() in tools/make_tokenizer_data.py for the layout.
inline VocabFile load_vocab_file(const std::filesystem::path& path) {
    const std::string data = read_file(path);
    size_t pos = 0;
    const auto line = [&]() {
        const size_t e = data.find('\n', pos);
        GDN_CHECK(e != std::string::npos, path.string(), ": truncated header");
        std::string l = data.substr(pos, e - pos);
        pos = e + 1;
        return l;
    };
    const auto varint = [&]() {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            GDN_CHECK(pos < data.size() && shift < 64, path.string(), ": truncated at byte ", pos);
            const auto b = static_cast<uint8_t>(data[pos++]);
            v |= static_cast<uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
    };
    const auto bytes = [&](size_t n) {
        GDN_CHECK(pos + n <= data.size(), path.string(), ": truncated at byte ", pos);
        std::string s = data.substr(pos, n);
        pos += n;
        return s;
    };
    GDN_CHECK(line() == "gdn-tokenizer-vocab 1", path.string(), ": not a gdn tokenizer vocab file");
    std::map<std::string, std::string> header;
    for (std::string l = line(); l != "end"; l = line()) {
        const size_t sp = l.find(' ');
        header[l.substr(0, sp)] = l.substr(sp + 1);
    }
    VocabFile out;
    io::TokenizerVocab& v = out.vocab;
    v.model = header.at("model");
    v.pre = header.at("pre");
    v.bos_id = std::stoi(header.at("bos"));
    v.eos_id = std::stoi(header.at("eos"));
    v.pad_id = std::stoi(header.at("pad"));
    const size_t n_tokens = std::stoul(header.at("tokens"));
    const size_t n_merges = std::stoul(header.at("merges"));
    for (int b = 0; b < 256; ++b) out.byte_text.push_back(bytes(varint()));
    std::vector<std::string> raw(n_tokens);  // NORMAL tokens' bytes
    v.tokens.resize(n_tokens);
    v.token_types.resize(n_tokens);
    for (size_t i = 0; i < n_tokens; ++i) {
        v.token_types[i] = static_cast<int32_t>(varint());
        raw[i] = bytes(varint());
        if (v.token_types[i] == 1) {
            for (char c : raw[i]) v.tokens[i] += out.byte_text[static_cast<uint8_t>(c)];
        } else {
            v.tokens[i] = raw[i];
        }
    }
    v.merges.reserve(n_merges);
    size_t id = 0;
    for (size_t m = 0; m < n_merges; ++m) {
        id += varint();
        const size_t split = varint();
        GDN_CHECK(id < n_tokens && split > 0 && split < raw[id].size(), path.string(), ": bad merge ", m);
        std::string text;
        for (size_t k = 0; k < raw[id].size(); ++k) {
            if (k == split) text += ' ';
            text += out.byte_text[static_cast<uint8_t>(raw[id][k])];
        }
        v.merges.push_back(std::move(text));
    }
    GDN_CHECK(pos == data.size(), path.string(), ": ", data.size() - pos, " trailing bytes");
    return out;
}

struct TokenizerCase {
    std::string text;
    std::vector<int32_t> ids;        // special tokens parsed
    std::vector<int32_t> ids_plain;  // CONTROL tokens' text left as text
};

inline std::vector<TokenizerCase> load_cases(const std::filesystem::path& path) {
    std::istringstream in(read_file(path));
    std::vector<TokenizerCase> cases;
    const auto parse_ids = [](std::istringstream& ls) {
        std::vector<int32_t> ids;
        for (int32_t x; ls >> x;) ids.push_back(x);
        return ids;
    };
    for (std::string l; std::getline(in, l);) {
        if (l.empty() || l[0] == '#') continue;
        std::istringstream ls(l);
        std::string key;
        ls >> key;
        if (key == "text") {
            std::string hex;
            ls >> hex;
            TokenizerCase c;
            for (size_t k = 0; k + 1 < hex.size(); k += 2)
                c.text += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
            cases.push_back(std::move(c));
        } else if (key == "ids") {
            GDN_CHECK(!cases.empty(), path.string(), ": ids before text");
            cases.back().ids = parse_ids(ls);
        } else if (key == "ids_plain") {
            GDN_CHECK(!cases.empty(), path.string(), ": ids_plain before text");
            cases.back().ids_plain = parse_ids(ls);
        } else {
            fail(path.string(), ": unknown line '", key, "'");
        }
    }
    return cases;
}

/// Tokenizers are slow to build (~250K merges): one per vocabulary per test run.
inline const io::Tokenizer& cached_tokenizer(const std::string& name) {
    static std::map<std::string, io::Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end())
        it = cache.emplace(name, io::Tokenizer(load_vocab_file(tokenizer_data_dir() / (name + ".vocab")).vocab)).first;
    return it->second;
}

}  // namespace gdn::test

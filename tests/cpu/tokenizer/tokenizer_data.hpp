// Readers for tests/data/tokenizer/ (written by tools/make_tokenizer_data.py data):
// <name>.vocab -> the GGUF tokenizer arrays, <name>.cases -> strings with expected ids.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>
#include <sstream>
#include <string>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/tokenizer.hpp"

#include "../../../tools/vocab_file.hpp"

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

/// The .vocab reader gdn-random-gguf uses too (tools/vocab_file.hpp).
using tools::VocabFile;
inline VocabFile load_vocab_file(const std::filesystem::path& path) { return tools::read_vocab_file(path); }

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

/// Tokenizers are slow to build (~250K merges): one per vocabulary per test run. The name is a
/// string_view (no temporary std::string: GCC 13's -Wdangling-reference flags a returned
/// reference whose call took one).
inline const io::Tokenizer& cached_tokenizer(std::string_view name) {
    static std::map<std::string, io::Tokenizer, std::less<>> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const std::string key(name);
        it = cache.emplace(key, io::Tokenizer(load_vocab_file(tokenizer_data_dir() / (key + ".vocab")).vocab)).first;
    }
    return it->second;
}

}  // namespace gdn::test

// tools/vocab_file.hpp - the reader of gdn's .vocab files (tests/data/tokenizer/<name>.vocab,
// written by write_vocab() in tools/make_tokenizer_data.py): a vocabulary's GGUF tokenizer
// arrays without a GGUF around them. One reader for gdn-random-gguf (which writes the arrays
// into its files) and the tokenizer tests (tests/cpu/tokenizer/tokenizer_data.hpp).
//
// Layout (LEB128 varints): a text header "gdn-tokenizer-vocab 1", "key value" lines up to
// "end"; the GPT-2 text of each of the 256 bytes; tokens as [type, byte length, bytes]; merges
// as [delta of the merged token's id, byte length of its left part].
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/tokenizer.hpp"

namespace gdn::tools {

struct VocabFile {
    io::TokenizerVocab vocab;
    std::vector<std::string> byte_text;  // [256] GGUF text of each byte, as Python's map wrote it
};

/// Reads `path`; throws gdn::Error naming the file and what is wrong with it.
inline VocabFile read_vocab_file(const std::filesystem::path& file) {
    const std::string path = file.string();
    std::ifstream f(file, std::ios::binary);
    GDN_CHECK(f.good(), "cannot open vocabulary '", path, "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string data = ss.str();
    size_t pos = 0;
    const auto line = [&]() {
        const size_t e = data.find('\n', pos);
        GDN_CHECK(e != std::string::npos, path, ": truncated header");
        std::string l = data.substr(pos, e - pos);
        pos = e + 1;
        return l;
    };
    const auto varint = [&]() {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            GDN_CHECK(pos < data.size() && shift < 64, path, ": truncated at byte ", pos);
            const auto b = static_cast<uint8_t>(data[pos++]);
            v |= static_cast<uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
    };
    const auto bytes = [&](uint64_t n) {
        GDN_CHECK(n <= data.size() - pos, path, ": truncated at byte ", pos);
        std::string s = data.substr(pos, n);
        pos += n;
        return s;
    };
    GDN_CHECK(line() == "gdn-tokenizer-vocab 1", path, ": not a gdn tokenizer vocabulary");
    std::map<std::string, std::string> header;
    for (std::string l = line(); l != "end"; l = line()) {
        const size_t sp = l.find(' ');
        GDN_CHECK(sp != std::string::npos, path, ": bad header line '", l, "'");
        header[l.substr(0, sp)] = l.substr(sp + 1);
    }
    const auto field = [&](const char* key) {
        const auto it = header.find(key);
        GDN_CHECK(it != header.end(), path, ": header has no '", key, "'");
        return it->second;
    };
    VocabFile out;
    io::TokenizerVocab& v = out.vocab;
    v.model = field("model");
    v.pre = field("pre");
    v.bos_id = std::stoi(field("bos"));
    v.eos_id = std::stoi(field("eos"));
    v.pad_id = std::stoi(field("pad"));
    const size_t n_tokens = std::stoul(field("tokens"));
    const size_t n_merges = std::stoul(field("merges"));
    for (int b = 0; b < 256; ++b) out.byte_text.push_back(bytes(varint()));
    std::vector<std::string> raw(n_tokens);  // NORMAL tokens' bytes
    v.tokens.resize(n_tokens);
    v.token_types.resize(n_tokens);
    for (size_t i = 0; i < n_tokens; ++i) {
        v.token_types[i] = static_cast<int32_t>(varint());
        raw[i] = bytes(varint());
        if (v.token_types[i] == 1) {
            for (char ch : raw[i]) v.tokens[i] += out.byte_text[static_cast<uint8_t>(ch)];
        } else {
            v.tokens[i] = raw[i];
        }
    }
    v.merges.reserve(n_merges);
    size_t id = 0;
    for (size_t m = 0; m < n_merges; ++m) {
        id += varint();
        const size_t split = varint();
        GDN_CHECK(id < n_tokens && split > 0 && split < raw[id].size(), path, ": bad merge ", m);
        std::string text;
        for (size_t k = 0; k < raw[id].size(); ++k) {
            if (k == split) text += ' ';
            text += out.byte_text[static_cast<uint8_t>(raw[id][k])];
        }
        v.merges.push_back(std::move(text));
    }
    GDN_CHECK(pos == data.size(), path, ": ", data.size() - pos, " trailing bytes");
    return out;
}

}  // namespace gdn::tools

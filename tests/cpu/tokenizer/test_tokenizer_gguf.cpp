// Tokenizer::from_gguf: the qwen35 test vocabulary written as the tokenizer.ggml.* keys of a
// GGUF (as llama.cpp's convert script types them) gives the same tokenizer; missing or
// mistyped keys are errors naming the key.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "gdn/io/tokenizer.hpp"
#include "tokenizer_data.hpp"

using gdn::io::GgufFile;
using gdn::io::GgufWriter;
using gdn::io::Tokenizer;
using gdn::io::TokenizerVocab;

namespace {

GgufWriter writer_for(const TokenizerVocab& v) {
    GgufWriter w;
    w.add_string("general.architecture", "qwen35");
    w.add_string("tokenizer.ggml.model", v.model);
    w.add_string("tokenizer.ggml.pre", v.pre);
    w.add_array("tokenizer.ggml.tokens", v.tokens);
    w.add_array("tokenizer.ggml.token_type", v.token_types);
    w.add_array("tokenizer.ggml.merges", v.merges);
    w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
    w.add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.pad_id));
    w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos_id));
    w.add_bool("tokenizer.ggml.add_bos_token", false);
    return w;
}

}  // namespace

TEST_CASE("tokenizer: from_gguf reads the tokenizer.ggml keys", "[tokenizer]") {
    const auto file = gdn::test::load_vocab_file(gdn::test::tokenizer_data_dir() / "qwen35.vocab");
    const GgufFile gguf = GgufFile::from_buffer(writer_for(file.vocab).bytes());
    const Tokenizer tok = Tokenizer::from_gguf(gguf);
    const Tokenizer& direct = gdn::test::cached_tokenizer("qwen35");
    CHECK(tok.n_tokens() == direct.n_tokens());
    CHECK(tok.bos_id() == 248044);
    CHECK(tok.eos_id() == 248046);
    CHECK(tok.pad_id() == 248055);
    CHECK(tok.eot_id() == -1);
    CHECK(tok.eog_ids() == direct.eog_ids());
    const auto cases = gdn::test::load_cases(gdn::test::tokenizer_data_dir() / "qwen35.cases");
    size_t match = 0;
    for (const auto& c : cases) match += tok.encode(c.text) == c.ids;
    CHECK(match == cases.size());
    WARN("from_gguf tokenizer matches Hugging Face on " << match << " / " << cases.size() << " strings");
}

TEST_CASE("tokenizer: from_gguf errors name the key", "[tokenizer]") {
    TokenizerVocab v;
    for (int b = 0; b < 256; ++b) {
        std::string t;
        gdn::io::unicode::append_utf8(t, gdn::io::unicode::kByteToCp[static_cast<size_t>(b)]);
        v.tokens.push_back(t);
        v.token_types.push_back(1);
    }
    v.merges = {};
    v.eos_id = 1;
    v.pad_id = 2;
    v.bos_id = 3;
    {
        const GgufFile ok = GgufFile::from_buffer(writer_for(v).bytes());
        CHECK(Tokenizer::from_gguf(ok).encode("ab").size() == 2);
    }
    {
        GgufWriter w;
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_string("tokenizer.ggml.pre", "qwen2");
        const GgufFile f = GgufFile::from_buffer(w.bytes());
        CHECK_THROWS_WITH(Tokenizer::from_gguf(f), Catch::Contains("tokenizer.ggml.tokens"));
    }
    {
        GgufWriter w = writer_for(v);
        w.add_u32("tokenizer.ggml.eot_token_id", 999);
        const GgufFile f = GgufFile::from_buffer(w.bytes());
        CHECK_THROWS_WITH(Tokenizer::from_gguf(f), Catch::Contains("tokenizer.ggml.eot_token_id") &&
                                                       Catch::Contains("999"));
    }
    {
        GgufWriter w;
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_string("tokenizer.ggml.pre", "qwen2");
        w.add_array("tokenizer.ggml.tokens", v.tokens);
        w.add_array("tokenizer.ggml.token_type", std::vector<float>(v.tokens.size(), 1.0f));
        const GgufFile f = GgufFile::from_buffer(w.bytes());
        CHECK_THROWS_WITH(Tokenizer::from_gguf(f), Catch::Contains("tokenizer.ggml.token_type"));
    }
    {
        GgufWriter w;
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_array("tokenizer.ggml.tokens", v.tokens);
        const GgufFile f = GgufFile::from_buffer(w.bytes());
        CHECK_THROWS_WITH(Tokenizer::from_gguf(f), Catch::Contains("'default'"));  // no tokenizer.ggml.pre
    }
}

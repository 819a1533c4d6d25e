// The built-in model's tokenizer (models/builtin/builtin.gguf): gdn's byte-level BPE reads it
// from the GGUF and must encode as Hugging Face `tokenizers` did when the vocabulary was
// trained. Expected ids written by `python3 tools/train_builtin.py cpp-test` (HF tokenizers).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/tokenizer.hpp"

namespace {

struct Case {
    const char* text;
    std::vector<int32_t> ids;
};

// clang-format off
const Case kCases[] = {
    {"Once upon a time",
     {47, 809, 612, 259, 705}},
    {"To be, or not to be: that is the question.",
     {419, 309, 12, 535, 328, 293, 309, 26, 333, 329, 269, 2271, 14}},
    {"HAMLET.\012O, that this too too solid flesh would melt,\012Thaw, and resolve itself into a dew!",
     {1998, 649, 52, 260, 47, 12, 333, 366, 626, 626, 373, 76, 357, 2321, 512, 322, 1157, 284, 52, 267, 87, 12, 295, 2652, 302, 1588, 999, 259, 380, 87, 1}},
    {"[Exeunt, bearing off the dead bodies; after the which a peal of\012ordnance is shot off.]",
     {717, 12, 3806, 664, 269, 951, 1281, 630, 27, 1176, 269, 620, 259, 1191, 354, 297, 199, 368, 78, 599, 329, 446, 299, 664, 360}},
    {"I'll tell thee, I'VE seen 'em: you're, we've, he'd, she's, 'tis, o'er.",
     {41, 488, 726, 432, 12, 296, 7, 54, 37, 1524, 467, 493, 26, 291, 2672, 12, 344, 7, 302, 12, 298, 330, 12, 494, 331, 12, 467, 798, 12, 283, 799, 14}},
    {"ACT III.\012\012Scene 2. 1599 and 1623; 42 + 7 = 49, 3.14159",
     {1889, 2339, 281, 2522, 221, 18, 14, 221, 17, 21, 25, 25, 295, 221, 17, 22, 18, 19, 27, 221, 20, 18, 221, 11, 221, 23, 221, 29, 221, 20, 25, 12, 221, 19, 14, 17, 20, 17, 21, 25}},
    {"   leading spaces,\011tabs\011\011and  double  spaces   \012\012\012  trailing  ",
     {316, 1805, 303, 426, 65, 849, 12, 198, 84, 1234, 83, 198, 198, 400, 221, 3285, 221, 426, 65, 849, 1652, 300, 199, 221, 1122, 421, 303, 316}},
    {"What\077! ... --- !!! \077\077\077 (brackets) {braces} <angles> \042quotes\042 `ticks`",
     {486, 31, 1, 221, 14, 14, 14, 221, 343, 13, 221, 1, 1, 1, 221, 31, 31, 31, 221, 8, 66, 359, 392, 1306, 9, 221, 91, 66, 359, 849, 93, 221, 28, 968, 820, 30, 1844, 460, 299, 279, 2, 221, 64, 84, 668, 83, 64}},
    {"caf\303\251 na\303\257ve \303\206thelred \342\200\224 \342\200\234quoted\342\200\235 \342\200\231tis",
     {2356, 70, 128, 103, 287, 65, 128, 108, 302, 221, 128, 229, 687, 76, 840, 221, 159, 223, 243, 221, 159, 223, 251, 460, 299, 325, 159, 223, 252, 221, 159, 223, 248, 798}},
    {"\344\275\240\345\245\275\344\270\226\347\225\214 and \360\237\230\200 emoji \320\230\320\262\320\260\320\275",
     {161, 122, 255, 162, 99, 122, 161, 117, 245, 164, 244, 235, 295, 221, 173, 254, 247, 223, 1343, 79, 74, 73, 221, 141, 247, 141, 111, 141, 109, 141, 122}},
    {"Romeo, Romeo! wherefore art thou Romeo\077\015\012Deny thy father and refuse thy name;",
     {1905, 12, 2669, 1, 3366, 758, 358, 2669, 31, 202, 199, 36, 285, 89, 405, 689, 295, 3432, 1532, 405, 892, 27}},
    {"<|endoftext|>",
     {0}},
};
// clang-format on

std::filesystem::path builtin_model() {
    if (const char* env = std::getenv("GDN_BUILTIN_MODEL")) return env;
    const std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
    const std::filesystem::path candidates[] = {here / "../../../models/builtin/builtin.gguf",
                                                "models/builtin/builtin.gguf", "../models/builtin/builtin.gguf",
                                                "../../models/builtin/builtin.gguf"};
    for (const auto& c : candidates)
        if (std::filesystem::exists(c)) return c;
    gdn::fail("models/builtin/builtin.gguf not found from ", here.string(), " (set GDN_BUILTIN_MODEL)");
}

}  // namespace

TEST_CASE("tokenizer: the built-in model's vocabulary encodes as Hugging Face tokenizers", "[tokenizer]") {
    const gdn::io::GgufFile f = gdn::io::GgufFile::open(builtin_model().string());
    const gdn::io::Tokenizer tok = gdn::io::Tokenizer::from_gguf(f);
    gdn::io::EncodeOptions opt;
    opt.parse_special = true;
    size_t n_ids = 0;
    for (const Case& c : kCases) {
        INFO("text: " << c.text);
        const std::vector<int32_t> got = tok.encode(c.text, opt);
        CHECK(got == c.ids);
        CHECK(tok.decode(got) == std::string(c.text));
        n_ids += c.ids.size();
    }
    WARN(std::size(kCases) << " strings, " << n_ids << " ids compared exactly");
}

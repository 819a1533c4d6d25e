// examples/gdn_logits.cpp run in-process: its output on a fixture against transformers'
// logits (relative L2 per position < 1e-4), and its one-line errors with exit code 1.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#define GDN_LOGITS_NO_MAIN
#include "../../../examples/gdn_logits.cpp"
#include "parity_util.hpp"

namespace {

struct Run {
    int code = 0;
    std::string err;
};

Run run_tool(std::vector<std::string> args) {
    args.insert(args.begin(), "gdn-logits");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::FILE* err = std::tmpfile();
    REQUIRE(err != nullptr);
    Run r;
    r.code = gdn_logits::main_with(static_cast<int>(argv.size()), argv.data(), err);
    std::rewind(err);
    for (int ch; (ch = std::fgetc(err)) != EOF;) r.err.push_back(static_cast<char>(ch));
    std::fclose(err);
    return r;
}

std::string temp_path(const char* tag) {
    const std::string file = std::string("gdn_logits_test_") + tag + "_" + std::to_string(::getpid()) + ".f32";
    return (std::filesystem::temp_directory_path() / file).string();
}

}  // namespace

TEST_CASE("gdn-logits writes every position's logits of a fixture", "[parity][gdn-logits]") {
    const gdn::test::Fixture f = gdn::test::load_fixture("qwen35_r3_untied");
    const std::string out = temp_path("full");
    const Run r = run_tool({f.gguf, "--tokens-file", gdn::test::data_path("qwen35_r3_untied.tokens.i32"),
                            "--backend", "cpu", "--out", out});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::vector<float> got = gdn::test::read_array<float>(out);
    std::remove(out.c_str());
    REQUIRE(got.size() == f.logits.size());
    gdn::test::SeqCompare s;
    for (int64_t t = 0; t < f.n_tokens(); ++t) {
        const auto off = static_cast<size_t>(t * f.n_vocab), n = static_cast<size_t>(f.n_vocab);
        s.add(t, gdn::test::compare_row(std::span<const float>(got).subspan(off, n), f.row(t)));
    }
    std::printf("gdn-logits qwen35_r3_untied: max rel L2 vs transformers %.3e\n", s.max_rel_l2);
    CHECK(s.max_rel_l2 < 1e-4);
    CHECK(s.argmax_mismatches == 0);
}

TEST_CASE("gdn-logits --tokens list gives the same rows as the fixture's first tokens", "[parity][gdn-logits]") {
    const gdn::test::Fixture f = gdn::test::load_fixture("qwen35_r2_tied");
    std::string list;
    for (int i = 0; i < 5; ++i) list += (i ? "," : "") + std::to_string(f.tokens[static_cast<size_t>(i)]);
    const std::string out = temp_path("list");
    const Run r = run_tool({f.gguf, "--tokens", list, "--out", out});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::vector<float> got = gdn::test::read_array<float>(out);
    std::remove(out.c_str());
    REQUIRE(got.size() == static_cast<size_t>(5 * f.n_vocab));
    for (int64_t t = 0; t < 5; ++t) {
        const auto row = std::span<const float>(got).subspan(static_cast<size_t>(t * f.n_vocab),
                                                             static_cast<size_t>(f.n_vocab));
        CHECK(gdn::test::compare_row(row, f.row(t)).rel_l2 < 1e-4);
    }
}

TEST_CASE("gdn-logits: every bad argument or file is one line and exit code 1", "[parity][gdn-logits]") {
    const std::string model = gdn::test::data_path("qwen35_r2_tied.gguf");
    const std::string out = temp_path("bad");
    struct Case {
        std::vector<std::string> args;
        const char* says;  // part of the message
    };
    const std::vector<Case> cases = {
        {{}, "no MODEL.gguf"},
        {{model, "--out", out}, "no tokens"},
        {{model, "--tokens", "1,2"}, "no output file"},
        {{model, "--tokens", "1,x,3", "--out", out}, "'x' is not an integer"},
        {{model, "--tokens", "1,,3", "--out", out}, "empty item at index 1"},
        {{model, "--tokens", "-4", "--out", out}, "not a valid token id"},
        {{model, "--tokens", "1,99999", "--out", out}, "out of range"},
        {{model, "--tokens", "1", "--backend", "tpu", "--out", out}, "'tpu' is not one of cpu, cuda"},
        {{model, "--tokens", "1", "--backend", "cuda", "--out", out}, "--backend cuda"},
        {{model, "--tokens", "1", "--max-ctx", "0", "--out", out}, "--max-ctx must be positive"},
        {{model, "--tokens", "1,2,3", "--max-ctx", "2", "--out", out}, "context overflow"},
        {{model, "--tokens", "1", "--frobnicate", "--out", out}, "unknown option"},
        {{model, model, "--tokens", "1", "--out", out}, "one model only"},
        {{model, "--tokens"}, "--tokens needs a value"},
        {{model, "--tokens-file", "/nonexistent/ids.i32", "--out", out}, "cannot open"},
        {{"/nonexistent/model.gguf", "--tokens", "1", "--out", out}, "/nonexistent/model.gguf"},
        {{gdn::test::data_path("qwen35_r2_tied.tokens.i32"), "--tokens", "1", "--out", out}, "gguf"},
        {{model, "--tokens", "1", "--out", "/nonexistent/dir/out.f32"}, "cannot create"},
    };
    for (const Case& c : cases) {
        const Run r = run_tool(c.args);
        INFO("args: " << [&] {
            std::string s;
            for (const std::string& a : c.args) s += a + " ";
            return s;
        }() << "\nstderr: " << r.err);
        CHECK(r.code == 1);
        CHECK(r.err.rfind("gdn-logits: ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find(c.says) != std::string::npos);
    }
    // a failed run leaves no partial output behind
    std::FILE* f = std::fopen(out.c_str(), "rb");
    CHECK(f == nullptr);
    if (f != nullptr) std::fclose(f);
    std::remove(out.c_str());
}

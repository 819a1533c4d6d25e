// gdn-logits: the logits of every position of a token sequence, for any qwen35 GGUF.
//
//   gdn-logits MODEL.gguf --tokens 1,2,3 [--backend cpu|cuda] [--max-ctx N] --out logits.f32
//   gdn-logits MODEL.gguf --tokens-file ids.i32 --out logits.f32
//
// Writes float32 little-endian, row-major [n_tokens, n_vocab]: row t is the distribution
// over the token after tokens[0..t]. The CPU backend is gdn::ref::RuntimeDecoder. Every
// bad argument or file ends in one line on stderr and exit code 1.
// tests/cpu/parity/check_gdn_logits.sh compares its output with a fixture.
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/ref/decoder.hpp"

#include "cli_util.hpp"

#ifndef GDN_WITH_CUDA
#define GDN_WITH_CUDA 0
#endif
#if GDN_WITH_CUDA
#include "gdn/schedule/decoder.cuh"
#endif

namespace gdn_logits {

constexpr const char* kUsage =
    "usage: gdn-logits MODEL.gguf (--tokens ID,ID,... | --tokens-file IDS.i32) --out LOGITS.f32\n"
    "                  [--backend cpu|cuda] [--max-ctx N]\n"
    "writes float32 logits [n_tokens, n_vocab], row-major, little-endian\n";

struct Args {
    std::string model;
    std::vector<int32_t> tokens;
    std::string out;
    std::string backend = "cpu";
    int64_t max_ctx = 0;  // 0: the number of tokens
    bool help = false;
};

inline int64_t parse_int(std::string_view s, std::string_view what) {
    int64_t v = 0;
    const char* end = s.data() + s.size();
    const auto [p, ec] = std::from_chars(s.data(), end, v);
    GDN_CHECK(!s.empty() && ec == std::errc() && p == end, what, ": '", s, "' is not an integer");
    return v;
}

inline int32_t token_id(int64_t v, size_t index) {
    GDN_CHECK(v >= 0 && v <= INT32_MAX, "--tokens: id ", v, " at index ", index, " is not a valid token id");
    return static_cast<int32_t>(v);
}

inline std::vector<int32_t> parse_token_list(std::string_view s) {
    std::vector<int32_t> ids;
    size_t start = 0;
    while (true) {
        const size_t comma = s.find(',', start);
        const std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
        GDN_CHECK(!item.empty(), "--tokens: empty item at index ", ids.size(), " in '", s, "'");
        ids.push_back(token_id(parse_int(item, "--tokens"), ids.size()));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return ids;
}

/// int32 little-endian ids, as tests/data/<fixture>.tokens.i32.
inline std::vector<int32_t> read_token_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    GDN_CHECK(in.good(), "--tokens-file: cannot open '", path, "'");
    const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    GDN_CHECK(!raw.empty() && raw.size() % 4 == 0, "--tokens-file: '", path, "' has ", raw.size(),
              " bytes, not a non-empty multiple of 4");
    std::vector<int32_t> ids(raw.size() / 4);
    for (size_t i = 0; i < ids.size(); ++i) {
        int32_t v = 0;
        std::memcpy(&v, raw.data() + 4 * i, 4);
        ids[i] = token_id(v, i);
    }
    return ids;
}

inline Args parse_args(int argc, const char* const* argv) {
    Args a;
    bool have_tokens = false;
    for (gdn::cli::ArgWalker args(argc, argv); args.next();) {
        const std::string_view arg = args.arg();
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "--tokens" || arg == "--tokens-file") {
            GDN_CHECK(!have_tokens, "give the tokens once (--tokens or --tokens-file)");
            have_tokens = true;
            const std::string_view v = args.value();
            a.tokens = arg == "--tokens" ? parse_token_list(v) : read_token_file(std::string(v));
        } else if (arg == "--out") {
            a.out = args.value();
        } else if (arg == "--backend") {
            a.backend = args.value();
            GDN_CHECK(a.backend == "cpu" || a.backend == "cuda", "--backend: '", a.backend,
                      "' is not one of cpu, cuda");
        } else if (arg == "--max-ctx") {
            a.max_ctx = parse_int(args.value(), "--max-ctx");
            GDN_CHECK(a.max_ctx > 0, "--max-ctx must be positive, got ", a.max_ctx);
        } else if (arg.starts_with("-")) {
            gdn::fail("unknown option '", arg, "' (see --help)");
        } else {
            GDN_CHECK(a.model.empty(), "one model only: got '", a.model, "' and '", arg, "'");
            a.model = arg;
        }
    }
    if (a.help) return a;
    GDN_CHECK(!a.model.empty(), "no MODEL.gguf given (see --help)");
    GDN_CHECK(have_tokens, "no tokens given: use --tokens ID,ID,... or --tokens-file FILE");
    GDN_CHECK(!a.out.empty(), "no output file given: use --out LOGITS.f32");
    if (a.max_ctx == 0) a.max_ctx = static_cast<int64_t>(a.tokens.size());
    return a;
}

/// Runs `emit(row)` for each position's logits [n_vocab].
template <class Emit>
void decode_cpu(const gdn::ModelWeights& w, const Args& a, Emit&& emit) {
    gdn::ref::RuntimeDecoder dec(w, {.max_ctx = a.max_ctx});
    for (const int32_t t : a.tokens) emit(dec.step(t));
}

template <class Emit>
void decode_cuda([[maybe_unused]] const gdn::ModelWeights& w, [[maybe_unused]] const Args& a,
                 [[maybe_unused]] Emit&& emit) {
#if GDN_WITH_CUDA
    gdn::cuda::DecoderOptions o;
    GDN_CHECK(a.max_ctx <= (int64_t(1) << 30), "--max-ctx ", a.max_ctx, " is too large");
    o.max_ctx = static_cast<int>(a.max_ctx);
    gdn::cuda::RuntimeDecoder dec(w, o);
    for (const int32_t t : a.tokens) {
        dec.eval(t);
        const std::vector<float> row = dec.logits();
        emit(std::span<const float>(row));
    }
#else
    gdn::fail("--backend cuda: this gdn-logits was built without CUDA (GDN_WITH_CUDA=0)");
#endif
}

inline void run(const Args& a) {
    const gdn::ModelWeights w = gdn::io::load_qwen35(a.model);
    std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
    GDN_CHECK(out.good(), "--out: cannot create '", a.out, "': ", std::strerror(errno));
    size_t rows = 0;
    auto emit = [&](std::span<const float> row) {
        out.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size_bytes()));
        GDN_CHECK(out.good(), "--out: writing '", a.out, "' failed after ", rows, " rows");
        ++rows;
    };
    try {
        if (a.backend == "cuda") {
            decode_cuda(w, a, emit);
        } else {
            decode_cpu(w, a, emit);
        }
        out.close();
        GDN_CHECK(!out.fail(), "--out: closing '", a.out, "' failed");
    } catch (...) {
        out.close();
        std::remove(a.out.c_str());  // no half-written logits left behind
        throw;
    }
}

/// The whole program; `err` receives the one-line error. Returns the exit code.
inline int main_with(int argc, const char* const* argv, std::FILE* err) {
    try {
        const Args a = parse_args(argc, argv);
        if (a.help) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        run(a);
        return 0;
    } catch (const gdn::Error& e) {
        std::fprintf(err, "gdn-logits: %s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(err, "gdn-logits: unexpected error: %s\n", e.what());
    }
    return 1;
}

}  // namespace gdn_logits

#ifndef GDN_LOGITS_NO_MAIN
int main(int argc, char** argv) { return gdn_logits::main_with(argc, argv, stderr); }
#endif

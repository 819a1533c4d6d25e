// gdn-generate: greedy generation from a qwen35 GGUF, on the GPU when there is one,
// otherwise on the CPU reference. With no -m it runs the built-in default model.
//
//   gdn-generate [-m MODEL.gguf] [-p "prompt" | --tokens 1,2,3] [-n 32] [--backend auto|cpu|cuda]
//
// Prints the text (or the ids, when the GGUF has no tokenizer) and prefill / decode tok/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/io/tokenizer.hpp"
#include "gdn/ref/decoder.hpp"

#ifndef GDN_WITH_CUDA
#define GDN_WITH_CUDA 0
#endif
#if GDN_WITH_CUDA
#include "gdn/schedule/decoder.cuh"
#endif
#ifndef GDN_DEFAULT_MODEL
#define GDN_DEFAULT_MODEL "tests/data/qwen35_r2_real_heads_f16.gguf"
#endif

namespace {

constexpr const char* k_usage =
    "usage: gdn-generate [-m MODEL.gguf] [-p PROMPT | --tokens ID,ID,...] [-n N] [--backend auto|cpu|cuda]\n"
    "  -m        qwen35 GGUF (default: the built-in model " GDN_DEFAULT_MODEL ")\n"
    "  -p        prompt text (needs tokenizer metadata in the GGUF; default \"Hello\")\n"
    "  --tokens  prompt as token ids instead of text\n"
    "  -n        tokens to generate (default 32)\n"
    "  --backend auto (GPU when present), cpu (reference) or cuda\n";

struct Args {
    std::string model = GDN_DEFAULT_MODEL;
    std::string prompt = "Hello";
    std::vector<int32_t> tokens;
    int n = 32;
    std::string backend = "auto";
    bool help = false;
};

int parse_int(std::string_view s, const char* what) {
    GDN_CHECK(!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string_view::npos,
              what, ": '", s, "' is not a non-negative integer");
    return std::stoi(std::string(s));
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string_view {
            GDN_CHECK(i + 1 < argc, arg, " needs a value");
            return argv[++i];
        };
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "-m") {
            a.model = value();
        } else if (arg == "-p") {
            a.prompt = value();
        } else if (arg == "--tokens") {
            std::string_view v = value();
            while (!v.empty()) {
                const size_t comma = v.find(',');
                a.tokens.push_back(parse_int(v.substr(0, comma), "--tokens"));
                v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
            }
            GDN_CHECK(!a.tokens.empty(), "--tokens: no ids given");
        } else if (arg == "-n") {
            a.n = parse_int(value(), "-n");
        } else if (arg == "--backend") {
            a.backend = value();
            GDN_CHECK(a.backend == "auto" || a.backend == "cpu" || a.backend == "cuda", "--backend: '",
                      a.backend, "' is not one of auto, cpu, cuda");
        } else {
            gdn::fail("unknown argument '", arg, "' (see --help)");
        }
    }
    return a;
}

bool have_gpu() {
#if GDN_WITH_CUDA
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
#else
    return false;
#endif
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Timings {
    double prefill_s = 0, decode_s = 0;
};

std::vector<int32_t> generate_cpu(const gdn::ModelWeights& w, std::span<const int32_t> prompt, int n, Timings& t) {
    gdn::ref::RuntimeDecoder dec(w, {.max_ctx = static_cast<int64_t>(prompt.size()) + n});
    auto argmax = [](std::span<const float> l) {
        return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
    };
    auto t0 = Clock::now();
    std::span<const float> logits;
    for (int32_t tok : prompt) logits = dec.step(tok);
    t.prefill_s = seconds_since(t0);
    std::vector<int32_t> out;
    t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        out.push_back(argmax(logits));
        if (i + 1 < n) logits = dec.step(out.back());
    }
    t.decode_s = seconds_since(t0);
    return out;
}

#if GDN_WITH_CUDA
std::vector<int32_t> generate_cuda(const gdn::ModelWeights& w, std::span<const int32_t> prompt, int n, Timings& t) {
    gdn::cuda::DecoderOptions o;
    o.max_ctx = static_cast<int>(prompt.size()) + n;
    gdn::cuda::RuntimeDecoder dec(w, o);
    auto t0 = Clock::now();
    dec.prefill(prompt);
    t.prefill_s = seconds_since(t0);
    t0 = Clock::now();
    std::vector<int32_t> out = dec.generate(n);
    t.decode_s = seconds_since(t0);
    return out;
}
#endif

int run(const Args& a) {
    const gdn::io::GgufFile file = gdn::io::GgufFile::open(a.model);
    const gdn::ModelWeights w = gdn::io::load_qwen35(file);
    std::vector<int32_t> prompt = a.tokens;
    std::optional<gdn::io::Tokenizer> tok;
    if (file.find<std::string>("tokenizer.ggml.model")) tok.emplace(gdn::io::Tokenizer::from_gguf(file));
    if (prompt.empty()) {
        GDN_CHECK(tok.has_value(), a.model, " has no tokenizer metadata: give the prompt with --tokens");
        prompt = tok->encode(a.prompt);
    }
    GDN_CHECK(!prompt.empty(), "the prompt is empty");
    const bool cuda = a.backend == "cuda" || (a.backend == "auto" && have_gpu());
    GDN_CHECK(!cuda || GDN_WITH_CUDA, "--backend cuda: this gdn-generate was built without CUDA");
    std::fprintf(stderr, "gdn-generate: %s, %lld layers, %s backend, prompt %zu tokens\n", a.model.c_str(),
                 static_cast<long long>(w.config.n_layer), cuda ? "cuda" : "cpu", prompt.size());
    Timings t;
    std::vector<int32_t> out;
    bool done = false;
#if GDN_WITH_CUDA
    if (cuda) {
        try {
            out = generate_cuda(w, prompt, a.n, t);
            done = true;
        } catch (const gdn::Error& e) {
            if (a.backend == "cuda") throw;
            std::fprintf(stderr, "gdn-generate: the CUDA decoder cannot run this model (%s); using the CPU reference\n",
                         e.what());
        }
    }
#endif
    if (!done) out = generate_cpu(w, prompt, a.n, t);
    if (tok) {
        std::printf("%s%s\n", a.tokens.empty() ? a.prompt.c_str() : "", tok->decode(out).c_str());
    } else {
        for (int32_t id : out) std::printf("%d ", id);
        std::printf("\n");
    }
    std::fprintf(stderr, "prefill: %zu tokens, %.1f tok/s; decode: %d tokens, %.1f tok/s\n", prompt.size(),
                 double(prompt.size()) / std::max(t.prefill_s, 1e-9), a.n, double(a.n) / std::max(t.decode_s, 1e-9));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args a = parse(argc, argv);
        if (a.help) {
            std::fputs(k_usage, stdout);
            return 0;
        }
        return run(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gdn-generate: error: %s\n", e.what());
        return 1;
    }
}

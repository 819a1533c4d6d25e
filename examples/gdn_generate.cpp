// gdn-generate: text generation from a qwen35 GGUF, on the GPU when there is one, otherwise
// on the CPU reference. With no -m it runs the built-in default model.
//
//   gdn-generate [-m MODEL.gguf] [-p "prompt" | --tokens 1,2,3] [-n 32] [--chat]
//                [--temp T --top-k K --top-p P --min-p P --repeat-penalty R --seed S]
//                [--stop STRING ...] [--ignore-eos] [--backend auto|cpu|cuda]
//
// Streams the text (or the ids, when the GGUF has no tokenizer) as it is produced, stops at
// an end-of-generation token or a stop string, and ends with prefill / decode tok/s.
//
// A model of k_progress_bytes or more is read into memory (every page of the mapping touched,
// by a few threads) before decoding, and uploaded to the GPU, each with a byte-level progress
// report on stderr: redrawn in place when stderr is a terminal, a line at every 25% otherwise.
// Reading first keeps a cold disk out of the upload and out of the CPU decoder's first tokens.
//
// Where the next token is chosen:
//  - cpu backend: gdn::io::Sampler on the reference decoder's logits.
//  - cuda backend, greedy / --temp / --top-k / --top-p / --seed: on the device (the
//    decoder's sampling kernel), ids fed back on the GPU. generate() runs a fixed count, so
//    it is called in chunks of k_cuda_chunk tokens and the stop conditions are checked on
//    each chunk: the GPU keeps its graph replay without a host round trip per token, and a
//    stop wastes at most k_cuda_chunk - 1 steps. (eval()/next_token() per token would stop
//    exactly but synchronise twice per token.)
//  - cuda backend with --min-p, --repeat-penalty or --top-k above 1024 (not on the
//    device): the logits are copied back every token and sampled on the host, one eval()
//    per token; slower, and said so on stderr.
// The host and device samplers draw different random numbers: the same --seed gives
// reproducible text per backend, not the same text on both.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/io/sampler.hpp"
#include "gdn/io/tokenizer.hpp"
#include "gdn/ref/decoder.hpp"

#include "cli_util.hpp"

#ifndef GDN_WITH_CUDA
#define GDN_WITH_CUDA 0
#endif
#if GDN_WITH_CUDA
#include "gdn/schedule/decoder.cuh"
#endif
#ifndef GDN_DEFAULT_MODEL
#define GDN_DEFAULT_MODEL "models/builtin/builtin.gguf"
#endif

namespace {

constexpr const char* k_usage =
    "usage: gdn-generate [-m MODEL.gguf] [-p PROMPT | --tokens ID,ID,...] [-n N] [options]\n"
    "  -m                qwen35 GGUF (default: the built-in model " GDN_DEFAULT_MODEL ")\n"
    "  -p                prompt text (needs tokenizer metadata in the GGUF; default \"Once upon a time\")\n"
    "  --tokens          prompt as token ids instead of text\n"
    "  -n                tokens to generate at most (default 32)\n"
    "  --chat            wrap the prompt in Qwen's chat template (user turn, then assistant)\n"
    "  --temp T          temperature (default 0: greedy)\n"
    "  --top-k K         keep the K most likely tokens (default 0: off)\n"
    "  --top-p P         nucleus sampling, P in (0, 1] (default 1: off)\n"
    "  --min-p P         drop tokens below P times the most likely one's probability (default 0: off)\n"
    "  --repeat-penalty R  penalise the last --repeat-last-n tokens (default 1: off)\n"
    "  --repeat-last-n N tokens the repetition penalty looks back over (default 64)\n"
    "  --seed S          random seed of the sampler (default 0)\n"
    "  --stop STRING     stop when the text contains STRING (repeatable)\n"
    "  --ignore-eos      keep going past end-of-generation tokens\n"
    "  --backend B       auto (GPU when present), cpu (reference) or cuda\n"
    "On the cuda backend --min-p, --repeat-penalty and --top-k > 1024 sample on the host (slower).\n";

constexpr int k_max_tokens = 1 << 20;
constexpr int64_t k_progress_bytes = int64_t{64} << 20;  // smaller models load in a blink: no progress report
#if GDN_WITH_CUDA
constexpr int k_cuda_chunk = 32;  // tokens per generate() call between stop checks
#endif

struct Args {
    std::string model = GDN_DEFAULT_MODEL;
    std::string prompt = "Once upon a time";
    bool prompt_given = false;
    std::vector<int32_t> tokens;
    int n = 32;
    std::string backend = "auto";
    gdn::io::SamplerOptions sampling;
    bool chat = false;
    bool ignore_eos = false;
    std::vector<std::string> stops;
    bool help = false;
};

int parse_int(std::string_view s, const char* what) {
    GDN_CHECK(!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string_view::npos,
              what, ": '", s, "' is not a non-negative integer");
    return std::stoi(std::string(s));
}

float parse_float(std::string_view s, const char* what) {
    const std::string str(s);
    char* end = nullptr;
    errno = 0;
    const float v = str.empty() ? 0.f : std::strtof(str.c_str(), &end);
    GDN_CHECK(!str.empty() && end == str.c_str() + str.size() && errno == 0 && std::isfinite(v), what, ": '", s,
              "' is not a finite float");
    return v;
}

Args parse(int argc, char** argv) {
    Args a;
    for (gdn::cli::ArgWalker args(argc, argv); args.next();) {
        const std::string_view arg = args.arg();
        gdn::io::SamplerOptions& s = a.sampling;
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "-m") {
            a.model = args.value();
        } else if (arg == "-p") {
            a.prompt = args.value();
            a.prompt_given = true;
        } else if (arg == "--tokens") {
            std::string_view v = args.value();
            a.tokens.clear();
            while (!v.empty()) {
                const size_t comma = v.find(',');
                a.tokens.push_back(parse_int(v.substr(0, comma), "--tokens"));
                v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
            }
            GDN_CHECK(!a.tokens.empty(), "--tokens: no ids given");
        } else if (arg == "-n") {
            a.n = parse_int(args.value(), "-n");
            GDN_CHECK(a.n <= k_max_tokens, "-n: ", a.n, " is more than ", k_max_tokens);
        } else if (arg == "--backend") {
            a.backend = args.value();
            GDN_CHECK(a.backend == "auto" || a.backend == "cpu" || a.backend == "cuda", "--backend: '",
                      a.backend, "' is not one of auto, cpu, cuda");
        } else if (arg == "--chat") {
            a.chat = true;
        } else if (arg == "--ignore-eos") {
            a.ignore_eos = true;
        } else if (arg == "--temp") {
            s.temperature = parse_float(args.value(), "--temp");
            GDN_CHECK(s.temperature >= 0.f, "--temp: ", s.temperature, " is negative (0 is greedy)");
        } else if (arg == "--top-k") {
            s.top_k = parse_int(args.value(), "--top-k");
        } else if (arg == "--top-p") {
            s.top_p = parse_float(args.value(), "--top-p");
            GDN_CHECK(s.top_p > 0.f && s.top_p <= 1.f, "--top-p: ", s.top_p, " is not in (0, 1]");
        } else if (arg == "--min-p") {
            s.min_p = parse_float(args.value(), "--min-p");
            GDN_CHECK(s.min_p >= 0.f && s.min_p <= 1.f, "--min-p: ", s.min_p, " is not in [0, 1]");
        } else if (arg == "--repeat-penalty") {
            s.repetition_penalty = parse_float(args.value(), "--repeat-penalty");
            GDN_CHECK(s.repetition_penalty > 0.f, "--repeat-penalty: ", s.repetition_penalty,
                      " is not positive (1 is off)");
        } else if (arg == "--repeat-last-n") {
            s.repetition_window = parse_int(args.value(), "--repeat-last-n");
        } else if (arg == "--seed") {
            s.seed = gdn::cli::parse_u64(args.value(), "--seed");
        } else if (arg == "--stop") {
            const std::string_view v = args.value();
            GDN_CHECK(!v.empty(), "--stop: the stop string is empty");
            a.stops.emplace_back(v);
        } else {
            gdn::fail("unknown argument '", arg, "' (see --help)");
        }
    }
    GDN_CHECK(!(a.prompt_given && !a.tokens.empty()), "-p and --tokens: give the prompt one way");
    GDN_CHECK(!(a.chat && !a.tokens.empty()), "--chat needs a text prompt (-p), not --tokens");
    gdn::io::check_sampler_options(a.sampling);
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

/// One load phase on stderr: "gdn-generate: <what> ... 0.12 s".
class Phase {
public:
    explicit Phase(const std::string& what) : t0_(Clock::now()) {
        std::fprintf(stderr, "gdn-generate: %s ... ", what.c_str());
        std::fflush(stderr);
    }
    void done() {
        if (open_) std::fprintf(stderr, "%.2f s\n", seconds_since(t0_));
        open_ = false;
    }
    ~Phase() {
        if (open_) std::fprintf(stderr, "failed\n");
    }
    Phase(const Phase&) = delete;
    Phase& operator=(const Phase&) = delete;

private:
    Clock::time_point t0_;
    bool open_ = true;
};

std::string megabytes(size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
    return buf;
}

/// Byte-level progress of one load phase on stderr. On a terminal one line redrawn with '\r'
/// (bar, percent, MB done / total, MB/s) at most 10 times a second; otherwise a plain line as
/// each quarter is reached, so logs get four lines, not hundreds.
class Progress {
public:
    explicit Progress(std::string what) : what_(std::move(what)), t0_(Clock::now()), tty_(isatty(fileno(stderr)) != 0) {}
    ~Progress() {
        if (tty_ && drawn_ && !finished_) std::fprintf(stderr, "\n");
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(int64_t done, int64_t total) {
        total_ = total;
        done_ = done;
        if (tty_) {
            const auto now = Clock::now();
            if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total) return;
            last_draw_ = now;
            draw();
        } else {
            const int quarter = total > 0 ? static_cast<int>(4 * done / total) : 4;
            for (; quarters_ < quarter; ++quarters_) line((quarters_ + 1) * 25);
        }
    }

    /// The closing report: total bytes, time and rate.
    void finish() {
        if (finished_) return;
        finished_ = true;
        const double s = seconds_since(t0_);
        if (tty_) {
            std::fprintf(stderr, "\rgdn-generate: %s: %s in %.2f s (%.0f MB/s)\033[K\n", what_.c_str(),
                         megabytes(static_cast<size_t>(total_)).c_str(), s, rate());
        } else if (quarters_ < 4) {
            update(total_, total_);
        }
    }

private:
    double rate() const { return double(done_) / 1e6 / std::max(seconds_since(t0_), 1e-9); }
    double percent() const { return total_ > 0 ? 100.0 * double(done_) / double(total_) : 100.0; }

    void draw() {
        constexpr int width = 24;
        const int filled = static_cast<int>(percent() / 100.0 * width);
        char bar[width + 1];
        for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        std::fprintf(stderr, "\rgdn-generate: %s [%s] %3.0f%% %.1f / %.1f MB, %.0f MB/s\033[K", what_.c_str(), bar,
                     percent(), double(done_) / 1e6, double(total_) / 1e6, rate());
        std::fflush(stderr);
        drawn_ = true;
    }
    void line(int pct) {
        if (pct < 100)
            std::fprintf(stderr, "gdn-generate: %s: %3d%% (%.1f / %.1f MB, %.0f MB/s)\n", what_.c_str(), pct,
                         double(total_) * pct / 100.0 / 1e6, double(total_) / 1e6, rate());
        else
            std::fprintf(stderr, "gdn-generate: %s: 100%% (%s in %.2f s, %.0f MB/s)\n", what_.c_str(),
                         megabytes(static_cast<size_t>(total_)).c_str(), seconds_since(t0_), rate());
        std::fflush(stderr);
    }

    std::string what_;
    Clock::time_point t0_, last_draw_;
    bool tty_;
    bool drawn_ = false, finished_ = false;
    int quarters_ = 0;
    int64_t done_ = 0, total_ = 0;
};

/// Reads every page of the mapped file once (madvise(WILLNEED) then a load per page, a few
/// threads over 16 MiB chunks), so the upload or the CPU decoder finds it in memory.
void prefault(const gdn::io::GgufFile& f, const std::string& path) {
    const std::byte* base = f.bytes();
    const auto size = static_cast<int64_t>(f.size_bytes());
    const int64_t page = std::max<long>(sysconf(_SC_PAGESIZE), 512);
    constexpr int64_t chunk = int64_t{16} << 20;
    const int64_t n_chunks = (size + chunk - 1) / chunk;
    const int n_threads = static_cast<int>(
        std::min<int64_t>({8, std::max(1u, std::thread::hardware_concurrency()), std::max<int64_t>(1, n_chunks)}));
    std::atomic<int64_t> next{0}, done{0};
    std::atomic<unsigned> sink{0};
    Progress progress("reading " + path + " into memory");
    progress.update(0, size);
    std::vector<std::thread> pool;
    for (int t = 0; t < n_threads; ++t) {
        pool.emplace_back([&] {
            unsigned acc = 0;
            for (int64_t c; (c = next.fetch_add(1)) < n_chunks;) {
                const int64_t begin = c * chunk, end = std::min(size, begin + chunk);
                // The mapping is page-aligned, so is each chunk; advice is a hint (errors ignored).
                madvise(const_cast<std::byte*>(base) + begin, static_cast<size_t>(end - begin), MADV_WILLNEED);
                for (int64_t at = begin; at < end; at += page)
                    acc += static_cast<unsigned>(*reinterpret_cast<const volatile unsigned char*>(base + at));
                done.fetch_add(end - begin);
            }
            sink.fetch_add(acc);
        });
    }
    while (done.load() < size) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        progress.update(done.load(), size);
    }
    for (std::thread& th : pool) th.join();
    progress.update(size, size);
    progress.finish();
}

/// Streams generated ids to stdout as text (or ids without a tokenizer) and decides when
/// to stop: at an end-of-generation id or when the text contains a stop string. Text that
/// could be the start of a stop string is held back until it is known not to be one; the
/// stop string itself is not printed.
class Output {
public:
    Output(const gdn::io::Tokenizer* tok, std::vector<std::string> stops, bool ignore_eos)
        : tok_(tok), stops_(std::move(stops)), ignore_eos_(ignore_eos) {
        if (tok_) stream_.emplace(*tok_);
    }

    /// Take the next id; false when generation must end (the id counts as produced).
    bool push(int32_t id) {
        ++produced_;
        if (!tok_) {
            std::printf("%d ", id);
            std::fflush(stdout);
            return true;
        }
        if (!ignore_eos_ && tok_->is_eog(id)) return stop();
        text_ += stream_->push(id);
        if (at_stop()) return stop();
        emit(text_.size() - held_back());
        return true;
    }

    /// End of the stream (no-op after a stop): print what was held back.
    void finish() {
        if (stopped_) return;
        if (stream_) text_ += stream_->flush();
        if (tok_ && at_stop()) {
            stop();
            return;
        }
        emit(text_.size());
        std::printf("\n");
        std::fflush(stdout);
        stopped_ = true;
    }

    [[nodiscard]] int produced() const { return produced_; }

private:
    bool stop() {
        emit(std::min(stop_at_, text_.size()));
        std::printf("\n");
        std::fflush(stdout);
        stopped_ = true;
        return false;
    }
    // Sets stop_at_ to the earliest stop string's start; stop strings cannot start in the
    // printed part, since any suffix that was a prefix of one was held back.
    bool at_stop() {
        stop_at_ = std::string::npos;
        for (const std::string& s : stops_) stop_at_ = std::min(stop_at_, text_.find(s, printed_));
        return stop_at_ != std::string::npos;
    }
    // Length of the longest unprinted suffix that is a proper prefix of a stop string.
    size_t held_back() const {
        size_t best = 0;
        for (const std::string& s : stops_) {
            for (size_t k = std::min(s.size() - 1, text_.size() - printed_); k > best; --k) {
                if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
    void emit(size_t upto) {
        if (upto <= printed_) return;
        std::fwrite(text_.data() + printed_, 1, upto - printed_, stdout);
        std::fflush(stdout);
        printed_ = upto;
    }

    const gdn::io::Tokenizer* tok_;
    std::optional<gdn::io::StreamDecoder> stream_;
    std::vector<std::string> stops_;
    bool ignore_eos_;
    std::string text_;  // everything generated so far, decoded
    size_t printed_ = 0;
    size_t stop_at_ = std::string::npos;
    int produced_ = 0;
    bool stopped_ = false;
};

struct Timings {
    double prefill_s = 0, decode_s = 0;
};

void generate_cpu(const gdn::ModelWeights& w, std::vector<int32_t> history, const Args& a, Output& out,
                  Timings& t) {
    std::unique_ptr<gdn::ref::RuntimeDecoder> dec;
    {
        Phase phase("preparing the CPU reference decoder");
        dec = std::make_unique<gdn::ref::RuntimeDecoder>(
            w, gdn::ref::DecoderOptions{.max_ctx = static_cast<int64_t>(history.size()) + a.n});
        phase.done();
    }
    gdn::io::Sampler sampler(a.sampling);
    auto t0 = Clock::now();
    std::span<const float> logits;
    for (int32_t tok : history) logits = dec->step(tok);
    t.prefill_s = seconds_since(t0);
    t0 = Clock::now();
    for (int i = 0; i < a.n; ++i) {
        const int32_t id = sampler.sample(logits, history);
        history.push_back(id);
        if (!out.push(id)) break;
        if (i + 1 < a.n) logits = dec->step(id);
    }
    t.decode_s = seconds_since(t0);
}

#if GDN_WITH_CUDA
/// What the device sampler lacks: min-p, the repetition penalty, top-k above its sort size.
bool host_only_sampling(const gdn::io::SamplerOptions& s) {
    return s.min_p > 0.f || (s.repetition_penalty != 1.f && s.repetition_window > 0) ||
           s.top_k > gdn::kernels::k_max_top_k;
}

/// The decoder, or null when auto may fall back to the CPU (the error is printed).
std::unique_ptr<gdn::cuda::RuntimeDecoder> make_cuda_decoder(const gdn::ModelWeights& w, size_t file_bytes,
                                                             int max_ctx, const Args& a) {
    gdn::cuda::DecoderOptions o;
    o.max_ctx = max_ctx;
    if (!host_only_sampling(a.sampling))
        o.sampling = {.temperature = a.sampling.temperature,
                      .top_k = a.sampling.top_k,
                      .top_p = a.sampling.top_p,
                      .seed = a.sampling.seed};
    try {
        if (static_cast<int64_t>(file_bytes) < k_progress_bytes) {
            Phase phase("uploading " + megabytes(file_bytes) + " of weights to the GPU");
            auto dec = std::make_unique<gdn::cuda::RuntimeDecoder>(w, o);
            phase.done();
            return dec;
        }
        gdn::ModelWeights dev;
        {
            Progress progress("uploading weights to the GPU");
            dev = gdn::cuda::upload_weights(w, nullptr,
                                            [&](int64_t done, int64_t total) { progress.update(done, total); });
            progress.finish();
        }
        Phase phase("preparing the CUDA decoder");
        auto dec = std::make_unique<gdn::cuda::RuntimeDecoder>(dev, o, gdn::cuda::WeightsOn::device);
        phase.done();
        return dec;
    } catch (const gdn::Error& e) {
        if (a.backend == "cuda") throw;
        std::fprintf(stderr, "gdn-generate: the CUDA decoder cannot run this model (%s); using the CPU reference\n",
                     e.what());
        return nullptr;
    }
}

void generate_cuda(gdn::cuda::RuntimeDecoder& dec, std::vector<int32_t> history, const Args& a, Output& out,
                   Timings& t) {
    auto t0 = Clock::now();
    dec.prefill(history);
    t.prefill_s = seconds_since(t0);
    t0 = Clock::now();
    if (host_only_sampling(a.sampling)) {
        std::fprintf(stderr,
                     "gdn-generate: --min-p, --repeat-penalty and --top-k > %d are not on the device: sampling "
                     "on the host from logits copied back every token (slower)\n",
                     gdn::kernels::k_max_top_k);
        gdn::io::Sampler sampler(a.sampling);
        for (int i = 0; i < a.n; ++i) {
            const std::vector<float> logits = dec.logits();
            const int32_t id = sampler.sample(logits, history);
            history.push_back(id);
            if (!out.push(id)) break;
            if (i + 1 < a.n) dec.eval(id);
        }
    } else {
        // generate(k) returns the pending choice first; later calls repeat the previous
        // call's last id in front, which is dropped.
        for (int done = 0; done < a.n;) {
            const int k = std::min(k_cuda_chunk, a.n - done);
            const std::vector<int32_t> ids = dec.generate(done == 0 ? k : k + 1);
            bool go = true;
            for (size_t i = done == 0 ? 0 : 1; go && i < ids.size(); ++i) go = out.push(ids[i]);
            if (!go) break;
            done += k;
        }
    }
    t.decode_s = seconds_since(t0);
}
#endif

int run(const Args& a) {
    std::error_code ec;
    const auto file_bytes = std::filesystem::file_size(a.model, ec);
    GDN_CHECK(!ec, "cannot open model '", a.model, "': ", ec.message());
    std::optional<gdn::io::GgufFile> file;
    {
        Phase phase("mapping " + a.model + " (" + megabytes(file_bytes) + ") and reading its GGUF header");
        file.emplace(gdn::io::GgufFile::open(a.model));
        phase.done();
    }
    gdn::ModelWeights w;
    {
        Phase phase("checking " + std::to_string(file->n_tensors()) + " tensors against the qwen35 layout");
        w = gdn::io::load_qwen35(*file);
        phase.done();
    }
    std::optional<gdn::io::Tokenizer> tok;
    if (file->find<std::string>("tokenizer.ggml.model")) {
        Phase phase("building the tokenizer");
        tok.emplace(gdn::io::Tokenizer::from_gguf(*file));
        phase.done();
    }
    GDN_CHECK(tok || a.stops.empty(), a.model, " has no tokenizer metadata: --stop needs one");
    GDN_CHECK(tok || !a.chat, a.model, " has no tokenizer metadata: --chat needs one");

    std::vector<int32_t> prompt = a.tokens;
    if (prompt.empty()) {
        GDN_CHECK(tok.has_value(), a.model, " has no tokenizer metadata: give the prompt with --tokens");
        if (a.chat) {
            GDN_CHECK(tok->token_id("<|im_start|>") >= 0 && tok->token_id("<|im_end|>") >= 0, "--chat: ", a.model,
                      "'s vocabulary has no <|im_start|> / <|im_end|> tokens, so no Qwen chat template");
            prompt = tok->encode("<|im_start|>user\n" + a.prompt + "<|im_end|>\n<|im_start|>assistant\n",
                                 {.parse_special = true});
        } else {
            prompt = tok->encode(a.prompt);
        }
    }
    GDN_CHECK(!prompt.empty(), "the prompt is empty");
    for (const int32_t id : prompt)
        GDN_CHECK(id < w.config.n_vocab, "--tokens: id ", id, " is out of range [0, ", w.config.n_vocab, ")");

    const bool cuda = a.backend == "cuda" || (a.backend == "auto" && have_gpu());
    GDN_CHECK(!cuda || GDN_WITH_CUDA, "--backend cuda: this gdn-generate was built without CUDA");
    if (static_cast<int64_t>(file_bytes) >= k_progress_bytes) prefault(*file, a.model);
    Output out(tok ? &*tok : nullptr, a.stops, a.ignore_eos);
    Timings t;
    bool done = false;
#if GDN_WITH_CUDA
    if (cuda) {
        const int max_ctx = static_cast<int>(prompt.size()) + a.n;
        if (auto dec = make_cuda_decoder(w, file_bytes, max_ctx, a)) {
            std::fprintf(stderr, "gdn-generate: %s, %lld layers, cuda backend, prompt %zu tokens\n", a.model.c_str(),
                         static_cast<long long>(w.config.n_layer), prompt.size());
            if (tok && a.tokens.empty() && !a.chat) std::printf("%s", a.prompt.c_str());
            generate_cuda(*dec, prompt, a, out, t);
            done = true;
        }
    }
#else
    (void)file_bytes;
#endif
    if (!done) {
        std::fprintf(stderr, "gdn-generate: %s, %lld layers, cpu backend, prompt %zu tokens\n", a.model.c_str(),
                     static_cast<long long>(w.config.n_layer), prompt.size());
        if (tok && a.tokens.empty() && !a.chat) std::printf("%s", a.prompt.c_str());
        generate_cpu(w, prompt, a, out, t);
    }
    out.finish();
    const int n = out.produced();
    std::fprintf(stderr, "prefill: %zu tokens, %.1f tok/s; decode: %d tokens, %.1f tok/s\n", prompt.size(),
                 double(prompt.size()) / std::max(t.prefill_s, 1e-9), n, double(n) / std::max(t.decode_s, 1e-9));
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return gdn::cli::main_with("gdn-generate", k_usage, argc, argv, parse, run); }

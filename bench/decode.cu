// bench/decode.cu - decode speed of random-weight Qwen3.5 models at the real shapes (0.8B, 2B,
// 4B, 9B, 27B; MoE 35B-A3B and 80B-A3B), against the memory-bandwidth floor measured in the same run; batched decode of
// independent sequences; prefill speed.
//
// Per row: a model of that shape with every matrix in one weight type (bf16, q8_0, q4_0,
// q4_k; generated on the device, gdn/schedule/random_weights.cuh), a RuntimeDecoder with
// the KV type and max_ctx = ctx, and `warmup + steps` greedy steps through generate() at
// positions [ctx - warmup - steps, ctx), all inside one attention window (no re-capture
// while timed). ms_per_token is the median over chunks of 16 steps of the CUDA-event time of
// generate(17) on the decoder's stream, divided by 16.
//
// Bytes touched per token (the floor's numerator):
//   weights   every matrix once, one embedding row, the LM head whole; of an MoE layer
//             (35B-A3B, 80B-A3B) the router, shared expert and the top-k experts only
//   state     2 * 4 * Hv*dk*dv per DeltaNet layer (float32 state, read + written)
//   KV        per attention layer 2 * Hkv * kv_row_bytes * (pos + 1), averaged over the
//             timed positions
// floor_ms = bytes / copy bandwidth (device-to-device cudaMemcpy, read + write counted,
// measured at start); floor_frac = floor_ms / ms_per_token.
//
// Batch rows (batch 4/16/64, the first KV type and context): `batch` independent sequences
// step together; ms_per_token is then the time of one step (every sequence gets one token),
// tok_s = batch / step time, and the step's bytes are the weights once plus every
// sequence's state and KV. Matrix products over more than 8 rows run as tensor-core GEMMs.
//
// Prefill rows: prefill() of a random 512- and 4096-token prompt from position 0 (wall time,
// median of 3 after a warm-up), tok_s and the matrix products' TFLOP/s (2 flops per weight).
//
// Reaching a 16K context: decoding 16K tokens first would take minutes for the big shapes,
// so by default (`--fill seek`) the decoder is moved to the start position directly: the KV
// cache below it is zeroed and the host and device positions are set, which is what the
// timed steps read (the attention kernel reads every position 0..pos, whatever it holds).
// (RuntimeDecoder::seek_uncomputed); `--fill prefill` prefills random tokens instead (slow
// at 16K).
//
// Also here: the DeltaNet step kernel alone at batch 1..256 (Hv 16 and 48), timed the way
// bench/peers/deltanet_peers.py times flash-linear-attention, so the two tables line up.
//
// Usage: gdn_bench_decode [--shapes 0.8B,4B,9B,27B] [--weights bf16,q8_0,q4_0,q4_k]
//          [--kv f16,q8_0] [--ctx 512,16K] [--batches 4,16,64] [--batch-weights bf16,q4_0]
//          [--prefill-tokens 512,4096] [--quick] [--warmup N] [--steps N]
//          [--fill seek|prefill] [--no-deltanet | --deltanet-only] [--csv FILE]
//          [--deltanet-csv FILE] [--schedules multi_kernel,persistent] [--prefetch-mb 0,16]
// Batch-1 rows are measured once per schedule (the persistent one once per prefetch cap),
// in the same run, so the two schedules compare on one card.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/shapes.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/deltanet_step.cuh"
#include "gdn/schedule/decoder.cuh"
#include "gdn/schedule/random_weights.cuh"

namespace {

using gdn::DType;
using Decoder = gdn::cuda::PersistentRuntimeDecoder;  // both schedules (--schedules)

// ---- shapes ---------------------------------------------------------------------------
struct Shape {
    std::string name;
    gdn::ModelConfig cfg;
};

// ../shared/MODEL.md, "Configurations" (gdn/core/shapes.hpp).
std::vector<Shape> all_shapes() {
    std::vector<Shape> out;
    for (const gdn::NamedShape& s : gdn::qwen35_shapes()) out.push_back({s.name, s.config});
    for (const gdn::NamedShape& s : gdn::moe_shapes()) out.push_back({s.name, s.config});
    return out;
}

// ---- options --------------------------------------------------------------------------
struct Options {
    std::vector<std::string> shapes{"0.8B", "4B", "9B", "27B"};
    std::vector<DType> weights{DType::bf16, DType::q8_0, DType::q4_0, DType::q4_k};
    std::vector<DType> kv{DType::f16, DType::q8_0};
    std::vector<int64_t> ctx{512, 16384};
    std::vector<int> batches{4, 16, 64};                         // batched decode rows
    std::vector<DType> batch_weights{DType::bf16, DType::q4_0};  // ... for these weight types
    std::vector<int> prefill_tokens{512, 4096};                  // prefill rows
    // batch-1 rows run once per schedule (the persistent one per L2 prefetch cap, MB)
    std::vector<gdn::cuda::Schedule> schedules{gdn::cuda::Schedule::multi_kernel, gdn::cuda::Schedule::persistent};
    std::vector<int> prefetch_mb{16};
    bool profile = false;  // persistent rows: time one step's stages, by role
    int warmup = 32;
    int steps = 224;  // warmup + steps <= 256: one attention window, no re-capture
    bool quick = false;
    bool prefill = false;
    bool decode = true;
    bool deltanet = true;
    std::string csv, deltanet_csv;
};

constexpr int k_chunk = 16;  // steps per timed generate() call

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    size_t b = 0;
    while (b <= s.size()) {
        const size_t e = s.find(',', b);
        const std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!item.empty()) out.push_back(item);
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

DType parse_type(const std::string& s, const char* what) {
    DType t;
    if (gdn::dtype_from_name(s, t)) return t;
    gdn::fail("decode bench: unknown ", what, " type '", s, "'");
}

int64_t parse_ctx(const std::string& s) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    int64_t mult = 1;
    if (end && (*end == 'K' || *end == 'k')) mult = 1024, ++end;
    GDN_CHECK(end && *end == '\0' && v > 0, "decode bench: bad context '", s, "' (e.g. 512, 16K, 16384)");
    return v * mult;
}

Options parse(int argc, char** argv) {
    Options o;
    bool steps_set = false, warmup_set = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            GDN_CHECK(i + 1 < argc, "decode bench: ", a, " needs a value");
            return argv[++i];
        };
        if (a == "--shapes") {
            o.shapes = split_list(value());
        } else if (a == "--weights") {
            o.weights.clear();
            for (const auto& s : split_list(value())) o.weights.push_back(parse_type(s, "weight"));
        } else if (a == "--kv") {
            o.kv.clear();
            for (const auto& s : split_list(value())) o.kv.push_back(parse_type(s, "KV"));
        } else if (a == "--ctx") {
            o.ctx.clear();
            for (const auto& s : split_list(value())) o.ctx.push_back(parse_ctx(s));
        } else if (a == "--batches") {
            o.batches.clear();
            for (const auto& b : split_list(value())) o.batches.push_back(std::atoi(b.c_str()));
        } else if (a == "--batch-weights") {
            o.batch_weights.clear();
            for (const auto& b : split_list(value())) o.batch_weights.push_back(parse_type(b, "weight"));
        } else if (a == "--prefill-tokens") {
            o.prefill_tokens.clear();
            for (const auto& b : split_list(value())) o.prefill_tokens.push_back(std::atoi(b.c_str()));
        } else if (a == "--schedules") {
            o.schedules.clear();
            for (const std::string& v : split_list(value())) {
                if (v == "multi_kernel" || v == "multi") o.schedules.push_back(gdn::cuda::Schedule::multi_kernel);
                else if (v == "persistent") o.schedules.push_back(gdn::cuda::Schedule::persistent);
                else if (v == "automatic" || v == "auto") o.schedules.push_back(gdn::cuda::Schedule::automatic);
                else gdn::fail("decode bench: unknown schedule '", v, "' (multi_kernel, persistent, automatic)");
            }
        } else if (a == "--profile") {
            o.profile = true;
        } else if (a == "--prefetch-mb") {
            o.prefetch_mb.clear();
            for (const std::string& v : split_list(value())) o.prefetch_mb.push_back(std::stoi(v));
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--warmup") {
            o.warmup = std::atoi(value().c_str());
            warmup_set = true;
        } else if (a == "--steps") {
            o.steps = std::atoi(value().c_str());
            steps_set = true;
        } else if (a == "--fill") {
            const std::string f = value();
            GDN_CHECK(f == "seek" || f == "prefill", "decode bench: --fill is seek or prefill, got '", f, "'");
            o.prefill = f == "prefill";
        } else if (a == "--no-deltanet") {
            o.deltanet = false;
        } else if (a == "--deltanet-only") {
            o.decode = false;
        } else if (a == "--csv") {
            o.csv = value();
        } else if (a == "--deltanet-csv") {
            o.deltanet_csv = value();
        } else if (a == "--help" || a == "-h") {
            std::printf("usage: %s [--shapes 0.8B,2B,4B,9B,27B] [--weights bf16,q8_0,q4_0,q4_k] [--kv f16,q8_0]\n"
                        "          [--ctx 512,16K] [--batches 4,16,64] [--batch-weights bf16,q4_0]\n"
                        "          [--prefill-tokens 512,4096] [--quick] [--warmup N] [--steps N] [--fill seek|prefill]\n"
                        "          [--schedules multi_kernel,persistent] [--prefetch-mb 0,16] [--profile]\n"
                        "          [--no-deltanet | --deltanet-only] [--csv FILE] [--deltanet-csv FILE]\n",
                        argv[0]);
            std::exit(0);
        } else {
            gdn::fail("decode bench: unknown argument '", a, "' (see --help)");
        }
    }
    if (o.quick) {
        if (!steps_set) o.steps = 128;
        if (!warmup_set) o.warmup = 16;
    }
    GDN_CHECK(o.steps >= 128 && o.steps % k_chunk == 0, "decode bench: --steps must be >= 128 and a multiple of ",
              k_chunk, ", got ", o.steps);
    GDN_CHECK(o.warmup >= 1, "decode bench: --warmup must be >= 1");
    const auto known = all_shapes();
    for (const auto& s : o.shapes)
        GDN_CHECK(std::any_of(known.begin(), known.end(), [&](const Shape& k) { return k.name == s; }),
                  "decode bench: unknown shape '", s, "' (0.8B, 2B, 4B, 9B, 27B)");
    return o;
}

// ---- bytes ----------------------------------------------------------------------------
/// Expected distinct experts a step of `batch` sequences reads, each choosing k of n uniformly:
/// n (1 - (1 - k/n)^batch).
double distinct_experts(const gdn::ModelConfig& c, int batch) {
    const double n = double(c.n_expert), k = double(c.n_expert_used);
    return n * (1.0 - std::pow(1.0 - k / n, double(batch)));
}

/// Weight bytes read per step of `batch` sequences: every matrix once, one embedding row per
/// sequence, the LM head whole; of an MoE layer the router, the shared expert and the experts
/// chosen (top-k at batch 1, distinct_experts above).
double weight_bytes_per_token(const gdn::ModelWeights& w, int batch = 1) {
    double b = double(w.tok_embd.row_bytes()) + double(w.output.bytes());
    for (const gdn::LayerWeights& l : w.layers) {
        if (l.is_attention) {
            for (const gdn::TensorView* t : {&l.attn.q, &l.attn.k, &l.attn.v, &l.attn.out}) b += double(t->bytes());
        } else {
            const gdn::DeltaNetWeights& d = l.deltanet;
            for (const gdn::TensorView* t : {&d.qkv, &d.z, &d.beta, &d.alpha, &d.out}) b += double(t->bytes());
        }
        for (const gdn::TensorView* t : {&l.mlp.gate, &l.mlp.up, &l.mlp.down}) b += double(t->bytes());
        if (l.is_moe()) {
            const gdn::MoeWeights& m = l.moe;
            for (const gdn::TensorView* t : {&m.router, &m.shexp_gate, &m.shexp.gate, &m.shexp.up, &m.shexp.down})
                b += double(t->bytes());
            const double per_expert = double(m.gate(0).bytes() + m.up(0).bytes() + m.down(0).bytes());
            b += distinct_experts(w.config, batch) * per_expert;
        }
    }
    return b;
}

int64_t n_attention_layers(const gdn::ModelConfig& c) {
    int64_t n = 0;
    for (int64_t i = 0; i < c.n_layer; ++i) n += c.is_attention(i) ? 1 : 0;
    return n;
}

double state_bytes_per_token(const gdn::ModelConfig& c) {
    return double(c.n_layer - n_attention_layers(c)) * 2.0 * 4.0 * double(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v);
}

/// K and V bytes read per token at `positions` cached positions.
double kv_bytes_per_token(const gdn::ModelConfig& c, DType kv, double positions) {
    return double(n_attention_layers(c)) * 2.0 * double(c.n_head_kv * gdn::dtype_row_bytes(kv, c.head_dim)) *
           positions;
}

/// Device bytes a decoder allocates beyond the weights (KV cache and state dominate).
double decoder_bytes(const gdn::ModelConfig& c, DType kv, int64_t max_ctx) {
    const double kv_alloc = double(n_attention_layers(c)) * 2.0 *
                            double(max_ctx * c.n_head_kv * gdn::dtype_row_bytes(kv, c.head_dim));
    return kv_alloc + state_bytes_per_token(c) / 2.0 + double(c.n_vocab) * 8.0 + 64e6;
}

// ---- one decode row ---------------------------------------------------------------------
struct Row {
    std::string shape, weights, kv;
    int64_t ctx = 0;
    int batch = 1;
    double ms = 0, tok_s = 0;
    int launches = 0;
    double mb = 0, floor_ms = 0, floor_frac = 0;
    int steps = 0;
    std::string note;
    bool measured = false;
};

Row make_row(std::string shape, std::string weights, std::string kv, int64_t ctx, int batch = 1) {
    Row r;
    r.shape = std::move(shape);
    r.weights = std::move(weights);
    r.kv = std::move(kv);
    r.ctx = ctx;
    r.batch = batch;
    return r;
}

FILE* g_csv = nullptr;

void print_header() {
    std::printf("\n| shape | weights | kv | ctx | batch | ms_per_token | tok_s | launches | floor_frac | MB_per_token "
                "| floor_ms | steps | card | note |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::fflush(stdout);
}

void print_row(const Row& r, const std::string& card) {
    if (r.measured) {
        std::printf("| %s | %s | %s | %lld | %d | %.3f | %.1f | %d | %.3f | %.1f | %.3f | %d | %s | %s |\n",
                    r.shape.c_str(), r.weights.c_str(), r.kv.c_str(), static_cast<long long>(r.ctx), r.batch, r.ms,
                    r.tok_s, r.launches, r.floor_frac, r.mb, r.floor_ms, r.steps, card.c_str(), r.note.c_str());
    } else {
        std::printf("| %s | %s | %s | %lld | %d | - | - | - | - | - | - | - | %s | %s |\n", r.shape.c_str(),
                    r.weights.c_str(), r.kv.c_str(), static_cast<long long>(r.ctx), r.batch, card.c_str(),
                    r.note.c_str());
    }
    std::fflush(stdout);
    if (g_csv) {
        std::fprintf(g_csv, "%s,%s,%s,%lld,%d,%.4f,%.2f,%d,%.4f,%.2f,%.4f,%d,\"%s\",\"%s\"\n", r.shape.c_str(),
                     r.weights.c_str(), r.kv.c_str(), static_cast<long long>(r.ctx), r.batch,
                     r.measured ? r.ms : -1.0, r.measured ? r.tok_s : -1.0, r.launches,
                     r.measured ? r.floor_frac : -1.0, r.mb, r.floor_ms, r.steps, card.c_str(), r.note.c_str());
        std::fflush(g_csv);
    }
}

// One persistent step's stages summed by role (the layer prefix "blk.N." dropped).
void print_profile(const Row& r, const std::vector<Decoder::StageTime>& st) {
    std::vector<std::pair<std::string, std::pair<int, double>>> roles;
    double total = 0;
    for (const auto& t : st) {
        std::string role = t.name;
        for (size_t at; (at = role.find("blk.")) != std::string::npos;) {
            const size_t dot = role.find('.', at + 4);
            role.erase(at, dot == std::string::npos ? std::string::npos : dot + 1 - at);
        }
        auto it = std::find_if(roles.begin(), roles.end(), [&](const auto& x) { return x.first == role; });
        if (it == roles.end()) roles.push_back({role, {0, 0.0}}), it = roles.end() - 1;
        it->second.first += 1;
        it->second.second += t.us;
        total += t.us;
    }
    std::printf("\n  profile %s %s: one persistent step %.1f us over %zu stages\n  | role | stages | us | us per "
                "stage | share |\n  |---|---|---|---|---|\n",
                r.shape.c_str(), r.weights.c_str(), total, st.size());
    for (const auto& [role, v] : roles)
        std::printf("  | %s | %d | %.1f | %.2f | %.1f%% |\n", role.c_str(), v.first, v.second, v.second / v.first,
                    100.0 * v.second / total);
    std::printf("\n");
}

Row run_row(const Shape& s, const gdn::ModelWeights& w, DType wt, DType kv, int64_t ctx, const Options& o,
            double copy_gbs, int batch = 1, gdn::cuda::Schedule sched = gdn::cuda::Schedule::multi_kernel,
            int prefetch_mb = 16) {
    Row r = make_row(s.name, std::string(gdn::dtype_name(wt)), std::string(gdn::dtype_name(kv)), ctx, batch);
    const gdn::ModelConfig& c = s.cfg;
    const int total = o.warmup + o.steps;
    GDN_CHECK(ctx > total, "decode bench: ctx ", ctx, " must exceed warmup + steps = ", total);
    gdn::cuda::DecoderOptions opt;
    opt.max_ctx = static_cast<int>(ctx) + (o.profile ? 1 : 0);
    opt.kv_type = kv;
    opt.batch = batch;
    opt.schedule = sched;
    opt.prefetch_bytes = uint64_t(prefetch_mb) << 20;
    Decoder dec(w, opt, gdn::cuda::WeightsOn::device);
    const int64_t start = ctx - total;
    if (o.prefill) {
        std::vector<int32_t> prompt(static_cast<size_t>(start));
        uint64_t h = 12345;
        for (int32_t& t : prompt) {
            h = gdn::cuda::random_detail::mix64(h);
            t = static_cast<int32_t>(h % static_cast<uint64_t>(c.n_vocab));
        }
        for (int q = 0; q < batch; ++q) dec.prefill(q, prompt);
        r.note = "prefill";
    } else {
        dec.seek_uncomputed(start);
        r.note = "seek";
    }
    r.note += std::string(", ") + gdn::cuda::schedule_name(dec.schedule());
    if (dec.schedule() == gdn::cuda::Schedule::persistent)
        r.note += " (" + std::to_string(dec.persistent_stages()) + " stages, prefetch " + std::to_string(prefetch_mb) +
                  " MB)";
    dec.generate(o.warmup + 1);  // o.warmup steps; the first one captures the graph
    gdn::bench::EventTimer t;
    std::vector<double> per_step;
    bool ids_ok = true;
    for (int done = 0; done < o.steps; done += k_chunk) {
        t.start(dec.stream());
        const std::vector<int32_t> ids = dec.generate(k_chunk + 1);
        t.stop(dec.stream());
        per_step.push_back(t.ms() / k_chunk);
        for (int32_t id : ids) ids_ok = ids_ok && id >= 0 && id < c.n_vocab;
    }
    GDN_CHECK(dec.position() == ctx, "decode bench: decoder ended at position ", dec.position(), ", expected ", ctx);
    const std::vector<float> logits = dec.logits();
    const bool finite = std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); });
    if (!finite) r.note += ", NON-FINITE LOGITS";
    if (!ids_ok) r.note += ", BAD TOKEN IDS";
    if (o.profile && dec.schedule() == gdn::cuda::Schedule::persistent) print_profile(r, dec.profile_step());

    // Timed steps run at positions [ctx - steps, ctx): step at pos reads pos + 1 KV rows.
    // A step of `batch` sequences reads the weights once and every sequence's state and KV.
    const double mean_positions = double(ctx - o.steps + 1 + ctx) / 2.0;
    const double bytes = weight_bytes_per_token(w, batch) +
                         batch * (state_bytes_per_token(c) + kv_bytes_per_token(c, kv, mean_positions));
    r.ms = gdn::bench::median(per_step);
    r.tok_s = batch * 1e3 / r.ms;
    r.launches = dec.launches_per_step();
    r.mb = bytes / 1e6;
    r.floor_ms = bytes / (copy_gbs * 1e9) * 1e3;
    r.floor_frac = r.floor_ms / r.ms;
    r.steps = o.steps;
    r.measured = true;
    return r;
}

std::string gb(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
    return buf;
}

/// The rows furthest from the floor, with what the numbers say about why: the time above
/// the floor spread over the launches of a step (a few us per launch is what launch gaps and
/// kernel tails cost; much more means the kernels themselves stream below bandwidth).
void print_furthest(std::vector<Row> rows, size_t n) {
    if (rows.empty()) return;
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.floor_frac < b.floor_frac; });
    std::printf("\nFurthest from the floor (lowest floor_frac):\n\n");
    for (size_t i = 0; i < std::min(n, rows.size()); ++i) {
        const Row& r = rows[i];
        const double gap_us = (r.ms - r.floor_ms) * 1e3;
        const double per_launch = gap_us / std::max(1, r.launches);
        std::printf("%zu. %s %s kv %s ctx %lld: floor_frac %.3f, %.3f ms vs floor %.3f ms; %.0f us above the floor = "
                    "%.1f us per launch over %d launches: %s\n",
                    i + 1, r.shape.c_str(), r.weights.c_str(), r.kv.c_str(), static_cast<long long>(r.ctx),
                    r.floor_frac, r.ms, r.floor_ms, gap_us, per_launch, r.launches,
                    per_launch < 6.0 ? "launch gaps and kernel tails dominate (little work per launch)"
                                     : "kernels stream below copy bandwidth (not launch-bound)");
    }
}

// ---- prefill rows ---------------------------------------------------------------------------
struct PrefillRow {
    std::string shape, weights, kv, note;
    int tokens = 0;
    double ms = 0, tflops = 0;
};

/// Time prefill() of an n-token random prompt from position 0 (median of 3 after one warm-up).
PrefillRow run_prefill(const Shape& s, const gdn::ModelWeights& w, DType wt, DType kv, int n) {
    PrefillRow r{s.name, std::string(gdn::dtype_name(wt)), std::string(gdn::dtype_name(kv)), "", n};
    try {
        gdn::cuda::DecoderOptions opt;
        opt.max_ctx = n + 1;
        opt.kv_type = kv;
        Decoder dec(w, opt, gdn::cuda::WeightsOn::device);
        std::vector<int32_t> prompt(static_cast<size_t>(n));
        uint64_t h = 777;
        for (int32_t& t : prompt) {
            h = gdn::cuda::random_detail::mix64(h);
            t = static_cast<int32_t>(h % static_cast<uint64_t>(s.cfg.n_vocab));
        }
        std::vector<double> ms;
        for (int rep = 0; rep < 4; ++rep) {
            dec.reset();
            const auto t0 = std::chrono::steady_clock::now();
            dec.prefill(prompt);  // synchronises at the end
            const auto t1 = std::chrono::steady_clock::now();
            if (rep > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        r.ms = gdn::bench::median(ms);
        // 2 flops per weight per token in the matrix products (the LM head runs once).
        // (MoE: the active parameters of one token)
        const double params = weight_bytes_per_token(w) / (double(gdn::dtype_row_bytes(wt, 256)) / 256.0);
        r.tflops = 2.0 * params * n / (r.ms * 1e-3) / 1e12;
        const std::vector<float> lg = dec.logits();
        if (!std::all_of(lg.begin(), lg.end(), [](float v) { return std::isfinite(v); })) r.note = "NON-FINITE LOGITS";
    } catch (const std::exception& e) {
        r.note = std::string("error: ") + e.what();
        cudaGetLastError();
    }
    return r;
}

void decode_table(const Options& o, const std::string& card, double copy_gbs) {
    print_header();
    std::vector<Row> measured;
    std::vector<PrefillRow> prefill_rows;
    const auto shapes = all_shapes();
    for (const std::string& name : o.shapes) {
        const Shape& s = *std::find_if(shapes.begin(), shapes.end(), [&](const Shape& k) { return k.name == name; });
        for (DType wt : o.weights) {
            const double w_bytes = double(gdn::cuda::random_weights_bytes(s.cfg, wt));
            double smallest_row = 1e30;
            for (DType kv : o.kv)
                for (int64_t ctx : o.ctx) smallest_row = std::min(smallest_row, decoder_bytes(s.cfg, kv, ctx));
            const double free_b = double(gdn::bench::device_memory().first);
            if (w_bytes + smallest_row > free_b) {
                for (DType kv : o.kv)
                    for (int64_t ctx : o.ctx) {
                        Row r = make_row(s.name, std::string(gdn::dtype_name(wt)), std::string(gdn::dtype_name(kv)), ctx);
                        r.note = "skipped: needs " + gb(w_bytes + decoder_bytes(s.cfg, kv, ctx)) + ", " +
                                 gb(free_b) + " free";
                        print_row(r, card);
                    }
                continue;
            }
            std::optional<gdn::ModelWeights> w;
            try {
                gdn::bench::EventTimer gen;
                gen.start(nullptr);
                w = gdn::cuda::random_device_weights(s.cfg, wt, 0x5eed0000u + static_cast<uint64_t>(wt));
                gen.stop(nullptr);
                std::fprintf(stderr, "[decode] %s %s: %s of weights generated in %.0f ms\n", s.name.c_str(),
                             std::string(gdn::dtype_name(wt)).c_str(), gb(w_bytes).c_str(), gen.ms());
            } catch (const std::exception& e) {
                for (DType kv : o.kv)
                    for (int64_t ctx : o.ctx) {
                        Row r = make_row(s.name, std::string(gdn::dtype_name(wt)), std::string(gdn::dtype_name(kv)), ctx);
                        r.note = std::string("error: ") + e.what();
                        print_row(r, card);
                    }
                continue;
            }
            // One row: skipped when the decoder's KV/state would not fit, else measured.
            auto row = [&](DType kv, int64_t ctx, int batch, gdn::cuda::Schedule sched, int pf) {
                Row r = make_row(s.name, std::string(gdn::dtype_name(wt)), std::string(gdn::dtype_name(kv)), ctx, batch);
                const double need = decoder_bytes(s.cfg, kv, ctx) * batch;
                const double free_now = double(gdn::bench::device_memory().first);
                if (need > free_now) {
                    r.note = "skipped: needs " + gb(w_bytes + need) + ", " + gb(free_now + w_bytes) + " free";
                } else {
                    try {
                        r = run_row(s, *w, wt, kv, ctx, o, copy_gbs, batch, sched, pf);
                    } catch (const std::exception& e) {
                        r.note = std::string("error: ") + e.what();
                        cudaGetLastError();
                    }
                }
                print_row(r, card);
                return r;
            };
            for (DType kv : o.kv)
                for (int64_t ctx : o.ctx)
                    for (gdn::cuda::Schedule sched : o.schedules)
                        for (int pf : o.prefetch_mb) {
                            if (sched != gdn::cuda::Schedule::persistent && pf != o.prefetch_mb.front()) continue;
                            const Row r = row(kv, ctx, 1, sched, pf);
                            if (r.measured) measured.push_back(r);
                        }
            // Independent sequences decoded together (KV of the first type, the first context).
            if (std::find(o.batch_weights.begin(), o.batch_weights.end(), wt) != o.batch_weights.end())
                for (int batch : o.batches)
                    row(o.kv.front(), o.ctx.front(), batch, gdn::cuda::Schedule::multi_kernel, 0);
            for (int n : o.prefill_tokens) prefill_rows.push_back(run_prefill(s, *w, wt, o.kv.front(), n));
        }
    }
    print_furthest(measured, 3);
    if (prefill_rows.empty()) return;
    std::printf("\nPrefill of one prompt from position 0 (chunks of %d tokens; GEMMs, chunked DeltaNet, causal "
                "attention), on %s:\n\n| shape | weights | kv | tokens | ms | tok_s | TFLOP_s | card | note |\n"
                "|---|---|---|---|---|---|---|---|---|\n", gdn::cuda::DecoderOptions{}.prefill_chunk, card.c_str());
    for (const PrefillRow& p : prefill_rows)
        std::printf("| %s | %s | %s | %d | %.2f | %.0f | %.1f | %s | %s |\n", p.shape.c_str(), p.weights.c_str(),
                    p.kv.c_str(), p.tokens, p.ms, p.ms > 0 ? p.tokens * 1e3 / p.ms : 0.0, p.tflops, card.c_str(),
                    p.note.c_str());
    std::fflush(stdout);
}

// ---- the DeltaNet step alone --------------------------------------------------------------
/// Microseconds per call of the DeltaNet step (f32 state, default split), replayed in a
/// graph over enough layers' states (> 256 MB) that the state streams from HBM, not L2.
double deltanet_us(int hv, int n_seq, cudaStream_t stream, int* layers_out) {
    constexpr int hk = 16, d = 128;
    const int64_t conv_dim = int64_t(2 * hk + hv) * d;
    const size_t state_bytes = size_t(n_seq) * hv * d * d * sizeof(float);
    const int layers = int(std::clamp<size_t>((size_t(256) << 20) / state_bytes + 1, 1, 128));
    *layers_out = layers;
    gdn::bench::DeviceAllocs mem;  // zeroed, freed together
    auto alloc = [&](size_t bytes) { return mem.alloc<float>(bytes / sizeof(float)); };
    gdn::kernels::DeltaNetStepParams<float> p;
    p.n_seq = n_seq;
    p.n_k_heads = hk;
    p.n_v_heads = hv;
    p.qkv = alloc(size_t(n_seq) * conv_dim * 4);
    p.z = alloc(size_t(n_seq) * hv * d * 4);
    p.b = alloc(size_t(n_seq) * hv * 4);
    p.a = alloc(size_t(n_seq) * hv * 4);
    p.conv_w = alloc(size_t(conv_dim) * 4 * 4);
    p.dt_bias = alloc(size_t(hv) * 4);
    p.ssm_a = alloc(size_t(hv) * 4);
    p.norm_w = alloc(d * 4);
    p.pos = reinterpret_cast<const int32_t*>(alloc(size_t(n_seq) * 4));
    p.y = alloc(size_t(n_seq) * hv * d * 4);
    std::vector<float*> rings, states;
    for (int l = 0; l < layers; ++l) {
        rings.push_back(alloc(size_t(n_seq) * 4 * conv_dim * 4));
        states.push_back(alloc(state_bytes));
    }
    // 5 samples of >= 400 calls
    const double us = gdn::bench::graph_us_per_call(layers, [&](int l) {
        p.conv_ring = rings[size_t(l)];
        p.state = states[size_t(l)];
        gdn::kernels::launch_deltanet_step<float, false>(p, stream);
    }, stream, std::max(5, 400 / layers), 5);
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return us;
}

void deltanet_table(const Options& o, const std::string& card, double copy_gbs) {
    FILE* csv = o.deltanet_csv.empty() ? nullptr : std::fopen(o.deltanet_csv.c_str(), "w");
    if (csv) std::fprintf(csv, "impl,hv,batch,us_per_call,state_gbs,pct_copy\n");
    cudaStream_t stream = nullptr;
    GDN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    std::printf("\nDeltaNet step alone (gdn deltanet_step, f32 state, Hk=16, dk=dv=128, T=1, state in place; "
                "graph over layers with > 256 MB of state) on %s, copy %.0f GB/s\n\n",
                card.c_str(), copy_gbs);
    std::printf("| impl | Hv | batch | layers | us_per_call | state_GB_s | pct_copy |\n|---|---|---|---|---|---|---|\n");
    for (int hv : {16, 48}) {
        for (int n_seq : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
            int layers = 0;
            const double us = deltanet_us(hv, n_seq, stream, &layers);
            const double gbs = 2.0 * hv * 128.0 * 128.0 * 4.0 * n_seq / (us * 1e-6) / 1e9;
            std::printf("| gdn | %d | %d | %d | %.2f | %.0f | %.1f%% |\n", hv, n_seq, layers, us, gbs,
                        100.0 * gbs / copy_gbs);
            std::fflush(stdout);
            if (csv) std::fprintf(csv, "gdn,%d,%d,%.4f,%.2f,%.2f\n", hv, n_seq, us, gbs, 100.0 * gbs / copy_gbs);
        }
    }
    GDN_CUDA_CHECK(cudaStreamDestroy(stream));
    if (csv) std::fclose(csv);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options o = parse(argc, argv);
        if (!gdn::bench::have_device()) {
            std::printf("no CUDA device: skipping the decode benchmark\n");
            return gdn::bench::k_skip;
        }
        const std::string card = gdn::bench::card_name();
        cudaStream_t stream = nullptr;
        GDN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        const double copy_gbs = gdn::bench::copy_bandwidth_gbs(stream);
        GDN_CUDA_CHECK(cudaStreamDestroy(stream));
        const auto [free_b, total_b] = gdn::bench::device_memory();
        std::printf("gdn decode benchmark on %s: device-to-device copy %.0f GB/s (read + write), %.1f of %.1f GB "
                    "free; %d warm-up + %d timed steps per row%s; context reached by %s\n",
                    card.c_str(), copy_gbs, double(free_b) / 1e9, double(total_b) / 1e9, o.warmup, o.steps,
                    o.quick ? " (--quick)" : "", o.prefill ? "prefill" : "seek (KV zeroed, position set)");
        if (o.decode) {
            if (!o.csv.empty()) {
                g_csv = std::fopen(o.csv.c_str(), "w");
                GDN_CHECK(g_csv != nullptr, "decode bench: cannot write ", o.csv);
                std::fprintf(g_csv, "shape,weights,kv,ctx,batch,ms_per_token,tok_s,launches,floor_frac,MB_per_token,"
                                    "floor_ms,steps,card,note\n");
            }
            decode_table(o, card, copy_gbs);
            if (g_csv) std::fclose(g_csv);
        }
        if (o.deltanet) deltanet_table(o, card, copy_gbs);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

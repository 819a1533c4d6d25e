// gdn-random-gguf: a full-size Qwen3.5 GGUF with random weights and Qwen3.5's real
// vocabulary, laid out as llama.cpp's converter writes a `qwen35` file (docs/GGUF_QWEN35.md):
// the same metadata keys and types, tensor names and shapes, f32 norms / conv / ssm_a /
// dt_bias, matrices in the types of the chosen mix, tensors at 32-byte aligned offsets (general.alignment
// unrecorded, as the converter leaves it). For decode speed and load tests of real shapes
// without downloading a model; the text it makes gdn-generate print is noise.
//
//   gdn-random-gguf --shape 0.8B --type q4_k_m -o model.gguf [--pure] [--imatrix] [--seed N]
//                   [--layers N] [--embd N] [--ff N] [--mtp N]
//                   [--experts N] [--experts-used K] [--ff-exp N] [--ff-shexp N]
//
// MoE shapes write the architecture llama.cpp's converter writes for them: 35B-A3B and tiny-moe
// `qwen35moe` (Qwen3_5MoeTextModel: the qwen35 mixer tensors, value heads reordered to tiled,
// rope.dimension_sections), 80B-A3B and tiny-next `qwen3next` (Qwen3NextModel: attn_qkv and
// attn_gate split from in_proj_qkvz, ssm_ba kept packed, value heads in HF's grouped order, no
// rope sections, feed_forward_length = HF's unused intermediate_size). Every layer's MLP is
// Qwen2MoeModel's: ffn_gate_inp [n_embd, n_expert] (f32), ffn_{gate,up}_exps [n_embd, n_ff_exp,
// n_expert], ffn_down_exps [n_ff_exp, n_embd, n_expert], the shared expert ffn_{gate,up}_shexp /
// ffn_down_shexp and its gate ffn_gate_inp_shexp [n_embd, 1] (f32); MTP blocks get the same MoE
// MLP (llama.cpp's load_block_mtp). Shapes and keys: docs/GGUF_QWEN35.md, "MoE files".
// Qwen3-Next files carry Qwen3's vocabulary (tests/data/tokenizer/qwen3.vocab, 151936 tokens,
// the model's own n_vocab), Qwen3.5 ones Qwen3.5's (248320).
//
// --mtp N appends N MTP (NextN) blocks after the trunk as llama.cpp's converter writes
// Qwen3.5's mtp.* tensors (conversion/qwen.py, _Qwen35MtpMixin): blk.{n_layer + j} holds a
// full-attention layer with its MLP plus nextn.eh_proj [2*n_embd, n_embd], nextn.enorm,
// nextn.hnorm and nextn.shared_head_norm (from the checkpoint's mtp.fc, mtp.pre_fc_norm_embedding,
// mtp.pre_fc_norm_hidden and mtp.norm; no dedicated embed_tokens / shared_head_head, which
// Qwen3.5 does not have); block_count counts them and nextn_predict_layers = N. For N > 1 every block gets its own eh_proj and norms, as
// llama.cpp's qwen35 loader requires (Qwen3.5 checkpoints have N = 1). The MTP tensors come
// after all trunk tensors, so the trunk's bytes are those of the same seed without --mtp.
//
// --type names a llama-quantize file type (Q4_K_M, Q5_0, IQ4_XS, ...; F16 / BF16 / F32 as the
// converter's outtype) and the file gets the type mix `llama-quantize IN OUT <type>` gives a
// Qwen3.5 file: every tensor's type comes from gdn/io/quant_mix.hpp (llama.cpp's
// llama_tensor_get_type rules, its use_more_bits layers and row-width fallback; --pure and
// --imatrix as llama-quantize's), and general.file_type is that llama_ftype. A mix that needs
// a type gdn cannot quantise yet (gdn::quant::has_quantizer) is refused before anything is
// written, naming the type and the first tensor that needs it, so each mix works once its
// formats' quantisers land (tests/tools/quant_mix.sh runs each against its f32 copy).
//
// Values (the scale rules of include/gdn/schedule/random_weights.cuh, so a forward pass of
// any depth stays finite): every matrix element uniform with std 1/sqrt(cols), so W x of an
// RMS-normalised x has unit scale; norm weights 1 +- 0.1 (the GGUF stores 1 + w); ssm_norm
// 1 +- 0.1; conv taps in [-0.5, 0.5); dt_bias in [0.5, 1.5); ssm_a = -exp(A_log) in [-8, -1].
// Matrices are quantised by gdn/quant/quantize.hpp (the K-quants: ggml's method, not its exact
// bytes).
//
// Tensors are generated and written in file order, a slice of rows at a time: worker threads
// fill numbered slices, one writer appends them in order, so memory stays at a few slices per
// thread whatever the model size, and every row's values depend only on (seed, tensor, row).
// The file is written as OUT.part and renamed when complete, then loaded back with
// gdn::io::load_qwen35 and checked with ref::check_weights and the GGUF tokenizer (MoE files:
// their tensor infos and tokenizer only, until gdn's loader reads them).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/shapes.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "gdn/io/quant_mix.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/io/tokenizer.hpp"
#include "gdn/quant/quantizers.hpp"
#include "gdn/ref/check.hpp"

#include "../examples/cli_util.hpp"
#include "vocab_file.hpp"

#ifndef GDN_SOURCE_VOCAB
#define GDN_SOURCE_VOCAB "tests/data/tokenizer/qwen35.vocab"
#endif

namespace {

using gdn::DType;
using gdn::ModelConfig;
using gdn::io::GgufEncoded;
using gdn::io::gguf_encode;
using gdn::io::gguf_encode_array;

/// --help: the options, then every --type with its mix (from gdn/io/quant_mix.hpp).
std::string usage() {
    std::string u =
        "usage: gdn-random-gguf --shape NAME -o OUT.gguf [--type T] [--pure] [--imatrix] [--seed N]\n"
        "                       [--layers N] [--embd N] [--ff N] [--mtp N] [--vocab FILE] [--threads N]\n"
        "                       [--experts N] [--experts-used K] [--ff-exp N] [--ff-shexp N]\n"
        "       gdn-random-gguf --list-types\n"
        "  --shape     0.8B, 2B, 4B, 9B, 27B (Qwen3.5, arch qwen35), 35B-A3B (Qwen3.5-MoE, qwen35moe),\n"
        "              80B-A3B (Qwen3-Next, qwen3next; gdn/core/shapes.hpp), tiny (256 wide, 4 layers,\n"
        "              2 heads over 1 KV head, for tests), tiny-moe / tiny-next (tiny with 16 experts,\n"
        "              top-4, 256-wide experts and shared expert, as qwen35moe / qwen3next)\n"
        "  -o          output GGUF (written as OUT.part, renamed when complete)\n"
        "  --type      a llama-quantize file type (default q8_0; any case; q3_k, q4_k, q5_k mean their _m):\n"
        "              the tensors get the types `llama-quantize IN OUT TYPE` gives a Qwen3.5 file (below;\n"
        "              output = output.weight, or token_embd.weight when tied; n: block_count; norms,\n"
        "              ssm_a, ssm_dt.bias, ssm_conv1d stay f32). A row the type's block does not divide\n"
        "              falls back as llama.cpp's (q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0, ...). A mix\n"
        "              that needs a type gdn has no quantiser for yet is refused, naming it\n"
        "  --pure      every quantised tensor the file type's base type (llama-quantize --pure)\n"
        "  --imatrix   choose the types llama-quantize chooses when given an importance matrix (only\n"
        "              Q4_0, Q5_0, IQ4_NL, IQ4_XS differ); the values are still quantised without one\n"
        "  --seed      random seed (default 0); same seed, same bytes\n"
        "  --layers    layers to write instead of the shape's (attention every 4th)\n"
        "  --embd      n_embd instead of the shape's; --ff: n_ff instead of the shape's\n"
        "  --mtp       MTP (NextN) blocks to append after the trunk, as llama.cpp's converter writes\n"
        "              Qwen3.5's (default 0; the real models have 1); they count in block_count; MoE\n"
        "              shapes' MTP blocks have the MoE MLP\n"
        "  --experts, --experts-used, --ff-exp, --ff-shexp  an MoE shape's expert count, top-k, expert\n"
        "              and shared-expert widths instead of the shape's\n"
        "  --vocab     the vocabulary in gdn's .vocab form (default: tests/data/tokenizer/qwen35.vocab,\n"
        "              Qwen3.5's, or qwen3.vocab, Qwen3's, for qwen3next shapes; also found through\n"
        "              $GDN_TOKENIZER_DATA or $GDN_TEST_DATA_DIR/tokenizer)\n"
        "  --threads   generator threads (default: all cores)\n"
        "  --list-types  print the --type names, one a line, and exit\n"
        "types (llama.cpp src/llama-quant.cpp, a dense Qwen3.5 without overrides; use_more_bits layers:\n"
        "the first and last n/8 and every third between, llama.cpp's; MoE: ffn_*_exps and ffn_*_shexp\n"
        "take the ffn_gate / ffn_up / ffn_down rules of their layer, ffn_gate_inp stays f32):\n";
    for (const gdn::io::LlamaFtypeInfo& f : gdn::io::llama_ftypes) {  // the mix wrapped at 100 columns
        std::string line = "  " + std::string(f.name);
        std::string_view rest = f.mix;
        while (!rest.empty()) {
            line.resize(13, ' ');
            size_t cut = rest.size();
            if (line.size() + cut > 100) cut = rest.rfind(' ', 100 - line.size());
            line += rest.substr(0, cut);
            u += line + "\n";
            line.clear();
            rest.remove_prefix(std::min(rest.size(), cut + 1));
        }
    }
    return u;
}

// ---- arguments ---------------------------------------------------------------------------

/// What --type, --pure and --imatrix ask for: the mix llama-quantize makes.
struct Mix {
    gdn::io::LlamaFtype ftype = gdn::io::LlamaFtype::q8_0;
    gdn::io::QuantMixOptions options;

    [[nodiscard]] std::string name() const {
        return std::string(gdn::io::llama_ftype_info(ftype).name) + (options.pure ? " --pure" : "") +
               (options.imatrix ? " --imatrix" : "");
    }
};

struct Args {
    std::string shape;
    std::string out;
    Mix type;
    uint64_t seed = 0;
    int64_t layers = 0;  // 0: the shape's
    int64_t embd = 0;    // 0: the shape's
    int64_t ff = 0;      // 0: the shape's
    int64_t mtp = 0;     // MTP blocks after the trunk
    int64_t experts = 0, experts_used = 0, ff_exp = 0, ff_shexp = 0;  // 0: the MoE shape's
    std::string vocab;
    int threads = 0;  // 0: hardware_concurrency
    bool list_types = false;
    bool help = false;
};

gdn::io::LlamaFtype parse_type(std::string_view s) {
    if (const auto f = gdn::io::parse_llama_ftype(s)) return *f;
    std::string known;
    for (const gdn::io::LlamaFtypeInfo& f : gdn::io::llama_ftypes) known += (known.empty() ? "" : ", ") + std::string(f.name);
    gdn::fail("--type: '", s, "' is not a file type gdn models (", known, ")");
}

Args parse(int argc, char** argv) {
    using gdn::cli::parse_u64;
    Args a;
    for (gdn::cli::ArgWalker args(argc, argv); args.next();) {
        const std::string_view arg = args.arg();
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "--shape") {
            a.shape = args.value();
        } else if (arg == "-o") {
            a.out = args.value();
            GDN_CHECK(!a.out.empty(), "-o: the output path is empty");
        } else if (arg == "--list-types") {
            a.list_types = true;
        } else if (arg == "--type") {
            a.type.ftype = parse_type(args.value());
        } else if (arg == "--pure") {
            a.type.options.pure = true;
        } else if (arg == "--imatrix") {
            a.type.options.imatrix = true;
        } else if (arg == "--seed") {
            a.seed = parse_u64(args.value(), "--seed");
        } else if (arg == "--layers") {
            const uint64_t n = parse_u64(args.value(), "--layers");
            GDN_CHECK(n >= 1 && n <= 1024, "--layers: ", n, " is not in [1, 1024]");
            a.layers = static_cast<int64_t>(n);
        } else if (arg == "--embd" || arg == "--ff") {
            const uint64_t n = parse_u64(args.value(), arg == "--embd" ? "--embd" : "--ff");
            GDN_CHECK(n >= 32 && n <= 65536 && n % 32 == 0, arg, ": ", n, " is not a multiple of 32 in [32, 65536]");
            (arg == "--embd" ? a.embd : a.ff) = static_cast<int64_t>(n);
        } else if (arg == "--mtp") {
            const uint64_t n = parse_u64(args.value(), "--mtp");
            GDN_CHECK(n <= 16, "--mtp: ", n, " is not in [0, 16]");
            a.mtp = static_cast<int64_t>(n);
        } else if (arg == "--experts" || arg == "--experts-used" || arg == "--ff-exp" || arg == "--ff-shexp") {
            const std::string name(arg);
            const uint64_t n = parse_u64(args.value(), name.c_str());
            if (arg == "--experts" || arg == "--experts-used") {
                GDN_CHECK(n >= 1 && n <= uint64_t(gdn::k_max_experts), arg, ": ", n, " is not in [1, ",
                          gdn::k_max_experts, "]");
                (arg == "--experts" ? a.experts : a.experts_used) = static_cast<int64_t>(n);
            } else {
                GDN_CHECK(n >= 32 && n <= 65536 && n % 32 == 0, arg, ": ", n, " is not a multiple of 32 in [32, 65536]");
                (arg == "--ff-exp" ? a.ff_exp : a.ff_shexp) = static_cast<int64_t>(n);
            }
        } else if (arg == "--vocab") {
            a.vocab = args.value();
        } else if (arg == "--threads") {
            const uint64_t n = parse_u64(args.value(), "--threads");
            GDN_CHECK(n >= 1 && n <= 1024, "--threads: ", n, " is not in [1, 1024]");
            a.threads = static_cast<int>(n);
        } else {
            gdn::fail("unknown argument '", arg, "' (see --help)");
        }
    }
    if (a.help || a.list_types) return a;
    GDN_CHECK(!a.shape.empty(), "--shape is required (0.8B, 2B, 4B, 9B, 27B, 35B-A3B, 80B-A3B, tiny, tiny-moe or tiny-next)");
    GDN_CHECK(!a.out.empty(), "-o OUT.gguf is required");
    return a;
}

/// A small model of the real vocabulary for tests: every dimension a real model has, only
/// narrower (Hv = 2 Hk, so the value-head order matters; GQA 2:1).
ModelConfig tiny_shape() {
    ModelConfig c = gdn::qwen35_shape("0.8B");
    c.n_embd = 256;
    c.n_layer = 4;
    c.n_ff = 512;
    c.ssm_n_k_heads = 2;
    c.ssm_n_v_heads = 4;
    c.n_head = 2;
    c.n_head_kv = 1;
    return c;
}

/// The tiny shape with an MoE MLP: 16 experts (not 8, which has llama-quantize rules of its
/// own, gdn/io/quant_mix.hpp), top-4, 256-wide experts and shared expert (rows of every block
/// size, as the real models' 512). n_ff stays 512: what a qwen3next file's feed_forward_length says.
ModelConfig tiny_moe_shape() {
    return gdn::with_experts(tiny_shape(), 16, 4, 256, 256, /*dense_ff=*/true);
}

/// HF's Qwen3NextConfig.intermediate_size, which the converter writes as feed_forward_length
/// (TextModel.set_gguf_parameters) although no Qwen3-Next layer is dense (decoder_sparse_step 1,
/// no mlp_only_layers); Qwen3.5-MoE's config has no intermediate_size, so its file has no key.
constexpr int64_t k_qwen3next_intermediate = 5120;

/// What --shape and the size flags ask for.
struct Shape {
    ModelConfig config;
    std::string arch;   ///< general.architecture: qwen35, qwen35moe, qwen3next
    std::string label;  ///< general.name's model: "Qwen3.5-27B", "Qwen3-Next-tiny", ...
};

Shape shape_of(const Args& a) {
    Shape s;
    ModelConfig& c = s.config;
    std::string name = a.shape;
    if (gdn::shapes_detail::same_name(a.shape, "tiny")) {
        c = tiny_shape();
        s.arch = "qwen35";
        name = "tiny";
    } else if (gdn::shapes_detail::same_name(a.shape, "tiny-moe") || gdn::shapes_detail::same_name(a.shape, "tiny-next")) {
        const bool next = gdn::shapes_detail::same_name(a.shape, "tiny-next");
        c = tiny_moe_shape();
        s.arch = next ? "qwen3next" : "qwen35moe";
        if (next) {  // Qwen3's vocabulary, HF's grouped value heads (gdn::shapes_detail::qwen3next)
            c.n_vocab = 151936;
            c.v_head_order = gdn::HeadOrder::grouped;
        }
        name = "tiny";
    } else {
        try {
            const gdn::NamedShape& n = gdn::named_shape(a.shape);
            c = n.config;
            s.arch = n.arch;
            name = n.name;
        } catch (const gdn::Error& e) {
            gdn::fail("--shape: ", e.what(), ", tiny, tiny-moe or tiny-next");
        }
        if (s.arch == "qwen3next" && c.n_ff == 0) c.n_ff = k_qwen3next_intermediate;
    }
    s.label = (s.arch == "qwen3next" ? "Qwen3-Next-" : "Qwen3.5-") + name;
    if (a.layers > 0) c.n_layer = a.layers;
    if (a.embd > 0) c.n_embd = a.embd;
    if (a.ff > 0) c.n_ff = a.ff;
    const bool moe_flags = a.experts > 0 || a.experts_used > 0 || a.ff_exp > 0 || a.ff_shexp > 0;
    GDN_CHECK(!moe_flags || c.is_moe(), "--experts, --experts-used, --ff-exp and --ff-shexp need an MoE --shape "
              "(35B-A3B, 80B-A3B, tiny-moe, tiny-next); '", a.shape, "' is dense");
    if (a.experts > 0) c.n_expert = a.experts;
    if (a.experts_used > 0) c.n_expert_used = a.experts_used;
    if (a.ff_exp > 0) c.n_ff_exp = a.ff_exp;
    if (a.ff_shexp > 0) c.n_ff_shexp = a.ff_shexp;
    c.n_mtp = a.mtp;
    c.validate();
    // llama.cpp's qwen35moe / qwen3next loaders require the shared expert's tensors
    GDN_CHECK(!c.is_moe() || c.n_ff_shexp > 0, "--shape ", a.shape, ": an MoE file needs a shared expert");
    return s;
}

// ---- the vocabulary ------------------------------------------------------------------------

/// The vocabulary file of an architecture: Qwen3.5's (qwen35.vocab, 248320 tokens) for qwen35
/// and qwen35moe, Qwen3's (qwen3.vocab, 151936 tokens: Qwen3-Next ships Qwen3's tokenizer) for
/// qwen3next; --vocab, else $GDN_TOKENIZER_DATA, $GDN_TEST_DATA_DIR/tokenizer, the source tree.
std::string find_vocab(const std::string& given, const std::string& arch) {
    if (!given.empty()) return given;
    const std::string file = arch == "qwen3next" ? "qwen3.vocab" : "qwen35.vocab";
    std::vector<std::string> tried;
    if (const char* d = std::getenv("GDN_TOKENIZER_DATA")) tried.push_back(std::string(d) + "/" + file);
    if (const char* d = std::getenv("GDN_TEST_DATA_DIR")) tried.push_back(std::string(d) + "/tokenizer/" + file);
    tried.push_back((std::filesystem::path(GDN_SOURCE_VOCAB).parent_path() / file).string());
    tried.emplace_back("tests/data/tokenizer/" + file);
    std::string list;
    for (const std::string& p : tried) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(p, ec)) return p;
        list += (list.empty() ? "" : ", ") + p;
    }
    gdn::fail("no ", file, " vocabulary found (tried ", list, "); pass --vocab tests/data/tokenizer/", file);
}

// ---- what goes in the file -------------------------------------------------------------------

/// One tensor: its GGUF info and how its values are drawn.
struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> ne;  // ggml order: ne[0] contiguous
    bool matrix;              // std 1/sqrt(ne[0]) uniform; else float32 uniform in center +- spread/2
    float center = 0.f, spread = 0.f;
    uint64_t offset = 0;  // from the start of the data section

    /// Rows of ne[0] elements, over every dimension after the first: a 3-D expert tensor
    /// [cols, rows, n_expert] has expert e's rows at [e * rows, (e + 1) * rows).
    [[nodiscard]] int64_t rows() const {
        int64_t r = 1;
        for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
        return r;
    }
    [[nodiscard]] int64_t row_bytes() const { return gdn::dtype_row_bytes(type, ne[0]); }
    [[nodiscard]] uint64_t bytes() const { return static_cast<uint64_t>(row_bytes() * rows()); }
};

constexpr uint64_t k_align = gdn::io::GgufFile::default_alignment;

uint64_t align_up(uint64_t x) { return (x + k_align - 1) / k_align * k_align; }

/// Every tensor of a `qwen35` / `qwen35moe` / `qwen3next` file of shape s, in the order
/// llama.cpp's converter emits a layer's tensors (names and shapes: docs/GGUF_QWEN35.md), then
/// the c.n_mtp MTP blocks, with the types of mix (f32 for what llama-quantize leaves as the
/// converter wrote it) and data offsets assigned. Fails naming the type and the first tensor
/// when gdn cannot quantise one.
std::vector<Tensor> plan_tensors(const Shape& s, const Mix& mix) {
    const ModelConfig& c = s.config;
    const bool next = s.arch == "qwen3next";
    std::vector<Tensor> ts;
    const auto matrix = [&](std::string name, int64_t cols, int64_t rows) {
        ts.push_back({std::move(name), DType::f32, {cols, rows}, true});
    };
    const auto vec = [&](std::string name, std::vector<int64_t> ne, float center, float spread) {
        ts.push_back({std::move(name), DType::f32, std::move(ne), false, center, spread});
    };
    const int64_t e = c.n_embd;
    const int64_t value_dim = c.ssm_n_v_heads * c.ssm_d_v;
    const int64_t hd = c.head_dim;
    const auto attention = [&](const std::string& b) {
        matrix(b + "attn_q.weight", e, 2 * c.n_head * hd);
        matrix(b + "attn_k.weight", e, c.n_head_kv * hd);
        matrix(b + "attn_v.weight", e, c.n_head_kv * hd);
        vec(b + "attn_q_norm.weight", {hd}, 1.f, 0.2f);
        vec(b + "attn_k_norm.weight", {hd}, 1.f, 0.2f);
        matrix(b + "attn_output.weight", c.n_head * hd, e);
    };
    const auto expert_matrix = [&](std::string name, int64_t cols, int64_t rows) {
        ts.push_back({std::move(name), DType::f32, {cols, rows, c.n_expert}, true});
    };
    // The MoE MLP as Qwen2MoeModel.modify_tensors emits it from HF's sorted names: the experts
    // (mlp.experts.*: down, then gate and up, stacked or split from gate_up_proj to
    // [n_embd, n_ff_exp, n_expert]), the router (mlp.gate -> ffn_gate_inp, f32, never quantised),
    // the shared expert (mlp.shared_expert.{down,gate,up}_proj) and its gate
    // (mlp.shared_expert_gate, HF [1, n_embd] -> ggml [n_embd, 1], f32). The router's rows have
    // std 1/sqrt(n_embd) like any matrix: unit-scale logits, so the top-k spreads over experts.
    const auto mlp = [&](const std::string& b) {
        vec(b + "post_attention_norm.weight", {e}, 1.f, 0.2f);
        if (!c.is_moe()) {
            matrix(b + "ffn_gate.weight", e, c.n_ff);
            matrix(b + "ffn_up.weight", e, c.n_ff);
            matrix(b + "ffn_down.weight", c.n_ff, e);
            return;
        }
        expert_matrix(b + "ffn_down_exps.weight", c.n_ff_exp, e);
        expert_matrix(b + "ffn_gate_exps.weight", e, c.n_ff_exp);
        expert_matrix(b + "ffn_up_exps.weight", e, c.n_ff_exp);
        matrix(b + "ffn_gate_inp.weight", e, c.n_expert);
        matrix(b + "ffn_down_shexp.weight", c.n_ff_shexp, e);
        matrix(b + "ffn_gate_shexp.weight", e, c.n_ff_shexp);
        matrix(b + "ffn_up_shexp.weight", e, c.n_ff_shexp);
        matrix(b + "ffn_gate_inp_shexp.weight", e, 1);
    };
    matrix("token_embd.weight", e, c.n_vocab);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        vec(b + "attn_norm.weight", {e}, 1.f, 0.2f);
        if (c.is_attention(i)) {
            attention(b);
        } else {
            matrix(b + "attn_qkv.weight", e, c.ssm_conv_dim());
            matrix(b + "attn_gate.weight", e, value_dim);
            if (next) {
                // Qwen3-Next's in_proj_ba as is: per key head, r = Hv / Hk beta rows then r alpha
                // rows (llama.cpp's qwen3next graph views it as [2r, Hk]); no value-head reorder
                matrix(b + "ssm_ba.weight", e, 2 * c.ssm_n_v_heads);
            } else {
                matrix(b + "ssm_beta.weight", e, c.ssm_n_v_heads);
                matrix(b + "ssm_alpha.weight", e, c.ssm_n_v_heads);
            }
            vec(b + "ssm_conv1d.weight", {c.ssm_conv_kernel, c.ssm_conv_dim()}, 0.f, 1.f);
            vec(b + "ssm_dt.bias", {c.ssm_n_v_heads}, 1.f, 1.f);
            vec(b + "ssm_a", {c.ssm_n_v_heads}, -4.5f, 7.f);  // -exp(A_log) in [-8, -1]
            vec(b + "ssm_norm.weight", {c.ssm_d_v}, 1.f, 0.2f);
            matrix(b + "ssm_out.weight", value_dim, e);
        }
        mlp(b);
    }
    vec("output_norm.weight", {e}, 1.f, 0.2f);
    if (!c.tied_embeddings) matrix("output.weight", e, c.n_vocab);
    // last, so every trunk tensor keeps its index and with it its values (fill_rows)
    for (int64_t j = 0; j < c.n_mtp; ++j) {
        const std::string b = "blk." + std::to_string(c.n_layer + j) + ".";
        matrix(b + "nextn.eh_proj.weight", 2 * e, e);
        vec(b + "attn_norm.weight", {e}, 1.f, 0.2f);
        attention(b);
        mlp(b);
        vec(b + "nextn.shared_head_norm.weight", {e}, 1.f, 0.2f);
        vec(b + "nextn.enorm.weight", {e}, 1.f, 0.2f);
        vec(b + "nextn.hnorm.weight", {e}, 1.f, 0.2f);
    }

    std::vector<gdn::io::MixTensor> infos;
    for (const Tensor& t : ts) infos.push_back({t.name, t.ne, t.type});
    const std::vector<DType> types = gdn::io::llama_tensor_types(
        mix.ftype, infos, c.n_layer + c.n_mtp, gdn::io::QuantModel{c.n_head / c.n_head_kv, true, c.n_expert},
        mix.options);
    std::vector<DType> missing;  // types without a quantiser, in order of first use
    const Tensor* first_missing = nullptr;
    for (size_t i = 0; i < ts.size(); ++i) {
        // every matrix is quantised but the router and the shared expert's gate (f32 as the
        // converter forces them); nothing else is
        const bool kept_matrix = ts[i].name.ends_with("ffn_gate_inp.weight") || ts[i].name.ends_with("ffn_gate_inp_shexp.weight");
        GDN_CHECK(gdn::io::llama_quantizes(ts[i].name, ts[i].ne) == (ts[i].matrix && !kept_matrix), "internal: ",
                  ts[i].name, " is ", ts[i].matrix ? "" : "not ", "a matrix here but llama-quantize thinks otherwise");
        ts[i].type = types[i];
        if (!gdn::quant::has_quantizer(types[i]) && std::find(missing.begin(), missing.end(), types[i]) == missing.end()) {
            if (missing.empty()) first_missing = &ts[i];
            missing.push_back(types[i]);
        }
    }
    if (!missing.empty()) {
        std::string all;
        for (DType t : missing) all += (all.empty() ? "" : ", ") + std::string(gdn::io::mix_type_name(t));
        gdn::fail("--type ", mix.name(), ": llama.cpp's mix stores ", first_missing->name, " as ",
                  gdn::io::mix_type_name(first_missing->type), ", and gdn has no quantiser for ", all,
                  " yet (gdn::quant::has_quantizer)");
    }

    uint64_t at = 0;
    for (Tensor& t : ts) {
        GDN_CHECK(t.ne[0] % gdn::dtype_traits(t.type).block_elems == 0, "tensor '", t.name, "' row of ", t.ne[0],
                  " is not a multiple of the ", gdn::dtype_name(t.type), " block size");
        t.offset = at;
        at = align_up(at + t.bytes());
    }
    return ts;
}

using Kv = std::pair<std::string, GgufEncoded>;

/// The metadata keys and GGUF types llama.cpp's converter writes for the text model of arch
/// (conversion/qwen.py, conversion/base.py TextModel.set_gguf_parameters, gguf-py's GGUFWriter);
/// block_count counts the MTP blocks, and nextn_predict_layers is written when there are any
/// (as _QwenMtpMixin does). MoE files add expert_count and expert_used_count (TextModel, from
/// num_experts / num_experts_per_tok) and expert_feed_forward_length /
/// expert_shared_feed_forward_length (Qwen2MoeModel); feed_forward_length only where HF's config
/// has intermediate_size (dense Qwen3.5 and Qwen3-Next, not Qwen3.5-MoE); rope.dimension_sections
/// only for qwen35 / qwen35moe (their configs' mrope_section, or _Qwen35MRopeMixin's default;
/// llama.cpp's qwen35moe loader requires it, qwen3next's does not read it).
std::vector<Kv> metadata(const Shape& s, const Mix& mix, const std::string& name, const gdn::io::TokenizerVocab& v) {
    const ModelConfig& c = s.config;
    const auto u32 = [](int64_t x) { return gguf_encode(static_cast<uint32_t>(x)); };
    const std::string p = s.arch + ".";
    const bool next = s.arch == "qwen3next";
    std::vector<Kv> kv;
    kv.emplace_back("general.architecture", gguf_encode(s.arch));
    kv.emplace_back("general.type", gguf_encode(std::string_view("model")));
    kv.emplace_back("general.name", gguf_encode(name));
    kv.emplace_back(p + "block_count", u32(c.n_layer + c.n_mtp));
    kv.emplace_back(p + "context_length", u32(262144));
    kv.emplace_back(p + "embedding_length", u32(c.n_embd));
    if (!c.is_moe() || next) kv.emplace_back(p + "feed_forward_length", u32(c.n_ff));
    kv.emplace_back(p + "attention.head_count", u32(c.n_head));
    kv.emplace_back(p + "attention.head_count_kv", u32(c.n_head_kv));
    kv.emplace_back(p + "rope.freq_base", gguf_encode(c.rope_theta));
    kv.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf_encode(c.rms_eps));
    if (c.is_moe()) {
        kv.emplace_back(p + "expert_count", u32(c.n_expert));
        kv.emplace_back(p + "expert_used_count", u32(c.n_expert_used));
    }
    kv.emplace_back(p + "attention.key_length", u32(c.head_dim));
    kv.emplace_back(p + "attention.value_length", u32(c.head_dim));
    // llama-quantize records the file type it was asked for (--pure included)
    kv.emplace_back("general.file_type", gguf_encode(static_cast<uint32_t>(mix.ftype)));
    if (c.is_moe()) {
        kv.emplace_back(p + "expert_feed_forward_length", u32(c.n_ff_exp));
        kv.emplace_back(p + "expert_shared_feed_forward_length", u32(c.n_ff_shexp));
    }
    kv.emplace_back(p + "ssm.conv_kernel", u32(c.ssm_conv_kernel));
    kv.emplace_back(p + "ssm.state_size", u32(c.ssm_d_k));
    kv.emplace_back(p + "ssm.group_count", u32(c.ssm_n_k_heads));
    kv.emplace_back(p + "ssm.time_step_rank", u32(c.ssm_n_v_heads));
    kv.emplace_back(p + "ssm.inner_size", u32(c.ssm_n_v_heads * c.ssm_d_v));
    kv.emplace_back(p + "full_attention_interval", u32(c.full_attention_interval));
    kv.emplace_back(p + "rope.dimension_count", u32(c.n_rot));
    if (!next) kv.emplace_back(p + "rope.dimension_sections", gguf_encode_array(std::vector<int32_t>{11, 11, 10, 0}));
    if (c.n_mtp > 0) kv.emplace_back(p + "nextn_predict_layers", u32(c.n_mtp));
    kv.emplace_back("general.quantization_version", u32(2));
    kv.emplace_back("tokenizer.ggml.model", gguf_encode(v.model));
    kv.emplace_back("tokenizer.ggml.pre", gguf_encode(v.pre));
    kv.emplace_back("tokenizer.ggml.tokens", gguf_encode_array(v.tokens));
    kv.emplace_back("tokenizer.ggml.token_type", gguf_encode_array(v.token_types));
    kv.emplace_back("tokenizer.ggml.merges", gguf_encode_array(v.merges));
    kv.emplace_back("tokenizer.ggml.eos_token_id", u32(v.eos_id));
    kv.emplace_back("tokenizer.ggml.padding_token_id", u32(v.pad_id));
    kv.emplace_back("tokenizer.ggml.bos_token_id", u32(v.bos_id));
    kv.emplace_back("tokenizer.ggml.add_bos_token", gguf_encode(false));
    return kv;
}

/// Header, metadata and tensor infos, padded to the alignment: everything before the data.
std::vector<std::byte> header_bytes(const std::vector<Kv>& kvs, const std::vector<Tensor>& ts) {
    using gdn::io::detail::append_le;
    using gdn::io::detail::append_string;
    std::vector<std::byte> out{std::byte{'G'}, std::byte{'G'}, std::byte{'U'}, std::byte{'F'}};
    append_le<uint32_t>(out, 3);
    append_le<uint64_t>(out, ts.size());
    append_le<uint64_t>(out, kvs.size());
    for (const auto& [key, value] : kvs) {
        append_string(out, key);
        append_le<uint32_t>(out, static_cast<uint32_t>(value.type));
        out.insert(out.end(), value.bytes.begin(), value.bytes.end());
    }
    for (const Tensor& t : ts) {
        append_string(out, t.name);
        append_le<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
        for (int64_t n : t.ne) append_le<int64_t>(out, n);
        append_le<uint32_t>(out, static_cast<uint32_t>(t.type));
        append_le<uint64_t>(out, t.offset);
    }
    out.resize(align_up(out.size()), std::byte{0});
    return out;
}

// ---- values ----------------------------------------------------------------------------------

constexpr uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Rows [r0, r1) of tensor t (index ti) into dst, as stored. scratch holds one row of floats.
void fill_rows(const Tensor& t, size_t ti, int64_t r0, int64_t r1, uint64_t seed, std::byte* dst,
               std::vector<float>& scratch) {
    const int64_t cols = t.ne[0];
    scratch.resize(static_cast<size_t>(cols));
    // uniform on [center - half, center + half): std half / sqrt(3) for a matrix
    const float half = t.matrix ? std::sqrt(3.f / float(cols)) : 0.5f * t.spread;
    const float center = t.matrix ? 0.f : t.center;
    const float scale = half * 0x1p-31f;
    const uint64_t tensor_key = mix64(seed ^ mix64(0x5EED0000ull + ti));
    for (int64_t r = r0; r < r1; ++r) {
        uint64_t s = mix64(tensor_key ^ static_cast<uint64_t>(r));
        float* x = scratch.data();
        for (int64_t j = 0; j < cols; j += 2) {
            s += 0x9E3779B97F4A7C15ull;
            const uint64_t h = mix64(s);
            x[j] = center + scale * float(static_cast<int32_t>(static_cast<uint32_t>(h)));
            if (j + 1 < cols) x[j + 1] = center + scale * float(static_cast<int32_t>(static_cast<uint32_t>(h >> 32)));
        }
        gdn::quant::quantize_row(t.type, x, dst + (r - r0) * t.row_bytes(), cols);
    }
}

// ---- writing ---------------------------------------------------------------------------------

/// A slice of one tensor's rows, the unit a worker fills and the writer appends.
struct Slice {
    size_t tensor;
    int64_t row0, row1;
};

constexpr int64_t k_slice_bytes = 8 << 20;

std::vector<Slice> slice_tensors(const std::vector<Tensor>& ts) {
    std::vector<Slice> out;
    for (size_t i = 0; i < ts.size(); ++i) {
        const int64_t per = std::max<int64_t>(1, k_slice_bytes / ts[i].row_bytes());
        for (int64_t r = 0; r < ts[i].rows(); r += per) out.push_back({i, r, std::min(ts[i].rows(), r + per)});
    }
    return out;
}

class OutFile {
public:
    explicit OutFile(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
        GDN_CHECK(f_ != nullptr, "cannot open '", path, "' for writing: ", std::strerror(errno));
    }
    ~OutFile() {
        if (f_) std::fclose(f_);
    }
    OutFile(const OutFile&) = delete;
    OutFile& operator=(const OutFile&) = delete;

    void write(const void* p, size_t n) {
        if (n == 0) return;
        GDN_CHECK(std::fwrite(p, 1, n, f_) == n, "writing '", path_, "' failed at byte ", at_, ": ",
                  std::strerror(errno));
        at_ += n;
    }
    void pad_to(uint64_t at) {
        static const std::byte zeros[k_align] = {};
        GDN_CHECK(at >= at_ && at - at_ <= k_align, "internal: padding from ", at_, " to ", at);
        write(zeros, static_cast<size_t>(at - at_));
    }
    void close() {
        const int rc = std::fclose(f_);
        f_ = nullptr;
        GDN_CHECK(rc == 0, "closing '", path_, "' failed: ", std::strerror(errno));
    }
    [[nodiscard]] uint64_t position() const { return at_; }

private:
    std::string path_;
    std::FILE* f_;
    uint64_t at_ = 0;
};

using Clock = std::chrono::steady_clock;

/// Worker threads fill slices into a ring of buffers; the calling thread writes them in order.
/// Slice j uses buffer j % ring; a worker waits until slice j - ring is written.
void write_data(OutFile& out, uint64_t data_start, const std::vector<Tensor>& ts, uint64_t seed, int n_threads) {
    const std::vector<Slice> slices = slice_tensors(ts);
    const size_t ring = static_cast<size_t>(n_threads) + 2;
    std::vector<std::vector<std::byte>> buf(ring);
    std::vector<char> ready(slices.size(), 0);
    std::mutex m;
    std::condition_variable cv;
    size_t written = 0;
    bool failed = false;
    std::exception_ptr error;
    std::atomic<size_t> next{0};

    auto worker = [&]() {
        std::vector<float> scratch;
        for (size_t j; (j = next.fetch_add(1)) < slices.size();) {
            {
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return failed || written + ring > j; });
                if (failed) return;
            }
            try {
                const Slice& s = slices[j];
                const Tensor& t = ts[s.tensor];
                std::vector<std::byte>& b = buf[j % ring];
                b.resize(static_cast<size_t>((s.row1 - s.row0) * t.row_bytes()));
                fill_rows(t, s.tensor, s.row0, s.row1, seed, b.data(), scratch);
            } catch (...) {
                std::lock_guard lk(m);
                if (!failed) error = std::current_exception();
                failed = true;
                cv.notify_all();
                return;
            }
            std::lock_guard lk(m);
            ready[j] = 1;
            cv.notify_all();
        }
    };
    std::vector<std::thread> pool;
    for (int i = 0; i < n_threads; ++i) pool.emplace_back(worker);

    const bool tty = isatty(fileno(stderr)) != 0;
    const uint64_t total = ts.empty() ? 0 : ts.back().offset + ts.back().bytes();
    const auto t0 = Clock::now();
    auto last = t0;
    try {
        for (size_t j = 0; j < slices.size(); ++j) {
            {
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return failed || ready[j]; });
                if (failed) break;
            }
            const Slice& s = slices[j];
            const Tensor& t = ts[s.tensor];
            if (s.row0 == 0) out.pad_to(data_start + t.offset);
            out.write(buf[j % ring].data(), buf[j % ring].size());
            {
                std::lock_guard lk(m);
                written = j + 1;
                cv.notify_all();
            }
            const auto now = Clock::now();
            if (tty && (now - last > std::chrono::milliseconds(200) || j + 1 == slices.size())) {
                last = now;
                const double done = double(out.position() - data_start);
                const double secs = std::chrono::duration<double>(now - t0).count();
                std::fprintf(stderr, "\rgdn-random-gguf: %5.1f%% of %.1f MB, %.0f MB/s   ", 100.0 * done / double(total),
                             double(total) / 1e6, done / 1e6 / std::max(secs, 1e-9));
                std::fflush(stderr);
            }
        }
    } catch (...) {
        std::lock_guard lk(m);
        if (!failed) error = std::current_exception();
        failed = true;
        cv.notify_all();
    }
    for (std::thread& th : pool) th.join();
    if (tty) std::fprintf(stderr, "\n");
    if (error) std::rethrow_exception(error);
}

/// Load the file back as gdn-generate will: the GGUF tensor infos, the qwen35 layout, the
/// decoders' weight check, the tokenizer; throws naming what failed. Returns what was checked.
/// gdn's loader reads qwen35 only so far: an MoE file is checked as GGUF and tokenizer here, and
/// against llama.cpp's loaders by tests/tools/check_moe_gguf.py.
std::string check_file(const std::string& path, const Shape& s, const std::vector<Tensor>& ts) {
    const ModelConfig& c = s.config;
    const gdn::io::GgufFile f = gdn::io::GgufFile::open(path);
    GDN_CHECK(f.n_tensors() == ts.size(), path, ": ", f.n_tensors(), " tensors read back, ", ts.size(), " written");
    for (const Tensor& t : ts) {
        const gdn::TensorView& v = f.tensor(t.name);
        GDN_CHECK(v.type == t.type, path, ": ", t.name, " reads back as ", gdn::dtype_name(v.type), ", written as ",
                  gdn::dtype_name(t.type));
    }
    const gdn::io::Tokenizer tok = gdn::io::Tokenizer::from_gguf(f);
    GDN_CHECK(tok.encode("Hello").size() == 1, path, ": the tokenizer read back does not encode 'Hello' as one token");
    const gdn::ModelWeights w = gdn::io::load_qwen35(f);
    gdn::ref::check_weights(w);
    const ModelConfig& r = w.config;
    GDN_CHECK(r.n_layer == c.n_layer && r.n_mtp == c.n_mtp && w.mtp.size() == static_cast<size_t>(c.n_mtp) &&
                  r.n_embd == c.n_embd && (c.is_moe() || r.n_ff == c.n_ff) && r.n_vocab == c.n_vocab &&
                  r.ssm_n_v_heads == c.ssm_n_v_heads && r.n_head == c.n_head &&
                  r.tied_embeddings == c.tied_embeddings && r.n_expert == c.n_expert &&
                  r.n_expert_used == c.n_expert_used && r.n_ff_exp == c.n_ff_exp && r.n_ff_shexp == c.n_ff_shexp &&
                  r.v_head_order == c.v_head_order,
              path, ": the config read back differs from the one written");
    return "loads as " + s.arch + ", weights and tokenizer check";
}

/// "54 q4_k, 9 q6_k; not q4_k: attn_qkv q6_k: 0 6; attn_v q6_k; ffn_down q6_k: 0 3 6 7;
/// token_embd q6_k": the matrices per type, then where the mix departs from its common type
/// (gdn::io::mix_exceptions: a kind of block tensor with its layers, all of them when none listed).
std::string type_summary(const std::vector<Tensor>& ts) {
    std::vector<std::string_view> names;
    std::vector<DType> types;
    for (const Tensor& t : ts) {
        if (!t.matrix) continue;
        names.push_back(t.name);
        types.push_back(t.type);
    }
    std::vector<DType> kinds = types;
    std::sort(kinds.begin(), kinds.end());
    kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
    std::string out;
    for (DType t : kinds) {
        out += out.empty() ? "" : ", ";
        out += std::to_string(std::count(types.begin(), types.end(), t));
        out += ' ';
        out += gdn::io::mix_type_name(t);
    }
    const DType common = gdn::io::mix_common_type(types);
    const std::vector<std::string> lines = gdn::io::mix_exceptions(names, types, common);
    for (size_t i = 0; i < lines.size(); ++i) {
        out += i == 0 ? "; not " + std::string(gdn::io::mix_type_name(common)) + ": " : "; ";
        out += lines[i];
    }
    return out;
}

int run(const Args& a) {
    if (a.list_types) {
        for (const gdn::io::LlamaFtypeInfo& f : gdn::io::llama_ftypes) std::printf("%s\n", std::string(f.name).c_str());
        return 0;
    }
    const auto t0 = Clock::now();
    const Shape shape = shape_of(a);
    const ModelConfig& c = shape.config;
    const std::string vocab_path = find_vocab(a.vocab, shape.arch);
    const gdn::io::TokenizerVocab vocab = gdn::tools::read_vocab_file(vocab_path).vocab;
    GDN_CHECK(static_cast<int64_t>(vocab.tokens.size()) == c.n_vocab, vocab_path, " has ", vocab.tokens.size(),
              " tokens, the shape's vocabulary is ", c.n_vocab);
    const int n_threads = a.threads > 0 ? a.threads : std::max(1, int(std::thread::hardware_concurrency()));

    const std::vector<Tensor> ts = plan_tensors(shape, a.type);
    const std::string& label = shape.label;
    const std::string name = label + " random weights (gdn-random-gguf, seed " + std::to_string(a.seed) + ")";
    const std::vector<std::byte> head = header_bytes(metadata(shape, a.type, name, vocab), ts);
    // gguf-py pads after every tensor, the last one included
    const uint64_t total = head.size() + align_up(ts.back().offset + ts.back().bytes());
    const std::string mtp = c.n_mtp == 0 ? "" : " + " + std::to_string(c.n_mtp) + " MTP block" + (c.n_mtp > 1 ? "s" : "");
    const std::string experts = !c.is_moe() ? "" : ", " + std::to_string(c.n_expert) + " experts (top-" +
                                                     std::to_string(c.n_expert_used) + ")";
    std::fprintf(stderr, "gdn-random-gguf: %s (%s), %s, %lld layers%s%s, %zu tensors, %.1f MB, %d threads -> %s\n",
                 label.c_str(), shape.arch.c_str(), a.type.name().c_str(), static_cast<long long>(c.n_layer),
                 mtp.c_str(), experts.c_str(), ts.size(), double(total) / 1e6, n_threads, a.out.c_str());
    std::fprintf(stderr, "gdn-random-gguf: matrices: %s\n", type_summary(ts).c_str());

    const std::string part = a.out + ".part";
    try {
        OutFile out(part);
        out.write(head.data(), head.size());
        write_data(out, head.size(), ts, a.seed, n_threads);
        out.pad_to(total);
        GDN_CHECK(out.position() == total, "internal: wrote ", out.position(), " bytes, planned ", total);
        out.close();
        std::error_code ec;
        std::filesystem::rename(part, a.out, ec);
        GDN_CHECK(!ec, "cannot rename '", part, "' to '", a.out, "': ", ec.message());
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(part, ec);
        throw;
    }
    const double write_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string checked = check_file(a.out, shape, ts);
    std::fprintf(stderr, "gdn-random-gguf: wrote %s (%.1f MB) in %.2f s (%.0f MB/s); %s\n", a.out.c_str(),
                 double(total) / 1e6, write_s, double(total) / 1e6 / std::max(write_s, 1e-9), checked.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    static const std::string text = usage();
    return gdn::cli::main_with("gdn-random-gguf", text.c_str(), argc, argv, parse, run);
}

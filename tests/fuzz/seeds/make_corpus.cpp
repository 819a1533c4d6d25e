// Writes the fuzzer's seed files (small valid GGUFs) into the folder given as argv[1]:
//   g++ -std=c++20 -Iinclude tests/fuzz/seeds/make_corpus.cpp -o /tmp/mk && /tmp/mk tests/fuzz/corpus
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gdn/io/gguf_writer.hpp"

namespace {

using gdn::DType;
using gdn::io::GgufWriter;

std::vector<std::byte> random_bytes(size_t n, std::mt19937& rng) {
    std::vector<std::byte> b(n);
    for (auto& x : b) x = static_cast<std::byte>(rng() & 0xff);
    return b;
}

void add(GgufWriter& w, std::mt19937& rng, const std::string& name, DType t, std::vector<int64_t> ne) {
    int64_t rows = 1;
    for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
    w.add_tensor(name, t, ne, random_bytes(static_cast<size_t>(gdn::dtype_row_bytes(t, ne[0]) * rows), rng));
}

GgufWriter metadata_only() {
    GgufWriter w;
    w.add_u8("m.u8", 1);
    w.add_i8("m.i8", -1);
    w.add_u16("m.u16", 2);
    w.add_i16("m.i16", -2);
    w.add_u32("m.u32", 3);
    w.add_i32("m.i32", -3);
    w.add_u64("m.u64", 4);
    w.add_i64("m.i64", -4);
    w.add_f32("m.f32", 0.5f);
    w.add_f64("m.f64", 0.25);
    w.add_bool("m.bool", true);
    w.add_string("m.str", "gguf");
    w.add_array("m.strs", std::vector<std::string>{"a", "bc", ""});
    w.add_array("m.i32s", std::vector<int32_t>{1, -2, 3});
    w.add("m.nested", gdn::io::gguf_encode_array(gdn::io::GgufType::array,
                                                 {gdn::io::gguf_encode_array(std::vector<std::string>{"x", "y"})}));
    return w;
}

GgufWriter every_dtype(std::mt19937& rng) {
    GgufWriter w;
    w.set_alignment(64);
    w.add_string("general.architecture", "test");
    for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q4_0, DType::q8_0, DType::q4_k, DType::q6_k}) {
        add(w, rng, std::string(gdn::dtype_name(t)), t, {gdn::dtype_traits(t).block_elems, 1, 2});
    }
    return w;
}

/// A two-layer qwen35 (DeltaNet, attention) that load_qwen35 accepts.
GgufWriter tiny_qwen35(std::mt19937& rng, bool tied) {
    const int64_t E = 32, Hk = 1, Hv = 2, dk = 8, dv = 8, H = 2, Hkv = 1, hd = 8, ff = 32, vocab = 16, K = 4;
    const int64_t conv_dim = 2 * Hk * dk + Hv * dv;
    GgufWriter w;
    w.add_string("general.architecture", "qwen35");
    w.add_u32("qwen35.block_count", 2);
    w.add_u32("qwen35.embedding_length", E);
    w.add_u32("qwen35.feed_forward_length", ff);
    w.add_u32("qwen35.full_attention_interval", 2);
    w.add_u32("qwen35.attention.head_count", H);
    w.add_u32("qwen35.attention.head_count_kv", Hkv);
    w.add_u32("qwen35.attention.key_length", hd);
    w.add_u32("qwen35.attention.value_length", hd);
    w.add_f32("qwen35.attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_f32("qwen35.rope.freq_base", 1e7f);
    w.add_u32("qwen35.rope.dimension_count", 4);
    w.add_u32("qwen35.ssm.conv_kernel", K);
    w.add_u32("qwen35.ssm.state_size", dk);
    w.add_u32("qwen35.ssm.group_count", Hk);
    w.add_u32("qwen35.ssm.time_step_rank", Hv);
    w.add_u32("qwen35.ssm.inner_size", Hv * dv);
    add(w, rng, "token_embd.weight", DType::q8_0, {E, vocab});
    add(w, rng, "output_norm.weight", DType::f32, {E});
    if (!tied) add(w, rng, "output.weight", DType::f16, {E, vocab});
    for (int i = 0; i < 2; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        add(w, rng, b + "attn_norm.weight", DType::f32, {E});
        add(w, rng, b + "post_attention_norm.weight", DType::f32, {E});
        if (i == 0) {
            add(w, rng, b + "attn_qkv.weight", DType::f16, {E, conv_dim});
            add(w, rng, b + "attn_gate.weight", DType::f16, {E, Hv * dv});
            add(w, rng, b + "ssm_beta.weight", DType::f16, {E, Hv});
            add(w, rng, b + "ssm_alpha.weight", DType::f16, {E, Hv});
            add(w, rng, b + "ssm_conv1d.weight", DType::f32, {K, conv_dim});
            add(w, rng, b + "ssm_dt.bias", DType::f32, {Hv});
            add(w, rng, b + "ssm_a", DType::f32, {Hv});
            add(w, rng, b + "ssm_norm.weight", DType::f32, {dv});
            add(w, rng, b + "ssm_out.weight", DType::f16, {Hv * dv, E});
        } else {
            add(w, rng, b + "attn_q.weight", DType::f16, {E, 2 * H * hd});
            add(w, rng, b + "attn_k.weight", DType::f16, {E, Hkv * hd});
            add(w, rng, b + "attn_v.weight", DType::f16, {E, Hkv * hd});
            add(w, rng, b + "attn_q_norm.weight", DType::f32, {hd});
            add(w, rng, b + "attn_k_norm.weight", DType::f32, {hd});
            add(w, rng, b + "attn_output.weight", DType::f16, {H * hd, E});
        }
        add(w, rng, b + "ffn_gate.weight", DType::f16, {E, ff});
        add(w, rng, b + "ffn_up.weight", DType::q4_0, {E, ff});
        add(w, rng, b + "ffn_down.weight", DType::f16, {ff, E});
    }
    return w;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    std::mt19937 rng(42);
    metadata_only().write(dir + "/metadata_only.gguf");
    every_dtype(rng).write(dir + "/every_dtype.gguf");
    tiny_qwen35(rng, true).write(dir + "/qwen35_tied.gguf");
    tiny_qwen35(rng, false).write(dir + "/qwen35_untied.gguf");
    return 0;
}

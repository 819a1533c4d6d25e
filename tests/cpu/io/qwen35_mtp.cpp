// load_qwen35 on files with MTP (NextN) blocks after the trunk, as llama.cpp's converter writes
// them for Qwen3.5 (blk.{n_layer + j}: a full-attention layer with its MLP, nextn.eh_proj,
// nextn.enorm, nextn.hnorm, nextn.shared_head_norm): every tensor is kept with its shape, the
// trunk decodes exactly as without them, and a block that is incomplete or not declared by the
// hparams is an error naming the tensor and the block.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"
#include "gdn/ref/check.hpp"
#include "gdn/ref/decoder.hpp"
#include "io_test_util.hpp"
#include "qwen35_test_util.hpp"

using gdn::DType;
using gdn::io::GgufFile;
using gdn::io::gguf_encode;

using namespace gdn::test::qwen35;

namespace {

std::vector<int64_t> shape(const gdn::TensorView& t) { return {t.ne[0], t.ne[1], t.ne[2], t.ne[3]}; }
std::vector<int64_t> vec_shape(int64_t n) { return {n, 1, 1, 1}; }
std::vector<int64_t> mat_shape(int64_t in, int64_t out) { return {in, out, 1, 1}; }

/// The 14 tensors llama.cpp's qwen35 loader requires in MTP block blk.{i}.
std::vector<std::string> required_mtp_tensors(int64_t i) {
    std::vector<std::string> names;
    for (const char* suffix : {"attn_norm.weight", "post_attention_norm.weight", "attn_q.weight", "attn_k.weight",
                               "attn_v.weight", "attn_q_norm.weight", "attn_k_norm.weight", "attn_output.weight",
                               "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight", "nextn.eh_proj.weight",
                               "nextn.enorm.weight", "nextn.hnorm.weight"}) {
        names.push_back("blk." + std::to_string(i) + "." + suffix);
    }
    return names;
}

/// The trunk's logits for `tokens` on the CPU reference, one vector per position.
std::vector<std::vector<float>> reference_logits(const gdn::ModelWeights& w, const std::vector<int32_t>& tokens) {
    gdn::ref::RuntimeDecoder dec(w, {.max_ctx = 64});
    std::vector<std::vector<float>> out;
    for (int32_t t : tokens) {
        const std::span<const float> l = dec.step(t);
        out.emplace_back(l.begin(), l.end());
    }
    return out;
}

}  // namespace

TEST_CASE("qwen35 MTP: a block loads with every tensor in its shape", "[io][qwen35][mtp]") {
    for (const bool heads : {false, true}) {
        INFO((heads ? "with" : "without") << " the optional embed_tokens / shared_head_head");
        std::mt19937_64 rng(31);
        Tiny s;
        s.nextn = heads ? 2 : 1;
        s.mtp_heads = heads;
        const Tensors ts = tiny_tensors(s, rng);
        const GgufFile f = GgufFile::from_buffer(write(tiny_kvs(s), ts));
        const gdn::ModelWeights w = gdn::io::load_qwen35(f);
        const gdn::ModelConfig& c = w.config;
        CHECK(c.n_layer == s.L);
        CHECK(c.n_mtp == s.nextn);
        REQUIRE(w.layers.size() == size_t(s.L));
        REQUIRE(w.mtp.size() == size_t(s.nextn));
        for (size_t j = 0; j < w.mtp.size(); ++j) {
            const gdn::MtpWeights& m = w.mtp[j];
            const std::string b = "blk." + std::to_string(s.L + int64_t(j)) + ".";
            INFO("MTP block " << j);
            CHECK(m.eh_proj.name == b + "nextn.eh_proj.weight");
            CHECK(shape(m.eh_proj) == mat_shape(2 * s.E, s.E));
            CHECK(shape(m.enorm) == vec_shape(s.E));
            CHECK(shape(m.hnorm) == vec_shape(s.E));
            CHECK(m.enorm.name == b + "nextn.enorm.weight");
            CHECK(m.hnorm.name == b + "nextn.hnorm.weight");
            CHECK(m.shared_head_norm.name == b + "nextn.shared_head_norm.weight");
            CHECK(shape(m.shared_head_norm) == vec_shape(s.E));
            CHECK(m.enorm.type == DType::f32);
            CHECK(m.hnorm.type == DType::f32);
            if (heads) {
                CHECK(shape(m.shared_head_head) == mat_shape(s.E, s.vocab));
                CHECK(shape(m.embed_tokens) == mat_shape(s.E, s.vocab));
                CHECK(m.embed_tokens.name == b + "nextn.embed_tokens.weight");
            } else {  // Qwen3.5's files: the trunk's output and tok_embd serve
                CHECK(m.shared_head_head.empty());
                CHECK(m.embed_tokens.empty());
            }
            const gdn::LayerWeights& L = m.layer;
            CHECK(L.is_attention);
            CHECK(L.attn_norm.name == b + "attn_norm.weight");
            CHECK(shape(L.attn_norm) == vec_shape(s.E));
            CHECK(shape(L.post_attn_norm) == vec_shape(s.E));
            CHECK(shape(L.attn.q) == mat_shape(s.E, 2 * s.H * s.hd));
            CHECK(shape(L.attn.k) == mat_shape(s.E, s.Hkv * s.hd));
            CHECK(shape(L.attn.v) == mat_shape(s.E, s.Hkv * s.hd));
            CHECK(shape(L.attn.q_norm) == vec_shape(s.hd));
            CHECK(shape(L.attn.k_norm) == vec_shape(s.hd));
            CHECK(shape(L.attn.out) == mat_shape(s.H * s.hd, s.E));
            CHECK(shape(L.mlp.gate) == mat_shape(s.E, s.ff));
            CHECK(shape(L.mlp.up) == mat_shape(s.E, s.ff));
            CHECK(shape(L.mlp.down) == mat_shape(s.ff, s.E));
            CHECK(L.deltanet.qkv.empty());
        }
        CHECK(check_views(w, f, ts) == ts.size());  // every tensor of the file, MTP ones included
        CHECK_NOTHROW(gdn::ref::check_weights(w));
    }
}

TEST_CASE("qwen35 MTP: the trunk's reference logits do not change, bit for bit", "[io][qwen35][mtp]") {
    for (const bool tied : {true, false}) {
        INFO((tied ? "tied" : "untied") << " embeddings");
        Tiny s;
        s.finite = true;
        s.tied = tied;
        s.mtp_heads = !tied;
        std::mt19937_64 rng0(404);
        const Tensors plain = tiny_tensors(s, rng0);
        s.nextn = 1;
        std::mt19937_64 rng1(404);
        const Tensors with_mtp = tiny_tensors(s, rng1);
        REQUIRE(with_mtp.size() > plain.size());
        for (size_t i = 0; i < plain.size(); ++i) {  // same trunk bytes under the same names
            REQUIRE(with_mtp[i].first == plain[i].first);
            REQUIRE(with_mtp[i].second.data == plain[i].second.data);
        }
        Tiny s0 = s;
        s0.nextn = 0;
        gdn::test::TempPath path0("no_mtp.gguf"), path1("mtp.gguf");
        writer(tiny_kvs(s0), plain).write(path0.str());
        writer(tiny_kvs(s), with_mtp).write(path1.str());
        const gdn::ModelWeights w0 = gdn::io::load_qwen35(path0.str());
        const gdn::ModelWeights w1 = gdn::io::load_qwen35(path1.str());
        REQUIRE(w1.mtp.size() == 1);
        REQUIRE(w0.mtp.empty());

        const std::vector<int32_t> tokens = {5, 99, 17, 0, 127, 64, 64, 3, 42, 88, 11, 70};
        const auto a = reference_logits(w0, tokens);
        const auto b = reference_logits(w1, tokens);
        double max_l = 0, spread = 0;
        for (size_t t = 0; t < tokens.size(); ++t) {
            REQUIRE(a[t].size() == size_t(s.vocab));
            REQUIRE(b[t].size() == a[t].size());
            CHECK(std::memcmp(a[t].data(), b[t].data(), a[t].size() * sizeof(float)) == 0);
            for (float v : a[t]) {
                REQUIRE(std::isfinite(v));
                max_l = std::max(max_l, double(std::abs(v)));
            }
            spread = std::max(spread, double(std::abs(a[t][0] - a[t][1])));
        }
        WARN("trunk logits with and without the MTP block: bit-identical over " << tokens.size()
             << " positions (max |logit| " << max_l << ")");
        CHECK(spread > 0.0);  // the logits carry something
    }
}

TEST_CASE("qwen35 MTP: a missing, misshapen or mistyped MTP tensor is named with its block", "[io][qwen35][mtp]") {
    std::mt19937_64 rng(12);
    Tiny s;
    s.nextn = 1;
    const Kvs kvs = tiny_kvs(s);
    const Tensors good = tiny_tensors(s, rng);
    for (const std::string& name : required_mtp_tensors(s.L)) {
        Tensors ts = good;
        erase_tensor(ts, name);
        require_parts(load_error(kvs, ts), {"'" + name + "'", "missing", "MTP block 0"});
    }
    {  // optional in llama.cpp: the trunk's output_norm serves
        Tensors ts = good;
        erase_tensor(ts, "blk.6.nextn.shared_head_norm.weight");
        const gdn::ModelWeights w = gdn::io::load_qwen35(GgufFile::from_buffer(write(kvs, ts)));
        REQUIRE(w.mtp.size() == 1);
        CHECK(w.mtp[0].shared_head_norm.empty());
        CHECK_FALSE(w.mtp[0].eh_proj.empty());
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.6.nextn.eh_proj.weight");  // [E, E]: the hidden half only
        t.ne = {64, 64};
        t.data.resize(gdn::dtype_row_bytes(t.type, 64) * 64);
        require_parts(load_error(kvs, ts),
                      {"'blk.6.nextn.eh_proj.weight'", "shape [64, 64]", "expected [128, 64]", "MTP block 0"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.6.nextn.enorm.weight");
        t.type = DType::f16;
        t.data.resize(t.data.size() / 2);
        require_parts(load_error(kvs, ts), {"'blk.6.nextn.enorm.weight'", "type f16", "expected f32", "MTP block 0"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.6.attn_q.weight");  // query without its gate half
        t.ne = {64, 128};
        t.data.resize(gdn::dtype_row_bytes(t.type, 64) * 128);
        require_parts(load_error(kvs, ts), {"'blk.6.attn_q.weight'", "expected [64, 256]", "MTP block 0"});
    }
    {  // a present optional tensor is checked like a required one
        Tensors ts = good;
        ts.push_back({"blk.6.nextn.shared_head_head.weight",
                      {DType::f32, {64, 100}, std::vector<std::byte>(64 * 100 * 4)}});
        require_parts(load_error(kvs, ts),
                      {"'blk.6.nextn.shared_head_head.weight'", "shape [64, 100]", "expected [64, 128]", "MTP block 0"});
    }
    {  // two declared, one present
        Kvs k2 = kvs;
        set_kv(k2, "qwen35.block_count", gguf_encode(uint32_t(s.L + 2)));
        set_kv(k2, "qwen35.nextn_predict_layers", gguf_encode(uint32_t{2}));
        require_parts(load_error(k2, good), {"'blk.7.attn_norm.weight'", "missing", "MTP block 1"});
    }
}

TEST_CASE("qwen35 MTP: nextn tensors the hparams do not declare are errors", "[io][qwen35][mtp]") {
    std::mt19937_64 rng(13);
    Tiny s;
    s.nextn = 1;
    const Kvs kvs = tiny_kvs(s);
    const Tensors good = tiny_tensors(s, rng);
    {  // block_count counts the MTP block but nextn_predict_layers is gone: blk.6 reads as trunk
        Kvs k = kvs;
        erase_kv(k, "qwen35.nextn_predict_layers");
        require_parts(load_error(k, good),
                      {"'blk.6.nextn.eh_proj.weight'", "MTP (nextn) tensor", "trunk layer 6", "key absent"});
    }
    {  // neither key counts it
        Kvs k = kvs;
        erase_kv(k, "qwen35.nextn_predict_layers");
        set_kv(k, "qwen35.block_count", gguf_encode(uint32_t(s.L)));
        require_parts(load_error(k, good), {"'blk.6.nextn.eh_proj.weight'", "declares no MTP blocks"});
    }
    {  // a stray second block's tensor
        Tensors ts = good;
        ts.push_back({"blk.7.nextn.enorm.weight", {DType::f32, {64}, std::vector<std::byte>(64 * 4)}});
        require_parts(load_error(kvs, ts), {"'blk.7.nextn.enorm.weight'", "outside the 1 MTP block", "blk.6"});
    }
    {  // the converter's MTP-only output: no trunk layers
        Tensors ts = good;
        std::erase_if(ts, [&](const auto& t) {
            return t.first.rfind("blk.", 0) == 0 && std::stoll(t.first.substr(4)) < s.L;
        });
        require_parts(load_error(kvs, ts), {"'blk.0.attn_norm.weight'", "missing", "MTP-only"});
    }
    {  // llama.cpp lists the MTP block as non-recurrent
        Kvs k = kvs;
        set_kv(k, "qwen35.attention.recurrent_layers",
               gdn::io::gguf_encode_array(std::vector<bool>{true, true, false, true, true, false, true}));
        require_parts(load_error(k, good), {"recurrent_layers", "block 6 (MTP block 0) is DeltaNet"});
        set_kv(k, "qwen35.attention.recurrent_layers",
               gdn::io::gguf_encode_array(std::vector<bool>{true, true, false, true, true, false, false}));
        CHECK(gdn::io::load_qwen35(GgufFile::from_buffer(write(k, good))).mtp.size() == 1);
    }
}

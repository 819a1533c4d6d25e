// load_qwen35 on tiny synthetic `qwen35` files written here: config fields, every view points at
// the bytes written under its name, and each way a file can disagree with the model is an error
// naming the tensor or key and the value.
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "gdn/io/qwen35.hpp"
#include "io_test_util.hpp"

using gdn::DType;
using gdn::io::GgufEncoded;
using gdn::io::GgufFile;
using gdn::io::GgufWriter;
using gdn::io::gguf_encode;

namespace {

struct Tiny {
    int64_t E = 64, L = 6, interval = 3, Hk = 2, Hv = 4, dk = 32, dv = 32;
    int64_t H = 4, Hkv = 2, hd = 32, rot = 8, ff = 96, vocab = 128, K = 4;
    bool tied = true;
    int64_t nextn = 0;
};

struct Tensor {
    DType type;
    std::vector<int64_t> ne;
    std::vector<std::byte> data;
};

using Kvs = std::vector<std::pair<std::string, GgufEncoded>>;
using Tensors = std::vector<std::pair<std::string, Tensor>>;

Kvs tiny_kvs(const Tiny& s) {
    const std::string p = "qwen35.";
    Kvs kv;
    auto u32 = [&](const std::string& k, int64_t v) { kv.emplace_back(p + k, gguf_encode(static_cast<uint32_t>(v))); };
    kv.emplace_back("general.architecture", gguf_encode(std::string_view("qwen35")));
    kv.emplace_back("general.name", gguf_encode(std::string_view("tiny")));
    u32("block_count", s.L + s.nextn);
    if (s.nextn) u32("nextn_predict_layers", s.nextn);
    u32("context_length", 4096);
    u32("embedding_length", s.E);
    u32("feed_forward_length", s.ff);
    u32("attention.head_count", s.H);
    u32("attention.head_count_kv", s.Hkv);
    u32("attention.key_length", s.hd);
    u32("attention.value_length", s.hd);
    kv.emplace_back(p + "rope.freq_base", gguf_encode(1.0e7f));
    kv.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf_encode(1.0e-6f));
    u32("rope.dimension_count", s.rot);
    kv.emplace_back(p + "rope.dimension_sections", gdn::io::gguf_encode_array(std::vector<int32_t>{2, 1, 1, 0}));
    u32("ssm.conv_kernel", s.K);
    u32("ssm.state_size", s.dk);
    u32("ssm.group_count", s.Hk);
    u32("ssm.time_step_rank", s.Hv);
    u32("ssm.inner_size", s.Hv * s.dv);
    u32("full_attention_interval", s.interval);
    return kv;
}

Tensors tiny_tensors(const Tiny& s, std::mt19937_64& rng) {
    Tensors ts;
    int counter = 0;
    // matrices cycle through dtypes so views of several block formats are checked
    auto mat = [&](std::string name, int64_t in, int64_t out) {
        const DType types[] = {DType::f32, DType::f16, DType::q8_0, DType::bf16, DType::q4_0};
        const DType t = types[counter++ % 5];
        ts.push_back({std::move(name), {t, {in, out}, gdn::test::random_bytes(gdn::dtype_row_bytes(t, in) * out, rng)}});
    };
    auto vec = [&](std::string name, std::vector<int64_t> ne) {
        int64_t n = 1;
        for (int64_t x : ne) n *= x;
        ts.push_back({std::move(name), {DType::f32, ne, gdn::test::random_bytes(static_cast<size_t>(n) * 4, rng)}});
    };
    auto blk = [](int64_t i, const char* suffix) { return "blk." + std::to_string(i) + "." + suffix; };

    mat("token_embd.weight", s.E, s.vocab);
    vec("output_norm.weight", {s.E});
    if (!s.tied) mat("output.weight", s.E, s.vocab);
    const int64_t conv_dim = 2 * s.Hk * s.dk + s.Hv * s.dv;
    for (int64_t i = 0; i < s.L + s.nextn; ++i) {
        const bool attn = i >= s.L || (i + 1) % s.interval == 0;  // MTP blocks look like attention
        vec(blk(i, "attn_norm.weight"), {s.E});
        vec(blk(i, "post_attention_norm.weight"), {s.E});
        if (attn) {
            mat(blk(i, "attn_q.weight"), s.E, 2 * s.H * s.hd);
            mat(blk(i, "attn_k.weight"), s.E, s.Hkv * s.hd);
            mat(blk(i, "attn_v.weight"), s.E, s.Hkv * s.hd);
            vec(blk(i, "attn_q_norm.weight"), {s.hd});
            vec(blk(i, "attn_k_norm.weight"), {s.hd});
            mat(blk(i, "attn_output.weight"), s.H * s.hd, s.E);
        } else {
            mat(blk(i, "attn_qkv.weight"), s.E, conv_dim);
            mat(blk(i, "attn_gate.weight"), s.E, s.Hv * s.dv);
            mat(blk(i, "ssm_beta.weight"), s.E, s.Hv);
            mat(blk(i, "ssm_alpha.weight"), s.E, s.Hv);
            vec(blk(i, "ssm_conv1d.weight"), {s.K, conv_dim});
            vec(blk(i, "ssm_dt.bias"), {s.Hv});
            vec(blk(i, "ssm_a"), {s.Hv});
            vec(blk(i, "ssm_norm.weight"), {s.dv});
            mat(blk(i, "ssm_out.weight"), s.Hv * s.dv, s.E);
        }
        mat(blk(i, "ffn_gate.weight"), s.E, s.ff);
        mat(blk(i, "ffn_up.weight"), s.E, s.ff);
        mat(blk(i, "ffn_down.weight"), s.ff, s.E);
        if (i >= s.L) {
            mat(blk(i, "nextn.eh_proj.weight"), 2 * s.E, s.E);
            vec(blk(i, "nextn.enorm.weight"), {s.E});
            vec(blk(i, "nextn.hnorm.weight"), {s.E});
        }
    }
    return ts;
}

std::vector<std::byte> write(const Kvs& kvs, const Tensors& ts) {
    GgufWriter w;
    for (const auto& [k, v] : kvs) w.add(k, v);
    for (const auto& [name, t] : ts) w.add_raw_tensor(name, static_cast<uint32_t>(t.type), t.ne, t.data);
    return w.bytes();
}

void set_kv(Kvs& kvs, const std::string& key, GgufEncoded v) {
    for (auto& [k, val] : kvs) {
        if (k == key) {
            val = std::move(v);
            return;
        }
    }
    kvs.emplace_back(key, std::move(v));
}

void erase_kv(Kvs& kvs, const std::string& key) {
    std::erase_if(kvs, [&](const auto& kv) { return kv.first == key; });
}

Tensor& find(Tensors& ts, const std::string& name) {
    for (auto& [n, t] : ts) {
        if (n == name) return t;
    }
    FAIL("test bug: no tensor " << name);
    throw;
}

/// The error load_qwen35 raises for this file (fails the test if it loads).
std::string load_error(const Kvs& kvs, const Tensors& ts) {
    try {
        const GgufFile f = GgufFile::from_buffer(write(kvs, ts));
        (void)gdn::io::load_qwen35(f);
    } catch (const gdn::Error& e) {
        return e.what();
    }
    FAIL("loaded without a gdn::Error");
    return {};
}

void require_parts(const std::string& msg, const std::vector<std::string>& parts) {
    INFO("message: " << msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
}

/// Every view of `w` must point at the bytes written under its name.
void check_views(const gdn::ModelWeights& w, const GgufFile& f, const Tensors& ts) {
    std::map<std::string, const Tensor*> by_name;
    for (const auto& [n, t] : ts) by_name[n] = &t;
    size_t n_checked = 0;
    auto check = [&](const gdn::TensorView& v) {
        INFO(v.name);
        REQUIRE(by_name.count(v.name) == 1);
        const Tensor& t = *by_name[v.name];
        CHECK(v.type == t.type);
        CHECK(v.data == f.tensor(v.name).data);
        REQUIRE(static_cast<size_t>(v.bytes()) == t.data.size());
        CHECK(std::memcmp(v.data, t.data.data(), t.data.size()) == 0);
        ++n_checked;
    };
    check(w.tok_embd);
    check(w.output_norm);
    check(w.output);
    for (const auto& L : w.layers) {
        check(L.attn_norm);
        check(L.post_attn_norm);
        if (L.is_attention) {
            for (const auto* v : {&L.attn.q, &L.attn.k, &L.attn.v, &L.attn.q_norm, &L.attn.k_norm, &L.attn.out}) check(*v);
            CHECK(L.deltanet.qkv.empty());
        } else {
            const auto& D = L.deltanet;
            for (const auto* v : {&D.qkv, &D.z, &D.beta, &D.alpha, &D.conv, &D.dt_bias, &D.ssm_a, &D.ssm_norm, &D.out}) check(*v);
            CHECK(L.attn.q.empty());
        }
        check(L.mlp.gate);
        check(L.mlp.up);
        check(L.mlp.down);
    }
    WARN("views checked against written bytes: " << n_checked);
}

}  // namespace

TEST_CASE("qwen35 loader: config and views of a tiny tied model", "[io][qwen35]") {
    std::mt19937_64 rng(2024);
    const Tiny s;
    const Tensors ts = tiny_tensors(s, rng);
    const GgufFile f = GgufFile::from_buffer(write(tiny_kvs(s), ts));
    const gdn::ModelWeights w = gdn::io::load_qwen35(f);
    const gdn::ModelConfig& c = w.config;
    CHECK(c.n_vocab == s.vocab);
    CHECK(c.n_embd == s.E);
    CHECK(c.n_layer == s.L);
    CHECK(c.n_ff == s.ff);
    CHECK(c.full_attention_interval == s.interval);
    CHECK(c.ssm_n_k_heads == s.Hk);
    CHECK(c.ssm_n_v_heads == s.Hv);
    CHECK(c.ssm_d_k == s.dk);
    CHECK(c.ssm_d_v == s.dv);
    CHECK(c.ssm_conv_kernel == s.K);
    CHECK(c.v_head_order == gdn::HeadOrder::tiled);
    CHECK(c.key_head(3) == 1);  // tiled: 3 % Hk
    CHECK(c.n_head == s.H);
    CHECK(c.n_head_kv == s.Hkv);
    CHECK(c.head_dim == s.hd);
    CHECK(c.n_rot == s.rot);
    CHECK(c.rope_theta == 1.0e7f);
    CHECK(c.rms_eps == 1.0e-6f);
    CHECK(c.tied_embeddings);
    REQUIRE(w.layers.size() == 6);
    const bool want_attn[] = {false, false, true, false, false, true};
    for (size_t i = 0; i < 6; ++i) CHECK(w.layers[i].is_attention == want_attn[i]);
    CHECK(w.output.data == w.tok_embd.data);
    CHECK(w.storage == f.storage());
    check_views(w, f, ts);
}

TEST_CASE("qwen35 loader: untied head, MTP block ignored, loaded from a mapped file", "[io][qwen35]") {
    std::mt19937_64 rng(77);
    Tiny s;
    s.tied = false;
    s.nextn = 1;
    s.L = 4;
    s.interval = 4;
    const Tensors ts = tiny_tensors(s, rng);
    gdn::test::TempPath path("tiny_qwen35.gguf");
    {
        GgufWriter w;
        for (const auto& [k, v] : tiny_kvs(s)) w.add(k, v);
        for (const auto& [name, t] : ts) w.add_raw_tensor(name, static_cast<uint32_t>(t.type), t.ne, t.data);
        w.write(path.str());
    }
    const gdn::ModelWeights w = gdn::io::load_qwen35(path.str());  // GgufFile is gone after this
    CHECK(w.config.n_layer == 4);
    CHECK_FALSE(w.config.tied_embeddings);
    REQUIRE(w.storage != nullptr);
    CHECK(w.output.name == "output.weight");
    CHECK(w.output.data != w.tok_embd.data);
    REQUIRE(w.layers.size() == 4);
    CHECK(w.layers[3].is_attention);
    CHECK_FALSE(w.layers[2].is_attention);
    const GgufFile f = GgufFile::open(path.str());  // a second mapping, to compare bytes
    std::map<std::string, const Tensor*> by_name;
    for (const auto& [n, t] : ts) by_name[n] = &t;
    for (const auto* v : {&w.tok_embd, &w.output, &w.layers[3].attn.q, &w.layers[0].deltanet.qkv, &w.layers[2].mlp.down}) {
        INFO(v->name);
        CHECK(std::memcmp(v->data, by_name.at(v->name)->data.data(), by_name.at(v->name)->data.size()) == 0);
    }
}

TEST_CASE("qwen35 loader: missing, misshapen and mistyped tensors are named", "[io][qwen35]") {
    std::mt19937_64 rng(5);
    const Tiny s;
    const Kvs kvs = tiny_kvs(s);
    const Tensors good = tiny_tensors(s, rng);
    {
        Tensors ts = good;
        std::erase_if(ts, [](const auto& t) { return t.first == "blk.1.ssm_a"; });
        require_parts(load_error(kvs, ts), {"'blk.1.ssm_a'", "missing", "layer 1, DeltaNet"});
    }
    {
        Tensors ts = good;
        std::erase_if(ts, [](const auto& t) { return t.first == "blk.5.attn_k_norm.weight"; });
        require_parts(load_error(kvs, ts), {"'blk.5.attn_k_norm.weight'", "missing", "layer 5, full attention"});
    }
    {
        Tensors ts = good;
        std::erase_if(ts, [](const auto& t) { return t.first == "output_norm.weight"; });
        require_parts(load_error(kvs, ts), {"'output_norm.weight'", "missing"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.0.attn_qkv.weight");  // conv_dim is 256: drop the V rows
        t.ne = {64, 128};
        t.data.resize(gdn::dtype_row_bytes(t.type, 64) * 128);
        require_parts(load_error(kvs, ts), {"'blk.0.attn_qkv.weight'", "shape [64, 128]", "expected [64, 256]"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.2.attn_q.weight");  // query without the gate half
        t.ne = {64, 128};
        t.data.resize(gdn::dtype_row_bytes(t.type, 64) * 128);
        require_parts(load_error(kvs, ts), {"'blk.2.attn_q.weight'", "shape [64, 128]", "expected [64, 256]"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.3.ssm_conv1d.weight");  // stored unsqueezed [K, 1, conv_dim]
        t.ne = {4, 1, 256};
        require_parts(load_error(kvs, ts), {"'blk.3.ssm_conv1d.weight'", "shape [4, 1, 256]", "expected [4, 256]"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "blk.0.ssm_a");
        t.type = DType::f16;
        t.data.resize(t.data.size() / 2);
        require_parts(load_error(kvs, ts), {"'blk.0.ssm_a'", "type f16", "expected f32"});
    }
    {
        Tensors ts = good;
        Tensor& t = find(ts, "token_embd.weight");
        t.ne = {64, 100};
        t.data.resize(gdn::dtype_row_bytes(t.type, 64) * 100);
        Kvs k2 = kvs;
        set_kv(k2, "qwen35.vocab_size", gguf_encode(uint32_t{128}));
        require_parts(load_error(k2, ts), {"vocab_size' = 128", "100 rows"});
    }
    {
        Tensors ts = good;  // a dtype gdn lacks is caught by the reader, naming the tensor
        GgufWriter w;
        for (const auto& [k, v] : kvs) w.add(k, v);
        for (const auto& [name, t] : ts) {
            const uint32_t id = name == "blk.4.ffn_up.weight" ? 15u : static_cast<uint32_t>(t.type);  // q8_k
            std::vector<int64_t> ne = t.ne;
            if (id == 15u) ne = {256, 1};
            w.add_raw_tensor(name, id, ne, id == 15u ? std::vector<std::byte>(292) : t.data);
        }
        try {
            (void)GgufFile::from_buffer(w.bytes());
            FAIL("parsed");
        } catch (const gdn::Error& e) {
            require_parts(e.what(), {"'blk.4.ffn_up.weight'", "ggml type q8_k", "type id 15"});
        }
    }
}

TEST_CASE("qwen35 loader: architecture and hparam errors name the key and value", "[io][qwen35]") {
    std::mt19937_64 rng(6);
    const Tiny s;
    const Kvs good = tiny_kvs(s);
    const Tensors ts = tiny_tensors(s, rng);
    auto with = [&](const std::function<void(Kvs&)>& edit) {
        Kvs k = good;
        edit(k);
        return load_error(k, ts);
    };
    require_parts(with([](Kvs& k) { set_kv(k, "general.architecture", gguf_encode(std::string_view("llama"))); }),
                  {"general.architecture is 'llama'", "expected 'qwen35'"});
    require_parts(with([](Kvs& k) { set_kv(k, "general.architecture", gguf_encode(std::string_view("qwen3next"))); }),
                  {"'qwen3next'", "mixture-of-experts"});
    require_parts(with([](Kvs& k) { set_kv(k, "general.architecture", gguf_encode(std::string_view("qwen35moe"))); }),
                  {"'qwen35moe'", "mixture-of-experts"});
    require_parts(with([](Kvs& k) { erase_kv(k, "general.architecture"); }), {"'general.architecture'", "missing"});
    require_parts(with([](Kvs& k) { erase_kv(k, "qwen35.ssm.group_count"); }), {"'qwen35.ssm.group_count'", "missing"});
    require_parts(with([](Kvs& k) { erase_kv(k, "qwen35.attention.layer_norm_rms_epsilon"); }),
                  {"'qwen35.attention.layer_norm_rms_epsilon'", "missing"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.block_count", gguf_encode(std::string_view("6"))); }),
                  {"'qwen35.block_count'", "string", "integer"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.embedding_length", gguf_encode(int32_t{-64})); }),
                  {"'qwen35.embedding_length' = -64", "out of range"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.ssm.state_size", gguf_encode(uint32_t{1} << 31)); }),
                  {"'qwen35.ssm.state_size' = 2147483648", "out of range"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.ssm.inner_size", gguf_encode(uint32_t{130})); }),
                  {"'qwen35.ssm.inner_size' = 130", "time_step_rank = 4"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.ssm.group_count", gguf_encode(uint32_t{3})); }),
                  {"ssm_n_v_heads (4)", "ssm_n_k_heads (3)"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.attention.value_length", gguf_encode(uint32_t{64})); }),
                  {"'qwen35.attention.value_length' = 64", "key_length = 32"});
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.nextn_predict_layers", gguf_encode(uint32_t{6})); }),
                  {"'qwen35.nextn_predict_layers' = 6", "block_count = 6"});
    require_parts(with([](Kvs& k) {
                      set_kv(k, "qwen35.attention.recurrent_layers",
                             gdn::io::gguf_encode_array(std::vector<bool>{true, true, true, true, true, false}));
                  }),
                  {"recurrent_layers", "layer 2 is DeltaNet", "full_attention_interval = 3"});
    require_parts(with([](Kvs& k) {
                      set_kv(k, "qwen35.attention.head_count_kv", gdn::io::gguf_encode_array(std::vector<uint32_t>{2, 2, 1}));
                  }),
                  {"'qwen35.attention.head_count_kv'", "item 2 = 1"});
    // a block_count the tensors cannot back fails at the first missing layer (no huge allocation)
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.block_count", gguf_encode(uint32_t{1} << 24)); }),
                  {"'blk.6.attn_norm.weight'", "missing"});
    // interval 2 makes layers 1, 3, 5 attention: the file's tensors then disagree
    require_parts(with([](Kvs& k) { set_kv(k, "qwen35.full_attention_interval", gguf_encode(uint32_t{2})); }),
                  {"'blk.1.attn_q.weight'", "missing", "layer 1, full attention"});
}

TEST_CASE("qwen35 loader: lenient key types that still mean the same model", "[io][qwen35]") {
    std::mt19937_64 rng(8);
    const Tiny s;
    Kvs k = tiny_kvs(s);
    set_kv(k, "qwen35.attention.head_count_kv", gdn::io::gguf_encode_array(std::vector<int32_t>(6, 2)));  // per layer
    set_kv(k, "qwen35.block_count", gguf_encode(uint64_t{6}));
    set_kv(k, "qwen35.attention.layer_norm_rms_epsilon", gguf_encode(1.0e-5));  // f64
    set_kv(k, "qwen35.attention.recurrent_layers",
           gdn::io::gguf_encode_array(std::vector<bool>{true, true, false, true, true, false}));
    erase_kv(k, "qwen35.full_attention_interval");  // then 4 is the default...
    set_kv(k, "qwen35.full_attention_interval", gguf_encode(uint8_t{3}));  // ...so put 3 back as u8
    const Tensors ts = tiny_tensors(s, rng);
    const GgufFile f = GgufFile::from_buffer(write(k, ts));
    const gdn::ModelWeights w = gdn::io::load_qwen35(f);
    CHECK(w.config.n_head_kv == 2);
    CHECK(w.config.n_layer == 6);
    CHECK(w.config.rms_eps == 1.0e-5f);
    CHECK(w.config.full_attention_interval == 3);
}

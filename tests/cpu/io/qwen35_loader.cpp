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
#include "qwen35_test_util.hpp"

using gdn::DType;
using gdn::io::GgufEncoded;
using gdn::io::GgufFile;
using gdn::io::GgufWriter;
using gdn::io::gguf_encode;

using namespace gdn::test::qwen35;

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
    CHECK(c.n_mtp == 0);
    CHECK(w.mtp.empty());
    CHECK(check_views(w, f, ts) == ts.size());  // every tensor of the file has its view
}

TEST_CASE("qwen35 loader: untied head, MTP block kept, loaded from a mapped file", "[io][qwen35]") {
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
    CHECK(w.config.n_mtp == 1);
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
    REQUIRE(w.mtp.size() == 1);
    CHECK(w.mtp[0].eh_proj.name == "blk.4.nextn.eh_proj.weight");
    CHECK(w.mtp[0].layer.attn.q.name == "blk.4.attn_q.weight");
    for (const auto* v : {&w.tok_embd, &w.output, &w.layers[3].attn.q, &w.layers[0].deltanet.qkv, &w.layers[2].mlp.down,
                          &w.mtp[0].eh_proj, &w.mtp[0].hnorm, &w.mtp[0].layer.mlp.down}) {
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

TEST_CASE("qwen35 loader: a tensor of a type gdn does not read names the tensor, the type and the file", "[io][qwen35]") {
    std::mt19937_64 rng(19);
    const Tiny s;
    const Tensors good = tiny_tensors(s, rng);
    struct Unread {
        uint32_t id;
        const char* name;
        size_t block_bytes;  // of one block of 256 (ggml's type size)
    };
    for (const Unread& u : {Unread{19, "iq1_s", 50}, Unread{34, "tq1_0", 54}}) {
        INFO("ggml type " << u.name);
        gdn::test::TempPath path("unread_type.gguf");
        GgufWriter w = writer(tiny_kvs(s), {});
        for (const auto& [name, t] : good) {
            if (name == "blk.4.ffn_up.weight") {
                w.add_raw_tensor(name, u.id, {256, 1}, std::vector<std::byte>(u.block_bytes));
            } else {
                w.add_raw_tensor(name, static_cast<uint32_t>(t.type), t.ne, t.data);
            }
        }
        w.write(path.str());
        const std::vector<std::string> parts = {"'blk.4.ffn_up.weight'", std::string("ggml type ") + u.name,
                                                "type id " + std::to_string(u.id), "'" + path.str() + "'"};
        try {
            (void)GgufFile::open(path.str());
            FAIL("GgufFile::open accepted ggml type " << u.name);
        } catch (const gdn::Error& e) {
            require_parts(e.what(), parts);
        }
        try {
            (void)gdn::io::load_qwen35(path.str());
            FAIL("load_qwen35 accepted ggml type " << u.name);
        } catch (const gdn::Error& e) {
            require_parts(e.what(), parts);
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
                  {"general.architecture is 'llama'", "expected 'qwen35', 'qwen35moe' or 'qwen3next'"});
    require_parts(with([](Kvs& k) { set_kv(k, "general.architecture", gguf_encode(std::string_view("qwen3next"))); }),
                  {"'qwen3next.block_count'", "missing"});  // a family member: read with its own key prefix
    require_parts(with([](Kvs& k) { set_kv(k, "general.architecture", gguf_encode(std::string_view("qwen35moe"))); }),
                  {"'qwen35moe.block_count'", "missing"});
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

// The loader on the mixture-of-experts architectures: the gguf-py fixtures (qwen35moe,
// qwen3next), qwen3next's packed forms (legacy ssm_in, ssm_ba) against the same model written
// the qwen35moe way (tiled value heads, split beta/alpha), and the errors of broken MoE files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "gdn/io/qwen35.hpp"
#include "gdn/ref/decoder.hpp"
#include "qwen35_test_util.hpp"

#ifndef GDN_TEST_DATA_DIR
#define GDN_TEST_DATA_DIR "tests/data"
#endif

using namespace gdn;
using namespace gdn::test::qwen35;
using io::gguf_encode;

namespace {

std::string fixture(const std::string& name) {
    const char* env = std::getenv("GDN_TEST_DATA_DIR");
    return std::string(env && *env ? env : GDN_TEST_DATA_DIR) + "/" + name + ".gguf";
}

/// The keys the loader reads, for architecture `arch`, from a loaded config.
Kvs moe_kvs(const std::string& arch, const ModelConfig& c) {
    const std::string p = arch + ".";
    Kvs kv;
    auto u32 = [&](const std::string& k, int64_t v) { kv.emplace_back(p + k, gguf_encode(static_cast<uint32_t>(v))); };
    kv.emplace_back("general.architecture", gguf_encode(std::string_view(arch)));
    u32("block_count", c.n_layer);
    u32("embedding_length", c.n_embd);
    if (c.n_ff) u32("feed_forward_length", c.n_ff);
    u32("attention.head_count", c.n_head);
    u32("attention.head_count_kv", c.n_head_kv);
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
    kv.emplace_back(p + "rope.freq_base", gguf_encode(c.rope_theta));
    kv.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf_encode(c.rms_eps));
    u32("rope.dimension_count", c.n_rot);
    u32("ssm.conv_kernel", c.ssm_conv_kernel);
    u32("ssm.state_size", c.ssm_d_k);
    u32("ssm.group_count", c.ssm_n_k_heads);
    u32("ssm.time_step_rank", c.ssm_n_v_heads);
    u32("ssm.inner_size", c.ssm_n_v_heads * c.ssm_d_v);
    u32("full_attention_interval", c.full_attention_interval);
    u32("expert_count", c.n_expert);
    u32("expert_used_count", c.n_expert_used);
    u32("expert_feed_forward_length", c.n_ff_exp);
    u32("expert_shared_feed_forward_length", c.n_ff_shexp);
    return kv;
}

/// Every tensor of `f`, bytes copied.
Tensors all_tensors(const io::GgufFile& f) {
    Tensors ts;
    for (const auto& info : f.tensor_infos()) {
        const TensorView& v = info.view;
        std::vector<int64_t> ne(v.ne.begin(), v.ne.begin() + std::max(v.n_dims, 1));
        ts.push_back({v.name, {v.type, ne, std::vector<std::byte>(v.data, v.data + v.bytes())}});
    }
    return ts;
}

/// Rows `rows` of a [cols, n] tensor, in that order.
Tensor pick_rows(const Tensor& t, const std::vector<int64_t>& rows) {
    const auto rb = static_cast<size_t>(dtype_row_bytes(t.type, t.ne[0]));
    Tensor out{t.type, {t.ne[0], static_cast<int64_t>(rows.size())}, {}};
    for (int64_t r : rows) out.data.insert(out.data.end(), t.data.begin() + r * rb, t.data.begin() + (r + 1) * rb);
    return out;
}

std::string blkname(int64_t i, const char* s) { return "blk." + std::to_string(i) + "." + s; }

std::vector<float> decode(const ModelWeights& w, int n) {
    ref::RuntimeDecoder dec(w, {.max_ctx = n});
    std::vector<float> all;
    for (int t = 0; t < n; ++t) {
        const auto l = dec.step(static_cast<int32_t>((t * 37 + 11) % w.config.n_vocab));
        all.insert(all.end(), l.begin(), l.end());
    }
    return all;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("qwen35 loader reads the MoE fixtures (qwen35moe, qwen3next)", "[io][qwen35][moe]") {
    struct Want {
        const char* name;
        int64_t n_ff, n_expert, used, ff_exp, ff_sh, layers;
        HeadOrder order;
        DType matrix;
    };
    const Want wants[] = {{"qwen35moe_e16_top4_f16", 0, 16, 4, 32, 48, 6, HeadOrder::tiled, DType::f16},
                          {"qwen3next_e8_top2", 96, 8, 2, 32, 32, 5, HeadOrder::grouped, DType::f32}};
    for (const Want& want : wants) {
        const std::string path = fixture(want.name);
        if (!std::filesystem::exists(path)) {
            WARN("fixture missing, skipped: " << path);
            continue;
        }
        INFO(want.name);
        const auto f = io::GgufFile::open(path);
        const ModelWeights w = io::load_qwen35(f);
        const ModelConfig& c = w.config;
        CHECK(c.is_moe());
        CHECK(c.n_ff == want.n_ff);
        CHECK(c.n_expert == want.n_expert);
        CHECK(c.n_expert_used == want.used);
        CHECK(c.n_ff_exp == want.ff_exp);
        CHECK(c.n_ff_shexp == want.ff_sh);
        CHECK(c.n_layer == want.layers);
        CHECK(c.v_head_order == want.order);
        for (const LayerWeights& L : w.layers) {
            REQUIRE(L.is_moe());
            CHECK(L.mlp.gate.empty());
            CHECK(L.moe.router.type == DType::f32);
            CHECK(L.moe.shexp_gate.type == DType::f32);
            CHECK(L.moe.gate_exps.type == want.matrix);
            CHECK(L.moe.n_expert() == want.n_expert);
            CHECK(L.moe.n_ff_exp() == want.ff_exp);
            CHECK(L.moe.gate_exps.ne[2] == want.n_expert);
            CHECK(L.moe.has_shared());
        }
        const bool next = want.order == HeadOrder::grouped;
        // qwen3next's beta/alpha are regrouped from ssm_ba into memory the weights own
        CHECK((w.storage != f.storage()) == next);
        const TensorView& beta = w.layers[0].deltanet.beta;
        const bool in_file = beta.data >= f.bytes() && beta.data < f.bytes() + f.size_bytes();
        CHECK(in_file == !next);
        ref::check_weights(w);
    }
}

TEST_CASE("qwen3next: ssm_in / ssm_ba and the qwen35moe-style split, tiled file decode alike", "[io][qwen35][moe]") {
    const std::string path = fixture("qwen3next_e8_top2");
    if (!std::filesystem::exists(path)) {
        WARN("fixture missing, skipped: " << path);
        return;
    }
    const auto f = io::GgufFile::open(path);
    const ModelWeights base = io::load_qwen35(f);
    const ModelConfig& c = base.config;
    const int64_t Hk = c.ssm_n_k_heads, Hv = c.ssm_n_v_heads, r = Hv / Hk, dk = c.ssm_d_k, dv = c.ssm_d_v;
    const int64_t qk = 2 * Hk * dk;
    REQUIRE(r == 2);
    const Tensors original = all_tensors(f);

    // legacy: attn_qkv + attn_gate packed back into ssm_in, per key head [q k v z]
    Tensors legacy = original;
    // qwen35moe: value heads tiled (tiled t <- grouped (t % Hk) * r + t / Hk), beta / alpha split
    Tensors split = original;
    auto grouped_of = [&](int64_t t) { return (t % Hk) * r + t / Hk; };
    for (int64_t i = 0; i < c.n_layer; ++i) {
        if (c.is_attention(i)) continue;
        const Tensor qkv = find(legacy, blkname(i, "attn_qkv.weight"));
        const Tensor z = find(legacy, blkname(i, "attn_gate.weight"));
        std::vector<int64_t> in_rows;  // rows of the stacked [qkv ; z]
        for (int64_t kh = 0; kh < Hk; ++kh) {
            for (int64_t x = 0; x < dk; ++x) in_rows.push_back(kh * dk + x);
            for (int64_t x = 0; x < dk; ++x) in_rows.push_back(Hk * dk + kh * dk + x);
            for (int64_t x = 0; x < r * dv; ++x) in_rows.push_back(qk + kh * r * dv + x);
            for (int64_t x = 0; x < r * dv; ++x) in_rows.push_back(qk + Hv * dv + kh * r * dv + x);
        }
        Tensor stacked = qkv;
        stacked.data.insert(stacked.data.end(), z.data.begin(), z.data.end());
        stacked.ne[1] += z.ne[1];
        erase_tensor(legacy, blkname(i, "attn_qkv.weight"));
        erase_tensor(legacy, blkname(i, "attn_gate.weight"));
        legacy.push_back({blkname(i, "ssm_in.weight"), pick_rows(stacked, in_rows)});

        std::vector<int64_t> v_rows, z_rows, b_rows, a_rows;
        for (int64_t x = 0; x < qk; ++x) v_rows.push_back(x);
        for (int64_t t = 0; t < Hv; ++t) {
            const int64_t g = grouped_of(t);
            for (int64_t x = 0; x < dv; ++x) {
                v_rows.push_back(qk + g * dv + x);
                z_rows.push_back(g * dv + x);
            }
            b_rows.push_back((g / r) * 2 * r + g % r);  // ssm_ba: per key head [b (r) | a (r)]
            a_rows.push_back((g / r) * 2 * r + r + g % r);
        }
        find(split, blkname(i, "attn_qkv.weight")) = pick_rows(qkv, v_rows);
        find(split, blkname(i, "attn_gate.weight")) = pick_rows(z, z_rows);
        Tensor& conv = find(split, blkname(i, "ssm_conv1d.weight"));
        conv = pick_rows(conv, v_rows);
        const Tensor ba = find(split, blkname(i, "ssm_ba.weight"));
        erase_tensor(split, blkname(i, "ssm_ba.weight"));
        split.push_back({blkname(i, "ssm_beta.weight"), pick_rows(ba, b_rows)});
        split.push_back({blkname(i, "ssm_alpha.weight"), pick_rows(ba, a_rows)});
        for (const char* vec : {"ssm_a", "ssm_dt.bias"}) {  // f32 [Hv]
            Tensor& t = find(split, blkname(i, vec));
            const std::vector<std::byte> old = t.data;
            for (int64_t h = 0; h < Hv; ++h) std::memcpy(t.data.data() + h * 4, old.data() + grouped_of(h) * 4, 4);
        }
        Tensor& out = find(split, blkname(i, "ssm_out.weight"));  // columns, f32 in this fixture
        REQUIRE(out.type == DType::f32);
        const std::vector<std::byte> old = out.data;
        for (int64_t row = 0; row < out.ne[1]; ++row) {
            for (int64_t h = 0; h < Hv; ++h) {
                std::memcpy(out.data.data() + (row * Hv * dv + h * dv) * 4,
                            old.data() + (row * Hv * dv + grouped_of(h) * dv) * 4, static_cast<size_t>(dv * 4));
            }
        }
    }

    const io::GgufFile fl = io::GgufFile::from_buffer(write(moe_kvs("qwen3next", c), legacy));
    const io::GgufFile fs = io::GgufFile::from_buffer(write(moe_kvs("qwen35moe", c), split));
    const ModelWeights wl = io::load_qwen35(fl);
    const ModelWeights ws = io::load_qwen35(fs);
    CHECK(wl.config.v_head_order == HeadOrder::grouped);
    CHECK(ws.config.v_head_order == HeadOrder::tiled);
    CHECK(wl.layers[0].deltanet.qkv.name == "blk.0.ssm_in.weight[qkv]");

    const int n = 48;
    const std::vector<float> a = decode(base, n), b = decode(wl, n), s = decode(ws, n);
    const double legacy_err = rel_l2(b, a), split_err = rel_l2(s, a);
    std::printf("qwen3next %d tokens: legacy ssm_in vs attn_qkv+attn_gate rel L2 %.3e (want 0), "
                "qwen35moe-style tiled split vs qwen3next rel L2 %.3e (tol 1e-5)\n",
                n, legacy_err, split_err);
    CHECK(legacy_err == 0.0);  // the same rows, regrouped: the same bytes reach the matvecs
    CHECK(split_err < 1e-5);   // at most out_proj's summation order differs (dot_row sums per 32
                               // columns in float, the chunks in float64: often no difference at all)
    // the permutation really happened: the value rows of the two files differ
    const TensorView& zs = ws.layers[0].deltanet.z;
    const TensorView& zb = base.layers[0].deltanet.z;
    CHECK(std::memcmp(zs.data, zb.data, static_cast<size_t>(zb.bytes())) != 0);
}

TEST_CASE("MoE files: missing tensors and bad expert keys give errors naming them", "[io][qwen35][moe]") {
    const std::string path = fixture("qwen3next_e8_top2");
    if (!std::filesystem::exists(path)) {
        WARN("fixture missing, skipped: " << path);
        return;
    }
    const auto f = io::GgufFile::open(path);
    const ModelConfig c = io::read_qwen35_config(f);
    const Tensors good_ts = all_tensors(f);
    for (const std::string arch : {"qwen3next", "qwen35moe"}) {
        INFO(arch);
        const std::string p = arch + ".";
        Tensors base_ts = good_ts;
        if (arch == "qwen35moe") {  // the split form (head order does not matter for errors)
            for (int64_t i = 0; i < c.n_layer; ++i) {
                if (c.is_attention(i)) continue;
                const Tensor ba = find(base_ts, blkname(i, "ssm_ba.weight"));
                erase_tensor(base_ts, blkname(i, "ssm_ba.weight"));
                std::vector<int64_t> half(static_cast<size_t>(c.ssm_n_v_heads));
                std::iota(half.begin(), half.end(), 0);
                base_ts.push_back({blkname(i, "ssm_beta.weight"), pick_rows(ba, half)});
                base_ts.push_back({blkname(i, "ssm_alpha.weight"), pick_rows(ba, half)});
            }
        }
        const Kvs good = moe_kvs(arch, c);
        (void)io::load_qwen35(io::GgufFile::from_buffer(write(good, base_ts)));  // loads as is
        auto kv_error = [&](const std::function<void(Kvs&)>& edit) {
            Kvs k = good;
            edit(k);
            return load_error(k, base_ts);
        };
        auto ts_error = [&](const std::function<void(Tensors&)>& edit) {
            Tensors t = base_ts;
            edit(t);
            return load_error(good, t);
        };
        require_parts(kv_error([&](Kvs& k) { set_kv(k, p + "expert_used_count", gguf_encode(uint32_t{9})); }),
                      {"'" + p + "expert_used_count' = 9", "expert_count = 8"});
        require_parts(kv_error([&](Kvs& k) { set_kv(k, p + "expert_used_count", gguf_encode(uint32_t{0})); }),
                      {"'" + p + "expert_used_count' = 0"});
        require_parts(kv_error([&](Kvs& k) { erase_kv(k, p + "expert_count"); }),
                      {"'" + p + "expert_count' is missing", "mixture-of-experts"});
        require_parts(kv_error([&](Kvs& k) { erase_kv(k, p + "expert_used_count"); }),
                      {"'" + p + "expert_used_count' is missing"});
        require_parts(kv_error([&](Kvs& k) { set_kv(k, p + "expert_count", gguf_encode(uint32_t{4096})); }),
                      {"'" + p + "expert_count' = 4096", "out of range"});
        require_parts(kv_error([&](Kvs& k) {
                          erase_kv(k, p + "expert_feed_forward_length");
                          erase_kv(k, p + "feed_forward_length");
                      }),
                      {"'" + p + "expert_feed_forward_length' is missing", "no expert width"});
        require_parts(kv_error([&](Kvs& k) {
                          erase_kv(k, p + "expert_shared_feed_forward_length");
                          erase_kv(k, p + "feed_forward_length");
                      }),
                      {"'" + p + "expert_shared_feed_forward_length'", "shared expert"});
        // expert width from feed_forward_length / expert_used_count (llama.cpp's fallback): 96 / 2 = 48 != 32
        require_parts(kv_error([&](Kvs& k) { erase_kv(k, p + "expert_feed_forward_length"); }),
                      {"'blk.0.ffn_gate_exps.weight' has shape [64, 32, 8], expected [64, 48, 8]"});
        require_parts(ts_error([](Tensors& t) { erase_tensor(t, "blk.1.ffn_down_exps.weight"); }),
                      {"'blk.1.ffn_down_exps.weight' is missing", "layer 1", "experts' down"});
        require_parts(ts_error([](Tensors& t) { erase_tensor(t, "blk.2.ffn_gate_inp.weight"); }),
                      {"'blk.2.ffn_gate_inp.weight' is missing", "MoE router"});
        require_parts(ts_error([](Tensors& t) { erase_tensor(t, "blk.0.ffn_up_exps.weight"); }),
                      {"'blk.0.ffn_up_exps.weight' is missing"});
        require_parts(ts_error([](Tensors& t) { erase_tensor(t, "blk.3.ffn_gate_inp_shexp.weight"); }),
                      {"'blk.3.ffn_gate_inp_shexp.weight' is missing", "shared expert's gate"});
        require_parts(ts_error([](Tensors& t) { erase_tensor(t, "blk.0.ffn_down_shexp.weight"); }),
                      {"'blk.0.ffn_down_shexp.weight' is missing"});
        require_parts(ts_error([](Tensors& t) {
                          Tensor& r = find(t, "blk.0.ffn_gate_inp.weight");
                          r.type = DType::f16;
                          r.data.resize(r.data.size() / 2);
                      }),
                      {"'blk.0.ffn_gate_inp.weight' has type f16, expected f32"});
        require_parts(ts_error([](Tensors& t) { find(t, "blk.0.ffn_gate_exps.weight").ne = {64, 32 * 8}; }),
                      {"'blk.0.ffn_gate_exps.weight' has shape [64, 256], expected [64, 32, 8]"});
    }
    // qwen3next only: the DeltaNet projections in neither form, ssm_ba missing
    const Kvs good = moe_kvs("qwen3next", c);
    Tensors t = good_ts;
    erase_tensor(t, "blk.0.attn_qkv.weight");
    erase_tensor(t, "blk.0.attn_gate.weight");
    require_parts(load_error(good, t), {"'blk.0.attn_qkv.weight'", "'blk.0.ssm_in.weight'", "missing"});
    t = good_ts;
    erase_tensor(t, "blk.0.attn_gate.weight");
    require_parts(load_error(good, t), {"'blk.0.attn_gate.weight' is missing"});
    t = good_ts;
    erase_tensor(t, "blk.1.ssm_ba.weight");
    require_parts(load_error(good, t), {"'blk.1.ssm_ba.weight' is missing", "layer 1"});
}

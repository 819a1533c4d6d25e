// gdn/io/quant_mix.hpp: the type llama-quantize gives every tensor of a Qwen3.5 file, checked
// against tables derived by hand from the rules of llama.cpp's src/llama-quant.cpp for the
// 24-layer 0.8B shape (tied embeddings, n_head / n_head_kv = 4), the 64-layer 27B shape
// (untied, 6) and a narrow-head 8-layer model (2); for MoE files the 40-layer 35B-A3B
// (qwen35moe, 256 experts), the 48-layer 80B-A3B (qwen3next, 512) and an 8-expert model (the
// rules llama.cpp keeps for Mixtral). Names and shapes only: no file is written.
// A table lists only where a mix departs from its common type (mix_exceptions); the norms,
// ssm_a, ssm_dt.bias and ssm_conv1d must keep their f32 in every mix.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/shapes.hpp"
#include "gdn/io/quant_mix.hpp"

using T = gdn::DType;
using gdn::DType;
using gdn::io::LlamaFtype;

namespace {

struct Named {
    std::string name;
    std::vector<int64_t> ne;
};

/// The tensors of a qwen35 file of shape c with n_mtp MTP blocks, as llama.cpp's converter
/// names and shapes them (docs/GGUF_QWEN35.md), in its order; with c.is_moe() those of a
/// qwen35moe file (the MoE MLP in every block), and qwen3next's ssm_ba for next.
std::vector<Named> qwen35_tensors(const gdn::ModelConfig& c, int64_t n_mtp = 0, bool next = false) {
    std::vector<Named> ts;
    const int64_t e = c.n_embd, hd = c.head_dim, vd = c.ssm_n_v_heads * c.ssm_d_v;
    const auto attention = [&](const std::string& b) {
        ts.push_back({b + "attn_q.weight", {e, 2 * c.n_head * hd}});
        ts.push_back({b + "attn_k.weight", {e, c.n_head_kv * hd}});
        ts.push_back({b + "attn_v.weight", {e, c.n_head_kv * hd}});
        ts.push_back({b + "attn_q_norm.weight", {hd}});
        ts.push_back({b + "attn_k_norm.weight", {hd}});
        ts.push_back({b + "attn_output.weight", {c.n_head * hd, e}});
    };
    const auto mlp = [&](const std::string& b) {
        ts.push_back({b + "post_attention_norm.weight", {e}});
        if (c.is_moe()) {
            const int64_t x = c.n_expert, fe = c.n_ff_exp, fs = c.n_ff_shexp;
            ts.push_back({b + "ffn_down_exps.weight", {fe, e, x}});
            ts.push_back({b + "ffn_gate_exps.weight", {e, fe, x}});
            ts.push_back({b + "ffn_up_exps.weight", {e, fe, x}});
            ts.push_back({b + "ffn_gate_inp.weight", {e, x}});
            ts.push_back({b + "ffn_down_shexp.weight", {fs, e}});
            ts.push_back({b + "ffn_gate_shexp.weight", {e, fs}});
            ts.push_back({b + "ffn_up_shexp.weight", {e, fs}});
            ts.push_back({b + "ffn_gate_inp_shexp.weight", {e, 1}});
            return;
        }
        ts.push_back({b + "ffn_gate.weight", {e, c.n_ff}});
        ts.push_back({b + "ffn_up.weight", {e, c.n_ff}});
        ts.push_back({b + "ffn_down.weight", {c.n_ff, e}});
    };
    ts.push_back({"token_embd.weight", {e, c.n_vocab}});
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        ts.push_back({b + "attn_norm.weight", {e}});
        if (c.is_attention(i)) {
            attention(b);
        } else {
            ts.push_back({b + "attn_qkv.weight", {e, c.ssm_conv_dim()}});
            ts.push_back({b + "attn_gate.weight", {e, vd}});
            if (next) {
                ts.push_back({b + "ssm_ba.weight", {e, 2 * c.ssm_n_v_heads}});
            } else {
                ts.push_back({b + "ssm_beta.weight", {e, c.ssm_n_v_heads}});
                ts.push_back({b + "ssm_alpha.weight", {e, c.ssm_n_v_heads}});
            }
            ts.push_back({b + "ssm_conv1d.weight", {c.ssm_conv_kernel, c.ssm_conv_dim()}});
            ts.push_back({b + "ssm_dt.bias", {c.ssm_n_v_heads}});
            ts.push_back({b + "ssm_a", {c.ssm_n_v_heads}});
            ts.push_back({b + "ssm_norm.weight", {c.ssm_d_v}});
            ts.push_back({b + "ssm_out.weight", {vd, e}});
        }
        mlp(b);
    }
    ts.push_back({"output_norm.weight", {e}});
    if (!c.tied_embeddings) ts.push_back({"output.weight", {e, c.n_vocab}});
    for (int64_t j = 0; j < n_mtp; ++j) {
        const std::string b = "blk." + std::to_string(c.n_layer + j) + ".";
        ts.push_back({b + "nextn.eh_proj.weight", {2 * e, e}});
        ts.push_back({b + "attn_norm.weight", {e}});
        attention(b);
        mlp(b);
        ts.push_back({b + "nextn.shared_head_norm.weight", {e}});
        ts.push_back({b + "nextn.enorm.weight", {e}});
        ts.push_back({b + "nextn.hnorm.weight", {e}});
    }
    return ts;
}

/// What a mix gives: the common type of the quantised tensors and where it departs from it.
struct Mix {
    std::string common;
    std::vector<std::string> exceptions;
};

Mix mix_of(LlamaFtype f, const gdn::ModelConfig& c, int64_t n_mtp = 0, gdn::io::QuantMixOptions o = {},
           bool next = false) {
    const std::vector<Named> named = qwen35_tensors(c, n_mtp, next);
    std::vector<gdn::io::MixTensor> ts;
    for (const Named& n : named) ts.push_back({n.name, n.ne, T::f32});  // the converter's f32 / any
    const std::vector<DType> types = gdn::io::llama_tensor_types(
        f, ts, c.n_layer + n_mtp, gdn::io::QuantModel{c.n_head / c.n_head_kv, true, c.n_expert}, o);
    REQUIRE(types.size() == ts.size());
    std::vector<std::string_view> names;
    std::vector<DType> quantised;
    for (size_t i = 0; i < ts.size(); ++i) {
        const std::string_view n = ts[i].name;
        const bool kept = n.find("norm") != n.npos || n.ends_with(".ssm_a") || n.find("ssm_dt") != n.npos ||
                          n.find("ssm_conv1d") != n.npos || n.find("ffn_gate_inp") != n.npos;
        CHECK(gdn::io::llama_quantizes(n, ts[i].ne) == !kept);
        if (kept) {
            INFO(n);
            CHECK(types[i] == T::f32);
            continue;
        }
        names.push_back(n);
        quantised.push_back(types[i]);
    }
    const DType common = gdn::io::mix_common_type(quantised);
    return {std::string(gdn::io::mix_type_name(common)), gdn::io::mix_exceptions(names, quantised, common)};
}

struct Expected {
    const char* ftype;
    const char* common;
    std::vector<std::string> exceptions;
};

void check_table(const gdn::ModelConfig& c, const std::vector<Expected>& table, bool next = false, int64_t n_mtp = 0) {
    for (const Expected& e : table) {
        INFO("ftype " << e.ftype);
        const auto f = gdn::io::parse_llama_ftype(e.ftype);
        REQUIRE(f.has_value());
        const Mix m = mix_of(*f, c, n_mtp, {}, next);
        CHECK(m.common == e.common);
        CHECK(m.exceptions == e.exceptions);
    }
}

gdn::ModelConfig narrow_heads() {  // tools/gdn_random_gguf.cpp's tiny shape: n_head / n_head_kv = 2
    gdn::ModelConfig c = gdn::qwen35_shape("0.8B");
    c.n_embd = 256;
    c.n_layer = 8;
    c.n_ff = 512;
    c.ssm_n_k_heads = 2;
    c.ssm_n_v_heads = 4;
    c.n_head = 2;
    c.n_head_kv = 1;
    return c;
}

}  // namespace

TEST_CASE("quant mix: every llama-quantize file type is listed once and parses back", "[io][quant_mix]") {
    for (const gdn::io::LlamaFtypeInfo& i : gdn::io::llama_ftypes) {
        INFO(i.name);
        CHECK(gdn::io::parse_llama_ftype(i.name) == i.ftype);
        CHECK(&gdn::io::llama_ftype_info(i.ftype) == &i);
        std::string upper(i.name);
        for (char& ch : upper) ch = (ch >= 'a' && ch <= 'z') ? char(ch - 'a' + 'A') : ch;
        CHECK(gdn::io::parse_llama_ftype(upper) == i.ftype);  // llama-quantize spells them "Q4_K_M"
    }
    CHECK(gdn::io::parse_llama_ftype("q4_k") == LlamaFtype::q4_k_m);  // llama-quantize's aliases
    CHECK(gdn::io::parse_llama_ftype("Q3_K") == LlamaFtype::q3_k_m);
    CHECK(gdn::io::parse_llama_ftype("q5_k") == LlamaFtype::q5_k_m);
    CHECK(!gdn::io::parse_llama_ftype("q4_k_x").has_value());
    CHECK(!gdn::io::parse_llama_ftype("iq2_xxs").has_value());  // needs an imatrix: not modelled
    // general.file_type values (enum llama_ftype, include/llama.h)
    CHECK(static_cast<uint32_t>(LlamaFtype::q4_k_m) == 15);
    CHECK(static_cast<uint32_t>(LlamaFtype::iq4_xs) == 30);
    CHECK(static_cast<uint32_t>(LlamaFtype::mxfp4_moe) == 38);
}

TEST_CASE("quant mix: the ggml ids and block sizes agree with every format gdn lists", "[io][quant_mix]") {
    // a format added to core/dtype.hpp must have the id and block size the mixes assume
#define GDN_CHECK_MIX_DTYPE(name, id, elems, bytes)                                 \
    CHECK(gdn::io::mix_block_elems(DType::name) == (elems));                        \
    CHECK(gdn::io::mix_type_name(DType::name) == gdn::dtype_name(DType::name));
    GDN_FOR_EACH_DTYPE(GDN_CHECK_MIX_DTYPE)
#undef GDN_CHECK_MIX_DTYPE
    for (DType t : {T::q4_1, T::q5_0, T::q5_1, T::q2_k, T::q3_k, T::q5_k, T::iq4_nl, T::iq3_s, T::iq4_xs, T::mxfp4}) {
        INFO(gdn::io::mix_type_name(t));
        CHECK(gdn::io::mix_block_elems(t) > 0);
        CHECK(gdn::io::mix_type_name(t).find("unknown") == std::string_view::npos);
    }
    CHECK(gdn::io::mix_type_name(T::q5_k) == "q5_k");
    CHECK(gdn::io::mix_type_name(T::iq4_xs) == "iq4_xs");
    CHECK(gdn::io::mix_type_name(T::mxfp4) == "mxfp4");
}

TEST_CASE("quant mix: use_more_bits picks llama.cpp's layers", "[io][quant_mix]") {
    // 24 layers: n/8 = 3 and 7n/8 = 21, every third from 3 + 2
    std::vector<int64_t> got;
    for (int64_t i = 0; i < 24; ++i)
        if (gdn::io::llama_use_more_bits(i, 24)) got.push_back(i);
    CHECK(got == std::vector<int64_t>{0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23});
    got.clear();
    for (int64_t i = 0; i < 8; ++i)
        if (gdn::io::llama_use_more_bits(i, 8)) got.push_back(i);
    CHECK(got == std::vector<int64_t>{0, 3, 6, 7});
}

// 0.8B: 24 layers, attention at 3 7 11 15 19 23; token_embd is the output matrix
TEST_CASE("quant mix: Qwen3.5-0.8B (24 layers, tied) for every file type", "[io][quant_mix]") {
    check_table(gdn::qwen35_shape("0.8B"), {
        {"q4_0", "q4_0", {"token_embd q6_k"}},
        {"q4_1", "q4_1", {"token_embd q6_k"}},
        {"mxfp4_moe", "q8_0", {}},
        {"q5_0", "q5_0", {"token_embd q6_k"}},
        {"q5_1", "q5_1", {"token_embd q6_k"}},
        {"q2_k", "q2_k", {"attn_output q3_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down q3_k", "token_embd q6_k"}},
        {"iq3_s", "iq3_s", {"attn_qkv q4_k", "attn_v q4_k", "token_embd q6_k"}},
        {"iq3_m", "iq3_s", {"attn_output q4_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down q4_k: 0 1 2", "token_embd q6_k"}},
        {"q3_k_s", "q3_k", {"token_embd q6_k"}},
        {"q3_k_m", "q3_k", {"attn_output q4_k", "attn_qkv q4_k: 2 4 5 6 8 9 10 12 13 14 16 17 18 20 21 22",
                            "attn_qkv q5_k: 0 1", "attn_v q4_k",
                            "ffn_down q4_k: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
                            "ffn_down q5_k: 0", "token_embd q6_k"}},
        {"q3_k_l", "q3_k", {"attn_output q5_k", "attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k", "token_embd q6_k"}},
        {"iq4_nl", "iq4_nl", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k: 0 1 2", "token_embd q6_k"}},
        {"iq4_xs", "iq4_xs", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k: 0 1 2", "token_embd q6_k"}},
        {"q4_k_s", "q4_k", {"attn_qkv q5_k: 0 1 2", "attn_v q5_k: 3", "ffn_down q5_k: 0 1 2", "token_embd q6_k"}},
        {"q4_k_m", "q4_k", {"attn_qkv q6_k: 0 1 2 5 8 14 17 20 21 22", "attn_v q6_k: 11 23",
                            "ffn_down q6_k: 0 1 2 5 8 11 14 17 20 21 22 23", "token_embd q6_k"}},
        {"q5_k_s", "q5_k", {"token_embd q6_k"}},
        {"q5_k_m", "q5_k", {"attn_qkv q6_k: 0 1 2 5 8 14 17 20 21 22", "attn_v q6_k: 11 23",
                            "ffn_down q6_k: 0 1 2 5 8 11 14 17 20 21 22 23", "token_embd q6_k"}},
        {"q6_k", "q6_k", {}},
        {"q8_0", "q8_0", {}},
        {"f16", "f16", {}},
        {"bf16", "bf16", {}},
        {"f32", "f32", {}},
    });
}

// 27B: 64 layers, attention at 3 7 ... 63; token_embd and output separate
TEST_CASE("quant mix: Qwen3.5-27B (64 layers, untied) for every file type", "[io][quant_mix]") {
    check_table(gdn::qwen35_shape("27B"), {
        {"q4_0", "q4_0", {"output q6_k"}},
        {"q4_1", "q4_1", {"output q6_k"}},
        {"mxfp4_moe", "q8_0", {}},
        {"q5_0", "q5_0", {"output q6_k"}},
        {"q5_1", "q5_1", {"output q6_k"}},
        {"q2_k", "q2_k", {"attn_output q3_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down q3_k", "output q6_k"}},
        {"iq3_s", "iq3_s", {"attn_qkv q4_k", "attn_v q4_k", "output q6_k"}},
        {"iq3_m", "iq3_s", {"attn_output q4_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down q4_k: 0 1 2 3 4 5 6 7",
                            "output q6_k"}},
        {"q3_k_s", "q3_k", {"output q6_k"}},
        {"q3_k_m", "q3_k", {"attn_output q4_k",
                            "attn_qkv q4_k: 2 4 5 6 8 9 10 12 13 14 16 17 18 20 21 22 24 25 26 28 29 30 32 33 34 36 "
                            "37 38 40 41 42 44 45 46 48 49 50 52 53 54 56 57 58 60 61 62",
                            "attn_qkv q5_k: 0 1", "attn_v q4_k",
                            "ffn_down q4_k: 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 "
                            "31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 "
                            "61 62 63",
                            "ffn_down q5_k: 0 1 2 3", "output q6_k"}},
        {"q3_k_l", "q3_k", {"attn_output q5_k", "attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k", "output q6_k"}},
        {"iq4_nl", "iq4_nl", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k: 0 1 2 3 4 5 6 7", "output q6_k"}},
        {"iq4_xs", "iq4_xs", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down q5_k: 0 1 2 3 4 5 6 7", "output q6_k"}},
        {"q4_k_s", "q4_k", {"attn_qkv q5_k: 0 1 2", "attn_v q5_k: 3", "ffn_down q5_k: 0 1 2 3 4 5 6 7", "output q6_k"}},
        {"q4_k_m", "q4_k", {"attn_qkv q6_k: 0 1 2 4 5 6 10 13 16 22 25 28 34 37 40 46 49 52 56 57 58 60 61 62",
                            "attn_v q6_k: 3 7 19 31 43 55 59 63",
                            "ffn_down q6_k: 0 1 2 3 4 5 6 7 10 13 16 19 22 25 28 31 34 37 40 43 46 49 52 55 56 57 58 "
                            "59 60 61 62 63",
                            "output q6_k"}},
        {"q5_k_s", "q5_k", {"output q6_k"}},
        {"q5_k_m", "q5_k", {"attn_qkv q6_k: 0 1 2 4 5 6 10 13 16 22 25 28 34 37 40 46 49 52 56 57 58 60 61 62",
                            "attn_v q6_k: 3 7 19 31 43 55 59 63",
                            "ffn_down q6_k: 0 1 2 3 4 5 6 7 10 13 16 19 22 25 28 31 34 37 40 43 46 49 52 55 56 57 58 "
                            "59 60 61 62 63",
                            "output q6_k"}},
        {"q6_k", "q6_k", {}},
        {"q8_0", "q8_0", {}},
        {"f16", "f16", {}},
        {"bf16", "bf16", {}},
        {"f32", "f32", {}},
    });
}

TEST_CASE("quant mix: with n_head < 4 n_head_kv, Q2_K / IQ4 / IQ3_S keep attn_v-like tensors low", "[io][quant_mix]") {
    // 8 layers: n/8 = 1, so IQ4_NL's ffn_down q5_k is layer 0 only
    check_table(narrow_heads(), {
        {"q2_k", "q2_k", {"attn_output q3_k", "attn_qkv q3_k", "attn_v q3_k", "ffn_down q3_k", "token_embd q6_k"}},
        {"iq4_nl", "iq4_nl", {"ffn_down q5_k: 0", "token_embd q6_k"}},
        {"iq3_s", "iq3_s", {"token_embd q6_k"}},
        {"q4_k_m", "q4_k", {"attn_qkv q6_k: 0 6", "attn_v q6_k", "ffn_down q6_k: 0 3 6 7", "token_embd q6_k"}},
    });
}

TEST_CASE("quant mix: --imatrix changes Q4_0 / Q5_0 / IQ4 ffn_down, --pure gives one type", "[io][quant_mix]") {
    const gdn::ModelConfig small = gdn::qwen35_shape("0.8B"), big = gdn::qwen35_shape("27B");
    const gdn::io::QuantMixOptions imatrix{.pure = false, .imatrix = true}, pure{.pure = true, .imatrix = false};
    Mix m = mix_of(LlamaFtype::q4_0, small, 0, imatrix);
    CHECK(m.common == "q4_0");
    CHECK(m.exceptions == std::vector<std::string>{"ffn_down q4_1: 0 1 2", "token_embd q6_k"});
    m = mix_of(LlamaFtype::q5_0, big, 0, imatrix);
    CHECK(m.exceptions == std::vector<std::string>{"ffn_down q5_1: 0 1 2 3 4 5 6 7", "output q6_k"});
    m = mix_of(LlamaFtype::iq4_xs, small, 0, imatrix);
    CHECK(m.exceptions == std::vector<std::string>{"attn_qkv q5_k", "attn_v q5_k", "token_embd q6_k"});
    m = mix_of(LlamaFtype::q4_k_m, small, 0, imatrix);  // no change for K-quants
    CHECK(m.exceptions == std::vector<std::string>{"attn_qkv q6_k: 0 1 2 5 8 14 17 20 21 22", "attn_v q6_k: 11 23",
                                                   "ffn_down q6_k: 0 1 2 5 8 11 14 17 20 21 22 23", "token_embd q6_k"});
    for (LlamaFtype f : {LlamaFtype::q4_k_m, LlamaFtype::q4_0, LlamaFtype::q3_k_m, LlamaFtype::iq4_nl}) {
        m = mix_of(f, big, 0, pure);
        CHECK(m.common == gdn::io::mix_type_name(gdn::io::llama_ftype_info(f).base));
        CHECK(m.exceptions.empty());
    }
}

TEST_CASE("quant mix: an MTP block counts in n_attention_wv and n_ffn_down", "[io][quant_mix]") {
    // 25 blocks: use_more_bits(i, 25) adds 24 (>= 7 * 25 / 8 = 21); nextn.eh_proj has no rule
    const Mix m = mix_of(LlamaFtype::q4_k_m, gdn::qwen35_shape("0.8B"), 1);
    CHECK(m.common == "q4_k");
    CHECK(m.exceptions == std::vector<std::string>{"attn_qkv q6_k: 0 1 2 5 8 14 17 20 21 22", "attn_v q6_k: 11 23 24",
                                                   "ffn_down q6_k: 0 1 2 5 8 11 14 17 20 21 22 23 24",
                                                   "token_embd q6_k"});
}

TEST_CASE("quant mix: rows the block does not divide fall back as tensor_type_fallback", "[io][quant_mix]") {
    using gdn::io::llama_type_fallback;
    CHECK(llama_type_fallback("x", 288, T::q4_k) == T::q5_0);  // 288 = 9 * 32, not a multiple of 256
    CHECK(llama_type_fallback("x", 288, T::q5_k) == T::q5_1);
    CHECK(llama_type_fallback("x", 288, T::q6_k) == T::q8_0);
    CHECK(llama_type_fallback("x", 288, T::q2_k) == T::q4_0);
    CHECK(llama_type_fallback("x", 288, T::q3_k) == T::q4_0);
    CHECK(llama_type_fallback("x", 288, T::iq4_xs) == T::iq4_nl);
    CHECK(llama_type_fallback("x", 288, T::iq3_s) == T::iq4_nl);
    CHECK(llama_type_fallback("x", 48, T::q4_k) == T::f16);  // q5_0's 32 does not divide 48 either
    CHECK(llama_type_fallback("x", 512, T::q4_k) == T::q4_k);
    CHECK_THROWS_WITH(llama_type_fallback("blk.0.ffn_down.weight", 48, T::q8_0),
                      Catch::Contains("blk.0.ffn_down.weight") && Catch::Contains("no fallback type for q8_0"));

    // a 0.8B with n_embd 288: the matrices of 288-wide rows fall back (q6_k -> q8_0), the output
    // matrix takes the q8_0 of its own rule, attn_output / ssm_out / ffn_down (2048 / 3584) stay
    gdn::ModelConfig c = gdn::qwen35_shape("0.8B");
    c.n_embd = 288;
    const Mix m = mix_of(LlamaFtype::q6_k, c);
    CHECK(m.common == "q8_0");
    CHECK(m.exceptions == std::vector<std::string>{"attn_output q6_k", "ffn_down q6_k", "ssm_out q6_k"});
    const std::vector<int64_t> row288{288, 512}, row7{7, 3};
    const gdn::io::QuantModel model{4, true};
    const gdn::io::QuantCounters first{0, 24, 0, 24}, middle{4, 24, 4, 24};
    using gdn::io::llama_tensor_type;
    CHECK(llama_tensor_type(LlamaFtype::q4_k_m, "blk.0.attn_qkv.weight", row288, model, first) == T::q8_0);  // q6_k
    CHECK(llama_tensor_type(LlamaFtype::q4_k_m, "blk.4.attn_qkv.weight", row288, model, middle) == T::q5_0);  // q4_k
    CHECK(llama_tensor_type(LlamaFtype::q5_k_s, "blk.4.ffn_up.weight", row288, model, middle) == T::q5_1);
    CHECK(llama_tensor_type(LlamaFtype::q2_k, "blk.4.ffn_up.weight", row288, model, middle) == T::q4_0);
    // q4_0's 32 divides 288, so the output rule gives q6_k, which the fallback turns into q8_0
    CHECK(llama_tensor_type(LlamaFtype::q4_0, "token_embd.weight", row288, model, first) == T::q8_0);
    CHECK(llama_tensor_type(LlamaFtype::q4_k_m, "token_embd.weight", row288, model, first) == T::q8_0);
    CHECK(llama_tensor_type(LlamaFtype::f16, "blk.4.ffn_up.weight", row7, model, middle) == T::f16);  // no block, no rule
}

// ---- MoE files --------------------------------------------------------------------------------
// What changes for qwen35moe / qwen3next (src/llama-quant.cpp at 0c1e570):
// - ffn_gate_inp is never quantised (tensor_allows_quantization: "do not quantize expert gating
//   tensors"); ffn_gate_inp_shexp [n_embd, 1] is 1-D to ggml_n_dims. Both stay f32 (mix_of checks).
// - ffn_{gate,up,down}_exps and ffn_{gate,up,down}_shexp are in the ffn_gate / ffn_up / ffn_down
//   categories (tensor_get_category's substring match), so they take the dense ffn_* rules;
//   ffn_gate / ffn_up have none for these ftypes.
// - n_expert > 1: layer_info reads ffn_down's layer from "blk.%d." instead of the counter, so a
//   layer's ffn_down_exps and ffn_down_shexp get the same type (counting both would move the
//   use_more_bits layers); n is still n_layer_all (block_count).
// - n_gqa = 16 / 2 = 8 >= 4 for both models; n_expert 256 / 512 != 8: no Mixtral rule fires.
// - MXFP4_MOE: ne[2] > 1 -> mxfp4 (the three *_exps), every other quantised tensor q8_0.
// - ssm_ba (qwen3next) is "other": the base type.

namespace {

gdn::ModelConfig moe_shape(const char* name) { return gdn::qwen35_shape(name); }

}  // namespace

// 35B-A3B: 40 layers, attention at 3 7 ... 39; untied. n/8 = 5, 7n/8 = 35, n/16 = 2;
// use_more_bits(i, 40): 0-4, 35-39 and 7 10 13 ... 34 (i - 5 = 2 mod 3)
TEST_CASE("quant mix: Qwen3.5-35B-A3B (qwen35moe, 40 layers, 256 experts)", "[io][quant_mix][moe]") {
    check_table(moe_shape("35B-A3B"), {
        // Q4_0: no rule for any block tensor without an imatrix; output: q6_k (the output rule)
        {"q4_0", "q4_0", {"output q6_k"}},
        // MXFP4_MOE: the 3-D expert tensors mxfp4, the rest (output included) q8_0
        {"mxfp4_moe", "q8_0", {"ffn_down_exps mxfp4", "ffn_gate_exps mxfp4", "ffn_up_exps mxfp4"}},
        // Q2_K: attn_v-like q4_k (n_gqa 8 >= 4), ffn_down (exps and shexp) q3_k, attn_output q3_k
        {"q2_k", "q2_k", {"attn_output q3_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down_exps q3_k",
                          "ffn_down_shexp q3_k", "output q6_k"}},
        // Q3_K_M: attn_v-like q5_k for i_attention_wv < 2 (layers 0, 1: both DeltaNet), else q4_k;
        // ffn_down q5_k for layers < n/16 = 2, else q4_k (not Falcon); attn_output q4_k
        {"q3_k_m", "q3_k", {"attn_output q4_k",
                            "attn_qkv q4_k: 2 4 5 6 8 9 10 12 13 14 16 17 18 20 21 22 24 25 26 28 29 30 32 33 34 36 37 38",
                            "attn_qkv q5_k: 0 1", "attn_v q4_k",
                            "ffn_down_exps q4_k: 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 "
                            "28 29 30 31 32 33 34 35 36 37 38 39",
                            "ffn_down_exps q5_k: 0 1",
                            "ffn_down_shexp q4_k: 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 "
                            "28 29 30 31 32 33 34 35 36 37 38 39",
                            "ffn_down_shexp q5_k: 0 1", "output q6_k"}},
        // Q4_K_S: attn_v-like q5_k for i_attention_wv < 4 (qkv 0 1 2, v 3); ffn_down q5_k below n/8 = 5
        {"q4_k_s", "q4_k", {"attn_qkv q5_k: 0 1 2", "attn_v q5_k: 3", "ffn_down_exps q5_k: 0 1 2 3 4",
                            "ffn_down_shexp q5_k: 0 1 2 3 4", "output q6_k"}},
        // Q4_K_M: q6_k where use_more_bits, for attn_v-like (index = layer) and ffn_down (the layer)
        {"q4_k_m", "q4_k", {"attn_qkv q6_k: 0 1 2 4 10 13 16 22 25 28 34 36 37 38", "attn_v q6_k: 3 7 19 31 35 39",
                            "ffn_down_exps q6_k: 0 1 2 3 4 7 10 13 16 19 22 25 28 31 34 35 36 37 38 39",
                            "ffn_down_shexp q6_k: 0 1 2 3 4 7 10 13 16 19 22 25 28 31 34 35 36 37 38 39",
                            "output q6_k"}},
        // IQ3_M: attn_v-like q4_k, attn_output q4_k, ffn_down q4_k below n/8 (the use_more_bits
        // extension is for n_expert == 8 only)
        {"iq3_m", "iq3_s", {"attn_output q4_k", "attn_qkv q4_k", "attn_v q4_k", "ffn_down_exps q4_k: 0 1 2 3 4",
                            "ffn_down_shexp q4_k: 0 1 2 3 4", "output q6_k"}},
        // IQ4_XS: attn_v-like q5_k (n_gqa >= 4), ffn_down q5_k below n/8 without an imatrix
        {"iq4_xs", "iq4_xs", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down_exps q5_k: 0 1 2 3 4",
                              "ffn_down_shexp q5_k: 0 1 2 3 4", "output q6_k"}},
        {"q6_k", "q6_k", {}},
        {"q8_0", "q8_0", {}},
        {"bf16", "bf16", {}},
    });
}

// 80B-A3B: 48 layers, attention at 3 7 ... 47; n/8 = 6, 7n/8 = 42, n/16 = 3;
// use_more_bits(i, 48): 0-5, 42-47 and 8 11 ... 41
TEST_CASE("quant mix: Qwen3-Next-80B-A3B (qwen3next, 48 layers, 512 experts)", "[io][quant_mix][moe]") {
    check_table(moe_shape("80B-A3B"), {
        {"q4_0", "q4_0", {"output q6_k"}},  // ssm_ba: no rule, the base type
        {"mxfp4_moe", "q8_0", {"ffn_down_exps mxfp4", "ffn_gate_exps mxfp4", "ffn_up_exps mxfp4"}},
        {"q3_k_m", "q3_k", {"attn_output q4_k",
                            "attn_qkv q4_k: 2 4 5 6 8 9 10 12 13 14 16 17 18 20 21 22 24 25 26 28 29 30 32 33 34 36 37 "
                            "38 40 41 42 44 45 46",
                            "attn_qkv q5_k: 0 1", "attn_v q4_k",
                            "ffn_down_exps q4_k: 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 "
                            "29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47",
                            "ffn_down_exps q5_k: 0 1 2",
                            "ffn_down_shexp q4_k: 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 "
                            "29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47",
                            "ffn_down_shexp q5_k: 0 1 2", "output q6_k"}},
        {"q4_k_m", "q4_k", {"attn_qkv q6_k: 0 1 2 4 5 8 14 17 20 26 29 32 38 41 42 44 45 46",
                            "attn_v q6_k: 3 11 23 35 43 47",
                            "ffn_down_exps q6_k: 0 1 2 3 4 5 8 11 14 17 20 23 26 29 32 35 38 41 42 43 44 45 46 47",
                            "ffn_down_shexp q6_k: 0 1 2 3 4 5 8 11 14 17 20 23 26 29 32 35 38 41 42 43 44 45 46 47",
                            "output q6_k"}},
        {"q5_k_s", "q5_k", {"output q6_k"}},
        {"iq4_nl", "iq4_nl", {"attn_qkv q5_k", "attn_v q5_k", "ffn_down_exps q5_k: 0 1 2 3 4 5",
                              "ffn_down_shexp q5_k: 0 1 2 3 4 5", "output q6_k"}},
    }, true);
}

TEST_CASE("quant mix: an MoE MTP block takes the MoE ffn_down rules of its layer", "[io][quant_mix][moe]") {
    // 41 blocks: n/8 = 5, 7n/8 = 35; the MTP block 40 is a use_more_bits layer, attention (attn_v)
    const Mix m = mix_of(LlamaFtype::q4_k_m, moe_shape("35B-A3B"), 1);
    CHECK(m.common == "q4_k");
    CHECK(m.exceptions == std::vector<std::string>{
                              "attn_qkv q6_k: 0 1 2 4 10 13 16 22 25 28 34 36 37 38", "attn_v q6_k: 3 7 19 31 35 39 40",
                              "ffn_down_exps q6_k: 0 1 2 3 4 7 10 13 16 19 22 25 28 31 34 35 36 37 38 39 40",
                              "ffn_down_shexp q6_k: 0 1 2 3 4 7 10 13 16 19 22 25 28 31 34 35 36 37 38 39 40",
                              "output q6_k"});
}

TEST_CASE("quant mix: 8 experts get llama.cpp's Mixtral rules", "[io][quant_mix][moe]") {
    // the narrow-head 8-layer model with 8 experts, tied (token_embd is the output):
    // attn_v-like and attn_k q8_0 ("for the 8-expert model, bumping this to Q8_0"), attn_output
    // q5_k for the low-bit K / IQ mixes; IQ3_M's ffn_down q4_k also where use_more_bits (0 3 6 7)
    gdn::ModelConfig c = narrow_heads();
    c.n_expert = 8;
    c.n_expert_used = 2;
    c.n_ff_exp = 256;
    c.n_ff_shexp = 256;
    check_table(c, {
        {"q4_k_m", "q4_k", {"attn_k q8_0", "attn_output q5_k", "attn_qkv q8_0", "attn_v q8_0",
                            "ffn_down_exps q6_k: 0 3 6 7", "ffn_down_shexp q6_k: 0 3 6 7", "token_embd q6_k"}},
        {"q3_k_m", "q3_k", {"attn_k q8_0", "attn_output q5_k", "attn_qkv q8_0", "attn_v q8_0", "ffn_down_exps q4_k",
                            "ffn_down_shexp q4_k", "token_embd q6_k"}},
        {"iq3_m", "iq3_s", {"attn_k q8_0", "attn_output q5_k", "attn_qkv q8_0", "attn_v q8_0",
                            "ffn_down_exps q4_k: 0 3 6 7", "ffn_down_shexp q4_k: 0 3 6 7", "token_embd q6_k"}},
        {"q5_k_m", "q5_k", {"attn_k q8_0", "attn_qkv q8_0", "attn_v q8_0", "ffn_down_exps q6_k: 0 3 6 7",
                            "ffn_down_shexp q6_k: 0 3 6 7", "token_embd q6_k"}},  // attn_output: Q5_K_M is not listed
        {"q4_0", "q4_0", {"attn_k q8_0", "attn_qkv q8_0", "attn_v q8_0", "token_embd q6_k"}},
    });
}

TEST_CASE("quant mix: the router is never quantised, an MoE ffn_down outside a block is an error",
          "[io][quant_mix][moe]") {
    const std::vector<int64_t> router{2048, 256}, shexp_gate{2048, 1}, exps{2048, 512, 256};
    CHECK(!gdn::io::llama_quantizes("blk.0.ffn_gate_inp.weight", router));
    CHECK(!gdn::io::llama_quantizes("blk.0.ffn_gate_inp_shexp.weight", shexp_gate));  // ggml_n_dims 1
    CHECK(gdn::io::llama_quantizes("blk.0.ffn_gate_exps.weight", exps));
    CHECK(gdn::io::llama_quantizes("blk.0.ffn_gate_shexp.weight", router));
    // layer_info's "Failed to determine layer": llama-quantize stops on such a file
    const std::vector<int64_t> down{512, 2048, 256};
    const std::vector<gdn::io::MixTensor> ts{{"ffn_down_exps.weight", down, T::f32}};
    CHECK_THROWS_WITH(gdn::io::llama_tensor_types(LlamaFtype::q4_k_m, ts, 40, gdn::io::QuantModel{8, true, 256}),
                      Catch::Contains("ffn_down_exps.weight"));
    // dense (n_expert 0 or 1): the counter, as before
    CHECK(gdn::io::llama_tensor_types(LlamaFtype::q4_k_m, ts, 40, gdn::io::QuantModel{8, true, 1})[0] == T::q6_k);
}

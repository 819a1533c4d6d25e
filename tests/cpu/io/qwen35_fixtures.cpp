// The reader and loader on files gdn did not write: the parity fixtures in tests/data, made by
// gguf-py (tools/make_fixtures.py). Expected configs are the fixture generator's own
// (tests/data/<name>.json, copied here by hand).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"

#ifndef GDN_TEST_DATA_DIR
#define GDN_TEST_DATA_DIR "tests/data"
#endif

namespace {

std::string fixture_path(const std::string& file) {
    const char* env = std::getenv("GDN_TEST_DATA_DIR");
    return std::string(env && *env ? env : GDN_TEST_DATA_DIR) + "/" + file;
}

struct Want {
    const char* name;
    int64_t n_vocab, n_embd, n_layer, n_ff, interval, hk, hv, dk, dv, h, hkv, hd, rot;
    bool tied;
    gdn::DType matrix_type;
};

}  // namespace

TEST_CASE("qwen35 loader reads the gguf-py fixtures with the generator's config", "[io][qwen35][fixtures]") {
    const Want wants[] = {
        {"qwen35_r2_tied", 384, 64, 8, 128, 4, 2, 4, 32, 32, 4, 2, 64, 16, true, gdn::DType::f32},
        {"qwen35_r2_real_heads_f16", 288, 64, 4, 128, 4, 1, 2, 128, 128, 2, 1, 256, 64, false, gdn::DType::f16},
        {"qwen35_r3_untied", 320, 64, 5, 96, 4, 2, 6, 32, 48, 4, 1, 32, 8, false, gdn::DType::f32},
    };
    for (const Want& want : wants) {
        const std::string path = fixture_path(std::string(want.name) + ".gguf");
        if (!std::filesystem::exists(path)) {
            WARN("fixture missing, skipped: " << path);
            continue;
        }
        INFO(want.name);
        const auto f = gdn::io::GgufFile::open(path);
        CHECK(f.version() == 3);
        const gdn::ModelWeights w = gdn::io::load_qwen35(f);
        const gdn::ModelConfig& c = w.config;
        CHECK(c.n_vocab == want.n_vocab);
        CHECK(c.n_embd == want.n_embd);
        CHECK(c.n_layer == want.n_layer);
        CHECK(c.n_ff == want.n_ff);
        CHECK(c.full_attention_interval == want.interval);
        CHECK(c.ssm_n_k_heads == want.hk);
        CHECK(c.ssm_n_v_heads == want.hv);
        CHECK(c.ssm_d_k == want.dk);
        CHECK(c.ssm_d_v == want.dv);
        CHECK(c.ssm_conv_kernel == 4);
        CHECK(c.n_head == want.h);
        CHECK(c.n_head_kv == want.hkv);
        CHECK(c.head_dim == want.hd);
        CHECK(c.n_rot == want.rot);
        CHECK(c.rope_theta == 1.0e7f);
        CHECK(c.rms_eps == 1.0e-6f);
        CHECK(c.tied_embeddings == want.tied);
        CHECK(c.v_head_order == gdn::HeadOrder::tiled);
        CHECK(w.layers[0].deltanet.qkv.type == want.matrix_type);
        CHECK(w.layers[3].attn.q.type == want.matrix_type);
        CHECK(w.layers[0].deltanet.conv.type == gdn::DType::f32);
        CHECK(w.storage == f.storage());
        // every view lies inside the mapping
        const std::byte* lo = f.bytes() + f.data_offset();
        const std::byte* hi = f.bytes() + f.size_bytes();
        for (const auto& info : f.tensor_infos()) {
            CHECK(info.view.data >= lo);
            CHECK(info.view.data + info.view.bytes() <= hi);
        }
    }
}

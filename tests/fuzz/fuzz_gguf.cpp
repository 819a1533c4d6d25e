// libFuzzer target: arbitrary bytes through the GGUF reader and, when they parse, the qwen35
// loader; every tensor view's first and last byte is read so ASan sees any view past the input.
// Only gdn::Error may escape the parser; anything else (crash, other exception, sanitizer
// report) is a bug.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//       tests/fuzz/fuzz_gguf.cpp -o /tmp/fz && /tmp/fz -max_total_time=60 tests/fuzz/corpus
//   (tests/fuzz/seeds/make_corpus.cpp regenerates the seeds in tests/fuzz/corpus/)
#include <cstddef>
#include <cstdint>
#include <span>

#include "gdn/io/gguf.hpp"
#include "gdn/io/qwen35.hpp"

namespace {

volatile unsigned char g_sink;

void touch(const gdn::TensorView& t) {
    if (t.empty()) return;
    const auto n = static_cast<size_t>(t.bytes());
    g_sink = static_cast<unsigned char>(t.data[0]);
    g_sink = static_cast<unsigned char>(t.data[n - 1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto f = gdn::io::GgufFile::view_bytes({reinterpret_cast<const std::byte*>(data), size});
        for (const auto& info : f.tensor_infos()) touch(info.view);
        for (std::string_view key : f.keys()) {
            const gdn::io::GgufValue& v = f.value(key);
            if (gdn::io::gguf_type_is_integer(v.type)) (void)f.get_int(key);
        }
        const gdn::ModelWeights w = gdn::io::load_qwen35(f);
        touch(w.tok_embd);
        touch(w.output);
        touch(w.output_norm);
        for (const auto& L : w.layers) {
            for (const auto* v : {&L.attn_norm, &L.post_attn_norm, &L.mlp.gate, &L.mlp.up, &L.mlp.down, &L.attn.q,
                                  &L.attn.k, &L.attn.v, &L.attn.q_norm, &L.attn.k_norm, &L.attn.out, &L.deltanet.qkv,
                                  &L.deltanet.z, &L.deltanet.beta, &L.deltanet.alpha, &L.deltanet.conv,
                                  &L.deltanet.dt_bias, &L.deltanet.ssm_a, &L.deltanet.ssm_norm, &L.deltanet.out}) {
                touch(*v);
            }
        }
    } catch (const gdn::Error&) {
    }
    return 0;
}

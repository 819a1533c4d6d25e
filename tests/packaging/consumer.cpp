// A consumer of the installed gdn package (CMake) or the meson subproject: includes the
// host umbrella, declares a model schedule, and checks a q8_0 round trip and a bad config.
#include <gdn/gdn.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

using TinyModel = gdn::Model<gdn::Repeat<2, gdn::DeltaNetBlock<gdn::q8_0, gdn::wht_off>,
                                         gdn::AttnBlock<gdn::fa_window<64>, gdn::kv_f16>>>;
static_assert(TinyModel::n_layers == 4 && TinyModel::n_attention == 2);

int main() {
    std::vector<float> x(64), y(64);
    for (int i = 0; i < 64; ++i) x[i] = std::sin(0.37f * float(i));
    std::vector<std::byte> q(static_cast<size_t>(gdn::dtype_row_bytes(gdn::DType::q8_0, 64)));
    gdn::quant::quantize_row(gdn::DType::q8_0, x.data(), q.data(), 64);
    gdn::dequantize_row(gdn::DType::q8_0, q.data(), y.data(), 64);
    float err = 0.f;
    for (int i = 0; i < 64; ++i) err = std::fmax(err, std::fabs(x[i] - y[i]));
    if (err > 1.f / 127.f) {
        std::printf("consumer: q8_0 round trip error %g too large\n", double(err));
        return 1;
    }
    gdn::ModelConfig cfg;
    cfg.n_vocab = 32; cfg.n_embd = 16; cfg.n_layer = 4; cfg.n_ff = 32;
    cfg.ssm_n_k_heads = 2; cfg.ssm_n_v_heads = 3; cfg.n_head = 2; cfg.n_head_kv = 1;
    try {
        cfg.validate();
        std::puts("consumer: bad config was accepted");
        return 1;
    } catch (const gdn::Error& e) {
        std::printf("consumer: gdn %d.%d.%d, q8_0 round trip error %.2e, bad config rejected: %s\n",
                    GDN_VERSION_MAJOR, GDN_VERSION_MINOR, GDN_VERSION_PATCH, double(err), e.what());
    }
    return 0;
}

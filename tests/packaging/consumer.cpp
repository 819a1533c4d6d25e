// A consumer of the installed gdn package (CMake) or the meson subproject.
#include <gdn/gdn.hpp>

#include <cstdio>

int main() {
    gdn::ModelConfig cfg;
    cfg.n_vocab = 32; cfg.n_embd = 16; cfg.n_layer = 4; cfg.n_ff = 32;
    cfg.ssm_n_k_heads = 2; cfg.ssm_n_v_heads = 4; cfg.n_head = 2; cfg.n_head_kv = 1;
    cfg.validate();
    try {
        cfg.ssm_n_v_heads = 3;
        cfg.validate();
        std::puts("consumer: bad config was accepted");
        return 1;
    } catch (const gdn::Error& e) {
        std::printf("consumer: gdn %d.%d.%d rejects a bad config: %s\n", GDN_VERSION_MAJOR,
                    GDN_VERSION_MINOR, GDN_VERSION_PATCH, e.what());
    }
    return 0;
}

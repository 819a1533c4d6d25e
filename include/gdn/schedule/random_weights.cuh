// gdn/schedule/random_weights.cuh - random weights of any Qwen3.5 shape, generated on the
// device (benchmarks: nothing is shipped, and a host generator would take minutes for 27B).
//
// The result is laid out as upload_weights lays out a loaded model, so a decoder can take it
// with WeightsOn::device: one device allocation (owned by ModelWeights::storage), every
// tensor 256-byte aligned, a layer's input projections ([qkv|z|b|a] or [q|k|v]) back to back,
// tied embeddings shared, and the small per-channel vectors float32.
//
// MoE shapes (config.n_expert > 0) get a router and shared-expert gate in f32 (as converter
// files have them) and their experts in the matrix type.
// Values are chosen so activations stay finite through 64 layers: every matrix element has
// a standard deviation of about 1/sqrt(cols), so W x of an RMS-normalised x has unit scale.
// Quant blocks get random bytes (quants, and Q4_K's 6-bit sub-scales) with the f16 scale
// fields then set to a value of that order; norm weights are near 1, ssm_a in [-8, -1].
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/quant/dispatch.hpp"
#include "gdn/schedule/device_weights.cuh"

namespace gdn::cuda {

namespace random_detail {

GDN_HOST_DEVICE GDN_FORCEINLINE uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Uniform in [0, 1) from 24 hash bits.
GDN_DEVICE GDN_FORCEINLINE float unit(uint64_t h) { return float(h >> 40) * (1.0f / 16777216.0f); }

/// Random bytes over [base, base + n16 * 16). grid-stride, 16-byte stores.
static __global__ void fill_bytes_kernel(uint4* base, int64_t n16, uint64_t seed) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n16; i += int64_t(gridDim.x) * blockDim.x) {
        const uint64_t a = mix64(seed ^ (2 * uint64_t(i)));
        const uint64_t b = mix64(seed ^ (2 * uint64_t(i) + 1));
        base[i] = make_uint4(uint32_t(a), uint32_t(a >> 32), uint32_t(b), uint32_t(b >> 32));
    }
}

/// 16-bit floats (f16 or bf16) uniform in [-amp, amp). grid-stride over n elements.
template <class T>
static __global__ void fill_half_kernel(T* out, int64_t n, float amp, uint64_t seed) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const float v = amp * (2.f * unit(mix64(seed ^ uint64_t(i))) - 1.f);
        if constexpr (std::is_same_v<T, __nv_bfloat16>)
            out[i] = __float2bfloat16(v);
        else
            out[i] = __float2half(v);
    }
}

/// float32 values uniform in [center - spread/2, center + spread/2).
static __global__ void fill_f32_kernel(float* out, int64_t n, float center, float spread, uint64_t seed) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = center + spread * (unit(mix64(seed ^ uint64_t(i))) - 0.5f);
}

/// Overwrite the f16 scale fields of n_blocks quant blocks (already random bytes): d at
/// byte d_off of each block becomes d * (0.75 .. 1.25), and, when dmin_off >= 0, the field
/// at dmin_off becomes dmin_ratio times that d. Offsets are even, so the stores are aligned.
// The scale fields of a block format (its F::f16_fields and F::e8m0_fields).
struct ScaleFields {
    int f16[4] = {};
    int n_f16 = 0;
    int e8m0[2] = {};
    int n_e8m0 = 0;
};

// Every block's f16 fields set to d * (0.75 .. 1.25), times field_ratio for every field after the
// first (q4_k's dmin), and its e8m0 exponents to `e8m0`.
static __global__ void set_scales_kernel(uint8_t* base, int64_t n_blocks, int block_bytes, ScaleFields f, float d,
                                         float field_ratio, int e8m0, uint64_t seed) {
    for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < n_blocks; b += int64_t(gridDim.x) * blockDim.x) {
        uint8_t* blk = base + b * block_bytes;
        const float s = d * (0.75f + 0.5f * unit(mix64(seed ^ uint64_t(b))));
        for (int i = 0; i < f.n_f16; ++i) {
            const __half h = __float2half(i == 0 ? s : s * field_ratio);
            const uint16_t bits = __half_as_ushort(h);
            blk[f.f16[i]] = static_cast<uint8_t>(bits & 0xff);   // blocks may sit at odd offsets (mxfp4)
            blk[f.f16[i] + 1] = static_cast<uint8_t>(bits >> 8);
        }
        for (int i = 0; i < f.n_e8m0; ++i) blk[f.e8m0[i]] = static_cast<uint8_t>(e8m0);
    }
}

inline int fill_grid(int64_t n) {
    const int64_t blocks = (n + 255) / 256;
    return int(blocks < 8192 ? (blocks > 0 ? blocks : 1) : 8192);
}

/// Where each tensor of the model goes, in upload_weights' order and alignment.
struct Plan {
    struct Item {
        TensorView* view;  // ModelWeights view to point at the allocation
        int64_t offset;
        bool f32 = false;            // small vector, filled as float32
        float center = 0.f, spread = 0.f;
    };
    std::vector<Item> items;
    // Matrix regions (one per placed matrix or adjacent group) to fill as one [cols, rows]
    struct Region {
        int64_t offset;
        DType type;
        int64_t cols, rows;
    };
    std::vector<Region> regions;
    int64_t total = 0;
};

inline TensorView make_view(std::string name, DType type, int64_t cols, int64_t rows) {
    TensorView v;
    v.name = std::move(name);
    v.type = type;
    v.ne = {cols, rows, 1, 1};
    v.n_dims = rows == 1 ? 1 : 2;
    return v;
}

/// Views (data still null, offsets in `plan`) of every tensor of a model of shape c.
inline Plan plan_weights(ModelWeights& w, DType mat) {
    const ModelConfig& c = w.config;
    Plan plan;
    auto vec = [&](TensorView& v, std::string name, int64_t n, float center, float spread) {
        v = make_view(std::move(name), DType::f32, n, 1);
        plan.items.push_back({&v, plan.total, true, center, spread});
        plan.total += detail::align_up(n * 4);
    };
    auto matrix = [&](TensorView& v, std::string name, int64_t cols, int64_t rows) {
        v = make_view(std::move(name), mat, cols, rows);
        plan.items.push_back({&v, plan.total});
        plan.regions.push_back({plan.total, mat, cols, rows});
        plan.total += detail::align_up(v.bytes());
    };
    // Back to back without padding (one type, one width), then one alignment at the end.
    auto adjacent_group = [&](std::initializer_list<std::pair<TensorView*, std::pair<std::string, int64_t>>> ms,
                              int64_t cols) {
        int64_t rows = 0;
        const int64_t start = plan.total;
        for (const auto& [v, nr] : ms) {
            *v = make_view(nr.first, mat, cols, nr.second);
            plan.items.push_back({v, plan.total});
            plan.total += v->bytes();
            rows += nr.second;
        }
        plan.regions.push_back({start, mat, cols, rows});
        plan.total = detail::align_up(plan.total);
    };

    const int64_t e = c.n_embd;
    const int64_t vd = c.ssm_n_v_heads * c.ssm_d_v;
    const int64_t hd = c.head_dim;
    matrix(w.tok_embd, "token_embd", e, c.n_vocab);
    vec(w.output_norm, "output_norm", e, 1.f, 0.2f);
    if (c.tied_embeddings)
        w.output = w.tok_embd;
    else
        matrix(w.output, "output", e, c.n_vocab);
    w.layers.resize(static_cast<size_t>(c.n_layer));
    for (int64_t i = 0; i < c.n_layer; ++i) {
        LayerWeights& l = w.layers[static_cast<size_t>(i)];
        const std::string b = "blk." + std::to_string(i) + ".";
        l.is_attention = c.is_attention(i);
        vec(l.attn_norm, b + "attn_norm", e, 1.f, 0.2f);
        vec(l.post_attn_norm, b + "post_attention_norm", e, 1.f, 0.2f);
        if (l.is_attention) {
            AttnWeights& a = l.attn;
            adjacent_group({{&a.q, {b + "attn_q", 2 * c.n_head * hd}},
                            {&a.k, {b + "attn_k", c.n_head_kv * hd}},
                            {&a.v, {b + "attn_v", c.n_head_kv * hd}}},
                           e);
            matrix(a.out, b + "attn_output", c.n_head * hd, e);
            vec(a.q_norm, b + "attn_q_norm", hd, 1.f, 0.2f);
            vec(a.k_norm, b + "attn_k_norm", hd, 1.f, 0.2f);
        } else {
            DeltaNetWeights& d = l.deltanet;
            adjacent_group({{&d.qkv, {b + "attn_qkv", c.ssm_conv_dim()}},
                            {&d.z, {b + "attn_gate", vd}},
                            {&d.beta, {b + "ssm_beta", c.ssm_n_v_heads}},
                            {&d.alpha, {b + "ssm_alpha", c.ssm_n_v_heads}}},
                           e);
            matrix(d.out, b + "ssm_out", vd, e);
            vec(d.conv, b + "ssm_conv1d", c.ssm_conv_kernel * c.ssm_conv_dim(), 0.f, 1.f);
            d.conv.ne = {c.ssm_conv_kernel, c.ssm_conv_dim(), 1, 1};
            d.conv.n_dims = 2;
            vec(d.dt_bias, b + "ssm_dt.bias", c.ssm_n_v_heads, 1.f, 1.f);
            vec(d.ssm_a, b + "ssm_a", c.ssm_n_v_heads, -4.5f, 7.f);  // [-8, -1]
            vec(d.ssm_norm, b + "ssm_norm", c.ssm_d_v, 1.f, 0.2f);
        }
        if (!c.is_moe()) {
            matrix(l.mlp.gate, b + "ffn_gate", e, c.n_ff);
            matrix(l.mlp.up, b + "ffn_up", e, c.n_ff);
            matrix(l.mlp.down, b + "ffn_down", c.n_ff, e);
            continue;
        }
        // MoE: router and shared gate f32 back to back (one GEMV), std 1/sqrt(e) as a matrix's
        // elements; the experts as 3-D [cols, rows, n_expert] matrices of `mat`.
        MoeWeights& m = l.moe;
        const float spread = 2.f * 1.7320508f / std::sqrt(float(e));  // uniform, std 1/sqrt(e)
        m.router = make_view(b + "ffn_gate_inp", DType::f32, e, c.n_expert);
        plan.items.push_back({&m.router, plan.total, true, 0.f, spread});
        plan.total += e * c.n_expert * 4;
        if (c.n_ff_shexp > 0) {
            m.shexp_gate = make_view(b + "ffn_gate_inp_shexp", DType::f32, e, 1);
            plan.items.push_back({&m.shexp_gate, plan.total, true, 0.f, spread});
            plan.total += e * 4;
        }
        plan.total = detail::align_up(plan.total);
        auto experts = [&](TensorView& v, const std::string& name, int64_t cols, int64_t rows) {
            matrix(v, name, cols, rows * c.n_expert);
            v.ne = {cols, rows, c.n_expert, 1};
            v.n_dims = 3;
        };
        experts(m.gate_exps, b + "ffn_gate_exps", e, c.n_ff_exp);
        experts(m.up_exps, b + "ffn_up_exps", e, c.n_ff_exp);
        experts(m.down_exps, b + "ffn_down_exps", c.n_ff_exp, e);
        if (c.n_ff_shexp > 0) {
            matrix(m.shexp.gate, b + "ffn_gate_shexp", e, c.n_ff_shexp);
            matrix(m.shexp.up, b + "ffn_up_shexp", e, c.n_ff_shexp);
            matrix(m.shexp.down, b + "ffn_down_shexp", c.n_ff_shexp, e);
        }
    }
    return plan;
}

inline void check_type(DType t) {
    GDN_CHECK(t != DType::f32 && dtype_supported(static_cast<uint32_t>(t)), "random_device_weights: weight type ",
              dtype_name(t), " is not a 16-bit or block format gdn reads");
}

// RMS of a block format's values over uniform random bytes, per unit of its scale fields (every
// f16 field 1, every e8m0 exponent 2^0), measured on the host over 256 blocks.
inline double unit_rms(DType t) {
    return dispatch_format(t, [&](auto tag) {
        using F = decltype(tag);
        std::vector<uint8_t> raw(256 * static_cast<size_t>(F::block_bytes));
        uint64_t st = 0x9E3779B97F4A7C15ull;
        for (auto& b : raw) b = static_cast<uint8_t>((st = mix64(st)) >> 56);
        for (size_t o = 0; o < raw.size(); o += F::block_bytes) {
            for (int f : F::f16_fields) raw[o + f] = 0x00, raw[o + f + 1] = 0x3c;   // f16 1.0
            for (int f : F::e8m0_fields) raw[o + f] = 127;
        }
        std::vector<float> v(256 * static_cast<size_t>(F::block_elems));
        dequantize_row(F::dtype, reinterpret_cast<const std::byte*>(raw.data()), v.data(), static_cast<int64_t>(v.size()));
        double ss = 0;
        for (float x : v) ss += double(x) * x;
        return std::sqrt(ss / double(v.size()));
    });
}

/// Fill one [cols, rows] matrix region of type t: element std ~ 1/sqrt(cols).
inline void fill_region(std::byte* base, const Plan::Region& r, uint64_t seed, cudaStream_t stream) {
    const float inv = 1.f / std::sqrt(float(r.cols));
    const int64_t elems = r.cols * r.rows;
    if (r.type == DType::bf16 || r.type == DType::f16) {
        const float amp = 1.7320508f * inv;  // uniform [-a, a): std a / sqrt(3)
        if (r.type == DType::bf16)
            fill_half_kernel<<<fill_grid(elems), 256, 0, stream>>>(reinterpret_cast<__nv_bfloat16*>(base + r.offset),
                                                                  elems, amp, seed);
        else
            fill_half_kernel<<<fill_grid(elems), 256, 0, stream>>>(reinterpret_cast<__half*>(base + r.offset),
                                                                  elems, amp, seed);
        GDN_CHECK_LAUNCH("random weights: fill_half_kernel");
        return;
    }
    const DTypeTraits tr = dtype_traits(r.type);
    const int64_t n_blocks = elems / tr.block_elems;
    const int64_t bytes = n_blocks * tr.block_bytes;
    // The region starts 256-aligned; its last partial granule is inside the aligned end.
    const int64_t n16 = (bytes + 15) / 16;
    fill_bytes_kernel<<<fill_grid(n16), 256, 0, stream>>>(reinterpret_cast<uint4*>(base + r.offset), n16, seed);
    GDN_CHECK_LAUNCH("random weights: fill_bytes_kernel");
    // Element std per unit of d, from the quant distribution of uniform random bytes:
    //   q8_0: int8 uniform            -> std 73.9 d
    //   q4_0: (nibble - 8)            -> std 4.6 d (mean -0.5 d)
    //   q4_k: d*sc*q - dmin*m, sc, m in 0..63, q in 0..15, dmin = 7.5 d (centres the mean)
    //                                 -> std ~260 d
    //   q6_k: d*sc*(q - 32), sc int8, q in 0..63 -> std ~1370 d
    //   others: the RMS per unit scale measured by unit_rms (every field the same d; mins not
    //   centred, so the mean may be a sizeable part of the RMS)
    float per_d = 1.f, ratio = 1.f;
    switch (r.type) {
        case DType::q8_0: per_d = 73.9f; break;
        case DType::q4_0: per_d = 4.6f; break;
        case DType::q4_k: per_d = 260.f; ratio = 7.5f; break;
        case DType::q6_k: per_d = 1370.f; break;
        default: per_d = static_cast<float>(unit_rms(r.type));
    }
    ScaleFields f;
    int e8m0 = 127;
    float d = inv / per_d;
    dispatch_format(r.type, [&](auto tag) {
        using F = decltype(tag);
        static_assert(F::f16_fields.size() <= 4 && F::e8m0_fields.size() <= 2, "ScaleFields holds them");
        for (int o : F::f16_fields) f.f16[f.n_f16++] = o;
        for (int o : F::e8m0_fields) f.e8m0[f.n_e8m0++] = o;
    });
    if (f.n_e8m0 > 0 && f.n_f16 == 0) {   // a power of two within 2x of d
        e8m0 = 127 + static_cast<int>(std::floor(std::log2(d)));
        d = 0.f;
    }
    set_scales_kernel<<<fill_grid(n_blocks), 256, 0, stream>>>(reinterpret_cast<uint8_t*>(base + r.offset), n_blocks,
                                                              int(tr.block_bytes), f, d, ratio, e8m0, mix64(seed + 1));
    GDN_CHECK_LAUNCH("random weights: set_scales_kernel");
}

}  // namespace random_detail

/// Bytes of the device allocation random_device_weights(c, weight_type, ...) makes.
inline int64_t random_weights_bytes(const ModelConfig& c, DType weight_type) {
    random_detail::check_type(weight_type);
    ModelWeights w;
    w.config = c;
    return random_detail::plan_weights(w, weight_type).total;
}

/// A random-weight model of shape c with every matrix (embedding and LM head included) in
/// weight_type (f16, bf16 or any block format), on the device, laid out as
/// upload_weights lays out a loaded one: pass it to a decoder with WeightsOn::device.
/// The returned ModelWeights owns the allocation through `storage` (keep it alive while a
/// decoder uses it). Same seed, same bytes. Synchronous.
inline ModelWeights random_device_weights(const ModelConfig& c, DType weight_type, uint64_t seed,
                                          cudaStream_t stream = nullptr) {
    c.validate();
    random_detail::check_type(weight_type);
    GDN_CHECK(c.n_embd % 256 == 0 && c.n_ff % 256 == 0 && (c.ssm_n_v_heads * c.ssm_d_v) % 256 == 0 &&
                  (c.n_head * c.head_dim) % 256 == 0 && c.n_ff_exp % 256 == 0 && c.n_ff_shexp % 256 == 0,
              "random_device_weights: every matrix width must be a multiple of 256 (n_embd ", c.n_embd, ", n_ff ",
              c.n_ff, ", n_ff_exp ", c.n_ff_exp, ", n_ff_shexp ", c.n_ff_shexp, ")");
    ModelWeights w;
    w.config = c;
    random_detail::Plan plan = random_detail::plan_weights(w, weight_type);
    void* raw = nullptr;
    GDN_CUDA_CHECK(cudaMalloc(&raw, static_cast<size_t>(plan.total)));
    std::shared_ptr<const void> storage(raw, [](const void* p) { cudaFree(const_cast<void*>(p)); });
    auto* base = static_cast<std::byte*>(raw);
    uint64_t tensor = 0;
    for (const random_detail::Plan::Region& r : plan.regions)
        random_detail::fill_region(base, r, random_detail::mix64(seed * 0x100000001B3ull + ++tensor), stream);
    for (const random_detail::Plan::Item& it : plan.items) {
        it.view->data = base + it.offset;
        if (!it.f32) continue;
        const int64_t n = it.view->elems();
        random_detail::fill_f32_kernel<<<random_detail::fill_grid(n), 256, 0, stream>>>(
            reinterpret_cast<float*>(base + it.offset), n, it.center, it.spread,
            random_detail::mix64(seed * 0x100000001B3ull + ++tensor));
        GDN_CHECK_LAUNCH("random weights: fill_f32_kernel");
    }
    if (c.tied_embeddings) w.output = w.tok_embd;
    w.output.name = c.tied_embeddings ? "token_embd (tied output)" : w.output.name;
    GDN_CUDA_CHECK(cudaStreamSynchronize(stream));
    w.storage = std::move(storage);
    return w;
}

}  // namespace gdn::cuda

// Runtime type dispatch: id -> tag mapping, errors naming the bad id / n, and the row
// helpers against per-block decoding and a naive double dot product.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/dispatch.hpp"

using gdn::DType;

namespace {

const DType kAll[] = {DType::f32, DType::f16, DType::bf16, DType::q8_0,
                      DType::q4_0, DType::q4_k, DType::q6_k};

// Random bytes for a row, with every f16 scale field overwritten by a moderate value so
// the decoded numbers are finite. Offsets of the scale fields per block follow ggml.
std::vector<std::byte> random_row_bytes(DType t, int64_t n, std::mt19937& rng) {
    const auto tr = gdn::dtype_traits(t);
    std::vector<std::byte> row(static_cast<size_t>(gdn::dtype_row_bytes(t, n)));
    std::uniform_int_distribution<int> byte(0, 255), e(8, 16), m(0, 1023), s(0, 1);
    for (auto& b : row) b = static_cast<std::byte>(byte(rng));
    auto f16 = [&] { return static_cast<uint16_t>((s(rng) << 15) | (e(rng) << 10) | m(rng)); };
    auto put = [&](size_t off) {
        const uint16_t h = f16();
        std::memcpy(row.data() + off, &h, 2);
    };
    for (int64_t i = 0; i < n / tr.block_elems; ++i) {
        const size_t base = static_cast<size_t>(i * tr.block_bytes);
        switch (t) {
            case DType::f32: {
                std::normal_distribution<float> nd;
                const float v = nd(rng);
                std::memcpy(row.data() + base, &v, 4);
                break;
            }
            case DType::f16: put(base); break;
            case DType::bf16: {  // sign, exponent 120..134, random mantissa
                const uint16_t h = static_cast<uint16_t>((s(rng) << 15) | ((120 + e(rng) - 8) << 7) | (m(rng) & 127));
                std::memcpy(row.data() + base, &h, 2);
                break;
            }
            case DType::q8_0: case DType::q4_0: put(base); break;
            case DType::q4_k: put(base); put(base + 2); break;
            case DType::q6_k: put(base + 208); break;
            default: break;  // kAll lists the formats this test fills
        }
    }
    return row;
}

std::string thrown_message(auto&& f) {
    try {
        f();
    } catch (const gdn::Error& e) {
        return e.what();
    }
    return "<no gdn::Error thrown>";
}

}  // namespace

TEST_CASE("every supported ggml id maps to its format tag", "[quant][dispatch]") {
    const std::pair<uint32_t, DType> ids[] = {{0, DType::f32}, {1, DType::f16}, {2, DType::q4_0},
                                              {8, DType::q8_0}, {12, DType::q4_k},
                                              {14, DType::q6_k}, {30, DType::bf16}};
    for (auto [id, want] : ids) {
        const DType t = gdn::dtype_from_id(id, "test");
        REQUIRE(t == want);
        const uint32_t tag_id = gdn::dispatch_format(t, [](auto tag) {
            return static_cast<uint32_t>(decltype(tag)::dtype);
        });
        REQUIRE(tag_id == id);
        const auto [elems, bytes] = gdn::dispatch_format(t, [](auto tag) {
            using F = decltype(tag);
            return std::pair<int, int>{F::block_elems, F::block_bytes};
        });
        REQUIRE(elems == gdn::dtype_traits(t).block_elems);
        REQUIRE(bytes == gdn::dtype_traits(t).block_bytes);
    }
    STATIC_REQUIRE(std::is_same_v<gdn::q8_0::block_type, gdn::quant::BlockQ8_0>);
    STATIC_REQUIRE(std::is_same_v<gdn::q6_k::block_type, gdn::quant::BlockQ6K>);
    STATIC_REQUIRE(std::is_same_v<gdn::bf16::block_type, uint16_t>);
    STATIC_REQUIRE(std::is_empty_v<gdn::q4_k>);
    STATIC_REQUIRE(!gdn::QuantFormat<int>);
}

TEST_CASE("unsupported ids and types raise gdn::Error naming the id", "[quant][dispatch]") {
    for (uint32_t id : {4u, 5u, 31u, 33u, 36u, 1000u}) {  // ids ggml retired, and one past its list
        const std::string msg = thrown_message([&] { (void)gdn::dtype_from_id(id, "tensor 'x.weight'"); });
        INFO(msg);
        CHECK(msg.find("unsupported ggml type id " + std::to_string(id)) != std::string::npos);
        CHECK(msg.find("tensor 'x.weight'") != std::string::npos);
        const std::string msg2 = thrown_message([&] {
            gdn::dispatch_format(static_cast<DType>(id), [](auto) {});
        });
        INFO(msg2);
        CHECK(msg2.find(std::to_string(id)) != std::string::npos);
        float out[32];
        std::byte in[64] = {};
        const std::string msg3 = thrown_message([&] {
            gdn::dequantize_row(static_cast<DType>(id), in, out, 32);
        });
        CHECK(msg3.find(std::to_string(id)) != std::string::npos);
    }
}

TEST_CASE("row helpers reject n that is not a multiple of the block", "[quant][dispatch]") {
    std::vector<std::byte> in(4096);
    std::vector<float> out(1024), x(1024, 1.f);
    const std::string m1 = thrown_message([&] { gdn::dequantize_row(DType::q8_0, in.data(), out.data(), 48); });
    INFO(m1);
    CHECK(m1.find("48") != std::string::npos);
    CHECK(m1.find("q8_0") != std::string::npos);
    const std::string m2 = thrown_message([&] { gdn::dot_row(DType::q4_k, in.data(), x.data(), 128); });
    INFO(m2);
    CHECK(m2.find("128") != std::string::npos);
    CHECK(m2.find("q4_k") != std::string::npos);
    CHECK_THROWS_AS(gdn::dequantize_row(DType::q6_k, in.data(), out.data(), 300), gdn::Error);
    CHECK_THROWS_AS(gdn::dequantize_row(DType::q4_0, in.data(), out.data(), -32), gdn::Error);
    CHECK_NOTHROW(gdn::dequantize_row(DType::f16, in.data(), out.data(), 7));
}

TEST_CASE("dequantize_row decodes block by block; dot_row matches a naive dot",
          "[quant][dispatch]") {
    std::mt19937 rng(2024);
    for (DType t : kAll) {
        for (int64_t n : {256, 1024, 4096}) {
            std::vector<std::byte> row = random_row_bytes(t, n, rng);
            // an odd byte offset: rows of a mapped file need not be aligned
            std::vector<std::byte> shifted(row.size() + 1);
            std::memcpy(shifted.data() + 1, row.data(), row.size());
            std::vector<float> v(n, NAN);
            gdn::dequantize_row(t, shifted.data() + 1, v.data(), n);

            const auto tr = gdn::dtype_traits(t);
            gdn::dispatch_format(t, [&](auto tag) {
                using F = decltype(tag);
                std::vector<float> blk(F::block_elems);
                for (int64_t i = 0; i < n / tr.block_elems; ++i) {
                    typename F::block_type b;
                    std::memcpy(&b, row.data() + i * tr.block_bytes, sizeof b);
                    gdn::dequantize_block<F>(b, blk.data());
                    for (int j = 0; j < F::block_elems; ++j) {
                        REQUIRE(v[i * F::block_elems + j] == blk[j]);
                    }
                }
            });

            std::normal_distribution<float> nd;
            std::vector<float> x(n);
            for (float& xi : x) xi = nd(rng);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; ++i) {
                REQUIRE(std::isfinite(v[i]));
                want += static_cast<double>(v[i]) * x[i];
                mag += std::fabs(static_cast<double>(v[i]) * x[i]);
            }
            const float got = gdn::dot_row(t, shifted.data() + 1, x.data(), n);
            // float within a block (<= 256 terms), double across, float result
            const double tol = 2e-6 * mag;
            INFO(gdn::dtype_name(t) << " n=" << n << " got " << got << " want " << want
                                    << " rel err " << std::fabs(got - want) / mag);
            REQUIRE(std::fabs(got - want) <= tol);
        }
    }
}

// Every format of gdn::all_formats against an outside truth: the blocks and values of
// tests/data/quant/<name>.{blocks,f32}, made by tools/make_quant_vectors.py with llama.cpp's own
// numpy dequantisers (the `gguf` PyPI package). Checks dequantize_row, the per-block and per-run
// decoders, and dot_row against a float64 dot product of gguf's values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "quant_test_util.hpp"

namespace {

using quant_test::read_all;

}  // namespace

TEMPLATE_LIST_TEST_CASE("every format decodes as gguf's numpy dequantiser does", "[quant][vectors]",
                        gdn::all_formats) {
    using F = TestType;
    const std::string name(gdn::dtype_name(F::dtype));
    const std::string base = std::string(GDN_TEST_DATA_DIR) + "/quant/" + name;
    const std::vector<char> raw = read_all(base + ".blocks");
    const std::vector<char> vals = read_all(base + ".f32");
    REQUIRE(raw.size() % F::unit_bytes == 0);
    const int64_t n = static_cast<int64_t>(raw.size()) / F::block_bytes * F::block_elems;
    REQUIRE(vals.size() == static_cast<size_t>(n) * sizeof(float));
    std::vector<float> want(static_cast<size_t>(n));
    std::memcpy(want.data(), vals.data(), vals.size());
    const auto* bytes = reinterpret_cast<const std::byte*>(raw.data());

    // dequantize_row (the reference's path) and decode8 run by run (every kernel's path)
    std::vector<float> got(static_cast<size_t>(n)), runs(static_cast<size_t>(n));
    gdn::dequantize_row(F::dtype, bytes, got.data(), n);
    const int64_t units = n / F::unit_elems;
    for (int64_t u = 0; u < units; ++u) {
        const auto* p = reinterpret_cast<const uint8_t*>(raw.data()) + u * F::unit_bytes;
        for (int r = 0; r < F::runs; ++r) {
            float q[8], scale, min;
            F::decode8(p, r, q, scale, min);
            if (!F::has_min) REQUIRE(min == 0.f);   // the kernels skip the min of such formats
            for (int j = 0; j < 8; ++j) runs[static_cast<size_t>(u * F::unit_elems + 8 * r + j)] = scale * q[j] - min;
        }
    }
    // gguf computes d * q - m in float32 in the same order: allow one rounding of the unit's scale
    double max_err = 0.0, max_rel = 0.0;
    for (int64_t u = 0; u < units; ++u) {
        float unit_max = 0.f;
        for (int j = 0; j < F::unit_elems; ++j) unit_max = std::max(unit_max, std::fabs(want[static_cast<size_t>(u * F::unit_elems + j)]));
        for (int j = 0; j < F::unit_elems; ++j) {
            const size_t i = static_cast<size_t>(u * F::unit_elems + j);
            const double e = std::max(std::fabs(double(got[i]) - want[i]), std::fabs(double(runs[i]) - want[i]));
            max_err = std::max(max_err, e);
            if (unit_max > 0.f) max_rel = std::max(max_rel, e / unit_max);
        }
    }
    std::printf("%-8s %6lld values: max |gdn - gguf| = %.3g (%.3g of the block's max |v|)\n", name.c_str(),
                static_cast<long long>(n), max_err, max_rel);
    CHECK(max_rel <= 1.2e-7);   // 2^-23: one float32 rounding

    // dot_row: float within blocks, double across, against float64 over gguf's values
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = nd(rng);
    const int64_t row = std::min<int64_t>(n, 4096);
    for (int64_t r0 = 0; r0 + row <= n; r0 += row) {
        double exact = 0.0, mag = 0.0;
        for (int64_t i = 0; i < row; ++i) {
            exact += double(want[static_cast<size_t>(r0 + i)]) * x[static_cast<size_t>(r0 + i)];
            mag += std::fabs(double(want[static_cast<size_t>(r0 + i)]) * x[static_cast<size_t>(r0 + i)]);
        }
        const auto* rp = bytes + r0 / F::block_elems * F::block_bytes;
        const float d = gdn::dot_row(F::dtype, rp, x.data() + r0, row);
        CHECK(std::fabs(d - exact) <= 1e-5 * mag);
    }
}

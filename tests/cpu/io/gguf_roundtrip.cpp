// GgufWriter -> GgufFile round trips: every metadata type, nested arrays, tensors of every
// supported dtype at several alignments, from a buffer and from an mmap'ed file.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "io_test_util.hpp"

using gdn::DType;
using gdn::io::GgufFile;
using gdn::io::GgufType;
using gdn::io::GgufWriter;

namespace {

template <class T>
std::vector<T> random_values(size_t n, std::mt19937_64& rng) {
    std::vector<T> v(n);
    for (auto&& x : v) {
        if constexpr (std::is_floating_point_v<T>) {
            x = static_cast<T>(std::uniform_real_distribution<double>(-1e6, 1e6)(rng));
        } else if constexpr (std::is_same_v<T, bool>) {
            x = (rng() & 1) != 0;
        } else {
            x = static_cast<T>(rng());
        }
    }
    return v;
}

bool message_has(const gdn::Error& e, const std::string& part) {
    return std::string(e.what()).find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("gguf round trip: every scalar type keeps its value and type", "[io][gguf]") {
    GgufWriter w;
    w.add_u8("t.u8", 0xfe);
    w.add_i8("t.i8", -128);
    w.add_u16("t.u16", 0xbeef);
    w.add_i16("t.i16", -32768);
    w.add_u32("t.u32", 0xdeadbeefu);
    w.add_i32("t.i32", std::numeric_limits<int32_t>::min());
    w.add_u64("t.u64", 0xfedcba9876543210ull);
    w.add_i64("t.i64", std::numeric_limits<int64_t>::min() + 7);
    w.add_f32("t.f32", 1.0e-6f);
    w.add_f64("t.f64", -3.141592653589793);
    w.add_bool("t.true", true);
    w.add_bool("t.false", false);
    w.add_string("t.str", "qwen35");
    w.add_string("t.empty", "");
    w.add_string("t.utf8_nul", std::string("a\0b\xe2\x82\xac", 6));

    const GgufFile f = GgufFile::from_buffer(w.bytes());
    CHECK(f.version() == 3);
    CHECK(f.keys().size() == 15);
    CHECK(f.keys().front() == "t.u8");  // insertion order kept
    CHECK(f.get_u8("t.u8") == 0xfe);
    CHECK(f.get_i8("t.i8") == -128);
    CHECK(f.get_u16("t.u16") == 0xbeef);
    CHECK(f.get_i16("t.i16") == -32768);
    CHECK(f.get_u32("t.u32") == 0xdeadbeefu);
    CHECK(f.get_i32("t.i32") == std::numeric_limits<int32_t>::min());
    CHECK(f.get_u64("t.u64") == 0xfedcba9876543210ull);
    CHECK(f.get_i64("t.i64") == std::numeric_limits<int64_t>::min() + 7);
    CHECK(f.get_f32("t.f32") == 1.0e-6f);
    CHECK(f.get_f64("t.f64") == -3.141592653589793);
    CHECK(f.get_bool("t.true"));
    CHECK_FALSE(f.get_bool("t.false"));
    CHECK(f.get_string("t.str") == "qwen35");
    CHECK(f.get_string("t.empty").empty());
    CHECK(f.get_string("t.utf8_nul") == std::string("a\0b\xe2\x82\xac", 6));
    CHECK(f.type_of("t.f64") == GgufType::f64);

    // lenient accessors
    CHECK(f.get_int("t.u8") == 0xfe);
    CHECK(f.get_int("t.i16") == -32768);
    CHECK(f.get_int("t.u32") == 0xdeadbeefll);
    CHECK(f.get_int("t.i64") == std::numeric_limits<int64_t>::min() + 7);
    CHECK(f.get_float("t.f32") == static_cast<double>(1.0e-6f));
    CHECK(f.get_float("t.f64") == -3.141592653589793);
    CHECK_FALSE(f.find_int("t.absent").has_value());
    CHECK_FALSE(f.find<uint32_t>("t.absent").has_value());
    CHECK(f.find_u32("t.u32").value() == 0xdeadbeefu);
}

TEST_CASE("gguf typed getters name the key and both types when they disagree", "[io][gguf]") {
    GgufWriter w;
    w.add_f32("model.eps", 1e-6f);
    w.add_u64("model.big", 0x8000000000000000ull);
    w.add_array("model.heads", std::vector<int32_t>{1, 2, 3});
    w.add_string("model.name", "x");
    const GgufFile f = GgufFile::from_buffer(w.bytes());

    auto expect_error = [](auto&& fn, std::vector<std::string> parts) {
        try {
            fn();
            FAIL("no gdn::Error thrown");
        } catch (const gdn::Error& e) {
            INFO(e.what());
            for (const auto& p : parts) CHECK(message_has(e, p));
        }
    };
    expect_error([&] { (void)f.get_u32("model.eps"); }, {"model.eps", "f32", "u32"});
    expect_error([&] { (void)f.get_u32("model.missing"); }, {"model.missing", "missing"});
    expect_error([&] { (void)f.find<uint32_t>("model.eps"); }, {"model.eps", "f32", "u32"});
    expect_error([&] { (void)f.get_int("model.big"); }, {"model.big", "9223372036854775808"});
    expect_error([&] { (void)f.get_int("model.name"); }, {"model.name", "string", "integer"});
    expect_error([&] { (void)f.get_float("model.heads"); }, {"model.heads", "array"});
    expect_error([&] { (void)f.get_array<uint32_t>("model.heads"); }, {"model.heads", "i32", "u32"});
    expect_error([&] { (void)f.get_array<int32_t>("model.eps"); }, {"model.eps", "f32", "array"});
    expect_error([&] { (void)f.tensor("blk.0.attn_q.weight"); }, {"blk.0.attn_q.weight", "missing"});
}

TEST_CASE("gguf round trip: arrays of every type, empty arrays and nested string arrays", "[io][gguf]") {
    std::mt19937_64 rng(1234);
    const auto a_u8 = random_values<uint8_t>(37, rng);
    const auto a_i8 = random_values<int8_t>(5, rng);
    const auto a_u16 = random_values<uint16_t>(9, rng);
    const auto a_i16 = random_values<int16_t>(11, rng);
    const auto a_u32 = random_values<uint32_t>(13, rng);
    const auto a_i32 = random_values<int32_t>(1000, rng);
    const auto a_u64 = random_values<uint64_t>(3, rng);
    const auto a_i64 = random_values<int64_t>(7, rng);
    const auto a_f32 = random_values<float>(250, rng);
    const auto a_f64 = random_values<double>(17, rng);
    const auto a_bool = random_values<bool>(19, rng);
    std::vector<std::string> a_str;
    for (int i = 0; i < 300; ++i) a_str.push_back("tok" + std::to_string(rng() % 100000) + std::string(i % 5, 'x'));
    a_str.push_back("");

    GgufWriter w;
    w.add_array("a.u8", a_u8);
    w.add_array("a.i8", a_i8);
    w.add_array("a.u16", a_u16);
    w.add_array("a.i16", a_i16);
    w.add_array("a.u32", a_u32);
    w.add_array("a.i32", a_i32);
    w.add_array("a.u64", a_u64);
    w.add_array("a.i64", a_i64);
    w.add_array("a.f32", a_f32);
    w.add_array("a.f64", a_f64);
    w.add_array("a.bool", a_bool);
    w.add_array("a.str", a_str);
    w.add_array("a.empty", std::vector<uint32_t>{});
    const std::vector<std::vector<std::string>> nested{{"a", "bc"}, {}, {"def", "", "g"}};
    std::vector<gdn::io::GgufEncoded> inner;
    for (const auto& v : nested) inner.push_back(gdn::io::gguf_encode_array(v));
    w.add("a.nested", gdn::io::gguf_encode_array(GgufType::array, inner));
    // [[[1,2],[3]],[[4]]]: three levels
    std::vector<gdn::io::GgufEncoded> lvl2{
        gdn::io::gguf_encode_array(GgufType::array, {gdn::io::gguf_encode_array(std::vector<uint32_t>{1, 2}),
                                                     gdn::io::gguf_encode_array(std::vector<uint32_t>{3})}),
        gdn::io::gguf_encode_array(GgufType::array, {gdn::io::gguf_encode_array(std::vector<uint32_t>{4})})};
    w.add("a.deep", gdn::io::gguf_encode_array(GgufType::array, lvl2));

    const GgufFile f = GgufFile::from_buffer(w.bytes());
    CHECK(f.get_array<uint8_t>("a.u8") == a_u8);
    CHECK(f.get_array<int8_t>("a.i8") == a_i8);
    CHECK(f.get_array<uint16_t>("a.u16") == a_u16);
    CHECK(f.get_array<int16_t>("a.i16") == a_i16);
    CHECK(f.get_array<uint32_t>("a.u32") == a_u32);
    CHECK(f.get_array<int32_t>("a.i32") == a_i32);
    CHECK(f.get_array<uint64_t>("a.u64") == a_u64);
    CHECK(f.get_array<int64_t>("a.i64") == a_i64);
    CHECK(f.get_array<float>("a.f32") == a_f32);
    CHECK(f.get_array<double>("a.f64") == a_f64);
    CHECK(f.get_array<bool>("a.bool") == a_bool);
    CHECK(f.get_array<std::string>("a.str") == a_str);
    CHECK(f.get_array<uint32_t>("a.empty").empty());
    CHECK(f.get_array_value("a.empty").elem_type == GgufType::u32);

    const auto& nest = f.get_array_value("a.nested");
    REQUIRE(nest.elem_type == GgufType::array);
    REQUIRE(nest.count == nested.size());
    for (size_t i = 0; i < nested.size(); ++i) CHECK(nest.arrays[i].as<std::string>("a.nested") == nested[i]);

    const auto& deep = f.get_array_value("a.deep");
    REQUIRE(deep.arrays.size() == 2);
    CHECK(deep.arrays[0].arrays[0].as<uint32_t>("a.deep") == std::vector<uint32_t>{1, 2});
    CHECK(deep.arrays[0].arrays[1].as<uint32_t>("a.deep") == std::vector<uint32_t>{3});
    CHECK(deep.arrays[1].arrays[0].as<uint32_t>("a.deep") == std::vector<uint32_t>{4});
}

TEST_CASE("gguf round trip: tensors of every supported dtype at several alignments", "[io][gguf]") {
    const std::vector<DType> types{DType::f32, DType::f16, DType::bf16, DType::q4_0,
                                   DType::q8_0, DType::q4_k, DType::q6_k};
    for (uint32_t alignment : {32u, 1u, 64u, 4096u}) {
        std::mt19937_64 rng(alignment);
        GgufWriter w;
        if (alignment != 32) w.set_alignment(alignment);
        w.add_string("general.architecture", "test");
        struct Expected {
            std::string name;
            DType type;
            std::vector<int64_t> ne;
            std::vector<std::byte> data;
        };
        std::vector<Expected> expected;
        for (DType t : types) {
            const int64_t blk = gdn::dtype_traits(t).block_elems;
            const std::vector<std::vector<int64_t>> shapes{{blk * 3}, {blk * 2, 5}, {blk, 3, 2}, {blk * 2, 1, 2, 3}};
            for (size_t s = 0; s < shapes.size(); ++s) {
                int64_t rows = 1;
                for (size_t d = 1; d < shapes[s].size(); ++d) rows *= shapes[s][d];
                const auto bytes = static_cast<size_t>(gdn::dtype_row_bytes(t, shapes[s][0]) * rows);
                Expected e{std::string(gdn::dtype_name(t)) + ".s" + std::to_string(s), t, shapes[s],
                           gdn::test::random_bytes(bytes, rng)};
                w.add_tensor(e.name, e.type, e.ne, e.data);
                expected.push_back(std::move(e));
            }
        }
        const GgufFile f = GgufFile::from_buffer(w.bytes());
        INFO("alignment " << alignment);
        CHECK(f.alignment() == alignment);
        CHECK(f.data_offset() % alignment == 0);
        REQUIRE(f.n_tensors() == expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            const Expected& e = expected[i];
            const gdn::io::GgufTensorInfo& info = f.tensor_infos()[i];
            const gdn::TensorView& v = f.tensor(e.name);
            INFO(e.name);
            CHECK(&info.view == &v);
            CHECK(v.name == e.name);
            CHECK(v.type == e.type);
            CHECK(v.n_dims == static_cast<int>(e.ne.size()));
            for (int d = 0; d < 4; ++d) CHECK(v.ne[d] == (d < v.n_dims ? e.ne[d] : 1));
            CHECK(info.offset % alignment == 0);
            REQUIRE(static_cast<size_t>(v.bytes()) == e.data.size());
            CHECK(info.bytes == e.data.size());
            CHECK(v.data == f.bytes() + f.data_offset() + info.offset);
            CHECK(std::memcmp(v.data, e.data.data(), e.data.size()) == 0);
        }
    }
}

TEST_CASE("gguf reads version 2 files (same layout as v3 for little-endian)", "[io][gguf]") {
    std::mt19937_64 rng(7);
    GgufWriter w;
    w.set_version(2);
    w.add_u32("k", 5);
    const auto data = gdn::test::random_bytes(64 * 4, rng);
    w.add_tensor("t", DType::f32, {64}, data);
    const GgufFile f = GgufFile::from_buffer(w.bytes());
    CHECK(f.version() == 2);
    CHECK(f.get_u32("k") == 5);
    CHECK(std::memcmp(f.tensor("t").data, data.data(), data.size()) == 0);
}

TEST_CASE("gguf open() maps a file; its storage outlives the GgufFile", "[io][gguf]") {
    std::mt19937_64 rng(99);
    GgufWriter w;
    w.add_string("general.architecture", "test");
    const auto data = gdn::test::random_bytes(gdn::dtype_row_bytes(DType::q8_0, 64) * 3, rng);
    w.add_tensor("w", DType::q8_0, {64, 3}, data);
    gdn::test::TempPath path("open.gguf");
    w.write(path.str());

    std::shared_ptr<const void> keep;
    const std::byte* ptr = nullptr;
    {
        const GgufFile f = GgufFile::open(path.str());
        CHECK(f.get_string("general.architecture") == "test");
        const gdn::TensorView& t = f.tensor("w");
        CHECK(t.rows() == 3);
        REQUIRE(std::memcmp(t.data, data.data(), data.size()) == 0);
        keep = f.storage();
        ptr = t.data;
    }
    REQUIRE(keep != nullptr);
    CHECK(std::memcmp(ptr, data.data(), data.size()) == 0);  // still mapped

    try {
        (void)GgufFile::open(path.str() + ".absent");
        FAIL("no error");
    } catch (const gdn::Error& e) {
        CHECK(message_has(e, ".absent"));
    }
}

TEST_CASE("gguf view_bytes borrows the caller's buffer", "[io][gguf]") {
    GgufWriter w;
    w.add_u16("x", 3);
    const auto b = w.bytes();
    const GgufFile f = GgufFile::view_bytes(b);
    CHECK(f.bytes() == b.data());
    CHECK(f.storage() == nullptr);
    CHECK(f.get_u16("x") == 3);
    CHECK(f.n_tensors() == 0);
}

// Malformed GGUF input: every case must raise gdn::Error whose message names the key or tensor
// and the offending value; nothing may crash or read past the buffer (run under ASan to see).
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "io_test_util.hpp"

using gdn::DType;
using gdn::io::GgufEncoded;
using gdn::io::GgufFile;
using gdn::io::GgufType;
using gdn::io::GgufWriter;

namespace {

/// Parse `bytes` (owned copy, exact size) and return the error message; fails the test if it parses.
std::string parse_error(std::vector<std::byte> bytes) {
    try {
        (void)GgufFile::from_buffer(std::move(bytes));
    } catch (const gdn::Error& e) {
        return e.what();
    }
    FAIL("parsed without a gdn::Error");
    return {};
}

void require_parts(const std::string& msg, const std::vector<std::string>& parts) {
    INFO("message: " << msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
}

template <class T>
void patch(std::vector<std::byte>& b, size_t at, T v) {
    REQUIRE(at + sizeof(T) <= b.size());
    std::memcpy(b.data() + at, &v, sizeof(T));
}

std::vector<std::byte> f32_data(int64_t n, std::mt19937_64& rng) {
    return gdn::test::random_bytes(static_cast<size_t>(n) * 4, rng);
}

/// A small valid file with metadata of several kinds and three tensors.
GgufWriter sample_writer(std::mt19937_64& rng) {
    GgufWriter w;
    w.add_string("general.architecture", "qwen35");
    w.add_u32("qwen35.block_count", 2);
    w.add_f32("qwen35.attention.layer_norm_rms_epsilon", 1e-6f);
    w.add_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "bb", "ccc"});
    w.add_array("tokenizer.ggml.token_type", std::vector<int32_t>{1, 2, 3});
    w.add_tensor("token_embd.weight", DType::f32, {32, 3}, f32_data(96, rng));
    w.add_tensor("blk.0.ffn_up.weight", DType::q8_0, {64, 2},
                 gdn::test::random_bytes(gdn::dtype_row_bytes(DType::q8_0, 64) * 2, rng));
    w.add_tensor("output_norm.weight", DType::f32, {32}, f32_data(32, rng));
    return w;
}

}  // namespace

TEST_CASE("gguf malformed: truncation at every offset raises gdn::Error", "[io][gguf][malformed]") {
    std::mt19937_64 rng(11);
    const std::vector<std::byte> full = sample_writer(rng).bytes();
    const GgufFile ok = GgufFile::from_buffer(full);
    uint64_t data_end = 0;
    for (const auto& t : ok.tensor_infos()) data_end = std::max(data_end, ok.data_offset() + t.offset + t.bytes);
    REQUIRE(data_end == full.size());  // the writer does not pad after the last tensor

    size_t n_checked = 0;
    for (size_t cut = 0; cut < full.size(); ++cut) {
        std::vector<std::byte> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
        try {
            (void)GgufFile::from_buffer(std::move(prefix));
            FAIL("prefix of " << cut << " bytes parsed");
        } catch (const gdn::Error& e) {
            const std::string m = e.what();
            INFO("cut " << cut << ": " << m);
            CHECK(m.rfind("gguf", 0) == 0);
            CHECK((m.find("truncated") != std::string::npos || m.find("past the end") != std::string::npos ||
                   m.find("exceeds") != std::string::npos || m.find("cannot fit") != std::string::npos));
            ++n_checked;
        }
    }
    CHECK(n_checked == full.size());
    WARN("truncations checked: " << n_checked);
}

TEST_CASE("gguf malformed: empty input and bad magic", "[io][gguf][malformed]") {
    require_parts(parse_error({}), {"truncated", "need 4 bytes", "0 bytes"});
    std::mt19937_64 rng(12);
    auto b = sample_writer(rng).bytes();
    b[3] = std::byte{'X'};
    require_parts(parse_error(b), {"bad magic", "47 47 55 58"});
}

TEST_CASE("gguf malformed: unsupported versions", "[io][gguf][malformed]") {
    std::mt19937_64 rng(13);
    const auto good = sample_writer(rng).bytes();
    for (uint32_t v : {0u, 1u, 4u, 0xffffffffu}) {
        auto b = good;
        patch<uint32_t>(b, 4, v);
        require_parts(parse_error(b), {"unsupported version " + std::to_string(v)});
    }
    auto b = good;
    patch<uint32_t>(b, 4, 0x03000000u);
    require_parts(parse_error(b), {"unsupported version 50331648", "big-endian"});
}

TEST_CASE("gguf malformed: absurd counts and lengths", "[io][gguf][malformed]") {
    std::mt19937_64 rng(14);
    const auto good = sample_writer(rng).bytes();
    {
        auto b = good;
        patch<uint64_t>(b, 8, 1000000000000000ull);
        require_parts(parse_error(b), {"n_tensors = 1000000000000000", "cannot fit"});
    }
    {
        auto b = good;
        patch<uint64_t>(b, 16, 0xffffffffffffffffull);
        require_parts(parse_error(b), {"n_kv = 18446744073709551615", "cannot fit"});
    }
    {
        auto b = good;
        patch<uint64_t>(b, 24, uint64_t{1} << 62);  // length of the first key
        require_parts(parse_error(b), {"string length 4611686018427387904", "key"});
    }
    {
        GgufWriter w;
        w.add_array("tokenizer.ggml.scores", std::vector<float>{1.f, 2.f, 3.f});
        auto b = w.bytes();
        const size_t count_at = 24 + 8 + std::strlen("tokenizer.ggml.scores") + 4 + 4;
        patch<uint64_t>(b, count_at, uint64_t{1} << 61);
        require_parts(parse_error(b), {"tokenizer.ggml.scores", "array length 2305843009213693952", "f32"});
    }
    {
        GgufWriter w;
        w.add_array("tokenizer.ggml.merges", std::vector<std::string>{"a b", "c d"});
        auto b = w.bytes();
        const size_t first_item_len_at = 24 + 8 + std::strlen("tokenizer.ggml.merges") + 4 + 4 + 8;
        patch<uint64_t>(b, first_item_len_at, 1000000);
        require_parts(parse_error(b), {"tokenizer.ggml.merges", "item 0", "string length 1000000"});
    }
}

TEST_CASE("gguf malformed: bad metadata values", "[io][gguf][malformed]") {
    {
        GgufWriter w;
        w.add("weird.key", GgufEncoded{static_cast<GgufType>(13), {std::byte{0}, std::byte{0}}});
        require_parts(parse_error(w.bytes()), {"weird.key", "unknown value type 13"});
    }
    {
        GgufWriter w;
        GgufEncoded arr{GgufType::array, {}};
        gdn::io::detail::append_le<uint32_t>(arr.bytes, 77);
        gdn::io::detail::append_le<uint64_t>(arr.bytes, 0);
        w.add("odd.array", arr);
        require_parts(parse_error(w.bytes()), {"odd.array", "unknown value type 77"});
    }
    {
        GgufWriter w;
        w.add("flag", GgufEncoded{GgufType::boolean, {std::byte{2}}});
        require_parts(parse_error(w.bytes()), {"flag", "bool value 2"});
    }
    {
        GgufWriter w;
        w.add_u32("dup.key", 1);
        w.add_u32("dup.key", 2);
        require_parts(parse_error(w.bytes()), {"duplicate key 'dup.key'"});
    }
    {
        GgufEncoded e = gdn::io::gguf_encode_array(std::vector<uint8_t>{1});
        for (int i = 0; i < 9; ++i) e = gdn::io::gguf_encode_array(GgufType::array, {e});
        GgufWriter w;
        w.add("deep.array", e);
        require_parts(parse_error(w.bytes()), {"deep.array", "nested deeper than 8"});
    }
    {
        GgufWriter w;
        w.add_u32("", 1);
        require_parts(parse_error(w.bytes()), {"key number 0 is empty"});
    }
}

TEST_CASE("gguf malformed: bad general.alignment", "[io][gguf][malformed]") {
    std::mt19937_64 rng(15);
    for (uint32_t a : {0u, 3u, 48u, 0x80000000u}) {
        GgufWriter w;
        w.add_u32("general.alignment", a);
        w.add_tensor("t", DType::f32, {8}, f32_data(8, rng));
        require_parts(parse_error(w.bytes()), {"general.alignment = " + std::to_string(a), "power of two"});
    }
    GgufWriter w;
    w.add_string("general.alignment", "32");
    require_parts(parse_error(w.bytes()), {"general.alignment", "string", "u32"});
}

TEST_CASE("gguf malformed: tensor dims", "[io][gguf][malformed]") {
    std::mt19937_64 rng(16);
    auto with_tensor = [&](std::vector<int64_t> ne, uint32_t type = 0) {
        GgufWriter w;
        w.add_tensor("ok.weight", DType::f32, {32}, f32_data(32, rng));
        w.add_raw_tensor("blk.3.bad.weight", type, std::move(ne), f32_data(64, rng));
        return w.bytes();
    };
    require_parts(parse_error(with_tensor({})), {"blk.3.bad.weight", "n_dims = 0"});
    require_parts(parse_error(with_tensor({32, 1, 1, 1, 1})), {"blk.3.bad.weight", "n_dims = 5"});
    require_parts(parse_error(with_tensor({32, 0})), {"blk.3.bad.weight", "ne[1] = 0"});
    require_parts(parse_error(with_tensor({32, 2, -4})), {"blk.3.bad.weight", "ne[2] = -4"});
    require_parts(parse_error(with_tensor({int64_t{1} << 40, int64_t{1} << 40})),
                  {"blk.3.bad.weight", "overflows", "ne[1] = 1099511627776"});
    require_parts(parse_error(with_tensor({int64_t{1} << 61, 2})), {"blk.3.bad.weight", "byte size overflows"});
    require_parts(parse_error(with_tensor({33, 2}, 8)), {"blk.3.bad.weight", "ne[0] = 33", "q8_0", "32"});
    require_parts(parse_error(with_tensor({32}, 9)), {"blk.3.bad.weight", "ggml type q8_1", "unsupported ggml type id 9"});
    require_parts(parse_error(with_tensor({32}, 4000)), {"blk.3.bad.weight", "ggml type unknown", "type id 4000"});
    require_parts(parse_error(with_tensor({65}, 0)), {"blk.3.bad.weight", "260", "past the end"});  // has 256 B
}

TEST_CASE("gguf malformed: tensor placement", "[io][gguf][malformed]") {
    std::mt19937_64 rng(17);
    {
        GgufWriter w;
        w.add_tensor("a.weight", DType::f32, {16}, f32_data(16, rng));
        w.add_tensor("a.weight", DType::f32, {16}, f32_data(16, rng));
        require_parts(parse_error(w.bytes()), {"duplicate tensor 'a.weight'"});
    }
    {
        GgufWriter w;
        w.add_tensor("a.weight", DType::f32, {16}, f32_data(16, rng));
        w.add_raw_tensor("b.weight", 0, {16}, f32_data(16, rng), uint64_t{16});
        require_parts(parse_error(w.bytes()), {"b.weight", "offset 16", "alignment 32"});
    }
    {
        GgufWriter w;
        w.add_tensor("a.weight", DType::f32, {16}, f32_data(16, rng));
        w.add_raw_tensor("b.weight", 0, {16}, f32_data(16, rng), uint64_t{0});
        require_parts(parse_error(w.bytes()), {"'a.weight'", "'b.weight'", "overlap"});
    }
    {
        GgufWriter w;
        w.add_tensor("a.weight", DType::f32, {16}, f32_data(16, rng));
        w.add_raw_tensor("far.weight", 0, {16}, f32_data(16, rng), uint64_t{1} << 40);
        require_parts(parse_error(w.bytes()), {"far.weight", "1099511627776", "past the end"});
    }
    {
        GgufWriter w;  // data shorter than the dims say
        w.add_raw_tensor("short.weight", 0, {64, 2}, f32_data(100, rng));
        require_parts(parse_error(w.bytes()), {"short.weight", "512", "past the end"});
    }
    {
        GgufWriter w;  // offset near 2^64 must not wrap around the bounds check
        w.add_raw_tensor("wrap.weight", 0, {8}, f32_data(8, rng), ~uint64_t{31});
        require_parts(parse_error(w.bytes()), {"wrap.weight", "past the end"});
    }
    {
        GgufWriter w;
        w.add_raw_tensor("", 0, {8}, f32_data(8, rng));
        require_parts(parse_error(w.bytes()), {"tensor number 0 has an empty name"});
    }
}

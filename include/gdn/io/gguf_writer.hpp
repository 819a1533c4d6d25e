// gdn/io/gguf_writer.hpp - a small GGUF v3 writer: metadata of every type, tensors at aligned
// offsets. Tests use it to build valid and deliberately broken files (add_raw_tensor takes any
// dims, type id and offset, unchecked), tools to emit small models.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"

namespace gdn::io {

/// A metadata value already encoded as it sits in the file after its u32 type tag.
struct GgufEncoded {
    GgufType type = GgufType::u8;
    std::vector<std::byte> bytes;
};

namespace detail {
template <class T>
void append_le(std::vector<std::byte>& out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}
inline void append_string(std::vector<std::byte>& out, std::string_view s) {
    append_le<uint64_t>(out, s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
}
}  // namespace detail

/// Encode one scalar (uint8_t ... double, bool) or a string.
template <class T>
GgufEncoded gguf_encode(const T& v) {
    if constexpr (std::is_convertible_v<const T&, std::string_view> && !std::is_same_v<T, bool>) {
        GgufEncoded e{GgufType::string, {}};
        detail::append_string(e.bytes, std::string_view(v));
        return e;
    } else {
        static_assert(GgufTypeOf<T>::known, "gguf_encode: T has no GGUF type");
        GgufEncoded e{GgufTypeOf<T>::value, {}};
        if constexpr (std::is_same_v<T, bool>) {
            e.bytes.push_back(std::byte{v ? uint8_t{1} : uint8_t{0}});
        } else {
            detail::append_le<T>(e.bytes, v);
        }
        return e;
    }
}

/// Encode an array of scalars or strings.
template <class T>
GgufEncoded gguf_encode_array(const std::vector<T>& items) {
    using Item = std::conditional_t<std::is_convertible_v<const T&, std::string_view> && !std::is_same_v<T, bool>,
                                    std::string_view, T>;
    static_assert(GgufTypeOf<Item>::known, "gguf_encode_array: T has no GGUF type");
    GgufEncoded e{GgufType::array, {}};
    detail::append_le<uint32_t>(e.bytes, static_cast<uint32_t>(GgufTypeOf<Item>::value));
    detail::append_le<uint64_t>(e.bytes, items.size());
    for (const T& it : items) {
        GgufEncoded one = gguf_encode(static_cast<Item>(it));
        e.bytes.insert(e.bytes.end(), one.bytes.begin(), one.bytes.end());
    }
    return e;
}

/// Encode an array of already-encoded values of one type (e.g. an array of string arrays).
inline GgufEncoded gguf_encode_array(GgufType elem_type, const std::vector<GgufEncoded>& items) {
    GgufEncoded e{GgufType::array, {}};
    detail::append_le<uint32_t>(e.bytes, static_cast<uint32_t>(elem_type));
    detail::append_le<uint64_t>(e.bytes, items.size());
    for (const GgufEncoded& it : items) {
        GDN_CHECK(it.type == elem_type, "gguf writer: array item of type ", gguf_type_name(it.type),
                  " in an array of ", gguf_type_name(elem_type));
        e.bytes.insert(e.bytes.end(), it.bytes.begin(), it.bytes.end());
    }
    return e;
}

class GgufWriter {
public:
    /// Layout alignment, also recorded as general.alignment (u32). Without a call: 32, unrecorded.
    void set_alignment(uint32_t a) {
        GDN_CHECK(a > 0 && (a & (a - 1)) == 0, "gguf writer: alignment ", a, " is not a power of two");
        alignment_ = a;
        for (Kv& kv : kvs_) {
            if (kv.key == "general.alignment") {
                kv.value = gguf_encode(a);
                return;
            }
        }
        add("general.alignment", gguf_encode(a));
    }
    [[nodiscard]] uint32_t alignment() const { return alignment_; }

    /// Header version written (3; tests set others).
    void set_version(uint32_t v) { version_ = v; }

    /// Any encoded value; keys are written in call order, duplicates included.
    void add(std::string key, GgufEncoded value) { kvs_.push_back({std::move(key), std::move(value)}); }

    void add_u8(std::string k, uint8_t v) { add(std::move(k), gguf_encode(v)); }
    void add_i8(std::string k, int8_t v) { add(std::move(k), gguf_encode(v)); }
    void add_u16(std::string k, uint16_t v) { add(std::move(k), gguf_encode(v)); }
    void add_i16(std::string k, int16_t v) { add(std::move(k), gguf_encode(v)); }
    void add_u32(std::string k, uint32_t v) { add(std::move(k), gguf_encode(v)); }
    void add_i32(std::string k, int32_t v) { add(std::move(k), gguf_encode(v)); }
    void add_u64(std::string k, uint64_t v) { add(std::move(k), gguf_encode(v)); }
    void add_i64(std::string k, int64_t v) { add(std::move(k), gguf_encode(v)); }
    void add_f32(std::string k, float v) { add(std::move(k), gguf_encode(v)); }
    void add_f64(std::string k, double v) { add(std::move(k), gguf_encode(v)); }
    void add_bool(std::string k, bool v) { add(std::move(k), gguf_encode(v)); }
    void add_string(std::string k, std::string_view v) { add(std::move(k), gguf_encode(v)); }
    template <class T>
    void add_array(std::string k, const std::vector<T>& items) {
        add(std::move(k), gguf_encode_array(items));
    }

    /// A valid tensor: ne in ggml order (ne[0] contiguous), data exactly its byte size.
    void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::span<const std::byte> data) {
        GDN_CHECK(!ne.empty() && ne.size() <= 4, "gguf writer: tensor '", name, "' has ", ne.size(), " dims");
        const DTypeTraits tr = dtype_traits(type);
        int64_t rows = 1;
        for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
        GDN_CHECK(ne[0] > 0 && ne[0] % tr.block_elems == 0, "gguf writer: tensor '", name, "' ne[0] = ", ne[0],
                  " is not a positive multiple of ", tr.block_elems);
        const auto bytes = static_cast<size_t>(dtype_row_bytes(type, ne[0]) * rows);
        GDN_CHECK(data.size() == bytes, "gguf writer: tensor '", name, "' needs ", bytes, " bytes, got ",
                  data.size());
        add_raw_tensor(std::move(name), static_cast<uint32_t>(type), std::move(ne),
                       std::vector<std::byte>(data.begin(), data.end()));
    }

    /// Anything goes: the info is written as given; data is placed at the next aligned offset
    /// unless `offset` overrides the offset recorded in the info (the data is still placed).
    void add_raw_tensor(std::string name, uint32_t type_id, std::vector<int64_t> ne, std::vector<std::byte> data,
                        std::optional<uint64_t> offset = std::nullopt) {
        tensors_.push_back({std::move(name), type_id, std::move(ne), std::move(data), offset});
    }

    /// The whole file.
    [[nodiscard]] std::vector<std::byte> bytes() const {
        // Built from the magic bytes: an insert into the empty vector trips GCC 12's
        // -Wstringop-overflow false positive at -O3.
        std::vector<std::byte> out{std::byte{'G'}, std::byte{'G'}, std::byte{'U'}, std::byte{'F'}};
        detail::append_le<uint32_t>(out, version_);
        detail::append_le<uint64_t>(out, tensors_.size());
        detail::append_le<uint64_t>(out, kvs_.size());
        for (const Kv& kv : kvs_) {
            detail::append_string(out, kv.key);
            detail::append_le<uint32_t>(out, static_cast<uint32_t>(kv.value.type));
            out.insert(out.end(), kv.value.bytes.begin(), kv.value.bytes.end());
        }
        std::vector<uint64_t> placed;
        uint64_t at = 0;
        for (const Tensor& t : tensors_) {
            placed.push_back(at);
            at = align(at + t.data.size());
        }
        for (size_t i = 0; i < tensors_.size(); ++i) {
            const Tensor& t = tensors_[i];
            detail::append_string(out, t.name);
            detail::append_le<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
            for (int64_t n : t.ne) detail::append_le<int64_t>(out, n);
            detail::append_le<uint32_t>(out, t.type_id);
            detail::append_le<uint64_t>(out, t.offset.value_or(placed[i]));
        }
        out.resize(align(out.size()), std::byte{0});
        const size_t data_start = out.size();
        for (size_t i = 0; i < tensors_.size(); ++i) {
            out.resize(data_start + placed[i], std::byte{0});
            out.insert(out.end(), tensors_[i].data.begin(), tensors_[i].data.end());
        }
        return out;
    }

    void write(const std::string& path) const {
        const std::vector<std::byte> b = bytes();
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        GDN_CHECK(f.good(), "gguf writer: cannot open '", path, "' for writing");
        f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
        GDN_CHECK(f.good(), "gguf writer: failed writing '", path, "'");
    }

private:
    struct Kv {
        std::string key;
        GgufEncoded value;
    };
    struct Tensor {
        std::string name;
        uint32_t type_id;
        std::vector<int64_t> ne;
        std::vector<std::byte> data;
        std::optional<uint64_t> offset;
    };

    [[nodiscard]] uint64_t align(uint64_t x) const { return (x + alignment_ - 1) / alignment_ * alignment_; }

    uint32_t version_ = 3;
    uint32_t alignment_ = GgufFile::default_alignment;
    std::vector<Kv> kvs_;
    std::vector<Tensor> tensors_;
};

}  // namespace gdn::io

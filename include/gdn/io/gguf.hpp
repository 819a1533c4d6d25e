// gdn/io/gguf.hpp - a validating GGUF (v2/v3, little-endian) reader over an mmap'ed file or
// a byte buffer. Every tensor becomes a gdn::TensorView into the bytes; the GgufFile owns them
// (shared, so ModelWeights::storage can outlive the GgufFile).
//
// File layout (all little-endian):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv      x { string key | u32 value type | value }
//   n_tensors x { string name | u32 n_dims | n_dims x i64 ne | u32 ggml type | u64 offset }
//   padding to general.alignment (default 32) | tensor data (offsets relative to here)
// A string is u64 length + bytes (no terminator); an array is u32 elem type | u64 count | items.
//
// Every malformed input raises gdn::Error naming the key or tensor and the offending value; no
// read goes past the end of the bytes, and no allocation is larger than the input justifies.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/quant/dispatch.hpp"

namespace gdn::io {

static_assert(std::endian::native == std::endian::little,
              "gdn's GGUF reader maps little-endian files directly and needs a little-endian host");

/// GGUF metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

constexpr bool gguf_type_valid(uint32_t t) { return t <= 12; }

constexpr std::string_view gguf_type_name(GgufType t) {
    switch (t) {
        case GgufType::u8: return "u8";
        case GgufType::i8: return "i8";
        case GgufType::u16: return "u16";
        case GgufType::i16: return "i16";
        case GgufType::u32: return "u32";
        case GgufType::i32: return "i32";
        case GgufType::f32: return "f32";
        case GgufType::boolean: return "bool";
        case GgufType::string: return "string";
        case GgufType::array: return "array";
        case GgufType::u64: return "u64";
        case GgufType::i64: return "i64";
        case GgufType::f64: return "f64";
    }
    return "unknown";
}

/// Bytes of one scalar of type t; 0 for string and array.
constexpr size_t gguf_scalar_size(GgufType t) {
    switch (t) {
        case GgufType::u8: case GgufType::i8: case GgufType::boolean: return 1;
        case GgufType::u16: case GgufType::i16: return 2;
        case GgufType::u32: case GgufType::i32: case GgufType::f32: return 4;
        case GgufType::u64: case GgufType::i64: case GgufType::f64: return 8;
        case GgufType::string: case GgufType::array: return 0;
    }
    return 0;
}

constexpr bool gguf_type_is_integer(GgufType t) {
    switch (t) {
        case GgufType::u8: case GgufType::i8: case GgufType::u16: case GgufType::i16:
        case GgufType::u32: case GgufType::i32: case GgufType::u64: case GgufType::i64: return true;
        default: return false;
    }
}

/// The GGUF type that stores a C++ type T (void when there is none).
template <class T> struct GgufTypeOf { static constexpr bool known = false; };
#define GDN_GGUF_TYPE_OF(T, G) \
    template <> struct GgufTypeOf<T> { static constexpr bool known = true; static constexpr GgufType value = G; }
GDN_GGUF_TYPE_OF(uint8_t, GgufType::u8);
GDN_GGUF_TYPE_OF(int8_t, GgufType::i8);
GDN_GGUF_TYPE_OF(uint16_t, GgufType::u16);
GDN_GGUF_TYPE_OF(int16_t, GgufType::i16);
GDN_GGUF_TYPE_OF(uint32_t, GgufType::u32);
GDN_GGUF_TYPE_OF(int32_t, GgufType::i32);
GDN_GGUF_TYPE_OF(float, GgufType::f32);
GDN_GGUF_TYPE_OF(bool, GgufType::boolean);
GDN_GGUF_TYPE_OF(std::string, GgufType::string);
GDN_GGUF_TYPE_OF(std::string_view, GgufType::string);
GDN_GGUF_TYPE_OF(uint64_t, GgufType::u64);
GDN_GGUF_TYPE_OF(int64_t, GgufType::i64);
GDN_GGUF_TYPE_OF(double, GgufType::f64);
#undef GDN_GGUF_TYPE_OF

/// ggml's name for a tensor type id, including ids gdn does not support (for error messages).
constexpr std::string_view ggml_type_name(uint32_t id) {
    constexpr std::array<std::string_view, 40> names{
        "f32", "f16", "q4_0", "q4_1", "(removed q4_2)", "(removed q4_3)", "q5_0", "q5_1", "q8_0",
        "q8_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_k", "iq2_xxs", "iq2_xs", "iq3_xxs",
        "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m",
        "bf16", "(removed q4_0_4_4)", "(removed q4_0_4_8)", "(removed q4_0_8_8)", "tq1_0", "tq2_0",
        "(removed iq4_nl_4_4)", "(removed iq4_nl_4_8)", "(removed iq4_nl_8_8)", "mxfp4"};
    return id < names.size() ? names[id] : std::string_view("unknown");
}

namespace detail {

template <class T>
T load_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

/// Where a read happens, formatted only when it fails.
struct ReadContext {
    std::string_view kind;  // "header", "key", "tensor info"
    std::string_view name;  // key or tensor name once known
    int64_t index = -1;     // array element or tensor number

    [[nodiscard]] std::string str() const {
        std::string s(kind);
        if (!name.empty()) s += ::gdn::detail::concat(" '", name, "'");
        if (index >= 0) s += ::gdn::detail::concat(" (item ", index, ")");
        return s;
    }
};

class Cursor {
public:
    Cursor(const std::byte* base, size_t size) : base_(base), size_(size) {}

    [[nodiscard]] size_t pos() const { return pos_; }
    [[nodiscard]] size_t left() const { return size_ - pos_; }

    void need(size_t n, const ReadContext& ctx) const {
        if (n > left()) {
            fail("gguf: truncated file in ", ctx.str(), ": need ", n, " bytes at offset ", pos_,
                 " but the file has ", size_, " bytes");
        }
    }
    const std::byte* take(size_t n, const ReadContext& ctx) {
        need(n, ctx);
        const std::byte* p = base_ + pos_;
        pos_ += n;
        return p;
    }
    template <class T>
    T read(const ReadContext& ctx) {
        return load_le<T>(take(sizeof(T), ctx));
    }
    std::string_view read_string(const ReadContext& ctx) {
        const size_t at = pos_;
        const uint64_t len = read<uint64_t>(ctx);
        if (len > left()) {
            fail("gguf: ", ctx.str(), ": string length ", len, " at offset ", at,
                 " exceeds the ", left(), " bytes left in the file");
        }
        const std::byte* p = take(static_cast<size_t>(len), ctx);
        return {reinterpret_cast<const char*>(p), static_cast<size_t>(len)};
    }

private:
    const std::byte* base_;
    size_t size_;
    size_t pos_ = 0;
};

inline bool checked_mul(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

}  // namespace detail

/// An array value. Scalar items stay in the file's bytes; strings are views into them.
struct GgufArray {
    GgufType elem_type = GgufType::u8;
    uint64_t count = 0;
    const std::byte* raw = nullptr;         ///< count scalars, little-endian, maybe unaligned
    std::vector<std::string_view> strings;  ///< when elem_type == string
    std::vector<GgufArray> arrays;          ///< when elem_type == array

    /// Copy the items out as T; throws naming `what` unless the item type is exactly T's.
    template <class T>
    [[nodiscard]] std::vector<T> as(std::string_view what) const {
        static_assert(GgufTypeOf<T>::known, "GgufArray::as<T>: T has no GGUF type");
        constexpr GgufType want = GgufTypeOf<T>::value;
        GDN_CHECK(elem_type == want, "gguf key '", what, "' is an array of ", gguf_type_name(elem_type),
                  ", wanted an array of ", gguf_type_name(want));
        std::vector<T> out;
        out.reserve(static_cast<size_t>(count));
        if constexpr (want == GgufType::string) {
            for (std::string_view s : strings) out.emplace_back(s);
        } else if constexpr (want == GgufType::boolean) {
            for (uint64_t i = 0; i < count; ++i) out.push_back(raw[i] != std::byte{0});
        } else {
            for (uint64_t i = 0; i < count; ++i) out.push_back(detail::load_le<T>(raw + i * sizeof(T)));
        }
        return out;
    }
};

/// One metadata value; `raw` points at the scalar in the file, `str` / `array` hold the rest.
struct GgufValue {
    GgufType type = GgufType::u8;
    const std::byte* raw = nullptr;
    std::string_view str;
    GgufArray array;
};

/// Where a tensor's bytes are, relative to the start of the data section.
struct GgufTensorInfo {
    TensorView view;
    uint32_t type_id = 0;
    uint64_t offset = 0;  ///< from the start of the data section
    uint64_t bytes = 0;
};

class GgufFile {
public:
    static constexpr uint32_t default_alignment = 32;
    static constexpr int max_array_depth = 8;  ///< nested arrays deeper than this are refused

    /// Map `path` read-only (private) and parse it.
    static GgufFile open(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        GDN_CHECK(fd >= 0, "gguf: cannot open '", path, "': ", std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            fail("gguf: cannot stat '", path, "': ", std::strerror(err));
        }
        const auto size = static_cast<size_t>(st.st_size);
        if (size == 0) {
            ::close(fd);
            fail("gguf: '", path, "' is empty");
        }
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        const int err = errno;
        ::close(fd);  // the mapping stays valid without the descriptor
        GDN_CHECK(p != MAP_FAILED, "gguf: cannot mmap '", path, "' (", size, " bytes): ", std::strerror(err));
        std::shared_ptr<const void> storage(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
        try {
            return GgufFile(std::move(storage), static_cast<const std::byte*>(p), size);
        } catch (const Error& e) {
            fail(e.what(), " [file '", path, "']");
        }
    }

    /// Parse bytes the caller keeps alive for as long as this object and its views live.
    static GgufFile view_bytes(std::span<const std::byte> bytes) {
        return GgufFile(nullptr, bytes.data(), bytes.size());
    }

    /// Parse a buffer this object takes over.
    static GgufFile from_buffer(std::vector<std::byte> bytes) {
        auto owned = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
        const std::byte* p = owned->data();
        const size_t n = owned->size();
        return GgufFile(std::shared_ptr<const void>(owned, p), p, n);
    }

    // ---- header -------------------------------------------------------------------------------
    [[nodiscard]] uint32_t version() const { return version_; }
    [[nodiscard]] uint32_t alignment() const { return alignment_; }
    [[nodiscard]] uint64_t data_offset() const { return data_offset_; }  ///< file offset of tensor data
    [[nodiscard]] size_t size_bytes() const { return size_; }
    [[nodiscard]] const std::byte* bytes() const { return base_; }
    /// Keeps the bytes alive (null when they were given by view_bytes).
    [[nodiscard]] std::shared_ptr<const void> storage() const { return storage_; }

    // ---- metadata -----------------------------------------------------------------------------
    [[nodiscard]] const std::vector<std::string_view>& keys() const { return key_order_; }
    [[nodiscard]] bool has(std::string_view key) const { return kv_.find(key) != kv_.end(); }
    [[nodiscard]] const GgufValue* find_value(std::string_view key) const {
        auto it = kv_.find(key);
        return it == kv_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] const GgufValue& value(std::string_view key) const {
        const GgufValue* v = find_value(key);
        GDN_CHECK(v != nullptr, "gguf key '", key, "' is missing");
        return *v;
    }
    [[nodiscard]] GgufType type_of(std::string_view key) const { return value(key).type; }

    /// The value of `key`, which must have exactly T's GGUF type.
    template <class T>
    [[nodiscard]] T get(std::string_view key) const {
        static_assert(GgufTypeOf<T>::known, "GgufFile::get<T>: T has no GGUF type");
        return decode<T>(key, value(key));
    }
    /// Like get<T>, but nullopt when the key is absent (a present key of another type still throws).
    template <class T>
    [[nodiscard]] std::optional<T> find(std::string_view key) const {
        static_assert(GgufTypeOf<T>::known, "GgufFile::find<T>: T has no GGUF type");
        const GgufValue* v = find_value(key);
        if (v == nullptr) return std::nullopt;
        return decode<T>(key, *v);
    }

    [[nodiscard]] uint8_t get_u8(std::string_view k) const { return get<uint8_t>(k); }
    [[nodiscard]] int8_t get_i8(std::string_view k) const { return get<int8_t>(k); }
    [[nodiscard]] uint16_t get_u16(std::string_view k) const { return get<uint16_t>(k); }
    [[nodiscard]] int16_t get_i16(std::string_view k) const { return get<int16_t>(k); }
    [[nodiscard]] uint32_t get_u32(std::string_view k) const { return get<uint32_t>(k); }
    [[nodiscard]] int32_t get_i32(std::string_view k) const { return get<int32_t>(k); }
    [[nodiscard]] uint64_t get_u64(std::string_view k) const { return get<uint64_t>(k); }
    [[nodiscard]] int64_t get_i64(std::string_view k) const { return get<int64_t>(k); }
    [[nodiscard]] float get_f32(std::string_view k) const { return get<float>(k); }
    [[nodiscard]] double get_f64(std::string_view k) const { return get<double>(k); }
    [[nodiscard]] bool get_bool(std::string_view k) const { return get<bool>(k); }
    [[nodiscard]] std::string get_string(std::string_view k) const { return get<std::string>(k); }

    [[nodiscard]] std::optional<uint32_t> find_u32(std::string_view k) const { return find<uint32_t>(k); }
    [[nodiscard]] std::optional<float> find_f32(std::string_view k) const { return find<float>(k); }
    [[nodiscard]] std::optional<std::string> find_string(std::string_view k) const { return find<std::string>(k); }

    /// Any integer type, as int64 (a u64 above INT64_MAX throws).
    [[nodiscard]] int64_t get_int(std::string_view key) const { return decode_int(key, value(key)); }
    [[nodiscard]] std::optional<int64_t> find_int(std::string_view key) const {
        const GgufValue* v = find_value(key);
        if (v == nullptr) return std::nullopt;
        return decode_int(key, *v);
    }
    /// f32 or f64, as double.
    [[nodiscard]] double get_float(std::string_view key) const { return decode_float(key, value(key)); }
    [[nodiscard]] std::optional<double> find_float(std::string_view key) const {
        const GgufValue* v = find_value(key);
        if (v == nullptr) return std::nullopt;
        return decode_float(key, *v);
    }

    /// The array under `key` (for nested arrays or mixed use).
    [[nodiscard]] const GgufArray& get_array_value(std::string_view key) const {
        const GgufValue& v = value(key);
        GDN_CHECK(v.type == GgufType::array, "gguf key '", key, "' has type ", gguf_type_name(v.type),
                  ", wanted array");
        return v.array;
    }
    /// The items of the array under `key`, which must be exactly T's type.
    template <class T>
    [[nodiscard]] std::vector<T> get_array(std::string_view key) const {
        return get_array_value(key).template as<T>(key);
    }
    template <class T>
    [[nodiscard]] std::optional<std::vector<T>> find_array(std::string_view key) const {
        if (!has(key)) return std::nullopt;
        return get_array<T>(key);
    }

    // ---- tensors ------------------------------------------------------------------------------
    [[nodiscard]] const std::vector<GgufTensorInfo>& tensor_infos() const { return tensors_; }
    [[nodiscard]] size_t n_tensors() const { return tensors_.size(); }
    [[nodiscard]] const GgufTensorInfo* find_info(std::string_view name) const {
        auto it = tensor_index_.find(name);
        return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
    }
    /// nullptr when absent.
    [[nodiscard]] const TensorView* find_tensor(std::string_view name) const {
        const GgufTensorInfo* info = find_info(name);
        return info == nullptr ? nullptr : &info->view;
    }
    [[nodiscard]] const TensorView& tensor(std::string_view name) const {
        const TensorView* t = find_tensor(name);
        GDN_CHECK(t != nullptr, "gguf: tensor '", name, "' is missing");
        return *t;
    }

private:
    GgufFile(std::shared_ptr<const void> storage, const std::byte* base, size_t size)
        : storage_(std::move(storage)), base_(base), size_(size) {
        parse();
    }

    template <class T>
    static T decode(std::string_view key, const GgufValue& v) {
        constexpr GgufType want = GgufTypeOf<T>::value;
        GDN_CHECK(v.type == want, "gguf key '", key, "' has type ", gguf_type_name(v.type), ", wanted ",
                  gguf_type_name(want));
        if constexpr (want == GgufType::string) {
            return T(v.str);
        } else if constexpr (want == GgufType::boolean) {
            return *v.raw != std::byte{0};
        } else {
            return detail::load_le<T>(v.raw);
        }
    }

    static int64_t decode_int(std::string_view key, const GgufValue& v) {
        switch (v.type) {
            case GgufType::u8: return detail::load_le<uint8_t>(v.raw);
            case GgufType::i8: return detail::load_le<int8_t>(v.raw);
            case GgufType::u16: return detail::load_le<uint16_t>(v.raw);
            case GgufType::i16: return detail::load_le<int16_t>(v.raw);
            case GgufType::u32: return detail::load_le<uint32_t>(v.raw);
            case GgufType::i32: return detail::load_le<int32_t>(v.raw);
            case GgufType::i64: return detail::load_le<int64_t>(v.raw);
            case GgufType::u64: {
                const auto u = detail::load_le<uint64_t>(v.raw);
                GDN_CHECK(u <= static_cast<uint64_t>(INT64_MAX), "gguf key '", key, "' = ", u,
                          " does not fit in int64");
                return static_cast<int64_t>(u);
            }
            default: break;
        }
        fail("gguf key '", key, "' has type ", gguf_type_name(v.type), ", wanted an integer");
    }

    static double decode_float(std::string_view key, const GgufValue& v) {
        if (v.type == GgufType::f32) return detail::load_le<float>(v.raw);
        if (v.type == GgufType::f64) return detail::load_le<double>(v.raw);
        fail("gguf key '", key, "' has type ", gguf_type_name(v.type), ", wanted f32 or f64");
    }

    void parse() {
        using detail::ReadContext;
        detail::Cursor cur(base_, size_);
        const ReadContext header{"header", {}, -1};

        cur.need(4, header);
        const std::byte* magic = cur.take(4, header);
        if (std::memcmp(magic, "GGUF", 4) != 0) {
            fail("gguf: bad magic: expected \"GGUF\" (47 47 55 46), found ", hex4(magic));
        }
        version_ = cur.read<uint32_t>(header);
        if (version_ != 2 && version_ != 3) {
            const uint32_t swapped = __builtin_bswap32(version_);
            fail("gguf: unsupported version ", version_, " (gdn reads versions 2 and 3",
                 (swapped == 2 || swapped == 3) ? "; this looks like a big-endian file" : "", ")");
        }
        const uint64_t n_tensors = cur.read<uint64_t>(header);
        const uint64_t n_kv = cur.read<uint64_t>(header);

        // Smallest encodings: a kv is key length + type + a 1-byte value; a tensor info is name
        // length + n_dims + one dim + type + offset. Counts beyond that cannot be real.
        constexpr uint64_t min_kv_bytes = 8 + 4 + 1;
        constexpr uint64_t min_tensor_bytes = 8 + 4 + 8 + 4 + 8;
        GDN_CHECK(n_kv <= cur.left() / min_kv_bytes, "gguf: n_kv = ", n_kv, " cannot fit in the ",
                  cur.left(), " bytes after the header");
        GDN_CHECK(n_tensors <= cur.left() / min_tensor_bytes, "gguf: n_tensors = ", n_tensors,
                  " cannot fit in the ", cur.left(), " bytes after the header");

        for (uint64_t i = 0; i < n_kv; ++i) {
            ReadContext ctx{"key", {}, static_cast<int64_t>(i)};
            const std::string_view key = cur.read_string(ctx);
            ctx = {"key", key, -1};
            GDN_CHECK(!key.empty(), "gguf: key number ", i, " is empty");
            const uint32_t type = cur.read<uint32_t>(ctx);
            GDN_CHECK(gguf_type_valid(type), "gguf: key '", key, "' has unknown value type ", type);
            GgufValue v = read_value(cur, static_cast<GgufType>(type), ctx, 0);
            auto [it, inserted] = kv_.emplace(key, std::move(v));
            GDN_CHECK(inserted, "gguf: duplicate key '", key, "'");
            key_order_.push_back(it->first);
        }

        if (const GgufValue* a = find_value("general.alignment")) {
            GDN_CHECK(gguf_type_is_integer(a->type), "gguf key 'general.alignment' has type ",
                      gguf_type_name(a->type), ", wanted u32");
            const int64_t al = decode_int("general.alignment", *a);
            GDN_CHECK(al > 0 && std::has_single_bit(static_cast<uint64_t>(al)) && al <= (int64_t{1} << 30),
                      "gguf: general.alignment = ", al, " must be a nonzero power of two (at most 2^30)");
            alignment_ = static_cast<uint32_t>(al);
        }

        tensors_.reserve(static_cast<size_t>(n_tensors));
        for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(cur, i);

        const uint64_t end_of_infos = cur.pos();
        data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
        if (!tensors_.empty()) {
            GDN_CHECK(data_offset_ <= size_, "gguf: truncated file: the data section starts at offset ",
                      data_offset_, " but the file has ", size_, " bytes");
        }
        const uint64_t data_bytes = tensors_.empty() ? 0 : size_ - data_offset_;

        for (GgufTensorInfo& t : tensors_) {
            const std::string& name = t.view.name;
            GDN_CHECK(t.offset <= data_bytes && t.bytes <= data_bytes - t.offset, "gguf: tensor '", name,
                      "' data [", t.offset, ", ", t.offset, " + ", t.bytes, ") runs past the end of the file (",
                      data_bytes, " data bytes after offset ", data_offset_, ")");
            t.view.data = base_ + data_offset_ + t.offset;
        }

        std::vector<size_t> by_offset(tensors_.size());
        for (size_t i = 0; i < by_offset.size(); ++i) by_offset[i] = i;
        std::sort(by_offset.begin(), by_offset.end(),
                  [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
        for (size_t i = 1; i < by_offset.size(); ++i) {
            const GgufTensorInfo& a = tensors_[by_offset[i - 1]];
            const GgufTensorInfo& b = tensors_[by_offset[i]];
            GDN_CHECK(a.offset + a.bytes <= b.offset, "gguf: tensors '", a.view.name, "' [", a.offset, ", ",
                      a.offset + a.bytes, ") and '", b.view.name, "' [", b.offset, ", ", b.offset + b.bytes,
                      ") overlap");
        }
    }

    GgufValue read_value(detail::Cursor& cur, GgufType type, const detail::ReadContext& ctx, int depth) {
        GgufValue v;
        v.type = type;
        if (type == GgufType::string) {
            v.str = cur.read_string(ctx);
        } else if (type == GgufType::array) {
            v.array = read_array(cur, ctx, depth + 1);
        } else {
            v.raw = cur.take(gguf_scalar_size(type), ctx);
            if (type == GgufType::boolean) check_bool(*v.raw, ctx);
        }
        return v;
    }

    GgufArray read_array(detail::Cursor& cur, const detail::ReadContext& ctx, int depth) {
        GDN_CHECK(depth <= max_array_depth, "gguf: ", ctx.str(), ": arrays nested deeper than ",
                  max_array_depth, " levels");
        GgufArray a;
        const uint32_t elem = cur.read<uint32_t>(ctx);
        GDN_CHECK(gguf_type_valid(elem), "gguf: ", ctx.str(), ": array of unknown value type ", elem);
        a.elem_type = static_cast<GgufType>(elem);
        a.count = cur.read<uint64_t>(ctx);
        const size_t item_min = a.elem_type == GgufType::string  ? 8
                                : a.elem_type == GgufType::array ? 12
                                                                 : gguf_scalar_size(a.elem_type);
        GDN_CHECK(a.count <= cur.left() / item_min, "gguf: ", ctx.str(), ": array length ", a.count,
                  " of ", gguf_type_name(a.elem_type), " cannot fit in the ", cur.left(), " bytes left");
        const auto n = static_cast<size_t>(a.count);
        if (a.elem_type == GgufType::string) {
            a.strings.reserve(n);
            for (size_t i = 0; i < n; ++i) {
                detail::ReadContext item = ctx;
                item.index = static_cast<int64_t>(i);
                a.strings.push_back(cur.read_string(item));
            }
        } else if (a.elem_type == GgufType::array) {
            a.arrays.reserve(n);
            for (size_t i = 0; i < n; ++i) {
                detail::ReadContext item = ctx;
                item.index = static_cast<int64_t>(i);
                a.arrays.push_back(read_array(cur, item, depth + 1));
            }
        } else {
            a.raw = cur.take(n * item_min, ctx);
            if (a.elem_type == GgufType::boolean) {
                for (size_t i = 0; i < n; ++i) {
                    detail::ReadContext item = ctx;
                    item.index = static_cast<int64_t>(i);
                    check_bool(a.raw[i], item);
                }
            }
        }
        return a;
    }

    static void check_bool(std::byte b, const detail::ReadContext& ctx) {
        GDN_CHECK(b == std::byte{0} || b == std::byte{1}, "gguf: ", ctx.str(), ": bool value ",
                  static_cast<int>(b), " is neither 0 nor 1");
    }

    void read_tensor_info(detail::Cursor& cur, uint64_t i) {
        detail::ReadContext ctx{"tensor info", {}, static_cast<int64_t>(i)};
        const std::string_view name = cur.read_string(ctx);
        GDN_CHECK(!name.empty(), "gguf: tensor number ", i, " has an empty name");
        ctx = {"tensor info", name, -1};

        const uint32_t n_dims = cur.read<uint32_t>(ctx);
        GDN_CHECK(n_dims >= 1 && n_dims <= 4, "gguf: tensor '", name, "' has n_dims = ", n_dims,
                  ", expected 1 to 4");
        GgufTensorInfo t;
        t.view.name = std::string(name);
        t.view.n_dims = static_cast<int>(n_dims);
        int64_t elems = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const int64_t ne = cur.read<int64_t>(ctx);
            GDN_CHECK(ne > 0, "gguf: tensor '", name, "' has ne[", d, "] = ", ne, "; dims must be positive");
            GDN_CHECK(detail::checked_mul(elems, ne, elems), "gguf: tensor '", name, "' element count overflows int64 at ne[",
                      d, "] = ", ne);
            t.view.ne[d] = ne;
        }
        t.type_id = cur.read<uint32_t>(ctx);
        t.view.type = dtype_from_id(
            t.type_id, ::gdn::detail::concat("gguf: tensor '", name, "' (ggml type ", ggml_type_name(t.type_id), ")"));
        const DTypeTraits tr = dtype_traits(t.view.type);
        GDN_CHECK(t.view.ne[0] % tr.block_elems == 0, "gguf: tensor '", name, "' has ne[0] = ", t.view.ne[0],
                  ", not a multiple of the ", dtype_name(t.view.type), " block size ", tr.block_elems);
        int64_t bytes = 0;
        GDN_CHECK(detail::checked_mul(t.view.ne[0] / tr.block_elems, tr.block_bytes, bytes) &&
                      detail::checked_mul(bytes, t.view.rows(), bytes),
                  "gguf: tensor '", name, "' byte size overflows int64");
        t.bytes = static_cast<uint64_t>(bytes);

        t.offset = cur.read<uint64_t>(ctx);
        GDN_CHECK(t.offset % alignment_ == 0, "gguf: tensor '", name, "' offset ", t.offset,
                  " is not a multiple of the alignment ", alignment_);

        GDN_CHECK(tensor_index_.emplace(t.view.name, tensors_.size()).second, "gguf: duplicate tensor '",
                  name, "'");
        tensors_.push_back(std::move(t));
    }

    static std::string hex4(const std::byte* p) {
        static constexpr char digits[] = "0123456789abcdef";
        std::string s;
        for (int i = 0; i < 4; ++i) {
            const auto b = static_cast<unsigned>(p[i]);
            if (i) s += ' ';
            s += digits[b >> 4];
            s += digits[b & 15];
        }
        return s;
    }

    std::shared_ptr<const void> storage_;
    const std::byte* base_ = nullptr;
    size_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = default_alignment;
    uint64_t data_offset_ = 0;
    std::map<std::string_view, GgufValue, std::less<>> kv_;  // keys view the file's bytes
    std::vector<std::string_view> key_order_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace gdn::io

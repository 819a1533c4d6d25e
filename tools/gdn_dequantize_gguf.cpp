// gdn-dequantize-gguf: a copy of a GGUF with every tensor not stored as f32 dequantised to f32
// (through gdn::dequantize_row, the decoders' own reading of each format), everything else kept:
// every metadata key and value in order (general.file_type included, so the copy still says
// what it was made from), the tensor infos in order with their names and dims, the alignment,
// the f32 tensors' bytes. The CPU reference's logits of the copy are those of the original
// with the dequantisation taken out of the loop, which tests/tools/quant_mix.sh compares.
//
//   gdn-dequantize-gguf IN.gguf OUT.gguf
//
// Written as OUT.part, one row at a time, renamed when complete.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/io/gguf.hpp"
#include "gdn/io/gguf_writer.hpp"
#include "gdn/quant/dispatch.hpp"

#include "../examples/cli_util.hpp"

namespace {

using gdn::io::GgufArray;
using gdn::io::GgufType;
using gdn::io::GgufValue;
using gdn::io::detail::append_le;
using gdn::io::detail::append_string;

constexpr const char* k_usage =
    "usage: gdn-dequantize-gguf IN.gguf OUT.gguf\n"
    "  writes OUT.gguf: IN.gguf with every tensor not stored as f32 dequantised to f32 (gdn's\n"
    "  decoders' reading of each format); metadata, tensor order, names, dims and alignment kept\n";

struct Args {
    std::string in, out;
    bool help = false;
};

Args parse(int argc, char** argv) {
    Args a;
    std::vector<std::string> files;
    for (gdn::cli::ArgWalker args(argc, argv); args.next();) {
        const std::string_view arg = args.arg();
        if (arg == "-h" || arg == "--help") a.help = true;
        else if (!arg.empty() && arg[0] == '-') gdn::fail("unknown argument '", arg, "' (see --help)");
        else files.emplace_back(arg);
    }
    if (a.help) return a;
    GDN_CHECK(files.size() == 2, "expected IN.gguf OUT.gguf, got ", files.size(), " file arguments (see --help)");
    a.in = files[0];
    a.out = files[1];
    GDN_CHECK(std::filesystem::absolute(a.in) != std::filesystem::absolute(a.out), "OUT.gguf is IN.gguf");
    return a;
}

// ---- metadata, re-encoded from what the reader parsed ----------------------------------------

void append_array(std::vector<std::byte>& out, const GgufArray& a) {
    append_le<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
    append_le<uint64_t>(out, a.count);
    if (a.elem_type == GgufType::string) {
        for (std::string_view s : a.strings) append_string(out, s);
    } else if (a.elem_type == GgufType::array) {
        for (const GgufArray& inner : a.arrays) append_array(out, inner);
    } else {
        const size_t n = static_cast<size_t>(a.count) * gdn::io::gguf_scalar_size(a.elem_type);
        out.insert(out.end(), a.raw, a.raw + n);
    }
}

void append_value(std::vector<std::byte>& out, const GgufValue& v) {
    append_le<uint32_t>(out, static_cast<uint32_t>(v.type));
    if (v.type == GgufType::string) append_string(out, v.str);
    else if (v.type == GgufType::array) append_array(out, v.array);
    else out.insert(out.end(), v.raw, v.raw + gdn::io::gguf_scalar_size(v.type));
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

int run(const Args& a) {
    const gdn::io::GgufFile in = gdn::io::GgufFile::open(a.in);
    const uint64_t align = in.alignment();
    const std::vector<gdn::io::GgufTensorInfo>& infos = in.tensor_infos();

    std::vector<std::byte> head{std::byte{'G'}, std::byte{'G'}, std::byte{'U'}, std::byte{'F'}};
    append_le<uint32_t>(head, 3);
    append_le<uint64_t>(head, infos.size());
    append_le<uint64_t>(head, in.keys().size());
    for (std::string_view key : in.keys()) {
        append_string(head, key);
        append_value(head, in.value(key));
    }
    std::vector<uint64_t> offsets;
    uint64_t at = 0;
    size_t converted = 0;
    for (const gdn::io::GgufTensorInfo& t : infos) {
        append_string(head, t.view.name);
        append_le<uint32_t>(head, static_cast<uint32_t>(t.view.n_dims));
        for (int d = 0; d < t.view.n_dims; ++d) append_le<int64_t>(head, t.view.ne[static_cast<size_t>(d)]);
        append_le<uint32_t>(head, static_cast<uint32_t>(gdn::DType::f32));
        append_le<uint64_t>(head, at);
        offsets.push_back(at);
        at = align_up(at + static_cast<uint64_t>(t.view.elems()) * sizeof(float), align);
        if (t.view.type != gdn::DType::f32) ++converted;
    }
    head.resize(align_up(head.size(), align), std::byte{0});
    const uint64_t total = head.size() + at;

    const std::string part = a.out + ".part";
    std::FILE* f = std::fopen(part.c_str(), "wb");
    GDN_CHECK(f != nullptr, "cannot open '", part, "' for writing: ", std::strerror(errno));
    try {
        uint64_t written = 0;
        const auto write = [&](const void* p, size_t n) {
            GDN_CHECK(std::fwrite(p, 1, n, f) == n, "writing '", part, "' failed at byte ", written, ": ",
                      std::strerror(errno));
            written += n;
        };
        write(head.data(), head.size());
        std::vector<float> row;
        const std::vector<std::byte> zeros(align);
        for (size_t i = 0; i < infos.size(); ++i) {
            const gdn::TensorView& v = infos[i].view;
            write(zeros.data(), static_cast<size_t>(head.size() + offsets[i] - written));  // the padding before it
            row.resize(static_cast<size_t>(v.cols()));
            for (int64_t r = 0; r < v.rows(); ++r) {
                gdn::dequantize_row(v.type, v.row(r), row.data(), v.cols());
                write(row.data(), row.size() * sizeof(float));
            }
        }
        write(zeros.data(), static_cast<size_t>(total - written));  // gguf-py pads after the last tensor too
        const int rc = std::fclose(f);
        f = nullptr;
        GDN_CHECK(rc == 0, "closing '", part, "' failed: ", std::strerror(errno));
        std::error_code ec;
        std::filesystem::rename(part, a.out, ec);
        GDN_CHECK(!ec, "cannot rename '", part, "' to '", a.out, "': ", ec.message());
    } catch (...) {
        if (f) std::fclose(f);
        std::error_code ec;
        std::filesystem::remove(part, ec);
        throw;
    }
    std::fprintf(stderr, "gdn-dequantize-gguf: %s -> %s: %zu of %zu tensors dequantised to f32, %zu keys kept, %.1f MB\n",
                 a.in.c_str(), a.out.c_str(), converted, infos.size(), in.keys().size(), double(total) / 1e6);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return gdn::cli::main_with("gdn-dequantize-gguf", k_usage, argc, argv, parse, run); }

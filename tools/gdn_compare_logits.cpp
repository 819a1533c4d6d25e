// gdn-compare-logits: the relative L2 distance, position by position, between two logits files
// as gdn-logits writes them (float32 [n_tokens, n_vocab], row-major, little-endian):
// ||got_t - want_t|| / ||want_t|| for each row t, accumulated in double. Prints the largest
// with its position and exits 1 when it is above --tol or a value is not finite.
//
//   gdn-compare-logits GOT.f32 WANT.f32 --vocab N [--tol 1e-4]
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "gdn/core/error.hpp"

#include "../examples/cli_util.hpp"

namespace {

constexpr const char* k_usage =
    "usage: gdn-compare-logits GOT.f32 WANT.f32 --vocab N [--tol T]\n"
    "  max over positions t of ||GOT_t - WANT_t|| / ||WANT_t|| (float32 [n_tokens, N] files, as\n"
    "  gdn-logits writes them); exit 1 when it is above T (default 1e-4) or a value is not finite\n";

struct Args {
    std::string got, want;
    int64_t vocab = 0;
    double tol = 1e-4;
    bool help = false;
};

Args parse(int argc, char** argv) {
    Args a;
    std::vector<std::string> files;
    for (gdn::cli::ArgWalker args(argc, argv); args.next();) {
        const std::string_view arg = args.arg();
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "--vocab") {
            const uint64_t n = gdn::cli::parse_u64(args.value(), "--vocab");
            GDN_CHECK(n >= 1 && n <= (uint64_t{1} << 32), "--vocab: ", n, " is out of range");
            a.vocab = static_cast<int64_t>(n);
        } else if (arg == "--tol") {
            const std::string s(args.value());
            char* end = nullptr;
            errno = 0;
            a.tol = std::strtod(s.c_str(), &end);
            GDN_CHECK(errno == 0 && end == s.c_str() + s.size() && !s.empty() && a.tol >= 0.0,
                      "--tol: '", s, "' is not a non-negative number");
        } else if (!arg.empty() && arg[0] == '-') {
            gdn::fail("unknown argument '", arg, "' (see --help)");
        } else {
            files.emplace_back(arg);
        }
    }
    if (a.help) return a;
    GDN_CHECK(files.size() == 2, "expected GOT.f32 WANT.f32, got ", files.size(), " file arguments (see --help)");
    GDN_CHECK(a.vocab > 0, "--vocab N is required");
    a.got = files[0];
    a.want = files[1];
    return a;
}

std::vector<float> read_floats(const std::string& path, int64_t vocab) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    GDN_CHECK(f.good(), "cannot open '", path, "': ", std::strerror(errno));
    const auto bytes = static_cast<int64_t>(f.tellg());
    GDN_CHECK(bytes > 0 && bytes % (4 * vocab) == 0, path, ": ", bytes, " bytes is not a whole number of rows of ",
              vocab, " floats");
    std::vector<float> v(static_cast<size_t>(bytes / 4));
    f.seekg(0);
    f.read(reinterpret_cast<char*>(v.data()), bytes);
    GDN_CHECK(f.good(), "reading '", path, "' failed");
    return v;
}

int run(const Args& a) {
    const std::vector<float> got = read_floats(a.got, a.vocab), want = read_floats(a.want, a.vocab);
    GDN_CHECK(got.size() == want.size(), a.got, " has ", got.size() / static_cast<size_t>(a.vocab), " rows, ", a.want,
              " has ", want.size() / static_cast<size_t>(a.vocab));
    const int64_t rows = static_cast<int64_t>(want.size()) / a.vocab;
    double worst = 0.0;
    int64_t at = 0, bad = 0;
    for (int64_t t = 0; t < rows; ++t) {
        double num = 0.0, den = 0.0;
        for (int64_t j = t * a.vocab; j < (t + 1) * a.vocab; ++j) {
            const auto g = static_cast<double>(got[static_cast<size_t>(j)]);
            const auto w = static_cast<double>(want[static_cast<size_t>(j)]);
            if (!std::isfinite(g) || !std::isfinite(w)) ++bad;
            num += (g - w) * (g - w);
            den += w * w;
        }
        const double rel = den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
        if (!(rel <= worst)) {  // NaN counts as worst
            worst = rel;
            at = t;
        }
    }
    const bool ok = bad == 0 && worst <= a.tol;
    std::printf("rel L2 %.3e (max over %lld positions, at %lld; tol %.0e)%s%s\n", worst, static_cast<long long>(rows),
                static_cast<long long>(at), a.tol, bad ? ", values not finite: " : "",
                bad ? std::to_string(bad).c_str() : "");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return gdn::cli::main_with("gdn-compare-logits", k_usage, argc, argv, parse, run); }

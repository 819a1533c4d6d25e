// examples/cli_util.hpp - what gdn's command-line programs (examples/gdn_generate.cpp,
// examples/gdn_logits.cpp, tools/gdn_random_gguf.cpp) share: walking argv an option at a
// time, whole-number option values, and a main() that ends every error in one line on stderr
// and exit code 1. Programs only; not part of the library.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "gdn/core/error.hpp"

namespace gdn::cli {

/// argv walked one argument at a time:
///   for (gdn::cli::ArgWalker args(argc, argv); args.next();) { if (args.arg() == "-o") out = args.value(); }
class ArgWalker {
public:
    ArgWalker(int argc, const char* const* argv) : argc_(argc), argv_(argv) {}

    /// Moves to the next argument; false when there is none.
    bool next() { return ++i_ < argc_; }
    /// The current argument.
    [[nodiscard]] std::string_view arg() const { return argv_[i_]; }
    /// The current option's value: the argument after it, which is consumed.
    std::string_view value() {
        GDN_CHECK(i_ + 1 < argc_, arg(), " needs a value");
        return argv_[++i_];
    }

private:
    int argc_;
    const char* const* argv_;
    int i_ = 0;
};

/// A non-negative decimal integer of up to 64 bits; `what` (the option) names it in the error.
inline uint64_t parse_u64(std::string_view s, const char* what) {
    GDN_CHECK(!s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string_view::npos,
              what, ": '", s, "' is not a non-negative integer");
    const std::string str(s);
    errno = 0;
    const unsigned long long v = std::strtoull(str.c_str(), nullptr, 10);
    GDN_CHECK(errno == 0, what, ": '", s, "' does not fit 64 bits");
    return v;
}

/// The body of main(): `parse(argc, argv)` gives the arguments (a struct with a `help` flag);
/// with help set `usage` goes to stdout, otherwise `run(args)` gives the exit code. Any
/// exception ends as "<program>: error: <what>" on stderr (after what stdout holds) and 1.
template <class Parse, class Run>
int main_with(const char* program, const char* usage, int argc, char** argv, Parse&& parse, Run&& run) {
    try {
        const auto args = parse(argc, argv);
        if (args.help) {
            std::fputs(usage, stdout);
            return 0;
        }
        return run(args);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: %s\n", program, e.what());
        return 1;
    }
}

}  // namespace gdn::cli

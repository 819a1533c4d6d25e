// gdn/core/error.hpp - the one exception type gdn throws for bad input.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace gdn {

/// Raised for every bad input (malformed file, missing tensor, shape mismatch,
/// unsupported type, context overflow). The message says what and where.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Args>
[[nodiscard]] std::string concat(Args&&... args) {
    std::ostringstream os;
    (os << ... << std::forward<Args>(args));
    return os.str();
}
}  // namespace detail

/// Throw gdn::Error with the arguments streamed into the message.
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
    throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace gdn

/// GDN_CHECK(cond, parts...): throw gdn::Error("parts...") unless cond holds.
#define GDN_CHECK(cond, ...)                 \
    do {                                     \
        if (!(cond)) ::gdn::fail(__VA_ARGS__); \
    } while (0)

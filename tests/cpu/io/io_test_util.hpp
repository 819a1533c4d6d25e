// Helpers shared by the io tests: random bytes and a temporary file that removes itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace gdn::test {

inline std::vector<std::byte> random_bytes(size_t n, std::mt19937_64& rng) {
    std::vector<std::byte> out(n);
    for (auto& b : out) b = static_cast<std::byte>(rng() & 0xff);
    return out;
}

/// A unique path under /tmp, deleted when this object dies.
class TempPath {
public:
    explicit TempPath(const char* tag) {
        static int counter = 0;
        path_ = "/tmp/gdn_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + tag;
    }
    ~TempPath() { std::remove(path_.c_str()); }
    TempPath(const TempPath&) = delete;
    TempPath& operator=(const TempPath&) = delete;
    [[nodiscard]] const std::string& str() const { return path_; }

private:
    std::string path_;
};

}  // namespace gdn::test

// Helpers shared by the tests: fixture paths, the external corpus, file reading.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace rampart::test {

inline std::filesystem::path source_dir() { return RAMPART_SOURCE_DIR; }
inline std::filesystem::path fixtures() { return source_dir() / "tests" / "fixtures"; }

/// The shared corpus of reports written by others: $RAMPART_CORPUS, else ../shared/corpus next to
/// the checkout. Empty when absent; callers GTEST_SKIP() with the reason.
inline std::optional<std::filesystem::path> corpus() {
    if (const char* env = std::getenv("RAMPART_CORPUS"); env != nullptr && *env != '\0') {
        if (std::filesystem::is_directory(env)) return std::filesystem::path(env);
        return std::nullopt;
    }
    auto p = source_dir().parent_path() / "shared" / "corpus";
    if (std::filesystem::is_directory(p)) return p;
    return std::nullopt;
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace rampart::test

#define RAMPART_REQUIRE_CORPUS(var)                                                   \
    auto var##_opt = ::rampart::test::corpus();                                       \
    if (!var##_opt) GTEST_SKIP() << "../shared/corpus is absent: external corpus cases skipped"; \
    const std::filesystem::path var = *var##_opt

// Helpers shared by the tests: fixture paths, the external corpus, file reading.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
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

/// What a shell command line printed on standard output, and how it exited (-1: not normally).
struct ShellResult {
    int status = -1;
    std::string out;
};

/// Runs `command` through /bin/sh, capturing standard output; stderr goes where the command
/// line sends it (the test log unless redirected).
inline ShellResult shell(const std::string& command) {
    ShellResult r;
    std::FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int raw = ::pclose(p);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return r;
}

}  // namespace rampart::test

#define RAMPART_REQUIRE_CORPUS(var)                                                   \
    auto var##_opt = ::rampart::test::corpus();                                       \
    if (!var##_opt) GTEST_SKIP() << "../shared/corpus is absent: external corpus cases skipped"; \
    const std::filesystem::path var = *var##_opt

// Shared pieces of the fuzz targets: the limits they run under and the token mapping that helps
// a fuzzer without seeds get past the first token of a grammar.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace rampart::fuzz {

/// Small caps so that one input stays in milliseconds and far below -rss_limit_mb, while still
/// above every seed: the fuzzer should hit the limit checks, not waste time inflating 512 MiB.
inline IngestLimits fuzz_limits() {
    IngestLimits limits;
    limits.max_input = 16ull << 20;
    limits.max_expanded = 8ull << 20;
    limits.max_ratio = 100;  // a bomb is stopped after 1 MiB, not 8: ratio is checked past 1 MiB
    limits.max_message = 4ull << 20;
    limits.max_zip_entries = 16;
    limits.max_records = 128;     // the seeds have fewer; crafted-many-records has more
    limits.max_field = 4 * 1024;  // crafted-long-field has more
    return limits;
}

/// An input that starts with this byte is also read as tokens (see map_tokens). No real report,
/// message or archive starts with it, so seeds keep their raw meaning.
inline constexpr std::uint8_t token_mode = 0x01;

/// Maps bytes onto a grammar, as mail-auth's fuzz target does: each byte from 0x80 up stands for
/// one entry of `tokens`, every other byte stands for itself. A few mutations then produce a
/// well-formed skeleton instead of needing the exact bytes of "<policy_published>".
inline std::string map_tokens(std::string_view prefix, std::span<const std::uint8_t> in,
                              std::span<const std::string_view> tokens) {
    std::string out(prefix);
    out.reserve(prefix.size() + in.size() * 4);
    for (std::uint8_t b : in) {
        if (b >= 0x80 && !tokens.empty()) {
            out += tokens[(b - 0x80u) % tokens.size()];
        } else {
            out += static_cast<char>(b);
        }
    }
    return out;
}

/// The error contract every parser promises (STYLE §4: results say why): a reason, and a
/// describe() that works on whatever location the parser filled in. Aborting here turns a
/// silent contract break into a fuzzer finding.
inline void check_error(const Error& error) {
    if (error.reason.empty()) __builtin_trap();
    auto text = error.describe();
    if (text.empty()) __builtin_trap();
}

inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const std::byte*>(data), size};
}

/// The same bytes as a MemorySource, handed out a few at a time (1 to 13 bytes per read, in a
/// pattern that depends on `seed`). A streaming parser must give the same answer whatever the
/// chunk boundaries: an encoding sniffer, a UTF-8 repair or a libarchive callback that assumes
/// a whole header arrives in one read shows up as a difference.
class TrickleSource final : public ByteSource {
public:
    TrickleSource(std::span<const std::byte> bytes, std::size_t seed) noexcept
        : bytes_(bytes), step_(seed % 13) {}
    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> buffer) override {
        step_ = (step_ * 7 + 3) % 13;
        const std::size_t n = std::min({buffer.size(), bytes_.size(), step_ + 1});
        if (n != 0) std::memcpy(buffer.data(), bytes_.data(), n);
        bytes_ = bytes_.subspan(n);
        return n;
    }

private:
    std::span<const std::byte> bytes_;
    std::size_t step_;
};

/// One thing a parse or an unpack produced, for comparing two runs over the same bytes.
struct Event {
    std::string what;          // "record 192.0.2.1|3|example.com", "aggregate a.zip > b.xml"
    std::optional<Errc> code;  // set for a failure
    std::string detail;        // the failure's reason, when it is comparable
};

/// True for expat's own syntax errors, whose wording depends on where expat's buffer ended when
/// it gave up ("XML declaration not well-formed" at once, "invalid token" in pieces).
inline bool expat_syntax_error(const std::string& detail) {
    return detail.find("not well-formed XML: ") != std::string::npos;
}

/// Two runs agree when they produced the same events. Failures agree on their code and detail,
/// except where a limit was hit: a cap is checked between reads, so with other read sizes the
/// same input may run into a syntax error (or the end of the stream) first; and two syntax
/// errors of expat's agree whatever expat's wording.
inline bool same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].what != b[i].what || a[i].code.has_value() != b[i].code.has_value()) return false;
        if (!a[i].code) continue;
        if (a[i].code == Errc::limit_exceeded || b[i].code == Errc::limit_exceeded) continue;
        if (a[i].code == b[i].code && expat_syntax_error(a[i].detail) &&
            expat_syntax_error(b[i].detail))
            continue;
        if (a[i].code != b[i].code || a[i].detail != b[i].detail) return false;
    }
    return true;
}

/// Prints two transcripts of the same input that should agree, then aborts.
[[noreturn]] inline void report_difference(const char* what, const std::vector<Event>& whole,
                                           const std::vector<Event>& trickled) {
    auto print = [](const std::vector<Event>& events) {
        for (const auto& e : events) {
            std::fprintf(stderr, "   %s", printable(e.what).c_str());
            if (e.code)
                std::fprintf(stderr, " -> %s: %s", std::string(to_string(*e.code)).c_str(),
                             printable(e.detail).c_str());
            std::fprintf(stderr, "\n");
        }
    };
    std::fprintf(stderr, "%s: the result depends on how the input is split into reads\n", what);
    std::fprintf(stderr, "-- read at once:\n");
    print(whole);
    std::fprintf(stderr, "-- read a few bytes at a time:\n");
    print(trickled);
    __builtin_trap();
}

}  // namespace rampart::fuzz

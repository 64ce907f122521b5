// core: value types and the one error shape shared by every Rampart module.
//
// Standards: IP address text forms of RFC 4291 §2.2 and RFC 5952 (canonical IPv6 text), the
// epoch-seconds timestamps of RFC 7489 Appendix C / RFC 9990 `date_range`.
// Trust: everything here is pure; parse functions accept text from strangers and never assert on it.
// Errors: parse functions return `Error{Errc::malformed, ...}`; nothing here does I/O.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rampart {

enum class Errc : std::uint8_t {
    malformed,       // violates the grammar: permanent for this input
    limit_exceeded,  // too big, too deep, too many: permanent for this input
    unsupported,     // well-formed but not handled (unknown version, algorithm)
    not_found,       // NXDOMAIN / NODATA / no such row
    transient,       // timeout, SERVFAIL, database busy: try again later
    io,              // local disk or socket failure
    conflict,        // somebody else changed it first
    denied,          // refused for safety: a secret in a file others can read
};
std::string_view to_string(Errc code) noexcept;

/// Where an error happened, from the outermost container to the innermost stream.
struct Location {
    std::string source;        // "mail.mbox > message 3 > part 2 report.zip > x.xml"
    std::uint64_t offset = 0;  // byte offset in the innermost stream
    std::uint32_t line = 0, column = 0;
    std::string path;  // "feedback/record[17]/row/source_ip"

    /// A location one container deeper: "outer > inner".
    [[nodiscard]] Location nested(std::string_view inner) const;
};

struct Error {
    Errc code = Errc::malformed;
    std::string reason;  // one sentence, safe to show to a user
    Location where;

    /// "source: line L col C (offset O): path: reason", leaving out the parts that are unknown.
    [[nodiscard]] std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(Errc code, std::string reason,
                                                 Location where = {}) {
    return std::unexpected(Error{code, std::move(reason), std::move(where)});
}

/// Programmer errors only: no input may ever trigger one. Active in every build.
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line) noexcept;
#define RAMPART_ASSERT(expr) \
    ((expr) ? static_cast<void>(0) : ::rampart::assertion_failed(#expr, __FILE__, __LINE__))

/// Caps on untrusted input. Passed explicitly to every parser and unpacker; the defaults are
/// generous for real reports (the largest seen in the wild are a few MB) and stop bombs early.
struct IngestLimits {
    std::uint64_t max_input = 1ull << 30;          // bytes read from one file or message
    std::uint64_t max_expanded = 512ull << 20;     // bytes after decompression, per report
    std::uint64_t max_ratio = 1000;                // expanded/compressed, checked past 1 MiB
    std::uint64_t max_message = 64ull << 20;       // one e-mail message held in memory
    std::uint32_t max_zip_entries = 64;            // entries looked at in one zip
    std::uint32_t max_nesting = 8;                 // containers inside containers
    std::uint32_t max_xml_depth = 32;              // element nesting in a report
    std::uint64_t max_records = 10'000'000;        // <record> elements in one report
    std::uint32_t max_field = 64 * 1024;           // bytes in one element's text
};

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as the IPv4 address it
/// carries, so the same sender is the same key whatever form a reporter wrote.
class IpAddress {
public:
    enum class Family : std::uint8_t { v4, v6 };

    /// Accepts any textual form of RFC 4291 §2.2 (and dotted-quad IPv4), surrounding whitespace
    /// and an IPv6 zone-less bracketed form "[...]". Returns Errc::malformed otherwise.
    [[nodiscard]] static Result<IpAddress> parse(std::string_view text);

    [[nodiscard]] Family family() const noexcept { return family_; }
    /// Canonical text: dotted quad, or RFC 5952 for IPv6.
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
        return {bytes_.data(), family_ == Family::v4 ? 4u : 16u};
    }
    auto operator<=>(const IpAddress&) const = default;

private:
    Family family_ = Family::v4;
    std::array<std::uint8_t, 16> bytes_{};
};

/// An address block: `address` with the host bits cleared, and the prefix length.
struct Network {
    IpAddress address;
    std::uint8_t prefix = 0;
    [[nodiscard]] std::string to_string() const;  // "192.0.2.0/24"
    [[nodiscard]] bool contains(const IpAddress& ip) const noexcept;
    /// True when the two blocks share at least one address (one contains the other).
    [[nodiscard]] bool overlaps(const Network& other) const noexcept;
    auto operator<=>(const Network&) const = default;
};
/// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits must be zero.
[[nodiscard]] Result<Network> parse_network(std::string_view text);

using Timestamp = std::chrono::sys_seconds;

/// Epoch seconds as real reporters write them: "1524268799", " 1524268799 ", "1337270400.0"
/// (Netease writes floats). Fractions other than zero and values outside 1970..9999 are malformed.
[[nodiscard]] Result<Timestamp> parse_epoch_seconds(std::string_view text);

/// "2026-11-23" or "2026-11-23T10:00:00Z" (UTC), for command-line dates.
[[nodiscard]] Result<Timestamp> parse_date(std::string_view text);
/// "2026-11-23T10:00:00Z"
[[nodiscard]] std::string format_timestamp(Timestamp t);
/// "2026-11-23": a UTC day, or the day a timestamp falls on.
[[nodiscard]] std::string format_day(std::chrono::sys_days day);
[[nodiscard]] std::string format_day(Timestamp t);

[[nodiscard]] std::string_view trim(std::string_view text) noexcept;
[[nodiscard]] std::string ascii_lower(std::string_view text);
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// Text from strangers made safe for a terminal or a log line: control characters, backslashes
/// and invalid UTF-8 become \xNN escapes; printable UTF-8 is kept.
[[nodiscard]] std::string printable(std::string_view text);

/// A stream of bytes read in chunks: files, decompressors and archive entries all look like this
/// to the parsers, so a 200 MB report never has to be in memory at once.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    /// Fills up to `buffer.size()` bytes; returns 0 at the end of the stream. Errors carry the
    /// reason (truncated archive, limit exceeded, disk error) and are final for the stream.
    [[nodiscard]] virtual Result<std::size_t> read(std::span<std::byte> buffer) = 0;
};

/// A ByteSource over bytes someone else owns.
class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> buffer) override;

private:
    std::span<const std::byte> bytes_;
};

[[nodiscard]] inline std::span<const std::byte> as_bytes(std::string_view text) noexcept {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}
[[nodiscard]] inline std::string_view as_chars(std::span<const std::byte> bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Lower-case hexadecimal of bytes.
[[nodiscard]] std::string hex(std::span<const std::uint8_t> bytes);

}  // namespace rampart

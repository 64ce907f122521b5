#include "core/core.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace rampart {

std::string_view to_string(Errc code) noexcept {
    switch (code) {
        case Errc::malformed: return "malformed";
        case Errc::limit_exceeded: return "limit_exceeded";
        case Errc::unsupported: return "unsupported";
        case Errc::not_found: return "not_found";
        case Errc::transient: return "transient";
        case Errc::io: return "io";
        case Errc::conflict: return "conflict";
        case Errc::denied: return "denied";
    }
    return "unknown";
}

Location Location::nested(std::string_view inner) const {
    Location out;
    out.source = source.empty() ? std::string(inner) : fmt::format("{} > {}", source, inner);
    return out;
}

std::string Error::describe() const {
    std::string out = where.source;
    auto sep = [&out] {
        if (!out.empty()) out += ": ";
    };
    if (where.line != 0) {
        sep();
        out += fmt::format("line {} col {} (offset {})", where.line, where.column, where.offset);
    }
    if (!where.path.empty()) {
        sep();
        out += where.path;
    }
    sep();
    out += reason;
    return out;
}

void assertion_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "rampart: internal error: assertion '%s' failed at %s:%d\n", expr, file,
                 line);
    std::abort();
}

std::string_view trim(std::string_view text) noexcept {
    constexpr std::string_view space = " \t\r\n\v\f";
    auto first = text.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(space);
    return text.substr(first, last - first + 1);
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
    auto t = trim(text);
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    // inet_pton wants a NUL-terminated string; the longest valid form is 45 characters.
    if (t.empty() || t.size() > 45)
        return fail(Errc::malformed, fmt::format("\"{}\" is not an IP address", printable(text)));
    char buf[46];
    std::memcpy(buf, t.data(), t.size());
    buf[t.size()] = '\0';
    IpAddress ip;
    if (t.find(':') == std::string_view::npos) {
        // inet_pton(AF_INET) accepts only the strict dotted quad, which is what we want:
        // "108r.166.27.220" (OpenDMARC's bad.com sample) and "1.2.3" are refused.
        if (inet_pton(AF_INET, buf, ip.bytes_.data()) != 1)
            return fail(Errc::malformed, fmt::format("\"{}\" is not an IP address", printable(t)));
        ip.family_ = Family::v4;
        return ip;
    }
    std::array<std::uint8_t, 16> v6{};
    if (inet_pton(AF_INET6, buf, v6.data()) != 1)
        return fail(Errc::malformed, fmt::format("\"{}\" is not an IP address", printable(t)));
    static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.data(), mapped_prefix, 12) == 0) {
        ip.family_ = Family::v4;
        std::memcpy(ip.bytes_.data(), v6.data() + 12, 4);
        return ip;
    }
    ip.family_ = Family::v6;
    ip.bytes_ = v6;
    return ip;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    // glibc's inet_ntop writes RFC 5952 text: lower case, longest zero run compressed.
    inet_ntop(family_ == Family::v4 ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

namespace {
constexpr std::int64_t max_epoch = 253402300799;  // 9999-12-31T23:59:59Z
}

Result<Timestamp> parse_epoch_seconds(std::string_view text) {
    auto t = trim(text);
    auto bad = [&] {
        return fail(Errc::malformed, fmt::format("\"{}\" is not a Unix timestamp", printable(text)));
    };
    if (t.empty()) return bad();
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc{}) return bad();
    std::string_view rest(end, static_cast<std::size_t>(t.data() + t.size() - end));
    if (!rest.empty()) {
        // Netease (163.com, 126.com) writes "1337270400.0"; accept an all-zero fraction only.
        if (rest.front() != '.' || rest.size() == 1) return bad();
        for (char c : rest.substr(1))
            if (c != '0') return bad();
    }
    if (value < 0 || value > max_epoch) return bad();
    return Timestamp{std::chrono::seconds{value}};
}

Result<Timestamp> parse_date(std::string_view text) {
    auto t = trim(text);
    int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;
    auto num = [&](std::size_t pos, std::size_t len, int& out) {
        if (pos + len > t.size()) return false;
        auto [p, ec] = std::from_chars(t.data() + pos, t.data() + pos + len, out);
        return ec == std::errc{} && p == t.data() + pos + len;
    };
    bool ok = t.size() >= 10 && num(0, 4, y) && t[4] == '-' && num(5, 2, m) && t[7] == '-' &&
              num(8, 2, d);
    if (ok && t.size() > 10) {
        ok = (t[10] == 'T' || t[10] == ' ') && num(11, 2, hh) && t.size() >= 19 && t[13] == ':' &&
             num(14, 2, mm) && t[16] == ':' && num(17, 2, ss) &&
             (t.size() == 19 || (t.size() == 20 && (t[19] == 'Z' || t[19] == 'z')));
    }
    std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{unsigned(m)},
                                    std::chrono::day{unsigned(d)}};
    if (!ok || !ymd.ok() || hh > 23 || mm > 59 || ss > 60)
        return fail(Errc::malformed,
                    fmt::format("\"{}\" is not a date (expected YYYY-MM-DD or "
                                "YYYY-MM-DDTHH:MM:SSZ)",
                                printable(text)));
    return Timestamp{std::chrono::sys_days{ymd}} + std::chrono::hours{hh} +
           std::chrono::minutes{mm} + std::chrono::seconds{ss};
}

std::string format_day(std::chrono::sys_days day) {
    const std::chrono::year_month_day ymd{day};
    return fmt::format("{:04}-{:02}-{:02}", int(ymd.year()), unsigned(ymd.month()),
                       unsigned(ymd.day()));
}

std::string format_day(Timestamp t) { return format_day(std::chrono::floor<std::chrono::days>(t)); }

std::string format_timestamp(Timestamp t) {
    auto days = std::chrono::floor<std::chrono::days>(t);
    std::chrono::year_month_day ymd{days};
    std::chrono::hh_mm_ss hms{t - days};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(ymd.year()),
                       unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count());
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    auto escape = [&out](unsigned char c) { out += fmt::format("\\x{:02x}", c); };
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f || c == '\\') escape(c);
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Validate one UTF-8 sequence; anything else is escaped byte by byte.
        std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool ok = len != 0 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            escape(c);
            ++i;
        }
    }
    return out;
}

Result<std::size_t> MemorySource::read(std::span<std::byte> buffer) {
    auto n = std::min(buffer.size(), bytes_.size());
    if (n != 0) std::memcpy(buffer.data(), bytes_.data(), n);  // data() may be null when empty
    bytes_ = bytes_.subspan(n);
    return n;
}

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string Network::to_string() const {
    return fmt::format("{}/{}", address.to_string(), prefix);
}

bool Network::contains(const IpAddress& ip) const noexcept {
    if (ip.family() != address.family()) return false;
    auto a = address.bytes();
    auto b = ip.bytes();
    unsigned bits = prefix;
    for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
        unsigned take = bits >= 8 ? 8u : bits;
        auto mask = static_cast<std::uint8_t>(0xffu << (8u - take));
        if ((a[i] & mask) != (b[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

bool Network::overlaps(const Network& other) const noexcept {
    // Two aligned blocks overlap exactly when the wider one contains the other's base.
    return prefix <= other.prefix ? contains(other.address) : other.contains(address);
}

Result<Network> parse_network(std::string_view text) {
    text = trim(text);
    auto slash = text.find('/');
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::unexpected(std::move(address.error()));
    unsigned max = address->family() == IpAddress::Family::v4 ? 32u : 128u;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
            prefix > max || (digits.size() > 1 && digits[0] == '0'))
            return fail(Errc::malformed, fmt::format("'{}' has a bad prefix length", printable(text)));
    }
    Network n{.address = *address, .prefix = static_cast<std::uint8_t>(prefix)};
    // Host bits set usually means a typo in the address or the length: refuse rather than guess.
    auto bytes = address->bytes();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        unsigned first_bit = static_cast<unsigned>(i) * 8u;
        if (first_bit + 8u <= prefix) continue;
        unsigned keep = prefix > first_bit ? prefix - first_bit : 0u;
        auto host_mask = static_cast<std::uint8_t>(0xffu >> keep);
        if ((bytes[i] & host_mask) != 0)
            return fail(Errc::malformed,
                        fmt::format("'{}' has host bits set beyond /{}", printable(text), prefix));
    }
    return n;
}

}  // namespace rampart

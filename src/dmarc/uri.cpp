// rua/ruf URIs (RFC 9989 §4.7 "dmarc-uri", RFC 3986 §3, RFC 6068 for mailto).
//
// A DMARC URI is an RFC 3986 URI in which "," and "!" must be %-encoded, optionally followed by
// the obsolete size suffix "!" 1*DIGIT [k|m|g|t] (RFC 7489 §6.2; RFC 9989 keeps it only as
// obs-dmarc-report-size, which reporters ignore).
#include <array>
#include <limits>

#include <fmt/format.h>

#include "dmarc/internal.hpp"

namespace rampart::dmarc::detail {
namespace {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr int hex_value(char c) noexcept {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

// RFC 3986 characters allowed outside %-escapes: unreserved, sub-delims, ":", "@", "/", "?",
// "#", "[", "]". "," and "!" are sub-delims there but DMARC reserves them (list separator, size).
bool is_uri_char(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) return true;
    constexpr std::string_view allowed = "-._~$&'()*+=:@/?#[]";
    return allowed.find(c) != std::string_view::npos;
}

bool valid_scheme(std::string_view scheme) noexcept {
    if (scheme.empty() || !is_alpha(scheme.front())) return false;
    for (const char c : scheme) {
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
    }
    return true;
}

std::string describe_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f) return fmt::format("\"{}\"", c);
    return fmt::format("byte 0x{:02x}", u);
}

/// The reason the scheme-specific part is not URI text, or "".
std::string check_uri_chars(std::string_view rest) {
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const char c = rest[i];
        if (c == '%') {
            if (i + 2 >= rest.size() || !is_hex(rest[i + 1]) || !is_hex(rest[i + 2])) {
                return "a \"%\" is not followed by two hex digits";
            }
            i += 2;
            continue;
        }
        if (c == ',') return "it contains an unencoded \",\" (write %2C)";
        if (c == '!') return "it contains an unencoded \"!\" (write %21)";
        if (!is_uri_char(c)) return fmt::format("{} is not allowed in a URI", describe_char(c));
    }
    return {};
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2])) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

struct SizeOutcome {
    std::optional<std::uint64_t> bytes;
    std::string reason;
};

/// "10m" → 10 MiB. Units are powers of 1024 (RFC 7489 §6.2: "k" kibibytes ... "t" tebibytes).
SizeOutcome parse_size(std::string_view text) {
    std::uint64_t value = 0;
    std::size_t i = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (; i < text.size() && is_digit(text[i]); ++i) {
        const auto digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (max - digit) / 10) return {std::nullopt, "the size limit overflows"};
        value = value * 10 + digit;
    }
    if (i == 0) return {std::nullopt, "the size after \"!\" has no digits"};
    unsigned shift = 0;
    if (i < text.size()) {
        switch (text[i] | 0x20) {
            case 'k': shift = 10; break;
            case 'm': shift = 20; break;
            case 'g': shift = 30; break;
            case 't': shift = 40; break;
            default: return {std::nullopt, "the size unit is not one of k, m, g, t"};
        }
        if (i + 1 != text.size()) return {std::nullopt, "text follows the size unit"};
    }
    if (shift != 0 && value > (max >> shift)) return {std::nullopt, "the size limit overflows"};
    return {value << shift, {}};
}

/// Fills address and domain of a mailto URI from its first address (RFC 6068 separates several
/// addresses with a comma, which DMARC requires as %2C); the reason it is unusable otherwise.
std::string fill_mailto(ReportUri& uri, std::string_view rest) {
    const auto query = rest.find('?');
    const std::string addresses = percent_decode(rest.substr(0, query));
    const std::string_view address = std::string_view(addresses).substr(0, addresses.find(','));
    if (address.empty()) return "the mailto URI has no address";
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return "the mailto address has no \"@\"";
    if (at == 0) return "the mailto address has an empty local part";
    auto domain = dns::normalize_name(address.substr(at + 1));
    if (!domain) return "the mailto address's domain is not valid: " + domain.error().reason;
    uri.address = std::string(address);
    uri.domain = std::move(*domain);
    return {};
}

}  // namespace

UriOutcome parse_report_uri(std::string_view text) {
    if (text.empty()) return {std::nullopt, "an empty URI"};
    const auto bang = text.find('!');
    const std::string_view body = text.substr(0, bang);
    const auto colon = body.find(':');
    if (colon == std::string_view::npos) {
        return {std::nullopt, "it has no scheme such as \"mailto:\" (a \",\" inside one URI must be "
                              "written %2C)"};
    }
    const std::string_view scheme = body.substr(0, colon);
    if (!valid_scheme(scheme)) return {std::nullopt, "the scheme is not valid"};
    const std::string_view rest = body.substr(colon + 1);
    if (auto reason = check_uri_chars(rest); !reason.empty()) return {std::nullopt, reason};

    ReportUri uri;
    uri.uri = std::string(body);
    uri.scheme = ascii_lower(scheme);
    if (bang != std::string_view::npos) {
        auto size = parse_size(text.substr(bang + 1));
        if (!size.bytes) return {std::nullopt, size.reason};
        uri.size_limit = size.bytes;
    }
    if (uri.is_mailto()) {
        if (auto reason = fill_mailto(uri, rest); !reason.empty()) return {std::nullopt, reason};
    } else if (rest.empty()) {
        return {std::nullopt, "nothing follows the scheme"};
    }
    return {std::move(uri), {}};
}

std::string format_size(std::uint64_t bytes) {
    constexpr std::array<std::pair<unsigned, char>, 4> units{
        {{40, 't'}, {30, 'g'}, {20, 'm'}, {10, 'k'}}};
    if (bytes != 0) {
        for (const auto& [shift, unit] : units) {
            const std::uint64_t scale = std::uint64_t{1} << shift;
            if (bytes % scale == 0) return fmt::format("{}{}", bytes / scale, unit);
        }
    }
    return fmt::format("{}", bytes);
}

}  // namespace rampart::dmarc::detail

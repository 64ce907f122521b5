// Macro expansion, RFC 7208 §7.
//
//   macro-string = *( macro-expand / macro-literal )
//   macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
//   transformers = *DIGIT [ "r" ]
//   delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
//   macro-literal = %x21-24 / %x26-7E
#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "spf/detail.hpp"

namespace rampart::spf {
namespace {

constexpr std::string_view delimiters = ".-+,/_=";
// A name has at most 127 labels; any count at or above that keeps every part.
constexpr std::size_t max_parts = 128;

bool is_delimiter(char c) noexcept { return delimiters.find(c) != std::string_view::npos; }

bool is_macro_literal(char c, MacroUse use) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ') return use == MacroUse::explanation;  // explain-string = *( macro-string / SP )
    return u >= 0x21 && u <= 0x7e && u != '%';
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool is_letter_allowed(char letter, MacroUse use) noexcept {
    switch (lower(letter)) {
        case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
            return true;
        case 'c': case 'r': case 't':
            return use == MacroUse::explanation;
        default:
            return false;
    }
}

/// One "%{...}" after its opening "%{": letter, digit count, reversal, delimiters.
struct MacroSpec {
    char letter = 0;
    std::size_t keep = 0;  // 0: all parts
    bool reverse = false;
    std::string_view delims;  // empty: "."
    std::size_t length = 0;   // octets consumed from the opening '%' through '}'
};

Result<MacroSpec> read_macro(std::string_view text, std::size_t at, MacroUse use) {
    // text[at] == '%', text[at + 1] == '{'
    MacroSpec spec;
    std::size_t i = at + 2;
    if (i >= text.size()) return fail(Errc::malformed, "\"%{\" is not closed");
    spec.letter = text[i++];
    if (!is_letter_allowed(spec.letter, use)) {
        const auto l = lower(spec.letter);
        if (l == 'c' || l == 'r' || l == 't')
            return fail(Errc::malformed,
                        fmt::format("macro %{{{}}} is allowed only in explanation text",
                                    printable(std::string_view(&spec.letter, 1))));
        return fail(Errc::malformed, fmt::format("unknown macro letter \"{}\"",
                                                 printable(std::string_view(&spec.letter, 1))));
    }
    const std::size_t digits_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i > digits_begin) {
        auto digits = text.substr(digits_begin, i - digits_begin);
        // Leading zeros carry no value; a run longer than three digits keeps every part anyway.
        while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
        if (digits == "0")
            return fail(Errc::malformed, "a macro's digit transformer must not be zero");
        std::size_t n = max_parts;
        if (digits.size() <= 3) std::from_chars(digits.data(), digits.data() + digits.size(), n);
        spec.keep = std::min(n, max_parts);
    }
    if (i < text.size() && (text[i] == 'r' || text[i] == 'R')) {
        spec.reverse = true;
        ++i;
    }
    const std::size_t delims_begin = i;
    while (i < text.size() && is_delimiter(text[i])) ++i;
    spec.delims = text.substr(delims_begin, i - delims_begin);
    if (i >= text.size() || text[i] != '}')
        return fail(Errc::malformed, "a macro \"%{...}\" is malformed or not closed");
    spec.length = i + 1 - at;
    return spec;
}

/// Length of the escape or macro starting at text[at] == '%', or an error.
Result<std::size_t> token_length(std::string_view text, std::size_t at, MacroUse use) {
    if (at + 1 >= text.size()) return fail(Errc::malformed, "a '%' ends the macro-string");
    switch (text[at + 1]) {
        case '%': case '_': case '-': return std::size_t{2};
        case '{': {
            auto spec = read_macro(text, at, use);
            if (!spec) return std::unexpected(std::move(spec.error()));
            return spec->length;
        }
        default:
            return fail(Errc::malformed,
                        fmt::format("'%' followed by \"{}\"; write \"%%\" for a percent sign",
                                    printable(text.substr(at + 1, 1))));
    }
}

std::string nibbles(const IpAddress& ip) {
    static constexpr std::array<char, 16> hex_digits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                     '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(63);
    for (const auto b : ip.bytes()) {
        if (!out.empty()) out.push_back('.');
        out.push_back(hex_digits[b >> 4]);
        out.push_back('.');
        out.push_back(hex_digits[b & 0xf]);
    }
    return out;
}

std::string letter_value(char letter, const MacroContext& ctx) {
    switch (lower(letter)) {
        case 's': return ctx.sender;
        case 'l': return ctx.local_part;
        case 'o': return ctx.sender_domain;
        case 'd': return ctx.domain;
        case 'i':
            // §7.3: IPv6 addresses are written as dot-separated nibbles.
            return ctx.ip.family() == IpAddress::Family::v4 ? ctx.ip.to_string() : nibbles(ctx.ip);
        case 'p': {
            auto name = ctx.validated_name ? ctx.validated_name() : std::string();
            return name.empty() ? std::string("unknown") : name;
        }
        case 'v': return ctx.ip.family() == IpAddress::Family::v4 ? "in-addr" : "ip6";
        case 'h': return ctx.helo;
        case 'c': return ctx.ip.to_string();
        case 'r': return ctx.receiver;
        case 't': return std::to_string(ctx.now.time_since_epoch().count());
        default: return {};
    }
}

/// §7.3: split on the delimiters, reverse if asked, keep the right-most parts, join with ".".
void transform(std::string_view value, const MacroSpec& spec, std::string& out) {
    const std::string_view delims = spec.delims.empty() ? std::string_view(".") : spec.delims;
    if (spec.keep == 0 && !spec.reverse && delims == ".") {
        out += value;
        return;
    }
    std::vector<std::string_view> parts;
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || delims.find(value[i]) != std::string_view::npos) {
            parts.push_back(value.substr(begin, i - begin));
            begin = i + 1;
        }
    }
    if (spec.reverse) std::reverse(parts.begin(), parts.end());
    const std::size_t first =
        spec.keep != 0 && spec.keep < parts.size() ? parts.size() - spec.keep : 0;
    for (std::size_t i = first; i < parts.size(); ++i) {
        if (i != first) out.push_back('.');
        out += parts[i];
    }
}

/// §7.3: upper-case macro letters are URL-escaped; everything outside RFC 3986 "unreserved".
void url_escape(std::string_view text, std::string& out) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                                (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' ||
                                u == '~';
        if (unreserved) out.push_back(c);
        else out += fmt::format("%{:02X}", u);
    }
}

}  // namespace

namespace detail {

Result<MacroScan> scan_macro_string(std::string_view text, MacroUse use) {
    MacroScan scan;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '%') {
            if (!is_macro_literal(text[i], use))
                return fail(Errc::malformed,
                            fmt::format("character \"{}\" is not allowed in a macro-string",
                                        printable(text.substr(i, 1))));
            scan.ends_with_macro = false;
            ++i;
            continue;
        }
        auto length = token_length(text, i, use);
        if (!length) return std::unexpected(std::move(length.error()));
        if (text[i + 1] == '{') scan.has_macro = true;
        scan.ends_with_macro = true;
        i += *length;
    }
    return scan;
}

bool is_toplabel(std::string_view label) noexcept {
    if (label.empty()) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    bool has_alpha = false, has_hyphen = false;
    for (const char c : label) {
        if (c == '-') has_hyphen = true;
        else if (!alnum(c)) return false;
        else if (!(c >= '0' && c <= '9')) has_alpha = true;
    }
    if (!has_hyphen) return has_alpha;
    return alnum(label.front()) && alnum(label.back());
}

std::optional<std::string> target_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return std::nullopt;
    std::string out(name);
    std::size_t label = 0;
    for (auto& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
            continue;
        }
        if (u >= 0x80 || u < 0x20 || u == 0x7f || ++label > 63) return std::nullopt;
        c = lower(c);
    }
    if (label == 0) return std::nullopt;
    return out;
}

void truncate_to_253(std::string& name) {
    // A trailing dot is not part of the length (§7.3 counts the name, not its root).
    const std::size_t root = !name.empty() && name.back() == '.' ? 1 : 0;
    std::size_t cut = 0;
    while (name.size() - cut - root > 253) {
        const auto dot = name.find('.', cut);
        if (dot == std::string::npos || dot + 1 >= name.size()) break;
        cut = dot + 1;
    }
    if (cut != 0) name.erase(0, cut);
}

bool is_printable_ascii(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f;
    });
}

}  // namespace detail

Result<std::string> expand(std::string_view macro_string, const MacroContext& context,
                           MacroUse use) {
    std::string out;
    out.reserve(macro_string.size() + 16);
    for (std::size_t i = 0; i < macro_string.size();) {
        const char c = macro_string[i];
        if (c != '%') {
            if (!is_macro_literal(c, use))
                return fail(Errc::malformed,
                            fmt::format("character \"{}\" is not allowed in a macro-string",
                                        printable(macro_string.substr(i, 1))));
            out.push_back(c);
            ++i;
            continue;
        }
        if (i + 1 >= macro_string.size())
            return fail(Errc::malformed, "a '%' ends the macro-string");
        const char next = macro_string[i + 1];
        if (next == '%' || next == '_' || next == '-') {
            out += next == '%' ? "%" : next == '_' ? " " : "%20";
            i += 2;
            continue;
        }
        if (next != '{') {
            auto length = token_length(macro_string, i, use);
            return std::unexpected(std::move(length.error()));
        }
        auto spec = read_macro(macro_string, i, use);
        if (!spec) return std::unexpected(std::move(spec.error()));
        const auto value = letter_value(spec->letter, context);
        if (spec->letter >= 'A' && spec->letter <= 'Z') {
            std::string plain;
            transform(value, *spec, plain);
            url_escape(plain, out);
        } else {
            transform(value, *spec, out);
        }
        i += spec->length;
    }
    if (use == MacroUse::domain_spec) detail::truncate_to_253(out);
    return out;
}

}  // namespace rampart::spf

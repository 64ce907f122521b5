// authres: the character classes of RFC 8601 §2.2, RFC 2045 §5.1 and RFC 5322 §3.2, shared by
// the parser and the writer so that what one writes the other reads.
#pragma once

#include <string_view>

namespace rampart::authres::syntax {

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/// CTL of RFC 5234 except HTAB, which is whitespace wherever CTLs are refused here.
[[nodiscard]] constexpr bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
}
/// RFC 8601 `Keyword` (RFC 5321 Ldh-str): letters, digits, hyphens.
[[nodiscard]] constexpr bool is_keyword_char(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-';
}
/// RFC 2045 token: US-ASCII without SPACE, CTLs and tspecials.
[[nodiscard]] constexpr bool is_token_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}
/// An unquoted reason or property value as real headers write it: anything visible but the
/// delimiters of the surrounding grammar (comment, quote, ";") and the backslash.
[[nodiscard]] constexpr bool is_loose_value_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
    return std::string_view("()\";\\").find(c) == std::string_view::npos;
}
/// RFC 5322 atext: what a dot-atom local-part is made of.
[[nodiscard]] constexpr bool is_atext(char c) noexcept {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

}  // namespace rampart::authres::syntax

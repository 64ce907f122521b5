// spf internals shared by the record parser, macro expansion, check_host() and inspect().
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "spf/spf.hpp"

namespace rampart::spf::detail {

/// What a syntax check of a macro-string found.
struct MacroScan {
    bool has_macro = false;        // at least one "%{...}"
    bool ends_with_macro = false;  // the last token is a macro-expand (§7.1 domain-end)
};

/// Checks macro-string syntax (§7.1) without expanding. For MacroUse::domain_spec the letters
/// c, r and t are refused (§7.3) and spaces are not macro-literals; explanations allow both.
[[nodiscard]] Result<MacroScan> scan_macro_string(std::string_view text, MacroUse use);

/// toplabel of §7.1: alphanumerics with at least one letter, or alphanumerics around hyphens.
[[nodiscard]] bool is_toplabel(std::string_view label) noexcept;

/// A name produced by expansion, made queryable: one trailing dot dropped, ASCII lower-cased;
/// nullopt for an empty label, a label over 63 octets, a name over 253 octets, non-ASCII or
/// control octets. Unlike dns::normalize_name, spaces are kept: "%_" puts them there (§7.1).
[[nodiscard]] std::optional<std::string> target_name(std::string_view name);

/// §7.3: drops labels from the left until the name fits in 253 octets.
void truncate_to_253(std::string& name);

/// The ASCII-only, printable check for text that leaves SPF (explanations).
[[nodiscard]] bool is_printable_ascii(std::string_view text) noexcept;

}  // namespace rampart::spf::detail

// dmarc internals shared by the module's own files; not part of the public interface.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dmarc/dmarc.hpp"

namespace rampart::dmarc::detail {

/// WSP of RFC 5234: space and horizontal tab, the only whitespace the DMARC ABNF allows.
[[nodiscard]] constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
[[nodiscard]] std::string_view trim_wsp(std::string_view text) noexcept;

/// One "name=value" piece of a tag list, with the offsets of its parts in the record text.
struct RawTag {
    std::string_view name;   // trimmed; empty when the piece has no "="
    std::string_view value;  // trimmed
    std::string_view piece;  // the whole piece, trimmed
    std::size_t offset = 0;        // of the piece
    std::size_t value_offset = 0;  // of the value
    bool has_equals = false;
};

/// Splits at ";" (values cannot contain one, RFC 9989 §4.7). Empty pieces are kept so the parser
/// can report ";;". A trailing ";" yields no piece.
[[nodiscard]] std::vector<RawTag> split_tags(std::string_view text);

/// The reason `text` is not a DMARC record, or "" when its first tag is v=DMARC1.
[[nodiscard]] std::string not_dmarc_reason(std::string_view text);

/// Parses one rua/ruf list element. On failure returns the reason in `reason`.
struct UriOutcome {
    std::optional<ReportUri> uri;
    std::string reason;  // why it is not a valid URI
};
[[nodiscard]] UriOutcome parse_report_uri(std::string_view text);

/// "10m" style size text of a limit in bytes: the largest unit that divides it exactly.
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace rampart::dmarc::detail

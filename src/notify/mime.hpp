// notify's own business: the small encoders a single text/plain message needs.
#pragma once

#include <string>
#include <string_view>

#include "core/core.hpp"

namespace rampart::notify::detail {

/// The longest prefix of `text` of at most `limit` bytes that does not cut a UTF-8 character.
[[nodiscard]] std::string_view utf8_prefix(std::string_view text, std::size_t limit) noexcept;

/// `text` with every control character (CR and LF included) turned into a space, so a value
/// cannot end a header line and start another.
[[nodiscard]] std::string header_safe(std::string_view text);

/// True when every byte is printable ASCII or a space.
[[nodiscard]] bool is_plain_ascii(std::string_view text) noexcept;

/// RFC 2047 §4.2 "Q" encoded-words in UTF-8 for a header value that is not ASCII, each word at
/// most 75 characters and holding whole characters (§5), joined by CRLF SP (a fold: decoders
/// drop the white space between adjacent encoded-words). `first_line_room` is what is left of
/// the first line after the field name.
[[nodiscard]] std::string encode_words(std::string_view text, std::size_t first_line_room);

/// RFC 2045 §6.7 quoted-printable of LF-separated text: CRLF line ends, lines of at most 76
/// characters with soft breaks, white space at a line end encoded.
[[nodiscard]] std::string quoted_printable(std::string_view text);

/// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 13:28:30 +0000".
[[nodiscard]] std::string rfc5322_date(Timestamp t);

}  // namespace rampart::notify::detail

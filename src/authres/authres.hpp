// authres: the Authentication-Results header field (RFC 8601) and its ARC twin,
// ARC-Authentication-Results (RFC 8617 §4.1.1): parse a value as receivers write it, and write
// one for Rampart's own verdicts.
//
// Standards: RFC 8601 §2.2 (ABNF: authserv-id, version, "none", resinfo, methodspec, reasonspec,
// propspec), §2.3 (authserv-id), §2.7 (method and result names); RFC 5322 §3.2.2 (CFWS, nested
// comments), §3.2.4 (quoted-string); RFC 2045 §5.1 (token); RFC 8617 §4.1.1 ("i=N;" before the
// payload).
// Leniency (each seen in real headers): a trailing ";" after the last result; a bare
// `name=value` property without "ptype." (Microsoft 365 writes `action=none`), kept with an empty
// ptype; a property value written unquoted with characters RFC 2045 reserves ("/", "=", ":" in
// base64 header.b values and in smtp.remote-ip IPv6 addresses); octets from 0x80 up in quoted
// strings and comments (RFC 6532 UTF-8 headers). Keywords (method, result, ptype, property) are
// compared case-insensitively (RFC 8601 §2.2) and kept lower-cased.
// Trust: values come from strangers (other hops' headers). Parsing is linear, bounded by Limits
// (input size, results, properties, comment nesting), and never asserts on input.
// Errors: Errc::malformed with the reason and the byte offset in `where.offset`;
// Errc::limit_exceeded when a Limit is passed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace rampart::authres {

/// ptype "." property "=" pvalue, e.g. smtp.mailfrom=example.com, header.d=example.com.
struct Property {
    std::string ptype;     // "smtp", "header", "body", "policy", ...; "" for a bare name=value
    std::string property;  // "mailfrom", "d", "from", ...
    std::string value;     // quotes removed and quoted-pairs resolved; an address kept as written
    friend bool operator==(const Property&, const Property&) = default;
};

/// One resinfo: method[/version]=result [(comment)] [reason=...] [properties].
struct MethodResult {
    std::string method;                           // "spf", "dkim", "arc", "dmarc", ...
    std::optional<std::uint32_t> method_version;  // "dkim/1" → 1
    std::string result;                           // "pass", "fail", "none", ...
    /// The comment right after the result ("1024-bit key"), without its parentheses, nested
    /// parentheses kept; empty when none. Other comments carry nothing and are dropped.
    std::string comment;
    std::optional<std::string> reason;  // reason=
    std::vector<Property> properties;   // in order
    friend bool operator==(const MethodResult&, const MethodResult&) = default;
};

struct AuthenticationResults {
    std::string authserv_id;               // the host (or ADMD) that did the checks
    std::optional<std::uint32_t> version;  // authres-version; absent means 1
    std::vector<MethodResult> results;     // empty for "; none"
    friend bool operator==(const AuthenticationResults&, const AuthenticationResults&) = default;
};

/// An ARC-Authentication-Results value: "i=N; " then an Authentication-Results payload.
struct ArcAuthenticationResults {
    int instance = 0;  // 1..50 (RFC 8617 §4.2.1)
    AuthenticationResults results;
    friend bool operator==(const ArcAuthenticationResults&,
                           const ArcAuthenticationResults&) = default;
};

struct Limits {
    std::size_t max_bytes = 64 * 1024;   // a header value larger than this is refused
    std::size_t max_results = 100;       // resinfo entries
    std::size_t max_properties = 50;     // per resinfo
    std::size_t max_comment_depth = 32;  // nested comments
};

/// Parses a header value (the text after "Authentication-Results:", folding allowed).
/// Errc::malformed (offset of the first octet that does not fit) or Errc::limit_exceeded.
[[nodiscard]] Result<AuthenticationResults> parse(std::string_view value,
                                                  const Limits& limits = {});

/// Parses an ARC-Authentication-Results value: "i=" 1..50 ";" then what parse() reads.
/// Errc::malformed also for a missing or out-of-range instance.
[[nodiscard]] Result<ArcAuthenticationResults> parse_arc(std::string_view value,
                                                         const Limits& limits = {});

enum class Layout : std::uint8_t {
    folded,       // each resinfo on its own line: ";\r\n\t" between them
    single_line,  // "; " between them
};

/// Writes a header value that parse() reads back as `results`: values that are not RFC 2045
/// tokens (or, for properties, plain addresses such as user@example.com or @example.com) are
/// quoted, comments escaped. Control characters cannot appear in a header value and are written
/// as spaces, so text from strangers cannot start a new header line. An empty `results` list
/// is written "; none". Without a leading space: put it after "Authentication-Results: ".
[[nodiscard]] std::string format(const AuthenticationResults& results,
                                 Layout layout = Layout::folded);

/// "i=N; " followed by format(results).
[[nodiscard]] std::string format_arc(const ArcAuthenticationResults& results,
                                     Layout layout = Layout::folded);

/// A value written as a token when it is one, else as a quoted-string (RFC 2045 `value`).
[[nodiscard]] std::string quote_value(std::string_view value);

}  // namespace rampart::authres

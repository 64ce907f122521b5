// imap:// and imaps:// URLs (RFC 5092 §3, the subset that names a mailbox).
#include <charconv>

#include "mail/imap/imap.hpp"

namespace rampart::mail::imap {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// RFC 3986 §2.1 percent-decoding; a '%' not followed by two hex digits is malformed.
Result<std::string> percent_decode(std::string_view text, std::string_view what) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || hex_digit(text[i + 1]) < 0 || hex_digit(text[i + 2]) < 0)
            return fail(Errc::malformed, fmt::format("bad percent-escape in the {}", what));
        int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

}  // namespace

std::string MailboxUrl::identity() const {
    return fmt::format("{}@{}:{}/{}", user, host, port, folder);
}

Result<MailboxUrl> parse_url(std::string_view text) {
    Location where{.source = "the mailbox URL"};
    auto bad = [&](std::string reason) { return fail(Errc::malformed, std::move(reason), where); };
    MailboxUrl url;
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return bad("expected imaps://user@host[:port]/folder");
    auto scheme = ascii_lower(text.substr(0, sep));
    if (scheme == "imaps") {
        url.implicit_tls = true;
        url.port = 993;
    } else if (scheme == "imap") {
        url.implicit_tls = false;
        url.port = 143;
    } else {
        return bad(
            fmt::format("the scheme must be imaps:// or imap://, not {}://", printable(scheme)));
    }
    auto rest = text.substr(sep + 3);
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    auto path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (path.find_first_of("?#;") != std::string_view::npos)
        return bad("the URL may name a folder only: no ;parameters, ?query or #fragment");

    auto at = authority.rfind('@');
    if (at == std::string_view::npos)
        return bad("the URL must name the user: imaps://user@host/folder");
    auto userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos)
        return bad(
            "the URL must not contain a password: use --password-file or "
            "RAMPART_IMAP_PASSWORD");
    auto user = percent_decode(userinfo, "user name");
    if (!user) return std::unexpected(std::move(user.error()));
    if (user->empty()) return bad("the user name is empty");
    if (user->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return bad("the user name contains a line break or NUL");
    url.user = std::move(*user);

    auto hostport = authority.substr(at + 1);
    std::string_view host, port;
    if (hostport.starts_with('[')) {
        auto close = hostport.find(']');
        if (close == std::string_view::npos) return bad("unterminated [IPv6] host");
        host = hostport.substr(0, close + 1);
        auto ip = IpAddress::parse(host);
        if (!ip || ip->family() != IpAddress::Family::v6) return bad("bad [IPv6] host");
        auto after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad("unexpected text after the host");
            port = after.substr(1);
        }
    } else {
        auto colon = hostport.find(':');
        host = hostport.substr(0, colon);
        if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
        for (char c : host)
            if (!host_char(c)) return bad(fmt::format("bad host name {}", printable(host)));
    }
    if (host.empty() || host == "[]") return bad("the host is missing");
    url.host = ascii_lower(host);
    if (!port.empty() || hostport.ends_with(':')) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
            return bad(fmt::format("bad port {}", printable(port)));
        url.port = static_cast<std::uint16_t>(value);
    }

    while (path.ends_with('/')) path.remove_suffix(1);
    if (!path.empty()) {
        auto folder = percent_decode(path, "folder name");
        if (!folder) return std::unexpected(std::move(folder.error()));
        url.folder = std::move(*folder);
    }
    for (char c : url.folder)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return bad("the folder name contains a control character");
    return url;
}

}  // namespace rampart::mail::imap

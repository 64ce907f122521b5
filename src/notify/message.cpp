// The notification as an RFC 5322 message for SMTP submission. Pure.
#include "notify/notify.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "notify/mime.hpp"

namespace rampart::notify {

namespace {

constexpr std::size_t max_line = 998;  // RFC 5322 §2.1.1, without the CRLF
constexpr std::size_t fold_at = 78;    // RFC 5322 §2.1.1 SHOULD
constexpr std::size_t subject_limit = 200;

/// "Subject: text", or RFC 2047 encoded-words when the text is not ASCII.
std::string header(std::string_view name, std::string_view value) {
    auto safe = detail::header_safe(value);
    if (detail::is_plain_ascii(safe)) return fmt::format("{}: {}\r\n", name, safe);
    return fmt::format("{}: {}\r\n", name, detail::encode_words(safe, fold_at - name.size() - 2));
}

/// From: a non-ASCII display name is encoded, the address stays as written.
std::string from_header(std::string_view from) {
    auto safe = detail::header_safe(trim(from));
    auto open = safe.find('<');
    if (detail::is_plain_ascii(safe) || open == std::string::npos) return header("From", safe);
    auto name = trim(std::string_view(safe).substr(0, open));
    auto address = std::string_view(safe).substr(open);
    return fmt::format("From: {}\r\n {}\r\n", detail::encode_words(name, fold_at - 6), address);
}

/// To: one address per line once they no longer fit on one.
std::string to_header(std::span<const std::string> recipients) {
    std::string line = "To: ";
    std::size_t column = line.size();
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        auto address = detail::header_safe(trim(recipients[i]));
        if (i > 0) {
            line += ',';
            ++column;
            if (column + 1 + address.size() > fold_at) {
                line += "\r\n";
                column = 0;
            }
            line += ' ';
            ++column;
        }
        line += address;
        column += address.size();
    }
    return line + "\r\n";
}

/// FNV-1a over what makes a notice this notice: the same notice at the same second gets the
/// same Message-ID, so a receiver can recognise a retry.
std::uint64_t fingerprint(const Notification& n, std::span<const std::string> recipients) {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](std::string_view s) {
        for (char c : s) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ull;
        }
        h ^= 0xFF;  // a separator, so ("ab","c") and ("a","bc") differ
        h *= 1099511628211ull;
    };
    for (std::string_view s :
         {to_string(n.event), std::string_view(n.client), std::string_view(n.domain),
          std::string_view(n.step), std::string_view(n.old_record), std::string_view(n.new_record),
          std::string_view(n.reason)})
        mix(s);
    for (const auto& r : recipients) mix(r);
    return h;
}

std::string message_id(const Notification& n, std::span<const std::string> recipients,
                       Timestamp now, std::string_view domain) {
    auto right = detail::header_safe(trim(domain));
    for (char& c : right)
        if (c == ' ' || c == '<' || c == '>' || c == '@') c = '-';
    if (right.empty()) right = "localhost";
    return fmt::format("<rampart.{}.{:016x}@{}>", now.time_since_epoch().count(),
                       fingerprint(n, recipients), right);
}

/// The body with CRLF line ends, and the transfer encoding it needs: 7bit when it is ASCII
/// with short lines (readable as it is, and needs no 8BITMIME from the server), else
/// quoted-printable, which keeps UTF-8 and long lines within 76 characters.
std::pair<std::string_view, std::string> encode_body(std::string_view text) {
    bool seven_bit = true;
    std::size_t start = 0;
    while (seven_bit && start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(start, end - start);
        seven_bit = line.size() <= max_line && detail::is_plain_ascii(line);
        start = end + 1;
    }
    if (!seven_bit) return {"quoted-printable", detail::quoted_printable(text)};
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return {"7bit", out};
}

}  // namespace

std::string envelope_address(std::string_view address) {
    auto open = address.rfind('<');
    auto close = address.rfind('>');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open)
        return std::string(trim(address.substr(open + 1, close - open - 1)));
    return std::string(trim(address));
}

std::string render_message(const Notification& n, const SmtpSettings& settings,
                           std::span<const std::string> recipients, Timestamp now,
                           std::string_view message_id_domain) {
    auto subject = std::string(detail::utf8_prefix(render_subject(n), subject_limit));
    auto [encoding, body] = encode_body(render_text(n));
    std::string out;
    out += "Date: " + detail::rfc5322_date(now) + "\r\n";
    out += from_header(settings.from);
    out += to_header(recipients);
    out += header("Subject", subject);
    out += "Message-ID: " + message_id(n, recipients, now, message_id_domain) + "\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += fmt::format("Content-Transfer-Encoding: {}\r\n", encoding);
    out += "\r\n";
    out += body;
    return out;
}

}  // namespace rampart::notify

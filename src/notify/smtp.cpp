// SMTP submission through libcurl (RFC 6409, RFC 3207 STARTTLS, RFC 4954 AUTH). libcurl speaks
// the protocol, does the TLS and the login, and dot-stuffs the message (RFC 5321 §4.5.2) as it
// uploads it; Rampart hands it the envelope and the rendered message.
#include "notify/notify.hpp"

#include <string.h>  // explicit_bzero

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "notify/curl.hpp"

namespace rampart::notify {

namespace {

// The server's last replies are kept for the error message; a handful of lines is plenty.
constexpr std::size_t max_reply_bytes = 1024;

/// The message, handed to libcurl's read callback a chunk at a time.
struct Upload {
    std::string_view rest;
};

std::size_t read_chunk(char* buffer, std::size_t size, std::size_t count, void* data) {
    auto* upload = static_cast<Upload*>(data);
    std::size_t n = std::min(size * count, upload->rest.size());
    std::memcpy(buffer, upload->rest.data(), n);
    upload->rest.remove_prefix(n);
    return n;
}

/// The server's latest refusal (a 4xx or 5xx reply), multi-line replies joined. Only refusals
/// are kept: after a failure libcurl still sends QUIT, and "221 Bye" explains nothing.
struct Reply {
    std::string current;
    bool complete = true;
    std::string refusal;
};

/// libcurl passes every SMTP reply line to the header callback (pingpong protocols treat
/// replies as headers), verbose or not. Only the server's words arrive here, never the AUTH
/// command we sent, so they are safe to show.
std::size_t keep_reply(char* buffer, std::size_t size, std::size_t count, void* data) {
    auto* reply = static_cast<Reply*>(data);
    std::string_view line(buffer, size * count);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (reply->complete)
        reply->current.clear();
    else if (reply->current.size() < max_reply_bytes)
        reply->current += " / ";
    if (reply->current.size() < max_reply_bytes)
        reply->current += printable(line.substr(0, max_reply_bytes - reply->current.size()));
    reply->complete = !(line.size() >= 4 && line[3] == '-');
    if (reply->complete && (line.starts_with('4') || line.starts_with('5')))
        reply->refusal = reply->current;
    return size * count;
}

bool is_smtps(std::string_view url) { return url.starts_with("smtps://"); }
bool is_smtp(std::string_view url) { return url.starts_with("smtp://"); }

/// A mailbox libcurl can put between angle brackets: something@something, no white space or
/// control characters or brackets that would change the command.
bool usable_address(std::string_view address) {
    if (address.empty() || address.find('@') == std::string_view::npos) return false;
    return std::none_of(address.begin(), address.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c == 0x7F || ch == '<' || ch == '>';
    });
}

Result<void> check_settings(const SmtpSettings& s) {
    if (detail::has_userinfo(s.url))
        return fail(Errc::denied,
                    "the SMTP URL holds a user name or password: give the user in username and "
                    "the password in password_file");
    Location where{.source = s.url};
    if (!is_smtp(s.url) && !is_smtps(s.url))
        return fail(Errc::malformed, "the SMTP URL must start with smtp:// or smtps://", where);
    if (!usable_address(envelope_address(s.from)))
        return fail(
            Errc::malformed,
            fmt::format("the From address \"{}\" is not an e-mail address", printable(s.from)),
            where);
    if (s.username.has_value() != s.password_file.has_value())
        return fail(Errc::malformed, "an SMTP login needs both a user name and a password file",
                    where);
    if (s.password_file && is_smtp(s.url) && !s.starttls)
        return fail(Errc::denied,
                    "the SMTP password would travel without TLS: turn starttls on or use "
                    "smtps://",
                    where);
    return {};
}

Result<void> check_recipients(std::span<const std::string> recipients, const Location& where) {
    if (recipients.empty()) return fail(Errc::malformed, "no recipient to send to", where);
    for (const auto& r : recipients)
        if (!usable_address(envelope_address(r)))
            return fail(Errc::malformed,
                        fmt::format("\"{}\" is not an e-mail address", printable(r)), where);
    return {};
}

/// The domain the Message-ID is made in: the From address's.
std::string id_domain(const SmtpSettings& s) {
    auto address = envelope_address(s.from);
    return address.substr(address.rfind('@') + 1);
}

/// The error for a failed transfer, in the operator's terms, with the server's last reply.
Error transfer_error(CURLcode rc, long reply_code, const std::string& reply,
                     const char* error_buffer, const SmtpSettings& s) {
    Location where{.source = s.url};
    auto said = reply.empty() ? std::string() : fmt::format(" (the server said: {})", reply);
    if (rc == CURLE_LOGIN_DENIED)
        return Error{Errc::io,
                     fmt::format("the SMTP server refused the login for user {}{}",
                                 printable(s.username.value_or("")), said),
                     where};
    if (rc == CURLE_USE_SSL_FAILED)
        return Error{Errc::io,
                     "the SMTP server does not offer STARTTLS, and Rampart does not submit "
                     "mail without TLS unless starttls is turned off" +
                         said,
                     where};
    auto text = detail::curl_text(rc, error_buffer);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_ISSUER_ERROR)
        return Error{Errc::io,
                     fmt::format("the SMTP server's certificate could not be verified ({}): give "
                                 "the CA that signed it in ca_file, or turn verification off "
                                 "with insecure",
                                 text),
                     where};
    if (reply_code >= 400 && reply_code < 500)
        return Error{Errc::transient,
                     fmt::format("the SMTP server deferred the message: {}{}", text, said), where};
    if (reply_code >= 500)
        return Error{Errc::io, fmt::format("the SMTP server refused the message: {}{}", text, said),
                     where};
    return Error{detail::classify(rc), fmt::format("cannot submit the message: {}{}", text, said),
                 where};
}

/// The envelope: MAIL FROM and one RCPT TO per recipient.
bool set_envelope(CURL* h, const std::string& from, std::span<const std::string> recipients,
                  detail::CurlList& rcpt) {
    for (const auto& r : recipients)
        if (!detail::append(rcpt, fmt::format("<{}>", envelope_address(r)))) return false;
    return curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str()) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get()) == CURLE_OK;
}

}  // namespace

SmtpChannel::SmtpChannel(SmtpSettings settings, Clock now)
    : settings_(std::move(settings)), now_(std::move(now)) {
    if (!now_)
        now_ = [] {
            return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        };
}

Result<void> SmtpChannel::deliver(const Notification& n, std::span<const std::string> recipients) {
    if (auto ok = check_settings(settings_); !ok) return ok;
    if (auto ok = check_recipients(recipients, Location{.source = settings_.url}); !ok) return ok;
    std::string password;
    if (settings_.password_file) {
        auto secret = read_secret(*settings_.password_file);
        if (!secret) return std::unexpected(std::move(secret.error()));
        password = std::move(*secret);
    }
    // However this function ends, the copy of the password in this process is wiped.
    struct Wipe {
        std::string& s;
        ~Wipe() { ::explicit_bzero(s.data(), s.size()); }
    } wipe{password};

    auto message = render_message(n, settings_, recipients, now_(), id_domain(settings_));
    auto h = detail::new_handle();
    if (!h) return fail(Errc::io, "cannot start libcurl");
    char error_buffer[CURL_ERROR_SIZE] = "";
    Reply reply;
    Upload upload{message};
    detail::CurlList rcpt;
    // fmt::format rather than "<" + ...: g++ 12 at -O3 reports a false -Wrestrict on the latter.
    auto from = fmt::format("<{}>", envelope_address(settings_.from));
    // smtp:// upgrades with STARTTLS or fails; smtps:// is TLS from the first byte.
    long use_ssl = settings_.starttls || is_smtps(settings_.url) ? CURLUSESSL_ALL : CURLUSESSL_NONE;
    bool ok = detail::set_common(h.get(), settings_.url, "smtp,smtps", settings_.ca_file,
                                 settings_.insecure, settings_.timeout, error_buffer) &&
              set_envelope(h.get(), from, recipients, rcpt) &&
              curl_easy_setopt(h.get(), CURLOPT_USE_SSL, use_ssl) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_UPLOAD, 1L) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_READFUNCTION, read_chunk) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_READDATA, &upload) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_INFILESIZE_LARGE,
                               static_cast<curl_off_t>(message.size())) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, keep_reply) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &reply) == CURLE_OK;
    if (ok && settings_.username)
        ok = curl_easy_setopt(h.get(), CURLOPT_USERNAME, settings_.username->c_str()) == CURLE_OK &&
             curl_easy_setopt(h.get(), CURLOPT_PASSWORD, password.c_str()) == CURLE_OK;
    if (!ok) return fail(Errc::io, "libcurl refused an option (is it built with SMTP and TLS?)");

    CURLcode rc = curl_easy_perform(h.get());
    // libcurl keeps its own copy of the password for the handle's life; drop it now.
    (void)curl_easy_setopt(h.get(), CURLOPT_PASSWORD, nullptr);
    if (rc == CURLE_OK) return {};
    long reply_code = 0;
    (void)curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &reply_code);
    return std::unexpected(transfer_error(rc, reply_code, reply.refusal, error_buffer, settings_));
}

}  // namespace rampart::notify

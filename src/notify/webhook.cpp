// The webhook: one JSON POST per notification (RFC 6750 bearer token when configured).
#include "notify/notify.hpp"

#include <string.h>  // explicit_bzero

#include <fmt/format.h>

#include <algorithm>

#include "notify/curl.hpp"

namespace rampart::notify {

namespace {

// Enough of an error page to recognise it; the rest is read and dropped.
constexpr std::size_t kept_body_bytes = 200;

std::size_t keep_start(char* buffer, std::size_t size, std::size_t count, void* data) {
    auto* kept = static_cast<std::string*>(data);
    std::size_t n = size * count;
    if (kept->size() < kept_body_bytes)
        kept->append(buffer, std::min(n, kept_body_bytes - kept->size()));
    return n;
}

Result<void> check_url(const WebhookSettings& s) {
    if (detail::has_userinfo(s.url))
        return fail(Errc::denied,
                    "the webhook URL holds a user name or password: give the token in "
                    "token_file");
    if (s.url.starts_with("https://") || s.url.starts_with("http://")) return {};
    return fail(Errc::malformed, "the webhook URL must start with https:// or http://",
                Location{.source = s.url});
}

/// 2xx is success. A redirect is not followed (it could carry the token elsewhere) and is an
/// error like any other answer; 429 and 5xx may pass, the rest will not.
Result<void> judge(long status, const std::string& body, const WebhookSettings& s) {
    if (status >= 200 && status < 300) return {};
    Errc code = status == 429 || status >= 500 ? Errc::transient : Errc::io;
    return fail(code,
                fmt::format("the webhook answered HTTP {}{}", status,
                            body.empty() ? std::string() : ": " + printable(body)),
                Location{.source = s.url});
}

}  // namespace

WebhookChannel::WebhookChannel(WebhookSettings settings) : settings_(std::move(settings)) {}

Result<void> WebhookChannel::deliver(const Notification& n, std::span<const std::string>) {
    if (auto ok = check_url(settings_); !ok) return ok;
    std::string token;
    if (settings_.token_file) {
        auto secret = read_secret(*settings_.token_file);
        if (!secret) return std::unexpected(std::move(secret.error()));
        token = std::move(*secret);
    }
    struct Wipe {
        std::string& s;
        ~Wipe() { ::explicit_bzero(s.data(), s.size()); }
    } wipe{token};

    auto payload = render_json(n);
    auto h = detail::new_handle();
    if (!h) return fail(Errc::io, "cannot start libcurl");
    char error_buffer[CURL_ERROR_SIZE] = "";
    std::string body;
    detail::CurlList headers;
    // "Expect:" off: a small payload needs no 100-continue round trip.
    bool ok = detail::append(headers, "Content-Type: application/json") &&
              detail::append(headers, "Expect:") &&
              detail::set_common(h.get(), settings_.url, "http,https", settings_.ca_file,
                                 settings_.insecure, settings_.timeout, error_buffer) &&
              curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get()) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, payload.c_str()) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                               static_cast<curl_off_t>(payload.size())) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, keep_start) == CURLE_OK &&
              curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &body) == CURLE_OK;
    // The token goes in its own option, so it is never part of a header string we build.
    if (ok && !token.empty())
        ok = curl_easy_setopt(h.get(), CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER)) ==
                 CURLE_OK &&
             curl_easy_setopt(h.get(), CURLOPT_XOAUTH2_BEARER, token.c_str()) == CURLE_OK;
    if (!ok) return fail(Errc::io, "libcurl refused an option (is it built with HTTP and TLS?)");

    CURLcode rc = curl_easy_perform(h.get());
    (void)curl_easy_setopt(h.get(), CURLOPT_XOAUTH2_BEARER, nullptr);
    if (rc != CURLE_OK)
        return fail(
            detail::classify(rc),
            fmt::format("cannot reach the webhook: {}", detail::curl_text(rc, error_buffer)),
            Location{.source = settings_.url});
    long status = 0;
    (void)curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    return judge(status, body, settings_);
}

}  // namespace rampart::notify

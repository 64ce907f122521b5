// libcurl does the connection, TLS, certificate verification and the login (CURLOPT_CONNECT_ONLY
// stops after the protocol's connect phase, which for IMAP ends with the tagged OK of the login);
// the connection is then a byte stream for Protocol through curl_easy_send/curl_easy_recv.
#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <mutex>

#include "mail/imap/protocol.hpp"

namespace rampart::mail::imap {
namespace {

using std::chrono::milliseconds;

struct CurlDeleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using Handle = std::unique_ptr<CURL, CurlDeleter>;

std::unexpected<Error> broken(std::string reason) {
    return fail(Errc::transient, std::move(reason));
}

class CurlTransport final : public detail::Transport {
public:
    CurlTransport(Handle handle, curl_socket_t socket)
        : handle_(std::move(handle)), socket_(socket) {}

    Result<void> send(std::string_view bytes, milliseconds timeout) override {
        while (!bytes.empty()) {
            std::size_t sent = 0;
            CURLcode rc = curl_easy_send(handle_.get(), bytes.data(), bytes.size(), &sent);
            if (rc == CURLE_AGAIN) {
                if (!ready(POLLOUT, timeout)) return broken("the server stopped reading");
                continue;
            }
            if (rc != CURLE_OK)
                return broken(fmt::format("the connection broke: {}", curl_easy_strerror(rc)));
            bytes.remove_prefix(sent);
        }
        return {};
    }

    Result<std::size_t> receive(std::span<char> buffer, milliseconds wait) override {
        // Ask libcurl first: TLS may hold decrypted bytes that poll() cannot see.
        for (int attempt = 0; attempt < 2; ++attempt) {
            std::size_t got = 0;
            CURLcode rc = curl_easy_recv(handle_.get(), buffer.data(), buffer.size(), &got);
            if (rc == CURLE_OK) {
                if (got == 0) return broken("the server closed the connection");
                return got;
            }
            if (rc != CURLE_AGAIN)
                return broken(fmt::format("the connection broke: {}", curl_easy_strerror(rc)));
            if (attempt == 0 && !ready(POLLIN, wait)) return std::size_t{0};
        }
        return std::size_t{0};
    }

private:
    bool ready(short events, milliseconds wait) const {
        pollfd p{socket_, events, 0};
        for (;;) {
            int n = ::poll(
                &p, 1, static_cast<int>(std::clamp<milliseconds::rep>(wait.count(), 0, INT32_MAX)));
            if (n < 0 && errno == EINTR) continue;  // a signal: the caller re-checks its stop flag
            return n != 0;  // readable, writable, hung up or in error: curl tells which
        }
    }

    Handle handle_;
    curl_socket_t socket_;
};

/// What went wrong at connect time, in the operator's terms. Never includes the password: the
/// reasons come from curl's error text about the connection, and libcurl puts no credentials in it.
Error connect_error(CURLcode rc, const char* detail, const ConnectOptions& o) {
    auto where = Location{.source = fmt::format("imap:{}", o.url.identity())};
    std::string what = *detail != '\0' ? printable(detail) : std::string(curl_easy_strerror(rc));
    switch (rc) {
        case CURLE_LOGIN_DENIED:
            return Error{Errc::io,
                         fmt::format("the server refused the login for user {} (wrong user name or "
                                     "password)",
                                     printable(o.url.user)),
                         where};
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return Error{
                Errc::io,
                fmt::format("the server's certificate could not be verified ({}): give the "
                            "CA that signed it with --ca-file, or turn verification off "
                            "with --insecure",
                            what),
                where};
        case CURLE_USE_SSL_FAILED:
            return Error{Errc::io,
                         "the server does not offer STARTTLS, and Rampart never logs in without "
                         "TLS (use imaps:// if the server listens for it)",
                         where};
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_OUT_OF_MEMORY:
            return Error{Errc::io, fmt::format("cannot connect: {}", what), where};
        default:
            // Refused, reset, timed out, name not resolved, TLS handshake cut: try again later.
            return Error{Errc::transient, fmt::format("cannot connect: {}", what), where};
    }
}

}  // namespace

Result<std::unique_ptr<Session>> connect(const ConnectOptions& o, const Secret& password) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    Handle h(curl_easy_init());
    if (!h) return fail(Errc::io, "cannot start libcurl");
    char detail[CURL_ERROR_SIZE] = "";
    // The URL names the server only; the user and the password go in their own options, so the
    // password is never part of a string that libcurl might log or show.
    auto url =
        fmt::format("{}://{}:{}/", o.url.implicit_tls ? "imaps" : "imap", o.url.host, o.url.port);
    auto ms = [](milliseconds d) { return static_cast<long>(d.count()); };
    bool ok =
        curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str()) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "imap,imaps") == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_USERNAME, o.url.user.c_str()) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_PASSWORD, password.c_str()) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK &&
        // imap:// must upgrade with STARTTLS or fail; imaps:// is TLS from the first byte.
        curl_easy_setopt(h.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL)) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, ms(o.connect_timeout)) == CURLE_OK &&
        // Bounds the whole connect phase (greeting, STARTTLS, login) too.
        curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, ms(o.connect_timeout + o.io_timeout)) ==
            CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, detail) == CURLE_OK;
    // --ca-file adds a CA: CAINFO is this file, and the system's CAs stay trusted through the
    // default CAPATH (/etc/ssl/certs on Debian).
    if (ok && o.ca_file)
        ok = curl_easy_setopt(h.get(), CURLOPT_CAINFO, o.ca_file->c_str()) == CURLE_OK;
    if (!ok) return fail(Errc::io, "libcurl refused an option (is it built with IMAP and TLS?)");

    CURLcode rc = curl_easy_perform(h.get());
    // libcurl keeps a copy of the password for the handle's life; drop that copy now.
    (void)curl_easy_setopt(h.get(), CURLOPT_PASSWORD, nullptr);
    (void)curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) return std::unexpected(connect_error(rc, detail, o));

    curl_socket_t socket = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(h.get(), CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK ||
        socket == CURL_SOCKET_BAD)
        return fail(Errc::transient, "the connection closed right after the login");
    auto session =
        detail::open_session(std::make_unique<CurlTransport>(std::move(h), socket), o.io_timeout);
    if (!session) {
        Error e = std::move(session.error());
        e.where.source = fmt::format("imap:{}", o.url.identity());
        return std::unexpected(std::move(e));
    }
    return session;
}

}  // namespace rampart::mail::imap

// mail/imap: reads DMARC report messages from an IMAP mailbox, one message at a time, and files
// them into other folders afterwards. An adapter of its own (rampart_mail_imap) so that nothing
// else links libcurl.
//
// libcurl opens the connection, negotiates TLS (imaps://, or STARTTLS on imap:// which is
// required: CURLUSESSL_ALL), verifies the server's certificate and logs in (SASL PLAIN or LOGIN,
// as the server offers). After the login Rampart speaks the few commands it needs itself over
// that connection (CURLOPT_CONNECT_ONLY with curl_easy_send/curl_easy_recv): libcurl's
// CURLOPT_CUSTOMREQUEST hands back responses line by line without honouring literals, so a
// message that contained a line such as "A005 OK" could forge the end of a command, and its
// URL form of FETCH uses BODY[] which marks messages \Seen; IDLE needs the raw connection anyway.
//
// Standards: RFC 9051/3501 (IMAP4rev1: SELECT, EXAMINE, UID FETCH BODY.PEEK[], CREATE, LIST,
// STORE, NOOP), RFC 6851 (MOVE, and its COPY + STORE \Deleted + UID EXPUNGE fallback), RFC 4315
// (UIDPLUS: UID EXPUNGE), RFC 2177 (IDLE), RFC 5092 (imap:// URLs), RFC 8314 (implicit TLS).
// Trust: the server is the operator's; message contents are strangers' and are only ever read as
// counted literals, never parsed as protocol. Every response line and literal is capped (a
// message by the caller's cap, IngestLimits::max_message). The password is held in a Secret,
// never put in a URL, an argument vector, an error or a log line, and a password file must be
// readable by its owner only.
// Errors: Errc::transient for network failures and timeouts (reconnect and try again);
// Errc::io for a refused login, a certificate that cannot be verified or a server without TLS
// (retrying will not help); Errc::not_found for a folder that does not exist;
// Errc::limit_exceeded for a message over the cap; Errc::malformed for a URL or a server reply
// that breaks the grammar; Errc::unsupported for what Rampart does not do (non-ASCII folder names).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/core.hpp"

namespace rampart::mail::imap {

/// A password or other credential. Not copyable; formatted as "<redacted>"; compared in constant
/// time; its bytes are wiped when it is destroyed or moved from.
/// (Belongs in core once a second kind of secret arrives: TSIG keys, API tokens.)
class Secret {
public:
    Secret() = default;
    /// Takes the characters of `value` and wipes `value`.
    static Secret take(std::string& value);
    Secret(Secret&& other) noexcept;
    Secret& operator=(Secret&& other) noexcept;
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret();

    /// The only way to the characters; call it where they leave the process (libcurl's login).
    [[nodiscard]] std::string_view reveal() const noexcept {
        return bytes_.empty() ? std::string_view()
                              : std::string_view(bytes_.data(), bytes_.size() - 1);
    }
    /// The same, NUL-terminated, for C interfaces.
    [[nodiscard]] const char* c_str() const noexcept { return bytes_.empty() ? "" : bytes_.data(); }
    [[nodiscard]] bool empty() const noexcept { return bytes_.size() <= 1; }
    /// Constant-time comparison (the time depends on the lengths only).
    [[nodiscard]] bool equals(const Secret& other) const noexcept;

private:
    void wipe() noexcept;
    std::vector<char> bytes_;  // the characters and a NUL, or nothing
};

/// Reads a password from a file that only its owner can read (mode 0600 or 0400). One trailing
/// newline is dropped. Refuses (Errc::io, naming the file and its mode) a file that the group or
/// others may read or write, a file that is not a regular file, an empty file and one over 4 KiB.
[[nodiscard]] Result<Secret> load_password_file(const std::filesystem::path& path);

/// imaps://user@host:port/folder or imap://… (STARTTLS), as RFC 5092 writes it: the user name
/// and the folder are percent-decoded; the folder defaults to INBOX. A password in the URL is
/// refused: it would end up in the shell history and the process list.
struct MailboxUrl {
    bool implicit_tls = true;  // imaps://; false for imap:// with STARTTLS
    std::string user;
    std::string host;  // as written, IPv6 in brackets
    std::uint16_t port = 993;
    std::string folder = "INBOX";

    /// "user@host:port/folder": how the store and the logs name the mailbox. No password.
    [[nodiscard]] std::string identity() const;
};
[[nodiscard]] Result<MailboxUrl> parse_url(std::string_view text);

struct ConnectOptions {
    MailboxUrl url;
    std::optional<std::filesystem::path> ca_file;  // trusted in addition to the system's CAs
    bool verify_tls = true;                        // false only with an explicit --insecure
    std::chrono::milliseconds connect_timeout{30'000};
    std::chrono::milliseconds io_timeout{120'000};  // silence from the server before giving up
};

/// What SELECT (or EXAMINE) tells about a folder.
struct FolderStatus {
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 0;  // 0 when the server did not say
    std::uint32_t exists = 0;
    bool read_only = false;
};

/// One message as listed: enough to decide whether to fetch it.
struct MessageInfo {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;  // RFC822.SIZE as the server states it
    bool deleted = false;    // flagged \Deleted: on its way out, never processed
};

/// The capabilities Rampart cares about, as the server announced them after login.
struct Capabilities {
    bool move = false;     // RFC 6851
    bool uidplus = false;  // RFC 4315
    bool idle = false;     // RFC 2177
};

/// A logged-in connection to one server. Not thread-safe; one per thread.
class Session {
public:
    virtual ~Session() = default;

    [[nodiscard]] virtual const Capabilities& capabilities() const noexcept = 0;

    /// SELECT, or EXAMINE when `read_only` (nothing in the folder can change then).
    [[nodiscard]] virtual Result<FolderStatus> select(std::string_view folder, bool read_only) = 0;

    /// Lists the messages of the selected folder whose UID is at least `first_uid`, in UID order.
    [[nodiscard]] virtual Result<std::vector<MessageInfo>> list(std::uint32_t first_uid) = 0;

    /// The whole message (BODY.PEEK[]: its \Seen flag is left alone). Errc::limit_exceeded when
    /// it is larger than `max_bytes` (the bytes are read and dropped, the connection stays
    /// usable); Errc::not_found when the message is gone (expunged by another client).
    [[nodiscard]] virtual Result<std::string> fetch(std::uint32_t uid, std::uint64_t max_bytes) = 0;

    /// Creates the folder unless it exists (and subscribes to it so mail clients show it).
    [[nodiscard]] virtual Result<void> ensure_folder(std::string_view folder) = 0;

    /// Moves messages of the selected folder to `folder`: UID MOVE, else UID COPY, UID STORE
    /// +FLAGS (\Deleted) and UID EXPUNGE of exactly those UIDs. Without UIDPLUS the copies are
    /// made and the originals flagged \Deleted but not expunged, since a plain EXPUNGE would also
    /// remove messages someone else flagged: nothing is ever deleted that Rampart did not copy.
    [[nodiscard]] virtual Result<void> move(std::span<const std::uint32_t> uids,
                                            std::string_view folder) = 0;

    /// Waits up to `timeout` for the selected folder to change: IDLE when the server offers it,
    /// else a NOOP after the timeout. Returns true when new messages may have arrived, false on a
    /// timeout without news or when `stop` returned true (it is asked several times a second).
    [[nodiscard]] virtual Result<bool> wait(std::chrono::milliseconds timeout,
                                            const std::function<bool()>& stop) = 0;
};

/// Connects, negotiates TLS, verifies the certificate and logs in as `options.url.user`.
/// Errors as described at the top of this file; the reason never contains the password.
[[nodiscard]] Result<std::unique_ptr<Session>> connect(const ConnectOptions& options,
                                                       const Secret& password);

}  // namespace rampart::mail::imap

template <>
struct fmt::formatter<rampart::mail::imap::Secret> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const rampart::mail::imap::Secret&, Context& ctx) const {
        return fmt::formatter<std::string_view>::format("<redacted>", ctx);
    }
};

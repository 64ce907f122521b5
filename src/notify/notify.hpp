// notify: tells a client what the rollout did to their domain — a milestone reached, a step
// taken, a hold, a rollback, a new unknown sender — by e-mail (SMTP submission) and/or a webhook
// (a JSON POST). An adapter: rendering is pure, the channels do the network I/O through libcurl.
//
// Standards: RFC 5322 (the message: Date, From, To, Subject, Message-ID; CRLF line ends, lines
// of at most 998 octets), RFC 2045 §6.7 (quoted-printable for bodies that are not short-lined
// ASCII), RFC 2047 §4.2 (Q-encoded words for a non-ASCII Subject), RFC 6409 (submission on 587
// with STARTTLS, RFC 3207) and RFC 8314 (implicit TLS on 465), RFC 4954 (SMTP AUTH), RFC 6750
// (Authorization: Bearer for the webhook), RFC 3339 (the webhook's "at").
// Trust: the SMTP server and the webhook receiver are the operator's. Their replies are shown
// to the operator only after printable(). The SMTP password and the webhook token are read from
// files that only their owner can read, handed to libcurl in their own options (never in a URL,
// a command line, a log line or an error), and libcurl's verbose/debug output is never turned on
// because it would print the AUTH exchange. Header values built from notification fields lose
// their control characters, so a reason cannot add header lines.
// Errors: Errc::denied for a secret file that others can read, or a password that would go out
// without TLS; Errc::not_found for a missing secret file; Errc::limit_exceeded for one too large;
// Errc::malformed for a bad recipient or URL scheme; Errc::transient for network failures,
// timeouts and 4xx SMTP / 429 and 5xx HTTP answers (try again later); Errc::io for refused logins,
// certificates that cannot be verified, servers without STARTTLS, 5xx SMTP and other HTTP answers.
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

#include "core/core.hpp"

namespace rampart::notify {

/// Why a client hears from Rampart. `advance` is a step that is not a milestone.
enum class Event : std::uint8_t { milestone, hold, rollback, new_unknown_sender, advance };
/// "milestone", "hold", "rollback", "new_unknown_sender", "advance".
[[nodiscard]] std::string_view to_string(Event event) noexcept;

/// One thing to tell one client. `old_record` and `new_record` are the DMARC TXT values; for a
/// hold or a new unknown sender they are usually the same (nothing was published).
struct Notification {
    Event event = Event::milestone;
    std::string client;      // "Acme Corp"
    std::string domain;      // "acme.example"
    std::string old_record;  // "v=DMARC1; p=none; rua=mailto:..."
    std::string new_record;
    std::string step;                  // "quarantine 50%"
    std::string reason;                // one or more sentences, in the client's terms
    Timestamp at{};                    // when the decision was taken
    std::vector<std::string> details;  // one line each: senders, figures
};

struct SmtpSettings {
    std::string url;   // "smtp://host:587" (STARTTLS) or "smtps://host:465" (implicit TLS)
    std::string from;  // "Rampart <rampart@example.net>" or "rampart@example.net"
    std::optional<std::string> username;
    std::optional<std::filesystem::path> password_file;  // mode 0600 or 0400
    std::optional<std::filesystem::path> ca_file;        // trusted besides the system's CAs
    bool starttls = true;   // smtp:// must upgrade (CURLUSESSL_ALL); false: plain, no password
    bool insecure = false;  // true turns certificate verification off
    std::chrono::seconds timeout{30};
};

struct WebhookSettings {
    std::string url;                                  // http:// or https://
    std::optional<std::filesystem::path> token_file;  // sent as "Authorization: Bearer"; 0600
    std::optional<std::filesystem::path> ca_file;
    bool insecure = false;
    std::chrono::seconds timeout{15};
};

/// The first line of a secret file that only its owner can read or write (mode 0600 or 0400),
/// one trailing line end removed. Errc::denied (naming the file and its mode) when the group or
/// others have any access; Errc::not_found when it does not exist; Errc::limit_exceeded over
/// 4 KiB; Errc::malformed when it is empty or holds more than one line; Errc::io otherwise.
[[nodiscard]] Result<std::string> read_secret(const std::filesystem::path& path);

// ---- Rendering (pure) ----

/// "[Rampart] acme.example reached quarantine 50%", "... is held: <reason>", "... rolled back to
/// <step>: <reason>", "... has a new unknown sender: <reason>", "... moved to <step>". The reason
/// is cut to its first line and about 100 characters; control characters become spaces.
[[nodiscard]] std::string render_subject(const Notification& n);

/// The plain-text body, LF line ends: what happened, the previous and the new DMARC record, why,
/// the details, and what the client needs to do. Paragraphs are wrapped at 72 columns.
[[nodiscard]] std::string render_text(const Notification& n);

/// A complete RFC 5322 message, CRLF line ends, no line over 998 octets: Date (from `now`),
/// From, To, Subject (RFC 2047 when not ASCII), Message-ID (`<...@message_id_domain>`, derived
/// from the content and `now`, so the same notice at the same second has the same id),
/// MIME-Version, Content-Type text/plain; charset=utf-8 and Content-Transfer-Encoding 7bit when
/// the body is ASCII with short lines, else quoted-printable. Not dot-stuffed: libcurl does it.
[[nodiscard]] std::string render_message(const Notification& n, const SmtpSettings& settings,
                                         std::span<const std::string> recipients, Timestamp now,
                                         std::string_view message_id_domain);

/// The webhook payload: {"event","client","domain","step","old_record","new_record","reason",
/// "at" (RFC 3339 UTC),"details"}. Invalid UTF-8 becomes U+FFFD.
[[nodiscard]] std::string render_json(const Notification& n);

/// The addr-spec of an address as written in From: "Rampart <a@b>" → "a@b", "a@b" → "a@b".
[[nodiscard]] std::string envelope_address(std::string_view address);

// ---- Channels ----

/// Somewhere a notification goes. `recipients` are e-mail addresses (a webhook ignores them).
class Channel {
public:
    virtual ~Channel() = default;
    /// Delivers or says why not (error kinds at the top of this file).
    [[nodiscard]] virtual Result<void> deliver(const Notification& n,
                                               std::span<const std::string> recipients) = 0;
};

/// SMTP submission through libcurl: EHLO, STARTTLS (smtp://) or TLS (smtps://), AUTH with the
/// password from `password_file`, MAIL FROM the From address, RCPT TO each recipient, DATA.
class SmtpChannel final : public Channel {
public:
    using Clock = std::function<Timestamp()>;
    /// `now` gives the Date header; the system clock when empty.
    explicit SmtpChannel(SmtpSettings settings, Clock now = {});
    /// Errors as at the top of this file; a rejected message carries the server's reply text,
    /// never the password.
    [[nodiscard]] Result<void> deliver(const Notification& n,
                                       std::span<const std::string> recipients) override;

private:
    SmtpSettings settings_;
    Clock now_;
};

/// An HTTP(S) POST of render_json() with Content-Type application/json. Any 2xx answer is
/// success; anything else is an error with the status and the first 200 bytes of the body.
/// Redirects are not followed (a 3xx is an error).
class WebhookChannel final : public Channel {
public:
    explicit WebhookChannel(WebhookSettings settings);
    [[nodiscard]] Result<void> deliver(const Notification& n,
                                       std::span<const std::string> recipients) override;

private:
    WebhookSettings settings_;
};

/// What one channel did with one notification.
struct Delivery {
    std::string channel;  // the name it was added under: "smtp", "webhook:ops"
    Result<void> outcome;
};

/// Sends each notification to every channel it holds, in the order they were added; a channel
/// that fails does not stop the others.
class Dispatcher {
public:
    /// `recipients` are handed to the channel on every delivery.
    void add(std::string name, std::unique_ptr<Channel> channel,
             std::vector<std::string> recipients = {});
    [[nodiscard]] std::vector<Delivery> send(const Notification& n);
    [[nodiscard]] std::size_t size() const noexcept { return routes_.size(); }

private:
    struct Route {
        std::string name;
        std::unique_ptr<Channel> channel;
        std::vector<std::string> recipients;
    };
    std::vector<Route> routes_;
};

}  // namespace rampart::notify

// The IMAP wire protocol as Rampart speaks it after libcurl's login: tagged commands out,
// responses in, literals read by their announced length and capped. Module-internal; the tests
// drive it over a scripted transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "mail/imap/imap.hpp"

namespace rampart::mail::imap::detail {

/// Bytes to and from the server (TLS already under it).
class Transport {
public:
    virtual ~Transport() = default;
    /// Sends all of `bytes`, waiting at most `timeout` for the socket to take them.
    /// Errc::transient when the connection broke or stayed blocked.
    [[nodiscard]] virtual Result<void> send(std::string_view bytes,
                                            std::chrono::milliseconds timeout) = 0;
    /// Reads what is available, waiting at most `wait` for the first byte; 0 when nothing came.
    /// Errc::transient when the server closed the connection or it broke.
    [[nodiscard]] virtual Result<std::size_t> receive(std::span<char> buffer,
                                                      std::chrono::milliseconds wait) = 0;
};

/// One server response. Literals are cut out of the text and replaced by a NUL each (a NUL
/// cannot occur in a response line itself: such a line is refused).
struct Response {
    enum class Kind : std::uint8_t { untagged, tagged, continuation };
    Kind kind = Kind::untagged;
    std::string tag;   // tagged responses only
    std::string text;  // after "* ", "+ " or "tag "
    std::vector<std::string> literals;
    std::uint64_t dropped_literal = 0;  // size of a literal read and dropped for the cap (0: none)
};

enum class Status : std::uint8_t { ok, no, bad };

/// The tagged completion of a command: status, optional [CODE ...] and the text.
struct Completion {
    Status status = Status::ok;
    std::string code;  // the response code without brackets, upper-cased word first: "TRYCREATE"
    std::string text;
};

/// A token of a response line: atoms (with a [section] kept inside), numbers are atoms too,
/// quoted strings unescaped, literals by index, NIL, and parentheses.
struct Token {
    enum class Kind : std::uint8_t { atom, string, literal, nil, open, close, end };
    Kind kind = Kind::end;
    std::string text;
    std::size_t literal = 0;
};

/// Splits a response's text into tokens, lazily.
class Tokenizer {
public:
    explicit Tokenizer(std::string_view text) : text_(text) {}
    [[nodiscard]] Result<Token> next();
    [[nodiscard]] std::string_view rest() const { return text_.substr(pos_); }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t literals_ = 0;
};

/// A FETCH response's attributes: "12 FETCH (UID 5 RFC822.SIZE 2367 BODY[] {2367})".
struct FetchData {
    std::uint32_t sequence = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint64_t> size;
    std::vector<std::string> flags;
    std::optional<std::size_t> body_literal;  // index into Response::literals
    std::optional<std::string> body_string;   // a body sent as a quoted string
    bool body_nil = false;
};
/// Parses the text of an untagged response that is a FETCH; nullopt when it is another response.
[[nodiscard]] Result<std::optional<FetchData>> parse_fetch(const Response& response);

/// "OK [UIDVALIDITY 3857529045] UIDs valid" → code "UIDVALIDITY 3857529045".
[[nodiscard]] Completion parse_status(std::string_view text);

/// Reads responses and sends commands over a Transport, keeping what was read but not yet used.
class Protocol {
public:
    Protocol(Transport& transport, std::chrono::milliseconds io_timeout)
        : transport_(transport), io_timeout_(io_timeout) {}

    /// Longest response text (without its literals) accepted.
    static constexpr std::size_t max_line = 1 << 20;
    /// Literals in responses to commands other than a message fetch.
    static constexpr std::uint64_t small_literal = 64 * 1024;

    /// Reads one response, waiting up to the I/O timeout for each piece. Literals whose total
    /// exceeds `literal_cap` are read and dropped (Response::dropped_literal).
    [[nodiscard]] Result<Response> read(std::uint64_t literal_cap = small_literal);

    /// True when a response has started to arrive within `wait` (or was already buffered).
    [[nodiscard]] Result<bool> wait_for_data(std::chrono::milliseconds wait);

    /// Sends "tag command" and hands each untagged response to `on_untagged` until the tagged
    /// completion, which is returned (NO and BAD included: the caller decides). A continuation
    /// request, a BYE or another tag is a protocol error; a handler's error stops reading (the
    /// rest of the response is then unknown, so the connection is unusable and marked broken).
    [[nodiscard]] Result<Completion> command(
        std::string_view command, const std::function<Result<void>(Response&)>& on_untagged,
        std::uint64_t literal_cap = small_literal);

    /// Sends a tagged command without waiting; returns the tag (IDLE).
    [[nodiscard]] Result<std::string> start(std::string_view command);
    /// Sends raw bytes (IDLE's DONE).
    [[nodiscard]] Result<void> send_raw(std::string_view bytes);
    /// Reads until the completion tagged `tag`, handing untagged responses over.
    [[nodiscard]] Result<Completion> finish(
        const std::string& tag, const std::function<Result<void>(Response&)>& on_untagged,
        std::uint64_t literal_cap = small_literal);

    void set_io_timeout(std::chrono::milliseconds timeout) noexcept { io_timeout_ = timeout; }

    /// Set after any transport or protocol failure: the stream position is unknown from then on.
    [[nodiscard]] bool broken() const noexcept { return broken_; }

private:
    Result<std::size_t> fill(std::chrono::milliseconds wait);
    Result<std::string> read_line();
    Result<void> read_literal(std::uint64_t size, std::uint64_t room, Response& out);
    template <class T>
    Result<T> broke(Result<T> r) {
        if (!r) broken_ = true;
        return r;
    }

    Transport& transport_;
    std::chrono::milliseconds io_timeout_;
    std::string buffer_;
    std::size_t pos_ = 0;
    std::uint64_t tags_ = 0;
    bool broken_ = false;
};

/// An IMAP quoted string for a folder name: ASCII only (RFC 3501 §5.1.3 modified UTF-7 is not
/// implemented), no control characters; backslash and quote escaped.
[[nodiscard]] Result<std::string> quote_folder(std::string_view folder);

/// "1:5,7,9:12" from ascending UIDs.
[[nodiscard]] std::string uid_set(std::span<const std::uint32_t> uids);

/// A Session over any transport: what connect() returns around libcurl's connection.
/// `start()` must succeed before use: it asks for the capabilities.
[[nodiscard]] Result<std::unique_ptr<Session>> open_session(std::unique_ptr<Transport> transport,
                                                            std::chrono::milliseconds io_timeout);

}  // namespace rampart::mail::imap::detail

// message: an Internet message (RFC 5322) as the authentication checks need it — the header
// fields exactly as they arrived, the body as a stream, and the addresses of the From field.
//
// Standards: RFC 5322 §2.2 (header fields, folding), §3.4 (address syntax, incl. the obsolete
// forms of §4.4 that real mail still carries), RFC 6376 §3.4 ("line ends are CRLF" for hashing),
// RFC 9989 §5.3 step 1 (the Author Domain as an A-label), RFC 5890 (U-labels → A-labels).
// Trust: every byte comes from strangers. The header is held in memory up to Limits (1 MiB and
// 1,000 fields by default); the body is never held whole — Reader hands it out in chunks, so a
// 50 MB message costs one buffer. Nothing here asserts on input.
// Line ends: messages read from files often use LF only. Reader turns every LF that is not
// preceded by CR into CRLF, in the header and in the body, because DKIM hashes CRLF lines (what
// the message looked like on the wire). A CR not followed by LF is kept as it is.
// Errors: Errc::malformed with the reason and the byte offset (in the input as read) for a header
// that is not RFC 5322 (a line that is neither a field nor a continuation, a field name with bad
// octets, a header over the limits, an input that ends inside the header is fine: it has no body).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace rampart::message {

struct Limits {
    std::size_t max_header_bytes = 1024 * 1024;
    std::size_t max_fields = 1000;
    std::size_t body_chunk_bytes = 64 * 1024;  // the size Reader::body_chunk aims for
};

/// One header field as it arrived, line ends normalised to CRLF.
struct Field {
    /// "Name: value\r\n\tcontinued": the whole field including folding, without the CRLF that
    /// ends it. DKIM's simple header canonicalization hashes exactly this plus "\r\n".
    std::string raw;
    std::size_t colon = 0;  // offset of the ':' in raw

    /// The name as written, without whitespace before the colon ("Subject" in "Subject : x").
    [[nodiscard]] std::string_view name() const noexcept;
    /// Everything after the colon, folding included ("  value\r\n\tcontinued").
    [[nodiscard]] std::string_view value() const noexcept;
    /// Case-insensitive name comparison (RFC 5322 §1.2.2).
    [[nodiscard]] bool is(std::string_view field_name) const noexcept;
};

struct Header {
    std::vector<Field> fields;  // top to bottom, as in the message

    /// Every field of that name, top to bottom.
    [[nodiscard]] std::vector<const Field*> all(std::string_view name) const;
    /// The topmost field of that name, or nullptr.
    [[nodiscard]] const Field* first(std::string_view name) const;
    /// How many fields of that name.
    [[nodiscard]] std::size_t count(std::string_view name) const noexcept;
};

/// Reads one message from a stream: first the header, then the body in chunks.
/// A leading mbox separator line ("From sender date") is skipped, since messages saved from mail
/// clients often start with one.
class Reader {
public:
    explicit Reader(ByteSource& source, Limits limits = {});
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader();

    /// Reads the header up to and including the empty line that ends it. Call once, first.
    [[nodiscard]] Result<Header> header();
    /// The next piece of the body with CRLF line ends; an empty view at the end. A chunk never
    /// ends between the CR and LF of one line end. The view is valid until the next call.
    [[nodiscard]] Result<std::string_view> body_chunk();
    /// Body octets handed out so far (after line-end normalisation).
    [[nodiscard]] std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    Result<bool> fill();  // reads more input into buffer_; false at end of input
    ByteSource& source_;
    Limits limits_;
    std::string buffer_;      // raw input not yet consumed
    std::size_t start_ = 0;   // first unconsumed octet of buffer_
    bool eof_ = false;
    bool header_done_ = false;
    bool last_was_cr_ = false;  // the previous chunk ended in CR (LF may follow in the next)
    std::uint64_t consumed_ = 0;  // raw input octets consumed (for error offsets)
    std::uint64_t body_bytes_ = 0;
    std::string chunk_;
};

/// A whole message held in memory (small messages, tests): its header and its body with CRLF
/// line ends.
struct Message {
    Header header;
    std::string body;
};
[[nodiscard]] Result<Message> parse(std::string_view text, Limits limits = {});

/// Removes folding (every CRLF followed by WSP keeps the WSP and loses the CRLF, RFC 5322
/// §2.2.3) and a bare trailing CRLF.
[[nodiscard]] std::string unfold(std::string_view value);

// ---------------------------------------------------------------------------------------------
// Addresses (RFC 5322 §3.4, §4.4)

struct Mailbox {
    std::string display_name;  // decoded quoted-string or phrase, "" when absent (no RFC 2047 decoding)
    std::string local_part;    // as written, quotes removed
    std::string domain;        // as written (case kept), "" when the address had none
};

/// Parses an address-list or mailbox-list: display names, angle addresses, comments (nested),
/// quoted strings, groups ("undisclosed-recipients:;" gives none), obsolete routes
/// ("<@a,@b:x@y>"), domain literals ("[192.0.2.1]"), CFWS everywhere. Errc::malformed when the
/// value is not an address list.
[[nodiscard]] Result<std::vector<Mailbox>> parse_address_list(std::string_view value);

/// The A-label form of a domain (RFC 5890), lower-cased, without a trailing dot: U-labels are
/// converted (UTS #46 non-transitional mapping), ASCII is lower-cased. Errc::malformed when the
/// domain cannot be converted.
[[nodiscard]] Result<std::string> to_a_label(std::string_view domain);

/// The RFC5322.From domains of a header, for DMARC (RFC 9989 §5.3 step 1): every domain of
/// every mailbox of every From field, converted to A-labels, duplicates kept out. `problem`
/// says why the list is not usable for DMARC: no From field, several From fields, a From that
/// does not parse, a mailbox without a domain; empty when `domains.size() == 1` is usable.
struct FromDomains {
    std::vector<std::string> domains;
    std::size_t fields = 0;     // number of From fields
    std::size_t mailboxes = 0;  // number of mailboxes over all From fields
    std::string problem;
};
[[nodiscard]] FromDomains from_domains(const Header& header);

}  // namespace rampart::message

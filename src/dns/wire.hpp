// dns/wire: DNS messages as they travel (RFC 1035 §4): a bounds-checked parser for answers
// and a builder for queries.
//
// Standards: RFC 1035 §4.1 (header, question, resource records), §4.1.4 (name compression),
// §3.3 (rdata of NS, CNAME, PTR, MX, TXT, SOA), §3.4.1 (A), RFC 3596 §2.2 (AAAA),
// RFC 2181 §8 (a TTL with the top bit set is read as 0), RFC 7505 (the null MX ".").
// Trust: parse_message reads bytes from the network. Every read is checked against what is left;
// a compression pointer must point before the name that uses it (no loops, no forward jumps); a
// name stops at 255 octets and 127 labels; counts in the header cannot make it read past the end.
// Work is linear in the message's size.
// Errors: Errc::malformed with the offset and what was wrong ("answer 2: the rdata of a MX record
// is 3 octets, needs at least 3 plus a name"). Records of types Rampart does not read are kept
// with their header only; records of class other than IN likewise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/dns.hpp"

namespace rampart::dns::wire {

inline constexpr std::size_t max_name_octets = 255;  // wire form, length octets included
inline constexpr std::size_t max_labels = 127;
inline constexpr std::uint16_t class_in = 1;

struct Header {
    std::uint16_t id = 0;
    bool qr = false, aa = false, tc = false, rd = false, ra = false;
    std::uint8_t opcode = 0;
    std::uint16_t rcode = 0;
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

struct Question {
    std::string name;  // lower case, no trailing dot, "" for the root
    std::uint16_t type = 0;
    std::uint16_t klass = class_in;
};

struct ResourceRecord {
    std::string name;  // owner, lower case, no trailing dot, "" for the root
    std::uint16_t type = 0;
    std::uint16_t klass = class_in;
    std::uint32_t ttl = 0;
    /// The rdata for class IN and the types of RrType; empty for others.
    std::optional<Rdata> data;

    [[nodiscard]] bool is(RrType wanted) const noexcept {
        return type == static_cast<std::uint16_t>(wanted) && klass == class_in;
    }
    /// A dns::Record, when `data` is set.
    [[nodiscard]] std::optional<Record> to_record() const;
};

struct Message {
    Header header;
    std::vector<Question> questions;
    std::vector<ResourceRecord> answers, authority, additional;
    /// TC was set and the message ended before the counts said: the records before the cut are
    /// kept (RFC 2181 §9 allows a server to drop the rest).
    bool cut_short = false;
};

/// Parses one message (without the two-octet TCP length prefix). Names in the result are lower
/// case; octets outside printable ASCII and '.' or '\' inside a label are written as \DDD or \.
/// and \\ (RFC 1035 §5.1), so distinct wire names stay distinct. Errors: Errc::malformed.
[[nodiscard]] Result<Message> parse_message(std::span<const std::byte> bytes);

/// A standard query (opcode 0, RD set, no EDNS) for one question of class IN. `name` is taken
/// label by label as normalize_name returns it; "" or "." is the root. Errors: Errc::malformed
/// for an empty label, a label over 63 octets or a name over 255 octets in wire form.
[[nodiscard]] Result<std::vector<std::byte>> build_query(std::string_view name,
                                                         std::uint16_t type,
                                                         std::uint16_t id = 0);

/// RFC 5452 §9.1: true when `message` is a response to exactly one question, (name, type, IN).
/// `name` is given as normalize_name returns it; names compare case-insensitively.
[[nodiscard]] bool answers_question(const Message& message, std::string_view name, RrType type);

/// What a parsed response says about one question, as every Rampart resolver reports it: an
/// RCODE other than NOERROR/NXDOMAIN is servfail (with the RCODE), then the records of `type`
/// at `name` along its CNAMEs (at most 8 links; a loop is servfail), else nodata/nxdomain with
/// the negative TTL of RFC 2308 §5. Does not look at the header's AA or TC bits.
[[nodiscard]] Answer to_answer(const Message& message, std::string_view name, RrType type);

/// The servfail Answer for a server's error RCODE ("the server answered REFUSED (5) for ...").
[[nodiscard]] Answer servfail_answer(std::uint16_t rcode, std::string_view name, RrType type);

}  // namespace rampart::dns::wire

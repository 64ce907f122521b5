// dns: the one way Rampart reads DNS — a resolver interface, the answers it gives, domain-name
// rules, and the three implementations every caller picks from:
//   - ZoneResolver   (zone.hpp)   in-memory zone data for unit tests and test suites;
//   - CachingResolver (cache.hpp) a TTL cache in front of any resolver, counting upstream queries;
//   - AresResolver   (ares.hpp)   the real network, on c-ares.
//
// Why c-ares: it is the only one of the maintained Debian choices (c-ares, libunbound, ldns) that
// runs many queries concurrently on one socket set without a recursive engine of its own, tells a
// timeout apart from SERVFAIL (libunbound reports both as SERVFAIL), retries truncated UDP
// answers over TCP by itself, and lets us point it at one server (`--dns HOST[:PORT]`). Caching
// is ours (CachingResolver), so the cache's hit rate can be measured and injected in tests.
//
// Standards: RFC 1034/1035 (names, messages), RFC 2308 (negative answers: NXDOMAIN vs NODATA,
// negative TTL from the SOA minimum), RFC 7208 §4.4 (SPF's view of errors).
// Trust: names come from strangers' records; `normalize_name` bounds them before any query.
// Errors: a failed query is an Answer with a non-ok Status, never an exception.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/core.hpp"

namespace rampart::dns {

enum class RrType : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
};
/// "A", "TXT", ...
[[nodiscard]] std::string_view to_string(RrType type) noexcept;

/// What became of one question. Only `ok` carries records of the asked type.
enum class Status : std::uint8_t {
    ok,        // NOERROR with at least one record of the asked type
    nodata,    // NOERROR, the name exists, no record of that type (RFC 2308 §2.2)
    nxdomain,  // RCODE 3: the name does not exist
    servfail,  // RCODE 2, or any other RCODE than 0/3 (REFUSED, NOTIMP, FORMERR): see `rcode`
    timeout,   // no answer from any server in time
    error,     // the query could not be sent or the answer was unusable (malformed, bad name)
};
[[nodiscard]] std::string_view to_string(Status status) noexcept;

struct Mx {
    std::uint16_t preference = 0;
    std::string exchange;  // lower case, no trailing dot; "" for the null MX "." (RFC 7505)
    auto operator<=>(const Mx&) const = default;
};

struct Soa {
    std::string mname, rname;
    std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
    auto operator<=>(const Soa&) const = default;
};

/// The character-strings of one TXT record, as sent (each at most 255 octets).
struct Txt {
    std::vector<std::string> strings;
    /// The strings concatenated without separator, as SPF, DKIM and DMARC read them.
    [[nodiscard]] std::string joined() const;
    auto operator<=>(const Txt&) const = default;
};

/// A (v4) / AAAA (v6) address, NS/CNAME/PTR target name, MX, SOA, TXT.
using Rdata = std::variant<IpAddress, std::string, Mx, Soa, Txt>;

struct Record {
    std::string name;  // owner, lower case, no trailing dot
    RrType type = RrType::a;
    std::uint32_t ttl = 0;
    Rdata data;
};

struct Answer {
    Status status = Status::error;
    std::uint16_t rcode = 0;    // the server's RCODE when one answered
    std::uint32_t ttl = 0;      // how long this answer may be cached: the smallest TTL of the
                                // records, or the negative TTL (SOA minimum) of nodata/nxdomain
    std::vector<Record> records;  // records of the asked type, CNAMEs already followed
    std::vector<std::string> cname_chain;  // names passed through, in order (empty if none)
    bool truncated = false;     // the UDP answer was truncated and TCP was used (audit: > 512 B)
    std::string detail;         // for servfail/timeout/error: what happened, for a human

    [[nodiscard]] bool ok() const noexcept { return status == Status::ok; }
    /// nodata or nxdomain: RFC 7208 §4.6.4 "void lookup".
    [[nodiscard]] bool empty() const noexcept {
        return status == Status::nodata || status == Status::nxdomain;
    }
    /// servfail, timeout or error: RFC 7208 temperror.
    [[nodiscard]] bool failed() const noexcept { return !ok() && !empty(); }

    // Typed views of `records` (records of other shapes are skipped).
    [[nodiscard]] std::vector<IpAddress> addresses() const;
    [[nodiscard]] std::vector<std::string> names() const;  // NS, CNAME, PTR targets
    [[nodiscard]] std::vector<Mx> mx() const;               // in preference order
    [[nodiscard]] std::vector<Txt> txt() const;
    [[nodiscard]] std::optional<Soa> soa() const;
};

/// Answers a question with records of one type.
///
/// Implementations are thread-safe: `query` may be called from many threads at once, and
/// `query_all` runs its questions concurrently when the implementation can (AresResolver puts
/// them all in flight at once). Names are given as `normalize_name` returns them.
class Resolver {
public:
    virtual ~Resolver() = default;
    [[nodiscard]] virtual Answer query(std::string_view name, RrType type) = 0;

    struct Question {
        std::string name;
        RrType type = RrType::a;
    };
    /// One Answer per question, in the same order. The default asks one after the other.
    [[nodiscard]] virtual std::vector<Answer> query_all(std::span<const Question> questions);
};

/// Domain-name rules shared by every caller (RFC 1035 §2.3.4, RFC 7208 §4.3):
/// lower-cases ASCII, drops one trailing dot, and refuses (Errc::malformed) an empty name, an
/// empty label, a label over 63 octets, a name over 253 octets, or any non-ASCII or control
/// octet (IDNs must arrive as A-labels, "xn--..."). Underscores and other printable ASCII are
/// allowed: `_dmarc`, `_domainkey` and SPF macro results need them.
[[nodiscard]] Result<std::string> normalize_name(std::string_view name);

/// The labels of a normalized name, left to right.
[[nodiscard]] std::vector<std::string_view> labels(std::string_view name);

/// True when `name` equals `ancestor` or is below it ("a.b.example" under "example").
[[nodiscard]] bool is_subdomain(std::string_view name, std::string_view ancestor) noexcept;

/// The reverse-lookup name of an address: "4.3.2.1.in-addr.arpa", or the nibble form under
/// "ip6.arpa".
[[nodiscard]] std::string reverse_name(const IpAddress& address);

/// A server to send every query to instead of the system's (`--dns`, `RAMPART_DNS`, config
/// `dns = "..."`): "192.0.2.53", "192.0.2.53:5353", "::1", "[::1]:5353". Port defaults to 53.
/// Host names are refused: the point of the option is to say exactly where queries go.
struct Server {
    IpAddress address;
    std::uint16_t port = 53;
    [[nodiscard]] std::string to_string() const;  // "192.0.2.53:5353", "[::1]:53"
};
[[nodiscard]] Result<Server> parse_server(std::string_view text);

}  // namespace rampart::dns

// publish/authority: is a record live? Asked of every authoritative server of the zone — each
// address of each name in its NS set — directly, not through a cache, so "live" means every
// server a resolver might ask serves it.
//
// Standards: RFC 1034 §4.3.1 (authoritative answers: AA set), RFC 2182 §3 (secondaries may lag
// the primary: a change is live only when all serve it), RFC 1996 (NOTIFY: secondaries usually
// follow within seconds; the deadline covers the rest).
// Trust: answers are strangers' bytes (dns/update.hpp's ask_server parses them). A server that
// does not answer, or answers without AA, does not serve the record.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"

namespace rampart::publish {

/// What one authoritative address answered.
struct ServerAnswer {
    std::string ns;                    // the NS name ("ns1.acme.example")
    std::string address;               // "192.0.2.53:53"
    std::string status;                // dns::to_string(Status): "ok", "nodata", "timeout", ...
    std::vector<std::string> records;  // TXT values served (joined), in the order sent
    std::uint32_t ttl = 0;
    std::string cname;                 // the alias target when the name is a CNAME
    bool aa = false;                   // answered as authoritative
    bool serves = false;               // serves exactly what was wanted
    friend bool operator==(const ServerAnswer&, const ServerAnswer&) = default;
};

/// What every authoritative server answered about one name.
struct Coverage {
    bool all_serve = false;  // every address of every NS serves what was wanted (and there is one)
    std::vector<ServerAnswer> servers;
    std::string detail;      // one sentence: "3 of 4 servers serve it; ns2 (192.0.2.2:53) timeout"
    /// The largest TTL any server gave the TXT RRset it served (for "wait out the old TTL").
    std::uint32_t max_ttl = 0;
    [[nodiscard]] std::string to_json() const;  // {"all_serve":..,"servers":[...]}
};

/// The TXT RRset wanted at a name: exactly these values (as a set, compared with
/// `same_record` for DMARC and exactly otherwise), or nothing (`values` empty).
struct Wanted {
    std::string zone;                 // "acme.example"
    std::string name;                 // "_dmarc.acme.example"
    std::vector<std::string> values;  // empty: the name must hold no TXT record
};

/// What every answering authoritative server serves at the name, when they agree on at most
/// one record ("" for none): the record a change replaces when Rampart has no belief of its
/// own. Errc::conflict when they disagree or the name holds several; Errc::io when none answered.
[[nodiscard]] Result<std::string> agreed_record(const Coverage& coverage);

/// Asks the authoritative servers. Injected so the rollout and rotation logic can be tested
/// without a network.
class AuthorityChecker {
public:
    virtual ~AuthorityChecker() = default;
    /// One round: every server asked once (concurrently when it can).
    [[nodiscard]] virtual Coverage check(const Wanted& wanted) = 0;
};

struct AuthorityOptions {
    /// Where NS names and their addresses are looked up (the normal resolver, or `--dns`).
    dns::Resolver* resolver = nullptr;
    /// Port to ask each authoritative address on (53; `--dns HOST:PORT` gives its port, so
    /// tests can run every server on one loopback port).
    std::uint16_t port = 53;
    /// When set, every authoritative question goes to this server instead (a test with one
    /// server, or an operator who knows better).
    std::optional<dns::Server> only_server;
    std::chrono::milliseconds timeout{2000};
};

/// The real checker: NS set of the zone through `resolver`, A/AAAA of each NS, then
/// dns::ask_server on each address.
class NetworkAuthorityChecker final : public AuthorityChecker {
public:
    explicit NetworkAuthorityChecker(AuthorityOptions options) : options_(std::move(options)) {}
    [[nodiscard]] Coverage check(const Wanted& wanted) override;

private:
    AuthorityOptions options_;
};

/// Polls `checker` until every server serves `wanted` or `deadline` passes; `sleep` waits
/// between rounds (injected: tests do not sleep). Returns the last round.
[[nodiscard]] Coverage wait_until_served(AuthorityChecker& checker, const Wanted& wanted,
                                         std::chrono::steady_clock::duration deadline,
                                         std::chrono::steady_clock::duration interval,
                                         const std::function<void(std::chrono::steady_clock::duration)>& sleep);

/// The zone a name belongs to: the closest enclosing name with an SOA record, walked up
/// through `resolver` ("_dmarc.mail.acme.example" → "acme.example"), with the SOA's MNAME
/// (the primary). Errors: Errc::not_found when no SOA was found, Errc::io when DNS failed.
struct ZoneApex {
    std::string zone;
    std::string primary;  // SOA MNAME
};
[[nodiscard]] Result<ZoneApex> find_zone(dns::Resolver& resolver, std::string_view name);

}  // namespace rampart::publish

// publish/rfc2136: the publisher that changes the zone itself, by RFC 2136 dynamic UPDATE
// signed with TSIG (RFC 8945), as a compare-and-swap: the update's prerequisite is exactly the
// record Rampart believes is live, so a record someone changed by hand is never overwritten —
// the primary refuses (NXRRSET) and the change is reported as a conflict.
//
// Where updates go: the configured server, else the zone's primary (the SOA MNAME, its
// address looked up through the resolver). The zone: configured, else found from the SOA.
// Verification at every authoritative server and rollback are publish::apply's (apply.hpp):
// this class only sends and reads the reply.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "dns/dns.hpp"
#include "dns/update.hpp"
#include "publish/publish.hpp"

namespace rampart::publish {

struct Rfc2136Settings {
    std::optional<dns::Server> server;  // the primary; default: the SOA MNAME's address
    std::optional<std::string> zone;    // default: found from the SOA
    dns::TsigKey key;
    dns::Resolver* resolver = nullptr;  // SOA and MNAME look-ups (needed unless both are set)
    std::uint16_t port = 53;            // port of the MNAME's address (`--dns HOST:PORT`'s)
    std::chrono::milliseconds timeout{5000};
};

class Rfc2136Publisher final : public Publisher {
public:
    explicit Rfc2136Publisher(Rfc2136Settings settings) : settings_(std::move(settings)) {}
    [[nodiscard]] std::string_view kind() const noexcept override { return "rfc2136"; }
    /// published (the primary applied it: NOERROR with a verified TSIG), conflict (NXRRSET or
    /// YXRRSET: the zone holds something else), failed (refused: NOTAUTH with the TSIG error,
    /// REFUSED, NOTZONE..., or the connection could not be made), uncertain (sent, no
    /// trustworthy reply). Errors only when the zone or primary cannot be found.
    [[nodiscard]] Result<Outcome> publish(const Change& change) override;

private:
    Rfc2136Settings settings_;
};

}  // namespace rampart::publish

// dns/ares: the real network resolver, on c-ares (why c-ares: see dns.hpp).
//
// Standards: RFC 1035 §4 (messages; queries carry RD and no EDNS, so a UDP answer is at most 512
// octets), RFC 1035 §4.2.2 and RFC 7766 (a truncated UDP answer is asked again over TCP),
// RFC 2308 (negative answers: NXDOMAIN vs NODATA; their TTL is min(SOA TTL, SOA MINIMUM) from
// the authority section, 60 s when the server sent no SOA), RFC 1034 §3.6.2 (CNAMEs in the
// answer section are followed, at most 8, a loop is a servfail).
// Trust: answers are bytes from the network. c-ares matches them to the query by ID, server
// address and port; Rampart parses them itself (wire.hpp: every read bounds-checked), because
// c-ares 1.18's ares_parse_* helpers drop the TTL of most types and the SOA of negative answers,
// and checks that the answer's question is the one asked (RFC 5452 §9.1). Only records whose
// owner is the asked name or a CNAME target reached from it are used. Names are checked with
// normalize_name before anything is sent. No DNSSEC validation: answers are as trustworthy as
// the path to the server.
// Errors: every outcome is an Answer (dns.hpp): NOERROR with records of the asked type → ok,
// NOERROR without → nodata, NXDOMAIN → nxdomain, any other RCODE → servfail with `rcode`, no
// answer in time → timeout, anything else (bad name, malformed answer, connection refused,
// resolver shutting down) → error with `detail`. A SERVFAIL or REFUSED is final: it is not
// asked again at the next server of resolv.conf (c-ares 1.18 would hide the RCODE otherwise).
// Threading: c-ares 1.18 channels are not thread-safe, so each call to query() or query_all()
// borrows a driver (a UDP and a TCP channel, both set up the same way) that no other thread
// uses meanwhile, and runs its event loop on the calling thread: no thread switch per query.
// Callers at once get drivers of their own; the pool keeps as many as were ever in use at
// once. Within one query_all(), up to `max_in_flight` questions are on the wire at once; the
// rest wait their turn.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dns/dns.hpp"

namespace rampart::dns {

struct AresOptions {
    /// Every query goes here; without one, c-ares reads the system's /etc/resolv.conf.
    std::optional<Server> server;
    /// Wait for one try. c-ares doubles it for each round through the servers.
    std::chrono::milliseconds timeout{2000};
    /// Tries per server before giving up (timeout).
    int tries = 2;
    /// Questions on the wire at once; more are queued. A server reads them from one socket
    /// whose default buffer holds about 250 datagrams: Knot DNS with Debian's defaults dropped
    /// part of a burst of 512 on 127.0.0.1 (each drop then costs a timeout), none of 256.
    /// 128 leaves room for the server's other clients.
    std::size_t max_in_flight = 128;
};

class AresResolver final : public Resolver {
public:
    /// Sets up c-ares and the first driver. Errors: Errc::io when c-ares cannot be initialised
    /// (no usable resolv.conf, no memory) or the shutdown wake-up descriptor cannot be made;
    /// Errc::malformed for options out of range (timeout or tries below 1,
    /// max_in_flight 0).
    [[nodiscard]] static Result<std::unique_ptr<AresResolver>> open(const AresOptions& options);

    /// Tells every caller in flight to stop and waits for them: questions still queued or in
    /// flight end with Status::error, detail "resolver shut down".
    ~AresResolver() override;
    AresResolver(const AresResolver&) = delete;
    AresResolver& operator=(const AresResolver&) = delete;

    [[nodiscard]] Answer query(std::string_view name, RrType type) override;
    /// Puts every question in flight at once (bounded by max_in_flight) and waits for all.
    [[nodiscard]] std::vector<Answer> query_all(std::span<const Question> questions) override;

    class Pool;  // the drivers, free and lent out (ares.cpp)

private:
    explicit AresResolver(std::unique_ptr<Pool> pool) noexcept;
    std::unique_ptr<Pool> pool_;
};

}  // namespace rampart::dns

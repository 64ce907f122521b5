// senders: who sends as each domain, why their mail fails, and what to do about it.
//
// Three layers, each testable alone:
// - identify: a source address -> its reverse-DNS name (forward-confirmed), the provider it
//   belongs to (the provider's published SPF ranges, its PTR patterns, the DKIM d= domains seen
//   on its mail) — cached in the store with a TTL, so analysis works offline from the cache and
//   degrades to "unidentified" when DNS cannot be reached.
// - classify (pure): roll-up rows + identities + the declared inventory -> senders, each with
//   volume, authentication and alignment shares and one class with an explanation and action.
// - analyse_domain: the two wired together over the store for one domain and window.
//
// Sender grouping, in order: a declared inventory sender (its ips, then the ranges of its
// spf_includes and provider, then its provider as identified, then a passing signature with its
// dkim_domains), an identified catalogue provider, else an undeclared source grouped by the
// organisational domain of its forward-confirmed PTR name, else by /24 (IPv4) or /48 (IPv6) —
// named "forwarder: <group>" for its mail that shows forwarding and "unknown: <group>" for the
// rest, so a forwarder and a spoofer in one block stay apart.
// Trust: report rows come from strangers; every text that reaches output is the caller's to
// pass through printable().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "config/config.hpp"
#include "core/core.hpp"
#include "dns/dns.hpp"
#include "store/store.hpp"

namespace rampart::senders {

// ---- identify -------------------------------------------------------------------------------

struct IdentifyOptions {
    std::chrono::seconds identity_ttl{std::chrono::hours(24 * 7)};
    std::chrono::seconds failure_ttl{std::chrono::hours(1)};        // after DNS failed
    std::chrono::seconds ranges_ttl{std::chrono::hours(24)};        // provider SPF ranges
    bool offline = false;  // never query DNS: cache only (expired entries still used)
};

/// Identifies sources, reading and filling the store's cache. `resolver` may be null (offline).
/// Not thread-safe; one per analysis.
class Identifier {
public:
    Identifier(store::Store& store, dns::Resolver* resolver, const catalogue::Catalogue& catalogue,
               std::function<Timestamp()> now, IdentifyOptions options = {});

    /// The identity of `ip`; `dkim_domains` are the d= domains seen on its mail, used when
    /// neither ranges nor PTR name a provider. Never fails for DNS problems: those give an
    /// identity with dns_failed set (and the stale cache entry when there is one). Errors are
    /// store errors only.
    [[nodiscard]] Result<store::SourceIdentity> identify(
        const IpAddress& ip, const std::vector<std::string>& dkim_domains = {});

    /// The flattened ip4/ip6 ranges of an SPF include name (cached as provider "spf:<name>").
    [[nodiscard]] Result<std::vector<Network>> include_ranges(std::string_view include_name);

    /// True when some look-up could not reach DNS and cached or no data was used instead.
    [[nodiscard]] bool degraded() const noexcept { return degraded_; }

private:
    [[nodiscard]] Result<std::vector<Network>> cached_ranges(const std::string& key,
                                                             const std::vector<std::string>& includes);

    store::Store& store_;
    dns::Resolver* resolver_;
    const catalogue::Catalogue& catalogue_;
    std::function<Timestamp()> now_;
    IdentifyOptions options_;
    std::map<std::string, std::vector<Network>, std::less<>> ranges_;  // per run
    bool degraded_ = false;
};

// ---- classify (pure) ------------------------------------------------------------------------

enum class SenderClass : std::uint8_t {
    passing,          // aligned and passing
    not_aligned,      // authenticated but not aligned (vendor d= or Return-Path); also a
                      // declared sender that is not authenticated at all (its set-up is missing)
    forwarded,        // authenticated at the origin, broken in transit
    dkim_broken,      // a selector that passed now fails or has no key, or a weak key
    subdomain_spoof,  // claims subdomains nobody declared, failing
    unauthorised,     // unknown source failing both
    unknown_passing,  // undeclared source that passes (shadow IT)
};
[[nodiscard]] std::string_view to_string(SenderClass c) noexcept;  // the codes above
[[nodiscard]] std::optional<SenderClass> parse_sender_class(std::string_view text) noexcept;

/// What classification knows about a DKIM key beyond the reports (from a live audit), by
/// "selector._domainkey.domain" name.
struct KeyState {
    bool missing = false;  // NXDOMAIN / no DKIM record
    bool revoked = false;  // empty p=
    bool weak = false;     // RSA under 2048 bits (1024 is deprecated: RFC 8301 allows it, receivers
                           // increasingly do not)
    int bits = 0;
};

struct ClassifyInput {
    std::string domain;  // as asked (lower-cased)
    Timestamp since{}, until{};
    const config::ClientConfig* client = nullptr;  // the client owning the domain, if declared
    std::vector<store::SourceFacts> facts;          // the window, summed per source (not by day)
    std::map<std::string, store::SourceIdentity, std::less<>> identities;  // by source ip
    /// Ranges of each declared sender's spf_includes and provider, by sender name.
    std::map<std::string, std::vector<Network>, std::less<>> sender_ranges;
    std::vector<store::SelectorUse> selectors;  // for dkim_broken
    std::map<std::string, KeyState, std::less<>> keys;  // "sel._domainkey.d" -> state
    std::map<std::string, std::chrono::sys_days, std::less<>> first_seen;  // by source ip
    const catalogue::Catalogue* catalogue = nullptr;  // builtin() when null
};

struct Share {
    std::uint64_t pass = 0;  // messages
    [[nodiscard]] double of(std::uint64_t total) const noexcept {
        return total == 0 ? 0.0 : static_cast<double>(pass) / static_cast<double>(total);
    }
};

struct Sender {
    std::string name;       // inventory name, provider name, "unknown: example.net",
                            // "unknown: 198.51.100.0/24" or "forwarder: lists.example"
    bool known = false;     // declared in the inventory
    std::string provider;   // catalogue id, "" none
    std::vector<std::string> sources;  // IPs or CIDRs, sorted
    std::uint64_t messages = 0;
    std::uint64_t dmarc_pass = 0;
    std::uint64_t spf_pass = 0;      // raw SPF authentication passed
    std::uint64_t spf_aligned = 0;   // policy_evaluated spf pass
    std::uint64_t dkim_pass = 0;     // some DKIM signature passed
    std::uint64_t dkim_aligned = 0;  // policy_evaluated dkim pass
    std::uint64_t forwarded = 0;     // messages with forwarding evidence
    SenderClass cls = SenderClass::passing;
    std::string explanation;  // one or two sentences a client can read
    std::string action;       // the recommended next step
    std::optional<std::string> decision;  // the inventory's documented plan
    std::optional<std::chrono::year_month_day> due;
    bool retired = false;     // declared retired, yet still sending
    std::vector<std::string> header_from;  // the From domains seen, most messages first
    std::vector<std::string> dkim_domains; // d= seen, most messages first
    std::vector<std::string> return_paths; // envelope_from domains seen
    std::optional<std::chrono::sys_days> first_seen;  // over all stored data
};

struct Analysis {
    std::string domain;
    Timestamp since{}, until{};
    std::uint64_t messages = 0;
    std::uint64_t dmarc_pass = 0;
    std::vector<Sender> senders;  // by messages, descending
    std::vector<std::string> notes;  // "DNS unreachable: identities from cache", ...
};

/// Groups and classifies. Pure: no DNS, no store, no clock.
[[nodiscard]] Analysis classify(const ClassifyInput& input);

// ---- analyse (wired) ------------------------------------------------------------------------

struct AnalyseRequest {
    std::string domain;
    Timestamp since{}, until{};
    const config::Config* config = nullptr;  // the inventory; null: none declared
    bool audit_keys = true;                  // look up the DKIM keys of selectors seen
    /// The rows to classify instead of the store's roll-up for the window: the rollout passes
    /// only the rows of reports that show a step's record.
    std::optional<std::vector<store::SourceFacts>> facts;
};

/// Reads the store, identifies sources (DNS through `resolver` when given), classifies.
[[nodiscard]] Result<Analysis> analyse_domain(store::Store& store, dns::Resolver* resolver,
                                              const AnalyseRequest& request,
                                              std::function<Timestamp()> now);

}  // namespace rampart::senders

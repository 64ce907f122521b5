// audit: the live audit of a mail domain's published authentication — what `rampart check`
// prints. For each domain: the SPF include tree with its look-up costs (spf::inspect), the DMARC
// policy that applies and where it was found, its report destinations and their external
// authorisation records, the DKIM keys at likely selectors, and the MX records. Every problem is
// a Finding with a severity, a stable code and a one-line fix.
//
// Standards: RFC 7208 §4.6.4 (SPF limits), RFC 9989 (DMARC record, tree walk), RFC 9990 §4
// (external report destinations, `<domain>._report._dmarc.<host>`), RFC 6376 §3.6.1 and
// RFC 8301 (DKIM keys and their strength), RFC 8463 (Ed25519 keys), RFC 7505 (null MX).
// Trust: domain names come from the operator, every record from strangers; names are checked
//   with dns::normalize_name before any query and record text is made printable() before it
//   reaches a message.
// Errors: nothing here fails. A bad name, a domain that does not exist and DNS trouble are
//   findings (domain-invalid, domain-nxdomain, dns-temperror, spf-temperror).
//
// Finding codes (stable; fixes.cpp holds the fix of each):
//   domain-invalid, domain-nxdomain (error: the only finding then), dns-temperror (error for the
//     MX and DMARC look-ups, warning for DKIM keys and report authorisation);
//   spf-*: spf::inspect's issue codes with its severities (spf-none is called spf-missing):
//     spf-missing, spf-multiple-records, spf-too-many-lookups, spf-void-lookups (the 3rd),
//     spf-void-lookup (each stale term), spf-plus-all, spf-neutral-all, spf-no-all, spf-ptr,
//     spf-include-missing, spf-syntax, spf-temperror, spf-loop, spf-mx-too-many-names,
//     spf-record-too-long-udp, spf-macro, spf-redirect-ignored, spf-depth, spf-too-many-nodes;
//   dmarc-missing (error), dmarc-multiple-records (error), dmarc-policy-none (info while
//     monitoring with rua, else warning), dmarc-no-rua (warning), dmarc-inherited (info),
//     dmarc-external-rua-unauthorised (error: reports are lost), dmarc-external-ruf-unauthorised
//     (warning), dmarc-org-domain-disagreement (warning), and the record's diagnostics:
//     dmarc-pct, dmarc-historic-tag, dmarc-policy-invalid, dmarc-uri-invalid,
//     dmarc-fo-without-ruf, dmarc-testing, dmarc-psd, anything else dmarc-syntax;
//   dkim-key-too-short (error, < 1024 bits), dkim-key-weak (warning, 1024..2047),
//     dkim-key-sha1-only (error), dkim-key-revoked, dkim-key-testing (warning),
//     dkim-key-unknown-type, dkim-key-unreadable, dkim-key-not-for-email, dkim-key-large,
//     dkim-syntax, dkim-ed25519-only (warning),
//     dkim-key-missing (error: a --selector without a key), dkim-reported-key-missing (warning:
//     a selector seen in reports without a key), dkim-selector-invalid (error),
//     dkim-no-selector-found (warning; info for a null-MX domain);
//   mx-missing (warning), mx-null (info), mx-null-mixed (warning).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"
#include "spf/spf.hpp"

namespace rampart::audit {

/// Most severe first, so sorting by severity puts errors on top.
enum class Severity : std::uint8_t { error, warning, info };
/// "error", "warning", "info".
[[nodiscard]] std::string_view to_string(Severity severity) noexcept;

struct Finding {
    Severity severity = Severity::warning;
    std::string code;     // stable, kebab-case: "spf-too-many-lookups"
    std::string message;  // one sentence about this domain
    std::string fix;      // one line: what to change
};

/// The one-line fix for a finding code, from the single table every finding takes its fix from;
/// a general sentence for a code the table does not know.
[[nodiscard]] std::string_view fix_for(std::string_view code) noexcept;

/// A report destination of the DMARC record (rua= or ruf=) and whether it may be used.
struct Destination {
    std::string uri;   // as written
    std::string host;  // the domain after '@' of a mailto: URI, lower case ("" if none)
    /// The host's Organizational Domain differs from the policy domain's (RFC 9990 §4), so an
    /// authorisation record is needed at `authorisation_name`.
    bool external = false;
    std::string authorisation_name;  // "<policy-domain>._report._dmarc.<host>"
    /// Internal destinations are always authorised; external ones when the record exists.
    bool authorised = true;
    /// The authorisation look-up failed (timeout, SERVFAIL): `authorised` is unknown.
    bool check_failed = false;
};

/// The DMARC policy that applies to the domain and where it came from.
struct DmarcSummary {
    std::string record;    // the record text ("" when none applies)
    std::string found_at;  // the name whose _dmarc record applies ("" when none)
    bool inherited = false;  // found at the Organizational Domain or a PSD, not the domain itself
    std::string source;    // "author domain", "organizational domain", "public suffix domain"
    std::string policy;    // p= as applied ("none" when absent)
    std::string sp, np;    // as written, "" when absent
    std::optional<int> pct;  // historic pct=, when written
    bool testing = false;  // t=y
    std::string org_domain;      // by the RFC 9989 tree walk
    std::string org_domain_psl;  // by the Public Suffix List (RFC 7489 §3.2)
    std::vector<Destination> rua, ruf;
};

/// A DKIM key record found at `<selector>._domainkey.<domain>`.
struct DkimKey {
    std::string selector;
    std::string name;        // "<selector>._domainkey.<domain>"
    std::string record;      // the TXT record, joined
    std::string key_type;    // "rsa", "ed25519", or the k= value as written
    std::optional<int> key_bits;  // RSA modulus size, 256 for Ed25519; absent when unreadable
    bool revoked = false;    // p= empty
    bool testing = false;    // t=y
    std::vector<std::string> hashes;  // h=, empty when absent (any hash)
};

struct DomainAudit {
    std::string domain;  // normalized; as given when it is not a valid name
    bool exists = true;  // false for NXDOMAIN and invalid names
    std::vector<Finding> findings;  // most severe first, then in the order found
    std::optional<spf::Tree> spf;   // absent when the domain was not walked
    std::optional<DmarcSummary> dmarc;  // absent when no policy applies or it was not looked up
    std::vector<DkimKey> dkim;      // keys found, in the order the selectors were tried
    std::vector<std::string> selectors_tried;
    std::vector<dns::Mx> mx;        // in preference order; one with exchange "" is a null MX

    [[nodiscard]] std::size_t count(Severity severity) const noexcept;
};

struct AuditOptions {
    /// --selector: only these are tried, and one without a key is an error.
    std::vector<std::string> selectors;
    /// The configuration's [dkim] selectors, tried besides the common ones.
    std::vector<std::string> configured_selectors;
    /// Selectors stored reports show the domain signing with: tried besides the common ones,
    /// and one without a key is a warning (dkim-reported-key-missing): mail signed with it
    /// fails DKIM, unless the selector was retired on purpose and only old mail named it.
    std::vector<std::string> reported_selectors;
    /// When set, the common list gains dated selectors (sYYYYMM) for this month and the two
    /// before it. Logic never reads the clock, so the caller passes today.
    std::optional<Timestamp> today;
    spf::Limits spf_limits;
};

/// Selectors worth trying when none is given. Kept short on purpose: each costs a query per
/// domain, and guessing can never prove a domain has no DKIM key — it only finds the keys the
/// big providers and common software publish: Google Workspace ("google"), Microsoft 365
/// ("selector1", "selector2"), cPanel/Plesk and many MTAs ("default", "dkim", "mail"), SES-like
/// and ESP conventions ("s1", "s2", "k1"), plus the dated "sYYYYMM" names Rampart itself rotates
/// through (this month and the two before, when `today` is given).
[[nodiscard]] std::vector<std::string> common_selectors(std::optional<Timestamp> today);

/// The selectors audit_domain() tries, in order, without duplicates.
[[nodiscard]] std::vector<std::string> selectors_to_try(const AuditOptions& options);

/// Audits one domain. The SPF walk, the DMARC discovery, and the DKIM and MX look-ups run
/// concurrently; the resolver must be thread-safe (every dns::Resolver is).
[[nodiscard]] DomainAudit audit_domain(dns::Resolver& resolver, std::string_view domain,
                                       const AuditOptions& options);

struct AuditRun {
    std::vector<DomainAudit> domains;  // in input order
    std::size_t errors = 0, warnings = 0;
};

/// Called after each domain is done with (done, total); from worker threads, one call at a
/// time, so a progress bar needs no lock of its own.
using Progress = std::function<void(std::size_t done, std::size_t total)>;

/// Audits many domains on a bounded pool of `workers` threads; results keep the input order.
[[nodiscard]] AuditRun audit_all(dns::Resolver& resolver, std::span<const std::string> domains,
                                 const AuditOptions& options, const Progress& progress = {},
                                 std::size_t workers = 64);

}  // namespace rampart::audit

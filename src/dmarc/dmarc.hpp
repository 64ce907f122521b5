// dmarc: DMARC policy records — parse and render the record text, discover the policy that
// applies to an Author Domain, find Organizational Domains both ways (RFC 9989 DNS Tree Walk and
// the RFC 7489 Public Suffix List), and check external report destinations.
//
// Standards: RFC 9989 §4.7–4.8 (record syntax and tags), §4.10 (DNS Tree Walk, policy discovery,
// Organizational Domain), §5.3 (which of p/sp/np applies), Appendix A.6 (pct is historic);
// RFC 7489 §3.2 (Organizational Domain from the Public Suffix List), §6.3 (its tags: pct, rf, ri);
// RFC 9990 §4 "Verifying External Destinations" (`<policy-domain>._report._dmarc.<host>`).
// Trust: record text and names come from strangers' DNS. Parsing is linear in the input, keeps
// every value it cannot use as a Diagnostic, and never asserts on input. A tree walk makes at most
// 8 queries (RFC 9989 §4.10); discovery adds at most one existence query for `np`.
// Errors: `parse_record` fails only when the text is not a DMARC record at all (no `v=DMARC1`
// first); everything else is a Diagnostic on the Record. Walks and discovery return Errc::malformed
// for a name `dns::normalize_name` refuses (non-ASCII labels must arrive as A-labels); DNS trouble
// is reported as `temperror` in the result, never as an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"

namespace rampart::dmarc {

// ---------------------------------------------------------------------------------------------
// Record text

enum class Severity : std::uint8_t { info, warning, error };
[[nodiscard]] std::string_view to_string(Severity severity) noexcept;

/// Something worth telling the domain owner about one record. `code` is stable (tests, JSON);
/// `message` is one sentence for a human, with stranger text already made printable.
struct Diagnostic {
    Severity severity = Severity::warning;
    std::string code;      // "unknown-tag", "invalid-p", "pct-historic", "bad-uri", ...
    std::string message;
    std::size_t offset = 0;  // byte offset in the record text where the problem starts
    friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

/// p, sp, np: "none" | "quarantine" | "reject" (case-insensitive on input).
enum class Policy : std::uint8_t { none, quarantine, reject };
[[nodiscard]] std::string_view to_string(Policy policy) noexcept;
[[nodiscard]] std::optional<Policy> parse_policy(std::string_view text) noexcept;
/// What `t=y` makes of a policy (RFC 9989 §5.3.1): reject → quarantine, quarantine → none.
[[nodiscard]] Policy one_level_lower(Policy policy) noexcept;

/// adkim, aspf: "r" | "s".
enum class Alignment : std::uint8_t { relaxed, strict };
[[nodiscard]] std::string_view to_string(Alignment alignment) noexcept;  // "r" | "s"

/// psd: `y` published by a Public Suffix Operator, `n` this is an Organizational Domain,
/// `u` (default) let the tree walk decide.
enum class Psd : std::uint8_t { unknown, yes, no };
[[nodiscard]] std::string_view to_string(Psd psd) noexcept;  // "u" | "y" | "n"

/// fo: "0" report when every mechanism failed to align, "1" when any did, "d" DKIM signature
/// failed (RFC 6651), "s" SPF failed (RFC 6652).
enum class FailureOption : std::uint8_t { all_failed, any_failed, dkim, spf };
[[nodiscard]] std::string_view to_string(FailureOption option) noexcept;  // "0" | "1" | "d" | "s"

/// One syntactically valid URI of rua/ruf. URIs that are not valid are left out of the Record
/// and reported as "bad-uri" diagnostics, so `rua.empty()` means "no usable rua" (§4.10.1).
struct ReportUri {
    std::string uri;      // as written, without the obsolete "!size" suffix
    std::string scheme;   // lower case: "mailto", "https", ...
    std::string address;  // mailto only: the %-decoded addr-spec, "dmarc+x@example.com"
    std::string domain;   // mailto only: the address's domain, normalized (lower case)
    std::optional<std::uint64_t> size_limit;  // obsolete "!10m" → 10485760; ignored by RFC 9989
    [[nodiscard]] bool is_mailto() const noexcept { return scheme == "mailto"; }
    friend bool operator==(const ReportUri&, const ReportUri&) = default;
};

struct Tag {
    std::string name;
    std::string value;
    friend bool operator==(const Tag&, const Tag&) = default;
};

/// A DMARC record as published. Optional fields are absent when the tag was absent or its value
/// was invalid (the diagnostics say which); the accessors below apply the RFC defaults.
struct Record {
    std::optional<Policy> p, sp, np;
    std::optional<Psd> psd;
    std::optional<bool> t;  // t=y → true, t=n → false
    std::optional<int> pct;  // historic (RFC 7489 only), 0..100
    std::optional<Alignment> adkim, aspf;
    std::vector<ReportUri> rua, ruf;
    std::vector<FailureOption> fo;  // in the order written, no duplicates
    std::optional<std::string> rf;          // historic; "afrf" is the only registered format
    std::optional<std::uint32_t> ri;        // historic; seconds
    std::vector<Tag> unknown_tags;          // kept so nothing is silently dropped
    /// Known tags whose value was unusable (lower-case name, value as written), kept so that
    /// format_record writes them back and the record means the same after a round trip.
    std::vector<Tag> invalid_tags;
    /// p, sp or np was present with a value that is not a policy. RFC 9989 §4.10.1: the record
    /// then acts as p=none (for p, sp and np) if rua holds at least one valid URI, else it is
    /// not applied at all (see `applies()`).
    bool invalid_policy = false;
    std::vector<Diagnostic> diagnostics;

    /// False when an invalid p/sp/np comes without a usable rua: receivers do no DMARC with it.
    [[nodiscard]] bool applies() const noexcept { return !invalid_policy || !rua.empty(); }
    /// The requested policies with their defaults and fallbacks: p (absent → none),
    /// sp → p, np → sp → p; every one is none when `invalid_policy` (and the record applies).
    [[nodiscard]] Policy policy() const noexcept;
    [[nodiscard]] Policy subdomain_policy() const noexcept;
    [[nodiscard]] Policy nonexistent_policy() const noexcept;
    [[nodiscard]] Alignment dkim_alignment() const noexcept { return adkim.value_or(Alignment::relaxed); }
    [[nodiscard]] Alignment spf_alignment() const noexcept { return aspf.value_or(Alignment::relaxed); }
    [[nodiscard]] Psd psd_mode() const noexcept { return psd.value_or(Psd::unknown); }
    [[nodiscard]] bool test_mode() const noexcept { return t.value_or(false); }
    [[nodiscard]] bool has_errors() const noexcept;
    friend bool operator==(const Record&, const Record&) = default;
};

/// Parses one DMARC record (the TXT strings already joined, RFC 9989 §4.5).
/// Returns Errc::malformed, saying why, when it is not a DMARC record at all: `v` missing, not the
/// first tag, or not exactly "DMARC1" (case-sensitive). Otherwise a Record whose diagnostics list
/// every problem: errors for values the RFC makes invalid (invalid p/sp/np with what receivers then
/// do, bad adkim/aspf/psd/t/fo, duplicate tags — the first occurrence is used), warnings for unknown
/// tags, bad or non-mailto URIs, the obsolete "!size", fo without ruf, missing p, p not second
/// (RFC 7489), historic pct/rf/ri (pct other than 0 and 100 was never applied consistently);
/// info for t=y and psd=y. Tag names and keyword values are case-insensitive (RFC 5234 §2.3);
/// leading whitespace before v= is tolerated.
[[nodiscard]] Result<Record> parse_record(std::string_view text);

/// True when the text starts with the tag v=DMARC1 (the test receivers use to keep or discard a
/// TXT record at `_dmarc.<name>`, §4.10 step 1). Whitespace before "v" and around "=" is allowed.
[[nodiscard]] bool is_dmarc_record(std::string_view text) noexcept;

/// Canonical text: "v=DMARC1; p=none; ...; ri=86400" with tags in the order v, p, sp, np, psd, t,
/// pct, adkim, aspf, rua, ruf, fo, rf, ri, then unknown tags as written. Only present tags are
/// written; tags kept in `invalid_tags` are written back as they were, in their place.
/// parse_record(format_record(r)) gives r back (diagnostics aside). URIs are written as `uri` plus "!size" when a size limit is set.
[[nodiscard]] std::string format_record(const Record& record);

// ---------------------------------------------------------------------------------------------
// DNS Tree Walk (RFC 9989 §4.10)

/// "_dmarc.<domain>", or Errc::malformed when the domain is not a valid name or the result would
/// exceed 253 octets.
[[nodiscard]] Result<std::string> dmarc_query_name(std::string_view domain);

/// One `_dmarc` TXT query of a walk.
struct Query {
    std::string domain;  // "mail.example.com"
    std::string name;    // "_dmarc.mail.example.com"
    dns::Status status = dns::Status::error;
    /// The resolver's words for a failure. A `_dmarc` name over 253 octets cannot exist, so it is
    /// not asked: status nxdomain, detail "not queried: ...".
    std::string detail;
    std::vector<std::string> cname_chain;  // CNAMEs followed to the answer (a CNAME at _dmarc)
    std::vector<std::string> dmarc_texts;  // TXT records starting with v=DMARC1, joined strings
    /// The record when exactly one DMARC record was there (several are all discarded, §4.10).
    std::optional<Record> record;
    [[nodiscard]] bool failed() const noexcept {
        return status == dns::Status::servfail || status == dns::Status::timeout ||
               status == dns::Status::error;
    }
};

/// The queries of one walk, in the order made.
struct TreeWalk {
    std::string start;  // normalized
    std::vector<Query> queries;
    /// A query failed (SERVFAIL, timeout, unusable answer): the walk stopped there and its outcome
    /// is unknown; DMARC's answer is temperror (§4.10, §5.3 step 5).
    bool temperror = false;
};

/// Walks from `start` (§4.10): `_dmarc.<start>`, then — if it has fewer than 8 labels — its parent,
/// else the 7-label suffix, then one label less each time down to the TLD: at most 8 queries.
/// Stops at a single record with psd=y or psd=n, or at the first DNS failure (temperror).
/// Errc::malformed when `start` is not a valid domain name.
[[nodiscard]] Result<TreeWalk> walk(dns::Resolver& resolver, std::string_view start);

/// Which rule of §4.10.2 chose an Organizational Domain.
enum class OrgRule : std::uint8_t {
    psd_no,         // a record with psd=n: that name
    below_psd,      // a record with psd=y above the start name: the name one label below it
    fewest_labels,  // otherwise the name with a record and the fewest labels
    no_record,      // no record anywhere: the start name itself
};
[[nodiscard]] std::string_view to_string(OrgRule rule) noexcept;

struct OrgDomain {
    std::string name;  // empty when temperror
    OrgRule rule = OrgRule::no_record;
    bool temperror = false;
    TreeWalk walk;
};

/// The Organizational Domain of `walk.start` from the records its walk found (§4.10.2). Pure.
[[nodiscard]] OrgDomain org_domain_from_walk(TreeWalk walk);
/// walk() then org_domain_from_walk(). Errc::malformed for an invalid name.
[[nodiscard]] Result<OrgDomain> org_domain_by_walk(dns::Resolver& resolver, std::string_view name);

/// RFC 7489 §3.2: the registrable domain by the Public Suffix List (libpsl over the system's list,
/// loaded once, both ICANN and PRIVATE sections; libpsl's built-in list when the system has none).
/// Accepts A-labels and UTF-8 U-labels (answered in the form given), any case, one trailing dot;
/// nullopt when the name is itself a public suffix, or is empty or malformed (leading dot, empty
/// label, over 253 octets, control characters). No I/O after the first call.
[[nodiscard]] std::optional<std::string> org_domain_by_psl(std::string_view name);
/// Where the list came from: the file path, or "libpsl built-in" (for diagnostics and tests).
[[nodiscard]] std::string psl_source();

struct OrgDomainComparison {
    std::string name;
    std::optional<std::string> by_psl;  // nullopt: the name is a public suffix
    OrgDomain by_walk;
    /// The two answers differ (a PSL "none" differs from any walk answer). False on temperror.
    bool disagree = false;
    std::string explanation;  // one line, why they agree or differ
};
/// Both answers for one name, for RFC 7489 vs RFC 9989 interop (RFC 9989 Appendix C.3).
/// Errc::malformed for an invalid name.
[[nodiscard]] Result<OrgDomainComparison> compare_org_domains(dns::Resolver& resolver,
                                                              std::string_view name);

// ---------------------------------------------------------------------------------------------
// Policy discovery (RFC 9989 §4.10.1, §5.3)

/// Where the policy record was found.
enum class PolicySource : std::uint8_t {
    none,                 // no record: DMARC does not apply
    author_domain,        // the Author Domain's own record
    organizational_domain,
    public_suffix_domain,  // a psd=y record above the Organizational Domain
};
[[nodiscard]] std::string_view to_string(PolicySource source) noexcept;

/// Which tag of the record gives the policy for this Author Domain.
enum class PolicyTag : std::uint8_t { p, sp, np };
[[nodiscard]] std::string_view to_string(PolicyTag tag) noexcept;

struct Discovery {
    std::string author_domain;  // normalized
    PolicySource source = PolicySource::none;
    std::string policy_domain;          // the name the record was found at ("" for none)
    std::optional<Record> record;       // the policy record
    std::string organizational_domain;  // of the Author Domain, §4.10.2 ("" on temperror)
    OrgRule org_rule = OrgRule::no_record;
    /// Existence of the Author Domain, known only when it mattered (record from a walk):
    /// true when `_dmarc.<author>` or the author itself answered NOERROR (RFC 8020: a name with
    /// something below it exists), false only on NXDOMAIN for the author itself.
    std::optional<bool> author_exists;
    std::optional<PolicyTag> tag;    // p for the author's own record; sp or np otherwise
    std::optional<Policy> policy;    // that tag's value with fallbacks; nullopt: DMARC does not apply
    bool test_mode = false;          // t=y: receivers apply one_level_lower(*policy)
    bool temperror = false;          // a needed query failed: no policy can be applied
    std::vector<Query> queries;      // every `_dmarc` query, in order
    std::optional<dns::Answer> existence_answer;  // the author-domain A query, if one was made
    std::string explanation;         // one line for a human
};

/// Discovers the policy for mail whose RFC5322.From domain is `author_domain`: `_dmarc.<author>`
/// first; if no single valid record is there, the tree walk from the author gives the
/// Organizational Domain, whose record is the policy record, else the walk's psd=y record.
/// For a record found above the author, sp applies if the author exists and np if it does not:
/// existence is settled by `_dmarc.<author>` answering anything but NXDOMAIN, else by one A query
/// for the author (NXDOMAIN → non-existent; a failure → temperror). A policy record that does not
/// `applies()` (invalid p/sp/np without a valid rua) leaves DMARC not applying: `policy` nullopt.
/// Errc::malformed for an invalid name.
[[nodiscard]] Result<Discovery> discover_policy(dns::Resolver& resolver,
                                                std::string_view author_domain);

// ---------------------------------------------------------------------------------------------
// External report destinations (RFC 9990 §4)

/// "<policy-domain>._report._dmarc.<destination>", or Errc::malformed when either name is invalid
/// or the result exceeds DNS limits (which RFC 9990 says means "not authorised").
[[nodiscard]] Result<std::string> report_authorisation_name(std::string_view policy_domain,
                                                            std::string_view destination_domain);

/// True when the destination needs an authorisation record: its Organizational Domain differs
/// from the policy domain's. Both are taken from the Public Suffix List, as reporters that verify
/// destinations do it offline in practice and a tree walk per URI would cost up to 16 queries;
/// a name that is itself a public suffix stands for itself.
[[nodiscard]] bool needs_authorisation(std::string_view policy_domain,
                                       std::string_view destination_domain);

struct ReportAuthorisation {
    std::string policy_domain;
    std::string destination_domain;
    bool needed = false;      // needs_authorisation(); no query is made otherwise
    bool authorised = false;  // not needed, or at least one DMARC record at `query_name`
    bool temperror = false;   // the query failed: try again later (RFC 9990 §4 allows deferring)
    std::string query_name;
    std::optional<dns::Status> status;  // set when a query was made
    std::vector<Record> records;        // the DMARC records found there (they may override rua/ruf)
    std::string explanation;
};

/// Checks one destination domain (for a mailto URI, `ReportUri::domain`) of a record found at
/// `policy_domain`: queries the authorisation name when `needs_authorisation`. An invalid name or
/// one too long for DNS comes back not authorised, with the reason, and no query.
[[nodiscard]] ReportAuthorisation check_report_authorisation(dns::Resolver& resolver,
                                                             std::string_view policy_domain,
                                                             std::string_view destination_domain);

}  // namespace rampart::dmarc

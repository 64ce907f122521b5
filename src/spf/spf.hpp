// spf: Sender Policy Framework as a receiver evaluates it, and as a domain owner audits it.
//
//   - parse_record(): the record grammar of RFC 7208 §4.5-§6 (terms, qualifiers, dual CIDR,
//     modifiers), every syntax error a permerror with the term and its position;
//   - expand(): macro expansion of §7, including the explanation-only letters c, r, t;
//   - check_host(): the §4 function, with the §4.6.4 limits (10 DNS-querying terms, 2 void
//     look-ups, 10 MX names, 10 PTR names) and an injected time limit, returning the result,
//     the reason, the exp= text and a trace of every term it tried;
//   - inspect(): a static walk of a domain's include/redirect tree for audits and setup: each
//     node's look-up cost, the running total, void look-ups, and what is wrong where.
//
// Standards: RFC 7208 (SPF), RFC 8601 §2.7.2 (result names), RFC 7505 (null MX).
// Trust: records, macro inputs (sender, HELO) and every DNS answer come from strangers. Work is
//   bounded by Limits: at most 10 DNS-querying terms per evaluation (so include/redirect loops end
//   in permerror), 10 names per mx/ptr, expanded names cut to 253 octets; inspect() caps depth
//   and node count. No input asserts.
// Errors: check_host() never fails: DNS trouble is temperror, bad records permerror, both with
//   the reason. parse_record() and expand() return Errc::malformed (a permerror in SPF terms).
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

namespace rampart::spf {

// ---------------------------------------------------------------------------------------------
// Results

/// RFC 7208 §2.6, spelled as RFC 8601 writes them ("pass", "temperror", ...).
enum class SpfResult : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
[[nodiscard]] std::string_view to_string(SpfResult result) noexcept;
/// The inverse of to_string, case-insensitive; nullopt for anything else.
[[nodiscard]] std::optional<SpfResult> parse_result(std::string_view text) noexcept;

// ---------------------------------------------------------------------------------------------
// Record model (RFC 7208 §4.6.1, §5, §6)

/// qualifier = "+" / "-" / "?" / "~"; absent means "+".
enum class Qualifier : std::uint8_t { pass, fail, softfail, neutral };
[[nodiscard]] SpfResult result_of(Qualifier qualifier) noexcept;
/// "+", "-", "~", "?".
[[nodiscard]] char symbol(Qualifier qualifier) noexcept;

enum class MechanismKind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };
/// "all", "include", ...
[[nodiscard]] std::string_view to_string(MechanismKind kind) noexcept;

struct Mechanism {
    Qualifier qualifier = Qualifier::pass;
    MechanismKind kind = MechanismKind::all;
    /// The macro-string after ':' (include, a, mx, ptr, exists); empty when absent, which for
    /// a, mx and ptr means the current domain.
    std::string domain_spec;
    /// ip4/ip6: the network as written (host bits may be set; matching masks them).
    std::optional<IpAddress> network;
    int cidr4 = 32;   // a, mx, ip4: prefix length for IPv4 ("/24")
    int cidr6 = 128;  // a, mx, ip6: prefix length for IPv6 ("//64", or "/64" on ip6)
    std::string text;  // the term as written, for traces and messages

    /// include, a, mx, ptr, exists: the terms §4.6.4 counts toward the limit of 10.
    [[nodiscard]] bool queries_dns() const noexcept;
    /// The domain-spec holds a macro ('%'), so its target depends on the message.
    [[nodiscard]] bool has_macros() const noexcept;
};

/// name=value. Names are kept lower case; value is the macro-string as written.
struct Modifier {
    std::string name;
    std::string value;
    std::string text;  // the term as written
};

struct Record {
    std::vector<Mechanism> mechanisms;  // in evaluation order
    std::optional<Modifier> redirect;   // §6.1: at most once
    std::optional<Modifier> exp;        // §6.2: at most once
    std::vector<Modifier> unknown_modifiers;  // §6: ignored by evaluation, kept for audits

    /// The record has an "all" mechanism (so a redirect= is never used, §6.1).
    [[nodiscard]] bool has_all() const noexcept;
    /// DNS-querying terms of this record alone: include/a/mx/ptr/exists, plus redirect when it
    /// would be used.
    [[nodiscard]] int own_lookups() const noexcept;
};

/// True when `txt` is an SPF version 1 record: "v=spf1" (any case) followed by a space or the
/// end (§4.5). "v=spf10" and "v=spf1\t..." are not.
[[nodiscard]] bool is_spf_record(std::string_view txt) noexcept;

/// Parses a whole record ("v=spf1 ..."). Any syntax error anywhere (§4.6) is Errc::malformed
/// whose reason names the term, with Location::offset at the term's first octet and
/// Location::column = offset + 1. Non-ASCII octets, control characters and tabs are errors;
/// runs of spaces and trailing spaces are not. Records longer than 8192 octets are
/// Errc::limit_exceeded (no real DNS answer carries more).
[[nodiscard]] Result<Record> parse_record(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Macros (RFC 7208 §7)

/// Where a macro-string appears: names (domain-spec, redirect=) or explanation text (exp= TXT),
/// which alone may use c, r and t and is not cut to 253 octets.
enum class MacroUse : std::uint8_t { domain_spec, explanation };

struct MacroContext {
    IpAddress ip;             // %{i}, %{c}, %{v}
    std::string sender;       // %{s}: local-part@domain (already defaulted, see mail_from())
    std::string local_part;   // %{l}
    std::string sender_domain;  // %{o}
    std::string domain;       // %{d}: the domain check_host() is evaluating now
    std::string helo;         // %{h}
    std::string receiver = "unknown";  // %{r}
    Timestamp now{};          // %{t}
    /// %{p}: the validated domain name of `ip` (§5.5), looked up only when a macro asks; when
    /// empty, "unknown".
    std::function<std::string()> validated_name;
};

/// Expands a macro-string. Errors (Errc::malformed): '%' not followed by '{', '%', '_' or '-';
/// an unknown letter; c/r/t outside explanations; a zero digit count; an unterminated "%{".
/// For MacroUse::domain_spec a result over 253 octets loses labels from the left until it fits
/// (§7.3); the caller still validates the name.
[[nodiscard]] Result<std::string> expand(std::string_view macro_string, const MacroContext& context,
                                         MacroUse use = MacroUse::domain_spec);

// ---------------------------------------------------------------------------------------------
// check_host() (RFC 7208 §4)

struct Request {
    IpAddress ip;        // the SMTP client
    std::string domain;  // <domain>: the MAIL FROM domain, or the HELO name for a HELO check
    std::string sender;  // <sender>: MAIL FROM, or "postmaster@<helo>" (see mail_from())
    std::string helo;    // %{h}
    std::string receiver = "unknown";  // %{r}
    Timestamp now{};     // %{t}
};

/// The MAIL FROM identity (§2.4, §4.3): an empty reverse-path becomes "postmaster@<helo>", an
/// address without '@' gets local-part "postmaster", the domain is the part after the last '@'.
[[nodiscard]] Request mail_from(const IpAddress& ip, std::string_view sender, std::string_view helo);
/// The HELO identity (§2.3): domain = helo, sender = "postmaster@<helo>".
[[nodiscard]] Request helo_identity(const IpAddress& ip, std::string_view helo);

struct Limits {
    int dns_mechanisms = 10;  // §4.6.4: include/a/mx/ptr/exists/redirect per evaluation
    int void_lookups = 2;     // §4.6.4: empty answers; the next one is permerror
    int mx_names = 10;        // §4.6.4: an mx with more names is permerror
    int ptr_names = 10;       // §4.6.4: names past this are ignored
    std::chrono::milliseconds time_limit{20000};  // §4.6.4: whole check, then temperror
    // inspect() only: bounds on the static walk.
    int max_depth = 12;
    int max_nodes = 200;
};

struct Options {
    Limits limits;
    /// Record a TraceStep per term. Off for bulk evaluation where only the result matters.
    bool trace = true;
    /// Time since the check began (monotonic), read before each DNS query; when it passes
    /// limits.time_limit the result is temperror. Empty: no time limit beyond the resolver's.
    std::function<std::chrono::milliseconds()> elapsed;
};

/// One term tried, in evaluation order.
struct TraceStep {
    int depth = 0;            // 0 for the checked domain, +1 per include/redirect
    std::string domain;       // the domain whose record holds the term
    std::string term;         // "include:_spf.example.com", "redirect=...", "exp=..."
    int lookups = 0;          // DNS-mechanism count this term cost (0 or 1)
    int total_lookups = 0;    // running total after this term
    bool matched = false;
    std::string outcome;      // "match → pass", "no match", "void lookup", "permerror: ..."
};

struct Evaluation {
    SpfResult result = SpfResult::none;
    std::string reason;  // one sentence: why this result ("matched -all at example.com")
    std::optional<std::string> explanation;  // fail only, when exp= yields text
    std::string domain;         // the checked domain
    std::string record;         // its SPF record text, when one was found
    /// The mechanism of the checked domain's record (or its redirect target's) that decided,
    /// as written: an include when the match was inside one (the trace shows what matched
    /// there); "" for the default result and for errors outside a matching term.
    std::string matched_term;
    std::string matched_domain;  // the domain whose record held it
    int lookups = 0;       // DNS-querying terms evaluated (§4.6.4)
    int void_lookups = 0;  // empty answers seen (§4.6.4)
    std::vector<TraceStep> trace;
};

/// check_host(<ip>, <domain>, <sender>) of §4. Never fails: DNS errors and timeouts become
/// temperror, syntax and limit violations permerror, each with `reason`. A malformed or
/// single-label domain, or one without an SPF record, is none.
[[nodiscard]] Evaluation check_host(dns::Resolver& resolver, const Request& request,
                                    const Options& options = {});

// ---------------------------------------------------------------------------------------------
// Static audit of a published policy

struct Issue {
    enum class Severity : std::uint8_t { error, warning, info };
    Severity severity = Severity::warning;
    /// Stable identifier: spf-none (no record at the root), spf-too-many-lookups,
    /// spf-void-lookup (one empty answer), spf-void-lookups (past the limit), spf-plus-all,
    /// spf-neutral-all, spf-no-all, spf-ptr, spf-multiple-records, spf-include-missing,
    /// spf-syntax, spf-loop, spf-mx-too-many-names, spf-record-too-long-udp, spf-temperror,
    /// spf-macro, spf-redirect-ignored, spf-depth, spf-too-many-nodes.
    std::string code;
    std::string message;  // one sentence for a human, names from DNS already printable()
    std::string term;     // the term concerned, when there is one
};
[[nodiscard]] std::string_view to_string(Issue::Severity severity) noexcept;

/// One DNS-querying term of a node, in evaluation order.
struct TermCost {
    std::string term;        // as written
    int lookups = 0;         // 1 for include/a/mx/ptr/exists/redirect (an include's subtree is
                             // counted on the child node)
    int running_total = 0;   // running total after this term (children included)
    int void_lookups = 0;    // empty answers this term met (a/mx/exists targets, include TXT)
    int mx_names = 0;        // mx: names in the MX answer
    bool over_limit = false; // this term is past Limits::dns_mechanisms
    std::string note;        // "target depends on macros", "null MX", ...
};

enum class Via : std::uint8_t { root, include, redirect };
[[nodiscard]] std::string_view to_string(Via via) noexcept;

struct TreeNode {
    std::string domain;
    Via via = Via::root;
    std::string term;                  // the include/redirect term that led here ("" at root)
    dns::Status status = dns::Status::ok;  // of the TXT look-up
    std::vector<std::string> records;  // every v=spf1 TXT at the name, joined strings
    std::size_t txt_octets = 0;        // all TXT data at the name (> 450 risks > 512-byte UDP)
    bool truncated_answer = false;     // the TXT answer needed TCP
    std::optional<Record> parsed;      // when exactly one record parsed
    int own_lookups = 0;               // this record's DNS-querying terms
    int subtree_lookups = 0;           // own plus every descendant's: what including this
                                       // domain costs is 1 + subtree_lookups
    int running_total_before = 0;      // evaluation-order total when this node is entered
    int running_total_after = 0;       // ... and when it is finished
    int void_lookups = 0;              // in this node's own terms and its TXT look-up
    std::vector<TermCost> terms;       // DNS-querying terms in order
    std::vector<Issue> issues;         // about this node
    std::vector<TreeNode> children;    // include/redirect targets, in evaluation order
};

struct Tree {
    TreeNode root;
    int total_lookups = 0;       // what a full evaluation that matches nothing would cost
    int total_void_lookups = 0;
    bool over_limit = false;     // total_lookups > Limits::dns_mechanisms
    /// Where the limit is first exceeded: "<domain>: <term>" (empty when within it).
    std::string limit_exceeded_at;
    bool void_over_limit = false;
    int nodes = 0;
    /// Every issue of every node, prefixed by the node's domain, root first.
    std::vector<Issue> issues;
};

/// Walks `domain`'s SPF policy: its TXT record, every include and redirect (fetched
/// concurrently per node through Resolver::query_all) and the targets of a/mx/exists (for void
/// look-ups and MX name counts). Continues past the §4.6.4 limits so the whole tree is shown,
/// marking where each is exceeded; stops at loops, Limits::max_depth and Limits::max_nodes.
/// Terms with macros cannot be resolved without a message: they cost 1 and carry a note.
/// Never fails: DNS errors become spf-temperror issues on the node concerned.
[[nodiscard]] Tree inspect(dns::Resolver& resolver, std::string_view domain,
                           const Limits& limits = {});

/// The same walk for a record not yet published at `domain` (what setup proposes): `record`
/// takes the place of the root's TXT look-up.
[[nodiscard]] Tree inspect_record(dns::Resolver& resolver, std::string_view domain,
                                  std::string_view record, const Limits& limits = {});

}  // namespace rampart::spf

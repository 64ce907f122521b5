// `rampart setup` planning: request → checked terms → SPF measured live → DMARC, DKIM and CNAME
// records → notes; the key pair is made and written last, once nothing can refuse any more.
#include "setup/setup.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "dkim/dkim.hpp"
#include "dmarc/dmarc.hpp"
#include "spf/spf.hpp"

namespace rampart::setup {
namespace {

namespace cat = catalogue;

constexpr std::size_t spf_udp_comfort_octets = 450;  // RFC 7208 §3.4: keep answers under 512
constexpr int max_lookups = 10;                       // RFC 7208 §4.6.4
constexpr int max_void_lookups = 2;                   // RFC 7208 §4.6.4

std::unexpected<Refusal> refuse(Refusal::Kind kind, Errc code, std::string reason,
                                std::optional<SpfPlan> spf = std::nullopt) {
    return std::unexpected(Refusal{.kind = kind,
                                   .error = Error{.code = code, .reason = std::move(reason)},
                                   .spf = std::move(spf)});
}
std::unexpected<Refusal> usage(std::string reason) {
    return refuse(Refusal::Kind::usage, Errc::malformed, std::move(reason));
}
std::unexpected<Refusal> usage(const Error& e, std::string_view what) {
    return usage(fmt::format("{}: {}", what, e.reason));
}

// ---------------------------------------------------------------------------------------------
// SPF terms

/// One term of the record being built.
struct SpfTerm {
    std::string text;      // as it will be written
    bool queries = false;  // counts toward the 10
    std::string provider;  // the catalogue selection that asked for it
};

struct SpfTerms {
    std::vector<cat::Network> networks;
    std::vector<SpfTerm> dns_terms;  // a, mx, include — in that order in the record
    std::vector<std::string> provider_notes;
};

bool has_term(const std::vector<SpfTerm>& terms, std::string_view text) {
    return std::ranges::any_of(terms, [&](const SpfTerm& t) { return t.text == text; });
}

Result<std::string> checked_name(std::string_view text, std::string_view what) {
    auto n = dns::normalize_name(text);
    if (!n) return fail(Errc::malformed, fmt::format("{} '{}': {}", what, printable(text), n.error().reason));
    if (n->find('.') == std::string::npos)
        return fail(Errc::malformed, fmt::format("{} '{}' is not a fully qualified name", what, printable(*n)));
    return n;
}

Result<void> add_networks(const std::vector<std::string>& ips, std::vector<cat::Network>& out) {
    for (auto text : ips) {
        std::string_view v = trim(text);
        if (v.starts_with("ip4:") || v.starts_with("ip6:")) v.remove_prefix(4);
        auto n = cat::parse_network(v);
        if (!n) return fail(Errc::malformed, fmt::format("--ip {}", n.error().reason));
        out.push_back(*n);
    }
    // Dedupe, and drop a network inside a broader one: it would only lengthen the record.
    std::vector<cat::Network> kept;
    for (const auto& n : out) {
        bool covered = std::ranges::any_of(out, [&](const cat::Network& other) {
            return &other != &n && other.prefix <= n.prefix && other.contains(n.address) &&
                   (other.prefix < n.prefix || &other < &n);
        });
        if (!covered) kept.push_back(n);
    }
    out = std::move(kept);
    return {};
}

std::string network_term(const cat::Network& n) {
    bool v4 = n.address.family() == IpAddress::Family::v4;
    bool host = n.prefix == (v4 ? 32 : 128);
    return fmt::format("{}:{}{}", v4 ? "ip4" : "ip6", n.address.to_string(),
                       host ? std::string() : fmt::format("/{}", n.prefix));
}

Result<void> add_host_terms(std::string_view mechanism, const std::vector<std::string>& names,
                            std::string_view domain, std::vector<SpfTerm>& out) {
    for (const auto& name : names) {
        std::string text(mechanism);
        if (!trim(name).empty()) {
            auto n = checked_name(trim(name), fmt::format("--{}", mechanism));
            if (!n) return std::unexpected(std::move(n.error()));
            if (*n != domain) text += ":" + *n;  // "mx:<the domain>" is just "mx"
        }
        if (!has_term(out, text)) out.push_back({.text = text, .queries = true});
    }
    return {};
}

std::unexpected<Refusal> mailbox_provider_refusal(const cat::Provider& p) {
    return usage(fmt::format("{} is a mailbox provider: its users send as {}, never as your "
                             "domain, so it has nothing to authorise.{}{}",
                             p.id, p.domains.empty() ? p.name : p.domains.front(),
                             p.note.empty() ? "" : " ", p.note));
}

std::expected<SpfTerms, Refusal> collect_terms(const Request& request, std::string_view domain,
                                               const cat::Catalogue& catalogue,
                                               std::vector<cat::Selection>& selections) {
    SpfTerms t;
    if (auto r = add_networks(request.ips, t.networks); !r) return usage(r.error().reason);
    if (auto r = add_host_terms("a", request.a, domain, t.dns_terms); !r) return usage(r.error().reason);
    if (auto r = add_host_terms("mx", request.mx, domain, t.dns_terms); !r) return usage(r.error().reason);
    for (const auto& spec : request.providers) {
        auto s = catalogue.select(spec);
        if (!s) return usage(s.error().reason);
        if (s->provider->kind == cat::Kind::mailbox_provider) return mailbox_provider_refusal(*s->provider);
        if (std::ranges::any_of(selections, [&](const cat::Selection& o) { return o.provider == s->provider; }))
            continue;
        selections.push_back(*s);
        const auto& spf = s->spf();
        for (const auto& a : spf.a)
            if (auto text = "a:" + a; !has_term(t.dns_terms, text))
                t.dns_terms.push_back({.text = text, .queries = true, .provider = s->label()});
        for (const auto& inc : spf.includes)
            if (auto text = "include:" + inc; !has_term(t.dns_terms, text))
                t.dns_terms.push_back({.text = text, .queries = true, .provider = s->label()});
    }
    for (const auto& inc : request.includes) {
        std::string_view v = trim(inc);
        if (v.starts_with("include:")) v.remove_prefix(8);
        auto n = checked_name(v, "--include");
        if (!n) return usage(n.error().reason);
        if (*n == domain) return usage("--include of the domain itself would loop");
        if (auto text = "include:" + *n; !has_term(t.dns_terms, text))
            t.dns_terms.push_back({.text = text, .queries = true});
    }
    if (t.networks.empty() && t.dns_terms.empty() && selections.empty())
        return usage("declare at least one sender: --ip, --include, --mx, --a or --provider");
    return t;
}

std::string spf_record_text(const SpfTerms& t, AllQualifier all) {
    std::string out = "v=spf1";
    for (const auto& n : t.networks) out += " " + network_term(n);
    for (const auto& term : t.dns_terms) out += " " + term.text;
    out += all == AllQualifier::fail ? " -all" : " ~all";
    return out;
}

// ---------------------------------------------------------------------------------------------
// SPF measurement

/// Void look-ups met by a term and, for an include, by everything below it.
int subtree_voids(const spf::TreeNode& node) {
    int n = 0;
    for (const auto& tc : node.terms) n += tc.void_lookups;
    for (const auto& child : node.children) n += subtree_voids(child);
    return n;
}

bool answer_failed(dns::Status s) {
    return s == dns::Status::servfail || s == dns::Status::timeout || s == dns::Status::error;
}

bool term_failed(const spf::TreeNode& node, std::string_view term) {
    return std::ranges::any_of(node.issues, [&](const spf::Issue& i) {
        return i.code == "spf-temperror" && i.term == term;
    });
}

std::optional<int> catalogue_cost(const cat::Catalogue& catalogue, std::string_view term) {
    std::string_view name = term;
    bool include = name.starts_with("include:");
    bool a = name.starts_with("a:");
    if (!include && !a) return std::nullopt;
    name.remove_prefix(include ? 8 : 2);
    for (const auto& p : catalogue.providers()) {
        if (auto c = p.spf.known_cost(name)) return c;
        for (const auto& r : p.regions)
            if (auto c = r.spf.known_cost(name)) return c;
    }
    return std::nullopt;
}

/// Fills the cost of one include from its node in the measured tree.
void measure_include(const spf::TreeNode& child, TermCost& cost) {
    if (answer_failed(child.status)) return;
    cost.source = "measured";
    cost.lookups = 1 + child.subtree_lookups;
    cost.void_lookups += subtree_voids(child);
    // The include's own TXT look-up finding nothing is a void look-up too (RFC 7208 §4.6.4).
    if (child.status == dns::Status::nxdomain || child.status == dns::Status::nodata) ++cost.void_lookups;
    auto target = printable(child.domain);
    if (child.records.empty())
        cost.problem = fmt::format("{} has no SPF record: the include is a permerror at every "
                                   "receiver", target);
    else if (child.records.size() > 1)
        cost.problem = fmt::format("{} publishes {} SPF records: the include is a permerror at "
                                   "every receiver", target, child.records.size());
    else if (!child.parsed)
        cost.problem = fmt::format("{}'s SPF record does not parse: the include is a permerror "
                                   "at every receiver", target);
}

SpfPlan measure_spf(dns::Resolver* resolver, std::string_view domain, const SpfTerms& terms,
                    std::string record, const cat::Catalogue& catalogue,
                    std::vector<std::string>& warnings) {
    SpfPlan plan{.name = std::string(domain), .record = std::move(record)};
    plan.octets = plan.record.size();
    std::optional<spf::Tree> tree;
    if (resolver != nullptr) tree = spf::inspect_record(*resolver, domain, plan.record);
    bool all_measured = true;
    for (const auto& term : terms.dns_terms) {
        TermCost cost{.term = term.text, .provider = term.provider};
        if (tree) {
            const auto& root = tree->root;
            auto tc = std::ranges::find_if(root.terms, [&](const spf::TermCost& c) { return c.term == term.text; });
            if (term.text.starts_with("include:")) {
                auto child = std::ranges::find_if(root.children, [&](const spf::TreeNode& n) { return n.term == term.text; });
                if (tc != root.terms.end()) cost.void_lookups = tc->void_lookups;
                if (child != root.children.end()) measure_include(*child, cost);
            } else if (tc != root.terms.end() && !term_failed(root, term.text)) {
                cost.source = "measured";
                cost.lookups = tc->lookups;
                cost.void_lookups = tc->void_lookups;
            }
        }
        if (cost.source != "measured") {
            all_measured = false;
            cost.void_lookups = 0;
            if (auto known = catalogue_cost(catalogue, term.text)) {
                cost.lookups = *known;
                cost.source = "catalogue";
            }
        }
        plan.lookups += cost.lookups;
        plan.void_lookups += cost.void_lookups;
        plan.terms.push_back(std::move(cost));
    }
    plan.measured = all_measured;
    if (tree) {
        static const std::set<std::string, std::less<>> handled = {
            "spf-too-many-lookups", "spf-void-lookups", "spf-temperror", "spf-include-missing",
            "spf-multiple-records", "spf-syntax"};
        for (const auto& issue : tree->issues)
            if (issue.severity != spf::Issue::Severity::info && !handled.contains(issue.code))
                warnings.push_back(fmt::format("SPF: {}", issue.message));
    }
    return plan;
}

std::optional<Refusal> spf_refusal(const SpfPlan& spf) {
    for (const auto& t : spf.terms)
        if (!t.problem.empty())
            return Refusal{.kind = Refusal::Kind::refused,
                           .error = {.code = Errc::not_found,
                                     .reason = fmt::format("{}{}: {}", t.term,
                                                           t.provider.empty() ? "" : " (" + t.provider + ")",
                                                           t.problem)},
                           .spf = spf};
    if (spf.lookups > max_lookups)
        return Refusal{.kind = Refusal::Kind::refused,
                       .error = {.code = Errc::limit_exceeded,
                                 .reason = fmt::format(
                                     "the SPF record would need {} DNS lookups and RFC 7208 allows "
                                     "{}: receivers would answer permerror. Drop senders, or "
                                     "list your own servers with --ip (ip4/ip6 cost nothing)",
                                     spf.lookups, max_lookups)},
                       .spf = spf};
    if (spf.void_lookups > max_void_lookups)
        return Refusal{.kind = Refusal::Kind::refused,
                       .error = {.code = Errc::limit_exceeded,
                                 .reason = fmt::format(
                                     "the SPF record would meet {} void lookups (names with no "
                                     "answer) and RFC 7208 allows {}: remove the terms whose "
                                     "names do not exist",
                                     spf.void_lookups, max_void_lookups)},
                       .spf = spf};
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// DMARC

Result<dmarc::ReportUri> report_uri(std::string_view text, std::string_view flag) {
    std::string uri(trim(text));
    if (uri.find(':') == std::string::npos && uri.find('@') != std::string::npos) uri = "mailto:" + uri;
    if (uri.find_first_of(",;! ") != std::string::npos)
        return fail(Errc::malformed, fmt::format("{} {}: ',', ';', '!' and spaces must be "
                                                 "%-encoded in a report URI", flag, printable(uri)));
    auto parsed = dmarc::parse_record("v=DMARC1; p=none; rua=" + uri);
    if (!parsed || parsed->rua.size() != 1)
        return fail(Errc::malformed, fmt::format("{} {} is not a valid URI", flag, printable(uri)));
    const auto& r = parsed->rua.front();
    if (!r.is_mailto())
        return fail(Errc::malformed, fmt::format("{} {}: receivers deliver reports to mailto: "
                                                 "URIs only", flag, printable(uri)));
    if (r.domain.find('.') == std::string::npos)
        return fail(Errc::malformed, fmt::format("{} {}: the address needs a full domain", flag,
                                                 printable(uri)));
    return r;
}

Result<std::vector<dmarc::ReportUri>> report_uris(const std::vector<std::string>& texts,
                                                  std::string_view flag) {
    std::vector<dmarc::ReportUri> out;
    for (const auto& t : texts) {
        auto u = report_uri(t, flag);
        if (!u) return std::unexpected(std::move(u.error()));
        if (std::ranges::none_of(out, [&](const dmarc::ReportUri& o) { return o.uri == u->uri; }))
            out.push_back(std::move(*u));
    }
    return out;
}

/// v=DMARC1; p=none; rua=...[; ruf=...; fo=1] — only tags RFC 7489 and RFC 9989 read alike.
Result<std::string> monitoring_record(std::vector<dmarc::ReportUri> rua,
                                      std::vector<dmarc::ReportUri> ruf) {
    dmarc::Record r;
    r.p = dmarc::Policy::none;
    r.rua = std::move(rua);
    if (!ruf.empty()) {
        r.ruf = std::move(ruf);
        r.fo = {dmarc::FailureOption::any_failed};
    }
    auto text = dmarc::format_record(r);
    // Prove it: the record must read back with nothing a receiver would discard or question.
    auto back = dmarc::parse_record(text);
    if (!back) return fail(Errc::malformed, fmt::format("the DMARC record does not parse: {}", back.error().reason));
    for (const auto& d : back->diagnostics)
        if (d.severity != dmarc::Severity::info)
            return fail(Errc::malformed, fmt::format("the DMARC record does not lint clean: {}", d.message));
    return text;
}

// ---------------------------------------------------------------------------------------------
// Records

DnsRecord txt_record(std::string name, std::string text, std::uint32_t ttl, std::string purpose) {
    DnsRecord r{.name = std::move(name), .type = RecordType::txt, .ttl = ttl, .value = std::move(text)};
    r.strings = dkim::split_txt_strings(r.value);
    r.purpose = std::move(purpose);
    return r;
}

/// A concrete target documented by exactly one chosen provider (no per-account "<...>" parts).
std::optional<std::string> provider_target(const std::vector<cat::Selection>& selections, bool bounce) {
    std::set<std::string> targets;
    for (const auto& s : selections) {
        auto t = bounce ? s.return_path_target() : s.tracking_target();
        if (t && t->find('<') == std::string::npos) targets.insert(*t);
    }
    if (targets.size() != 1) return std::nullopt;
    return *targets.begin();
}

std::expected<DnsRecord, Refusal> cname_record(const CnameRequest& request, std::string_view domain,
                                               const std::vector<cat::Selection>& selections,
                                               bool bounce, std::uint32_t ttl) {
    std::string_view flag = bounce ? "--bounce-cname" : "--click-cname";
    auto raw = dns::normalize_name(request.name);
    if (!raw) return usage(raw.error(), flag);
    std::string name = dns::is_subdomain(*raw, domain) ? *raw : fmt::format("{}.{}", *raw, domain);
    if (auto n = dns::normalize_name(name); !n) return usage(n.error(), flag);
    if (name == domain)
        return usage(fmt::format("{}: a CNAME cannot sit at {} itself (it holds the SPF record and "
                                 "more); use a subdomain such as bounce.{}", flag, domain, domain));
    if (name.starts_with("_dmarc.") || name.find("._domainkey.") != std::string::npos)
        return usage(fmt::format("{}: {} is a DMARC or DKIM name", flag, name));
    std::string target = request.target;
    if (target.empty()) {
        auto t = provider_target(selections, bounce);
        if (!t)
            return usage(fmt::format("{} {}: give the target as NAME=TARGET (no chosen provider "
                                     "documents one fixed target)", flag, request.name));
        target = *t;
    }
    auto t = checked_name(target, flag);
    if (!t) return usage(t.error().reason);
    if (*t == name) return usage(fmt::format("{}: the CNAME points at itself", flag));
    return DnsRecord{.name = name, .type = RecordType::cname, .ttl = ttl, .value = *t,
                     .purpose = bounce ? "Return-Path (bounce) domain" : "click-tracking domain"};
}

// ---------------------------------------------------------------------------------------------
// Live look-ups for notes

std::vector<std::string> spf_records_at(dns::Resolver& resolver, std::string_view name,
                                        dns::Status& status) {
    auto answer = resolver.query(name, dns::RrType::txt);
    status = answer.status;
    std::vector<std::string> out;
    for (const auto& txt : answer.txt())
        if (auto joined = txt.joined(); spf::is_spf_record(joined)) out.push_back(joined);
    return out;
}

void note_existing_records(dns::Resolver& resolver, const std::string& domain, Plan& plan) {
    dns::Status status{};
    auto existing = spf_records_at(resolver, domain, status);
    if (!existing.empty())
        plan.warnings.push_back(fmt::format(
            "{} already publishes SPF ({}): replace it with the record below, folding in any "
            "sender it lists that this one lacks — two SPF records are a permerror",
            domain, printable(existing.front())));
    if (auto q = dmarc::dmarc_query_name(domain)) {
        auto answer = resolver.query(*q, dns::RrType::txt);
        for (const auto& txt : answer.txt())
            if (auto joined = txt.joined(); dmarc::is_dmarc_record(joined))
                plan.warnings.push_back(fmt::format(
                    "{} already publishes DMARC ({}): the record below replaces it; keep its p= "
                    "if it is stronger than none", domain, printable(joined)));
    }
}

/// Whether a domain can receive mail: an MX, or failing that an A/AAAA (RFC 5321 §5.1).
enum class Mailable : std::uint8_t { yes, null_mx, no, unknown };

Mailable mailable(dns::Resolver& resolver, std::string_view domain) {
    auto mx = resolver.query(domain, dns::RrType::mx);
    if (mx.ok()) {
        auto list = mx.mx();
        bool null = list.size() == 1 && list.front().exchange.empty();
        return null ? Mailable::null_mx : Mailable::yes;
    }
    if (mx.failed()) return Mailable::unknown;
    auto a = resolver.query(domain, dns::RrType::a);
    if (a.ok()) return Mailable::yes;
    auto aaaa = resolver.query(domain, dns::RrType::aaaa);
    if (aaaa.ok()) return Mailable::yes;
    return a.failed() || aaaa.failed() ? Mailable::unknown : Mailable::no;
}

bool sends_with_own_mail_from(const Request& request, const std::vector<cat::Selection>& selections) {
    if (!request.ips.empty() || !request.a.empty() || !request.mx.empty() || !request.includes.empty())
        return true;
    return std::ranges::any_of(selections, [](const cat::Selection& s) {
        const auto& rp = s.provider->return_path;
        return rp && rp->method == cat::ReturnPath::own_domain;
    });
}

void note_mail_exchangers(dns::Resolver& resolver, const Request& request,
                          const std::vector<cat::Selection>& selections,
                          const std::vector<dmarc::ReportUri>& rua, Plan& plan) {
    if (sends_with_own_mail_from(request, selections)) {
        switch (mailable(resolver, plan.domain)) {
            case Mailable::no:
                plan.warnings.push_back(fmt::format(
                    "{} has no MX (nor an address): bounces to MAIL FROM addresses @{} have "
                    "nowhere to go, and some receivers refuse mail from a domain that cannot "
                    "take replies; add an MX, or send with a bounce domain (--bounce-cname)",
                    plan.domain, plan.domain));
                break;
            case Mailable::null_mx:
                plan.warnings.push_back(fmt::format(
                    "{} publishes a null MX (RFC 7505: it accepts no mail): bounces to MAIL FROM "
                    "addresses there are lost and receivers may refuse its mail; send with a "
                    "bounce domain (--bounce-cname) or remove the null MX", plan.domain));
                break;
            case Mailable::yes:
            case Mailable::unknown: break;
        }
    }
    std::set<std::string> seen;
    for (const auto& u : rua) {
        if (!seen.insert(u.domain).second) continue;
        auto m = mailable(resolver, u.domain);
        if (m == Mailable::no || m == Mailable::null_mx)
            plan.warnings.push_back(fmt::format(
                "{} cannot receive mail ({}): aggregate reports to {} would be lost; give --rua "
                "an address that receives mail", u.domain, m == Mailable::no ? "no MX" : "null MX",
                u.address));
    }
}

// ---------------------------------------------------------------------------------------------
// Notes

std::string alignment_note(const std::string& domain, const std::string& org) {
    return fmt::format(
        "Alignment: with relaxed alignment (adkim=r, aspf=r — the defaults, and what this record "
        "keeps) mail From: @{} passes DMARC with a DKIM signature whose d= is under {} or an SPF "
        "pass for a Return-Path under {}; strict alignment (s) would need {} exactly.",
        domain, org, org, domain);
}

void note_subdomain(dns::Resolver* resolver, const std::string& domain, const std::string& org,
                    DnsRecord& dmarc_record, Plan& plan) {
    plan.notes.push_back(fmt::format(
        "{} is a subdomain of {} (its Organizational Domain). Nothing here changes {}'s records, "
        "so {}'s own mail keeps flowing exactly as today.", domain, org, org, org));
    plan.notes.push_back(fmt::format(
        "SPF is not inherited: receivers check the SPF record of the exact MAIL FROM domain, so "
        "{} gets its own record below; {}'s record does not cover it, nor does this one cover {}.",
        domain, org, org));
    plan.notes.push_back(fmt::format(
        "In relaxed mode {}'s existing DKIM key (d={}) and a Return-Path under {} also align for "
        "mail From: @{}, and this domain's selector aligns for {} mail the same way.",
        org, org, org, domain, org));
    if (resolver == nullptr) {
        plan.notes.push_back(fmt::format(
            "{}'s DMARC record could not be looked up (no DNS): if it has one, its sp= governs {} "
            "until the record below is published, which then replaces it for the subdomain.",
            org, domain));
        return;
    }
    auto found = dmarc::discover_policy(*resolver, domain);
    if (!found || found->temperror) {
        plan.notes.push_back(fmt::format(
            "{}'s DMARC record could not be looked up (DNS trouble): if it has one, its sp= governs "
            "{} until the record below is published, which then replaces it for the subdomain.",
            org, domain));
        return;
    }
    const auto& d = *found;
    if (d.source == dmarc::PolicySource::none) {
        plan.warnings.push_back(fmt::format(
            "{} publishes no DMARC record: publish one at the Organizational Domain too (RFC 9989 "
            "§5.1 asks for both); until then the record below is all receivers have for {}.",
            org, domain));
        return;
    }
    if (d.source == dmarc::PolicySource::author_domain) {
        plan.warnings.push_back(fmt::format(
            "{} already has its own DMARC record (p={}): the record below replaces it; keep its "
            "p= if it is stronger than none.", domain,
            d.policy ? to_string(*d.policy) : std::string_view("none")));
        return;
    }
    auto policy = d.policy.value_or(dmarc::Policy::none);
    auto tag = d.tag ? to_string(*d.tag) : std::string_view("sp");
    dmarc_record.optional = true;
    plan.notes.push_back(fmt::format(
        "Today receivers apply {}'s DMARC record to {} through its {}= ({}), and {}'s rua "
        "already receives reports for the subdomain. The subdomain's own record below is "
        "optional: publish it to give {} a policy and reports of its own, which replace {}'s "
        "{}= for it.", d.policy_domain, domain, tag, to_string(policy), d.policy_domain, domain,
        d.policy_domain, tag));
    // Once its records are published the subdomain exists, and the parent's sp= is what it
    // would otherwise get.
    auto after = d.record ? d.record->subdomain_policy() : policy;
    if (d.tag == dmarc::PolicyTag::np)
        plan.notes.push_back(fmt::format(
            "{} does not exist in DNS yet, so np= applies to it today; once the records below are "
            "published it exists and {}'s sp= ({}) applies instead.", domain, d.policy_domain,
            to_string(after)));
    if (after != dmarc::Policy::none)
        plan.warnings.push_back(fmt::format(
            "{}'s record already enforces {} on its existing subdomains (sp=): publishing p=none "
            "for {} would lower it to monitoring; leave the subdomain record out unless that is "
            "meant.", d.policy_domain, to_string(after), domain));
    dns::Status status{};
    auto parent_spf = spf_records_at(*resolver, org, status);
    if (parent_spf.empty() && !answer_failed(status))
        plan.notes.push_back(fmt::format(
            "{} publishes no SPF record: its own mail has none; that does not affect {}.", org, domain));
}

void note_providers(const std::vector<cat::Selection>& selections, bool bounce_cname, Plan& plan) {
    for (const auto& s : selections) {
        const auto& p = *s.provider;
        if (!p.note.empty()) plan.notes.push_back(fmt::format("{}: {}", p.name, p.note));
        if (p.dkim && !p.dkim->note.empty())
            plan.notes.push_back(fmt::format("{} DKIM ({}): {}", p.name, to_string(p.dkim->method), p.dkim->note));
        if (!p.return_path) continue;
        const auto& rp = *p.return_path;
        if (rp.method == cat::ReturnPath::provider)
            plan.notes.push_back(fmt::format(
                "{} keeps its own Return-Path, so SPF never aligns for its mail: DMARC passes on "
                "its DKIM signature with d={} — publish its DKIM records. {}", p.name,
                plan.domain, rp.note));
        else if ((rp.method == cat::ReturnPath::cname || rp.method == cat::ReturnPath::mx) && !bounce_cname)
            plan.notes.push_back(fmt::format("{} Return-Path: {}", p.name, rp.note));
        else if (!rp.note.empty() && rp.method == cat::ReturnPath::own_domain)
            plan.notes.push_back(fmt::format("{}: {}", p.name, rp.note));
    }
}

void note_spf(const SpfPlan& spf, AllQualifier all, bool dns_available, Plan& plan) {
    if (!spf.measured) {
        plan.notes.push_back(fmt::format(
            "SPF lookups could not all be measured ({}): the count uses the catalogue's last "
            "measured figures where it has them and 1 elsewhere, so it may be low; run again with "
            "DNS (--dns) before publishing.", dns_available ? "DNS did not answer for some names"
                                                              : "no DNS available"));
    }
    plan.notes.push_back(fmt::format("SPF costs {} of {} DNS lookups and {} of {} void lookups.",
                                     spf.lookups, max_lookups, spf.void_lookups, max_void_lookups));
    if (spf.lookups >= 8)
        plan.warnings.push_back(fmt::format(
            "SPF uses {} of its {} lookups: one more provider may break it; providers change their "
            "includes without notice.", spf.lookups, max_lookups));
    if (spf.octets > spf_udp_comfort_octets)
        plan.warnings.push_back(fmt::format(
            "the SPF record is {} octets: over about 450 the TXT answer risks exceeding 512 bytes "
            "and needing TCP, which some receivers do not retry (RFC 7208 §3.4).", spf.octets));
    if (all == AllQualifier::softfail)
        plan.notes.push_back(
            "SPF ends in ~all (softfail): the safe start while DMARC monitors — a sender you "
            "forgot is reported, not bounced. DMARC enforcement is what will reject spoofed mail; "
            "-all (--all fail) can make receivers reject forwarded mail before DMARC and DKIM are "
            "even looked at.");
    else
        plan.notes.push_back(
            "SPF ends in -all (fail): receivers may reject mail from unlisted servers at once, "
            "forwarded mail included, before DMARC and DKIM are looked at; ~all is the safer start.");
}

// ---------------------------------------------------------------------------------------------
// DKIM

Result<std::string> checked_selector(const Request& request, Timestamp now, const std::string& domain) {
    auto selector = request.selector ? ascii_lower(trim(*request.selector)) : dated_selector(now);
    if (selector.empty() || !std::ranges::all_of(selector, [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        }))
        return fail(Errc::malformed, fmt::format("--selector '{}': use letters, digits, '-' and '.'",
                                                 printable(selector)));
    if (auto n = dns::normalize_name(dkim::dkim_key_name(selector, domain)); !n)
        return fail(Errc::malformed, fmt::format("--selector '{}': {}", printable(selector), n.error().reason));
    return selector;
}

Result<void> check_key_spec(const KeySpec& spec) {
    if (spec.algorithm == KeyAlgorithm::ed25519) return {};
    if (spec.bits < 2048)
        return fail(Errc::malformed, fmt::format("--key-bits {}: new RSA keys must have at least "
                                                 "2048 bits (RFC 8301)", spec.bits));
    if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096)
        return fail(Errc::malformed, fmt::format("--key-bits {}: choose 2048, 3072 or 4096", spec.bits));
    return {};
}

/// A key already published at the selector would be replaced and break its mail in flight.
std::optional<Refusal> selector_in_use(dns::Resolver* resolver, const std::string& key_name) {
    if (resolver == nullptr) return std::nullopt;
    auto answer = resolver->query(key_name, dns::RrType::txt);
    if (!answer.ok()) return std::nullopt;
    for (const auto& txt : answer.txt())
        if (auto joined = txt.joined(); joined.find("p=") != std::string::npos)
            return Refusal{.kind = Refusal::Kind::refused,
                           .error = {.code = Errc::conflict,
                                     .reason = fmt::format("a DKIM key is already published at {}: "
                                                           "choose another --selector", key_name)}};
    return std::nullopt;
}

void note_dkim(const DkimPlan& dkim, const std::string& domain, Plan& plan) {
    plan.notes.push_back(fmt::format(
        "DKIM: sign with selector {} and d={}, using the private key in {}{}. The key record is "
        "listed with the others; the private key is never printed.", dkim.selector, domain,
        dkim.private_key_file.string(), dkim.written ? " (mode 0600)" : " (not written: dry run)"));
    if (dkim.key.algorithm == KeyAlgorithm::ed25519)
        plan.warnings.push_back(
            "Ed25519 alone is not verified by every receiver yet (RFC 8463): sign with an RSA key "
            "as well (dual signing) — run setup again with --key-type rsa and another --selector.");
    if (dkim.key.algorithm == KeyAlgorithm::rsa && dkim.key.bits > 2048)
        plan.notes.push_back(fmt::format(
            "A {}-bit key makes a long TXT record (several 255-octet strings in one record); some "
            "DNS hosting panels cannot take it — 2048 bits is what RFC 8301 asks for.", dkim.key.bits));
}

// ---------------------------------------------------------------------------------------------
// Report destinations

std::vector<DnsRecord> report_authorisations(dns::Resolver* resolver, const std::string& domain,
                                             const std::vector<dmarc::ReportUri>& uris,
                                             std::uint32_t ttl, Plan& plan) {
    std::vector<DnsRecord> out;
    std::set<std::string> seen;
    for (const auto& u : uris) {
        if (!seen.insert(u.domain).second) continue;
        if (!dmarc::needs_authorisation(domain, u.domain)) continue;
        auto name = dmarc::report_authorisation_name(domain, u.domain);
        if (!name) {
            plan.warnings.push_back(fmt::format(
                "reports to {} cannot be authorised: {} (RFC 9990 receivers will not send them)",
                u.domain, name.error().reason));
            continue;
        }
        if (resolver != nullptr) {
            auto check = dmarc::check_report_authorisation(*resolver, domain, u.domain);
            if (check.authorised) {
                plan.notes.push_back(fmt::format(
                    "{} already authorises reports for {} ({} answers).", u.domain, domain, *name));
                continue;
            }
        }
        auto r = txt_record(*name, "v=DMARC1", ttl,
                            fmt::format("authorises {}'s DMARC reports to go to {}", domain, u.domain));
        r.zone = u.domain;
        plan.notes.push_back(fmt::format(
            "Reports go to {}, outside {}'s Organizational Domain: {} must publish {} TXT "
            "\"v=DMARC1\" in its own zone, or RFC 7489/9990 receivers drop the reports.",
            u.domain, domain, u.domain, *name));
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

std::string_view to_string(RecordType type) noexcept { return type == RecordType::txt ? "TXT" : "CNAME"; }

Result<CnameRequest> parse_cname_request(std::string_view text) {
    auto eq = text.find('=');
    CnameRequest r{.name = std::string(trim(text.substr(0, eq)))};
    if (eq != std::string_view::npos) r.target = std::string(trim(text.substr(eq + 1)));
    if (r.name.empty()) return fail(Errc::malformed, "expected NAME=TARGET");
    if (eq != std::string_view::npos && r.target.empty())
        return fail(Errc::malformed, "expected NAME=TARGET: the target is empty");
    return r;
}

bool SpfPlan::within_limits() const noexcept {
    return lookups <= max_lookups && void_lookups <= max_void_lookups &&
           std::ranges::all_of(terms, [](const TermCost& t) { return t.problem.empty(); });
}

std::string SpfPlan::breakdown() const {
    std::string out;
    for (const auto& t : terms) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {} ({}{})", t.term, t.lookups, t.source,
                           t.provider.empty() ? "" : ", " + t.provider);
    }
    if (out.empty()) out = "no DNS-querying terms";
    return fmt::format("{} = {} of {}", out, lookups, max_lookups);
}

std::string dated_selector(Timestamp now, std::string_view prefix) {
    std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
    return fmt::format("{}{:04}{:02}", prefix, static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
}

Result<std::string> key_record(const KeyPair& pair) {
    auto type = pair.spec.algorithm == KeyAlgorithm::rsa ? dkim::KeyType::rsa : dkim::KeyType::ed25519;
    auto record = dkim::format_key_record(type, pair.public_key);
    if (!record) return record;
    auto back = dkim::parse_key_record(*record);
    if (!back || !back->usable())
        return fail(Errc::io, "the generated DKIM key record does not read back as a usable key");
    return record;
}

std::string key_file_name(std::string_view domain, std::string_view selector) {
    return fmt::format("{}.{}.key", domain, selector);
}

PlanResult plan(const Request& request, const World& world) {
    const auto& catalogue = world.catalogue != nullptr ? *world.catalogue : catalogue::builtin();
    auto domain = checked_name(trim(request.domain), "domain");
    if (!domain) return usage(domain.error().reason);
    auto org = dmarc::org_domain_by_psl(*domain);
    if (!org) return usage(fmt::format("{} is a public suffix, not a domain one can send as", *domain));

    // 1. The request, checked whole before anything is looked up.
    std::vector<cat::Selection> selections;
    auto terms = collect_terms(request, *domain, catalogue, selections);
    if (!terms) return std::unexpected(std::move(terms.error()));
    auto selector = checked_selector(request, world.now, *domain);
    if (!selector) return usage(selector.error().reason);
    if (auto k = check_key_spec(request.key); !k) return usage(k.error().reason);
    auto rua = report_uris(request.rua.empty()
                               ? std::vector<std::string>{fmt::format("mailto:dmarc-reports@{}", *org)}
                               : request.rua,
                           "--rua");
    if (!rua) return usage(rua.error().reason);
    auto ruf = report_uris(request.ruf, "--ruf");
    if (!ruf) return usage(ruf.error().reason);
    auto dmarc_text = monitoring_record(*rua, *ruf);
    if (!dmarc_text) return refuse(Refusal::Kind::failed, Errc::malformed, dmarc_text.error().reason);
    std::optional<DnsRecord> bounce, click;
    if (request.bounce_cname) {
        auto r = cname_record(*request.bounce_cname, *domain, selections, true, request.ttl);
        if (!r) return std::unexpected(std::move(r.error()));
        bounce = std::move(*r);
    }
    if (request.click_cname) {
        auto r = cname_record(*request.click_cname, *domain, selections, false, request.ttl);
        if (!r) return std::unexpected(std::move(r.error()));
        click = std::move(*r);
    }
    if (bounce && click && bounce->name == click->name)
        return usage("--bounce-cname and --click-cname name the same host");

    Plan plan{.domain = *domain, .organizational_domain = *org};
    // One probe first: when DNS does not answer at all, every later look-up would only wait
    // for its own timeout, so the plan goes on without DNS and says so.
    dns::Resolver* resolver = world.resolver;
    if (resolver != nullptr) {
        auto probe = resolver->query(*domain, dns::RrType::txt);
        if (probe.failed()) {
            plan.notes.push_back(fmt::format("DNS did not answer ({}{}{}): nothing was looked up.",
                                             to_string(probe.status), probe.detail.empty() ? "" : ": ",
                                             printable(probe.detail)));
            resolver = nullptr;
        }
    }

    // 2. Refusals that need no key: an existing key file, a selector in use, SPF limits.
    auto key_file = key_file_name(*domain, *selector);
    if (world.key_store != nullptr && world.key_store->exists(key_file))
        return refuse(Refusal::Kind::refused, Errc::conflict,
                      fmt::format("{} already exists: a key is never overwritten; choose another "
                                  "--selector or --key-dir", world.key_store->path(key_file).string()));
    auto key_name = dkim::dkim_key_name(*selector, *domain);
    if (auto r = selector_in_use(resolver, key_name)) return std::unexpected(std::move(*r));
    plan.spf = measure_spf(resolver, *domain, *terms, spf_record_text(*terms, request.all),
                           catalogue, plan.warnings);
    if (auto r = spf_refusal(plan.spf)) return std::unexpected(std::move(*r));

    // 3. Records, notes and live checks.
    plan.dmarc_record = *dmarc_text;
    auto dmarc_record = txt_record(*dmarc::dmarc_query_name(*domain), *dmarc_text, request.ttl,
                                   "DMARC: monitoring (p=none) with reports");
    plan.notes.push_back(alignment_note(*domain, *org));
    if (*org != *domain) note_subdomain(resolver, *domain, *org, dmarc_record, plan);
    if (resolver != nullptr) {
        note_existing_records(*resolver, *domain, plan);
        note_mail_exchangers(*resolver, request, selections, *rua, plan);
    }
    note_spf(plan.spf, request.all, resolver != nullptr, plan);
    note_providers(selections, bounce.has_value(), plan);
    plan.notes.push_back(
        "DMARC: p=none with rua is monitoring: nothing is rejected, and the reports show every "
        "source sending as the domain. The record holds only tags RFC 7489 and RFC 9989 receivers "
        "read alike (no pct, which RFC 9989 ignores; no t, np or psd, which RFC 7489 receivers do "
        "not know).");
    if (request.rua.empty())
        plan.notes.push_back(fmt::format(
            "Aggregate reports go to dmarc-reports@{} (the default): create that mailbox, or "
            "choose another with --rua; `rampart fetch` can read it.", *org));
    std::vector<dmarc::ReportUri> destinations = *rua;
    destinations.insert(destinations.end(), ruf->begin(), ruf->end());
    plan.report_authorisations = report_authorisations(resolver, *domain, destinations, request.ttl, plan);

    // 4. The key: made now that nothing refuses any more, written before it is reported.
    auto* keys = world.keys != nullptr ? world.keys : &openssl_keys();
    auto pair = keys->generate(request.key);
    if (!pair) return refuse(Refusal::Kind::failed, pair.error().code, pair.error().reason);
    auto record = key_record(*pair);
    if (!record) return refuse(Refusal::Kind::failed, record.error().code, record.error().reason);
    plan.dkim = DkimPlan{.selector = *selector, .key = request.key, .name = key_name, .record = *record};
    if (world.key_store != nullptr) {
        auto written = world.key_store->write(key_file, pair->private_key);
        if (!written)
            return refuse(written.error().code == Errc::conflict ? Refusal::Kind::refused : Refusal::Kind::failed,
                          written.error().code, written.error().reason);
        plan.dkim.private_key_file = *written;
        plan.dkim.written = true;
    } else {
        plan.dkim.private_key_file = world.key_dir / key_file;
    }
    note_dkim(plan.dkim, *domain, plan);

    plan.records.push_back(txt_record(*domain, plan.spf.record, request.ttl, "SPF"));
    plan.records.push_back(txt_record(key_name, plan.dkim.record, request.ttl,
                                      fmt::format("DKIM key, selector {}", *selector)));
    plan.records.push_back(std::move(dmarc_record));
    if (bounce) plan.records.push_back(*bounce);
    if (click) plan.records.push_back(*click);
    for (const auto& r : plan.report_authorisations) plan.records.push_back(r);
    return plan;
}

}  // namespace rampart::setup

// DMARC: which policy applies and where it was found (dmarc::discover_policy), what the record
// says about itself (its diagnostics), whether its report destinations will get reports
// (RFC 9990 §4), and whether receivers of both generations agree on the Organizational Domain.
#include <algorithm>
#include <array>
#include <optional>

#include <fmt/format.h>

#include "audit/parts.hpp"
#include "dmarc/dmarc.hpp"

namespace rampart::audit::detail {
namespace {

Severity severity_of(dmarc::Severity s) noexcept {
    switch (s) {
        case dmarc::Severity::error: return Severity::error;
        case dmarc::Severity::warning: return Severity::warning;
        case dmarc::Severity::info: return Severity::info;
    }
    return Severity::info;
}

struct DiagnosticMapping {
    std::string_view diagnostic;  // dmarc::Diagnostic::code
    std::string_view finding;     // our code
};

// The record's own diagnostics under the audit's codes; anything else (unknown, duplicate or
// empty tags, bad adkim/aspf/fo values, a missing p) is dmarc-syntax.
constexpr auto diagnostic_mappings = std::to_array<DiagnosticMapping>({
    {"pct-historic", "dmarc-pct"},
    {"rf-historic", "dmarc-historic-tag"},
    {"ri-historic", "dmarc-historic-tag"},
    {"size-suffix", "dmarc-historic-tag"},
    {"invalid-p", "dmarc-policy-invalid"},
    {"invalid-sp", "dmarc-policy-invalid"},
    {"invalid-np", "dmarc-policy-invalid"},
    {"bad-uri", "dmarc-uri-invalid"},
    {"unsupported-scheme", "dmarc-uri-invalid"},
    {"fo-without-ruf", "dmarc-fo-without-ruf"},
    {"test-mode", "dmarc-testing"},
    {"psd-y", "dmarc-psd"},
});

Finding finding_for(const dmarc::Diagnostic& d, std::string_view name) {
    const auto* m = std::ranges::find(diagnostic_mappings, d.code, &DiagnosticMapping::diagnostic);
    auto code = m == diagnostic_mappings.end() ? std::string_view("dmarc-syntax") : m->finding;
    return make_finding(severity_of(d.severity), code, fmt::format("{}: {}", name, d.message));
}

std::string describe_failure(const dmarc::Query& q) {
    return fmt::format("{} ({})", q.name, q.detail.empty() ? std::string(dns::to_string(q.status))
                                                           : printable(q.detail));
}

/// Several v=DMARC1 records at one name are all discarded by receivers (RFC 9989 §4.10).
void multiple_records(const std::vector<dmarc::Query>& queries, DmarcPart& part) {
    for (const auto& q : queries) {
        if (q.dmarc_texts.size() < 2) continue;
        part.findings.push_back(make_finding(
            Severity::error, "dmarc-multiple-records",
            fmt::format("{} has {} DMARC records; receivers discard them all", q.name,
                        q.dmarc_texts.size())));
    }
}

const dmarc::Query* query_at(const dmarc::Discovery& found, std::string_view domain) {
    auto q = std::ranges::find(found.queries, domain, &dmarc::Query::domain);
    return q == found.queries.end() ? nullptr : &*q;
}

void missing(const std::string& domain, const dmarc::Discovery& found, DmarcPart& part) {
    if (found.record && !found.record->applies()) {
        auto name = fmt::format("_dmarc.{}", found.policy_domain);
        for (const auto& d : found.record->diagnostics) part.findings.push_back(finding_for(d, name));
        part.findings.push_back(make_finding(
            Severity::error, "dmarc-missing",
            fmt::format("the record at {} is not applied: its policy is invalid and it has no "
                        "valid rua (RFC 9989 §4.10.1)",
                        name)));
        return;
    }
    if (const auto* own = query_at(found, domain); own != nullptr && own->dmarc_texts.size() > 1)
        return;  // dmarc-multiple-records has said why
    part.findings.push_back(make_finding(
        Severity::error, "dmarc-missing",
        fmt::format("no DMARC record applies to {}: none at _dmarc.{} nor at its Organizational "
                    "Domain",
                    domain, domain)));
}

std::string policy_text(const std::optional<dmarc::Policy>& p) {
    return p ? std::string(dmarc::to_string(*p)) : std::string();
}

DmarcSummary summarize(const dmarc::Discovery& found) {
    const auto& record = *found.record;
    DmarcSummary s;
    if (const auto* q = query_at(found, found.policy_domain); q != nullptr && !q->dmarc_texts.empty())
        s.record = printable(q->dmarc_texts.front());
    else
        s.record = dmarc::format_record(record);
    s.found_at = found.policy_domain;
    s.inherited = found.source != dmarc::PolicySource::author_domain;
    s.source = dmarc::to_string(found.source);
    s.policy = found.policy ? std::string(dmarc::to_string(*found.policy)) : "none";
    s.sp = policy_text(record.sp);
    s.np = policy_text(record.np);
    s.pct = record.pct;
    s.testing = record.test_mode();
    s.org_domain = found.organizational_domain;
    return s;
}

void policy_findings(const std::string& domain, const dmarc::Discovery& found,
                     const DmarcSummary& s, DmarcPart& part) {
    const auto& record = *found.record;
    auto record_name = fmt::format("_dmarc.{}", found.policy_domain);
    for (const auto& d : record.diagnostics) part.findings.push_back(finding_for(d, record_name));
    if (s.inherited)
        part.findings.push_back(make_finding(
            Severity::info, "dmarc-inherited",
            fmt::format("{} has no record of its own; the policy comes from {} ({}), whose {}= "
                        "applies",
                        domain, record_name, dmarc::to_string(found.source),
                        found.tag ? dmarc::to_string(*found.tag) : "p")));
    const bool monitoring = !record.rua.empty();
    if (found.policy == dmarc::Policy::none)
        part.findings.push_back(make_finding(
            monitoring ? Severity::info : Severity::warning, "dmarc-policy-none",
            monitoring ? fmt::format("{}=none: monitoring only, receivers do not act on failing mail",
                                     found.tag ? dmarc::to_string(*found.tag) : "p")
                       : std::string("policy none without rua: nothing is enforced and nobody "
                                     "receives reports")));
    if (record.rua.empty())
        part.findings.push_back(make_finding(
            Severity::warning, "dmarc-no-rua",
            fmt::format("{} has no usable rua: no receiver sends aggregate reports", record_name)));
}

/// Checks each mailto destination once per host; the others have diagnostics of their own.
std::vector<Destination> destinations(dns::Resolver& resolver, const std::string& policy_domain,
                                      const std::vector<dmarc::ReportUri>& uris) {
    std::vector<Destination> out;
    for (const auto& uri : uris) {
        Destination d{.uri = printable(uri.uri), .host = uri.domain};
        if (uri.is_mailto() && !uri.domain.empty()) {
            auto same_host = std::ranges::find(out, uri.domain, &Destination::host);
            if (same_host != out.end()) {
                d.external = same_host->external;
                d.authorisation_name = same_host->authorisation_name;
                d.authorised = same_host->authorised;
                d.check_failed = same_host->check_failed;
            } else if (dmarc::needs_authorisation(policy_domain, uri.domain)) {
                auto check = dmarc::check_report_authorisation(resolver, policy_domain, uri.domain);
                d.external = true;
                d.authorisation_name = check.query_name;
                d.authorised = check.authorised;
                d.check_failed = check.temperror;
            }
        }
        out.push_back(std::move(d));
    }
    return out;
}

void destination_findings(std::string_view tag, std::string_view policy_domain,
                          const std::vector<Destination>& list, DmarcPart& part) {
    const bool aggregate = tag == "rua";
    for (const auto& d : list) {
        if (!d.external) continue;
        if (d.check_failed) {
            part.findings.push_back(make_finding(
                Severity::warning, "dns-temperror",
                fmt::format("could not check the authorisation of {} at {}: the look-up failed",
                            d.uri, d.authorisation_name)));
        } else if (!d.authorised) {
            part.findings.push_back(make_finding(
                aggregate ? Severity::error : Severity::warning,
                aggregate ? "dmarc-external-rua-unauthorised" : "dmarc-external-ruf-unauthorised",
                fmt::format("{} {} is outside {} and {} has no v=DMARC1 record: receivers send it "
                            "no reports",
                            tag, d.uri, policy_domain,
                            d.authorisation_name.empty() ? d.host : d.authorisation_name)));
        }
    }
}

void org_domains(dns::Resolver& resolver, const std::string& domain, DmarcSummary& s,
                 DmarcPart& part) {
    if (s.org_domain.empty()) {
        if (auto walked = dmarc::org_domain_by_walk(resolver, domain); walked && !walked->temperror)
            s.org_domain = walked->name;
    }
    auto psl = dmarc::org_domain_by_psl(domain);
    s.org_domain_psl = psl.value_or("");
    if (s.org_domain.empty() || s.org_domain == s.org_domain_psl) return;
    part.findings.push_back(make_finding(
        Severity::warning, "dmarc-org-domain-disagreement",
        fmt::format("the Organizational Domain of {} is {} by the DNS tree walk (RFC 9989) but {} "
                    "by the Public Suffix List (RFC 7489): receivers of the two kinds align and "
                    "choose sp/np differently",
                    domain, s.org_domain,
                    psl ? *psl : std::string("none (it is a public suffix)"))));
}

}  // namespace

DmarcPart audit_dmarc(dns::Resolver& resolver, const std::string& domain) {
    DmarcPart part;
    auto found = dmarc::discover_policy(resolver, domain);
    if (!found) {
        part.findings.push_back(make_finding(Severity::error, "domain-invalid", found.error().reason));
        return part;
    }
    multiple_records(found->queries, part);
    if (found->temperror) {
        auto failed = std::ranges::find_if(found->queries, &dmarc::Query::failed);
        part.findings.push_back(make_finding(
            Severity::error, "dns-temperror",
            fmt::format("DMARC policy discovery for {} failed{}: receivers see temperror", domain,
                        failed == found->queries.end() ? "" : " at " + describe_failure(*failed))));
        return part;
    }
    if (found->source == dmarc::PolicySource::none || !found->record || !found->policy) {
        missing(domain, *found, part);
        return part;
    }
    auto summary = summarize(*found);
    policy_findings(domain, *found, summary, part);
    summary.rua = destinations(resolver, found->policy_domain, found->record->rua);
    summary.ruf = destinations(resolver, found->policy_domain, found->record->ruf);
    destination_findings("rua", found->policy_domain, summary.rua, part);
    destination_findings("ruf", found->policy_domain, summary.ruf, part);
    org_domains(resolver, domain, summary, part);
    part.summary = std::move(summary);
    return part;
}

}  // namespace rampart::audit::detail

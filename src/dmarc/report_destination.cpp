// External report destinations (RFC 9990 §4 "Verifying External Destinations").
#include <fmt/format.h>

#include "dmarc/internal.hpp"

namespace rampart::dmarc {

Result<std::string> report_authorisation_name(std::string_view policy_domain,
                                              std::string_view destination_domain) {
    auto policy = dns::normalize_name(policy_domain);
    if (!policy) return std::unexpected(std::move(policy.error()));
    auto destination = dns::normalize_name(destination_domain);
    if (!destination) return std::unexpected(std::move(destination.error()));
    auto name = dns::normalize_name(*policy + "._report._dmarc." + *destination);
    if (!name) {
        return fail(Errc::malformed,
                    fmt::format("{}._report._dmarc.{} is too long for DNS, so the destination "
                                "cannot be authorised",
                                *policy, *destination));
    }
    return name;
}

namespace {

std::string psl_org_or_self(std::string_view name) {
    auto org = org_domain_by_psl(name);
    return org ? *org : ascii_lower(name);
}

}  // namespace

bool needs_authorisation(std::string_view policy_domain, std::string_view destination_domain) {
    return psl_org_or_self(policy_domain) != psl_org_or_self(destination_domain);
}

ReportAuthorisation check_report_authorisation(dns::Resolver& resolver,
                                               std::string_view policy_domain,
                                               std::string_view destination_domain) {
    ReportAuthorisation result;
    result.policy_domain = std::string(policy_domain);
    result.destination_domain = std::string(destination_domain);
    auto name = report_authorisation_name(policy_domain, destination_domain);
    if (!name) {
        result.needed = true;
        result.explanation = name.error().reason;
        return result;
    }
    result.policy_domain = *dns::normalize_name(policy_domain);
    result.destination_domain = *dns::normalize_name(destination_domain);
    result.query_name = *name;
    result.needed = needs_authorisation(result.policy_domain, result.destination_domain);
    if (!result.needed) {
        result.authorised = true;
        result.explanation = fmt::format(
            "{} and {} share an organizational domain: no authorisation record needed",
            result.policy_domain, result.destination_domain);
        return result;
    }
    const auto answer = resolver.query(result.query_name, dns::RrType::txt);
    result.status = answer.status;
    if (answer.failed()) {
        result.temperror = true;
        result.explanation = fmt::format("{} could not be looked up ({}): try again later",
                                         result.query_name, dns::to_string(answer.status));
        return result;
    }
    for (const auto& txt : answer.txt()) {
        if (auto record = parse_record(txt.joined())) result.records.push_back(std::move(*record));
    }
    result.authorised = !result.records.empty();
    result.explanation =
        result.authorised
            ? fmt::format("{} authorises reports for {}", result.query_name, result.policy_domain)
            : fmt::format("no v=DMARC1 record at {}: reporters must not send reports for {} to {}",
                          result.query_name, result.policy_domain, result.destination_domain);
    return result;
}

}  // namespace rampart::dmarc

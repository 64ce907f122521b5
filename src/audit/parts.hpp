// The audit's parts, one per kind of record, each turning what the spf, dmarc and dkim modules
// report into findings. audit.cpp runs them concurrently and puts the results together.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.hpp"
#include "dns/dns.hpp"
#include "spf/spf.hpp"

namespace rampart::audit::detail {

/// A finding with its fix taken from the table (fixes.cpp).
[[nodiscard]] Finding make_finding(Severity severity, std::string_view code, std::string message);

struct SpfPart {
    spf::Tree tree;
    std::vector<Finding> findings;
};
/// spf::inspect() of the domain and its issues as findings, plus spf-missing.
[[nodiscard]] SpfPart audit_spf(dns::Resolver& resolver, const std::string& domain,
                                const spf::Limits& limits);

struct DmarcPart {
    std::optional<DmarcSummary> summary;
    std::vector<Finding> findings;
};
/// Policy discovery, the record's diagnostics, its report destinations and their
/// authorisation, and the two Organizational Domain answers.
[[nodiscard]] DmarcPart audit_dmarc(dns::Resolver& resolver, const std::string& domain);

/// The selectors to ask, each with its key name; selectors that make no valid name are kept out
/// of `questions` and listed in `invalid`.
struct DkimQuestions {
    std::vector<std::string> selectors;  // in the same order as `names`
    std::vector<std::string> names;
    std::vector<std::string> invalid;
};
[[nodiscard]] DkimQuestions dkim_questions(const std::string& domain,
                                           const std::vector<std::string>& selectors);

struct DkimPart {
    std::vector<DkimKey> keys;
    std::vector<Finding> findings;
};
/// The keys in the answers to dkim_questions(). `explicit_selectors`: the operator named them,
/// so a missing key is an error; otherwise a missing key is just a guess that did not hit.
/// `null_mx`: the domain receives no mail, so finding no key is only worth an info.
/// `reported`: selectors reports show in use, whose missing key is a warning.
[[nodiscard]] DkimPart dkim_from_answers(const DkimQuestions& asked,
                                         const std::vector<dns::Answer>& answers,
                                         bool explicit_selectors, bool null_mx,
                                         const std::vector<std::string>& reported = {});

struct MxPart {
    std::vector<dns::Mx> mx;
    bool null_mx = false;
    std::vector<Finding> findings;
};
/// The MX answer for the domain (an NXDOMAIN is the caller's business).
[[nodiscard]] MxPart mx_from_answer(const std::string& domain, const dns::Answer& answer);

}  // namespace rampart::audit::detail

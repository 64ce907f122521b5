// SPF: spf::inspect() walks the include tree and names every problem with a code; here its
// issues become findings under the audit's names for them.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "audit/parts.hpp"

namespace rampart::audit::detail {
namespace {

Severity severity_of(spf::Issue::Severity s) noexcept {
    switch (s) {
        case spf::Issue::Severity::error: return Severity::error;
        case spf::Issue::Severity::warning: return Severity::warning;
        case spf::Issue::Severity::info: return Severity::info;
    }
    return Severity::info;
}

struct Rename {
    std::string_view issue;    // spf::Issue::code
    std::string_view finding;  // the audit's code
};

// spf::inspect's codes are the audit's own except where the audit's family of "-missing"
// codes reads better; every other code passes through unchanged.
constexpr auto renames = std::to_array<Rename>({
    {"spf-none", "spf-missing"},
});

std::string_view finding_code(std::string_view issue_code) {
    const auto* r = std::ranges::find(renames, issue_code, &Rename::issue);
    return r == renames.end() ? issue_code : r->finding;
}

}  // namespace

SpfPart audit_spf(dns::Resolver& resolver, const std::string& domain, const spf::Limits& limits) {
    SpfPart part{.tree = spf::inspect(resolver, domain, limits), .findings = {}};
    for (const auto& issue : part.tree.issues)
        part.findings.push_back(
            make_finding(severity_of(issue.severity), finding_code(issue.code), issue.message));
    return part;
}

}  // namespace rampart::audit::detail

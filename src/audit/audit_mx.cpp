// MX records: presence and the null MX of RFC 7505.
#include <algorithm>

#include <fmt/format.h>

#include "audit/parts.hpp"

namespace rampart::audit::detail {

MxPart mx_from_answer(const std::string& domain, const dns::Answer& answer) {
    MxPart part;
    if (answer.failed()) {
        part.findings.push_back(make_finding(
            Severity::error, "dns-temperror",
            fmt::format("the MX look-up for {} failed: {}", domain,
                        answer.detail.empty() ? std::string(dns::to_string(answer.status))
                                              : printable(answer.detail))));
        return part;
    }
    part.mx = answer.mx();
    if (part.mx.empty()) {
        part.findings.push_back(make_finding(
            Severity::warning, "mx-missing",
            fmt::format("{} has no MX records: senders fall back to its address records, and "
                        "bounces and reports to it may be lost",
                        domain)));
        return part;
    }
    part.null_mx = std::ranges::any_of(part.mx, [](const dns::Mx& m) { return m.exchange.empty(); });
    if (part.null_mx && part.mx.size() == 1) {
        part.findings.push_back(make_finding(
            Severity::info, "mx-null",
            fmt::format("{} publishes a null MX (RFC 7505): it accepts no mail", domain)));
    } else if (part.null_mx) {
        part.findings.push_back(make_finding(
            Severity::warning, "mx-null-mixed",
            fmt::format("{} publishes a null MX next to other MX records; RFC 7505 says the null "
                        "MX must be the only one",
                        domain)));
    }
    return part;
}

}  // namespace rampart::audit::detail

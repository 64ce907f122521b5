// The facts of one aggregate-report record, as the roll-up keeps them and the sender analysis
// reads them. Pure: every backend, and callers that replay raw records, share this one reading.
#include "store/store.hpp"

#include <algorithm>

namespace rampart::store {

namespace {

bool icontains(std::string_view text, std::string_view needle) {
    if (needle.size() > text.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= text.size(); ++i)
        if (iequals(text.substr(i, needle.size()), needle)) return true;
    return false;
}

}  // namespace

SourceFacts facts_of(const report::Record& r, std::string_view policy_domain) {
    SourceFacts f;
    f.policy_domain = std::string(policy_domain);
    f.header_from = r.header_from.empty() ? ascii_lower(policy_domain) : ascii_lower(r.header_from);
    f.source_ip = r.source_ip.to_string();
    if (r.envelope_from && !r.envelope_from->empty()) {
        std::string_view env = *r.envelope_from;
        auto at = env.rfind('@');
        f.envelope_from = ascii_lower(at == std::string_view::npos ? env : env.substr(at + 1));
    }
    // RFC 7489 Appendix C allows several SPF results; the MAIL FROM one is what DMARC aligns.
    const report::SpfAuthResult* spf = nullptr;
    for (const auto& s : r.spf_results)
        if (s.scope == report::SpfScope::mfrom) {
            spf = &s;
            break;
        }
    if (!spf && !r.spf_results.empty()) spf = &r.spf_results.front();
    if (spf) {
        f.spf_domain = ascii_lower(spf->domain);
        f.spf_result = spf->result;
    }
    f.dkim.reserve(r.dkim_results.size());
    for (const auto& d : r.dkim_results)
        f.dkim.push_back({ascii_lower(d.domain), ascii_lower(d.selector), d.result});
    std::sort(f.dkim.begin(), f.dkim.end());
    f.dkim.erase(std::unique(f.dkim.begin(), f.dkim.end()), f.dkim.end());
    f.dmarc_dkim = r.dkim;
    f.dmarc_spf = r.spf;
    f.disposition = r.disposition;
    for (const auto& reason : r.reasons) {
        f.overrides.push_back(reason.type);
        // Google and Microsoft put the ARC verdict in the comment of a local_policy override.
        if (icontains(reason.comment, "arc=pass")) f.arc_pass = true;
    }
    std::sort(f.overrides.begin(), f.overrides.end());
    f.overrides.erase(std::unique(f.overrides.begin(), f.overrides.end()), f.overrides.end());
    return f;
}

}  // namespace rampart::store

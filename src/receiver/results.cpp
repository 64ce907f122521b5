#include "receiver/receiver.hpp"

#include <fmt/format.h>

namespace rampart::receiver {
namespace {

using authres::MethodResult;
using authres::Property;

/// RFC 8601 §2.7.2: smtp.mailfrom for the MAIL FROM identity, smtp.helo when the null
/// reverse-path made SPF check the HELO name.
MethodResult spf_result(const SpfCheck& spf) {
    MethodResult r{.method = "spf", .result = std::string(spf::to_string(spf.evaluation.result))};
    r.comment = spf.evaluation.reason;
    if (!spf.evaluated || spf.evaluation.domain.empty()) return r;
    r.properties.push_back(
        {"smtp", spf.helo_identity ? "helo" : "mailfrom", spf.evaluation.domain});
    return r;
}

/// RFC 8601 §2.7.1: header.d, header.s, header.a, and header.b cut to 8 characters, which tells
/// two signatures of one domain apart without repeating the whole signature.
MethodResult dkim_result(const dkim::SignatureResult& s) {
    MethodResult r{.method = "dkim", .result = std::string(dkim::to_string(s.result))};
    if (s.result != dkim::Outcome::pass) r.comment = s.reason;
    if (!s.domain.empty()) r.properties.push_back({"header", "d", s.domain});
    if (!s.selector.empty()) r.properties.push_back({"header", "s", s.selector});
    if (!s.algorithm_text.empty()) r.properties.push_back({"header", "a", s.algorithm_text});
    if (!s.signature_text.empty())
        r.properties.push_back({"header", "b", s.signature_text.substr(0, 8)});
    return r;
}

MethodResult arc_result(const arc::Validation& arc) {
    MethodResult r{.method = "arc", .result = std::string(arc::to_string(arc.status))};
    if (arc.status != arc::ChainStatus::none) r.comment = arc.reason;
    return r;
}

/// RFC 9989 §9.1: header.from and policy.dmarc, the policy that applies to a failure (t=y
/// already applied); the tag and value the record gave go in the comment ("p=reject").
MethodResult dmarc_result(const DmarcEvaluation& d) {
    MethodResult r{.method = "dmarc", .result = std::string(to_string(d.result))};
    if (d.policy && d.policy_tag) {
        r.comment = fmt::format("{}={}{}", dmarc::to_string(*d.policy_tag),
                                dmarc::to_string(*d.policy), d.test_mode ? " t=y" : "");
    }
    if (d.result != DmarcResult::pass) r.reason = d.reason;
    if (!d.from_domain.empty()) r.properties.push_back({"header", "from", d.from_domain});
    if (d.policy) {
        const auto applied = d.test_mode ? dmarc::one_level_lower(*d.policy) : *d.policy;
        r.properties.push_back({"policy", "dmarc", std::string(dmarc::to_string(applied))});
    }
    return r;
}

}  // namespace

authres::AuthenticationResults authentication_results(const Verdict& verdict,
                                                      std::string_view authserv_id) {
    authres::AuthenticationResults out{
        .authserv_id = std::string(authserv_id), .version = std::nullopt, .results = {}};
    out.results.push_back(spf_result(verdict.spf));
    if (verdict.dkim.empty()) {
        out.results.push_back(MethodResult{
            .method = "dkim", .result = "none", .comment = "the message is not signed"});
    }
    for (const auto& s : verdict.dkim) out.results.push_back(dkim_result(s));
    out.results.push_back(arc_result(verdict.arc));
    out.results.push_back(dmarc_result(verdict.dmarc));
    return out;
}

}  // namespace rampart::receiver

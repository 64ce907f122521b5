#include "rollout/rollout.hpp"

#include <fmt/format.h>

namespace rampart::rollout {

namespace {

std::string join(const std::vector<std::string>& uris) {
    std::string out;
    for (const auto& uri : uris) out += (out.empty() ? "" : ",") + uri;
    return out;
}

/// RFC 7489 §6.6.4: mail not selected by pct gets the next policy down.
dmarc::Policy next_down(dmarc::Policy p) noexcept { return dmarc::one_level_lower(p); }

}  // namespace

Result<std::string> record_text(const Shape& shape, const Destinations& destinations, Generation generation) {
    const bool partial = shape.pct < 100 && shape.p != dmarc::Policy::none;
    const bool write_pct = partial && generation != Generation::rfc9989;
    const bool write_testing = shape.testing || (partial && generation != Generation::rfc7489);

    std::string text = fmt::format("v=DMARC1; p={}", dmarc::to_string(shape.p));
    if (shape.sp) text += fmt::format("; sp={}", dmarc::to_string(*shape.sp));
    if (shape.np) text += fmt::format("; np={}", dmarc::to_string(*shape.np));
    if (write_testing) text += "; t=y";
    if (write_pct) text += fmt::format("; pct={}", shape.pct);
    if (shape.adkim) text += fmt::format("; adkim={}", dmarc::to_string(*shape.adkim));
    if (shape.aspf) text += fmt::format("; aspf={}", dmarc::to_string(*shape.aspf));
    if (!destinations.rua.empty()) text += fmt::format("; rua={}", join(destinations.rua));
    if (!destinations.ruf.empty()) text += fmt::format("; ruf={}", join(destinations.ruf));

    // The record must read back as meant: every destination usable, no error.
    auto parsed = dmarc::parse_record(text);
    if (!parsed) return std::unexpected(parsed.error());
    if (parsed->rua.size() != destinations.rua.size() || parsed->ruf.size() != destinations.ruf.size())
        return fail(Errc::malformed,
                    fmt::format("a report destination is not a valid URI: rua={} ruf={}", join(destinations.rua),
                                join(destinations.ruf)));
    return text;
}

Effect effect_rfc7489(const dmarc::Record& record, bool subdomain) noexcept {
    const dmarc::Policy policy = subdomain ? record.subdomain_policy() : record.policy();
    const int pct = record.pct.value_or(100);
    return Effect{.policy = policy, .share = pct / 100.0, .rest = pct >= 100 ? policy : next_down(policy)};
}

Effect effect_rfc9989(const dmarc::Record& record, bool subdomain) noexcept {
    dmarc::Policy policy = subdomain ? record.subdomain_policy() : record.policy();
    if (record.test_mode()) policy = dmarc::one_level_lower(policy);
    return Effect{.policy = policy, .share = 1.0, .rest = policy};
}

}  // namespace rampart::rollout

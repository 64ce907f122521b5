// Policy discovery (RFC 9989 §4.10.1) and the choice of p, sp or np (§5.3 step 6).
#include <fmt/format.h>

#include "dmarc/internal.hpp"

namespace rampart::dmarc {

std::string_view to_string(PolicySource source) noexcept {
    switch (source) {
        case PolicySource::none: return "none";
        case PolicySource::author_domain: return "author domain";
        case PolicySource::organizational_domain: return "organizational domain";
        case PolicySource::public_suffix_domain: return "public suffix domain";
    }
    return "?";
}

std::string_view to_string(PolicyTag tag) noexcept {
    switch (tag) {
        case PolicyTag::p: return "p";
        case PolicyTag::sp: return "sp";
        case PolicyTag::np: return "np";
    }
    return "?";
}

namespace {

const Query* query_at(const TreeWalk& walk, std::string_view domain) {
    for (const auto& query : walk.queries) {
        if (query.domain == domain && query.record) return &query;
    }
    return nullptr;
}

const Query* psd_record(const TreeWalk& walk) {
    for (const auto& query : walk.queries) {
        if (query.record && query.record->psd_mode() == Psd::yes) return &query;
    }
    return nullptr;
}

void use_record(Discovery& d, const Query& query, PolicySource source) {
    d.source = source;
    d.policy_domain = query.domain;
    d.record = query.record;
}

/// RFC 9989 App. A.4 / RFC 8020: only NXDOMAIN says a name does not exist. `_dmarc.<author>`
/// answering anything else proves the author exists (a name with something below it exists);
/// NXDOMAIN there says nothing about the author, so the author itself is asked (type A: any type
/// gives NXDOMAIN for a name that does not exist).
void settle_existence(dns::Resolver& resolver, Discovery& d) {
    if (d.queries.front().status != dns::Status::nxdomain) {
        d.author_exists = true;
        return;
    }
    auto answer = resolver.query(d.author_domain, dns::RrType::a);
    if (answer.failed()) {
        d.temperror = true;
    } else {
        d.author_exists = answer.status != dns::Status::nxdomain;
    }
    d.existence_answer = std::move(answer);
}

void choose_policy(Discovery& d) {
    if (!d.record) return;
    const Record& r = *d.record;
    d.test_mode = r.test_mode();
    if (d.source == PolicySource::author_domain) {
        d.tag = PolicyTag::p;
    } else if (d.author_exists.has_value()) {
        d.tag = *d.author_exists ? PolicyTag::sp : PolicyTag::np;
    } else {
        return;  // temperror while finding out whether the author exists
    }
    if (!r.applies()) return;
    switch (*d.tag) {
        case PolicyTag::p: d.policy = r.policy(); break;
        case PolicyTag::sp: d.policy = r.subdomain_policy(); break;
        case PolicyTag::np: d.policy = r.nonexistent_policy(); break;
    }
}

std::string explain(const Discovery& d) {
    if (d.temperror) {
        return fmt::format("DNS failure while discovering the policy for {}: temperror",
                           d.author_domain);
    }
    if (!d.record) return fmt::format("no DMARC record for {}: DMARC does not apply", d.author_domain);
    if (!d.policy) {
        return fmt::format("the record at _dmarc.{} has an invalid policy and no valid rua: "
                           "DMARC does not apply",
                           d.policy_domain);
    }
    const auto applied = d.test_mode ? one_level_lower(*d.policy) : *d.policy;
    std::string text = fmt::format("policy from _dmarc.{} ({}), tag {}: {}", d.policy_domain,
                                   to_string(d.source), to_string(*d.tag), to_string(*d.policy));
    if (d.tag == PolicyTag::np) text += " (the author domain does not exist)";
    if (d.test_mode) text += fmt::format("; t=y so receivers apply {}", to_string(applied));
    return text;
}

}  // namespace

Result<Discovery> discover_policy(dns::Resolver& resolver, std::string_view author_domain) {
    auto tree = walk(resolver, author_domain);
    if (!tree) return std::unexpected(std::move(tree.error()));
    Discovery d;
    d.author_domain = tree->start;
    d.queries = tree->queries;
    const Query& first = tree->queries.front();
    const auto org = org_domain_from_walk(*tree);
    d.organizational_domain = org.name;
    d.org_rule = org.rule;
    if (first.record) {
        // The author's own record is the policy record even if a later query of the walk, needed
        // only for the Organizational Domain, failed.
        use_record(d, first, PolicySource::author_domain);
    } else if (tree->temperror) {
        d.temperror = true;
    } else if (const auto* at_org = query_at(*tree, org.name)) {
        use_record(d, *at_org, PolicySource::organizational_domain);
    } else if (const auto* psd = psd_record(*tree)) {
        use_record(d, *psd, PolicySource::public_suffix_domain);
    }
    if (d.record && d.source != PolicySource::author_domain) settle_existence(resolver, d);
    choose_policy(d);
    d.explanation = explain(d);
    return d;
}

}  // namespace rampart::dmarc

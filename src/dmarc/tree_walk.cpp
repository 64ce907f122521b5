// DNS Tree Walk (RFC 9989 §4.10) and the Organizational Domain it yields (§4.10.2).
#include <algorithm>

#include <fmt/format.h>

#include "dmarc/internal.hpp"

namespace rampart::dmarc {

std::string_view to_string(OrgRule rule) noexcept {
    switch (rule) {
        case OrgRule::psd_no: return "psd=n record";
        case OrgRule::below_psd: return "one label below a psd=y record";
        case OrgRule::fewest_labels: return "record with the fewest labels";
        case OrgRule::no_record: return "no record: the name itself";
    }
    return "?";
}

Result<std::string> dmarc_query_name(std::string_view domain) {
    auto name = dns::normalize_name(domain);
    if (!name) return std::unexpected(std::move(name.error()));
    return dns::normalize_name("_dmarc." + *name);
}

namespace {

// §4.10 step 2: a walk never looks at more than 8 names — the start name, then at most 7 labels.
constexpr std::size_t max_walk_labels = 7;

/// The names a walk queries, longest first: the start, then its suffixes of
/// min(labels - 1, 7) labels down to 1.
std::vector<std::string> walk_targets(std::string_view start) {
    const auto parts = dns::labels(start);
    std::vector<std::string> targets{std::string(start)};
    const std::size_t first = std::min(parts.size() - 1, max_walk_labels);
    for (std::size_t keep = first; keep >= 1; --keep) {
        const auto& label = parts[parts.size() - keep];
        targets.emplace_back(start.substr(static_cast<std::size_t>(label.data() - start.data())));
    }
    return targets;
}

Query ask(dns::Resolver& resolver, const std::string& domain) {
    Query query;
    query.domain = domain;
    auto name = dmarc_query_name(domain);
    if (!name) {
        // Only a start name near 253 octets gets here: "_dmarc." makes it too long to ask.
        query.name = "_dmarc." + domain;
        query.status = dns::Status::nxdomain;
        query.detail = "not queried: " + name.error().reason;
        return query;
    }
    query.name = *name;
    const auto answer = resolver.query(query.name, dns::RrType::txt);
    query.status = answer.status;
    query.detail = answer.detail;
    query.cname_chain = answer.cname_chain;
    for (const auto& txt : answer.txt()) {
        auto text = txt.joined();
        if (is_dmarc_record(text)) query.dmarc_texts.push_back(std::move(text));
    }
    // §4.10 step 1: several DMARC records at one name are all discarded.
    if (query.dmarc_texts.size() == 1) {
        auto record = parse_record(query.dmarc_texts.front());
        if (record) query.record = std::move(*record);
    }
    return query;
}

bool stops_walk(const Query& query) noexcept {
    return query.record && query.record->psd_mode() != Psd::unknown;
}

}  // namespace

Result<TreeWalk> walk(dns::Resolver& resolver, std::string_view start) {
    auto normal = dns::normalize_name(start);
    if (!normal) return std::unexpected(std::move(normal.error()));
    TreeWalk result;
    result.start = std::move(*normal);
    for (const auto& target : walk_targets(result.start)) {
        result.queries.push_back(ask(resolver, target));
        const auto& query = result.queries.back();
        if (query.failed()) {
            result.temperror = true;
            break;
        }
        if (stops_walk(query)) break;
    }
    return result;
}

namespace {

/// The name one label longer than `ancestor` on the way down to `start`.
std::string one_label_below(std::string_view start, std::string_view ancestor) {
    const auto parts = dns::labels(start);
    const auto wanted = dns::labels(ancestor).size() + 1;
    const auto& label = parts[parts.size() - wanted];
    return std::string(start.substr(static_cast<std::size_t>(label.data() - start.data())));
}

}  // namespace

OrgDomain org_domain_from_walk(TreeWalk walk) {
    OrgDomain org;
    org.walk = std::move(walk);
    const auto& w = org.walk;
    if (w.temperror) {
        org.temperror = true;
        return org;
    }
    const Query* fewest = nullptr;
    for (const auto& query : w.queries) {  // longest name first
        if (!query.record) continue;
        if (query.record->psd_mode() == Psd::no) {
            org.name = query.domain;
            org.rule = OrgRule::psd_no;
            return org;
        }
        if (query.record->psd_mode() == Psd::yes && query.domain != w.start) {
            org.name = one_label_below(w.start, query.domain);
            org.rule = OrgRule::below_psd;
            return org;
        }
        fewest = &query;
    }
    if (fewest != nullptr) {
        org.name = fewest->domain;
        org.rule = OrgRule::fewest_labels;
    } else {
        org.name = w.start;
        org.rule = OrgRule::no_record;
    }
    return org;
}

Result<OrgDomain> org_domain_by_walk(dns::Resolver& resolver, std::string_view name) {
    auto tree = walk(resolver, name);
    if (!tree) return std::unexpected(std::move(tree.error()));
    return org_domain_from_walk(std::move(*tree));
}

namespace {

std::string explain_comparison(const OrgDomainComparison& c) {
    const auto& walk_name = c.by_walk.name;
    if (c.by_walk.temperror) {
        return fmt::format("the tree walk for {} hit a DNS failure; only the PSL answered ({})",
                           c.name, c.by_psl.value_or("none"));
    }
    if (!c.disagree) {
        return fmt::format("both the PSL and the tree walk give {}", walk_name);
    }
    if (!c.by_psl) {
        return fmt::format("{} is a public suffix, so RFC 7489 receivers find no organizational "
                           "domain; the RFC 9989 tree walk gives {} ({})",
                           c.name, walk_name, to_string(c.by_walk.rule));
    }
    return fmt::format("RFC 7489 receivers (PSL) use {}, RFC 9989 receivers (tree walk) use {} "
                       "({})",
                       *c.by_psl, walk_name, to_string(c.by_walk.rule));
}

}  // namespace

Result<OrgDomainComparison> compare_org_domains(dns::Resolver& resolver, std::string_view name) {
    auto org = org_domain_by_walk(resolver, name);
    if (!org) return std::unexpected(std::move(org.error()));
    OrgDomainComparison c;
    c.name = org->walk.start;
    c.by_psl = org_domain_by_psl(c.name);
    c.by_walk = std::move(*org);
    c.disagree = !c.by_walk.temperror && c.by_psl != c.by_walk.name;
    c.explanation = explain_comparison(c);
    return c;
}

}  // namespace rampart::dmarc

// Assembling a client's digest from the store: the sender analysis of each of its domains, the
// daily series from the roll-up, the senders new in the period and the period before's totals.
#include <map>
#include <string>

#include <fmt/format.h>

#include "digest/digest.hpp"

namespace rampart::digest {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;

std::string client_names(const config::Config& config) {
    if (config.clients.empty()) return "none are configured";
    std::string names = "configured: ";
    for (std::size_t i = 0; i < config.clients.size(); ++i) {
        if (i > 0) names += ", ";
        names += config.clients[i].name;
    }
    return names;
}

/// Messages and DMARC passes per UTC day over [since, until), every day present.
Result<std::vector<DayPoint>> daily(store::Store& store, const std::string& domain, Timestamp since,
                                    Timestamp until) {
    store::FactsQuery q;
    q.domain = domain;
    q.since = since;
    q.until = until;
    q.by_day = true;
    auto rows = store.source_facts(q);
    if (!rows) return std::unexpected(std::move(rows.error()));
    std::map<sys_days, DayPoint> by_day;
    for (const auto& r : *rows) {
        auto& p = by_day[r.first_day];
        p.messages += r.messages;
        if (r.dmarc_pass()) p.dmarc_pass += r.messages;
    }
    // The roll-up's day window: since's day up to, not including, until's day.
    std::vector<DayPoint> out;
    for (auto day = floor<days>(since); day < floor<days>(until); day += days{1}) {
        auto it = by_day.find(day);
        DayPoint p = it == by_day.end() ? DayPoint{} : it->second;
        p.day = day;
        out.push_back(p);
    }
    return out;
}

}  // namespace

Result<Digest> build(store::Store& store, dns::Resolver* resolver, const config::Config& config,
                     std::string_view client, Timestamp since, Timestamp until,
                     std::function<Timestamp()> now) {
    const auto* c = config.client(client);
    if (c == nullptr) {
        return fail(Errc::not_found, fmt::format("no client named \"{}\" in the configuration ({})",
                                                 printable(client), client_names(config)));
    }
    if (until < since) return fail(Errc::malformed, "the digest period ends before it begins");

    Digest digest;
    digest.client = c->name;
    digest.contact = c->contact;
    digest.since = since;
    digest.until = until;
    const auto length = until - since;
    const auto first_day = floor<days>(since);

    for (const auto& domain : c->domains) {
        DomainDigest d;
        senders::AnalyseRequest request;
        request.domain = domain;
        request.since = since;
        request.until = until;
        request.config = &config;
        // Key audits are DNS look-ups: offline (no resolver) the digest uses what is stored.
        request.audit_keys = resolver != nullptr;
        auto analysis = senders::analyse_domain(store, resolver, request, now);
        if (!analysis) return std::unexpected(std::move(analysis.error()));
        d.analysis = std::move(*analysis);

        auto series = daily(store, domain, since, until);
        if (!series) return std::unexpected(std::move(series.error()));
        d.days = std::move(*series);

        for (const auto& s : d.analysis.senders) {
            if (s.first_seen && *s.first_seen >= first_day) d.new_senders.push_back(s.name);
        }

        store::FactsQuery previous;
        previous.domain = domain;
        previous.since = since - length;
        previous.until = since;
        auto before = store.source_facts(previous);
        if (!before) return std::unexpected(std::move(before.error()));
        for (const auto& r : *before) {
            d.previous_messages += r.messages;
            if (r.dmarc_pass()) d.previous_pass += r.messages;
        }
        digest.domains.push_back(std::move(d));
    }
    return digest;
}

}  // namespace rampart::digest

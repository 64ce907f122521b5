// senders/analyse: the store, the identify layer and classify() wired together for one domain
// and window. See senders.hpp for the contract.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dkim/dkim.hpp"
#include "senders/senders.hpp"

namespace rampart::senders {
namespace {

// Selectors come from strangers' reports: a forged report could name thousands. Real domains
// use a handful; past this many the rest are left unaudited and a note says so.
constexpr std::size_t max_key_lookups = 64;

// RFC 8301 §3.2 requires verifiers to accept 1024-bit keys but signers to use at least 1024 and
// recommends 2048; below 2048 the key is due for rotation.
constexpr unsigned strong_rsa_bits = 2048;

/// The store's own error, or a sentence saying this database cannot answer at all.
Error store_error(Error error) {
    if (error.code == Errc::unsupported)
        error.reason = fmt::format(
            "this database cannot answer sender questions ({}); open it with a Rampart that "
            "keeps the daily roll-ups, then ingest the reports again",
            error.reason);
    return error;
}

/// What the key record at a selector says, from the TXT answer.
KeyState key_state(const dns::Answer& answer) {
    KeyState state;
    if (answer.empty()) {
        state.missing = true;
        return state;
    }
    for (const auto& txt : answer.txt()) {
        auto record = dkim::parse_key_record(txt.joined());
        if (!record) continue;
        if (record->revoked) {
            state.revoked = true;
            return state;
        }
        if (!record->usable()) continue;
        state.bits = static_cast<int>(record->key_bits);
        state.weak = record->key_type == dkim::KeyType::rsa && record->key_bits > 0 &&
                     record->key_bits < strong_rsa_bits;
        return state;
    }
    // TXT at the name, but nothing a verifier could use: as good as no key.
    state.missing = true;
    return state;
}

}  // namespace

Result<Analysis> analyse_domain(store::Store& store, dns::Resolver* resolver,
                                const AnalyseRequest& request, std::function<Timestamp()> now) {
    ClassifyInput input;
    input.domain = ascii_lower(request.domain);
    input.since = request.since;
    input.until = request.until;
    input.catalogue = &catalogue::builtin();
    std::vector<std::string> notes;

    if (request.facts) {
        input.facts = *request.facts;
    } else {
        store::FactsQuery query{.domain = input.domain, .since = request.since, .until = request.until};
        auto facts = store.source_facts(query);
        if (!facts) return std::unexpected(store_error(std::move(facts.error())));
        input.facts = std::move(*facts);
    }
    auto selectors = store.selectors_seen(input.domain, request.since);
    if (!selectors) return std::unexpected(store_error(std::move(selectors.error())));
    input.selectors = std::move(*selectors);
    auto first = store.first_seen(input.domain);
    if (!first) return std::unexpected(store_error(std::move(first.error())));

    // The d= domains seen on each source's mail, for the provider match of last resort.
    std::map<std::string, std::set<std::string>, std::less<>> dkim_by_source;
    for (const auto& f : input.facts) {
        auto& domains = dkim_by_source[f.source_ip];
        for (const auto& d : f.dkim)
            if (!d.domain.empty()) domains.insert(d.domain);
    }
    for (const auto& [ip, day] : *first)
        if (dkim_by_source.contains(ip)) input.first_seen.emplace(ip, day);

    Identifier identifier(store, resolver, *input.catalogue, now,
                          IdentifyOptions{.offline = resolver == nullptr});
    for (const auto& [text, domains] : dkim_by_source) {
        auto ip = IpAddress::parse(text);
        if (!ip) continue;  // the store keeps canonical text; anything else names no source
        auto identity = identifier.identify(*ip, {domains.begin(), domains.end()});
        if (!identity) return std::unexpected(store_error(std::move(identity.error())));
        input.identities.emplace(text, std::move(*identity));
    }

    if (request.config != nullptr) input.client = request.config->client_of(input.domain);
    if (input.client != nullptr) {
        for (const auto& sender : input.client->senders) {
            std::vector<Network> ranges;
            std::vector<std::string> includes = sender.spf_includes;
            if (sender.provider) {
                auto selection = input.catalogue->select(*sender.provider);
                if (selection) {
                    const auto& spf = selection->spf();
                    includes.insert(includes.end(), spf.includes.begin(), spf.includes.end());
                    ranges.insert(ranges.end(), selection->provider->ip_ranges.begin(),
                                  selection->provider->ip_ranges.end());
                } else {
                    notes.push_back(fmt::format("sender \"{}\": provider {}: {}", sender.name,
                                                *sender.provider, selection.error().reason));
                }
            }
            for (const auto& include : includes) {
                auto r = identifier.include_ranges(include);
                if (!r && r.error().code == Errc::malformed) {
                    notes.push_back(
                        fmt::format("sender \"{}\": {}", sender.name, r.error().reason));
                    continue;
                }
                if (!r) return std::unexpected(store_error(std::move(r.error())));
                ranges.insert(ranges.end(), r->begin(), r->end());
            }
            std::ranges::sort(ranges);
            ranges.erase(std::unique(ranges.begin(), ranges.end()), ranges.end());
            input.sender_ranges.emplace(sender.name, std::move(ranges));
        }
    }

    if (request.audit_keys && resolver != nullptr) {
        std::vector<std::string> names;
        std::vector<dns::Resolver::Question> questions;
        std::size_t skipped = 0;
        for (const auto& use : input.selectors) {
            if (use.selector.empty() || use.dkim_domain.empty()) continue;
            auto name = dns::normalize_name(dkim::dkim_key_name(use.selector, use.dkim_domain));
            if (!name || std::ranges::find(names, *name) != names.end()) continue;
            if (names.size() == max_key_lookups) {
                ++skipped;
                continue;
            }
            names.push_back(*name);
            questions.push_back({*name, dns::RrType::txt});
        }
        const auto answers = resolver->query_all(questions);
        std::size_t failed = 0;
        for (std::size_t i = 0; i < answers.size() && i < names.size(); ++i) {
            // An unreachable key is not a missing one: leave it out rather than accuse it.
            if (answers[i].failed()) {
                ++failed;
                continue;
            }
            input.keys.emplace(names[i], key_state(answers[i]));
        }
        if (failed != 0)
            notes.push_back(fmt::format("DNS unreachable: {} DKIM key{} not checked", failed,
                                        failed == 1 ? "" : "s"));
        if (skipped != 0)
            notes.push_back(fmt::format("{} more DKIM selectors seen than the {} checked", skipped,
                                        max_key_lookups));
    }

    auto analysis = classify(input);
    analysis.domain = input.domain;
    analysis.since = input.since;
    analysis.until = input.until;
    if (resolver == nullptr)
        notes.insert(notes.begin(), "offline: identities from cache");
    else if (identifier.degraded())
        notes.insert(notes.begin(), "DNS unreachable: identities from cache");
    analysis.notes.insert(analysis.notes.end(), notes.begin(), notes.end());
    return analysis;
}

}  // namespace rampart::senders

// publish/authority: see authority.hpp.
#include "publish/authority.hpp"

#include <algorithm>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dns/update.hpp"
#include "publish/publish.hpp"

namespace rampart::publish {

namespace {

bool is_dmarc_name(std::string_view name) { return name.starts_with("_dmarc."); }

/// Served and wanted hold the same values, as sets.
bool same_set(const std::vector<std::string>& served, const std::vector<std::string>& wanted, bool dmarc) {
    if (served.size() != wanted.size()) return false;
    std::vector<bool> used(served.size(), false);
    for (const auto& w : wanted) {
        bool found = false;
        for (std::size_t i = 0; i < served.size() && !found; ++i) {
            if (used[i]) continue;
            if (dmarc ? same_record(served[i], w) : served[i] == w) used[i] = found = true;
        }
        if (!found) return false;
    }
    return true;
}

struct Target {
    std::string ns;
    dns::Server server;
};

}  // namespace

std::string Coverage::to_json() const {
    nlohmann::ordered_json doc{{"all_serve", all_serve}, {"detail", detail}, {"servers", nlohmann::ordered_json::array()}};
    for (const auto& s : servers) {
        nlohmann::ordered_json one{{"ns", s.ns}, {"address", s.address}, {"status", s.status}, {"aa", s.aa},
                                   {"records", s.records}, {"ttl", s.ttl}, {"serves", s.serves}};
        if (!s.cname.empty()) one["cname"] = s.cname;
        doc["servers"].push_back(std::move(one));
    }
    return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<std::string> agreed_record(const Coverage& coverage) {
    std::optional<std::vector<std::string>> agreed;
    for (const auto& s : coverage.servers) {
        if (s.status != "ok" && s.status != "nodata" && s.status != "nxdomain") continue;
        if (!agreed) {
            agreed = s.records;
        } else if (*agreed != s.records) {
            return fail(Errc::conflict, fmt::format("the authoritative servers disagree: {}", coverage.detail));
        }
    }
    if (!agreed) return fail(Errc::io, fmt::format("no authoritative server answered: {}", coverage.detail));
    if (agreed->size() > 1) return fail(Errc::conflict, "the name holds several TXT records");
    return agreed->empty() ? std::string() : agreed->front();
}

Result<ZoneApex> find_zone(dns::Resolver& resolver, std::string_view name) {
    auto normal = dns::normalize_name(name);
    if (!normal) return std::unexpected(normal.error());
    std::string_view candidate = *normal;
    for (;;) {
        const auto answer = resolver.query(candidate, dns::RrType::soa);
        if (answer.failed())
            return fail(Errc::io, fmt::format("looking up the SOA of {}: {}", candidate,
                                              answer.detail.empty() ? std::string(dns::to_string(answer.status))
                                                                    : answer.detail));
        if (answer.ok() && answer.cname_chain.empty()) {
            for (const auto& r : answer.records) {
                if (r.name != candidate) continue;
                if (const auto* soa = std::get_if<dns::Soa>(&r.data))
                    return ZoneApex{.zone = std::string(candidate), .primary = soa->mname};
            }
        }
        const auto dot = candidate.find('.');
        if (dot == std::string_view::npos) break;
        candidate.remove_prefix(dot + 1);
    }
    return fail(Errc::not_found, fmt::format("no zone (SOA record) found above {}", *normal));
}

Coverage NetworkAuthorityChecker::check(const Wanted& wanted) {
    Coverage out;
    std::vector<Target> targets;
    if (options_.only_server) {
        targets.push_back({.ns = "(configured)", .server = *options_.only_server});
    } else {
        if (options_.resolver == nullptr) {
            out.detail = "no resolver to find the authoritative servers with";
            return out;
        }
        std::string zone = wanted.zone;
        if (zone.empty()) {
            auto apex = find_zone(*options_.resolver, wanted.name);
            if (!apex) {
                out.detail = apex.error().reason;
                return out;
            }
            zone = apex->zone;
        }
        const auto ns = options_.resolver->query(zone, dns::RrType::ns);
        if (!ns.ok()) {
            out.detail = fmt::format("the NS set of {} could not be read: {}", zone,
                                     ns.detail.empty() ? std::string(dns::to_string(ns.status)) : ns.detail);
            return out;
        }
        auto names = ns.names();
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        std::vector<dns::Resolver::Question> questions;
        for (const auto& n : names) {
            questions.push_back({n, dns::RrType::a});
            questions.push_back({n, dns::RrType::aaaa});
        }
        const auto answers = options_.resolver->query_all(questions);
        for (std::size_t i = 0; i < names.size(); ++i) {
            bool any = false;
            for (const auto& a : {answers[2 * i], answers[2 * i + 1]}) {
                for (const auto& address : a.addresses()) {
                    targets.push_back({.ns = names[i], .server = dns::Server{.address = address, .port = options_.port}});
                    any = true;
                }
            }
            if (!any)
                out.servers.push_back(ServerAnswer{.ns = names[i], .address = "", .status = "no address"});
        }
    }

    // Every server at once: a slow one costs one timeout, not one per server.
    std::vector<std::future<dns::DirectAnswer>> asked;
    asked.reserve(targets.size());
    for (const auto& t : targets) {
        asked.push_back(std::async(std::launch::async, [&t, &wanted, timeout = options_.timeout] {
            return dns::ask_server(t.server, wanted.name, dns::RrType::txt, timeout);
        }));
    }
    const bool dmarc = is_dmarc_name(wanted.name);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto direct = asked[i].get();
        ServerAnswer one{.ns = targets[i].ns,
                         .address = targets[i].server.to_string(),
                         .status = std::string(dns::to_string(direct.answer.status))};
        one.aa = direct.aa;
        if (!direct.answer.cname_chain.empty()) one.cname = direct.answer.cname_chain.back();
        for (const auto& txt : direct.answer.txt()) one.records.push_back(txt.joined());
        if (direct.answer.ok()) {
            one.ttl = direct.answer.ttl;
            out.max_ttl = std::max(out.max_ttl, direct.answer.ttl);
        }
        const bool answered = direct.answer.ok() || direct.answer.empty();
        one.serves = answered && direct.aa && one.cname.empty() && same_set(one.records, wanted.values, dmarc);
        out.servers.push_back(std::move(one));
    }

    const auto serving = static_cast<std::size_t>(
        std::count_if(out.servers.begin(), out.servers.end(), [](const ServerAnswer& s) { return s.serves; }));
    out.all_serve = !out.servers.empty() && serving == out.servers.size();
    if (out.servers.empty()) {
        out.detail = "no authoritative server found";
    } else if (out.all_serve) {
        out.detail = fmt::format("all {} authoritative server{} serve{} it", out.servers.size(),
                                 out.servers.size() == 1 ? "" : "s", out.servers.size() == 1 ? "s" : "");
    } else {
        out.detail = fmt::format("{} of {} authoritative servers serve it", serving, out.servers.size());
        for (const auto& s : out.servers) {
            if (s.serves) continue;
            std::string what = s.status;
            if (s.status == "ok" || s.status == "nodata")
                what = !s.cname.empty() ? fmt::format("a CNAME to {}", s.cname)
                       : !s.aa          ? std::string("a non-authoritative answer")
                       : s.records.empty() ? std::string("no TXT record")
                                           : fmt::format("\"{}\"", printable(s.records.front()));
            out.detail += fmt::format("; {} ({}): {}", s.ns, s.address, what);
        }
    }
    return out;
}

Coverage wait_until_served(AuthorityChecker& checker, const Wanted& wanted,
                           std::chrono::steady_clock::duration deadline,
                           std::chrono::steady_clock::duration interval,
                           const std::function<void(std::chrono::steady_clock::duration)>& sleep) {
    // With an injected sleep, time is the sum of the waits (tests run no clock); otherwise the
    // steady clock, so rounds slowed by servers that time out count too.
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration waited{0};
    for (;;) {
        auto round = checker.check(wanted);
        if (!sleep) waited = std::max(waited, std::chrono::steady_clock::now() - start);
        if (round.all_serve || waited >= deadline) return round;
        const auto pause = std::min(interval, deadline - waited);
        if (sleep) {
            sleep(pause);
        } else {
            std::this_thread::sleep_for(pause);
        }
        waited += pause;
    }
}

}  // namespace rampart::publish

// `rampart senders` and `rampart sources`: see senders.hpp for the contract.
#include "cli/senders.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalogue/catalogue.hpp"
#include "cli/options.hpp"
#include "cli/render.hpp"
#include "senders/senders.hpp"

namespace rampart::cli {
namespace {

using nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_attention = 1;
constexpr int exit_usage = 2;

// How many sources the table shows per sender before "+N more"; JSON and CSV list them all.
constexpr std::size_t table_sources = 3;


struct Opened {
    std::unique_ptr<store::Store> store;
    std::optional<config::Config> config;
    std::unique_ptr<dns::Resolver> resolver;  // null with --offline
};

/// The database (which must exist: an empty new one answers nothing), the configuration and,
/// unless offline, the resolver. Prints the problem and returns nullopt on failure.
std::optional<Opened> open_all(const std::string& db, const std::string& config_flag,
                               const std::string& dns_flag, bool offline, const Environment& env) {
    Opened out;
    auto store = open_existing_store(db, env);
    if (!store) {
        error_line(env, store.error().describe());
        return std::nullopt;
    }
    out.store = std::move(*store);
    auto config = load_config(config_flag);
    if (!config) {
        error_line(env, config.error().describe());
        return std::nullopt;
    }
    out.config = std::move(*config);
    if (!offline) {
        auto resolver = open_dns(dns_flag, out.config, env);
        if (!resolver) {
            error_line(env, resolver.error().describe());
            return std::nullopt;
        }
        out.resolver = std::move(*resolver);
    }
    return out;
}

ordered_json optional_json(const std::optional<std::string>& value) {
    return value ? ordered_json(*value) : ordered_json();
}

ordered_json senders_json(const senders::Analysis& a) {
    auto list = ordered_json::array();
    for (const auto& s : a.senders) {
        ordered_json due;
        if (s.due) due = format_day(std::chrono::sys_days{*s.due});
        ordered_json first_seen;
        if (s.first_seen) first_seen = format_day(*s.first_seen);
        list.push_back({{"name", s.name},
                        {"known", s.known},
                        {"provider", s.provider},
                        {"sources", s.sources},
                        {"messages", s.messages},
                        {"dmarc_pass", s.dmarc_pass},
                        {"spf_aligned", s.spf_aligned},
                        {"dkim_aligned", s.dkim_aligned},
                        {"class", senders::to_string(s.cls)},
                        {"explanation", s.explanation},
                        {"action", s.action},
                        {"decision", optional_json(s.decision)},
                        {"due", due},
                        {"retired", s.retired},
                        {"first_seen", first_seen}});
    }
    return {{"domain", a.domain},     {"since", format_day(a.since)}, {"until", format_day(a.until)},
            {"messages", a.messages}, {"dmarc_pass", a.dmarc_pass}, {"senders", std::move(list)},
            {"notes", a.notes}};
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? std::string("-")
                      : fmt::format("{:.1f}%",
                                    100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string sources_cell(const std::vector<std::string>& sources) {
    std::string out;
    for (std::size_t i = 0; i < sources.size() && i < table_sources; ++i)
        out += (i == 0 ? "" : ", ") + printable(sources[i]);
    if (sources.size() > table_sources)
        out += fmt::format(" +{} more", sources.size() - table_sources);
    return out;
}

std::string senders_table(const senders::Analysis& a) {
    std::string out =
        fmt::format("{}: {} messages from {} to {}, {} pass DMARC\n\n", printable(a.domain),
                    grouped(a.messages), format_day(a.since),
                    format_day(std::chrono::floor<std::chrono::days>(a.until) - std::chrono::days{1}),
                    percent(a.dmarc_pass, a.messages));
    if (a.senders.empty()) {
        out += "No mail reported in this window.\n";
    } else {
        std::size_t width = 6;
        for (const auto& s : a.senders) width = std::max(width, printable(s.name).size());
        width = std::min<std::size_t>(width, 40);
        out += fmt::format("{:<{}}  {:<16} {:>10} {:>11}  {}\n", "SENDER", width, "CLASS",
                           "MESSAGES", "DMARC PASS", "SOURCES");
        for (const auto& s : a.senders)
            out += fmt::format("{:<{}}  {:<16} {:>10} {:>11}  {}\n", printable(s.name), width,
                               senders::to_string(s.cls), grouped(s.messages),
                               percent(s.dmarc_pass, s.messages), sources_cell(s.sources));
        bool header = false;
        for (const auto& s : a.senders) {
            if (s.cls == senders::SenderClass::passing) continue;
            if (!header) out += "\nNeeds attention:\n";
            header = true;
            out += fmt::format("\n  {} ({}, {} messages)\n", printable(s.name),
                               senders::to_string(s.cls), grouped(s.messages));
            if (!s.explanation.empty())
                out += fmt::format("    why:  {}\n", printable(s.explanation));
            if (!s.action.empty()) out += fmt::format("    do:   {}\n", printable(s.action));
            if (s.decision) {
                out += fmt::format("    plan: {}", printable(*s.decision));
                if (s.due) out += fmt::format(" (due {})", format_day(std::chrono::sys_days{*s.due}));
                out += "\n";
            }
        }
    }
    for (const auto& n : a.notes) out += fmt::format("\nnote: {}", printable(n));
    if (!a.notes.empty()) out += "\n";
    return out;
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string senders_csv(const senders::Analysis& a) {
    std::string out =
        "name,known,provider,class,messages,dmarc_pass,spf_aligned,dkim_aligned,sources,"
        "explanation,action\n";
    for (const auto& s : a.senders) {
        std::string sources;
        for (const auto& src : s.sources) sources += (sources.empty() ? "" : " ") + src;
        out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(printable(s.name)),
                           s.known ? "true" : "false", csv_field(s.provider),
                           senders::to_string(s.cls), s.messages, s.dmarc_pass, s.spf_aligned,
                           s.dkim_aligned, csv_field(printable(sources)),
                           csv_field(printable(s.explanation)), csv_field(printable(s.action)));
    }
    return out;
}

// ---- sources ----------------------------------------------------------------------------

struct DomainTraffic {
    std::string domain;
    std::set<std::string> header_from;
    std::uint64_t messages = 0, dmarc_pass = 0, spf_aligned = 0, dkim_aligned = 0;
    std::map<std::string, std::uint64_t> spf, dkim;  // result -> messages
    std::chrono::sys_days first_day{}, last_day{};
};

/// The DKIM outcome of a row in one word: pass when any signature passed (that is what DMARC
/// looks at), else the first signature's result, else none.
std::string_view dkim_outcome(const store::SourceFacts& f) {
    if (f.dkim.empty()) return "none";
    for (const auto& d : f.dkim)
        if (d.result == report::AuthVerdict::pass) return "pass";
    return report::to_string(f.dkim.front().result);
}

std::vector<DomainTraffic> by_domain(const std::vector<store::SourceFacts>& facts) {
    std::map<std::string, DomainTraffic> domains;
    for (const auto& f : facts) {
        auto [it, fresh] = domains.try_emplace(f.policy_domain);
        auto& d = it->second;
        if (fresh) {
            d.domain = f.policy_domain;
            d.first_day = f.first_day;
            d.last_day = f.last_day;
        }
        d.header_from.insert(f.header_from);
        d.messages += f.messages;
        if (f.dmarc_pass()) d.dmarc_pass += f.messages;
        if (f.dmarc_spf == report::DmarcVerdict::pass) d.spf_aligned += f.messages;
        if (f.dmarc_dkim == report::DmarcVerdict::pass) d.dkim_aligned += f.messages;
        d.spf[std::string(report::to_string(f.spf_result))] += f.messages;
        d.dkim[std::string(dkim_outcome(f))] += f.messages;
        d.first_day = std::min(d.first_day, f.first_day);
        d.last_day = std::max(d.last_day, f.last_day);
    }
    std::vector<DomainTraffic> out;
    for (auto& [name, d] : domains) out.push_back(std::move(d));
    std::ranges::stable_sort(out,
                             [](const auto& a, const auto& b) { return a.messages > b.messages; });
    return out;
}

std::string provider_name(std::string_view id) {
    const auto* p = catalogue::find(id);
    return p != nullptr ? p->name : std::string(id);
}

ordered_json sources_json(const store::SourceIdentity& id,
                          const std::vector<DomainTraffic>& domains,
                          const std::vector<std::string>& notes) {
    const bool looked_up = id.resolved_at != Timestamp{};
    ordered_json identity = {
        {"ptr", optional_json(id.ptr)},
        {"forward_confirmed", id.forward_confirmed},
        {"provider", id.provider},
        {"provider_name",
         id.provider.empty() ? ordered_json() : ordered_json(provider_name(id.provider))},
        {"basis", id.basis},
        {"dns_failed", id.dns_failed},
        {"resolved_at",
         looked_up ? ordered_json(format_timestamp(id.resolved_at)) : ordered_json()},
        {"expires_at", looked_up ? ordered_json(format_timestamp(id.expires_at)) : ordered_json()}};
    auto list = ordered_json::array();
    std::uint64_t messages = 0, pass = 0;
    for (const auto& d : domains) {
        messages += d.messages;
        pass += d.dmarc_pass;
        list.push_back({{"domain", d.domain},
                        {"header_from", d.header_from},
                        {"messages", d.messages},
                        {"dmarc_pass", d.dmarc_pass},
                        {"spf_aligned", d.spf_aligned},
                        {"dkim_aligned", d.dkim_aligned},
                        {"spf", d.spf},
                        {"dkim", d.dkim},
                        {"first_day", format_day(d.first_day)},
                        {"last_day", format_day(d.last_day)}});
    }
    return {{"ip", id.ip},        {"identity", std::move(identity)}, {"messages", messages},
            {"dmarc_pass", pass}, {"domains", std::move(list)},      {"notes", notes}};
}

std::string results_text(const std::map<std::string, std::uint64_t>& results) {
    std::string out;
    for (const auto& [result, n] : results)
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", result, grouped(n));
    return out;
}

std::string sources_text(const store::SourceIdentity& id, const std::vector<DomainTraffic>& domains,
                         const std::vector<std::string>& notes) {
    std::string out = fmt::format("{}\n", id.ip);
    if (id.ptr)
        out += fmt::format(
            "  reverse DNS: {} ({})\n", printable(*id.ptr),
            id.forward_confirmed ? "forward-confirmed" : "not confirmed: it does not resolve back");
    else
        out += "  reverse DNS: none known\n";
    if (!id.provider.empty())
        out += fmt::format("  provider:    {} ({}), matched by {}\n", provider_name(id.provider),
                           id.provider, id.basis);
    else
        out += "  provider:    none identified\n";
    if (id.resolved_at != Timestamp{})
        out += fmt::format(
            "  looked up:   {}{} (cached until {})\n", format_timestamp(id.resolved_at),
            id.dns_failed ? ", DNS failing since" : "", format_timestamp(id.expires_at));
    else
        out += "  looked up:   never\n";
    if (domains.empty()) {
        out += "\nNo stored report mentions this address.\n";
    } else {
        out += "\n";
        for (const auto& d : domains) {
            out += fmt::format("{}: {} messages, {} pass DMARC, {} to {}\n", printable(d.domain),
                               grouped(d.messages), percent(d.dmarc_pass, d.messages),
                               format_day(d.first_day), format_day(d.last_day));
            std::string from;
            for (const auto& h : d.header_from) from += (from.empty() ? "" : ", ") + printable(h);
            out += fmt::format("  From:        {}\n", from);
            out +=
                fmt::format("  aligned:     SPF {}, DKIM {}\n", percent(d.spf_aligned, d.messages),
                            percent(d.dkim_aligned, d.messages));
            out += fmt::format("  SPF results: {}\n", results_text(d.spf));
            out += fmt::format("  DKIM results: {}\n", results_text(d.dkim));
        }
    }
    for (const auto& n : notes) out += fmt::format("note: {}\n", printable(n));
    return out;
}

}  // namespace

CLI::App* add_senders_command(CLI::App& app, SendersArgs& args) {
    auto* cmd = app.add_subcommand(
        "senders", "Who sends as a domain, why their mail fails DMARC, and what to do");
    cmd->add_option("domain", args.domain, "The domain (policy or From domain)")->required();
    cmd->add_option("--since", args.since,
                    "First day included: YYYY-MM-DD, or Nd for N days before now")
        ->capture_default_str();
    cmd->add_option("--until", args.until,
                    "First day NOT included: YYYY-MM-DD (default: today is included)");
    cmd->add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    cmd->add_option(
        "--config", args.config,
        "rampart.toml with the sender inventory (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*cmd, args.dns);
    cmd->add_flag("--offline", args.offline, "Ask no DNS: identities from the database's cache");
    auto* json = cmd->add_flag("--json", args.json, "Print JSON");
    auto* csv = cmd->add_flag("--csv", args.csv, "Print CSV, one row per sender");
    json->excludes(csv);
    return cmd;
}

int run_senders(const SendersArgs& args, const Environment& env) {
    auto domain = dns::normalize_name(args.domain);
    if (!domain || domain->find('.') == std::string::npos) {
        error_line(env, fmt::format("\"{}\" is not a domain name", printable(args.domain)));
        return exit_usage;
    }
    const auto now = env.now;
    const auto today = now();
    auto since = parse_start_day(args.since, today, "30d");
    if (!since) {
        error_line(env, fmt::format("--since: {}", since.error().reason));
        return exit_usage;
    }
    Timestamp until = std::chrono::floor<std::chrono::days>(today) + std::chrono::days{1};
    if (!args.until.empty()) {
        auto t = parse_date(args.until);
        if (!t) {
            error_line(env, fmt::format("--until: {}", t.error().reason));
            return exit_usage;
        }
        until = std::chrono::floor<std::chrono::days>(*t);
    }
    if (until <= *since) {
        error_line(env, fmt::format("the window is empty: --until {} is not after --since {}",
                                    format_day(until), format_day(*since)));
        return exit_usage;
    }
    auto opened = open_all(args.db, args.config, args.dns, args.offline, env);
    if (!opened) return exit_usage;

    senders::AnalyseRequest request{.domain = *domain,
                                    .since = *since,
                                    .until = until,
                                    .config = opened->config ? &*opened->config : nullptr};
    auto analysis = senders::analyse_domain(*opened->store, opened->resolver.get(), request, now);
    if (!analysis) {
        error_line(env, analysis.error().describe());
        return exit_usage;
    }
    if (args.json)
        print_json(env.out, senders_json(*analysis));
    else if (args.csv)
        std::fputs(senders_csv(*analysis).c_str(), env.out);
    else
        std::fputs(senders_table(*analysis).c_str(), env.out);
    const bool all_passing = std::ranges::all_of(analysis->senders, [](const senders::Sender& s) {
        return s.cls == senders::SenderClass::passing;
    });
    return all_passing ? exit_ok : exit_attention;
}

CLI::App* add_sources_command(CLI::App& app, SourcesArgs& args) {
    auto* cmd = app.add_subcommand(
        "sources", "Everything known about one source address: identity and the mail it sent");
    cmd->add_option("ip", args.ip, "The source address")->required();
    cmd->add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    cmd->add_option("--config", args.config,
                    "rampart.toml (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*cmd, args.dns);
    cmd->add_flag("--offline", args.offline, "Ask no DNS: the identity from the database's cache");
    cmd->add_flag("--json", args.json, "Print JSON");
    return cmd;
}

int run_sources(const SourcesArgs& args, const Environment& env) {
    auto ip = IpAddress::parse(args.ip);
    if (!ip) {
        error_line(env, ip.error().reason);
        return exit_usage;
    }
    auto opened = open_all(args.db, args.config, args.dns, args.offline, env);
    if (!opened) return exit_usage;

    auto facts = opened->store->source_facts(store::FactsQuery{.source_ip = ip->to_string()});
    if (!facts) {
        error_line(env, facts.error().describe());
        return exit_usage;
    }
    std::set<std::string> dkim_domains;
    for (const auto& f : *facts)
        for (const auto& d : f.dkim)
            if (!d.domain.empty()) dkim_domains.insert(d.domain);
    senders::Identifier identifier(*opened->store, opened->resolver.get(), catalogue::builtin(),
                                   env.now,
                                   senders::IdentifyOptions{.offline = args.offline});
    auto identity = identifier.identify(*ip, {dkim_domains.begin(), dkim_domains.end()});
    if (!identity) {
        error_line(env, identity.error().describe());
        return exit_usage;
    }
    std::vector<std::string> notes;
    if (args.offline)
        notes.emplace_back("offline: identity from cache");
    else if (identifier.degraded())
        notes.emplace_back("DNS unreachable: identity from cache");

    const auto domains = by_domain(*facts);
    if (args.json)
        print_json(env.out, sources_json(*identity, domains, notes));
    else
        std::fputs(sources_text(*identity, domains, notes).c_str(), env.out);
    return domains.empty() ? exit_attention : exit_ok;
}

}  // namespace rampart::cli

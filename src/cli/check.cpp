// `rampart check`: which domains (arguments and --file), which selectors (--selector, else the
// configuration's, the common ones and those seen in stored reports), and the output; the audit
// itself is audit::audit_all.
#include "cli/check.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/options.hpp"
#include "cli/render.hpp"
#include "dns/dns.hpp"

namespace rampart::cli {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_findings = 1;
constexpr int exit_usage = 2;
/// Fewer domains than this finish before a progress bar would say anything useful.
constexpr std::size_t progress_threshold = 10;
/// How far back stored reports are asked for selectors: long enough to span a quarterly
/// rotation and a newsletter sent once a month, short enough that a retired key is not audited
/// for ever.
constexpr std::chrono::days learning_window{90};

// ---------------------------------------------------------------------------------------------
// Input

/// One domain a line; '#' starts a comment, blank lines are skipped.
std::vector<std::string> domains_in(std::istream& in) {
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        auto text = std::string_view(line);
        if (auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        text = trim(text);
        if (!text.empty()) out.emplace_back(text);
    }
    return out;
}

Result<std::vector<std::string>> read_domain_file(const std::string& path) {
    if (path == "-") return domains_in(std::cin);
    std::ifstream in(path);
    if (!in) return fail(Errc::io, fmt::format("cannot read --file {}", path));
    auto domains = domains_in(in);
    if (in.bad()) return fail(Errc::io, fmt::format("error while reading --file {}", path));
    return domains;
}

Result<std::vector<std::string>> all_domains(const CheckArgs& args) {
    auto domains = args.domains;
    if (!args.file.empty()) {
        auto listed = read_domain_file(args.file);
        if (!listed) return listed;
        std::ranges::move(*listed, std::back_inserter(domains));
    }
    if (domains.empty()) return fail(Errc::malformed, "no domains: name some or give --file");
    return domains;
}

// ---------------------------------------------------------------------------------------------
// JSON

ordered_json optional_text(const std::string& text) {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
}

ordered_json findings_json(const std::vector<audit::Finding>& findings) {
    auto out = ordered_json::array();
    for (const auto& f : findings)
        out.push_back({{"severity", audit::to_string(f.severity)},
                       {"code", f.code},
                       {"message", f.message},
                       {"fix", f.fix}});
    return out;
}

std::string node_record(const spf::TreeNode& node) {
    return node.records.empty() ? std::string() : node.records.front();
}

ordered_json spf_node_json(const spf::TreeNode& node) {
    auto children = ordered_json::array();
    for (const auto& child : node.children) children.push_back(spf_node_json(child));
    ordered_json out{{"domain", node.domain},
                     {"record", optional_text(node_record(node))},
                     {"lookups", node.own_lookups},
                     {"total", node.running_total_after},
                     {"void_lookups", node.void_lookups},
                     {"via", spf::to_string(node.via)},
                     {"term", optional_text(node.term)},
                     {"status", dns::to_string(node.status)},
                     {"subtree_lookups", node.subtree_lookups}};
    if (node.records.size() > 1) out["records"] = node.records;
    out["children"] = std::move(children);
    return out;
}

ordered_json spf_json(const std::optional<spf::Tree>& tree) {
    if (!tree) return nullptr;
    return {{"record", optional_text(node_record(tree->root))},
            {"lookups", tree->total_lookups},
            {"void_lookups", tree->total_void_lookups},
            {"over_limit", tree->over_limit},
            {"limit_exceeded_at", optional_text(tree->limit_exceeded_at)},
            {"void_over_limit", tree->void_over_limit},
            {"tree", spf_node_json(tree->root)}};
}

ordered_json destinations_json(const std::vector<audit::Destination>& list) {
    auto out = ordered_json::array();
    for (const auto& d : list)
        out.push_back({{"uri", d.uri},
                       {"host", optional_text(d.host)},
                       {"external", d.external},
                       {"authorisation_name", optional_text(d.authorisation_name)},
                       {"authorised", d.check_failed ? ordered_json(nullptr) : ordered_json(d.authorised)}});
    return out;
}

ordered_json dmarc_json(const std::optional<audit::DmarcSummary>& s) {
    if (!s) return nullptr;
    return {{"record", s->record},
            {"found_at", s->found_at},
            {"inherited", s->inherited},
            {"source", s->source},
            {"policy", s->policy},
            {"sp", optional_text(s->sp)},
            {"np", optional_text(s->np)},
            {"pct", s->pct ? ordered_json(*s->pct) : ordered_json(nullptr)},
            {"testing", s->testing},
            {"org_domain", optional_text(s->org_domain)},
            {"org_domain_psl", optional_text(s->org_domain_psl)},
            {"rua", destinations_json(s->rua)},
            {"ruf", destinations_json(s->ruf)}};
}

ordered_json dkim_json(const std::vector<audit::DkimKey>& keys) {
    auto out = ordered_json::array();
    for (const auto& k : keys)
        out.push_back({{"selector", k.selector},
                       {"key_type", k.key_type},
                       {"key_bits", k.key_bits ? ordered_json(*k.key_bits) : ordered_json(nullptr)},
                       {"revoked", k.revoked},
                       {"testing", k.testing},
                       {"name", k.name},
                       {"record", k.record}});
    return out;
}

ordered_json mx_json(const std::vector<dns::Mx>& mx) {
    auto out = ordered_json::array();
    for (const auto& m : mx)
        out.push_back({{"preference", m.preference},
                       {"exchange", m.exchange.empty() ? std::string(".") : m.exchange}});
    return out;
}

ordered_json domain_json(const audit::DomainAudit& d, const std::vector<std::string>& learned) {
    return {{"domain", d.domain},
            {"exists", d.exists},
            {"findings", findings_json(d.findings)},
            {"spf", spf_json(d.spf)},
            {"dmarc", dmarc_json(d.dmarc)},
            {"dkim", dkim_json(d.dkim)},
            {"selectors_tried", d.selectors_tried},
            {"selectors_from_reports", learned},
            {"mx", mx_json(d.mx)}};
}

// ---------------------------------------------------------------------------------------------
// Text

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

void spf_node_text(const spf::TreeNode& node, int depth, std::string& out) {
    auto record = node.records.empty()
                      ? fmt::format("(no SPF record: {})", dns::to_string(node.status))
                      : fmt::format("\"{}\"", printable(node.records.front()));
    if (node.records.size() > 1) record += fmt::format(" (+{} more)", node.records.size() - 1);
    auto voids = node.void_lookups > 0 ? fmt::format(", {} void", node.void_lookups) : "";
    fmt::format_to(std::back_inserter(out), "      {:{}}{}  {}  [cost {}, total {}/10{}]\n", "",
                   depth * 2, printable(node.domain), record, node.own_lookups,
                   node.running_total_after, voids);
    for (const auto& child : node.children) spf_node_text(child, depth + 1, out);
}

void spf_text(const std::optional<spf::Tree>& tree, std::string& out) {
    if (!tree) return;
    fmt::format_to(std::back_inserter(out), "  SPF   {}/10 DNS look-ups, {}/2 void look-ups{}\n",
                   tree->total_lookups, tree->total_void_lookups,
                   tree->limit_exceeded_at.empty()
                       ? ""
                       : fmt::format("; limit passed at {}", printable(tree->limit_exceeded_at)));
    spf_node_text(tree->root, 0, out);
}

std::string destination_text(const audit::Destination& d) {
    if (!d.external) return d.uri;
    if (d.check_failed) return fmt::format("{} (external, check failed)", d.uri);
    return fmt::format("{} (external, {})", d.uri, d.authorised ? "authorised" : "NOT authorised");
}

void dmarc_text(const audit::DomainAudit& d, std::string& out) {
    if (!d.dmarc) {
        if (d.exists) out += "  DMARC none\n";
        return;
    }
    const auto& s = *d.dmarc;
    fmt::format_to(std::back_inserter(out), "  DMARC policy {} from _dmarc.{} ({})\n", s.policy,
                   s.found_at, s.inherited ? "inherited from the " + s.source : "own record");
    fmt::format_to(std::back_inserter(out), "        \"{}\"\n", printable(s.record));
    fmt::format_to(std::back_inserter(out), "        Organizational Domain {} (tree walk), {} (PSL)\n",
                   s.org_domain.empty() ? "?" : s.org_domain,
                   s.org_domain_psl.empty() ? "none" : s.org_domain_psl);
    for (const auto& r : s.rua)
        fmt::format_to(std::back_inserter(out), "        rua {}\n", destination_text(r));
    for (const auto& r : s.ruf)
        fmt::format_to(std::back_inserter(out), "        ruf {}\n", destination_text(r));
}

void dkim_text(const audit::DomainAudit& d, const std::vector<std::string>& from_reports,
               std::string& out) {
    if (!d.exists) return;
    if (!from_reports.empty())
        fmt::format_to(std::back_inserter(out), "  DKIM  selectors seen in reports: {}\n",
                       printable(fmt::format("{}", fmt::join(from_reports, ", "))));
    if (d.dkim.empty()) {
        fmt::format_to(std::back_inserter(out), "  DKIM  no key at {}\n",
                       fmt::join(d.selectors_tried, ", "));
        return;
    }
    for (const auto& k : d.dkim) {
        auto bits = k.key_bits ? fmt::format(" {} bits", *k.key_bits) : "";
        auto flags = std::string(k.revoked ? " revoked" : "") + (k.testing ? " testing" : "");
        auto origin = std::ranges::find(from_reports, k.selector) != from_reports.end()
                          ? " (from reports)"
                          : "";
        fmt::format_to(std::back_inserter(out), "  DKIM  {}: {}{}{}{}\n", printable(k.selector),
                       k.key_type, bits, flags, origin);
    }
}

void mx_text(const audit::DomainAudit& d, std::string& out) {
    if (!d.exists) return;
    std::vector<std::string> hosts;
    for (const auto& m : d.mx)
        hosts.push_back(m.exchange.empty() ? fmt::format("{} . (null MX)", m.preference)
                                           : fmt::format("{} {}", m.preference, m.exchange));
    fmt::format_to(std::back_inserter(out), "  MX    {}\n",
                   hosts.empty() ? std::string("none") : fmt::format("{}", fmt::join(hosts, ", ")));
}

void findings_text(const std::vector<audit::Finding>& findings, std::string& out) {
    for (const auto& f : findings)
        fmt::format_to(std::back_inserter(out), "  {:<7}  {}: {}\n           fix: {}\n",
                       audit::to_string(f.severity), f.code, f.message, f.fix);
}

// ---------------------------------------------------------------------------------------------
// The run

audit::AuditOptions audit_options(const CheckArgs& args, const std::optional<config::Config>& config,
                                  const Environment& env) {
    audit::AuditOptions options;
    options.selectors = args.selectors;
    if (config) options.configured_selectors = config->dkim_selectors;
    if (env.now) options.today = env.now();
    return options;
}

/// The DKIM selectors stored reports show each domain signing with as itself (d= the domain),
/// most messages first. Learning is a bonus, never a reason to fail the audit: no database file
/// (it is not created), a store without the analysis (Errc::unsupported) or explicit
/// --selector values mean nothing is learned; other store errors are reported and skipped.
LearnedSelectors learn_selectors(const CheckArgs& args, const std::vector<std::string>& domains,
                                 const Environment& env) {
    LearnedSelectors learned(domains.size());
    if (!args.selectors.empty() || !env.open_store) return learned;
    const auto path = database_path(args.db);
    std::error_code ec;
    if (path == ":memory:" || !std::filesystem::is_regular_file(path, ec)) return learned;
    auto store = env.open_store(path);
    if (!store) {
        error_line(env, fmt::format("{}; no DKIM selectors learned from reports",
                                    store.error().describe()));
        return learned;
    }
    std::optional<Timestamp> since;
    if (env.now) since = env.now() - learning_window;
    for (std::size_t i = 0; i < domains.size(); ++i) {
        auto domain = dns::normalize_name(trim(domains[i]));
        if (!domain) continue;  // the audit reports the bad name itself
        auto seen = (*store)->selectors_seen(*domain, since);
        if (!seen) {
            if (seen.error().code == Errc::unsupported) return learned;
            error_line(env, fmt::format("{}: {}; no DKIM selectors learned from reports", *domain,
                                        seen.error().describe()));
            continue;
        }
        for (const auto& use : *seen) {
            if (!iequals(use.dkim_domain, *domain) || use.selector.empty()) continue;
            auto selector = ascii_lower(use.selector);
            if (std::ranges::find(learned[i], selector) == learned[i].end())
                learned[i].push_back(std::move(selector));
        }
    }
    return learned;
}

/// audit_all with each domain's learned selectors tried too. Domains that
/// learned the same selectors (most often none) share one run of the pool.
audit::AuditRun audit_with_learned(dns::Resolver& resolver, const std::vector<std::string>& domains,
                                   const LearnedSelectors& learned, const audit::AuditOptions& base,
                                   const audit::Progress& progress) {
    std::map<std::vector<std::string>, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < domains.size(); ++i) groups[learned[i]].push_back(i);

    audit::AuditRun run;
    run.domains.resize(domains.size());
    std::size_t done = 0;
    for (const auto& [selectors, members] : groups) {
        auto options = base;
        options.reported_selectors = selectors;
        std::vector<std::string> names;
        for (auto i : members) names.push_back(domains[i]);
        const auto before = done;
        auto part = audit::audit_all(resolver, names, options, [&](std::size_t n, std::size_t) {
            done = before + n;
            if (progress) progress(done, domains.size());
        });
        for (std::size_t k = 0; k < members.size(); ++k)
            run.domains[members[k]] = std::move(part.domains[k]);
        run.errors += part.errors;
        run.warnings += part.warnings;
    }
    return run;
}

void print_text(std::FILE* out, const audit::AuditRun& run, const LearnedSelectors& learned) {
    static const std::vector<std::string> none;
    for (std::size_t i = 0; i < run.domains.size(); ++i) {
        const auto& from_reports = i < learned.size() ? learned[i] : none;
        std::fputs(check_text(run.domains[i], from_reports).c_str(), out);
    }
    fmt::print(out, "{}: {}, {}\n", plural(run.domains.size(), "domain", "domains"),
               plural(run.errors, "error", "errors"), plural(run.warnings, "warning", "warnings"));
}

}  // namespace

CLI::App* add_check_command(CLI::App& app, CheckArgs& args) {
    auto* cmd = app.add_subcommand(
        "check", "Audit domains live: SPF include tree and look-up counts, DMARC policy and report "
                 "destinations, DKIM keys, MX");
    cmd->add_option("domains", args.domains, "Domains to audit");
    cmd->add_option("--file", args.file,
                    "Read domains from this file, one a line ('#' comments; - for standard input)");
    // One value per --selector, so "--selector s1 example.com" leaves example.com a domain.
    cmd->add_option("--selector", args.selectors,
                    "A DKIM selector to check (repeatable); replaces the configured and common ones")
        ->allow_extra_args(false);
    cmd->add_flag("--json", args.json, "Print JSON");
    add_dns_option(*cmd, args.dns);
    cmd->add_option("--config", args.config, "Configuration file (default $RAMPART_CONFIG or ./rampart.toml)");
    cmd->add_option("--db", args.db,
                    "Database whose reports name DKIM selectors to audit too (default $RAMPART_DB "
                    "or rampart.db; skipped when absent)");
    return cmd;
}

int run_check(const CheckArgs& args, const Environment& env) {
    auto domains = all_domains(args);
    if (!domains) {
        error_line(env, domains.error().reason);
        return exit_usage;
    }
    // The environment's resolver caches (main.cpp), which matters here: many domains share
    // include targets such as _spf.google.com.
    auto opened = open_config_and_dns(args.config, args.dns, env);
    if (!opened) {
        error_line(env, opened.error().describe());
        return exit_usage;
    }
    const auto& config = opened->config;
    auto& resolver = opened->resolver;

    const auto learned = learn_selectors(args, *domains, env);

    const bool show_progress = env.err_is_terminal && domains->size() >= progress_threshold;
    ProgressBar bar(show_progress ? env.err : nullptr, 0, domains->size(), "domains");
    auto run = audit_with_learned(*resolver, *domains, learned, audit_options(args, config, env),
                                  [&bar](std::size_t, std::size_t) { bar.input_done(); });
    if (show_progress) bar.finish();

    if (args.json)
        print_json(env.out, check_json(run, learned));
    else
        print_text(env.out, run, learned);
    return run.errors > 0 ? exit_findings : exit_ok;
}

nlohmann::ordered_json check_json(const audit::AuditRun& run, const LearnedSelectors& learned) {
    auto domains = ordered_json::array();
    for (std::size_t i = 0; i < run.domains.size(); ++i)
        domains.push_back(domain_json(
            run.domains[i], i < learned.size() ? learned[i] : std::vector<std::string>{}));
    return {{"domains", std::move(domains)},
            {"summary",
             {{"domains", run.domains.size()}, {"errors", run.errors}, {"warnings", run.warnings}}}};
}

std::string check_text(const audit::DomainAudit& d, const std::vector<std::string>& from_reports) {
    std::string out = fmt::format("{}: {}, {}, {}\n", printable(d.domain),
                                  plural(d.count(audit::Severity::error), "error", "errors"),
                                  plural(d.count(audit::Severity::warning), "warning", "warnings"),
                                  plural(d.count(audit::Severity::info), "note", "notes"));
    spf_text(d.spf, out);
    dmarc_text(d, out);
    dkim_text(d, from_reports, out);
    mx_text(d, out);
    findings_text(d.findings, out);
    out += "\n";
    return out;
}

}  // namespace rampart::cli

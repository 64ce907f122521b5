// `rampart config check`: see config_check.hpp for the contract. The file's own consistency is
// config::check_inventory; this adds what needs the catalogue and live DNS.
#include "cli/config_check.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalogue/catalogue.hpp"
#include "cli/options.hpp"
#include "config/config.hpp"
#include "dns/dns.hpp"

namespace rampart::cli {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_errors = 1;
constexpr int exit_usage = 2;

using config::Problem;

std::string sender_label(const config::ClientConfig& c, const config::SenderConfig& s) {
    return fmt::format("sender '{}' of client '{}'", printable(s.name), printable(c.name));
}

/// The catalogue's view of a provider for check_inventory: the domains it signs and bounces as.
std::vector<std::string> provider_domains(std::string_view spec) {
    const auto* p = catalogue::find(spec.substr(0, spec.find(':')));
    if (p == nullptr) return {};
    auto out = p->domains;
    out.insert(out.end(), p->dkim_domains.begin(), p->dkim_domains.end());
    return out;
}

void check_providers(const config::Config& c, std::vector<Problem>& out) {
    for (const auto& client : c.clients)
        for (const auto& s : client.senders) {
            if (!s.provider) continue;
            auto selected = catalogue::builtin().select(*s.provider);
            if (!selected)
                out.push_back(
                    Problem{.where = s.provider_where,
                            .message = fmt::format("{}: provider: {}", sender_label(client, s),
                                                   selected.error().reason)});
        }
}

/// RFC 7208 §4.5: a record is SPF when it is "v=spf1" alone or followed by a space, in any case.
bool is_spf_record(std::string_view text) {
    constexpr std::string_view tag = "v=spf1";
    return text.size() >= tag.size() && iequals(text.substr(0, tag.size()), tag) &&
           (text.size() == tag.size() || text[tag.size()] == ' ');
}

/// What one include's TXT answer says: nullopt when it holds exactly one SPF record.
/// A secret's file (TSIG key, webhook token, SMTP password, DKIM private key): there, a
/// regular file, and readable by its owner only. Only its mode is looked at, never its content.
void check_secret_file(const std::filesystem::path& path, std::string_view what, const Location& where,
                       std::vector<Problem>& out) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
        out.push_back(Problem{.where = where, .message = fmt::format("{} {} does not exist", what, path.string())});
        return;
    }
    if (!std::filesystem::is_regular_file(status)) {
        out.push_back(Problem{.where = where, .message = fmt::format("{} {} is not a file", what, path.string())});
        return;
    }
    using std::filesystem::perms;
    if ((status.permissions() & (perms::group_all | perms::others_all)) != perms::none)
        out.push_back(Problem{.where = where,
                              .message = fmt::format("{} {} can be read or written by others than its owner; "
                                                     "Rampart refuses it: chmod 600 {}",
                                                     what, path.string(), path.string())});
}

void check_secrets(const config::Config& c, std::vector<Problem>& out) {
    for (const auto& client : c.clients) {
        auto publisher = [&](const std::optional<config::PublisherConfig>& p) {
            if (p && p->tsig_key_file) check_secret_file(*p->tsig_key_file, "the TSIG key file", p->where, out);
        };
        publisher(client.publisher);
        for (const auto& o : client.overrides) publisher(o.publisher);
        if (client.webhook && client.webhook->token_file)
            check_secret_file(*client.webhook->token_file, "the webhook token file", client.where, out);
        if (client.dkim && client.dkim->key_file)
            check_secret_file(*client.dkim->key_file, "the DKIM private key", client.dkim->where, out);
    }
    for (const auto& m : c.mailboxes) {
        if (m.password_file) check_secret_file(*m.password_file, "the mailbox password file", m.where, out);
    }
    if (c.smtp && c.smtp->password_file)
        check_secret_file(*c.smtp->password_file, "the SMTP password file", Location{.source = c.path.string()}, out);
}

std::optional<Problem> include_problem(std::string_view name, const dns::Answer& answer) {
    auto broken = [&](std::string why) {
        return Problem{.message = fmt::format("include {} does not resolve: {}", name, why)};
    };
    switch (answer.status) {
        case dns::Status::nxdomain: return broken("the name does not exist (NXDOMAIN)");
        case dns::Status::nodata: return broken("the name has no TXT record");
        case dns::Status::ok: break;
        case dns::Status::servfail:
        case dns::Status::timeout:
        case dns::Status::error:
            // A resolver's trouble says nothing about the include: a temperror at receivers too.
            return Problem{
                .message = fmt::format(
                    "include {} could not be checked: {}{}", name, dns::to_string(answer.status),
                    answer.detail.empty() ? std::string() : " (" + printable(answer.detail) + ")"),
                .error = false};
    }
    const auto txt = answer.txt();
    const auto spf =
        std::ranges::count_if(txt, [](const dns::Txt& t) { return is_spf_record(t.joined()); });
    if (spf == 0)
        return broken(fmt::format("no v=spf1 record among its {} TXT record{}", txt.size(),
                                  txt.size() == 1 ? "" : "s"));
    if (spf > 1)
        return Problem{.message = fmt::format("include {} has {} v=spf1 records: receivers "
                                              "evaluate that as permerror (RFC 7208 §4.5)",
                                              name, spf)};
    return std::nullopt;
}

/// Every spf_includes name asked once, all in flight together.
Result<void> check_includes(const config::Config& c, const ConfigCheckArgs& args,
                            const Environment& env, std::vector<Problem>& out) {
    std::map<std::string, std::size_t, std::less<>> index;
    std::vector<dns::Resolver::Question> questions;
    for (const auto& client : c.clients)
        for (const auto& s : client.senders)
            for (const auto& name : s.spf_includes)
                if (index.try_emplace(name, questions.size()).second)
                    questions.push_back({.name = name, .type = dns::RrType::txt});
    if (questions.empty()) {
        // Nothing to ask, but a bad --dns is still a usage error, as in every DNS command.
        auto server = dns_server(args.dns, c);
        if (!server) return std::unexpected(std::move(server.error()));
        return {};
    }
    auto resolver = open_dns(args.dns, c, env);
    if (!resolver) return std::unexpected(std::move(resolver.error()));
    const auto answers = (*resolver)->query_all(questions);
    for (const auto& client : c.clients)
        for (const auto& s : client.senders)
            for (const auto& name : s.spf_includes) {
                const auto i = index.at(name);
                if (i >= answers.size()) continue;
                auto p = include_problem(name, answers[i]);
                if (!p) continue;
                p->where = s.where;
                p->message = fmt::format("{}: {}", sender_label(client, s), p->message);
                out.push_back(std::move(*p));
            }
    return {};
}

struct Counts {
    std::size_t clients = 0, senders = 0, errors = 0, warnings = 0;
};

std::string file_of(const Problem& p, const std::string& fallback) {
    return p.where.source.empty() ? fallback : p.where.source;
}

void print_text(std::FILE* out, const std::string& file, const std::vector<Problem>& problems) {
    for (const auto& p : problems)
        fmt::print(out, "{}:{}:{}: {}: {}\n", file_of(p, file), p.where.line, p.where.column,
                   p.error ? "error" : "warning", p.message);
}

void print_report_json(std::FILE* out, const std::string& file, const Counts& counts,
                const std::vector<Problem>& problems) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& p : problems)
        list.push_back({{"file", file_of(p, file)},
                        {"line", p.where.line},
                        {"column", p.where.column},
                        {"severity", p.error ? "error" : "warning"},
                        {"message", p.message}});
    nlohmann::ordered_json doc{{"file", file},
                               {"clients", counts.clients},
                               {"senders", counts.senders},
                               {"problems", std::move(list)}};
    print_json(out, doc);
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

CLI::App* add_config_command(CLI::App& app, ConfigCheckArgs& args) {
    auto* config = app.add_subcommand("config", "Work with rampart.toml");
    config->require_subcommand(1);
    auto* check = config->add_subcommand(
        "check",
        "Check the client and sender inventory: syntax, overlapping ranges, providers "
        "against the catalogue, SPF includes in live DNS");
    check->add_option("--config", args.config,
                      "Configuration file (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*check, args.dns);
    check->add_flag("--json", args.json, "Print JSON");
    return check;
}

int run_config_check(const ConfigCheckArgs& args, const Environment& env) {
    auto loaded = load_config(args.config);
    if (!loaded) {
        const auto& e = loaded.error();
        if (e.where.line == 0) {  // not read at all: no position to show
            error_line(env, e.describe());
            return exit_usage;
        }
        // A syntax or type error: shown like every other problem, so editors can jump to it.
        std::vector<Problem> problem{{.where = e.where, .message = e.reason}};
        if (args.json)
            print_report_json(env.out, e.where.source, Counts{}, problem);
        else
            print_text(env.out, e.where.source, problem);
        return exit_usage;
    }
    if (!*loaded) {
        std::error_code ec;
        auto looked_for = std::filesystem::absolute("rampart.toml", ec);
        error_line(env,
                   fmt::format("no configuration file: looked for {} (give --config FILE or "
                               "set RAMPART_CONFIG)",
                               (ec ? std::filesystem::path("rampart.toml") : looked_for).string()));
        return exit_usage;
    }
    const auto& c = **loaded;
    const auto file = c.path.string();

    auto problems = config::check_inventory(c, provider_domains);
    check_providers(c, problems);
    check_secrets(c, problems);
    if (auto r = check_includes(c, args, env, problems); !r) {
        error_line(env, r.error().describe());
        return exit_usage;
    }
    std::ranges::stable_sort(problems, [](const Problem& a, const Problem& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });

    Counts counts{.clients = c.clients.size()};
    for (const auto& client : c.clients) counts.senders += client.senders.size();
    for (const auto& p : problems) ++(p.error ? counts.errors : counts.warnings);

    if (args.json) {
        print_report_json(env.out, file, counts, problems);
    } else {
        print_text(env.out, file, problems);
        fmt::print(
            env.out, "{}: {}, {}: {}, {}\n", file, plural(counts.clients, "client", "clients"),
            plural(counts.senders, "sender", "senders"), plural(counts.errors, "error", "errors"),
            plural(counts.warnings, "warning", "warnings"));
    }
    return counts.errors > 0 ? exit_errors : exit_ok;
}

}  // namespace rampart::cli

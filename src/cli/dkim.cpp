// The DKIM key rotation commands: see dkim.hpp for the contract.
#include "cli/dkim.hpp"

#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "cli/publishing.hpp"
#include "rotation/rotation.hpp"

namespace rampart::cli {
namespace {

using nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;

void add_store_options(CLI::App& command, DkimArgs& args) {
    command.add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    command.add_option("domain", args.domain, "The domain whose key is rotated")->required();
    command.add_flag("--json", args.json, "Print JSON");
}

void add_world_options(CLI::App& command, DkimArgs& args) {
    command.add_option("--config", args.config,
                       "Configuration file (default $RAMPART_CONFIG or ./rampart.toml)");
    command.add_option("--now", args.now, "Take this as the current time (YYYY-MM-DD or RFC 3339)");
    add_dns_option(command, args.dns);
}

std::string normal_domain(std::string_view text) {
    auto d = ascii_lower(trim(text));
    if (!d.empty() && d.back() == '.') d.pop_back();
    return d;
}

Result<Timestamp> now_of(const DkimArgs& args, const Environment& env) {
    if (args.now.empty()) return env.now();
    auto now = parse_date(args.now);
    if (!now) return fail(Errc::malformed, fmt::format("--now: {}", now.error().reason));
    return *now;
}

ordered_json rotation_json(const store::DkimRotation& r) {
    return {{"id", r.id},
            {"stage", r.stage},
            {"old_selector", r.old_selector},
            {"new_selector", r.new_selector},
            {"started_at", format_timestamp(r.started_at)},
            {"stage_since", format_timestamp(r.stage_since)},
            {"next_at", format_timestamp(r.next_at)},
            {"detail", r.detail},
            {"finished", r.finished}};
}

std::string rotation_text(const store::DkimRotation& r) {
    return fmt::format("{} → {}: {}{} since {}, next not before {}\n  {}\n",
                       r.old_selector.empty() ? "(no key)" : r.old_selector, r.new_selector,
                       r.stage, r.finished && r.stage != "done" ? " (finished)" : "",
                       format_timestamp(r.stage_since), format_timestamp(r.next_at), r.detail);
}

/// What rotate and advance work with, opened from the arguments.
struct Opened {
    config::Config config;
    std::string domain;
    const config::ClientConfig* client = nullptr;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<dns::Resolver> resolver;
    Publishing publishing;
    Timestamp now{};
};

Result<Opened> open_all(const DkimArgs& args, const Environment& env) {
    Opened out;
    out.domain = normal_domain(args.domain);
    auto config = load_config(args.config);
    if (!config) return std::unexpected(std::move(config.error()));
    if (!*config)
        return fail(Errc::malformed,
                    "a rotation needs the configuration that lists the domain and its "
                    "[client.dkim] (--config, $RAMPART_CONFIG or ./rampart.toml)");
    out.config = std::move(**config);
    out.client = out.config.client_of(out.domain);
    if (out.client == nullptr)
        return fail(
            Errc::not_found,
            fmt::format("{} is not a configured domain (no [[client]] lists it)", out.domain));
    if (!out.client->dkim)
        return fail(Errc::not_found,
                    fmt::format("client '{}' has no [client.dkim]: nothing says how {} signs",
                                out.client->name, out.domain));
    auto now = now_of(args, env);
    if (!now) return std::unexpected(std::move(now.error()));
    out.now = *now;
    const auto db = database_path(args.db);
    auto store = env.open_store(db);
    if (!store) return std::unexpected(std::move(store.error()));
    out.store = std::move(*store);
    std::optional<config::Config> as_optional = out.config;
    auto server = dns_server(args.dns, as_optional);
    if (!server) return std::unexpected(std::move(server.error()));
    auto resolver = open_dns(args.dns, as_optional, env);
    if (!resolver) return std::unexpected(std::move(resolver.error()));
    out.resolver = std::move(*resolver);
    const auto outbox =
        (db.has_parent_path() ? db.parent_path() : std::filesystem::path(".")) / "outbox";
    auto publishing =
        open_publishing(out.config, out.domain, *out.store, out.resolver.get(), *server, outbox);
    if (!publishing) return std::unexpected(std::move(publishing.error()));
    out.publishing = std::move(*publishing);
    return out;
}

rotation::Ports ports_of(Opened& o, std::string actor, bool dry_run) {
    rotation::Ports ports{.desk = o.publishing.desk.get()};
    ports.apply = o.publishing.apply_options(std::move(actor), dry_run);
    return ports;
}

void print_report(const DkimArgs& args, const Environment& env, const std::string& domain,
                  const rotation::Report& report) {
    const auto& r = report.rotation;
    const auto name = fmt::format("{}._domainkey.{}", r.new_selector, domain);
    if (args.json) {
        ordered_json moves = ordered_json::array();
        for (const auto& m : report.moves) moves.push_back(m);
        print_json(env.out, ordered_json{{"domain", domain},
                                         {"dry_run", report.dry_run},
                                         {"name", name},
                                         {"record", r.new_record},
                                         {"rotation", rotation_json(r)},
                                         {"moves", std::move(moves)}});
        return;
    }
    std::string out = fmt::format("{}: {}", domain, rotation_text(r));
    for (const auto& m : report.moves) out += fmt::format("  - {}\n", m);
    out += fmt::format("New key record ({} TXT):\n  {}\n", name, r.new_record);
    out += fmt::format("Private key: {} (mode 0600; never printed)\n", r.key_file);
    if (report.dry_run) out += "(dry run: no key was kept, nothing was stored or published)\n";
    std::fputs(out.c_str(), env.out);
}

int run_rotate(const DkimArgs& args, const Environment& env) {
    auto o = open_all(args, env);
    if (!o) {
        error_line(env, o.error().describe());
        return exit_usage;
    }
    const rotation::Domain target{
        .domain = o->domain, .client = o->client->name, .config = *o->client->dkim};
    rotation::StartOptions options{.dry_run = args.dry_run};
    if (!args.selector_prefix.empty()) options.selector_prefix = args.selector_prefix;
    auto ports = ports_of(*o, "rampart dkim rotate", args.dry_run);
    auto started = rotation::start(target, ports, o->now, options);
    if (!started) {
        error_line(env, started.error().describe());
        return started.error().code == Errc::malformed ? exit_usage : exit_refused;
    }
    rotation::Report report = std::move(*started);
    if (!args.dry_run) {
        auto advanced = rotation::advance(target, ports, o->now);
        if (!advanced) {
            error_line(env, fmt::format("the rotation started but could not go on: {}",
                                        advanced.error().describe()));
        } else {
            report.moves.insert(report.moves.end(), advanced->moves.begin(), advanced->moves.end());
            report.rotation = std::move(advanced->rotation);
        }
    }
    print_report(args, env, o->domain, report);
    return exit_ok;
}

int run_advance(const DkimArgs& args, const Environment& env) {
    auto o = open_all(args, env);
    if (!o) {
        error_line(env, o.error().describe());
        return exit_usage;
    }
    const rotation::Domain target{
        .domain = o->domain, .client = o->client->name, .config = *o->client->dkim};
    auto advanced = rotation::advance(target, ports_of(*o, "rampart dkim advance", false), o->now);
    if (!advanced) {
        error_line(env, advanced.error().describe());
        return advanced.error().code == Errc::not_found ? exit_refused : exit_usage;
    }
    print_report(args, env, o->domain, *advanced);
    return exit_ok;
}

int run_abandon(const DkimArgs& args, const Environment& env) {
    if (trim(args.reason).empty()) {
        error_line(env, "abandon needs --reason: the operator's one sentence on why");
        return exit_usage;
    }
    auto now = now_of(args, env);
    if (!now) {
        error_line(env, now.error().describe());
        return exit_usage;
    }
    auto store = env.open_store(database_path(args.db));
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    const auto domain = normal_domain(args.domain);
    auto r = rotation::abandon(**store, domain, trim(args.reason), *now);
    if (!r) {
        error_line(env, r.error().describe());
        return r.error().code == Errc::not_found ? exit_refused : exit_usage;
    }
    if (args.json) {
        print_json(env.out, ordered_json{{"domain", domain}, {"rotation", rotation_json(*r)}});
    } else {
        std::fputs(fmt::format("{}: {}", domain, rotation_text(*r)).c_str(), env.out);
    }
    return exit_ok;
}

int run_status(const DkimArgs& args, const Environment& env) {
    auto store = env.open_store(database_path(args.db));
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    const auto domain = normal_domain(args.domain);
    auto rows = (*store)->rotations(domain);
    if (!rows) {
        error_line(env, rows.error().describe());
        return exit_usage;
    }
    if (args.json) {
        ordered_json list = ordered_json::array();
        for (const auto& r : *rows) list.push_back(rotation_json(r));
        print_json(env.out, ordered_json{{"domain", domain}, {"rotations", std::move(list)}});
        return exit_ok;
    }
    std::string out;
    for (const auto& r : *rows) out += rotation_text(r);
    if (rows->empty())
        out = fmt::format(
            "{} has no DKIM key rotation yet: start one with `rampart dkim rotate {}`\n", domain,
            domain);
    std::fputs(out.c_str(), env.out);
    return exit_ok;
}

}  // namespace

DkimCommands add_dkim_commands(CLI::App& app, DkimArgs& args) {
    DkimCommands c;
    c.dkim = app.add_subcommand("dkim", "DKIM key rotation: rotate, advance, abandon, status");
    c.dkim->require_subcommand(1);

    c.rotate =
        c.dkim->add_subcommand("rotate", "Start a key rotation and run it as far as it can go now");
    add_store_options(*c.rotate, args);
    add_world_options(*c.rotate, args);
    c.rotate->add_option(
        "--selector-prefix", args.selector_prefix,
        "New selector: this prefix + YYYYMM (default: [client.dkim] selector_prefix)");
    c.rotate->add_flag("--dry-run", args.dry_run,
                       "Say what would happen; store, write and publish nothing");

    c.advance =
        c.dkim->add_subcommand("advance", "Move the unfinished rotation on as far as time allows");
    add_store_options(*c.advance, args);
    add_world_options(*c.advance, args);

    c.abandon = c.dkim->add_subcommand(
        "abandon", "Mark the unfinished rotation finished, changing nothing else");
    add_store_options(*c.abandon, args);
    c.abandon->add_option("--reason", args.reason, "Why (kept with the rotation)")->required();
    c.abandon->add_option("--now", args.now,
                          "Take this as the current time (YYYY-MM-DD or RFC 3339)");

    c.status = c.dkim->add_subcommand("status", "Where each key rotation of a domain stands");
    add_store_options(*c.status, args);
    return c;
}

int run_dkim(const DkimCommands& commands, const DkimArgs& args, const Environment& env) {
    if (commands.dkim == nullptr || !*commands.dkim) return -1;
    if (*commands.rotate) return run_rotate(args, env);
    if (*commands.advance) return run_advance(args, env);
    if (*commands.abandon) return run_abandon(args, env);
    if (*commands.status) return run_status(args, env);
    return exit_usage;
}

}  // namespace rampart::cli

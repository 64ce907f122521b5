#include "cli/cli.hpp"

#include <cstdlib>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/check.hpp"
#include "cli/config_check.hpp"
#include "cli/dkim.hpp"
#include "cli/export.hpp"
#include "cli/fetch.hpp"
#include "cli/options.hpp"
#include "cli/render.hpp"
#include "cli/rollout.hpp"
#include "cli/senders.hpp"
#include "cli/setup.hpp"
#include "cli/spf.hpp"
#include "cli/verify.hpp"
#include "mail/mail.hpp"
#include "service/service.hpp"

namespace rampart::cli {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;

struct IngestArgs {
    std::string db;
    bool json = false;
    std::vector<std::string> paths;
    std::uint64_t max_expanded = IngestLimits{}.max_expanded;
};

int run_ingest(const IngestArgs& args, const Environment& env) {
    auto store = env.open_store(database_path(args.db));
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    IngestLimits limits;
    limits.max_expanded = args.max_expanded;
    service::Ingester ingester(**store, limits, env.now());
    auto expanded = mail::expand_inputs(args.paths);
    for (const auto& e : expanded.errors) ingester.reject(e);

    std::uint64_t total_bytes = 0;
    for (const auto& in : expanded.inputs) total_bytes += in.size;
    bool show_progress = env.err_is_terminal && !args.json;
    ProgressBar bar(show_progress ? env.err : nullptr, total_bytes, expanded.inputs.size());

    for (const auto& in : expanded.inputs) {
        auto file = mail::FileSource::open(in.path);
        if (!file) {
            ingester.reject(file.error());
            bar.input_done();
            continue;
        }
        if (show_progress) file->on_read([&bar](std::size_t n) { bar.advance_bytes(n); });
        auto name = in.path == "-" ? std::string("-") : in.path.string();
        auto r = ingester.ingest(*file, Location{.source = name});
        bar.input_done();
        if (!r) {
            if (show_progress) bar.finish();
            error_line(env, r.error().describe());
            return exit_usage;
        }
    }
    if (show_progress) bar.finish();
    if (auto r = ingester.finish(); !r) {
        error_line(env, r.error().describe());
        return exit_usage;
    }

    const auto& outcome = ingester.outcome();
    if (args.json) {
        print_json(env.out, ingest_json(outcome));
    } else {
        for (const auto& r : outcome.rejected)
            fmt::print(env.err, "rampart: refused {}: {}\n", printable(r.path), printable(r.reason));
        fmt::print(env.out, "{}\n", ingest_line(outcome));
    }
    return outcome.rejected.empty() ? exit_ok : exit_rejected;
}

struct SummaryArgs {
    std::string db;
    bool json = false;
    std::string domain, since, until;
    std::size_t top = 5;
};

int run_summary(const SummaryArgs& args, const Environment& env) {
    store::SummaryQuery q;
    q.top_sources = args.top;
    if (!args.domain.empty()) q.domain = ascii_lower(args.domain);
    if (!args.since.empty()) {
        auto t = parse_date(args.since);
        if (!t) {
            error_line(env, fmt::format("--since: {}", t.error().reason));
            return exit_usage;
        }
        q.since = *t;
    }
    if (!args.until.empty()) {
        auto t = parse_date(args.until);
        if (!t) {
            error_line(env, fmt::format("--until: {}", t.error().reason));
            return exit_usage;
        }
        // A bare date includes that whole day.
        q.until = trim(args.until).size() == 10 ? *t + std::chrono::days{1} : *t;
    }
    auto path = database_path(args.db);
    std::error_code ec;
    if (path != ":memory:" && !std::filesystem::exists(path, ec)) {
        error_line(env, fmt::format("no database at {}: run 'rampart ingest' first", path.string()));
        return exit_usage;
    }
    auto store = env.open_store(path);
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    auto domains = (*store)->summarize(q);
    if (!domains) {
        error_line(env, domains.error().describe());
        return exit_usage;
    }
    if (args.json) print_json(env.out, summary_json(*domains));
    else std::fputs(summary_table(*domains).c_str(), env.out);
    return exit_ok;
}

}  // namespace

int run(int argc, char** argv, const Environment& env) {
    CLI::App app{"Rampart: DMARC reports in, a safe path to p=reject out."};
    app.set_version_flag("--version", fmt::format("rampart {}", RAMPART_VERSION));
    app.require_subcommand(1);

    IngestArgs ingest;
    auto* ingest_cmd = app.add_subcommand(
        "ingest", "Store DMARC aggregate and failure reports from files, directories, mbox files, "
                  "Maildir folders or standard input (-)");
    ingest_cmd->add_option("--db", ingest.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    ingest_cmd->add_flag("--json", ingest.json, "Print one JSON object instead of a summary line");
    ingest_cmd->add_option("--max-expanded", ingest.max_expanded,
                           "Refuse a report that decompresses to more than this many bytes")
        ->capture_default_str();
    ingest_cmd->add_option("paths", ingest.paths, "Inputs")->required();

    SummaryArgs summary;
    auto* summary_cmd = app.add_subcommand("summary", "Per-domain totals of the stored reports");
    summary_cmd->add_option("--db", summary.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    summary_cmd->add_option("--domain", summary.domain, "Only this policy domain");
    summary_cmd->add_option("--since", summary.since, "Reports whose period begins on or after (YYYY-MM-DD)");
    summary_cmd->add_option("--until", summary.until, "Reports whose period begins on or before (YYYY-MM-DD)");
    summary_cmd->add_option("--top", summary.top, "How many top sources to list per domain")
        ->capture_default_str();
    summary_cmd->add_flag("--json", summary.json, "Print JSON");

    FetchArgs fetch;
    auto* fetch_cmd = add_fetch_command(app, fetch);

    CheckArgs check;
    auto* check_cmd = add_check_command(app, check);

    SetupArgs setup;
    auto* setup_cmd = add_setup_command(app, setup);

    SpfArgs spf;
    auto* spf_cmd = add_spf_command(app, spf);

    VerifyArgs verify;
    auto* verify_cmd = add_verify_command(app, verify);

    SendersArgs senders;
    auto* senders_cmd = add_senders_command(app, senders);

    SourcesArgs sources;
    auto* sources_cmd = add_sources_command(app, sources);

    ConfigCheckArgs config_check;
    auto* config_check_cmd = add_config_command(app, config_check);

    ExportArgs export_args;
    auto* export_cmd = add_export_command(app, export_args);

    DigestArgs digest;
    auto* digest_cmd = add_digest_command(app, digest);

    RolloutArgs rollout_args;
    const RolloutCommands rollout_cmds = add_rollout_commands(app, rollout_args);

    DkimArgs dkim_args;
    const DkimCommands dkim_cmds = add_dkim_commands(app, dkim_args);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 writes to streams; our output goes to the environment's FILEs.
        std::ostringstream out, err;
        int code = app.exit(e, out, err);
        std::fputs(out.str().c_str(), env.out);
        std::fputs(err.str().c_str(), env.err);
        return code == 0 ? exit_ok : exit_usage;
    }
    if (*ingest_cmd) return run_ingest(ingest, env);
    if (*summary_cmd) return run_summary(summary, env);
    if (*fetch_cmd) return run_fetch(fetch, env);
    if (*check_cmd) return run_check(check, env);
    if (*setup_cmd) return run_setup(setup, env);
    if (*spf_cmd) return run_spf(spf, env);
    if (*verify_cmd) return run_verify(verify, env);
    if (*senders_cmd) return run_senders(senders, env);
    if (*sources_cmd) return run_sources(sources, env);
    if (*config_check_cmd) return run_config_check(config_check, env);
    if (*export_cmd) return run_export(export_args, env);
    if (*digest_cmd) return run_digest(digest, env);
    if (int code = run_rollout(rollout_cmds, rollout_args, env); code >= 0) return code;
    if (int code = run_dkim(dkim_cmds, dkim_args, env); code >= 0) return code;
    return exit_usage;
}

}  // namespace rampart::cli

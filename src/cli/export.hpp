// `rampart export` and `rampart digest`: stored data handed to other tools and to clients.
//
// Contract (scripts rely on it):
//   rampart export --format parsedmarc-json|parsedmarc-csv [--domain D] [--since DATE]
//                  [--until DATE] [--db FILE] [--output FILE]
//     Every stored aggregate report (of policy domain D) whose period begins on or after
//     --since and on or before --until (both days included, as `rampart summary`), oldest first,
//     written as parsedmarc writes aggregate.json (a JSON list of report objects) or
//     aggregate.csv (a header, then one row per record); see parsedmarc/parsedmarc.hpp.
//     reverse_dns/base_domain come from the identity cache (`rampart senders` fills it), country
//     is null. To standard output, or to FILE (written to a temporary file, then renamed).
//     exit 0 written, 2 usage or database error.
//   rampart digest CLIENT [--since DATE|Nd] [--until DATE] [--html FILE] [--db FILE]
//                  [--config FILE] [--dns HOST[:PORT]] [--offline] [--json]
//     The client's digest (digest/digest.hpp) over whole UTC days: up to --until, whose day is
//     NOT included (default: today, so the period ends with yesterday), from --since DATE
//     (included) or N days before the end (default 7d). Text to standard output (JSON with
//     --json); with --html the page is written to FILE (a temporary file, then renamed).
//     --json: {"client", "contact": [...], "since", "until" (the first day not included),
//              "domains": [{"domain", "messages", "dmarc_pass", "previous_messages",
//                           "previous_pass", "days": [{"day", "messages", "dmarc_pass"}],
//                           "new_senders": [...], "open_actions": [{"sender", "class",
//                           "messages", "dmarc_pass", "action", "decision", "due"}],
//                           "notes": [...]}]}   days YYYY-MM-DD; decision and due null when
//                           none is recorded.
//     exit 0 written, 2 usage, configuration or database error (an unknown CLIENT is a usage
//     error whose message lists the configured clients).
// Trust: report text reaching the terminal goes through printable(); the HTML escapes it.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct ExportArgs {
    std::string format, domain, since, until, db, output;
};

struct DigestArgs {
    std::string client, since = "7d", until, html, db, config, dns;
    bool offline = false, json = false;
};

/// Declares `export` and its options on `app`, bound to `args`.
CLI::App* add_export_command(CLI::App& app, ExportArgs& args);
/// Runs it; returns the exit status described above.
int run_export(const ExportArgs& args, const Environment& env);

/// Declares `digest` and its options on `app`, bound to `args`.
CLI::App* add_digest_command(CLI::App& app, DigestArgs& args);
/// Runs it; returns the exit status described above.
int run_digest(const DigestArgs& args, const Environment& env);

}  // namespace rampart::cli

// `rampart senders` and `rampart sources`: who sends as a domain, why their mail fails and what
// to do; and everything known about one source address.
//
// Contract (scripts rely on it):
//   rampart senders DOMAIN [--since DATE|Nd] [--until DATE] [--db FILE] [--config FILE]
//                   [--dns HOST[:PORT]] [--offline] [--json|--csv]
//     The window: --since YYYY-MM-DD (that day included) or Nd (N days before now; default 30d)
//     up to --until YYYY-MM-DD, whose day is NOT included (default: today included). Report
//     data is by UTC day.
//     exit 0 every sender passing, 1 some sender needs action (any class but "passing"),
//     2 usage or database error (bad arguments, no database, a database without sender data).
//     --json: {"domain", "since", "until", "messages", "dmarc_pass",
//              "senders": [{"name", "known", "provider", "sources", "messages", "dmarc_pass",
//                           "spf_aligned", "dkim_aligned", "class", "explanation", "action",
//                           "decision", "due", "retired", "first_seen"}],
//              "notes": [...]}
//       since: the first day included, until: the first day not included (both YYYY-MM-DD);
//       sources: IP or CIDR strings; dmarc_pass, spf_aligned, dkim_aligned: messages;
//       decision, due, first_seen: null when unknown.
//     --csv: a header line, then one row per sender: name,known,provider,class,messages,
//       dmarc_pass,spf_aligned,dkim_aligned,sources (space-separated),explanation,action.
//   rampart sources IP [--db FILE] [--config FILE] [--dns HOST[:PORT]] [--offline] [--json]
//     Over all stored data. exit 0 the address is in some report, 1 no report mentions it,
//     2 usage or database error.
//     --json: {"ip", "identity": {"ptr", "forward_confirmed", "provider", "provider_name",
//              "basis", "dns_failed", "resolved_at", "expires_at"}, "messages", "dmarc_pass",
//              "domains": [{"domain", "header_from", "messages", "dmarc_pass", "spf_aligned",
//                           "dkim_aligned", "spf": {"<result>": messages}, "dkim": {...},
//                           "first_day", "last_day"}], "notes": [...]}
//       resolved_at/expires_at RFC 3339 (null when never looked up); days YYYY-MM-DD.
// --offline asks no DNS: identities come from the database's cache, expired or not.
// Trust: names, PTRs and explanations come from reports and strangers' DNS; the table and CSV
// pass them through printable().
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct SendersArgs {
    std::string domain, since = "30d", until, db, config, dns;
    bool offline = false, json = false, csv = false;
};

struct SourcesArgs {
    std::string ip, db, config, dns;
    bool offline = false, json = false;
};

/// Declares `senders` and its options on `app`, bound to `args`.
CLI::App* add_senders_command(CLI::App& app, SendersArgs& args);
/// Runs it; returns the exit status described above.
int run_senders(const SendersArgs& args, const Environment& env);

/// Declares `sources` and its options on `app`, bound to `args`.
CLI::App* add_sources_command(CLI::App& app, SourcesArgs& args);
/// Runs it; returns the exit status described above.
int run_sources(const SourcesArgs& args, const Environment& env);

}  // namespace rampart::cli

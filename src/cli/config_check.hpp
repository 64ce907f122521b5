// `rampart config check`: is rampart.toml's client and sender inventory sound before anything
// relies on it?
//
// Contract (scripts rely on it):
//   rampart config check [--config FILE] [--dns HOST[:PORT]] [--json]
//   Prints every problem as `FILE:LINE:COL: error|warning: message`, in file order, then a
//   summary line. Checks, besides the file's syntax and types (config::parse):
//     - the inventory itself (config::check_inventory): overlapping sender ranges, senders
//       nothing can recognise, foreign d=/MAIL FROM domains, due dates without a decision;
//     - each provider against the built-in catalogue: an unknown id or region is an error at the
//       provider value;
//     - each spf_includes name in live DNS: NXDOMAIN, no TXT or no v=spf1 record (and more than
//       one) is an error; a timeout or SERVFAIL is a warning that it could not be checked.
//   exit 0 no errors (warnings allowed), 1 errors, 2 the file is missing, unreadable or does not
//   parse (its position printed like any problem), or --dns is bad.
//   --json: {"file", "clients", "senders",
//            "problems": [{"file", "line", "column", "severity", "message"}]}
//   (clients and senders are counts; severity is "error" or "warning").
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct ConfigCheckArgs {
    std::string config, dns;
    bool json = false;
};

/// Declares `config` and its `check` subcommand on `app`; returns `check`.
CLI::App* add_config_command(CLI::App& app, ConfigCheckArgs& args);

/// Runs `config check`; returns the exit status above.
int run_config_check(const ConfigCheckArgs& args, const Environment& env);

}  // namespace rampart::cli

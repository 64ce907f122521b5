// `rampart spf DOMAIN --ip IP [--helo H] [--sender ADDR] [--json] [--dns HOST[:PORT]]
//  [--config FILE]`: evaluates SPF for one client the way a receiver would (RFC 7208
// check_host) and shows why: the result line with its reason, then every term tried with the
// DNS look-ups it cost and the running total.
// JSON: {"domain","ip","sender","helo","result","reason","explanation" (null when none),
//        "lookups","void_lookups","trace":[{"depth","domain","term","lookups","total_lookups",
//        "matched","outcome"}]}.
// Exit: 0 pass, 1 any other result, 2 unusable input (bad IP, bad domain, bad --dns, config).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct SpfArgs {
    std::string domain, ip, helo, sender, dns, config;
    bool json = false;
};

/// Declares the subcommand and its options on `app`, bound to `args`.
CLI::App* add_spf_command(CLI::App& app, SpfArgs& args);

/// Runs it; returns the exit status.
int run_spf(const SpfArgs& args, const Environment& env);

}  // namespace rampart::cli

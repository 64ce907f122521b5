// `rampart fetch`: reports from IMAP mailboxes (see cli.hpp for the contract).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct FetchArgs {
    std::vector<std::string> urls;
    std::string db;
    bool json = false;
    std::string password_file, ca_file, archive, invalid, config;
    bool insecure = false, no_move = false, watch = false;
    unsigned poll_interval = 60;  // seconds
    std::uint64_t max_message = IngestLimits{}.max_message;
};

/// Declares the subcommand and its options on `app`, bound to `args`.
CLI::App* add_fetch_command(CLI::App& app, FetchArgs& args);

/// Runs it; returns the exit status (0, 1 something refused or filed as invalid, 2 usage,
/// configuration, connection or database errors).
int run_fetch(const FetchArgs& args, const Environment& env);

}  // namespace rampart::cli

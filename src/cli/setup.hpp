// `rampart setup`: the DNS records a new sender domain needs (see cli.hpp for the contract).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct SetupArgs {
    std::string domain;
    std::vector<std::string> ips, includes, providers, rua, ruf;
    bool mx = false, a = false;
    std::string selector;
    std::string key_type = "rsa";
    unsigned key_bits = 2048;
    std::string key_dir = "keys";
    std::string bounce_cname, click_cname;
    std::string all = "softfail";
    bool dry_run = false, list_providers = false, json = false;
    std::string dns, config;
};

/// Declares the subcommand and its options on `app`, bound to `args`.
CLI::App* add_setup_command(CLI::App& app, SetupArgs& args);

/// Runs it; returns the exit status: 0 planned (and the key written), 1 refused (SPF limits,
/// an include without SPF, the key file or selector already in use), 2 usage or environment.
int run_setup(const SetupArgs& args, const Environment& env);

}  // namespace rampart::cli

// `rampart verify [MESSAGE|-] [--ip IP --helo H --mail-from ADDR] [--authserv-id ID]
//  [--dns HOST[:PORT]] [--config FILE] [--json]`: evaluates one message as a receiving server
// would (receiver::check_message): SPF for the SMTP client, every DKIM signature, the ARC chain,
// DMARC with alignment and the policy that would apply, each with its reason in plain words,
// then the Authentication-Results header value.
// SPF needs --ip. The MAIL FROM is --mail-from ("<>" or "" for the null reverse-path, which is
// also what an absent --mail-from means: SPF then checks postmaster@HELO, so --helo is needed).
// JSON: {"spf": {"result","domain","identity","sender","reason"},
//        "dkim": [{"domain","selector","algorithm","result","code","reason"}],
//        "arc": {"result","instances","oldest_pass","first_hop_results","reason"},
//        "dmarc": {"result","from_domain","spf_aligned","dkim_aligned","policy","disposition",
//                  "policy_tag","policy_domain","test_mode","adkim","aspf","reason"},
//        "authentication_results"}  — result names as RFC 8601 writes them; policy and
//        policy_tag null when DMARC does not apply.
// Exit: 0 when DMARC passes; 1 when it does not (fail, and also none, temperror and
// permerror: nothing vouches for the message); 2 for unusable input (a file that cannot be read,
// input that is not a message, a bad --ip, --now or --dns, an unreadable config).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct VerifyArgs {
    std::string message = "-";
    std::string ip, helo, mail_from, authserv_id, dns, config, now;
    bool json = false;
};

/// Declares the subcommand and its options on `app`, bound to `args`.
CLI::App* add_verify_command(CLI::App& app, VerifyArgs& args);

/// Runs it; returns the exit status.
int run_verify(const VerifyArgs& args, const Environment& env);

}  // namespace rampart::cli

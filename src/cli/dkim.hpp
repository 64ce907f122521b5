// The DKIM key rotation commands (rotation/rotation.hpp): start one, and see where each stands.
//
// Contract (scripts rely on it):
//   rampart dkim rotate DOMAIN [--selector-prefix P] [--dry-run] [--db FILE] [--config FILE]
//                      [--dns HOST[:PORT]] [--now DATE] [--json]
//     starts a rotation of DOMAIN's key ([client.dkim] of its client) and runs it as far as it
//     can go now (usually: the new key published, waiting out the old TTL); `rampart advance`
//     or `rampart dkim advance` moves it on later.
//     exit 0 started (or, with --dry-run, planned), 1 refused (an unfinished rotation exists,
//     or the key could not be made), 2 usage, configuration or database error.
//     --json: {"domain", "dry_run", "name", "record", "rotation": {...as in status...},
//              "moves": ["one sentence per stage tried"]}
//   rampart dkim advance DOMAIN [--db] [--config] [--dns] [--now] [--json]
//     moves the unfinished rotation on; exit 0, 1 none unfinished, 2 usage/database error.
//   rampart dkim abandon DOMAIN --reason TEXT [--db] [--now]
//     marks the unfinished rotation finished (nothing in DNS or the signer changes).
//   rampart dkim status DOMAIN [--db FILE] [--json]
//     exit 0, 2 usage or database error.
//     --json: {"domain": D, "rotations": [{"id", "stage", "old_selector", "new_selector",
//              "started_at", "stage_since", "next_at", "detail", "finished"}]}
//       times RFC 3339 UTC; stage: publishing, waiting, switching, grace, revoked, done.
// The private key is never printed: only the path of its 0600 file.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct DkimArgs {
    std::string db, config, dns, now;
    std::string domain;
    std::string selector_prefix;
    std::string reason;
    bool json = false, dry_run = false;
};

struct DkimCommands {
    CLI::App* dkim = nullptr;
    CLI::App* rotate = nullptr;
    CLI::App* advance = nullptr;
    CLI::App* abandon = nullptr;
    CLI::App* status = nullptr;
};

/// Declares `dkim` and its subcommands on `app`, bound to `args`.
DkimCommands add_dkim_commands(CLI::App& app, DkimArgs& args);
/// Runs whichever was chosen; -1 when none was.
int run_dkim(const DkimCommands& commands, const DkimArgs& args, const Environment& env);

}  // namespace rampart::cli

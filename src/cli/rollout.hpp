// The rollout commands: where each domain stands, the daily tick, manual control, the schedule
// to a target and the forecast of a step.
//
// Contract (scripts rely on it):
//   rampart status [DOMAIN] [--json]
//     exit 0, 2 usage/configuration/database error (an unlisted DOMAIN is a usage error).
//     --json: {"domains": [{"domain", "client", "plan", "step", "record", "since", "state",
//              "reason", "next_step", "earliest_next", "pending", "held"}]}
//       record: the exact TXT value that should be live; since: RFC 3339 when the step's record
//       was seen live, null while it waits to be published; state: monitoring, advancing,
//       holding, rolled_back or done; next_step, earliest_next (YYYY-MM-DD): null at the end or
//       while pending.
//   rampart advance [--domain D] [--dry-run] [--offline] [--outbox DIR] [--json]
//     exit 0 ran (every domain waiting, advancing or done), 1 some domain is holding or was
//     rolled back (it needs a look), 2 usage/configuration/database error.
//     --json: {"dry_run", "domains": [{"domain", "client", "action", "step", "next_step",
//              "reason", "old_record", "new_record", "published", "went_live", "gates":
//              [{"gate", "passed", "detail"}], "notes"}]}
//       action: advance, hold, roll_back, wait, done; published: null or {"status", "detail",
//       "files"}; status: live, queued, conflict, refused, rolled_back, failed.
//     Then DKIM key rotations ([client.dkim], not with --dry-run or --offline): due ones start,
//     unfinished ones move on: "rotations": [{"domain", "started", "stage", "new_selector",
//     "moves", "error"}] (exit 1 when one has an error).
//   rampart hold DOMAIN --reason TEXT | rampart resume DOMAIN | rampart set DOMAIN STEP --reason TEXT
//     exit 0 done (the new status is printed), 2 usage error (unknown domain or step, no reason).
//   rampart plan DOMAIN [--json]
//     exit 0 on track (or no target), 1 the target can no longer be met, 2 usage error.
//     --json: {"domain", "plan", "step", "target", "feasible", "explanation",
//              "steps": [{"step", "record", "min_days", "typical_days", "earliest", "planned",
//                         "milestone", "current"}]}
//   rampart forecast DOMAIN [--to STEP] [--since DATE|Nd] [--json]
//     exit 0 no legitimate mail would be blocked, 1 some would, 2 usage/database error.
//     --json: {"domain", "step", "record", "since", "until", "messages",
//              "legitimate": {"quarantined", "rejected"}, "unauthorised": {...},
//              "senders": [{"name", "class", "legitimate", "messages", "failing",
//                           "quarantined", "rejected"}]}
//       quarantined/rejected: expected messages (pct makes them expectations), one decimal.
//   rampart publish DOMAIN --record TEXT --reason TEXT [--dry-run] [--dns HOST[:PORT]] [--json]
//     A one-off change of _dmarc.DOMAIN through the domain's publisher, the same path as a
//     rollout step (lint, compare-and-swap against what every authoritative server serves,
//     verification, rollback). The rollout's own next change then finds the zone changed and
//     holds the domain until `rampart set` or `resume`.
//     exit 0 live, queued (manual publisher) or dry run; 1 conflict, refused, rolled back or
//     failed; 2 usage/configuration error.
//     --json: {"domain", "name", "status", "change_id", "old_record", "new_record", "detail",
//              "files", "servers": [{"ns", "address", "status", "aa", "records", "ttl",
//              "serves"}]}
//       status: live, queued, conflict, refused, rolled_back, failed, dry_run.
//   rampart history DOMAIN [--json]
//     The audit log: every DNS change for the domain with each stage (intent, sent, verified,
//     conflict, refused, failed, rolled_back, queued, resolved), and the rollout's history.
//     exit 0, 2 usage/database error.
//     --json: {"domain", "changes": [{"change_id", "name", "actor", "publisher", "old_record",
//              "new_record", "reason", "result", "at", "stages": [{"at", "stage", "detail",
//              "evidence"}]}], "rollout": [{"at", "actor", "action", "from_step", "to_step",
//              "old_record", "new_record", "reason"}]}
//       result: the last stage of the change.
// Every command takes --db FILE, --config FILE and --now DATE (YYYY-MM-DD or RFC 3339: "today"
// for reproducible runs); the DNS ones take --dns HOST[:PORT].
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"

namespace rampart::cli {

struct RolloutArgs {
    std::string db, config, dns, now, outbox;
    std::string domain;  // positional (status: optional) or --domain (advance)
    std::string step;    // set STEP, forecast --to
    std::string reason;
    std::string since = "30d";
    std::string record;  // publish --record
    bool json = false, dry_run = false, offline = false;
};

struct RolloutCommands {
    CLI::App* status = nullptr;
    CLI::App* advance = nullptr;
    CLI::App* hold = nullptr;
    CLI::App* resume = nullptr;
    CLI::App* set = nullptr;
    CLI::App* plan = nullptr;
    CLI::App* forecast = nullptr;
    CLI::App* publish = nullptr;
    CLI::App* history = nullptr;
};

/// Declares the nine commands on `app`, bound to `args` (only one runs per invocation).
RolloutCommands add_rollout_commands(CLI::App& app, RolloutArgs& args);
/// Runs whichever of them was chosen; -1 when none was.
int run_rollout(const RolloutCommands& commands, const RolloutArgs& args, const Environment& env);

}  // namespace rampart::cli

// cli: the `rampart` command tree and its renderers (aligned tables, JSON, a progress bar).
//
// Contract (later tooling and tests rely on it):
//   rampart --version
//   rampart ingest [--db FILE] [--json] PATH...    exit 0 all stored, 1 some input refused,
//                                                   2 usage or database error
//   rampart summary [--db FILE] [--domain D] [--since DATE] [--until DATE] [--json]
//   rampart fetch [URL...] [--db FILE] [--json] [--password-file F] [--ca-file F] [--insecure]
//                 [--archive NAME] [--invalid NAME] [--no-move] [--watch] [--poll-interval S]
//                 [--config FILE]               exit as ingest; the JSON is ingest's plus
//                                               messages_seen, messages_moved (and more)
//   rampart spf DOMAIN --ip IP [--helo H] [--sender ADDR] [--json]
//                                               exit 0 pass, 1 any other result, 2 bad input
//   rampart check DOMAIN... [--file F] [--selector S]... [--json] [--db FILE]
//                                               exit 0 no error finding, 1 some, 2 usage
//   rampart setup DOMAIN [--ip NET]... [--include N]... [--mx] [--a] [--provider ID]...
//                 [--rua URI]... [--ruf URI]... [--selector S] [--key-type rsa|ed25519]
//                 [--key-dir DIR] [--dry-run] [--json]
//                                               exit 0 planned, 1 refused, 2 usage
//   rampart config check [--config FILE] [--dns HOST[:PORT]] [--json]
//                                               exit 0 no errors, 1 errors, 2 file missing or
//                                               unparsable (cli/config_check.hpp)
//   rampart senders DOMAIN [--since DATE|Nd] [--until DATE] [--db FILE] [--offline]
//                   [--json|--csv]              exit 0 every sender passing, 1 some sender
//                                               needs action, 2 usage or database error
//   rampart sources IP [--db FILE] [--offline] [--json]
//                                               exit 0 reported, 1 in no report, 2 usage
//                                               (both: cli/senders.hpp)
//   rampart export --format parsedmarc-json|parsedmarc-csv [--domain D] [--since DATE]
//                  [--until DATE] [--db FILE] [--output FILE]
//                                               exit 0 written, 2 usage or database error
//   rampart digest CLIENT [--since DATE|Nd] [--until DATE] [--html FILE] [--db FILE]
//                  [--config FILE] [--dns HOST[:PORT]] [--offline] [--json]
//                                               exit 0 written, 2 usage, unknown client,
//                                               config or database error
//                                               (both: cli/export.hpp)
//   rampart verify [MESSAGE|-] [--ip IP --helo H --mail-from ADDR] [--authserv-id ID] [--json]
//                                               exit 0 DMARC passes, 1 it does not (fail, none,
//                                               temperror, permerror), 2 unusable input
//                                               (cli/verify.hpp)
//   rampart status [DOMAIN] | advance [--domain D] [--dry-run] [--offline] [--outbox DIR]
//   rampart hold D --reason T | resume D | set D STEP --reason T | plan D | forecast D [--to S]
//                                               the rollout (cli/rollout.hpp); all take --now
//   (spf, check, setup and verify also take --dns HOST[:PORT] and --config FILE; cli/<command>.hpp
//   has each one's JSON shape)
// The database is --db, else $RAMPART_DB, else rampart.db in the working directory.
// DNS goes to --dns, else $RAMPART_DNS, else `dns` in rampart.toml, else the system resolvers.
// Trust: report text reaching the terminal goes through rampart::printable().
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "core/core.hpp"
#include "dns/dns.hpp"
#include "mail/imap/imap.hpp"
#include "store/store.hpp"

namespace rampart::cli {

/// The real world, as the composition root provides it.
struct Environment {
    std::function<Result<std::unique_ptr<store::Store>>(const std::filesystem::path&)> open_store;
    std::function<Timestamp()> now;
    /// Opens a logged-in IMAP session (rampart fetch).
    std::function<Result<std::unique_ptr<mail::imap::Session>>(const mail::imap::ConnectOptions&,
                                                               const mail::imap::Secret&)>
        connect_imap;
    /// Opens the resolver the DNS commands use: every query to `server` when one is given
    /// (--dns, RAMPART_DNS, the config's `dns`), else the system's resolvers.
    std::function<Result<std::unique_ptr<dns::Resolver>>(const std::optional<dns::Server>& server)>
        open_resolver;
    std::FILE* out = stdout;
    std::FILE* err = stderr;
    bool err_is_terminal = false;
};

/// Runs one command line; returns the process exit status.
int run(int argc, char** argv, const Environment& env);

}  // namespace rampart::cli

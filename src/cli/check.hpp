// `rampart check`: the live audit of mail domains.
//
// Contract (scripts rely on it):
//   rampart check DOMAIN... [--file FILE] [--selector S]... [--json] [--dns HOST[:PORT]]
//                 [--config FILE] [--db FILE]
//   Selectors: --selector alone when given; else the configuration's, the common ones, and those
//   the stored reports (--db, else $RAMPART_DB, else rampart.db; skipped when the file does not
//   exist, never created) show signing as the domain itself in the last 90 days.
//   exit 0 no error-level finding, 1 at least one, 2 usage (no domains, unreadable --file, bad
//   --dns or configuration).
//   --json: {"domains": [{"domain", "findings": [{"severity", "code", "message", "fix"}],
//            "spf": {"record", "lookups", "void_lookups", "tree": {"domain", "record", "lookups",
//                    "total", "void_lookups", "children": [...]}},
//            "dmarc": {"record", "found_at", "policy", "sp", "np", "org_domain", "org_domain_psl",
//                      "rua": [{"uri", ...}], "ruf": [...]},
//            "dkim": [{"selector", "key_type", "key_bits", "revoked", "testing"}],
//            "selectors_from_reports": ["s1", ...],
//            "mx": [{"preference", "exchange"}]}],
//           "summary": {"domains", "errors", "warnings"}}
//   with more members than these where useful; "spf" and "dmarc" are null when not looked at.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "audit/audit.hpp"
#include "cli/cli.hpp"

namespace rampart::cli {

struct CheckArgs {
    std::vector<std::string> domains;
    std::string file;  // one domain a line, '#' comments, "-" for standard input
    std::vector<std::string> selectors;
    bool json = false;
    std::string dns, config;
    std::string db;  // reports to learn selectors from
};

/// Per domain (in the order audited), the DKIM selectors learned from stored reports.
using LearnedSelectors = std::vector<std::vector<std::string>>;

/// Declares the subcommand and its options on `app`, bound to `args`.
CLI::App* add_check_command(CLI::App& app, CheckArgs& args);

/// Runs it; returns 0 when no domain has an error-level finding, 1 when one has, 2 for usage
/// errors (no domains, an unreadable --file, a bad --dns or configuration).
int run_check(const CheckArgs& args, const Environment& env);

/// {"domains": [...], "summary": {...}}: the --json document, keys in a reading order.
/// `learned` is empty or has one entry per domain of the run.
[[nodiscard]] nlohmann::ordered_json check_json(const audit::AuditRun& run,
                                                const LearnedSelectors& learned = {});
/// One domain for a human: header, SPF tree, DMARC, DKIM (keys at selectors learned from reports
/// marked so), MX, then the findings with their fix.
[[nodiscard]] std::string check_text(const audit::DomainAudit& domain,
                                     const std::vector<std::string>& from_reports = {});

}  // namespace rampart::cli

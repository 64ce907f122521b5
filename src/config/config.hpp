// config: rampart.toml, the operator's configuration file.
//
// Shape (TOML v1.0.0, https://toml.io/en/v1.0.0). Mailboxes, then the client and sender
// inventory; later sections (rollout plans) join the same file, each a member of Config:
//
//   [[mailbox]]                         # one per mailbox `rampart fetch` reads
//   url = "imaps://dmarc@mail.example.net/INBOX"   # required; no password in it
//   password_file = "secrets/dmarc.pass"           # mode 0600; relative to this file's folder
//   ca_file = "/etc/ssl/private-ca.pem"            # a CA trusted in addition to the system's
//   insecure = false                               # true turns certificate verification off
//   archive = "Archive"                            # where messages with a report go
//   invalid = "Invalid"                            # where the rest goes
//   client = "acme"                                # optional name
//
//   [[client]]                          # one per client (an MSP has many; an organisation one)
//   name = "acme"                       # required, unique
//   contact = ["it@acme.example"]       # who gets the digest
//   domains = ["acme.example", "news.acme.example"]   # sender domains; each in one client only
//
//   [[client.sender]]                   # the client's declared senders (its inventory)
//   name = "Office mail"                # required, unique within the client
//   provider = "microsoft-365"          # optional: a catalogue id ("zoho:eu" names a region)
//   ips = ["192.0.2.0/24", "2001:db8:1::/48"]        # CIDR or bare addresses, host bits zero
//   spf_includes = ["spf.protection.outlook.com"]
//   dkim_domains = ["acme.example"]     # the d= domains it signs with
//   return_path_domains = ["acme.example"]           # its MAIL FROM domains
//   status = "active"                   # or "retired"
//   decision = "moving to custom DKIM"  # optional: the documented plan for a failing sender
//   due = 2027-01-31                    # optional: a TOML date
//
//   plan = "ramp"                       # [[client]] keys for the rollout (all optional):
//   target = "reject@2027-03-01"        #   the plan, a target, and the report destinations
//   rua = ["mailto:dmarc@msp.example"]  #   written into every record Rampart publishes
//   ruf = []
//   [[client.override]]                 # one domain of the client on another plan or target
//   domain = "news.acme.example"
//   plan = "gradual"
//   target = "reject@2027-06-01"
//
//   [defaults]                          # for clients that do not say
//   plan = "gradual"                    # a shipped plan (gradual, ramp, dated) or a [[plan]]
//   target = "reject@2027-03-01"
//   rua = ["mailto:dmarc@msp.example"]
//   ruf = []
//
//   [[plan]]                            # a custom plan
//   name = "wave-a"
//   base = "dated"                      # gradual / ramp / dated: what it adapts
//   generation = "both"                 # how partial steps are written: both, rfc7489, rfc9989
//   ahead_of_calendar = false           # dated: may a clean domain move before a step's date
//   milestones = ["quarantine-50"]      # step names; default: the shipped milestones
//   [plan.gates]                        # overrides of the default gates
//   max_failing_share = 0.05            # unknown_sender_volume, require_no_dkim_broken,
//                                       # min_reports, min_reporters, rollback_failure_rise,
//                                       # rollback_min_volume
//   [[plan.step]]                       # the steps; none listed = the base plan's steps
//   name = "q10"                        # optional: derived from the shape ("quarantine-10")
//   date = 2027-01-11                   # dated plans (every step but the first)
//   p = "quarantine"                    # required; sp, np, adkim, aspf optional
//   sp = "quarantine"
//   pct = 10                            # or t = "y": the policy, in testing
//   min_days = 7                        # optional, default 7 (typical_days 14)
//
//   [notify.smtp]                       # notices (milestones, holds, rollbacks) to each
//   url = "smtp://mail.msp.example:587" # client's contact addresses; STARTTLS required
//   from = "Rampart <rampart@msp.example>"
//   username = "rampart"                # with password_file (mode 0600), never the password
//   password_file = "secrets/smtp.pass"
//   ca_file = "/etc/ssl/private-ca.pem" # optional; insecure = true turns checks off
//   webhook = "https://hooks.acme.example/dmarc"   # [[client]] keys: a JSON POST per notice,
//   webhook_token_file = "secrets/acme.token"       #   with an optional bearer token (0600)
//   reviewed_sources = ["unknown: 198.51.100.0/24"] # [[client]]: unknown sources looked at and
//                                                   #   accepted: they no longer hold a rollout
//
//   dns = "192.0.2.53:53"               # optional: send every DNS query there (like --dns)
//   [dkim]
//   selectors = ["s202611", "google"]   # selectors `rampart check` audits besides its defaults
//
// Trust: the file is the operator's; it is parsed by toml++ and checked strictly: an unknown key
// or a value of the wrong type is an error, so a typo never silently means "default". Secrets are
// never in this file, only the paths of files holding them.
// Errors: Errc::malformed with the file, line and column (Location::line/column) of the offending
// key or value; Errc::io when the file cannot be read; Errc::limit_exceeded over 1 MiB.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "notify/notify.hpp"
#include "rollout/rollout.hpp"

namespace rampart::config {

struct MailboxConfig {
    std::string url;
    std::optional<std::filesystem::path> password_file;
    std::optional<std::filesystem::path> ca_file;
    bool insecure = false;
    std::optional<std::string> archive;
    std::optional<std::string> invalid;
    std::optional<std::string> client;
    Location where;  // the [[mailbox]] table, for errors found later (a bad URL, say)
};

enum class SenderStatus : std::uint8_t { active, retired };
[[nodiscard]] std::string_view to_string(SenderStatus status) noexcept;  // "active", "retired"

struct SenderConfig {
    std::string name;
    std::optional<std::string> provider;  // a catalogue id, checked by `rampart config check`
    std::vector<Network> ips;
    std::vector<std::string> spf_includes;         // lower-cased names
    std::vector<std::string> dkim_domains;         // lower-cased
    std::vector<std::string> return_path_domains;  // lower-cased
    SenderStatus status = SenderStatus::active;
    std::optional<std::string> decision;
    std::optional<std::chrono::year_month_day> due;
    Location where;           // the [[client.sender]] table
    Location ips_where;       // the ips array (for overlap errors found later)
    Location provider_where;  // the provider value (for catalogue errors found later)
};

/// [client.publisher] (or [[client.override]] publisher): how the client's DNS changes reach
/// its zones.
struct PublisherConfig {
    std::string kind = "manual";                 // "manual" | "rfc2136"
    std::optional<std::string> server;           // HOST[:PORT] of the primary; default: SOA MNAME
    std::optional<std::string> zone;             // default: found from the SOA
    std::optional<std::filesystem::path> tsig_key_file;  // BIND key-file format, mode 0600
    std::optional<std::filesystem::path> outbox;         // manual: where changes are written
    std::chrono::seconds verify_deadline{300};   // how long the authoritative servers get
    Location where;
};

/// [client.dkim]: the client's DKIM signing key and its rotation.
struct DkimRotationConfig {
    std::string selector;                         // the selector signing now (before any rotation)
    std::optional<std::filesystem::path> key_file;  // its private key (mode 0600)
    std::string selector_prefix = "s";            // new selectors: prefix + YYYYMM (+ a letter)
    std::filesystem::path key_dir;                // where new private keys are written
    std::string algorithm = "rsa";                // "rsa" | "ed25519"
    unsigned bits = 2048;
    std::optional<int> rotate_every_days;         // schedule: start a rotation this often
    int grace_days = 7;                           // old key stays published after the switch
    int revoked_days = 7;                         // old key published revoked (p=) before removal
    std::string signer = "opendkim";              // "opendkim" | "command"
    std::optional<std::filesystem::path> key_table, signing_table;  // OpenDKIM refile tables
    std::vector<std::string> command;             // argv run to switch (signer = "command") or
                                                  // after writing the tables (reload)
    Location where;
};

/// One domain of a client on its own plan or target ([[client.override]]).
struct DomainOverride {
    std::string domain;
    std::optional<std::string> plan;
    std::optional<rollout::Target> target;
    std::optional<PublisherConfig> publisher;
    Location where;
};

struct ClientConfig {
    std::string name;
    std::vector<std::string> contact;
    std::vector<std::string> domains;  // lower-cased, without a trailing dot
    std::vector<SenderConfig> senders;
    std::optional<std::string> plan;          // a plan name; checked against plans at parse time
    std::optional<rollout::Target> target;
    std::optional<std::vector<std::string>> rua, ruf;  // absent: [defaults]
    std::vector<DomainOverride> overrides;
    std::optional<notify::WebhookSettings> webhook;  // notices as JSON POSTs
    /// Unknown sources the operator looked at and accepts (they no longer hold the rollout):
    /// sender names as `rampart senders` prints them ("unknown: 198.51.100.0/24") or addresses.
    std::vector<std::string> reviewed_sources;
    std::optional<PublisherConfig> publisher;  // [client.publisher]; absent: manual
    std::optional<DkimRotationConfig> dkim;     // [client.dkim]
    Location where;  // the [[client]] table
};

/// [defaults]: what a client that does not say gets.
struct Defaults {
    std::string plan = "gradual";
    std::optional<rollout::Target> target;
    std::vector<std::string> rua, ruf;
};

/// Everything the rollout needs to know about one configured domain, resolved: its override,
/// else its client, else [defaults].
struct DomainRollout {
    std::string domain;
    const ClientConfig* client = nullptr;
    rollout::Plan plan;
    std::optional<rollout::Target> target;
    rollout::Destinations destinations;
};

struct Config {
    std::filesystem::path path;  // the file it was read from (empty when parsed from text)
    std::vector<MailboxConfig> mailboxes;
    std::optional<std::string> dns;           // HOST[:PORT], checked by dns::parse_server
    Location dns_where;
    std::vector<std::string> dkim_selectors;  // [dkim] selectors
    std::vector<ClientConfig> clients;
    Defaults defaults;
    std::vector<rollout::Plan> plans;  // custom plans, validated
    std::optional<notify::SmtpSettings> smtp;  // [notify.smtp]

    /// The client that lists `domain`, or null.
    [[nodiscard]] const ClientConfig* client_of(std::string_view domain) const noexcept;
    /// The client called `name`, or null.
    [[nodiscard]] const ClientConfig* client(std::string_view name) const noexcept;
    /// A custom plan by name, else a shipped one; nullopt when neither exists.
    [[nodiscard]] std::optional<rollout::Plan> plan(std::string_view name) const;
    /// The plan, target and destinations of a configured domain; Errc::not_found when no client
    /// lists it. Plan names were checked at parse time, so a listed domain always resolves.
    [[nodiscard]] Result<DomainRollout> rollout_for(std::string_view domain) const;
    /// The publisher of a configured domain: its override's, else its client's, else manual
    /// (a default PublisherConfig). Errc::not_found when no client lists the domain.
    [[nodiscard]] Result<PublisherConfig> publisher_for(std::string_view domain) const;
    /// Every configured domain, client by client, in file order.
    [[nodiscard]] std::vector<std::string> domains() const;
};

/// Something wrong or doubtful in a well-formed configuration, found by check_inventory().
struct Problem {
    Location where;
    std::string message;
    bool error = true;  // false: a warning
};

/// The domains a provider signs or bounces as (its catalogue `domains` and `dkim_domains`),
/// given its id; empty when the id is unknown. The catalogue sits above this module, so the
/// caller supplies it.
using ProviderDomains = std::function<std::vector<std::string>(std::string_view provider)>;

/// The inventory's consistency, without DNS or the catalogue: overlapping ranges between senders
/// (an error; a warning when one of the two is retired), a sender nothing can recognise, d= or
/// MAIL FROM domains that are not the client's or its provider's, a due date without a decision,
/// and mailboxes naming an undeclared client (warnings). Overlaps first, then each sender in
/// file order; callers that print them sort by position.
[[nodiscard]] std::vector<Problem> check_inventory(const Config& config,
                                                   const ProviderDomains& provider_domains = {});

/// Parses configuration text. `source` names it in errors; relative paths in it resolve against
/// `base_dir`.
[[nodiscard]] Result<Config> parse(std::string_view text, std::string_view source,
                                   const std::filesystem::path& base_dir);

/// Reads and parses the file at `path` (at most 1 MiB).
[[nodiscard]] Result<Config> load(const std::filesystem::path& path);

}  // namespace rampart::config

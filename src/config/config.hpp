// config: rampart.toml, the operator's configuration file.
//
// Shape (TOML v1.0.0, https://toml.io/en/v1.0.0). Today one section; later ones (clients,
// senders, rollout plans) join the same file as sections of their own, each a member of Config:
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

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

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

struct Config {
    std::filesystem::path path;  // the file it was read from (empty when parsed from text)
    std::vector<MailboxConfig> mailboxes;
    std::optional<std::string> dns;           // HOST[:PORT], checked by dns::parse_server
    Location dns_where;
    std::vector<std::string> dkim_selectors;  // [dkim] selectors
};

/// Parses configuration text. `source` names it in errors; relative paths in it resolve against
/// `base_dir`.
[[nodiscard]] Result<Config> parse(std::string_view text, std::string_view source,
                                   const std::filesystem::path& base_dir);

/// Reads and parses the file at `path` (at most 1 MiB).
[[nodiscard]] Result<Config> load(const std::filesystem::path& path);

}  // namespace rampart::config

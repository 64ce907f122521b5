// What several commands share: the configuration file, the DNS server, the error line.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "config/config.hpp"
#include "dns/dns.hpp"

namespace rampart::cli {

/// The configuration file: `flag` (--config), else $RAMPART_CONFIG, else ./rampart.toml when
/// present, else none.
[[nodiscard]] Result<std::optional<config::Config>> load_config(const std::string& flag);

/// Declares --dns HOST[:PORT] on `command`, bound to `flag`.
void add_dns_option(CLI::App& command, std::string& flag);

/// The server DNS queries go to: `flag` (--dns), else $RAMPART_DNS, else the config's `dns`,
/// else none (the system's resolvers). Errors name where the bad value came from.
[[nodiscard]] Result<std::optional<dns::Server>> dns_server(
    const std::string& flag, const std::optional<config::Config>& config);

/// The resolver for a DNS command: dns_server() opened through env.open_resolver.
[[nodiscard]] Result<std::unique_ptr<dns::Resolver>> open_dns(
    const std::string& flag, const std::optional<config::Config>& config, const Environment& env);

/// What a DNS command opens first: the configuration (load_config) and the resolver
/// (open_dns, which may take `dns` from it). The error is ready to print with describe().
struct ConfigAndDns {
    std::optional<config::Config> config;
    std::unique_ptr<dns::Resolver> resolver;
};
[[nodiscard]] Result<ConfigAndDns> open_config_and_dns(const std::string& config_flag,
                                                       const std::string& dns_flag, const Environment& env);

/// The report database: `flag` (--db), else $RAMPART_DB, else rampart.db in the working
/// directory. Every command that reads or writes reports uses this one rule.
[[nodiscard]] std::filesystem::path database_path(const std::string& flag);

/// The report database for a command that only reads it: Errc::not_found ("run 'rampart ingest'
/// first") when the file does not exist, because opening it would create an empty one.
[[nodiscard]] Result<std::unique_ptr<store::Store>> open_existing_store(const std::string& flag,
                                                                        const Environment& env);

/// A JSON document, indented, on one FILE. Report text comes from strangers and may not be
/// UTF-8: bad bytes are replaced rather than failing the whole output.
void print_json(std::FILE* out, const nlohmann::json& doc);
void print_json(std::FILE* out, const nlohmann::ordered_json& doc);

/// The first day of a window: "YYYY-MM-DD", or "Nd" for N days before `anchor`'s day; the
/// day's start either way. `example` ("30d") is named in the error.
[[nodiscard]] Result<Timestamp> parse_start_day(std::string_view text, Timestamp anchor,
                                                std::string_view example);

/// "rampart: <message>" on standard error: how every command reports a problem.
void error_line(const Environment& env, std::string_view message);

}  // namespace rampart::cli

// How a command reaches a domain's zone: the publisher its configuration names (manual or
// rfc2136 with its TSIG key), the checker that asks every authoritative server, and the desk
// (publish/apply.hpp) that puts them together with the audit log.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "dns/dns.hpp"
#include "publish/apply.hpp"
#include "store/store.hpp"

namespace rampart::cli {

struct Publishing {
    std::unique_ptr<publish::Publisher> publisher;
    std::unique_ptr<publish::AuthorityChecker> checker;  // null without DNS (offline)
    std::unique_ptr<publish::Desk> desk;
    std::chrono::seconds verify_deadline{300};
    /// ApplyOptions with this domain's deadline (and a poll interval to match).
    [[nodiscard]] publish::ApplyOptions apply_options(std::string actor, bool dry_run = false) const;
};

/// Opens, for one configured domain, its publisher ([client.publisher] or its override's;
/// manual by default, writing to `default_outbox` unless the config names one), the authority
/// checker (through `resolver`; authoritative addresses asked on `dns_server`'s port, 53
/// without one), and the desk. Errors: Errc::not_found for a domain no client lists; the TSIG
/// key file's errors (Errc::denied for a key file others can read), ready to print.
[[nodiscard]] Result<Publishing> open_publishing(const config::Config& config, std::string_view domain,
                                                 store::Store& store, dns::Resolver* resolver,
                                                 const std::optional<dns::Server>& dns_server,
                                                 const std::filesystem::path& default_outbox);

/// open_publishing for many domains, each opened once, on first use. A domain whose
/// publishing cannot be opened gets null (and `error(domain)` says why).
class Desks {
public:
    Desks(const config::Config& config, store::Store& store, dns::Resolver* resolver,
          std::optional<dns::Server> dns_server, std::filesystem::path default_outbox)
        : config_(config), store_(store), resolver_(resolver), dns_server_(std::move(dns_server)),
          default_outbox_(std::move(default_outbox)) {}
    [[nodiscard]] publish::Desk* desk(std::string_view domain);
    [[nodiscard]] const Publishing* publishing(std::string_view domain);
    [[nodiscard]] std::string error(std::string_view domain) const;

private:
    const config::Config& config_;
    store::Store& store_;
    dns::Resolver* resolver_;
    std::optional<dns::Server> dns_server_;
    std::filesystem::path default_outbox_;
    std::map<std::string, Publishing, std::less<>> open_;
    std::map<std::string, std::string, std::less<>> errors_;
};

}  // namespace rampart::cli

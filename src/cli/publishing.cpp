// See publishing.hpp.
#include "cli/publishing.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dns/update.hpp"
#include "publish/rfc2136.hpp"

namespace rampart::cli {

publish::ApplyOptions Publishing::apply_options(std::string actor, bool dry_run) const {
    publish::ApplyOptions options;
    options.actor = std::move(actor);
    options.dry_run = dry_run;
    options.deadline = verify_deadline;
    options.interval = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(2),
                                                                     std::max<std::chrono::steady_clock::duration>(
                                                                         std::chrono::milliseconds(200), verify_deadline / 10));
    return options;
}

Result<Publishing> open_publishing(const config::Config& config, std::string_view domain, store::Store& store,
                                   dns::Resolver* resolver, const std::optional<dns::Server>& dns_server,
                                   const std::filesystem::path& default_outbox) {
    auto settings = config.publisher_for(domain);
    if (!settings) return std::unexpected(settings.error());
    Publishing out;
    out.verify_deadline = settings->verify_deadline;
    const std::uint16_t port = dns_server ? dns_server->port : 53;
    if (settings->kind == "rfc2136") {
        auto key = dns::read_tsig_key_file(*settings->tsig_key_file);
        if (!key)
            return fail(key.error().code, fmt::format("the TSIG key of {}: {}", domain, key.error().reason),
                        settings->where);
        publish::Rfc2136Settings s{.server = std::nullopt,
                                   .zone = settings->zone,
                                   .key = std::move(*key),
                                   .resolver = resolver,
                                   .port = port};
        if (settings->server) {
            auto server = dns::parse_server(*settings->server);
            if (!server) return std::unexpected(server.error());
            s.server = *server;
        }
        out.publisher = std::make_unique<publish::Rfc2136Publisher>(std::move(s));
    } else {
        out.publisher = std::make_unique<publish::ManualPublisher>(settings->outbox.value_or(default_outbox));
    }
    if (resolver != nullptr) {
        out.checker = std::make_unique<publish::NetworkAuthorityChecker>(
            publish::AuthorityOptions{.resolver = resolver, .port = port, .only_server = std::nullopt});
    }
    const auto options = out.apply_options("");
    out.desk = std::make_unique<publish::Desk>(
        publish::Desk{*out.publisher, out.checker.get(), store, options.deadline, options.interval});
    return out;
}

const Publishing* Desks::publishing(std::string_view domain) {
    if (auto it = open_.find(domain); it != open_.end()) return &it->second;
    if (errors_.contains(domain)) return nullptr;
    auto opened = open_publishing(config_, domain, store_, resolver_, dns_server_, default_outbox_);
    if (!opened) {
        errors_.emplace(std::string(domain), opened.error().describe());
        return nullptr;
    }
    return &open_.emplace(std::string(domain), std::move(*opened)).first->second;
}

publish::Desk* Desks::desk(std::string_view domain) {
    const auto* p = publishing(domain);
    return p == nullptr ? nullptr : p->desk.get();
}

std::string Desks::error(std::string_view domain) const {
    const auto it = errors_.find(domain);
    return it == errors_.end() ? std::string() : it->second;
}

}  // namespace rampart::cli

// publish/rfc2136: see rfc2136.hpp.
#include "publish/rfc2136.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "publish/authority.hpp"

namespace rampart::publish {

Result<Outcome> Rfc2136Publisher::publish(const Change& change) {
    std::string zone = settings_.zone.value_or("");
    std::string primary;
    if (zone.empty() || !settings_.server) {
        if (settings_.resolver == nullptr)
            return fail(Errc::malformed, "the rfc2136 publisher needs a zone and a server, or DNS to find them");
        auto apex = find_zone(*settings_.resolver, zone.empty() ? change.name : zone);
        if (!apex) return std::unexpected(apex.error());
        if (zone.empty()) zone = apex->zone;
        primary = apex->primary;
    }
    if (!dns::is_subdomain(change.name, zone))
        return fail(Errc::malformed, fmt::format("{} is not in the zone {}", change.name, zone));

    dns::Server server;
    if (settings_.server) {
        server = *settings_.server;
    } else {
        const auto a = settings_.resolver->query(primary, dns::RrType::a);
        auto addresses = a.addresses();
        if (addresses.empty()) addresses = settings_.resolver->query(primary, dns::RrType::aaaa).addresses();
        if (addresses.empty())
            return fail(Errc::not_found, fmt::format("the primary of {} ({}, from its SOA) has no address; set "
                                                     "server in [client.publisher]",
                                                     zone, primary));
        server = dns::Server{.address = addresses.front(), .port = settings_.port};
    }

    dns::TxtUpdate update{.zone = zone, .name = change.name, .ttl = change.ttl};
    if (!change.old_record.empty()) update.expected.push_back(change.old_record);
    if (!change.new_record.empty()) update.replacement.push_back(change.new_record);

    nlohmann::ordered_json evidence{{"server", server.to_string()},
                                    {"zone", zone},
                                    {"key", settings_.key.name()},
                                    {"algorithm", dns::to_string(settings_.key.algorithm())}};
    Outcome out;
    auto reply = dns::send_update(update, settings_.key, dns::UpdateOptions{.server = server, .timeout = settings_.timeout});
    if (!reply) {
        evidence["error"] = reply.error().reason;
        // A refused connection means nothing was sent; anything later may have been applied.
        out.status = reply.error().code == Errc::io ? Outcome::Status::failed : Outcome::Status::uncertain;
        out.detail = fmt::format("update to {} for {}: {}", server.to_string(), change.name, reply.error().reason);
    } else {
        evidence["rcode"] = dns::rcode_name(reply->rcode);
        if (reply->tsig_error != 0) evidence["tsig_error"] = dns::rcode_name(reply->tsig_error);
        evidence["reply_signed"] = reply->signed_reply_verified;
        if (reply->applied()) {
            out.status = Outcome::Status::published;
            out.detail = fmt::format("{} applied the update of {} (zone {})", server.to_string(), change.name, zone);
        } else if (reply->conflict()) {
            out.status = Outcome::Status::conflict;
            out.detail = fmt::format("{} refused the update of {}: the zone does not hold the record Rampart "
                                     "believed live ({}); someone changed it",
                                     server.to_string(), change.name, reply->detail);
        } else {
            out.status = Outcome::Status::failed;
            out.detail = fmt::format("{} refused the update of {}: {}", server.to_string(), change.name, reply->detail);
        }
    }
    out.evidence = evidence.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return out;
}

}  // namespace rampart::publish

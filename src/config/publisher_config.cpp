// [client.publisher] and the publisher of a [[client.override]]: how DNS changes reach a zone.
// The TSIG key file is only named here; it is read (and its mode checked) when a change is
// made, so `rampart config check` never holds the secret.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/reader.hpp"
#include "dns/dns.hpp"

namespace rampart::config {
namespace detail {

Result<PublisherConfig> publisher(const TomlReader& r, const toml::node& node, std::string_view where) {
    const auto* table = node.as_table();
    if (table == nullptr)
        return r.error(node.source(), fmt::format("publisher must be a table: write it as [{}.publisher]", where));
    PublisherConfig p;
    p.where = r.at(node.source());
    for (const auto& [key, value] : *table) {
        const auto k = key.str();
        if (k == "kind") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            if (*v != "manual" && *v != "rfc2136")
                return r.error(value.source(), fmt::format("publisher kind must be \"manual\" or \"rfc2136\", not \"{}\"",
                                                           printable(*v)));
            p.kind = std::move(*v);
        } else if (k == "server") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            if (auto s = dns::parse_server(*v); !s)
                return r.error(value.source(), fmt::format("server: {}", s.error().reason));
            p.server = std::move(*v);
        } else if (k == "zone") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            auto name = host_name(*v);
            if (!name) return r.error(value.source(), fmt::format("zone: {}", name.error().reason));
            p.zone = std::move(*name);
        } else if (k == "tsig_key_file") {
            auto v = r.path(value, k);
            if (!v) return std::unexpected(v.error());
            p.tsig_key_file = std::move(*v);
        } else if (k == "outbox") {
            auto v = r.path(value, k);
            if (!v) return std::unexpected(v.error());
            p.outbox = std::move(*v);
        } else if (k == "verify_seconds") {
            const auto v = value.value<std::int64_t>();
            if (!value.is_integer() || !v || *v < 1 || *v > 86400)
                return r.error(value.source(), "verify_seconds must be a whole number of seconds from 1 to 86400");
            p.verify_deadline = std::chrono::seconds(*v);
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [{}.publisher] (known: kind, server, zone, "
                                       "tsig_key_file, outbox, verify_seconds)",
                                       printable(k), where));
        }
    }
    if (p.kind == "rfc2136" && !p.tsig_key_file)
        return r.error(node.source(), fmt::format("[{}.publisher] kind = \"rfc2136\" needs tsig_key_file (a BIND "
                                                  "key file of mode 0600): Rampart never sends unsigned updates",
                                                  where));
    if (p.kind == "manual" && (p.server || p.zone || p.tsig_key_file))
        return r.error(node.source(), fmt::format("[{}.publisher] kind = \"manual\" takes no server, zone or "
                                                  "tsig_key_file (did you mean kind = \"rfc2136\"?)",
                                                  where));
    return p;
}

}  // namespace detail

Result<PublisherConfig> Config::publisher_for(std::string_view domain) const {
    const ClientConfig* owner = client_of(domain);
    if (owner == nullptr)
        return fail(Errc::not_found, fmt::format("no [[client]] lists the domain {}", printable(domain)));
    for (const auto& o : owner->overrides) {
        if (o.domain == domain && o.publisher) return *o.publisher;
    }
    if (owner->publisher) return *owner->publisher;
    return PublisherConfig{};
}

}  // namespace rampart::config

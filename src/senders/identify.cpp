// senders/identify: a source address -> its forward-confirmed reverse-DNS name and the provider
// it belongs to, cached in the store. See senders.hpp for the contract.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "senders/senders.hpp"
#include "spf/spf.hpp"

namespace rampart::senders {
namespace {

// RFC 7208 §5.5 looks at no more than 10 PTR names; a source publishing more gains nothing here.
constexpr std::size_t max_ptr_names = 10;

/// The block of `prefix` bits around `address`, host bits cleared: SPF allows "ip4:192.0.2.77/24"
/// and means 192.0.2.0/24, while Network requires the host bits to be zero.
std::optional<Network> masked(const IpAddress& address, int prefix) {
    const auto bytes = address.bytes();
    const int max = static_cast<int>(bytes.size()) * 8;
    if (prefix < 0 || prefix > max) return std::nullopt;
    std::array<std::uint8_t, 16> b{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const int first_bit = static_cast<int>(i) * 8;
        const int keep = std::clamp(prefix - first_bit, 0, 8);
        b[i] = static_cast<std::uint8_t>(bytes[i] & static_cast<std::uint8_t>(0xffu << (8 - keep)));
    }
    std::string text;
    if (address.family() == IpAddress::Family::v4) {
        text = fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
    } else {
        for (std::size_t i = 0; i < 16; i += 2) {
            if (i != 0) text += ':';
            text += fmt::format("{:x}", (static_cast<unsigned>(b[i]) << 8) | b[i + 1]);
        }
    }
    auto network = parse_network(fmt::format("{}/{}", text, prefix));
    if (!network) return std::nullopt;
    return *network;
}

bool dns_failed(const dns::Answer& answer) noexcept { return answer.failed(); }

/// The ip4/ip6 networks of every record in the tree. Only "+" (the default) terms count: a "-ip4"
/// or "~ip4" names addresses the owner says do NOT send. a: and mx: terms are left out on
/// purpose: they name a customer's or a provider's individual hosts, change as hosts move, and
/// would cost a look-up each; the providers that matter publish their pools as ip4/ip6.
void collect(const spf::TreeNode& node, std::vector<Network>& out, bool& complete) {
    if (node.status == dns::Status::servfail || node.status == dns::Status::timeout ||
        node.status == dns::Status::error)
        complete = false;
    if (node.parsed) {
        for (const auto& m : node.parsed->mechanisms) {
            if (m.qualifier != spf::Qualifier::pass || !m.network) continue;
            int prefix = -1;
            if (m.kind == spf::MechanismKind::ip4) {
                prefix = m.cidr4;
            } else if (m.kind == spf::MechanismKind::ip6) {
                // An IPv4-mapped ip6 term is held as the IPv4 address it carries.
                prefix = m.network->family() == IpAddress::Family::v4 ? m.cidr6 - 96 : m.cidr6;
            } else {
                continue;
            }
            if (auto n = masked(*m.network, prefix)) out.push_back(*n);
        }
    }
    for (const auto& child : node.children) collect(child, out, complete);
}

/// Every SPF include a provider asks for, over its regions too: mail from any region is the
/// provider's mail.
std::vector<std::string> all_includes(const catalogue::Provider& provider) {
    std::vector<std::string> out = provider.spf.includes;
    for (const auto& region : provider.regions)
        out.insert(out.end(), region.spf.includes.begin(), region.spf.includes.end());
    std::ranges::sort(out);
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

struct Candidate {
    const catalogue::Provider* provider = nullptr;
    std::string_view basis;
    int prefix = -1;        // the most specific range that matched (-1: not a range match)
    std::size_t order = 0;  // position in the catalogue
};

/// Google Workspace and Gmail (like Microsoft 365 and Outlook.com) share servers: the provider
/// whose customers send as their own domain wins over the mailbox provider whose users merely
/// forward. Then the most specific range, then catalogue order, so the answer never depends on
/// look-up order.
const Candidate* best(const std::vector<Candidate>& candidates) {
    const Candidate* out = nullptr;
    for (const auto& c : candidates) {
        if (out == nullptr) {
            out = &c;
            continue;
        }
        auto rank = [](const Candidate& x) {
            return std::tuple(x.provider->forwarder ? 1 : 0, -x.prefix, x.order);
        };
        if (rank(c) < rank(*out)) out = &c;
    }
    return out;
}

}  // namespace

Identifier::Identifier(store::Store& store, dns::Resolver* resolver,
                       const catalogue::Catalogue& catalogue, std::function<Timestamp()> now,
                       IdentifyOptions options)
    : store_(store),
      resolver_(options.offline ? nullptr : resolver),
      catalogue_(catalogue),
      now_(std::move(now)),
      options_(options) {}

Result<std::vector<Network>> Identifier::cached_ranges(const std::string& key,
                                                       const std::vector<std::string>& includes) {
    if (auto it = ranges_.find(key); it != ranges_.end()) return it->second;
    auto cached = store_.provider_networks(key);
    if (!cached) return std::unexpected(std::move(cached.error()));
    const auto now = now_();
    // Offline, an expired set is still the best knowledge there is.
    if (*cached && (resolver_ == nullptr || (*cached)->expires_at > now)) {
        auto networks = (*cached)->networks;
        ranges_.emplace(key, networks);
        return networks;
    }
    if (resolver_ == nullptr) {
        ranges_.emplace(key, std::vector<Network>{});
        return std::vector<Network>{};
    }

    std::vector<Network> networks;
    bool complete = true;
    for (const auto& include : includes) {
        auto name = dns::normalize_name(include);
        if (!name) continue;  // a name that cannot be queried publishes nothing
        collect(spf::inspect(*resolver_, *name).root, networks, complete);
    }
    std::ranges::sort(networks);
    networks.erase(std::unique(networks.begin(), networks.end()), networks.end());

    if (!complete) {
        // A partial set stored as if whole would hide the provider until it expired: keep the
        // stale set when there is one, store nothing, and ask again next run.
        degraded_ = true;
        if (*cached) networks = (*cached)->networks;
    } else {
        auto put = store_.put_provider_networks(store::ProviderNetworks{
            .provider = key,
            .networks = networks,
            .resolved_at = now,
            .expires_at = now + options_.ranges_ttl,
        });
        if (!put) return std::unexpected(std::move(put.error()));
    }
    ranges_.emplace(key, networks);
    return networks;
}

Result<std::vector<Network>> Identifier::include_ranges(std::string_view include_name) {
    auto name = dns::normalize_name(include_name);
    if (!name)
        return fail(Errc::malformed, fmt::format("SPF include \"{}\": {}", printable(include_name),
                                                 name.error().reason));
    return cached_ranges("spf:" + *name, {*name});
}

Result<store::SourceIdentity> Identifier::identify(const IpAddress& ip,
                                                   const std::vector<std::string>& dkim_domains) {
    auto by_dkim = [&](store::SourceIdentity& id) {
        if (!id.provider.empty()) return;
        std::vector<Candidate> candidates;
        std::size_t order = 0;
        for (const auto& p : catalogue_.providers()) {
            if (std::ranges::any_of(dkim_domains,
                                    [&](const std::string& d) { return p.signs_as(d); }))
                candidates.push_back({&p, "dkim", -1, order});
            ++order;
        }
        if (const auto* c = best(candidates)) {
            id.provider = c->provider->id;
            id.basis = c->basis;
        }
    };
    auto by_ranges = [&](store::SourceIdentity& id) -> Result<void> {
        std::vector<Candidate> candidates;
        std::size_t order = 0;
        for (const auto& p : catalogue_.providers()) {
            Candidate c{&p, "", -1, order++};
            // The catalogue's own ranges are written by us: they win over what DNS says.
            for (const auto& n : p.ip_ranges)
                if (n.contains(ip) && n.prefix > c.prefix) {
                    c.basis = "ip-range";
                    c.prefix = n.prefix;
                }
            if (c.basis.empty()) {
                auto includes = all_includes(p);
                if (includes.empty()) continue;
                auto ranges = cached_ranges(p.id, includes);
                if (!ranges) return std::unexpected(std::move(ranges.error()));
                for (const auto& n : *ranges)
                    if (n.contains(ip) && n.prefix > c.prefix) {
                        c.basis = "spf";
                        c.prefix = n.prefix;
                    }
            }
            if (!c.basis.empty()) candidates.push_back(c);
        }
        if (const auto* c = best(candidates)) {
            id.provider = c->provider->id;
            id.basis = c->basis;
        }
        return {};
    };
    auto by_ptr = [&](store::SourceIdentity& id) {
        // An unconfirmed PTR is whatever the address's owner chose to write: never evidence.
        if (!id.provider.empty() || !id.forward_confirmed || !id.ptr) return;
        std::vector<Candidate> candidates;
        std::size_t order = 0;
        for (const auto& p : catalogue_.providers()) {
            if (p.matches_ptr(*id.ptr)) candidates.push_back({&p, "ptr", -1, order});
            ++order;
        }
        if (const auto* c = best(candidates)) {
            id.provider = c->provider->id;
            id.basis = c->basis;
        }
    };

    const auto key = ip.to_string();
    auto cached = store_.identity(key);
    if (!cached) return std::unexpected(std::move(cached.error()));
    const auto now = now_();
    if (*cached && (resolver_ == nullptr || (*cached)->expires_at > now)) {
        auto id = **cached;
        by_dkim(id);  // the d= domains differ per analysis; matching them costs no look-up
        return id;
    }
    if (resolver_ == nullptr) {
        // Offline and never seen: what the cached ranges and the d= domains tell, unstored.
        store::SourceIdentity id{.ip = key};
        if (auto r = by_ranges(id); !r) return std::unexpected(std::move(r.error()));
        by_dkim(id);
        return id;
    }

    store::SourceIdentity id{.ip = key, .resolved_at = now};
    const auto ptr = resolver_->query(dns::reverse_name(ip), dns::RrType::ptr);
    if (dns_failed(ptr)) {
        id.dns_failed = true;
    } else if (ptr.ok()) {
        std::vector<std::string> names;
        for (const auto& n : ptr.names()) {
            auto name = dns::normalize_name(n);
            if (name && names.size() < max_ptr_names) names.push_back(*name);
        }
        const auto type = ip.family() == IpAddress::Family::v4 ? dns::RrType::a : dns::RrType::aaaa;
        for (const auto& name : names) {
            const auto forward = resolver_->query(name, type);
            if (dns_failed(forward)) id.dns_failed = true;
            if (!forward.ok()) continue;
            const auto addresses = forward.addresses();
            if (std::ranges::find(addresses, ip) != addresses.end()) {
                id.ptr = name;
                id.forward_confirmed = true;
                break;
            }
        }
        if (!id.ptr && !names.empty()) id.ptr = names.front();
    }

    if (id.dns_failed) {
        degraded_ = true;
        if (*cached) {
            // What was learnt before beats nothing; the short expiry makes the next run retry.
            auto stale = **cached;
            stale.dns_failed = true;
            stale.expires_at = now + options_.failure_ttl;
            if (auto put = store_.put_identity(stale); !put)
                return std::unexpected(std::move(put.error()));
            by_dkim(stale);
            return stale;
        }
    }

    if (auto r = by_ranges(id); !r) return std::unexpected(std::move(r.error()));
    by_ptr(id);
    by_dkim(id);
    // An address left unidentified while some look-up failed may only look unknown: retry soon.
    const bool retry_soon = id.dns_failed || (id.provider.empty() && degraded_);
    id.expires_at = now + (retry_soon ? options_.failure_ttl : options_.identity_ttl);
    if (auto put = store_.put_identity(id); !put) return std::unexpected(std::move(put.error()));
    return id;
}

}  // namespace rampart::senders

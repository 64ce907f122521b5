#include "dns/zone.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace rampart::dns {
namespace {

std::string must_normalize(std::string_view name) {
    auto normal = normalize_name(name);
    RAMPART_ASSERT(normal.has_value());
    return std::move(*normal);
}

std::string quote_txt(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20 || c >= 0x7f) {
            out += fmt::format("\\{:03d}", c);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back('"');
    return out;
}

std::string rdata_text(const Record& r) {
    return std::visit(
        [&](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, IpAddress>) {
                return v.to_string();
            } else if constexpr (std::is_same_v<T, std::string>) {
                return v + ".";
            } else if constexpr (std::is_same_v<T, Mx>) {
                return fmt::format("{} {}.", v.preference, v.exchange);
            } else if constexpr (std::is_same_v<T, Soa>) {
                return fmt::format("{}. {}. {} {} {} {} {}", v.mname, v.rname, v.serial,
                                   v.refresh, v.retry, v.expire, v.minimum);
            } else {
                std::string out;
                for (const auto& s : v.strings) {
                    if (!out.empty()) out.push_back(' ');
                    out += quote_txt(s);
                }
                return out.empty() ? std::string("\"\"") : out;
            }
        },
        r.data);
}

}  // namespace

Zone& Zone::add(std::string_view name, RrType type, Rdata data, std::uint32_t ttl) {
    auto owner = must_normalize(name);
    by_name_.emplace(owner, records_.size());
    records_.push_back(Record{std::move(owner), type, ttl, std::move(data)});
    return *this;
}

Zone& Zone::add_a(std::string_view name, std::string_view address, std::uint32_t ttl) {
    auto ip = IpAddress::parse(address);
    RAMPART_ASSERT(ip.has_value());
    const auto type = ip->family() == IpAddress::Family::v4 ? RrType::a : RrType::aaaa;
    return add(name, type, *ip, ttl);
}

Zone& Zone::add_txt(std::string_view name, std::vector<std::string> strings, std::uint32_t ttl) {
    return add(name, RrType::txt, Txt{std::move(strings)}, ttl);
}

Zone& Zone::add_txt(std::string_view name, std::string_view text, std::uint32_t ttl) {
    Txt txt;
    do {
        txt.strings.emplace_back(text.substr(0, 255));
        text.remove_prefix(std::min<std::size_t>(255, text.size()));
    } while (!text.empty());
    return add(name, RrType::txt, std::move(txt), ttl);
}

Zone& Zone::add_mx(std::string_view name, std::uint16_t preference, std::string_view exchange,
                   std::uint32_t ttl) {
    std::string target = exchange == "." || exchange.empty() ? std::string()
                                                             : must_normalize(exchange);
    return add(name, RrType::mx, Mx{preference, std::move(target)}, ttl);
}

Zone& Zone::add_name(std::string_view name, RrType type, std::string_view target,
                     std::uint32_t ttl) {
    RAMPART_ASSERT(type == RrType::ns || type == RrType::cname || type == RrType::ptr);
    return add(name, type, must_normalize(target), ttl);
}

Zone& Zone::fail(std::string_view name, Status status) {
    failures_.insert_or_assign(must_normalize(name), status);
    return *this;
}

Zone& Zone::negative_ttl(std::uint32_t ttl) {
    negative_ttl_ = ttl;
    return *this;
}

bool Zone::exists(std::string_view name) const {
    if (by_name_.contains(name)) return true;
    // An empty non-terminal: some owner lies below the name.
    const std::string suffix = fmt::format(".{}", name);
    return std::any_of(records_.begin(), records_.end(),
                       [&](const Record& r) { return r.name.ends_with(suffix); });
}

Answer Zone::answer(std::string_view query_name, RrType type) const {
    Answer out;
    auto normal = normalize_name(query_name);
    if (!normal) {
        out.status = Status::error;
        out.detail = normal.error().reason;
        return out;
    }
    std::string name = std::move(*normal);
    // An answer reached through CNAMEs may be kept no longer than its shortest link.
    std::uint32_t chain_ttl = UINT32_MAX;
    for (int hop = 0; hop <= 8; ++hop) {
        if (const auto f = failures_.find(name); f != failures_.end()) {
            out.status = f->second;
            out.rcode = f->second == Status::servfail ? 2 : 0;
            out.detail = fmt::format("{} {} (configured in the test zone)", name,
                                     to_string(f->second));
            out.records.clear();
            return out;
        }
        std::string owner = name;
        bool found = exists(name);
        if (!found) {
            // Wildcard at the closest encloser (RFC 4592 §3.3.1).
            std::string_view rest = name;
            while (true) {
                const auto dot = rest.find('.');
                if (dot == std::string_view::npos) break;
                rest.remove_prefix(dot + 1);
                if (exists(rest)) {
                    const auto wildcard = fmt::format("*.{}", rest);
                    if (by_name_.contains(wildcard)) {
                        owner = wildcard;
                        found = true;
                    }
                    break;
                }
            }
        }
        if (!found) {
            out.status = Status::nxdomain;
            out.rcode = 3;
            out.ttl = std::min(chain_ttl, negative_ttl_);
            return out;
        }
        std::vector<Record> matches;
        const Record* cname = nullptr;
        auto [first, last] = by_name_.equal_range(owner);
        for (auto it = first; it != last; ++it) {
            const auto& r = records_[it->second];
            if (r.type == type) {
                matches.push_back(r);
                matches.back().name = name;
            } else if (r.type == RrType::cname) {
                cname = &r;
            }
        }
        if (!matches.empty()) {
            out.status = Status::ok;
            out.ttl = std::min(chain_ttl,
                               std::min_element(matches.begin(), matches.end(),
                                                [](const Record& a, const Record& b) {
                                                    return a.ttl < b.ttl;
                                                })->ttl);
            out.records = std::move(matches);
            return out;
        }
        if (cname == nullptr) {
            out.status = Status::nodata;
            out.ttl = std::min(chain_ttl, negative_ttl_);
            return out;
        }
        out.cname_chain.push_back(name);
        chain_ttl = std::min(chain_ttl, cname->ttl);
        name = std::get<std::string>(cname->data);
    }
    out.status = Status::servfail;
    out.rcode = 2;
    out.detail = fmt::format("CNAME chain from {} is longer than 8", query_name);
    return out;
}

std::string Zone::to_master_file(std::string_view origin_text, std::string_view ns_address) const {
    const auto origin = must_normalize(origin_text);
    std::string out = fmt::format("$ORIGIN {}.\n$TTL 300\n", origin);
    out += fmt::format("@ 300 IN SOA ns.{0}. hostmaster.{0}. 1 3600 600 86400 {1}\n", origin,
                       negative_ttl_);
    out += fmt::format("@ 300 IN NS ns.{}.\n", origin);
    const bool ns_v6 = ns_address.find(':') != std::string_view::npos;
    out += fmt::format("ns.{}. 300 IN {} {}\n", origin, ns_v6 ? "AAAA" : "A", ns_address);
    for (const auto& r : records_) {
        if (!is_subdomain(r.name, origin)) continue;
        if (r.type == RrType::soa) continue;
        out += fmt::format("{}. {} IN {} {}\n", r.name, r.ttl, to_string(r.type), rdata_text(r));
    }
    return out;
}

Answer ZoneResolver::query(std::string_view name, RrType type) {
    ++queries_;
    return zone_.answer(name, type);
}

}  // namespace rampart::dns

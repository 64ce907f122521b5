// dns/zone: zone data held in memory, and a Resolver that answers from it.
//
// Used by unit tests, by the RFC 7208 suite (whose zonedata becomes a Zone), and by the test
// harness that writes the same Zone as a master file for a real authoritative server, so one
// set of cases runs on both paths.
// Semantics follow an authoritative server: CNAMEs are followed (at most 8), a name that owns no
// records but has descendants is an empty non-terminal (nodata, not nxdomain, RFC 8020), and
// `*.<name>` wildcards answer for names that do not exist below <name> (RFC 4592).
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dns/dns.hpp"

namespace rampart::dns {

class Zone {
public:
    /// Names are normalized; a malformed name is a programmer error in test data and asserts.
    Zone& add(std::string_view name, RrType type, Rdata data, std::uint32_t ttl = 300);
    Zone& add_a(std::string_view name, std::string_view address, std::uint32_t ttl = 300);  // A or AAAA
    Zone& add_txt(std::string_view name, std::vector<std::string> strings, std::uint32_t ttl = 300);
    Zone& add_txt(std::string_view name, std::string_view text, std::uint32_t ttl = 300);  // split at 255
    Zone& add_mx(std::string_view name, std::uint16_t preference, std::string_view exchange,
                 std::uint32_t ttl = 300);
    Zone& add_name(std::string_view name, RrType type, std::string_view target,  // NS/CNAME/PTR
                   std::uint32_t ttl = 300);
    /// Every query for this exact name ends with `status` (timeout, servfail, error).
    Zone& fail(std::string_view name, Status status);
    /// TTL of nodata/nxdomain answers (RFC 2308); default 60.
    Zone& negative_ttl(std::uint32_t ttl);

    [[nodiscard]] Answer answer(std::string_view name, RrType type) const;
    [[nodiscard]] const std::vector<Record>& records() const noexcept { return records_; }
    [[nodiscard]] std::uint32_t negative_ttl() const noexcept { return negative_ttl_; }
    /// Names given to fail(), with their status.
    [[nodiscard]] const std::map<std::string, Status, std::less<>>& failures() const noexcept {
        return failures_;
    }

    /// The zone as an RFC 1035 master file with `origin` as $ORIGIN, an SOA and NS for `origin`
    /// (NS target `ns.<origin>` at `ns_address`), and every record at or below `origin`.
    /// Names given to fail() cannot be expressed in a master file and are left out.
    [[nodiscard]] std::string to_master_file(std::string_view origin,
                                             std::string_view ns_address = "127.0.0.1") const;

private:
    [[nodiscard]] bool exists(std::string_view name) const;
    std::vector<Record> records_;
    std::multimap<std::string, std::size_t, std::less<>> by_name_;
    std::map<std::string, Status, std::less<>> failures_;
    std::uint32_t negative_ttl_ = 60;
};

/// A Resolver over a Zone the caller keeps alive and does not change while queries run.
class ZoneResolver final : public Resolver {
public:
    explicit ZoneResolver(const Zone& zone) noexcept : zone_(zone) {}
    [[nodiscard]] Answer query(std::string_view name, RrType type) override;
    /// Queries answered so far (tests assert how many look-ups a feature costs).
    [[nodiscard]] std::size_t queries() const noexcept { return queries_.load(); }

private:
    const Zone& zone_;
    std::atomic<std::size_t> queries_{0};
};

}  // namespace rampart::dns

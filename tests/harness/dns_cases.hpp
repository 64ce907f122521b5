// One table of DNS questions and the answers an authoritative server must give, run through the
// in-memory ZoneResolver (tests/unit/dns/dns_test.cpp) and through the real resolver against
// Knot DNS serving the same Zone as master files (tests/integration/dns_knot_test.cpp), so the
// fake and the network cannot drift apart.
//
// RFC 1034 §4.3.2 (CNAMEs followed, wildcards), RFC 2308 §2 (NXDOMAIN vs NODATA, negative TTL
// from the SOA), RFC 8020 (an empty non-terminal exists: NODATA), RFC 4592 (wildcards answer for
// names that do not exist), RFC 7505 (null MX).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dns/dns.hpp"
#include "dns/zone.hpp"

namespace rampart::test::dns_cases {

inline const std::string origin = "example.test";
inline const std::string reverse_origin = "2.0.192.in-addr.arpa";
inline constexpr std::uint32_t negative_ttl = 45;

/// 255 + 255 + 80 octets of TXT: more than a 512-octet UDP answer holds.
inline std::vector<std::string> big_txt() {
    return {std::string(255, 'a'), std::string(255, 'b'), std::string(80, 'c')};
}

/// The zone data of every case. The apex NS and its address are the ones to_master_file writes,
/// so the in-memory zone answers NS like Knot does.
inline dns::Zone zone() {
    dns::Zone z;
    z.negative_ttl(negative_ttl)
        .add_name("example.test", dns::RrType::ns, "ns.example.test")
        .add_a("ns.example.test", "127.0.0.1")
        .add_a("a.example.test", "192.0.2.1")
        .add_a("a.example.test", "192.0.2.2")
        .add_a("a.example.test", "2001:db8::1")
        .add_a("v6only.example.test", "2001:db8::2")
        .add_mx("example.test", 10, "mx1.example.test")
        .add_mx("example.test", 20, "mx2.example.test")
        .add_mx("nullmx.example.test", 0, ".")
        .add_txt("txt.example.test", std::vector<std::string>{"v=spf1 ip4:192.0.2.0/24 ", "-all"})
        .add_txt("multi.example.test", "one")
        .add_txt("multi.example.test", "two")
        .add_txt("quoted.example.test", std::vector<std::string>{"say \"hi\" \\ there;"})
        .add_txt("big.example.test", big_txt())
        .add_a("short.example.test", "192.0.2.7", 7)
        .add_name("www.example.test", dns::RrType::cname, "alias.example.test")
        .add_name("alias.example.test", dns::RrType::cname, "a.example.test")
        .add_name("dangling.example.test", dns::RrType::cname, "gone.example.test")
        .add_name("loop1.example.test", dns::RrType::cname, "loop2.example.test")
        .add_name("loop2.example.test", dns::RrType::cname, "loop1.example.test")
        .add_txt("*.wild.example.test", "wildcard")
        .add_a("host.ent.example.test", "192.0.2.9")
        .add_name("1.2.0.192.in-addr.arpa", dns::RrType::ptr, "a.example.test");
    return z;
}

/// A record's data as one line of text, for comparing answers whatever their order.
inline std::string render(const dns::Record& r) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, IpAddress>) {
                return v.to_string();
            } else if constexpr (std::is_same_v<T, std::string>) {
                return v;
            } else if constexpr (std::is_same_v<T, dns::Mx>) {
                return fmt::format("{} {}", v.preference, v.exchange);
            } else if constexpr (std::is_same_v<T, dns::Soa>) {
                return fmt::format("{} {} {} {}", v.mname, v.rname, v.serial, v.minimum);
            } else {
                std::string out;
                for (const auto& s : v.strings) out += fmt::format("{}[{}]", out.empty() ? "" : " ", s);
                return out;
            }
        },
        r.data);
}

struct Case {
    std::string name;
    dns::RrType type = dns::RrType::a;
    dns::Status status = dns::Status::ok;
    std::vector<std::string> values = {};  // render() of each record, any order
    std::vector<std::string> chain = {};   // cname_chain
    std::optional<std::uint32_t> ttl = {};
    std::optional<std::uint16_t> rcode = {};
    std::string owner = {};               // Record::name of every record (ok answers)
    bool needs_tcp = false;               // the answer does not fit 512 octets
};

inline std::vector<Case> cases() {
    using dns::RrType;
    using dns::Status;
    const auto big = big_txt();
    return {
        {.name = "a.example.test", .values = {"192.0.2.1", "192.0.2.2"}, .ttl = 300, .rcode = 0,
         .owner = "a.example.test"},
        {.name = "A.Example.TEST.", .values = {"192.0.2.1", "192.0.2.2"},
         .owner = "a.example.test"},
        {.name = "a.example.test", .type = RrType::aaaa, .values = {"2001:db8::1"}, .ttl = 300},
        {.name = "v6only.example.test", .status = Status::nodata, .ttl = negative_ttl, .rcode = 0},
        {.name = "example.test", .type = RrType::mx,
         .values = {"10 mx1.example.test", "20 mx2.example.test"}, .owner = "example.test"},
        {.name = "nullmx.example.test", .type = RrType::mx, .values = {"0 "}},
        {.name = "txt.example.test", .type = RrType::txt,
         .values = {"[v=spf1 ip4:192.0.2.0/24 ] [-all]"}},
        {.name = "multi.example.test", .type = RrType::txt, .values = {"[one]", "[two]"}},
        {.name = "quoted.example.test", .type = RrType::txt, .values = {"[say \"hi\" \\ there;]"}},
        {.name = "big.example.test", .type = RrType::txt,
         .values = {fmt::format("[{}] [{}] [{}]", big[0], big[1], big[2])}, .ttl = 300,
         .needs_tcp = true},
        {.name = "short.example.test", .values = {"192.0.2.7"}, .ttl = 7},
        {.name = "www.example.test", .values = {"192.0.2.1", "192.0.2.2"},
         .chain = {"www.example.test", "alias.example.test"}, .ttl = 300,
         .owner = "a.example.test"},
        {.name = "www.example.test", .type = RrType::cname, .values = {"alias.example.test"},
         .owner = "www.example.test"},
        {.name = "dangling.example.test", .status = Status::nxdomain,
         .chain = {"dangling.example.test"}, .ttl = negative_ttl, .rcode = 3},
        {.name = "loop1.example.test", .status = Status::servfail},
        {.name = "x.wild.example.test", .type = RrType::txt, .values = {"[wildcard]"},
         .owner = "x.wild.example.test"},
        {.name = "x.wild.example.test", .status = Status::nodata, .ttl = negative_ttl},
        {.name = "ent.example.test", .status = Status::nodata, .ttl = negative_ttl, .rcode = 0},
        {.name = "nope.example.test", .status = Status::nxdomain, .ttl = negative_ttl, .rcode = 3},
        {.name = "deep.nope.example.test", .type = RrType::txt, .status = Status::nxdomain,
         .rcode = 3},
        {.name = "a.example.test", .type = RrType::mx, .status = Status::nodata,
         .ttl = negative_ttl},
        {.name = "example.test", .type = RrType::ns, .values = {"ns.example.test"}},
        {.name = "1.2.0.192.in-addr.arpa", .type = RrType::ptr, .values = {"a.example.test"},
         .owner = "1.2.0.192.in-addr.arpa"},
    };
}

inline std::string describe(const Case& c) {
    return fmt::format("{} {}", c.name, dns::to_string(c.type));
}

/// How GoogleTest names a case in its output.
inline void PrintTo(const Case& c, std::ostream* os) { *os << describe(c); }

/// Checks one answer against its case. `over_network`: the answer came through a real server,
/// where an answer over 512 octets must say it needed TCP.
inline void check(const Case& c, const dns::Answer& a, bool over_network) {
    SCOPED_TRACE(describe(c) + " (detail: " + a.detail + ")");
    EXPECT_EQ(dns::to_string(a.status), dns::to_string(c.status));
    std::vector<std::string> got;
    for (const auto& r : a.records) {
        got.push_back(render(r));
        EXPECT_EQ(r.type, c.type);
        if (!c.owner.empty()) {
            EXPECT_EQ(r.name, c.owner);
        }
    }
    std::sort(got.begin(), got.end());
    auto want = c.values;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    // A failed answer's chain is only how far the resolver got before giving up.
    if (!a.failed()) {
        EXPECT_EQ(a.cname_chain, c.chain);
    }
    if (c.ttl) {
        EXPECT_EQ(a.ttl, *c.ttl);
    }
    if (c.rcode) {
        EXPECT_EQ(a.rcode, *c.rcode);
    }
    EXPECT_EQ(a.truncated, over_network && c.needs_tcp);
    if (a.failed()) {
        EXPECT_FALSE(a.detail.empty());
    }
}

}  // namespace rampart::test::dns_cases

// dns.hpp's name rules (RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 253 in
// text; RFC 7208 §4.3), reverse names (RFC 1035 §3.5, RFC 3596 §2.5), the --dns server syntax,
// and the in-memory Zone answering like an authoritative server (the shared table in
// harness/dns_cases.hpp, which the Knot integration test runs too).
#include <gtest/gtest.h>

#include <string>

#include "dns/dns.hpp"
#include "dns/zone.hpp"
#include "harness/dns_cases.hpp"

namespace {

using rampart::Errc;
using rampart::IpAddress;
using namespace rampart::dns;

std::string label(char c, std::size_t n) { return std::string(n, c); }

TEST(NormalizeName, LowerCasesAndDropsOneTrailingDot) {
    EXPECT_EQ(normalize_name("Mail.Example.COM.").value(), "mail.example.com");
    EXPECT_EQ(normalize_name("_dmarc.example.com").value(), "_dmarc.example.com");
    EXPECT_FALSE(normalize_name("example.com..").has_value());
}

TEST(NormalizeName, RefusesEmptyNamesAndLabels) {
    for (const char* bad : {"", ".", "a..b", ".a"}) {
        auto r = normalize_name(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, Errc::malformed);
        EXPECT_NE(r.error().reason.find("empty"), std::string::npos) << r.error().reason;
    }
}

TEST(NormalizeName, LabelsUpTo63Octets) {
    EXPECT_TRUE(normalize_name(label('a', 63) + ".com").has_value());
    auto r = normalize_name(label('a', 64) + ".com");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().reason.find("63"), std::string::npos);
}

TEST(NormalizeName, NamesUpTo253Octets) {
    // 63+1+63+1+63+1+61 = 253
    const auto name253 = label('a', 63) + "." + label('b', 63) + "." + label('c', 63) + "." +
                         label('d', 61);
    ASSERT_EQ(name253.size(), 253u);
    EXPECT_TRUE(normalize_name(name253).has_value());
    EXPECT_TRUE(normalize_name(name253 + ".").has_value());  // the dot is not counted
    auto r = normalize_name(name253 + "d");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, "the domain name is 254 octets long; at most 253 are allowed");
}

TEST(NormalizeName, RefusesNonAsciiAndControlOctets) {
    auto r = normalize_name("b\xc3\xbc" "cher.example");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().reason.find("A-label"), std::string::npos);
    EXPECT_TRUE(normalize_name("xn--bcher-kva.example").has_value());
    EXPECT_FALSE(normalize_name("a b.example").has_value());
    EXPECT_FALSE(normalize_name(std::string("a\0b.example", 11)).has_value());
}

TEST(Labels, SplitsLeftToRight) {
    EXPECT_EQ(labels("a.b.example"), (std::vector<std::string_view>{"a", "b", "example"}));
    EXPECT_EQ(labels("example"), (std::vector<std::string_view>{"example"}));
    EXPECT_TRUE(labels("").empty());
}

TEST(IsSubdomain, ComparesWholeLabelsCaseInsensitively) {
    EXPECT_TRUE(is_subdomain("a.b.example", "example"));
    EXPECT_TRUE(is_subdomain("example", "example"));
    EXPECT_TRUE(is_subdomain("A.Example", "example"));
    EXPECT_FALSE(is_subdomain("notexample", "example"));
    EXPECT_FALSE(is_subdomain("example", "a.example"));
    EXPECT_TRUE(is_subdomain("anything", ""));
}

TEST(ReverseName, V4AndV6) {
    EXPECT_EQ(reverse_name(*IpAddress::parse("192.0.2.1")), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_name(*IpAddress::parse("2001:db8::567:89ab")),
              "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(ParseServer, AcceptsAddressesWithAndWithoutPort) {
    EXPECT_EQ(parse_server("192.0.2.53")->to_string(), "192.0.2.53:53");
    EXPECT_EQ(parse_server("192.0.2.53:5353")->to_string(), "192.0.2.53:5353");
    EXPECT_EQ(parse_server("::1")->to_string(), "[::1]:53");
    EXPECT_EQ(parse_server("[::1]:5353")->to_string(), "[::1]:5353");
    EXPECT_EQ(parse_server("[2001:db8::1]")->to_string(), "[2001:db8::1]:53");
    EXPECT_EQ(parse_server(" 127.0.0.1:53 ")->port, 53);
}

TEST(ParseServer, RefusesHostNamesAndBadPorts) {
    for (const char* bad : {"dns.example", "192.0.2.53:0", "192.0.2.53:65536", "192.0.2.53:",
                            "192.0.2.53:x", "[::1", "[::1]x", "[::1]:", ""}) {
        auto r = parse_server(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, Errc::malformed);
        EXPECT_FALSE(r.error().reason.empty());
    }
}

class ZoneCases : public ::testing::TestWithParam<rampart::test::dns_cases::Case> {};

TEST_P(ZoneCases, AnswerLikeAnAuthoritativeServer) {
    const auto zone = rampart::test::dns_cases::zone();
    ZoneResolver resolver(zone);
    rampart::test::dns_cases::check(GetParam(), resolver.query(GetParam().name, GetParam().type),
                                    false);
}

INSTANTIATE_TEST_SUITE_P(Table, ZoneCases,
                         ::testing::ValuesIn(rampart::test::dns_cases::cases()));

TEST(Zone, FailStatusesApplyToTheExactName) {
    Zone zone;
    zone.add_a("ok.example", "192.0.2.1")
        .fail("slow.example", Status::timeout)
        .fail("broken.example", Status::servfail)
        .fail("bad.example", Status::error);
    ZoneResolver resolver(zone);
    EXPECT_EQ(resolver.query("slow.example", RrType::a).status, Status::timeout);
    const auto broken = resolver.query("broken.example", RrType::txt);
    EXPECT_EQ(broken.status, Status::servfail);
    EXPECT_EQ(broken.rcode, 2);
    EXPECT_TRUE(broken.failed());
    EXPECT_FALSE(broken.detail.empty());
    EXPECT_EQ(resolver.query("bad.example", RrType::a).status, Status::error);
    EXPECT_EQ(resolver.query("x.slow.example", RrType::a).status, Status::nxdomain);
    EXPECT_EQ(resolver.queries(), 4u);
}

TEST(Zone, AFailedNameInACnameChainFailsTheChain) {
    Zone zone;
    zone.add_name("a.example", RrType::cname, "b.example").fail("b.example", Status::timeout);
    const auto answer = zone.answer("a.example", RrType::a);
    EXPECT_EQ(answer.status, Status::timeout);
    EXPECT_TRUE(answer.records.empty());
}

TEST(Zone, BadQuestionNameIsAnError) {
    Zone zone;
    const auto answer = zone.answer(label('a', 64) + ".example", RrType::a);
    EXPECT_EQ(answer.status, Status::error);
    EXPECT_NE(answer.detail.find("63"), std::string::npos);
}

TEST(Zone, CnameChainLongerThanEightIsServfail) {
    Zone zone;
    for (int i = 0; i < 9; ++i)
        zone.add_name("c" + std::to_string(i) + ".example", RrType::cname,
                      "c" + std::to_string(i + 1) + ".example");
    zone.add_a("c9.example", "192.0.2.1");
    EXPECT_EQ(zone.answer("c1.example", RrType::a).status, Status::ok);  // 8 links
    EXPECT_EQ(zone.answer("c0.example", RrType::a).status, Status::servfail);  // 9 links
}

TEST(Zone, AnswerThroughCnameLastsNoLongerThanItsShortestLink) {
    Zone zone;
    zone.negative_ttl(600)
        .add_name("alias.example", RrType::cname, "target.example", 30)
        .add_a("target.example", "192.0.2.1", 3600);
    EXPECT_EQ(zone.answer("alias.example", RrType::a).ttl, 30u);
    EXPECT_EQ(zone.answer("alias.example", RrType::txt).ttl, 30u);
    EXPECT_EQ(zone.answer("target.example", RrType::a).ttl, 3600u);
    EXPECT_EQ(zone.answer("target.example", RrType::txt).ttl, 600u);
}

TEST(Zone, SplitsLongTxtAt255Octets) {
    Zone zone;
    zone.add_txt("t.example", std::string(600, 'x'));
    const auto txt = zone.answer("t.example", RrType::txt).txt();
    ASSERT_EQ(txt.size(), 1u);
    ASSERT_EQ(txt[0].strings.size(), 3u);
    EXPECT_EQ(txt[0].strings[0].size(), 255u);
    EXPECT_EQ(txt[0].strings[2].size(), 90u);
    EXPECT_EQ(txt[0].joined(), std::string(600, 'x'));
}

TEST(Zone, MasterFileHasSoaNsAndTheRecordsBelowTheOrigin) {
    Zone zone;
    zone.negative_ttl(45)
        .add_a("www.example.test", "192.0.2.1", 120)
        .add_txt("example.test", std::vector<std::string>{"a \"q\"", "b\\"})
        .add_mx("example.test", 10, "mx.example.test")
        .add_a("other.example", "192.0.2.2")
        .fail("down.example.test", Status::timeout);
    EXPECT_EQ(zone.to_master_file("example.test"),
              "$ORIGIN example.test.\n"
              "$TTL 300\n"
              "@ 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 45\n"
              "@ 300 IN NS ns.example.test.\n"
              "ns.example.test. 300 IN A 127.0.0.1\n"
              "www.example.test. 120 IN A 192.0.2.1\n"
              "example.test. 300 IN TXT \"a \\\"q\\\"\" \"b\\\\\"\n"
              "example.test. 300 IN MX 10 mx.example.test.\n");
}

}  // namespace

// check_host() on in-memory zones (RFC 7208 §4-§6): results with their reasons, the §4.6.4
// limits at their edges, DNS failures, explanations, and the trace.
#include <gtest/gtest.h>

#include "dns/zone.hpp"
#include "spf/spf.hpp"

namespace rampart::spf {
namespace {

using dns::Status;

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

class CheckHost : public ::testing::Test {
protected:
    Evaluation check(std::string_view client, std::string_view sender,
                     const Options& options = {}) {
        dns::ZoneResolver resolver(zone);
        auto e = check_host(resolver, mail_from(ip(client), sender, "mail.example.org"), options);
        queries = resolver.queries();
        return e;
    }
    /// "v=spf1 a:h1.example.com ... a:hN.example.com" with every target resolving elsewhere.
    std::string a_terms(int n, std::string_view prefix = "h") {
        std::string out;
        for (int i = 1; i <= n; ++i) {
            const auto host = std::string(prefix) + std::to_string(i) + ".example.com";
            zone.add_a(host, "198.51.100.1");
            out += " a:" + host;
        }
        return out;
    }
    dns::Zone zone;
    std::size_t queries = 0;
};

TEST_F(CheckHost, PassFailSoftfailNeutralWithReasons) {
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 ~ip4:198.51.100.1 ?ip4:203.0.113.1 -all");
    auto pass = check("192.0.2.9", "a@example.com");
    EXPECT_EQ(pass.result, SpfResult::pass);
    EXPECT_EQ(pass.matched_term, "ip4:192.0.2.0/24");
    EXPECT_NE(pass.reason.find("ip4:192.0.2.0/24 matched"), std::string::npos) << pass.reason;
    EXPECT_EQ(check("198.51.100.1", "a@example.com").result, SpfResult::softfail);
    EXPECT_EQ(check("203.0.113.1", "a@example.com").result, SpfResult::neutral);
    auto fail = check("203.0.113.2", "a@example.com");
    EXPECT_EQ(fail.result, SpfResult::fail);
    EXPECT_EQ(fail.matched_term, "-all");
    EXPECT_FALSE(fail.explanation);
    EXPECT_EQ(fail.record, "v=spf1 ip4:192.0.2.0/24 ~ip4:198.51.100.1 ?ip4:203.0.113.1 -all");
}

TEST_F(CheckHost, NoRecordNoMatchAndBadDomains) {
    zone.add_txt("example.com", "google-site-verification=abc");
    zone.add_txt("neutral.example.com", "v=spf1 ip4:192.0.2.1");
    EXPECT_EQ(check("192.0.2.9", "a@example.com").result, SpfResult::none);
    EXPECT_EQ(check("192.0.2.9", "a@missing.example.com").result, SpfResult::none);
    auto neutral = check("192.0.2.9", "a@neutral.example.com");
    EXPECT_EQ(neutral.result, SpfResult::neutral);
    EXPECT_NE(neutral.reason.find("default"), std::string::npos);
    EXPECT_EQ(check("192.0.2.9", "a@localhost").result, SpfResult::none);
    EXPECT_EQ(check("192.0.2.9", "a@[192.0.2.9]").result, SpfResult::none);
    EXPECT_EQ(check("192.0.2.9", "a@" + std::string(64, 'x') + ".example.com").result,
              SpfResult::none);
    EXPECT_EQ(check("192.0.2.9", "a@" + std::string(260, 'x')).result, SpfResult::none);
    EXPECT_EQ(check("192.0.2.9", "a@b\xC3\xA9.example.com").result, SpfResult::none);
}

TEST_F(CheckHost, MultipleRecordsAndSyntaxErrorsArePermerror) {
    zone.add_txt("two.example.com", "v=spf1 -all").add_txt("two.example.com", "v=spf1 +all");
    zone.add_txt("bad.example.com", "v=spf1 ip4:192.0.2.1 -all moo");
    auto two = check("192.0.2.1", "a@two.example.com");
    EXPECT_EQ(two.result, SpfResult::permerror);
    EXPECT_NE(two.reason.find("2 SPF records"), std::string::npos) << two.reason;
    auto bad = check("192.0.2.1", "a@bad.example.com");
    EXPECT_EQ(bad.result, SpfResult::permerror);
    EXPECT_NE(bad.reason.find("\"moo\""), std::string::npos) << bad.reason;
}

TEST_F(CheckHost, TenthLookupPassesEleventhIsPermerror) {
    zone.add_txt("ten.example.com", "v=spf1" + a_terms(9) + " a:last.example.com -all");
    zone.add_a("last.example.com", "192.0.2.10");
    auto ten = check("192.0.2.10", "a@ten.example.com");
    EXPECT_EQ(ten.result, SpfResult::pass);
    EXPECT_EQ(ten.lookups, 10);

    zone.add_txt("eleven.example.com", "v=spf1" + a_terms(10, "k") + " a:last.example.com -all");
    auto eleven = check("192.0.2.10", "a@eleven.example.com");
    EXPECT_EQ(eleven.result, SpfResult::permerror);
    EXPECT_EQ(eleven.lookups, 11);
    EXPECT_NE(eleven.reason.find("a:last.example.com at eleven.example.com is the 11th"),
              std::string::npos)
        << eleven.reason;
    // The 11th term is refused before it is asked: 1 TXT + 10 A queries.
    EXPECT_EQ(queries, 11u);
}

TEST_F(CheckHost, LimitCountsAcrossIncludesAndRedirect) {
    zone.add_txt("example.com", "v=spf1 include:inc.example.com redirect=r.example.com");
    zone.add_txt("inc.example.com", "v=spf1" + a_terms(7));
    zone.add_txt("r.example.com", "v=spf1 a:x.example.com -all");
    zone.add_a("x.example.com", "192.0.2.1");
    auto e = check("192.0.2.1", "a@example.com");
    EXPECT_EQ(e.result, SpfResult::pass);
    EXPECT_EQ(e.lookups, 10);  // include + 7 a + redirect + a
    zone.add_txt("over.example.com", "v=spf1 include:inc.example.com mx redirect=r.example.com");
    EXPECT_EQ(check("192.0.2.1", "a@over.example.com").result, SpfResult::permerror);
}

TEST_F(CheckHost, SecondVoidLookupIsFineThirdIsPermerror) {
    zone.add_txt("two.example.com", "v=spf1 a:gone1.example.com a:gone2.example.com ?all");
    zone.add_txt("three.example.com",
                 "v=spf1 a:gone1.example.com mx:gone2.example.com exists:gone3.example.com ?all");
    auto two = check("192.0.2.1", "a@two.example.com");
    EXPECT_EQ(two.result, SpfResult::neutral);
    EXPECT_EQ(two.void_lookups, 2);
    auto three = check("192.0.2.1", "a@three.example.com");
    EXPECT_EQ(three.result, SpfResult::permerror);
    EXPECT_EQ(three.void_lookups, 3);
    EXPECT_NE(three.reason.find("3rd void"), std::string::npos) << three.reason;
}

TEST_F(CheckHost, TenMxNamesAreFineElevenArePermerror) {
    for (int i = 0; i < 10; ++i) {
        zone.add_mx("ten.example.com", static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".example.com");
        zone.add_mx("eleven.example.com", static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".example.com");
        zone.add_a("mx" + std::to_string(i) + ".example.com", "198.51.100." + std::to_string(i + 1));
    }
    zone.add_mx("eleven.example.com", 99, "mx9.example.com");
    zone.add_txt("ten.example.com", "v=spf1 mx -all");
    zone.add_txt("eleven.example.com", "v=spf1 mx -all");
    auto ten = check("198.51.100.10", "a@ten.example.com");
    EXPECT_EQ(ten.result, SpfResult::pass);
    EXPECT_EQ(ten.lookups, 1);  // MX host address look-ups are not terms
    auto eleven = check("198.51.100.10", "a@eleven.example.com");
    EXPECT_EQ(eleven.result, SpfResult::permerror);
    EXPECT_NE(eleven.reason.find("11 MX records"), std::string::npos) << eleven.reason;
}

TEST_F(CheckHost, MxMatchesHostAddressesWithCidrAndNullMxNeverMatches) {
    zone.add_mx("example.com", 10, "mail.example.com").add_a("mail.example.com", "192.0.2.10");
    zone.add_a("mail.example.com", "2001:db8::10");
    zone.add_txt("example.com", "v=spf1 mx/24//64 -all");
    zone.add_mx("null.example.com", 0, ".").add_txt("null.example.com", "v=spf1 mx/0 -all");
    EXPECT_EQ(check("192.0.2.99", "a@example.com").result, SpfResult::pass);
    EXPECT_EQ(check("2001:db8::ffff", "a@example.com").result, SpfResult::pass);
    EXPECT_EQ(check("192.0.3.1", "a@example.com").result, SpfResult::fail);
    EXPECT_EQ(check("192.0.2.99", "a@null.example.com").result, SpfResult::fail);
}

TEST_F(CheckHost, PtrConsidersOnlyTenNamesAndNeedsForwardConfirmation) {
    for (int i = 1; i <= 10; ++i)
        zone.add_name("1.2.0.192.in-addr.arpa", dns::RrType::ptr, "n" + std::to_string(i) + ".other.example");
    zone.add_name("1.2.0.192.in-addr.arpa", dns::RrType::ptr, "host.example.com");
    zone.add_a("host.example.com", "192.0.2.1");
    zone.add_txt("example.com", "v=spf1 ptr -all");
    auto e = check("192.0.2.1", "a@example.com");
    EXPECT_EQ(e.result, SpfResult::fail) << e.reason;  // the 11th name is ignored

    zone.add_name("2.2.0.192.in-addr.arpa", dns::RrType::ptr, "liar.example.com");
    zone.add_a("liar.example.com", "192.0.2.99");
    zone.add_name("3.2.0.192.in-addr.arpa", dns::RrType::ptr, "good.example.com");
    zone.add_a("good.example.com", "192.0.2.3");
    EXPECT_EQ(check("192.0.2.2", "a@example.com").result, SpfResult::fail);
    EXPECT_EQ(check("192.0.2.3", "a@example.com").result, SpfResult::pass);
}

TEST_F(CheckHost, IncludeResultMapping) {
    zone.add_txt("p.example.com", "v=spf1 +all");
    zone.add_txt("f.example.com", "v=spf1 -all");
    zone.add_txt("e.example.com", "v=spf1 include:p.example.com -all");
    zone.add_txt("n.example.com", "v=spf1 include:f.example.com ?all");
    zone.add_txt("none.example.com", "v=spf1 include:nothing.example.com -all");
    zone.add_txt("t.example.com", "v=spf1 include:slow.example.com -all");
    zone.fail("slow.example.com", Status::timeout);
    EXPECT_EQ(check("192.0.2.1", "a@e.example.com").result, SpfResult::pass);
    EXPECT_EQ(check("192.0.2.1", "a@n.example.com").result, SpfResult::neutral);
    auto none = check("192.0.2.1", "a@none.example.com");
    EXPECT_EQ(none.result, SpfResult::permerror);
    EXPECT_NE(none.reason.find("nothing.example.com has no SPF record"), std::string::npos)
        << none.reason;
    auto temp = check("192.0.2.1", "a@t.example.com");
    EXPECT_EQ(temp.result, SpfResult::temperror);
    EXPECT_NE(temp.reason.find("timeout"), std::string::npos) << temp.reason;
}

TEST_F(CheckHost, IncludeAndRedirectLoopsEndInPermerror) {
    zone.add_txt("loop.example.com", "v=spf1 redirect=loop.example.com");
    zone.add_txt("i1.example.com", "v=spf1 include:i2.example.com");
    zone.add_txt("i2.example.com", "v=spf1 include:i1.example.com");
    auto r = check("192.0.2.1", "a@loop.example.com");
    EXPECT_EQ(r.result, SpfResult::permerror);
    EXPECT_EQ(r.lookups, 11);
    EXPECT_EQ(check("192.0.2.1", "a@i1.example.com").result, SpfResult::permerror);
}

TEST_F(CheckHost, TimeoutOnRecordOrMechanismIsTemperror) {
    zone.fail("example.com", Status::timeout);
    zone.add_txt("a.example.com", "v=spf1 a:slow.example.net -all");
    zone.fail("slow.example.net", Status::servfail);
    EXPECT_EQ(check("192.0.2.1", "a@example.com").result, SpfResult::temperror);
    EXPECT_EQ(check("192.0.2.1", "a@a.example.com").result, SpfResult::temperror);
}

TEST_F(CheckHost, TimeLimitEndsInTemperror) {
    zone.add_txt("example.com", "v=spf1 a:x.example.com a:y.example.com -all");
    Options options;
    options.limits.time_limit = std::chrono::milliseconds{100};
    int calls = 0;
    // An injected clock: every query "takes" 60 ms.
    options.elapsed = [&calls] { return std::chrono::milliseconds{60 * calls++}; };
    auto e = check("192.0.2.1", "a@example.com", options);
    EXPECT_EQ(e.result, SpfResult::temperror);
    EXPECT_NE(e.reason.find("longer than 100 ms"), std::string::npos) << e.reason;
}

TEST_F(CheckHost, ExplanationOnFailWithMacros) {
    zone.add_txt("example.com", "v=spf1 -all exp=why.%{d}");
    zone.add_txt("why.example.com", "%{l} at %{c} is not allowed by %{d}");
    auto e = check("192.0.2.1", "joe@example.com");
    EXPECT_EQ(e.result, SpfResult::fail);
    ASSERT_TRUE(e.explanation);
    EXPECT_EQ(*e.explanation, "joe at 192.0.2.1 is not allowed by example.com");
    ASSERT_FALSE(e.trace.empty());
    EXPECT_EQ(e.trace.back().term, "exp=why.%{d}");
}

TEST_F(CheckHost, ExplanationProblemsAreIgnored) {
    zone.add_txt("a.example.com", "v=spf1 -all exp=two.example.com");
    zone.add_txt("two.example.com", "one").add_txt("two.example.com", "two");
    zone.add_txt("b.example.com", "v=spf1 -all exp=bad.example.com");
    zone.add_txt("bad.example.com", "The %{x}-files");
    zone.add_txt("c.example.com", "v=spf1 -all exp=slow.example.com");
    zone.fail("slow.example.com", Status::timeout);
    for (auto d : {"a", "b", "c"}) {
        auto e = check("192.0.2.1", std::string("x@") + d + ".example.com");
        EXPECT_EQ(e.result, SpfResult::fail) << d;
        EXPECT_FALSE(e.explanation) << d;
        EXPECT_NE(e.trace.back().outcome.find("explanation ignored"), std::string::npos);
    }
}

TEST_F(CheckHost, RedirectUsesTargetExplanationIncludeDoesNot) {
    zone.add_txt("r.example.com", "v=spf1 exp=e1.example.com redirect=t.example.com");
    zone.add_txt("t.example.com", "v=spf1 -all exp=e2.example.com");
    zone.add_txt("i.example.com", "v=spf1 include:t.example.com -all exp=e3.example.com");
    zone.add_txt("e1.example.com", "one").add_txt("e2.example.com", "two");
    zone.add_txt("e3.example.com", "three");
    EXPECT_EQ(check("192.0.2.1", "x@r.example.com").explanation, "two");
    EXPECT_EQ(check("192.0.2.1", "x@i.example.com").explanation, "three");
}

TEST_F(CheckHost, EmptySenderUsesPostmasterAtHelo) {
    zone.add_txt("mail.example.org", "v=spf1 -all exp=e.example.org");
    zone.add_txt("e.example.org", "%{s}");
    auto e = check("192.0.2.1", "");
    EXPECT_EQ(e.domain, "mail.example.org");
    EXPECT_EQ(e.explanation, "postmaster@mail.example.org");
    const auto r = mail_from(ip("192.0.2.1"), "@example.net", "h.example");
    EXPECT_EQ(r.domain, "example.net");
    EXPECT_EQ(r.sender, "postmaster@example.net");
    const auto h = helo_identity(ip("192.0.2.1"), "h.example");
    EXPECT_EQ(h.domain, "h.example");
    EXPECT_EQ(h.sender, "postmaster@h.example");
}

TEST_F(CheckHost, TraceShowsEveryTermItsCostAndWhereItMatched) {
    zone.add_txt("example.com", "v=spf1 ip4:198.51.100.0/24 include:_spf.example.net -all");
    zone.add_txt("_spf.example.net", "v=spf1 a:gone.example.net ip4:192.0.2.0/24 ~all");
    auto e = check("192.0.2.7", "a@example.com");
    EXPECT_EQ(e.result, SpfResult::pass);
    // The term that decided the result is the include (its qualifier applies); the trace
    // shows what matched inside it.
    EXPECT_EQ(e.matched_term, "include:_spf.example.net");
    EXPECT_EQ(e.matched_domain, "example.com");
    ASSERT_EQ(e.trace.size(), 4u);
    EXPECT_EQ(e.trace[0].term, "ip4:198.51.100.0/24");
    EXPECT_EQ(e.trace[0].outcome, "no match");
    EXPECT_EQ(e.trace[1].term, "include:_spf.example.net");
    EXPECT_EQ(e.trace[1].lookups, 1);
    EXPECT_EQ(e.trace[1].total_lookups, 2);
    EXPECT_TRUE(e.trace[1].matched);
    EXPECT_EQ(e.trace[2].depth, 1);
    EXPECT_EQ(e.trace[2].domain, "_spf.example.net");
    EXPECT_EQ(e.trace[2].outcome, "void lookup (nxdomain): no match");
    EXPECT_EQ(e.trace[3].outcome, "matched → pass");
    Options quiet;
    quiet.trace = false;
    EXPECT_TRUE(check("192.0.2.7", "a@example.com", quiet).trace.empty());
}

TEST_F(CheckHost, Ipv4MappedClientsAreIpv4AndIp6NeverMatchesThem) {
    zone.add_txt("example.com", "v=spf1 ip6:::/0 ip4:192.0.2.1 -all");
    EXPECT_EQ(check("::ffff:192.0.2.1", "a@example.com").result, SpfResult::pass);
    EXPECT_EQ(check("::ffff:192.0.2.2", "a@example.com").result, SpfResult::fail);
    EXPECT_EQ(check("2001:db8::1", "a@example.com").result, SpfResult::pass);
}

TEST_F(CheckHost, MacroTargetsAndOverlongExpansions) {
    zone.add_txt("example.com", "v=spf1 exists:%{ir}.%{l}._spf.%{d} -all");
    zone.add_a("1.2.0.192.joe._spf.example.com", "127.0.0.2");
    EXPECT_EQ(check("192.0.2.1", "joe@example.com").result, SpfResult::pass);
    EXPECT_EQ(check("192.0.2.1", "ann@example.com").result, SpfResult::fail);
    // A local-part that makes a label over 63 octets is no match, never a crash.
    EXPECT_EQ(check("192.0.2.1", std::string(80, 'x') + "@example.com").result, SpfResult::fail);
}

TEST_F(CheckHost, OverlongTxtStringsAreJoined) {
    std::string record = "v=spf1";
    for (int i = 0; i < 30; ++i) record += " ip4:198.51.100." + std::to_string(i);
    record += " ip4:192.0.2.1 -all";
    ASSERT_GT(record.size(), 255u);
    zone.add_txt("example.com", std::string_view(record));
    EXPECT_EQ(check("192.0.2.1", "a@example.com").result, SpfResult::pass);
}

}  // namespace
}  // namespace rampart::spf

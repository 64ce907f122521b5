// The SPF record grammar (RFC 7208 §4.5, §4.6.1, §5, §6): every mechanism form, CIDR edge cases,
// modifiers, and the characters a record may not hold.
//
// §4.6: "If there are any syntax errors anywhere in the record, check_host() returns
// immediately with the result "permerror", without further interpretation or evaluation."
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "spf/detail.hpp"
#include "spf/spf.hpp"

namespace rampart::spf {
namespace {

Record parsed(std::string_view text) {
    auto r = parse_record(text);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().describe());
    return r ? *r : Record{};
}

void refused(std::string_view text, std::string_view reason_part = {}) {
    auto r = parse_record(text);
    ASSERT_FALSE(r.has_value()) << "accepted: " << text;
    EXPECT_EQ(r.error().code, Errc::malformed) << text;
    if (!reason_part.empty()) {
        EXPECT_NE(r.error().reason.find(reason_part), std::string::npos) << r.error().reason;
    }
}

TEST(SpfRecord, VersionMustBeFollowedBySpaceOrEnd) {
    EXPECT_TRUE(is_spf_record("v=spf1"));
    EXPECT_TRUE(is_spf_record("V=SpF1 -all"));
    EXPECT_FALSE(is_spf_record("v=spf10"));
    EXPECT_FALSE(is_spf_record("v=spf1\t-all"));
    EXPECT_FALSE(is_spf_record("v=spf1mx"));
    EXPECT_FALSE(is_spf_record(" v=spf1"));
    EXPECT_FALSE(is_spf_record("spf2.0/pra"));
    refused("v=spf10");
}

TEST(SpfRecord, EmptyRecordAndSpacing) {
    EXPECT_TRUE(parsed("v=spf1").mechanisms.empty());
    auto r = parsed("v=spf1  a   -all   ");
    ASSERT_EQ(r.mechanisms.size(), 2u);
    EXPECT_EQ(r.mechanisms[0].text, "a");
    EXPECT_EQ(r.mechanisms[1].qualifier, Qualifier::fail);
}

TEST(SpfRecord, EveryMechanismForm) {
    auto r = parsed(
        "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com a/24 a//64 "
        "a:x.example.com/24//64 mx mx:mx.example.com/28 ptr ptr:example.com "
        "ip4:192.0.2.0/24 ip4:192.0.2.1 ip6:2001:db8::/32 ip6:::1 exists:%{i}.bl.example.com");
    ASSERT_EQ(r.mechanisms.size(), 16u);
    const auto& m = r.mechanisms;
    EXPECT_EQ(m[0].kind, MechanismKind::all);
    EXPECT_EQ(m[0].qualifier, Qualifier::pass);
    EXPECT_EQ(m[1].kind, MechanismKind::include);
    EXPECT_EQ(m[1].domain_spec, "_spf.example.com");
    EXPECT_EQ(m[2].qualifier, Qualifier::softfail);
    EXPECT_EQ(m[3].qualifier, Qualifier::neutral);
    EXPECT_EQ(m[3].domain_spec, "mail.example.com");
    EXPECT_EQ(m[4].cidr4, 24);
    EXPECT_EQ(m[4].cidr6, 128);
    EXPECT_EQ(m[5].cidr4, 32);
    EXPECT_EQ(m[5].cidr6, 64);
    EXPECT_EQ(m[6].domain_spec, "x.example.com");
    EXPECT_EQ(m[6].cidr4, 24);
    EXPECT_EQ(m[6].cidr6, 64);
    EXPECT_EQ(m[7].kind, MechanismKind::mx);
    EXPECT_EQ(m[8].cidr4, 28);
    EXPECT_EQ(m[9].kind, MechanismKind::ptr);
    EXPECT_EQ(m[10].domain_spec, "example.com");
    EXPECT_EQ(m[11].network->to_string(), "192.0.2.0");
    EXPECT_EQ(m[11].cidr4, 24);
    EXPECT_EQ(m[12].cidr4, 32);
    EXPECT_EQ(m[13].cidr6, 32);
    EXPECT_EQ(m[14].network->to_string(), "::1");
    EXPECT_EQ(m[15].kind, MechanismKind::exists);
    EXPECT_TRUE(m[15].has_macros());
    EXPECT_EQ(r.own_lookups(), 11);  // include, 5 a, 2 mx, 2 ptr, exists
}

TEST(SpfRecord, MechanismNamesAreCaseInsensitive) {
    auto r = parsed("v=spf1 IP4:192.0.2.1 MX -ALL");
    EXPECT_EQ(r.mechanisms[0].kind, MechanismKind::ip4);
    EXPECT_EQ(r.mechanisms[2].kind, MechanismKind::all);
}

TEST(SpfRecord, CidrLengthsAreRangeCheckedWithoutLeadingZeros) {
    parsed("v=spf1 ip4:0.0.0.0/0 ip4:1.2.3.4/32 ip6:::/0 ip6:::1/128 a/0//0");
    refused("v=spf1 ip4:1.2.3.4/33");
    refused("v=spf1 ip4:1.2.3.4/032");
    refused("v=spf1 ip4:1.2.3.4/");
    refused("v=spf1 ip4:1.2.3.4//32");
    refused("v=spf1 ip6:::1/129");
    refused("v=spf1 ip6:::1//64");
    refused("v=spf1 a/33");
    refused("v=spf1 a//129");
    refused("v=spf1 a/24/64");
    refused("v=spf1 mx//064");
}

TEST(SpfRecord, NetworksMustBeFullAddresses) {
    refused("v=spf1 ip4:1.2.3");
    refused("v=spf1 ip4:1.2.3.4:8080");
    refused("v=spf1 ip4:01.2.3.4");
    refused("v=spf1 ip4:256.1.1.1");
    refused("v=spf1 ip4:[1.2.3.4]");
    refused("v=spf1 ip4");
    refused("v=spf1 ip4:2001:db8::1");
    refused("v=spf1 ip6");
    refused("v=spf1 ip6:1.2.3.4");
    refused("v=spf1 ip6::CAFE::BABE");
    auto r = parsed("v=spf1 ip6:::FFFF:1.2.3.4 ip6:Cafe:Babe:8000::/33");
    EXPECT_EQ(r.mechanisms[1].cidr6, 33);
}

TEST(SpfRecord, DomainSpecEndsInMacroOrTopLabel) {
    parsed("v=spf1 a:foo.example.xn--zckzah a:example.com. a:foo:bar/baz.example.com "
           "a:%{d} include:%{d2}.example a:x.%{h}");
    refused("v=spf1 a:foo-bar", "top-level");
    refused("v=spf1 a:museum");
    refused("v=spf1 a:museum.");
    refused("v=spf1 a:111.222.33.44");
    refused("v=spf1 a:abc.123");
    refused("v=spf1 a:example.-com");
    refused("v=spf1 a:example.com:8080");
    refused("v=spf1 a:");
    refused("v=spf1 include");
    refused("v=spf1 include:");
    refused("v=spf1 exists");
    refused("v=spf1 exists:mail.example.com/24");
    refused("v=spf1 include:example.com/24");
    refused("v=spf1 ptr:");
    refused("v=spf1 ptr/0");
}

TEST(SpfRecord, AllTakesNothing) {
    refused("v=spf1 -all.");
    refused("v=spf1 -all:foobar");
    refused("v=spf1 -all/8");
    refused("v=spf1 allx");
}

TEST(SpfRecord, Modifiers) {
    auto r = parsed("v=spf1 -all exp=explain.%{d} Redirect=_spf.example.com moo.cow-far_out=man:dog/cat");
    ASSERT_TRUE(r.exp && r.redirect);
    EXPECT_EQ(r.exp->value, "explain.%{d}");
    EXPECT_EQ(r.redirect->name, "redirect");
    ASSERT_EQ(r.unknown_modifiers.size(), 1u);
    EXPECT_EQ(r.unknown_modifiers[0].name, "moo.cow-far_out");
    EXPECT_TRUE(r.has_all());
    EXPECT_EQ(r.own_lookups(), 0);  // redirect with all is never used
    parsed("v=spf1 default=pass");
}

TEST(SpfRecord, ModifierErrors) {
    refused("v=spf1 redirect=a.example.com redirect=b.example.com", "twice");
    refused("v=spf1 exp=a.example.com exp=b.example.com", "twice");
    refused("v=spf1 exp=");
    refused("v=spf1 redirect=");
    refused("v=spf1 exp=-all");
    refused("v=spf1 redirect:example.com");
    refused("v=spf1 =all");
    refused("v=spf1 1up=foo");
    refused("v=spf1 moo.cow/far_out=man:dog/cat");
    refused("v=spf1 foo=%abc");
    refused("v=spf1 exp=%{r}.example.com", "explanation");
}

TEST(SpfRecord, MacroSyntaxIsCheckedInDomainSpecs) {
    refused("v=spf1 exists:%(ir).sbl.example.com");
    refused("v=spf1 exists:foo%.sbl.example.com");
    refused("v=spf1 a:%{a}.example.com");
    refused("v=spf1 a:%{d0}.example.com");
    refused("v=spf1 a:%{d");
    parsed("v=spf1 a:macro%%percent%_%_space%-url-space.example.com");
}

TEST(SpfRecord, NonAsciiControlCharactersAndTabsAreRefusedWithPosition) {
    auto r = parse_record("v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().reason.find("7-bit ASCII"), std::string::npos);
    EXPECT_EQ(r.error().where.offset, 7u);
    EXPECT_EQ(r.error().where.column, 8u);
    refused("v=spf1 a:ctrl.example.com\rptr -all", "spaces only");
    refused("v=spf1 ip4:192.0.2.5\n include:x.example.com");
    refused("v=spf1 a\t-all");
    refused(std::string_view("v=spf1 a:foo.example.com\0", 25));
    auto unknown = parse_record("v=spf1 a mx moo -all");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().where.offset, 12u);
    EXPECT_NE(unknown.error().reason.find("\"moo\""), std::string::npos);
}

TEST(SpfRecord, OverlongRecordIsALimitNotACrash) {
    std::string text = "v=spf1";
    while (text.size() < 9000) text += " ip4:192.0.2.1";
    auto r = parse_record(text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
}

TEST(SpfRecord, ResultNames) {
    EXPECT_EQ(to_string(SpfResult::permerror), "permerror");
    EXPECT_EQ(parse_result("SoftFail"), SpfResult::softfail);
    EXPECT_EQ(parse_result("hardfail"), std::nullopt);
    EXPECT_EQ(symbol(Qualifier::softfail), '~');
    EXPECT_EQ(result_of(Qualifier::neutral), SpfResult::neutral);
}

// detail::RecordCache: check_host() parses each distinct record text once per process.

TEST(RecordCache, GivesTheSameParseForTheSameText) {
    detail::RecordCache cache(8);
    const auto first = cache.get("v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all");
    const auto second = cache.get("v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all");
    EXPECT_EQ(first.get(), second.get());
    ASSERT_TRUE(first->parsed.has_value());
    EXPECT_EQ(first->parsed->mechanisms.size(), 3u);
    EXPECT_EQ(first->text, "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all");
    // The macro-free include target is worked out once, with the record.
    ASSERT_EQ(first->targets.size(), 3u);
    EXPECT_FALSE(first->targets[0].has_value());
    EXPECT_EQ(first->targets[1], std::optional<std::string>("_spf.example.com"));
    const auto stats = cache.stats();
    EXPECT_EQ(stats.misses, 1u);
    EXPECT_EQ(stats.hits, 1u);
}

TEST(RecordCache, KeepsErrorsAndMacroTargetsAsParsingWould) {
    detail::RecordCache cache(8);
    const auto bad = cache.get("v=spf1 foo:bar -all");
    ASSERT_FALSE(bad->parsed.has_value());
    EXPECT_EQ(bad->parsed.error().reason, parse_record("v=spf1 foo:bar -all").error().reason);
    EXPECT_EQ(cache.get("v=spf1 foo:bar -all").get(), bad.get());
    const auto macro = cache.get("v=spf1 exists:%{i}.in.example redirect=Other.Example.");
    ASSERT_TRUE(macro->parsed.has_value());
    EXPECT_FALSE(macro->targets[0].has_value());  // expanded per message
    EXPECT_EQ(macro->redirect_target, std::optional<std::string>("other.example"));
}

TEST(RecordCache, EvictsTheLeastRecentlyUsedPastItsEntryBound) {
    detail::RecordCache cache(2);
    const auto a = cache.get("v=spf1 a -all");
    (void)cache.get("v=spf1 mx -all");
    EXPECT_EQ(cache.get("v=spf1 a -all").get(), a.get());  // a is now the most recent
    (void)cache.get("v=spf1 ptr -all");                      // evicts mx
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.stats().evictions, 1u);
    EXPECT_EQ(cache.get("v=spf1 a -all").get(), a.get());  // still held
    const auto misses = cache.stats().misses;
    (void)cache.get("v=spf1 mx -all");  // parsed again
    EXPECT_EQ(cache.stats().misses, misses + 1);
    EXPECT_EQ(cache.size(), 2u);
}

TEST(RecordCache, IsBoundedByTextOctets) {
    const std::string one = "v=spf1 ip4:192.0.2.1 -all", two = "v=spf1 ip4:192.0.2.2 -all";
    detail::RecordCache cache(100, one.size() + two.size() + 1);
    (void)cache.get(one);
    (void)cache.get(two);
    EXPECT_EQ(cache.octets(), one.size() + two.size());
    (void)cache.get("v=spf1 ip4:192.0.2.3 -all");  // does not fit beside both
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_LE(cache.octets(), one.size() + two.size() + 1);
    // A text longer than the whole budget is compiled but not kept.
    const std::string long_text = "v=spf1 " + std::string(60, 'a').insert(0, "include:") + ".example -all";
    detail::RecordCache tiny(100, 10);
    EXPECT_TRUE(tiny.get(long_text)->parsed.has_value());
    EXPECT_EQ(tiny.size(), 0u);
}

TEST(RecordCache, IsConsistentUnderThreads) {
    detail::RecordCache cache;  // default size: sharded
    constexpr int threads = 8, texts = 300, rounds = 20;
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                for (int i = 0; i < texts; ++i) {
                    const int n = (i + t * 17 + r) % texts;
                    const auto text = "v=spf1 ip4:10.0." + std::to_string(n / 250) + "." +
                                      std::to_string(n % 250) + " -all";
                    const auto got = cache.get(text);
                    if (got->text != text || !got->parsed || got->parsed->mechanisms.size() != 2)
                        ++wrong;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(cache.size(), static_cast<std::size_t>(texts));
    const auto stats = cache.stats();
    EXPECT_EQ(stats.hits + stats.misses, static_cast<std::uint64_t>(threads * rounds * texts));
}

}  // namespace
}  // namespace rampart::spf

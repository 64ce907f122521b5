// The identify layer over in-memory zones and the real SQLite store on ":memory:": reverse DNS
// with forward confirmation, the provider by published SPF ranges, by PTR pattern and by DKIM
// d= domain, the store cache (hits cost no query, expiry asks again), DNS failure (the stale
// entry, marked, and a short expiry) and offline analysis from the cache alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dns/zone.hpp"
#include "senders/senders.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rampart::senders {
namespace {

using namespace std::chrono_literals;
using dns::RrType;

// A catalogue of made-up providers: "bigmail" (a mailbox provider whose users forward) and
// "bigwork" (the hosted platform) publish the same ranges, as Gmail and Google Workspace do;
// bigmail comes first so that catalogue order alone would pick the wrong one.
constexpr std::string_view catalogue_text = R"(
[[provider]]
id = "mailco"
name = "MailCo"
kind = "esp"
spf_includes = ["_spf.mailco.test"]
ptr_patterns = ["out-*.mailco.test"]
dkim_domains = ["mailco-dkim.test"]

[[provider]]
id = "bigmail"
name = "BigMail"
kind = "mailbox-provider"
forwarder = true
spf_includes = ["_spf.big.test"]
ptr_patterns = ["mx-*.big.test"]
dkim_domains = ["big.test"]

[[provider]]
id = "bigwork"
name = "Big Workspace"
kind = "mailbox-platform"
spf_includes = ["_spf.big.test"]
ptr_patterns = ["mx-*.big.test"]

[[provider]]
id = "listed"
name = "Listed"
kind = "esp"
ip_ranges = ["100.64.0.0/16"]
)";

IpAddress ip(std::string_view text) {
    auto a = IpAddress::parse(text);
    RAMPART_ASSERT(a.has_value());
    return *a;
}

std::string reverse(std::string_view text) { return dns::reverse_name(ip(text)); }

dns::Zone sample_zone() {
    dns::Zone z;
    // Host bits in "ip4:198.51.100.77/24" are legal SPF and mean the whole /24.
    z.add_txt("_spf.mailco.test", "v=spf1 ip4:198.51.100.77/24 include:_spf2.mailco.test -all");
    z.add_txt("_spf2.mailco.test", "v=spf1 ip6:2001:db8:77::/48 -ip4:198.51.101.0/24 ~all");
    z.add_txt("_spf.big.test", "v=spf1 ip4:203.0.113.0/24 -all");

    z.add_name(reverse("198.51.100.10"), RrType::ptr, "out-1.mailco.test");
    z.add_a("out-1.mailco.test", "198.51.100.10");
    z.add_name(reverse("192.0.2.1"), RrType::ptr, "mail.acme.test");
    z.add_a("mail.acme.test", "192.0.2.1");
    z.add_name(reverse("192.0.2.2"), RrType::ptr, "fake.acme.test");
    z.add_a("fake.acme.test", "192.0.2.99");
    z.add_name(reverse("192.0.2.3"), RrType::ptr, "out-9.mailco.test");
    z.add_a("out-9.mailco.test", "192.0.2.3");
    z.add_name(reverse("192.0.2.4"), RrType::ptr, "out-5.mailco.test");  // no A: unconfirmed
    z.add_name(reverse("203.0.113.5"), RrType::ptr, "mx-5.big.test");
    z.add_a("mx-5.big.test", "203.0.113.5");
    z.add_name(reverse("2001:db8:77::25"), RrType::ptr, "out-6.mailco.test");
    z.add_a("out-6.mailco.test", "2001:db8:77::25");
    z.fail(reverse("192.0.2.66"), dns::Status::timeout);
    return z;
}

class Identify : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = store::open_sqlite(":memory:");
        ASSERT_TRUE(s.has_value()) << s.error().describe();
        store_ = std::move(*s);
        auto c = catalogue::Catalogue::parse(catalogue_text, "test catalogue");
        ASSERT_TRUE(c.has_value()) << c.error().describe();
        catalogue_ = std::move(*c);
    }

    /// A new Identifier, as each analysis run makes one: what it knows comes from the store.
    Identifier identifier(dns::Resolver* resolver, IdentifyOptions options = {}) {
        return Identifier(
            *store_, resolver, catalogue_, [this] { return now_; }, options);
    }

    store::SourceIdentity identify(Identifier& id, std::string_view address,
                                   const std::vector<std::string>& dkim = {}) {
        auto r = id.identify(ip(address), dkim);
        EXPECT_TRUE(r.has_value()) << r.error().describe();
        return r.value_or(store::SourceIdentity{});
    }

    std::unique_ptr<store::Store> store_;
    catalogue::Catalogue catalogue_;
    Timestamp now_ = std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} + 10h;
    dns::Zone zone_ = sample_zone();
    dns::ZoneResolver resolver_{zone_};
};

TEST_F(Identify, ForwardConfirmedPtrWithoutProvider) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.1");
    EXPECT_EQ(r.ip, "192.0.2.1");
    EXPECT_EQ(r.ptr, "mail.acme.test");
    EXPECT_TRUE(r.forward_confirmed);
    EXPECT_EQ(r.provider, "");
    EXPECT_FALSE(r.dns_failed);
    EXPECT_EQ(r.resolved_at, now_);
    EXPECT_EQ(r.expires_at, now_ + IdentifyOptions{}.identity_ttl);
    EXPECT_FALSE(id.degraded());
}

TEST_F(Identify, PtrThatDoesNotResolveBackIsNotConfirmed) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.2");
    EXPECT_EQ(r.ptr, "fake.acme.test");
    EXPECT_FALSE(r.forward_confirmed);
}

TEST_F(Identify, ProviderByFlattenedSpfRanges) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "198.51.100.10");
    EXPECT_EQ(r.provider, "mailco");
    EXPECT_EQ(r.basis, "spf");
    EXPECT_TRUE(r.forward_confirmed);
    // The ip6 term of the nested include counts too.
    auto v6 = identify(id, "2001:db8:77::25");
    EXPECT_EQ(v6.provider, "mailco");
    EXPECT_EQ(v6.basis, "spf");
    // The flattened set is cached under the provider's id.
    auto cached = store_->provider_networks("mailco");
    ASSERT_TRUE(cached.has_value()) << cached.error().describe();
    ASSERT_TRUE(cached->has_value());
    std::vector<std::string> nets;
    for (const auto& n : (*cached)->networks) nets.push_back(n.to_string());
    EXPECT_EQ(nets, (std::vector<std::string>{"198.51.100.0/24", "2001:db8:77::/48"}));
    EXPECT_EQ((*cached)->expires_at, now_ + IdentifyOptions{}.ranges_ttl);
}

TEST_F(Identify, CatalogueRangesAreIpRangeBasis) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "100.64.3.4");
    EXPECT_EQ(r.provider, "listed");
    EXPECT_EQ(r.basis, "ip-range");
}

TEST_F(Identify, SharedRangesPreferTheProviderThatIsNotAForwarder) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "203.0.113.5");
    EXPECT_EQ(r.provider, "bigwork");
    EXPECT_EQ(r.basis, "spf");
}

TEST_F(Identify, ProviderByConfirmedPtrPattern) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.3");
    EXPECT_EQ(r.ptr, "out-9.mailco.test");
    EXPECT_TRUE(r.forward_confirmed);
    EXPECT_EQ(r.provider, "mailco");
    EXPECT_EQ(r.basis, "ptr");
}

TEST_F(Identify, UnconfirmedPtrNamesNoProvider) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.4");
    EXPECT_EQ(r.ptr, "out-5.mailco.test");
    EXPECT_FALSE(r.forward_confirmed);
    EXPECT_EQ(r.provider, "");
}

TEST_F(Identify, ProviderByDkimDomainWhenNothingElseNamesOne) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.5", {"acme.test", "x.mailco-dkim.test"});
    EXPECT_FALSE(r.ptr.has_value());
    EXPECT_EQ(r.provider, "mailco");
    EXPECT_EQ(r.basis, "dkim");
    auto none = identify(id, "192.0.2.6", {"acme.test"});
    EXPECT_EQ(none.provider, "");
}

TEST_F(Identify, IncludeRangesFlattenTheTreeAndAreCached) {
    auto id = identifier(&resolver_);
    auto r = id.include_ranges("_spf.mailco.test");
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    std::vector<std::string> nets;
    for (const auto& n : *r) nets.push_back(n.to_string());
    // -ip4 names addresses that do NOT send: left out.
    EXPECT_EQ(nets, (std::vector<std::string>{"198.51.100.0/24", "2001:db8:77::/48"}));
    auto cached = store_->provider_networks("spf:_spf.mailco.test");
    ASSERT_TRUE(cached.has_value()) << cached.error().describe();
    ASSERT_TRUE(cached->has_value());
    EXPECT_EQ((*cached)->networks, *r);

    // A later run within the TTL asks DNS nothing.
    auto before = resolver_.queries();
    auto again = identifier(&resolver_).include_ranges("_spf.mailco.test");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *r);
    EXPECT_EQ(resolver_.queries(), before);
}

TEST_F(Identify, CacheHitWithinTtlAsksNothing) {
    auto first = identifier(&resolver_);
    auto a = identify(first, "192.0.2.1");
    const auto after_first = resolver_.queries();
    EXPECT_GT(after_first, 0u);

    now_ += 6 * 24h;  // within the week, past the ranges' day: the identity is all it needs
    auto second = identifier(&resolver_);
    auto b = identify(second, "192.0.2.1");
    EXPECT_EQ(resolver_.queries(), after_first);
    EXPECT_EQ(b.ptr, a.ptr);
    EXPECT_EQ(b.resolved_at, a.resolved_at);
    EXPECT_EQ(b.expires_at, a.expires_at);
}

TEST_F(Identify, ExpiredEntryIsLookedUpAgain) {
    auto first = identifier(&resolver_);
    auto a = identify(first, "192.0.2.1");
    const auto after_first = resolver_.queries();

    now_ += IdentifyOptions{}.identity_ttl + 1s;
    auto second = identifier(&resolver_);
    auto b = identify(second, "192.0.2.1");
    EXPECT_GT(resolver_.queries(), after_first);
    EXPECT_EQ(b.resolved_at, now_);
    EXPECT_EQ(b.expires_at, now_ + IdentifyOptions{}.identity_ttl);
    EXPECT_EQ(b.ptr, a.ptr);
}

TEST_F(Identify, DnsFailureWithoutCacheIsUnidentifiedAndRetriedSoon) {
    auto id = identifier(&resolver_);
    auto r = identify(id, "192.0.2.66");
    EXPECT_TRUE(r.dns_failed);
    EXPECT_FALSE(r.ptr.has_value());
    EXPECT_EQ(r.provider, "");
    EXPECT_TRUE(id.degraded());
    auto stored = store_->identity("192.0.2.66");
    ASSERT_TRUE(stored.has_value()) << stored.error().describe();
    ASSERT_TRUE(stored->has_value());
    EXPECT_EQ((*stored)->expires_at, now_ + IdentifyOptions{}.failure_ttl);
}

TEST_F(Identify, DnsFailureReturnsTheStaleEntryMarked) {
    auto first = identifier(&resolver_);
    auto good = identify(first, "192.0.2.3");
    ASSERT_EQ(good.provider, "mailco");

    // A week later DNS times out for everything.
    now_ += IdentifyOptions{}.identity_ttl + 1h;
    dns::Zone broken;
    broken.fail(reverse("192.0.2.3"), dns::Status::timeout);
    dns::ZoneResolver broken_resolver(broken);
    auto second = identifier(&broken_resolver);
    auto r = identify(second, "192.0.2.3");
    EXPECT_TRUE(second.degraded());
    EXPECT_TRUE(r.dns_failed);
    EXPECT_EQ(r.ptr, "out-9.mailco.test");
    EXPECT_TRUE(r.forward_confirmed);
    EXPECT_EQ(r.provider, "mailco");
    EXPECT_EQ(r.basis, "ptr");
    EXPECT_EQ(r.resolved_at, good.resolved_at);
    EXPECT_EQ(r.expires_at, now_ + IdentifyOptions{}.failure_ttl);
}

TEST_F(Identify, OfflineUsesTheCacheEvenExpiredAndAsksNothing) {
    auto first = identifier(&resolver_);
    auto a = identify(first, "198.51.100.10");
    ASSERT_EQ(a.provider, "mailco");
    const auto queries = resolver_.queries();

    now_ += 30 * 24h;  // identity and ranges long expired
    auto offline = identifier(&resolver_, IdentifyOptions{.offline = true});
    auto b = identify(offline, "198.51.100.10");
    EXPECT_EQ(b.ptr, "out-1.mailco.test");
    EXPECT_EQ(b.provider, "mailco");
    EXPECT_EQ(b.expires_at, a.expires_at);

    // Never seen, but inside mailco's cached ranges: identified without DNS, and not stored.
    auto c = identify(offline, "198.51.100.200");
    EXPECT_EQ(c.provider, "mailco");
    EXPECT_EQ(c.basis, "spf");
    EXPECT_FALSE(c.ptr.has_value());
    auto stored = store_->identity("198.51.100.200");
    ASSERT_TRUE(stored.has_value()) << stored.error().describe();
    EXPECT_FALSE(stored->has_value());

    auto d = identify(offline, "192.0.2.1");
    EXPECT_FALSE(d.ptr.has_value());
    EXPECT_EQ(d.provider, "");
    EXPECT_EQ(resolver_.queries(), queries);
    EXPECT_FALSE(offline.degraded());
}

TEST_F(Identify, NullResolverIsOffline) {
    auto id = identifier(nullptr);
    auto r = identify(id, "192.0.2.5", {"mailco-dkim.test"});
    EXPECT_EQ(r.provider, "mailco");
    EXPECT_EQ(r.basis, "dkim");
    EXPECT_FALSE(r.ptr.has_value());
}

TEST_F(Identify, FailedRangesAreNotCachedAndMarkTheRunDegraded) {
    dns::Zone z = sample_zone();
    z.fail("_spf.big.test", dns::Status::servfail);
    dns::ZoneResolver resolver(z);
    auto id = identifier(&resolver);
    auto r = identify(id, "203.0.113.5");
    EXPECT_TRUE(id.degraded());
    // The PTR still names the platform; only the ranges were missing.
    EXPECT_EQ(r.provider, "bigwork");
    EXPECT_EQ(r.basis, "ptr");
    auto cached = store_->provider_networks("bigwork");
    ASSERT_TRUE(cached.has_value()) << cached.error().describe();
    EXPECT_FALSE(cached->has_value());
    // An address nothing identified while DNS was failing is retried soon.
    auto unknown = identify(id, "192.0.2.1");
    EXPECT_EQ(unknown.expires_at, now_ + IdentifyOptions{}.failure_ttl);
}

}  // namespace
}  // namespace rampart::senders

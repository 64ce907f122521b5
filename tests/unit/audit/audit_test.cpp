// The live audit on in-memory zones: at least one case per finding code, the selector rules,
// the concurrency of many domains, and the fix table covering every code emitted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "audit/audit.hpp"
#include "dns/zone.hpp"
#include "unit/audit/sample_domains.hpp"

namespace rampart::audit {
namespace {

namespace samples = test::audit_samples;
using dns::RrType;

std::string codes_of(const DomainAudit& a) {
    std::vector<std::string> codes;
    for (const auto& f : a.findings) codes.push_back(fmt::format("{}:{}", to_string(f.severity), f.code));
    return fmt::format("{}", fmt::join(codes, ", "));
}

const Finding* find(const DomainAudit& a, std::string_view code) {
    auto it = std::ranges::find(a.findings, code, &Finding::code);
    return it == a.findings.end() ? nullptr : &*it;
}

std::size_t count_code(const DomainAudit& a, std::string_view code) {
    return static_cast<std::size_t>(std::ranges::count(a.findings, code, &Finding::code));
}

class AuditTest : public ::testing::Test {
protected:
    /// Audits `domain` on the zone built so far, checking what every audit must satisfy: each
    /// finding has a fix from the table and a message, and findings are sorted by severity.
    DomainAudit audit(std::string_view domain) {
        dns::ZoneResolver resolver(zone);
        auto a = audit_domain(resolver, domain, options);
        const auto generic = fix_for("no-such-code");
        for (const auto& f : a.findings) {
            EXPECT_NE(f.fix, generic) << "no fix in the table for " << f.code;
            EXPECT_FALSE(f.message.empty()) << f.code;
        }
        EXPECT_TRUE(std::ranges::is_sorted(a.findings, {}, &Finding::severity)) << codes_of(a);
        return a;
    }

    /// A mail domain with everything in order, to which each test adds one problem.
    void good_domain(const std::string& d, bool with_spf = true, bool with_dmarc = true) {
        if (with_spf) zone.add_txt(d, "v=spf1 ip4:192.0.2.0/24 -all");
        if (with_dmarc) zone.add_txt("_dmarc." + d, "v=DMARC1; p=reject; rua=mailto:dmarc@" + d);
        zone.add_txt("selector1._domainkey." + d, samples::rsa_key_record(samples::rsa2048));
        zone.add_mx(d, 10, "mx." + d).add_a("mx." + d, "192.0.2.25");
    }

    dns::Zone zone;
    AuditOptions options;
};

// ---------------------------------------------------------------------------------------------
// A clean domain, a missing one, a bad name, DNS failure

TEST_F(AuditTest, CleanDomainHasNoErrorsOrWarnings) {
    zone = samples::sample_zone();
    auto a = audit("clean.test");
    EXPECT_TRUE(a.exists);
    EXPECT_EQ(a.count(Severity::error), 0u) << codes_of(a);
    EXPECT_EQ(a.count(Severity::warning), 0u) << codes_of(a);
    ASSERT_TRUE(a.spf);
    EXPECT_EQ(a.spf->total_lookups, 3);  // include, and below it include + a
    ASSERT_TRUE(a.dmarc);
    EXPECT_EQ(a.dmarc->policy, "reject");
    EXPECT_EQ(a.dmarc->found_at, "clean.test");
    EXPECT_FALSE(a.dmarc->inherited);
    ASSERT_EQ(a.dmarc->rua.size(), 1u);
    EXPECT_TRUE(a.dmarc->rua[0].external);
    EXPECT_TRUE(a.dmarc->rua[0].authorised);
    EXPECT_EQ(a.dmarc->rua[0].authorisation_name, "clean.test._report._dmarc.provider.test");
    ASSERT_EQ(a.dkim.size(), 1u);
    EXPECT_EQ(a.dkim[0].selector, "google");
    EXPECT_EQ(a.dkim[0].key_type, "rsa");
    EXPECT_EQ(a.dkim[0].key_bits, 2048);
    ASSERT_EQ(a.mx.size(), 2u);
    EXPECT_EQ(a.mx[0].exchange, "mx.provider.test");
}

TEST_F(AuditTest, NonexistentDomainIsOneClearError) {
    zone = samples::sample_zone();
    auto a = audit("nowhere.test");
    EXPECT_FALSE(a.exists);
    ASSERT_EQ(a.findings.size(), 1u) << codes_of(a);
    EXPECT_EQ(a.findings[0].code, "domain-nxdomain");
    EXPECT_EQ(a.findings[0].severity, Severity::error);
    EXPECT_NE(a.findings[0].message.find("nowhere.test"), std::string::npos);
    EXPECT_FALSE(a.spf);
    EXPECT_FALSE(a.dmarc);
}

TEST_F(AuditTest, InvalidNameIsAFindingNotACrash) {
    const std::vector<std::string> bad_names{"", "exa mple..com", std::string(300, 'a'),
                                             "caf\xc3\xa9.example"};
    for (const auto& bad : bad_names) {
        auto a = audit(bad);
        ASSERT_EQ(a.findings.size(), 1u) << bad;
        EXPECT_EQ(a.findings[0].code, "domain-invalid");
        EXPECT_EQ(a.findings[0].severity, Severity::error);
        EXPECT_FALSE(a.exists);
    }
}

TEST_F(AuditTest, NameIsNormalized) {
    good_domain("example.com");
    auto a = audit("  Example.COM. ");
    EXPECT_EQ(a.domain, "example.com");
    EXPECT_TRUE(a.exists);
}

TEST_F(AuditTest, TimeoutIsTemperror) {
    good_domain("example.com");
    zone.fail("example.com", dns::Status::timeout);
    auto a = audit("example.com");
    ASSERT_NE(find(a, "dns-temperror"), nullptr) << codes_of(a);
    EXPECT_EQ(find(a, "dns-temperror")->severity, Severity::error);
    EXPECT_NE(find(a, "spf-temperror"), nullptr) << codes_of(a);
    EXPECT_EQ(find(a, "domain-nxdomain"), nullptr);
}

TEST_F(AuditTest, DmarcServfailIsTemperrorNotMissing) {
    good_domain("example.com");
    zone.fail("_dmarc.example.com", dns::Status::servfail);
    auto a = audit("example.com");
    const auto* f = find(a, "dns-temperror");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_NE(f->message.find("_dmarc.example.com"), std::string::npos) << f->message;
    EXPECT_EQ(find(a, "dmarc-missing"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// SPF

TEST_F(AuditTest, TwelveLookupsSayWhereTheLimitWasPassed) {
    good_domain("example.com", false);
    // 2 includes at the top; each include below costs 1 + 5 a: terms = 12 in all.
    zone.add_txt("example.com", "v=spf1 include:_spf1.example.com include:_spf2.example.com -all");
    for (int i = 1; i <= 2; ++i) {
        std::string terms;
        for (int j = 1; j <= 5; ++j) {
            auto host = fmt::format("h{}-{}.example.com", i, j);
            zone.add_a(host, "192.0.2.10");
            terms += " a:" + host;
        }
        zone.add_txt(fmt::format("_spf{}.example.com", i), "v=spf1" + terms + " ~all");
    }
    auto a = audit("example.com");
    ASSERT_TRUE(a.spf);
    EXPECT_EQ(a.spf->total_lookups, 12);
    const auto* f = find(a, "spf-too-many-lookups");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
    // The 11th look-up is the fourth a: term of the second include.
    EXPECT_NE(f->message.find("_spf2.example.com"), std::string::npos) << f->message;
    EXPECT_NE(a.spf->limit_exceeded_at.find("_spf2.example.com"), std::string::npos);
}

TEST_F(AuditTest, PlusAll) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 +all");
    auto a = audit("example.com");
    ASSERT_NE(find(a, "spf-plus-all"), nullptr) << codes_of(a);
    EXPECT_EQ(find(a, "spf-plus-all")->severity, Severity::error);
}

TEST_F(AuditTest, NeutralAll) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 ?all");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "spf-neutral-all"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, NoAll) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "spf-no-all"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, Ptr) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ptr -all");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "spf-ptr"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, TwoSpfRecords) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
    zone.add_txt("example.com", "v=spf1 include:_spf.google.com ~all");
    auto a = audit("example.com");
    const auto* f = find(a, "spf-multiple-records");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
}

TEST_F(AuditTest, DeadInclude) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 include:_spf.oldvendor.example -all");
    auto a = audit("example.com");
    const auto* f = find(a, "spf-include-missing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_NE(f->message.find("_spf.oldvendor.example"), std::string::npos) << f->message;
}

TEST_F(AuditTest, ThreeVoidLookups) {
    good_domain("example.com", false);
    zone.add_txt("example.com",
                 "v=spf1 a:gone1.example.com a:gone2.example.com mx:gone3.example.com -all");
    auto a = audit("example.com");
    ASSERT_NE(find(a, "spf-void-lookups"), nullptr) << codes_of(a);
    ASSERT_TRUE(a.spf);
    EXPECT_EQ(a.spf->total_void_lookups, 3);
}

TEST_F(AuditTest, TheSameProblemReachedTwiceIsOneFinding) {
    good_domain("example.com", false);
    zone.add_txt("example.com",
                 "v=spf1 include:_spf.a.example.com include:_spf.b.example.com -all");
    zone.add_txt("_spf.a.example.com", "v=spf1 include:_spf.b.example.com ~all");
    zone.add_txt("_spf.b.example.com", "v=spf1 a:gone.example.com ~all");
    auto a = audit("example.com");
    const auto stale = std::ranges::count_if(a.findings, [](const Finding& f) {
        return f.code == "spf-void-lookup" && f.message.find("gone.example.com") != std::string::npos;
    });
    EXPECT_EQ(stale, 1) << codes_of(a);
}

TEST_F(AuditTest, MissingSpf) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "google-site-verification=abc");
    auto a = audit("example.com");
    const auto* f = find(a, "spf-missing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(count_code(a, "spf-missing"), 1u);
}

TEST_F(AuditTest, SpfSyntax) {
    good_domain("example.com", false);
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.300 -all");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "spf-syntax"), nullptr) << codes_of(a);
}

// ---------------------------------------------------------------------------------------------
// DMARC

TEST_F(AuditTest, DmarcMissing) {
    good_domain("example.com", true, false);
    auto a = audit("example.com");
    const auto* f = find(a, "dmarc-missing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
    EXPECT_FALSE(a.dmarc);
}

TEST_F(AuditTest, PolicyNoneWhileMonitoringIsInfo) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:dmarc@example.com");
    auto a = audit("example.com");
    const auto* f = find(a, "dmarc-policy-none");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::info);
    EXPECT_EQ(a.dmarc->policy, "none");
    EXPECT_EQ(find(a, "dmarc-no-rua"), nullptr);
}

TEST_F(AuditTest, PolicyNoneWithoutReportsIsAWarning) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    auto a = audit("example.com");
    ASSERT_NE(find(a, "dmarc-policy-none"), nullptr) << codes_of(a);
    EXPECT_EQ(find(a, "dmarc-policy-none")->severity, Severity::warning);
    ASSERT_NE(find(a, "dmarc-no-rua"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, Pct) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@example.com");
    auto a = audit("example.com");
    ASSERT_NE(find(a, "dmarc-pct"), nullptr) << codes_of(a);
    EXPECT_EQ(count_code(a, "dmarc-pct"), 1u);
    EXPECT_EQ(a.dmarc->pct, 25);
}

TEST_F(AuditTest, ExternalRuaUnauthorised) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:reports@vendor.example");
    auto a = audit("example.com");
    const auto* f = find(a, "dmarc-external-rua-unauthorised");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
    EXPECT_NE(f->message.find("example.com._report._dmarc.vendor.example"), std::string::npos)
        << f->message;
    ASSERT_EQ(a.dmarc->rua.size(), 1u);
    EXPECT_TRUE(a.dmarc->rua[0].external);
    EXPECT_FALSE(a.dmarc->rua[0].authorised);
}

TEST_F(AuditTest, ExternalRuaAuthorised) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:reports@vendor.example");
    zone.add_txt("example.com._report._dmarc.vendor.example", "v=DMARC1;");
    auto a = audit("example.com");
    EXPECT_EQ(find(a, "dmarc-external-rua-unauthorised"), nullptr) << codes_of(a);
    ASSERT_EQ(a.dmarc->rua.size(), 1u);
    EXPECT_TRUE(a.dmarc->rua[0].external);
    EXPECT_TRUE(a.dmarc->rua[0].authorised);
}

TEST_F(AuditTest, ExternalRufUnauthorisedIsAWarning) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com",
                 "v=DMARC1; p=reject; rua=mailto:d@example.com; ruf=mailto:f@vendor.example");
    auto a = audit("example.com");
    const auto* f = find(a, "dmarc-external-ruf-unauthorised");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::warning);
}

TEST_F(AuditTest, InheritedFromOrganizationalDomain) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com",
                 "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com");
    zone.add_txt("mail.example.com", "v=spf1 -all");
    zone.add_mx("mail.example.com", 0, ".");
    auto a = audit("mail.example.com");
    const auto* f = find(a, "dmarc-inherited");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::info);
    ASSERT_TRUE(a.dmarc);
    EXPECT_TRUE(a.dmarc->inherited);
    EXPECT_EQ(a.dmarc->source, "organizational domain");
    EXPECT_EQ(a.dmarc->found_at, "example.com");
    EXPECT_EQ(a.dmarc->policy, "quarantine");  // sp= applies to an existing subdomain
    EXPECT_EQ(a.dmarc->org_domain, "example.com");
    EXPECT_EQ(a.dmarc->org_domain_psl, "example.com");
    EXPECT_EQ(find(a, "dmarc-org-domain-disagreement"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, SeveralDmarcRecords) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com");
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    auto a = audit("example.com");
    const auto* f = find(a, "dmarc-multiple-records");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
    // Receivers discard both, so no policy applies, but that is said once.
    EXPECT_EQ(find(a, "dmarc-missing"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, OrgDomainDisagreement) {
    // A subdomain with its own record and none at the registrable domain: the tree walk makes
    // the subdomain its own Organizational Domain, the PSL says example.com.
    zone.add_txt("example.com", "v=spf1 -all");
    good_domain("shop.example.com");
    auto a = audit("shop.example.com");
    const auto* f = find(a, "dmarc-org-domain-disagreement");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(a.dmarc->org_domain, "shop.example.com");
    EXPECT_EQ(a.dmarc->org_domain_psl, "example.com");
}

TEST_F(AuditTest, DmarcSyntaxAndInvalidPolicy) {
    good_domain("example.com", true, false);
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=x; rua=mailto:d@example.com");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "dmarc-syntax"), nullptr) << codes_of(a);

    zone = {};
    good_domain("example.org", true, false);
    zone.add_txt("_dmarc.example.org", "v=DMARC1; p=block");
    auto b = audit("example.org");
    EXPECT_NE(find(b, "dmarc-policy-invalid"), nullptr) << codes_of(b);
    EXPECT_NE(find(b, "dmarc-missing"), nullptr) << codes_of(b);  // no rua: not applied
}

// ---------------------------------------------------------------------------------------------
// DKIM

const DkimKey* key_at(const DomainAudit& a, std::string_view selector) {
    auto it = std::ranges::find(a.dkim, selector, &DkimKey::selector);
    return it == a.dkim.end() ? nullptr : &*it;
}

TEST_F(AuditTest, Rsa2048IsFine) {
    good_domain("example.com");
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "selector1"), nullptr);
    EXPECT_EQ(key_at(a, "selector1")->key_bits, 2048);
    for (const auto& f : a.findings) EXPECT_FALSE(f.code.starts_with("dkim-")) << f.code;
}

TEST_F(AuditTest, Rsa1024IsWeak) {
    good_domain("example.com");
    zone.add_txt("s1._domainkey.example.com", samples::rsa_key_record(samples::rsa1024));
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "s1"), nullptr);
    EXPECT_EQ(key_at(a, "s1")->key_bits, 1024);
    const auto* f = find(a, "dkim-key-weak");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::warning);
    EXPECT_NE(f->message.find("s1._domainkey.example.com"), std::string::npos) << f->message;
}

TEST_F(AuditTest, Rsa512IsTooShort) {
    good_domain("example.com");
    zone.add_txt("default._domainkey.example.com", samples::rsa_key_record(samples::rsa512));
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "default"), nullptr);
    EXPECT_EQ(key_at(a, "default")->key_bits, 512);
    const auto* f = find(a, "dkim-key-too-short");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
}

TEST_F(AuditTest, RevokedKey) {
    good_domain("example.com");
    zone.add_txt("s2._domainkey.example.com", "v=DKIM1; k=rsa; p=");
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "s2"), nullptr);
    EXPECT_TRUE(key_at(a, "s2")->revoked);
    EXPECT_NE(find(a, "dkim-key-revoked"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, Ed25519KeyBesideRsa) {
    good_domain("example.com");
    zone.add_txt("k1._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + samples::ed25519);
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "k1"), nullptr);
    EXPECT_EQ(key_at(a, "k1")->key_type, "ed25519");
    EXPECT_EQ(key_at(a, "k1")->key_bits, 256);
    EXPECT_EQ(find(a, "dkim-ed25519-only"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, Ed25519Only) {
    zone.add_txt("example.com", "v=spf1 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
        .add_mx("example.com", 10, "mx.example.com")
        .add_txt("k1._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + samples::ed25519);
    auto a = audit("example.com");
    EXPECT_NE(find(a, "dkim-ed25519-only"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, TestingKey) {
    good_domain("example.com");
    zone.add_txt("mail._domainkey.example.com", "v=DKIM1; t=y; p=" + samples::rsa2048);
    auto a = audit("example.com");
    ASSERT_NE(key_at(a, "mail"), nullptr);
    EXPECT_TRUE(key_at(a, "mail")->testing);
    const auto* f = find(a, "dkim-key-testing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::warning);
}

TEST_F(AuditTest, Sha1OnlyKey) {
    good_domain("example.com");
    zone.add_txt("dkim._domainkey.example.com", "v=DKIM1; h=sha1; p=" + samples::rsa2048);
    auto a = audit("example.com");
    EXPECT_NE(find(a, "dkim-key-sha1-only"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, BrokenKeyRecordIsSyntax) {
    good_domain("example.com");
    zone.add_txt("google._domainkey.example.com", "v=DKIM1; p=abc; p=def");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "dkim-syntax"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, NoCommonSelectorAnswersIsAWarningNotAnErrorPerSelector) {
    zone.add_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
        .add_mx("example.com", 10, "mx.example.com");
    auto a = audit("example.com");
    EXPECT_TRUE(a.dkim.empty());
    const auto* f = find(a, "dkim-no-selector-found");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::warning);
    EXPECT_EQ(find(a, "dkim-key-missing"), nullptr) << codes_of(a);
    EXPECT_EQ(a.count(Severity::error), 0u) << codes_of(a);
}

TEST_F(AuditTest, NoKeyOnANonMailDomainIsInfo) {
    zone = samples::sample_zone();
    auto a = audit("parked.test");
    const auto* f = find(a, "dkim-no-selector-found");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::info);
    EXPECT_NE(find(a, "mx-null"), nullptr) << codes_of(a);
    EXPECT_EQ(a.count(Severity::error), 0u) << codes_of(a);
    EXPECT_EQ(a.count(Severity::warning), 0u) << codes_of(a);
}

TEST_F(AuditTest, GivenSelectorWithoutKeyIsAnError) {
    good_domain("example.com");
    options.selectors = {"selector1", "s2026"};
    auto a = audit("example.com");
    EXPECT_EQ(a.selectors_tried, (std::vector<std::string>{"selector1", "s2026"}));
    const auto* f = find(a, "dkim-key-missing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::error);
    EXPECT_NE(f->message.find("no key at s2026._domainkey.example.com"), std::string::npos);
    EXPECT_EQ(find(a, "dkim-no-selector-found"), nullptr);
}

TEST_F(AuditTest, WildcardTxtIsNotAKey) {
    good_domain("example.com");
    zone.add_txt("*._domainkey.example.com", "v=spf1 -all");
    auto a = audit("example.com");
    EXPECT_EQ(a.dkim.size(), 1u);  // selector1 only
    EXPECT_EQ(find(a, "dkim-syntax"), nullptr) << codes_of(a);
}

TEST_F(AuditTest, SelectorsQueriedConcurrentlyInOneBatch) {
    // Every selector is asked through one query_all call.
    struct Counting final : dns::Resolver {
        explicit Counting(dns::Resolver& r) : inner(r) {}
        dns::Answer query(std::string_view name, RrType type) override { return inner.query(name, type); }
        std::vector<dns::Answer> query_all(std::span<const Question> qs) override {
            std::lock_guard lock(mutex);
            batches.push_back(qs.size());
            std::vector<dns::Answer> out;
            for (const auto& q : qs) out.push_back(inner.query(q.name, q.type));
            return out;
        }
        dns::Resolver& inner;
        std::mutex mutex;
        std::vector<std::size_t> batches;
    };
    good_domain("example.com");
    dns::ZoneResolver zr(zone);
    Counting counting(zr);
    auto a = audit_domain(counting, "example.com", options);
    const auto selectors = selectors_to_try(options).size();
    EXPECT_NE(std::ranges::find(counting.batches, selectors + 1), counting.batches.end())
        << "MX and every selector in one batch";
    EXPECT_EQ(a.selectors_tried.size(), selectors);
}

// ---------------------------------------------------------------------------------------------
// Selector lists

TEST(Selectors, CommonListIsShortAndDatedOnesFollowToday) {
    EXPECT_EQ(common_selectors(std::nullopt).size(), 9u);
    auto today = std::chrono::sys_days{std::chrono::year{2026} / 1 / 15};
    auto with_dates = common_selectors(std::chrono::time_point_cast<std::chrono::seconds>(today));
    ASSERT_EQ(with_dates.size(), 12u);
    EXPECT_EQ(with_dates[9], "s202601");
    EXPECT_EQ(with_dates[10], "s202512");
    EXPECT_EQ(with_dates[11], "s202511");
}

TEST(Selectors, GivenReplaceConfiguredAndCommon) {
    AuditOptions o;
    o.configured_selectors = {"corp2026", "google"};
    auto tried = selectors_to_try(o);
    EXPECT_EQ(tried.front(), "corp2026");
    EXPECT_EQ(std::ranges::count(tried, "google"), 1);  // no duplicates
    o.selectors = {"Only", "only"};
    EXPECT_EQ(selectors_to_try(o), (std::vector<std::string>{"only"}));
}

// ---------------------------------------------------------------------------------------------
// MX

TEST_F(AuditTest, MxMissing) {
    zone.add_txt("example.com", "v=spf1 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
        .add_a("example.com", "192.0.2.1");
    auto a = audit("example.com");
    const auto* f = find(a, "mx-missing");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::warning);
    EXPECT_TRUE(a.mx.empty());
}

TEST_F(AuditTest, NullMx) {
    zone.add_txt("example.com", "v=spf1 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
        .add_mx("example.com", 0, ".");
    auto a = audit("example.com");
    const auto* f = find(a, "mx-null");
    ASSERT_NE(f, nullptr) << codes_of(a);
    EXPECT_EQ(f->severity, Severity::info);
    ASSERT_EQ(a.mx.size(), 1u);
    EXPECT_EQ(a.mx[0].exchange, "");
}

TEST_F(AuditTest, NullMxBesideOthers) {
    good_domain("example.com");
    zone.add_mx("example.com", 0, ".");
    auto a = audit("example.com");
    EXPECT_NE(find(a, "mx-null-mixed"), nullptr) << codes_of(a);
}

// ---------------------------------------------------------------------------------------------
// Many domains

TEST(AuditAll, KeepsInputOrderAndReportsProgress) {
    dns::Zone zone = samples::sample_zone();
    auto names = samples::generated_domains(zone, 200);
    names.insert(names.begin() + 50, "nowhere.test");
    names.push_back("not a domain");
    dns::ZoneResolver resolver(zone);
    std::vector<std::size_t> seen;
    std::thread::id caller = std::this_thread::get_id();
    std::atomic<bool> off_thread{false};
    auto run = audit_all(resolver, names, {}, [&](std::size_t done, std::size_t total) {
        seen.push_back(done);  // calls come one at a time: no lock needed
        EXPECT_EQ(total, names.size());
        if (std::this_thread::get_id() != caller) off_thread = true;
    }, 16);
    ASSERT_EQ(run.domains.size(), names.size());
    for (std::size_t i = 0; i < names.size() - 1; ++i) EXPECT_EQ(run.domains[i].domain, names[i]);
    EXPECT_EQ(run.domains[50].findings.at(0).code, "domain-nxdomain");
    EXPECT_EQ(run.domains.back().findings.at(0).code, "domain-invalid");
    ASSERT_EQ(seen.size(), names.size());
    EXPECT_TRUE(std::ranges::is_sorted(seen));
    EXPECT_EQ(seen.back(), names.size());
    EXPECT_TRUE(off_thread.load());

    std::size_t errors = 0;
    for (const auto& d : run.domains) errors += d.count(Severity::error);
    EXPECT_EQ(run.errors, errors);
    // Every tenth generated domain is the broken one: +all, dead include, 512-bit key.
    EXPECT_NE(find(run.domains[9], "spf-plus-all"), nullptr) << codes_of(run.domains[9]);
    EXPECT_NE(find(run.domains[9], "spf-include-missing"), nullptr);
    EXPECT_NE(find(run.domains[9], "dkim-key-too-short"), nullptr);
    EXPECT_EQ(run.domains[0].count(Severity::error), 0u) << codes_of(run.domains[0]);
}

TEST(AuditAll, NoDomainsIsAnEmptyRun) {
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    auto run = audit_all(resolver, {}, {});
    EXPECT_TRUE(run.domains.empty());
    EXPECT_EQ(run.errors, 0u);
}

// ---------------------------------------------------------------------------------------------
// The fix table

TEST(Fixes, EveryListedCodeHasItsOwnFix) {
    const auto generic = fix_for("no-such-code");
    for (std::string_view code :
         {"spf-missing", "spf-multiple-records", "spf-too-many-lookups", "spf-void-lookups",
          "spf-plus-all", "spf-neutral-all", "spf-no-all", "spf-ptr", "spf-include-missing",
          "spf-syntax", "spf-temperror", "spf-loop", "spf-mx-too-many-names",
          "spf-record-too-long-udp", "spf-macro", "spf-redirect-ignored", "spf-depth",
          "spf-too-many-nodes", "dmarc-missing", "dmarc-syntax", "dmarc-policy-none",
          "dmarc-no-rua", "dmarc-pct", "dmarc-external-rua-unauthorised",
          "dmarc-multiple-records", "dmarc-org-domain-disagreement", "dkim-key-revoked",
          "dkim-key-weak", "dkim-key-too-short", "dkim-key-sha1-only", "dkim-key-testing",
          "dkim-no-selector-found", "mx-missing", "mx-null", "dns-temperror", "domain-nxdomain",
          "domain-invalid"}) {
        EXPECT_NE(fix_for(code), generic) << code;
        EXPECT_EQ(fix_for(code).find('\n'), std::string_view::npos) << code;
    }
}

}  // namespace
}  // namespace rampart::audit

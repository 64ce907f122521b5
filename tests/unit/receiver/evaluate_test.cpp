// receiver::evaluate_dmarc, the receiver's DMARC steps of RFC 9989 §5.3 without DNS:
// "If one or more of the Authenticated Identifiers align with the RFC5322.From domain, the
// message is considered to pass the DMARC mechanism check." (step 4); strict alignment is an
// exact match, relaxed the same Organizational Domain (§4.4.1–4.4.2); p for the Author Domain's
// own record, sp/np otherwise, t=y one level lower (step 6, §5.3.1); DNS failure → temperror
// (step 5). Every case of STANDARDS.md §10 "Alignment" and "Policy" has a test here.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dmarc/dmarc.hpp"
#include "message/message.hpp"
#include "receiver/receiver.hpp"

namespace {

using namespace rampart;
using dmarc::Policy;
using dmarc::PolicyTag;
using receiver::DmarcResult;

/// Organisational domains as a tree walk would give them, counting the questions.
struct FakeOrgDomains {
    std::map<std::string, std::string> orgs{
        {"example.com", "example.com"},
        {"mail.example.com", "example.com"},
        {"news.example.com", "example.com"},
        {"mx.example.com", "example.com"},
        {"esp.example", "esp.example"},
        {"bounce.esp.example", "esp.example"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"giant.bank.example", "giant.bank.example"},
        {"mail.giant.bank.example", "giant.bank.example"},
        {"mail.mega.bank.example", "mega.bank.example"},
    };
    std::set<std::string> failing;
    int asked = 0;

    receiver::OrgDomainOf function() {
        return [this](std::string_view name) -> Result<std::string> {
            ++asked;
            const std::string key(name);
            if (failing.contains(key)) return fail(Errc::transient, "SERVFAIL for _dmarc." + key);
            if (auto it = orgs.find(key); it != orgs.end()) return it->second;
            return key;  // no record anywhere: the name itself (§4.10.2 rule 4)
        };
    }
};

message::FromDomains from(std::string domain) {
    return {.domains = {std::move(domain)}, .fields = 1, .mailboxes = 1, .problem = ""};
}

message::FromDomains from_header(std::string_view header) {
    auto m = message::parse(std::string(header) + "\r\n\r\nbody\r\n");
    EXPECT_TRUE(m.has_value());
    return m ? message::from_domains(m->header) : message::FromDomains{};
}

/// A discovery as dmarc::discover_policy gives it for a record found at `policy_domain`.
dmarc::Discovery discovered(std::string_view author, std::string_view record_text,
                            PolicyTag tag = PolicyTag::p, std::string policy_domain = "",
                            std::string org = "") {
    dmarc::Discovery d;
    d.author_domain = std::string(author);
    auto record = dmarc::parse_record(record_text);
    EXPECT_TRUE(record.has_value());
    d.record = *record;
    d.tag = tag;
    d.policy_domain = policy_domain.empty() ? std::string(author) : policy_domain;
    d.organizational_domain = org.empty() ? d.policy_domain : org;
    d.source = tag == PolicyTag::p ? dmarc::PolicySource::author_domain
                                   : dmarc::PolicySource::organizational_domain;
    if (record->applies()) {
        d.policy = tag == PolicyTag::p    ? record->policy()
                   : tag == PolicyTag::sp ? record->subdomain_policy()
                                          : record->nonexistent_policy();
    }
    d.test_mode = record->test_mode();
    return d;
}

dkim::SignatureResult signature(std::string domain, dkim::Outcome outcome = dkim::Outcome::pass) {
    dkim::SignatureResult s;
    s.domain = std::move(domain);
    s.selector = "s1";
    s.result = outcome;
    return s;
}

receiver::SpfIdentity spf(std::string domain, spf::SpfResult result = spf::SpfResult::pass) {
    return {.result = result, .domain = std::move(domain)};
}

const receiver::SpfIdentity no_spf{};

class Evaluate : public ::testing::Test {
protected:
    receiver::DmarcEvaluation run(const message::FromDomains& f, const receiver::SpfIdentity& s,
                                  std::vector<dkim::SignatureResult> sigs,
                                  const Result<dmarc::Discovery>& d) {
        return receiver::evaluate_dmarc(f, s, sigs, d, orgs.function());
    }
    FakeOrgDomains orgs;
};

// ---- Alignment ------------------------------------------------------------------------------

TEST_F(Evaluate, RelaxedDkimAlignsThroughTheOrganizationalDomain) {
    auto e = run(from("example.com"), no_spf, {signature("mail.example.com")},
                 discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::pass);
    EXPECT_TRUE(e.dkim_aligned);
    EXPECT_FALSE(e.spf_aligned);
    EXPECT_EQ(e.aligned_dkim_domain, "mail.example.com");
    EXPECT_EQ(e.disposition, Policy::none);
    EXPECT_EQ(e.policy, Policy::reject);  // what would apply, even though it passed
    EXPECT_NE(e.reason.find("DKIM d=mail.example.com (relaxed)"), std::string::npos) << e.reason;
}

TEST_F(Evaluate, StrictDkimNeedsTheSameName) {
    auto e = run(from("example.com"), no_spf, {signature("mail.example.com")},
                 discovered("example.com", "v=DMARC1; p=reject; adkim=s"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.adkim, dmarc::Alignment::strict);
    EXPECT_EQ(e.disposition, Policy::reject);
    EXPECT_NE(e.reason.find("strict alignment needs the same name"), std::string::npos) << e.reason;
    EXPECT_EQ(orgs.asked, 0);  // strict mode never needs a tree walk
}

TEST_F(Evaluate, StrictComparisonIgnoresCaseAndTrailingDot) {
    auto d = discovered("example.com", "v=DMARC1; p=reject; adkim=s; aspf=s");
    EXPECT_EQ(run(from("example.com"), no_spf, {signature("EXAMPLE.Com")}, d).result,
              DmarcResult::pass);
    EXPECT_EQ(run(from("example.com"), spf("example.com."), {}, d).result, DmarcResult::pass);
    EXPECT_TRUE(receiver::same_domain("Example.COM.", "example.com"));
    EXPECT_FALSE(receiver::same_domain("example.com", "example.co"));
}

TEST_F(Evaluate, InternationalNamesCompareAsALabels) {
    auto d = discovered("xn--bcher-kva.example", "v=DMARC1; p=reject; adkim=s");
    auto e = run(from("xn--bcher-kva.example"), no_spf,
                 {signature("b\xc3\xbc"
                            "cher.example")},
                 d);
    EXPECT_EQ(e.result, DmarcResult::pass) << e.reason;
    EXPECT_EQ(e.aligned_dkim_domain, "xn--bcher-kva.example");
}

TEST_F(Evaluate, OneAlignedSignatureAmongSeveralIsEnough) {
    auto e = run(from("example.com"), no_spf,
                 {signature("esp.example"), signature("example.com", dkim::Outcome::fail),
                  signature("news.example.com")},
                 discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::pass);
    EXPECT_EQ(e.aligned_dkim_domain, "news.example.com");
}

TEST_F(Evaluate, FailedSignatureOfTheAuthorDomainDoesNotCount) {
    auto e = run(from("example.com"), no_spf, {signature("example.com", dkim::Outcome::fail)},
                 discovered("example.com", "v=DMARC1; p=quarantine"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.disposition, Policy::quarantine);
    EXPECT_NE(e.reason.find("DKIM fail for d=example.com (only a pass counts)"), std::string::npos)
        << e.reason;
}

TEST_F(Evaluate, PassingSignatureWithTestModeKeyCounts) {
    auto s = signature("example.com");
    s.key_testing = true;  // t=y on the key: still a verified signature (receiver.hpp, Choices)
    auto e = run(from("example.com"), no_spf, {s}, discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::pass);
    EXPECT_TRUE(e.dkim_aligned);
}

TEST_F(Evaluate, SpfPassForAnUnalignedMailFromDoesNotCount) {
    auto e = run(from("example.com"), spf("bounce.esp.example"), {signature("esp.example")},
                 discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_FALSE(e.spf_aligned);
    EXPECT_EQ(e.spf_domain, "bounce.esp.example");
    EXPECT_NE(e.reason.find("SPF passed for bounce.esp.example, but bounce.esp.example belongs "
                            "to esp.example, example.com to example.com"),
              std::string::npos)
        << e.reason;
}

TEST_F(Evaluate, SpfCountsOnlyAsAPass) {
    auto d = discovered("example.com", "v=DMARC1; p=reject");
    for (auto result : {spf::SpfResult::softfail, spf::SpfResult::neutral, spf::SpfResult::fail,
                        spf::SpfResult::temperror, spf::SpfResult::none}) {
        auto e = run(from("example.com"), spf("example.com", result), {}, d);
        EXPECT_EQ(e.result, DmarcResult::fail) << spf::to_string(result);
        EXPECT_TRUE(e.spf_domain.empty());
    }
    auto e = run(from("example.com"), spf("mail.example.com"), {}, d);
    EXPECT_EQ(e.result, DmarcResult::pass);
    EXPECT_TRUE(e.spf_aligned);
}

TEST_F(Evaluate, NullMailFromMeansTheHeloIdentity) {
    // A bounce (MAIL FROM:<>): SPF checked postmaster@mx.example.com, so the SPF-authenticated
    // domain is the HELO name, which aligns relaxed with example.com and strict with nothing.
    auto relaxed = run(from("example.com"), spf("mx.example.com"), {},
                       discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(relaxed.result, DmarcResult::pass);
    EXPECT_EQ(relaxed.spf_domain, "mx.example.com");
    auto strict = run(from("example.com"), spf("mx.example.com"), {},
                      discovered("example.com", "v=DMARC1; p=reject; aspf=s"));
    EXPECT_EQ(strict.result, DmarcResult::fail);
}

TEST_F(Evaluate, PsdExampleOfTheStandards) {
    // STANDARDS §2.3: author giant.bank.example; MAIL FROM mail.giant.bank.example aligns, DKIM
    // mail.mega.bank.example does not.
    auto d = discovered("giant.bank.example", "v=DMARC1; p=reject");
    auto e = run(from("giant.bank.example"), spf("mail.giant.bank.example"),
                 {signature("mail.mega.bank.example")}, d);
    EXPECT_EQ(e.result, DmarcResult::pass);
    EXPECT_TRUE(e.spf_aligned);
    EXPECT_FALSE(e.dkim_aligned);
}

TEST_F(Evaluate, OrganizationalDomainsAreAskedOncePerName) {
    auto e =
        run(from("example.com"), spf("bounce.esp.example"),
            {signature("esp.example"), signature("esp.example"), signature("bounce.esp.example")},
            discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    // bounce.esp.example and esp.example; example.com comes from the discovery.
    EXPECT_EQ(orgs.asked, 2);
}

// ---- From domains (RFC 9989 §5.3 step 1) ------------------------------------------------------

TEST_F(Evaluate, SeveralFromDomainsArePermerror) {
    auto f = from_header("From: a@example.com, b@other.example");
    ASSERT_EQ(f.domains.size(), 2u);
    auto e = run(f, spf("example.com"), {signature("example.com")},
                 fail(Errc::malformed, "not looked up"));
    EXPECT_EQ(e.result, DmarcResult::permerror);
    EXPECT_EQ(e.disposition, Policy::none);
    EXPECT_FALSE(e.policy.has_value());
    EXPECT_NE(e.reason.find("2 domains"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("exactly one From domain"), std::string::npos) << e.reason;
}

TEST_F(Evaluate, TwoFromFieldsArePermerror) {
    auto e = run(from_header("From: a@example.com\r\nFrom: b@example.com"), no_spf, {},
                 fail(Errc::malformed, "not looked up"));
    EXPECT_EQ(e.result, DmarcResult::permerror);
    EXPECT_NE(e.reason.find("2 From fields"), std::string::npos) << e.reason;
}

TEST_F(Evaluate, NoFromIsPermerror) {
    auto e = run(from_header("Subject: hello"), no_spf, {}, fail(Errc::malformed, "not looked up"));
    EXPECT_EQ(e.result, DmarcResult::permerror);
    EXPECT_EQ(e.from_domain, "");
    EXPECT_NE(e.reason.find("no From field"), std::string::npos) << e.reason;
}

TEST_F(Evaluate, UnusableAuthorDomainIsPermerror) {
    auto e = run(from("bad..example"), no_spf, {}, fail(Errc::malformed, "empty label"));
    EXPECT_EQ(e.result, DmarcResult::permerror);
    EXPECT_NE(e.reason.find("empty label"), std::string::npos);
}

// ---- Policy (RFC 9989 §5.3 steps 2, 5, 6) ----------------------------------------------------

TEST_F(Evaluate, NoPolicyRecordIsNone) {
    dmarc::Discovery d;
    d.author_domain = "example.com";
    d.explanation = "no DMARC record for example.com: DMARC does not apply";
    auto e = run(from("example.com"), no_spf, {}, d);
    EXPECT_EQ(e.result, DmarcResult::none);
    EXPECT_EQ(e.disposition, Policy::none);
    EXPECT_EQ(e.reason, d.explanation);
}

TEST_F(Evaluate, InvalidPolicyWithoutRuaIsNone) {
    auto e = run(from("example.com"), no_spf, {}, discovered("example.com", "v=DMARC1; p=bogus"));
    EXPECT_EQ(e.result, DmarcResult::none);
    EXPECT_FALSE(e.policy.has_value());
}

TEST_F(Evaluate, InvalidPolicyWithRuaActsAsNone) {
    auto e = run(from("example.com"), no_spf, {},
                 discovered("example.com", "v=DMARC1; p=bogus; rua=mailto:d@example.com"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.policy, Policy::none);
    EXPECT_EQ(e.disposition, Policy::none);
}

TEST_F(Evaluate, DiscoveryTemperrorIsTemperror) {
    dmarc::Discovery d;
    d.author_domain = "example.com";
    d.temperror = true;
    d.explanation = "DNS failure while discovering the policy for example.com: temperror";
    auto e = run(from("example.com"), no_spf, {signature("example.com")}, d);
    EXPECT_EQ(e.result, DmarcResult::temperror);
    EXPECT_EQ(e.disposition, Policy::none);
}

TEST_F(Evaluate, OrgDomainLookupFailureIsTemperrorUnlessSomethingAligned) {
    orgs.failing.insert("mail.example.com");
    auto d = discovered("example.com", "v=DMARC1; p=reject");
    auto e = run(from("example.com"), no_spf, {signature("mail.example.com")}, d);
    EXPECT_EQ(e.result, DmarcResult::temperror);
    EXPECT_EQ(e.disposition, Policy::none);
    EXPECT_NE(e.reason.find("SERVFAIL"), std::string::npos) << e.reason;

    auto aligned = run(from("example.com"), spf("example.com"), {signature("mail.example.com")}, d);
    EXPECT_EQ(aligned.result, DmarcResult::pass);
}

TEST_F(Evaluate, RejectPolicyOnFailure) {
    auto e = run(from("example.com"), spf("example.com", spf::SpfResult::fail), {},
                 discovered("example.com", "v=DMARC1; p=reject"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.policy, Policy::reject);
    EXPECT_EQ(e.policy_tag, PolicyTag::p);
    EXPECT_EQ(e.policy_domain, "example.com");
    EXPECT_EQ(e.disposition, Policy::reject);
}

TEST_F(Evaluate, SubdomainPolicyFromTheOrganizationalDomain) {
    auto d = discovered("news.example.com", "v=DMARC1; p=reject; sp=quarantine", PolicyTag::sp,
                        "example.com");
    auto e = run(from("news.example.com"), no_spf, {signature("esp.example")}, d);
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.policy_tag, PolicyTag::sp);
    EXPECT_EQ(e.policy, Policy::quarantine);
    EXPECT_EQ(e.policy_domain, "example.com");
    EXPECT_EQ(e.disposition, Policy::quarantine);
}

TEST_F(Evaluate, NonExistentSubdomainPolicy) {
    auto d = discovered("ghost.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject",
                        PolicyTag::np, "example.com");
    auto e = run(from("ghost.example.com"), no_spf, {}, d);
    EXPECT_EQ(e.policy_tag, PolicyTag::np);
    EXPECT_EQ(e.disposition, Policy::reject);
}

TEST_F(Evaluate, TestModeLowersTheDispositionOneLevel) {
    auto reject =
        run(from("example.com"), no_spf, {}, discovered("example.com", "v=DMARC1; p=reject; t=y"));
    EXPECT_TRUE(reject.test_mode);
    EXPECT_EQ(reject.policy, Policy::reject);
    EXPECT_EQ(reject.disposition, Policy::quarantine);
    auto quarantine = run(from("example.com"), no_spf, {},
                          discovered("example.com", "v=DMARC1; p=quarantine; t=y"));
    EXPECT_EQ(quarantine.disposition, Policy::none);
}

TEST_F(Evaluate, MonitoringPolicyNeverChangesHandling) {
    auto e = run(from("example.com"), no_spf, {}, discovered("example.com", "v=DMARC1; p=none"));
    EXPECT_EQ(e.result, DmarcResult::fail);
    EXPECT_EQ(e.disposition, Policy::none);
}

}  // namespace

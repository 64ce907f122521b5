// RFC 9989 §4.10 DNS Tree Walk, §4.10.1 policy discovery, §4.10.2 Organizational Domain (the
// worked examples of §4.10.2 and Appendix B.4), §5.3 step 6 (p / sp / np), RFC 7489 §3.2 (PSL),
// RFC 9990 §4 (external destinations).
#include <gtest/gtest.h>

#include "dmarc/dmarc.hpp"
#include "dns/zone.hpp"

namespace rampart::dmarc {
namespace {

std::vector<std::string> names_asked(const std::vector<Query>& queries) {
    std::vector<std::string> names;
    for (const auto& q : queries) names.push_back(q.name);
    return names;
}

OrgDomain org_of(const dns::Zone& zone, std::string_view name) {
    dns::ZoneResolver resolver(zone);
    auto org = org_domain_by_walk(resolver, name);
    EXPECT_TRUE(org.has_value()) << name;
    return org ? *org : OrgDomain{};
}

Discovery discover(const dns::Zone& zone, std::string_view author) {
    dns::ZoneResolver resolver(zone);
    auto d = discover_policy(resolver, author);
    EXPECT_TRUE(d.has_value()) << author;
    return d ? *d : Discovery{};
}

TEST(TreeWalk, SubdomainWithRecordsAtTwoLevelsTakesTheFewestLabels) {
    dns::Zone zone;
    zone.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto org = org_of(zone, "a.mail.example.com");
    EXPECT_EQ(org.name, "example.com");
    EXPECT_EQ(org.rule, OrgRule::fewest_labels);
    EXPECT_EQ(names_asked(org.walk.queries),
              (std::vector<std::string>{"_dmarc.a.mail.example.com", "_dmarc.mail.example.com",
                                        "_dmarc.example.com", "_dmarc.com"}));
}

TEST(TreeWalk, PsdNoStopsTheWalkAndNamesTheOrgDomain) {
    dns::Zone zone;
    zone.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none; psd=n")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns::ZoneResolver resolver(zone);
    const auto org = org_domain_by_walk(resolver, "a.mail.example.com");
    ASSERT_TRUE(org);
    EXPECT_EQ(org->name, "mail.example.com");
    EXPECT_EQ(org->rule, OrgRule::psd_no);
    EXPECT_EQ(org->walk.queries.size(), 2u);
    EXPECT_EQ(resolver.queries(), 2u);
}

TEST(TreeWalk, PsdYesAtTheTldMakesTheNameBelowItTheOrgDomain) {
    dns::Zone zone;
    zone.add_txt("_dmarc.com", "v=DMARC1; p=reject; psd=y");
    const auto org = org_of(zone, "a.mail.example.com");
    EXPECT_EQ(org.name, "example.com");
    EXPECT_EQ(org.rule, OrgRule::below_psd);
}

TEST(TreeWalk, AuthorAndSigningSubdomainShareTheOrgDomain) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject")
        .add_txt("_dmarc.signing.example.com", "v=DMARC1; p=none");
    EXPECT_EQ(org_of(zone, "example.com").name, "example.com");
    EXPECT_EQ(org_of(zone, "signing.example.com").name, "example.com");
}

TEST(TreeWalk, ThirteenLabelAuthorCostsEightQueries) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine");
    dns::ZoneResolver resolver(zone);
    const auto d = discover_policy(resolver, "a.b.c.d.e.f.g.h.i.j.k.example.com");
    ASSERT_TRUE(d);
    EXPECT_EQ(names_asked(d->queries),
              (std::vector<std::string>{
                  "_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com", "_dmarc.g.h.i.j.k.example.com",
                  "_dmarc.h.i.j.k.example.com", "_dmarc.i.j.k.example.com",
                  "_dmarc.j.k.example.com", "_dmarc.k.example.com", "_dmarc.example.com",
                  "_dmarc.com"}));
    EXPECT_EQ(d->policy_domain, "example.com");
    EXPECT_EQ(d->organizational_domain, "example.com");
    // _dmarc.<author> was NXDOMAIN, so one more query asks whether the author exists.
    EXPECT_EQ(resolver.queries(), 9u);
}

TEST(TreeWalk, EightLabelNameDropsOneLabelFirst) {
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    const auto w = walk(resolver, "a.b.c.d.e.f.example.com");
    ASSERT_TRUE(w);
    ASSERT_EQ(w->queries.size(), 8u);
    EXPECT_EQ(w->queries[1].name, "_dmarc.b.c.d.e.f.example.com");
}

TEST(TreeWalk, PsdBankExample) {
    dns::Zone zone;
    zone.add_txt("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y")
        .add_txt("_dmarc.giant.bank.example", "v=DMARC1; p=quarantine");
    const auto d = discover(zone, "giant.bank.example");
    EXPECT_EQ(d.source, PolicySource::author_domain);
    EXPECT_EQ(d.policy_domain, "giant.bank.example");
    EXPECT_EQ(d.organizational_domain, "giant.bank.example");
    EXPECT_EQ(d.policy, Policy::quarantine);
    EXPECT_EQ(org_of(zone, "mail.giant.bank.example").name, "giant.bank.example");
    EXPECT_EQ(org_of(zone, "mail.mega.bank.example").name, "mega.bank.example");
}

TEST(TreeWalk, DeepDelegationTrapSkipsThePsdNoRecord) {
    dns::Zone zone;
    zone.add_txt("_dmarc.b.c.d.e.f.g.example.com", "v=DMARC1; p=reject; psd=n")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    const auto org = org_of(zone, "mail.a.b.c.d.e.f.g.example.com");
    EXPECT_EQ(org.name, "example.com");
    for (const auto& q : org.walk.queries) EXPECT_NE(q.domain, "b.c.d.e.f.g.example.com");
    EXPECT_EQ(org.walk.queries[1].domain, "c.d.e.f.g.example.com");
}

TEST(TreeWalk, SeveralDmarcRecordsAtOneNameAreAllDiscarded) {
    dns::Zone zone;
    zone.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n")
        .add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none; psd=n")
        .add_txt("_dmarc.example.com", "v=spf1 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine");
    const auto d = discover(zone, "mail.example.com");
    ASSERT_EQ(d.queries.size(), 3u);
    EXPECT_EQ(d.queries[0].dmarc_texts.size(), 2u);
    EXPECT_FALSE(d.queries[0].record.has_value());
    EXPECT_TRUE(d.queries[1].record.has_value());  // the SPF string is not a DMARC record
    EXPECT_EQ(d.policy_domain, "example.com");
    EXPECT_EQ(d.source, PolicySource::organizational_domain);
    EXPECT_EQ(d.tag, PolicyTag::sp);
    EXPECT_EQ(d.policy, Policy::quarantine);
}

TEST(TreeWalk, DnsFailureIsTemperror) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject")
        .fail("_dmarc.mail.example.com", dns::Status::servfail);
    const auto d = discover(zone, "a.mail.example.com");
    EXPECT_TRUE(d.temperror);
    EXPECT_FALSE(d.policy.has_value());
    EXPECT_EQ(d.queries.size(), 2u);
    EXPECT_NE(d.explanation.find("temperror"), std::string::npos);
    const auto org = org_of(zone, "a.mail.example.com");
    EXPECT_TRUE(org.temperror);
    EXPECT_TRUE(org.name.empty());
}

TEST(TreeWalk, TimeoutAtTheAuthorIsTemperror) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject")
        .fail("_dmarc.example.com", dns::Status::timeout);
    const auto d = discover(zone, "example.com");
    EXPECT_TRUE(d.temperror);
    EXPECT_EQ(d.queries.size(), 1u);
}

TEST(TreeWalk, AuthorRecordStillAppliesWhenALaterQueryFails) {
    dns::Zone zone;
    zone.add_txt("_dmarc.mail.example.com", "v=DMARC1; p=reject")
        .fail("_dmarc.example.com", dns::Status::servfail);
    const auto d = discover(zone, "mail.example.com");
    EXPECT_FALSE(d.temperror);
    EXPECT_EQ(d.policy, Policy::reject);
    EXPECT_TRUE(d.organizational_domain.empty());
}

TEST(TreeWalk, CnameAtDmarcIsFollowed) {
    dns::Zone zone;
    zone.add_name("_dmarc.example.com", dns::RrType::cname, "example.com.dmarc.provider.net")
        .add_txt("example.com.dmarc.provider.net", "v=DMARC1; p=reject; rua=mailto:r@provider.net");
    const auto d = discover(zone, "example.com");
    EXPECT_EQ(d.policy, Policy::reject);
    EXPECT_EQ(d.queries[0].cname_chain.size(), 1u);
}

TEST(TreeWalk, RecordAtTheTldWithoutPsdMakesTheTldTheOrgDomain) {
    dns::Zone zone;
    zone.add_txt("_dmarc.com", "v=DMARC1; p=none");
    EXPECT_EQ(org_of(zone, "mail.example.com").name, "com");
}

TEST(TreeWalk, NoRecordAnywhereMakesTheNameItsOwnOrgDomain) {
    dns::Zone zone;
    const auto org = org_of(zone, "Mail.Example.COM.");
    EXPECT_EQ(org.name, "mail.example.com");
    EXPECT_EQ(org.rule, OrgRule::no_record);
}

TEST(TreeWalk, RefusesNamesDnsCannotCarry) {
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    for (const auto* name : {"", "b\xc3\xa4r.example", "a..example", ".example.com"}) {
        auto w = walk(resolver, name);
        ASSERT_FALSE(w.has_value()) << name;
        EXPECT_EQ(w.error().code, Errc::malformed);
    }
    EXPECT_EQ(resolver.queries(), 0u);
}

TEST(TreeWalk, LongStartNameIsNotAskedWithDmarcPrefix) {
    std::string name;
    for (int i = 0; i < 4; ++i) name += std::string(60, 'a') + ".";
    name += "example";  // 251 octets: "_dmarc." would make it 258
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    const auto w = walk(resolver, name);
    ASSERT_TRUE(w);
    EXPECT_NE(w->queries[0].detail.find("not queried"), std::string::npos);
    EXPECT_FALSE(w->temperror);
    EXPECT_EQ(resolver.queries(), w->queries.size() - 1);
}

// --- discovery: p / sp / np -----------------------------------------------------------------

TEST(Discovery, AuthorsOwnRecordUsesP) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none; t=y");
    const auto d = discover(zone, "example.com");
    EXPECT_EQ(d.source, PolicySource::author_domain);
    EXPECT_EQ(d.tag, PolicyTag::p);
    EXPECT_EQ(d.policy, Policy::reject);
    EXPECT_TRUE(d.test_mode);
    EXPECT_FALSE(d.author_exists.has_value());
    EXPECT_NE(d.explanation.find("apply quarantine"), std::string::npos) << d.explanation;
}

TEST(Discovery, ExistingSubdomainUsesSp) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none")
        .add_a("mail.example.com", "192.0.2.1");
    const auto d = discover(zone, "mail.example.com");
    EXPECT_EQ(d.tag, PolicyTag::sp);
    EXPECT_EQ(d.policy, Policy::quarantine);
    EXPECT_EQ(d.author_exists, true);
    ASSERT_TRUE(d.existence_answer.has_value());
}

TEST(Discovery, NonExistentSubdomainUsesNp) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject");
    const auto d = discover(zone, "nosuch.example.com");
    EXPECT_EQ(d.author_exists, false);
    EXPECT_EQ(d.tag, PolicyTag::np);
    EXPECT_EQ(d.policy, Policy::reject);
}

TEST(Discovery, EmptyNonTerminalExists) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject")
        .add_a("host.b.example.com", "192.0.2.1");
    const auto d = discover(zone, "b.example.com");
    EXPECT_EQ(d.author_exists, true);  // NODATA, not NXDOMAIN (RFC 8020)
    EXPECT_EQ(d.tag, PolicyTag::sp);
}

TEST(Discovery, NodataAtDmarcProvesTheAuthorExistsWithoutAnotherQuery) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none; np=reject")
        .add_a("_dmarc.sub.example.com", "192.0.2.1");
    dns::ZoneResolver resolver(zone);
    const auto d = discover_policy(resolver, "sub.example.com");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->author_exists, true);
    EXPECT_FALSE(d->existence_answer.has_value());
    EXPECT_EQ(resolver.queries(), 3u);
}

TEST(Discovery, ExistenceQueryFailureIsTemperror) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject").fail("x.example.com", dns::Status::servfail);
    const auto d = discover(zone, "x.example.com");
    EXPECT_TRUE(d.temperror);
    EXPECT_FALSE(d.policy.has_value());
}

TEST(Discovery, PsdRecordIsUsedOnlyWhenTheOrgDomainHasNone) {
    dns::Zone with_org;
    with_org.add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine; sp=none")
        .add_txt("_dmarc.com", "v=DMARC1; p=reject; psd=y")
        .add_a("a.example.com", "192.0.2.1");
    auto d = discover(with_org, "a.example.com");
    EXPECT_EQ(d.organizational_domain, "example.com");
    EXPECT_EQ(d.policy_domain, "example.com");
    EXPECT_EQ(d.policy, Policy::none);

    dns::Zone psd_only;
    psd_only.add_txt("_dmarc.com", "v=DMARC1; p=reject; sp=quarantine; psd=y")
        .add_a("a.example.com", "192.0.2.1");
    d = discover(psd_only, "a.example.com");
    EXPECT_EQ(d.organizational_domain, "example.com");
    EXPECT_EQ(d.source, PolicySource::public_suffix_domain);
    EXPECT_EQ(d.policy_domain, "com");
    EXPECT_EQ(d.policy, Policy::quarantine);
}

TEST(Discovery, NoRecordMeansDmarcDoesNotApply) {
    dns::Zone zone;
    const auto d = discover(zone, "example.com");
    EXPECT_EQ(d.source, PolicySource::none);
    EXPECT_FALSE(d.policy.has_value());
    EXPECT_FALSE(d.temperror);
    EXPECT_EQ(d.organizational_domain, "example.com");
}

TEST(Discovery, InvalidPolicyWithoutRuaDoesNotApply) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=strict");
    const auto d = discover(zone, "example.com");
    EXPECT_TRUE(d.record.has_value());
    EXPECT_FALSE(d.policy.has_value());
    EXPECT_NE(d.explanation.find("does not apply"), std::string::npos);
}

TEST(Discovery, InvalidPolicyWithRuaActsAsNone) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=strict; rua=mailto:r@example.com");
    EXPECT_EQ(discover(zone, "example.com").policy, Policy::none);
}

TEST(Discovery, SplitTxtStringsAreJoined) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com",
                 std::vector<std::string>{"v=DMARC1; p=rej", "ect; rua=mailto:r@example.com"});
    EXPECT_EQ(discover(zone, "example.com").policy, Policy::reject);
}

// --- PSL ------------------------------------------------------------------------------------

TEST(PslOrgDomain, RegistrableDomains) {
    EXPECT_EQ(org_domain_by_psl("mail.example.com"), "example.com");
    EXPECT_EQ(org_domain_by_psl("A.B.Example.CO.UK."), "example.co.uk");
    EXPECT_EQ(org_domain_by_psl("www.user.github.io"), "user.github.io");  // PRIVATE section
    EXPECT_EQ(org_domain_by_psl("com"), std::nullopt);
    EXPECT_EQ(org_domain_by_psl("co.uk"), std::nullopt);
    EXPECT_EQ(org_domain_by_psl(""), std::nullopt);
    EXPECT_EQ(org_domain_by_psl(".example.com"), std::nullopt);
    EXPECT_EQ(org_domain_by_psl("a..example.com"), std::nullopt);
    EXPECT_EQ(org_domain_by_psl("a b.example.com"), std::nullopt);
    EXPECT_FALSE(psl_source().empty());
}

TEST(OrgDomainComparison, AgreesWhenTheOrgDomainPublishes) {
    dns::Zone zone;
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    dns::ZoneResolver resolver(zone);
    const auto c = compare_org_domains(resolver, "mail.example.com");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->disagree) << c->explanation;
    EXPECT_EQ(c->by_psl, "example.com");
    EXPECT_EQ(c->by_walk.name, "example.com");
}

TEST(OrgDomainComparison, PsdNoBelowTheRegistrableDomainDisagrees) {
    dns::Zone zone;
    zone.add_txt("_dmarc.dept.example.com", "v=DMARC1; p=reject; psd=n")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    dns::ZoneResolver resolver(zone);
    const auto c = compare_org_domains(resolver, "mail.dept.example.com");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->disagree);
    EXPECT_EQ(c->by_psl, "example.com");
    EXPECT_EQ(c->by_walk.name, "dept.example.com");
    EXPECT_NE(c->explanation.find("dept.example.com"), std::string::npos) << c->explanation;
}

TEST(OrgDomainComparison, SubdomainOfAParentWithoutRecordDisagrees) {
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    const auto c = compare_org_domains(resolver, "www.example.com");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->disagree);
    EXPECT_EQ(c->by_walk.name, "www.example.com");
}

TEST(OrgDomainComparison, PublicSuffixItselfHasNoPslAnswer) {
    dns::Zone zone;
    zone.add_txt("_dmarc.co.uk", "v=DMARC1; p=reject; psd=y");
    dns::ZoneResolver resolver(zone);
    const auto c = compare_org_domains(resolver, "co.uk");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->by_psl, std::nullopt);
    EXPECT_TRUE(c->disagree);
}

TEST(OrgDomainComparison, TemperrorIsNotADisagreement) {
    dns::Zone zone;
    zone.fail("_dmarc.example.com", dns::Status::timeout);
    dns::ZoneResolver resolver(zone);
    const auto c = compare_org_domains(resolver, "mail.example.com");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->disagree);
    EXPECT_TRUE(c->by_walk.temperror);
}

// --- external destinations --------------------------------------------------------------------

TEST(ReportAuthorisation, QueryName) {
    EXPECT_EQ(report_authorisation_name("Blue.Example.COM", "red.example.net."),
              "blue.example.com._report._dmarc.red.example.net");
    EXPECT_FALSE(report_authorisation_name(std::string(200, 'a') + ".com",
                                           std::string(60, 'b') + ".net")
                     .has_value());
}

TEST(ReportAuthorisation, SameOrgDomainNeedsNoRecord) {
    dns::Zone zone;
    dns::ZoneResolver resolver(zone);
    const auto a = check_report_authorisation(resolver, "blue.example.com", "reports.example.com");
    EXPECT_FALSE(a.needed);
    EXPECT_TRUE(a.authorised);
    EXPECT_EQ(resolver.queries(), 0u);
}

TEST(ReportAuthorisation, ExternalDestinationWithRecord) {
    dns::Zone zone;
    zone.add_txt("blue.example.com._report._dmarc.red.example.net", "v=DMARC1;");
    dns::ZoneResolver resolver(zone);
    const auto a = check_report_authorisation(resolver, "blue.example.com", "red.example.net");
    EXPECT_TRUE(a.needed);
    EXPECT_TRUE(a.authorised) << a.explanation;
    EXPECT_EQ(a.records.size(), 1u);
}

TEST(ReportAuthorisation, WildcardAuthorisesEveryDomain) {
    dns::Zone zone;
    zone.add_txt("*._report._dmarc.vendor.example", "v=DMARC1");
    dns::ZoneResolver resolver(zone);
    EXPECT_TRUE(check_report_authorisation(resolver, "client.example", "vendor.example").authorised);
}

TEST(ReportAuthorisation, MissingOrNonDmarcRecordIsNotAuthorised) {
    dns::Zone zone;
    zone.add_txt("blue.example.com._report._dmarc.red.example.net", "v=spf1 -all");
    dns::ZoneResolver resolver(zone);
    const auto a = check_report_authorisation(resolver, "blue.example.com", "red.example.net");
    EXPECT_FALSE(a.authorised);
    EXPECT_FALSE(a.temperror);
    EXPECT_NE(a.explanation.find("must not send"), std::string::npos);
}

TEST(ReportAuthorisation, DnsFailureIsTemperror) {
    dns::Zone zone;
    zone.fail("blue.example.com._report._dmarc.red.example.net", dns::Status::servfail);
    dns::ZoneResolver resolver(zone);
    const auto a = check_report_authorisation(resolver, "blue.example.com", "red.example.net");
    EXPECT_TRUE(a.temperror);
    EXPECT_FALSE(a.authorised);
}

}  // namespace
}  // namespace rampart::dmarc

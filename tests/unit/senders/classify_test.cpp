// The pure classification layer on hand-built inputs: the grouping order (declared ips with the
// most specific block winning, declared ranges, provider, passing DKIM, identified provider, PTR
// base, address block), every class with its edges (the passing threshold, retired senders,
// overdue plans, Google Workspace ranges shared with Gmail forwarders, spoofed subdomains, a
// selector that stopped passing, weak and missing keys), and the built-in catalogue's guidance
// in the actions.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mail/mail.hpp"
#include "senders/senders.hpp"
#include "service/service.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support.hpp"

namespace rampart::senders {
namespace {

using namespace std::chrono_literals;
using report::AuthVerdict;
using report::DmarcVerdict;
using report::OverrideType;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr std::string_view domain = "acme.example";

Network net(std::string_view text) {
    auto n = parse_network(text);
    RAMPART_ASSERT(n.has_value());
    return *n;
}

sys_days day(int y, unsigned m, unsigned d) {
    return sys_days(
        year_month_day{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)});
}

// Rows shaped like the roll-up rows the store hands back.

/// Aligned and passing both ways: the domain's own envelope and signature.
store::SourceFacts passing_row(std::string ip, std::uint64_t n, std::string selector = "s1") {
    return {.policy_domain = std::string(domain),
            .header_from = std::string(domain),
            .source_ip = std::move(ip),
            .envelope_from = std::string(domain),
            .spf_domain = std::string(domain),
            .spf_result = AuthVerdict::pass,
            .dkim = {{std::string(domain), std::move(selector), AuthVerdict::pass}},
            .dmarc_dkim = DmarcVerdict::pass,
            .dmarc_spf = DmarcVerdict::pass,
            .disposition = report::Disposition::none,
            .messages = n};
}

/// Fails SPF and carries no signature.
store::SourceFacts spoof_row(std::string ip, std::uint64_t n,
                             std::string from = std::string(domain)) {
    return {.policy_domain = std::string(domain),
            .header_from = std::move(from),
            .source_ip = std::move(ip),
            .envelope_from = std::string(domain),
            .spf_domain = std::string(domain),
            .spf_result = AuthVerdict::fail,
            .dmarc_dkim = DmarcVerdict::fail,
            .dmarc_spf = DmarcVerdict::fail,
            .disposition = report::Disposition::quarantine,
            .messages = n};
}

/// Authenticated under the vendor's own domains: SPF for its bounce domain, DKIM as its d=.
store::SourceFacts vendor_row(std::string ip, std::uint64_t n, std::string d, std::string bounce) {
    return {.policy_domain = std::string(domain),
            .header_from = std::string(domain),
            .source_ip = std::move(ip),
            .envelope_from = bounce,
            .spf_domain = bounce,
            .spf_result = AuthVerdict::pass,
            .dkim = {{std::move(d), "s1", AuthVerdict::pass}},
            .dmarc_dkim = DmarcVerdict::fail,
            .dmarc_spf = DmarcVerdict::fail,
            .disposition = report::Disposition::quarantine,
            .messages = n};
}

/// A mailing list: the envelope is the list's, the domain's signature broke on the footer.
store::SourceFacts list_row(std::string ip, std::uint64_t n) {
    return {.policy_domain = std::string(domain),
            .header_from = std::string(domain),
            .source_ip = std::move(ip),
            .envelope_from = "lists.example.org",
            .spf_domain = "lists.example.org",
            .spf_result = AuthVerdict::pass,
            .dkim = {{std::string(domain), "s1", AuthVerdict::fail}},
            .dmarc_dkim = DmarcVerdict::fail,
            .dmarc_spf = DmarcVerdict::fail,
            .disposition = report::Disposition::none,
            .overrides = {OverrideType::mailing_list},
            .messages = n};
}

config::SenderConfig declared(std::string name, std::vector<std::string> ips = {},
                              std::optional<std::string> provider = std::nullopt) {
    config::SenderConfig s{.name = std::move(name), .provider = std::move(provider)};
    for (const auto& text : ips) s.ips.push_back(net(text));
    return s;
}

config::ClientConfig client(std::vector<config::SenderConfig> senders) {
    return {.name = "acme",
            .domains = {std::string(domain), "news.acme.example"},
            .senders = std::move(senders)};
}

ClassifyInput input(const config::ClientConfig* c, std::vector<store::SourceFacts> facts) {
    return {.domain = std::string(domain),
            .since = Timestamp(sys_days(day(2026, 11, 1))),
            .until = Timestamp(sys_days(day(2026, 11, 20))),
            .client = c,
            .facts = std::move(facts)};
}

store::SourceIdentity identity(std::string ip, std::string provider,
                               std::optional<std::string> ptr = std::nullopt,
                               bool confirmed = true) {
    return {.ip = std::move(ip),
            .ptr = std::move(ptr),
            .forward_confirmed = confirmed,
            .provider = std::move(provider)};
}

const Sender& sender(const Analysis& a, std::string_view name) {
    auto it = std::ranges::find(a.senders, name, &Sender::name);
    if (it == a.senders.end()) {
        std::string names;
        for (const auto& s : a.senders) names += "\"" + s.name + "\" ";
        ADD_FAILURE() << "no sender \"" << name << "\" among " << names;
        static const Sender none{};
        return none;
    }
    return *it;
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// ---- codes ------------------------------------------------------------------------------------

TEST(SenderClassCodes, RoundTripAndRejectUnknownText) {
    const std::vector<std::pair<SenderClass, std::string_view>> all = {
        {SenderClass::passing, "passing"},
        {SenderClass::not_aligned, "not_aligned"},
        {SenderClass::forwarded, "forwarded"},
        {SenderClass::dkim_broken, "dkim_broken"},
        {SenderClass::subdomain_spoof, "subdomain_spoof"},
        {SenderClass::unauthorised, "unauthorised"},
        {SenderClass::unknown_passing, "unknown_passing"},
    };
    for (const auto& [cls, code] : all) {
        EXPECT_EQ(to_string(cls), code);
        EXPECT_EQ(parse_sender_class(code), cls) << code;
    }
    EXPECT_EQ(parse_sender_class("Passing"), std::nullopt);
    EXPECT_EQ(parse_sender_class("unauthorized"), std::nullopt);
    EXPECT_EQ(parse_sender_class(""), std::nullopt);
}

// ---- grouping ---------------------------------------------------------------------------------

TEST(Classify, DeclaredIpsGroupSourcesIntoOnePassingSender) {
    auto c = client({declared("Office mail", {"192.0.2.0/24"})});
    auto in = input(&c, {passing_row("192.0.2.26", 500), passing_row("192.0.2.25", 1000),
                         passing_row("192.0.2.25", 20)});
    in.first_seen = {{"192.0.2.25", day(2026, 3, 4)}, {"192.0.2.26", day(2025, 12, 1)}};
    const auto a = classify(in);
    ASSERT_EQ(a.senders.size(), 1u);
    const auto& s = a.senders.front();
    EXPECT_EQ(s.name, "Office mail");
    EXPECT_TRUE(s.known);
    EXPECT_EQ(s.sources, (std::vector<std::string>{"192.0.2.25", "192.0.2.26"}));
    EXPECT_EQ(s.messages, 1520u);
    EXPECT_EQ(s.dmarc_pass, 1520u);
    EXPECT_EQ(s.spf_aligned, 1520u);
    EXPECT_EQ(s.dkim_aligned, 1520u);
    EXPECT_EQ(s.cls, SenderClass::passing);
    EXPECT_EQ(s.action, "Nothing to do.");
    EXPECT_EQ(s.header_from, (std::vector<std::string>{"acme.example"}));
    EXPECT_EQ(s.first_seen, day(2025, 12, 1));
    EXPECT_EQ(a.messages, 1520u);
    EXPECT_EQ(a.dmarc_pass, 1520u);
}

TEST(Classify, MostSpecificDeclaredBlockWins) {
    // Declared out of order so that declaration order alone would pick the wrong sender.
    auto c = client({declared("Printer", {"192.0.2.130"}), declared("Office", {"192.0.2.0/24"}),
                     declared("Relay", {"192.0.2.128/25"})});
    const auto a =
        classify(input(&c, {passing_row("192.0.2.130", 10), passing_row("192.0.2.140", 20),
                            passing_row("192.0.2.5", 30)}));
    EXPECT_EQ(sender(a, "Printer").sources, std::vector<std::string>{"192.0.2.130"});
    EXPECT_EQ(sender(a, "Relay").sources, std::vector<std::string>{"192.0.2.140"});
    EXPECT_EQ(sender(a, "Office").sources, std::vector<std::string>{"192.0.2.5"});
}

TEST(Classify, DeclaredRangesThenProviderWithRegionSpec) {
    auto c = client({declared("Transactional", {}, "amazon-ses"), declared("Mail", {}, "zoho:eu")});
    auto in = input(&c, {passing_row("198.51.100.7", 40), passing_row("203.0.113.9", 60)});
    in.sender_ranges = {{"Transactional", {net("198.51.100.0/26")}}};
    in.identities = {{"203.0.113.9", identity("203.0.113.9", "zoho")}};
    const auto a = classify(in);
    ASSERT_EQ(a.senders.size(), 2u);
    EXPECT_EQ(sender(a, "Transactional").sources, std::vector<std::string>{"198.51.100.7"});
    EXPECT_EQ(sender(a, "Transactional").provider, "amazon-ses");
    EXPECT_EQ(sender(a, "Mail").sources, std::vector<std::string>{"203.0.113.9"});
    EXPECT_EQ(sender(a, "Mail").provider, "zoho");
    EXPECT_TRUE(sender(a, "Mail").known);
}

TEST(Classify, PassingDomainSignatureGroupsOnlyWhenItPassedAndTheReturnPathFits) {
    auto news = declared("Newsletter");
    news.dkim_domains = {"acme.example"};
    news.return_path_domains = {"bounce.acme.example"};
    auto c = client({news});

    auto own = passing_row("198.51.100.20", 300);
    own.envelope_from = own.spf_domain = "bounce.acme.example";
    // A spoofer claiming the same d= with a signature that does not verify.
    auto forged = spoof_row("198.51.100.21", 50);
    forged.envelope_from = "bounce.acme.example";
    forged.dkim = {{"acme.example", "s1", AuthVerdict::fail}};
    // A passing signature, but a Return-Path the sender never uses: some other service.
    auto other = passing_row("198.51.100.22", 70);
    other.envelope_from = other.spf_domain = "mailer.example.com";

    const auto a = classify(input(&c, {own, forged, other}));
    EXPECT_EQ(sender(a, "Newsletter").sources, std::vector<std::string>{"198.51.100.20"});
    EXPECT_EQ(sender(a, "Newsletter").cls, SenderClass::passing);
    // Both others fall to the address block, undeclared.
    const auto& rest = sender(a, "unknown: 198.51.100.0/24");
    EXPECT_EQ(rest.sources, (std::vector<std::string>{"198.51.100.21", "198.51.100.22"}));
    EXPECT_FALSE(rest.known);
}

TEST(Classify, IdentifiedProviderIsOneSenderNamedByTheCatalogue) {
    auto in = input(nullptr, {passing_row("198.51.100.40", 10), passing_row("198.51.100.41", 5)});
    in.identities = {{"198.51.100.40", identity("198.51.100.40", "sendgrid")},
                     {"198.51.100.41", identity("198.51.100.41", "sendgrid")}};
    const auto a = classify(in);
    ASSERT_EQ(a.senders.size(), 1u);
    EXPECT_EQ(a.senders[0].name, "Twilio SendGrid");
    EXPECT_EQ(a.senders[0].provider, "sendgrid");
    EXPECT_EQ(a.senders[0].sources.size(), 2u);
}

TEST(Classify, UnknownSourcesGroupByConfirmedPtrBase) {
    auto in = input(nullptr, {spoof_row("192.0.2.10", 5), spoof_row("198.51.100.10", 6),
                              spoof_row("203.0.113.10", 7), spoof_row("203.0.113.11", 8)});
    in.identities = {
        {"192.0.2.10", identity("192.0.2.10", "", "mta1.mail.example.net")},
        {"198.51.100.10", identity("198.51.100.10", "", "OUT-2.Example.NET")},
        // Not forward-confirmed: whoever controls the reverse zone can write any name there.
        {"203.0.113.10", identity("203.0.113.10", "", "mail-1.google.com", false)},
        {"203.0.113.11", identity("203.0.113.11", "", "smtp.example.co.uk")},
    };
    const auto a = classify(in);
    EXPECT_EQ(sender(a, "unknown: example.net").sources,
              (std::vector<std::string>{"192.0.2.10", "198.51.100.10"}));
    EXPECT_EQ(sender(a, "unknown: 203.0.113.0/24").sources,
              std::vector<std::string>{"203.0.113.10"});
    EXPECT_EQ(sender(a, "unknown: example.co.uk").sources,
              std::vector<std::string>{"203.0.113.11"});
    EXPECT_EQ(a.senders.size(), 3u);
}

TEST(Classify, UnknownIpv6SourcesGroupBySlash48) {
    const auto a = classify(
        input(nullptr, {spoof_row("2001:db8:bad:1::1", 5), spoof_row("2001:db8:bad:ffff::2", 5),
                        spoof_row("2001:db8:bae::1", 3)}));
    ASSERT_EQ(a.senders.size(), 2u);
    EXPECT_EQ(sender(a, "unknown: 2001:db8:bad::/48").sources,
              (std::vector<std::string>{"2001:db8:bad:1::1", "2001:db8:bad:ffff::2"}));
    EXPECT_EQ(sender(a, "unknown: 2001:db8:bae::/48").messages, 3u);
}

TEST(Classify, SendersSortByMessagesThenName) {
    const auto a = classify(input(nullptr, {spoof_row("198.51.100.1", 5), spoof_row("192.0.2.1", 5),
                                            passing_row("203.0.113.1", 9)}));
    ASSERT_EQ(a.senders.size(), 3u);
    EXPECT_EQ(a.senders[0].name, "unknown: 203.0.113.0/24");
    EXPECT_EQ(a.senders[1].name, "unknown: 192.0.2.0/24");
    EXPECT_EQ(a.senders[2].name, "unknown: 198.51.100.0/24");
    EXPECT_EQ(a.messages, 19u);
    EXPECT_EQ(a.dmarc_pass, 9u);
    EXPECT_EQ(a.domain, "acme.example");
}

// ---- classes ----------------------------------------------------------------------------------

TEST(Classify, PassingThresholdIsNinetyEightPercent) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    auto at = classify(input(&c, {passing_row("192.0.2.1", 980), spoof_row("192.0.2.2", 20)}));
    EXPECT_EQ(at.senders.at(0).cls, SenderClass::passing);
    EXPECT_TRUE(contains(at.senders[0].explanation, "98%")) << at.senders[0].explanation;

    auto below = classify(input(&c, {passing_row("192.0.2.1", 979), spoof_row("192.0.2.2", 21)}));
    EXPECT_EQ(below.senders.at(0).cls, SenderClass::not_aligned);
}

TEST(Classify, PassingOnSpfAloneAsksForAlignedDkim) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    auto row = passing_row("192.0.2.1", 100);
    row.dkim.clear();
    row.dmarc_dkim = DmarcVerdict::fail;
    const auto a = classify(input(&c, {row}));
    EXPECT_EQ(a.senders.at(0).cls, SenderClass::passing);
    EXPECT_TRUE(contains(a.senders[0].action, "aligned DKIM")) << a.senders[0].action;
}

TEST(Classify, UndeclaredPassingSourceIsShadowIt) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    const auto a = classify(input(&c, {passing_row("198.51.100.77", 250)}));
    const auto& s = sender(a, "unknown: 198.51.100.0/24");
    EXPECT_EQ(s.cls, SenderClass::unknown_passing);
    EXPECT_FALSE(s.known);
    EXPECT_TRUE(contains(s.action, "declare it")) << s.action;
}

TEST(Classify, MailingListFailuresAreForwardedNotUnauthorised) {
    const auto a =
        classify(input(nullptr, {list_row("203.0.113.60", 90), spoof_row("203.0.113.60", 10)}));
    // The list's mail and the spoofed mail from the same block are two senders.
    const auto& s = sender(a, "forwarder: 203.0.113.0/24");
    EXPECT_EQ(s.cls, SenderClass::forwarded);
    EXPECT_EQ(s.forwarded, 90u);
    EXPECT_EQ(s.messages, 90u);
    EXPECT_TRUE(contains(s.action, "ARC")) << s.action;
    const auto& spoof = sender(a, "unknown: 203.0.113.0/24");
    EXPECT_EQ(spoof.cls, SenderClass::unauthorised);
    EXPECT_EQ(spoof.messages, 10u);
}

TEST(Classify, ArcPassLocalPolicyCountsAsForwarding) {
    auto row = spoof_row("203.0.113.61", 40);
    row.overrides = {OverrideType::local_policy};
    row.arc_pass = true;
    row.disposition = report::Disposition::none;
    const auto with_arc = classify(input(nullptr, {row}));
    EXPECT_EQ(with_arc.senders.at(0).cls, SenderClass::forwarded);

    // local_policy without an ARC verdict says nothing about forwarding.
    row.arc_pass = false;
    const auto without = classify(input(nullptr, {row}));
    EXPECT_EQ(without.senders.at(0).cls, SenderClass::unauthorised);
}

TEST(Classify, FewForwardedFailuresDoNotMakeASpooferForwarded) {
    // One identified provider's sources: forwarding evidence on a minority of the failing mail
    // does not excuse the rest.
    auto in = input(nullptr, {list_row("198.51.100.40", 40), spoof_row("198.51.100.41", 60)});
    in.identities = {{"198.51.100.40", identity("198.51.100.40", "sendgrid")},
                     {"198.51.100.41", identity("198.51.100.41", "sendgrid")}};
    const auto a = classify(in);
    ASSERT_EQ(a.senders.size(), 1u);
    EXPECT_EQ(a.senders[0].cls, SenderClass::unauthorised);
    EXPECT_EQ(a.senders[0].forwarded, 40u);

    // Undeclared and unidentified, the two are separate senders of one block.
    const auto b =
        classify(input(nullptr, {list_row("203.0.113.60", 40), spoof_row("203.0.113.61", 60)}));
    EXPECT_EQ(sender(b, "unknown: 203.0.113.0/24").cls, SenderClass::unauthorised);
    EXPECT_EQ(sender(b, "forwarder: 203.0.113.0/24").cls, SenderClass::forwarded);
}

TEST(Classify, UndeclaredSourcePassingOnlyThroughDkimWithFailingSpfIsAForwarder) {
    // A forwarder that keeps the envelope: SPF fails for the domain, the signature still verifies.
    auto row = passing_row("203.0.113.45", 120);
    row.spf_result = AuthVerdict::fail;
    row.dmarc_spf = DmarcVerdict::fail;
    const auto a = classify(input(nullptr, {row}));
    EXPECT_EQ(a.senders.at(0).cls, SenderClass::forwarded);
    EXPECT_EQ(a.senders.at(0).forwarded, 120u);

    // The same shape from a declared server is a gap in the SPF record, not forwarding.
    auto c = client({declared("Office", {"203.0.113.0/24"})});
    const auto own = classify(input(&c, {row}));
    EXPECT_EQ(own.senders.at(0).cls, SenderClass::passing);
    EXPECT_EQ(own.senders.at(0).forwarded, 0u);
}

TEST(Classify, GoogleWorkspaceDeclaredAndGmailForwardingShareRanges) {
    auto c = client({declared("Office mail", {}, "google-workspace")});
    auto forwarded = list_row("209.85.220.41", 30);
    forwarded.overrides = {OverrideType::local_policy};
    forwarded.arc_pass = true;
    auto gmail_user = spoof_row("209.85.220.42", 12);  // a Gmail forwarder, no override given
    gmail_user.dkim = {{"acme.example", "google", AuthVerdict::fail}};

    auto in = input(&c, {passing_row("209.85.220.40", 2000, "google"), forwarded, gmail_user});
    in.sender_ranges = {{"Office mail", {net("209.85.128.0/17")}}};
    in.identities = {{"209.85.220.40", identity("209.85.220.40", "google-workspace")},
                     {"209.85.220.41", identity("209.85.220.41", "google-workspace")},
                     {"209.85.220.42", identity("209.85.220.42", "gmail")}};
    const auto a = classify(in);

    const auto& office = sender(a, "Office mail");
    EXPECT_EQ(office.sources, std::vector<std::string>{"209.85.220.40"});
    EXPECT_EQ(office.cls, SenderClass::passing);
    EXPECT_EQ(office.messages, 2000u);

    // Forwarded by receivers' own account (ARC) from a Workspace-identified server: an unknown
    // forwarder, not the declared sender.
    const auto& list = sender(a, "Google Workspace");
    EXPECT_EQ(list.cls, SenderClass::forwarded);
    EXPECT_FALSE(list.known);

    const auto& gmail = sender(a, "Gmail");
    EXPECT_EQ(gmail.cls, SenderClass::forwarded);
    EXPECT_EQ(gmail.provider, "gmail");
    for (const auto& s : a.senders) EXPECT_NE(s.cls, SenderClass::unauthorised) << s.name;
}

TEST(Classify, GmailForwardingThatStillPassesIsForwardedNotShadowIt) {
    auto row = passing_row("209.85.220.50", 25, "google");
    row.envelope_from = row.spf_domain = "gmail.com";  // Gmail rewrites the envelope (SRS)
    row.dmarc_spf = DmarcVerdict::fail;
    auto in = input(nullptr, {row});
    in.identities = {{"209.85.220.50", identity("209.85.220.50", "gmail")}};
    const auto a = classify(in);
    const auto& s = a.senders.at(0);
    EXPECT_EQ(s.name, "Gmail");
    EXPECT_EQ(s.cls, SenderClass::forwarded);
    EXPECT_TRUE(contains(s.explanation, "forwarded through Gmail users")) << s.explanation;
    EXPECT_EQ(s.action, "Change nothing: these are forwarded copies of your own mail.");
}

TEST(Classify, SpoofedUndeclaredSubdomains) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    const auto a =
        classify(input(&c, {spoof_row("198.51.100.99", 60, "x7k2q.acme.example"),
                            spoof_row("198.51.100.98", 30, "billing-update.acme.example"),
                            spoof_row("198.51.100.97", 10)}));
    const auto& s = sender(a, "unknown: 198.51.100.0/24");
    EXPECT_EQ(s.cls, SenderClass::subdomain_spoof);
    EXPECT_TRUE(contains(s.explanation, "x7k2q.acme.example, billing-update.acme.example"))
        << s.explanation;
    EXPECT_TRUE(contains(s.action, "sp=reject")) << s.action;
    EXPECT_TRUE(contains(s.action, "np=reject")) << s.action;
}

TEST(Classify, DeclaredSubdomainIsNotASpoofedSubdomain) {
    auto c = client({});
    const auto a = classify(input(&c, {spoof_row("198.51.100.99", 60, "news.acme.example")}));
    EXPECT_EQ(a.senders.at(0).cls, SenderClass::unauthorised);
    EXPECT_TRUE(contains(a.senders[0].action, "p=quarantine")) << a.senders[0].action;
}

TEST(Classify, UndeclaredSourceFailingBothIsUnauthorised) {
    const auto a =
        classify(input(nullptr, {spoof_row("203.0.113.200", 30), spoof_row("203.0.113.201", 12)}));
    ASSERT_EQ(a.senders.size(), 1u);
    const auto& s = a.senders[0];
    EXPECT_EQ(s.name, "unknown: 203.0.113.0/24");
    EXPECT_EQ(s.cls, SenderClass::unauthorised);
    EXPECT_TRUE(contains(s.explanation, "42 messages")) << s.explanation;

    // An identified provider that is not a forwarder gets no benefit of the doubt.
    auto in = input(nullptr, {spoof_row("198.51.100.40", 9)});
    in.identities = {{"198.51.100.40", identity("198.51.100.40", "sendgrid")}};
    EXPECT_EQ(classify(in).senders.at(0).cls, SenderClass::unauthorised);
}

TEST(Classify, SelectorThatPassedLastWeekAndFailsNow) {
    auto news = declared("Newsletter", {}, "mailchimp");
    auto c = client({news});
    auto row = vendor_row("198.51.100.150", 800, "acme.example", "bounce.mcsv.net");
    row.dkim = {{"acme.example", "k2", AuthVerdict::fail}};
    auto in = input(&c, {row});
    in.identities = {{"198.51.100.150", identity("198.51.100.150", "mailchimp")}};
    in.selectors = {{.dkim_domain = "acme.example",
                     .selector = "k2",
                     .pass = 5000,
                     .fail = 800,
                     .first_day = day(2026, 10, 1),
                     .last_day = day(2026, 11, 19),
                     .last_pass_day = day(2026, 11, 12)}};
    const auto a = classify(in);
    const auto& s = sender(a, "Newsletter");
    EXPECT_EQ(s.cls, SenderClass::dkim_broken);
    EXPECT_TRUE(contains(s.explanation, "k2._domainkey.acme.example")) << s.explanation;
    EXPECT_TRUE(contains(s.explanation, "2026-11-12")) << s.explanation;
    EXPECT_TRUE(contains(s.action, "Republish the key at k2._domainkey.acme.example")) << s.action;

    // Still passing on its last day of use: the failures are not the selector's fault.
    in.selectors[0].last_pass_day = day(2026, 11, 19);
    const auto fine = classify(in);
    EXPECT_EQ(sender(fine, "Newsletter").cls, SenderClass::not_aligned);
}

TEST(Classify, WeakKeyOnAPassingSender) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    auto in = input(&c, {passing_row("192.0.2.1", 100, "s2019")});
    in.keys = {{"s2019._domainkey.acme.example", KeyState{.weak = true, .bits = 1024}}};
    const auto a = classify(in);
    EXPECT_EQ(a.senders.at(0).cls, SenderClass::dkim_broken);
    EXPECT_TRUE(contains(a.senders[0].explanation, "1024-bit")) << a.senders[0].explanation;
    EXPECT_EQ(a.senders[0].action,
              "Replace the key at s2019._domainkey.acme.example with a 2048-bit RSA key.");
}

TEST(Classify, MissingKeyOfTheSendersSelector) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    auto row = spoof_row("192.0.2.1", 100);
    row.dkim = {{"acme.example", "old", AuthVerdict::permerror}};
    auto in = input(&c, {row});
    in.keys = {{"old._domainkey.acme.example", KeyState{.missing = true}}};
    const auto a = classify(in);
    EXPECT_EQ(a.senders.at(0).cls, SenderClass::dkim_broken);
    EXPECT_TRUE(contains(a.senders[0].explanation, "missing")) << a.senders[0].explanation;
}

TEST(Classify, SpooferCitingARealSelectorIsNotDkimBroken) {
    auto row = spoof_row("203.0.113.250", 70);
    row.dkim = {{"acme.example", "s1", AuthVerdict::fail}};
    auto in = input(nullptr, {row});
    in.keys = {{"s1._domainkey.acme.example", KeyState{.revoked = true}}};
    in.selectors = {{.dkim_domain = "acme.example",
                     .selector = "s1",
                     .pass = 10,
                     .fail = 70,
                     .first_day = day(2026, 10, 1),
                     .last_day = day(2026, 11, 19),
                     .last_pass_day = day(2026, 11, 2)}};
    EXPECT_EQ(classify(in).senders.at(0).cls, SenderClass::unauthorised);
}

TEST(Classify, VendorSigningAsItselfGetsTheProvidersDkimGuidance) {
    auto c = client({declared("Marketing", {}, "sendgrid")});
    auto in = input(&c, {vendor_row("198.51.100.40", 400, "sendgrid.info", "em123.sendgrid.net")});
    in.identities = {{"198.51.100.40", identity("198.51.100.40", "sendgrid")}};
    const auto a = classify(in);
    const auto& s = sender(a, "Marketing");
    EXPECT_EQ(s.cls, SenderClass::not_aligned);
    EXPECT_TRUE(contains(s.explanation, "d=sendgrid.info")) << s.explanation;
    EXPECT_TRUE(contains(s.explanation, "em123.sendgrid.net")) << s.explanation;
    EXPECT_TRUE(contains(s.action, "Set up custom DKIM for acme.example at Twilio SendGrid"))
        << s.action;
    EXPECT_TRUE(contains(
        s.action, "CNAME s1._domainkey.acme.example → s1.domainkey.u<nnnn>.wl<nnn>.sendgrid.net"))
        << s.action;
    EXPECT_TRUE(contains(s.action, "s2 likewise")) << s.action;
    EXPECT_TRUE(contains(s.action, "custom Return-Path")) << s.action;
}

TEST(Classify, NotAlignedTargetsFillInTheDomain) {
    auto in = input(nullptr, {vendor_row("198.51.100.130", 50, "acmeco.onmicrosoft.com",
                                         "acmeco.onmicrosoft.com")});
    in.identities = {{"198.51.100.130", identity("198.51.100.130", "microsoft-365")}};
    const auto a = classify(in);
    const auto& s = a.senders.at(0);
    EXPECT_EQ(s.name, "Microsoft 365 (Exchange Online)");
    EXPECT_EQ(s.cls, SenderClass::not_aligned);
    EXPECT_TRUE(contains(s.action, "selector1-acme-example._domainkey.<tenant>.onmicrosoft.com"))
        << s.action;
    // Microsoft's Return-Path is the user's own address: no Return-Path advice.
    EXPECT_FALSE(contains(s.action, "Return-Path")) << s.action;
}

TEST(Classify, DeclaredSenderThatDoesNotAuthenticateAtAll) {
    auto printer = declared("Printer", {"192.0.2.130"});
    auto crm = declared("CRM", {"198.51.100.0/28"}, "zoho:eu");
    auto c = client({printer, crm});
    auto row = spoof_row("192.0.2.130", 25);
    row.spf_result = AuthVerdict::softfail;
    const auto a = classify(input(&c, {row, spoof_row("198.51.100.3", 15)}));

    const auto& p = sender(a, "Printer");
    EXPECT_EQ(p.cls, SenderClass::not_aligned);
    EXPECT_TRUE(contains(p.explanation, "Declared sender, but its mail is not authenticated"))
        << p.explanation;
    EXPECT_TRUE(contains(p.action, "ip4:192.0.2.130/32")) << p.action;

    const auto& z = sender(a, "CRM");
    EXPECT_EQ(z.cls, SenderClass::not_aligned);
    EXPECT_TRUE(contains(z.action, "include:zoho.eu")) << z.action;
    EXPECT_TRUE(contains(z.action, "Zoho Mail")) << z.action;
}

TEST(Classify, RetiredSenderStillSending) {
    auto old = declared("Old CRM", {"198.51.100.0/28"});
    old.status = config::SenderStatus::retired;
    auto c = client({old});
    const auto a = classify(input(&c, {passing_row("198.51.100.5", 12)}));
    const auto& s = a.senders.at(0);
    EXPECT_TRUE(s.retired);
    EXPECT_EQ(s.cls, SenderClass::passing);
    EXPECT_TRUE(s.explanation.starts_with("Declared retired, yet still sending.")) << s.explanation;
    EXPECT_TRUE(contains(s.action, "Remove its SPF include and DKIM records")) << s.action;
}

TEST(Classify, DocumentedPlanAndWhetherItIsOverdue) {
    auto vendor = declared("Payroll", {"198.51.100.64/28"});
    vendor.decision = "moving to custom DKIM";
    vendor.due =
        year_month_day{std::chrono::year(2026), std::chrono::month(11), std::chrono::day(1)};
    auto c = client({vendor});
    auto in = input(
        &c, {vendor_row("198.51.100.66", 80, "payroll-vendor.example", "payroll-vendor.example")});

    const auto overdue = classify(in).senders.at(0);
    EXPECT_EQ(overdue.cls, SenderClass::not_aligned);
    EXPECT_EQ(overdue.decision, "moving to custom DKIM");
    EXPECT_TRUE(contains(overdue.explanation,
                         "Documented plan: moving to custom DKIM, due 2026-11-01 (overdue)."))
        << overdue.explanation;

    c.senders[0].due =
        year_month_day{std::chrono::year(2027), std::chrono::month(1), std::chrono::day(31)};
    const auto pending = classify(in).senders.at(0);
    EXPECT_TRUE(contains(pending.explanation, "due 2027-01-31.")) << pending.explanation;
    EXPECT_FALSE(contains(pending.explanation, "overdue")) << pending.explanation;
}

TEST(Classify, SenderFieldsByVolume) {
    auto c = client({declared("Office", {"192.0.2.0/24"})});
    auto sub = passing_row("192.0.2.2", 70);
    sub.header_from = "news.acme.example";
    sub.envelope_from = "bounce.acme.example";
    sub.dkim.push_back({"esp.example", "x", AuthVerdict::pass});
    const auto a = classify(input(&c, {passing_row("192.0.2.1", 30), sub}));
    const auto& s = a.senders.at(0);
    EXPECT_EQ(s.header_from, (std::vector<std::string>{"news.acme.example", "acme.example"}));
    EXPECT_EQ(s.return_paths, (std::vector<std::string>{"bounce.acme.example", "acme.example"}));
    EXPECT_EQ(s.dkim_domains, (std::vector<std::string>{"acme.example", "esp.example"}));
}

// ---- the sample reports ------------------------------------------------------------------------

/// examples/reports ingested into a fresh in-memory store, as `rampart ingest` would.
std::unique_ptr<store::Store> ingested_examples() {
    auto opened = store::open_sqlite(":memory:");
    RAMPART_ASSERT(opened.has_value());
    auto st = std::move(*opened);
    auto expanded = mail::expand_inputs({(test::source_dir() / "examples" / "reports").string()});
    EXPECT_TRUE(expanded.errors.empty());
    service::Ingester ingester(*st, IngestLimits{}, Timestamp(std::chrono::seconds{1800000000}));
    for (const auto& in : expanded.inputs) {
        auto file = mail::FileSource::open(in.path);
        RAMPART_ASSERT(file.has_value());
        EXPECT_TRUE(ingester.ingest(*file, Location{.source = in.path.string()}));
    }
    EXPECT_TRUE(ingester.finish());
    return st;
}

std::string describe(const Analysis& a) {
    std::string out;
    for (const auto& s : a.senders) {
        out += fmt::format("{} [{}] {} msgs, {} pass, {} fwd, sources {}\n  {}\n  -> {}\n", s.name,
                           to_string(s.cls), s.messages, s.dmarc_pass, s.forwarded,
                           fmt::join(s.sources, " "), s.explanation, s.action);
    }
    return out;
}

TEST(ClassifyExamples, AcmeSendersFromTheSampleReports) {
    auto st = ingested_examples();
    auto facts = st->source_facts({.domain = "acme.example"});
    if (!facts && facts.error().code == Errc::unsupported)
        GTEST_SKIP() << "no roll-ups in this store";
    ASSERT_TRUE(facts) << facts.error().describe();
    auto selectors = st->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(selectors) << selectors.error().describe();

    // The inventory the examples describe: the own servers and the relay, Google Workspace (its
    // published ranges stood in for by the block the examples use) and SendGrid recognised by
    // its passing acme.example signature and its em4821 Return-Path; the CRM vendor undeclared.
    auto sendgrid = declared("SendGrid", {}, "sendgrid");
    sendgrid.dkim_domains = {"acme.example"};
    sendgrid.return_path_domains = {"em4821.acme.example"};
    auto c = client({declared("Mail servers", {"192.0.2.0/24", "198.51.100.7", "2001:db8:25::/48"}),
                     declared("Google Workspace", {}, "google-workspace"), sendgrid});
    c.domains.push_back("billing.acme.example");
    auto in = input(&c, std::move(*facts));
    in.selectors = std::move(*selectors);
    in.sender_ranges = {{"Google Workspace", {net("198.51.100.8/29")}}};
    // Forward-confirmed names as identify would have cached them for the forwarders and lists.
    in.identities = {{"203.0.113.45", identity("203.0.113.45", "", "fwd1.uni.example")},
                     {"203.0.113.46", identity("203.0.113.46", "", "fwd2.uni.example")},
                     {"203.0.113.60", identity("203.0.113.60", "", "mail.lists.example")},
                     {"203.0.113.61", identity("203.0.113.61", "", "arc.lists.example")}};
    const auto a = classify(in);
    SCOPED_TRACE(describe(a));

    EXPECT_EQ(sender(a, "Mail servers").cls, SenderClass::passing);
    EXPECT_EQ(sender(a, "Google Workspace").cls, SenderClass::passing);
    EXPECT_EQ(sender(a, "Google Workspace").sources,
              (std::vector<std::string>{"198.51.100.10", "198.51.100.11", "198.51.100.12"}));
    EXPECT_EQ(sender(a, "SendGrid").cls, SenderClass::passing);
    EXPECT_EQ(sender(a, "SendGrid").sources,
              (std::vector<std::string>{"198.51.100.40", "198.51.100.41"}));
    // The CRM vendor signs as crmvendor.example and bounces there.
    const auto& crm = sender(a, "unknown: 198.51.100.0/24");
    EXPECT_EQ(crm.sources, std::vector<std::string>{"198.51.100.77"});
    EXPECT_EQ(crm.cls, SenderClass::not_aligned);
    EXPECT_TRUE(contains(crm.explanation, "d=crmvendor.example")) << crm.explanation;
    // Forwarders keep the signature (passing); lists break it (failing): both forwarded.
    EXPECT_EQ(sender(a, "forwarder: uni.example").cls, SenderClass::forwarded);
    EXPECT_EQ(sender(a, "forwarder: lists.example").cls, SenderClass::forwarded);
    EXPECT_EQ(sender(a, "unknown: 203.0.113.0/24").cls, SenderClass::unauthorised);
    EXPECT_EQ(sender(a, "unknown: 2001:db8:bad::/48").cls, SenderClass::unauthorised);
    std::uint64_t total = 0;
    for (const auto& s : a.senders) total += s.messages;
    EXPECT_EQ(total, a.messages);
    EXPECT_TRUE(std::ranges::is_sorted(a.senders, std::ranges::greater{}, &Sender::messages));
}

}  // namespace
TEST(Classify, SignatureGoesToTheSenderWhoseReturnPathFitsNotTheFirstDeclared) {
    // Both sign as acme.example; only the ESP's declared Return-Path fits the row's envelope.
    auto office = declared("Office mail");
    office.dkim_domains = {"acme.example"};
    auto esp = declared("ESP");
    esp.dkim_domains = {"acme.example"};
    esp.return_path_domains = {"em1.acme.example"};
    auto c = client({office, esp});
    auto row = passing_row("198.51.100.41", 70);
    row.envelope_from = "em1.acme.example";
    row.spf_domain = "em1.acme.example";
    const auto a = classify(input(&c, {row}));
    ASSERT_EQ(a.senders.size(), 1u);
    EXPECT_EQ(a.senders[0].name, "ESP");

    // A subdomain's signature is not the declared d=: the row stays undeclared.
    auto sub = passing_row("198.51.100.42", 5);
    sub.dkim = {{"news.acme.example", "k1", AuthVerdict::pass}};
    const auto b = classify(input(&c, {sub}));
    EXPECT_FALSE(b.senders.at(0).known);

    // Forwarded mail (SPF failing for the domain's own envelope, the signature intact) from an
    // undeclared address is not claimed by the signature.
    auto fwd = passing_row("203.0.113.45", 9);
    fwd.spf_result = AuthVerdict::fail;
    fwd.dmarc_spf = DmarcVerdict::fail;
    const auto f = classify(input(&c, {fwd}));
    EXPECT_EQ(f.senders.at(0).name, "forwarder: 203.0.113.0/24");
    EXPECT_EQ(f.senders.at(0).cls, SenderClass::forwarded);
}

}  // namespace rampart::senders

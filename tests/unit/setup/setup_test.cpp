// `rampart setup` planning on in-memory DNS: SPF within and over the RFC 7208 limits (refused
// before any key exists), void includes, costs when DNS is away, real key generation checked
// through the DKIM key parser, the key file (0600, never overwritten), the private key absent
// from everything printed, the DMARC record linting clean, `_report._dmarc`, subdomain notes and
// the dated selector.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "dkim/dkim.hpp"
#include "dmarc/dmarc.hpp"
#include "dns/zone.hpp"
#include "setup/setup.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace rampart;
using setup::Refusal;

namespace {

Timestamp nov_2026() { return *parse_date("2026-11-23"); }

/// Records what would be written, without touching the disk.
class MemoryKeyStore final : public setup::KeyStore {
public:
    bool exists(std::string_view name) const override { return std::ranges::count(names, name) > 0; }
    fs::path path(std::string_view name) const override { return fs::path("mem") / std::string(name); }
    Result<fs::path> write(std::string_view name, const setup::PrivateKeyPem& key) override {
        if (exists(name)) return fail(Errc::conflict, "exists");
        names.emplace_back(name);
        wrote_pem = key.reveal().starts_with("-----BEGIN PRIVATE KEY-----");
        return path(name);
    }
    std::vector<std::string> names;
    bool wrote_pem = false;
};

/// The real generator, remembering the private key's base64 lines so tests can look for them.
class WatchingKeys final : public setup::KeyGenerator {
public:
    Result<setup::KeyPair> generate(const setup::KeySpec& spec) override {
        ++calls;
        auto pair = setup::openssl_keys().generate(spec);
        if (pair) {
            std::string_view pem = pair->private_key.reveal();
            std::size_t at = 0;
            while (at < pem.size()) {
                auto end = pem.find('\n', at);
                auto line = pem.substr(at, end - at);
                if (!line.starts_with("-----") && line.size() >= 16) secret_lines.emplace_back(line);
                if (end == std::string_view::npos) break;
                at = end + 1;
            }
        }
        return pair;
    }
    int calls = 0;
    std::vector<std::string> secret_lines;
};

dns::Zone provider_zone() {
    dns::Zone z;
    z.add_txt("_spf.google.com",
              "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
              "include:_netblocks3.google.com ~all");
    z.add_txt("_netblocks.google.com", "v=spf1 ip4:192.0.2.0/25 ~all");
    z.add_txt("_netblocks2.google.com", "v=spf1 ip6:2001:db8::/48 ~all");
    z.add_txt("_netblocks3.google.com", "v=spf1 ip4:192.0.2.128/25 ~all");
    z.add_txt("spf.protection.outlook.com", "v=spf1 ip4:198.51.100.0/24 include:spfd.protection.outlook.com -all");
    z.add_txt("spfd.protection.outlook.com", "v=spf1 ip4:198.51.101.0/24 -all");
    z.add_txt("sendgrid.net", "v=spf1 ip4:203.0.113.0/24 ~all");
    z.add_txt("spf.mtasv.net", "v=spf1 ip4:203.0.113.128/25 -all");
    z.add_txt("spf.mandrillapp.com", "v=spf1 ip4:198.51.103.0/24 ~all");
    z.add_txt("amazonses.com", "v=spf1 ip4:198.51.102.0/24 -all");
    for (int i = 1; i <= 8; ++i) {
        // A provider whose include costs 3: itself and two more.
        auto name = fmt::format("big{}.example.net", i);
        z.add_txt(name, fmt::format("v=spf1 include:a.{} include:b.{} -all", name, name));
        z.add_txt("a." + name, "v=spf1 ip4:192.0.2.1 -all");
        z.add_txt("b." + name, "v=spf1 ip4:192.0.2.2 -all");
    }
    z.add_mx("example.com", 10, "mx.example.com");
    z.add_a("mx.example.com", "192.0.2.25");
    z.add_mx("example.net", 10, "mx.example.net");
    return z;
}

struct Fixture {
    dns::Zone zone = provider_zone();
    dns::ZoneResolver resolver{zone};
    MemoryKeyStore store;
    WatchingKeys keys;
    setup::World world() {
        return {.resolver = &resolver, .now = nov_2026(), .keys = &keys, .key_store = &store};
    }
};

setup::Request request(std::string domain) {
    setup::Request r;
    r.domain = std::move(domain);
    return r;
}

const setup::TermCost* term(const setup::SpfPlan& spf, std::string_view text) {
    auto it = std::ranges::find_if(spf.terms, [&](const setup::TermCost& t) { return t.term == text; });
    return it == spf.terms.end() ? nullptr : &*it;
}

bool mentions(const std::vector<std::string>& lines, std::string_view text) {
    return std::ranges::any_of(lines, [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

const setup::DnsRecord* record_named(const setup::Plan& plan, std::string_view name) {
    auto it = std::ranges::find_if(plan.records, [&](const setup::DnsRecord& r) { return r.name == name; });
    return it == plan.records.end() ? nullptr : &*it;
}

TEST(Setup, SpfWithinLimitsIsMeasuredPerInclude) {
    Fixture f;
    auto r = request("example.com");
    r.providers = {"google-workspace", "microsoft-365", "sendgrid"};
    r.ips = {"192.0.2.0/24", "192.0.2.7", "2001:db8::1"};
    r.mx = {""};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_EQ(plan->spf.record,
              "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::1 mx include:_spf.google.com "
              "include:spf.protection.outlook.com include:sendgrid.net ~all")
        << "ip4 inside a broader network is dropped; ip4/ip6 first";
    EXPECT_TRUE(plan->spf.measured);
    EXPECT_EQ(plan->spf.lookups, 1 + 4 + 2 + 1);
    ASSERT_NE(term(plan->spf, "include:_spf.google.com"), nullptr);
    EXPECT_EQ(term(plan->spf, "include:_spf.google.com")->lookups, 4);
    EXPECT_EQ(term(plan->spf, "include:_spf.google.com")->source, "measured");
    EXPECT_EQ(term(plan->spf, "include:_spf.google.com")->provider, "google-workspace");
    EXPECT_EQ(term(plan->spf, "include:spf.protection.outlook.com")->lookups, 2);
    EXPECT_EQ(plan->spf.void_lookups, 0);
    EXPECT_TRUE(plan->spf.within_limits());
    const auto* spf = record_named(*plan, "example.com");
    ASSERT_NE(spf, nullptr);
    EXPECT_EQ(spf->type, setup::RecordType::txt);
}

TEST(Setup, DuplicatesAreWrittenOnce) {
    Fixture f;
    auto r = request("example.com");
    r.providers = {"google-workspace", "google-workspace"};
    r.includes = {"_spf.google.com", "include:_SPF.google.com."};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_EQ(plan->spf.record, "v=spf1 include:_spf.google.com ~all");
}

TEST(Setup, OverTheLookupLimitIsRefusedBeforeAnyKeyExists) {
    Fixture f;
    auto r = request("example.com");
    r.providers = {"google-workspace"};
    r.includes = {"big1.example.net", "big2.example.net"};  // 4 + 3 + 3 = 10: allowed
    auto ok = setup::plan(r, f.world());
    ASSERT_TRUE(ok) << ok.error().error.reason;
    EXPECT_EQ(ok->spf.lookups, 10);
    EXPECT_TRUE(mentions(ok->warnings, "one more provider may break it"));

    Fixture g;
    r.includes.push_back("big3.example.net");  // 13
    auto refused = setup::plan(r, g.world());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, Refusal::Kind::refused);
    EXPECT_EQ(refused.error().error.code, Errc::limit_exceeded);
    EXPECT_NE(refused.error().error.reason.find("13 DNS lookups"), std::string::npos)
        << refused.error().error.reason;
    ASSERT_TRUE(refused.error().spf);
    auto breakdown = refused.error().spf->breakdown();
    EXPECT_NE(breakdown.find("include:_spf.google.com 4 (measured, google-workspace)"), std::string::npos) << breakdown;
    EXPECT_NE(breakdown.find("include:big3.example.net 3 (measured)"), std::string::npos) << breakdown;
    EXPECT_NE(breakdown.find("= 13 of 10"), std::string::npos) << breakdown;
    EXPECT_EQ(g.keys.calls, 0) << "no key is generated for a refused plan";
    EXPECT_TRUE(g.store.names.empty());
}

TEST(Setup, AnIncludeWithoutSpfIsRefused) {
    Fixture f;
    auto r = request("example.com");
    r.includes = {"gone.example.org"};
    auto plan = setup::plan(r, f.world());
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, Refusal::Kind::refused);
    EXPECT_NE(plan.error().error.reason.find("gone.example.org has no SPF record"), std::string::npos)
        << plan.error().error.reason;
    ASSERT_TRUE(plan.error().spf);
    EXPECT_GE(plan.error().spf->void_lookups, 1);
    EXPECT_TRUE(f.store.names.empty());
}

TEST(Setup, TooManyVoidLookupsAreRefused) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.a = {"nohost1.example.com", "nohost2.example.com", "nohost3.example.com"};
    auto plan = setup::plan(r, f.world());
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, Refusal::Kind::refused);
    EXPECT_NE(plan.error().error.reason.find("void lookups"), std::string::npos) << plan.error().error.reason;
}

TEST(Setup, WithoutDnsCostsComeFromTheCatalogueAndSaySo) {
    Fixture f;
    f.zone.fail("example.com", dns::Status::timeout);
    auto r = request("example.com");
    r.providers = {"google-workspace"};
    r.includes = {"spf.unknown.example.org"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_FALSE(plan->spf.measured);
    EXPECT_EQ(term(plan->spf, "include:_spf.google.com")->source, "catalogue");
    EXPECT_EQ(term(plan->spf, "include:_spf.google.com")->lookups, 4);
    EXPECT_EQ(term(plan->spf, "include:spf.unknown.example.org")->source, "assumed");
    EXPECT_EQ(plan->spf.lookups, 5);
    EXPECT_TRUE(mentions(plan->notes, "could not all be measured"));
    EXPECT_TRUE(mentions(plan->notes, "DNS did not answer"));

    setup::World offline{.now = nov_2026(), .keys = &f.keys};
    auto dry = setup::plan(r, offline);
    ASSERT_TRUE(dry) << dry.error().error.reason;
    EXPECT_TRUE(mentions(dry->notes, "no DNS available"));
    EXPECT_FALSE(dry->dkim.written);
    EXPECT_EQ(dry->dkim.private_key_file, fs::path("keys") / "example.com.s202611.key");
}

TEST(Setup, Rsa2048KeyRecordReadsBackAsA2048BitKey) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    auto key = dkim::parse_key_record(plan->dkim.record);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->key_type, dkim::KeyType::rsa);
    EXPECT_EQ(key->key_bits, 2048u);
    EXPECT_EQ(key->key_format, "spki");
    EXPECT_TRUE(key->usable());
    const auto* txt = record_named(*plan, "s202611._domainkey.example.com");
    ASSERT_NE(txt, nullptr);
    EXPECT_GT(txt->strings.size(), 1u) << "a 2048-bit key needs several character-strings";
    for (const auto& s : txt->strings) EXPECT_LE(s.size(), 255u);
    EXPECT_EQ(f.store.names, std::vector<std::string>{"example.com.s202611.key"});
    EXPECT_TRUE(f.store.wrote_pem);
    EXPECT_TRUE(plan->dkim.written);
}

TEST(Setup, Ed25519KeyIsRaw32OctetsAndAdvisesDualSigning) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.key = {.algorithm = setup::KeyAlgorithm::ed25519};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    auto key = dkim::parse_key_record(plan->dkim.record);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->key_type, dkim::KeyType::ed25519);
    EXPECT_EQ(key->public_key.size(), 32u);
    EXPECT_TRUE(mentions(plan->warnings, "dual signing"));
}

TEST(Setup, ShortOrOddRsaKeysAreUsageErrors) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.key.bits = 1024;
    auto p = setup::plan(r, f.world());
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, Refusal::Kind::usage);
    r.key.bits = 2500;
    EXPECT_FALSE(setup::plan(r, f.world()));
    EXPECT_EQ(f.keys.calls, 0);
}

TEST(Setup, PrivateKeyAppearsNowhereInThePlan) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    ASSERT_FALSE(f.keys.secret_lines.empty());
    std::string everything = plan->spf.record + plan->dkim.record + plan->dmarc_record +
                             plan->dkim.private_key_file.string();
    for (const auto& rec : plan->records) {
        everything += rec.value;
        for (const auto& s : rec.strings) everything += s;
    }
    for (const auto& n : plan->notes) everything += n;
    for (const auto& w : plan->warnings) everything += w;
    for (const auto& line : f.keys.secret_lines)
        EXPECT_EQ(everything.find(line), std::string::npos) << "a private key line leaked";
}

TEST(Setup, KeyFileIs0600AndNeverOverwritten) {
    auto dir = fs::temp_directory_path() / fmt::format("rampart-setup-{}", ::getpid());
    fs::remove_all(dir);
    Fixture f;
    setup::DirectoryKeyStore store(dir / "keys");
    auto world = f.world();
    world.key_store = &store;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    auto plan = setup::plan(r, world);
    ASSERT_TRUE(plan) << plan.error().error.reason;
    auto file = dir / "keys" / "example.com.s202611.key";
    EXPECT_EQ(plan->dkim.private_key_file, file);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto before = test::read_file(file);
    EXPECT_TRUE(before.starts_with("-----BEGIN PRIVATE KEY-----")) << before.size();

    auto again = setup::plan(r, world);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, Refusal::Kind::refused);
    EXPECT_EQ(again.error().error.code, Errc::conflict);
    EXPECT_EQ(test::read_file(file), before);

    // The store itself refuses too, whoever asks (O_EXCL temporary, link() to the name).
    setup::PrivateKeyPem other(std::string("-----BEGIN PRIVATE KEY-----\nx\n"));
    auto w = store.write("example.com.s202611.key", other);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, Errc::conflict);
    EXPECT_EQ(test::read_file(file), before);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "keys")) ++files;
    EXPECT_EQ(files, 1u) << "no temporary file is left behind";
    fs::remove_all(dir);
}

TEST(Setup, DmarcRecordIsMonitoringAndLintsClean) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.ruf = {"forensic@example.com"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_EQ(plan->dmarc_record,
              "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com; "
              "ruf=mailto:forensic@example.com; fo=1");
    auto parsed = dmarc::parse_record(plan->dmarc_record);
    ASSERT_TRUE(parsed);
    for (const auto& d : parsed->diagnostics) EXPECT_EQ(d.severity, dmarc::Severity::info) << d.message;
    EXPECT_FALSE(parsed->pct);
    EXPECT_FALSE(parsed->t);
    EXPECT_FALSE(parsed->np);
    EXPECT_TRUE(plan->report_authorisations.empty()) << "same organisational domain";
    ASSERT_NE(record_named(*plan, "_dmarc.example.com"), nullptr);
    EXPECT_TRUE(mentions(plan->notes, "dmarc-reports@example.com (the default)"));
}

TEST(Setup, BadReportAddressesAreUsageErrors) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.rua = {"https://reports.example.net/dmarc"};
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage);
    r.rua = {"mailto:a@example.net,mailto:b@example.net"};
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage);
}

TEST(Setup, ExternalReportDestinationNeedsAuthorisationRecord) {
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    r.rua = {"mailto:dmarc@reports.example.net", "mailto:copy@example.com"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    ASSERT_EQ(plan->report_authorisations.size(), 1u);
    const auto& a = plan->report_authorisations.front();
    EXPECT_EQ(a.name, "example.com._report._dmarc.reports.example.net");
    EXPECT_EQ(a.value, "v=DMARC1");
    EXPECT_EQ(a.zone, "reports.example.net");
    EXPECT_NE(record_named(*plan, a.name), nullptr);

    // Already published (a wildcard counts): nothing to add, and the notes say so.
    Fixture g;
    g.zone.add_txt("*._report._dmarc.reports.example.net", "v=DMARC1;");
    auto authorised = setup::plan(r, g.world());
    ASSERT_TRUE(authorised);
    EXPECT_TRUE(authorised->report_authorisations.empty());
    EXPECT_TRUE(mentions(authorised->notes, "already authorises"));
}

TEST(Setup, SubdomainUnderAnEnforcingParent) {
    Fixture f;
    f.zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com");
    f.zone.add_txt("example.com", "v=spf1 mx -all");
    auto r = request("news.example.com");
    r.providers = {"sendgrid"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_EQ(plan->organizational_domain, "example.com");
    EXPECT_EQ(plan->report_authorisations.size(), 0u) << "the default rua is the parent's, same org";
    EXPECT_EQ(plan->dmarc_record, "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com");
    const auto* dmarc = record_named(*plan, "_dmarc.news.example.com");
    ASSERT_NE(dmarc, nullptr);
    EXPECT_TRUE(dmarc->optional);
    const auto* spf = record_named(*plan, "news.example.com");
    ASSERT_NE(spf, nullptr);
    EXPECT_TRUE(mentions(plan->notes, "keeps flowing"));
    EXPECT_TRUE(mentions(plan->notes, "SPF is not inherited"));
    EXPECT_TRUE(mentions(plan->notes, "through its np= (reject)")) << "news.example.com does not exist yet";
    EXPECT_TRUE(mentions(plan->notes, "does not exist in DNS yet"));
    EXPECT_TRUE(mentions(plan->warnings, "would lower it to monitoring"));
    EXPECT_TRUE(mentions(plan->notes, "relaxed alignment"));
}

TEST(Setup, SubdomainUnderAParentWithoutDmarc) {
    Fixture f;
    auto r = request("news.example.com");
    r.ips = {"192.0.2.1"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    EXPECT_FALSE(record_named(*plan, "_dmarc.news.example.com")->optional);
    EXPECT_TRUE(mentions(plan->warnings, "example.com publishes no DMARC record"));
    EXPECT_TRUE(mentions(plan->warnings, "news.example.com has no MX"))
        << "its own servers send with MAIL FROM @news.example.com";
}

TEST(Setup, SelectorIsDatedByTheInjectedClock) {
    EXPECT_EQ(setup::dated_selector(*parse_date("2026-11-23")), "s202611");
    EXPECT_EQ(setup::dated_selector(*parse_date("2027-01-01T00:00:00Z")), "s202701");
    EXPECT_EQ(setup::key_file_name("example.com", "s202611"), "example.com.s202611.key");
    Fixture f;
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    auto world = f.world();
    world.now = *parse_date("2030-02-14");
    auto plan = setup::plan(r, world);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->dkim.selector, "s203002");
    EXPECT_EQ(plan->dkim.name, "s203002._domainkey.example.com");
    r.selector = "Mail2026";
    auto named = setup::plan(r, f.world());
    ASSERT_TRUE(named);
    EXPECT_EQ(named->dkim.selector, "mail2026");
}

TEST(Setup, SelectorAlreadyPublishedIsRefused) {
    Fixture f;
    f.zone.add_txt("s202611._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB");
    auto r = request("example.com");
    r.ips = {"192.0.2.1"};
    auto plan = setup::plan(r, f.world());
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, Refusal::Kind::refused);
    EXPECT_EQ(f.keys.calls, 0);
}

TEST(Setup, MailboxProvidersAndUnknownIdsAreUsageErrors) {
    Fixture f;
    auto r = request("example.com");
    r.providers = {"gmail"};
    auto gmail = setup::plan(r, f.world());
    ASSERT_FALSE(gmail);
    EXPECT_EQ(gmail.error().kind, Refusal::Kind::usage);
    EXPECT_NE(gmail.error().error.reason.find("google-workspace"), std::string::npos);
    r.providers = {"nonesuch"};
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage);
    r.providers = {"mimecast"};
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage) << "needs a region";
    EXPECT_EQ(setup::plan(request("example.com"), f.world()).error().kind, Refusal::Kind::usage)
        << "no sender declared";
    EXPECT_EQ(setup::plan(request("com"), f.world()).error().kind, Refusal::Kind::usage);
}

TEST(Setup, BounceAndClickCnames) {
    Fixture f;
    auto r = request("example.com");
    r.providers = {"mandrill"};
    r.bounce_cname = setup::CnameRequest{.name = "bounce"};  // target from the catalogue
    r.click_cname = setup::CnameRequest{.name = "links.example.com", .target = "mandrillapp.com"};
    auto plan = setup::plan(r, f.world());
    ASSERT_TRUE(plan) << plan.error().error.reason;
    const auto* bounce = record_named(*plan, "bounce.example.com");
    ASSERT_NE(bounce, nullptr);
    EXPECT_EQ(bounce->type, setup::RecordType::cname);
    EXPECT_EQ(bounce->value, "mandrillapp.com");
    ASSERT_NE(record_named(*plan, "links.example.com"), nullptr);

    r.bounce_cname = setup::CnameRequest{.name = "example.com", .target = "x.example.net"};
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage) << "CNAME at the apex";
    r.providers = {"sendgrid"};
    r.bounce_cname = setup::CnameRequest{.name = "em"};
    r.click_cname.reset();
    EXPECT_EQ(setup::plan(r, f.world()).error().kind, Refusal::Kind::usage)
        << "SendGrid's target is per account: it must be given";
    EXPECT_EQ(setup::parse_cname_request("bounce=pm.mtasv.net")->target, "pm.mtasv.net");
    EXPECT_FALSE(setup::parse_cname_request("=x"));
}

}  // namespace

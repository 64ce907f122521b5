// The provider catalogue: the shipped file parses strictly and holds what setup relies on;
// the parser refuses unknown keys and bad values with their line and column.
#include <gtest/gtest.h>

#include "catalogue/catalogue.hpp"
#include "support.hpp"

namespace cat = rampart::catalogue;

namespace {

rampart::Result<cat::Catalogue> parse(std::string_view text) { return cat::Catalogue::parse(text, "test.toml"); }

TEST(Catalogue, ShippedFileParsesAndMatchesTheBuiltInCopy) {
    auto text = rampart::test::read_file(rampart::test::source_dir() / "data" / "providers.toml");
    auto parsed = parse(text);
    ASSERT_TRUE(parsed) << parsed.error().describe();
    EXPECT_EQ(text, cat::builtin_text());
    EXPECT_EQ(parsed->providers().size(), cat::builtin().providers().size());
}

TEST(Catalogue, HoldsTheProvidersSetupNames) {
    for (auto id : {"google-workspace", "microsoft-365", "amazon-ses", "sendgrid", "mailchimp",
                    "mandrill", "mailgun", "postmark", "sparkpost", "salesforce",
                    "salesforce-marketing-cloud", "hubspot", "zendesk", "freshdesk", "zoho", "brevo",
                    "mimecast", "proofpoint", "proofpoint-essentials", "gmail", "outlook-com",
                    "yahoo", "icloud"})
        EXPECT_NE(cat::find(id), nullptr) << id;
    const auto* google = cat::find("google-workspace");
    ASSERT_NE(google, nullptr);
    EXPECT_EQ(google->kind, cat::Kind::mailbox_platform);
    EXPECT_EQ(google->spf.includes, std::vector<std::string>{"_spf.google.com"});
    EXPECT_EQ(google->spf.known_cost("_spf.google.com"), 4);
    EXPECT_EQ(cat::find("microsoft-365")->spf.includes.front(), "spf.protection.outlook.com");
    EXPECT_EQ(cat::find("postmark")->spf.includes.front(), "spf.mtasv.net");
    EXPECT_EQ(cat::find("gmail")->kind, cat::Kind::mailbox_provider);
    EXPECT_TRUE(cat::find("gmail")->forwarder);
    EXPECT_EQ(cat::find("Google-Workspace"), google) << "ids compare case-insensitively";
}

TEST(Catalogue, EveryProviderWithSpfTermsHasThemOrRegions) {
    for (const auto& p : cat::builtin().providers()) {
        EXPECT_FALSE(p.name.empty()) << p.id;
        if (p.kind == cat::Kind::mailbox_provider) {
            EXPECT_TRUE(p.spf.empty()) << p.id;
        }
        for (const auto& r : p.regions) EXPECT_FALSE(r.spf.empty()) << p.id << ":" << r.id;
    }
}

TEST(Catalogue, SelectsRegions) {
    const auto& c = cat::builtin();
    auto zoho = c.select("zoho");
    ASSERT_TRUE(zoho);
    ASSERT_NE(zoho->region, nullptr);
    EXPECT_EQ(zoho->spf().includes.front(), "zoho.com");
    auto eu = c.select("zoho:eu");
    ASSERT_TRUE(eu);
    EXPECT_EQ(eu->spf().includes.front(), "zoho.eu");
    EXPECT_EQ(eu->label(), "zoho:eu");
    auto mimecast = c.select("mimecast");
    ASSERT_FALSE(mimecast);
    EXPECT_NE(mimecast.error().reason.find("mimecast:eu"), std::string::npos) << mimecast.error().reason;
    auto pp = c.select("proofpoint-essentials:us");
    ASSERT_TRUE(pp);
    EXPECT_EQ(pp->spf().a.front(), "dispatch-us.ppe-hosted.com");
    EXPECT_EQ(c.select("nonesuch").error().code, rampart::Errc::not_found);
    EXPECT_EQ(c.select("zoho:mars").error().code, rampart::Errc::not_found);
    EXPECT_EQ(c.select("sparkpost:eu")->return_path_target(), "eu.sparkpostmail.com");
}

TEST(Catalogue, RecognisesMailByPtrDkimAndRanges) {
    auto c = parse(R"(
[[provider]]
id = "x"
name = "X"
kind = "esp"
ptr_patterns = ["mail-*.example.net", "*.out.example.org"]
dkim_domains = ["example.net"]
ip_ranges = ["192.0.2.0/24", "2001:db8::/32"]
)");
    ASSERT_TRUE(c) << c.error().describe();
    const auto& p = c->providers().front();
    EXPECT_TRUE(p.matches_ptr("mail-ab1-f2.example.net"));
    EXPECT_TRUE(p.matches_ptr("A.B.OUT.EXAMPLE.ORG."));
    EXPECT_FALSE(p.matches_ptr("out.example.org"));
    EXPECT_FALSE(p.matches_ptr("mail.example.com"));
    EXPECT_TRUE(p.signs_as("example.net"));
    EXPECT_TRUE(p.signs_as("s1.example.net"));
    EXPECT_FALSE(p.signs_as("badexample.net"));
    EXPECT_TRUE(p.owns_address(*rampart::IpAddress::parse("192.0.2.200")));
    EXPECT_TRUE(p.owns_address(*rampart::IpAddress::parse("2001:db8:1::1")));
    EXPECT_FALSE(p.owns_address(*rampart::IpAddress::parse("192.0.3.1")));
}

TEST(Catalogue, RefusesUnknownKeysWithTheirPosition) {
    auto c = parse("[[provider]]\nid = \"x\"\nname = \"X\"\nkind = \"esp\"\nspf_include = [\"a.example\"]\n");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().where.line, 5u);
    EXPECT_EQ(c.error().where.column, 1u);
    EXPECT_NE(c.error().reason.find("spf_include"), std::string::npos);
    auto nested = parse("[[provider]]\nid = \"x\"\nname = \"X\"\nkind = \"esp\"\n[provider.dkim]\nmethod = \"txt\"\nselector = [\"a\"]\n");
    ASSERT_FALSE(nested);
    EXPECT_EQ(nested.error().where.line, 7u);
    auto top = parse("providers = 1\n");
    ASSERT_FALSE(top);
    EXPECT_EQ(top.error().where.line, 1u);
}

TEST(Catalogue, RefusesBadValues) {
    auto base = std::string("[[provider]]\nid = \"x\"\nname = \"X\"\n");
    EXPECT_FALSE(parse(base + "kind = \"bank\"\n"));
    EXPECT_FALSE(parse(base + "kind = \"esp\"\nspf_includes = \"a.example\"\n"));
    EXPECT_FALSE(parse(base + "kind = \"esp\"\nspf_includes = [\"A.example\"]\n"));
    EXPECT_FALSE(parse(base + "kind = \"esp\"\nspf_lookups = { \"b.example\" = 2 }\n"))
        << "a cost for a term not published";
    EXPECT_FALSE(parse(base + "kind = \"esp\"\nip_ranges = [\"192.0.2.1/24\"]\n")) << "host bits";
    EXPECT_FALSE(parse(base + "kind = \"esp\"\ndefault_region = \"eu\"\n"));
    EXPECT_FALSE(parse(base + "kind = \"esp\"\n[[provider]]\nid = \"x\"\nname = \"Y\"\nkind = \"esp\"\n"))
        << "duplicate id";
    EXPECT_FALSE(parse("[[provider]]\nname = \"X\"\nkind = \"esp\"\n")) << "no id";
    EXPECT_FALSE(parse("[[provider]\n")) << "syntax";
}

TEST(Catalogue, ParsesNetworks) {
    EXPECT_EQ(cat::parse_network("192.0.2.0/24")->to_string(), "192.0.2.0/24");
    EXPECT_EQ(cat::parse_network("192.0.2.9")->prefix, 32);
    EXPECT_EQ(cat::parse_network("2001:db8::/32")->to_string(), "2001:db8::/32");
    EXPECT_FALSE(cat::parse_network("192.0.2.0/33"));
    EXPECT_FALSE(cat::parse_network("192.0.2.0/024"));
    EXPECT_FALSE(cat::parse_network("192.0.2.0/"));
    EXPECT_FALSE(cat::parse_network("2001:db8::1/64"));
}

}  // namespace

// config: [client.publisher] and an override's publisher — how DNS changes reach a zone. The
// TSIG key file is named, never read, here.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace rampart::config {
namespace {

Result<Config> parse_text(const std::string& text) { return parse(text, "rampart.toml", "/etc/rampart"); }

const std::string client = "[[client]]\nname = \"acme\"\ndomains = [\"acme.example\", \"news.acme.example\"]\n";

TEST(PublisherConfig, ReadsAnRfc2136PublisherWithItsKeyFileRelativeToTheConfig) {
    auto c = parse_text(client + R"([client.publisher]
kind = "rfc2136"
server = "192.0.2.53:5353"
zone = "Acme.Example."
tsig_key_file = "keys/acme.tsig"
verify_seconds = 60
)");
    ASSERT_TRUE(c) << c.error().describe();
    auto p = c->publisher_for("acme.example");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, "rfc2136");
    EXPECT_EQ(p->server, "192.0.2.53:5353");
    EXPECT_EQ(p->zone, "acme.example");
    EXPECT_EQ(p->tsig_key_file, std::filesystem::path("/etc/rampart/keys/acme.tsig"));
    EXPECT_EQ(p->verify_deadline, std::chrono::seconds(60));
}

TEST(PublisherConfig, ADomainWithoutOneIsManualAndAnOverrideWins) {
    auto c = parse_text(client + R"([[client.override]]
domain = "news.acme.example"
publisher = { kind = "rfc2136", tsig_key_file = "/etc/rampart/news.tsig" }
)");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->publisher_for("acme.example")->kind, "manual");
    EXPECT_EQ(c->publisher_for("news.acme.example")->kind, "rfc2136");
    EXPECT_EQ(c->publisher_for("nobody.example").error().code, Errc::not_found);
}

TEST(PublisherConfig, RefusesWhatCannotWork) {
    struct Case {
        std::string table;
        std::string words;
    };
    for (const auto& [table, words] : std::vector<Case>{
             {"kind = \"rfc2136\"\n", "needs tsig_key_file"},
             {"kind = \"nsupdate\"\n", "\"manual\" or \"rfc2136\""},
             {"kind = \"rfc2136\"\ntsig_key_file = \"k\"\nserver = \"ns1.acme.example\"\n", "server"},
             {"kind = \"manual\"\nserver = \"192.0.2.1\"\n", "takes no server"},
             {"kind = \"rfc2136\"\ntsig_key_file = \"k\"\nverify_seconds = 0\n", "verify_seconds"},
             {"kind = \"rfc2136\"\ntsig_key_file = \"k\"\nsecret = \"abc\"\n", "unknown key 'secret'"},
         }) {
        auto c = parse_text(client + "[client.publisher]\n" + table);
        ASSERT_FALSE(c) << table;
        EXPECT_EQ(c.error().code, Errc::malformed);
        EXPECT_NE(c.error().reason.find(words), std::string::npos) << table << ": " << c.error().describe();
        EXPECT_GT(c.error().where.line, 0U);
    }
}

}  // namespace
}  // namespace rampart::config

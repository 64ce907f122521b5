// config: [client.dkim], the signing key and its rotation. RFC 8301 §3.2: "Signers MUST use RSA
// keys of at least 1024 bits ... and SHOULD use at least 2048"; new keys here must have 2048.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace rampart::config {
namespace {

Result<Config> parse_text(const std::string& text) {
    return parse(text, "rampart.toml", "/etc/rampart");
}

std::string client_with(std::string_view dkim) {
    return "[[client]]\nname = \"acme\"\ndomains = [\"acme.example\"]\n[client.dkim]\n" +
           std::string(dkim);
}

void expect_error(std::string_view dkim, std::uint32_t line, std::string_view words) {
    auto c = parse_text(client_with(dkim));
    ASSERT_FALSE(c) << dkim;
    EXPECT_EQ(c.error().code, Errc::malformed);
    EXPECT_EQ(c.error().where.source, "rampart.toml");
    EXPECT_EQ(c.error().where.line, line) << c.error().describe();
    EXPECT_NE(c.error().reason.find(words), std::string::npos) << c.error().describe();
}

TEST(DkimConfig, ReadsEveryKeyWithPathsRelativeToTheFile) {
    auto c = parse_text(client_with(R"(selector = "s202511"
key_file = "keys/acme.example.s202511.key"
selector_prefix = "acme"
key_dir = "keys"
algorithm = "ed25519"
rotate_every_days = 180
grace_days = 10
revoked_days = 3
signer = "opendkim"
key_table = "/etc/opendkim/KeyTable"
signing_table = "/etc/opendkim/SigningTable"
command = ["systemctl", "reload", "opendkim"]
)"));
    ASSERT_TRUE(c) << c.error().describe();
    ASSERT_EQ(c->clients.size(), 1U);
    ASSERT_TRUE(c->clients[0].dkim);
    const auto& d = *c->clients[0].dkim;
    EXPECT_EQ(d.selector, "s202511");
    EXPECT_EQ(d.key_file, std::filesystem::path("/etc/rampart/keys/acme.example.s202511.key"));
    EXPECT_EQ(d.selector_prefix, "acme");
    EXPECT_EQ(d.key_dir, std::filesystem::path("/etc/rampart/keys"));
    EXPECT_EQ(d.algorithm, "ed25519");
    EXPECT_EQ(d.rotate_every_days, 180);
    EXPECT_EQ(d.grace_days, 10);
    EXPECT_EQ(d.revoked_days, 3);
    EXPECT_EQ(d.signer, "opendkim");
    EXPECT_EQ(d.key_table, std::filesystem::path("/etc/opendkim/KeyTable"));
    EXPECT_EQ(d.signing_table, std::filesystem::path("/etc/opendkim/SigningTable"));
    EXPECT_EQ(d.command, (std::vector<std::string>{"systemctl", "reload", "opendkim"}));
    EXPECT_EQ(d.where.line, 4U);
}

TEST(DkimConfig, DefaultsAreRsa2048OpenDkimAWeekOfGraceAndNoSchedule) {
    auto c = parse_text(client_with(R"(key_dir = "/var/lib/rampart/keys"
key_table = "/etc/opendkim/KeyTable"
signing_table = "/etc/opendkim/SigningTable"
)"));
    ASSERT_TRUE(c) << c.error().describe();
    const auto& d = *c->clients[0].dkim;
    EXPECT_EQ(d.selector, "");
    EXPECT_FALSE(d.key_file);
    EXPECT_EQ(d.selector_prefix, "s");
    EXPECT_EQ(d.algorithm, "rsa");
    EXPECT_EQ(d.bits, 2048U);
    EXPECT_FALSE(d.rotate_every_days);
    EXPECT_EQ(d.grace_days, 7);
    EXPECT_EQ(d.revoked_days, 7);
    EXPECT_TRUE(d.command.empty());
}

TEST(DkimConfig, AClientWithoutTheTableHasNoRotation) {
    auto c = parse_text("[[client]]\nname = \"acme\"\ndomains = [\"acme.example\"]\n");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_FALSE(c->clients[0].dkim);
}

TEST(DkimConfig, CommandSignerNeedsOnlyTheCommandAndKeepsRepeatedWords) {
    auto c = parse_text(client_with(R"(key_dir = "/k"
signer = "command"
command = ["/usr/local/bin/switch-key", "-v", "-v"]
)"));
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->clients[0].dkim->command.size(), 3U);
}

TEST(DkimConfig, RefusesWhatCannotWork) {
    const std::string tables = "key_table = \"/t/k\"\nsigning_table = \"/t/s\"\n";
    expect_error("key_dir = \"/k\"\n" + tables + "algorithm = \"dsa\"\n", 8,
                 "algorithm must be \"rsa\" or \"ed25519\"");
    expect_error("key_dir = \"/k\"\n" + tables + "bits = 1024\n", 8, "at least 2048 bits");
    expect_error("key_dir = \"/k\"\n" + tables + "bits = \"2048\"\n", 8,
                 "bits must be a whole number");
    expect_error("key_dir = \"/k\"\n" + tables + "grace_days = 0\n", 8,
                 "grace_days must be a whole number from 1");
    expect_error("key_dir = \"/k\"\n" + tables + "revoked_days = -3\n", 8, "revoked_days");
    expect_error("key_dir = \"/k\"\n" + tables + "rotate_every_days = 0\n", 8, "rotate_every_days");
    expect_error("key_dir = \"/k\"\n" + tables + "signer = \"rspamd\"\n", 8, "signer must be");
    expect_error("key_dir = \"/k\"\n" + tables + "selector = \"bad selector\"\n", 8,
                 "selector 'bad selector'");
    expect_error("key_dir = \"/k\"\n" + tables + "selector_prefix = \"a.b\"\n", 8,
                 "selector_prefix 'a.b'");
    expect_error("key_dir = \"/k\"\n" + tables + "command = []\n", 8,
                 "command must be a non-empty list");
    expect_error("key_dir = \"/k\"\n" + tables + "selektor = \"s1\"\n", 8,
                 "unknown key 'selektor' in [client.dkim]");
    // Whole-table checks point at the [client.dkim] header.
    expect_error(tables, 4, "needs key_dir");
    expect_error("key_dir = \"/k\"\nkey_table = \"/t/k\"\n", 4,
                 "needs key_table and signing_table");
    expect_error("key_dir = \"/k\"\nsigner = \"command\"\n", 4, "signer \"command\" needs command");
}

TEST(DkimConfig, Ed25519IgnoresTheRsaMinimum) {
    auto c = parse_text(
        client_with("key_dir = \"/k\"\nalgorithm = \"ed25519\"\nbits = 256\nsigner = \"command\"\n"
                    "command = [\"true\"]\n"));
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->clients[0].dkim->algorithm, "ed25519");
}

TEST(DkimConfig, TheClientErrorListsTheTable) {
    auto c = parse_text("[[client]]\nname = \"acme\"\ndkimm = 1\n");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().reason.find("[client.dkim]"), std::string::npos) << c.error().describe();
}

}  // namespace
}  // namespace rampart::config

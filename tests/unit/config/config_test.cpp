// config: rampart.toml is read strictly. Every error names the file, the line and the column of
// the key or value at fault (TOML v1.0.0 through toml++), so a typo never silently means "the
// default". (Kept with the mail tests until tests/unit/ lists a config folder.)
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace rampart::config {
namespace {

Result<Config> parse_text(std::string_view text) {
    return parse(text, "rampart.toml", "/etc/rampart");
}

void expect_error_at(std::string_view text, std::uint32_t line, std::uint32_t column,
                     std::string_view words) {
    auto c = parse_text(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code, Errc::malformed);
    EXPECT_EQ(c.error().where.source, "rampart.toml");
    EXPECT_EQ(c.error().where.line, line) << c.error().describe();
    EXPECT_EQ(c.error().where.column, column) << c.error().describe();
    EXPECT_NE(c.error().reason.find(words), std::string::npos) << c.error().describe();
}

TEST(Config, MailboxesWithEveryKey) {
    auto c = parse_text(R"(
# two clients' report mailboxes
[[mailbox]]
url = "imaps://dmarc@mail.example.net/INBOX"
password_file = "secrets/dmarc.pass"
ca_file = "/etc/ssl/private-ca.pem"
archive = "Done"
invalid = "Junk/DMARC"
client = "acme"

[[mailbox]]
url = "imap://globex@127.0.0.1:1143/Reports"
insecure = true
)");
    ASSERT_TRUE(c) << c.error().describe();
    ASSERT_EQ(c->mailboxes.size(), 2u);
    const auto& a = c->mailboxes[0];
    EXPECT_EQ(a.url, "imaps://dmarc@mail.example.net/INBOX");
    EXPECT_EQ(a.password_file, std::filesystem::path("/etc/rampart/secrets/dmarc.pass"));
    EXPECT_EQ(a.ca_file, std::filesystem::path("/etc/ssl/private-ca.pem"));
    EXPECT_FALSE(a.insecure);
    EXPECT_EQ(a.archive, "Done");
    EXPECT_EQ(a.invalid, "Junk/DMARC");
    EXPECT_EQ(a.client, "acme");
    EXPECT_EQ(a.where.line, 3u);
    const auto& b = c->mailboxes[1];
    EXPECT_TRUE(b.insecure);
    EXPECT_FALSE(b.password_file);
    EXPECT_FALSE(b.archive);
    EXPECT_FALSE(b.client);

    auto empty = parse_text("");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->mailboxes.empty());
}

TEST(Config, UnknownKeysAreErrorsAtTheirPosition) {
    expect_error_at("[[mailbox]]\nurl = \"imaps://u@h/\"\n  pasword_file = \"x\"\n", 3, 3,
                    "unknown key 'pasword_file'");
    expect_error_at("\n\nmailboxes = []\n", 3, 1, "unknown key 'mailboxes'");
    expect_error_at("[server]\nport = 1\n", 1, 2, "unknown key 'server'");
}

TEST(Config, WrongTypesAndMissingUrlAreErrorsAtTheirPosition) {
    expect_error_at("[[mailbox]]\nurl = \"imaps://u@h/\"\ninsecure = \"yes\"\n", 3, 12,
                    "insecure must be true or false");
    expect_error_at("[[mailbox]]\nurl = 42\n", 2, 7, "url must be a string");
    expect_error_at("[[mailbox]]\nurl = \"imaps://u@h/\"\narchive = \"\"\n", 3, 11,
                    "archive must not be empty");
    expect_error_at("\n[[mailbox]]\nclient = \"acme\"\n", 2, 1, "has no url");
    expect_error_at("mailbox = \"imaps://u@h/\"\n", 1, 11, "array of tables");
}

TEST(Config, SyntaxErrorsCarryLineAndColumn) {
    auto c = parse_text("[[mailbox]]\nurl = \"imaps://u@h/\n");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().where.line, 2u) << c.error().describe();
    EXPECT_GT(c.error().where.column, 0u);
    auto text = c.error().describe();
    EXPECT_EQ(text.rfind("rampart.toml: line 2 col ", 0), 0u) << text;
}

TEST(Config, LoadReadsAFileAndResolvesPathsNextToIt) {
    auto dir =
        std::filesystem::temp_directory_path() / ("rampart-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "rampart.toml")
        << "[[mailbox]]\nurl = \"imaps://u@h/\"\npassword_file = \"pw\"\n";
    auto c = load(dir / "rampart.toml");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->path, dir / "rampart.toml");
    EXPECT_EQ(c->mailboxes.at(0).password_file, dir / "pw");
    auto missing = load(dir / "absent.toml");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::io);
    EXPECT_EQ(missing.error().where.source, (dir / "absent.toml").string());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rampart::config

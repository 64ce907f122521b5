// mail/imap values: mailbox URLs as RFC 5092 writes them (and never with a password in them),
// the Secret type (style guide §7: never printed, wiped, constant-time compare), and password
// files that only their owner may read.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mail/imap/imap.hpp"

namespace rampart::mail::imap {
namespace {

namespace fs = std::filesystem;

TEST(MailboxUrl, ImapsWithDefaultsAndImapWithStartTls) {
    auto a = parse_url("imaps://dmarc@Mail.Example.NET/INBOX");
    ASSERT_TRUE(a) << a.error().describe();
    EXPECT_TRUE(a->implicit_tls);
    EXPECT_EQ(a->user, "dmarc");
    EXPECT_EQ(a->host, "mail.example.net");
    EXPECT_EQ(a->port, 993);
    EXPECT_EQ(a->folder, "INBOX");
    EXPECT_EQ(a->identity(), "dmarc@mail.example.net:993/INBOX");

    auto b = parse_url("IMAP://reports%40acme.example@127.0.0.1:1143/Reports%2FDMARC/");
    ASSERT_TRUE(b) << b.error().describe();
    EXPECT_FALSE(b->implicit_tls);
    EXPECT_EQ(b->user, "reports@acme.example");
    EXPECT_EQ(b->port, 1143);
    EXPECT_EQ(b->folder, "Reports/DMARC");

    auto c = parse_url("imaps://u@[2001:db8::1]:10993");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->host, "[2001:db8::1]");
    EXPECT_EQ(c->folder, "INBOX");
}

TEST(MailboxUrl, RefusesPasswordsAndWhatItCannotMean) {
    auto pw = parse_url("imaps://dmarc:hunter2@mail.example.net/INBOX");
    ASSERT_FALSE(pw);
    EXPECT_NE(pw.error().reason.find("must not contain a password"), std::string::npos);
    EXPECT_EQ(pw.error().reason.find("hunter2"), std::string::npos);
    EXPECT_EQ(pw.error().describe().find("hunter2"), std::string::npos);
    for (const char* bad :
         {"https://u@h/INBOX", "imaps://h/INBOX", "imaps://u@/INBOX", "imaps://u@h:0/",
          "imaps://u@h:99999/", "imaps://u@h:x/", "imaps://u@h/INBOX;UIDVALIDITY=5",
          "imaps://u@h/INBOX?x", "imaps://u@h/IN%0D%0ABOX", "imaps://u@h/%zz", "imaps://u%0a@h/",
          "imaps://u@ho st/", "imaps://u@[::1/", "mail.example.net"}) {
        auto r = parse_url(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::malformed) << bad;
        }
    }
}

TEST(Secret, IsRedactedMovedNotCopiedAndComparedWhole) {
    std::string text = "correct horse";
    auto s = Secret::take(text);
    EXPECT_TRUE(text.empty());
    EXPECT_EQ(s.reveal(), "correct horse");
    EXPECT_STREQ(s.c_str(), "correct horse");
    EXPECT_EQ(fmt::format("{}", s), "<redacted>");
    EXPECT_EQ(fmt::format("password={:>12}", s), "password=  <redacted>");
    static_assert(!std::is_copy_constructible_v<Secret>);
    static_assert(!std::is_copy_assignable_v<Secret>);

    std::string same = "correct horse", other = "correct horsf", longer = "correct horse!";
    EXPECT_TRUE(s.equals(Secret::take(same)));
    EXPECT_FALSE(s.equals(Secret::take(other)));
    EXPECT_FALSE(s.equals(Secret::take(longer)));

    Secret moved = std::move(s);
    EXPECT_EQ(moved.reveal(), "correct horse");
    EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_EQ(s.reveal(), "");
}

class PasswordFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("rampart-pw-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path write(const std::string& name, const std::string& text, mode_t mode) {
        auto p = dir_ / name;
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }
    fs::path dir_;
};

TEST_F(PasswordFile, OwnerOnlyFilesAreReadWithoutTheirLineEnd) {
    auto s = load_password_file(write("a", "s3cret\n", 0600));
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ(s->reveal(), "s3cret");
    auto r = load_password_file(write("b", "with space\r\n", 0400));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->reveal(), "with space");
}

TEST_F(PasswordFile, GroupOrWorldAccessIsRefusedNamingTheFileAndMode) {
    auto p = write("open", "s3cret\n", 0644);
    auto s = load_password_file(p);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::io);
    auto text = s.error().describe();
    EXPECT_NE(text.find(p.string()), std::string::npos) << text;
    EXPECT_NE(text.find("mode 0644"), std::string::npos) << text;
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
    EXPECT_FALSE(load_password_file(write("g", "x", 0640)));
    EXPECT_FALSE(load_password_file(write("w", "x", 0602)));

    // A symlink is judged by the file it leads to.
    auto target = write("target", "x", 0644);
    fs::create_symlink(target, dir_ / "link");
    EXPECT_FALSE(load_password_file(dir_ / "link"));
}

TEST_F(PasswordFile, EmptyMissingMultiLineAndHugeFilesAreRefused) {
    EXPECT_FALSE(load_password_file(write("empty", "\n", 0600)));
    EXPECT_FALSE(load_password_file(dir_ / "absent"));
    EXPECT_FALSE(load_password_file(write("two", "a\nb\n", 0600)));
    EXPECT_FALSE(load_password_file(write("huge", std::string(5000, 'x'), 0600)));
    EXPECT_FALSE(load_password_file(dir_));
}

}  // namespace
}  // namespace rampart::mail::imap

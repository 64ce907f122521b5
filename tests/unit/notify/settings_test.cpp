// Channel settings refused before any connection is opened: credentials in URLs, a password
// that would travel without TLS, a login without both halves, addresses that are not addresses.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "notify/notify.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rampart;
using namespace rampart::notify;

const std::vector<std::string> rcpt = {"it@acme.example"};

// Port 9 on loopback: nothing is listening, and none of these cases gets that far.
SmtpSettings base() {
    return SmtpSettings{.url = "smtp://127.0.0.1:9", .from = "rampart@ops.example"};
}

TEST(SmtpSettings, UrlWithCredentialsIsDeniedWithoutEchoingThem) {
    auto s = base();
    s.url = "smtp://notify:hunter2@127.0.0.1:9";
    auto r = SmtpChannel(s).deliver(Notification{}, rcpt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::denied);
    EXPECT_EQ(r.error().describe().find("hunter2"), std::string::npos) << r.error().describe();
}

TEST(SmtpSettings, PasswordWithoutTlsIsDenied) {
    auto dir = fs::temp_directory_path() / ("rampart-settings-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "p") << "pw\n";
    ::chmod((dir / "p").c_str(), 0600);
    auto s = base();
    s.starttls = false;
    s.username = "notify";
    s.password_file = dir / "p";
    auto r = SmtpChannel(s).deliver(Notification{}, rcpt);
    fs::remove_all(dir);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::denied);
    EXPECT_NE(r.error().reason.find("without TLS"), std::string::npos);
}

TEST(SmtpSettings, LoginNeedsBothHalves) {
    auto s = base();
    s.username = "notify";
    auto r = SmtpChannel(s).deliver(Notification{}, rcpt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
}

TEST(SmtpSettings, WrongSchemeAndBadAddressesAreMalformed) {
    auto s = base();
    s.url = "http://127.0.0.1:9";
    EXPECT_EQ(SmtpChannel(s).deliver(Notification{}, rcpt).error().code, Errc::malformed);
    EXPECT_EQ(SmtpChannel(base()).deliver(Notification{}, {}).error().code, Errc::malformed);
    const std::vector<std::string> injected = {"it@acme.example>\r\nRCPT TO:<x@y"};
    EXPECT_EQ(SmtpChannel(base()).deliver(Notification{}, injected).error().code, Errc::malformed);
    auto no_from = base();
    no_from.from = "Rampart";
    EXPECT_EQ(SmtpChannel(no_from).deliver(Notification{}, rcpt).error().code, Errc::malformed);
}

TEST(WebhookSettings, UrlWithCredentialsOrWrongSchemeIsRefused) {
    auto r = WebhookChannel(WebhookSettings{.url = "https://user:s3cret@hooks.example/x"})
                 .deliver(Notification{}, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::denied);
    EXPECT_EQ(r.error().describe().find("s3cret"), std::string::npos);
    EXPECT_EQ(WebhookChannel(WebhookSettings{.url = "ftp://hooks.example/"})
                  .deliver(Notification{}, {})
                  .error()
                  .code,
              Errc::malformed);
}

}  // namespace

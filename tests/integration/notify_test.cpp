// notify against real servers on 127.0.0.1: an SMTP submission server (python3-aiosmtpd via
// tests/harness/smtp.hpp) that requires STARTTLS and, in the login cases, AUTH; and an HTTP
// receiver (tests/harness/http_receiver.hpp) that records each POST. The envelope, headers and
// body arrive as rendered; a line starting with "." survives (libcurl dot-stuffs); a wrong
// password is a clear error with the server's reply and without the password; a client that
// will not do STARTTLS is refused by the server; the webhook carries the JSON and the bearer
// token, and a 500 or a redirect is an error with the status and the start of the body.
// Skipped when python3-aiosmtpd is not installed, unless RAMPART_REQUIRE_REAL=1 (CI).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <string_view>

#include "harness/http_receiver.hpp"
#include "harness/smtp.hpp"
#include "notify/notify.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rampart;
using namespace rampart::notify;
using rampart::test::HttpReceiver;
using rampart::test::SmtpOptions;
using rampart::test::SmtpServer;
using rampart::test::TempDir;

constexpr std::string_view password = "c0rrect h0rse-battery";

bool require_real() {
    const char* v = std::getenv("RAMPART_REQUIRE_REAL");
    return v != nullptr && std::string_view(v) == "1";
}

Notification hold() {
    return Notification{
        .event = Event::hold,
        .client = "Acme Corp",
        .domain = "acme.example",
        .old_record = "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@rampart.example",
        .new_record = "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@rampart.example",
        .step = "quarantine 50%",
        .reason =
            "The payroll provider sends 1,204 messages a day that fail DKIM.\n"
            ".hidden lines that start with a dot stay whole",
        .at = Timestamp{std::chrono::seconds{1795000000}},
        .details = {"203.0.113.9 (out.payroll.example): 1,204 messages, DKIM fail"},
    };
}

class Notify : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = SmtpServer::missing(); !why.empty()) {
            if (require_real()) FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why;
        }
    }

    fs::path secret_file(const std::string& name, std::string_view text, mode_t mode = 0600) {
        auto p = dir_.path / name;
        std::ofstream(p) << text << "\n";
        ::chmod(p.c_str(), mode);
        return p;
    }

    SmtpSettings settings(const SmtpServer& server) {
        return SmtpSettings{.url = server.url(),
                            .from = "Rampart <rampart@ops.example>",
                            .ca_file = server.ca_file(),
                            .timeout = std::chrono::seconds{20}};
    }

    TempDir dir_{"rampart-notify-test"};
    const std::vector<std::string> rcpt_ = {"it@acme.example", "Boss <boss@acme.example>"};
};

TEST_F(Notify, SmtpDeliversEnvelopeHeadersAndBodyOverStartTlsWithLogin) {
    SmtpServer server(SmtpOptions{.password = std::string(password)});
    ASSERT_EQ(server.start(), "");
    auto s = settings(server);
    s.username = "notify";
    s.password_file = secret_file("smtp.pass", password);
    SmtpChannel channel(s, [] { return Timestamp{std::chrono::seconds{1795000000}}; });
    auto sent = channel.deliver(hold(), rcpt_);
    ASSERT_TRUE(sent) << sent.error().describe() << "\n" << server.log();

    auto got = server.received();
    ASSERT_EQ(got.size(), 1u) << server.log();
    EXPECT_EQ(got[0].mail_from, "rampart@ops.example");
    EXPECT_EQ(got[0].rcpt_tos, (std::vector<std::string>{"it@acme.example", "boss@acme.example"}));
    EXPECT_TRUE(got[0].tls);
    EXPECT_EQ(got[0].login, "notify");
    const auto& data = got[0].data;
    EXPECT_NE(data.find("Subject: [Rampart] acme.example is held: The payroll provider sends"),
              std::string::npos)
        << data;
    EXPECT_NE(data.find("From: Rampart <rampart@ops.example>\r\n"), std::string::npos);
    EXPECT_NE(data.find("To: it@acme.example, Boss <boss@acme.example>\r\n"), std::string::npos);
    EXPECT_NE(data.find("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"), std::string::npos);
    EXPECT_NE(data.find("Message-ID: <rampart.1795000000."), std::string::npos);
    EXPECT_NE(data.find("Current record:   v=DMARC1; p=quarantine; pct=50;"), std::string::npos);
    // The server undoes the dot-stuffing libcurl did: the line arrives as it was written.
    EXPECT_NE(data.find("\r\n.hidden lines that start with a dot stay whole\r\n"),
              std::string::npos)
        << data;
}

TEST_F(Notify, WrongPasswordIsAClearErrorWithoutThePassword) {
    SmtpServer server(SmtpOptions{.password = std::string(password)});
    ASSERT_EQ(server.start(), "");
    auto s = settings(server);
    s.username = "notify";
    s.password_file = secret_file("wrong.pass", "Wr0ng-guess-42");
    auto sent = SmtpChannel(s).deliver(hold(), rcpt_);
    ASSERT_FALSE(sent);
    const auto text = sent.error().describe();
    EXPECT_EQ(sent.error().code, Errc::io);
    EXPECT_NE(text.find("refused the login for user notify"), std::string::npos) << text;
    EXPECT_NE(text.find("535"), std::string::npos) << text;  // the server's own reply
    EXPECT_EQ(text.find("Wr0ng-guess-42"), std::string::npos) << text;
    EXPECT_TRUE(server.received().empty());
}

TEST_F(Notify, PasswordFileOthersCanReadIsDeniedBeforeConnecting) {
    SmtpServer server(SmtpOptions{.password = std::string(password)});
    ASSERT_EQ(server.start(), "");
    auto s = settings(server);
    s.username = "notify";
    s.password_file = secret_file("open.pass", password, 0644);
    auto sent = SmtpChannel(s).deliver(hold(), rcpt_);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::denied);
    EXPECT_NE(sent.error().reason.find("open.pass"), std::string::npos);
    EXPECT_EQ(server.log().find("AUTH"), std::string::npos);
}

TEST_F(Notify, ServerRequiresStartTlsAndAClientWithoutItIsRefused) {
    SmtpServer server;
    ASSERT_EQ(server.start(), "");
    auto s = settings(server);
    s.starttls = false;
    auto sent = SmtpChannel(s).deliver(hold(), rcpt_);
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().reason.find("530"), std::string::npos) << sent.error().describe();
    EXPECT_TRUE(server.received().empty());

    // With STARTTLS (the default) the same server takes the message, over TLS.
    auto ok = SmtpChannel(settings(server)).deliver(hold(), rcpt_);
    ASSERT_TRUE(ok) << ok.error().describe();
    ASSERT_EQ(server.received().size(), 1u);
    EXPECT_TRUE(server.received()[0].tls);
}

TEST_F(Notify, UntrustedCertificateIsAnError) {
    SmtpServer server;
    ASSERT_EQ(server.start(), "");
    auto s = settings(server);
    s.ca_file.reset();
    auto sent = SmtpChannel(s).deliver(hold(), rcpt_);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::io) << sent.error().describe();
    EXPECT_TRUE(server.received().empty());
}

class Webhook : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = HttpReceiver::missing(); !why.empty()) {
            if (require_real()) FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why;
        }
    }
    fs::path token_file(std::string_view token) {
        auto p = dir_.path / "token";
        std::ofstream(p) << token << "\n";
        ::chmod(p.c_str(), 0600);
        return p;
    }
    TempDir dir_{"rampart-webhook-test"};
};

TEST_F(Webhook, PostsTheJsonWithTheBearerToken) {
    HttpReceiver receiver("t0ken-for-hooks");
    ASSERT_EQ(receiver.start(), "");
    WebhookChannel channel(
        WebhookSettings{.url = receiver.url(), .token_file = token_file("t0ken-for-hooks")});
    auto sent = channel.deliver(hold(), {});
    ASSERT_TRUE(sent) << sent.error().describe() << "\n" << receiver.log();
    auto got = receiver.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].path, "/hook");
    EXPECT_EQ(got[0].headers["Authorization"], "Bearer t0ken-for-hooks");
    EXPECT_EQ(got[0].headers["Content-Type"], "application/json");
    auto doc = nlohmann::json::parse(got[0].body);
    EXPECT_EQ(doc["event"], "hold");
    EXPECT_EQ(doc["domain"], "acme.example");
    EXPECT_EQ(doc["at"], "2026-11-18T11:06:40Z");
    EXPECT_EQ(doc["details"].size(), 1u);
}

TEST_F(Webhook, WrongTokenIsAnErrorWithTheStatus) {
    HttpReceiver receiver("t0ken-for-hooks");
    ASSERT_EQ(receiver.start(), "");
    auto sent = WebhookChannel(WebhookSettings{.url = receiver.url(),
                                               .token_file = token_file("not-the-token")})
                    .deliver(hold(), {});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::io);
    EXPECT_NE(sent.error().reason.find("HTTP 401"), std::string::npos) << sent.error().reason;
    EXPECT_EQ(sent.error().reason.find("not-the-token"), std::string::npos);
}

TEST_F(Webhook, ServerErrorCarriesStatusAndTheStartOfTheBody) {
    HttpReceiver receiver;
    ASSERT_EQ(receiver.start(), "");
    auto sent = WebhookChannel(WebhookSettings{.url = receiver.url("/fail")}).deliver(hold(), {});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, Errc::transient);
    const auto& reason = sent.error().reason;
    EXPECT_NE(reason.find("HTTP 500: internal trouble: xxx"), std::string::npos) << reason;
    // Only the first 200 bytes of the 418-byte body.
    EXPECT_LT(reason.size(), 260u) << reason;
}

TEST_F(Webhook, RedirectIsNotFollowed) {
    HttpReceiver receiver;
    ASSERT_EQ(receiver.start(), "");
    auto sent = WebhookChannel(WebhookSettings{.url = receiver.url("/moved")}).deliver(hold(), {});
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().reason.find("HTTP 302"), std::string::npos) << sent.error().reason;
    EXPECT_EQ(receiver.received().size(), 1u);
}

TEST_F(Webhook, DispatcherReportsEachChannel) {
    HttpReceiver receiver;
    ASSERT_EQ(receiver.start(), "");
    Dispatcher d;
    d.add("broken",
          std::make_unique<WebhookChannel>(WebhookSettings{.url = receiver.url("/fail")}));
    d.add("hook", std::make_unique<WebhookChannel>(WebhookSettings{.url = receiver.url()}));
    auto results = d.send(hold());
    ASSERT_EQ(results.size(), 2u);
    EXPECT_FALSE(results[0].outcome);
    EXPECT_TRUE(results[1].outcome) << results[1].outcome.error().describe();
    EXPECT_EQ(receiver.received().size(), 2u);
}

}  // namespace

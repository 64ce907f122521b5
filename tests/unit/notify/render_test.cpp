// Rendering a notification: subjects per event, the plain-text body, the RFC 5322 message
// (RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters ... excluding
// the CRLF"; RFC 2047 for a non-ASCII Subject) and the webhook's JSON payload.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "notify/notify.hpp"

namespace {

using namespace rampart;
using namespace rampart::notify;

Notification milestone() {
    return Notification{
        .event = Event::milestone,
        .client = "Acme Corp",
        .domain = "acme.example",
        .old_record = "v=DMARC1; p=quarantine; pct=25; rua=mailto:dmarc@rampart.example",
        .new_record = "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@rampart.example",
        .step = "quarantine 50%",
        .reason = "14 days with 99.6% of mail passing DMARC and no unknown sender.",
        .at = Timestamp{std::chrono::seconds{1795000000}},
        .details = {"mailhost: 98,112 messages, 100% aligned"},
    };
}

Notification with(Event e, std::string reason) {
    auto n = milestone();
    n.event = e;
    n.reason = std::move(reason);
    return n;
}

SmtpSettings smtp() {
    return SmtpSettings{.url = "smtp://127.0.0.1:587", .from = "Rampart <rampart@ops.example>"};
}

const std::vector<std::string> rcpt = {"it@acme.example", "boss@acme.example"};

std::vector<std::string> crlf_lines(const std::string& message) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < message.size()) {
        auto end = message.find("\r\n", start);
        if (end == std::string::npos) end = message.size();
        out.push_back(message.substr(start, end - start));
        start = end + 2;
    }
    return out;
}

std::string header_block(const std::string& message) {
    return message.substr(0, message.find("\r\n\r\n") + 2);
}

/// The quoted-printable body decoded (RFC 2045 §6.7), soft breaks removed.
std::string qp_decode(const std::string& body) {
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '=' && body.compare(i + 1, 2, "\r\n") == 0) {
            i += 2;
        } else if (body[i] == '=' && i + 2 < body.size()) {
            out += static_cast<char>(std::stoi(body.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += body[i];
        }
    }
    return out;
}

TEST(Subject, SaysWhatHappenedPerEvent) {
    EXPECT_EQ(render_subject(milestone()), "[Rampart] acme.example reached quarantine 50%");
    EXPECT_EQ(render_subject(with(Event::advance, "")),
              "[Rampart] acme.example moved to quarantine 50%");
    EXPECT_EQ(render_subject(with(Event::hold, "Mail from 203.0.113.9 fails DKIM.\nMore.")),
              "[Rampart] acme.example is held: Mail from 203.0.113.9 fails DKIM....");
    auto rollback = with(Event::rollback, "Bounces from a payroll provider.");
    rollback.step = "quarantine 25%";
    EXPECT_EQ(render_subject(rollback),
              "[Rampart] acme.example rolled back to quarantine 25%: Bounces from a payroll "
              "provider.");
    EXPECT_EQ(render_subject(with(Event::new_unknown_sender, "198.51.100.7 (mx.unknown.example)")),
              "[Rampart] acme.example has a new unknown sender: 198.51.100.7 (mx.unknown.example)");
}

TEST(Subject, CutsALongReasonAndDropsControlCharacters) {
    auto s = render_subject(with(Event::hold, std::string(500, 'x') + "\r\nBcc: evil@x"));
    EXPECT_LT(s.size(), 160u);
    EXPECT_TRUE(s.ends_with("..."));
    EXPECT_EQ(s.find('\r'), std::string::npos);
    EXPECT_EQ(s.find("Bcc"), std::string::npos);
}

TEST(Text, NamesClientRecordsReasonDetailsAndNextSteps) {
    auto t = render_text(milestone());
    EXPECT_NE(t.find("Hello Acme Corp,"), std::string::npos);
    EXPECT_NE(t.find("Previous record:  v=DMARC1; p=quarantine; pct=25;"), std::string::npos);
    EXPECT_NE(t.find("New record:       v=DMARC1; p=quarantine; pct=50;"), std::string::npos);
    EXPECT_NE(t.find("Why:\n14 days with 99.6% of mail passing"), std::string::npos);
    EXPECT_NE(t.find("- mailhost: 98,112 messages"), std::string::npos);
    EXPECT_NE(t.find("What you need to do:\nNothing"), std::string::npos);
    EXPECT_NE(t.find("When:             2026-11-18T11:06:40Z"), std::string::npos) << t;
}

TEST(Text, HoldShowsOneCurrentRecord) {
    auto n = with(Event::hold, "An unknown sender fails DKIM.");
    n.old_record = n.new_record;
    auto t = render_text(n);
    EXPECT_NE(t.find("Current record:   v=DMARC1"), std::string::npos);
    EXPECT_EQ(t.find("Previous record"), std::string::npos);
}

TEST(Message, HasEveryHeaderAndCrlfEverywhere) {
    auto m = render_message(milestone(), smtp(), rcpt, Timestamp{std::chrono::seconds{1795000000}},
                            "ops.example");
    auto h = header_block(m);
    EXPECT_NE(h.find("Date: Wed, 18 Nov 2026 11:06:40 +0000"), std::string::npos) << h;
    EXPECT_NE(h.find(" +0000\r\n"), std::string::npos);
    EXPECT_NE(h.find("From: Rampart <rampart@ops.example>\r\n"), std::string::npos);
    EXPECT_NE(h.find("To: it@acme.example, boss@acme.example\r\n"), std::string::npos);
    EXPECT_NE(h.find("Subject: [Rampart] acme.example reached quarantine 50%\r\n"),
              std::string::npos);
    EXPECT_NE(h.find("Message-ID: <rampart.1795000000."), std::string::npos);
    EXPECT_NE(h.find("@ops.example>\r\n"), std::string::npos);
    EXPECT_NE(h.find("MIME-Version: 1.0\r\n"), std::string::npos);
    EXPECT_NE(h.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(h.find("Content-Transfer-Encoding: 7bit\r\n"), std::string::npos);
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n') {
            ASSERT_TRUE(i > 0 && m[i - 1] == '\r') << "bare LF at " << i;
        }
        if (m[i] == '\r') {
            ASSERT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
        }
    }
    EXPECT_TRUE(m.ends_with("\r\n"));
}

TEST(Message, SameNoticeSameSecondSameMessageId) {
    auto now = Timestamp{std::chrono::seconds{1795000000}};
    auto id = [&](const Notification& n) {
        auto m = render_message(n, smtp(), rcpt, now, "ops.example");
        auto at = m.find("Message-ID: ");
        return m.substr(at, m.find("\r\n", at) - at);
    };
    EXPECT_EQ(id(milestone()), id(milestone()));
    EXPECT_NE(id(milestone()), id(with(Event::hold, "other")));
}

TEST(Message, NonAsciiSubjectIsEncodedWords) {
    auto n = milestone();
    n.domain = "bücher.example";
    n.step =
        "quarantäne 50 % — Schritt zwei von fünf, mit einem recht langen Namen für den Schritt";
    auto m = render_message(n, smtp(), rcpt, Timestamp{}, "ops.example");
    auto h = header_block(m);
    auto at = h.find("Subject: ");
    ASSERT_NE(at, std::string::npos);
    auto end = h.find("\r\n", at);
    while (h.compare(end + 2, 1, " ") == 0) end = h.find("\r\n", end + 2);  // folded lines
    auto subject = h.substr(at, end - at);
    EXPECT_NE(subject.find("=?UTF-8?Q?"), std::string::npos) << subject;
    EXPECT_NE(subject.find("=C3=BC"), std::string::npos) << subject;  // ü
    for (char c : subject) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << subject;
    for (const auto& line : crlf_lines(subject)) EXPECT_LE(line.size(), 78u) << line;
    // RFC 2047 §2: an encoded-word is at most 75 characters.
    for (std::size_t p = subject.find("=?"); p != std::string::npos;
         p = subject.find("=?", p + 1)) {
        auto q = subject.find("?=", p + 10);
        EXPECT_LE(q + 2 - p, 75u);
        p = q;
    }
    // The body is UTF-8, so quoted-printable.
    EXPECT_NE(h.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
    EXPECT_NE(qp_decode(m.substr(h.size() + 2)).find("bücher.example"), std::string::npos);
}

TEST(Message, NoLineOver998EvenForAHugeReason) {
    auto n = with(Event::hold, std::string(5000, 'r'));
    n.details.push_back(std::string(3000, 'd'));
    auto m = render_message(n, smtp(), rcpt, Timestamp{}, "ops.example");
    for (const auto& line : crlf_lines(m)) EXPECT_LE(line.size(), 998u);
    auto h = header_block(m);
    EXPECT_NE(h.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
    // Nothing was lost on the way: the decoded body still holds the whole reason.
    EXPECT_NE(qp_decode(m.substr(h.size() + 2)).find(std::string(5000, 'r')), std::string::npos);
}

TEST(Message, ManyRecipientsFoldTheToHeader) {
    std::vector<std::string> many;
    for (int i = 0; i < 60; ++i) many.push_back("person" + std::to_string(i) + "@acme.example");
    auto m = render_message(milestone(), smtp(), many, Timestamp{}, "ops.example");
    for (const auto& line : crlf_lines(header_block(m))) EXPECT_LE(line.size(), 78u) << line;
    EXPECT_NE(m.find("person59@acme.example"), std::string::npos);
}

TEST(Envelope, TakesTheAddrSpec) {
    EXPECT_EQ(envelope_address("Rampart <rampart@ops.example>"), "rampart@ops.example");
    EXPECT_EQ(envelope_address(" rampart@ops.example "), "rampart@ops.example");
}

TEST(Json, HasEveryKeyWithItsValue) {
    auto doc = nlohmann::json::parse(render_json(milestone()));
    EXPECT_EQ(doc["event"], "milestone");
    EXPECT_EQ(doc["client"], "Acme Corp");
    EXPECT_EQ(doc["domain"], "acme.example");
    EXPECT_EQ(doc["step"], "quarantine 50%");
    EXPECT_EQ(doc["old_record"], milestone().old_record);
    EXPECT_EQ(doc["new_record"], milestone().new_record);
    EXPECT_EQ(doc["reason"], milestone().reason);
    EXPECT_EQ(doc["at"], "2026-11-18T11:06:40Z");
    ASSERT_TRUE(doc["details"].is_array());
    EXPECT_EQ(doc["details"][0], "mailhost: 98,112 messages, 100% aligned");
    EXPECT_EQ(doc.size(), 9u);
}

TEST(Json, InvalidUtf8DoesNotThrow) {
    auto n = milestone();
    n.details = {std::string("bad \xff byte")};
    auto doc = nlohmann::json::parse(render_json(n));
    EXPECT_EQ(doc["details"][0], "bad \xEF\xBF\xBD byte");
}

TEST(Event, NamesAreStable) {
    EXPECT_EQ(to_string(Event::milestone), "milestone");
    EXPECT_EQ(to_string(Event::hold), "hold");
    EXPECT_EQ(to_string(Event::rollback), "rollback");
    EXPECT_EQ(to_string(Event::new_unknown_sender), "new_unknown_sender");
    EXPECT_EQ(to_string(Event::advance), "advance");
}

}  // namespace

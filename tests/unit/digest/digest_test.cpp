// digest: render_text and render_html of a hand-built digest. What is checked: the figures a
// client reads (messages, pass rate, the trend against the previous period in percentage points,
// new senders, every open action with class, action, decision and due date), that text from
// reports is made safe (printable() for the terminal, HTML escaping for the page), that the page
// is self-contained (no scripts, no external resources), and that the chart has every day of the
// period, including days without reports.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "digest/digest.hpp"

namespace rampart::digest {
namespace {

using namespace std::chrono;

constexpr sys_days nov16 = sys_days{year{2026} / November / 16};

Timestamp at(sys_days d) { return Timestamp{d}; }

std::size_t occurrences(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

senders::Sender sender(std::string name, senders::SenderClass cls, std::uint64_t messages,
                       std::uint64_t pass) {
    senders::Sender s;
    s.name = std::move(name);
    s.cls = cls;
    s.messages = messages;
    s.dmarc_pass = pass;
    return s;
}

/// acme.example over seven days (16-22 November 2026), one of them without reports.
Digest sample() {
    Digest d;
    d.client = "acme";
    d.contact = {"it@acme.example", "ciso@acme.example"};
    d.since = at(nov16);
    d.until = at(nov16 + days{7});

    DomainDigest dd;
    dd.analysis.domain = "acme.example";
    dd.analysis.since = d.since;
    dd.analysis.until = d.until;
    dd.analysis.messages = 1000;
    dd.analysis.dmarc_pass = 976;
    auto office = sender("Office mail", senders::SenderClass::passing, 900, 900);
    auto crm = sender("CRM newsletters", senders::SenderClass::not_aligned, 80, 76);
    crm.action = "Publish a DKIM key for the CRM and sign with d=acme.example.";
    crm.decision = "moving to custom DKIM";
    crm.due = year{2027} / January / 31;
    auto spoof = sender("unknown: 198.51.100.0/24", senders::SenderClass::unauthorised, 20, 0);
    spoof.action = "Nothing to fix: this is not your mail; p=reject will stop it.";
    dd.analysis.senders = {office, crm, spoof};
    for (int i = 0; i < 7; ++i) {
        DayPoint p;
        p.day = nov16 + days{i};
        if (i != 2) {
            p.messages = 1000 / 6 + (i == 6 ? 1000 % 6 : 0);
            p.dmarc_pass = p.messages - 4;
        }
        dd.days.push_back(p);
    }
    dd.new_senders = {"CRM newsletters"};
    dd.previous_messages = 800;
    dd.previous_pass = 771;  // 96.4 %
    d.domains.push_back(dd);
    return d;
}

TEST(RenderText, ShowsFiguresTrendNewSendersAndOpenActions) {
    const auto text = render_text(sample());
    EXPECT_NE(text.find("DMARC digest for acme\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Period: 2026-11-16 to 2026-11-22 (7 days, UTC)"), std::string::npos)
        << text;
    EXPECT_NE(text.find("Contact: it@acme.example, ciso@acme.example"), std::string::npos);
    EXPECT_NE(text.find("Messages:   1,000 (previous period: 800)"), std::string::npos) << text;
    // 97.6 % now against 96.375 % before: up 1.2 points.
    EXPECT_NE(text.find("DMARC pass: 97.6% (976 messages), \u2191 +1.2 pp from 96.4%"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("New senders (1):\n  - CRM newsletters\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Open actions (2):"), std::string::npos) << text;
    EXPECT_NE(text.find("  - CRM newsletters [not_aligned]: 80 messages, 95.0% DMARC pass\n"
                        "    Action:   Publish a DKIM key for the CRM and sign with "
                        "d=acme.example.\n"
                        "    Decision: moving to custom DKIM\n"
                        "    Due:      2027-01-31\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  - unknown: 198.51.100.0/24 [unauthorised]: 20 messages, 0.0% DMARC "
                        "pass\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("    Decision: none recorded\n    Due:      not set\n"), std::string::npos);
    // A passing sender is not an open action.
    EXPECT_EQ(text.find("Office mail"), std::string::npos) << text;
}

TEST(RenderText, TrendDownAndUnknown) {
    auto d = sample();
    d.domains[0].previous_messages = 100;
    d.domains[0].previous_pass = 100;
    auto text = render_text(d);
    EXPECT_NE(text.find("\u2193 -2.4 pp from 100.0%"), std::string::npos) << text;
    d.domains[0].previous_messages = 0;
    d.domains[0].previous_pass = 0;
    text = render_text(d);
    EXPECT_NE(text.find("no mail in the previous period to compare"), std::string::npos) << text;
    EXPECT_EQ(text.find("\u2193"), std::string::npos);
}

TEST(RenderText, HostileSenderNameIsMadePrintable) {
    auto d = sample();
    d.domains[0].analysis.senders[2].name = "unknown: evil\x1b[2J\r\nFAKE LINE";
    d.domains[0].new_senders = {"bell\x07"};
    const auto text = render_text(d);
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_EQ(text.find('\x07'), std::string::npos);
    EXPECT_EQ(text.find('\r'), std::string::npos);
    EXPECT_EQ(text.find("\nFAKE LINE"), std::string::npos) << text;
    EXPECT_NE(text.find("FAKE LINE"), std::string::npos) << text;
}

TEST(RenderText, EmptyPeriodSaysSo) {
    Digest d;
    d.client = "initech";
    d.since = at(nov16);
    d.until = at(nov16);
    DomainDigest dd;
    dd.analysis.domain = "initech.example";
    d.domains.push_back(dd);
    const auto text = render_text(d);
    EXPECT_NE(text.find("initech.example\n"), std::string::npos) << text;
    EXPECT_NE(text.find("No reports for this period.\n"), std::string::npos) << text;
    EXPECT_NE(text.find("New senders: none\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Open actions: none\n"), std::string::npos) << text;
}

TEST(RenderHtml, IsOneSelfContainedDocument) {
    const auto page = render_html(sample());
    EXPECT_EQ(page.rfind("<!DOCTYPE html>\n<html", 0), 0u);
    EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
    EXPECT_NE(page.find("<style>"), std::string::npos);
    EXPECT_EQ(occurrences(page, "</html>"), 1u);
    for (std::string_view banned : {"<script", "<link", "<img", "<iframe", "src=", "href=", "url(",
                                    "@import", "javascript:", "onload", "onerror"}) {
        EXPECT_EQ(page.find(banned), std::string::npos) << banned;
    }
    // The only URL is the SVG namespace name, which is never fetched.
    EXPECT_EQ(occurrences(page, "http"), occurrences(page, "http://www.w3.org/2000/svg"));
    EXPECT_EQ(occurrences(page, "<svg"), 1u);
}

TEST(RenderHtml, ShowsFiguresAndOpenActions) {
    const auto page = render_html(sample());
    EXPECT_NE(page.find("<h1>DMARC digest for acme</h1>"), std::string::npos);
    EXPECT_NE(page.find("Period: 2026-11-16 to 2026-11-22"), std::string::npos);
    EXPECT_NE(page.find("<h2>acme.example</h2>"), std::string::npos);
    EXPECT_NE(page.find("97.6% (976 messages) <span class=\"up\">\u2191 +1.2 pp"),
              std::string::npos)
        << page;
    EXPECT_NE(page.find("<li>CRM newsletters</li>"), std::string::npos);
    EXPECT_NE(page.find("<tr><td>CRM newsletters</td><td>not_aligned</td><td>80</td>"
                        "<td>95.0%</td><td>Publish a DKIM key for the CRM and sign with "
                        "d=acme.example.</td><td>moving to custom DKIM</td><td>2027-01-31</td>"
                        "</tr>"),
              std::string::npos)
        << page;
    EXPECT_NE(page.find("<td>unauthorised</td>"), std::string::npos);
    EXPECT_EQ(page.find("<td>Office mail</td>"), std::string::npos);
}

TEST(RenderHtml, HostileTextIsEscaped) {
    auto d = sample();
    d.client = "acme <b>";
    d.domains[0].analysis.senders[2].name = "<script>alert('x')</script>\"&";
    d.domains[0].analysis.senders[2].action = "<img src=x onerror=alert(1)>";
    d.domains[0].new_senders = {"</li><script>", std::string("bad \xff\xfe utf8 \x01")};
    const auto page = render_html(d);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_EQ(page.find("<b>"), std::string::npos);
    EXPECT_NE(page.find("<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;</td>"),
              std::string::npos)
        << page;
    EXPECT_NE(page.find("<li>&lt;/li&gt;&lt;script&gt;</li>"), std::string::npos);
    EXPECT_NE(page.find("<li>bad \ufffd\ufffd utf8 \ufffd</li>"), std::string::npos) << page;
    EXPECT_NE(page.find("<title>DMARC digest for acme &lt;b&gt;</title>"), std::string::npos);
}

TEST(RenderHtml, ChartHasEveryDayWithAHoverTitle) {
    const auto page = render_html(sample());
    EXPECT_EQ(occurrences(page, "<rect class=\"bar\""), 7u);
    for (int i = 0; i < 7; ++i) {
        const year_month_day ymd{nov16 + days{i}};
        const auto label = std::to_string(static_cast<int>(ymd.year())) + "-11-" +
                           std::to_string(static_cast<unsigned>(ymd.day()));
        EXPECT_NE(page.find("<title>" + label + ": "), std::string::npos) << label;
        // Seven days fit: each has its axis label (month-day).
        EXPECT_NE(page.find(">11-" + std::to_string(static_cast<unsigned>(ymd.day())) + "</text>"),
                  std::string::npos)
            << label;
    }
    EXPECT_NE(page.find("<title>2026-11-18: 0 messages, no reports</title>"), std::string::npos);
    EXPECT_NE(page.find("<title>2026-11-16: 166 messages, 97.6% DMARC pass</title>"),
              std::string::npos)
        << page;
    // The pass-rate line has a point for each of the six days with reports, none for the gap.
    EXPECT_EQ(occurrences(page, "<circle class=\"pass\""), 6u);
    EXPECT_NE(page.find("<polyline class=\"pass\""), std::string::npos);
    // Both axes are labelled.
    EXPECT_NE(page.find(">messages per day</text>"), std::string::npos);
    EXPECT_NE(page.find(">DMARC pass</text>"), std::string::npos);
    EXPECT_NE(page.find(">100%</text>"), std::string::npos);
    EXPECT_NE(page.find("text-anchor=\"end\">170</text>"), std::string::npos) << page;
}

TEST(RenderHtml, LongPeriodLabelsSomeDaysButDrawsAll) {
    auto d = sample();
    auto& days_ = d.domains[0].days;
    days_.clear();
    for (int i = 0; i < 30; ++i) days_.push_back(DayPoint{nov16 + days{i}, 10, 9});
    d.until = at(nov16 + days{30});
    const auto page = render_html(d);
    EXPECT_EQ(occurrences(page, "<rect class=\"bar\""), 30u);
    EXPECT_EQ(occurrences(page, "<circle class=\"pass\""), 30u);
    EXPECT_LT(occurrences(page, "class=\"xlabel\""), 30u);
    EXPECT_NE(page.find(">12-15</text>"), std::string::npos);  // the last day is always labelled
}

TEST(RenderHtml, EmptyPeriod) {
    Digest d;
    d.client = "initech";
    d.since = at(nov16);
    d.until = at(nov16);
    DomainDigest dd;
    dd.analysis.domain = "initech.example";
    d.domains.push_back(dd);
    auto page = render_html(d);
    EXPECT_NE(page.find("No reports for this period."), std::string::npos);
    EXPECT_NE(page.find("No days in this period."), std::string::npos);
    EXPECT_EQ(page.find("<svg"), std::string::npos);
    EXPECT_NE(page.find("</html>"), std::string::npos);

    // Days without any report still get their (empty) bars and no pass-rate line.
    d.until = at(nov16 + days{3});
    for (int i = 0; i < 3; ++i) d.domains[0].days.push_back(DayPoint{nov16 + days{i}, 0, 0});
    page = render_html(d);
    EXPECT_EQ(occurrences(page, "<rect class=\"bar\""), 3u);
    EXPECT_EQ(page.find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace rampart::digest

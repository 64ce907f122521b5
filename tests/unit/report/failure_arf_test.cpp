// Failure reports (ARF) parsed from whole messages.
//
// What is checked, paraphrased (the RFC texts are not in the corpus; STANDARDS.md §4 sums them up):
// RFC 5965 §2: an ARF report is multipart/report; report-type=feedback-report whose second part
// is message/feedback-report (machine-readable fields) and whose third part is the reported
// message as message/rfc822, or its header block as text/rfc822-headers.
// RFC 5965 §3.1: Feedback-Type, User-Agent and Version are required once; Reported-Domain,
// Original-Rcpt-To and Authentication-Results may repeat; Arrival-Date (legacy Received-Date)
// is an RFC 5322 date.
// RFC 6591 as updated by RFC 9991: Auth-Failure (dmarc, spf, bodyhash, ...), Identity-Alignment,
// DKIM-Domain, DKIM-Identity, DKIM-Selector, SPF-DNS, Delivery-Result.
// Rampart's decision: a message with no message/feedback-report part is rejected as malformed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "report/report.hpp"
#include "support.hpp"

namespace rampart::report {
namespace {

using test::bytes_of;
using test::read_file;

Location at(std::string source) {
    Location where;
    where.source = std::move(source);
    return where;
}

Result<FailureReport> parse_text(const std::string& text, const IngestLimits& limits = {}) {
    return parse_failure_report(bytes_of(text), at("test"), limits);
}

std::string fixture(const char* name) {
    auto path = test::fixtures() / "failure" / name;
    auto text = read_file(path);
    EXPECT_FALSE(text.empty()) << "missing fixture " << path;
    return text;
}

Timestamp epoch(std::int64_t seconds) { return Timestamp{std::chrono::seconds{seconds}}; }

std::string to_crlf(const std::string& lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

std::string to_bare_cr(const std::string& lf) {
    std::string out = lf;
    std::replace(out.begin(), out.end(), '\n', '\r');
    return out;
}

bool has_diagnostic(const FailureReport& r, std::string_view path_part, std::string_view text) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& d) {
        return d.path.find(path_part) != std::string::npos &&
               d.message.find(text) != std::string::npos;
    });
}

/// Every field but the diagnostics (which record how the bytes looked, e.g. bare CR).
void expect_same_fields(const FailureReport& a, const FailureReport& b) {
    EXPECT_EQ(a.feedback_type, b.feedback_type);
    EXPECT_EQ(a.user_agent, b.user_agent);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.auth_failure, b.auth_failure);
    EXPECT_EQ(a.identity_alignment, b.identity_alignment);
    EXPECT_EQ(a.delivery_result, b.delivery_result);
    EXPECT_EQ(a.reported_domains, b.reported_domains);
    EXPECT_EQ(a.source_ip, b.source_ip);
    EXPECT_EQ(a.arrival_date, b.arrival_date);
    EXPECT_EQ(a.original_mail_from, b.original_mail_from);
    EXPECT_EQ(a.original_rcpt_to, b.original_rcpt_to);
    EXPECT_EQ(a.original_envelope_id, b.original_envelope_id);
    EXPECT_EQ(a.reporting_mta, b.reporting_mta);
    EXPECT_EQ(a.authentication_results, b.authentication_results);
    EXPECT_EQ(a.dkim_domain, b.dkim_domain);
    EXPECT_EQ(a.dkim_identity, b.dkim_identity);
    EXPECT_EQ(a.dkim_selector, b.dkim_selector);
    EXPECT_EQ(a.spf_dns, b.spf_dns);
    EXPECT_EQ(a.incidents, b.incidents);
    EXPECT_EQ(a.original_headers, b.original_headers);
    EXPECT_EQ(a.original_from, b.original_from);
    EXPECT_EQ(a.original_subject, b.original_subject);
    EXPECT_EQ(a.original_message_id, b.original_message_id);
    EXPECT_EQ(a.report_message_id, b.report_message_id);
}

/// A minimal multipart/report around the given field block and original header block.
std::string arf(const std::string& fields, const std::string& original_headers =
                                               "From: Someone <someone@example.org>\n"
                                               "Subject: hello\n"
                                               "Message-ID: <orig@example.org>\n") {
    return "From: reporter@receiver.example\n"
           "Message-ID: <report-1@receiver.example>\n"
           "MIME-Version: 1.0\n"
           "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\n"
           "\n"
           "--b1\n"
           "Content-Type: text/plain\n"
           "\n"
           "A failure report.\n"
           "--b1\n"
           "Content-Type: message/feedback-report\n"
           "\n" +
           fields +
           "\n"
           "--b1\n"
           "Content-Type: text/rfc822-headers\n"
           "\n" +
           original_headers +
           "\n"
           "--b1--\n";
}

const std::string minimal_fields =
    "Feedback-Type: auth-failure\n"
    "User-Agent: test/1.0\n"
    "Version: 1\n";

// ---- fixtures (always on) ---------------------------------------------------------------------

TEST(FailureArf, Rfc9991AppendixAExampleGivesEveryField) {
    auto r = parse_text(fixture("rfc9991-appendix-A.eml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "auth-failure");
    EXPECT_EQ(r->user_agent, "DMARC-Filter/1.2.3");
    EXPECT_EQ(r->version, "1");
    EXPECT_EQ(r->auth_failure, "dmarc");
    EXPECT_EQ(r->identity_alignment, "dkim");
    EXPECT_EQ(r->delivery_result, "");
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"consumer.example"});
    ASSERT_TRUE(r->source_ip);
    EXPECT_EQ(r->source_ip->to_string(), "192.0.2.2");
    EXPECT_FALSE(r->arrival_date);  // the example has no Arrival-Date
    EXPECT_EQ(r->original_mail_from, "author=gen.example@forwarder.example");
    EXPECT_EQ(r->original_envelope_id, "65E1A3F0A0");
    EXPECT_EQ(r->authentication_results,
              std::vector<std::string>{"gen.example; dmarc=fail header.from=consumer.example"});
    EXPECT_EQ(r->dkim_domain, "consumer.example");
    EXPECT_EQ(r->dkim_identity, "@consumer.example");
    EXPECT_EQ(r->dkim_selector, "epsilon");
    EXPECT_EQ(r->incidents, 1u);
    EXPECT_EQ(r->original_from, "author@consumer.example");
    EXPECT_EQ(r->original_subject, "This is the original subject");
    EXPECT_EQ(r->original_message_id, "2431dc66-b010-c9cc-4f2b-a1f889f8bdb4@consumer.example");
    // The outer "Message-Id: <...>;" has the stray ';' of the RFC text.
    EXPECT_EQ(r->report_message_id, "20220719055748.4AE9D403CC@gen.example");
    EXPECT_EQ(r->original_headers.rfind("Authentication-Results: gen.example;\n", 0), 0u);
    EXPECT_NE(r->original_headers.find("\nFrom: Message Author <author@consumer.example>\n"),
              std::string::npos);
    EXPECT_EQ(r->original_headers.find("[ Message body was here ]"), std::string::npos);
    EXPECT_EQ(r->domain(), "consumer.example");
    // Source-Port is an ARF field we do not model: no diagnostic for it, nor for anything else.
    EXPECT_TRUE(r->diagnostics.empty()) << r->diagnostics.front().message;
}

TEST(FailureArf, OpenDmarcSourceIpCommentAndRfc822HeadersPart) {
    auto r = parse_text(fixture("mail-auth-004.eml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "auth-failure");
    EXPECT_EQ(r->user_agent, "OpenDMARC-Filter/1.3.2");
    EXPECT_EQ(r->auth_failure, "dmarc");
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"interpublication.org"});
    // "Source-IP: 148.163.85.135 (sainay.interpublication.org)"
    ASSERT_TRUE(r->source_ip);
    EXPECT_EQ(r->source_ip->to_string(), "148.163.85.135");
    EXPECT_EQ(r->original_mail_from, "info@interpublication.org");
    EXPECT_EQ(r->original_envelope_id, "8BE2660E72");
    EXPECT_EQ(r->original_from, "info@interpublication.org");
    EXPECT_EQ(r->original_subject, "Wir kaufen dein Auto!");
    EXPECT_EQ(r->original_message_id, "");  // the reported headers have none
    EXPECT_EQ(r->report_message_id, "20211005043702.CF8FA658E0@box.mydomain.name");
    EXPECT_NE(r->original_headers.find("\nOrganization: AutoTEAM24\n"), std::string::npos);
    EXPECT_TRUE(r->dkim_domain.empty());
}

TEST(FailureArf, Rfc6591BodyhashExampleHasDateAndDkimFields) {
    auto r = parse_text(fixture("mail-auth-005.eml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "auth-failure");
    EXPECT_EQ(r->auth_failure, "bodyhash");
    // "Arrival-Date: 8 Oct 2011 20:15:58 +0000 (GMT)"
    ASSERT_TRUE(r->arrival_date);
    EXPECT_EQ(format_timestamp(*r->arrival_date), "2011-10-08T20:15:58Z");
    EXPECT_EQ(r->dkim_domain, "sender.example");
    EXPECT_EQ(r->dkim_identity, "@sender.example");
    EXPECT_EQ(r->dkim_selector, "testkey");
    ASSERT_TRUE(r->source_ip);
    EXPECT_EQ(r->source_ip->to_string(), "192.0.2.1");
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"a.sender.example"});
    // A folded field comes back unfolded, its indentation squeezed to one space.
    EXPECT_EQ(r->authentication_results,
              std::vector<std::string>{"mta1011.mail.tp2.receiver.example; dkim=fail (bodyhash) "
                                       "header.d=sender.example"});
    EXPECT_EQ(r->original_from, "anexample@a.sender.example");
    EXPECT_EQ(r->original_subject, "You have a new bill from your bank");
    EXPECT_EQ(r->original_message_id, "87913910.1318094604546@out.sender.example");
    EXPECT_EQ(r->report_message_id, "433689.81121.example@mta.mail.receiver.example");
}

TEST(FailureArf, CrlfAndBareCrLineEndsGiveTheSameFields) {
    auto lf_text = fixture("rfc9991-appendix-A.eml");
    auto lf = parse_text(lf_text);
    auto crlf = parse_text(to_crlf(lf_text));
    auto cr = parse_text(to_bare_cr(lf_text));
    ASSERT_TRUE(lf) << lf.error().describe();
    ASSERT_TRUE(crlf) << crlf.error().describe();
    ASSERT_TRUE(cr) << cr.error().describe();
    EXPECT_EQ(cr->dkim_selector, "epsilon");
    expect_same_fields(*lf, *crlf);
    expect_same_fields(*lf, *cr);
    EXPECT_TRUE(has_diagnostic(*cr, "message", "bare CR"));
    EXPECT_FALSE(has_diagnostic(*crlf, "message", "bare CR"));
}

// ---- field handling on small synthetic reports -------------------------------------------------

TEST(FailureArf, ReportedDomainIsLowerCasedWithoutTrailingDotOrSemicolon) {
    auto r = parse_text(arf(minimal_fields + "Reported-Domain: Example.COM.;\n"
                                             "Reported-Domain: second.example\n"
                                             "Reported-Domain: example.com\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->reported_domains, (std::vector<std::string>{"example.com", "second.example"}));
    EXPECT_EQ(r->domain(), "example.com");
}

TEST(FailureArf, SourceIpIsCanonicalAndABadOneIsOnlyADiagnostic) {
    auto v6 = parse_text(arf(minimal_fields + "Source-IP: 2001:DB8:0:0::1\n"));
    ASSERT_TRUE(v6) << v6.error().describe();
    ASSERT_TRUE(v6->source_ip);
    EXPECT_EQ(v6->source_ip->to_string(), "2001:db8::1");

    auto bad = parse_text(arf(minimal_fields + "Source-IP: 300.1.2.3\n"));
    ASSERT_TRUE(bad) << bad.error().describe();
    EXPECT_FALSE(bad->source_ip);
    EXPECT_TRUE(has_diagnostic(*bad, "Source-IP", "\"300.1.2.3\" is not an IP address"));
}

TEST(FailureArf, ReceivedDateIsReadWhenArrivalDateIsAbsent) {
    auto legacy =
        parse_text(arf(minimal_fields + "Received-Date: Wed, 14 Apr 2010 12:15:31 -0700 (PDT)\n"));
    ASSERT_TRUE(legacy) << legacy.error().describe();
    EXPECT_EQ(legacy->arrival_date, epoch(1271272531));

    auto both = parse_text(arf(minimal_fields + "Received-Date: Wed, 14 Apr 2010 12:15:31 -0700\n"
                                                "Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\n"));
    ASSERT_TRUE(both) << both.error().describe();
    EXPECT_EQ(both->arrival_date, epoch(1110304800));

    auto bad = parse_text(arf(minimal_fields + "Arrival-Date: yesterday\n"));
    ASSERT_TRUE(bad) << bad.error().describe();
    EXPECT_FALSE(bad->arrival_date);
    EXPECT_TRUE(has_diagnostic(*bad, "Arrival-Date", "not an RFC 5322 date"));
}

TEST(FailureArf, RepeatableAndOptionalFieldsAreKept) {
    auto r = parse_text(
        arf("Feedback-Type: Auth-Failure\n"
            "User-Agent: test/1.0\n"
            "Version: 1\n"
            "Auth-Failure: SPF\n"
            "Delivery-Result: Reject\n"
            "Identity-Alignment: spf,dkim\n"
            "Original-Rcpt-To: <a@example.net>\n"
            "Original-Rcpt-To: <b@example.net>\n"
            "Authentication-Results: mx.example.net;\n"
            "\tspf=fail smtp.mailfrom=example.com\n"
            "Authentication-Results: mx2.example.net; dmarc=fail header.from=example.com\n"
            "Reporting-MTA: dns; mx.example.net\n"
            "SPF-DNS: txt : example.com : \"v=spf1 -all\"\n"
            "Incidents: 12\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "auth-failure");
    EXPECT_EQ(r->auth_failure, "spf");
    EXPECT_EQ(r->delivery_result, "reject");
    EXPECT_EQ(r->identity_alignment, "spf,dkim");
    EXPECT_EQ(r->original_rcpt_to,
              (std::vector<std::string>{"<a@example.net>", "<b@example.net>"}));
    EXPECT_EQ(r->authentication_results,
              (std::vector<std::string>{"mx.example.net; spf=fail smtp.mailfrom=example.com",
                                        "mx2.example.net; dmarc=fail header.from=example.com"}));
    EXPECT_EQ(r->reporting_mta, "mx.example.net");
    EXPECT_EQ(r->spf_dns, "txt : example.com : \"v=spf1 -all\"");
    EXPECT_EQ(r->incidents, 12u);
    EXPECT_TRUE(r->diagnostics.empty()) << r->diagnostics.front().message;
}

TEST(FailureArf, SingleFieldGivenTwiceKeepsTheFirstAndSaysSo) {
    auto r = parse_text(arf(minimal_fields + "Auth-Failure: dmarc\nAuth-Failure: spf\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->auth_failure, "dmarc");
    EXPECT_TRUE(has_diagnostic(*r, "Auth-Failure", "more than once"));
}

TEST(FailureArf, MissingFeedbackTypeIsADiagnosticNotAFailure) {
    auto r = parse_text(arf("User-Agent: test/1.0\nVersion: 1\nReported-Domain: example.org\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "");
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"example.org"});
    EXPECT_TRUE(has_diagnostic(*r, "Feedback-Type", "required field is missing"));
}

TEST(FailureArf, UnknownFieldsAndBadIncidentsAreReported) {
    auto r = parse_text(arf(minimal_fields + "X-Whatever: 1\nIncidents: many\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->incidents, 1u);
    EXPECT_TRUE(has_diagnostic(*r, "X-Whatever", "not an ARF field"));
    EXPECT_TRUE(has_diagnostic(*r, "Incidents", "\"many\" is not a positive count"));
}

TEST(FailureArf, ReportTextInDiagnosticsIsEscaped) {
    auto r = parse_text(arf(minimal_fields + "Source-IP: 1.2.3.4\x01\x7f\n"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_FALSE(r->source_ip);
    EXPECT_TRUE(has_diagnostic(*r, "Source-IP", "1.2.3.4\\x01\\x7f"));
}

TEST(FailureArf, Base64FeedbackPartInMultipartMixedIsDecoded) {
    // Netease sends its fields base64-encoded with CRLF inside, in multipart/mixed.
    std::string message =
        "From: abuse@163.example\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n"
        "\n"
        "--b\n"
        "Content-Type: message/feedback-report\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        // "Feedback-Type: auth-failure\r\nUser-Agent: x\r\nVersion: 1\r\nReported-Domain:
        // cardinal.example"
        "RmVlZGJhY2stVHlwZTogYXV0aC1mYWlsdXJlDQpVc2VyLUFnZW50OiB4DQpWZXJzaW9uOiAxDQpS\n"
        "ZXBvcnRlZC1Eb21haW46IGNhcmRpbmFsLmV4YW1wbGU=\n"
        "--b--\n";
    auto r = parse_text(message);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->feedback_type, "auth-failure");
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"cardinal.example"});
    EXPECT_TRUE(has_diagnostic(*r, "message", "not inside multipart/report"));
    EXPECT_TRUE(has_diagnostic(*r, "original", "no message/rfc822"));
}

TEST(FailureArf, ReportForwardedAsAttachmentIsFoundAtDepth) {
    std::string inner = arf(minimal_fields + "Reported-Domain: inner.example\n");
    std::string outer =
        "From: admin@example.org\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\n"
        "\n"
        "--outer\n"
        "Content-Type: text/plain\n"
        "\n"
        "Forwarding this.\n"
        "--outer\n"
        "Content-Type: message/rfc822\n"
        "\n" +
        inner + "--outer--\n";
    auto r = parse_text(outer);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->reported_domains, std::vector<std::string>{"inner.example"});
    EXPECT_EQ(r->original_subject, "hello");

    IngestLimits shallow;
    shallow.max_nesting = 1;
    auto cut = parse_text(outer, shallow);
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().code, Errc::limit_exceeded);
    EXPECT_NE(cut.error().reason.find("within 1 levels"), std::string::npos);
}

TEST(FailureArf, DomainFallsBackToOriginalFromThenDkimDomain) {
    FailureReport r;
    EXPECT_EQ(r.domain(), "");
    r.dkim_domain = "ietf.org; example.net";
    EXPECT_EQ(r.domain(), "ietf.org");
    r.original_from = "Author@Mail.Example.COM";
    EXPECT_EQ(r.domain(), "mail.example.com");
    r.reported_domains = {"reported.example"};
    EXPECT_EQ(r.domain(), "reported.example");

    auto parsed = parse_text(arf(minimal_fields, "From: \"X\" <x@From.Example>\nSubject: s\n"));
    ASSERT_TRUE(parsed) << parsed.error().describe();
    EXPECT_EQ(parsed->original_from, "x@From.Example");
    EXPECT_EQ(parsed->domain(), "from.example");
}

TEST(FailureArf, OriginalHeadersAreCappedAtALineEnd) {
    std::string headers = "From: a@example.org\n";
    for (int i = 0; i < 2000; ++i)
        headers += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'x') + "\n";
    auto r = parse_text(arf(minimal_fields, headers));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_LE(r->original_headers.size(), 64u * 1024u);
    EXPECT_GT(r->original_headers.size(), 60u * 1024u);
    EXPECT_EQ(r->original_headers.back(), '\n');
    EXPECT_EQ(r->original_from, "a@example.org");
    EXPECT_TRUE(has_diagnostic(*r, "original", "header block cut"));
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(FailureArf, EmptyInputIsMalformed) {
    auto r = parse_failure_report({}, at("empty.eml"), IngestLimits{});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "the message is empty");
    EXPECT_EQ(r.error().where.source, "empty.eml");
}

TEST(FailureArf, BinaryJunkIsNotAnEmailMessage) {
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919 + 13) % 256);
    auto r = parse_text(junk);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason,
              "the message does not start with a header block: not an e-mail message");
}

TEST(FailureArf, JunkAfterAHeaderBlockIsNotAnArfReport) {
    std::string junk = "From: a@example.org\n\n";
    for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919 + 13) % 256);
    auto r = parse_text(junk);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "no message/feedback-report part: not an ARF report");
}

TEST(FailureArf, MessageOverTheSizeLimitIsRefusedBeforeParsing) {
    auto text = fixture("rfc9991-appendix-A.eml");
    IngestLimits limits;
    limits.max_message = text.size() - 1;
    auto r = parse_text(text, limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_NE(r.error().reason.find("over the limit"), std::string::npos);

    limits.max_message = text.size();
    EXPECT_TRUE(parse_text(text, limits));
}

TEST(FailureArf, EmptyFeedbackPartIsMalformed) {
    auto r = parse_text(arf(""));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "the message/feedback-report part is empty");
}

TEST(FailureArf, FeedbackPartWithoutFieldsIsMalformed) {
    auto r = parse_text(arf("this is not a field block\nat all\n"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "the message/feedback-report part holds no fields in header form");
}

TEST(FailureArf, PlainTextMessageIsNotAnArfReport) {
    auto r = parse_text("From: a@example.org\nSubject: DMARC failure\n\nSPF Alignment: no\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "no message/feedback-report part: not an ARF report");
}

// ---- external corpus ---------------------------------------------------------------------------

std::string squeeze(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

/// mail-auth spells enums in PascalCase: "AuthFailure" -> "auth-failure", "NotSpam" ->
/// "not-spam"; "Unspecified" means the field was absent.
std::string kebab(const std::string& pascal) {
    if (pascal == "Unspecified") return "";
    std::string out;
    for (char c : pascal) {
        if (c >= 'A' && c <= 'Z') {
            if (!out.empty()) out += '-';
            out += static_cast<char>(c - 'A' + 'a');
        } else {
            out += c;
        }
    }
    return out;
}

std::string text_or_empty(const nlohmann::json& value) {
    return value.is_null() ? std::string{} : value.get<std::string>();
}

// stalwartlabs/mail-auth resources/arf/NNN.eml with the parse mail-auth expects in NNN.json.
TEST(FailureArfCorpus, MailAuthSamplesMatchTheirJson) {
    RAMPART_REQUIRE_CORPUS(corpus);
    auto dir = corpus / "failure" / "mail-auth";
    int checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".eml") continue;
        SCOPED_TRACE(entry.path().filename().string());
        auto r = parse_failure_report(bytes_of(read_file(entry.path())),
                                      at(entry.path().filename().string()), IngestLimits{});
        ASSERT_TRUE(r) << r.error().describe();
        auto json_path = entry.path();
        json_path.replace_extension(".json");
        auto expected = nlohmann::json::parse(read_file(json_path));

        EXPECT_EQ(r->feedback_type, kebab(expected["feedback_type"].get<std::string>()));
        EXPECT_EQ(r->user_agent, text_or_empty(expected["user_agent"]));
        EXPECT_EQ(r->version, expected["version"].dump());
        if (expected["arrival_date"].is_null())
            EXPECT_FALSE(r->arrival_date);
        else
            EXPECT_EQ(r->arrival_date, epoch(expected["arrival_date"].get<std::int64_t>()));
        std::vector<std::string> results;
        for (const auto& ar : expected["authentication_results"])
            results.push_back(squeeze(ar.get<std::string>()));
        EXPECT_EQ(r->authentication_results, results);
        EXPECT_EQ(r->incidents, expected["incidents"].get<std::uint64_t>());
        EXPECT_EQ(r->original_envelope_id, text_or_empty(expected["original_envelope_id"]));
        EXPECT_EQ(r->original_mail_from, text_or_empty(expected["original_mail_from"]));
        // mail-auth keeps one Original-Rcpt-To as a string; these samples have at most one.
        if (expected["original_rcpt_to"].is_null())
            EXPECT_TRUE(r->original_rcpt_to.empty());
        else
            EXPECT_EQ(r->original_rcpt_to,
                      std::vector<std::string>{expected["original_rcpt_to"].get<std::string>()});
        std::vector<std::string> domains;
        for (const auto& d : expected["reported_domain"]) domains.push_back(d.get<std::string>());
        EXPECT_EQ(r->reported_domains, domains);
        EXPECT_EQ(r->reporting_mta, text_or_empty(expected["reporting_mta"]));
        if (expected["source_ip"].is_null()) {
            EXPECT_FALSE(r->source_ip);
        } else {
            ASSERT_TRUE(r->source_ip);
            EXPECT_EQ(r->source_ip->to_string(), expected["source_ip"].get<std::string>());
        }
        // "BodyHash" is the Auth-Failure keyword "bodyhash": one word, no hyphen.
        auto auth_failure = expected["auth_failure"].get<std::string>();
        EXPECT_EQ(r->auth_failure, auth_failure == "Unspecified" ? "" : ascii_lower(auth_failure));
        EXPECT_EQ(r->delivery_result, kebab(expected["delivery_result"].get<std::string>()));
        EXPECT_EQ(r->identity_alignment, kebab(expected["identity_alignment"].get<std::string>()));
        EXPECT_EQ(r->dkim_domain, text_or_empty(expected["dkim_domain"]));
        EXPECT_EQ(r->dkim_identity, text_or_empty(expected["dkim_identity"]));
        EXPECT_EQ(r->dkim_selector, text_or_empty(expected["dkim_selector"]));
        EXPECT_EQ(r->spf_dns, text_or_empty(expected["spf_dns"]));
        // "headers" is mail-auth's text/rfc822-headers part; null when the original came whole.
        if (!expected["headers"].is_null()) {
            EXPECT_EQ(r->original_headers, expected["headers"].get<std::string>());
        }
        ++checked;
    }
    EXPECT_EQ(checked, 5);
}

struct SisimaiCase {
    std::string feedback_type;  // empty: not ARF, must be rejected
    std::string auth_failure;
    std::string delivery_result;
    std::string domain;
};

// sisimai/set-of-emails maildir/bsd/arf-*.eml: feedback loops, DMARC failure reports and
// Hotmail JMRP complaints that are not ARF (corpus README, failure/sisimai/).
TEST(FailureArfCorpus, SisimaiArfSamplesParseAndNonArfOnesAreRejected) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const std::map<std::string, SisimaiCase> cases = {
        {"arf-01.eml", {"abuse", "", "", "example.ed.jp"}},
        {"arf-02.eml", {"abuse", "", "", "example.com"}},
        {"arf-11.eml", {"abuse", "", "", "example.net"}},
        {"arf-12.eml", {"opt-out", "", "", "example.net"}},
        {"arf-14.eml", {"abuse", "", "", "amazonses.com"}},
        {"arf-15.eml", {"abuse", "", "", "example.net"}},
        {"arf-16.eml", {"abuse", "", "", "example.com"}},
        {"arf-17.eml", {"abuse", "", "", "example.jp"}},
        {"arf-18.eml", {"auth-failure", "dmarc", "delivered", "example.net"}},
        {"arf-19.eml", {"auth-failure", "", "delivered", "example.net"}},
        {"arf-20.eml", {"auth-failure", "dmarc", "", "example.net"}},
        {"arf-21.eml", {"abuse", "", "", "example.net"}},
        {"arf-22.eml", {}},
        {"arf-23.eml", {}},
        {"arf-24.eml", {}},
        {"arf-25.eml", {"abuse", "", "", "example.com"}},
        {"arf-26.eml", {}},
    };
    std::set<std::string> seen;
    for (const auto& entry : std::filesystem::directory_iterator(corpus / "failure" / "sisimai")) {
        if (!entry.is_regular_file()) continue;
        auto name = entry.path().filename().string();
        SCOPED_TRACE(name);
        auto it = cases.find(name);
        ASSERT_NE(it, cases.end()) << "no expectation for this corpus file";
        seen.insert(name);
        auto r = parse_failure_report(bytes_of(read_file(entry.path())), at(name), IngestLimits{});
        const auto& want = it->second;
        if (want.feedback_type.empty()) {
            ASSERT_FALSE(r) << "a non-ARF message was accepted";
            EXPECT_EQ(r.error().code, Errc::malformed);
            EXPECT_EQ(r.error().reason, "no message/feedback-report part: not an ARF report");
            continue;
        }
        ASSERT_TRUE(r) << r.error().describe();
        EXPECT_EQ(r->feedback_type, want.feedback_type);
        EXPECT_EQ(r->auth_failure, want.auth_failure);
        EXPECT_EQ(r->delivery_result, want.delivery_result);
        EXPECT_EQ(r->domain(), want.domain);
    }
    EXPECT_EQ(seen.size(), cases.size());
}

TEST(FailureArfCorpus, SisimaiCrlfAndBareCrVariantsMatchTheLfOne) {
    RAMPART_REQUIRE_CORPUS(corpus);
    auto dir = corpus / "failure" / "sisimai";
    auto lf = parse_failure_report(bytes_of(read_file(dir / "arf-01.eml")), at("bsd"), {});
    auto crlf =
        parse_failure_report(bytes_of(read_file(dir / "dos" / "arf-01.eml")), at("dos"), {});
    auto cr = parse_failure_report(bytes_of(read_file(dir / "mac" / "arf-01.eml")), at("mac"), {});
    ASSERT_TRUE(lf) << lf.error().describe();
    ASSERT_TRUE(crlf) << crlf.error().describe();
    ASSERT_TRUE(cr) << cr.error().describe();
    EXPECT_EQ(lf->feedback_type, "abuse");
    EXPECT_EQ(lf->user_agent, "SMP-FBL");
    ASSERT_TRUE(lf->source_ip);
    EXPECT_EQ(lf->source_ip->to_string(), "192.0.2.89");
    // "Received-Date: Thu, 29 Apr 2009 00:00:00 -0000 (EST)"
    EXPECT_EQ(lf->arrival_date, epoch(1240963200));
    EXPECT_EQ(lf->original_subject, "Kijitora cat family");
    expect_same_fields(*lf, *crlf);
    expect_same_fields(*lf, *cr);
}

// domainaware/parsedmarc samples/failure: every real ARF report parses with its reported
// domain; the Exim plain-text "forensic report" is rejected (see failure_arf.cpp).
TEST(FailureArfCorpus, ParsedmarcSamplesGiveTheirReportedDomain) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const std::map<std::string, std::string> domains = {
        {"DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, "
         "ip=10.10.10.10).eml",
         "domain.de"},
        {"[Netease DMARC Failure Report] Rent Reminder.eml", "cardinal.com"},
        {"dmarc_ruf_report_linkedin.eml", "example.com"},
        {"dmarc_ruf_report_linkedin.crlf.eml", "example.com"},
        {"exim_plain_text_only_no_arf_part.eml", ""},
    };
    auto dir = corpus / "failure" / "parsedmarc";
    std::size_t seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto name = entry.path().filename().string();
        SCOPED_TRACE(name);
        auto it = domains.find(name);
        ASSERT_NE(it, domains.end()) << "no expectation for this corpus file";
        ++seen;
        auto r = parse_failure_report(bytes_of(read_file(entry.path())), at(name), IngestLimits{});
        if (it->second.empty()) {
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().code, Errc::malformed);
            EXPECT_EQ(r.error().reason, "no message/feedback-report part: not an ARF report");
            continue;
        }
        ASSERT_TRUE(r) << r.error().describe();
        EXPECT_EQ(r->feedback_type, "auth-failure");
        EXPECT_EQ(r->reported_domains, std::vector<std::string>{it->second});
        EXPECT_EQ(r->domain(), it->second);
        EXPECT_TRUE(r->source_ip);
        EXPECT_TRUE(r->arrival_date);
    }
    EXPECT_EQ(seen, domains.size());

    auto lf = parse_failure_report(bytes_of(read_file(dir / "dmarc_ruf_report_linkedin.eml")),
                                   at("lf"), {});
    auto crlf = parse_failure_report(
        bytes_of(read_file(dir / "dmarc_ruf_report_linkedin.crlf.eml")), at("crlf"), {});
    ASSERT_TRUE(lf && crlf);
    expect_same_fields(*lf, *crlf);
    // The mbox "From " line GMime skips must not end up anywhere.
    EXPECT_EQ(lf->report_message_id, "BB.91.26019.C3EA7CC5@mail516.prod.linkedin.com");
}

TEST(FailureArfCorpus, NeteaseBase64FieldsAreDecoded) {
    RAMPART_REQUIRE_CORPUS(corpus);
    auto path =
        corpus / "failure" / "parsedmarc" / "[Netease DMARC Failure Report] Rent Reminder.eml";
    auto r = parse_failure_report(bytes_of(read_file(path)), at("netease"), {});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->user_agent, "NtesDmarcReporter/1.0");
    EXPECT_EQ(r->identity_alignment, "spf,dkim");
    EXPECT_EQ(r->delivery_result, "delivered");
    EXPECT_EQ(r->dkim_domain, "entrata.com");
    ASSERT_TRUE(r->source_ip);
    EXPECT_EQ(r->source_ip->to_string(), "167.89.69.24");
    EXPECT_EQ(r->arrival_date, epoch(1538124522));  // Fri, 28 Sep 2018 16:48:42 +0800
    EXPECT_EQ(r->original_from, "info@cardinal.com");
    EXPECT_EQ(r->original_subject, "Rent Reminder");
}

}  // namespace
}  // namespace rampart::report

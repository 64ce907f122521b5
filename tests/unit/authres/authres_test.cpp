// authres: RFC 8601 §2.2 Authentication-Results, parsed as receivers write it and written back.
// "authres-payload = [CFWS] authserv-id [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS]"
// The Appendix B examples of RFC 8601, comments anywhere (nested), quoting both ways, the
// leniencies the header comment lists, and the errors with their offsets.
#include <gtest/gtest.h>

#include <string>

#include "authres/authres.hpp"

namespace {

using namespace rampart;
using authres::AuthenticationResults;
using authres::MethodResult;
using authres::Property;

AuthenticationResults must_parse(std::string_view text) {
    auto r = authres::parse(text);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().describe()) << "\n" << text;
    return r ? *r : AuthenticationResults{};
}

Error must_fail(std::string_view text) {
    auto r = authres::parse(text);
    EXPECT_FALSE(r.has_value()) << text;
    return r ? Error{} : r.error();
}

TEST(AuthresParse, AppendixB2NoResultsWithVersion) {
    const auto ar = must_parse("example.org 1; none");
    EXPECT_EQ(ar.authserv_id, "example.org");
    EXPECT_EQ(ar.version, 1u);
    EXPECT_TRUE(ar.results.empty());
}

TEST(AuthresParse, AppendixB3OneSpfResult) {
    const auto ar = must_parse("example.com; spf=pass smtp.mailfrom=example.net");
    EXPECT_FALSE(ar.version.has_value());
    ASSERT_EQ(ar.results.size(), 1u);
    EXPECT_EQ(ar.results[0].method, "spf");
    EXPECT_EQ(ar.results[0].result, "pass");
    EXPECT_EQ(ar.results[0].properties,
              (std::vector<Property>{{"smtp", "mailfrom", "example.net"}}));
}

TEST(AuthresParse, AppendixB4FoldedWithCommentAndAddress) {
    const auto ar = must_parse(
        "example.com;\r\n                  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
        "                  spf=pass smtp.mailfrom=example.net");
    ASSERT_EQ(ar.results.size(), 2u);
    EXPECT_EQ(ar.results[0].method, "auth");
    EXPECT_EQ(ar.results[0].comment, "cram-md5");
    EXPECT_EQ(ar.results[0].properties[0].value, "sender@example.net");
    EXPECT_EQ(ar.results[1].method, "spf");
}

TEST(AuthresParse, AppendixB4IprevPolicyProperty) {
    const auto ar =
        must_parse("example.com; iprev=pass\r\n                  policy.iprev=192.0.2.200");
    ASSERT_EQ(ar.results.size(), 1u);
    EXPECT_EQ(ar.results[0].properties,
              (std::vector<Property>{{"policy", "iprev", "192.0.2.200"}}));
}

TEST(AuthresParse, AppendixB6QuotedReasonsAndLocalPartlessAddress) {
    const auto ar = must_parse(
        "example.com;\r\n          dkim=pass reason=\"good signature\"\r\n"
        "            header.i=@mail-router.example.net;\r\n          dkim=fail reason=\"bad "
        "signature\"\r\n            header.i=@newyork.example.com");
    ASSERT_EQ(ar.results.size(), 2u);
    EXPECT_EQ(ar.results[0].reason, "good signature");
    EXPECT_EQ(ar.results[0].properties[0].value, "@mail-router.example.net");
    EXPECT_EQ(ar.results[1].result, "fail");
    EXPECT_EQ(ar.results[1].reason, "bad signature");
    EXPECT_EQ(ar.results[1].properties[0].value, "@newyork.example.com");
}

TEST(AuthresParse, AppendixB7HeaderB) {
    const auto ar = must_parse(
        "mail-router.example.net; dkim=pass (good signature) header.d=newyork.example.com "
        "header.b=oINEO8hg; dkim=fail (bad signature) header.d=mail-router.example.net "
        "header.b=EToRSuvU");
    ASSERT_EQ(ar.results.size(), 2u);
    EXPECT_EQ(ar.results[1].comment, "bad signature");
    EXPECT_EQ(ar.results[1].properties[1], (Property{"header", "b", "EToRSuvU"}));
}

TEST(AuthresParse, CommentsAnywhereNestedAndEscaped) {
    const auto ar = must_parse(
        "(lead) mx.example.org (our (very (own)) \\) server) ; (x) dkim (m) / (v) 1 (w) = (r) "
        "pass (1024-bit (rsa) key) (second) header (p) . (q) d (s) = (t) example.com (end)");
    EXPECT_EQ(ar.authserv_id, "mx.example.org");
    ASSERT_EQ(ar.results.size(), 1u);
    const auto& r = ar.results[0];
    EXPECT_EQ(r.method, "dkim");
    EXPECT_EQ(r.method_version, 1u);
    EXPECT_EQ(r.result, "pass");
    EXPECT_EQ(r.comment, "1024-bit (rsa) key");  // the first one after the result
    EXPECT_EQ(r.properties, (std::vector<Property>{{"header", "d", "example.com"}}));
}

TEST(AuthresParse, KeywordsAreCaseInsensitiveAndKeptLowerCase) {
    const auto ar = must_parse("MX.Example.ORG; DKIM=Pass Header.D=Example.COM");
    EXPECT_EQ(ar.authserv_id, "MX.Example.ORG");  // a value, kept as written
    EXPECT_EQ(ar.results[0].method, "dkim");
    EXPECT_EQ(ar.results[0].result, "pass");
    EXPECT_EQ(ar.results[0].properties[0], (Property{"header", "d", "Example.COM"}));
}

TEST(AuthresParse, QuotedValuesWithEscapesAndFolding) {
    const auto ar = must_parse(
        "\"mx example\"; dkim=fail reason=\"said \\\"no\\\"\r\n\tfolded\" header.i=\"a "
        "b\"@example.com");
    EXPECT_EQ(ar.authserv_id, "mx example");
    EXPECT_EQ(ar.results[0].reason, "said \"no\"\tfolded");
    EXPECT_EQ(ar.results[0].properties[0].value, "\"a b\"@example.com");
}

TEST(AuthresParse, LenientForms) {
    // Microsoft 365: bare action=none, no space after ";", trailing ";"; Gmail: trailing ";";
    // base64 and IPv6 values unquoted.
    const auto ar = must_parse(
        "spf.protection.outlook.com; dkim=none (message not signed) header.d=none;dmarc=none "
        "action=none header.from=example.com;compauth=pass reason=100; iprev=pass "
        "smtp.remote-ip=2001:db8::1 header.b=Ab/C+d==;");
    ASSERT_EQ(ar.results.size(), 4u);
    EXPECT_EQ(ar.results[1].properties[0], (Property{"", "action", "none"}));
    EXPECT_EQ(ar.results[2].reason, "100");
    EXPECT_EQ(ar.results[3].properties[0].value, "2001:db8::1");
    EXPECT_EQ(ar.results[3].properties[1].value, "Ab/C+d==");
    EXPECT_TRUE(must_parse("lists.example.org;").results.empty());
}

TEST(AuthresParse, ErrorsSayWhyAndWhere) {
    auto e = must_fail("");
    EXPECT_EQ(e.code, Errc::malformed);
    EXPECT_NE(e.reason.find("authserv-id"), std::string::npos) << e.reason;

    e = must_fail("example.com");
    EXPECT_NE(e.reason.find("\";\""), std::string::npos) << e.reason;

    e = must_fail("example.com; spf pass");
    EXPECT_EQ(e.where.offset, 17u);
    EXPECT_NE(e.reason.find("\"=\""), std::string::npos) << e.reason;

    e = must_fail("example.com; spf=pass smtp.mailfrom");
    EXPECT_EQ(e.where.offset, 35u);

    e = must_fail("example.com; spf=pass (unterminated");
    EXPECT_EQ(e.where.offset, 22u);
    EXPECT_NE(e.reason.find("unterminated comment"), std::string::npos);

    e = must_fail("example.com; dkim=fail reason=\"open");
    EXPECT_NE(e.reason.find("unterminated quoted string"), std::string::npos);

    e = must_fail("example.com; none; spf=pass");
    EXPECT_NE(e.reason.find("none"), std::string::npos);

    e = must_fail("example.com; dkim=pass reason=a reason=b");
    EXPECT_NE(e.reason.find("twice"), std::string::npos);

    e = must_fail("example.com; spf=pass\x01");
    EXPECT_EQ(e.where.offset, 21u);

    e = must_fail("example.com; spf=pass reason=\"a\x07\"");
    EXPECT_NE(e.reason.find("control character"), std::string::npos);
}

TEST(AuthresParse, LimitsAreErrorsNotCrashes) {
    std::string deep = "example.com; spf=pass ";
    for (int i = 0; i < 40; ++i) deep += '(';
    for (int i = 0; i < 40; ++i) deep += ')';
    EXPECT_EQ(must_fail(deep).code, Errc::limit_exceeded);

    std::string many = "example.com";
    for (int i = 0; i < 101; ++i) many += "; spf=pass";
    EXPECT_EQ(must_fail(many).code, Errc::limit_exceeded);

    std::string big = "example.com; spf=pass reason=\"" + std::string(70 * 1024, 'x') + "\"";
    EXPECT_EQ(must_fail(big).code, Errc::limit_exceeded);

    authres::Limits tight;
    tight.max_properties = 2;
    auto r = authres::parse("x; dkim=pass header.d=a header.s=b header.b=c", tight);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
}

TEST(AuthresArc, InstanceThenPayload) {
    auto r = authres::parse_arc(
        "i=2; manchego.org;\r\n        dkim=pass header.d=manchego.org "
        "header.s=rsa header.b=IN4oMvqq");
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->instance, 2);
    EXPECT_EQ(r->results.authserv_id, "manchego.org");
    EXPECT_EQ(r->results.results[0].properties.size(), 3u);
}

TEST(AuthresArc, BadInstancesAreRefused) {
    for (std::string_view bad :
         {"i=0; lists.example.org;", "i=51; x; none", "i=; x; none",
          "i=squanch; lists.example.org;", "lists.example.org; i=1;", "i=1 lists.example.org;"}) {
        auto r = authres::parse_arc(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::malformed);
        }
    }
}

TEST(AuthresFormat, WritesTheVerifierExampleOnOneLine) {
    AuthenticationResults ar{.authserv_id = "mx.example.org",
                             .version = std::nullopt,
                             .results = {
                                 MethodResult{.method = "spf",
                                              .result = "pass",
                                              .properties = {{"smtp", "mailfrom", "example.com"}}},
                                 MethodResult{.method = "dkim",
                                              .result = "pass",
                                              .properties = {{"header", "d", "example.com"},
                                                             {"header", "s", "s1"},
                                                             {"header", "a", "rsa-sha256"},
                                                             {"header", "b", "AbCdEfGh"}}},
                                 MethodResult{.method = "arc", .result = "none"},
                                 MethodResult{.method = "dmarc",
                                              .result = "pass",
                                              .comment = "p=reject",
                                              .properties = {{"header", "from", "example.com"},
                                                             {"policy", "dmarc", "reject"}}},
                             }};
    EXPECT_EQ(authres::format(ar, authres::Layout::single_line),
              "mx.example.org; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com "
              "header.s=s1 header.a=rsa-sha256 header.b=AbCdEfGh; arc=none; dmarc=pass (p=reject) "
              "header.from=example.com policy.dmarc=reject");
    const std::string folded_start =
        "mx.example.org;\r\n\tspf=pass smtp.mailfrom=example.com;\r\n\t";
    EXPECT_EQ(authres::format(ar).substr(0, folded_start.size()), folded_start);
    EXPECT_EQ(authres::parse(authres::format(ar)), ar);
}

TEST(AuthresFormat, QuotesWhatIsNotATokenOrAnAddress) {
    AuthenticationResults ar{.authserv_id = "mx example", .version = 1, .results = {}};
    EXPECT_EQ(authres::format(ar), "\"mx example\" 1; none");

    MethodResult r{.method = "dkim",
                   .method_version = 1,
                   .result = "fail",
                   .comment = "bad (very) \\ bad",
                   .reason = "body hash \"bh\" did not verify",
                   .properties = {{"header", "i", "@example.com"},
                                  {"header", "i", "user@example.com"},
                                  {"header", "b", "Ab/C+d=="},
                                  {"smtp", "mailfrom", "a b@example.com"}}};
    ar.results.push_back(r);
    const auto text = authres::format(ar, authres::Layout::single_line);
    EXPECT_EQ(text,
              "\"mx example\" 1; dkim/1=fail (bad \\(very\\) \\\\ bad) reason=\"body hash "
              "\\\"bh\\\" did not verify\" header.i=@example.com header.i=user@example.com "
              "header.b=\"Ab/C+d==\" smtp.mailfrom=\"a b@example.com\"");
    EXPECT_EQ(authres::parse(text), ar);
}

TEST(AuthresFormat, ControlCharactersCannotStartANewHeaderLine) {
    AuthenticationResults ar{.authserv_id = "mx",
                             .version = std::nullopt,
                             .results = {MethodResult{.method = "dkim",
                                                      .result = "fail",
                                                      .comment = "x\r\nBcc: victim",
                                                      .reason = "a\r\nTo: y"}}};
    const auto text = authres::format(ar, authres::Layout::single_line);
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_EQ(text, "mx; dkim=fail (x  Bcc: victim) reason=\"a  To: y\"");
}

TEST(AuthresFormat, ArcValue) {
    authres::ArcAuthenticationResults arc{
        .instance = 3,
        .results = {.authserv_id = "lists.example.org",
                    .version = std::nullopt,
                    .results = {MethodResult{.method = "arc", .result = "pass"}}}};
    EXPECT_EQ(authres::format_arc(arc, authres::Layout::single_line),
              "i=3; lists.example.org; arc=pass");
    EXPECT_EQ(authres::parse_arc(authres::format_arc(arc)), arc);
}

}  // namespace

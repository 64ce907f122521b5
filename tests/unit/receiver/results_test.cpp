// receiver::authentication_results: the verdict as an RFC 8601 header value, with the RFC 9989
// §9.1 dmarc properties (header.from, policy.dmarc) and the RFC 8601 §2.7 ones for SPF and DKIM.
#include <gtest/gtest.h>

#include "receiver/receiver.hpp"

namespace {

using namespace rampart;

receiver::Verdict passing_verdict() {
    receiver::Verdict v;
    v.spf.evaluated = true;
    v.spf.evaluation.result = spf::SpfResult::pass;
    v.spf.evaluation.domain = "example.com";
    v.spf.evaluation.reason = "matched ip4:192.0.2.0/24";
    dkim::SignatureResult s;
    s.result = dkim::Outcome::pass;
    s.domain = "example.com";
    s.selector = "s1";
    s.algorithm_text = "rsa-sha256";
    s.signature_text = "AbCdEfGhIjKlMnOp";
    v.dkim.push_back(s);
    v.dmarc.result = receiver::DmarcResult::pass;
    v.dmarc.from_domain = "example.com";
    v.dmarc.policy = dmarc::Policy::reject;
    v.dmarc.policy_tag = dmarc::PolicyTag::p;
    return v;
}

TEST(AuthenticationResults, PassingMessage) {
    const auto ar = receiver::authentication_results(passing_verdict(), "mx.example.org");
    EXPECT_EQ(authres::format(ar, authres::Layout::single_line),
              "mx.example.org; spf=pass (matched ip4:192.0.2.0/24) smtp.mailfrom=example.com; "
              "dkim=pass header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=AbCdEfGh; "
              "arc=none; dmarc=pass (p=reject) header.from=example.com policy.dmarc=reject");
    EXPECT_EQ(authres::parse(authres::format(ar)), ar);
}

TEST(AuthenticationResults, FailuresCarryTheirReasons) {
    auto v = passing_verdict();
    v.spf.helo_identity = true;
    v.spf.evaluation.domain = "mx.example.com";
    v.dkim[0].result = dkim::Outcome::fail;
    v.dkim[0].reason = "the body hash does not match";
    v.dmarc.result = receiver::DmarcResult::fail;
    v.dmarc.policy = dmarc::Policy::reject;
    v.dmarc.policy_tag = dmarc::PolicyTag::sp;
    v.dmarc.test_mode = true;
    v.dmarc.reason = "nothing aligned with the From domain example.com";
    const auto ar = receiver::authentication_results(v, "mx");
    ASSERT_EQ(ar.results.size(), 4u);
    EXPECT_EQ(ar.results[0].properties[0], (authres::Property{"smtp", "helo", "mx.example.com"}));
    EXPECT_EQ(ar.results[1].comment, "the body hash does not match");
    const auto& d = ar.results[3];
    EXPECT_EQ(d.result, "fail");
    EXPECT_EQ(d.comment, "sp=reject t=y");
    EXPECT_EQ(d.reason, "nothing aligned with the From domain example.com");
    // t=y: what applies is one level lower.
    EXPECT_EQ(d.properties[1], (authres::Property{"policy", "dmarc", "quarantine"}));
}

TEST(AuthenticationResults, UnsignedMessageWithoutIp) {
    receiver::Verdict v;
    v.spf.evaluation.reason = "no client IP given (--ip): SPF was not evaluated";
    v.dmarc.result = receiver::DmarcResult::permerror;
    v.dmarc.reason = "DMARC needs exactly one From domain";
    const auto text =
        authres::format(receiver::authentication_results(v, "mx"), authres::Layout::single_line);
    EXPECT_EQ(text,
              "mx; spf=none (no client IP given \\(--ip\\): SPF was not evaluated); dkim=none (the "
              "message is not signed); arc=none; dmarc=permerror reason=\"DMARC needs exactly one "
              "From domain\"");
}

}  // namespace

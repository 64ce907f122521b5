// Macro expansion, RFC 7208 §7: the §7.4 examples exactly, escapes, URL-escaping, the
// explanation-only letters, and truncation of long names (§7.3).
#include <gtest/gtest.h>

#include "spf/spf.hpp"

namespace rampart::spf {
namespace {

MacroContext rfc_context(std::string_view ip = "192.0.2.3") {
    MacroContext c;
    c.ip = *IpAddress::parse(ip);
    c.sender = "strong-bad@email.example.com";
    c.local_part = "strong-bad";
    c.sender_domain = "email.example.com";
    c.domain = "email.example.com";
    c.helo = "mx.example.org";
    c.receiver = "mx.receiver.example";
    c.now = Timestamp{std::chrono::seconds{1700000000}};
    return c;
}

std::string expanded(std::string_view text, const MacroContext& c,
                     MacroUse use = MacroUse::domain_spec) {
    auto r = expand(text, c, use);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().reason);
    return r ? *r : std::string("<error>");
}

TEST(SpfMacro, Rfc7208Section7_4Examples) {
    const auto c = rfc_context();
    EXPECT_EQ(expanded("%{s}", c), "strong-bad@email.example.com");
    EXPECT_EQ(expanded("%{o}", c), "email.example.com");
    EXPECT_EQ(expanded("%{d}", c), "email.example.com");
    EXPECT_EQ(expanded("%{d4}", c), "email.example.com");
    EXPECT_EQ(expanded("%{d3}", c), "email.example.com");
    EXPECT_EQ(expanded("%{d2}", c), "example.com");
    EXPECT_EQ(expanded("%{d1}", c), "com");
    EXPECT_EQ(expanded("%{dr}", c), "com.example.email");
    EXPECT_EQ(expanded("%{d2r}", c), "example.email");
    EXPECT_EQ(expanded("%{l}", c), "strong-bad");
    EXPECT_EQ(expanded("%{l-}", c), "strong.bad");
    EXPECT_EQ(expanded("%{lr}", c), "strong-bad");
    EXPECT_EQ(expanded("%{lr-}", c), "bad.strong");
    EXPECT_EQ(expanded("%{l1r-}", c), "strong");
    EXPECT_EQ(expanded("%{ir}.%{v}._spf.%{d2}", c), "3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expanded("%{lr-}.lp._spf.%{d2}", c), "bad.strong.lp._spf.example.com");
    EXPECT_EQ(expanded("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", c),
              "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expanded("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", c),
              "3.2.0.192.in-addr.strong.lp._spf.example.com");
    EXPECT_EQ(expanded("%{d2}.trusted-domains.example.net", c),
              "example.com.trusted-domains.example.net");
    const auto v6 = rfc_context("2001:db8::cb01");
    EXPECT_EQ(expanded("%{ir}.%{v}._spf.%{d2}", v6),
              "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, EscapesAndUrlEscaping) {
    auto c = rfc_context();
    EXPECT_EQ(expanded("a%%b%_c%-d", c), "a%b c%20d");
    c.local_part = "~jack&jill=up-a_b3.c";
    EXPECT_EQ(expanded("l=%{L}", c, MacroUse::explanation), "l=~jack%26jill%3Dup-a_b3.c");
    c.local_part = "foo-bar+zip+quux";
    EXPECT_EQ(expanded("%{l2r+-}", c), "bar.foo");  // quux zip bar foo: the right-most two
}

TEST(SpfMacro, ExplanationOnlyLetters) {
    const auto c = rfc_context("2001:db8::1");
    EXPECT_EQ(expanded("%{c} %{r} %{t}", c, MacroUse::explanation),
              "2001:db8::1 mx.receiver.example 1700000000");
    EXPECT_FALSE(expand("%{c}", c, MacroUse::domain_spec));
    EXPECT_FALSE(expand("%{r}", c, MacroUse::domain_spec));
    EXPECT_FALSE(expand("%{t}", c, MacroUse::domain_spec));
    EXPECT_FALSE(expand("a b", c, MacroUse::domain_spec));
    EXPECT_EQ(expanded("a b", c, MacroUse::explanation), "a b");
}

TEST(SpfMacro, Errors) {
    const auto c = rfc_context();
    for (std::string_view bad : {"%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{d2", "%(d)", "%{d*}"})
        EXPECT_FALSE(expand(bad, c)) << bad;
    EXPECT_FALSE(expand("caf\xC3\xA9", c, MacroUse::explanation));
}

TEST(SpfMacro, HugeDigitCountKeepsEverything) {
    const auto c = rfc_context();
    EXPECT_EQ(expanded("%{d99999999999999999999}", c), "email.example.com");
    EXPECT_EQ(expanded("%{d007}", c), "email.example.com");
}

TEST(SpfMacro, PMacroAsksOnlyWhenUsed) {
    auto c = rfc_context();
    int calls = 0;
    c.validated_name = [&calls] {
        ++calls;
        return std::string("mx.example.com");
    };
    EXPECT_EQ(expanded("%{d}", c), "email.example.com");
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(expanded("%{p}", c), "mx.example.com");
    EXPECT_EQ(calls, 1);
    c.validated_name = {};
    EXPECT_EQ(expanded("%{p}", c), "unknown");
}

TEST(SpfMacro, LongNamesLoseLabelsFromTheLeft) {
    auto c = rfc_context();
    c.sender_domain = "somewhat.long.exp.example.com";
    const auto out = expanded("foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com", c);
    EXPECT_LE(out.size(), 253u);
    EXPECT_EQ(out.rfind("somewhat.long.exp.example.com.", 0), 0u);
    EXPECT_TRUE(out.ends_with(".example.com"));
    std::string text;
    for (int i = 0; i < 40; ++i) text += "abcdefgh.";
    EXPECT_EQ(expanded(text + "%{d}", c).size(), 251u);  // 253 would split "abcdefgh."
    const auto explanation = expanded(text + "%{d}", c, MacroUse::explanation);
    EXPECT_EQ(explanation.size(), text.size() + c.domain.size());
}

}  // namespace
}  // namespace rampart::spf

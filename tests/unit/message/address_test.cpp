#include "message/message.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rampart::message {
namespace {

std::vector<Mailbox> parse_ok(std::string_view value) {
    auto list = parse_address_list(value);
    EXPECT_TRUE(list) << value << ": " << (list ? "" : list.error().reason);
    return list ? *list : std::vector<Mailbox>{};
}

TEST(AddressList, ReadsTheCommonForms) {
    auto plain = parse_ok("jdoe@example.org");
    ASSERT_EQ(plain.size(), 1U);
    EXPECT_EQ(plain[0].local_part, "jdoe");
    EXPECT_EQ(plain[0].domain, "example.org");

    auto named = parse_ok("\"Joe Q. Public\" <john.q.public@example.com>");
    ASSERT_EQ(named.size(), 1U);
    EXPECT_EQ(named[0].display_name, "Joe Q. Public");
    EXPECT_EQ(named[0].local_part, "john.q.public");
    EXPECT_EQ(named[0].domain, "example.com");

    auto phrase = parse_ok("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>");
    ASSERT_EQ(phrase.size(), 3U);
    EXPECT_EQ(phrase[0].display_name, "Mary Smith");
    EXPECT_EQ(phrase[2].display_name, "Who?");
    EXPECT_EQ(phrase[2].domain, "y.test");
}

// RFC 5322 Appendix A.1.3 and A.5 (comments, groups, white space).
TEST(AddressList, ReadsGroupsAndComments) {
    auto group = parse_ok("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;");
    ASSERT_EQ(group.size(), 3U);
    EXPECT_EQ(group[0].domain, "a.test");
    EXPECT_EQ(group[2].domain, "one.test");

    EXPECT_TRUE(parse_ok("Undisclosed recipients:;").empty());

    auto comments = parse_ok("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>");
    ASSERT_EQ(comments.size(), 1U);
    EXPECT_EQ(comments[0].local_part, "pete");
    EXPECT_EQ(comments[0].domain, "silly.test");

    auto nested = parse_ok("(a (nested (comment))) x@y.test");
    ASSERT_EQ(nested.size(), 1U);
    EXPECT_EQ(nested[0].domain, "y.test");
}

TEST(AddressList, ReadsObsoleteAndOddRealWorldForms) {
    auto route = parse_ok("<@route.test,@other.test:user@final.test>");
    ASSERT_EQ(route.size(), 1U);
    EXPECT_EQ(route[0].domain, "final.test");

    auto quoted_local = parse_ok("\"john doe\"@example.com");
    ASSERT_EQ(quoted_local.size(), 1U);
    EXPECT_EQ(quoted_local[0].local_part, "john doe");

    auto address_as_name = parse_ok("billing@bank.test <phish@evil.test>");
    ASSERT_EQ(address_as_name.size(), 1U);
    EXPECT_EQ(address_as_name[0].domain, "evil.test") << "the angle address is the address";

    auto empty_elements = parse_ok(", a@b.test , , c@d.test,");
    EXPECT_EQ(empty_elements.size(), 2U);

    auto literal = parse_ok("x@[192.0.2.1]");
    ASSERT_EQ(literal.size(), 1U);
    EXPECT_EQ(literal[0].domain, "[192.0.2.1]");

    auto folded = parse_ok("Name\r\n <a@b.test>");
    ASSERT_EQ(folded.size(), 1U);
    EXPECT_EQ(folded[0].domain, "b.test");
}

TEST(AddressList, RefusesWhatIsNotAnAddressList) {
    for (std::string_view bad : {"<a@b.test", "a@", "\"open", "(open comment a@b.test", "a@b.test c@d.test",
                                 "Group: a@b.test", "a@b.test)"}) {
        auto list = parse_address_list(bad);
        EXPECT_FALSE(list) << bad;
        if (!list) {
            EXPECT_EQ(list.error().code, Errc::malformed);
        }
    }
}

TEST(AddressList, BoundsNestingAndTokenCount) {
    std::string deep = std::string(100, '(') + std::string(100, ')') + "a@b.test";
    EXPECT_FALSE(parse_address_list(deep));
    std::string many;
    for (int i = 0; i < 20000; ++i) many += "a@b.test,";
    EXPECT_FALSE(parse_address_list(many));
}

TEST(ALabel, ConvertsULabelsAndLowerCases) {
    EXPECT_EQ(to_a_label("Example.COM.").value(), "example.com");
    EXPECT_EQ(to_a_label("bücher.example").value(), "xn--bcher-kva.example");
    EXPECT_EQ(to_a_label("xn--bcher-kva.example").value(), "xn--bcher-kva.example");
    EXPECT_FALSE(to_a_label(""));
    EXPECT_FALSE(to_a_label("\xff\xfe.example"));
}

Header header_of(std::string_view text) {
    auto m = parse(text);
    EXPECT_TRUE(m);
    return m ? m->header : Header{};
}

TEST(FromDomains, OneDomainIsUsable) {
    auto from = from_domains(header_of("From: \"A\" <a@Example.COM>\r\n\r\n"));
    EXPECT_EQ(from.problem, "");
    ASSERT_EQ(from.domains.size(), 1U);
    EXPECT_EQ(from.domains[0], "example.com");

    auto two_same = from_domains(header_of("From: a@example.com, b@EXAMPLE.com\r\n\r\n"));
    EXPECT_EQ(two_same.problem, "");
    EXPECT_EQ(two_same.mailboxes, 2U);
    EXPECT_EQ(two_same.domains.size(), 1U);

    auto idn = from_domains(header_of("From: a@bücher.example\r\n\r\n"));
    ASSERT_EQ(idn.domains.size(), 1U);
    EXPECT_EQ(idn.domains[0], "xn--bcher-kva.example");
}

TEST(FromDomains, SaysWhyTheFromIsNotUsable) {
    EXPECT_EQ(from_domains(header_of("To: a@b.test\r\n\r\n")).problem, "the message has no From field");
    auto two_fields = from_domains(header_of("From: a@b.test\r\nFrom: c@b.test\r\n\r\n"));
    EXPECT_EQ(two_fields.fields, 2U);
    EXPECT_NE(two_fields.problem.find("2 From fields"), std::string::npos);
    auto two_domains = from_domains(header_of("From: a@b.test, c@d.test\r\n\r\n"));
    EXPECT_EQ(two_domains.domains.size(), 2U);
    EXPECT_NE(two_domains.problem.find("2 domains"), std::string::npos);
    EXPECT_NE(from_domains(header_of("From: undisclosed\r\n\r\n")).problem, "");
    EXPECT_NE(from_domains(header_of("From: Group:;\r\n\r\n")).problem, "");
    EXPECT_NE(from_domains(header_of("From: <a@b.test\r\n\r\n")).problem, "");
    EXPECT_NE(from_domains(header_of("From: a@[192.0.2.1]\r\n\r\n")).problem, "");
}

}  // namespace
}  // namespace rampart::message

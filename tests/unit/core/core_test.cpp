// core: IP address text forms (RFC 4291 §2.2, canonical output RFC 5952), report timestamps,
// command-line dates, and the escaping of stranger-supplied text.
#include "core/core.hpp"

#include <gtest/gtest.h>

namespace rampart {
namespace {

std::string canon(std::string_view text) {
    auto ip = IpAddress::parse(text);
    return ip ? ip->to_string() : "error: " + ip.error().reason;
}

TEST(IpAddress, Ipv4IsKeptAsDottedQuad) {
    EXPECT_EQ(canon("192.0.2.1"), "192.0.2.1");
    EXPECT_EQ(canon("  198.51.100.7\n"), "198.51.100.7");
}

TEST(IpAddress, Ipv6InAnyTextFormIsStoredCanonical) {
    EXPECT_EQ(canon("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    EXPECT_EQ(canon("2001:0db8:0000:0000:0001:0000:0000:0001"), "2001:db8::1:0:0:1");
    EXPECT_EQ(canon("[2001:db8::25]"), "2001:db8::25");
    EXPECT_EQ(canon("::1"), "::1");
}

TEST(IpAddress, Ipv4MappedIpv6IsTheIpv4Sender) {
    auto ip = IpAddress::parse("::ffff:198.51.100.7");
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->family(), IpAddress::Family::v4);
    EXPECT_EQ(ip->to_string(), "198.51.100.7");
    EXPECT_EQ(*ip, *IpAddress::parse("198.51.100.7"));
    EXPECT_EQ(canon("::FFFF:C633:6407"), "198.51.100.7");
}

TEST(IpAddress, GarbageIsMalformedWithTheTextInTheReason) {
    auto ip = IpAddress::parse("108r.166.27.220");  // OpenDMARC's bad.com sample
    ASSERT_FALSE(ip);
    EXPECT_EQ(ip.error().code, Errc::malformed);
    EXPECT_NE(ip.error().reason.find("108r.166.27.220"), std::string::npos);
    EXPECT_FALSE(IpAddress::parse(""));
    EXPECT_FALSE(IpAddress::parse("1.2.3"));
    EXPECT_FALSE(IpAddress::parse("256.1.1.1"));
    EXPECT_FALSE(IpAddress::parse("2001:db8::1::2"));
    EXPECT_FALSE(IpAddress::parse(std::string(100, '1')));
}

TEST(EpochSeconds, AcceptsWhitespaceAndZeroFractions) {
    EXPECT_EQ(parse_epoch_seconds("1524268799 ")->time_since_epoch().count(), 1524268799);
    EXPECT_EQ(parse_epoch_seconds("1337270400.0")->time_since_epoch().count(), 1337270400);
    EXPECT_EQ(parse_epoch_seconds("\t0\n")->time_since_epoch().count(), 0);
}

TEST(EpochSeconds, RefusesNonNumbersFractionsAndNegatives) {
    EXPECT_FALSE(parse_epoch_seconds(""));
    EXPECT_FALSE(parse_epoch_seconds("12ab"));
    EXPECT_FALSE(parse_epoch_seconds("1337270400.5"));
    EXPECT_FALSE(parse_epoch_seconds("-5"));
    EXPECT_FALSE(parse_epoch_seconds("99999999999999"));
}

TEST(Dates, DateAndDateTimeAreUtc) {
    EXPECT_EQ(format_timestamp(*parse_date("2026-11-23")), "2026-11-23T00:00:00Z");
    EXPECT_EQ(format_timestamp(*parse_date("2026-11-23T10:20:30Z")), "2026-11-23T10:20:30Z");
    EXPECT_FALSE(parse_date("2026-02-30"));
    EXPECT_FALSE(parse_date("23/11/2026"));
    EXPECT_FALSE(parse_date("2026-11-23T25:00:00Z"));
}

TEST(Printable, EscapesControlsAndInvalidUtf8ButKeepsUtf8) {
    EXPECT_EQ(printable("Z\xC3\xBCrich"), "Z\xC3\xBCrich");
    EXPECT_EQ(printable("a\x1b[31mb"), "a\\x1b[31mb");
    EXPECT_EQ(printable("bad\x91"), "bad\\x91");
    EXPECT_EQ(printable("back\\slash"), "back\\x5cslash");
    EXPECT_EQ(printable("\xE2\x82"), "\\xe2\\x82");  // truncated sequence
}

TEST(ErrorDescribe, NamesSourcePositionPathAndReason) {
    Error e{Errc::malformed, "\"x\" is not an IP address",
            Location{.source = "a.zip > b.xml", .offset = 120, .line = 7, .column = 3,
                     .path = "feedback/record[2]/row/source_ip"}};
    EXPECT_EQ(e.describe(),
              "a.zip > b.xml: line 7 col 3 (offset 120): feedback/record[2]/row/source_ip: \"x\" "
              "is not an IP address");
    EXPECT_EQ((Error{Errc::io, "disk full", {}}).describe(), "disk full");
}

TEST(Location, NestedJoinsWithArrows) {
    Location l{.source = "inbox.mbox"};
    EXPECT_EQ(l.nested("message 3").nested("report.zip").source, "inbox.mbox > message 3 > report.zip");
    EXPECT_EQ(Location{}.nested("x").source, "x");
}

TEST(Network, OverlapsWhenOneBlockHoldsTheOther) {
    auto net = [](std::string_view t) { return *parse_network(t); };
    EXPECT_TRUE(net("192.0.2.0/24").overlaps(net("192.0.2.128/25")));
    EXPECT_TRUE(net("192.0.2.128/25").overlaps(net("192.0.2.0/24")));
    EXPECT_TRUE(net("192.0.2.7").overlaps(net("192.0.2.0/29")));
    EXPECT_FALSE(net("192.0.2.0/25").overlaps(net("192.0.2.128/25")));
    EXPECT_FALSE(net("192.0.2.0/24").overlaps(net("2001:db8::/32")));
    EXPECT_TRUE(net("2001:db8::/32").overlaps(net("2001:db8:1::/48")));
    EXPECT_FALSE(net("2001:db8::/48").overlaps(net("2001:db8:1::/48")));
    EXPECT_TRUE(net("0.0.0.0/0").overlaps(net("203.0.113.9")));
}

}  // namespace
}  // namespace rampart

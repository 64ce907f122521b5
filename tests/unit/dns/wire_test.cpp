// dns/wire.hpp: RFC 1035 §4 messages read back from hand-built bytes: header flags, questions,
// every rdata Rampart reads, name compression (§4.1.4) and the ways a hostile or broken message
// can lie (pointer loops, forward pointers, counts larger than the message, rdata that does not
// fit its length). Every refusal must say where and why.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/wire.hpp"

namespace {

using namespace rampart::dns;
using rampart::Errc;

/// Bytes of a DNS message, written field by field.
struct Bytes {
    std::vector<std::byte> b;
    Bytes& u8(unsigned v) {
        b.push_back(static_cast<std::byte>(v & 0xFF));
        return *this;
    }
    Bytes& u16(unsigned v) { return u8(v >> 8).u8(v); }
    Bytes& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xFFFF); }
    Bytes& text(std::string_view s) {
        for (char c : s) u8(static_cast<unsigned char>(c));
        return *this;
    }
    /// Uncompressed name "a.b.c" (root when empty), ending in the zero octet.
    Bytes& name(std::string_view n) {
        while (!n.empty()) {
            auto dot = n.find('.');
            auto l = n.substr(0, dot);
            u8(static_cast<unsigned>(l.size())).text(l);
            if (dot == std::string_view::npos) break;
            n.remove_prefix(dot + 1);
        }
        return u8(0);
    }
    Bytes& pointer(unsigned offset) { return u16(0xC000 | offset); }
    Bytes& header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                  unsigned ar) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    /// Type, class IN, TTL and rdlength of a record whose owner was just written.
    Bytes& rr(RrType type, std::uint32_t ttl, unsigned rdlength) {
        return u16(static_cast<unsigned>(type)).u16(1).u32(ttl).u16(rdlength);
    }
    std::size_t size() const { return b.size(); }
};

constexpr unsigned response_aa = 0x8400;  // QR, AA, NOERROR

rampart::Result<wire::Message> parse(const Bytes& bytes) { return wire::parse_message(bytes.b); }

TEST(WireParse, HeaderFlagsAndQuestion) {
    Bytes m;
    m.header(0xBEEF, 0x8000 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 3, 1, 0, 0, 0)
        .name("Example.COM")
        .u16(16)
        .u16(1);
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    const auto& h = r->header;
    EXPECT_EQ(h.id, 0xBEEF);
    EXPECT_TRUE(h.qr && h.aa && h.tc && h.rd && h.ra);
    EXPECT_EQ(h.rcode, 3);
    ASSERT_EQ(r->questions.size(), 1u);
    EXPECT_EQ(r->questions[0].name, "example.com");
    EXPECT_EQ(r->questions[0].type, 16);
}

TEST(WireParse, EveryRdataWithCompression) {
    Bytes m;
    m.header(1, response_aa, 1, 8, 1, 0);
    const unsigned qname = 12;
    m.name("example.com").u16(1).u16(1);
    // A, AAAA at the question's name, by pointer.
    m.pointer(qname).rr(RrType::a, 300, 4).u8(192).u8(0).u8(2).u8(1);
    m.pointer(qname).rr(RrType::aaaa, 200, 16).u32(0x20010db8).u32(0).u32(0).u32(1);
    // MX with its exchange compressed against the question: "mx" + pointer.
    m.pointer(qname).rr(RrType::mx, 100, 2 + 3 + 2).u16(10).u8(2).text("mx").pointer(qname);
    // Null MX.
    m.pointer(qname).rr(RrType::mx, 100, 3).u16(0).u8(0);
    // TXT with two strings, one empty.
    m.pointer(qname).rr(RrType::txt, 50, 1 + 5 + 1).u8(5).text("v=sp1").u8(0);
    // CNAME and PTR and NS targets, one of them a label plus a pointer.
    const auto www = m.size();
    m.u8(3).text("WWW").pointer(qname).rr(RrType::cname, 60, 2).pointer(qname);
    m.pointer(static_cast<unsigned>(www)).rr(RrType::ptr, 60, 2).pointer(static_cast<unsigned>(www));
    m.pointer(qname).rr(RrType::ns, 60, 5).u8(2).text("ns").pointer(qname);
    // Authority: SOA.
    m.pointer(qname)
        .rr(RrType::soa, 3600, 2 + 2 + 20)
        .pointer(qname)
        .pointer(qname)
        .u32(2026112301)
        .u32(7200)
        .u32(900)
        .u32(1209600)
        .u32(45);
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    ASSERT_EQ(r->answers.size(), 8u);
    ASSERT_EQ(r->authority.size(), 1u);
    const auto& an = r->answers;
    EXPECT_EQ(std::get<rampart::IpAddress>(*an[0].data).to_string(), "192.0.2.1");
    EXPECT_EQ(an[0].ttl, 300u);
    EXPECT_EQ(std::get<rampart::IpAddress>(*an[1].data).to_string(), "2001:db8::1");
    EXPECT_EQ(std::get<Mx>(*an[2].data), (Mx{10, "mx.example.com"}));
    EXPECT_EQ(std::get<Mx>(*an[3].data), (Mx{0, ""}));
    EXPECT_EQ(std::get<Txt>(*an[4].data).strings, (std::vector<std::string>{"v=sp1", ""}));
    EXPECT_EQ(an[5].name, "www.example.com");
    EXPECT_EQ(std::get<std::string>(*an[5].data), "example.com");
    EXPECT_EQ(an[6].name, "www.example.com");
    EXPECT_EQ(std::get<std::string>(*an[6].data), "www.example.com");
    EXPECT_EQ(std::get<std::string>(*an[7].data), "ns.example.com");
    const auto soa = std::get<Soa>(*r->authority[0].data);
    EXPECT_EQ(soa.mname, "example.com");
    EXPECT_EQ(soa.serial, 2026112301u);
    EXPECT_EQ(soa.minimum, 45u);
    const auto record = an[0].to_record();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->type, RrType::a);
    EXPECT_EQ(record->name, "example.com");
}

TEST(WireParse, UnknownTypesAndOtherClassesAreKeptWithoutData) {
    Bytes m;
    m.header(1, response_aa, 0, 2, 0, 1).name("example.com");
    m.u16(46).u16(1).u32(60).u16(3).u8(1).u8(2).u8(3);  // RRSIG, opaque
    m.name("example.com").u16(16).u16(3).u32(0).u16(2).u8(1).text("x");  // TXT class CH
    m.name("").u16(41).u16(1232).u32(0).u16(0);  // EDNS OPT in additional
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    ASSERT_EQ(r->answers.size(), 2u);
    EXPECT_EQ(r->answers[0].type, 46);
    EXPECT_FALSE(r->answers[0].data.has_value());
    EXPECT_FALSE(r->answers[1].data.has_value());
    EXPECT_FALSE(r->answers[1].is(RrType::txt));
    ASSERT_EQ(r->additional.size(), 1u);
    EXPECT_EQ(r->additional[0].name, "");
}

TEST(WireParse, TtlWithTopBitSetIsZero) {
    Bytes m;
    m.header(1, response_aa, 0, 1, 0, 0).name("a.example").rr(RrType::a, 0x80000000u, 4).u32(1);
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    EXPECT_EQ(r->answers[0].ttl, 0u);
}

TEST(WireParse, OddOctetsInLabelsAreEscaped) {
    Bytes m;
    m.header(1, response_aa, 1, 0, 0, 0);
    m.u8(4).text("a.b\\").u8(2).u8(0x20).u8(0xFF).u8(0).u16(1).u16(1);
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    EXPECT_EQ(r->questions[0].name, "a\\.b\\\\.\\032\\255");
}

void expect_malformed(const Bytes& m, std::string_view words) {
    auto r = parse(m);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().reason.find(words), std::string::npos) << r.error().reason;
}

TEST(WireParse, RefusesShortHeader) {
    Bytes m;
    m.u16(1).u16(0);
    expect_malformed(m, "shorter than its 12-octet header");
}

TEST(WireParse, RefusesCountsLargerThanTheMessage) {
    Bytes m;
    m.header(1, response_aa, 1, 65535, 0, 0).name("example.com").u16(1).u16(1);
    expect_malformed(m, "announces 1 questions and 65535 records");
}

TEST(WireParse, RefusesPointerLoop) {
    Bytes m;
    m.header(1, response_aa, 1, 0, 0, 0).pointer(12).u16(1).u16(1);
    expect_malformed(m, "not before the name that uses it");
    // A two-name loop: the question's name is "a" + a pointer to the answer's owner (offset 20),
    // which points back to the question's name. One of the two pointers must go forward.
    Bytes two;
    two.header(1, response_aa, 1, 1, 0, 0).u8(1).text("a").pointer(20).u16(1).u16(1);
    two.pointer(12).rr(RrType::a, 1, 4).u32(0);
    expect_malformed(two, "points to offset 20");
}

TEST(WireParse, RefusesForwardPointerAndPointerIntoHeader) {
    Bytes m;
    m.header(1, response_aa, 1, 0, 0, 0).pointer(40).u16(1).u16(1);
    expect_malformed(m, "points to offset 40");
    Bytes h;
    h.header(1, response_aa, 1, 0, 0, 0).u8(1).text("x").pointer(2).u16(1).u16(1);
    expect_malformed(h, "points into the header");
}

TEST(WireParse, RefusesNameOver255Octets) {
    Bytes m;
    m.header(1, response_aa, 1, 0, 0, 0);
    for (int i = 0; i < 5; ++i) m.u8(63).text(std::string(63, 'a'));  // 320 octets
    m.u8(0).u16(1).u16(1);
    expect_malformed(m, "longer than 255 octets");
}

TEST(WireParse, RefusesNamesLongerThan255ThroughPointers) {
    // Each name adds 63 octets in front of the previous one through a pointer.
    Bytes m;
    m.header(1, response_aa, 5, 0, 0, 0);
    std::size_t previous = m.size();
    m.u8(63).text(std::string(63, 'a')).u8(0).u16(1).u16(1);
    for (int i = 0; i < 4; ++i) {
        const auto here = m.size();
        m.u8(63).text(std::string(63, 'a')).pointer(static_cast<unsigned>(previous)).u16(1).u16(1);
        previous = here;
    }
    expect_malformed(m, "longer than 255 octets");
}

TEST(WireParse, RefusesReservedLabelTypes) {
    Bytes m;
    m.header(1, response_aa, 1, 0, 0, 0).u8(0x41).text("x").u8(0).u16(1).u16(1);
    expect_malformed(m, "reserved type bits");
}

TEST(WireParse, RefusesRdataThatDoesNotFitItsLength) {
    Bytes a;
    a.header(1, response_aa, 0, 1, 0, 0).name("a.example").rr(RrType::a, 1, 3).u8(1).u8(2).u8(3);
    expect_malformed(a, "A rdata is 3 octets, must be 4");
    Bytes txt;
    txt.header(1, response_aa, 0, 1, 0, 0).name("t.example").rr(RrType::txt, 1, 3).u8(9).text("ab");
    expect_malformed(txt, "claims 9 octets");
    Bytes cname;  // the target's labels run past the rdata into the next record
    cname.header(1, response_aa, 0, 1, 0, 0).name("c.example").rr(RrType::cname, 1, 2).u8(3).text("abc").u8(0);
    expect_malformed(cname, "cut off");
    Bytes extra;
    extra.header(1, response_aa, 0, 1, 0, 0).name("c.example").rr(RrType::cname, 1, 4).u8(1).text("x").u8(0).u8(7);
    expect_malformed(extra, "1 octets left over");
    Bytes soa;
    soa.header(1, response_aa, 0, 1, 0, 0).name("s.example").rr(RrType::soa, 1, 2 + 8).u8(0).u8(0).u32(1).u32(2);
    expect_malformed(soa, "five 32-bit numbers");
    Bytes mx;
    mx.header(1, response_aa, 0, 1, 0, 0).name("m.example").rr(RrType::mx, 1, 2).u16(1);
    expect_malformed(mx, "needs at least 3");
}

TEST(WireParse, RefusesTruncatedRdataInAnUntruncatedMessage) {
    Bytes m;
    m.header(1, response_aa, 0, 1, 0, 0).name("a.example").rr(RrType::txt, 1, 200).u8(3).text("abc");
    expect_malformed(m, "answer record 1 of 1");
}

TEST(WireParse, TruncatedMessageKeepsTheCompleteRecords) {
    Bytes m;
    m.header(1, response_aa | 0x0200, 1, 3, 0, 0).name("a.example").u16(1).u16(1);
    m.pointer(12).rr(RrType::a, 1, 4).u32(0x01020304);
    m.pointer(12).rr(RrType::a, 1, 4).u16(5);  // cut in the rdata
    auto r = parse(m);
    ASSERT_TRUE(r.has_value()) << r.error().reason;
    EXPECT_TRUE(r->cut_short);
    EXPECT_EQ(r->answers.size(), 1u);
}

TEST(WireQuery, BuildsAStandardQueryThatParsesBack) {
    auto q = wire::build_query("_dmarc.Example.com", 16, 0x1234);
    ASSERT_TRUE(q.has_value()) << q.error().reason;
    auto m = wire::parse_message(*q);
    ASSERT_TRUE(m.has_value()) << m.error().reason;
    EXPECT_EQ(m->header.id, 0x1234);
    EXPECT_FALSE(m->header.qr);
    EXPECT_TRUE(m->header.rd);
    ASSERT_EQ(m->questions.size(), 1u);
    EXPECT_EQ(m->questions[0].name, "_dmarc.example.com");
    EXPECT_EQ(m->questions[0].type, 16);
    EXPECT_EQ(m->questions[0].klass, 1);
    auto root = wire::build_query(".", 2);
    ASSERT_TRUE(root.has_value());
    EXPECT_EQ(root->size(), 12u + 1u + 4u);
}

TEST(WireQuery, RefusesBadNames) {
    EXPECT_FALSE(wire::build_query("a..b", 1).has_value());
    EXPECT_FALSE(wire::build_query(std::string(64, 'a') + ".b", 1).has_value());
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
    auto r = wire::build_query(long_name, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().reason.find("255"), std::string::npos);
}

}  // namespace

// DMARC record text (RFC 9989 §4.7): "v=DMARC1" MUST be first and exactly that; unknown tags MUST
// be ignored; a syntax error in the remainder is discarded in favour of defaults; invalid p/sp/np
// act as p=none only if rua holds a valid URI (§4.10.1). Historic pct/rf/ri (Appendix A.6).
#include <gtest/gtest.h>

#include <algorithm>

#include "dmarc/dmarc.hpp"

namespace rampart::dmarc {
namespace {

Record parse_ok(std::string_view text) {
    auto record = parse_record(text);
    EXPECT_TRUE(record.has_value()) << text << ": " << (record ? "" : record.error().reason);
    return record ? *record : Record{};
}

const Diagnostic* find(const Record& r, std::string_view code) {
    auto it = std::find_if(r.diagnostics.begin(), r.diagnostics.end(),
                           [&](const Diagnostic& d) { return d.code == code; });
    return it == r.diagnostics.end() ? nullptr : &*it;
}

std::string reason_refused(std::string_view text) {
    auto record = parse_record(text);
    EXPECT_FALSE(record.has_value()) << text;
    return record ? "" : record.error().reason;
}

TEST(DmarcRecord, ReadsEveryTag) {
    const auto r = parse_ok(
        "v=DMARC1; p=reject; sp=quarantine; np=none; psd=n; t=y; pct=50; adkim=s; aspf=r; "
        "rua=mailto:agg@example.com; ruf=mailto:fail@example.com; fo=1:d:s; rf=afrf; ri=3600");
    EXPECT_EQ(r.p, Policy::reject);
    EXPECT_EQ(r.sp, Policy::quarantine);
    EXPECT_EQ(r.np, Policy::none);
    EXPECT_EQ(r.psd, Psd::no);
    EXPECT_EQ(r.t, true);
    EXPECT_EQ(r.pct, 50);
    EXPECT_EQ(r.adkim, Alignment::strict);
    EXPECT_EQ(r.aspf, Alignment::relaxed);
    ASSERT_EQ(r.rua.size(), 1u);
    EXPECT_EQ(r.rua[0].address, "agg@example.com");
    EXPECT_EQ(r.rua[0].domain, "example.com");
    EXPECT_EQ(r.rua[0].scheme, "mailto");
    ASSERT_EQ(r.ruf.size(), 1u);
    EXPECT_EQ(r.fo, (std::vector{FailureOption::any_failed, FailureOption::dkim,
                                 FailureOption::spf}));
    EXPECT_EQ(r.rf, "afrf");
    EXPECT_EQ(r.ri, 3600u);
    EXPECT_FALSE(r.has_errors());
    EXPECT_NE(find(r, "pct-historic"), nullptr);
    EXPECT_NE(find(r, "rf-historic"), nullptr);
    EXPECT_NE(find(r, "ri-historic"), nullptr);
    EXPECT_NE(find(r, "test-mode"), nullptr);
}

TEST(DmarcRecord, DefaultsWhenTagsAreAbsent) {
    const auto r = parse_ok("v=DMARC1; p=quarantine");
    EXPECT_EQ(r.policy(), Policy::quarantine);
    EXPECT_EQ(r.subdomain_policy(), Policy::quarantine);
    EXPECT_EQ(r.nonexistent_policy(), Policy::quarantine);
    EXPECT_EQ(r.dkim_alignment(), Alignment::relaxed);
    EXPECT_EQ(r.spf_alignment(), Alignment::relaxed);
    EXPECT_EQ(r.psd_mode(), Psd::unknown);
    EXPECT_FALSE(r.test_mode());
    EXPECT_TRUE(r.diagnostics.empty());
}

TEST(DmarcRecord, NpFallsBackToSpThenP) {
    EXPECT_EQ(parse_ok("v=DMARC1; p=none; sp=reject").nonexistent_policy(), Policy::reject);
    EXPECT_EQ(parse_ok("v=DMARC1; p=quarantine; np=reject").subdomain_policy(),
              Policy::quarantine);
}

TEST(DmarcRecord, WhitespaceAroundSeparatorsAndTrailingSemicolon) {
    for (const auto* text : {"v=DMARC1;p=reject", "v = DMARC1 ; p = reject ;",
                             "v=DMARC1;\tp=reject;\t", "  v=DMARC1; p=reject;  "}) {
        const auto r = parse_ok(text);
        EXPECT_EQ(r.p, Policy::reject) << text;
        EXPECT_TRUE(r.diagnostics.empty()) << text << ": " << r.diagnostics.front().message;
    }
}

TEST(DmarcRecord, VersionMustBeFirstAndExactlyDmarc1) {
    EXPECT_NE(reason_refused("p=none; v=DMARC1").find("not the first tag"), std::string::npos);
    EXPECT_NE(reason_refused("v=dmarc1; p=none").find("upper case"), std::string::npos);
    EXPECT_NE(reason_refused("v=DMARC2; p=none").find("\"DMARC2\""), std::string::npos);
    EXPECT_NE(reason_refused("v=DMARC1 p=none").find("\";\" is missing"), std::string::npos);
    EXPECT_NE(reason_refused("v=spf1 -all").find("not \"DMARC1\""), std::string::npos);
    EXPECT_NE(reason_refused("").find("empty"), std::string::npos);
    EXPECT_NE(reason_refused("\"v=DMARC1; p=none\"").find("quote"), std::string::npos);
    EXPECT_NE(reason_refused("p=none").find("does not start with v=DMARC1"), std::string::npos);
    // The tag name is an ABNF literal, so case-insensitive; the value is %s"DMARC1".
    EXPECT_EQ(parse_ok("V=DMARC1; p=none").p, Policy::none);
}

TEST(DmarcRecord, IsDmarcRecordMatchesTheParser) {
    EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
    EXPECT_TRUE(is_dmarc_record("v=DMARC1;"));
    EXPECT_TRUE(is_dmarc_record(" v = DMARC1 ; p=none"));
    EXPECT_FALSE(is_dmarc_record("v=DMARC10"));
    EXPECT_FALSE(is_dmarc_record("v=spf1 include:_spf.example.com ~all"));
    EXPECT_FALSE(is_dmarc_record("x=1; v=DMARC1"));
}

TEST(DmarcRecord, UnknownTagsAreKeptAndWarned) {
    const auto r = parse_ok("v=DMARC1; p=none; foo=bar; xyz=1");
    ASSERT_EQ(r.unknown_tags.size(), 2u);
    EXPECT_EQ(r.unknown_tags[0], (Tag{"foo", "bar"}));
    const auto* d = find(r, "unknown-tag");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->severity, Severity::warning);
    EXPECT_EQ(d->offset, 18u);
    EXPECT_FALSE(r.has_errors());
}

TEST(DmarcRecord, DuplicateTagKeepsTheFirst) {
    const auto r = parse_ok("v=DMARC1; p=reject; p=none");
    EXPECT_EQ(r.p, Policy::reject);
    EXPECT_NE(find(r, "duplicate-tag"), nullptr);
}

TEST(DmarcRecord, MissingPIsNoneWithAWarning) {
    const auto r = parse_ok("v=DMARC1; rua=mailto:d@example.com");
    EXPECT_FALSE(r.p.has_value());
    EXPECT_EQ(r.policy(), Policy::none);
    EXPECT_TRUE(r.applies());
    const auto* d = find(r, "missing-p");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->severity, Severity::warning);
}

TEST(DmarcRecord, PNotSecondWarnsForRfc7489Receivers) {
    const auto r = parse_ok("v=DMARC1; rua=mailto:d@example.com; p=reject");
    EXPECT_EQ(r.p, Policy::reject);
    EXPECT_NE(find(r, "p-not-second"), nullptr);
}

TEST(DmarcRecord, InvalidPWithValidRuaActsAsNone) {
    const auto r = parse_ok("v=DMARC1; p=rejectt; sp=reject; rua=mailto:d@example.com");
    EXPECT_TRUE(r.invalid_policy);
    EXPECT_TRUE(r.applies());
    EXPECT_EQ(r.policy(), Policy::none);
    EXPECT_EQ(r.subdomain_policy(), Policy::none);
    const auto* d = find(r, "invalid-p");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->severity, Severity::error);
    EXPECT_NE(d->message.find("p=none"), std::string::npos) << d->message;
    EXPECT_EQ(d->offset, 12u);
}

TEST(DmarcRecord, InvalidPWithoutValidRuaMeansNoDmarc) {
    for (const auto* text : {"v=DMARC1; p=bogus", "v=DMARC1; p=bogus; rua=reports@example.com",
                             "v=DMARC1; p=none; np=block"}) {
        const auto r = parse_ok(text);
        EXPECT_TRUE(r.invalid_policy) << text;
        EXPECT_FALSE(r.applies()) << text;
        bool mentions = false;
        for (const auto& diag : r.diagnostics) {
            mentions |= diag.message.find("ignore the whole record") != std::string::npos;
        }
        EXPECT_TRUE(mentions) << text;
    }
}

TEST(DmarcRecord, BadValuesFallBackToDefaults) {
    const auto r = parse_ok("v=DMARC1; p=none; adkim=x; aspf=; psd=maybe; t=yes; pct=101; ri=day");
    EXPECT_FALSE(r.adkim.has_value());
    EXPECT_FALSE(r.aspf.has_value());
    EXPECT_FALSE(r.psd.has_value());
    EXPECT_FALSE(r.t.has_value());
    EXPECT_FALSE(r.pct.has_value());
    EXPECT_FALSE(r.ri.has_value());
    for (const auto* code : {"invalid-adkim", "empty-value", "invalid-psd", "invalid-t",
                             "invalid-pct", "invalid-ri"}) {
        const auto* d = find(r, code);
        ASSERT_NE(d, nullptr) << code;
        EXPECT_EQ(d->severity, Severity::error) << code;
    }
    EXPECT_TRUE(r.applies());
    EXPECT_FALSE(r.invalid_policy);
}

TEST(DmarcRecord, PctOtherThanZeroOrHundredIsCalledOut) {
    const auto half = parse_ok("v=DMARC1; p=quarantine; pct=50");
    ASSERT_NE(find(half, "pct-historic"), nullptr);
    EXPECT_NE(find(half, "pct-historic")->message.find("consistently"), std::string::npos);
    const auto full = parse_ok("v=DMARC1; p=quarantine; pct=100");
    EXPECT_EQ(find(full, "pct-historic")->message.find("consistently"), std::string::npos);
    const auto zero = parse_ok("v=DMARC1; p=quarantine; pct=0");
    EXPECT_NE(find(zero, "pct-historic")->message.find("rewrite From"), std::string::npos);
}

TEST(DmarcRecord, RuaListWithSpacesAndSizes) {
    const auto r = parse_ok(
        "v=DMARC1; p=none; rua=mailto:a@example.com , mailto:b@example.net!10m,"
        "\tmailto:c@example.org!20");
    ASSERT_EQ(r.rua.size(), 3u);
    EXPECT_EQ(r.rua[0].uri, "mailto:a@example.com");
    EXPECT_FALSE(r.rua[0].size_limit.has_value());
    EXPECT_EQ(r.rua[1].uri, "mailto:b@example.net");
    EXPECT_EQ(r.rua[1].size_limit, 10u * 1024 * 1024);
    EXPECT_EQ(r.rua[2].size_limit, 20u);
    EXPECT_NE(find(r, "size-suffix"), nullptr);
}

TEST(DmarcRecord, PercentEncodedCommaStaysInOneUri) {
    // RFC 6068 separates mailto addresses with ","; inside a DMARC list it must be %2C.
    const auto r =
        parse_ok("v=DMARC1; p=none; rua=mailto:a@example.com%2Cb@example.net,mailto:c@example.org");
    ASSERT_EQ(r.rua.size(), 2u);
    EXPECT_EQ(r.rua[0].uri, "mailto:a@example.com%2Cb@example.net");
    EXPECT_EQ(r.rua[0].address, "a@example.com");
    EXPECT_EQ(r.rua[0].domain, "example.com");
    EXPECT_EQ(r.rua[1].domain, "example.org");
    ASSERT_NE(find(r, "mailto-several-addresses"), nullptr);
}

TEST(DmarcRecord, PercentEncodedLocalPartIsDecoded) {
    const auto r = parse_ok("v=DMARC1; p=none; rua=mailto:dmarc%2Breports@Example.COM");
    ASSERT_EQ(r.rua.size(), 1u);
    EXPECT_EQ(r.rua[0].address, "dmarc+reports@Example.COM");
    EXPECT_EQ(r.rua[0].domain, "example.com");
}

TEST(DmarcRecord, BadUrisAreDroppedWithTheReason) {
    const auto r = parse_ok(
        "v=DMARC1; p=none; rua=reports@example.com,mailto:,mailto:x@,mailto:a b@example.com,"
        "mailto:a@example.com!10x,mailto:%zz@example.com,mailto:ok@example.com");
    ASSERT_EQ(r.rua.size(), 1u);
    EXPECT_EQ(r.rua[0].address, "ok@example.com");
    std::vector<std::string> reasons;
    for (const auto& d : r.diagnostics) {
        if (d.code == "bad-uri") reasons.push_back(d.message);
    }
    ASSERT_EQ(reasons.size(), 6u);
    EXPECT_NE(reasons[0].find("no scheme"), std::string::npos) << reasons[0];
    EXPECT_NE(reasons[1].find("no address"), std::string::npos) << reasons[1];
    EXPECT_NE(reasons[2].find("domain is not valid"), std::string::npos) << reasons[2];
    EXPECT_NE(reasons[3].find("byte 0x20 is not allowed"), std::string::npos) << reasons[3];
    EXPECT_NE(reasons[4].find("size unit"), std::string::npos) << reasons[4];
    EXPECT_NE(reasons[5].find("two hex digits"), std::string::npos) << reasons[5];
}

TEST(DmarcRecord, UnencodedCommaSplitsTheListAndTheRestHasNoScheme) {
    const auto r = parse_ok("v=DMARC1; p=none; rua=mailto:a@example.com,b@example.com");
    ASSERT_EQ(r.rua.size(), 1u);
    const auto* d = find(r, "bad-uri");
    ASSERT_NE(d, nullptr);
    EXPECT_NE(d->message.find("%2C"), std::string::npos);
    EXPECT_EQ(d->offset, 43u);
}

TEST(DmarcRecord, NonAsciiDomainInMailtoIsRefused) {
    const auto r = parse_ok("v=DMARC1; p=none; rua=mailto:d@ex%C3%A4mple.com");
    EXPECT_TRUE(r.rua.empty());
    ASSERT_NE(find(r, "bad-uri"), nullptr);
}

TEST(DmarcRecord, NonMailtoSchemeIsKeptButWarned) {
    const auto r = parse_ok("v=DMARC1; p=none; rua=https://reports.example.com/dmarc");
    ASSERT_EQ(r.rua.size(), 1u);
    EXPECT_EQ(r.rua[0].scheme, "https");
    EXPECT_TRUE(r.rua[0].domain.empty());
    EXPECT_NE(find(r, "unsupported-scheme"), nullptr);
}

TEST(DmarcRecord, FoWithoutRufAndBadOptions) {
    const auto r = parse_ok("v=DMARC1; p=none; fo=1:x");
    EXPECT_EQ(r.fo, std::vector{FailureOption::any_failed});
    EXPECT_NE(find(r, "fo-without-ruf"), nullptr);
    EXPECT_NE(find(r, "invalid-fo"), nullptr);
}

TEST(DmarcRecord, EmptyAndNamelessTagsAreWarned) {
    const auto r = parse_ok("v=DMARC1;; p=none; garbage; 1x=2");
    EXPECT_EQ(r.p, Policy::none);
    EXPECT_NE(find(r, "empty-tag"), nullptr);
    EXPECT_EQ(std::count_if(r.diagnostics.begin(), r.diagnostics.end(),
                            [](const Diagnostic& d) { return d.code == "bad-tag"; }),
              2);
}

TEST(DmarcRecord, PolicyValuesAreCaseInsensitive) {
    EXPECT_EQ(parse_ok("v=DMARC1; P=Reject; ADKIM=S").p, Policy::reject);
    EXPECT_EQ(parse_ok("v=DMARC1; p=none; ADKIM=S").adkim, Alignment::strict);
}

// --- format_record -------------------------------------------------------------------------

Record without_diagnostics(Record r) {
    r.diagnostics.clear();
    return r;
}

void expect_round_trip(std::string_view text) {
    const auto first = parse_ok(text);
    const auto formatted = format_record(first);
    const auto second = parse_ok(formatted);
    EXPECT_EQ(without_diagnostics(first), without_diagnostics(second)) << text << "\n" << formatted;
    EXPECT_EQ(format_record(second), formatted);
}

TEST(DmarcFormat, CanonicalOrder) {
    const auto r = parse_ok(
        "v=DMARC1; ri=86400; fo=s:d; ruf=mailto:f@example.com; rua=mailto:a@example.com!1g; "
        "aspf=s; adkim=r; pct=100; t=n; psd=u; np=reject; sp=none; p=QUARANTINE; x=1");
    EXPECT_EQ(format_record(r),
              "v=DMARC1; p=quarantine; sp=none; np=reject; psd=u; t=n; pct=100; adkim=r; aspf=s; "
              "rua=mailto:a@example.com!1g; ruf=mailto:f@example.com; fo=s:d; ri=86400; x=1");
}

TEST(DmarcFormat, BuildsAMonitoringRecord) {
    Record r;
    r.p = Policy::none;
    r.rua.push_back(ReportUri{.uri = "mailto:dmarc@example.com"});
    EXPECT_EQ(format_record(r), "v=DMARC1; p=none; rua=mailto:dmarc@example.com");
    const auto back = parse_ok(format_record(r));
    EXPECT_TRUE(back.diagnostics.empty());
    EXPECT_EQ(back.rua.at(0).domain, "example.com");
}

TEST(DmarcFormat, RoundTrips) {
    for (const auto* text : {
             "v=DMARC1",
             "v=DMARC1; p=reject; sp=quarantine; np=none; psd=n; t=y; pct=50; adkim=s; aspf=r; "
             "rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; "
             "fo=1:d; rf=afrf; ri=3600",
             "v=DMARC1; p=bogus; sp=reject; rua=mailto:a@example.com",
             "v=DMARC1; p=; sp=reject",
             "v=DMARC1; p=none; rua=bad, worse",
             "v=DMARC1; p=none; fo=x; adkim=q; foo=bar baz; p=reject",
             "v=DMARC1; p=none; rua=mailto:a%2Cb@example.com!0",
             "v=DMARC1; p=none; rua=https://example.com/r?x=1#y",
         }) {
        expect_round_trip(text);
    }
}

}  // namespace
}  // namespace rampart::dmarc

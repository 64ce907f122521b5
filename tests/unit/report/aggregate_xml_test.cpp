// Aggregate reports (XML) parsed by report::parse_aggregate: values, quirks, refusals, streaming.
//
// What is checked, paraphrased from STANDARDS.md §3 (RFC 7489 Appendix C, RFC 9990):
// RFC 7489 App. C: <feedback> holds report_metadata (org_name, email, report_id, date_range with
// begin/end in epoch seconds), policy_published (domain, adkim, aspf, p, sp, pct, fo) and one or
// more <record> (row: source_ip, count, policy_evaluated; identifiers; auth_results with dkim*
// and spf).
// RFC 9990: namespace urn:ietf:params:xml:ns:dmarc-2.0, adds np, testing (t), discovery_method,
// generator and disposition "pass", drops pct; "unknown extensions SHOULD be ignored"; a document
// that does not match the format SHOULD be discarded; reports are hostile input (XML bombs).
// STANDARDS.md §3.4: the quirks real reporters send, each accepted here with a Diagnostic.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "report/report.hpp"
#include "support.hpp"

namespace rampart::report {
namespace {

using test::bytes_of;

Location at(std::string source) {
    Location where;
    where.source = std::move(source);
    return where;
}

Timestamp epoch(std::int64_t seconds) { return Timestamp{std::chrono::seconds{seconds}}; }

Result<AggregateReport> parse(const std::string& xml, const IngestLimits& limits = {}) {
    return parse_aggregate_document(bytes_of(xml), at("test.xml"), limits);
}

std::string fixture(const char* name) {
    auto path = test::fixtures() / "aggregate" / name;
    auto text = test::read_file(path);
    EXPECT_FALSE(text.empty()) << "missing fixture " << path;
    return text;
}

bool has_diagnostic(const AggregateReport& r, std::string_view path_part, std::string_view text) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& d) {
        return d.path.find(path_part) != std::string::npos &&
               d.message.find(text) != std::string::npos;
    });
}

std::string diagnostics_of(const AggregateReport& r) {
    std::string out;
    for (const auto& d : r.diagnostics) out += d.path + ": " + d.message + "\n";
    return out;
}

/// The 1-based line of the first occurrence of `needle` in `text`.
std::uint32_t line_of(const std::string& text, std::string_view needle) {
    auto pos = text.find(needle);
    EXPECT_NE(pos, std::string::npos) << needle;
    return static_cast<std::uint32_t>(std::count(text.begin(), text.begin() +
                                                 static_cast<std::ptrdiff_t>(pos), '\n')) + 1;
}

// ---- a small report builder --------------------------------------------------------------------

struct Rec {
    std::string source_ip = "<source_ip>192.0.2.1</source_ip>";
    std::string count = "<count>3</count>";
    std::string evaluated =
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>"
        "</policy_evaluated>";
    std::string identifiers =
        "<identifiers><envelope_from>bounce.example.com</envelope_from>"
        "<header_from>example.com</header_from></identifiers>";
    std::string auth =
        "<auth_results><dkim><domain>example.com</domain><selector>s1</selector>"
        "<result>pass</result></dkim><spf><domain>bounce.example.com</domain>"
        "<scope>mfrom</scope><result>fail</result></spf></auth_results>";
    std::string extra;  // after auth_results

    [[nodiscard]] std::string str() const {
        return "  <record>\n    <row>" + source_ip + count + evaluated + "</row>\n    " +
               identifiers + "\n    " + auth + extra + "\n  </record>\n";
    }
};

struct Doc {
    std::string prolog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    std::string root = "feedback";
    std::string root_attrs;
    std::string version = "  <version>1.0</version>\n";
    std::string org_name = "<org_name>Example Receiver</org_name>";
    std::string email = "<email>dmarc@receiver.example</email>";
    std::string report_id = "<report_id>r-1</report_id>";
    std::string date_range =
        "<date_range><begin>1700000000</begin><end>1700086399</end></date_range>";
    std::string metadata_extra;
    std::string policy =
        "<domain>example.com</domain><adkim>r</adkim><aspf>s</aspf><p>reject</p>"
        "<sp>quarantine</sp><pct>50</pct><fo>1</fo>";
    std::string records = Rec{}.str();

    [[nodiscard]] std::string str() const {
        return prolog + "<" + root + root_attrs + ">\n" + version + "  <report_metadata>" +
               org_name + email + report_id + date_range + metadata_extra +
               "</report_metadata>\n  <policy_published>" + policy + "</policy_published>\n" +
               records + "</" + root + ">\n";
    }
};

// ---- sources and sinks for the streaming contract ----------------------------------------------

/// Hands out at most `step` bytes per read, to put chunk boundaries everywhere.
class ChunkedSource final : public ByteSource {
public:
    ChunkedSource(std::span<const std::byte> data, std::size_t step) : data_(data), step_(step) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        auto n = std::min({buffer.size(), step_, data_.size()});
        std::memcpy(buffer.data(), data_.data(), n);
        data_ = data_.subspan(n);
        return n;
    }

private:
    std::span<const std::byte> data_;
    std::size_t step_;
};

/// Gives `good` bytes, then fails the way a truncated gzip stream does.
class FailingSource final : public ByteSource {
public:
    FailingSource(std::span<const std::byte> data, std::size_t good) : data_(data.first(good)) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        if (data_.empty()) return fail(Errc::malformed, "gzip stream is truncated");
        auto n = std::min(buffer.size(), data_.size());
        std::memcpy(buffer.data(), data_.data(), n);
        data_ = data_.subspan(n);
        return n;
    }

private:
    std::span<const std::byte> data_;
};

class RecordingSink final : public AggregateSink {
public:
    Result<void> on_header(const AggregateHeader& h) override {
        events.push_back("header " + h.metadata.report_id);
        if (fail_header) return fail(Errc::conflict, "the store already holds this report");
        return {};
    }
    Result<void> on_record(const Record& r) override {
        events.push_back("record " + r.source_ip.to_string());
        if (events.size() == fail_at_event)
            return fail(Errc::io, "disk full while writing a record");
        return {};
    }
    std::vector<std::string> events;
    bool fail_header = false;
    std::size_t fail_at_event = 0;  // 1-based index into events; 0 never
};

// ---- a complete report, every field ------------------------------------------------------------

TEST(AggregateXml, ReadsEveryFieldOfAnRfc7489Report) {
    Doc d;
    d.metadata_extra = "<extra_contact_info>https://receiver.example/dmarc</extra_contact_info>"
                       "<error>DNS timeout for _dmarc.example.com</error><error>second</error>";
    Rec second;
    second.source_ip = "<source_ip>198.51.100.20</source_ip>";
    second.count = "<count>12</count>";
    second.evaluated =
        "<policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf>"
        "</policy_evaluated>";
    second.identifiers =
        "<identifiers><envelope_to>Receiver.Example</envelope_to>"
        "<envelope_from>Spoof.Example</envelope_from><header_from>Example.COM</header_from>"
        "</identifiers>";
    second.auth = "<auth_results><spf><domain>spoof.example</domain><scope>helo</scope>"
                  "<result>softfail</result><human_result>soft</human_result></spf>"
                  "</auth_results>";
    d.records = Rec{}.str() + second.str();

    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const auto& h = r->header;
    EXPECT_EQ(h.schema, Schema::none);
    EXPECT_EQ(h.version, "1.0");
    EXPECT_EQ(h.metadata.org_name, "Example Receiver");
    EXPECT_EQ(h.metadata.email, "dmarc@receiver.example");
    EXPECT_EQ(h.metadata.extra_contact_info, "https://receiver.example/dmarc");
    EXPECT_EQ(h.metadata.report_id, "r-1");
    EXPECT_EQ(h.metadata.begin, epoch(1700000000));
    EXPECT_EQ(h.metadata.end, epoch(1700086399));
    EXPECT_EQ(h.metadata.errors,
              (std::vector<std::string>{"DNS timeout for _dmarc.example.com", "second"}));
    EXPECT_EQ(h.metadata.generator, "");
    EXPECT_EQ(h.policy.domain, "example.com");
    EXPECT_EQ(h.policy.adkim, Alignment::relaxed);
    EXPECT_EQ(h.policy.aspf, Alignment::strict);
    EXPECT_EQ(h.policy.p, Policy::reject);
    EXPECT_EQ(h.policy.sp, Policy::quarantine);
    EXPECT_EQ(h.policy.np, std::nullopt);
    EXPECT_EQ(h.policy.pct, 50u);
    EXPECT_EQ(h.policy.fo, "1");
    EXPECT_EQ(h.policy.testing, std::nullopt);
    EXPECT_EQ(h.policy.discovery_method, std::nullopt);

    ASSERT_EQ(r->records.size(), 2u);
    const auto& a = r->records[0];
    EXPECT_EQ(a.source_ip.to_string(), "192.0.2.1");
    EXPECT_EQ(a.count, 3u);
    EXPECT_EQ(a.disposition, Disposition::none);
    EXPECT_EQ(a.dkim, DmarcVerdict::pass);
    EXPECT_EQ(a.spf, DmarcVerdict::fail);
    EXPECT_TRUE(a.dmarc_pass());
    EXPECT_TRUE(a.reasons.empty());
    EXPECT_EQ(a.header_from, "example.com");
    EXPECT_EQ(a.envelope_from, "bounce.example.com");
    EXPECT_EQ(a.envelope_to, std::nullopt);
    ASSERT_EQ(a.dkim_results.size(), 1u);
    EXPECT_EQ(a.dkim_results[0].domain, "example.com");
    EXPECT_EQ(a.dkim_results[0].selector, "s1");
    EXPECT_EQ(a.dkim_results[0].result, AuthVerdict::pass);
    EXPECT_EQ(a.dkim_results[0].human_result, "");
    ASSERT_EQ(a.spf_results.size(), 1u);
    EXPECT_EQ(a.spf_results[0].domain, "bounce.example.com");
    EXPECT_EQ(a.spf_results[0].scope, SpfScope::mfrom);
    EXPECT_EQ(a.spf_results[0].result, AuthVerdict::fail);

    const auto& b = r->records[1];
    EXPECT_EQ(b.source_ip.to_string(), "198.51.100.20");
    EXPECT_EQ(b.count, 12u);
    EXPECT_EQ(b.disposition, Disposition::reject);
    EXPECT_FALSE(b.dmarc_pass());
    // Domains are compared case-insensitively, so they are stored lower-cased.
    EXPECT_EQ(b.header_from, "example.com");
    EXPECT_EQ(b.envelope_from, "spoof.example");
    EXPECT_EQ(b.envelope_to, "receiver.example");
    EXPECT_TRUE(b.dkim_results.empty());
    ASSERT_EQ(b.spf_results.size(), 1u);
    EXPECT_EQ(b.spf_results[0].scope, SpfScope::helo);
    EXPECT_EQ(b.spf_results[0].result, AuthVerdict::softfail);
    EXPECT_EQ(b.spf_results[0].human_result, "soft");
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

TEST(AggregateXml, TotalsCountRecordsAndMessages) {
    Doc d;
    Rec a, b;
    a.count = "<count>7</count>";
    b.count = "<count>0</count>";  // count 0: nothing delivered, still a row the receiver wrote
    d.records = a.str() + b.str();
    RecordingSink sink;
    auto xml = d.str();
    MemorySource src(bytes_of(xml));
    auto totals = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_TRUE(totals) << totals.error().describe();
    EXPECT_EQ(totals->records, 2u);
    EXPECT_EQ(totals->messages, 7u);
}

// ---- quirks that must be accepted (STANDARDS.md §3.4) ------------------------------------------

TEST(AggregateXmlQuirks, Utf8ByteOrderMarkIsSkipped) {
    Doc d;
    auto r = parse("\xEF\xBB\xBF" + d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "Example Receiver");
    EXPECT_EQ(r->records.size(), 1u);
}

TEST(AggregateXmlQuirks, CrlfLineEndsLeaveNoCarriageReturnInValues) {
    // Microsoft's reports use CRLF.
    Doc d;
    d.org_name = "<org_name>\r\n  Microsoft Corporation\r\n</org_name>";
    std::string crlf;
    for (char c : d.str()) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    auto r = parse(crlf);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "Microsoft Corporation");
    EXPECT_EQ(r->records.at(0).header_from, "example.com");
}

TEST(AggregateXmlQuirks, Iso88591DeclaredLatin1ByteBecomesUtf8) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n";
    d.org_name = "<org_name>Soci\xE9t\xE9 G\xE9n\xE9rale</org_name>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "Soci\xC3\xA9t\xC3\xA9 G\xC3\xA9n\xC3\xA9rale");
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

TEST(AggregateXmlQuirks, Windows1252DeclaredIsDecodedThroughIconv) {
    // AOL declared windows-1252 (OpenDMARC's bad.com sample). 0x80 is the euro sign and 0x92 the
    // right single quotation mark there; in ISO-8859-1 both would be C1 controls.
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n";
    d.org_name = "<org_name>AOL\x92s \x80 desk</org_name>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "AOL\xE2\x80\x99s \xE2\x82\xAC desk");
}

TEST(AggregateXmlQuirks, Utf16WithByteOrderMarkIsRead) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n";
    std::string le = "\xFF\xFE";
    for (char c : d.str()) {
        le += c;
        le += '\0';
    }
    auto r = parse(le);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.report_id, "r-1");
    EXPECT_EQ(r->records.at(0).source_ip.to_string(), "192.0.2.1");
}

TEST(AggregateXmlQuirks, Utf8SpelledWithoutHyphenIsReadAsUtf8) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"utf8\"?>\n";
    d.org_name = "<org_name>Caf\xC3\xA9 \xE2\x82\xAC</org_name>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "Caf\xC3\xA9 \xE2\x82\xAC");
    EXPECT_TRUE(has_diagnostic(*r, "", "encoding \"utf8\" read as UTF-8")) << diagnostics_of(*r);
}

TEST(AggregateXmlQuirks, BlankLinesBeforeTheDeclarationAreSkippedAndLinesStillCount) {
    Doc d;
    Rec bad;
    bad.source_ip = "<source_ip>300.1.2.3</source_ip>";
    d.records = bad.str();
    auto xml = "\n\n   " + d.str();
    auto ok = parse("\n\n   " + Doc{}.str());
    ASSERT_TRUE(ok) << ok.error().describe();
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where.line, line_of(xml, "300.1.2.3"));
}

TEST(AggregateXmlQuirks, WhitespaceAroundValuesIsTrimmed) {
    // dmarc-report-converter's test.xml: <end>1524268799 </end>.
    Doc d;
    d.date_range = "<date_range><begin>\n 1524182400\n</begin><end>1524268799 </end></date_range>";
    d.policy = "<domain> Example.com </domain><p> none </p><pct> 100 </pct>";
    Rec rec;
    rec.source_ip = "<source_ip>\n\t192.0.2.9 \n</source_ip>";
    rec.count = "<count> 42 </count>";
    rec.evaluated = "<policy_evaluated><disposition> none </disposition><dkim> pass</dkim>"
                    "<spf>fail </spf></policy_evaluated>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.begin, epoch(1524182400));
    EXPECT_EQ(r->header.metadata.end, epoch(1524268799));
    EXPECT_EQ(r->header.policy.domain, "example.com");
    EXPECT_EQ(r->header.policy.p, Policy::none);
    EXPECT_EQ(r->header.policy.pct, 100u);
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].source_ip.to_string(), "192.0.2.9");
    EXPECT_EQ(r->records[0].count, 42u);
    EXPECT_EQ(r->records[0].dkim, DmarcVerdict::pass);
    EXPECT_EQ(r->records[0].spf, DmarcVerdict::fail);
}

TEST(AggregateXmlQuirks, UpperCaseResultsAreReadAndRecordedAsDiagnostics) {
    Doc d;
    Rec rec;
    rec.evaluated = "<policy_evaluated><disposition>Quarantine</disposition><dkim>Pass</dkim>"
                    "<spf>FAIL</spf></policy_evaluated>";
    rec.auth = "<auth_results><dkim><domain>example.com</domain><result>None</result></dkim>"
               "<spf><domain>example.com</domain><scope>MFROM</scope><result>SoftFail</result>"
               "</spf></auth_results>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const auto& x = r->records.at(0);
    EXPECT_EQ(x.disposition, Disposition::quarantine);
    EXPECT_EQ(x.dkim, DmarcVerdict::pass);
    EXPECT_EQ(x.spf, DmarcVerdict::fail);
    EXPECT_EQ(x.dkim_results.at(0).result, AuthVerdict::none);
    EXPECT_EQ(x.spf_results.at(0).result, AuthVerdict::softfail);
    EXPECT_EQ(x.spf_results.at(0).scope, SpfScope::mfrom);
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]/row/policy_evaluated/dkim",
                               "\"Pass\" read as \"pass\""))
        << diagnostics_of(*r);
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]/row/policy_evaluated/disposition",
                               "\"Quarantine\" read as \"quarantine\""));
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]/auth_results/spf/result",
                               "\"SoftFail\" read as \"softfail\""));
}

TEST(AggregateXmlQuirks, MissingOptionalElementsStayAbsent) {
    // Google and Yahoo send no <version>; RFC 9990 makes adkim, aspf, sp, np, fo optional;
    // Google sends no envelope_from; a row may come without auth_results.
    Doc d;
    d.version.clear();
    d.policy = "<domain>example.com</domain><p>none</p>";
    Rec rec;
    rec.identifiers = "<identifiers><header_from>example.com</header_from></identifiers>";
    rec.auth.clear();
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.version, "");
    EXPECT_EQ(r->header.policy.adkim, std::nullopt);
    EXPECT_EQ(r->header.policy.aspf, std::nullopt);
    EXPECT_EQ(r->header.policy.sp, std::nullopt);
    EXPECT_EQ(r->header.policy.np, std::nullopt);
    EXPECT_EQ(r->header.policy.pct, std::nullopt);
    EXPECT_EQ(r->header.policy.fo, "");
    EXPECT_EQ(r->header.metadata.extra_contact_info, "");
    const auto& x = r->records.at(0);
    EXPECT_EQ(x.envelope_from, std::nullopt);
    EXPECT_EQ(x.envelope_to, std::nullopt);
    EXPECT_TRUE(x.dkim_results.empty());
    EXPECT_TRUE(x.spf_results.empty());
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

TEST(AggregateXmlQuirks, EmptyEnvelopeFromIsPresentButEmpty) {
    // RFC 9990: envelope_from MAY be present but empty for a null reverse-path.
    Doc d;
    Rec rec;
    rec.identifiers = "<identifiers><envelope_from/><header_from>example.com</header_from>"
                      "</identifiers>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.at(0).envelope_from, std::optional<std::string>(""));
}

TEST(AggregateXmlQuirks, SeveralDkimAndSpfResultsKeepTheirOrder) {
    Doc d;
    Rec rec;
    rec.auth = "<auth_results>"
               "<dkim><domain>example.com</domain><selector>a</selector><result>pass</result>"
               "<human_result>good</human_result></dkim>"
               "<dkim><domain>ESP.example</domain><selector>b</selector><result>fail</result>"
               "</dkim>"
               "<dkim><domain></domain><selector></selector><result>permerror</result></dkim>"
               "<spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf>"
               "<spf><domain>mx.example.com</domain><scope>helo</scope><result>neutral</result>"
               "</spf></auth_results>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const auto& x = r->records.at(0);
    ASSERT_EQ(x.dkim_results.size(), 3u);
    EXPECT_EQ(x.dkim_results[0].domain, "example.com");
    EXPECT_EQ(x.dkim_results[0].selector, "a");
    EXPECT_EQ(x.dkim_results[0].human_result, "good");
    EXPECT_EQ(x.dkim_results[1].domain, "esp.example");
    EXPECT_EQ(x.dkim_results[1].result, AuthVerdict::fail);
    EXPECT_EQ(x.dkim_results[2].domain, "");
    EXPECT_EQ(x.dkim_results[2].selector, "");
    EXPECT_EQ(x.dkim_results[2].result, AuthVerdict::permerror);
    ASSERT_EQ(x.spf_results.size(), 2u);
    EXPECT_EQ(x.spf_results[0].scope, SpfScope::mfrom);
    EXPECT_EQ(x.spf_results[0].result, AuthVerdict::pass);
    EXPECT_EQ(x.spf_results[1].domain, "mx.example.com");
    EXPECT_EQ(x.spf_results[1].scope, SpfScope::helo);
    EXPECT_EQ(x.spf_results[1].result, AuthVerdict::neutral);
}

TEST(AggregateXmlQuirks, OverrideReasonsIncludingAnEmptyType) {
    Doc d;
    Rec rec;
    rec.evaluated = "<policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
                    "<spf>fail</spf>"
                    "<reason><type>forwarded</type><comment>list.example</comment></reason>"
                    "<reason><type>local_policy</type></reason>"
                    "<reason><type>policy_test_mode</type><comment></comment></reason>"
                    "<reason><type/><comment/></reason>"
                    "</policy_evaluated>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const auto& reasons = r->records.at(0).reasons;
    ASSERT_EQ(reasons.size(), 4u);
    EXPECT_EQ(reasons[0].type, OverrideType::forwarded);
    EXPECT_EQ(reasons[0].comment, "list.example");
    EXPECT_EQ(reasons[1].type, OverrideType::local_policy);
    EXPECT_EQ(reasons[1].comment, "");
    EXPECT_EQ(reasons[2].type, OverrideType::policy_test_mode);
    // parsedmarc's empty_reason.xml: <type/> is kept as an unknown reason, and said so.
    EXPECT_EQ(reasons[3].type, OverrideType::unknown);
    EXPECT_TRUE(has_diagnostic(*r, "policy_evaluated/reason/type",
                               "override reason \"\" is not a known type"))
        << diagnostics_of(*r);
}

TEST(AggregateXmlQuirks, Ipv6IsStoredInRfc5952Form) {
    Doc d;
    Rec a, b, c, e;
    a.source_ip = "<source_ip>2001:0DB8:0000:0000:0000:0000:0000:0001</source_ip>";
    b.source_ip = "<source_ip>2A01:4F9:C011:B43C:0:0:0:1</source_ip>";
    c.source_ip = "<source_ip>::ffff:198.51.100.7</source_ip>";
    e.source_ip = "<source_ip>2001:db8:0:0:1:0:0:1</source_ip>";
    d.records = a.str() + b.str() + c.str() + e.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->records.size(), 4u);
    EXPECT_EQ(r->records[0].source_ip.to_string(), "2001:db8::1");
    EXPECT_EQ(r->records[0].source_ip.family(), IpAddress::Family::v6);
    EXPECT_EQ(r->records[1].source_ip.to_string(), "2a01:4f9:c011:b43c::1");
    // IPv4-mapped: stored as the IPv4 address, so the sender is one key whatever the form.
    EXPECT_EQ(r->records[2].source_ip.to_string(), "198.51.100.7");
    EXPECT_EQ(r->records[2].source_ip.family(), IpAddress::Family::v4);
    EXPECT_EQ(r->records[2].source_ip, *IpAddress::parse("198.51.100.7"));
    // RFC 5952 §4.2.3: the first of two equal zero runs is compressed.
    EXPECT_EQ(r->records[3].source_ip.to_string(), "2001:db8::1:0:0:1");
}

TEST(AggregateXmlQuirks, ExtraNamespaceDeclarationsOnTheRootAreHarmless) {
    // Microsoft declares xmlns:xsd and xmlns:xsi and nothing else.
    Doc d;
    d.root_attrs = " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\""
                   " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.schema, Schema::none);
    EXPECT_EQ(r->header.metadata.report_id, "r-1");
    EXPECT_EQ(r->records.size(), 1u);
}

TEST(AggregateXmlQuirks, Ns1PrefixedRootInThe01Namespace) {
    // AOL: <ns1:feedback xmlns:ns1="http://dmarc.org/dmarc-xml/0.1"> with unprefixed children.
    Doc d;
    d.root = "ns1:feedback";
    d.root_attrs = " xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'"
                   " xmlns:ns1='http://dmarc.org/dmarc-xml/0.1'"
                   " xsi:schemaLocation='http://dmarc.org/dmarc-xml/0.1 dmarc_agg_report.xsd'";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.schema, Schema::dmarc_0_1);
    EXPECT_EQ(r->header.policy.domain, "example.com");
    EXPECT_EQ(r->records.at(0).count, 3u);
}

TEST(AggregateXmlQuirks, PrefixedChildrenInTheDmarcNamespaceAreRead) {
    const std::string xml =
        "<d:feedback xmlns:d=\"http://dmarc.org/dmarc-xml/0.1\"><d:report_metadata>"
        "<d:org_name>Prefixed</d:org_name><d:email>a@b.example</d:email>"
        "<d:report_id>p-1</d:report_id><d:date_range><d:begin>1</d:begin><d:end>2</d:end>"
        "</d:date_range></d:report_metadata><d:policy_published><d:domain>example.net"
        "</d:domain></d:policy_published><d:record><d:row><d:source_ip>192.0.2.5</d:source_ip>"
        "<d:count>4</d:count></d:row><d:identifiers><d:header_from>example.net"
        "</d:header_from></d:identifiers></d:record></d:feedback>";
    auto r = parse(xml);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.schema, Schema::dmarc_0_1);
    EXPECT_EQ(r->header.metadata.org_name, "Prefixed");
    EXPECT_EQ(r->records.at(0).source_ip.to_string(), "192.0.2.5");
    EXPECT_EQ(r->records.at(0).count, 4u);
}

TEST(AggregateXmlQuirks, Rfc9990NamespaceWithItsNewElements) {
    Doc d;
    d.prolog.clear();  // the RFC 9990 sample has no XML declaration
    d.root_attrs = " xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"";
    d.metadata_extra = "<generator>Example DMARC Aggregate Reporter v1.2</generator>";
    d.policy = "<domain>example.com</domain><p>quarantine</p><sp>none</sp><np>reject</np>"
               "<testing>y</testing><discovery_method>treewalk</discovery_method>";
    Rec rec;
    rec.evaluated = "<policy_evaluated><disposition>pass</disposition><dkim>pass</dkim>"
                    "<spf>fail</spf></policy_evaluated>";
    rec.auth = "<auth_results><dkim><domain>example.com</domain><selector>abc123</selector>"
               "<result>pass</result><human_result lang=\"en\">2048-bit key</human_result>"
               "</dkim><spf><domain>example.com</domain><scope>mfrom</scope>"
               "<result>fail</result><human_result>no match</human_result></spf>"
               "</auth_results>";
    // A record-level extension in its own namespace whose local names collide with ours: it
    // must not be read as a second <row>.
    rec.extra = "<ext:row xmlns:ext=\"urn:example:ext\"><ext:source_ip>203.0.113.99"
                "</ext:source_ip><count>999</count></ext:row>"
                "<added xmlns=\"urn:example:other\"><count>77</count></added>";
    // A file-level <extension> holding something shaped like a record.
    d.records = "  <extension><record><row><source_ip>203.0.113.1</source_ip><count>5</count>"
                "</row></record></extension>\n" +
                rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const auto& h = r->header;
    EXPECT_EQ(h.schema, Schema::dmarc_2_0);
    EXPECT_EQ(h.metadata.generator, "Example DMARC Aggregate Reporter v1.2");
    EXPECT_EQ(h.policy.p, Policy::quarantine);
    EXPECT_EQ(h.policy.sp, Policy::none);
    EXPECT_EQ(h.policy.np, Policy::reject);
    EXPECT_EQ(h.policy.testing, true);
    EXPECT_EQ(h.policy.discovery_method, DiscoveryMethod::treewalk);
    EXPECT_EQ(h.policy.pct, std::nullopt);
    ASSERT_EQ(r->records.size(), 1u);
    const auto& x = r->records[0];
    EXPECT_EQ(x.source_ip.to_string(), "192.0.2.1");
    EXPECT_EQ(x.count, 3u);
    EXPECT_EQ(x.disposition, Disposition::pass);
    EXPECT_EQ(x.dkim_results.at(0).human_result, "2048-bit key");
    EXPECT_EQ(x.spf_results.at(0).human_result, "no match");
    // Extensions are not quirks: RFC 9990 says to ignore them.
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

TEST(AggregateXmlQuirks, UnknownElementsInsideDmarcElementsAreIgnoredAndNoted) {
    // mail-auth's 001.xml has <unknown-tag1><unknown-tag2/></unknown-tag1> inside date_range
    // and policy_published. Here the unknown element holds a <begin> that must not be read.
    Doc d;
    d.date_range = "<date_range><begin>1700000000</begin><end>1700086399</end>"
                   "<unknown-tag1><begin>1</begin><unknown-tag2></unknown-tag2></unknown-tag1>"
                   "</date_range>";
    d.policy = "<domain>example.com</domain><p>none</p><unknown-tag1><domain>evil.example"
               "</domain></unknown-tag1>";
    Rec a;
    a.extra = "<note>x</note>";
    d.records = a.str() + a.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.begin, epoch(1700000000));
    EXPECT_EQ(r->header.policy.domain, "example.com");
    EXPECT_EQ(r->records.size(), 2u);
    EXPECT_TRUE(has_diagnostic(*r, "feedback/report_metadata/date_range",
                               "unknown element <unknown-tag1> ignored"))
        << diagnostics_of(*r);
    EXPECT_TRUE(has_diagnostic(*r, "feedback/policy_published",
                               "unknown element <unknown-tag1> ignored"));
    // Noted once per kind, not once per record.
    auto notes = std::count_if(r->diagnostics.begin(), r->diagnostics.end(),
                               [](const Diagnostic& x) {
                                   return x.message.find("<note>") != std::string::npos;
                               });
    EXPECT_EQ(notes, 1);
}

TEST(AggregateXmlQuirks, TextOfAnUnknownChildInsideALeafIsNotMixedIn) {
    Doc d;
    d.org_name = "<org_name>Example<b>IGNORED</b> Receiver</org_name>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "Example Receiver");
}

TEST(AggregateXmlQuirks, NeteaseFloatTimestamps) {
    // Netease (163.com, 126.com, yeah.net) writes <begin>1337270400.0</begin>.
    Doc d;
    d.prolog.clear();
    d.date_range = "<date_range><begin>1337270400.0</begin><end>1337356799.00</end></date_range>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.begin, epoch(1337270400));
    EXPECT_EQ(r->header.metadata.end, epoch(1337356799));

    // A real fraction is not a timestamp we can store faithfully.
    d.date_range = "<date_range><begin>1337270400.5</begin><end>1337356799</end></date_range>";
    auto bad = parse(d.str());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::malformed);
    EXPECT_EQ(bad.error().where.path, "feedback/report_metadata/date_range/begin");
    EXPECT_NE(bad.error().reason.find("1337270400.5"), std::string::npos) << bad.error().reason;
}

TEST(AggregateXmlQuirks, HardfailIsReadAsFail) {
    Doc d;
    Rec rec;
    rec.auth = "<auth_results><spf><domain>example.com</domain><result>hardfail</result></spf>"
               "</auth_results>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.at(0).spf_results.at(0).result, AuthVerdict::fail);
    EXPECT_EQ(r->records.at(0).spf_results.at(0).scope, SpfScope::unspecified);
    EXPECT_TRUE(has_diagnostic(*r, "auth_results/spf/result", "\"hardfail\" read as \"fail\""));
}

TEST(AggregateXmlQuirks, UnknownResultIsKeptAsUnknownWithADiagnostic) {
    Doc d;
    Rec rec;
    rec.evaluated = "<policy_evaluated><disposition></disposition><dkim>maybe</dkim>"
                    "<spf>fail</spf></policy_evaluated>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.at(0).disposition, Disposition::unknown);
    EXPECT_EQ(r->records.at(0).dkim, DmarcVerdict::unknown);
    EXPECT_TRUE(has_diagnostic(*r, "policy_evaluated/disposition",
                               "disposition \"\" is not a known value"));
    EXPECT_TRUE(has_diagnostic(*r, "policy_evaluated/dkim", "\"maybe\" is not pass or fail"));
}

TEST(AggregateXmlQuirks, MissingOrgNameFallsBackToTheEmailDomain) {
    Doc d;
    d.org_name = "<org_name></org_name>";
    d.email = "<email>administrator@AccuratePlastics.com</email>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "accurateplastics.com");
    EXPECT_TRUE(has_diagnostic(*r, "report_metadata/org_name", "e-mail domain is used"));
}

TEST(AggregateXmlQuirks, PlaceholderRecordWithEmptySourceIpAndCountZeroIsDropped) {
    // dmarc-report-converter's test_empty.xml: <source_ip/> and <count>0</count>.
    Doc d;
    Rec placeholder;
    placeholder.source_ip = "<source_ip/>";
    placeholder.count = "<count>0</count>";
    d.records = Rec{}.str() + placeholder.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].source_ip.to_string(), "192.0.2.1");
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[2]",
                               "a record with an empty source_ip and count 0 was dropped"))
        << diagnostics_of(*r);

    // With messages in it, the row cannot be attributed to a sender: the report is refused,
    // at the empty address.
    placeholder.count = "<count>4</count>";
    d.records = Rec{}.str() + placeholder.str();
    auto xml = d.str();
    auto bad = parse(xml);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::malformed);
    EXPECT_EQ(bad.error().reason, "\"\" is not an IP address");
    EXPECT_EQ(bad.error().where.path, "feedback/record[2]/row/source_ip");
    EXPECT_EQ(bad.error().where.line, line_of(xml, "<source_ip/>"));
}

TEST(AggregateXmlQuirks, AReportWithoutRecordsIsKeptWithADiagnostic) {
    Doc d;
    d.records.clear();
    RecordingSink sink;
    auto xml = d.str();
    MemorySource src(bytes_of(xml));
    auto totals = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_TRUE(totals) << totals.error().describe();
    EXPECT_EQ(sink.events, std::vector<std::string>{"header r-1"});
    EXPECT_EQ(totals->records, 0u);
    ASSERT_FALSE(totals->diagnostics.empty());
    EXPECT_EQ(totals->diagnostics.back().message, "the report holds no <record>");
}

// ---- invalid UTF-8 in a UTF-8 document (parsedmarc's invalid_utf_8.xml) -------------------------

TEST(AggregateXmlUtf8Repair, StrayWindows1252ByteIsReplacedAndNoted) {
    for (std::string prolog :
         {std::string("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"), std::string()}) {
        Doc d;
        d.prolog = prolog;
        Rec rec;
        rec.identifiers = "<identifiers><header_from>bad_byte\x91</header_from></identifiers>";
        d.records = rec.str();
        auto xml = d.str();
        auto r = parse(xml);
        ASSERT_TRUE(r) << r.error().describe();
        EXPECT_EQ(r->records.at(0).header_from, "bad_byte\xEF\xBF\xBD");
        ASSERT_EQ(r->diagnostics.size(), 1u) << diagnostics_of(*r);
        EXPECT_EQ(r->diagnostics[0].path, "feedback/record[1]/identifiers/header_from");
        EXPECT_NE(r->diagnostics[0].message.find("held 1 invalid byte sequence(s), first at "
                                                 "byte " + std::to_string(xml.find('\x91'))),
                  std::string::npos)
            << r->diagnostics[0].message;
    }
}

TEST(AggregateXmlUtf8Repair, OneReplacementPerMaximalSubpart) {
    // Unicode §3.9 practice: a cut 3-byte sequence (E2 82) is one U+FFFD, an overlong (C0 AF)
    // and a surrogate (ED A0 80) are one per byte that cannot start or continue a sequence.
    Doc d;
    d.org_name = "<org_name>a\xE2\x82z b\xC0\xAF c\xED\xA0\x80 d\xF4\x90\x80\x80 e\xFF</org_name>";
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(r->header.metadata.org_name, "a" + fffd + "z b" + fffd + fffd + " c" + fffd +
                                               fffd + fffd + " d" + fffd + fffd + fffd + fffd +
                                               " e" + fffd);
    EXPECT_TRUE(has_diagnostic(*r, "feedback/report_metadata/org_name",
                               "held 11 invalid byte sequence(s)"))
        << diagnostics_of(*r);
}

TEST(AggregateXmlUtf8Repair, DeclaredSingleByteSetIsNotRepaired) {
    // In ISO-8859-1 the same 0x91 byte is a (discouraged but legal) C1 control, U+0091.
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n";
    Rec rec;
    rec.identifiers = "<identifiers><header_from>bad_byte\x91</header_from></identifiers>";
    d.records = rec.str();
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.at(0).header_from, "bad_byte\xC2\x91");
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

/// Parses from any source into one report, diagnostics included.
Result<AggregateReport> collect(ByteSource& src) {
    AggregateReport out;
    struct Sink final : AggregateSink {
        AggregateReport& out;
        explicit Sink(AggregateReport& o) : out(o) {}
        Result<void> on_header(const AggregateHeader& h) override {
            out.header = h;
            return {};
        }
        Result<void> on_record(const Record& rec) override {
            out.records.push_back(rec);
            return {};
        }
    } sink(out);
    auto totals = parse_aggregate(src, at("t"), {}, sink);
    if (!totals) return std::unexpected(totals.error());
    out.diagnostics = std::move(totals->diagnostics);
    return out;
}

/// A report whose interesting bytes lie past the first KiB, the part read to sniff the
/// encoding, so that they reach the parser through reads of the given size.
std::string multibyte_report(bool with_invalid) {
    Doc d;
    d.prolog += "<!-- " + std::string(1500, 'p') + " -->\n";
    d.org_name = "<org_name>\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 ok</org_name>";
    d.report_id = "<report_id>\xE6\x97\xA5\xE6\x9C\xAC-\xF0\x9F\x98\x80</report_id>";
    d.records.clear();
    for (int i = 0; i < 9; ++i) {
        Rec rec;
        // Shift the multi-byte characters by one byte per record, so that reads of 2..8 bytes
        // cut them at every possible point.
        std::string pad(static_cast<std::size_t>(i), 'x');
        std::string text = pad + "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
        if (with_invalid) text += "\x91\xE2\x82 \xF0\x9F";
        rec.identifiers = "<identifiers><header_from>" + text + "</header_from></identifiers>";
        d.records += rec.str();
    }
    return d.str();
}

TEST(AggregateXmlUtf8Repair, EveryChunkBoundaryGivesTheSameParse) {
    // Every split point of a 2-, 3- and 4-byte sequence, and of invalid bytes next to them,
    // must give the same parse as the whole document in one piece.
    const auto xml = multibyte_report(true);
    auto whole = parse(xml);
    ASSERT_TRUE(whole) << whole.error().describe();
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(whole->header.metadata.org_name, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 ok");
    EXPECT_EQ(whole->header.metadata.report_id, "\xE6\x97\xA5\xE6\x9C\xAC-\xF0\x9F\x98\x80");
    ASSERT_EQ(whole->records.size(), 9u);
    EXPECT_EQ(whole->records[2].header_from,
              "xx\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" + fffd + fffd + " " + fffd);
    ASSERT_EQ(whole->diagnostics.size(), 1u);
    EXPECT_NE(whole->diagnostics[0].message.find("held 27 invalid byte sequence(s)"),
              std::string::npos)
        << whole->diagnostics[0].message;
    for (std::size_t step : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 13u, 64u, 1000u, 1025u}) {
        SCOPED_TRACE(step);
        ChunkedSource src(bytes_of(xml), step);
        auto got = collect(src);
        ASSERT_TRUE(got) << got.error().describe();
        EXPECT_EQ(got->header.metadata.org_name, whole->header.metadata.org_name);
        EXPECT_EQ(got->header.metadata.report_id, whole->header.metadata.report_id);
        ASSERT_EQ(got->records.size(), whole->records.size());
        for (std::size_t i = 0; i < got->records.size(); ++i)
            EXPECT_EQ(got->records[i].header_from, whole->records[i].header_from) << i;
        ASSERT_EQ(got->diagnostics.size(), 1u);
        EXPECT_EQ(got->diagnostics[0].message, whole->diagnostics[0].message);
    }
}

TEST(AggregateXmlUtf8Repair, SeededRandomTextGivesTheSameRepairForAnyReadSize) {
    // Pieces that are valid, cut, overlong, surrogate or stray; glued at random (fixed seed).
    const std::vector<std::string> pieces = {
        "a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\x91", "\xC3", "\xE2\x82",
        "\xF0\x9F\x98", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\x80\x80", " "};
    std::uint32_t state = 12345;
    auto next = [&state] {
        state = state * 1103515245u + 12345u;
        return state >> 16;
    };
    for (int round = 0; round < 40; ++round) {
        SCOPED_TRACE(round);
        std::string text;
        for (int i = 0; i < 60; ++i) text += pieces[next() % pieces.size()];
        Doc d;
        d.prolog += "<!-- " + std::string(1100, 'p') + " -->\n";
        Rec rec;
        rec.identifiers = "<identifiers><header_from>x" + text + "x</header_from></identifiers>";
        d.records = rec.str();
        const auto xml = d.str();
        auto whole = parse(xml);
        ASSERT_TRUE(whole) << whole.error().describe();
        const auto& want = whole->records.at(0).header_from;
        for (std::size_t step : {1u, 2u, 3u, 1u + next() % 9u}) {
            ChunkedSource src(bytes_of(xml), step);
            auto got = collect(src);
            ASSERT_TRUE(got) << got.error().describe();
            ASSERT_EQ(got->records.size(), 1u);
            EXPECT_EQ(got->records[0].header_from, want) << step;
            EXPECT_EQ(got->diagnostics.size(), whole->diagnostics.size()) << step;
        }
    }
}

TEST(AggregateXmlUtf8Repair, ValidDocumentGetsNoDiagnosticWhateverTheReadSize) {
    const auto xml = multibyte_report(false);
    for (std::size_t step : {1u, 2u, 3u, 5u, 7u, 65536u}) {
        SCOPED_TRACE(step);
        ChunkedSource src(bytes_of(xml), step);
        auto got = collect(src);
        ASSERT_TRUE(got) << got.error().describe();
        EXPECT_TRUE(got->diagnostics.empty()) << diagnostics_of(*got);
        ASSERT_EQ(got->records.size(), 9u);
        EXPECT_EQ(got->records[8].header_from,
                  "xxxxxxxx\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    }
}

TEST(AggregateXmlUtf8Repair, ReplacementInALargeDocumentCrossesExpatBuffers) {
    // Bad bytes spread over more than one 64 KiB read, in text the parser skips and in text it
    // keeps: every record must still be there and every byte counted.
    Doc d;
    d.records.clear();
    for (int i = 0; i < 400; ++i) {
        Rec rec;
        rec.source_ip = "<source_ip>192.0.2." + std::to_string(i % 250) + "</source_ip>";
        rec.identifiers = "<identifiers><header_from>example.com</header_from></identifiers>";
        rec.extra = "<padding>" + std::string(200, 'x') + "\x91" + "</padding>";
        d.records += rec.str();
    }
    auto r = parse(d.str());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.size(), 400u);
    EXPECT_TRUE(has_diagnostic(*r, "", "held 400 invalid byte sequence(s)")) << diagnostics_of(*r);
}

// ---- what must be refused ----------------------------------------------------------------------

TEST(AggregateXmlRefused, BillionLaughsDoctypeIsRefusedBeforeAnyExpansion) {
    const std::string xml =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>\n";
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().reason.find("DOCTYPE declarations are refused"), std::string::npos)
        << r.error().reason;
    EXPECT_EQ(r.error().where.line, 2u);
    EXPECT_EQ(r.error().where.source, "test.xml");
}

TEST(AggregateXmlRefused, ExternalEntityIsRefused) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [ <!ENTITY xxe SYSTEM "
               "\"file:///etc/passwd\"> ]>\n";
    d.org_name = "<org_name>&xxe;</org_name>";
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().reason.find("DOCTYPE"), std::string::npos) << r.error().reason;
    EXPECT_EQ(r.error().where.line, 2u);
}

TEST(AggregateXmlRefused, ExternalDtdReferenceIsRefused) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\"?>\n"
               "<!DOCTYPE feedback SYSTEM \"http://attacker.example/x\">\n";
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().reason.find("DOCTYPE"), std::string::npos) << r.error().reason;
}

TEST(AggregateXmlRefused, UndeclaredEntityWithoutDoctypeIsNotWellFormed) {
    Doc d;
    d.org_name = "<org_name>&xxe;</org_name>";
    auto xml = d.str();
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_NE(r.error().reason.find("undefined entity"), std::string::npos) << r.error().reason;
    EXPECT_EQ(r.error().where.line, line_of(xml, "&xxe;"));
}

TEST(AggregateXmlRefused, DepthBombStopsAtTheDepthLimit) {
    std::string xml = "<feedback>";
    for (int i = 0; i < 10'000; ++i) xml += "<a>";
    for (int i = 0; i < 10'000; ++i) xml += "</a>";
    xml += "</feedback>";
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_EQ(r.error().reason, "elements are nested deeper than 32");
    EXPECT_TRUE(r.error().where.path.starts_with("feedback/a/a/a")) << r.error().where.path;
    // Found at the 33rd level: the tag that opens it, not after reading 10,000 of them.
    EXPECT_EQ(r.error().where.offset, std::string("<feedback>").size() + 31 * 3);
}

TEST(AggregateXmlRefused, DepthLimitIsTheConfiguredOne) {
    IngestLimits limits;
    limits.max_xml_depth = 5;  // feedback/record/row/policy_evaluated/dkim is depth 5
    auto ok = parse(Doc{}.str(), limits);
    ASSERT_TRUE(ok) << ok.error().describe();
    limits.max_xml_depth = 4;
    auto r = parse(Doc{}.str(), limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_EQ(r.error().reason, "elements are nested deeper than 4");
}

TEST(AggregateXmlRefused, FieldLongerThanMaxField) {
    IngestLimits limits;
    limits.max_field = 64;
    Doc d;
    d.org_name = "<org_name>" + std::string(65, 'A') + "</org_name>";
    auto xml = d.str();
    auto r = parse(xml, limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_EQ(r.error().reason, "an element's text is longer than 64 bytes");
    EXPECT_EQ(r.error().where.path, "feedback/report_metadata/org_name");
    EXPECT_EQ(r.error().where.line, line_of(xml, "<org_name>"));

    d.org_name = "<org_name>" + std::string(64, 'A') + "</org_name>";
    auto exact = parse(d.str(), limits);
    ASSERT_TRUE(exact) << exact.error().describe();
    EXPECT_EQ(exact->header.metadata.org_name.size(), 64u);
}

TEST(AggregateXmlRefused, LongTextInSkippedElementsIsNotHeld) {
    // Text of elements we do not read is never collected, so it is not capped either.
    IngestLimits limits;
    limits.max_field = 64;
    Doc d;
    Rec rec;
    rec.extra = "<ext:blob xmlns:ext=\"urn:example:ext\">" + std::string(300'000, 'z') +
                "</ext:blob>";
    d.records = rec.str();
    auto r = parse(d.str(), limits);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->records.size(), 1u);
}

TEST(AggregateXmlRefused, HugeTagIsRefusedWithoutBufferingTheStream) {
    // One start tag is one expat token, buffered whole: an attribute of 1 MiB is a bomb.
    IngestLimits limits;
    limits.max_field = 1024;
    Doc d;
    d.root_attrs = " junk=\"" + std::string(1 << 20, 'j') + "\"";
    auto r = parse(d.str(), limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_NE(r.error().reason.find("markup is longer than"), std::string::npos)
        << r.error().reason;
}

TEST(AggregateXmlRefused, MoreRecordsThanMaxRecords) {
    IngestLimits limits;
    limits.max_records = 2;
    Doc d;
    d.records = Rec{}.str() + Rec{}.str() + Rec{}.str();
    auto xml = d.str();
    auto r = parse(xml, limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::limit_exceeded);
    EXPECT_EQ(r.error().reason, "the report has more than 2 records");
    EXPECT_EQ(r.error().where.path, "feedback/record[3]");

    d.records = Rec{}.str() + Rec{}.str();
    ASSERT_TRUE(parse(d.str(), limits));
}

TEST(AggregateXmlRefused, NonReportXml) {
    const std::string xml = "<?xml version=\"1.0\"?>\n<html><body>Hi</body></html>\n";
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason,
              "not a DMARC aggregate report: the root element is <html>, not <feedback>");
    EXPECT_EQ(r.error().where.line, 2u);
    EXPECT_EQ(r.error().where.column, 1u);
}

TEST(AggregateXmlRefused, EmptyAndBlankInput) {
    auto empty = parse("");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, Errc::malformed);
    EXPECT_EQ(empty.error().reason, "the input is empty");
    EXPECT_EQ(empty.error().where.source, "test.xml");

    auto blank = parse(" \r\n\t\n");
    ASSERT_FALSE(blank);
    EXPECT_EQ(blank.error().code, Errc::malformed);
    EXPECT_EQ(blank.error().reason, "the input holds only white space");
}

TEST(AggregateXmlRefused, NotXmlAtAll) {
    // Yahoo once sent a gzip body holding the literal text "unused".
    auto r = parse("unused");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_TRUE(r.error().reason.starts_with("not well-formed XML")) << r.error().reason;
}

TEST(AggregateXmlRefused, TruncatedDocument) {
    auto full = Doc{}.str();
    auto cut = full.substr(0, full.find("<auth_results>") + 20);
    auto r = parse(cut);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_TRUE(r.error().reason.starts_with("not well-formed XML")) << r.error().reason;
    EXPECT_EQ(r.error().where.line, line_of(full, "<auth_results>"));
}

TEST(AggregateXmlRefused, UnescapedLessThanInAValue) {
    // parsedmarc's invalid_xml.xml and OpenDMARC's bad.com: "bad<xml.net" in a value.
    Doc d;
    Rec rec;
    rec.identifiers = "<identifiers><header_from>bad<xml.net</header_from></identifiers>";
    d.records = rec.str();
    auto xml = d.str();
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "not well-formed XML: not well-formed (invalid token)");
    EXPECT_EQ(r.error().where.path, "feedback/record[1]/identifiers/header_from");
}

TEST(AggregateXmlRefused, InvalidSourceIp) {
    Doc d;
    Rec bad;
    bad.source_ip = "<source_ip>108r.166.27.220</source_ip>";
    d.records = Rec{}.str() + bad.str();
    auto xml = d.str();
    auto r = parse(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "\"108r.166.27.220\" is not an IP address");
    EXPECT_EQ(r.error().where.path, "feedback/record[2]/row/source_ip");
    EXPECT_EQ(r.error().where.line, line_of(xml, "108r"));
    EXPECT_EQ(r.error().describe(),
              "test.xml: line " + std::to_string(r.error().where.line) + " col " +
                  std::to_string(r.error().where.column) + " (offset " +
                  std::to_string(r.error().where.offset) +
                  "): feedback/record[2]/row/source_ip: \"108r.166.27.220\" is not an IP "
                  "address");
}

TEST(AggregateXmlRefused, MissingCountOrSourceIp) {
    Doc d;
    Rec no_count;
    no_count.count.clear();
    d.records = no_count.str();
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "row/count is missing");
    EXPECT_EQ(r.error().where.path, "feedback/record[1]");

    Rec no_ip;
    no_ip.source_ip.clear();
    d.records = Rec{}.str() + no_ip.str();
    auto r2 = parse(d.str());
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().reason, "row/source_ip is missing");
    EXPECT_EQ(r2.error().where.path, "feedback/record[2]");
}

TEST(AggregateXmlRefused, BadCount) {
    for (const char* count : {"-1", "3.5", "lots", "", "99999999999999999999"}) {
        Doc d;
        Rec rec;
        rec.count = std::string("<count>") + count + "</count>";
        d.records = rec.str();
        auto r = parse(d.str());
        ASSERT_FALSE(r) << count;
        EXPECT_EQ(r.error().code, Errc::malformed);
        EXPECT_EQ(r.error().reason, std::string("\"") + count + "\" is not a message count");
        EXPECT_EQ(r.error().where.path, "feedback/record[1]/row/count");
    }
}

struct MissingCase {
    const char* name;
    void (*edit)(Doc&);
    const char* reason;
};

TEST(AggregateXmlRefused, MissingRequiredHeaderFields) {
    const MissingCase cases[] = {
        {"report_id", [](Doc& d) { d.report_id.clear(); },
         "report_metadata/report_id is missing or empty"},
        {"empty report_id", [](Doc& d) { d.report_id = "<report_id> </report_id>"; },
         "report_metadata/report_id is missing or empty"},
        {"org_name and email",
         [](Doc& d) {
             d.org_name.clear();
             d.email.clear();
         },
         "report_metadata/org_name is missing or empty"},
        {"org_name, email without @",
         [](Doc& d) {
             d.org_name.clear();
             d.email = "<email>postmaster</email>";
         },
         "report_metadata/org_name is missing or empty"},
        {"policy domain", [](Doc& d) { d.policy = "<p>none</p>"; },
         "policy_published/domain is missing or empty"},
        {"policy_published", [](Doc& d) { d.policy.clear(); },
         "policy_published/domain is missing or empty"},
        {"date_range", [](Doc& d) { d.date_range.clear(); },
         "report_metadata/date_range is missing or empty"},
        {"end", [](Doc& d) { d.date_range = "<date_range><begin>1</begin></date_range>"; },
         "report_metadata/date_range is missing or empty"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Doc d;
        c.edit(d);
        RecordingSink sink;
        auto xml = d.str();
        MemorySource src(bytes_of(xml));
        auto r = parse_aggregate(src, at("t"), {}, sink);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::malformed);
        EXPECT_EQ(r.error().reason, c.reason);
        // Found when the first record starts: the header is complete by then.
        EXPECT_EQ(r.error().where.path, "feedback/record[0]");
        EXPECT_EQ(r.error().where.line, line_of(xml, "<record>"));
        EXPECT_TRUE(sink.events.empty());
    }
}

TEST(AggregateXmlRefused, MissingHeaderFieldInAReportWithoutRecords) {
    Doc d;
    d.records.clear();
    d.report_id.clear();
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "report_metadata/report_id is missing or empty");
}

TEST(AggregateXmlRefused, MetadataAfterTheFirstRecord) {
    Doc d;
    d.records += "<report_metadata><org_name>late</org_name></report_metadata>";
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "<report_metadata> after the first <record>");
}

TEST(AggregateXmlRefused, JunkAfterTheRootElement) {
    auto r = parse(Doc{}.str() + "<feedback/>");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "not well-formed XML: junk after document element");
}

TEST(AggregateXmlRefused, UnknownEncodingIsRefused) {
    Doc d;
    d.prolog = "<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?>\n";
    auto r = parse(d.str());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "not well-formed XML: unknown encoding");
}

// ---- the streaming contract --------------------------------------------------------------------

TEST(AggregateXmlStreaming, SinkSeesTheHeaderOnceThenEveryRecordInOrder) {
    Doc d;
    Rec a, b, c;
    a.source_ip = "<source_ip>192.0.2.1</source_ip>";
    b.source_ip = "<source_ip>192.0.2.2</source_ip>";
    c.source_ip = "<source_ip>2001:db8::3</source_ip>";
    d.records = a.str() + b.str() + c.str();
    RecordingSink sink;
    auto xml = d.str();
    MemorySource src(bytes_of(xml));
    auto totals = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_TRUE(totals) << totals.error().describe();
    EXPECT_EQ(sink.events, (std::vector<std::string>{"header r-1", "record 192.0.2.1",
                                                     "record 192.0.2.2", "record 2001:db8::3"}));
}

TEST(AggregateXmlStreaming, ARecordErrorFromTheSinkStopsTheParseWithThatError) {
    Doc d;
    d.records = Rec{}.str() + Rec{}.str() + Rec{}.str();
    RecordingSink sink;
    sink.fail_at_event = 3;  // header, record 1, record 2 <- fails
    auto xml = d.str();
    MemorySource src(bytes_of(xml));
    auto r = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::io);
    EXPECT_EQ(r.error().reason, "disk full while writing a record");
    EXPECT_EQ(sink.events.size(), 3u);  // no third record after the failure
}

TEST(AggregateXmlStreaming, AHeaderErrorFromTheSinkStopsBeforeAnyRecord) {
    Doc d;
    d.records = Rec{}.str() + Rec{}.str();
    RecordingSink sink;
    sink.fail_header = true;
    auto xml = d.str();
    MemorySource src(bytes_of(xml));
    auto r = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::conflict);
    EXPECT_EQ(r.error().reason, "the store already holds this report");
    EXPECT_EQ(sink.events, std::vector<std::string>{"header r-1"});
}

TEST(AggregateXmlStreaming, ASourceErrorIsReturnedAsIs) {
    auto xml = Doc{}.str();
    for (std::size_t good : {std::size_t{0}, std::size_t{10}, xml.size() / 2}) {
        RecordingSink sink;
        FailingSource src(bytes_of(xml), good);
        auto r = parse_aggregate(src, at("t"), {}, sink);
        ASSERT_FALSE(r) << good;
        EXPECT_EQ(r.error().code, Errc::malformed);
        EXPECT_EQ(r.error().reason, "gzip stream is truncated");
    }
}

TEST(AggregateXmlStreaming, OneByteReadsGiveTheSameReport) {
    Doc d;
    d.records = Rec{}.str() + Rec{}.str();
    auto xml = d.str();
    auto whole = parse(xml);
    ASSERT_TRUE(whole);
    RecordingSink sink;
    ChunkedSource src(bytes_of(xml), 1);
    auto totals = parse_aggregate(src, at("t"), {}, sink);
    ASSERT_TRUE(totals) << totals.error().describe();
    EXPECT_EQ(totals->records, 2u);
    EXPECT_EQ(totals->messages, 6u);
}

// ---- small real reports, copied from the corpus (see tests/fixtures/aggregate/README.md) --------

TEST(AggregateXmlFixtures, ParsedmarcInvalidUtf8IsAcceptedWithTheByteReplaced) {
    auto r = parse(fixture("parsedmarc-invalid_utf_8.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.metadata.org_name, "accurateplastics.com");
    EXPECT_EQ(r->header.metadata.report_id, "example.com:1538463741");
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].source_ip.to_string(), "12.20.127.122");
    EXPECT_EQ(r->records[0].header_from, "bad_byte\xEF\xBF\xBD");
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]/identifiers/header_from",
                               "held 1 invalid byte sequence(s), first at byte 706"))
        << diagnostics_of(*r);
    EXPECT_TRUE(has_diagnostic(*r, "org_name", "e-mail domain is used"));
}

TEST(AggregateXmlFixtures, ParsedmarcEmptyReason) {
    auto r = parse(fixture("parsedmarc-empty_reason.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    const auto& x = r->records.at(0);
    ASSERT_EQ(x.reasons.size(), 1u);
    EXPECT_EQ(x.reasons[0].type, OverrideType::unknown);
    EXPECT_EQ(x.reasons[0].comment, "");
    EXPECT_EQ(x.envelope_to, "example.net");
    EXPECT_EQ(x.dkim_results.at(0).human_result, "2048-bit key");
}

TEST(AggregateXmlFixtures, OpendmarcBadComIsRefusedAtTheInvalidAddress) {
    // windows-1252, ns1:feedback and an empty <disposition> are all fine; 108r.166.27.220 is not.
    auto r = parse(fixture("opendmarc-bad.com.xml"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(r.error().reason, "\"108r.166.27.220\" is not an IP address");
    EXPECT_EQ(r.error().where.path, "feedback/record[2]/row/source_ip");
    EXPECT_EQ(r.error().where.line, 5u);
}

TEST(AggregateXmlFixtures, DmarcReportViewerHardfail) {
    auto r = parse(fixture("dmarc-report-viewer-hardfail.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.policy.domain, "mydomain.org");
    EXPECT_EQ(r->header.policy.p, Policy::quarantine);
    const auto& x = r->records.at(0);
    EXPECT_EQ(x.source_ip.to_string(), "42.42.42.42");
    EXPECT_EQ(x.disposition, Disposition::quarantine);
    ASSERT_EQ(x.dkim_results.size(), 1u);
    EXPECT_EQ(x.dkim_results[0].domain, "");
    EXPECT_EQ(x.dkim_results[0].result, AuthVerdict::fail);
    ASSERT_EQ(x.spf_results.size(), 1u);
    EXPECT_EQ(x.spf_results[0].result, AuthVerdict::fail);
    EXPECT_TRUE(has_diagnostic(*r, "auth_results/spf/result", "\"hardfail\" read as \"fail\""));
}

TEST(AggregateXmlFixtures, DmarcReportViewerInvalidCasing) {
    auto r = parse(fixture("dmarc-report-viewer-invalid_casing.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    const auto& spf = r->records.at(0).spf_results;
    std::vector<AuthVerdict> got;
    for (const auto& s : spf) got.push_back(s.result);
    EXPECT_EQ(got, (std::vector<AuthVerdict>{AuthVerdict::none, AuthVerdict::neutral,
                                             AuthVerdict::pass, AuthVerdict::fail,
                                             AuthVerdict::fail, AuthVerdict::softfail,
                                             AuthVerdict::temperror, AuthVerdict::permerror}));
    EXPECT_TRUE(has_diagnostic(*r, "auth_results/spf/result", "\"Neutral\" read as \"neutral\""));
    EXPECT_TRUE(has_diagnostic(*r, "auth_results/spf/result", "\"hardfail\" read as \"fail\""));
}

TEST(AggregateXmlFixtures, GmxUsesTheRfc9990Namespace) {
    auto r = parse(fixture("dmarc-report-viewer-gmxnet.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.schema, Schema::dmarc_2_0);
    EXPECT_EQ(r->header.version, "1.0");
    EXPECT_EQ(r->header.metadata.org_name, "GMX");
    EXPECT_EQ(r->header.policy.domain, "myserver.com");
    EXPECT_EQ(r->header.policy.discovery_method, DiscoveryMethod::psl);
    EXPECT_EQ(r->header.policy.testing, false);
    EXPECT_EQ(r->header.policy.pct, std::nullopt);
    EXPECT_EQ(r->records.at(0).source_ip.to_string(), "11.222.33.44");
    EXPECT_TRUE(r->diagnostics.empty()) << diagnostics_of(*r);
}

TEST(AggregateXmlFixtures, MailAuth001UnknownTagsAndExtensions) {
    auto r = parse(fixture("mail-auth-001.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.version, "2.0");
    EXPECT_EQ(r->header.metadata.begin, epoch(161212415));
    EXPECT_EQ(r->header.metadata.end, epoch(161221511));
    EXPECT_EQ(r->header.policy.p, Policy::quarantine);
    EXPECT_EQ(r->header.policy.testing, false);
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].source_ip.to_string(), "192.168.4.4");
    EXPECT_EQ(r->records[0].count, 123u);
    EXPECT_EQ(r->records[0].dkim_results.at(0).selector, "abc123");
    EXPECT_TRUE(has_diagnostic(*r, "date_range", "unknown element <unknown-tag1> ignored"));
}

TEST(AggregateXmlFixtures, IetfAlternativeNamespaceSample) {
    auto r = parse(fixture("ietf-dmarc-xmlalt-0.2.xml"));
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->header.schema, Schema::dmarc_0_2);
    EXPECT_EQ(r->header.version, "2.0");
    EXPECT_EQ(r->header.policy.testing, false);
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].count, 123u);
    EXPECT_EQ(r->records[0].envelope_from, "example.com");
    // <added> is an un-namespaced record-level extension: ignored, and noted as unknown.
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]", "unknown element <added> ignored"));
}

}  // namespace
}  // namespace rampart::report

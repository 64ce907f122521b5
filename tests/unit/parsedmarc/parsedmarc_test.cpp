// parsedmarc::Writer: stored reports written as parsedmarc writes aggregate.json and aggregate.csv.
//
// The expectations are parsedmarc's behaviour as read in its parsedmarc/__init__.py
// (parse_aggregate_report_xml, _parse_report_record, parsed_aggregate_reports_to_csv_rows,
// parsed_aggregate_reports_to_csv, append_json): defaults for absent policy tags (adkim/aspf "r",
// sp = p, pct "100", fo "0"), "YYYY-MM-DD HH:MM:SS" dates, alignment booleans from
// policy_evaluated, envelope_from taken from the last SPF result when absent, auth-result lists
// joined with "," (override comments and errors with "|") in the CSV, Python's csv module quoting
// (QUOTE_MINIMAL, CRLF) and True/False booleans.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parsedmarc/parsedmarc.hpp"
#include "report/report.hpp"
#include "support.hpp"

namespace rampart::parsedmarc {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

Timestamp epoch(std::int64_t seconds) { return Timestamp{std::chrono::seconds{seconds}}; }

IpAddress ip(std::string_view text) {
    auto a = IpAddress::parse(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a ? *a : IpAddress{};
}

/// Collects what a Writer writes, through a real FILE*.
class Capture {
public:
    Capture() { file_ = ::open_memstream(&buf_, &size_); }
    ~Capture() {
        if (file_ != nullptr) std::fclose(file_);
        std::free(buf_);
    }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    std::FILE* file() { return file_; }
    std::string text() {
        std::fflush(file_);
        return {buf_, size_};
    }

private:
    char* buf_ = nullptr;
    std::size_t size_ = 0;
    std::FILE* file_ = nullptr;
};

struct Report {
    report::AggregateHeader header;
    std::vector<report::Record> records;
};

std::string write(Format format, const std::vector<Report>& reports, SourceLookup lookup = {}) {
    Capture out;
    Writer w(out.file(), format, std::move(lookup));
    for (const auto& r : reports) {
        EXPECT_TRUE(w.on_report(r.header, store::Provenance{}).has_value());
        for (const auto& rec : r.records) EXPECT_TRUE(w.on_record(rec).has_value());
        EXPECT_TRUE(w.on_report_end().has_value());
    }
    auto n = w.finish();
    EXPECT_TRUE(n.has_value());
    if (n) {
        EXPECT_EQ(*n, reports.size());
    }
    return out.text();
}

/// A report with every optional policy tag absent and two records exercising the defaults.
Report sparse_report() {
    Report r;
    r.header.version = "";
    r.header.metadata.org_name = "";  // falls back to the e-mail's domain
    r.header.metadata.email = "noreply-dmarc@Mail.Example.ORG";
    r.header.metadata.report_id = "<1234.5678@mail.example.org>";
    r.header.metadata.begin = epoch(1793491200);  // 2026-11-01 00:00:00
    r.header.metadata.end = epoch(1793577599);
    r.header.policy.domain = "acme.example";
    r.header.policy.p = report::Policy::quarantine;

    report::Record a;
    a.source_ip = ip("2001:DB8:0:0::1");
    a.count = 7;
    a.disposition = report::Disposition::pass;  // RFC 9990 "pass" is written "none"
    a.dkim = report::DmarcVerdict::pass;
    a.spf = report::DmarcVerdict::unknown;  // absent: parsedmarc says "fail"
    a.header_from = "Acme.Example";
    a.dkim_results.push_back(
        {.domain = "acme.example", .selector = "", .result = report::AuthVerdict::pass});
    a.dkim_results.push_back(
        {.domain = "", .selector = "x", .result = report::AuthVerdict::fail});  // dropped
    a.spf_results.push_back({.domain = "bounce.acme.example",
                             .scope = report::SpfScope::helo,
                             .result = report::AuthVerdict::neutral});
    a.spf_results.push_back({.domain = "Mailer.Acme.Example",
                             .scope = report::SpfScope::unspecified,
                             .result = report::AuthVerdict::softfail});
    a.reasons.push_back({.type = report::OverrideType::local_policy, .comment = ""});

    report::Record b;
    b.source_ip = ip("192.0.2.10");
    b.count = 0;
    b.disposition = report::Disposition::reject;
    b.dkim = report::DmarcVerdict::fail;
    b.spf = report::DmarcVerdict::fail;
    b.header_from = "acme.example";
    b.envelope_from = "";  // a null reverse-path and no SPF result: stays null
    b.envelope_to = "rcpt.example";
    r.records = {a, b};
    return r;
}

TEST(ParseFormat, NamesTheTwoParsedmarcFormats) {
    EXPECT_EQ(parse_format("parsedmarc-json"), Format::json);
    EXPECT_EQ(parse_format("parsedmarc-csv"), Format::csv);
    EXPECT_EQ(parse_format("json"), std::nullopt);
    EXPECT_EQ(parse_format("parsedmarc-CSV"), std::nullopt);
}

TEST(WriterJson, NoReportsIsAnEmptyList) { EXPECT_EQ(write(Format::json, {}), "[]\n"); }

TEST(WriterJson, LayoutIsJsonDumpsWithIndentTwo) {
    Report r;
    r.header.version = "1.0";
    r.header.metadata.org_name = "Yahoo! Inc.";
    r.header.metadata.email = "dmarchelp@yahoo-inc.com";
    r.header.metadata.report_id = "1700";
    r.header.metadata.begin = epoch(0);
    r.header.metadata.end = epoch(86399);
    r.header.policy.domain = "acme.example";
    r.header.policy.p = report::Policy::none;
    const std::string expected = R"([
  {
    "xml_schema": "1.0",
    "report_metadata": {
      "org_name": "Yahoo! Inc.",
      "org_email": "dmarchelp@yahoo-inc.com",
      "org_extra_contact_info": null,
      "report_id": "1700",
      "begin_date": "1970-01-01 00:00:00",
      "end_date": "1970-01-01 23:59:59",
      "errors": []
    },
    "policy_published": {
      "domain": "acme.example",
      "adkim": "r",
      "aspf": "r",
      "p": "none",
      "sp": "none",
      "pct": "100",
      "fo": "0"
    },
    "records": []
  }
]
)";
    EXPECT_EQ(write(Format::json, {r}), expected);
}

TEST(WriterJson, DefaultsAndNormalisationsFollowParsedmarc) {
    auto doc = json::parse(write(Format::json, {sparse_report()}));
    ASSERT_TRUE(doc.is_array());
    ASSERT_EQ(doc.size(), 1u);
    const auto& rep = doc[0];
    EXPECT_EQ(rep["xml_schema"], "draft");
    const auto& m = rep["report_metadata"];
    EXPECT_EQ(m["org_name"], "example.org");  // e-mail domain, then its base domain, lower-cased
    EXPECT_EQ(m["org_email"], "noreply-dmarc@Mail.Example.ORG");
    EXPECT_EQ(m["report_id"], "1234.5678");
    EXPECT_EQ(m["begin_date"], "2026-11-01 00:00:00");
    EXPECT_EQ(m["end_date"], "2026-11-01 23:59:59");
    const auto& p = rep["policy_published"];
    EXPECT_EQ(p, json::parse(R"({"domain":"acme.example","adkim":"r","aspf":"r","p":"quarantine",
                                 "sp":"quarantine","pct":"100","fo":"0"})"));

    ASSERT_EQ(rep["records"].size(), 2u);
    const auto& a = rep["records"][0];
    EXPECT_EQ(a["source"], json::parse(R"({"ip_address":"2001:db8::1","country":null,
        "reverse_dns":null,"base_domain":null,"name":null,"type":null})"));
    EXPECT_EQ(a["count"], 7);
    EXPECT_EQ(a["alignment"], json::parse(R"({"spf":false,"dkim":true,"dmarc":true})"));
    EXPECT_EQ(a["policy_evaluated"], json::parse(R"({"disposition":"none","dkim":"pass",
        "spf":"fail","policy_override_reasons":[{"type":"local_policy","comment":null}]})"));
    EXPECT_EQ(a["identifiers"], json::parse(R"({"header_from":"acme.example",
        "envelope_from":"mailer.acme.example","envelope_to":null})"));
    EXPECT_EQ(a["auth_results"], json::parse(R"({
        "dkim":[{"domain":"acme.example","selector":"none","result":"pass"}],
        "spf":[{"domain":"bounce.acme.example","scope":"helo","result":"neutral"},
               {"domain":"Mailer.Acme.Example","scope":"mfrom","result":"softfail"}]})"));

    const auto& b = rep["records"][1];
    EXPECT_EQ(b["count"], 0);
    EXPECT_EQ(b["alignment"], json::parse(R"({"spf":false,"dkim":false,"dmarc":false})"));
    EXPECT_EQ(b["policy_evaluated"]["disposition"], "reject");
    EXPECT_EQ(b["policy_evaluated"]["policy_override_reasons"], json::array());
    EXPECT_EQ(b["identifiers"], json::parse(R"({"header_from":"acme.example",
        "envelope_from":null,"envelope_to":"rcpt.example"})"));
    EXPECT_EQ(b["auth_results"], json::parse(R"({"dkim":[],"spf":[]})"));
}

TEST(WriterJson, KeysComeInParsedmarcsOrder) {
    auto doc = ordered_json::parse(write(Format::json, {sparse_report()}));
    auto keys = [](const ordered_json& o) {
        std::vector<std::string> k;
        for (auto it = o.begin(); it != o.end(); ++it) k.push_back(it.key());
        return k;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(keys(doc[0]), (V{"xml_schema", "report_metadata", "policy_published", "records"}));
    EXPECT_EQ(keys(doc[0]["report_metadata"]),
              (V{"org_name", "org_email", "org_extra_contact_info", "report_id", "begin_date",
                 "end_date", "errors"}));
    EXPECT_EQ(keys(doc[0]["policy_published"]),
              (V{"domain", "adkim", "aspf", "p", "sp", "pct", "fo"}));
    const auto& rec = doc[0]["records"][0];
    EXPECT_EQ(keys(rec), (V{"source", "count", "alignment", "policy_evaluated", "identifiers",
                            "auth_results"}));
    EXPECT_EQ(keys(rec["source"]),
              (V{"ip_address", "country", "reverse_dns", "base_domain", "name", "type"}));
    EXPECT_EQ(keys(rec["policy_evaluated"]),
              (V{"disposition", "dkim", "spf", "policy_override_reasons"}));
}

TEST(WriterJson, PublishedTagsAndErrorsAreWritten) {
    Report r = sparse_report();
    r.header.version = "2.0";
    r.header.metadata.org_name = "google.com";
    r.header.metadata.extra_contact_info = "https://support.google.com/a/answer/2466580";
    r.header.metadata.errors = {"first problem", "second"};
    r.header.policy.adkim = report::Alignment::strict;
    r.header.policy.aspf = report::Alignment::strict;
    r.header.policy.sp = report::Policy::reject;
    r.header.policy.pct = 25;
    r.header.policy.fo = "1:d";
    auto doc = json::parse(write(Format::json, {r}));
    EXPECT_EQ(doc[0]["xml_schema"], "2.0");
    EXPECT_EQ(doc[0]["report_metadata"]["org_name"], "google.com");
    EXPECT_EQ(doc[0]["report_metadata"]["org_extra_contact_info"],
              "https://support.google.com/a/answer/2466580");
    EXPECT_EQ(doc[0]["report_metadata"]["errors"], json::parse(R"(["first problem","second"])"));
    EXPECT_EQ(doc[0]["policy_published"],
              json::parse(R"({"domain":"acme.example","adkim":"s","aspf":"s","p":"quarantine",
                              "sp":"reject","pct":"25","fo":"1:d"})"));
}

TEST(WriterJson, SourceComesFromTheLookup) {
    std::vector<std::string> asked;
    SourceLookup lookup = [&asked](std::string_view address) {
        asked.emplace_back(address);
        SourceInfo info;
        if (address == "192.0.2.10") {
            info.reverse_dns = "mail-a1.outbound.example.net";
            info.base_domain = "example.net";
        }
        return info;
    };
    auto doc = json::parse(write(Format::json, {sparse_report()}, lookup));
    EXPECT_EQ(asked, (std::vector<std::string>{"2001:db8::1", "192.0.2.10"}));
    EXPECT_EQ(doc[0]["records"][1]["source"],
              json::parse(R"({"ip_address":"192.0.2.10","country":null,
                  "reverse_dns":"mail-a1.outbound.example.net","base_domain":"example.net",
                  "name":"example.net","type":null})"));
    EXPECT_TRUE(doc[0]["records"][0]["source"]["reverse_dns"].is_null());
}

TEST(WriterJson, RecordsAreWrittenAsTheyArrive) {
    Capture out;
    Writer w(out.file(), Format::json);
    auto r = sparse_report();
    ASSERT_TRUE(w.on_report(r.header, {}).has_value());
    EXPECT_NE(out.text().find("\"records\": ["), std::string::npos);
    ASSERT_TRUE(w.on_record(r.records[0]).has_value());
    EXPECT_NE(out.text().find("2001:db8::1"), std::string::npos);
    ASSERT_TRUE(w.on_report_end().has_value());
    ASSERT_TRUE(w.on_report(r.header, {}).has_value());
    ASSERT_TRUE(w.on_report_end().has_value());
    auto n = w.finish();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 2u);
    auto doc = json::parse(out.text());
    ASSERT_EQ(doc.size(), 2u);
    EXPECT_EQ(doc[0]["records"].size(), 1u);
    EXPECT_EQ(doc[1]["records"], json::array());
}

TEST(WriterJson, TextIsEscapedAsJson) {
    Report r = sparse_report();
    r.header.metadata.org_name = "Evil \"Org\"\n<script>";
    r.records[0].reasons[0].comment = "line1\nline2\t\"q\"";
    auto text = write(Format::json, {r});
    auto doc = json::parse(text);
    EXPECT_EQ(doc[0]["report_metadata"]["org_name"], "Evil \"Org\"\n<script>");
    EXPECT_EQ(doc[0]["records"][0]["policy_evaluated"]["policy_override_reasons"][0]["comment"],
              "line1\nline2\t\"q\"");
    EXPECT_NE(text.find(R"("Evil \"Org\"\n<script>")"), std::string::npos);
}

// ---- CSV ----------------------------------------------------------------------------------

const std::string csv_header =
    "xml_schema,org_name,org_email,org_extra_contact_info,report_id,begin_date,end_date,errors,"
    "domain,adkim,aspf,p,sp,pct,fo,source_ip_address,source_country,source_reverse_dns,"
    "source_base_domain,source_name,source_type,count,spf_aligned,dkim_aligned,dmarc_aligned,"
    "disposition,policy_override_reasons,policy_override_comments,envelope_from,header_from,"
    "envelope_to,dkim_domains,dkim_selectors,dkim_results,spf_domains,spf_scopes,spf_results\r\n";

TEST(WriterCsv, NoReportsIsTheHeaderAlone) { EXPECT_EQ(write(Format::csv, {}), csv_header); }

TEST(WriterCsv, OneRowPerRecordWithListsJoined) {
    auto text = write(Format::csv, {sparse_report()});
    const std::string row1 =
        "draft,example.org,noreply-dmarc@Mail.Example.ORG,,1234.5678,2026-11-01 00:00:00,"
        "2026-11-01 23:59:59,,acme.example,r,r,quarantine,quarantine,100,0,2001:db8::1,,,,,,7,"
        "False,True,True,none,local_policy,none,mailer.acme.example,acme.example,,acme.example,"
        "none,pass,\"bounce.acme.example,mailer.acme.example\",\"helo,mfrom\",\"neutral,softfail\""
        "\r\n";
    const std::string row2 =
        "draft,example.org,noreply-dmarc@Mail.Example.ORG,,1234.5678,2026-11-01 00:00:00,"
        "2026-11-01 23:59:59,,acme.example,r,r,quarantine,quarantine,100,0,192.0.2.10,,,,,,0,"
        "False,False,False,reject,,,,acme.example,rcpt.example,,,,,,\r\n";
    EXPECT_EQ(text, csv_header + row1 + row2);
}

TEST(WriterCsv, CommasQuotesAndNewlinesAreQuoted) {
    Report r = sparse_report();
    r.header.metadata.org_name = "Acme, \"Mail\" Inc.";
    r.header.metadata.extra_contact_info = "call\r\nus";
    r.header.metadata.errors = {"a,b", "c"};
    r.records.resize(1);
    r.records[0].reasons = {{.type = report::OverrideType::forwarded, .comment = "via \"list\""},
                            {.type = report::OverrideType::other, .comment = ""}};
    auto text = write(Format::csv, {r});
    ASSERT_EQ(text.rfind(csv_header, 0), 0u);
    const auto row = text.substr(csv_header.size());
    EXPECT_EQ(row.rfind("draft,\"Acme, \"\"Mail\"\" Inc.\",noreply-dmarc@Mail.Example.ORG,"
                        "\"call\r\nus\",1234.5678,2026-11-01 00:00:00,2026-11-01 23:59:59,"
                        "\"a,b|c\",",
                        0),
              0u)
        << row;
    EXPECT_NE(row.find(",\"forwarded,other\",\"via \"\"list\"\"|none\","), std::string::npos)
        << row;
}

TEST(WriterCsv, SourceColumnsComeFromTheLookup) {
    Report r = sparse_report();
    r.records.resize(1);
    SourceLookup lookup = [](std::string_view) {
        return SourceInfo{.reverse_dns = "mx.example.net", .base_domain = "example.net"};
    };
    auto text = write(Format::csv, {r}, lookup);
    EXPECT_NE(text.find(",2001:db8::1,,mx.example.net,example.net,example.net,,7,"),
              std::string::npos)
        << text;
}

// ---- against parsedmarc's own test corpus ----------------------------------------------------

report::AggregateReport parse_corpus(const std::filesystem::path& file) {
    auto bytes = test::read_file(file);
    auto parsed = report::parse_aggregate_document(
        test::bytes_of(bytes), Location{.source = file.filename().string()}, IngestLimits{});
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().describe());
    return parsed ? *parsed : report::AggregateReport{};
}

TEST(WriterCorpus, ExampleNetReportMatchesParsedmarcOffline) {
    RAMPART_REQUIRE_CORPUS(corpus);
    auto parsed = parse_corpus(corpus / "aggregate" / "parsedmarc" / "aggregate" /
                               "example.net!example.com!1529366400!1529452799.xml");
    auto doc = json::parse(write(Format::json, {{parsed.header, parsed.records}}));
    // What parsedmarc's parse_aggregate_report_xml(offline=True) returns for this file, without
    // a GeoIP database (country null) and without reverse DNS.
    const auto expected = json::parse(R"([{
      "xml_schema": "1.0",
      "report_metadata": {
        "org_name": "example.net", "org_email": "postmaster@example.net",
        "org_extra_contact_info": null, "report_id": "b043f0e264cf4ea995e93765242f6dfb",
        "begin_date": "2018-06-19 00:00:00", "end_date": "2018-06-19 23:59:59", "errors": []
      },
      "policy_published": {"domain": "example.com", "adkim": "r", "aspf": "r", "p": "none",
                           "sp": "none", "pct": "100", "fo": "0"},
      "records": [{
        "source": {"ip_address": "199.230.200.36", "country": null, "reverse_dns": null,
                   "base_domain": null, "name": null, "type": null},
        "count": 1,
        "alignment": {"spf": false, "dkim": false, "dmarc": false},
        "policy_evaluated": {"disposition": "none", "dkim": "fail", "spf": "fail",
                             "policy_override_reasons": []},
        "identifiers": {"header_from": "example.com", "envelope_from": "example.com",
                        "envelope_to": null},
        "auth_results": {"dkim": [], "spf": []}
      }]
    }])");
    EXPECT_EQ(doc, expected) << doc.dump(2);

    auto csv = write(Format::csv, {{parsed.header, parsed.records}});
    EXPECT_EQ(csv, csv_header +
                       "1.0,example.net,postmaster@example.net,,b043f0e264cf4ea995e93765242f6dfb,"
                       "2018-06-19 00:00:00,2018-06-19 23:59:59,,example.com,r,r,none,none,100,0,"
                       "199.230.200.36,,,,,,1,False,False,False,none,,,example.com,example.com,,"
                       ",,,,,\r\n");
}

TEST(WriterCorpus, EveryParsableReportKeepsItsRecords) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const auto dir = corpus / "aggregate" / "parsedmarc" / "aggregate";
    // Every parsable file of parsedmarc's corpus: the JSON is valid, has one report and as many
    // records as the parse, and its counts and alignments agree with the parsed records.
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".xml") continue;
        auto bytes = test::read_file(entry.path());
        auto parsed =
            report::parse_aggregate_document(test::bytes_of(bytes), Location{}, IngestLimits{});
        if (!parsed) continue;  // the corpus holds deliberately broken files too
        ++files;
        auto doc = json::parse(write(Format::json, {{parsed->header, parsed->records}}));
        ASSERT_EQ(doc.size(), 1u) << entry.path();
        ASSERT_EQ(doc[0]["records"].size(), parsed->records.size()) << entry.path();
        for (std::size_t i = 0; i < parsed->records.size(); ++i) {
            const auto& rec = doc[0]["records"][i];
            const auto& want = parsed->records[i];
            EXPECT_EQ(rec["count"], want.count) << entry.path();
            EXPECT_EQ(rec["alignment"]["dmarc"], want.dmarc_pass()) << entry.path();
            EXPECT_EQ(rec["policy_evaluated"]["policy_override_reasons"].size(),
                      want.reasons.size())
                << entry.path();
        }
        auto csv = write(Format::csv, {{parsed->header, parsed->records}});
        std::size_t rows = 0;
        for (std::size_t at = 0; (at = csv.find("\r\n", at)) != std::string::npos; at += 2) ++rows;
        EXPECT_GE(rows, parsed->records.size() + 1) << entry.path();
    }
    EXPECT_GE(files, 10);
}

}  // namespace
}  // namespace rampart::parsedmarc

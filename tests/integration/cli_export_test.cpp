// `rampart export` and `rampart digest` as users and scripts call them, on the sample reports in
// examples/reports: the parsedmarc JSON holds every ingested report and record with the same
// message totals, the CSV has one row per record, filters and files work, and a client's digest
// is written as text, JSON and one HTML page; bad arguments and unknown clients exit 2.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using rampart::test::read_file;
using rampart::test::shell;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart = quote(RAMPART_BINARY);
fs::path examples() { return rampart::test::source_dir() / "examples" / "reports"; }

std::size_t occurrences(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

/// Rows of a CSV document as Python's csv module reads it: line ends inside quotes belong to the
/// field, CRLF ends a row.
std::size_t csv_rows(const std::string& text) {
    std::size_t rows = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '"')
            quoted = !quoted;
        else if (!quoted && text[i] == '\n')
            ++rows;
    }
    return rows;
}

class CliExport : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("rampart-export-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_ = dir_ / "rampart.db";
        auto r = shell(rampart + " ingest --json --db " + quote(db_) + " " + quote(examples()));
        ASSERT_NE(r.status, 2) << r.out;
        ingested_ = json::parse(r.out);
        ASSERT_GT(ingested_["reports_new"].get<int>(), 0);
    }
    void TearDown() override { fs::remove_all(dir_); }

    rampart::test::ShellResult run(const std::string& args) {
        return shell(rampart + " " + args + " --db " + quote(db_) + " 2>" + quote(dir_ / "err"));
    }
    std::string err() const { return read_file(dir_ / "err"); }

    void write_config(const std::string& text) { std::ofstream(dir_ / "rampart.toml") << text; }

    fs::path dir_, db_;
    json ingested_;
};

TEST_F(CliExport, ParsedmarcJsonHoldsEveryReportRecordAndMessage) {
    auto r = run("export --format parsedmarc-json");
    ASSERT_EQ(r.status, 0) << err();
    auto doc = json::parse(r.out);
    ASSERT_TRUE(doc.is_array());
    EXPECT_EQ(doc.size(), ingested_["reports_new"].get<std::size_t>());
    std::size_t records = 0;
    std::uint64_t messages = 0;
    for (const auto& report : doc) {
        for (const char* key : {"xml_schema", "report_metadata", "policy_published", "records"})
            ASSERT_TRUE(report.contains(key)) << key;
        EXPECT_EQ(report["report_metadata"]["begin_date"].get<std::string>().size(), 19u);
        for (const auto& rec : report["records"]) {
            ++records;
            messages += rec["count"].get<std::uint64_t>();
            EXPECT_EQ(rec["alignment"]["dmarc"].get<bool>(),
                      rec["alignment"]["spf"].get<bool>() || rec["alignment"]["dkim"].get<bool>());
            EXPECT_TRUE(rec["source"]["country"].is_null());
        }
    }
    EXPECT_EQ(records, ingested_["records"].get<std::size_t>());
    EXPECT_EQ(messages, ingested_["messages"].get<std::uint64_t>());
}

TEST_F(CliExport, ParsedmarcCsvHasOneRowPerRecord) {
    auto r = run("export --format parsedmarc-csv");
    ASSERT_EQ(r.status, 0) << err();
    ASSERT_EQ(r.out.rfind("xml_schema,org_name,org_email,", 0), 0u) << r.out.substr(0, 200);
    EXPECT_EQ(csv_rows(r.out), ingested_["records"].get<std::size_t>() + 1);
    EXPECT_EQ(occurrences(r.out, "\r\n"), csv_rows(r.out));
}

TEST_F(CliExport, DomainAndDatesFilterAndOutputFileMatchesStdout) {
    auto expected = json::parse(read_file(examples().parent_path() / "expected.json"));
    auto r = run("export --format parsedmarc-json --domain ACME.example --output " +
                 quote(dir_ / "acme.json"));
    ASSERT_EQ(r.status, 0) << err();
    EXPECT_TRUE(r.out.empty());
    auto from_file = read_file(dir_ / "acme.json");
    auto doc = json::parse(from_file);
    EXPECT_EQ(doc.size(), expected["domains"]["acme.example"]["reports"].get<std::size_t>());
    std::uint64_t messages = 0;
    for (const auto& report : doc) {
        EXPECT_EQ(report["policy_published"]["domain"], "acme.example");
        for (const auto& rec : report["records"]) messages += rec["count"].get<std::uint64_t>();
    }
    EXPECT_EQ(messages, expected["domains"]["acme.example"]["messages"].get<std::uint64_t>());
    EXPECT_EQ(run("export --format parsedmarc-json --domain acme.example").out, from_file);
    // No temporary file is left beside the output.
    for (const auto& e : fs::directory_iterator(dir_))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();

    // Periods beginning on 2026-11-01 only (the sample reports span 1-3 November).
    r = run("export --format parsedmarc-json --since 2026-11-01 --until 2026-11-01");
    ASSERT_EQ(r.status, 0) << err();
    doc = json::parse(r.out);
    EXPECT_GT(doc.size(), 0u);
    EXPECT_LT(doc.size(), ingested_["reports_new"].get<std::size_t>());
    for (const auto& report : doc)
        EXPECT_EQ(report["report_metadata"]["begin_date"].get<std::string>().substr(0, 10),
                  "2026-11-01");
    r = run("export --format parsedmarc-json --since 2030-01-01");
    ASSERT_EQ(r.status, 0) << err();
    EXPECT_EQ(r.out, "[]\n");
}

TEST_F(CliExport, BadArgumentsExitTwo) {
    auto r = run("export --format csv");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(err().find("parsedmarc-json"), std::string::npos) << err();
    EXPECT_EQ(run("export --format parsedmarc-json --since yesterday").status, 2);
    r = shell(rampart + " export --format parsedmarc-json --db " + quote(dir_ / "none.db") +
              " 2>/dev/null");
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(fs::exists(dir_ / "none.db"));
}

TEST_F(CliExport, DigestWritesTextJsonAndHtml) {
    write_config(R"(
[[client]]
name = "acme"
contact = ["it@acme.example"]
domains = ["acme.example"]

[[client]]
name = "globex"
domains = ["globex.example"]
)");
    const auto config = " --config " + quote(dir_ / "rampart.toml");
    const auto period = " --since 2026-10-29 --until 2026-11-05 --offline";
    auto r = run("digest acme" + config + period + " --html " + quote(dir_ / "acme.html"));
    ASSERT_EQ(r.status, 0) << err();
    EXPECT_NE(r.out.find("DMARC digest for acme"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Period: 2026-10-29 to 2026-11-04"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("acme.example"), std::string::npos);
    EXPECT_NE(r.out.find("DMARC pass: "), std::string::npos) << r.out;

    const auto page = read_file(dir_ / "acme.html");
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(occurrences(page, "<svg"), 1u);
    EXPECT_EQ(occurrences(page, "<rect class=\"bar\""), 7u);
    EXPECT_EQ(page.find("<script"), std::string::npos);

    r = run("digest acme --json" + config + period);
    ASSERT_EQ(r.status, 0) << err();
    auto doc = json::parse(r.out);
    EXPECT_EQ(doc["client"], "acme");
    EXPECT_EQ(doc["since"], "2026-10-29");
    EXPECT_EQ(doc["until"], "2026-11-05");
    ASSERT_EQ(doc["domains"].size(), 1u);
    const auto& d = doc["domains"][0];
    EXPECT_EQ(d["domain"], "acme.example");
    ASSERT_EQ(d["days"].size(), 7u);
    std::uint64_t by_day = 0, pass_by_day = 0;
    for (const auto& p : d["days"]) {
        by_day += p["messages"].get<std::uint64_t>();
        pass_by_day += p["dmarc_pass"].get<std::uint64_t>();
    }
    auto expected = json::parse(read_file(examples().parent_path() / "expected.json"));
    EXPECT_EQ(by_day, expected["domains"]["acme.example"]["messages"].get<std::uint64_t>());
    EXPECT_EQ(pass_by_day, expected["domains"]["acme.example"]["dmarc_pass"].get<std::uint64_t>());
    EXPECT_EQ(d["messages"].get<std::uint64_t>(), by_day);
    EXPECT_EQ(d["previous_messages"], 0);
    // Everything is new in the first period that has data.
    EXPECT_FALSE(d["new_senders"].empty());
    for (const auto& a : d["open_actions"]) {
        EXPECT_NE(a["class"], "passing");
        EXPECT_TRUE(a.contains("decision"));
        EXPECT_TRUE(a.contains("due"));
    }
}

TEST_F(CliExport, DigestOfAnUnknownClientListsTheConfiguredOnes) {
    write_config(
        "[[client]]\nname = \"acme\"\ndomains = [\"acme.example\"]\n\n"
        "[[client]]\nname = \"globex\"\ndomains = [\"globex.example\"]\n");
    auto r = run("digest initech --offline --config " + quote(dir_ / "rampart.toml"));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(err().find("no client named \"initech\""), std::string::npos) << err();
    EXPECT_NE(err().find("acme, globex"), std::string::npos) << err();
    EXPECT_EQ(
        run("digest acme --offline --since 3 --config " + quote(dir_ / "rampart.toml")).status, 2);
}

}  // namespace

namespace {

// The example inventory shipped beside the sample reports (README's tour uses both).
TEST_F(CliExport, ExampleInventoryChecksCleanAndClassifiesTheSamples) {
    const auto config = quote(rampart::test::source_dir() / "examples" / "rampart.toml");
    auto check = shell(rampart + " config check --json --config " + config);
    ASSERT_EQ(check.status, 0) << check.out;
    EXPECT_EQ(json::parse(check.out).at("problems"), json::array()) << check.out;

    auto r = run("senders acme.example --json --offline --since 2026-11-01 --until 2026-11-06"
                 " --config " + config);
    ASSERT_EQ(r.status, 1) << r.out << err();  // some senders need action
    const auto doc = json::parse(r.out);
    std::map<std::string, std::string> cls;
    std::uint64_t total = 0;
    for (const auto& s : doc.at("senders")) {
        cls[s.at("name").get<std::string>()] = s.at("class").get<std::string>();
        total += s.at("messages").get<std::uint64_t>();
    }
    EXPECT_EQ(total, doc.at("messages").get<std::uint64_t>());
    EXPECT_EQ(cls["Mail servers"], "passing");
    EXPECT_EQ(cls["Google Workspace"], "passing");
    EXPECT_EQ(cls["Newsletters"], "passing");
    EXPECT_EQ(cls["unknown: 198.51.100.0/24"], "not_aligned");  // the CRM vendor's own d=
    EXPECT_EQ(cls["forwarder: 203.0.113.0/24"], "forwarded");   // list and ARC forwarder
    EXPECT_EQ(cls["unknown: 203.0.113.0/24"], "unauthorised");  // the spoofers
    EXPECT_EQ(cls["unknown: 2001:db8:bad::/48"], "unauthorised");

    // initech declares its shared-pool senders by signature and Return-Path, and two senders
    // with documented plans.
    auto i = run("senders initech.example --json --offline --since 2026-11-01 --until 2026-11-06"
                 " --config " + config);
    ASSERT_EQ(i.status, 1) << i.out << err();
    const auto initech = json::parse(i.out);
    std::map<std::string, json> by_name;
    for (const auto& s : initech.at("senders")) by_name[s.at("name").get<std::string>()] = s;
    EXPECT_EQ(by_name["Google Workspace"].at("class"), "passing");
    EXPECT_EQ(by_name["SendGrid"].at("class"), "passing");
    EXPECT_EQ(by_name["SendGrid"].at("sources"), json({"198.51.100.41"}));
    EXPECT_EQ(by_name["Mail servers"].at("class"), "passing");
    EXPECT_EQ(by_name["Helpdesk"].at("class"), "not_aligned");
    EXPECT_EQ(by_name["Office printer"].at("class"), "not_aligned");
    EXPECT_EQ(by_name["forwarder: 203.0.113.0/24"].at("class"), "forwarded");
}

}  // namespace

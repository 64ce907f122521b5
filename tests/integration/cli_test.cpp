// The `rampart` command as users and scripts call it: the JSON and exit-code contract of
// `ingest` and `summary`, standard input, hostile inputs refused without losing the rest, and a
// process killed mid-ingest leaving a consistent database that a rerun completes exactly.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Outcome = rampart::test::ShellResult;

/// Runs a shell command line, capturing standard output; stderr goes to the test log.
Outcome sh(const std::string& command) { return rampart::test::shell(command); }

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart = quote(RAMPART_BINARY);
fs::path examples() { return rampart::test::source_dir() / "examples" / "reports"; }
json expected() {
    return json::parse(rampart::test::read_file(rampart::test::source_dir() / "examples" / "expected.json"));
}

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("rampart-cli-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_ = dir_ / "rampart.db";
    }
    void TearDown() override { fs::remove_all(dir_); }

    Outcome ingest(const std::string& args) {
        return sh(rampart + " ingest --json --db " + quote(db_) + " " + args);
    }
    json summary(const std::string& args = "") {
        auto r = sh(rampart + " summary --json --db " + quote(db_) + " " + args);
        EXPECT_EQ(r.status, 0);
        return json::parse(r.out);
    }
    void write(const fs::path& p, std::string_view bytes) {
        std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::int64_t query(const std::string& sql) {
        sqlite3* db = nullptr;
        sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
        std::int64_t v = -1;
        if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return v;
    }

    fs::path dir_, db_;
};

std::string report_xml(const std::string& org, const std::string& id, const std::string& domain,
                       int records, int first_ip = 1) {
    std::string x = "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>" + org +
                    "</org_name><email>r@" + org + "</email><report_id>" + id +
                    "</report_id><date_range><begin>1793491200</begin><end>1793577599</end>"
                    "</date_range></report_metadata><policy_published><domain>" + domain +
                    "</domain><p>none</p></policy_published>\n";
    for (int i = 0; i < records; ++i) {
        int ip = first_ip + i;
        x += "<record><row><source_ip>10." + std::to_string((ip >> 16) & 255) + "." +
             std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255) +
             "</source_ip><count>3</count><policy_evaluated><disposition>none</disposition>"
             "<dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers>"
             "<header_from>" + domain + "</header_from></identifiers><auth_results><dkim><domain>" +
             domain + "</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>" +
             domain + "</domain><result>fail</result></spf></auth_results></record>\n";
    }
    return x + "</feedback>\n";
}

std::string gzip(std::string_view data) {
    z_stream z{};
    deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

TEST_F(Cli, VersionNamesTheProgram) {
    auto r = sh(rampart + " --version");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out.rfind("rampart ", 0), 0u) << r.out;
}

TEST_F(Cli, IngestOfTheExamplesPrintsTheContractJsonAndSummaryAddsUp) {
    auto r = ingest(quote(examples()));
    ASSERT_EQ(r.status, 0) << r.out;
    auto got = json::parse(r.out);
    auto want = expected();
    for (auto key : {"reports_new", "reports_duplicate", "failure_reports_new", "records", "messages"})
        EXPECT_EQ(got[key], want[key]) << key;
    EXPECT_TRUE(got["files_rejected"].is_array());
    EXPECT_TRUE(got["files_rejected"].empty()) << got["files_rejected"].dump();

    auto s = summary();
    ASSERT_EQ(s["domains"].size(), want["domains"].size());
    for (const auto& d : s["domains"]) {
        const auto& w = want["domains"][d["domain"].get<std::string>()];
        for (auto key : {"reports", "messages", "dmarc_pass", "dmarc_fail"})
            EXPECT_EQ(d[key], w[key]) << d["domain"] << " " << key;
        EXPECT_GT(d["reporters"].size(), 0u);
        EXPECT_GT(d["top_sources"].size(), 0u);
    }
    auto one = summary("--domain ACME.example");
    ASSERT_EQ(one["domains"].size(), 1u);
    EXPECT_EQ(one["domains"][0]["domain"], "acme.example");
    EXPECT_EQ(summary("--since 2030-01-01")["domains"].size(), 0u);
    EXPECT_EQ(summary("--until 2026-10-31")["domains"].size(), 0u);
    EXPECT_EQ(summary("--since 2026-11-01 --until 2026-11-05")["domains"].size(), want["domains"].size());

    auto again = json::parse(ingest(quote(examples())).out);
    EXPECT_EQ(again["reports_new"], 0);
    EXPECT_EQ(again["reports_duplicate"].get<int>(),
              want["reports_new"].get<int>() + want["reports_duplicate"].get<int>());
}

TEST_F(Cli, HumanOutputIsALineAndATable) {
    auto r = sh(rampart + " ingest --db " + quote(db_) + " " + quote(examples()));
    ASSERT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("30 new reports (194 records, 78,620 messages), 1 duplicate"), std::string::npos) << r.out;
    auto t = sh(rampart + " summary --db " + quote(db_));
    ASSERT_EQ(t.status, 0);
    EXPECT_EQ(t.out.rfind("DOMAIN ", 0), 0u) << t.out;
    EXPECT_NE(t.out.find("acme.example"), std::string::npos);
    EXPECT_NE(t.out.find("top sources:"), std::string::npos);
}

TEST_F(Cli, RefusedInputsAreListedTheRestIsStoredAndTheExitIsOne) {
    write(dir_ / "good.xml", report_xml("a.example", "r1", "acme.example", 2));
    write(dir_ / "empty.xml", "");
    write(dir_ / "junk.bin", std::string("\x00\x01\x02\x03garbage", 11));
    write(dir_ / "bomb.xml",
          "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
          "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><feedback>&lol2;</feedback>");
    write(dir_ / "html.xml", "<html><body>not a report</body></html>");
    write(dir_ / "truncated.xml.gz", gzip(report_xml("b.example", "r2", "acme.example", 50)).substr(0, 200));
    auto r = ingest(quote(dir_ / "good.xml") + " " + quote(dir_ / "empty.xml") + " " +
                    quote(dir_ / "junk.bin") + " " + quote(dir_ / "bomb.xml") + " " +
                    quote(dir_ / "html.xml") + " " + quote(dir_ / "truncated.xml.gz") + " " +
                    quote(dir_ / "missing.xml"));
    EXPECT_EQ(r.status, 1);
    auto got = json::parse(r.out);
    EXPECT_EQ(got["reports_new"], 1);
    EXPECT_EQ(got["records"], 2);
    std::map<std::string, std::string> why;
    for (const auto& f : got["files_rejected"])
        why[fs::path(f["path"].get<std::string>()).filename().string()] = f["reason"].get<std::string>();
    ASSERT_EQ(why.size(), 6u) << got.dump(2);
    EXPECT_NE(why["empty.xml"].find("empty"), std::string::npos);
    EXPECT_NE(why["junk.bin"].find("unrecognised content"), std::string::npos);
    EXPECT_NE(why["bomb.xml"].find("DOCTYPE"), std::string::npos);
    EXPECT_NE(why["html.xml"].find("<html>"), std::string::npos);
    EXPECT_NE(why["truncated.xml.gz"].find("truncated"), std::string::npos);
    for (const auto& [name, reason] : why) EXPECT_FALSE(name.empty()) << reason;
    EXPECT_NE(why["missing.xml"].find("no such file"), std::string::npos);
    EXPECT_EQ(query("SELECT COUNT(*) FROM reports"), 1);
    EXPECT_EQ(query("SELECT COUNT(*) FROM records"), 2);
}

TEST_F(Cli, AGzipBombIsRefusedByTheDefaultLimitsAndNothingIsStored) {
    // 600 MB of XML whitespace inside <feedback> compresses to well under a megabyte.
    std::string head = "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>x</org_name>";
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
    std::string out;
    std::string chunk(1 << 20, ' ');
    std::vector<char> buf(1 << 20);
    auto pump = [&](std::string_view in, int flush) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf.data());
            z.avail_out = static_cast<uInt>(buf.size());
            deflate(&z, flush);
            out.append(buf.data(), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
    };
    pump(head, Z_NO_FLUSH);
    for (int i = 0; i < 600; ++i) pump(chunk, Z_NO_FLUSH);
    pump("</report_metadata></feedback>", Z_FINISH);
    deflateEnd(&z);
    ASSERT_LT(out.size(), 2u << 20);
    write(dir_ / "bomb.xml.gz", out);
    auto r = ingest(quote(dir_ / "bomb.xml.gz"));
    EXPECT_EQ(r.status, 1);
    auto got = json::parse(r.out);
    ASSERT_EQ(got["files_rejected"].size(), 1u);
    EXPECT_EQ(got["files_rejected"][0]["path"], (dir_ / "bomb.xml.gz").string());
    EXPECT_NE(got["files_rejected"][0]["reason"].get<std::string>().find("gzip bomb"),
              std::string::npos)
        << got.dump();
    EXPECT_EQ(query("SELECT COUNT(*) FROM reports"), 0);
}

TEST_F(Cli, StandardInputAndTheDatabaseFromTheEnvironment) {
    write(dir_ / "r.xml.gz", gzip(report_xml("c.example", "stdin-1", "globex.example", 4)));
    auto r = sh("cd " + quote(dir_) + " && RAMPART_DB=env.db " + rampart + " ingest --json - < r.xml.gz");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(json::parse(r.out)["records"], 4);
    EXPECT_TRUE(fs::exists(dir_ / "env.db"));
    auto s = sh("cd " + quote(dir_) + " && RAMPART_DB=env.db " + rampart + " summary --json");
    EXPECT_EQ(json::parse(s.out)["domains"][0]["messages"], 12);
}

TEST_F(Cli, UsageAndDatabaseErrorsExitTwo) {
    EXPECT_EQ(sh(rampart + " ingest --json 2>/dev/null").status, 2);
    EXPECT_EQ(sh(rampart + " frobnicate 2>/dev/null").status, 2);
    EXPECT_EQ(sh(rampart + " ingest --db /nonexistent/x.db " + quote(examples()) + " 2>/dev/null").status, 2);
    EXPECT_EQ(sh(rampart + " summary --db " + quote(dir_ / "absent.db") + " 2>/dev/null").status, 2);
    EXPECT_EQ(sh(rampart + " summary --db " + quote(db_) + " --since yesterday 2>/dev/null").status, 2);
}

TEST_F(Cli, KillingTheIngestAnywhereLeavesAConsistentDatabaseThatARerunCompletes) {
    // Enough work that the ingest takes a while: 120 reports of 400 records.
    fs::create_directories(dir_ / "in");
    const int reports = 120, records = 400;
    for (int i = 0; i < reports; ++i)
        write(dir_ / "in" / ("r" + std::to_string(1000 + i) + ".xml.gz"),
              gzip(report_xml("kill.example", "k" + std::to_string(i), "acme.example", records, i * 1000)));
    std::mt19937 rng(7);
    for (int attempt = 0; attempt < 3; ++attempt) {
        fs::remove(db_);
        fs::remove(db_.string() + "-wal");
        fs::remove(db_.string() + "-shm");
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::execl(RAMPART_BINARY, "rampart", "ingest", "--json", "--db", db_.c_str(),
                    (dir_ / "in").c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        // Wait until some reports are committed, then a little more, then kill -9.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline && query("SELECT COUNT(*) FROM reports") < 3)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);

        EXPECT_EQ(query("SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
        auto stored = query("SELECT COUNT(*) FROM reports");
        // Every stored report is whole.
        EXPECT_EQ(query("SELECT COUNT(*) FROM reports r WHERE record_count != "
                        "(SELECT COUNT(*) FROM records WHERE report = r.id)"),
                  0);
        EXPECT_EQ(query("SELECT COUNT(*) FROM records WHERE report NOT IN (SELECT id FROM reports)"), 0);
        EXPECT_EQ(query("SELECT COUNT(*) FROM reports"), query("SELECT COUNT(*) FROM reports WHERE content_sha256 IS NOT NULL"));

        auto r = ingest(quote(dir_ / "in"));
        ASSERT_EQ(r.status, 0) << r.out;
        auto got = json::parse(r.out);
        EXPECT_EQ(got["reports_new"].get<std::int64_t>(), reports - stored);
        EXPECT_EQ(got["reports_duplicate"].get<std::int64_t>(), stored);
        EXPECT_EQ(query("SELECT COUNT(*) FROM reports"), reports);
        EXPECT_EQ(query("SELECT COUNT(*) FROM records"), reports * records);
        EXPECT_EQ(query("SELECT SUM(count) FROM records"), reports * records * 3);
    }
}

}  // namespace

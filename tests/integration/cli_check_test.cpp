// `rampart check` as users and scripts call it, against a real authoritative server: Knot DNS
// serving the audit's sample domains and 1,000 generated ones as the zone "test". The JSON
// names and exit codes are the contract; the 1,000-domain run prints how long it took.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/knot.hpp"
#include "support.hpp"
#include "unit/audit/sample_domains.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
namespace samples = rampart::test::audit_samples;
using rampart::test::KnotServer;

namespace {

constexpr std::size_t many = 1000;

std::string quote(const std::string& s) { return "'" + s + "'"; }

class CheckCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        auto zone = samples::sample_zone();
        // A key at a selector no list guesses: only the stored reports can lead check to it.
        zone.add_txt("mta7._domainkey.clean.test", samples::rsa_key_record(samples::rsa2048));
        generated_ = samples::generated_domains(zone, many);
        server_ = new KnotServer({{"test", zone.to_master_file("test")}});
        start_error_ = server_->start();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void SetUp() override {
        if (!skip_reason_.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << skip_reason_ << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << skip_reason_ << ": `rampart check` integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
        // A folder of its own, so no rampart.toml from elsewhere is read.
        dir_ = fs::temp_directory_path() /
               fmt::format("rampart-check-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    /// `rampart check <args>` in the test's folder with --dns at the Knot server; stderr to the
    /// test log.
    rampart::test::ShellResult check(const std::string& args, bool with_dns = true) const {
        auto dns = with_dns ? " --dns " + server_->server().to_string() : std::string();
        return rampart::test::shell(fmt::format("cd {} && env -u RAMPART_DNS -u RAMPART_CONFIG {} check{} {}",
                                                quote(dir_.string()), quote(RAMPART_BINARY), dns,
                                                args));
    }

    json check_json(const std::string& args, int expected_status) const {
        auto r = check(args + " --json");
        EXPECT_EQ(r.status, expected_status) << r.out;
        try {
            return json::parse(r.out);
        } catch (const json::exception& e) {
            ADD_FAILURE() << e.what() << "\n" << r.out;
            return {};
        }
    }

    fs::path write(const std::string& name, const std::string& text) const {
        auto p = dir_ / name;
        std::ofstream(p) << text;
        return p;
    }

    static const json& domain_in(const json& doc, std::string_view name) {
        for (const auto& d : doc.at("domains"))
            if (d.at("domain") == name) return d;
        static const json none;
        ADD_FAILURE() << name << " is not in the output";
        return none;
    }

    static bool has_code(const json& domain, std::string_view code) {
        for (const auto& f : domain.at("findings"))
            if (f.at("code") == code) return true;
        return false;
    }

    static inline KnotServer* server_ = nullptr;
    static inline std::string skip_reason_, start_error_;
    static inline std::vector<std::string> generated_;
    fs::path dir_;
};

void expect_members(const json& object, std::initializer_list<const char*> names) {
    ASSERT_TRUE(object.is_object()) << object.dump();
    for (const auto* name : names) EXPECT_TRUE(object.contains(name)) << name << " in " << object.dump();
}

TEST_F(CheckCli, JsonContract) {
    auto doc = check_json("clean.test broken.test parked.test", 1);
    expect_members(doc, {"domains", "summary"});
    expect_members(doc.at("summary"), {"domains", "errors", "warnings"});
    EXPECT_EQ(doc.at("summary").at("domains"), 3);
    ASSERT_EQ(doc.at("domains").size(), 3u);
    EXPECT_EQ(doc.at("domains").at(0).at("domain"), "clean.test");
    EXPECT_EQ(doc.at("domains").at(2).at("domain"), "parked.test");

    for (const auto& d : doc.at("domains")) {
        expect_members(d, {"domain", "findings", "spf", "dmarc", "dkim", "mx"});
        for (const auto& f : d.at("findings")) {
            expect_members(f, {"severity", "code", "message", "fix"});
            EXPECT_TRUE(f.at("severity") == "error" || f.at("severity") == "warning" ||
                        f.at("severity") == "info")
                << f.dump();
        }
    }
    const auto& clean = domain_in(doc, "clean.test");
    const auto& spf = clean.at("spf");
    expect_members(spf, {"record", "lookups", "void_lookups", "tree"});
    EXPECT_EQ(spf.at("lookups"), 3);
    EXPECT_EQ(spf.at("record"), "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test -all");
    const auto& root = spf.at("tree");
    expect_members(root, {"domain", "record", "lookups", "total", "void_lookups", "children"});
    EXPECT_EQ(root.at("domain"), "clean.test");
    ASSERT_EQ(root.at("children").size(), 1u);
    const auto& include = root.at("children").at(0);
    expect_members(include, {"domain", "record", "lookups", "total", "void_lookups", "children"});
    EXPECT_EQ(include.at("domain"), "_spf.provider.test");
    EXPECT_EQ(include.at("lookups"), 2);

    const auto& dmarc = clean.at("dmarc");
    expect_members(dmarc, {"record", "found_at", "policy", "sp", "np", "org_domain", "org_domain_psl",
                           "rua", "ruf"});
    EXPECT_EQ(dmarc.at("policy"), "reject");
    EXPECT_EQ(dmarc.at("found_at"), "clean.test");
    ASSERT_EQ(dmarc.at("rua").size(), 1u);
    EXPECT_EQ(dmarc.at("rua").at(0).at("authorised"), true);

    ASSERT_EQ(clean.at("dkim").size(), 1u);
    const auto& key = clean.at("dkim").at(0);
    expect_members(key, {"selector", "key_type", "key_bits", "revoked", "testing"});
    EXPECT_EQ(key.at("selector"), "google");
    EXPECT_EQ(key.at("key_type"), "rsa");
    EXPECT_EQ(key.at("key_bits"), 2048);
    EXPECT_EQ(clean.at("mx").size(), 2u);

    const auto& broken = domain_in(doc, "broken.test");
    EXPECT_TRUE(has_code(broken, "spf-plus-all"));
    EXPECT_TRUE(has_code(broken, "spf-include-missing"));
    EXPECT_TRUE(has_code(broken, "dkim-key-too-short"));
    EXPECT_TRUE(has_code(broken, "dmarc-no-rua"));
    EXPECT_TRUE(has_code(domain_in(doc, "parked.test"), "mx-null"));
}

TEST_F(CheckCli, ExitZeroWhenNoErrors) {
    auto r = check("clean.test parked.test");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("clean.test: 0 errors"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("_spf.provider.test"), std::string::npos) << r.out;  // the SPF tree
}

TEST_F(CheckCli, ExitOneWithErrorsAndFixesShown) {
    auto r = check("broken.test");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("spf-plus-all"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("fix: "), std::string::npos) << r.out;
}

TEST_F(CheckCli, NonexistentDomain) {
    auto doc = check_json("nowhere.test", 1);
    const auto& d = domain_in(doc, "nowhere.test");
    ASSERT_EQ(d.at("findings").size(), 1u);
    EXPECT_EQ(d.at("findings").at(0).at("code"), "domain-nxdomain");
}

TEST_F(CheckCli, UsageErrorsExitTwo) {
    EXPECT_EQ(check("").status, 2);
    EXPECT_EQ(check("--file " + quote((dir_ / "absent.txt").string())).status, 2);
    EXPECT_EQ(check("clean.test --dns mail.example.com", false).status, 2);
    EXPECT_EQ(check("clean.test --no-such-option").status, 2);
    write("empty.txt", "# nothing here\n\n");
    EXPECT_EQ(check("--file empty.txt").status, 2);
}

TEST_F(CheckCli, FileWithCommentsAndStandardInput) {
    write("domains.txt",
          "# customers\n"
          "clean.test\n"
          "\n"
          "   parked.test   # no mail\n"
          "# broken.test\n");
    auto doc = check_json("--file domains.txt", 0);
    ASSERT_EQ(doc.at("domains").size(), 2u);
    EXPECT_EQ(doc.at("domains").at(0).at("domain"), "clean.test");
    EXPECT_EQ(doc.at("domains").at(1).at("domain"), "parked.test");

    auto r = rampart::test::shell(fmt::format(
        "cd {} && printf 'broken.test\\n' | {} check --json --dns {} --file - clean.test",
        quote(dir_.string()), quote(RAMPART_BINARY), server_->server().to_string()));
    EXPECT_EQ(r.status, 1);
    auto piped = json::parse(r.out);
    ASSERT_EQ(piped.at("domains").size(), 2u);
    EXPECT_EQ(piped.at("domains").at(0).at("domain"), "clean.test");  // arguments first
    EXPECT_EQ(piped.at("domains").at(1).at("domain"), "broken.test");
}

TEST_F(CheckCli, GivenSelectors) {
    auto doc = check_json("--selector google --selector s1 clean.test", 1);
    const auto& d = domain_in(doc, "clean.test");
    EXPECT_TRUE(has_code(d, "dkim-key-missing"));  // s1 was named and is not there
    ASSERT_EQ(d.at("dkim").size(), 1u);
    EXPECT_EQ(d.at("selectors_tried"), json({"google", "s1"}));
}

TEST_F(CheckCli, ConfiguredSelectorsAndDns) {
    write("rampart.toml", fmt::format("dns = \"{}\"\n[dkim]\nselectors = [\"corp\"]\n",
                                      server_->server().to_string()));
    auto r = check("--json clean.test", false);  // the server comes from the configuration
    ASSERT_EQ(r.status, 0) << r.out;
    auto doc = json::parse(r.out);
    EXPECT_EQ(domain_in(doc, "clean.test").at("selectors_tried").at(0), "corp");
}

/// An aggregate report for clean.test, begun two days ago: one source signing as clean.test with
/// selector MTA7 (reporters' case), one signing as an ESP's domain with its own selector.
std::string report_naming_selectors() {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto begin = now - 2 * 86400;
    auto record = [](const char* ip, const char* d, const char* selector) {
        return fmt::format(R"(  <record>
    <row><source_ip>{}</source_ip><count>40</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>
    </row>
    <identifiers><header_from>clean.test</header_from></identifiers>
    <auth_results>
      <dkim><domain>{}</domain><selector>{}</selector><result>pass</result></dkim>
      <spf><domain>clean.test</domain><result>fail</result></spf>
    </auth_results>
  </record>
)",
                           ip, d, selector);
    };
    return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>receiver.test</org_name><email>noreply@receiver.test</email>
    <report_id>learned-selectors-1</report_id>
    <date_range><begin>{}</begin><end>{}</end></date_range>
  </report_metadata>
  <policy_published><domain>clean.test</domain><p>reject</p></policy_published>
{}{}</feedback>
)",
                       begin, begin + 86400, record("192.0.2.10", "clean.test", "MTA7"),
                       record("198.51.100.20", "esp.test", "esp1"));
}

TEST_F(CheckCli, SelectorsLearnedFromReports) {
    write("report.xml", report_naming_selectors());
    auto ingested =
        rampart::test::shell(fmt::format("cd {} && {} ingest --db reports.db report.xml",
                                         quote(dir_.string()), quote(RAMPART_BINARY)));
    ASSERT_EQ(ingested.status, 0) << ingested.out;

    auto doc = check_json("--db reports.db clean.test", 0);
    const auto& d = domain_in(doc, "clean.test");
    // Only the selector that signs as clean.test itself; esp1 is the ESP's own (d=esp.test).
    EXPECT_EQ(d.at("selectors_from_reports"), json({"mta7"})) << d.dump();
    const auto& tried = d.at("selectors_tried");
    EXPECT_NE(std::find(tried.begin(), tried.end(), "mta7"), tried.end()) << tried.dump();
    EXPECT_EQ(std::find(tried.begin(), tried.end(), "esp1"), tried.end()) << tried.dump();
    bool audited = false;
    for (const auto& key : d.at("dkim"))
        if (key.at("selector") == "mta7") audited = key.at("key_bits") == 2048;
    EXPECT_TRUE(audited) << d.at("dkim").dump();

    auto text = check("--db reports.db clean.test");
    EXPECT_EQ(text.status, 0) << text.out;
    EXPECT_NE(text.out.find("DKIM  selectors seen in reports: mta7\n"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("DKIM  mta7: rsa 2048 bits (from reports)\n"), std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("DKIM  google: rsa 2048 bits\n"), std::string::npos) << text.out;

    // Explicit selectors replace every other source, the reports included.
    auto given = check_json("--db reports.db --selector google clean.test", 0);
    EXPECT_EQ(domain_in(given, "clean.test").at("selectors_tried"), json({"google"}));
}

TEST_F(CheckCli, SelectorSeenInReportsWithoutAKeyIsAWarning) {
    auto report = report_naming_selectors();
    report.replace(report.find("MTA7"), 4, "s202401");
    write("report.xml", report);
    auto ingested =
        rampart::test::shell(fmt::format("cd {} && {} ingest --db reports.db report.xml",
                                         quote(dir_.string()), quote(RAMPART_BINARY)));
    ASSERT_EQ(ingested.status, 0) << ingested.out;

    // A warning, not an error: the selector may have been retired on purpose.
    auto doc = check_json("--db reports.db clean.test", 0);
    const auto& d = domain_in(doc, "clean.test");
    bool warned = false;
    for (const auto& f : d.at("findings")) {
        if (f.at("code") == "dkim-reported-key-missing") {
            warned = f.at("severity") == "warning" &&
                     f.at("message").get<std::string>().find("s202401._domainkey.clean.test") !=
                         std::string::npos;
        }
    }
    EXPECT_TRUE(warned) << d.at("findings").dump();
}

TEST_F(CheckCli, AbsentDatabaseIsSkippedAndNotCreated) {
    auto doc = check_json("clean.test", 0);  // rampart.db in the working folder: absent
    const auto& d = domain_in(doc, "clean.test");
    EXPECT_EQ(d.at("selectors_from_reports"), json::array());
    const auto& tried = d.at("selectors_tried");
    EXPECT_EQ(std::find(tried.begin(), tried.end(), "mta7"), tried.end()) << tried.dump();
    EXPECT_FALSE(fs::exists(dir_ / "rampart.db"));

    auto r = check("--db elsewhere.db clean.test");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("seen in reports"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "elsewhere.db"));
}

TEST_F(CheckCli, ThousandDomains) {
    std::string list = "# generated\n";
    for (const auto& d : generated_) list += d + "\n";
    write("many.txt", list);
    const auto started = std::chrono::steady_clock::now();
    auto doc = check_json("--file many.txt", 1);  // every tenth domain is the broken one
    const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << fmt::format("rampart check: {} domains in {:.2f} s against a local Knot server\n",
                             generated_.size(), seconds);
    RecordProperty("seconds", fmt::format("{:.2f}", seconds));

    ASSERT_EQ(doc.at("domains").size(), generated_.size());
    EXPECT_EQ(doc.at("summary").at("domains"), generated_.size());
    std::size_t broken = 0;
    for (std::size_t i = 0; i < generated_.size(); ++i) {
        const auto& d = doc.at("domains").at(i);
        EXPECT_EQ(d.at("domain"), generated_[i]);
        EXPECT_FALSE(has_code(d, "dns-temperror")) << d.dump();
        if (has_code(d, "spf-plus-all")) ++broken;
    }
    EXPECT_EQ(broken, generated_.size() / 10);
}

}  // namespace

// `rampart senders` and `rampart sources` as users and scripts call them: reports ingested with
// `rampart ingest`, sources identified against a real authoritative server (Knot DNS) serving
// their PTR, A and SPF records, and the sender inventory read from rampart.toml. The JSON and CSV
// shapes, the grouping and identification, and the exit codes are the contract; classification
// details belong to classify's own tests, so only the clear classes are asserted here.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "catalogue/catalogue.hpp"
#include "dns/zone.hpp"
#include "harness/knot.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rampart::test::KnotServer;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string reverse(std::string_view text) {
    return rampart::dns::reverse_name(*rampart::IpAddress::parse(text));
}

// The office's server (declared in the inventory, SPF aligned), a SendGrid server (identified by
// SendGrid's published SPF range and its PTR), and a stranger with no PTR failing everything.
constexpr const char* office_ip = "192.0.2.10";
constexpr const char* sendgrid_ip = "198.51.100.20";
constexpr const char* stranger_ip = "203.0.113.9";

rampart::dns::Zone zone() {
    rampart::dns::Zone z;
    z.add_txt("acme.test", "v=spf1 ip4:192.0.2.0/24 -all");
    z.add_a("mail.acme.test", office_ip);
    z.add_name(reverse(office_ip), rampart::dns::RrType::ptr, "mail.acme.test");
    z.add_txt("sendgrid.net", "v=spf1 ip4:198.51.100.0/24 -all");
    z.add_a("o1.sendgrid.net", sendgrid_ip);
    z.add_name(reverse(sendgrid_ip), rampart::dns::RrType::ptr, "o1.sendgrid.net");
    return z;
}

/// Every top-level domain the identify layer asks about: the test's own, in-addr.arpa, and each
/// one under which the built-in catalogue's SPF includes live. Knot answers REFUSED outside its
/// zones, which Rampart rightly counts as DNS failing; serving them (mostly empty) gives the
/// NXDOMAIN the Internet would.
std::map<std::string, std::string> zones() {
    std::set<std::string> tlds{"test", "arpa", "net", "info"};
    auto add = [&](const std::vector<std::string>& names) {
        for (const auto& n : names) tlds.insert(n.substr(n.rfind('.') + 1));
    };
    for (const auto& p : rampart::catalogue::builtin().providers()) {
        add(p.spf.includes);
        for (const auto& r : p.regions) add(r.spf.includes);
    }
    const auto z = zone();
    std::map<std::string, std::string> out;
    for (const auto& tld : tlds) out.emplace(tld, z.to_master_file(tld));
    return out;
}

struct Row {
    std::string ip;
    int count = 0;
    std::string dkim_eval, spf_eval;                 // policy_evaluated
    std::string dkim_domain, selector, dkim_result;  // auth_results (none when empty)
    std::string spf_domain, spf_result;
};

std::string report_xml(const std::string& org, const std::string& id, std::int64_t begin,
                       const std::vector<Row>& rows) {
    std::string out = fmt::format(
        R"(<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>{}</org_name><email>noreply@{}.example</email>
    <report_id>{}</report_id><date_range><begin>{}</begin><end>{}</end></date_range>
  </report_metadata>
  <policy_published><domain>acme.test</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>
    <sp>none</sp><pct>100</pct></policy_published>
)",
        org, org, id, begin, begin + 86399);
    for (const auto& r : rows) {
        out += fmt::format(
            R"(  <record><row><source_ip>{}</source_ip><count>{}</count><policy_evaluated>
    <disposition>none</disposition><dkim>{}</dkim><spf>{}</spf></policy_evaluated></row>
    <identifiers><header_from>acme.test</header_from></identifiers><auth_results>
)",
            r.ip, r.count, r.dkim_eval, r.spf_eval);
        if (!r.dkim_domain.empty())
            out += fmt::format(
                "    <dkim><domain>{}</domain><selector>{}</selector><result>{}</result></dkim>\n",
                r.dkim_domain, r.selector, r.dkim_result);
        out += fmt::format(
            "    <spf><domain>{}</domain><scope>mfrom</scope><result>{}</result></spf>\n",
            r.spf_domain, r.spf_result);
        out += "  </auth_results></record>\n";
    }
    return out + "</feedback>\n";
}

class SendersCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        server_ = new KnotServer(zones());
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
            GTEST_SKIP() << skip_reason_ << ": `rampart senders` integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
        dir_ = fs::temp_directory_path() /
               fmt::format("rampart-senders-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        write("rampart.toml", R"([[client]]
name = "acme"
domains = ["acme.test"]

[[client.sender]]
name = "Office mail"
ips = ["192.0.2.0/24"]
)");
        // Three days ago: inside the default 30-day window whatever day the test runs.
        const auto now = std::chrono::system_clock::now();
        const auto day = std::chrono::floor<std::chrono::days>(now) - std::chrono::days{3};
        begin_ = std::chrono::duration_cast<std::chrono::seconds>(day.time_since_epoch()).count();
        write("google.xml",
              report_xml("google.com", "g-1", begin_,
                         {{office_ip, 40, "fail", "pass", "", "", "", "acme.test", "pass"},
                          {sendgrid_ip, 25, "pass", "fail", "sendgrid.info", "s1", "pass",
                           "sendgrid.net", "pass"},
                          {stranger_ip, 7, "fail", "fail", "evil.test", "x", "fail", "evil.test",
                           "fail"}}));
        write("yahoo.xml",
              report_xml("yahoo.com", "y-1", begin_,
                         {{office_ip, 10, "fail", "pass", "", "", "", "acme.test", "pass"}}));
        auto ingest = run("ingest --db rampart.db google.xml yahoo.xml");
        ASSERT_EQ(ingest.status, 0) << ingest.out;
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name) << text;
    }

    /// `rampart <args>` in the test's folder; stderr to the test log.
    rampart::test::ShellResult run(const std::string& args) const {
        return rampart::test::shell(
            fmt::format("cd {} && env -u RAMPART_DNS -u RAMPART_CONFIG -u RAMPART_DB {} {}",
                        quote(dir_.string()), quote(RAMPART_BINARY), args));
    }
    std::string dns() const { return " --dns " + server_->server().to_string(); }

    json run_json(const std::string& args, int expected_status) const {
        auto r = run(args + " --json");
        EXPECT_EQ(r.status, expected_status) << r.out;
        try {
            return json::parse(r.out);
        } catch (const json::exception& e) {
            ADD_FAILURE() << e.what() << "\n" << r.out;
            return json::object();
        }
    }

    static const json& sender_named(const json& doc, std::string_view name) {
        for (const auto& s : doc.at("senders"))
            if (s.at("name") == name) return s;
        static const json none = json::object();
        ADD_FAILURE() << name << " is not among " << doc.dump();
        return none;
    }
    static const json& sender_with(const json& doc, std::string_view address) {
        for (const auto& s : doc.at("senders"))
            for (const auto& src : s.at("sources")) {
                auto text = src.get<std::string>();
                if (text == address || text.starts_with(std::string(address).substr(
                                           0, std::string(address).rfind('.') + 1)))
                    return s;
            }
        static const json none = json::object();
        ADD_FAILURE() << address << " is in no sender of " << doc.dump();
        return none;
    }

    static inline KnotServer* server_ = nullptr;
    static inline std::string skip_reason_, start_error_;
    fs::path dir_;
    std::int64_t begin_ = 0;
};

void expect_members(const json& object, std::initializer_list<const char*> names) {
    ASSERT_TRUE(object.is_object()) << object.dump();
    for (const auto* name : names)
        EXPECT_TRUE(object.contains(name)) << name << " in " << object.dump();
}

TEST_F(SendersCli, JsonShapeGroupingAndClearClasses) {
    // The stranger fails both: some sender needs action, so the exit status is 1.
    auto doc = run_json("senders acme.test --db rampart.db" + dns(), 1);
    expect_members(doc, {"domain", "since", "until", "messages", "senders"});
    EXPECT_EQ(doc.at("domain"), "acme.test");
    EXPECT_EQ(doc.at("messages"), 82);
    ASSERT_EQ(doc.at("senders").size(), 3u) << doc.dump(2);
    // Every name asked about is served: nothing may have been answered from a stale cache.
    for (const auto& n : doc.at("notes"))
        EXPECT_FALSE(n.get<std::string>().starts_with("DNS unreachable")) << doc.at("notes").dump();
    for (const auto& s : doc.at("senders")) {
        expect_members(s, {"name", "known", "provider", "sources", "messages", "dmarc_pass",
                           "class", "explanation", "action"});
        EXPECT_TRUE(s.at("sources").is_array());
    }
    // By volume.
    EXPECT_EQ(doc.at("senders").at(0).at("messages"), 50);
    EXPECT_EQ(doc.at("senders").at(1).at("messages"), 25);
    EXPECT_EQ(doc.at("senders").at(2).at("messages"), 7);

    const auto& office = sender_named(doc, "Office mail");
    EXPECT_EQ(office.at("known"), true);
    EXPECT_EQ(office.at("messages"), 50);  // two reporters' rows, one sender
    EXPECT_EQ(office.at("dmarc_pass"), 50);
    EXPECT_EQ(office.at("class"), "passing");

    const auto& sendgrid = sender_with(doc, sendgrid_ip);
    EXPECT_EQ(sendgrid.at("provider"), "sendgrid");
    EXPECT_EQ(sendgrid.at("known"), false);
    EXPECT_EQ(sendgrid.at("messages"), 25);
    EXPECT_EQ(sendgrid.at("dmarc_pass"), 25);

    const auto& stranger = sender_with(doc, stranger_ip);
    EXPECT_EQ(stranger.at("known"), false);
    EXPECT_EQ(stranger.at("provider"), "");
    EXPECT_EQ(stranger.at("messages"), 7);
    EXPECT_EQ(stranger.at("dmarc_pass"), 0);
    EXPECT_EQ(stranger.at("class"), "unauthorised");
}

TEST_F(SendersCli, WindowExcludesTheUntilDay) {
    const auto day = std::chrono::sys_days{std::chrono::days{begin_ / 86400}};
    const std::chrono::year_month_day ymd{day};
    const auto text =
        fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    auto none =
        run_json("senders acme.test --db rampart.db --offline --since 60d --until " + text, 0);
    EXPECT_EQ(none.at("messages"), 0);
    EXPECT_EQ(none.at("until"), text);
    auto all = run_json("senders acme.test --db rampart.db --offline --since " + text, 1);
    EXPECT_EQ(all.at("messages"), 82);
    EXPECT_EQ(all.at("since"), text);
}

TEST_F(SendersCli, CsvHasAHeaderAndOneRowPerSender) {
    auto r = run("senders acme.test --db rampart.db --csv" + dns());
    EXPECT_EQ(r.status, 1) << r.out;
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (auto nl = r.out.find('\n'); nl != std::string::npos; nl = r.out.find('\n', start)) {
        lines.push_back(r.out.substr(start, nl - start));
        start = nl + 1;
    }
    ASSERT_EQ(lines.size(), 4u) << r.out;
    EXPECT_EQ(lines[0],
              "name,known,provider,class,messages,dmarc_pass,spf_aligned,dkim_aligned,sources,"
              "explanation,action");
    EXPECT_TRUE(lines[1].starts_with("Office mail,true,")) << lines[1];
    EXPECT_NE(lines[1].find(",passing,50,50,50,0,"), std::string::npos) << lines[1];
}

TEST_F(SendersCli, SourcesShowsIdentityAndTraffic) {
    auto doc = run_json("sources " + std::string(sendgrid_ip) + " --db rampart.db" + dns(), 0);
    expect_members(doc, {"ip", "identity", "messages", "domains"});
    EXPECT_EQ(doc.at("ip"), sendgrid_ip);
    const auto& id = doc.at("identity");
    EXPECT_EQ(id.at("ptr"), "o1.sendgrid.net");
    EXPECT_EQ(id.at("forward_confirmed"), true);
    EXPECT_EQ(id.at("provider"), "sendgrid");
    EXPECT_EQ(id.at("basis"), "spf");
    EXPECT_EQ(id.at("dns_failed"), false);
    EXPECT_TRUE(id.at("resolved_at").is_string());
    ASSERT_EQ(doc.at("domains").size(), 1u);
    const auto& d = doc.at("domains").at(0);
    EXPECT_EQ(d.at("domain"), "acme.test");
    EXPECT_EQ(d.at("messages"), 25);
    EXPECT_EQ(d.at("dmarc_pass"), 25);
    EXPECT_EQ(d.at("spf"), json({{"pass", 25}}));
    EXPECT_EQ(d.at("dkim"), json({{"pass", 25}}));

    auto text = run("sources " + std::string(sendgrid_ip) + " --db rampart.db" + dns());
    EXPECT_EQ(text.status, 0);
    EXPECT_NE(text.out.find("o1.sendgrid.net (forward-confirmed)"), std::string::npos) << text.out;

    auto nobody = run("sources 192.0.2.200 --db rampart.db --offline");
    EXPECT_EQ(nobody.status, 1) << nobody.out;
    auto bad = run("sources not-an-ip --db rampart.db --offline");
    EXPECT_EQ(bad.status, 2) << bad.out;
}

TEST_F(SendersCli, OfflineUsesWhatAnEarlierRunCached) {
    // Before any online run the cache is empty: no PTR is known.
    auto cold = run_json("sources " + std::string(sendgrid_ip) + " --db rampart.db --offline", 0);
    EXPECT_TRUE(cold.at("identity").at("ptr").is_null()) << cold.dump(2);

    auto online = run_json("senders acme.test --db rampart.db" + dns(), 1);
    ASSERT_EQ(online.at("senders").size(), 3u);

    // No --dns and --offline: nothing may be asked, yet the identities are there.
    auto offline = run_json("senders acme.test --db rampart.db --offline", 1);
    EXPECT_EQ(sender_with(offline, sendgrid_ip).at("provider"), "sendgrid");
    EXPECT_EQ(sender_named(offline, "Office mail").at("class"), "passing");
    bool noted = false;
    for (const auto& n : offline.at("notes"))
        noted = noted || n.get<std::string>().starts_with("offline");
    EXPECT_TRUE(noted) << offline.at("notes").dump();

    auto warm = run_json("sources " + std::string(sendgrid_ip) + " --db rampart.db --offline", 0);
    EXPECT_EQ(warm.at("identity").at("ptr"), "o1.sendgrid.net");
    EXPECT_EQ(warm.at("identity").at("basis"), "spf");
}

TEST_F(SendersCli, UsageErrors) {
    EXPECT_EQ(run("senders acme.test --db missing.db --offline").status, 2);
    EXPECT_EQ(run("senders acme.test --db rampart.db --offline --since yesterday").status, 2);
    EXPECT_EQ(run("senders acme.test --db rampart.db --offline --json --csv").status, 2);
    EXPECT_EQ(run("senders nodot --db rampart.db --offline").status, 2);
}

}  // namespace

// `rampart config check` as operators and scripts call it: the binary, a rampart.toml in a
// folder of its own, and a real authoritative server (Knot DNS) answering for the SPF includes
// the inventory names. The printed `FILE:LINE:COL: severity: message` lines, the exit status
// (0 clean or warnings only, 1 errors, 2 unreadable) and the JSON shape are the contract.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "dns/zone.hpp"
#include "harness/knot.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rampart::test::KnotServer;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

/// Includes that resolve, one without an SPF record, one with two; gone.esp.test is absent.
rampart::dns::Zone esp_zone() {
    rampart::dns::Zone z;
    z.add_txt("_spf.esp.test", "v=spf1 ip4:203.0.113.0/24 -all")
        .add_txt("_spf.other.test", "v=spf1 ip6:2001:db8:200::/48 ~all")
        .add_txt("nospf.esp.test", "google-site-verification=abc123")
        .add_txt("twice.esp.test", "v=spf1 -all")
        .add_txt("twice.esp.test", "v=spf1 ip4:192.0.2.1 -all");
    return z;
}

class ConfigCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        server_ = new KnotServer({{"test", esp_zone().to_master_file("test")}});
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
            GTEST_SKIP() << skip_reason_ << ": `rampart config check` integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
        dir_ = fs::temp_directory_path() /
               fmt::format("rampart-config-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    /// `rampart config check <args>` in the test's folder, DNS at the Knot server unless `dns`
    /// says otherwise; standard error joins standard output when `with_stderr`.
    rampart::test::ShellResult config_check(const std::string& args, bool with_stderr = false,
                                            std::string dns = {}) const {
        if (dns.empty()) dns = server_->server().to_string();
        return rampart::test::shell(fmt::format(
            "cd {} && env -u RAMPART_DNS -u RAMPART_CONFIG {} config check --dns {} {}{}",
            quote(dir_.string()), quote(RAMPART_BINARY), dns, args, with_stderr ? " 2>&1" : ""));
    }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name) << text;
    }

    static inline KnotServer* server_ = nullptr;
    static inline std::string skip_reason_, start_error_;
    fs::path dir_;
};

constexpr const char* good = R"(# two clients, each sender recognisable and in its own range
[[client]]
name = "acme"
contact = ["it@acme.example"]
domains = ["acme.example", "news.acme.example"]

[[client.sender]]
name = "Office mail"
provider = "microsoft-365"
dkim_domains = ["acme.example"]

[[client.sender]]
name = "Newsletter"
spf_includes = ["_spf.esp.test"]
dkim_domains = ["news.acme.example"]
return_path_domains = ["bounce.news.acme.example"]

[[client]]
name = "globex"
domains = ["globex.example"]

[[client.sender]]
name = "Relay"
ips = ["192.0.2.0/25", "2001:db8:1::/48"]
spf_includes = ["_spf.other.test"]

[[client.sender]]
name = "Old relay"
ips = ["192.0.2.128/25"]
status = "retired"
)";

TEST_F(ConfigCli, GoodFileExitsZero) {
    write("rampart.toml", good);
    auto r = config_check("");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "rampart.toml: 2 clients, 4 senders: 0 errors, 0 warnings\n");

    // --config names the file; the summary names it as given.
    fs::create_directories(dir_ / "etc");
    write("etc/clients.toml", good);
    fs::remove(dir_ / "rampart.toml");
    r = config_check("--config etc/clients.toml");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "etc/clients.toml: 2 clients, 4 senders: 0 errors, 0 warnings\n");
}

TEST_F(ConfigCli, WarningsAloneExitZero) {
    write("rampart.toml", R"([[client]]
name = "acme"
domains = ["acme.example"]

[[client.sender]]
name = "Mystery"
due = 2027-01-31
)");
    auto r = config_check("");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out,
              "rampart.toml:5:1: warning: sender 'Mystery' of client 'acme' cannot be recognised "
              "in reports: give it ips, a provider, spf_includes or dkim_domains\n"
              "rampart.toml:5:1: warning: sender 'Mystery' of client 'acme' has a due date "
              "(2027-01-31) but no decision: say what is due\n"
              "rampart.toml: 1 client, 1 sender: 0 errors, 2 warnings\n");
}

constexpr const char* broken = R"([[client]]
name = "acme"
domains = ["acme.example"]

[[client.sender]]
name = "Office"
ips = ["192.0.2.0/24"]
provider = "microsoft365"

[[client.sender]]
name = "Mailer"
provider = "zoho:mars"
spf_includes = ["gone.esp.test", "nospf.esp.test", "_spf.esp.test"]

[[client]]
name = "globex"
domains = ["globex.example"]

[[client.sender]]
name = "Relay"
ips = ["192.0.2.128/25"]
spf_includes = ["twice.esp.test"]
)";

TEST_F(ConfigCli, ErrorsExitOneWithTheirPositions) {
    write("rampart.toml", broken);
    auto r = config_check("");
    EXPECT_EQ(r.status, 1) << r.out;
    const std::string expected =
        "rampart.toml:8:12: error: sender 'Office' of client 'acme': provider: ";
    EXPECT_EQ(r.out.rfind(expected, 0), 0u) << r.out;
    EXPECT_NE(r.out.find("microsoft365"), std::string::npos) << r.out;
    for (const char* line : {
             "rampart.toml:10:1: error: sender 'Mailer' of client 'acme': include gone.esp.test "
             "does not resolve: the name does not exist (NXDOMAIN)\n",
             "rampart.toml:10:1: error: sender 'Mailer' of client 'acme': include nospf.esp.test "
             "does not resolve: no v=spf1 record among its 1 TXT record\n",
             "rampart.toml:12:12: error: sender 'Mailer' of client 'acme': provider: ",
             "rampart.toml:19:1: error: sender 'Relay' of client 'globex': include "
             "twice.esp.test has 2 v=spf1 records",
             "rampart.toml:21:7: error: sender 'Relay' of client 'globex' range 192.0.2.128/25 "
             "overlaps sender 'Office' of client 'acme' range 192.0.2.0/24 (line 7): mail from "
             "the overlap cannot be told apart\n",
             "rampart.toml: 2 clients, 3 senders: 6 errors, 0 warnings\n",
         })
        EXPECT_NE(r.out.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << r.out;
    // The include that resolves is not mentioned.
    EXPECT_EQ(r.out.find("_spf.esp.test"), std::string::npos) << r.out;
    // In file order.
    EXPECT_LT(r.out.find(":8:12:"), r.out.find(":10:1:"));
    EXPECT_LT(r.out.find(":19:1:"), r.out.find(":21:7:"));
}

TEST_F(ConfigCli, SecretFilesMustExistAndBeTheOwnersAlone) {
    write("acme.tsig", "key \"rampart-acme\" { algorithm hmac-sha256; secret \"c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw==\"; };\n");
    fs::permissions(dir_ / "acme.tsig", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                            fs::perms::others_read);
    write("rampart.toml", R"([[client]]
name = "acme"
domains = ["acme.example"]
[client.publisher]
kind = "rfc2136"
tsig_key_file = "acme.tsig"

[[client]]
name = "globex"
domains = ["globex.example"]
[client.publisher]
kind = "rfc2136"
tsig_key_file = "missing.tsig"
)");
    auto r = config_check("");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("rampart.toml:4:1: error: the TSIG key file "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("missing.tsig does not exist"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("c2VjcmV0"), std::string::npos) << "the secret is never shown";

    fs::permissions(dir_ / "acme.tsig", fs::perms::owner_read | fs::perms::owner_write);
    write("missing.tsig", "");
    fs::permissions(dir_ / "missing.tsig", fs::perms::owner_read | fs::perms::owner_write);
    r = config_check("");
    EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(ConfigCli, JsonShape) {
    write("rampart.toml", broken);
    auto r = config_check("--json");
    EXPECT_EQ(r.status, 1) << r.out;
    auto doc = json::parse(r.out);
    EXPECT_EQ(doc.at("file"), "rampart.toml");
    EXPECT_EQ(doc.at("clients"), 2);
    EXPECT_EQ(doc.at("senders"), 3);
    ASSERT_EQ(doc.at("problems").size(), 6u) << doc.dump(2);
    for (const auto& p : doc.at("problems")) {
        ASSERT_EQ(p.size(), 5u) << p.dump();
        EXPECT_EQ(p.at("file"), "rampart.toml");
        EXPECT_TRUE(p.at("line").is_number_unsigned());
        EXPECT_TRUE(p.at("column").is_number_unsigned());
        EXPECT_EQ(p.at("severity"), "error");
        EXPECT_TRUE(p.at("message").is_string());
    }
    const auto& first = doc.at("problems").at(0);
    EXPECT_EQ(first.at("line"), 8);
    EXPECT_EQ(first.at("column"), 12);

    write("rampart.toml", good);
    r = config_check("--json");
    EXPECT_EQ(r.status, 0) << r.out;
    doc = json::parse(r.out);
    EXPECT_EQ(doc, json::parse(R"({"file": "rampart.toml", "clients": 2, "senders": 4,
                                   "problems": []})"));
}

TEST_F(ConfigCli, ParseErrorsExitTwoWithTheirPosition) {
    write("rampart.toml", R"([[client]]
name = "acme"

[[client.sender]]
name = "Office"
ips = ["192.0.2.0/24", "198.51.100.1/24"]
)");
    auto r = config_check("");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(r.out,
              "rampart.toml:6:24: error: ips: '198.51.100.1/24' has host bits set beyond "
              "/24\n");
    r = config_check("--json");
    EXPECT_EQ(r.status, 2) << r.out;
    auto doc = json::parse(r.out);
    ASSERT_EQ(doc.at("problems").size(), 1u);
    EXPECT_EQ(doc.at("problems").at(0).at("line"), 6);
    EXPECT_EQ(doc.at("problems").at(0).at("column"), 24);

    write("rampart.toml", "[[client]]\nname = \"acme\"\n[[client.sender]\n");
    r = config_check("");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(r.out.rfind("rampart.toml:3:", 0), 0u) << r.out;
}

TEST_F(ConfigCli, MissingFileExitsTwoNamingIt) {
    auto r = config_check("", true);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("no configuration file: looked for " + (dir_ / "rampart.toml").string()),
              std::string::npos)
        << r.out;
    r = config_check("--config absent.toml", true);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("absent.toml"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "absent.toml"));
}

TEST_F(ConfigCli, UnansweredIncludeIsAWarning) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    write("rampart.toml", R"([[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "Newsletter"
spf_includes = ["_spf.esp.test"]
)");
    auto r = config_check("", false, silent.server().to_string() + " 2>/dev/null");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("rampart.toml:4:1: warning: sender 'Newsletter' of client 'acme': "
                         "include _spf.esp.test could not be checked: timeout"),
              std::string::npos)
        << r.out;
}

}  // namespace

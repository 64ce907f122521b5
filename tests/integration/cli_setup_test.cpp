// `rampart setup` as users call it: zone-file lines and JSON, the key file (0600, refused the
// second time), the private key absent from everything printed, the exit codes, and SPF costs
// measured against a real authoritative server (Knot) or, with DNS unreachable, said to be
// unmeasured.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "dns/zone.hpp"
#include "harness/knot.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rampart::test::KnotServer;

namespace {

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart_bin = quote(RAMPART_BINARY);

class CliSetup : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("rampart-cli-setup-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    rampart::test::ShellResult setup(const std::string& args) {
        return rampart::test::shell("cd " + quote(dir_) + " && RAMPART_CONFIG= RAMPART_DNS= " +
                                    rampart_bin + " setup " + args + " 2>" + quote(dir_ / "err"));
    }
    std::string err() const { return rampart::test::read_file(dir_ / "err"); }

    /// The base64 lines of a PEM file: none of them may ever be printed.
    static std::vector<std::string> secret_lines(const fs::path& pem) {
        std::vector<std::string> out;
        std::istringstream in(rampart::test::read_file(pem));
        for (std::string line; std::getline(in, line);)
            if (!line.starts_with("-----") && line.size() >= 16) out.push_back(line);
        return out;
    }

    fs::path dir_;
};

// 127.0.0.1:1: nothing listens, so every query fails at once.
TEST_F(CliSetup, WithDnsUnreachableThePlanSaysCostsWereNotMeasured) {
    auto r = setup("example.com --provider google-workspace --ip 192.0.2.0/24 --json --dns 127.0.0.1:1");
    ASSERT_EQ(r.status, 0) << err();
    auto doc = json::parse(r.out);
    EXPECT_EQ(doc["domain"], "example.com");
    EXPECT_EQ(doc["spf"]["record"], "v=spf1 ip4:192.0.2.0/24 include:_spf.google.com ~all");
    EXPECT_EQ(doc["spf"]["measured"], false);
    EXPECT_EQ(doc["spf"]["lookups"], 4);
    EXPECT_EQ(doc["spf"]["includes"][0]["source"], "catalogue");
    EXPECT_EQ(doc["dkim"]["selector"].get<std::string>().size(), 7u);  // s + YYYYMM
    EXPECT_EQ(doc["dkim"]["key_type"], "rsa");
    EXPECT_EQ(doc["dkim"]["key_bits"], 2048);
    EXPECT_EQ(doc["dmarc"]["record"], "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com");
    bool said = false;
    for (const auto& n : doc["notes"])
        said = said || n.get<std::string>().find("could not all be measured") != std::string::npos;
    EXPECT_TRUE(said) << r.out;

    fs::path key = dir_ / doc["dkim"]["private_key_file"].get<std::string>();
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    for (const auto& line : secret_lines(key)) {
        EXPECT_EQ(r.out.find(line), std::string::npos) << "private key on stdout";
        EXPECT_EQ(err().find(line), std::string::npos) << "private key on stderr";
    }

    // The same selector again: refused, exit 1, the key untouched.
    auto before = rampart::test::read_file(key);
    auto again = setup("example.com --ip 192.0.2.1 --dns 127.0.0.1:1 --selector " +
                       doc["dkim"]["selector"].get<std::string>());
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(err().find("already exists"), std::string::npos) << err();
    EXPECT_EQ(rampart::test::read_file(key), before);
}

TEST_F(CliSetup, ZoneFileLinesAndDryRun) {
    auto r = setup("news.example.com --ip 192.0.2.1 --key-type ed25519 --selector s1 "
                   "--rua dmarc@reports.example.net --dry-run --dns 127.0.0.1:1");
    ASSERT_EQ(r.status, 0) << err();
    EXPECT_NE(r.out.find("news.example.com. 3600 IN TXT \"v=spf1 ip4:192.0.2.1 ~all\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("s1._domainkey.news.example.com. 3600 IN TXT \"v=DKIM1; k=ed25519; p="), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("_dmarc.news.example.com. 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@reports.example.net\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("news.example.com._report._dmarc.reports.example.net. 3600 IN TXT \"v=DMARC1\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("<not written: --dry-run>"), std::string::npos);
    EXPECT_NE(r.out.find("dual signing"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "keys"));
}

TEST_F(CliSetup, ExitCodes) {
    EXPECT_EQ(setup("example.com --provider gmail --dns 127.0.0.1:1").status, 2);
    EXPECT_EQ(setup("example.com --ip 192.0.2.1 --key-bits 1024 --dns 127.0.0.1:1").status, 2);
    EXPECT_EQ(setup("example.com --ip 192.0.2.300 --dns 127.0.0.1:1").status, 2);
    EXPECT_EQ(setup("--ip 192.0.2.1").status, 2);
    auto list = setup("--list-providers --json");
    ASSERT_EQ(list.status, 0);
    EXPECT_GE(json::parse(list.out)["providers"].size(), 20u);
}

TEST_F(CliSetup, MeasuresIncludesOnARealServer) {
    if (auto why = KnotServer::missing(); !why.empty()) {
        if (rampart::test::require_real_servers()) FAIL() << why;
        GTEST_SKIP() << why;
    }
    rampart::dns::Zone zone;
    zone.add_txt("_spf.provider.example", "v=spf1 include:a._spf.provider.example include:b._spf.provider.example -all");
    zone.add_txt("a._spf.provider.example", "v=spf1 ip4:192.0.2.0/24 -all");
    zone.add_txt("b._spf.provider.example", "v=spf1 ip4:198.51.100.0/24 -all");
    for (int i = 0; i < 4; ++i)
        zone.add_txt("big" + std::to_string(i) + ".example",
                     "v=spf1 include:_spf.provider.example -all");
    zone.add_mx("shop.example", 10, "mx.shop.example");
    zone.add_a("mx.shop.example", "192.0.2.25");
    KnotServer server({{"example", zone.to_master_file("example")}});
    ASSERT_EQ(server.start(), "");
    auto dns = " --dns 127.0.0.1:" + std::to_string(server.port());

    auto r = setup("shop.example --include _spf.provider.example --mx --json" + dns);
    ASSERT_EQ(r.status, 0) << err();
    auto doc = json::parse(r.out);
    EXPECT_EQ(doc["spf"]["measured"], true) << r.out;
    EXPECT_EQ(doc["spf"]["lookups"], 4);  // mx 1 + include 3
    EXPECT_EQ(doc["spf"]["includes"][1]["lookups"], 3);
    EXPECT_EQ(doc["spf"]["includes"][1]["source"], "measured");

    // Four includes of 4 each, plus the rest: over 10, refused with the breakdown.
    auto over = setup("shop.example --include big0.example --include big1.example --include "
                      "big2.example --json --dry-run" + dns);
    EXPECT_EQ(over.status, 1) << over.out;
    auto refusal = json::parse(over.out);
    EXPECT_EQ(refusal["spf"]["lookups"], 12);
    EXPECT_NE(err().find("= 12 of 10"), std::string::npos) << err();
    auto missing = setup("shop.example --include gone.example --dry-run" + dns);
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(err().find("has no SPF record"), std::string::npos) << err();
}

}  // namespace

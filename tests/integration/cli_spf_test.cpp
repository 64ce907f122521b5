// `rampart spf` as users and scripts call it, against a real authoritative server (Knot DNS on
// 127.0.0.1, tests/harness/knot.hpp): the JSON and exit-code contract, the trace with each
// term's look-ups, an explanation from exp=, a record too big for UDP, a redirect loop, and a
// server that never answers (temperror, never a hang or a crash).
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <string>

#include "dns/zone.hpp"
#include "harness/knot.hpp"
#include "support.hpp"

namespace {

using nlohmann::json;
using rampart::test::KnotServer;

const std::string origin = "spf.test";

rampart::dns::Zone zone() {
    rampart::dns::Zone z;
    z.add_txt("spf.test",
              "v=spf1 ip4:192.0.2.0/24 include:_spf.spf.test -all exp=why.spf.test");
    z.add_txt("_spf.spf.test", "v=spf1 a:mail.spf.test mx ~all");
    z.add_a("mail.spf.test", "198.51.100.7");
    z.add_txt("why.spf.test", "%{i} may not send mail for %{d}");
    z.add_txt("loop.spf.test", "v=spf1 redirect=loop.spf.test");
    std::string big = "v=spf1";
    for (int i = 0; i < 40; ++i) big += " ip4:203.0.113." + std::to_string(i);
    big += " -all";
    z.add_txt("big.spf.test", std::string_view(big));  // > 512 octets: UDP truncates, TCP retries
    return z;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }
const std::string rampart = quote(RAMPART_BINARY);

class CliSpf : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        server_ = new KnotServer(std::map<std::string, std::string>{
            {origin, zone().to_master_file(origin)}});
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
            GTEST_SKIP() << skip_reason_ << ": SPF CLI integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
    }

    static rampart::test::ShellResult spf(const std::string& args) {
        return rampart::test::shell(rampart + " spf --dns " + server_->server().to_string() +
                                    " " + args + " 2>/dev/null");
    }
    static json spf_json(const std::string& args, int expected_status) {
        auto r = spf("--json " + args);
        EXPECT_EQ(r.status, expected_status) << r.out;
        return json::parse(r.out);
    }

    static inline KnotServer* server_ = nullptr;
    static inline std::string skip_reason_, start_error_;
};

TEST_F(CliSpf, PassThroughIncludeWithTraceAndExitZero) {
    auto doc = spf_json("spf.test --ip 198.51.100.7 --sender alice@spf.test --helo mx.example", 0);
    EXPECT_EQ(doc["result"], "pass");
    EXPECT_EQ(doc["domain"], "spf.test");
    EXPECT_EQ(doc["ip"], "198.51.100.7");
    EXPECT_EQ(doc["sender"], "alice@spf.test");
    EXPECT_EQ(doc["helo"], "mx.example");
    EXPECT_TRUE(doc["explanation"].is_null());
    EXPECT_EQ(doc["lookups"], 2);
    EXPECT_EQ(doc["void_lookups"], 0);
    ASSERT_EQ(doc["trace"].size(), 3u);
    EXPECT_EQ(doc["trace"][1]["term"], "include:_spf.spf.test");
    EXPECT_EQ(doc["trace"][1]["total_lookups"], 2);
    EXPECT_EQ(doc["trace"][2]["depth"], 1);
    EXPECT_EQ(doc["trace"][2]["domain"], "_spf.spf.test");
    EXPECT_EQ(doc["trace"][2]["outcome"], "matched → pass");
}

TEST_F(CliSpf, FailCarriesTheExplanationAndExitsOne) {
    auto doc = spf_json("spf.test --ip 203.0.113.9", 1);
    EXPECT_EQ(doc["result"], "fail");
    EXPECT_EQ(doc["explanation"], "203.0.113.9 may not send mail for spf.test");
    EXPECT_EQ(doc["sender"], "postmaster@spf.test");
    // a:mail.spf.test answers; mx finds no MX at _spf.spf.test: one void look-up.
    EXPECT_EQ(doc["lookups"], 3);
    EXPECT_EQ(doc["void_lookups"], 1);
}

TEST_F(CliSpf, HumanOutputHasResultLineAndIndentedTrace) {
    auto r = spf("spf.test --ip 203.0.113.9");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("spf.test: fail for 203.0.113.9"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("explanation: 203.0.113.9 may not send mail for spf.test"),
              std::string::npos);
    EXPECT_NE(r.out.find("DNS look-ups: 3 of 10"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n    a:mail.spf.test"), std::string::npos) << r.out;
    // Each line shows the count when its term ran: the include is the first look-up, although
    // its subtree brings the total to 3 (the JSON's total_lookups for it).
    const auto at = r.out.find("  include:_spf.spf.test");
    ASSERT_NE(at, std::string::npos) << r.out;
    const auto line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(line.find("+1 = 1 "), std::string::npos) << line;
}

TEST_F(CliSpf, RecordTooBigForUdpIsReadOverTcp) {
    EXPECT_EQ(spf_json("big.spf.test --ip 203.0.113.39", 0)["result"], "pass");
}

TEST_F(CliSpf, RedirectLoopIsPermerrorAtTheEleventhLookup) {
    auto doc = spf_json("loop.spf.test --ip 192.0.2.1", 1);
    EXPECT_EQ(doc["result"], "permerror");
    EXPECT_EQ(doc["lookups"], 11);
    EXPECT_NE(doc["reason"].get<std::string>().find("11th"), std::string::npos) << doc["reason"];
}

TEST_F(CliSpf, NoRecordIsNone) {
    EXPECT_EQ(spf_json("nothing.spf.test --ip 192.0.2.1", 1)["result"], "none");
}

TEST_F(CliSpf, UnusableInputExitsTwo) {
    EXPECT_EQ(spf("spf.test --ip 300.1.2.3").status, 2);
    EXPECT_EQ(spf("localhost --ip 192.0.2.1").status, 2);
    EXPECT_EQ(spf("'bad..name' --ip 192.0.2.1").status, 2);
    auto r = rampart::test::shell(rampart + " spf spf.test --ip 192.0.2.1 --dns not-an-ip 2>/dev/null");
    EXPECT_EQ(r.status, 2);
}

TEST_F(CliSpf, ServerThatNeverAnswersIsTemperror) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    auto r = rampart::test::shell(rampart + " spf --json spf.test --ip 192.0.2.1 --dns " +
                                  silent.server().to_string() + " 2>/dev/null");
    EXPECT_EQ(r.status, 1);
    auto doc = json::parse(r.out);
    EXPECT_EQ(doc["result"], "temperror");
    EXPECT_NE(doc["reason"].get<std::string>().find("timeout"), std::string::npos) << doc["reason"];
}

}  // namespace

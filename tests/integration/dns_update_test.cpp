// RFC 2136 UPDATE signed with TSIG (RFC 8945) against a real Knot DNS on 127.0.0.1
// (tests/harness/knot.hpp), checked by asking the server directly (ask_server, RD=0, AA).
//
// RFC 2136 §3.2.5: a failed value-dependent prerequisite is NXRRSET, a failed "RRset does not
// exist" YXRRSET, and §3.7: nothing changes when a prerequisite fails. RFC 8945 §5.2: an unknown
// key is NOTAUTH/BADKEY, a wrong MAC NOTAUTH/BADSIG, both unsigned. Also: a secondary
// (127.0.0.2, same port) serves the change after the primary's NOTIFY; a closed port is
// Errc::io, a server that never answers a time-out within the time given.
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/update.hpp"
#include "harness/knot.hpp"

namespace {

using namespace rampart;
using namespace rampart::dns;
using rampart::test::KnotOptions;
using rampart::test::KnotServer;
using namespace std::chrono_literals;

// Test keys only, made up for this file.
constexpr const char* secret = "cmFtcGFydC1pbnRlZ3JhdGlvbi10ZXN0LWtleS0wMDE=";
constexpr const char* wrong_secret = "bm90LXRoZS1yaWdodC1rZXktZm9yLXRoaXMtem9uZSE=";

constexpr const char* zone_text =
    "$ORIGIN acme.example.\n"
    "$TTL 300\n"
    "@ IN SOA ns1.acme.example. hostmaster.acme.example. 1 3600 600 86400 300\n"
    "@ IN NS ns1.acme.example.\n"
    "ns1 IN A 127.0.0.1\n"
    "_dmarc IN TXT \"v=DMARC1; p=none\"\n";

constexpr std::string_view dmarc = "_dmarc.acme.example";

class Update : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = KnotServer::missing(); !why.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why << ": UPDATE integration tests skipped";
        }
        KnotOptions options;
        options.update_key = TsigKey("rampart-acme", TsigAlgorithm::hmac_sha256, secret);
        server_ = std::make_unique<KnotServer>(
            std::map<std::string, std::string>{{"acme.example", zone_text}}, options);
        ASSERT_EQ(server_->start(), "");
        // The key goes through the file format the operator uses.
        const auto path = rampart::test::write_tsig_key_file(server_->dir(), *options.update_key);
        auto read = read_tsig_key_file(path);
        ASSERT_TRUE(read) << read.error().reason;
        key_ = *read;
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
    }

    [[nodiscard]] UpdateOptions options() const { return {server_->server(), 5000ms}; }

    static TxtUpdate change(std::vector<std::string> expected, std::vector<std::string> to) {
        return {"acme.example", std::string(dmarc), std::move(expected), std::move(to), 300};
    }

    /// The TXT values the server serves at _dmarc, asked directly.
    [[nodiscard]] std::vector<std::string> served(const Server& server) const {
        auto a = ask_server(server, dmarc, RrType::txt, 2000ms);
        EXPECT_TRUE(a.aa) << a.answer.detail;
        std::vector<std::string> out;
        for (const auto& t : a.answer.txt()) out.push_back(t.joined());
        std::sort(out.begin(), out.end());
        return out;
    }

    std::unique_ptr<KnotServer> server_;
    TsigKey key_;
};

TEST_F(Update, ReplacesTheRecordAndTheServerAnswersItAuthoritatively) {
    auto reply = send_update(change({"v=DMARC1; p=none"}, {"v=DMARC1; p=quarantine; pct=25"}), key_,
                             options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 0);
    EXPECT_TRUE(reply->signed_reply_verified);
    EXPECT_TRUE(reply->applied()) << reply->detail;
    EXPECT_EQ(reply->detail, "NOERROR");

    auto a = ask_server(server_->server(), dmarc, RrType::txt, 2000ms);
    ASSERT_EQ(a.answer.status, Status::ok) << a.answer.detail;
    EXPECT_TRUE(a.aa);
    ASSERT_EQ(a.answer.txt().size(), 1u);
    EXPECT_EQ(a.answer.txt()[0].joined(), "v=DMARC1; p=quarantine; pct=25");
    EXPECT_EQ(a.answer.records[0].ttl, 300u);
}

TEST_F(Update, LongValuesAndSeveralRecordsRoundTrip) {
    const std::string long_value = "v=DKIM1; k=rsa; p=" + std::string(400, 'A');
    auto reply = send_update(change({"v=DMARC1; p=none"}, {long_value, "second"}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    ASSERT_TRUE(reply->applied()) << reply->detail;
    EXPECT_EQ(served(server_->server()),
              (std::vector<std::string>{"second", long_value}));  // sorted
    // The exact RRset as the prerequisite, split the same way: applies again.
    reply = send_update(change({"second", long_value}, {"v=DMARC1; p=reject"}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_TRUE(reply->applied()) << reply->detail;
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=reject"});
}

TEST_F(Update, StaleExpectedIsNxrrsetAndChangesNothing) {
    auto reply =
        send_update(change({"v=DMARC1; p=reject"}, {"v=DMARC1; p=quarantine"}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 8);
    EXPECT_EQ(rcode_name(reply->rcode), "NXRRSET");
    EXPECT_TRUE(reply->conflict());
    EXPECT_FALSE(reply->applied());
    EXPECT_TRUE(reply->signed_reply_verified);
    EXPECT_NE(reply->detail.find("NXRRSET"), std::string::npos);
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=none"});
}

TEST_F(Update, EmptyExpectedWhenTheNameHasARecordIsYxrrset) {
    auto reply = send_update(change({}, {"v=DMARC1; p=quarantine"}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 7);
    EXPECT_TRUE(reply->conflict());
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=none"});
}

TEST_F(Update, WrongSecretIsBadsigAndChangesNothing) {
    const TsigKey wrong("rampart-acme", TsigAlgorithm::hmac_sha256, wrong_secret);
    auto reply =
        send_update(change({"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}), wrong, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 9);
    EXPECT_EQ(reply->tsig_error, 16);
    EXPECT_FALSE(reply->applied());
    EXPECT_FALSE(reply->signed_reply_verified);
    EXPECT_NE(reply->detail.find("BADSIG"), std::string::npos) << reply->detail;
    EXPECT_EQ(reply->detail.find(wrong_secret), std::string::npos);
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=none"});
}

TEST_F(Update, UnknownKeyNameIsBadkeyAndChangesNothing) {
    const TsigKey stranger("someone-else", TsigAlgorithm::hmac_sha256, secret);
    auto reply =
        send_update(change({"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}), stranger, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_EQ(reply->rcode, 9);
    EXPECT_EQ(reply->tsig_error, 17);
    EXPECT_NE(reply->detail.find("BADKEY"), std::string::npos) << reply->detail;
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=none"});
}

TEST_F(Update, EmptyReplacementDeletesTheRecord) {
    auto reply = send_update(change({"v=DMARC1; p=none"}, {}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    ASSERT_TRUE(reply->applied()) << reply->detail;
    auto a = ask_server(server_->server(), dmarc, RrType::txt, 2000ms);
    EXPECT_TRUE(a.aa);
    EXPECT_TRUE(a.answer.empty()) << to_string(a.answer.status) << " " << a.answer.detail;
    // And back, guarded by "RRset does not exist".
    reply = send_update(change({}, {"v=DMARC1; p=none"}), key_, options());
    ASSERT_TRUE(reply) << reply.error().reason;
    EXPECT_TRUE(reply->applied()) << reply->detail;
    EXPECT_EQ(served(server_->server()), std::vector<std::string>{"v=DMARC1; p=none"});
}

TEST_F(Update, SecondaryServesTheChangeAfterNotify) {
    const auto port = rampart::test::free_dns_port({"127.0.0.1", "127.0.0.2"});
    ASSERT_NE(port, 0);
    const Server primary_at{*IpAddress::parse("127.0.0.1"), port};
    const Server secondary_at{*IpAddress::parse("127.0.0.2"), port};
    KnotOptions p;
    p.port = port;
    p.update_key = key_;
    p.notify = {secondary_at};
    KnotServer primary({{"acme.example", zone_text}}, p);
    ASSERT_EQ(primary.start(), "");
    KnotOptions s;
    s.address = "127.0.0.2";
    s.port = port;
    s.primary = primary_at;
    KnotServer secondary({{"acme.example", ""}}, s);
    const auto started = secondary.start();
    ASSERT_EQ(started, "") << primary.log();
    EXPECT_EQ(served(secondary.server()), std::vector<std::string>{"v=DMARC1; p=none"});

    auto reply = send_update(change({"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}), key_,
                             {primary.server(), 5000ms});
    ASSERT_TRUE(reply) << reply.error().reason;
    ASSERT_TRUE(reply->applied()) << reply->detail;
    std::vector<std::string> seen;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        seen = served(secondary.server());
        if (seen == std::vector<std::string>{"v=DMARC1; p=reject"}) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(seen, std::vector<std::string>{"v=DMARC1; p=reject"})
        << "primary log:\n"
        << primary.log() << "\nsecondary log:\n"
        << secondary.log();
    auto soa = ask_server(secondary.server(), "acme.example", RrType::soa, 2000ms);
    ASSERT_TRUE(soa.answer.soa());
    EXPECT_GT(soa.answer.soa()->serial, 1u);
}

TEST_F(Update, ServerKilledMidwayIsAnIoErrorOrTimeout) {
    server_->kill();
    auto reply = send_update(change({"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}), key_,
                             {server_->server(), 500ms});
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::io) << reply.error().reason;
    auto a = ask_server(server_->server(), dmarc, RrType::txt, 500ms);
    EXPECT_TRUE(a.answer.failed());
}

// ---- no server, or one that never answers ---------------------------------------------------

class Unreachable : public ::testing::Test {
protected:
    static TsigKey key() { return {"rampart-acme", TsigAlgorithm::hmac_sha256, secret}; }
    static TxtUpdate change() {
        return {"acme.example", std::string(dmarc), {"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}};
    }
};

TEST_F(Unreachable, NothingListeningIsAnIoError) {
    const auto port = rampart::test::free_dns_port(std::vector<std::string>{"127.0.0.1"});
    ASSERT_NE(port, 0);
    auto reply = send_update(change(), key(), {{*IpAddress::parse("127.0.0.1"), port}, 2000ms});
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::io) << reply.error().reason;
    EXPECT_EQ(reply.error().reason.find(secret), std::string::npos);
}

TEST_F(Unreachable, SilentServerTimesOutWithinTheTimeout) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    const auto begin = std::chrono::steady_clock::now();
    auto reply = send_update(change(), key(), {silent.server(), 300ms});
    const auto took = std::chrono::steady_clock::now() - begin;
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::transient);
    EXPECT_NE(reply.error().reason.find("timed out"), std::string::npos) << reply.error().reason;
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 3s);
}

TEST_F(Unreachable, AskServerAgainstSilentServerIsATimeout) {
    rampart::test::SilentServer silent;
    ASSERT_EQ(silent.error(), "");
    const auto begin = std::chrono::steady_clock::now();
    auto a = ask_server(silent.server(), dmarc, RrType::txt, 300ms);
    const auto took = std::chrono::steady_clock::now() - begin;
    EXPECT_EQ(a.answer.status, Status::timeout) << a.answer.detail;
    EXPECT_FALSE(a.aa);
    EXPECT_TRUE(silent.received_query());
    EXPECT_LT(took, 3s);
}

}  // namespace

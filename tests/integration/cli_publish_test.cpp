// `rampart advance`, `rampart publish` and `rampart history` changing a real zone: Knot DNS as
// the primary on 127.0.0.1 (RFC 2136 UPDATE with TSIG, RFC 8945) and a secondary on 127.0.0.2
// (same port, AXFR/IXFR after NOTIFY, RFC 1996), the zone's NS set naming both, `--dns` at the
// primary. Every outcome is checked at both servers directly (ask_server: RD=0, AA) and in the
// audit log (`history --json`) and the rollout state (`status --json`).
//
// RFC 2136 §3.2: the compare-and-swap prerequisite makes a hand edit a conflict and nothing
// changes; RFC 8945 §5.2: a wrong secret is NOTAUTH/BADSIG; RFC 2182 §3: a change is live only
// when every authoritative server serves it, else it is rolled back. A run killed between
// `sent` and `verified` is closed by the next run (`resolved`) and never applied twice.
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "dns/update.hpp"
#include "harness/knot.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace rampart;
using rampart::test::KnotOptions;
using rampart::test::KnotServer;
using namespace std::chrono_literals;

// Test keys only, made up for this file.
constexpr const char* secret = "cmFtcGFydC1wdWJsaXNoLXRlc3Qta2V5LTAwMDAwMDE=";
constexpr const char* wrong_secret = "bm90LXRoZS1yaWdodC1rZXktZm9yLXRoaXMtem9uZSE=";
constexpr const char* key_name = "rampart-acme";

constexpr std::string_view dmarc_name = "_dmarc.acme.example";
constexpr const char* rua = "mailto:dmarc@msp.example";
/// What the operator had before Rampart came.
constexpr const char* before = "v=DMARC1; p=none; rua=mailto:old@acme.example";
/// The record of the plan's first step (gradual: monitor) with the client's rua.
constexpr const char* monitor = "v=DMARC1; p=none; rua=mailto:dmarc@msp.example";
constexpr const char* quarantine_10 =
    "v=DMARC1; p=quarantine; sp=quarantine; t=y; pct=10; rua=mailto:dmarc@msp.example";

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string zone_text(const std::string& dmarc_lines) {
    return "$ORIGIN acme.example.\n"
           "$TTL 300\n"
           "@ IN SOA ns1.acme.example. hostmaster.acme.example. 1 3600 600 86400 300\n"
           "@ IN NS ns1.acme.example.\n"
           "@ IN NS ns2.acme.example.\n"
           "ns1 IN A 127.0.0.1\n"
           "ns2 IN A 127.0.0.2\n" +
           dmarc_lines;
}

std::string txt_line(const std::string& value) { return "_dmarc IN TXT \"" + value + "\"\n"; }

struct Zone {
    std::string dmarc_lines = txt_line(before);
    std::string publisher = "rfc2136";  // or "manual"
    int verify_seconds = 4;
};

class CliPublish : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = KnotServer::missing(); !why.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why << ": publishing integration tests skipped";
        }
        dir_ = fs::temp_directory_path() /
               fmt::format("rampart-publish-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_ = dir_ / "rampart.db";
        key_ = dns::TsigKey(key_name, dns::TsigAlgorithm::hmac_sha256, secret);
    }
    void TearDown() override {
        if (HasFailure()) {
            if (primary_)
                std::cerr << "---- primary knotd log ----\n" << primary_->log() << "----\n";
            if (secondary_)
                std::cerr << "---- secondary knotd log ----\n" << secondary_->log() << "----\n";
            std::cerr << "---- last rampart stderr ----\n" << err() << "----\n";
        }
        secondary_.reset();
        primary_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    /// Starts the primary (accepting UPDATE with the key, notifying the secondary) and the
    /// secondary, writes the key file and rampart.toml.
    void start(const Zone& zone = {}) {
        port_ = rampart::test::free_dns_port({"127.0.0.1", "127.0.0.2"});
        ASSERT_NE(port_, 0);
        KnotOptions p;
        p.port = port_;
        p.update_key = key_;
        p.notify = {secondary_at()};
        primary_ = std::make_unique<KnotServer>(
            std::map<std::string, std::string>{{"acme.example", zone_text(zone.dmarc_lines)}}, p);
        ASSERT_EQ(primary_->start(), "");
        start_secondary();
        ASSERT_FALSE(HasFatalFailure());

        key_file_ = rampart::test::write_tsig_key_file(dir_, key_);
        std::string publisher;
        if (zone.publisher == "rfc2136") {
            publisher = fmt::format(
                "kind = \"rfc2136\"\nserver = \"127.0.0.1:{}\"\nzone = \"acme.example\"\n"
                "tsig_key_file = \"{}\"\nverify_seconds = {}\n",
                port_, key_file_.string(), zone.verify_seconds);
        } else {
            publisher = fmt::format("kind = \"manual\"\noutbox = \"{}\"\nverify_seconds = {}\n",
                                    (dir_ / "outbox").string(), zone.verify_seconds);
        }
        std::ofstream(dir_ / "rampart.toml")
            << "[[client]]\nname = \"acme\"\ndomains = [\"acme.example\"]\n"
            << "rua = [\"" << rua << "\"]\n\n[client.publisher]\n"
            << publisher;
    }

    [[nodiscard]] dns::Server primary_at() const { return {*IpAddress::parse("127.0.0.1"), port_}; }
    [[nodiscard]] dns::Server secondary_at() const {
        return {*IpAddress::parse("127.0.0.2"), port_};
    }

    /// A (new) secondary on 127.0.0.2: transfers the zone from the primary before it answers.
    void start_secondary() {
        KnotOptions s;
        s.address = "127.0.0.2";
        s.port = port_;
        s.primary = primary_at();
        secondary_.reset();
        secondary_ = std::make_unique<KnotServer>(
            std::map<std::string, std::string>{{"acme.example", ""}}, s);
        ASSERT_EQ(secondary_->start(), "") << primary_->log();
    }

    /// `rampart <args> --db --config --now` (and `--dns` at the primary for advance/publish);
    /// stderr to dir_/err.
    rampart::test::ShellResult run(const std::string& args, const std::string& now,
                                   bool dns = false) const {
        return rampart::test::shell(
            fmt::format("cd {} && env -u RAMPART_DNS -u RAMPART_CONFIG -u RAMPART_DB {} {} --db {} "
                        "--config {} --now {}{} 2>{}",
                        quote(dir_.string()), quote(RAMPART_BINARY), args, quote(db_.string()),
                        quote((dir_ / "rampart.toml").string()), now,
                        dns ? " --dns " + primary_at().to_string() : std::string(),
                        quote((dir_ / "err").string())));
    }
    [[nodiscard]] std::string err() const { return rampart::test::read_file(dir_ / "err"); }

    static json parse(const std::string& text) {
        auto doc = json::parse(text, nullptr, false);
        EXPECT_FALSE(doc.is_discarded()) << text;
        return doc;
    }
    json status() const {
        auto r = run("status acme.example --json", "2026-11-20");
        EXPECT_EQ(r.status, 0) << err();
        auto doc = parse(r.out);
        return doc.is_discarded() ? json::object() : doc["domains"][0];
    }
    json history() const {
        auto r = run("history acme.example --json", "2026-11-20");
        EXPECT_EQ(r.status, 0) << err();
        return parse(r.out);
    }
    static std::vector<std::string> stages(const json& change) {
        std::vector<std::string> out;
        for (const auto& s : change["stages"]) out.push_back(s["stage"].get<std::string>());
        return out;
    }

    /// The TXT values `server` serves at _dmarc, asked directly, sorted; {"(no answer)"} when it
    /// does not answer authoritatively.
    static std::vector<std::string> served(const dns::Server& server) {
        auto a = dns::ask_server(server, dmarc_name, dns::RrType::txt, 1000ms);
        if (!a.aa || a.answer.failed()) return {"(no answer)"};
        std::vector<std::string> out;
        for (const auto& t : a.answer.txt()) out.push_back(t.joined());
        std::sort(out.begin(), out.end());
        return out;
    }
    /// Waits (at most 10 s) until `server` serves exactly `values`; returns what it served last.
    static std::vector<std::string> await(const dns::Server& server,
                                          std::vector<std::string> values) {
        std::sort(values.begin(), values.end());
        std::vector<std::string> seen;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            seen = served(server);
            if (seen == values) break;
            std::this_thread::sleep_for(50ms);
        }
        return seen;
    }
    /// The primary's SOA serial (0 when it does not answer).
    std::uint32_t serial() const {
        auto soa = dns::ask_server(primary_at(), "acme.example", dns::RrType::soa, 1000ms);
        return soa.answer.soa() ? soa.answer.soa()->serial : 0;
    }
    /// Replaces the TXT RRset at _dmarc at the primary, as an operator with the key would.
    void hand_edit(std::vector<std::string> expected, std::vector<std::string> to) const {
        auto reply =
            dns::send_update(dns::TxtUpdate{.zone = "acme.example",
                                            .name = std::string(dmarc_name),
                                            .expected = std::move(expected),
                                            .replacement = std::move(to),
                                            .ttl = 300},
                             key_, dns::UpdateOptions{.server = primary_at(), .timeout = 5000ms});
        ASSERT_TRUE(reply) << reply.error().reason;
        ASSERT_TRUE(reply->applied()) << reply->detail;
    }

    /// Step 1 (monitor) published and verified: the start of later scenarios.
    void first_step_live() {
        auto r = run("advance --json", "2026-11-01", true);
        ASSERT_EQ(r.status, 0) << r.out << err();
        auto doc = parse(r.out);
        ASSERT_EQ(doc["domains"][0]["published"]["status"], "live") << doc.dump(2);
        ASSERT_EQ(await(secondary_at(), {monitor}), std::vector<std::string>{monitor});
    }

    fs::path dir_, db_, key_file_;
    dns::TsigKey key_;
    std::uint16_t port_ = 0;
    std::unique_ptr<KnotServer> primary_, secondary_;
};

// ---- 1. a rollout step, published and verified at both servers ------------------------------

TEST_F(CliPublish, RolloutStepIsPublishedByRfc2136AndVerifiedAtBothServers) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    const auto serial_before = serial();
    auto r = run("advance --json", "2026-11-01", true);
    ASSERT_EQ(r.status, 0) << r.out << err();
    auto doc = parse(r.out);
    const auto& d = doc["domains"][0];
    EXPECT_EQ(d["domain"], "acme.example");
    ASSERT_TRUE(d["published"].is_object()) << d.dump(2);
    EXPECT_EQ(d["published"]["status"], "live") << d.dump(2);
    EXPECT_TRUE(d["went_live"].get<bool>()) << d.dump(2);

    // Both servers serve it the moment advance says live: it asked them.
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(serial(), serial_before + 1) << "one UPDATE";

    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    const auto& change = h["changes"][0];
    EXPECT_EQ(change["name"], std::string(dmarc_name));
    EXPECT_EQ(change["publisher"], "rfc2136");
    EXPECT_EQ(change["old_record"], before);
    EXPECT_EQ(change["new_record"], monitor);
    EXPECT_EQ(change["result"], "verified");
    ASSERT_EQ(stages(change), (std::vector<std::string>{"intent", "sent", "verified"}));
    const auto& sent = change["stages"][1]["evidence"];
    EXPECT_EQ(sent["rcode"], "NOERROR") << sent.dump();
    EXPECT_EQ(sent["server"], primary_at().to_string());
    EXPECT_TRUE(sent["reply_signed"].get<bool>());
    const auto& verified = change["stages"][2]["evidence"];
    EXPECT_TRUE(verified["all_serve"].get<bool>());
    std::vector<std::string> addresses;
    for (const auto& s : verified["servers"]) {
        addresses.push_back(s["address"].get<std::string>());
        EXPECT_TRUE(s["serves"].get<bool>()) << s.dump();
        EXPECT_TRUE(s["aa"].get<bool>()) << s.dump();
        EXPECT_EQ(s["records"], json::array({monitor})) << s.dump();
    }
    std::sort(addresses.begin(), addresses.end());
    EXPECT_EQ(addresses,
              (std::vector<std::string>{primary_at().to_string(), secondary_at().to_string()}));

    auto s = status();
    EXPECT_EQ(s["step"], "monitor");
    EXPECT_EQ(s["record"], monitor);
    EXPECT_FALSE(s["pending"].get<bool>());
    EXPECT_FALSE(s["held"].get<bool>());
    EXPECT_FALSE(s["since"].is_null());

    // The next tick publishes nothing again.
    auto again = run("advance --json", "2026-11-02", true);
    ASSERT_EQ(again.status, 0) << again.out << err();
    EXPECT_TRUE(parse(again.out)["domains"][0]["published"].is_null()) << again.out;
    EXPECT_EQ(serial(), serial_before + 1);
}

// ---- 2. a hand edit is a conflict: nothing overwritten, the domain held ---------------------

TEST_F(CliPublish, ADomainEnrolledWithoutDnsTakesTheZoneAsFoundForItsFirstChange) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    // `status` asks no DNS: the domain is enrolled without knowing what _dmarc holds.
    ASSERT_EQ(run("status --json", "2026-11-01", false).status, 0) << err();
    const auto serial_before = serial();
    auto r = run("advance --json", "2026-11-01", true);
    ASSERT_EQ(r.status, 0) << r.out << err();
    const auto d = parse(r.out)["domains"][0];
    EXPECT_EQ(d["published"]["status"], "live") << d.dump(2);
    EXPECT_EQ(d["old_record"], before) << "the record found in the zone is what the change replaced";
    EXPECT_EQ(d["new_record"], monitor);
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(serial(), serial_before + 1);
}

TEST_F(CliPublish, ConflictingManualEditIsDetectedAndTheDomainHeld) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    first_step_live();
    ASSERT_FALSE(HasFatalFailure());
    const std::string by_hand = "v=DMARC1; p=reject; rua=mailto:hand@acme.example";
    hand_edit({monitor}, {by_hand});
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(await(secondary_at(), {by_hand}), std::vector<std::string>{by_hand});
    const auto serial_before = serial();

    auto set = run("set acme.example quarantine-10 --reason 'agreed with the client' --json",
                   "2026-11-10");
    ASSERT_EQ(set.status, 0) << err();
    auto set_doc = parse(set.out)["domains"][0];
    EXPECT_TRUE(set_doc["pending"].get<bool>());
    EXPECT_EQ(set_doc["record"], quarantine_10);

    auto r = run("advance --json", "2026-11-10", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto d = parse(r.out)["domains"][0];
    ASSERT_TRUE(d["published"].is_object()) << d.dump(2);
    EXPECT_EQ(d["published"]["status"], "conflict") << d.dump(2);
    EXPECT_EQ(d["action"], "hold");
    EXPECT_FALSE(d["went_live"].get<bool>());

    auto s = status();
    EXPECT_TRUE(s["held"].get<bool>()) << s.dump(2);
    EXPECT_EQ(s["state"], "holding") << s.dump(2);
    EXPECT_EQ(s["step"], "quarantine-10");
    EXPECT_TRUE(s["pending"].get<bool>());

    EXPECT_EQ(served(primary_at()), std::vector<std::string>{by_hand});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{by_hand});
    EXPECT_EQ(serial(), serial_before) << "the primary refused the update: nothing changed";

    auto h = history();
    ASSERT_EQ(h["changes"].size(), 2U) << h.dump(2);
    const auto& change = h["changes"][1];
    EXPECT_EQ(change["result"], "conflict");
    EXPECT_EQ(change["old_record"], monitor);
    EXPECT_EQ(change["new_record"], quarantine_10);
    ASSERT_EQ(stages(change), (std::vector<std::string>{"intent", "conflict"}));
    EXPECT_EQ(change["stages"][1]["evidence"]["rcode"], "NXRRSET") << change.dump(2);

    // Held: the next tick sends nothing.
    auto again = run("advance --json", "2026-11-11", true);
    EXPECT_EQ(again.status, 1) << again.out << err();
    EXPECT_TRUE(parse(again.out)["domains"][0]["published"].is_null()) << again.out;
    EXPECT_EQ(history()["changes"].size(), 2U);
}

// ---- 3. a wrong TSIG secret: failed, nothing changed, the next run publishes ---------------

TEST_F(CliPublish, BadTsigFailsWithoutChangingStateAndTheRightKeyThenPublishes) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    rampart::test::write_tsig_key_file(
        dir_, dns::TsigKey(key_name, dns::TsigAlgorithm::hmac_sha256, wrong_secret));
    const auto serial_before = serial();

    auto r = run("advance --json", "2026-11-01", true);
    EXPECT_EQ(r.status, 0) << "failed is not a hold: " << r.out << err();
    auto d = parse(r.out)["domains"][0];
    ASSERT_TRUE(d["published"].is_object()) << d.dump(2);
    EXPECT_EQ(d["published"]["status"], "failed") << d.dump(2);
    EXPECT_NE(d["published"]["detail"].get<std::string>().find("BADSIG"), std::string::npos)
        << d.dump(2);
    EXPECT_FALSE(d["went_live"].get<bool>());
    bool noted = false;
    for (const auto& note : d["notes"])
        noted = noted || (note.get<std::string>().starts_with("publishing failed:") &&
                          note.get<std::string>().find("BADSIG") != std::string::npos);
    EXPECT_TRUE(noted) << d["notes"].dump(2);
    for (const auto* text : {&r.out}) {
        EXPECT_EQ(text->find(wrong_secret), std::string::npos);
        EXPECT_EQ(text->find(secret), std::string::npos);
    }
    EXPECT_EQ(err().find(wrong_secret), std::string::npos);

    auto s = status();
    EXPECT_FALSE(s["held"].get<bool>()) << s.dump(2);
    EXPECT_NE(s["state"], "holding");
    EXPECT_EQ(s["step"], "monitor");
    EXPECT_TRUE(s["pending"].get<bool>());
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{before});
    EXPECT_EQ(serial(), serial_before);
    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    ASSERT_EQ(stages(h["changes"][0]), (std::vector<std::string>{"intent", "failed"}));
    EXPECT_EQ(h["changes"][0]["stages"][1]["evidence"]["tsig_error"], "BADSIG") << h.dump(2);

    // The operator puts the right key in place: the next tick publishes.
    rampart::test::write_tsig_key_file(dir_, key_);
    auto next = run("advance --json", "2026-11-02", true);
    ASSERT_EQ(next.status, 0) << next.out << err();
    auto n = parse(next.out)["domains"][0];
    EXPECT_EQ(n["published"]["status"], "live") << n.dump(2);
    EXPECT_TRUE(n["went_live"].get<bool>());
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(serial(), serial_before + 1);
}

// ---- 4. a key file others can read is refused before anything is sent -----------------------

TEST_F(CliPublish, KeyFileReadableByOthersIsRefusedNamingChmod600) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(::chmod(key_file_.c_str(), 0644), 0);
    const auto serial_before = serial();

    // advance: the domain needs a look (exit 1), nothing published.
    auto r = run("advance --json", "2026-11-01", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto d = parse(r.out)["domains"][0];
    EXPECT_EQ(d["action"], "hold") << d.dump(2);
    EXPECT_TRUE(d["published"].is_null()) << d.dump(2);
    EXPECT_NE(d["notes"].dump().find("chmod 600"), std::string::npos) << d.dump(2);
    EXPECT_EQ(r.out.find(secret), std::string::npos);
    EXPECT_EQ(err().find(secret), std::string::npos);

    // publish: a configuration error (exit 2) on stderr.
    auto p =
        run(fmt::format("publish acme.example --record {} --reason 'test' --json", quote(monitor)),
            "2026-11-01", true);
    EXPECT_EQ(p.status, 2) << p.out << err();
    EXPECT_NE(err().find("chmod 600"), std::string::npos) << err();
    EXPECT_NE(err().find(key_file_.string()), std::string::npos) << err();
    EXPECT_EQ(p.out.find(secret), std::string::npos);
    EXPECT_EQ(err().find(secret), std::string::npos);

    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before});
    EXPECT_EQ(serial(), serial_before);
    EXPECT_TRUE(history()["changes"].empty());
}

// ---- 5. a server that stops answering: rolled back ------------------------------------------

TEST_F(CliPublish, ServerThatStopsAnsweringMeansRollback) {
    start(Zone{.verify_seconds = 3});
    ASSERT_FALSE(HasFatalFailure());
    secondary_->kill();
    const auto serial_before = serial();

    auto r = run("advance --json", "2026-11-01", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto d = parse(r.out)["domains"][0];
    ASSERT_TRUE(d["published"].is_object()) << d.dump(2);
    EXPECT_EQ(d["published"]["status"], "rolled_back") << d.dump(2);
    EXPECT_EQ(d["action"], "hold");
    EXPECT_FALSE(d["went_live"].get<bool>());

    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before}) << "the old record restored";
    EXPECT_EQ(serial(), serial_before + 2) << "the change and its undoing";

    auto s = status();
    EXPECT_TRUE(s["held"].get<bool>()) << s.dump(2);
    EXPECT_EQ(s["state"], "holding");
    EXPECT_TRUE(s["pending"].get<bool>());

    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    const auto& change = h["changes"][0];
    EXPECT_EQ(change["result"], "rolled_back");
    ASSERT_EQ(stages(change), (std::vector<std::string>{"intent", "sent", "rolled_back"}));
    const auto& evidence = change["stages"][2]["evidence"];
    EXPECT_EQ(evidence["rollback"]["rcode"], "NOERROR") << evidence.dump(2);
    bool primary_seen = false, secondary_seen = false;
    for (const auto& server : evidence["coverage"]["servers"]) {
        if (server["address"] == primary_at().to_string()) {
            primary_seen = true;
            EXPECT_TRUE(server["serves"].get<bool>()) << server.dump();
        }
        if (server["address"] == secondary_at().to_string()) {
            secondary_seen = true;
            EXPECT_FALSE(server["serves"].get<bool>()) << server.dump();
            EXPECT_NE(server["status"], "ok") << server.dump();
        }
    }
    EXPECT_TRUE(primary_seen && secondary_seen) << evidence.dump(2);
}

// ---- 6. rampart publish ----------------------------------------------------------------------

TEST_F(CliPublish, PublishGoesLiveAndDryRunChangesNothing) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    const std::string record = "v=DMARC1; p=none; rua=mailto:x@acme.example";
    const auto serial_before = serial();

    auto dry =
        run(fmt::format("publish acme.example --record {} --reason 'try it' --dry-run --json",
                        quote(record)),
            "2026-11-01", true);
    ASSERT_EQ(dry.status, 0) << dry.out << err();
    auto dd = parse(dry.out);
    EXPECT_EQ(dd["status"], "dry_run") << dd.dump(2);
    EXPECT_EQ(dd["old_record"], before);
    EXPECT_EQ(dd["change_id"], "");
    EXPECT_EQ(serial(), serial_before);
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before});
    EXPECT_TRUE(history()["changes"].empty()) << "a dry run logs nothing";

    auto r =
        run(fmt::format("publish acme.example --record {} --reason 'new reporting address' --json",
                        quote(record)),
            "2026-11-01", true);
    ASSERT_EQ(r.status, 0) << r.out << err();
    auto doc = parse(r.out);
    EXPECT_EQ(doc["status"], "live") << doc.dump(2);
    EXPECT_EQ(doc["name"], std::string(dmarc_name));
    EXPECT_EQ(doc["old_record"], before);
    EXPECT_EQ(doc["new_record"], record);
    EXPECT_EQ(doc["servers"].size(), 2U) << doc.dump(2);
    for (const auto& s : doc["servers"]) EXPECT_TRUE(s["serves"].get<bool>()) << s.dump();
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{record});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{record});
    EXPECT_EQ(serial(), serial_before + 1);

    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    EXPECT_EQ(h["changes"][0]["change_id"], doc["change_id"]);
    EXPECT_EQ(h["changes"][0]["actor"], "rampart publish");
    EXPECT_EQ(h["changes"][0]["reason"], "new reporting address");
    EXPECT_EQ(stages(h["changes"][0]), (std::vector<std::string>{"intent", "sent", "verified"}));
}

TEST_F(CliPublish, PublishRefusesARecordTheLinterRejectsAndSendsNothing) {
    start();
    ASSERT_FALSE(HasFatalFailure());
    const auto serial_before = serial();
    auto r = run("publish acme.example --record 'v=DMARC1; p=bogus' --reason 'typo' --json",
                 "2026-11-01", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto doc = parse(r.out);
    EXPECT_EQ(doc["status"], "refused") << doc.dump(2);
    EXPECT_NE(doc["detail"].get<std::string>().find("not published"), std::string::npos)
        << doc.dump(2);
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before});
    EXPECT_EQ(serial(), serial_before);
    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    EXPECT_EQ(stages(h["changes"][0]), std::vector<std::string>{"refused"}) << "never sent";
}

TEST_F(CliPublish, PublishRefusesADmarcNameWithTwoTxtRecordsAndLeavesItAlone) {
    const std::string other = "v=DMARC1; p=reject";
    start(Zone{.dmarc_lines = txt_line(before) + txt_line(other)});
    ASSERT_FALSE(HasFatalFailure());
    const auto serial_before = serial();
    auto r =
        run(fmt::format("publish acme.example --record {} --reason 'tidy' --json", quote(monitor)),
            "2026-11-01", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto doc = parse(r.out);
    EXPECT_EQ(doc["status"], "refused") << doc.dump(2);
    EXPECT_NE(doc["detail"].get<std::string>().find("2 TXT records"), std::string::npos)
        << doc.dump(2);
    std::vector<std::string> both{before, other};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(served(primary_at()), both);
    EXPECT_EQ(served(secondary_at()), both);
    EXPECT_EQ(serial(), serial_before);
    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    EXPECT_EQ(stages(h["changes"][0]), std::vector<std::string>{"refused"});
}

TEST_F(CliPublish, PublishRefusesADmarcNameThatIsACname) {
    start(Zone{.dmarc_lines = "_dmarc IN CNAME acme.dmarc.provider.example.\n"});
    ASSERT_FALSE(HasFatalFailure());
    const auto serial_before = serial();
    auto r = run(fmt::format("publish acme.example --record {} --reason 'take it back' --json",
                             quote(monitor)),
                 "2026-11-01", true);
    EXPECT_EQ(r.status, 1) << r.out << err();
    auto doc = parse(r.out);
    EXPECT_EQ(doc["status"], "refused") << doc.dump(2);
    EXPECT_NE(doc["detail"].get<std::string>().find("CNAME"), std::string::npos) << doc.dump(2);
    EXPECT_EQ(serial(), serial_before);
    auto cname = dns::ask_server(primary_at(), dmarc_name, dns::RrType::cname, 1000ms);
    ASSERT_FALSE(cname.answer.records.empty()) << cname.answer.detail;
    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    EXPECT_EQ(stages(h["changes"][0]), std::vector<std::string>{"refused"});
}

// ---- 7. the manual publisher: live only once every server serves it -------------------------

TEST_F(CliPublish, ManualPublisherIsVerifiedAtEveryAuthoritativeServer) {
    start(Zone{.publisher = "manual"});
    ASSERT_FALSE(HasFatalFailure());
    auto r = run("advance --json", "2026-11-01", true);
    ASSERT_EQ(r.status, 0) << r.out << err();
    auto d = parse(r.out)["domains"][0];
    ASSERT_TRUE(d["published"].is_object()) << d.dump(2);
    EXPECT_EQ(d["published"]["status"], "queued") << d.dump(2);
    EXPECT_FALSE(d["went_live"].get<bool>());
    ASSERT_EQ(d["published"]["files"].size(), 2U) << d.dump(2);
    for (const auto& f : d["published"]["files"])
        EXPECT_TRUE(fs::exists(f.get<std::string>())) << f;
    EXPECT_TRUE(status()["pending"].get<bool>());
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{before})
        << "the manual publisher sends nothing";

    // The operator applies it at the primary while the secondary is down: not live yet.
    secondary_->kill();
    hand_edit({before}, {monitor});
    ASSERT_FALSE(HasFatalFailure());
    auto half = run("advance --json", "2026-11-02", true);
    ASSERT_EQ(half.status, 0) << half.out << err();
    auto h = parse(half.out)["domains"][0];
    EXPECT_FALSE(h["went_live"].get<bool>()) << h.dump(2);
    EXPECT_TRUE(h["published"].is_null()) << "queued once, not again: " << h.dump(2);
    EXPECT_NE(h["notes"].dump().find("1 of 2 authoritative servers"), std::string::npos)
        << h.dump(2);
    EXPECT_TRUE(status()["pending"].get<bool>());

    // Back up, it transfers the zone: now every server serves it.
    start_secondary();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(await(secondary_at(), {monitor}), std::vector<std::string>{monitor});
    auto live = run("advance --json", "2026-11-03", true);
    ASSERT_EQ(live.status, 0) << live.out << err();
    auto l = parse(live.out)["domains"][0];
    EXPECT_TRUE(l["went_live"].get<bool>()) << l.dump(2);
    EXPECT_TRUE(l["published"].is_null()) << l.dump(2);
    auto s = status();
    EXPECT_FALSE(s["pending"].get<bool>());
    EXPECT_FALSE(s["held"].get<bool>());

    auto log = history();
    ASSERT_EQ(log["changes"].size(), 1U) << log.dump(2);
    EXPECT_EQ(log["changes"][0]["publisher"], "manual");
    EXPECT_EQ(stages(log["changes"][0]), (std::vector<std::string>{"intent", "queued"}));
}

// ---- 8. a run killed between sent and verified: closed by the next, applied once -------------

TEST_F(CliPublish, RunKilledMidChangeIsResolvedByTheNextAndAppliedOnce) {
    start(Zone{.verify_seconds = 20});
    ASSERT_FALSE(HasFatalFailure());
    secondary_->kill();  // so the run waits in verification, after `sent`
    {
        auto created = store::open_sqlite(db_);  // the schema, before two processes share it
        ASSERT_TRUE(created) << created.error().reason;
    }
    const auto serial_before = serial();

    const std::string command = fmt::format(
        "exec env -u RAMPART_DNS -u RAMPART_CONFIG -u RAMPART_DB {} publish acme.example --record "
        "{} "
        "--reason 'killed midway' --json --db {} --config {} --now 2026-11-01 --dns {} >{} 2>{}",
        quote(RAMPART_BINARY), quote(monitor), quote(db_.string()),
        quote((dir_ / "rampart.toml").string()), primary_at().to_string(),
        quote((dir_ / "out").string()), quote((dir_ / "err").string()));
    std::string sh = "/bin/sh", dash_c = "-c";
    std::vector<char*> argv{sh.data(), dash_c.data(), const_cast<char*>(command.c_str()), nullptr};
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);

    std::optional<store::PublishEvent> open;
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!open && std::chrono::steady_clock::now() < deadline) {
        auto db = store::open_sqlite(db_);
        if (db) {
            auto unfinished = (*db)->unfinished_changes();
            if (unfinished) {
                for (const auto& e : *unfinished)
                    if (e.stage == "sent") open = e;
            }
        }
        if (!open) std::this_thread::sleep_for(50ms);
    }
    ::kill(pid, SIGKILL);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(open) << "no `sent` entry within 15 s; rampart: "
                      << rampart::test::read_file(dir_ / "out") << err();
    EXPECT_TRUE(WIFSIGNALED(wait_status))
        << "rampart finished before it was killed: " << rampart::test::read_file(dir_ / "out");
    EXPECT_EQ(open->new_record, monitor);
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{monitor})
        << "the primary applied it before the kill";
    EXPECT_EQ(serial(), serial_before + 1);
    {
        auto h = history();
        ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
        EXPECT_EQ(h["changes"][0]["result"], "sent") << h.dump(2);
    }

    // The secondary comes back and transfers the zone; the next run finds the change live.
    start_secondary();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(await(secondary_at(), {monitor}), std::vector<std::string>{monitor});
    auto r = run("advance --json", "2026-11-01", true);
    ASSERT_EQ(r.status, 0) << r.out << err();
    auto d = parse(r.out)["domains"][0];
    EXPECT_TRUE(d["went_live"].get<bool>()) << d.dump(2);
    EXPECT_TRUE(d["published"].is_null()) << "already live: nothing sent again: " << d.dump(2);
    EXPECT_NE(d["notes"].dump().find("the new record is live"), std::string::npos) << d.dump(2);

    auto h = history();
    ASSERT_EQ(h["changes"].size(), 1U) << h.dump(2);
    const auto& change = h["changes"][0];
    EXPECT_EQ(change["change_id"], open->change_id);
    EXPECT_EQ(change["result"], "resolved");
    ASSERT_EQ(stages(change), (std::vector<std::string>{"intent", "sent", "resolved"}));
    EXPECT_TRUE(change["stages"][2]["evidence"]["all_serve"].get<bool>()) << change.dump(2);
    EXPECT_EQ(serial(), serial_before + 1) << "applied exactly once";
    EXPECT_EQ(served(primary_at()), std::vector<std::string>{monitor});
    EXPECT_EQ(served(secondary_at()), std::vector<std::string>{monitor});

    // Nothing is left open: a further run closes nothing and sends nothing.
    auto again = run("advance --json", "2026-11-02", true);
    ASSERT_EQ(again.status, 0) << again.out << err();
    EXPECT_EQ(history()["changes"][0]["stages"].size(), 3U);
    EXPECT_EQ(serial(), serial_before + 1);
}

}  // namespace

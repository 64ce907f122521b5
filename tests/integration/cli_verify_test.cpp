// `rampart verify` as users and scripts call it, against a real authoritative server (Knot DNS on
// 127.0.0.1, tests/harness/knot.hpp) serving SPF, DMARC and DKIM key records: messages signed
// with dkim::sign pass through DKIM, unsigned ones through SPF (also for the null reverse-path,
// postmaster@HELO), fail with p=reject, take sp= for an existing subdomain and np= for one that
// does not exist; a tampered body fails DKIM; input that is not a message exits 2.
// RFC 9989 §5.3: "If one or more of the Authenticated Identifiers align with the RFC5322.From
// domain, the message is considered to pass the DMARC mechanism check."
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "dkim/dkim.hpp"
#include "arc/arc.hpp"
#include "dns/zone.hpp"
#include "harness/knot.hpp"
#include "message/message.hpp"
#include "support.hpp"

namespace {

using nlohmann::json;
using rampart::test::KnotServer;
namespace dkim = rampart::dkim;

// One zone for the whole "test" TLD: the DMARC tree walk asks _dmarc.test too, and a server
// that is not authoritative there answers REFUSED, which is a DNS failure (temperror).
const std::string origin = "test";

/// A fixed Ed25519 test key (seed 0x01..0x20): the same signature every run. Test key only.
dkim::PrivateKey test_key() {
    std::array<std::uint8_t, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i + 1);
    auto key = dkim::PrivateKey::ed25519_from_seed(seed);
    EXPECT_TRUE(key.has_value());
    return std::move(*key);
}

rampart::dns::Zone zone() {
    rampart::dns::Zone z;
    z.add_txt("verify.test", "v=spf1 ip4:192.0.2.0/24 -all");
    z.add_txt("mx.verify.test", "v=spf1 ip4:192.0.2.0/24 -all");
    z.add_a("mx.verify.test", "192.0.2.10");
    z.add_a("news.verify.test", "192.0.2.20");
    z.add_txt("_dmarc.verify.test", "v=DMARC1; p=reject; sp=quarantine");
    auto record = dkim::format_key_record(dkim::KeyType::ed25519, test_key().public_key());
    EXPECT_TRUE(record.has_value());
    z.add_txt("s1._domainkey.verify.test", std::string_view(*record));
    z.add_a("np.test", "192.0.2.30");
    z.add_txt("_dmarc.np.test", "v=DMARC1; p=none; sp=none; np=reject");
    return z;
}

std::string message_text(std::string_view from) {
    return "From: Alice <alice@" + std::string(from) +
           ">\r\nTo: bob@example.net\r\nSubject: quarterly figures\r\nDate: Mon, 23 Nov 2026 "
           "10:00:00 +0000\r\nMessage-ID: <1@verify.test>\r\n\r\nThe figures are attached.\r\n";
}

/// The message with a DKIM-Signature by d=verify.test, s=s1 on top.
std::string signed_message(std::string_view from) {
    const auto text = message_text(from);
    auto parsed = rampart::message::parse(text);
    EXPECT_TRUE(parsed.has_value());
    dkim::SignOptions options;
    options.domain = "verify.test";
    options.selector = "s1";
    auto field = dkim::sign(*parsed, test_key(), options);
    EXPECT_TRUE(field.has_value()) << (field ? "" : field.error().describe());
    return (field ? *field : std::string()) + "\r\n" + text;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }
const std::string rampart = quote(RAMPART_BINARY);

class CliVerify : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto why = KnotServer::missing(); !why.empty()) {
            skip_reason_ = why;
            return;
        }
        server_ = new KnotServer(
            std::map<std::string, std::string>{{origin, zone().to_master_file(origin)}});
        start_error_ = server_->start();
        dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                         ("rampart-verify-" + std::to_string(::getpid())));
        std::filesystem::create_directories(*dir_);
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override {
        if (!skip_reason_.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << skip_reason_ << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << skip_reason_ << ": verify CLI integration tests skipped";
        }
        ASSERT_EQ(start_error_, "");
    }
    void TearDown() override {
        if (HasFailure() && server_ != nullptr)
            std::cerr << "---- knotd log ----\n" << server_->log() << "----\n";
    }

    static std::string write(const std::string& name, const std::string& content) {
        const auto path = *dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path.string();
    }
    static rampart::test::ShellResult verify(const std::string& args) {
        return rampart::test::shell(rampart + " verify --now 2026-11-23 --authserv-id mx.test " +
                                    "--dns " + server_->server().to_string() + " " + args +
                                    " 2>/dev/null");
    }
    static json verify_json(const std::string& args, int expected_status) {
        auto r = verify("--json " + args);
        EXPECT_EQ(r.status, expected_status) << r.out;
        auto doc = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(doc.is_discarded()) << r.out;
        return doc;
    }

    static inline KnotServer* server_ = nullptr;
    static inline std::filesystem::path* dir_ = nullptr;
    static inline std::string skip_reason_, start_error_;
};

TEST_F(CliVerify, PassViaAlignedDkimWithEveryJsonKey) {
    const auto file = write("signed.eml", signed_message("verify.test"));
    auto doc = verify_json(file, 0);
    EXPECT_EQ(doc["spf"]["result"], "none");  // no --ip
    EXPECT_TRUE(doc["spf"]["domain"].is_null());
    ASSERT_EQ(doc["dkim"].size(), 1u);
    EXPECT_EQ(doc["dkim"][0]["domain"], "verify.test");
    EXPECT_EQ(doc["dkim"][0]["selector"], "s1");
    EXPECT_EQ(doc["dkim"][0]["algorithm"], "ed25519-sha256");
    EXPECT_EQ(doc["dkim"][0]["result"], "pass");
    EXPECT_TRUE(doc["dkim"][0]["reason"].is_string());
    EXPECT_EQ(doc["arc"]["result"], "none");
    EXPECT_EQ(doc["arc"]["instances"], 0);
    EXPECT_EQ(doc["dmarc"]["result"], "pass");
    EXPECT_EQ(doc["dmarc"]["from_domain"], "verify.test");
    EXPECT_EQ(doc["dmarc"]["spf_aligned"], false);
    EXPECT_EQ(doc["dmarc"]["dkim_aligned"], true);
    EXPECT_EQ(doc["dmarc"]["policy"], "reject");
    EXPECT_EQ(doc["dmarc"]["disposition"], "none");
    const std::string ar = doc["authentication_results"];
    EXPECT_EQ(ar.rfind("mx.test; spf=none", 0), 0u) << ar;
    EXPECT_NE(ar.find("dkim=pass header.d=verify.test header.s=s1 header.a=ed25519-sha256"),
              std::string::npos)
        << ar;
    EXPECT_NE(ar.find("dmarc=pass (p=reject) header.from=verify.test policy.dmarc=reject"),
              std::string::npos)
        << ar;
}

TEST_F(CliVerify, PassViaAlignedSpf) {
    const auto file = write("unsigned.eml", message_text("verify.test"));
    auto doc = verify_json(
        "--ip 192.0.2.10 --helo mx.verify.test --mail-from "
        "bounce@verify.test " +
            file,
        0);
    EXPECT_EQ(doc["spf"]["result"], "pass");
    EXPECT_EQ(doc["spf"]["domain"], "verify.test");
    EXPECT_EQ(doc["spf"]["identity"], "mailfrom");
    EXPECT_EQ(doc["dkim"].size(), 0u);
    EXPECT_EQ(doc["dmarc"]["result"], "pass");
    EXPECT_EQ(doc["dmarc"]["spf_aligned"], true);
    EXPECT_EQ(doc["dmarc"]["dkim_aligned"], false);
}

TEST_F(CliVerify, NullReversePathChecksPostmasterAtHelo) {
    const auto file = write("bounce.eml", message_text("verify.test"));
    auto doc = verify_json("--ip 192.0.2.10 --helo mx.verify.test --mail-from '<>' " + file, 0);
    EXPECT_EQ(doc["spf"]["result"], "pass");
    EXPECT_EQ(doc["spf"]["identity"], "helo");
    EXPECT_EQ(doc["spf"]["sender"], "postmaster@mx.verify.test");
    EXPECT_EQ(doc["spf"]["domain"], "mx.verify.test");
    EXPECT_EQ(doc["dmarc"]["spf_aligned"], true);  // relaxed: same organisational domain
}

TEST_F(CliVerify, FailWithRejectPolicy) {
    const auto file = write("spoof.eml", message_text("verify.test"));
    auto doc = verify_json("--ip 203.0.113.9 --mail-from alice@verify.test " + file, 1);
    EXPECT_EQ(doc["spf"]["result"], "fail");
    EXPECT_EQ(doc["dmarc"]["result"], "fail");
    EXPECT_EQ(doc["dmarc"]["policy"], "reject");
    EXPECT_EQ(doc["dmarc"]["policy_tag"], "p");
    EXPECT_EQ(doc["dmarc"]["disposition"], "reject");
    const std::string reason = doc["dmarc"]["reason"];
    EXPECT_NE(reason.find("SPF fail for verify.test (only a pass counts)"), std::string::npos)
        << reason;
}

TEST_F(CliVerify, HumanOutputHasAReasonPerLine) {
    const auto file = write("spoof2.eml", message_text("verify.test"));
    auto r = verify("--ip 203.0.113.9 --mail-from alice@verify.test " + file);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("SPF    fail       verify.test (MAIL FROM): "), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("DKIM   none       the message is not signed"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("DMARC  fail       From verify.test: nothing aligned"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("p=reject at _dmarc.verify.test; disposition reject"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("Authentication-Results: mx.test;\n\tspf=fail"), std::string::npos)
        << r.out;
}

TEST_F(CliVerify, ExistingSubdomainTakesSp) {
    const auto file = write("news.eml", message_text("news.verify.test"));
    auto doc = verify_json(file, 1);
    EXPECT_EQ(doc["dmarc"]["result"], "fail");
    EXPECT_EQ(doc["dmarc"]["policy_tag"], "sp");
    EXPECT_EQ(doc["dmarc"]["policy_domain"], "verify.test");
    EXPECT_EQ(doc["dmarc"]["policy"], "quarantine");
    EXPECT_EQ(doc["dmarc"]["disposition"], "quarantine");
}

TEST_F(CliVerify, NonExistentSubdomainTakesNp) {
    const auto file = write("ghost.eml", message_text("ghost.np.test"));
    auto doc = verify_json(file, 1);
    EXPECT_EQ(doc["dmarc"]["policy_tag"], "np");
    EXPECT_EQ(doc["dmarc"]["policy"], "reject");
    EXPECT_EQ(doc["dmarc"]["disposition"], "reject");
}

TEST_F(CliVerify, RelaxedDkimAlignmentForASubdomainAuthor) {
    const auto file = write("news-signed.eml", signed_message("news.verify.test"));
    auto doc = verify_json(file, 0);
    EXPECT_EQ(doc["dkim"][0]["result"], "pass");
    EXPECT_EQ(doc["dmarc"]["result"], "pass");
    EXPECT_EQ(doc["dmarc"]["policy_tag"], "sp");
}

TEST_F(CliVerify, TamperedBodyFailsDkimAndDmarc) {
    auto text = signed_message("verify.test");
    const auto at = text.find("attached");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 8, "ATTACHED");
    const auto file = write("tampered.eml", text);
    auto doc = verify_json(file, 1);
    ASSERT_EQ(doc["dkim"].size(), 1u);
    EXPECT_EQ(doc["dkim"][0]["result"], "fail");
    EXPECT_EQ(doc["dkim"][0]["code"], "body-hash-mismatch");
    EXPECT_EQ(doc["dmarc"]["result"], "fail");
    EXPECT_EQ(doc["dmarc"]["dkim_aligned"], false);
    EXPECT_EQ(doc["dmarc"]["disposition"], "reject");
}

/// The list validates the signed message, adds a footer, and seals what it sends on: DKIM and
/// DMARC then fail at the next receiver, while the ARC chain passes and says what the list saw.
TEST_F(CliVerify, ForwardedThroughAListTheArcChainPassesAndTellsWhatTheFirstHopSaw) {
    auto original = rampart::message::parse(signed_message("verify.test"));
    ASSERT_TRUE(original.has_value());
    // Sealing validates the chain it extends (none yet); keys from the same zone, in memory.
    const rampart::dns::Zone keys_zone = zone();
    rampart::dns::ZoneResolver resolver(keys_zone);
    dkim::DnsKeyFetcher keys(resolver);
    rampart::message::Message changed = *original;
    changed.body += "-- \r\nlist footer\r\n";
    rampart::arc::SealOptions options{.domain = "verify.test",
                                      .selector = "s1",
                                      .authserv_id = "lists.verify.test",
                                      .authentication_results = "dkim=pass header.d=verify.test; dmarc=pass",
                                      .timestamp = rampart::Timestamp(std::chrono::seconds(1'795'000'000)),
                                      .arrived_chain = rampart::arc::ChainStatus::none};
    auto sealed = rampart::arc::seal(changed, test_key(), options, keys);
    ASSERT_TRUE(sealed.has_value()) << sealed.error().describe();
    std::string text;
    for (const auto& f : sealed->fields) text += f + "\r\n";
    for (const auto& f : changed.header.fields) text += f.raw + "\r\n";
    text += "\r\n" + changed.body;
    const auto file = write("forwarded.eml", text);
    auto doc = verify_json(file, 1);
    EXPECT_EQ(doc["dkim"][0]["result"], "fail");
    EXPECT_EQ(doc["dmarc"]["result"], "fail");
    EXPECT_EQ(doc["arc"]["result"], "pass") << doc["arc"].dump();
    EXPECT_EQ(doc["arc"]["instances"], 1);
    EXPECT_EQ(doc["arc"]["first_hop_results"], "lists.verify.test; dkim=pass header.d=verify.test; dmarc=pass");
    const std::string ar = doc["authentication_results"];
    EXPECT_NE(ar.find("arc=pass"), std::string::npos) << ar;
}

TEST_F(CliVerify, StandardInputIsRead) {
    const auto file = write("stdin.eml", signed_message("verify.test"));
    auto r = verify("--json - < " + quote(file));
    EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(CliVerify, SeveralFromDomainsArePermerrorExitOne) {
    auto text = message_text("verify.test");
    text.replace(text.find("From: Alice <alice@verify.test>"), 31,
                 "From: alice@verify.test, carol@np.test");
    auto doc = verify_json(write("two-from.eml", text), 1);
    EXPECT_EQ(doc["dmarc"]["result"], "permerror");
    EXPECT_TRUE(doc["dmarc"]["policy"].is_null());
}

TEST_F(CliVerify, UnusableInputExitsTwo) {
    EXPECT_EQ(verify(write("empty.eml", "")).status, 2);
    EXPECT_EQ(
        verify(write("junk.bin", std::string("\x00\x01\x02 not a header\r\n\r\n", 20))).status, 2);
    EXPECT_EQ(verify(quote((*dir_ / "missing.eml").string())).status, 2);
    EXPECT_EQ(verify("--ip 999.1.1.1 --mail-from a@verify.test " +
                     write("ok.eml", message_text("verify.test")))
                  .status,
              2);
}

}  // namespace

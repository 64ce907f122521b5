// A whole DKIM key rotation (rotation/rotation.hpp) driven through the `rampart` binary against a
// real Knot DNS on 127.0.0.1 that accepts RFC 2136 UPDATE signed with TSIG (RFC 8945), time
// moved with --now. "The signer" is OpenDKIM as its refile tables describe it: the SigningTable
// maps `*@acme.example` to a key name, the KeyTable maps that name to `domain:selector:keyfile`;
// the test reads both tables at every stage, loads that key (dkim::PrivateKey::from_file, 0600)
// and signs with dkim::Signer. Every message is verified by Rampart's dkim::Verifier with keys
// fetched from Knot (DnsKeyFetcher over an AresResolver pointed at it).
//
// What must hold at every stage (RFC 6376 §3.6.1, §3.6.2.1; RFC 2182 §3):
//   - a message signed now verifies: the signer never uses a key Knot does not serve;
//   - a message signed before the switch with the old key verifies until the old key is
//     revoked ("An empty value means that this public key has been revoked": key-revoked),
//     and after the old record is removed there is no key at all (key-not-found);
//   - the signer switches only once the old record's TTL (one day here) has passed;
//   - `--dry-run` stores, writes and publishes nothing; a second rotation while one is
//     unfinished is refused (exit 1); the private key never appears in any output or the store.
// Skipped when Knot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "dkim/dkim.hpp"
#include "dns/ares.hpp"
#include "dns/update.hpp"
#include "harness/knot.hpp"
#include "message/message.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
namespace dkim = rampart::dkim;
namespace dns = rampart::dns;
using nlohmann::json;
using rampart::test::KnotOptions;
using rampart::test::KnotServer;
using namespace std::chrono_literals;

// Test key only, made up for this file.
constexpr const char* tsig_secret = "cmFtcGFydC1yb3RhdGlvbi10ZXN0LWtleS0wMDAwMDE=";

constexpr std::string_view domain = "acme.example";
constexpr std::string_view old_selector = "s202605";
// selector_prefix "s" + the month of --now 2026-12-01 (setup::dated_selector).
constexpr std::string_view new_selector = "s202612";
// The old key's TTL: the signer may not switch before it has passed (rotation.hpp, "waiting").
constexpr std::uint32_t old_ttl = 86400;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart_binary = quote(RAMPART_BINARY);

std::string key_name(std::string_view selector) { return dkim::dkim_key_name(selector, domain); }

/// A file readable by its owner only, created with that mode (no window with a wider one).
void write_private(const fs::path& path, std::string_view content) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << path;
    const auto written = ::write(fd, content.data(), content.size());
    ::close(fd);
    ASSERT_EQ(written, static_cast<ssize_t>(content.size())) << path;
}

void write_text(const fs::path& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// The base64 lines of a PEM private key: none of them may be printed or stored anywhere.
std::vector<std::string> secret_lines(const fs::path& pem) {
    std::vector<std::string> out;
    for (auto& line : lines_of(rampart::test::read_file(pem)))
        if (!line.empty() && !line.starts_with("-----")) out.push_back(std::move(line));
    return out;
}

rampart::Timestamp at(std::string_view date) {
    auto t = rampart::parse_date(date);
    EXPECT_TRUE(t.has_value()) << date;
    return t ? *t : rampart::Timestamp{};
}

// A message from the domain as an MTA hands it to the signer.
std::string message_text(std::string_view subject) {
    return "From: Alice <alice@acme.example>\r\n"
           "To: Bob <bob@receiver.example>\r\n"
           "Subject: " +
           std::string(subject) +
           "\r\n"
           "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
           "Message-ID: <" +
           std::string(subject) +
           "@acme.example>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "\r\n"
           "Invoice attached.\r\n";
}

/// What a signed message carries besides its text, for the checks.
struct Signed {
    std::string text;
    std::string selector;
};

/// What the verifier said about a message's one signature.
struct Verdict {
    dkim::Outcome result = dkim::Outcome::none;
    std::string code, reason, selector;
};

class DkimRotation : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = KnotServer::missing(); !why.empty()) {
            if (rampart::test::require_real_servers())
                FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why << ": DKIM rotation integration tests skipped";
        }
        dir_ = fs::temp_directory_path() /
               ("rampart-dkim-rotation-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "keys");
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);

        // The key signing now: made here, as an operator would have made it, 0600.
        old_key_file_ = dir_ / "acme.example.s202605.key";
        const auto pem = rampart::test::shell(
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null");
        ASSERT_EQ(pem.status, 0);
        ASSERT_NE(pem.out.find("PRIVATE KEY"), std::string::npos);
        write_private(old_key_file_, pem.out);
        auto old_key = dkim::PrivateKey::from_file(old_key_file_);
        ASSERT_TRUE(old_key.has_value()) << old_key.error().reason;
        auto record = dkim::format_key_record(old_key->type(), old_key->public_key());
        ASSERT_TRUE(record.has_value()) << record.error().reason;
        old_record_ = *record;

        std::string zone =
            "$ORIGIN acme.example.\n"
            "$TTL 300\n"
            "@ IN SOA ns1.acme.example. hostmaster.acme.example. 1 3600 600 86400 300\n"
            "@ IN NS ns1.acme.example.\n"
            "ns1 IN A 127.0.0.1\n"
            "s202605._domainkey " +
            std::to_string(old_ttl) + " IN TXT";
        for (const auto& s : dkim::split_txt_strings(old_record_)) zone += " \"" + s + "\"";
        zone += "\n";

        KnotOptions options;
        options.update_key =
            dns::TsigKey("rampart-acme", dns::TsigAlgorithm::hmac_sha256, tsig_secret);
        knot_ = std::make_unique<KnotServer>(
            std::map<std::string, std::string>{{std::string(domain), zone}}, options);
        ASSERT_EQ(knot_->start(), "");
        const auto tsig_file = rampart::test::write_tsig_key_file(dir_, *options.update_key);

        // OpenDKIM's refile tables, naming the old key; another domain's lines must survive.
        key_table_ = dir_ / "KeyTable";
        signing_table_ = dir_ / "SigningTable";
        write_text(key_table_,
                   "# OpenDKIM KeyTable\n"
                   "s202605._domainkey.acme.example acme.example:s202605:" +
                       old_key_file_.string() +
                       "\n"
                       "mail._domainkey.other.example other.example:mail:/etc/"
                       "dkimkeys/other.key\n");
        write_text(signing_table_,
                   "# OpenDKIM SigningTable (refile)\n"
                   "*@acme.example s202605._domainkey.acme.example\n"
                   "*@other.example mail._domainkey.other.example\n");

        config_ = dir_ / "rampart.toml";
        write_text(config_,
                   "[[client]]\n"
                   "name = \"acme\"\n"
                   "domains = [\"acme.example\"]\n"
                   "\n"
                   "[client.publisher]\n"
                   "kind = \"rfc2136\"\n"
                   "server = \"" +
                       knot_->server().to_string() +
                       "\"\n"
                       "zone = \"acme.example\"\n"
                       "tsig_key_file = \"" +
                       tsig_file.string() +
                       "\"\n"
                       "verify_seconds = 5\n"
                       "\n"
                       "[client.dkim]\n"
                       "selector = \"s202605\"\n"
                       "key_file = \"" +
                       old_key_file_.string() +
                       "\"\n"
                       "key_dir = \"" +
                       (dir_ / "keys").string() +
                       "\"\n"
                       "signer = \"opendkim\"\n"
                       "key_table = \"" +
                       key_table_.string() +
                       "\"\n"
                       "signing_table = \"" +
                       signing_table_.string() +
                       "\"\n"
                       "grace_days = 2\n"
                       "revoked_days = 2\n");
        db_ = dir_ / "rampart.db";
    }

    void TearDown() override {
        if (HasFailure()) {
            if (knot_ != nullptr) std::cerr << "---- knotd log ----\n" << knot_->log() << "----\n";
            std::cerr << "---- rampart output ----\n" << output_ << "----\n";
        }
        knot_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    // ---- the rampart binary ---------------------------------------------------------------------

    /// Runs `rampart <args> --db <db> [world options]`; stderr is kept in err_. Every byte it
    /// printed is also kept in output_, for the check that no private key was ever printed.
    rampart::test::ShellResult run(const std::string& args, bool world = true) {
        std::string command = rampart_binary + " " + args + " --db " + quote(db_);
        if (world)
            command += " --config " + quote(config_) + " --dns " + knot_->server().to_string();
        auto r = rampart::test::shell(command + " 2>" + quote(dir_ / "err"));
        err_ = rampart::test::read_file(dir_ / "err");
        output_ += "$ rampart " + args + "\n" + r.out + err_;
        return r;
    }

    /// `rampart dkim <verb> acme.example --now <now> --json`, parsed; exit status checked.
    json dkim(const std::string& verb, std::string_view now, int expected_status = 0) {
        auto r = run("dkim " + verb + " acme.example --json --now " + std::string(now));
        EXPECT_EQ(r.status, expected_status) << verb << ": " << err_ << r.out;
        if (r.status != 0) return {};
        auto doc = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(doc.is_discarded()) << r.out;
        return doc;
    }

    /// `rampart dkim status acme.example --json`: the rotations, oldest first.
    json status() {
        auto r = run("dkim status acme.example --json", false);
        EXPECT_EQ(r.status, 0) << err_;
        auto doc = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(doc.is_discarded()) << r.out;
        if (doc.is_discarded()) return json::array();
        EXPECT_EQ(doc["domain"], domain);
        return doc["rotations"];
    }

    // ---- Knot, asked directly -------------------------------------------------------------------

    /// The TXT texts Knot serves at `name` (strings joined); nullopt when the name has none.
    std::optional<std::vector<std::string>> served(const std::string& name) {
        auto a = dns::ask_server(knot_->server(), name, dns::RrType::txt, 2000ms);
        EXPECT_TRUE(a.aa) << name << ": " << a.answer.detail;
        if (a.answer.status == dns::Status::nxdomain || a.answer.status == dns::Status::nodata)
            return std::nullopt;
        EXPECT_EQ(a.answer.status, dns::Status::ok) << name << ": " << a.answer.detail;
        std::vector<std::string> out;
        for (const auto& t : a.answer.txt()) out.push_back(t.joined());
        return out;
    }

    // ---- the signer and the verifier ------------------------------------------------------------

    /// Signs as OpenDKIM would with these tables: the SigningTable's `*@acme.example` names a
    /// key, the KeyTable gives its `domain:selector:keyfile`, the key file is loaded (0600).
    Signed sign(std::string_view subject, rampart::Timestamp now) {
        std::string key_name_in_table;
        for (const auto& line : lines_of(rampart::test::read_file(signing_table_))) {
            std::istringstream fields(line);
            std::string pattern, key;
            if (!(fields >> pattern >> key) || pattern.starts_with("#")) continue;
            if (pattern == "*@" + std::string(domain)) key_name_in_table = key;
        }
        EXPECT_FALSE(key_name_in_table.empty()) << "the SigningTable has no *@acme.example";
        std::string signing_domain, selector, key_file;
        int matches = 0;
        for (const auto& line : lines_of(rampart::test::read_file(key_table_))) {
            std::istringstream fields(line);
            std::string name, value;
            if (!(fields >> name >> value) || name.starts_with("#")) continue;
            if (name != key_name_in_table) continue;
            ++matches;
            const auto first = value.find(':');
            const auto second = value.find(':', first + 1);
            EXPECT_NE(second, std::string::npos) << line;
            if (second == std::string::npos) continue;
            signing_domain = value.substr(0, first);
            selector = value.substr(first + 1, second - first - 1);
            key_file = value.substr(second + 1);
        }
        EXPECT_EQ(matches, 1) << "the KeyTable must name " << key_name_in_table << " once";
        EXPECT_EQ(signing_domain, domain);
        auto key = dkim::PrivateKey::from_file(key_file);
        EXPECT_TRUE(key.has_value()) << key_file << ": " << (key ? "" : key.error().reason);
        if (!key) return {};

        const auto text = message_text(subject);
        auto message = rampart::message::parse(text);
        EXPECT_TRUE(message.has_value());
        if (!message) return {};
        dkim::SignOptions options;
        options.domain = signing_domain;
        options.selector = selector;
        options.timestamp = now;
        dkim::Signer signer(*key, options);
        dkim::BodyHasher body;
        auto started = signer.start(message->header, body);
        EXPECT_TRUE(started.has_value()) << started.error().reason;
        if (!started) return {};
        body.update(message->body);
        body.finish();
        auto field = signer.finish(body);
        EXPECT_TRUE(field.has_value()) << field.error().reason;
        if (!field) return {};
        return Signed{.text = *field + "\r\n" + text, .selector = selector};
    }

    /// Rampart's verdict at `now`, the key fetched from Knot by a resolver with no cache of
    /// earlier answers (a fresh one each time: each stage is a receiver asking anew).
    Verdict verify(const Signed& message, rampart::Timestamp now) {
        EXPECT_FALSE(message.text.empty());
        auto parsed = rampart::message::parse(message.text);
        EXPECT_TRUE(parsed.has_value());
        if (!parsed) return {};
        dns::AresOptions options;
        options.server = knot_->server();
        auto resolver = dns::AresResolver::open(options);
        EXPECT_TRUE(resolver.has_value()) << resolver.error().reason;
        if (!resolver) return {};
        dkim::DnsKeyFetcher keys(**resolver);
        dkim::VerifyOptions verify_options;
        verify_options.now = now;
        dkim::BodyHasher body;
        dkim::Verifier verifier(keys, verify_options);
        verifier.start(parsed->header, body);
        body.update(parsed->body);
        body.finish();
        const auto results = verifier.finish(body);
        EXPECT_EQ(results.size(), 1U);
        if (results.empty()) return {};
        EXPECT_EQ(results[0].domain, domain);
        EXPECT_EQ(results[0].selector, message.selector);
        return Verdict{.result = results[0].result,
                       .code = results[0].code,
                       .reason = results[0].reason,
                       .selector = results[0].selector};
    }

    void expect_pass(const Signed& message, rampart::Timestamp now) {
        const auto v = verify(message, now);
        EXPECT_EQ(v.result, dkim::Outcome::pass)
            << v.selector << ": " << v.code << ": " << v.reason;
    }

    fs::path dir_, old_key_file_, key_table_, signing_table_, config_, db_;
    std::string old_record_, err_, output_;
    std::unique_ptr<KnotServer> knot_;
};

TEST_F(DkimRotation, DryRunStoresWritesAndPublishesNothing) {
    const auto key_table = rampart::test::read_file(key_table_);
    const auto signing_table = rampart::test::read_file(signing_table_);

    const auto doc = dkim("rotate --dry-run", "2026-12-01");
    ASSERT_FALSE(doc.is_null());
    EXPECT_TRUE(doc["dry_run"].get<bool>());
    EXPECT_EQ(doc["name"], key_name(new_selector));
    EXPECT_TRUE(doc["record"].get<std::string>().starts_with("v=DKIM1; k=rsa; p=")) << doc.dump();
    EXPECT_EQ(doc["rotation"]["stage"], "publishing");
    EXPECT_EQ(doc["rotation"]["old_selector"], old_selector);
    EXPECT_EQ(doc["rotation"]["new_selector"], new_selector);
    EXPECT_NE(doc["rotation"]["detail"].get<std::string>().find("dry run"), std::string::npos);

    EXPECT_TRUE(fs::is_empty(dir_ / "keys")) << "a dry run keeps no key file";
    EXPECT_EQ(status().size(), 0U) << "a dry run stores no rotation";
    EXPECT_EQ(served(key_name(new_selector)), std::nullopt) << "a dry run publishes nothing";
    EXPECT_EQ(served(key_name(old_selector)), std::vector<std::string>{old_record_});
    EXPECT_EQ(rampart::test::read_file(key_table_), key_table);
    EXPECT_EQ(rampart::test::read_file(signing_table_), signing_table);

    // ... and it does not count as an unfinished rotation: a real one can start.
    const auto started = dkim("rotate", "2026-12-01");
    ASSERT_FALSE(started.is_null());
    EXPECT_FALSE(started["dry_run"].get<bool>());
    EXPECT_EQ(started["rotation"]["new_selector"], new_selector);
    EXPECT_FALSE(fs::is_empty(dir_ / "keys"));
}

TEST_F(DkimRotation, EveryMessageVerifiesThroughTheWholeRotation) {
    const std::string other_lines[] = {
        "mail._domainkey.other.example other.example:mail:/etc/dkimkeys/other.key",
        "*@other.example mail._domainkey.other.example"};

    // ---- before: the old key signs and Knot serves it.
    const auto t0 = at("2026-12-01");
    const auto before = sign("before", t0);
    ASSERT_EQ(before.selector, old_selector);
    expect_pass(before, t0);

    // ---- rotate at 2026-12-01: the new key is published and the rotation waits out the old
    // key's TTL; the signer still uses the old key.
    const auto started = dkim("rotate", "2026-12-01");
    ASSERT_FALSE(started.is_null());
    EXPECT_FALSE(started["dry_run"].get<bool>());
    EXPECT_EQ(started["name"], key_name(new_selector));
    const auto new_record = started["record"].get<std::string>();
    EXPECT_TRUE(new_record.starts_with("v=DKIM1; k=rsa; p=")) << new_record;
    EXPECT_EQ(started["rotation"]["stage"], "waiting") << started.dump(2);
    EXPECT_EQ(started["rotation"]["old_selector"], old_selector);
    EXPECT_EQ(started["rotation"]["new_selector"], new_selector);
    // The old record's TTL (one day) decides the wait, not the default of an hour.
    EXPECT_EQ(started["rotation"]["next_at"], "2026-12-02T00:00:00Z") << started.dump(2);

    const auto new_key_file =
        dir_ / "keys" / ("acme.example." + std::string(new_selector) + ".key");
    ASSERT_TRUE(fs::exists(new_key_file));
    EXPECT_EQ(fs::status(new_key_file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    auto new_key = dkim::PrivateKey::from_file(new_key_file);
    ASSERT_TRUE(new_key.has_value()) << new_key.error().reason;
    EXPECT_EQ(new_key->bits(), 2048U);
    EXPECT_EQ(dkim::format_key_record(new_key->type(), new_key->public_key()).value_or(""),
              new_record)
        << "the published record is the public half of the key file";

    EXPECT_EQ(served(key_name(new_selector)), std::vector<std::string>{new_record});
    EXPECT_EQ(served(key_name(old_selector)), std::vector<std::string>{old_record_});
    EXPECT_NE(rampart::test::read_file(signing_table_).find("s202605._domainkey.acme.example"),
              std::string::npos)
        << "no switch before the old TTL has passed";
    const auto waiting = sign("waiting", t0);
    EXPECT_EQ(waiting.selector, old_selector);
    expect_pass(waiting, t0);
    expect_pass(before, t0);

    auto rows = status();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["stage"], "waiting");
    EXPECT_EQ(rows[0]["id"], "acme.example/s202612");
    EXPECT_FALSE(rows[0]["finished"].get<bool>());

    // ---- a second rotation while this one is unfinished: refused, nothing changes.
    const auto refused = run("dkim rotate acme.example --json --now 2026-12-01T06:00:00Z");
    EXPECT_EQ(refused.status, 1) << refused.out;
    EXPECT_NE(err_.find("unfinished rotation"), std::string::npos) << err_;
    EXPECT_EQ(status().size(), 1U);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "keys"), fs::directory_iterator()), 1);

    // ---- half a day later: the old TTL has not passed, the rotation stays.
    const auto t_half = at("2026-12-01T12:00:00Z");
    const auto half = dkim("advance", "2026-12-01T12:00:00Z");
    ASSERT_FALSE(half.is_null());
    EXPECT_EQ(half["rotation"]["stage"], "waiting") << half.dump(2);
    EXPECT_NE(rampart::test::read_file(signing_table_).find("s202605._domainkey.acme.example"),
              std::string::npos);
    const auto half_day = sign("half-day", t_half);
    EXPECT_EQ(half_day.selector, old_selector);
    expect_pass(half_day, t_half);

    // ---- 2026-12-02: the old TTL has passed and Knot serves the new key: the signer switches.
    const auto t1 = at("2026-12-02");
    const auto switched = dkim("advance", "2026-12-02");
    ASSERT_FALSE(switched.is_null());
    EXPECT_EQ(switched["rotation"]["stage"], "grace") << switched.dump(2);
    EXPECT_EQ(switched["rotation"]["next_at"], "2026-12-04T00:00:00Z");
    const auto key_table = rampart::test::read_file(key_table_);
    const auto signing_table = rampart::test::read_file(signing_table_);
    EXPECT_NE(key_table.find("s202612._domainkey.acme.example acme.example:s202612:" +
                             new_key_file.string()),
              std::string::npos)
        << key_table;
    EXPECT_EQ(key_table.find("s202605"), std::string::npos) << key_table;
    EXPECT_NE(signing_table.find("*@acme.example s202612._domainkey.acme.example"),
              std::string::npos)
        << signing_table;
    EXPECT_NE(key_table.find(other_lines[0]), std::string::npos) << key_table;
    EXPECT_NE(signing_table.find(other_lines[1]), std::string::npos) << signing_table;

    const auto during = sign("grace", t1);
    EXPECT_EQ(during.selector, new_selector);
    expect_pass(during, t1);
    expect_pass(before, t1);  // grace: the old key is still published
    EXPECT_EQ(served(key_name(old_selector)), std::vector<std::string>{old_record_});
    rows = status();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["stage"], "grace");

    // ---- 2026-12-04, through the daily tick: grace is over, the old key is revoked.
    const auto t2 = at("2026-12-04");
    const auto tick = run("advance --json --now 2026-12-04");
    EXPECT_NE(tick.status, 2) << err_;
    const auto tick_doc = json::parse(tick.out, nullptr, false);
    ASSERT_FALSE(tick_doc.is_discarded()) << tick.out;
    ASSERT_EQ(tick_doc["rotations"].size(), 1U) << tick_doc.dump(2);
    EXPECT_EQ(tick_doc["rotations"][0]["domain"], domain);
    EXPECT_EQ(tick_doc["rotations"][0]["stage"], "revoked") << tick_doc["rotations"].dump(2);
    EXPECT_FALSE(tick_doc["rotations"][0]["started"].get<bool>());
    EXPECT_TRUE(tick_doc["rotations"][0]["error"].is_null());

    EXPECT_EQ(served(key_name(old_selector)), std::vector<std::string>{"v=DKIM1; k=rsa; p="});
    EXPECT_EQ(served(key_name(new_selector)), std::vector<std::string>{new_record});
    const auto revoked = verify(before, t2);
    EXPECT_EQ(revoked.result, dkim::Outcome::permerror) << revoked.code;
    EXPECT_EQ(revoked.code, "key-revoked") << revoked.reason;
    const auto after = sign("after", t2);
    EXPECT_EQ(after.selector, new_selector);
    expect_pass(after, t2);
    expect_pass(during, t2);
    rows = status();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["stage"], "revoked");
    EXPECT_EQ(rows[0]["next_at"], "2026-12-06T00:00:00Z");

    // ---- 2026-12-05: not yet time to remove it.
    const auto early = dkim("advance", "2026-12-05");
    ASSERT_FALSE(early.is_null());
    EXPECT_EQ(early["rotation"]["stage"], "revoked");
    EXPECT_EQ(served(key_name(old_selector)), std::vector<std::string>{"v=DKIM1; k=rsa; p="});

    // ---- 2026-12-06: the old record is removed; the rotation is done.
    const auto t3 = at("2026-12-06");
    const auto done = dkim("advance", "2026-12-06");
    ASSERT_FALSE(done.is_null());
    EXPECT_EQ(done["rotation"]["stage"], "done") << done.dump(2);
    EXPECT_TRUE(done["rotation"]["finished"].get<bool>());
    EXPECT_EQ(served(key_name(old_selector)), std::nullopt);
    EXPECT_EQ(served(key_name(new_selector)), std::vector<std::string>{new_record});
    const auto gone = verify(before, t3);
    EXPECT_EQ(gone.result, dkim::Outcome::permerror) << gone.code;
    EXPECT_EQ(gone.code, "key-not-found") << gone.reason;
    const auto last = sign("done", t3);
    EXPECT_EQ(last.selector, new_selector);
    expect_pass(last, t3);
    expect_pass(after, t3);

    rows = status();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["stage"], "done");
    EXPECT_TRUE(rows[0]["finished"].get<bool>());
    EXPECT_EQ(rows[0]["old_selector"], old_selector);
    EXPECT_EQ(rows[0]["new_selector"], new_selector);
    EXPECT_EQ(rows[0]["started_at"], "2026-12-01T00:00:00Z");

    // Nothing left to move.
    EXPECT_EQ(run("dkim advance acme.example --now 2026-12-07").status, 1);
    EXPECT_NE(err_.find("no unfinished rotation"), std::string::npos) << err_;

    // ---- the private keys were never printed, and never stored (only their paths).
    std::string store_bytes;
    for (const auto& f : fs::directory_iterator(dir_))
        if (f.path().filename().string().starts_with("rampart.db"))
            store_bytes += rampart::test::read_file(f.path());
    ASSERT_FALSE(store_bytes.empty());
    for (const auto& key_file : {old_key_file_, new_key_file}) {
        const auto secret = secret_lines(key_file);
        ASSERT_GT(secret.size(), 10U);
        for (const auto& line : secret) {
            EXPECT_EQ(output_.find(line), std::string::npos) << key_file << " was printed";
            EXPECT_EQ(store_bytes.find(line), std::string::npos) << key_file << " was stored";
        }
    }
    EXPECT_EQ(output_.find("PRIVATE KEY"), std::string::npos);
    EXPECT_NE(output_.find(new_key_file.string()), std::string::npos)
        << "the key file's path is what the operator sees";
}

}  // namespace

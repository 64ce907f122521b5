// rotation: a DKIM key rotation walked stage by stage with a fake zone of two authoritative
// servers, a fake publisher and a manual clock. RFC 6376 §3.6.1: "An empty value means that
// this public key has been revoked"; the old key is published so before it is removed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dkim/dkim.hpp"
#include "rotation/rotation.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rampart::rotation {
namespace {

using namespace std::chrono_literals;

Timestamp t0() { return *parse_date("2026-11-23T10:00:00Z"); }

constexpr const char* domain = "acme.example";
constexpr const char* old_name = "s202511._domainkey.acme.example";
constexpr const char* new_name = "s202611._domainkey.acme.example";

/// Two authoritative servers: the primary takes every change, the secondary follows it while
/// `sync` is on. `down` makes the secondary time out.
struct FakeZone {
    std::map<std::string, std::vector<std::string>> primary, secondary;
    std::map<std::string, std::uint32_t> ttl;
    bool sync = true;
    bool down = false;
    void set(const std::string& name, std::vector<std::string> values) {
        primary[name] = values;
        if (sync) secondary[name] = std::move(values);
    }
    void catch_up() { secondary = primary; }
};

class FakeChecker final : public publish::AuthorityChecker {
public:
    explicit FakeChecker(FakeZone& zone) : zone_(zone) {}
    publish::Coverage check(const publish::Wanted& wanted) override {
        ++calls;
        publish::Coverage c;
        c.all_serve = true;
        int serving = 0;
        for (int i = 0; i < 2; ++i) {
            auto& side = i == 0 ? zone_.primary : zone_.secondary;
            publish::ServerAnswer a;
            a.ns = i == 0 ? "ns1.acme.example" : "ns2.acme.example";
            a.address = i == 0 ? "192.0.2.1:53" : "192.0.2.2:53";
            a.aa = true;
            if (i == 1 && zone_.down) {
                a.status = "timeout";
            } else {
                auto it = side.find(wanted.name);
                a.records = it == side.end() ? std::vector<std::string>{} : it->second;
                a.status = a.records.empty() ? "nxdomain" : "ok";
                a.ttl = a.records.empty()
                            ? 0
                            : (zone_.ttl.contains(wanted.name) ? zone_.ttl[wanted.name] : 3600);
                c.max_ttl = std::max(c.max_ttl, a.ttl);
                a.serves = a.records == wanted.values;
            }
            if (a.serves) ++serving;
            c.all_serve = c.all_serve && a.serves;
            c.servers.push_back(a);
        }
        c.detail = fmt::format("{} of 2 servers serve it", serving);
        return c;
    }
    int calls = 0;

private:
    FakeZone& zone_;
};

/// rfc2136-like (compare-and-swap on the primary), or manual (queues, changes nothing).
class FakePublisher final : public publish::Publisher {
public:
    explicit FakePublisher(FakeZone& zone) : zone_(zone) {}
    std::string_view kind() const noexcept override { return manual ? "manual" : "rfc2136"; }
    Result<publish::Outcome> publish(const publish::Change& change) override {
        changes.push_back(change);
        if (failing)
            return publish::Outcome{.status = publish::Outcome::Status::failed,
                                    .detail = "REFUSED by the primary"};
        if (manual)
            return publish::Outcome{.status = publish::Outcome::Status::queued,
                                    .detail = "written to the outbox"};
        auto& now = zone_.primary[change.name];
        std::vector<std::string> expected;
        if (!change.old_record.empty()) expected.push_back(change.old_record);
        if (now != expected)
            return publish::Outcome{.status = publish::Outcome::Status::conflict,
                                    .detail = "prerequisite failed"};
        std::vector<std::string> next;
        if (!change.new_record.empty()) next.push_back(change.new_record);
        zone_.set(change.name, next);
        return publish::Outcome{.status = publish::Outcome::Status::published, .detail = "NOERROR"};
    }
    std::vector<publish::Change> changes;
    bool manual = false;
    bool failing = false;

private:
    FakeZone& zone_;
};

/// Real Ed25519 keys (fast), keeping the PEM so tests can look for it where it must not be.
class RecordingKeys final : public setup::KeyGenerator {
public:
    Result<setup::KeyPair> generate(const setup::KeySpec& spec) override {
        auto pair = setup::openssl_keys().generate(spec);
        if (pair) pems.emplace_back(pair->private_key.reveal());
        ++calls;
        return pair;
    }
    std::vector<std::string> pems;
    int calls = 0;
};

struct FakeRunner {
    std::vector<Command> runs;
    int status = 0;
    CommandRunner runner() {
        return [this](const Command& c) -> Result<int> {
            runs.push_back(c);
            return status;
        };
    }
};

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string old_record() {
    static const std::string record = [] {
        auto pair = setup::openssl_keys().generate({.algorithm = setup::KeyAlgorithm::ed25519});
        return *setup::key_record(*pair);
    }();
    return record;
}

class RotationTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               fmt::format("rampart-rotation-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "opendkim");
        std::ofstream(dir_ / "opendkim/KeyTable")
            << "# KeyTable\n"
               "s202511._domainkey.acme.example "
               "acme.example:s202511:/etc/dkimkeys/acme.example.s202511.key\n"
               "mail._domainkey.other.example other.example:mail:/etc/dkimkeys/other.key\n";
        std::ofstream(dir_ / "opendkim/SigningTable")
            << "# SigningTable\n"
               "*@acme.example s202511._domainkey.acme.example\n"
               "*@other.example mail._domainkey.other.example\n";
        zone_.set(old_name, {old_record()});
        zone_.ttl[old_name] = 86400;
        target_ = Domain{.domain = domain, .client = "acme", .config = {}};
        auto& c = target_.config;
        c.selector = "s202511";
        c.key_file = "/etc/dkimkeys/acme.example.s202511.key";
        c.key_dir = dir_ / "keys";
        c.algorithm = "ed25519";
        c.signer = "opendkim";
        c.key_table = dir_ / "opendkim/KeyTable";
        c.signing_table = dir_ / "opendkim/SigningTable";
        c.command = {"systemctl", "reload", "opendkim"};
        open_store();
    }
    void TearDown() override {
        desk_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    void open_store() {
        desk_.reset();
        store_.reset();
        auto s = store::open_sqlite(dir_ / "rampart.db");
        ASSERT_TRUE(s) << s.error().describe();
        store_ = std::move(*s);
        desk_ = std::make_unique<publish::Desk>(
            publish::Desk{.publisher = publisher_, .checker = &checker_, .store = *store_});
    }

    Ports ports() {
        Ports p{.desk = desk_.get(), .keys = &keys_, .run = runner_.runner()};
        p.apply.sleep = [](std::chrono::steady_clock::duration) {};
        p.apply.deadline = 10s;
        return p;
    }

    store::DkimRotation started(Timestamp now = t0()) {
        auto r = start(target_, ports(), now);
        EXPECT_TRUE(r) << r.error().describe();
        return r ? r->rotation : store::DkimRotation{};
    }

    store::DkimRotation advanced(Timestamp now) {
        auto r = advance(target_, ports(), now);
        EXPECT_TRUE(r) << r.error().describe();
        return r ? r->rotation : store::DkimRotation{};
    }

    std::vector<store::DkimRotation> stored() {
        auto r = store_->rotations(domain);
        EXPECT_TRUE(r) << r.error().describe();
        return r ? *r : std::vector<store::DkimRotation>{};
    }

    std::filesystem::path dir_;
    FakeZone zone_;
    FakeChecker checker_{zone_};
    FakePublisher publisher_{zone_};
    RecordingKeys keys_;
    FakeRunner runner_;
    Domain target_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<publish::Desk> desk_;
};

TEST_F(RotationTest, WalksEveryStageFromStartToDone) {
    auto r = started();
    EXPECT_EQ(r.stage, "publishing");
    EXPECT_EQ(r.id, "acme.example/s202611");
    EXPECT_EQ(r.old_selector, "s202511");
    EXPECT_EQ(r.new_selector, "s202611");
    EXPECT_EQ(r.old_record, old_record());
    EXPECT_EQ(r.old_ttl, 86400U);
    EXPECT_EQ(r.old_key_file, "/etc/dkimkeys/acme.example.s202511.key");
    EXPECT_EQ(r.key_file, (dir_ / "keys/acme.example.s202611.key").string());
    EXPECT_TRUE(r.new_record.starts_with("v=DKIM1; k=ed25519; p=")) << r.new_record;
    EXPECT_FALSE(r.finished);
    struct stat st {};
    ASSERT_EQ(::stat(r.key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    EXPECT_EQ(read(r.key_file), keys_.pems.at(0));
    ASSERT_EQ(stored().size(), 1U);

    // publishing → waiting: the new key is live at both servers; the old TTL (a day) must pass.
    r = advanced(t0());
    EXPECT_EQ(r.stage, "waiting") << r.detail;
    EXPECT_EQ(r.next_at, t0() + 86400s);
    ASSERT_EQ(publisher_.changes.size(), 1U);
    EXPECT_EQ(publisher_.changes[0].name, new_name);
    EXPECT_EQ(publisher_.changes[0].old_record, "");
    EXPECT_EQ(publisher_.changes[0].new_record, r.new_record);
    EXPECT_EQ(publisher_.changes[0].client, "acme");
    EXPECT_EQ(zone_.secondary[new_name], std::vector<std::string>{r.new_record});

    // Not before the TTL has passed.
    r = advanced(t0() + 23h);
    EXPECT_EQ(r.stage, "waiting");
    EXPECT_TRUE(runner_.runs.empty());

    // waiting → switching → grace in one call: the tables are rewritten and OpenDKIM reloaded.
    r = advanced(t0() + 24h);
    EXPECT_EQ(r.stage, "grace") << r.detail;
    EXPECT_EQ(r.next_at, t0() + 24h + std::chrono::days(7));
    ASSERT_EQ(runner_.runs.size(), 1U);
    EXPECT_EQ(runner_.runs[0].argv, (std::vector<std::string>{"systemctl", "reload", "opendkim"}));
    EXPECT_NE(std::ranges::find(runner_.runs[0].environment,
                                std::pair<std::string, std::string>{"RAMPART_SELECTOR", "s202611"}),
              runner_.runs[0].environment.end());
    EXPECT_NE(std::ranges::find(runner_.runs[0].environment,
                                std::pair<std::string, std::string>{"RAMPART_DOMAIN", domain}),
              runner_.runs[0].environment.end());
    EXPECT_NE(
        std::ranges::find(runner_.runs[0].environment,
                          std::pair<std::string, std::string>{"RAMPART_KEY_FILE", r.key_file}),
        runner_.runs[0].environment.end());
    EXPECT_EQ(read(dir_ / "opendkim/KeyTable"),
              "# KeyTable\n"
              "s202611._domainkey.acme.example acme.example:s202611:" +
                  r.key_file +
                  "\n"
                  "mail._domainkey.other.example other.example:mail:/etc/dkimkeys/other.key\n");
    EXPECT_EQ(read(dir_ / "opendkim/SigningTable"),
              "# SigningTable\n"
              "*@acme.example s202611._domainkey.acme.example\n"
              "*@other.example mail._domainkey.other.example\n");
    EXPECT_EQ(zone_.primary[old_name], std::vector<std::string>{old_record()});  // still published

    // grace → revoked: the old selector is published with an empty p=.
    r = advanced(t0() + std::chrono::days(8));
    EXPECT_EQ(r.stage, "revoked") << r.detail;
    EXPECT_EQ(zone_.secondary[old_name], std::vector<std::string>{"v=DKIM1; k=ed25519; p="});
    ASSERT_EQ(publisher_.changes.size(), 2U);
    EXPECT_EQ(publisher_.changes[1].old_record, old_record());
    auto revoked = dkim::parse_key_record(zone_.primary[old_name].at(0));
    ASSERT_TRUE(revoked);
    EXPECT_TRUE(revoked->revoked);

    // revoked → done: the old record is removed.
    r = advanced(t0() + std::chrono::days(14));
    EXPECT_EQ(r.stage, "revoked");
    r = advanced(t0() + std::chrono::days(15));
    EXPECT_EQ(r.stage, "done") << r.detail;
    EXPECT_TRUE(r.finished);
    EXPECT_TRUE(zone_.primary[old_name].empty());
    ASSERT_EQ(publisher_.changes.size(), 3U);
    EXPECT_EQ(publisher_.changes[2].new_record, "");

    auto rows = stored();
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0], r);
    auto current = store_->current_rotation(domain);
    ASSERT_TRUE(current);
    EXPECT_FALSE(*current);
    auto again = advance(target_, ports(), t0() + std::chrono::days(16));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::not_found);
}

TEST_F(RotationTest, WaitingNeedsEveryAuthoritativeServerAfterTheTtl) {
    started();
    ASSERT_EQ(advanced(t0()).stage, "waiting");
    zone_.down = true;
    auto r = advanced(t0() + 48h);
    EXPECT_EQ(r.stage, "waiting");
    EXPECT_NE(r.detail.find("not every authoritative server"), std::string::npos) << r.detail;
    EXPECT_EQ(stored().at(0).detail, r.detail);  // the operator sees why in status
    EXPECT_TRUE(runner_.runs.empty());
    zone_.down = false;
    EXPECT_EQ(advanced(t0() + 49h).stage, "grace");
}

TEST_F(RotationTest, AQueuedPublishStaysUntilEveryServerServesIt) {
    publisher_.manual = true;
    started();
    auto r = advanced(t0());
    EXPECT_EQ(r.stage, "publishing");
    EXPECT_NE(r.detail.find("queued"), std::string::npos) << r.detail;
    ASSERT_EQ(publisher_.changes.size(), 1U);

    // Asked again: not queued twice, still not live.
    r = advanced(t0() + 1h);
    EXPECT_EQ(r.stage, "publishing");
    EXPECT_EQ(publisher_.changes.size(), 1U);

    // The operator loads it on the primary; the secondary lags.
    zone_.sync = false;
    zone_.set(new_name, {r.new_record});
    r = advanced(t0() + 2h);
    EXPECT_EQ(r.stage, "publishing");
    EXPECT_NE(r.detail.find("1 of 2"), std::string::npos) << r.detail;

    zone_.catch_up();
    r = advanced(t0() + 3h);
    EXPECT_EQ(r.stage, "waiting") << r.detail;
    EXPECT_EQ(r.next_at, t0() + 3h + 86400s);
    EXPECT_EQ(publisher_.changes.size(), 1U);
}

TEST_F(RotationTest, AFailedPublishKeepsTheStageAndSaysWhy) {
    started();
    publisher_.failing = true;
    auto r = advanced(t0());
    EXPECT_EQ(r.stage, "publishing");
    EXPECT_NE(r.detail.find("failed"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("REFUSED by the primary"), std::string::npos) << r.detail;
    EXPECT_EQ(stored().at(0).stage, "publishing");
    EXPECT_EQ(stored().at(0).detail, r.detail);

    publisher_.failing = false;
    EXPECT_EQ(advanced(t0() + 1h).stage, "waiting");
}

TEST_F(RotationTest, AConflictAtTheOldNameKeepsGrace) {
    started();
    advanced(t0());
    ASSERT_EQ(advanced(t0() + 24h).stage, "grace");
    zone_.set(old_name, {"v=DKIM1; k=ed25519; p=somebodyelse"});
    auto r = advanced(t0() + std::chrono::days(9));
    EXPECT_EQ(r.stage, "grace");
    EXPECT_NE(r.detail.find("conflict"), std::string::npos) << r.detail;
}

TEST_F(RotationTest, ARestartContinuesWhereItWas) {
    started();
    ASSERT_EQ(advanced(t0()).stage, "waiting");

    // A new process: the store reopened from its file, new fakes over the same zone.
    open_store();
    FakePublisher publisher(zone_);
    FakeChecker checker(zone_);
    publish::Desk desk{.publisher = publisher, .checker = &checker, .store = *store_};
    Ports p = ports();
    p.desk = &desk;
    auto r = advance(target_, p, t0() + 25h);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->rotation.stage, "grace");
    EXPECT_TRUE(publisher.changes.empty());  // nothing published twice
    EXPECT_EQ(runner_.runs.size(), 1U);
}

TEST_F(RotationTest, AnUnfinishedRotationRefusesASecondStart) {
    started();
    auto again = start(target_, ports(), t0() + 1h);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::conflict);
    EXPECT_NE(again.error().reason.find("unfinished rotation"), std::string::npos);
    EXPECT_EQ(keys_.calls, 1);
}

TEST_F(RotationTest, ASelectorAlreadyUsedGetsALetter) {
    target_.config.selector = "s202611";  // the current key already carries this month's name
    zone_.set("s202611._domainkey.acme.example", {old_record()});
    const Timestamp first = *parse_date("2026-11-01T08:00:00Z");
    auto r = started(first);
    EXPECT_EQ(r.new_selector, "s202611b");
    EXPECT_EQ(r.old_selector, "s202611");

    // Finished within the month and rotated again: the next letter.
    advanced(first);
    advanced(first + 24h);
    advanced(first + std::chrono::days(8));
    ASSERT_TRUE(advanced(first + std::chrono::days(15)).finished);
    auto next = start(target_, ports(), first + std::chrono::days(20));
    ASSERT_TRUE(next) << next.error().describe();
    EXPECT_EQ(next->rotation.new_selector, "s202611c");
    EXPECT_EQ(next->rotation.old_selector, "s202611b");  // the last switched rotation signs now
}

TEST_F(RotationTest, AKeyFileLeftInKeyDirAlsoCountsAsUsed) {
    std::filesystem::create_directories(dir_ / "keys");
    std::ofstream(dir_ / "keys/acme.example.s202611.key") << "stray";
    EXPECT_EQ(started().new_selector, "s202611b");
}

TEST_F(RotationTest, DryRunStoresAndWritesNothing) {
    auto r = start(target_, ports(), t0(), {.selector_prefix = "k", .dry_run = true});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_TRUE(r->dry_run);
    EXPECT_EQ(r->rotation.new_selector, "k202611");
    EXPECT_TRUE(r->rotation.new_record.starts_with("v=DKIM1; k=ed25519; p="));
    EXPECT_NE(r->rotation.detail.find("dry run"), std::string::npos);
    EXPECT_TRUE(stored().empty());
    EXPECT_FALSE(std::filesystem::exists(dir_ / "keys"));
    EXPECT_TRUE(publisher_.changes.empty());
}

TEST_F(RotationTest, ABadPrefixIsRefused) {
    auto r = start(target_, ports(), t0(), {.selector_prefix = "a b"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_EQ(keys_.calls, 0);
}

TEST_F(RotationTest, ACommandFailureKeepsSwitching) {
    started();
    advanced(t0());
    runner_.status = 1;
    auto r = advanced(t0() + 24h);
    EXPECT_EQ(r.stage, "switching");
    EXPECT_NE(r.detail.find("systemctl exited with status 1"), std::string::npos) << r.detail;
    EXPECT_EQ(stored().at(0).stage, "switching");
    runner_.status = 0;
    r = advanced(t0() + 25h);
    EXPECT_EQ(r.stage, "grace");
    EXPECT_EQ(r.next_at, t0() + 25h + std::chrono::days(7));
    EXPECT_EQ(runner_.runs.size(), 2U);
}

TEST_F(RotationTest, TheCommandSignerRunsOnlyTheCommand) {
    target_.config.signer = "command";
    target_.config.command = {"/usr/local/bin/switch-key"};
    const auto before = read(dir_ / "opendkim/KeyTable");
    started();
    advanced(t0());
    EXPECT_EQ(advanced(t0() + 24h).stage, "grace");
    ASSERT_EQ(runner_.runs.size(), 1U);
    EXPECT_EQ(runner_.runs[0].argv.at(0), "/usr/local/bin/switch-key");
    EXPECT_EQ(read(dir_ / "opendkim/KeyTable"), before);
}

TEST_F(RotationTest, WithoutAnOldKeyTheSwitchFinishesIt) {
    target_.config.selector.clear();
    target_.config.key_file.reset();
    auto r = started();
    EXPECT_EQ(r.old_selector, "");
    advanced(t0());
    r = advanced(t0() + 1h);
    EXPECT_EQ(r.stage, "done") << r.detail;
    EXPECT_TRUE(r.finished);
    EXPECT_EQ(publisher_.changes.size(), 1U);
}

TEST_F(RotationTest, AbandonFinishesWithTheReasonAndAllowsANewStart) {
    started();
    auto a = abandon(*store_, domain, "the operator changed signer", t0() + 1h);
    ASSERT_TRUE(a) << a.error().describe();
    EXPECT_TRUE(a->finished);
    EXPECT_EQ(a->stage, "publishing");
    EXPECT_EQ(a->detail, "abandoned: the operator changed signer");
    auto next = start(target_, ports(), t0() + 2h);
    ASSERT_TRUE(next) << next.error().describe();
    EXPECT_EQ(next->rotation.new_selector, "s202611b");
    EXPECT_EQ(next->rotation.old_selector, "s202511");  // the abandoned one never signed
}

TEST_F(RotationTest, NoPrivateKeyMaterialInAnyDetailOrRow) {
    Report last;
    auto s = start(target_, ports(), t0());
    ASSERT_TRUE(s);
    std::vector<std::string> texts = s->moves;
    for (auto when :
         {t0(), t0() + 24h, t0() + std::chrono::days(8), t0() + std::chrono::days(15)}) {
        auto r = advance(target_, ports(), when);
        ASSERT_TRUE(r) << r.error().describe();
        texts.insert(texts.end(), r->moves.begin(), r->moves.end());
    }
    for (const auto& row : stored())
        for (const auto* field : {&row.detail, &row.old_record, &row.new_record, &row.key_file,
                                  &row.old_key_file, &row.stage, &row.id})
            texts.push_back(*field);
    auto log = store_->publish_log(domain);
    ASSERT_TRUE(log);
    for (const auto& e : *log) {
        texts.push_back(e.detail);
        texts.push_back(e.reason);
        texts.push_back(e.evidence);
        texts.push_back(e.new_record);
    }
    ASSERT_EQ(keys_.pems.size(), 1U);
    // Every line of the PEM body (the base64 of the private key).
    std::vector<std::string> secrets;
    std::istringstream pem(keys_.pems[0]);
    for (std::string line; std::getline(pem, line);)
        if (!line.starts_with("-----")) secrets.push_back(line.substr(0, 24));
    ASSERT_FALSE(secrets.empty());
    for (const auto& text : texts) {
        EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << text;
        for (const auto& secret : secrets) EXPECT_EQ(text.find(secret), std::string::npos) << text;
    }
}

TEST(RotationSchedule, DueAfterRotateEveryDaysOrWhenNeverRotated) {
    config::DkimRotationConfig c;
    EXPECT_FALSE(due(c, {}, t0()));  // no schedule
    c.rotate_every_days = 90;
    EXPECT_TRUE(due(c, {}, t0()));
    store::DkimRotation r{.domain = domain, .id = "acme.example/s202608", .stage = "done"};
    r.started_at = t0() - std::chrono::days(89);
    r.finished = true;
    std::vector<store::DkimRotation> history{r};
    EXPECT_FALSE(due(c, history, t0()));
    EXPECT_TRUE(due(c, history, t0() + std::chrono::days(1)));
    history[0].finished = false;
    EXPECT_FALSE(due(c, history, t0() + std::chrono::days(30)));  // one is under way
}

TEST(RotationSchedule, SigningSelectorIsTheLastSwitchedRotation) {
    config::DkimRotationConfig c;
    c.selector = "mail";
    EXPECT_EQ(signing_selector(c, {}), "mail");
    std::vector<store::DkimRotation> h(2);
    h[0].new_selector = "s202601";
    h[0].stage = "revoked";
    h[1].new_selector = "s202606";
    h[1].stage = "waiting";
    h[1].finished = true;  // abandoned before the switch
    EXPECT_EQ(signing_selector(c, h), "s202601");
}

TEST(RotationStage, NamesReadBack) {
    for (auto s : {Stage::publishing, Stage::waiting, Stage::switching, Stage::grace,
                   Stage::revoked, Stage::done})
        EXPECT_EQ(parse_stage(to_string(s)), s);
    EXPECT_FALSE(parse_stage("abandoned"));
}

// ---- OpenDKIM tables ---------------------------------------------------------------------------

TEST(OpenDkimTables, KeyTableReplacesOnlyThisDomainsLines) {
    const std::string text =
        "# Rampart test KeyTable\n"
        "\n"
        "mail._domainkey.other.example other.example:mail:/keys/other.key\n"
        "s1._domainkey.acme.example acme.example:s1:/keys/a1.key\n"
        "S0._domainkey.ACME.example. acme.example:s0:/keys/a0.key\n"
        "s1._domainkey.news.acme.example news.acme.example:s1:/keys/news.key\n"
        "s1._domainkey.notacme.example notacme.example:s1:/keys/n.key\n"
        "# trailing comment";
    EXPECT_EQ(
        rewrite_key_table(text, "acme.example", "s202611", "/keys/acme.example.s202611.key"),
        "# Rampart test KeyTable\n"
        "\n"
        "mail._domainkey.other.example other.example:mail:/keys/other.key\n"
        "s202611._domainkey.acme.example acme.example:s202611:/keys/acme.example.s202611.key\n"
        "s1._domainkey.news.acme.example news.acme.example:s1:/keys/news.key\n"
        "s1._domainkey.notacme.example notacme.example:s1:/keys/n.key\n"
        "# trailing comment\n");
}

TEST(OpenDkimTables, KeyTableGainsTheLineWhenTheDomainHadNone) {
    EXPECT_EQ(rewrite_key_table("", "acme.example", "s1", "/k/a.key"),
              "s1._domainkey.acme.example acme.example:s1:/k/a.key\n");
}

TEST(OpenDkimTables, SigningTableRepointsThisDomainsKeysAndKeepsPatterns) {
    const std::string text =
        "# SigningTable\n"
        "*@other.example\tmail._domainkey.other.example\n"
        "*@news.acme.example\ts1._domainkey.acme.example\n"
        "*@acme.example s1._domainkey.acme.example\n"
        "*@notacme.example s1._domainkey.notacme.example\n";
    EXPECT_EQ(rewrite_signing_table(text, "acme.example", "s202611"),
              "# SigningTable\n"
              "*@other.example\tmail._domainkey.other.example\n"
              "*@news.acme.example\ts202611._domainkey.acme.example\n"
              "*@acme.example s202611._domainkey.acme.example\n"
              "*@notacme.example s1._domainkey.notacme.example\n");
}

TEST(OpenDkimTables, SigningTableGainsThePatternWhenMissing) {
    EXPECT_EQ(rewrite_signing_table("# none\n*@other.example mail._domainkey.other.example\n",
                                    "acme.example", "s1"),
              "# none\n*@other.example mail._domainkey.other.example\n*@acme.example "
              "s1._domainkey.acme.example\n");
    // A provider's key for this domain's pattern is replaced too: this domain signs with ours.
    EXPECT_EQ(rewrite_signing_table("*@acme.example k1._domainkey.provider.example\n",
                                    "acme.example", "s1"),
              "*@acme.example s1._domainkey.acme.example\n");
}

TEST(OpenDkimTables, WriteWholeKeepsTheModeAndLeavesNoTemporaryFile) {
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("rampart-write-whole-{}", ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = dir / "KeyTable";
    std::ofstream(path) << "old\n";
    ::chmod(path.c_str(), 0640);
    ASSERT_TRUE(write_whole(path, "new\n"));
    EXPECT_EQ(read(path), "new\n");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640U);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                            std::filesystem::directory_iterator()),
              1);
    auto missing = write_whole(dir / "no/such/dir/file", "x");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::io);
    std::filesystem::remove_all(dir);
}

TEST(RunCommand, PassesTheEnvironmentAndReturnsTheExitStatus) {
    auto ok = run_command(
        {.argv = {"/bin/sh", "-c", "test \"$RAMPART_SELECTOR\" = s202611 && test -n \"$PATH\""},
         .environment = {{"RAMPART_SELECTOR", "s202611"}}});
    ASSERT_TRUE(ok) << ok.error().describe();
    EXPECT_EQ(*ok, 0);
    auto failing = run_command({.argv = {"/bin/sh", "-c", "exit 3"}});
    ASSERT_TRUE(failing);
    EXPECT_EQ(*failing, 3);
    auto missing = run_command({.argv = {"/nonexistent/rampart-switch"}});
    EXPECT_TRUE(!missing || *missing == 127);
}

}  // namespace
}  // namespace rampart::rotation

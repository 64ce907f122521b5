// publish::apply and publish::recover with a scripted publisher and scripted authoritative
// servers over a real (in-memory) SQLite store: every outcome of a change, what the audit log
// holds after each, and the closing of changes a killed run left open.
#include "publish/apply.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace rampart;
using namespace rampart::publish;
using namespace std::chrono_literals;

constexpr std::string_view dmarc_name = "_dmarc.acme.example";
const std::string old_record = "v=DMARC1; p=none; rua=mailto:d@acme.example";
const std::string new_record = "v=DMARC1; p=quarantine; pct=10; rua=mailto:d@acme.example";

/// Two authoritative servers whose TXT RRsets at each name the test sets; `lag` rounds pass
/// before the second one shows what the first shows (a secondary catching up).
class ScriptedServers final : public AuthorityChecker {
public:
    std::map<std::string, std::vector<std::string>> primary, secondary;
    std::map<std::string, std::string> cname;  // name → target, on both
    bool secondary_down = false;
    int rounds = 0;

    Coverage check(const Wanted& wanted) override {
        ++rounds;
        Coverage c;
        c.servers.push_back(answer("ns1.acme.example", "192.0.2.1:53", primary[wanted.name], wanted));
        if (secondary_down) {
            c.servers.push_back(ServerAnswer{.ns = "ns2.acme.example", .address = "192.0.2.2:53", .status = "timeout"});
        } else {
            c.servers.push_back(answer("ns2.acme.example", "192.0.2.2:53", secondary[wanted.name], wanted));
        }
        c.all_serve = std::all_of(c.servers.begin(), c.servers.end(), [](const auto& s) { return s.serves; });
        c.detail = c.all_serve ? "all serve it" : "not all serve it";
        return c;
    }

private:
    ServerAnswer answer(std::string ns, std::string address, const std::vector<std::string>& records,
                        const Wanted& wanted) {
        ServerAnswer a{.ns = std::move(ns), .address = std::move(address), .status = records.empty() ? "nodata" : "ok"};
        a.records = records;
        a.aa = true;
        if (auto it = cname.find(wanted.name); it != cname.end()) a.cname = it->second;
        a.serves = a.cname.empty() && records == wanted.values;
        return a;
    }
};

/// A primary that applies compare-and-swap changes to ScriptedServers::primary (and, unless
/// the secondary is down, to the secondary too), or answers what the test scripted.
class ScriptedPublisher final : public Publisher {
public:
    explicit ScriptedPublisher(ScriptedServers& zone) : zone_(zone) {}
    std::deque<Outcome::Status> forced;  // outcomes to give instead of applying, in order
    std::vector<Change> sent;

    std::string_view kind() const noexcept override { return "rfc2136"; }
    Result<Outcome> publish(const Change& change) override {
        sent.push_back(change);
        if (!forced.empty()) {
            const auto status = forced.front();
            forced.pop_front();
            return Outcome{.status = status, .detail = "scripted", .evidence = R"({"rcode":"scripted"})", .files = {}};
        }
        auto& live = zone_.primary[change.name];
        const std::vector<std::string> expected =
            change.old_record.empty() ? std::vector<std::string>{} : std::vector<std::string>{change.old_record};
        if (live != expected)
            return Outcome{.status = Outcome::Status::conflict, .detail = "NXRRSET", .evidence = "{}", .files = {}};
        live = change.new_record.empty() ? std::vector<std::string>{} : std::vector<std::string>{change.new_record};
        if (!zone_.secondary_down) zone_.secondary[change.name] = live;
        return Outcome{.status = Outcome::Status::published, .detail = "NOERROR", .evidence = "{}", .files = {}};
    }

private:
    ScriptedServers& zone_;
};

class Apply : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = store::open_sqlite(":memory:");
        ASSERT_TRUE(opened) << opened.error().describe();
        store_ = std::move(*opened);
        zone_.primary[std::string(dmarc_name)] = {old_record};
        zone_.secondary[std::string(dmarc_name)] = {old_record};
    }

    Change change(std::string next = new_record) const {
        return Change{.domain = "acme.example",
                      .name = std::string(dmarc_name),
                      .old_record = old_record,
                      .new_record = std::move(next),
                      .client = "acme",
                      .reason = "step quarantine-10",
                      .at = Timestamp(std::chrono::seconds(1'790'000'000)),
                      .ttl = 3600};
    }
    ApplyOptions options() {
        ApplyOptions o;
        o.actor = "test";
        o.deadline = 10s;
        o.interval = 1s;
        o.sleep = [this](std::chrono::steady_clock::duration d) { slept_ += d; };
        return o;
    }
    std::vector<std::string> stages() {
        auto log = store_->publish_log("acme.example");
        EXPECT_TRUE(log);
        std::vector<std::string> out;
        for (const auto& e : *log) out.push_back(e.stage);
        return out;
    }

    std::unique_ptr<store::Store> store_;
    ScriptedServers zone_;
    ScriptedPublisher publisher_{zone_};
    std::chrono::steady_clock::duration slept_{0};
};

TEST_F(Apply, AChangeServedEverywhereIsLiveAndLoggedIntentSentVerified) {
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a) << a.error().describe();
    EXPECT_EQ(a->status, Applied::Status::live) << a->detail;
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "sent", "verified"}));
    EXPECT_EQ(zone_.primary[std::string(dmarc_name)], std::vector<std::string>{new_record});
    auto log = store_->publish_log("acme.example");
    ASSERT_TRUE(log);
    for (const auto& e : *log) {
        EXPECT_EQ(e.change_id, a->change_id);
        EXPECT_EQ(e.old_record, old_record);
        EXPECT_EQ(e.new_record, new_record);
        EXPECT_EQ(e.reason, "step quarantine-10");
        EXPECT_EQ(e.publisher, "rfc2136");
    }
    EXPECT_NE(log->back().evidence.find("ns2.acme.example"), std::string::npos) << log->back().evidence;
    EXPECT_TRUE(store_->unfinished_changes()->empty());
}

TEST_F(Apply, ASecondaryThatNeverServesItInTimeIsRolledBackAtThePrimary) {
    zone_.secondary_down = true;
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::rolled_back) << a->detail;
    EXPECT_EQ(zone_.primary[std::string(dmarc_name)], std::vector<std::string>{old_record}) << "old record restored";
    ASSERT_EQ(publisher_.sent.size(), 2U);
    EXPECT_EQ(publisher_.sent[1].old_record, new_record) << "the rollback is guarded by the new record";
    EXPECT_EQ(publisher_.sent[1].new_record, old_record);
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "sent", "rolled_back"}));
    EXPECT_GE(slept_, 10s) << "it waited the whole deadline";
}

TEST_F(Apply, AZoneChangedByHandIsAConflictAndNothingIsWritten) {
    zone_.primary[std::string(dmarc_name)] = {"v=DMARC1; p=reject"};
    zone_.secondary[std::string(dmarc_name)] = {"v=DMARC1; p=reject"};
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::conflict);
    EXPECT_EQ(zone_.primary[std::string(dmarc_name)], std::vector<std::string>{"v=DMARC1; p=reject"});
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "conflict"}));
}

TEST_F(Apply, ARefusedUpdateChangesNothingAndSaysSo) {
    publisher_.forced.push_back(Outcome::Status::failed);
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::failed);
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "failed"}));
    EXPECT_EQ(zone_.primary[std::string(dmarc_name)], std::vector<std::string>{old_record});
}

TEST_F(Apply, AnUncertainReplyIsVerifiedLikeASentOne) {
    publisher_.forced.push_back(Outcome::Status::uncertain);  // the update was lost: nothing changed
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a);
    // Never served; the guarded rollback finds the old record still there (conflict): nothing to undo.
    EXPECT_EQ(a->status, Applied::Status::rolled_back) << a->detail;
    EXPECT_NE(a->detail.find("never applied"), std::string::npos) << a->detail;
    EXPECT_EQ(zone_.primary[std::string(dmarc_name)], std::vector<std::string>{old_record});
}

TEST_F(Apply, TheLinterRefusesABrokenRecordBeforeAnythingIsSent) {
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change("v=DMARC1; p=bogus"), options());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::refused) << a->detail;
    EXPECT_TRUE(publisher_.sent.empty());
    EXPECT_EQ(stages(), std::vector<std::string>{"refused"});
    EXPECT_NE(lint("_dmarc.acme.example", "v=spf1 -all"), "");
    EXPECT_EQ(lint("_dmarc.acme.example", new_record), "");
    EXPECT_NE(lint("s1._domainkey.acme.example", "v=DKIM1; k=rsa; p=AAAA"), "");
    EXPECT_EQ(lint("s1._domainkey.acme.example", "v=DKIM1; k=rsa; p="), "") << "a revoked key may be published";
    EXPECT_EQ(lint("_dmarc.acme.example", ""), "") << "removing is always allowed";
}

TEST_F(Apply, SeveralTxtRecordsOrACnameAtDmarcAreNeverTouched) {
    zone_.primary[std::string(dmarc_name)] = {old_record, "v=DMARC1; p=reject"};
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), options());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::refused);
    EXPECT_NE(a->detail.find("2 TXT records"), std::string::npos) << a->detail;
    EXPECT_TRUE(publisher_.sent.empty());

    zone_.primary[std::string(dmarc_name)] = {old_record};
    zone_.cname[std::string(dmarc_name)] = "acme.example.dmarc-vendor.example";
    auto b = apply(desk, change(), options());
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, Applied::Status::refused);
    EXPECT_NE(b->detail.find("CNAME"), std::string::npos) << b->detail;
    EXPECT_TRUE(publisher_.sent.empty());
}

TEST_F(Apply, ADryRunLooksAndLogsNothing) {
    ApplyOptions o = options();
    o.dry_run = true;
    Desk desk{publisher_, &zone_, *store_};
    auto a = apply(desk, change(), o);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, Applied::Status::dry_run);
    EXPECT_TRUE(publisher_.sent.empty());
    EXPECT_TRUE(stages().empty());
}

TEST_F(Apply, RecoveryClosesAChangeAKilledRunLeftOpenWithoutApplyingItTwice) {
    // A run wrote intent and sent, then died before verifying; the change did reach the zone.
    const store::PublishEvent intent{.id = 0, .change_id = "acme.example/1/abcd", .domain = "acme.example",
                                     .name = std::string(dmarc_name), .at = Timestamp(std::chrono::seconds(100)),
                                     .actor = "test", .publisher = "rfc2136", .stage = "intent",
                                     .old_record = old_record, .new_record = new_record, .reason = "r",
                                     .detail = "", .evidence = "{}"};
    ASSERT_TRUE(store_->append_publish_event(intent));
    auto sent = intent;
    sent.stage = "sent";
    ASSERT_TRUE(store_->append_publish_event(sent));
    // A second change died after intent, before anything was sent.
    auto other = intent;
    other.change_id = "acme.example/2/beef";
    other.name = "_dmarc.news.acme.example";
    ASSERT_TRUE(store_->append_publish_event(other));
    zone_.primary[std::string(dmarc_name)] = zone_.secondary[std::string(dmarc_name)] = {new_record};
    zone_.primary["_dmarc.news.acme.example"] = zone_.secondary["_dmarc.news.acme.example"] = {old_record};
    ASSERT_EQ(store_->unfinished_changes()->size(), 2U);

    Desk desk{publisher_, &zone_, *store_};
    auto closed = recover(*store_, [&](std::string_view) { return &desk; }, Timestamp(std::chrono::seconds(200)));
    ASSERT_TRUE(closed) << closed.error().describe();
    ASSERT_EQ(closed->size(), 2U);
    EXPECT_EQ((*closed)[0].status, Applied::Status::live);
    EXPECT_EQ((*closed)[1].status, Applied::Status::failed) << "not applied: the caller decides again";
    EXPECT_TRUE(publisher_.sent.empty()) << "recovery only looks";
    EXPECT_TRUE(store_->unfinished_changes()->empty());
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "sent", "intent", "resolved", "resolved"}));
}

TEST_F(Apply, EachChangeAppendsToTheLogAndEarlierEntriesStay) {
    Desk desk{publisher_, &zone_, *store_};
    ASSERT_TRUE(apply(desk, change(), options()));
    auto back = change(old_record);
    back.old_record = new_record;
    auto second = apply(desk, back, options());
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, Applied::Status::live);
    EXPECT_EQ(stages(), (std::vector<std::string>{"intent", "sent", "verified", "intent", "sent", "verified"}));
}

}  // namespace

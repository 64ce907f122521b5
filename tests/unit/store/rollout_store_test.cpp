// store: the rollout state of each domain and its history. The state row is replaced at each
// change; the history is appended in the same transaction and can never be rewritten, not even
// by SQL run behind the store's back.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "store/sqlite/sqlite_store.hpp"

namespace rampart::store {
namespace {

Timestamp at(std::int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }

class RolloutStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("rampart-rollout-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
        remove_db();
        open();
    }
    void TearDown() override {
        store_.reset();
        remove_db();
    }
    void open() {
        auto s = open_sqlite(path_);
        ASSERT_TRUE(s) << s.error().describe();
        store_ = std::move(*s);
    }
    void remove_db() {
        for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
    /// Runs SQL through a second connection; returns SQLite's error text ("" on success).
    std::string raw_sql(const char* sql) {
        sqlite3* db = nullptr;
        EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        sqlite3_exec(db, sql, nullptr, nullptr, &err);
        std::string text = err ? err : "";
        sqlite3_free(err);
        sqlite3_close(db);
        return text;
    }

    static RolloutState monitoring(std::string domain) {
        return RolloutState{.domain = std::move(domain),
                            .client = "acme",
                            .plan = "gradual",
                            .step = "monitor",
                            .record = "v=DMARC1; p=none; rua=mailto:d@msp.example",
                            .previous_record = "",
                            .entered_at = at(1'800'000'000),
                            .decided_at = at(1'800'000'000),
                            .state = "monitoring",
                            .reason = "enrolled",
                            .updated_at = at(1'800'000'000)};
    }
    static RolloutEvent event(std::string domain, std::string action, std::int64_t when) {
        return RolloutEvent{.domain = std::move(domain),
                            .at = at(when),
                            .actor = "rampart advance",
                            .action = std::move(action),
                            .from_step = "monitor",
                            .to_step = "sp-quarantine",
                            .old_record = "v=DMARC1; p=none",
                            .new_record = "v=DMARC1; p=none; sp=quarantine",
                            .reason = "every check passed",
                            .evidence = R"({"gates":[]})"};
    }

    std::filesystem::path path_;
    std::unique_ptr<Store> store_;
};

TEST_F(RolloutStoreTest, StateRoundTripsAndIsReplaced) {
    auto none = store_->rollout_state("acme.example");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);

    RolloutState state = monitoring("acme.example");
    ASSERT_TRUE(store_->record_rollout(state, event("acme.example", "enrol", 1'800'000'000)));
    auto read = store_->rollout_state("acme.example");
    ASSERT_TRUE(read && *read);
    EXPECT_EQ(**read, state);

    state.step = "sp-quarantine";
    state.previous_record = state.record;
    state.record = "v=DMARC1; p=none; sp=quarantine; rua=mailto:d@msp.example";
    state.entered_at.reset();  // waiting to be published
    state.state = "advancing";
    state.held = true;
    state.hold_reason = "vendor";
    ASSERT_TRUE(store_->record_rollout(state, event("acme.example", "advance", 1'800'100'000)));
    read = store_->rollout_state("acme.example");
    ASSERT_TRUE(read && *read);
    EXPECT_EQ(**read, state);
    EXPECT_FALSE((*read)->entered_at);
}

TEST_F(RolloutStoreTest, StatesAndHistoryAreOrdered) {
    ASSERT_TRUE(store_->record_rollout(monitoring("b.example"), event("b.example", "enrol", 10)));
    ASSERT_TRUE(store_->record_rollout(monitoring("a.example"), event("a.example", "enrol", 11)));
    ASSERT_TRUE(store_->record_rollout(monitoring("a.example"), event("a.example", "hold", 12)));
    auto states = store_->rollout_states();
    ASSERT_TRUE(states);
    ASSERT_EQ(states->size(), 2U);
    EXPECT_EQ((*states)[0].domain, "a.example");
    EXPECT_EQ((*states)[1].domain, "b.example");

    auto history = store_->rollout_history("a.example");
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 2U);
    EXPECT_EQ((*history)[0].action, "enrol");
    EXPECT_EQ((*history)[1].action, "hold");
    EXPECT_LT((*history)[0].id, (*history)[1].id);
    EXPECT_EQ((*history)[1].evidence, R"({"gates":[]})");
    EXPECT_EQ((*history)[1].at, at(12));
}

TEST_F(RolloutStoreTest, StateAndHistoryLastThroughAReopen) {
    ASSERT_TRUE(store_->record_rollout(monitoring("a.example"), event("a.example", "enrol", 10)));
    store_.reset();
    open();
    auto history = store_->rollout_history("a.example");
    ASSERT_TRUE(history);
    EXPECT_EQ(history->size(), 1U);
    auto state = store_->rollout_state("a.example");
    ASSERT_TRUE(state && *state);
}

TEST_F(RolloutStoreTest, HistoryIsNeverRewritten) {
    ASSERT_TRUE(store_->record_rollout(monitoring("a.example"), event("a.example", "enrol", 10)));
    store_.reset();
    EXPECT_NE(raw_sql("UPDATE rollout_history SET reason = 'rewritten'").find("never rewritten"), std::string::npos);
    EXPECT_NE(raw_sql("DELETE FROM rollout_history").find("never rewritten"), std::string::npos);
    open();
    auto history = store_->rollout_history("a.example");
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 1U);
    EXPECT_EQ((*history)[0].reason, "every check passed");
}

TEST_F(RolloutStoreTest, ThePublishLogIsAppendedDurablyAndNeverRewritten) {
    PublishEvent e{.id = 0, .change_id = "a.example/10/00ff", .domain = "a.example", .name = "_dmarc.a.example",
                   .at = at(10), .actor = "rampart advance", .publisher = "rfc2136", .stage = "intent",
                   .old_record = "v=DMARC1; p=none", .new_record = "v=DMARC1; p=quarantine", .reason = "step",
                   .detail = "", .evidence = "{}"};
    ASSERT_TRUE(store_->append_publish_event(e));
    e.stage = "sent";
    ASSERT_TRUE(store_->append_publish_event(e));
    auto other = e;
    other.change_id = "a.example/11/0100";
    other.stage = "intent";
    ASSERT_TRUE(store_->append_publish_event(other));
    other.stage = "verified";
    ASSERT_TRUE(store_->append_publish_event(other));
    store_.reset();  // durable without any flush from the caller
    EXPECT_NE(raw_sql("UPDATE publish_log SET stage = 'verified'").find("never rewritten"), std::string::npos);
    EXPECT_NE(raw_sql("DELETE FROM publish_log").find("never rewritten"), std::string::npos);
    open();
    auto log = store_->publish_log("a.example");
    ASSERT_TRUE(log);
    ASSERT_EQ(log->size(), 4U);
    EXPECT_EQ((*log)[1].stage, "sent");
    EXPECT_EQ((*log)[1].old_record, "v=DMARC1; p=none");
    auto open_changes = store_->unfinished_changes();
    ASSERT_TRUE(open_changes);
    ASSERT_EQ(open_changes->size(), 1U) << "only the change whose last entry is sent";
    EXPECT_EQ((*open_changes)[0].change_id, "a.example/10/00ff");
    EXPECT_TRUE(store_->publish_log("b.example")->empty());
}

TEST_F(RolloutStoreTest, RotationsAreReplacedByIdAndTheUnfinishedOneIsFound) {
    DkimRotation r{.domain = "a.example", .id = "a.example/s202612", .stage = "publishing", .old_selector = "s202605",
                   .new_selector = "s202612", .old_record = "v=DKIM1; p=A", .new_record = "v=DKIM1; p=B",
                   .old_ttl = 3600, .key_file = "/keys/a.pem", .old_key_file = "/keys/old.pem",
                   .started_at = at(100), .stage_since = at(100), .next_at = at(100), .detail = "", .finished = false};
    ASSERT_TRUE(store_->put_rotation(r));
    r.stage = "waiting";
    r.next_at = at(3700);
    ASSERT_TRUE(store_->put_rotation(r));
    store_.reset();
    open();
    auto all = store_->rotations("a.example");
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1U);
    EXPECT_EQ((*all)[0], r);
    auto current = store_->current_rotation("a.example");
    ASSERT_TRUE(current && *current);
    EXPECT_EQ((*current)->stage, "waiting");
    r.finished = true;
    r.stage = "done";
    ASSERT_TRUE(store_->put_rotation(r));
    EXPECT_FALSE(*store_->current_rotation("a.example"));
}

TEST_F(RolloutStoreTest, AFailedHistoryWriteLeavesTheStateAsItWas) {
    ASSERT_TRUE(store_->record_rollout(monitoring("a.example"), event("a.example", "enrol", 10)));
    store_.reset();
    // A trigger that refuses the next history row makes the second write fail half way.
    ASSERT_EQ(raw_sql("CREATE TRIGGER refuse BEFORE INSERT ON rollout_history "
                      "BEGIN SELECT RAISE(ABORT, 'disk says no'); END;"),
              "");
    open();
    RolloutState changed = monitoring("a.example");
    changed.step = "sp-quarantine";
    auto failed = store_->record_rollout(changed, event("a.example", "advance", 11));
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().reason.find("disk says no"), std::string::npos) << failed.error().reason;
    auto state = store_->rollout_state("a.example");
    ASSERT_TRUE(state && *state);
    EXPECT_EQ((*state)->step, "monitor") << "state and history change together or not at all";
}

}  // namespace
}  // namespace rampart::store

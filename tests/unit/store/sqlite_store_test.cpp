// store/sqlite: a report is stored whole or not at all; the same report is stored once; the
// schema is migrated in order and a newer schema is refused; summaries add up.
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

namespace rampart::store {
namespace {

using namespace std::chrono_literals;

report::AggregateHeader header(std::string org, std::string id, std::string domain,
                               std::int64_t begin = 1793491200) {
    report::AggregateHeader h;
    h.metadata.org_name = std::move(org);
    h.metadata.email = "noreply@example.net";
    h.metadata.report_id = std::move(id);
    h.metadata.begin = Timestamp{std::chrono::seconds{begin}};
    h.metadata.end = h.metadata.begin + 86399s;
    h.policy.domain = std::move(domain);
    h.policy.p = report::Policy::quarantine;
    h.policy.pct = 50;
    return h;
}

report::Record record(std::string ip, std::uint64_t count, bool dkim_pass, bool spf_pass) {
    report::Record r;
    r.source_ip = *IpAddress::parse(ip);
    r.count = count;
    r.disposition = report::Disposition::none;
    r.dkim = dkim_pass ? report::DmarcVerdict::pass : report::DmarcVerdict::fail;
    r.spf = spf_pass ? report::DmarcVerdict::pass : report::DmarcVerdict::fail;
    r.header_from = "acme.example";
    r.dkim_results.push_back({"acme.example", "s1", report::AuthVerdict::pass, ""});
    r.spf_results.push_back({"acme.example", report::SpfScope::mfrom, report::AuthVerdict::pass, ""});
    r.reasons.push_back({report::OverrideType::forwarded, "list"});
    return r;
}

Provenance here() { return {"test", Timestamp{std::chrono::seconds{1800000000}}}; }

class SqliteStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("rampart-store-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
        remove_db();
        auto s = open_sqlite(path_);
        ASSERT_TRUE(s) << s.error().describe();
        store_ = std::move(*s);
    }
    void TearDown() override {
        store_.reset();
        remove_db();
    }
    void remove_db() {
        for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
    /// Counts through a second connection, which sees only what was flushed.
    std::int64_t count_rows(const char* table) {
        if (store_) {
            EXPECT_TRUE(store_->flush());
        }
        sqlite3* db = nullptr;
        sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, (std::string("SELECT COUNT(*) FROM ") + table).c_str(), -1, &s, nullptr);
        sqlite3_step(s);
        auto n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
    }
    void store_report(const report::AggregateHeader& h, std::vector<report::Record> records) {
        auto begun = store_->begin_aggregate(h, here());
        ASSERT_TRUE(begun) << begun.error().describe();
        ASSERT_FALSE(begun->duplicate());
        ReportTotals t{"abc", 0, 0, {}};
        for (const auto& r : records) {
            ASSERT_TRUE(begun->writer->add(r));
            t.records++;
            t.messages += r.count;
        }
        ASSERT_TRUE(begun->writer->commit(t));
    }

    std::filesystem::path path_;
    std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, StoresAReportWithEveryRow) {
    store_report(header("google.com", "1", "acme.example"),
                 {record("192.0.2.1", 10, true, true), record("2001:db8::1", 5, false, false)});
    EXPECT_EQ(count_rows("reports"), 1);
    EXPECT_EQ(count_rows("records"), 2);
    EXPECT_EQ(count_rows("auth_results"), 4);
    EXPECT_EQ(count_rows("override_reasons"), 2);
    auto t = store_->totals();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->reports, 1u);
    EXPECT_EQ(t->records, 2u);
    EXPECT_EQ(t->messages, 15u);
}

TEST_F(SqliteStoreTest, SameReporterIdAndDomainIsADuplicate) {
    store_report(header("google.com", "1", "acme.example"), {record("192.0.2.1", 10, true, true)});
    auto again = store_->begin_aggregate(header("google.com", "1", "acme.example"), here());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->duplicate());
    // Another reporter, id or domain is another report (parsedmarc's changed-input.xml differs
    // only in org_name and must not be merged).
    for (auto h : {header("Yahoo", "1", "acme.example"), header("google.com", "2", "acme.example"),
                   header("google.com", "1", "globex.example")}) {
        auto b = store_->begin_aggregate(h, here());
        ASSERT_TRUE(b);
        EXPECT_FALSE(b->duplicate());
        ASSERT_TRUE(b->writer->commit({}));
    }
    EXPECT_EQ(count_rows("reports"), 4);
}

TEST_F(SqliteStoreTest, AWriterDroppedWithoutCommitLeavesNothing) {
    {
        auto begun = store_->begin_aggregate(header("google.com", "1", "acme.example"), here());
        ASSERT_TRUE(begun);
        ASSERT_TRUE(begun->writer->add(record("192.0.2.1", 10, true, true)));
        ASSERT_TRUE(begun->writer->add(record("192.0.2.2", 10, true, true)));
    }
    EXPECT_EQ(count_rows("reports"), 0);
    EXPECT_EQ(count_rows("records"), 0);
    EXPECT_EQ(count_rows("auth_results"), 0);
    // And the same report can then be stored for real.
    store_report(header("google.com", "1", "acme.example"), {record("192.0.2.1", 10, true, true)});
    EXPECT_EQ(count_rows("reports"), 1);
}

TEST_F(SqliteStoreTest, SummaryAddsUpPerDomainWithSharesReportersAndSources) {
    store_report(header("google.com", "1", "acme.example"),
                 {record("192.0.2.1", 60, true, true), record("192.0.2.9", 10, false, false)});
    store_report(header("Yahoo", "y1", "acme.example"),
                 {record("192.0.2.1", 20, true, false), record("192.0.2.7", 10, false, true)});
    store_report(header("google.com", "2", "globex.example"), {record("198.51.100.1", 7, true, true)});
    auto all = store_->summarize({});
    ASSERT_TRUE(all) << all.error().describe();
    ASSERT_EQ(all->size(), 2u);
    const auto& acme = (*all)[0];
    EXPECT_EQ(acme.domain, "acme.example");
    EXPECT_EQ(acme.reports, 2u);
    EXPECT_EQ(acme.records, 4u);
    EXPECT_EQ(acme.messages, 100u);
    EXPECT_EQ(acme.dmarc_pass, 90u);
    EXPECT_EQ(acme.dmarc_fail, 10u);
    EXPECT_EQ(acme.dkim_aligned, 80u);
    EXPECT_EQ(acme.spf_aligned, 70u);
    ASSERT_EQ(acme.reporters.size(), 2u);
    EXPECT_EQ(acme.reporters[0].org_name, "google.com");
    EXPECT_EQ(acme.reporters[0].messages, 70u);
    ASSERT_EQ(acme.top_sources.size(), 3u);
    EXPECT_EQ(acme.top_sources[0].source_ip, "192.0.2.1");
    EXPECT_EQ(acme.top_sources[0].messages, 80u);
    EXPECT_EQ(acme.top_sources[0].dmarc_pass, 80u);

    auto one = store_->summarize({.domain = "globex.example"});
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].messages, 7u);

    auto none = store_->summarize({.since = Timestamp{std::chrono::seconds{1793491201}}});
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, FailureReportsAreStoredOncePerMessageId) {
    report::FailureReport f;
    f.feedback_type = "auth-failure";
    f.reported_domains = {"acme.example"};
    f.source_ip = *IpAddress::parse("203.0.113.9");
    f.report_message_id = "<r1@example.net>";
    auto first = store_->add_failure_report(f, "h1", here());
    ASSERT_TRUE(first);
    EXPECT_TRUE(*first);
    auto again = store_->add_failure_report(f, "h2", here());
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    f.report_message_id.clear();
    EXPECT_TRUE(*store_->add_failure_report(f, "h3", here()));
    EXPECT_FALSE(*store_->add_failure_report(f, "h3", here()));
    EXPECT_EQ(count_rows("failure_reports"), 2);
    auto t = store_->totals();
    EXPECT_EQ(t->failure_reports, 2u);
}

TEST_F(SqliteStoreTest, CommittedReportsBecomeVisibleToOtherConnectionsAtFlush) {
    store_report(header("google.com", "1", "acme.example"), {record("192.0.2.1", 10, true, true)});
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    auto count = [db] {
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM records", -1, &s, nullptr);
        sqlite3_step(s);
        auto n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return n;
    };
    EXPECT_EQ(count(), 0);  // batched: not yet durable
    EXPECT_EQ(store_->totals()->records, 1u);  // but visible to the writer itself
    ASSERT_TRUE(store_->flush());
    EXPECT_EQ(count(), 1);
    sqlite3_close(db);
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndSchema) {
    store_report(header("google.com", "1", "acme.example"), {record("192.0.2.1", 10, true, true)});
    store_.reset();
    auto reopened = open_sqlite(path_);
    ASSERT_TRUE(reopened);
    EXPECT_EQ((*reopened)->totals()->reports, 1u);
    EXPECT_EQ(count_rows("schema_migrations"), sqlite_schema_version());
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerRampartIsRefused) {
    store_.reset();
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    auto reopened = open_sqlite(path_);
    ASSERT_FALSE(reopened);
    EXPECT_EQ(reopened.error().code, Errc::unsupported);
    EXPECT_NE(reopened.error().reason.find("999"), std::string::npos);
}

TEST(SqliteOpen, AnUnwritablePathIsAnIoError) {
    auto s = open_sqlite("/nonexistent-dir/rampart.db");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::io);
    EXPECT_NE(s.error().reason.find("/nonexistent-dir/rampart.db"), std::string::npos);
}

}  // namespace
}  // namespace rampart::store

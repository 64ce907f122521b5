// store/sqlite, the sender analysis's view: every committed report adds to daily roll-ups keyed by
// (policy domain, day, source, header_from, auth facts), and only committed reports do; the facts
// survive any bytes a reporter sends; selectors, first sightings, cached identities and provider
// ranges read back what was stored; replay hands back the reports as they were ingested; and
// migration 3 fills the roll-ups of a database that already held reports.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.hpp"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
using report::AuthVerdict;
using report::DmarcVerdict;
using report::OverrideType;
using report::SpfScope;

constexpr std::int64_t day0 = 20'700;  // 2026-09-04, in days since the epoch
constexpr std::int64_t day_seconds = 86'400;

Timestamp at(std::int64_t seconds) { return Timestamp{std::chrono::seconds{seconds}}; }
std::chrono::sys_days day(std::int64_t d) { return std::chrono::sys_days{std::chrono::days{d}}; }

report::AggregateHeader header(std::string org, std::string id, std::string domain,
                               std::int64_t begin = day0 * day_seconds) {
    report::AggregateHeader h;
    h.schema = report::Schema::dmarc_2_0;
    h.version = "1.0";
    h.metadata.org_name = std::move(org);
    h.metadata.email = "noreply@example.net";
    h.metadata.report_id = std::move(id);
    h.metadata.begin = at(begin);
    h.metadata.end = h.metadata.begin + 86399s;
    h.policy.domain = std::move(domain);
    h.policy.p = report::Policy::reject;
    return h;
}

/// A record that passes DMARC through DKIM d=acme.example s=s1 and SPF on the MAIL FROM domain.
report::Record record(std::string ip, std::uint64_t count) {
    report::Record r;
    r.source_ip = *IpAddress::parse(ip);
    r.count = count;
    r.disposition = report::Disposition::none;
    r.dkim = DmarcVerdict::pass;
    r.spf = DmarcVerdict::pass;
    r.header_from = "acme.example";
    r.envelope_from = "bounce@acme.example";
    r.dkim_results.push_back({"acme.example", "s1", AuthVerdict::pass, ""});
    r.spf_results.push_back({"acme.example", SpfScope::mfrom, AuthVerdict::pass, ""});
    return r;
}

Provenance here() { return {"test", at(1800000000)}; }

class RollupTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("rampart-rollup-" + std::to_string(::getpid()) + "-" +
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
    /// Runs SQL through a second connection after flushing and closing the store's.
    void raw_sql(const char* sql) {
        store_.reset();
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
        sqlite3_free(err);
        sqlite3_close(db);
    }
    std::int64_t count_rows(const char* table) {
        EXPECT_TRUE(store_->flush());
        sqlite3* db = nullptr;
        sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, (std::string("SELECT COUNT(*) FROM ") + table).c_str(), -1, &s,
                           nullptr);
        sqlite3_step(s);
        auto n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
    }
    void store_report(const report::AggregateHeader& h,
                      const std::vector<report::Record>& records) {
        auto begun = store_->begin_aggregate(h, here());
        ASSERT_TRUE(begun) << begun.error().describe();
        ASSERT_FALSE(begun->duplicate());
        ReportTotals t{"abc", 0, 0, {}};
        for (const auto& r : records) {
            ASSERT_TRUE(begun->writer->add(r));
            t.records++;
            t.messages += r.count;
        }
        auto committed = begun->writer->commit(t);
        ASSERT_TRUE(committed) << committed.error().describe();
    }
    std::vector<SourceFacts> facts(const FactsQuery& q) {
        auto f = store_->source_facts(q);
        EXPECT_TRUE(f) << f.error().describe();
        return f ? *f : std::vector<SourceFacts>{};
    }

    std::filesystem::path path_;
    std::unique_ptr<Store> store_;
};

TEST_F(RollupTest, SameFactsMergeAcrossReportersAndReportsOfOneDay) {
    store_report(header("google.com", "g1", "acme.example"),
                 {record("192.0.2.1", 10), record("192.0.2.1", 5), record("192.0.2.2", 1)});
    store_report(header("Yahoo", "y1", "acme.example", day0 * day_seconds + 3600),
                 {record("192.0.2.1", 7)});
    EXPECT_EQ(count_rows("source_days"), 2);
    auto rows = facts({.domain = "acme.example"});
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].source_ip, "192.0.2.1");
    EXPECT_EQ(rows[0].messages, 22u);
    EXPECT_EQ(rows[0].first_day, day(day0));
    EXPECT_EQ(rows[0].last_day, day(day0));
    EXPECT_EQ(rows[1].source_ip, "192.0.2.2");
    EXPECT_EQ(rows[1].messages, 1u);
}

TEST_F(RollupTest, ByDayKeepsDaysApartAndTheWindowSumsThem) {
    store_report(header("google.com", "g1", "acme.example"), {record("192.0.2.1", 10)});
    store_report(header("google.com", "g2", "acme.example", (day0 + 2) * day_seconds),
                 {record("192.0.2.1", 4)});
    store_report(header("google.com", "g3", "acme.example", (day0 + 1) * day_seconds),
                 {record("192.0.2.3", 30)});

    auto summed = facts({.domain = "acme.example"});
    ASSERT_EQ(summed.size(), 2u);
    EXPECT_EQ(summed[0].source_ip, "192.0.2.3");
    EXPECT_EQ(summed[0].messages, 30u);
    EXPECT_EQ(summed[1].source_ip, "192.0.2.1");
    EXPECT_EQ(summed[1].messages, 14u);
    EXPECT_EQ(summed[1].first_day, day(day0));
    EXPECT_EQ(summed[1].last_day, day(day0 + 2));

    auto daily = facts({.domain = "acme.example", .by_day = true});
    ASSERT_EQ(daily.size(), 3u);
    EXPECT_EQ(daily[0].messages, 30u);
    EXPECT_EQ(daily[1].messages, 10u);
    EXPECT_EQ(daily[1].first_day, day(day0));
    EXPECT_EQ(daily[1].last_day, day(day0));
    EXPECT_EQ(daily[2].messages, 4u);
    EXPECT_EQ(daily[2].first_day, day(day0 + 2));

    auto one_source = facts({.source_ip = "192.0.2.1", .by_day = true});
    ASSERT_EQ(one_source.size(), 2u);
    EXPECT_EQ(one_source[0].messages + one_source[1].messages, 14u);
    // Any textual form of the address finds the canonical one.
    EXPECT_EQ(facts({.source_ip = "::ffff:192.0.2.3"}).size(), 1u);
}

TEST_F(RollupTest, ADomainMatchesThePolicyDomainOrTheHeaderFrom) {
    auto sub = record("192.0.2.1", 3);
    sub.header_from = "News.Acme.Example";
    auto empty_from = record("192.0.2.2", 2);
    empty_from.header_from.clear();
    store_report(header("google.com", "g1", "acme.example"), {sub, empty_from});

    auto by_sub = facts({.domain = "news.acme.example"});
    ASSERT_EQ(by_sub.size(), 1u);
    EXPECT_EQ(by_sub[0].header_from, "news.acme.example");
    EXPECT_EQ(by_sub[0].policy_domain, "acme.example");
    EXPECT_EQ(by_sub[0].messages, 3u);
    EXPECT_EQ(facts({.domain = "NEWS.acme.example"}).size(), 1u);

    auto by_org = facts({.domain = "acme.example"});
    ASSERT_EQ(by_org.size(), 2u);
    EXPECT_EQ(by_org[1].source_ip, "192.0.2.2");
    EXPECT_EQ(by_org[1].header_from, "acme.example");  // empty header_from: the policy domain
    EXPECT_TRUE(facts({.domain = "globex.example"}).empty());
}

TEST_F(RollupTest, SinceDayIsIncludedAndUntilDayExcluded) {
    for (std::int64_t d = 0; d < 3; ++d)
        store_report(header("google.com", "g" + std::to_string(d), "acme.example",
                            (day0 + d) * day_seconds + 7200),
                     {record("192.0.2.1", static_cast<std::uint64_t>(1) << d)});
    auto total = [&](std::optional<Timestamp> since, std::optional<Timestamp> until) {
        auto rows = facts({.domain = "acme.example", .since = since, .until = until});
        std::uint64_t n = 0;
        for (const auto& r : rows) n += r.messages;
        return n;
    };
    EXPECT_EQ(total(std::nullopt, std::nullopt), 7u);
    // since late on day0+1 still takes all of day0+1 (report begun earlier that day).
    EXPECT_EQ(total(at((day0 + 2) * day_seconds - 1), std::nullopt), 6u);
    EXPECT_EQ(total(at((day0 + 1) * day_seconds), std::nullopt), 6u);
    // until at any time of day0+2 leaves day0+2 out.
    EXPECT_EQ(total(std::nullopt, at((day0 + 2) * day_seconds)), 3u);
    EXPECT_EQ(total(std::nullopt, at((day0 + 2) * day_seconds + 80000)), 3u);
    EXPECT_EQ(total(std::nullopt, at((day0 + 2) * day_seconds - 1)), 1u);
    EXPECT_EQ(total(at((day0 + 1) * day_seconds), at((day0 + 2) * day_seconds)), 2u);
    EXPECT_EQ(total(at((day0 + 1) * day_seconds), at((day0 + 1) * day_seconds)), 0u);
}

TEST_F(RollupTest, FactsAreDerivedFromTheRecordAsSpecified) {
    auto r = record("2001:db8::1", 9);
    r.envelope_from = "Bounce@Mail.Example.COM";
    r.spf_results = {{"HELO.example", SpfScope::helo, AuthVerdict::neutral, ""},
                     {"Mail.Example.com", SpfScope::mfrom, AuthVerdict::softfail, ""}};
    r.dkim_results = {{"Zeta.example", "SEL", AuthVerdict::fail, "body hash"},
                      {"acme.example", "s1", AuthVerdict::pass, ""},
                      {"ACME.example", "S1", AuthVerdict::pass, "again"}};
    r.dkim = DmarcVerdict::pass;
    r.spf = DmarcVerdict::fail;
    r.disposition = report::Disposition::quarantine;
    r.reasons = {{OverrideType::mailing_list, "list"},
                 {OverrideType::local_policy, "arc=fail"},
                 {OverrideType::local_policy, "google ARC=Pass via lists"},
                 {OverrideType::forwarded, ""}};
    auto helo_only = record("192.0.2.5", 1);
    helo_only.envelope_from = "NoAt.Example";
    helo_only.spf_results = {{"Helo.Example", SpfScope::helo, AuthVerdict::pass, ""},
                             {"other.example", SpfScope::unspecified, AuthVerdict::fail, ""}};
    auto bare = record("192.0.2.6", 1);
    bare.envelope_from = "";
    bare.spf_results.clear();
    bare.dkim_results.clear();
    bare.reasons = {{OverrideType::local_policy, "arc=none"}};
    auto absent = record("192.0.2.7", 1);
    absent.envelope_from.reset();
    store_report(header("google.com", "g1", "acme.example"), {r, helo_only, bare, absent});

    auto rows = facts({.domain = "acme.example"});
    ASSERT_EQ(rows.size(), 4u);
    const auto& f = rows[0];
    EXPECT_EQ(f.source_ip, "2001:db8::1");
    EXPECT_EQ(f.envelope_from, "mail.example.com");
    EXPECT_EQ(f.spf_domain, "mail.example.com");
    EXPECT_EQ(f.spf_result, AuthVerdict::softfail);
    ASSERT_EQ(f.dkim.size(), 2u);  // the upper-case duplicate is the same signature
    EXPECT_EQ(f.dkim[0], (DkimFact{"acme.example", "s1", AuthVerdict::pass}));
    EXPECT_EQ(f.dkim[1], (DkimFact{"zeta.example", "sel", AuthVerdict::fail}));
    EXPECT_EQ(f.dmarc_dkim, DmarcVerdict::pass);
    EXPECT_EQ(f.dmarc_spf, DmarcVerdict::fail);
    EXPECT_TRUE(f.dmarc_pass());
    EXPECT_EQ(f.disposition, report::Disposition::quarantine);
    EXPECT_EQ(f.overrides,
              (std::vector<OverrideType>{OverrideType::forwarded, OverrideType::mailing_list,
                                         OverrideType::local_policy}));
    EXPECT_TRUE(f.arc_pass);

    auto find = [&](std::string_view ip) {
        for (const auto& row : rows)
            if (row.source_ip == ip) return row;
        ADD_FAILURE() << ip;
        return SourceFacts{};
    };
    auto h = find("192.0.2.5");
    EXPECT_EQ(h.envelope_from, "noat.example");
    EXPECT_EQ(h.spf_domain, "helo.example");  // no mfrom result: the first one
    EXPECT_EQ(h.spf_result, AuthVerdict::pass);
    EXPECT_FALSE(h.arc_pass);
    auto b = find("192.0.2.6");
    EXPECT_EQ(b.envelope_from, "");
    EXPECT_EQ(b.spf_domain, "");
    EXPECT_EQ(b.spf_result, AuthVerdict::none);
    EXPECT_TRUE(b.dkim.empty());
    EXPECT_FALSE(b.arc_pass);
    EXPECT_EQ(find("192.0.2.7").envelope_from, "");
}

TEST_F(RollupTest, HostileTextRoundTripsAndNeverMergesDifferentFacts) {
    const std::vector<std::string> hostile = {"a|b",
                                              "3:abc|",
                                              "1|",
                                              "\"quoted\" 'single'",
                                              "line\nbreak\r\n",
                                              "ümlaut.例え.jp",
                                              "0:|0:|",
                                              "",
                                              std::string(300, '|'),
                                              "x:y:z",
                                              "tab\there",
                                              "9999999999:"};
    std::vector<report::Record> records;
    int n = 0;
    for (const auto& text : hostile) {
        ++n;
        auto r = record("192.0.2." + std::to_string(n), static_cast<std::uint64_t>(n));
        r.envelope_from = "someone@" + text;
        r.spf_results = {{text, SpfScope::mfrom, AuthVerdict::fail, ""}};
        r.dkim_results = {{text, text, AuthVerdict::temperror, ""},
                          {"acme.example", text + "|", AuthVerdict::pass, ""}};
        records.push_back(r);
    }
    // Two records whose facts would collide under a naive "domain|selector" join.
    auto left = record("198.51.100.1", 100);
    left.dkim_results = {{"a|b", "c", AuthVerdict::pass, ""}};
    auto right = record("198.51.100.1", 200);
    right.dkim_results = {{"a", "b|c", AuthVerdict::pass, ""}};
    records.push_back(left);
    records.push_back(right);
    store_report(header("google.com", "g1", "acme.example"), records);

    auto rows = facts({.domain = "acme.example"});
    ASSERT_EQ(rows.size(), hostile.size() + 2);
    EXPECT_EQ(rows[0].messages, 200u);
    ASSERT_EQ(rows[0].dkim.size(), 1u);
    EXPECT_EQ(rows[0].dkim[0].domain, "a");
    EXPECT_EQ(rows[0].dkim[0].selector, "b|c");
    EXPECT_EQ(rows[1].messages, 100u);
    ASSERT_EQ(rows[1].dkim.size(), 1u);
    EXPECT_EQ(rows[1].dkim[0].domain, "a|b");
    EXPECT_EQ(rows[1].dkim[0].selector, "c");
    for (const auto& row : rows) {
        if (row.messages >= 100) continue;
        auto i = row.messages - 1;
        ASSERT_LT(i, hostile.size());
        // Lower-casing is ASCII only, so the non-ASCII bytes come back unchanged.
        auto text = ascii_lower(hostile[i]);
        SCOPED_TRACE(printable(text));
        EXPECT_EQ(row.envelope_from, text);
        EXPECT_EQ(row.spf_domain, text);
        EXPECT_EQ(row.spf_result, AuthVerdict::fail);
        std::vector<DkimFact> want = {{text, text, AuthVerdict::temperror},
                                      {"acme.example", text + "|", AuthVerdict::pass}};
        std::sort(want.begin(), want.end());
        EXPECT_EQ(row.dkim, want);
        EXPECT_EQ(row.disposition, report::Disposition::none);
    }
}

TEST_F(RollupTest, AWriterDroppedWithoutCommitLeavesNoRollup) {
    {
        auto begun = store_->begin_aggregate(header("google.com", "g1", "acme.example"), here());
        ASSERT_TRUE(begun);
        ASSERT_TRUE(begun->writer->add(record("192.0.2.1", 10)));
    }
    store_report(header("google.com", "g2", "acme.example"), {record("192.0.2.2", 1)});
    EXPECT_EQ(count_rows("source_days"), 1);
    EXPECT_EQ(count_rows("selector_days"), 1);
    auto rows = facts({});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].source_ip, "192.0.2.2");
    auto selectors = store_->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(selectors);
    ASSERT_EQ(selectors->size(), 1u);
    EXPECT_EQ((*selectors)[0].pass, 1u);
}

// A report of more distinct sources than the writer keeps in memory: the sums reach the tables
// part-way through, still all-or-nothing with the report.
TEST_F(RollupTest, AReportOfManyDistinctSourcesIsSummedInBoundedChunks) {
    constexpr int sources = 10'000;  // more than twice the writer's in-memory bound
    auto ip = [](int i) { return fmt::format("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256); };
    {
        auto begun = store_->begin_aggregate(header("google.com", "big0", "acme.example"), here());
        ASSERT_TRUE(begun);
        for (int i = 0; i < sources; ++i) ASSERT_TRUE(begun->writer->add(record(ip(i), 1)));
    }  // dropped without commit after several chunks were written
    EXPECT_EQ(count_rows("source_days"), 0);
    EXPECT_EQ(count_rows("selector_days"), 0);

    std::vector<report::Record> records;
    for (int i = 0; i < sources; ++i) records.push_back(record(ip(i), 2));
    records.push_back(record(ip(7), 5));  // the same key again after its chunk was written
    store_report(header("google.com", "big1", "acme.example"), records);
    auto rows = facts({});
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(sources));
    std::uint64_t total = 0;
    for (const auto& r : rows) total += r.messages;
    EXPECT_EQ(total, 2u * sources + 5u);
    EXPECT_EQ(rows[0].source_ip, ip(7));
    EXPECT_EQ(rows[0].messages, 7u);
    auto selectors = store_->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(selectors);
    ASSERT_EQ(selectors->size(), 1u);
    EXPECT_EQ((*selectors)[0].pass, 2u * sources + 5u);
}

TEST_F(RollupTest, ADuplicateReportDoesNotCountTwice) {
    store_report(header("google.com", "g1", "acme.example"), {record("192.0.2.1", 10)});
    auto again = store_->begin_aggregate(header("google.com", "g1", "acme.example"), here());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->duplicate());
    auto rows = facts({});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].messages, 10u);
}

TEST_F(RollupTest, SelectorsAreCountedByResultWithTheirLastPass) {
    auto passing = record("192.0.2.1", 10);
    passing.dkim_results = {{"acme.example", "s1", AuthVerdict::pass, ""},
                            {"esp.example", "k1", AuthVerdict::pass, ""}};
    auto failing = record("192.0.2.2", 3);
    failing.dkim_results = {{"acme.example", "S1", AuthVerdict::fail, ""},
                            {"acme.example", "old", AuthVerdict::permerror, ""}};
    store_report(header("google.com", "g1", "acme.example"), {passing, failing});
    store_report(header("google.com", "g2", "acme.example", (day0 + 3) * day_seconds), {failing});
    auto sub = record("192.0.2.3", 1000);
    sub.header_from = "news.acme.example";
    sub.dkim_results = {{"mailer.example", "m", AuthVerdict::pass, ""}};
    store_report(header("google.com", "g3", "globex.example", (day0 + 1) * day_seconds), {sub});

    auto seen = store_->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(seen) << seen.error().describe();
    ASSERT_EQ(seen->size(), 3u);
    const auto& s1 = (*seen)[0];
    EXPECT_EQ(s1.dkim_domain, "acme.example");
    EXPECT_EQ(s1.selector, "s1");
    EXPECT_EQ(s1.pass, 10u);
    EXPECT_EQ(s1.fail, 6u);
    EXPECT_EQ(s1.other, 0u);
    EXPECT_EQ(s1.first_day, day(day0));
    EXPECT_EQ(s1.last_day, day(day0 + 3));
    ASSERT_TRUE(s1.last_pass_day);
    EXPECT_EQ(*s1.last_pass_day, day(day0));
    EXPECT_EQ((*seen)[1].dkim_domain, "esp.example");
    const auto& old = (*seen)[2];
    EXPECT_EQ(old.selector, "old");
    EXPECT_EQ(old.other, 6u);
    EXPECT_FALSE(old.last_pass_day);

    auto recent = store_->selectors_seen("acme.example", at((day0 + 1) * day_seconds));
    ASSERT_TRUE(recent);
    ASSERT_EQ(recent->size(), 2u);  // equal counts: by domain, then selector
    EXPECT_EQ((*recent)[0].selector, "old");
    EXPECT_EQ((*recent)[0].other, 3u);
    EXPECT_EQ((*recent)[1].selector, "s1");
    EXPECT_EQ((*recent)[1].fail, 3u);
    EXPECT_EQ((*recent)[1].pass, 0u);
    EXPECT_EQ((*recent)[1].first_day, day(day0 + 3));
    EXPECT_FALSE((*recent)[1].last_pass_day);

    // A subdomain's selectors are found by its header_from, under another policy domain.
    auto news = store_->selectors_seen("news.acme.example", std::nullopt);
    ASSERT_TRUE(news);
    ASSERT_EQ(news->size(), 1u);
    EXPECT_EQ((*news)[0].dkim_domain, "mailer.example");
    EXPECT_EQ((*news)[0].pass, 1000u);
}

TEST_F(RollupTest, FirstSeenIsTheEarliestDayOfEachSource) {
    store_report(header("google.com", "g1", "acme.example", (day0 + 5) * day_seconds),
                 {record("192.0.2.1", 1), record("192.0.2.2", 1)});
    store_report(header("Yahoo", "y1", "acme.example", (day0 + 2) * day_seconds),
                 {record("192.0.2.2", 1)});
    auto sub = record("192.0.2.3", 1);
    sub.header_from = "news.acme.example";
    store_report(header("google.com", "g2", "globex.example", (day0 + 9) * day_seconds), {sub});

    auto first = store_->first_seen("acme.example");
    ASSERT_TRUE(first) << first.error().describe();
    ASSERT_EQ(first->size(), 2u);
    EXPECT_EQ((*first)[0], std::pair(std::string("192.0.2.2"), day(day0 + 2)));
    EXPECT_EQ((*first)[1], std::pair(std::string("192.0.2.1"), day(day0 + 5)));
    auto news = store_->first_seen("news.acme.example");
    ASSERT_TRUE(news);
    ASSERT_EQ(news->size(), 1u);
    EXPECT_EQ((*news)[0].second, day(day0 + 9));
}

TEST_F(RollupTest, IdentitiesAreStoredReplacedAndReadBack) {
    auto missing = store_->identity("192.0.2.1");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);

    SourceIdentity id{.ip = "192.0.2.1",
                      .ptr = "mail-a.outbound.example",
                      .forward_confirmed = true,
                      .provider = "google",
                      .basis = "ptr",
                      .dns_failed = false,
                      .resolved_at = at(1800000000),
                      .expires_at = at(1800086400)};
    ASSERT_TRUE(store_->put_identity(id));
    SourceIdentity failed{.ip = "2001:db8::25",
                          .dns_failed = true,
                          .resolved_at = at(1800000100),
                          .expires_at = at(1800003700)};
    ASSERT_TRUE(store_->put_identity(failed));

    auto got = store_->identity("192.0.2.1");
    ASSERT_TRUE(got);
    ASSERT_TRUE(*got);
    EXPECT_EQ((*got)->ip, "192.0.2.1");
    EXPECT_EQ((*got)->ptr, std::optional<std::string>("mail-a.outbound.example"));
    EXPECT_TRUE((*got)->forward_confirmed);
    EXPECT_EQ((*got)->provider, "google");
    EXPECT_EQ((*got)->basis, "ptr");
    EXPECT_FALSE((*got)->dns_failed);
    EXPECT_EQ((*got)->resolved_at, at(1800000000));
    EXPECT_EQ((*got)->expires_at, at(1800086400));

    auto v6 = store_->identity("2001:db8::25");
    ASSERT_TRUE(v6 && *v6);
    EXPECT_FALSE((*v6)->ptr);
    EXPECT_TRUE((*v6)->dns_failed);
    EXPECT_FALSE((*v6)->forward_confirmed);
    EXPECT_EQ((*v6)->provider, "");

    id.ptr.reset();
    id.provider = "microsoft";
    id.forward_confirmed = false;
    ASSERT_TRUE(store_->put_identity(id));
    store_.reset();  // durable across a reopen
    open();
    auto replaced = store_->identity("192.0.2.1");
    ASSERT_TRUE(replaced && *replaced);
    EXPECT_FALSE((*replaced)->ptr);
    EXPECT_EQ((*replaced)->provider, "microsoft");
    EXPECT_FALSE((*replaced)->forward_confirmed);
}

TEST_F(RollupTest, ProviderNetworksRoundTrip) {
    auto none = store_->provider_networks("google");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);

    ProviderNetworks google{
        .provider = "google",
        .networks = {*parse_network("209.85.128.0/17"), *parse_network("2001:4860:4000::/36"),
                     *parse_network("192.0.2.7")},
        .resolved_at = at(1800000000),
        .expires_at = at(1800003600)};
    ASSERT_TRUE(store_->put_provider_networks(google));
    ASSERT_TRUE(store_->put_provider_networks({.provider = "spf:_spf.empty.example",
                                               .networks = {},
                                               .resolved_at = at(1),
                                               .expires_at = at(2)}));

    auto got = store_->provider_networks("google");
    ASSERT_TRUE(got) << got.error().describe();
    ASSERT_TRUE(*got);
    EXPECT_EQ((*got)->provider, "google");
    EXPECT_EQ((*got)->networks, google.networks);
    EXPECT_EQ((*got)->networks[2].prefix, 32);
    EXPECT_EQ((*got)->resolved_at, at(1800000000));
    EXPECT_EQ((*got)->expires_at, at(1800003600));
    auto empty = store_->provider_networks("spf:_spf.empty.example");
    ASSERT_TRUE(empty && *empty);
    EXPECT_TRUE((*empty)->networks.empty());

    google.networks.pop_back();
    google.expires_at = at(1900000000);
    ASSERT_TRUE(store_->put_provider_networks(google));
    auto replaced = store_->provider_networks("google");
    ASSERT_TRUE(replaced && *replaced);
    EXPECT_EQ((*replaced)->networks.size(), 2u);
    EXPECT_EQ((*replaced)->expires_at, at(1900000000));
}

// ---- replay -------------------------------------------------------------------------------

struct Replayed {
    report::AggregateHeader header;
    Provenance provenance;
    std::vector<report::Record> records;
    bool ended = false;
};

class CollectingSink final : public ReplaySink {
public:
    std::vector<Replayed> reports;
    std::size_t fail_at_record = SIZE_MAX;  // the sink refuses this record (0-based, overall)

    Result<void> on_report(const report::AggregateHeader& h, const Provenance& p) override {
        reports.push_back({h, p, {}, false});
        return {};
    }
    Result<void> on_record(const report::Record& r) override {
        if (records_seen_++ == fail_at_record) return fail(Errc::conflict, "sink refused");
        reports.back().records.push_back(r);
        return {};
    }
    Result<void> on_report_end() override {
        reports.back().ended = true;
        return {};
    }

private:
    std::size_t records_seen_ = 0;
};

void expect_same_header(const report::AggregateHeader& got, const report::AggregateHeader& want) {
    EXPECT_EQ(got.schema, want.schema);
    EXPECT_EQ(got.version, want.version);
    EXPECT_EQ(got.metadata.org_name, want.metadata.org_name);
    EXPECT_EQ(got.metadata.email, want.metadata.email);
    EXPECT_EQ(got.metadata.extra_contact_info, want.metadata.extra_contact_info);
    EXPECT_EQ(got.metadata.report_id, want.metadata.report_id);
    EXPECT_EQ(got.metadata.begin, want.metadata.begin);
    EXPECT_EQ(got.metadata.end, want.metadata.end);
    EXPECT_EQ(got.metadata.errors, want.metadata.errors);
    EXPECT_EQ(got.metadata.generator, want.metadata.generator);
    EXPECT_EQ(got.policy.domain, want.policy.domain);
    EXPECT_EQ(got.policy.adkim, want.policy.adkim);
    EXPECT_EQ(got.policy.aspf, want.policy.aspf);
    EXPECT_EQ(got.policy.p, want.policy.p);
    EXPECT_EQ(got.policy.sp, want.policy.sp);
    EXPECT_EQ(got.policy.np, want.policy.np);
    EXPECT_EQ(got.policy.pct, want.policy.pct);
    EXPECT_EQ(got.policy.fo, want.policy.fo);
    EXPECT_EQ(got.policy.testing, want.policy.testing);
    EXPECT_EQ(got.policy.discovery_method, want.policy.discovery_method);
}

void expect_same_record(const report::Record& got, const report::Record& want) {
    EXPECT_EQ(got.source_ip, want.source_ip);
    EXPECT_EQ(got.count, want.count);
    EXPECT_EQ(got.disposition, want.disposition);
    EXPECT_EQ(got.dkim, want.dkim);
    EXPECT_EQ(got.spf, want.spf);
    EXPECT_EQ(got.header_from, want.header_from);
    EXPECT_EQ(got.envelope_from, want.envelope_from);
    EXPECT_EQ(got.envelope_to, want.envelope_to);
    ASSERT_EQ(got.reasons.size(), want.reasons.size());
    for (std::size_t i = 0; i < got.reasons.size(); ++i) {
        EXPECT_EQ(got.reasons[i].type, want.reasons[i].type);
        EXPECT_EQ(got.reasons[i].comment, want.reasons[i].comment);
    }
    ASSERT_EQ(got.dkim_results.size(), want.dkim_results.size());
    for (std::size_t i = 0; i < got.dkim_results.size(); ++i) {
        EXPECT_EQ(got.dkim_results[i].domain, want.dkim_results[i].domain);
        EXPECT_EQ(got.dkim_results[i].selector, want.dkim_results[i].selector);
        EXPECT_EQ(got.dkim_results[i].result, want.dkim_results[i].result);
        EXPECT_EQ(got.dkim_results[i].human_result, want.dkim_results[i].human_result);
    }
    ASSERT_EQ(got.spf_results.size(), want.spf_results.size());
    for (std::size_t i = 0; i < got.spf_results.size(); ++i) {
        EXPECT_EQ(got.spf_results[i].domain, want.spf_results[i].domain);
        EXPECT_EQ(got.spf_results[i].scope, want.spf_results[i].scope);
        EXPECT_EQ(got.spf_results[i].result, want.spf_results[i].result);
        EXPECT_EQ(got.spf_results[i].human_result, want.spf_results[i].human_result);
    }
}

TEST_F(RollupTest, ReplayGivesBackEveryReportAsStoredOldestFirst) {
    auto full = header("Example Receiver", "r-1", "acme.example", day0 * day_seconds + 5);
    full.schema = report::Schema::dmarc_0_1;
    full.version = "";
    full.metadata.extra_contact_info = "https://receiver.example/dmarc";
    full.metadata.errors = {"first problem", "second problem"};
    full.metadata.generator = "gen 1.2";
    full.policy.adkim = report::Alignment::strict;
    full.policy.aspf = report::Alignment::relaxed;
    full.policy.sp = report::Policy::quarantine;
    full.policy.np = report::Policy::none;
    full.policy.pct = 25;
    full.policy.fo = "1:d";
    full.policy.testing = true;
    full.policy.discovery_method = report::DiscoveryMethod::treewalk;

    auto a = record("192.0.2.1", 10);
    a.envelope_to = "acme.example";
    a.reasons = {{OverrideType::local_policy, "arc=pass"}, {OverrideType::forwarded, ""}};
    a.dkim_results = {{"b.example", "s2", AuthVerdict::fail, "sig"},
                      {"a.example", "s1", AuthVerdict::pass, ""},
                      {"c.example", "", AuthVerdict::none, ""}};
    a.spf_results = {{"helo.example", SpfScope::helo, AuthVerdict::pass, "h"},
                     {"acme.example", SpfScope::unspecified, AuthVerdict::softfail, ""},
                     {"acme.example", SpfScope::mfrom, AuthVerdict::pass, ""}};
    auto b = record("2001:db8::9", 3);
    b.envelope_from = "";
    b.dkim_results.clear();
    b.spf_results.clear();
    b.disposition = report::Disposition::reject;
    b.dkim = DmarcVerdict::unknown;
    auto c = record("192.0.2.3", 1);
    c.envelope_from.reset();

    auto older = header("google.com", "g-0", "acme.example", day0 * day_seconds - 86400);
    auto other = header("google.com", "g-9", "globex.example", day0 * day_seconds);
    store_report(full, {a, b, c});
    store_report(other, {record("198.51.100.1", 1)});
    store_report(older, {c});

    CollectingSink sink;
    ASSERT_TRUE(store_->replay_aggregates({.domain = "acme.example"}, sink));
    ASSERT_EQ(sink.reports.size(), 2u);
    expect_same_header(sink.reports[0].header, older);
    expect_same_header(sink.reports[1].header, full);
    EXPECT_EQ(sink.reports[1].provenance.source, "test");
    EXPECT_EQ(sink.reports[1].provenance.ingested_at, at(1800000000));
    EXPECT_TRUE(sink.reports[1].ended);
    ASSERT_EQ(sink.reports[1].records.size(), 3u);
    expect_same_record(sink.reports[1].records[0], a);
    expect_same_record(sink.reports[1].records[1], b);
    expect_same_record(sink.reports[1].records[2], c);
    ASSERT_EQ(sink.reports[0].records.size(), 1u);
    expect_same_record(sink.reports[0].records[0], c);

    CollectingSink all;
    ASSERT_TRUE(store_->replay_aggregates({}, all));
    EXPECT_EQ(all.reports.size(), 3u);
    CollectingSink window;
    ASSERT_TRUE(store_->replay_aggregates(
        {.since = at(day0 * day_seconds), .until = at(day0 * day_seconds + 5)}, window));
    ASSERT_EQ(window.reports.size(), 1u);
    EXPECT_EQ(window.reports[0].header.policy.domain, "globex.example");
}

TEST_F(RollupTest, ReplayStopsWithTheSinksError) {
    store_report(header("google.com", "g1", "acme.example"),
                 {record("192.0.2.1", 1), record("192.0.2.2", 1)});
    store_report(header("google.com", "g2", "acme.example", (day0 + 1) * day_seconds),
                 {record("192.0.2.3", 1)});
    CollectingSink sink;
    sink.fail_at_record = 1;
    auto r = store_->replay_aggregates({}, sink);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::conflict);
    EXPECT_EQ(r.error().reason, "sink refused");
    ASSERT_EQ(sink.reports.size(), 1u);
    EXPECT_FALSE(sink.reports[0].ended);
    // The store is still usable for writing afterwards.
    store_report(header("google.com", "g3", "acme.example"), {record("192.0.2.4", 1)});
    EXPECT_EQ(count_rows("reports"), 3);
}

// ---- migration 3 --------------------------------------------------------------------------

TEST_F(RollupTest, Migration3FillsTheRollupsFromReportsAlreadyStored) {
    auto a = record("192.0.2.1", 10);
    a.header_from = "News.Acme.Example";
    a.reasons = {{OverrideType::local_policy, "ARC=pass"}};
    a.dkim_results.push_back({"esp.example", "K1", AuthVerdict::fail, ""});
    store_report(header("google.com", "g1", "acme.example"), {a, record("192.0.2.2", 4)});
    store_report(header("Yahoo", "y1", "acme.example", (day0 + 1) * day_seconds),
                 {a, record("192.0.2.2", 6)});
    auto by_ingest = facts({.domain = "acme.example", .by_day = true});
    auto selectors_by_ingest = store_->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(selectors_by_ingest);
    ASSERT_EQ(by_ingest.size(), 4u);

    // Back to the version-2 schema with its data, as an older Rampart left it.
    raw_sql(
        "DROP TABLE source_days; DROP TABLE selector_days; DROP TABLE source_identities; "
        "DROP TABLE provider_networks; DROP TABLE rollout_domains; DROP TABLE rollout_history; "
        "DROP TABLE publish_log; DROP TABLE dkim_rotations; "
        "DELETE FROM schema_migrations WHERE version >= 3;");
    open();
    EXPECT_EQ(count_rows("schema_migrations"), sqlite_schema_version());

    auto backfilled = facts({.domain = "acme.example", .by_day = true});
    ASSERT_EQ(backfilled.size(), by_ingest.size());
    for (std::size_t i = 0; i < backfilled.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(backfilled[i].source_ip, by_ingest[i].source_ip);
        EXPECT_EQ(backfilled[i].header_from, by_ingest[i].header_from);
        EXPECT_EQ(backfilled[i].messages, by_ingest[i].messages);
        EXPECT_EQ(backfilled[i].first_day, by_ingest[i].first_day);
        EXPECT_EQ(backfilled[i].dkim, by_ingest[i].dkim);
        EXPECT_EQ(backfilled[i].overrides, by_ingest[i].overrides);
        EXPECT_EQ(backfilled[i].arc_pass, by_ingest[i].arc_pass);
        EXPECT_EQ(backfilled[i].envelope_from, by_ingest[i].envelope_from);
    }
    auto summed = facts({.domain = "news.acme.example"});
    ASSERT_EQ(summed.size(), 1u);
    EXPECT_EQ(summed[0].messages, 20u);
    EXPECT_TRUE(summed[0].arc_pass);
    EXPECT_EQ(summed[0].first_day, day(day0));
    EXPECT_EQ(summed[0].last_day, day(day0 + 1));

    auto selectors = store_->selectors_seen("acme.example", std::nullopt);
    ASSERT_TRUE(selectors);
    ASSERT_EQ(selectors->size(), selectors_by_ingest->size());
    for (std::size_t i = 0; i < selectors->size(); ++i) {
        EXPECT_EQ((*selectors)[i].selector, (*selectors_by_ingest)[i].selector);
        EXPECT_EQ((*selectors)[i].pass, (*selectors_by_ingest)[i].pass);
        EXPECT_EQ((*selectors)[i].fail, (*selectors_by_ingest)[i].fail);
    }
    // New reports go on adding to the backfilled rows.
    store_report(header("google.com", "g2", "acme.example"), {record("192.0.2.2", 1)});
    auto two = facts({.domain = "acme.example", .source_ip = "192.0.2.2"});
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(two[0].messages, 11u);
}

TEST_F(RollupTest, AFailedBackfillLeavesTheDatabaseAtVersion2) {
    store_report(header("google.com", "g1", "acme.example"), {record("192.0.2.1", 10)});
    raw_sql(
        "DROP TABLE source_days; DROP TABLE selector_days; DROP TABLE source_identities; "
        "DROP TABLE provider_networks; DROP TABLE rollout_domains; DROP TABLE rollout_history; "
        "DROP TABLE publish_log; DROP TABLE dkim_rotations; "
        "DELETE FROM schema_migrations WHERE version >= 3; "
        "UPDATE auth_results SET result = 'bogus';");
    auto reopened = open_sqlite(path_);
    ASSERT_FALSE(reopened);
    EXPECT_EQ(reopened.error().code, Errc::io);
    EXPECT_NE(reopened.error().reason.find("bogus"), std::string::npos) << reopened.error().reason;
    EXPECT_NE(reopened.error().reason.find("migration 3"), std::string::npos);
    raw_sql("UPDATE auth_results SET result = 'pass';");
    open();
    auto rows = facts({});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].messages, 10u);
}

}  // namespace
}  // namespace rampart::store

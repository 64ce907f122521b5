// service/ingest: the examples ingest to exactly the totals their generator wrote down; a store
// that fails at any call leaves only whole reports behind (fault injection in the manner of
// SQLite's do_faultsim_test), and a second run then stores exactly what was missing.
#include "service/service.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mail/mail.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support.hpp"

namespace rampart::service {
namespace {

const Timestamp now{std::chrono::seconds{1800000000}};

/// Wraps a real store and fails the Nth call to begin_aggregate, add or commit (counting from 1)
/// with a transient error, the way a full disk or a locked database would.
class FaultyStore final : public store::Store {
public:
    FaultyStore(store::Store& inner, int fail_at) : inner_(inner), fail_at_(fail_at) {}

    Result<store::BeginOutcome> begin_aggregate(const report::AggregateHeader& h,
                                                const store::Provenance& p) override {
        if (tick()) return fail(Errc::io, "injected fault in begin_aggregate");
        auto b = inner_.begin_aggregate(h, p);
        if (!b || b->duplicate()) return b;
        return store::BeginOutcome{std::make_unique<Writer>(*this, std::move(b->writer))};
    }
    Result<bool> add_failure_report(const report::FailureReport& f, std::string_view h,
                                    const store::Provenance& p) override {
        if (tick()) return fail(Errc::io, "injected fault in add_failure_report");
        return inner_.add_failure_report(f, h, p);
    }
    Result<std::vector<store::DomainSummary>> summarize(const store::SummaryQuery& q) override {
        return inner_.summarize(q);
    }
    Result<store::StoreTotals> totals() override { return inner_.totals(); }
    Result<void> flush() override {
        if (tick()) return fail(Errc::io, "injected fault in flush");
        return inner_.flush();
    }
    Result<void> remember_message(const store::MailboxMessage& m) override {
        if (tick()) return fail(Errc::io, "injected fault in remember_message");
        return inner_.remember_message(m);
    }
    Result<std::vector<store::SeenMessage>> seen_messages(std::string_view mailbox,
                                                          std::uint32_t uidvalidity) override {
        return inner_.seen_messages(mailbox, uidvalidity);
    }

    bool fired() const { return calls_ >= fail_at_; }

private:
    class Writer final : public store::AggregateWriter {
    public:
        Writer(FaultyStore& s, std::unique_ptr<store::AggregateWriter> w) : s_(s), w_(std::move(w)) {}
        Result<void> add(const report::Record& r) override {
            if (s_.tick()) return fail(Errc::io, "injected fault in add");
            return w_->add(r);
        }
        Result<void> commit(const store::ReportTotals& t) override {
            if (s_.tick()) return fail(Errc::io, "injected fault in commit");
            return w_->commit(t);
        }

    private:
        FaultyStore& s_;
        std::unique_ptr<store::AggregateWriter> w_;
    };
    bool tick() { return ++calls_ == fail_at_; }
    store::Store& inner_;
    int fail_at_;
    int calls_ = 0;
};

/// Ingests examples/reports; returns false when the store failed.
bool ingest_examples(store::Store& store, IngestOutcome* outcome = nullptr) {
    auto expanded = mail::expand_inputs({(test::source_dir() / "examples" / "reports").string()});
    EXPECT_TRUE(expanded.errors.empty());
    Ingester ingester(store, IngestLimits{}, now);
    bool ok = true;
    for (const auto& in : expanded.inputs) {
        auto file = mail::FileSource::open(in.path);
        EXPECT_TRUE(file);
        if (!ingester.ingest(*file, Location{.source = in.path.string()})) {
            ok = false;
            break;
        }
    }
    if (ok && !ingester.finish()) ok = false;
    if (outcome) *outcome = ingester.outcome();
    return ok;
}

nlohmann::json expected() {
    return nlohmann::json::parse(test::read_file(test::source_dir() / "examples" / "expected.json"));
}

TEST(Ingest, ExamplesGiveTheGeneratorsTotals) {
    auto store = store::open_sqlite(":memory:");
    ASSERT_TRUE(store);
    IngestOutcome o;
    ASSERT_TRUE(ingest_examples(**store, &o));
    auto want = expected();
    EXPECT_EQ(o.reports_new, want["reports_new"].get<std::uint64_t>());
    EXPECT_EQ(o.reports_duplicate, want["reports_duplicate"].get<std::uint64_t>());
    EXPECT_EQ(o.failure_reports_new, want["failure_reports_new"].get<std::uint64_t>());
    EXPECT_EQ(o.records, want["records"].get<std::uint64_t>());
    EXPECT_EQ(o.messages, want["messages"].get<std::uint64_t>());
    EXPECT_TRUE(o.rejected.empty()) << o.rejected.front().path << ": " << o.rejected.front().reason;

    auto domains = (*store)->summarize({});
    ASSERT_TRUE(domains);
    ASSERT_EQ(domains->size(), want["domains"].size());
    for (const auto& d : *domains) {
        const auto& w = want["domains"][d.domain];
        EXPECT_EQ(d.reports, w["reports"].get<std::uint64_t>()) << d.domain;
        EXPECT_EQ(d.records, w["records"].get<std::uint64_t>()) << d.domain;
        EXPECT_EQ(d.messages, w["messages"].get<std::uint64_t>()) << d.domain;
        EXPECT_EQ(d.dmarc_pass, w["dmarc_pass"].get<std::uint64_t>()) << d.domain;
        EXPECT_EQ(d.dmarc_fail, w["dmarc_fail"].get<std::uint64_t>()) << d.domain;
    }

    // Everything again: all duplicates, nothing new.
    IngestOutcome again;
    ASSERT_TRUE(ingest_examples(**store, &again));
    EXPECT_EQ(again.reports_new, 0u);
    EXPECT_EQ(again.reports_duplicate, o.reports_new + o.reports_duplicate);
    EXPECT_EQ(again.failure_reports_new, 0u);
    EXPECT_EQ(again.failure_reports_duplicate, o.failure_reports_new);
}

TEST(Ingest, AStoreFailingAtAnyCallLeavesWholeReportsAndARerunCompletes) {
    auto want = expected();
    int runs = 0;
    for (int fail_at = 1;; ++fail_at) {
        auto store = store::open_sqlite(":memory:");
        ASSERT_TRUE(store);
        FaultyStore faulty(**store, fail_at);
        bool ok = ingest_examples(faulty);
        ++runs;
        // Whatever was stored before the fault is whole: its records add up to its totals.
        auto partial = (*store)->totals();
        ASSERT_TRUE(partial);
        auto domains = (*store)->summarize({});
        ASSERT_TRUE(domains);
        std::uint64_t records = 0;
        for (const auto& d : *domains) records += d.records;
        EXPECT_EQ(records, partial->records) << "fault at call " << fail_at;
        EXPECT_LE(partial->reports, want["reports_new"].get<std::uint64_t>());

        // A clean second run stores exactly what was missing.
        IngestOutcome rerun;
        ASSERT_TRUE(ingest_examples(**store, &rerun));
        auto full = (*store)->totals();
        ASSERT_TRUE(full);
        EXPECT_EQ(full->reports, want["reports_new"].get<std::uint64_t>()) << "fault at " << fail_at;
        EXPECT_EQ(full->records, want["records"].get<std::uint64_t>()) << "fault at " << fail_at;
        EXPECT_EQ(full->messages, want["messages"].get<std::uint64_t>()) << "fault at " << fail_at;
        EXPECT_EQ(full->failure_reports, want["failure_reports_new"].get<std::uint64_t>());
        EXPECT_EQ(rerun.reports_new, full->reports - partial->reports);
        if (ok) {
            EXPECT_FALSE(faulty.fired());
            break;  // the fault point is past the last store call: every call was covered
        }
        ASSERT_LT(fail_at, 5000) << "fault injection did not converge";
    }
    EXPECT_GT(runs, 200);  // one run per store call of the examples (30 reports, 194 records)
}

}  // namespace
}  // namespace rampart::service

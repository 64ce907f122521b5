// service fetch: a mailbox is read so that nothing is lost or counted twice. Reports are made
// durable (remembered and flushed) before any message leaves the folder; a connection that drops
// is retried with exponential backoff and the retry neither loses nor re-counts a message; what
// the store remembers lets --no-move skip messages; a new UIDVALIDITY starts the memory over and
// report identity keeps the counts right. A fake session stands in for the server; the store is
// SQLite in memory, wrapped to record the order of its calls.
// (Kept with the mail tests until tests/unit/service/CMakeLists.txt lists it.)
#include <gtest/gtest.h>

#include <map>

#include "mail/imap/imap.hpp"
#include "service/service.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support.hpp"

namespace rampart::service {
namespace {

using namespace std::chrono_literals;
using mail::imap::FolderStatus;
using mail::imap::MessageInfo;

const Timestamp now{std::chrono::seconds{1800000000}};

std::string example(const char* name) {
    return test::read_file(test::source_dir() / "examples" / "reports" / name);
}

/// The server's state, shared by every session (so it survives reconnects).
struct Server {
    std::map<std::string, std::map<std::uint32_t, std::string>> folders;
    std::uint32_t uidvalidity = 100, next_uid = 1;
    std::vector<std::string> events;  // what happened, in order
    int fetches = 0, fail_fetch_number = 0, moves = 0, fail_move_number = 0;
    int connects = 0, allow_connects = 1000;
    Errc refuse_with = Errc::transient;
    std::function<void()> on_connect, on_fetch;
    std::function<Result<bool>()> on_wait;

    void deliver(const std::string& bytes, const std::string& folder = "INBOX") {
        folders[folder][next_uid++] = bytes;
    }
    std::size_t count(const std::string& folder) { return folders[folder].size(); }
};

class FakeSession final : public mail::imap::Session {
public:
    explicit FakeSession(Server& s) : s_(s) {}
    const mail::imap::Capabilities& capabilities() const noexcept override { return caps_; }
    Result<FolderStatus> select(std::string_view folder, bool read_only) override {
        if (broken_) return fail(Errc::transient, "lost");
        selected_ = std::string(folder);
        s_.events.push_back(fmt::format("{} {}", read_only ? "examine" : "select", folder));
        return FolderStatus{s_.uidvalidity, s_.next_uid,
                            static_cast<std::uint32_t>(s_.count(selected_)), read_only};
    }
    Result<std::vector<MessageInfo>> list(std::uint32_t first_uid) override {
        if (broken_) return fail(Errc::transient, "lost");
        std::vector<MessageInfo> out;
        for (const auto& [uid, bytes] : s_.folders[selected_])
            if (uid >= first_uid) out.push_back({uid, bytes.size(), false});
        return out;
    }
    Result<std::string> fetch(std::uint32_t uid, std::uint64_t max_bytes) override {
        if (broken_) return fail(Errc::transient, "lost");
        if (++s_.fetches == s_.fail_fetch_number) {
            broken_ = true;
            return fail(Errc::transient, "the server closed the connection");
        }
        s_.events.push_back(fmt::format("fetch {}", uid));
        if (s_.on_fetch) s_.on_fetch();
        auto& f = s_.folders[selected_];
        auto it = f.find(uid);
        if (it == f.end()) return fail(Errc::not_found, "gone");
        if (it->second.size() > max_bytes) return fail(Errc::limit_exceeded, "too big");
        return it->second;
    }
    Result<void> ensure_folder(std::string_view folder) override {
        s_.folders[std::string(folder)];
        return {};
    }
    Result<void> move(std::span<const std::uint32_t> uids, std::string_view folder) override {
        if (broken_) return fail(Errc::transient, "lost");
        if (++s_.moves == s_.fail_move_number) {
            broken_ = true;
            return fail(Errc::transient, "the server closed the connection");
        }
        std::string list;
        for (auto uid : uids) {
            list += (list.empty() ? "" : ",") + std::to_string(uid);
            auto node = s_.folders[selected_].extract(uid);
            EXPECT_FALSE(node.empty()) << uid;
            if (!node.empty()) s_.folders[std::string(folder)][uid] = std::move(node.mapped());
        }
        s_.events.push_back(fmt::format("move {} {}", folder, list));
        return {};
    }
    Result<bool> wait(std::chrono::milliseconds, const std::function<bool()>&) override {
        s_.events.push_back("wait");
        return s_.on_wait ? s_.on_wait() : Result<bool>(false);
    }

private:
    Server& s_;
    mail::imap::Capabilities caps_{true, true, true};
    std::string selected_;
    bool broken_ = false;
};

/// Records flushes and remembered messages in the server's event list, around a real store.
class RecordingStore final : public store::Store {
public:
    RecordingStore(store::Store& inner, Server& s) : inner_(inner), s_(s) {}
    Result<store::BeginOutcome> begin_aggregate(const report::AggregateHeader& h,
                                                const store::Provenance& p) override {
        return inner_.begin_aggregate(h, p);
    }
    Result<bool> add_failure_report(const report::FailureReport& f, std::string_view sha,
                                    const store::Provenance& p) override {
        return inner_.add_failure_report(f, sha, p);
    }
    Result<std::vector<store::DomainSummary>> summarize(const store::SummaryQuery& q) override {
        return inner_.summarize(q);
    }
    Result<store::StoreTotals> totals() override { return inner_.totals(); }
    Result<void> flush() override {
        s_.events.push_back("flush");
        return inner_.flush();
    }
    Result<void> remember_message(const store::MailboxMessage& m) override {
        s_.events.push_back(fmt::format("remember {} {}", m.uid, to_string(m.outcome)));
        return inner_.remember_message(m);
    }
    Result<std::vector<store::SeenMessage>> seen_messages(std::string_view mailbox,
                                                          std::uint32_t uidvalidity) override {
        return inner_.seen_messages(mailbox, uidvalidity);
    }

private:
    store::Store& inner_;
    Server& s_;
};

class Fetch : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = store::open_sqlite(":memory:");
        ASSERT_TRUE(s);
        sqlite_ = std::move(*s);
        store_ = std::make_unique<RecordingStore>(*sqlite_, server_);
    }

    /// One run of `rampart fetch` against the fake server: a fresh ingester, as each run has.
    struct Run {
        FetchOutcome fetch;
        IngestOutcome ingest;
        bool ok = false;
        std::optional<Error> error;
    };
    Run run(MailboxFetchOptions options = {}, bool watch = false) {
        Run r;
        Ingester ingester(*store_, limits_, now);
        options.mailbox = "dmarc@imap.example:993/INBOX";
        FetchLoop loop;
        loop.connect = [this]() -> Result<std::unique_ptr<mail::imap::Session>> {
            ++server_.connects;
            if (server_.on_connect) server_.on_connect();
            if (server_.connects > server_.allow_connects)
                return fail(server_.refuse_with, "cannot connect");
            return std::make_unique<FakeSession>(server_);
        };
        loop.stop = [this] { return stop_; };
        loop.sleep = [this](std::chrono::milliseconds d) { sleeps_.push_back(d); };
        loop.now = [] { return now; };
        loop.log = [this](std::string_view line) { log_.emplace_back(line); };
        loop.watch = watch;
        MailboxFetcher fetcher(ingester, limits_, options, loop);
        auto result = fetcher.run();
        EXPECT_TRUE(ingester.finish());
        r.ok = result.has_value();
        if (!result) r.error = result.error();
        r.fetch = fetcher.outcome();
        r.ingest = ingester.outcome();
        return r;
    }
    std::vector<std::string> events_matching(std::string_view prefix) {
        std::vector<std::string> out;
        for (const auto& e : server_.events)
            if (e.starts_with(prefix)) out.push_back(e);
        return out;
    }
    std::ptrdiff_t first(std::string_view prefix) {
        for (std::size_t i = 0; i < server_.events.size(); ++i)
            if (server_.events[i].starts_with(prefix)) return static_cast<std::ptrdiff_t>(i);
        return -1;
    }
    std::ptrdiff_t last(std::string_view prefix) {
        for (std::size_t i = server_.events.size(); i-- > 0;)
            if (server_.events[i].starts_with(prefix)) return static_cast<std::ptrdiff_t>(i);
        return -1;
    }

    void deliver_samples() {
        server_.deliver(example("yahoo-globex-20261102.eml"));                     // 1: aggregate
        server_.deliver("From: x@spam.example\r\nSubject: cheap\r\n\r\nbuy\r\n");  // 2: junk
        server_.deliver(example("failure-acme-20261105.eml"));                     // 3: failure
        server_.deliver(example("gmx-initech-20261103.eml"));                      // 4: aggregate
    }

    Server server_;
    std::unique_ptr<store::Store> sqlite_;
    std::unique_ptr<RecordingStore> store_;
    IngestLimits limits_;
    bool stop_ = false;
    std::vector<std::chrono::milliseconds> sleeps_;
    std::vector<std::string> log_;
};

TEST_F(Fetch, ReportsGoToArchiveTheRestToInvalidAndNothingMovesBeforeTheFlush) {
    deliver_samples();
    limits_.max_message = 200'000;
    server_.deliver("Subject: huge\r\n\r\n" + std::string(300'000, 'x'));  // 5: over the cap
    auto r = run();
    ASSERT_TRUE(r.ok) << r.error->describe();
    EXPECT_EQ(r.fetch.messages_seen, 5u);
    EXPECT_EQ(r.fetch.messages_archived, 3u);
    EXPECT_EQ(r.fetch.messages_invalid, 2u);
    EXPECT_EQ(r.fetch.messages_moved, 5u);
    EXPECT_EQ(r.ingest.reports_new, 2u);
    EXPECT_EQ(r.ingest.failure_reports_new, 1u);
    EXPECT_EQ(server_.count("INBOX"), 0u);
    EXPECT_EQ(server_.count("Archive"), 3u);
    EXPECT_EQ(server_.count("Invalid"), 2u);
    EXPECT_TRUE(server_.folders["Invalid"].contains(2));
    EXPECT_TRUE(server_.folders["Invalid"].contains(5));
    // The message over the cap was judged on its size, never downloaded.
    EXPECT_EQ(events_matching("fetch ").size(), 4u);
    ASSERT_EQ(r.ingest.rejected.size(), 2u);
    EXPECT_EQ(r.ingest.rejected[1].path, "imap:dmarc@imap.example:993/INBOX uid 5");
    EXPECT_NE(r.ingest.rejected[1].reason.find("larger than the limit of 200000 bytes"),
              std::string::npos);
    // Remember, flush, and only then move.
    ASSERT_GE(first("move "), 0);
    EXPECT_LT(last("remember "), first("flush"));
    EXPECT_LT(first("flush"), first("move "));
    EXPECT_EQ(events_matching("move "),
              (std::vector<std::string>{"move Archive 1,3,4", "move Invalid 2,5"}));
    // The reason of each invalid message is logged.
    ASSERT_EQ(log_.size(), 2u);
    EXPECT_NE(log_[0].find("uid 2: moving to Invalid: no DMARC report found"), std::string::npos)
        << log_[0];

    // A second run finds nothing.
    auto again = run();
    ASSERT_TRUE(again.ok);
    EXPECT_EQ(again.fetch.messages_seen, 0u);
    EXPECT_EQ(again.ingest.reports_new + again.ingest.reports_duplicate, 0u);
}

TEST_F(Fetch, NoMoveExaminesTheFolderAndASecondRunSkipsWhatTheStoreRemembers) {
    deliver_samples();
    auto first_run = run({.move = false});
    ASSERT_TRUE(first_run.ok);
    EXPECT_EQ(first_run.fetch.messages_seen, 4u);
    EXPECT_EQ(first_run.fetch.messages_moved, 0u);
    EXPECT_EQ(events_matching("select").size(), 0u);
    EXPECT_EQ(events_matching("examine INBOX").size(), 1u);
    server_.deliver(example("mailru-acme-20261102.eml"));  // 5 arrives between runs
    server_.events.clear();
    auto second = run({.move = false});
    ASSERT_TRUE(second.ok);
    EXPECT_EQ(second.fetch.messages_seen, 1u);
    EXPECT_EQ(second.fetch.messages_skipped, 4u);
    EXPECT_EQ(events_matching("fetch "), (std::vector<std::string>{"fetch 5"}));
    EXPECT_EQ(second.ingest.reports_new, 1u);
    EXPECT_EQ(second.ingest.reports_duplicate, 0u);
    EXPECT_EQ(server_.count("INBOX"), 5u);
}

TEST_F(Fetch, ANewUidValidityStartsOverAndReportIdentityKeepsTheCountsRight) {
    deliver_samples();
    ASSERT_TRUE(run({.move = false}).ok);
    ++server_.uidvalidity;  // the server rebuilt the folder
    auto again = run({.move = false});
    ASSERT_TRUE(again.ok);
    EXPECT_EQ(again.fetch.messages_seen, 4u);
    EXPECT_EQ(again.ingest.reports_new, 0u);
    EXPECT_EQ(again.ingest.reports_duplicate, 2u);
    EXPECT_EQ(again.ingest.failure_reports_new, 0u);
    auto totals = sqlite_->totals();
    ASSERT_TRUE(totals);
    EXPECT_EQ(totals->reports, 2u);
    EXPECT_EQ(totals->failure_reports, 1u);
}

TEST_F(Fetch, AConnectionLostMidFetchIsRetriedAndNothingIsFetchedOrCountedTwice) {
    deliver_samples();
    server_.fail_fetch_number = 3;  // the third download breaks the connection
    auto r = run();
    ASSERT_TRUE(r.ok) << r.error->describe();
    EXPECT_EQ(server_.connects, 2);
    EXPECT_EQ(sleeps_, (std::vector<std::chrono::milliseconds>{1s}));
    EXPECT_EQ(r.fetch.reconnects, 1u);
    // What was read before the cut was remembered and flushed, so the retry moves it unread.
    EXPECT_EQ(events_matching("fetch "),
              (std::vector<std::string>{"fetch 1", "fetch 2", "fetch 3", "fetch 4"}));
    EXPECT_EQ(r.ingest.reports_new, 2u);
    EXPECT_EQ(r.ingest.reports_duplicate, 0u);
    EXPECT_EQ(r.ingest.failure_reports_new, 1u);
    EXPECT_EQ(server_.count("INBOX"), 0u);
    EXPECT_EQ(server_.count("Archive"), 3u);
    EXPECT_EQ(server_.count("Invalid"), 1u);
}

TEST_F(Fetch, AConnectionLostBeforeTheMoveMovesOnRetryWithoutDownloadingAgain) {
    deliver_samples();
    server_.fail_move_number = 1;
    auto r = run();
    ASSERT_TRUE(r.ok) << r.error->describe();
    EXPECT_EQ(events_matching("fetch ").size(), 4u);
    EXPECT_EQ(r.ingest.reports_new, 2u);
    EXPECT_EQ(r.ingest.reports_duplicate, 0u);
    EXPECT_EQ(server_.count("INBOX"), 0u);
    EXPECT_EQ(server_.count("Archive"), 3u);
    EXPECT_EQ(server_.count("Invalid"), 1u);
}

TEST_F(Fetch, ARunThatGivesUpLeavesTheStoreReadyForTheNextToFinishTheMoves) {
    deliver_samples();
    server_.fail_move_number = 1;
    server_.allow_connects = 1;  // the server stays away after the cut
    auto r = run();
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error->code, Errc::transient);
    EXPECT_EQ(server_.count("INBOX"), 4u);
    EXPECT_EQ(r.ingest.reports_new, 2u);

    server_.allow_connects = 1000;
    server_.events.clear();
    auto rerun = run();
    ASSERT_TRUE(rerun.ok) << rerun.error->describe();
    EXPECT_TRUE(events_matching("fetch ").empty());
    EXPECT_EQ(rerun.fetch.messages_seen, 0u);
    EXPECT_EQ(rerun.fetch.messages_moved, 4u);
    EXPECT_EQ(rerun.ingest.reports_new + rerun.ingest.reports_duplicate, 0u);
    EXPECT_EQ(server_.count("INBOX"), 0u);
    EXPECT_EQ(server_.count("Archive"), 3u);
    EXPECT_EQ(server_.count("Invalid"), 1u);
}

TEST_F(Fetch, NetworkFailuresBackOffExponentiallyUpToTheCapThenGiveUp) {
    server_.allow_connects = 0;
    auto r = run();
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error->code, Errc::transient);
    EXPECT_EQ(server_.connects, 4);
    EXPECT_EQ(sleeps_, (std::vector<std::chrono::milliseconds>{1s, 2s, 4s}));

    // Watching, it keeps trying, the delay capped, until stopped.
    sleeps_.clear();
    server_.connects = 0;
    int tries = 0;
    server_.on_connect = [&] {
        if (++tries == 9) stop_ = true;
    };
    auto w = run({}, true);
    EXPECT_TRUE(w.ok);
    EXPECT_EQ(sleeps_,
              (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s}));
}

TEST_F(Fetch, ARefusedLoginIsNotRetried) {
    server_.allow_connects = 0;
    server_.refuse_with = Errc::io;
    auto r = run();
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error->code, Errc::io);
    EXPECT_EQ(server_.connects, 1);
    EXPECT_TRUE(sleeps_.empty());
}

TEST_F(Fetch, WatchingPicksUpNewMessagesUntilStopped) {
    deliver_samples();
    int waits = 0;
    server_.on_wait = [&]() -> Result<bool> {
        if (++waits == 1) {
            server_.deliver(example("mailru-acme-20261102.eml"));
            return true;
        }
        stop_ = true;
        return false;
    };
    auto r = run({}, true);
    ASSERT_TRUE(r.ok) << r.error->describe();
    EXPECT_EQ(waits, 2);
    EXPECT_EQ(r.fetch.messages_seen, 5u);
    EXPECT_EQ(r.ingest.reports_new, 3u);
    EXPECT_EQ(server_.count("INBOX"), 0u);
    EXPECT_EQ(server_.count("Archive"), 4u);
}

TEST_F(Fetch, StopBetweenMessagesStillFilesWhatWasRead) {
    deliver_samples();
    int fetched = 0;
    server_.on_fetch = [&] {
        if (++fetched == 2) stop_ = true;
    };
    auto r = run({}, true);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.fetch.messages_seen, 2u);
    EXPECT_EQ(r.fetch.messages_moved, 2u);
    EXPECT_EQ(server_.count("INBOX"), 2u);
    EXPECT_LT(last("remember "), first("flush"));
    EXPECT_LT(first("flush"), first("move "));
}

}  // namespace
}  // namespace rampart::service

// service: the use cases every surface shares. Today: ingesting report inputs into a store and
// summarising what is stored.
//
// The ingest path for each report is bound → unpack → parse → validate → store in one
// transaction; a refused input is recorded with its location and reason and the run goes on.
// Trust: inputs are hostile (see unpack and report); nothing of a refused report is stored.
// Errors: per-input refusals are collected in IngestOutcome::rejected; a store failure that is not
// about one report (disk full, database locked) stops the run and is returned as the error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.hpp"
#include "store/store.hpp"

namespace rampart::mail::imap {
class Session;
}

namespace rampart::service {

struct Rejection {
    std::string path;    // the location, outermost container first
    std::string reason;  // one sentence
};

/// What one input held, known as soon as it was read: the reports handed to the store (whether
/// each was new or a duplicate is known only after flush(), and either way it was a report) and
/// the refusals found in it.
struct InputOutcome {
    std::uint64_t reports = 0;          // aggregate reports parsed whole
    std::uint64_t failure_reports = 0;  // failure reports parsed whole
    std::vector<Rejection> rejected;
    [[nodiscard]] bool held_report() const noexcept { return reports + failure_reports > 0; }
};

struct IngestOutcome {
    std::uint64_t reports_new = 0;
    std::uint64_t reports_duplicate = 0;
    std::uint64_t failure_reports_new = 0;
    std::uint64_t failure_reports_duplicate = 0;
    std::uint64_t records = 0;   // records of the new reports
    std::uint64_t messages = 0;  // sum of their counts
    std::uint64_t emails = 0;    // e-mail messages read
    std::uint64_t inputs = 0;    // files (or streams) read
    std::vector<Rejection> rejected;
};

/// Ingests inputs one after another into one store. Not thread-safe; one per run.
class Ingester {
public:
    Ingester(store::Store& store, const IngestLimits& limits, Timestamp now);
    ~Ingester();
    Ingester(const Ingester&) = delete;
    Ingester& operator=(const Ingester&) = delete;

    /// Ingests everything found in one input stream named by `where.source`.
    /// Returns an error only for failures that make going on pointless (the store broke);
    /// refusals of content are recorded in the outcome.
    [[nodiscard]] Result<void> ingest(ByteSource& input, const Location& where);

    /// Makes everything stored so far durable (see Store::flush). Call once after the last input;
    /// the outcome is only final once this succeeded.
    [[nodiscard]] Result<void> finish();

    /// Records a refusal found before reading (a path that does not exist).
    void reject(const Error& error);

    /// Ingests one input held in memory (an e-mail message fetched over IMAP) and says what it
    /// held. Errors as for ingest().
    [[nodiscard]] Result<InputOutcome> ingest_message(std::span<const std::byte> bytes,
                                                      const Location& where);

    /// Makes everything ingested so far durable and brings the outcome's store counts up to
    /// date; may be called between inputs any number of times (finish() is the last of them).
    /// Whatever must not happen before the reports are safe (moving their messages away) waits
    /// for this to succeed.
    [[nodiscard]] Result<void> flush();

    /// Runs `task` with the store, on the store's thread, after everything ingested so far has
    /// been applied, and returns its result. For store work that belongs between inputs (the
    /// mailbox memory); a report in flight is never interleaved with it.
    [[nodiscard]] Result<void> with_store(const std::function<Result<void>(store::Store&)>& task);

    /// Refusals are listed as they happen; the store's counts are final after finish().
    [[nodiscard]] const IngestOutcome& outcome() const noexcept { return outcome_; }

private:
    class Impl;
    IngestLimits limits_;
    IngestOutcome outcome_;
    std::unique_ptr<Impl> impl_;
};

// Mailbox fetching: the ingest use case over an IMAP folder (rampart fetch).
//
// Order, so that nothing is lost or counted twice whatever breaks when: messages are fetched one
// at a time and ingested; every `batch_messages` messages their outcomes are remembered in the
// store, the store is flushed, and only then are the messages moved (report → archive folder,
// anything else → invalid folder, nothing ever deleted). A crash before the flush leaves the
// messages in place and the rerun finds their reports already stored or stores them (report
// identity de-duplicates); a crash after it leaves them in place but remembered, and the rerun
// moves them without fetching them again.

struct MailboxFetchOptions {
    std::string mailbox;  // "user@host:port/folder": the store's key and the logs' name
    std::string folder = "INBOX";
    std::string archive = "Archive";
    std::string invalid = "Invalid";
    bool move = true;  // false: EXAMINE the folder and rely on the store's memory
    std::size_t batch_messages = 50;
    std::uint64_t batch_bytes = 64ull << 20;
};

struct FetchOutcome {
    std::uint64_t messages_seen = 0;      // fetched and ingested in this run
    std::uint64_t messages_moved = 0;     // moved to the archive or invalid folder
    std::uint64_t messages_archived = 0;  // of those seen: held a report
    std::uint64_t messages_invalid = 0;   // of those seen: held none, or were refused
    std::uint64_t messages_skipped = 0;   // remembered from an earlier run (left in place)
    std::uint64_t reconnects = 0;
};

/// What the fetch loop needs from the world: all of it injected, so that tests drive reconnects
/// and backoff with a fake session and a fake sleep.
struct FetchLoop {
    std::function<Result<std::unique_ptr<mail::imap::Session>>()> connect;
    std::function<bool()> stop;                               // asked between messages and waits
    std::function<void(std::chrono::milliseconds)> sleep;     // returns early once stop() is true
    std::function<Timestamp()> now;
    std::function<void(std::string_view)> log;                // one line, no trailing newline
    bool watch = false;
    std::chrono::milliseconds poll_interval{60'000};  // IDLE restart, or NOOP poll without IDLE
    std::chrono::milliseconds backoff_first{1'000};
    std::chrono::milliseconds backoff_max{60'000};
    int attempts = 4;  // without watch: connections tried in a row before giving up
};

/// Reads one mailbox into the ingester's store, once or (watch) until stop() says so.
class MailboxFetcher {
public:
    MailboxFetcher(Ingester& ingester, const IngestLimits& limits, MailboxFetchOptions options,
                   FetchLoop loop);

    /// Connects (again after network failures, with exponential backoff up to backoff_max) and
    /// runs passes over the folder: one without watch, then waits for news and runs another
    /// until stop(). Returns an error for failures retrying cannot fix (login refused, the
    /// certificate, a folder that cannot be opened, the server refusing a move, the store
    /// failing) and, without watch, for network failures `attempts` times in a row. Call
    /// Ingester::finish() afterwards either way.
    [[nodiscard]] Result<void> run();

    /// One pass over the folder on an open session: fetch what is new, remember, flush, move.
    [[nodiscard]] Result<void> pass(mail::imap::Session& session);

    [[nodiscard]] const FetchOutcome& outcome() const noexcept { return outcome_; }

private:
    struct Done {
        std::uint32_t uid = 0;
        store::MailOutcome outcome = store::MailOutcome::report;
        std::string reason;
        bool fresh = true;  // processed now (false: remembered from before, only to be moved)
    };
    Result<void> process(mail::imap::Session& session, std::uint32_t uid, std::uint64_t size,
                         std::vector<Done>& batch);
    Result<void> commit(mail::imap::Session* session, std::vector<Done>& batch);
    void log(std::string_view line) const;

    Ingester& ingester_;
    IngestLimits limits_;
    MailboxFetchOptions options_;
    FetchLoop loop_;
    FetchOutcome outcome_;
    std::uint32_t uidvalidity_ = 0;
    std::uint32_t next_uid_ = 1;  // without move: UIDs below were looked at in this run
    std::unordered_map<std::uint32_t, store::MailOutcome> seen_;
    bool folders_ready_ = false;
    bool fatal_ = false;  // the last error is not worth a reconnect
};

}  // namespace rampart::service

// The ingest pipeline. Unpacking and parsing run on the caller's thread; every store call runs
// on one worker thread, fed through a bounded queue. The two halves cost about the same CPU
// (expat, zlib and hashing on one side; SQLite and the WAL writes on the other), so on two cores
// the wall time is close to the larger half instead of their sum.
//
// Order is kept: the worker sees each report's header, records and commit (or abort) in the
// order the parser produced them, so de-duplication and the all-or-nothing rule are exactly
// those of a synchronous ingest. The price is that a duplicate is parsed in full before the
// worker finds it is one and discards it.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include <fmt/format.h>

#include "report/report.hpp"
#include "service/service.hpp"
#include "service/sha256.hpp"
#include "unpack/unpack.hpp"

namespace rampart::service {
namespace {

/// A stream's own failure (a truncated gzip under the XML) knows no location: it is the report's.
Error located(Error e, const Location& where) {
    if (e.where.source.empty()) e.where.source = where.source;
    return e;
}

struct Begin {
    report::AggregateHeader header;
    store::Provenance provenance;
};
struct Records {
    std::vector<report::Record> records;
};
struct Commit {
    store::ReportTotals totals;
};
struct Abort {};
struct Failure {
    report::FailureReport report;
    std::string sha256;
    store::Provenance provenance;
};
struct Flush {
    std::promise<Result<void>>* done;
};
/// A caller's own store work (mailbox memory), run in queue order between reports.
struct Task {
    const std::function<Result<void>(store::Store&)>* run;
    std::promise<Result<void>>* done;
};
using Work = std::variant<Begin, Records, Commit, Abort, Failure, Flush, Task>;

/// Owns the store while the ingest runs: applies the work items in order on its own thread.
class StoreWorker {
public:
    explicit StoreWorker(store::Store& store) : store_(store), thread_([this] { loop(); }) {}
    ~StoreWorker() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        thread_.join();
    }
    StoreWorker(const StoreWorker&) = delete;
    StoreWorker& operator=(const StoreWorker&) = delete;

    void push(Work work) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [this] { return queue_.size() < max_queue; });
        queue_.push_back(std::move(work));
        lock.unlock();
        ready_.notify_one();
    }

    /// Waits until everything queued so far is applied, then flushes the store.
    Result<void> flush() {
        std::promise<Result<void>> done;
        auto result = done.get_future();
        push(Flush{&done});
        return result.get();
    }

    /// Waits until everything queued so far is applied, then runs `task` on the worker.
    Result<void> run(const std::function<Result<void>(store::Store&)>& task) {
        std::promise<Result<void>> done;
        auto result = done.get_future();
        push(Task{&task, &done});
        return result.get();
    }

    /// The first store failure, if any; later work is dropped once one happened.
    bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
    Error failure() const {
        std::lock_guard lock(mutex_);
        return *fatal_;
    }

    /// Counters the worker owns; read them after flush().
    std::uint64_t reports_new = 0, reports_duplicate = 0, records = 0, messages = 0;
    std::uint64_t failure_reports_new = 0, failure_reports_duplicate = 0;

private:
    // Small batches of records keep the queue's memory bounded while amortising the locking.
    static constexpr std::size_t max_queue = 64;

    void loop() {
        for (;;) {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            Work work = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            room_.notify_one();
            std::visit([this](auto& w) { apply(w); }, work);
        }
    }

    void apply(Begin& b) {
        if (failed()) return;
        auto begun = store_.begin_aggregate(b.header, b.provenance);
        if (!begun) return fatal(std::move(begun.error()));
        duplicate_ = begun->duplicate();
        writer_ = std::move(begun->writer);
    }
    void apply(Records& r) {
        if (failed() || !writer_) return;
        for (const auto& record : r.records)
            if (auto e = writer_->add(record); !e) return fatal(std::move(e.error()));
    }
    void apply(Commit& c) {
        if (failed()) return;
        if (duplicate_) {
            ++reports_duplicate;
            duplicate_ = false;
            return;
        }
        if (!writer_) return;
        auto r = writer_->commit(c.totals);
        writer_.reset();
        if (!r) return fatal(std::move(r.error()));
        ++reports_new;
        records += c.totals.records;
        messages += c.totals.messages;
    }
    void apply(Abort&) {
        writer_.reset();  // rolls the partial report back
        duplicate_ = false;
    }
    void apply(Failure& f) {
        if (failed()) return;
        auto stored = store_.add_failure_report(f.report, f.sha256, f.provenance);
        if (!stored) return fatal(std::move(stored.error()));
        ++(*stored ? failure_reports_new : failure_reports_duplicate);
    }
    void apply(Flush& f) {
        if (failed()) {
            f.done->set_value(std::unexpected(failure()));
            return;
        }
        auto r = store_.flush();
        if (!r) fatal(r.error());
        f.done->set_value(std::move(r));
    }
    void apply(Task& t) {
        if (failed()) {
            t.done->set_value(std::unexpected(failure()));
            return;
        }
        t.done->set_value((*t.run)(store_));
    }

    void fatal(Error e) {
        writer_.reset();
        std::lock_guard lock(mutex_);
        if (!fatal_) fatal_ = std::move(e);
        failed_.store(true, std::memory_order_release);
    }

    store::Store& store_;
    std::unique_ptr<store::AggregateWriter> writer_;
    bool duplicate_ = false;
    mutable std::mutex mutex_;
    std::condition_variable ready_, room_;
    std::deque<Work> queue_;
    bool stopping_ = false;
    std::atomic<bool> failed_{false};
    std::optional<Error> fatal_;
    std::thread thread_;
};

/// Streams a parsed report to the worker in batches.
class QueueSink final : public report::AggregateSink {
public:
    QueueSink(StoreWorker& worker, store::Provenance provenance)
        : worker_(worker), provenance_(std::move(provenance)) {}

    Result<void> on_header(const report::AggregateHeader& header) override {
        if (worker_.failed()) return std::unexpected(worker_.failure());
        worker_.push(Begin{header, provenance_});
        begun = true;
        batch_.reserve(batch_size);
        return {};
    }
    Result<void> on_record(const report::Record& record) override {
        batch_.push_back(record);
        if (batch_.size() == batch_size) {
            if (worker_.failed()) return std::unexpected(worker_.failure());
            send_batch();
        }
        return {};
    }
    void send_batch() {
        if (batch_.empty()) return;
        worker_.push(Records{std::move(batch_)});
        batch_ = {};
        batch_.reserve(batch_size);
    }

    bool begun = false;

private:
    static constexpr std::size_t batch_size = 256;
    StoreWorker& worker_;
    store::Provenance provenance_;
    std::vector<report::Record> batch_;
};

}  // namespace

class Ingester::Impl final : public unpack::Visitor {
public:
    Impl(store::Store& store, const IngestLimits& limits, Timestamp now, IngestOutcome& outcome)
        : worker_(store), limits_(limits), now_(now), outcome_(outcome) {}

    void on_aggregate(ByteSource& xml, const Location& where) override {
        if (worker_.failed()) return;
        HashingSource hashed(xml);
        QueueSink sink(worker_, store::Provenance{where.source, now_});
        auto totals = report::parse_aggregate(hashed, where, limits_, sink);
        if (!totals) {
            if (sink.begun) worker_.push(Abort{});
            if (!worker_.failed()) on_rejected(located(totals.error(), where));
            return;
        }
        sink.send_batch();
        worker_.push(Commit{store::ReportTotals{hashed.hex_digest(), totals->records,
                                                totals->messages, std::move(totals->diagnostics)}});
        ++handed_reports;
    }

    void on_failure_report(std::span<const std::byte> message, const Location& where) override {
        if (worker_.failed()) return;
        auto parsed = report::parse_failure_report(message, where, limits_);
        if (!parsed) return on_rejected(located(parsed.error(), where));
        worker_.push(Failure{std::move(*parsed), Sha256::of(message),
                             store::Provenance{where.source, now_}});
        ++handed_failures;
    }

    void on_rejected(const Error& error) override {
        Error inner = error;
        std::string path = inner.where.source;
        inner.where.source.clear();
        outcome_.rejected.push_back({path, inner.describe()});
    }

    void on_message(const Location&) override { ++outcome_.emails; }

    std::optional<Error> failure() const {
        if (worker_.failed()) return worker_.failure();
        return std::nullopt;
    }

    Result<void> run_on_store(const std::function<Result<void>(store::Store&)>& task) {
        return worker_.run(task);
    }

    /// Reports and failure reports parsed whole and handed to the store (stored or duplicate).
    std::uint64_t handed_reports = 0, handed_failures = 0;

    Result<void> finish() {
        auto r = worker_.flush();
        outcome_.reports_new = worker_.reports_new;
        outcome_.reports_duplicate = worker_.reports_duplicate;
        outcome_.records = worker_.records;
        outcome_.messages = worker_.messages;
        outcome_.failure_reports_new = worker_.failure_reports_new;
        outcome_.failure_reports_duplicate = worker_.failure_reports_duplicate;
        return r;
    }

private:
    StoreWorker worker_;
    const IngestLimits& limits_;
    Timestamp now_;
    IngestOutcome& outcome_;
};

Ingester::Ingester(store::Store& store, const IngestLimits& limits, Timestamp now)
    : limits_(limits), impl_(std::make_unique<Impl>(store, limits_, now, outcome_)) {}

Ingester::~Ingester() = default;

Result<void> Ingester::ingest(ByteSource& input, const Location& where) {
    ++outcome_.inputs;
    unpack::unpack(input, where, limits_, *impl_);
    if (auto f = impl_->failure()) return std::unexpected(std::move(*f));
    return {};
}

Result<void> Ingester::finish() { return impl_->finish(); }

void Ingester::reject(const Error& error) { impl_->on_rejected(error); }

Result<InputOutcome> Ingester::ingest_message(std::span<const std::byte> bytes,
                                              const Location& where) {
    auto reports = impl_->handed_reports, failures = impl_->handed_failures;
    auto refusals = outcome_.rejected.size();
    ++outcome_.inputs;
    unpack::unpack(bytes, where, limits_, *impl_);
    if (auto f = impl_->failure()) return std::unexpected(std::move(*f));
    InputOutcome in;
    in.reports = impl_->handed_reports - reports;
    in.failure_reports = impl_->handed_failures - failures;
    in.rejected.assign(outcome_.rejected.begin() + static_cast<std::ptrdiff_t>(refusals),
                       outcome_.rejected.end());
    return in;
}

Result<void> Ingester::flush() { return impl_->finish(); }

Result<void> Ingester::with_store(const std::function<Result<void>(store::Store&)>& task) {
    return impl_->run_on_store(task);
}

}  // namespace rampart::service

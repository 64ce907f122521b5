// service: the use cases every surface shares. Today: ingesting report inputs into a store and
// summarising what is stored.
//
// The ingest path for each report is bound → unpack → parse → validate → store in one
// transaction; a refused input is recorded with its location and reason and the run goes on.
// Trust: inputs are hostile (see unpack and report); nothing of a refused report is stored.
// Errors: per-input refusals are collected in IngestOutcome::rejected; a store failure that is not
// about one report (disk full, database locked) stops the run and is returned as the error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "store/store.hpp"

namespace rampart::service {

struct Rejection {
    std::string path;    // the location, outermost container first
    std::string reason;  // one sentence
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

    /// Refusals are listed as they happen; the store's counts are final after finish().
    [[nodiscard]] const IngestOutcome& outcome() const noexcept { return outcome_; }

private:
    class Impl;
    IngestLimits limits_;
    IngestOutcome outcome_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::service

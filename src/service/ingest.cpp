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

/// Streams parsed records into a store transaction. A duplicate stops the parse at the header,
/// so a re-sent report costs one index look-up, not a parse.
class StoreSink final : public report::AggregateSink {
public:
    StoreSink(store::Store& store, store::Provenance provenance)
        : store_(store), provenance_(std::move(provenance)) {}

    Result<void> on_header(const report::AggregateHeader& header) override {
        auto begun = store_.begin_aggregate(header, provenance_);
        if (!begun) return store_failure(std::move(begun.error()));
        if (begun->duplicate()) {
            duplicate = true;
            return fail(Errc::conflict, "the report is already stored");
        }
        writer = std::move(begun->writer);
        return {};
    }
    Result<void> on_record(const report::Record& record) override {
        if (auto r = writer->add(record); !r) return store_failure(std::move(r.error()));
        return {};
    }

    bool duplicate = false;
    std::optional<Error> store_error;
    std::unique_ptr<store::AggregateWriter> writer;

private:
    std::unexpected<Error> store_failure(Error e) {
        store_error = e;
        return std::unexpected(std::move(e));
    }
    store::Store& store_;
    store::Provenance provenance_;
};

}  // namespace

class Ingester::Impl final : public unpack::Visitor {
public:
    Impl(store::Store& store, const IngestLimits& limits, Timestamp now, IngestOutcome& outcome)
        : store_(store), limits_(limits), now_(now), outcome_(outcome) {}

    void on_aggregate(ByteSource& xml, const Location& where) override {
        if (fatal) return;
        HashingSource hashed(xml);
        StoreSink sink(store_, store::Provenance{where.source, now_});
        auto totals = report::parse_aggregate(hashed, where, limits_, sink);
        if (!totals) {
            sink.writer.reset();  // rolls the partial report back
            if (sink.store_error) fatal = std::move(sink.store_error);
            else if (sink.duplicate) ++outcome_.reports_duplicate;
            else on_rejected(located(totals.error(), where));
            return;
        }
        store::ReportTotals t{hashed.hex_digest(), totals->records, totals->messages,
                              std::move(totals->diagnostics)};
        if (auto r = sink.writer->commit(t); !r) {
            fatal = std::move(r.error());
            return;
        }
        ++outcome_.reports_new;
        outcome_.records += totals->records;
        outcome_.messages += totals->messages;
    }

    void on_failure_report(std::span<const std::byte> message, const Location& where) override {
        if (fatal) return;
        auto parsed = report::parse_failure_report(message, where, limits_);
        if (!parsed) return on_rejected(located(parsed.error(), where));
        auto stored = store_.add_failure_report(*parsed, Sha256::of(message),
                                                store::Provenance{where.source, now_});
        if (!stored) {
            fatal = std::move(stored.error());
            return;
        }
        ++(*stored ? outcome_.failure_reports_new : outcome_.failure_reports_duplicate);
    }

    void on_rejected(const Error& error) override {
        if (fatal) return;
        Error inner = error;
        std::string path = inner.where.source;
        inner.where.source.clear();
        outcome_.rejected.push_back({path, inner.describe()});
    }

    void on_message(const Location&) override { ++outcome_.emails; }

    Result<void> flush() {
        if (fatal) return std::unexpected(*fatal);
        return store_.flush();
    }

    std::optional<Error> fatal;

private:
    store::Store& store_;
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
    if (impl_->fatal) return std::unexpected(*impl_->fatal);
    return {};
}

Result<void> Ingester::finish() { return impl_->flush(); }

void Ingester::reject(const Error& error) { impl_->on_rejected(error); }

}  // namespace rampart::service

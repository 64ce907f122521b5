// store: where reports live once ingested, behind one interface (SQLite now, PostgreSQL later).
//
// Contract every backend keeps:
// - A report is stored whole or not at all: a writer that is destroyed without commit() leaves
//   no trace, and a process killed mid-report leaves none either.
// - Aggregate reports are identified by (org_name, report_id, policy domain): the same report
//   arriving again in any container is a duplicate. Failure reports are identified by the
//   Message-ID of the report e-mail, else by the hash of its bytes.
// - Schema changes are numbered migrations applied in order at open.
// Errors: Errc::io for database failures, Errc::transient when the database is busy beyond the
// timeout, Errc::unsupported for a database written by a newer Rampart.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "report/report.hpp"

namespace rampart::store {

/// Where a report came from and when it was stored.
struct Provenance {
    std::string source;  // the Location::source text of the report
    Timestamp ingested_at{};
};

/// Filled in as the records stream past, written with the report at commit.
struct ReportTotals {
    std::string content_sha256;  // of the report's XML bytes
    std::uint64_t records = 0;
    std::uint64_t messages = 0;
    std::vector<report::Diagnostic> diagnostics;
};

/// One aggregate report being written. Destroying it without commit() rolls it back.
class AggregateWriter {
public:
    virtual ~AggregateWriter() = default;
    [[nodiscard]] virtual Result<void> add(const report::Record& record) = 0;
    [[nodiscard]] virtual Result<void> commit(const ReportTotals& totals) = 0;
};

struct BeginOutcome {
    std::unique_ptr<AggregateWriter> writer;  // null when the report is a duplicate
    [[nodiscard]] bool duplicate() const noexcept { return writer == nullptr; }
};

struct SummaryQuery {
    std::optional<std::string> domain;
    std::optional<Timestamp> since;  // reports whose period begins at or after
    std::optional<Timestamp> until;  // reports whose period begins before
    std::size_t top_sources = 5;
};

struct ReporterSummary {
    std::string org_name;
    std::uint64_t reports = 0;
    std::uint64_t messages = 0;
};

struct SourceSummary {
    std::string source_ip;
    std::uint64_t messages = 0;
    std::uint64_t dmarc_pass = 0;
};

struct DomainSummary {
    std::string domain;
    std::uint64_t reports = 0;
    std::uint64_t records = 0;
    std::uint64_t messages = 0;
    std::uint64_t dmarc_pass = 0;
    std::uint64_t dmarc_fail = 0;
    std::uint64_t spf_aligned = 0;   // messages whose policy_evaluated spf is pass
    std::uint64_t dkim_aligned = 0;  // messages whose policy_evaluated dkim is pass
    std::uint64_t failure_reports = 0;
    std::optional<Timestamp> first_begin, last_end;
    std::vector<ReporterSummary> reporters;
    std::vector<SourceSummary> top_sources;
};

/// What became of one e-mail message read from a mailbox (IMAP), remembered so that a later
/// fetch neither downloads nor counts it again. UIDs mean something only together with the
/// folder's UIDVALIDITY (RFC 9051 §2.3.1.1): when that changes, the old rows no longer apply and
/// report identity alone keeps the counts right.
enum class MailOutcome : std::uint8_t {
    report,   // held at least one report (new or duplicate): filed to the archive folder
    invalid,  // held none, or was refused: filed to the invalid folder
};
[[nodiscard]] inline std::string_view to_string(MailOutcome outcome) noexcept {
    return outcome == MailOutcome::report ? "report" : "invalid";
}

struct MailboxMessage {
    std::string mailbox;  // "user@host:port/folder": never a password
    std::uint32_t uidvalidity = 0;
    std::uint32_t uid = 0;
    MailOutcome outcome = MailOutcome::report;
    std::string reason;  // why it is invalid; empty for reports
    Timestamp seen_at{};
};

struct SeenMessage {
    std::uint32_t uid = 0;
    MailOutcome outcome = MailOutcome::report;
};

struct StoreTotals {
    std::uint64_t reports = 0;
    std::uint64_t records = 0;
    std::uint64_t messages = 0;
    std::uint64_t failure_reports = 0;
};

class Store {
public:
    virtual ~Store() = default;

    /// Starts writing a report, or says it is a duplicate of one already stored.
    [[nodiscard]] virtual Result<BeginOutcome> begin_aggregate(
        const report::AggregateHeader& header, const Provenance& provenance) = 0;

    /// Stores a failure report; returns false when it was already stored.
    [[nodiscard]] virtual Result<bool> add_failure_report(const report::FailureReport& report,
                                                          std::string_view content_sha256,
                                                          const Provenance& provenance) = 0;

    [[nodiscard]] virtual Result<std::vector<DomainSummary>> summarize(
        const SummaryQuery& query) = 0;

    [[nodiscard]] virtual Result<StoreTotals> totals() = 0;

    /// Makes every committed report durable. A backend may group several committed reports
    /// into one database transaction for speed (each report still all-or-nothing inside it);
    /// until flush() a crash may lose whole reports, never parts of one, and a rerun stores them.
    [[nodiscard]] virtual Result<void> flush() = 0;

    /// Remembers a mailbox message as processed (replacing an earlier row for the same UID).
    /// Written with the reports around it and durable at the same flush().
    [[nodiscard]] virtual Result<void> remember_message(const MailboxMessage& message) = 0;

    /// The messages remembered for `mailbox` under `uidvalidity`, in UID order.
    [[nodiscard]] virtual Result<std::vector<SeenMessage>> seen_messages(
        std::string_view mailbox, std::uint32_t uidvalidity) = 0;
};

}  // namespace rampart::store

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

#include <chrono>
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

// ---- The sender analysis's view: daily roll-ups maintained at ingest --------------------------
//
// Each committed aggregate report adds its records to a roll-up keyed by (policy domain, UTC day
// of the report's begin time, source IP, header_from, authentication facts), summing message
// counts; rows that differ only by reporter or report merge. The analysis reads the roll-up, never
// the raw records, which is what keeps "10 million rows over 30 days" a matter of seconds.

/// One DKIM signature as a receiver reported it (auth_results/dkim).
struct DkimFact {
    std::string domain;    // d=, lower-cased
    std::string selector;  // lower-cased, "" when the reporter left it out
    report::AuthVerdict result = report::AuthVerdict::none;
    auto operator<=>(const DkimFact&) const = default;
};

/// Traffic from one source with one set of authentication facts, summed over the days it covers.
struct SourceFacts {
    std::string policy_domain;  // the report's policy_published domain
    std::string header_from;    // lower-cased
    std::string source_ip;      // canonical text
    std::string envelope_from;  // MAIL FROM domain, lower-cased; "" unknown or null reverse-path
    std::string spf_domain;     // the first SPF result's domain (mfrom preferred), lower-cased
    report::AuthVerdict spf_result = report::AuthVerdict::none;  // raw SPF authentication
    std::vector<DkimFact> dkim;  // sorted, duplicates removed
    report::DmarcVerdict dmarc_dkim = report::DmarcVerdict::unknown;  // policy_evaluated dkim
    report::DmarcVerdict dmarc_spf = report::DmarcVerdict::unknown;   // policy_evaluated spf
    report::Disposition disposition = report::Disposition::unknown;
    std::vector<report::OverrideType> overrides;  // sorted, duplicates removed
    bool arc_pass = false;  // an override comment said arc=pass (Google, Microsoft)
    std::uint64_t messages = 0;
    std::chrono::sys_days first_day{}, last_day{};  // equal when the query is by day

    [[nodiscard]] bool dmarc_pass() const noexcept {
        return dmarc_dkim == report::DmarcVerdict::pass || dmarc_spf == report::DmarcVerdict::pass;
    }
};

/// The facts of one record (everything but the message count and the days): the From domain
/// (the policy domain when a reporter left it empty), the MAIL FROM domain, the SPF result that
/// DMARC aligns (mfrom first), the DKIM results sorted, the overrides, arc=pass in a comment.
[[nodiscard]] SourceFacts facts_of(const report::Record& record, std::string_view policy_domain);

struct FactsQuery {
    std::optional<std::string> domain;     // policy domain OR header_from equal to it
    std::optional<std::string> source_ip;  // canonical text
    std::optional<Timestamp> since;        // days at or after since's day
    std::optional<Timestamp> until;        // days before until's day (exclusive)
    bool by_day = false;                   // one row per day instead of summed over the window
};

/// A DKIM selector seen in reports for a domain (what `rampart check` audits).
struct SelectorUse {
    std::string dkim_domain;
    std::string selector;
    std::uint64_t pass = 0, fail = 0, other = 0;  // messages by reported result
    std::chrono::sys_days first_day{}, last_day{};
    std::optional<std::chrono::sys_days> last_pass_day;  // the last day it passed
};

/// What Rampart learned about a source address, cached with an expiry.
struct SourceIdentity {
    std::string ip;                   // canonical text
    std::optional<std::string> ptr;   // the reverse-DNS name (first PTR), lower-cased
    bool forward_confirmed = false;   // the PTR name resolves back to ip
    std::string provider;             // catalogue id, "" none
    std::string basis;                // how the provider was matched: "ip-range", "spf", "ptr", "dkim"
    bool dns_failed = false;          // look-ups failed (timeout/servfail): retry sooner
    Timestamp resolved_at{};
    Timestamp expires_at{};
};

/// A provider's published sending ranges (flattened from its SPF includes), cached.
struct ProviderNetworks {
    std::string provider;
    std::vector<Network> networks;
    Timestamp resolved_at{};
    Timestamp expires_at{};
};

struct ReportQuery {
    std::optional<std::string> domain;  // policy domain
    std::optional<Timestamp> since;     // period begins at or after
    std::optional<Timestamp> until;     // period begins before
};

/// A stored report handed back: its provenance, then the same header and records the parser
/// produced (order of records as stored).
class ReplaySink {
public:
    virtual ~ReplaySink() = default;
    [[nodiscard]] virtual Result<void> on_report(const report::AggregateHeader& header,
                                                 const Provenance& provenance) = 0;
    [[nodiscard]] virtual Result<void> on_record(const report::Record& record) = 0;
    [[nodiscard]] virtual Result<void> on_report_end() = 0;
};

// ---- rollout -----------------------------------------------------------------------------

/// Where one domain stands in its rollout: one row per domain, replaced at each change.
struct RolloutState {
    std::string domain;
    std::string client;
    std::string plan;
    std::string step;              // the step's name in the plan
    std::string record;            // the exact TXT value that should be live at this step
    std::string previous_record;   // what was live before (for rollback and the outbox)
    /// When the step's record was seen live: the step counts as entered from then on. Unset
    /// while the change waits to be published.
    std::optional<Timestamp> entered_at;
    Timestamp decided_at{};        // when the step was chosen
    std::string state;             // monitoring, advancing, holding, rolled_back, done
    std::string reason;            // the last judgement, one sentence
    bool held = false;             // held by hand (`rampart hold`)
    std::string hold_reason;
    Timestamp updated_at{};
    friend bool operator==(const RolloutState&, const RolloutState&) = default;
};

/// One change in a domain's rollout. Appended, never rewritten.
struct RolloutEvent {
    std::int64_t id = 0;           // assigned by the store
    std::string domain;
    Timestamp at{};
    std::string actor;             // "rampart advance", "operator", ...
    std::string action;            // enrol, advance, hold, resume, roll_back, set, publish, live
    std::string from_step, to_step;
    std::string old_record, new_record;
    std::string reason;
    std::string evidence;          // JSON: the gates and figures the decision used
};

// ---- publishing -------------------------------------------------------------------------

/// One entry of the DNS change audit log. A change is a sequence of entries sharing
/// `change_id`: an `intent` written before anything is sent (so a run killed mid-change finds
/// it), then what happened: sent, verified, conflict, refused, failed, rolled_back, queued,
/// dry_run, resolved (the next run found out what was live). Appended, never rewritten.
struct PublishEvent {
    std::int64_t id = 0;           // assigned by the store
    std::string change_id;         // "<domain>/<unix seconds>/<random>"
    std::string domain;            // the domain whose configuration chose the publisher
    std::string name;              // the owner name changed ("_dmarc.acme.example")
    Timestamp at{};
    std::string actor;             // "rampart advance", "rampart publish", "rampart dkim rotate"
    std::string publisher;         // "rfc2136", "manual"
    std::string stage;             // intent, sent, verified, conflict, refused, failed, ...
    std::string old_record, new_record;  // "" for none
    std::string reason;            // why the change is made, one sentence
    std::string detail;            // what happened, one sentence
    std::string evidence;          // JSON: server answers, RCODEs, lint findings
};

/// One DKIM key rotation of a domain: where it stands. One row per rotation, replaced at each
/// stage; every stage change also goes to the publish log or the rollout history.
struct DkimRotation {
    std::string domain;
    std::string id;                // "<domain>/<new selector>"
    std::string stage;             // see rotation/rotation.hpp
    std::string old_selector;      // "" when the domain had no key Rampart knew of
    std::string new_selector;
    std::string old_record, new_record;  // the key records' TXT text
    std::uint32_t old_ttl = 0;     // the old key record's TTL when the rotation began
    std::string key_file;          // the new private key's path (mode 0600)
    std::string old_key_file;
    Timestamp started_at{};
    Timestamp stage_since{};       // when the current stage began
    Timestamp next_at{};           // the earliest moment the next stage may run
    std::string detail;            // the last thing that happened, one sentence
    bool finished = false;         // done or abandoned
    friend bool operator==(const DkimRotation&, const DkimRotation&) = default;
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

    // ---- sender analysis -------------------------------------------------------------------
    // Every backend that stores reports implements these; the defaults (Errc::unsupported) are
    // for test doubles that only play the ingest side.

    /// Roll-up rows matching the query, largest message counts first.
    [[nodiscard]] virtual Result<std::vector<SourceFacts>> source_facts(const FactsQuery& /*query*/) {
        return unsupported();
    }

    /// Every DKIM selector reported for `domain` (policy domain or header_from), most messages
    /// first; `since` bounds the days looked at when given.
    [[nodiscard]] virtual Result<std::vector<SelectorUse>> selectors_seen(
        std::string_view /*domain*/, std::optional<Timestamp> /*since*/) {
        return unsupported();
    }

    /// The first day each source was seen for `domain`, over all stored data.
    [[nodiscard]] virtual Result<std::vector<std::pair<std::string, std::chrono::sys_days>>>
    first_seen(std::string_view /*domain*/) {
        return unsupported();
    }

    /// The cached identity of `ip` (expired entries too: the caller decides; offline analysis
    /// uses them), or nullopt.
    [[nodiscard]] virtual Result<std::optional<SourceIdentity>> identity(std::string_view /*ip*/) {
        return unsupported();
    }
    /// Stores (replacing) the identity of identity.ip.
    [[nodiscard]] virtual Result<void> put_identity(const SourceIdentity& /*identity*/) {
        return unsupported();
    }

    /// The cached ranges of `provider` (a catalogue id, or "spf:<include name>"), or nullopt.
    [[nodiscard]] virtual Result<std::optional<ProviderNetworks>> provider_networks(
        std::string_view /*provider*/) {
        return unsupported();
    }
    [[nodiscard]] virtual Result<void> put_provider_networks(const ProviderNetworks& /*networks*/) {
        return unsupported();
    }

    /// Hands every stored aggregate report matching the query to `sink`, oldest period first.
    [[nodiscard]] virtual Result<void> replay_aggregates(const ReportQuery& /*query*/,
                                                         ReplaySink& /*sink*/) {
        return unsupported();
    }

    // ---- rollout ---------------------------------------------------------------------------

    [[nodiscard]] virtual Result<std::optional<RolloutState>> rollout_state(std::string_view /*domain*/) {
        return unsupported();
    }
    /// Every domain's state, by domain name.
    [[nodiscard]] virtual Result<std::vector<RolloutState>> rollout_states() { return unsupported(); }
    /// Replaces the domain's state and appends `event` to its history, in one transaction,
    /// durable when this returns. event.id is ignored (the store numbers events).
    [[nodiscard]] virtual Result<void> record_rollout(const RolloutState& /*state*/,
                                                      const RolloutEvent& /*event*/) {
        return unsupported();
    }
    /// The domain's history, oldest first.
    [[nodiscard]] virtual Result<std::vector<RolloutEvent>> rollout_history(std::string_view /*domain*/) {
        return unsupported();
    }

    // ---- publishing --------------------------------------------------------------------------

    /// Appends one audit-log entry, durable when this returns. event.id is ignored.
    [[nodiscard]] virtual Result<void> append_publish_event(const PublishEvent& /*event*/) {
        return unsupported();
    }
    /// The audit log of `domain` (every entry whose domain it is), oldest first.
    [[nodiscard]] virtual Result<std::vector<PublishEvent>> publish_log(std::string_view /*domain*/) {
        return unsupported();
    }
    /// The last entry of each change whose last entry is `intent` or `sent`: changes a run
    /// started and did not finish. Oldest first.
    [[nodiscard]] virtual Result<std::vector<PublishEvent>> unfinished_changes() {
        return unsupported();
    }

    /// The unfinished rotation of `domain`, if any.
    [[nodiscard]] virtual Result<std::optional<DkimRotation>> current_rotation(std::string_view /*domain*/) {
        return unsupported();
    }
    /// Every rotation of `domain`, oldest first (finished ones too).
    [[nodiscard]] virtual Result<std::vector<DkimRotation>> rotations(std::string_view /*domain*/) {
        return unsupported();
    }
    /// Inserts or replaces the rotation (by id), durable when this returns.
    [[nodiscard]] virtual Result<void> put_rotation(const DkimRotation& /*rotation*/) {
        return unsupported();
    }

protected:
    [[nodiscard]] static std::unexpected<Error> unsupported() {
        return fail(Errc::unsupported, "this store keeps no sender analysis");
    }
};

}  // namespace rampart::store

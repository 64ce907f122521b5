#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

namespace rampart::store {
namespace {

// Numbered migrations: never edit a released one, add the next.
// A migration may need a C++ step after its SQL (filling a new table from the old ones); it runs
// in the same transaction, so a failure leaves the database at the previous version.
Result<void> backfill_rollups(sqlite3* db);
struct Migration {
    int version;
    const char* sql;
    Result<void> (*then)(sqlite3* db) = nullptr;
};
constexpr Migration migrations[] = {
    {1, R"sql(
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    org_name TEXT NOT NULL,
    email TEXT NOT NULL,
    extra_contact_info TEXT NOT NULL,
    report_id TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    begin_time INTEGER NOT NULL,
    end_time INTEGER NOT NULL,
    errors TEXT NOT NULL,              -- one per line
    generator TEXT NOT NULL,
    schema TEXT NOT NULL,              -- none, dmarc-0.1, dmarc-0.2, dmarc-2.0, other
    version TEXT NOT NULL,
    adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT, pct INTEGER, fo TEXT NOT NULL,
    testing TEXT, discovery_method TEXT,
    source TEXT NOT NULL,
    content_sha256 TEXT,
    ingested_at INTEGER NOT NULL,
    record_count INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    dmarc_pass INTEGER NOT NULL DEFAULT 0,
    spf_aligned INTEGER NOT NULL DEFAULT 0,
    dkim_aligned INTEGER NOT NULL DEFAULT 0,
    diagnostics TEXT NOT NULL DEFAULT '',
    UNIQUE (org_name, report_id, policy_domain)
);
CREATE INDEX reports_domain ON reports (policy_domain, begin_time);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    report INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    source_ip TEXT NOT NULL,
    count INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    dkim TEXT NOT NULL,
    spf TEXT NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT,
    envelope_to TEXT
);
CREATE INDEX records_report ON records (report);
CREATE TABLE override_reasons (
    record INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    comment TEXT NOT NULL
);
CREATE INDEX override_reasons_record ON override_reasons (record);
CREATE TABLE auth_results (
    record INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    method TEXT NOT NULL,              -- dkim or spf
    domain TEXT NOT NULL,
    selector TEXT,                     -- dkim only
    scope TEXT,                        -- spf only: mfrom, helo or NULL
    result TEXT NOT NULL,
    human_result TEXT NOT NULL
);
CREATE INDEX auth_results_record ON auth_results (record);
CREATE TABLE failure_reports (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    content_sha256 TEXT NOT NULL,
    domain TEXT NOT NULL,
    feedback_type TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    version TEXT NOT NULL,
    auth_failure TEXT NOT NULL,
    identity_alignment TEXT NOT NULL,
    delivery_result TEXT NOT NULL,
    reported_domains TEXT NOT NULL,    -- one per line
    source_ip TEXT,
    arrival_date INTEGER,
    original_mail_from TEXT NOT NULL,
    original_rcpt_to TEXT NOT NULL,    -- one per line
    original_envelope_id TEXT NOT NULL,
    reporting_mta TEXT NOT NULL,
    authentication_results TEXT NOT NULL,  -- one per line
    dkim_domain TEXT NOT NULL,
    dkim_identity TEXT NOT NULL,
    dkim_selector TEXT NOT NULL,
    spf_dns TEXT NOT NULL,
    incidents INTEGER NOT NULL,
    original_from TEXT NOT NULL,
    original_subject TEXT NOT NULL,
    original_message_id TEXT NOT NULL,
    report_message_id TEXT NOT NULL,
    original_headers TEXT NOT NULL,
    source TEXT NOT NULL,
    ingested_at INTEGER NOT NULL
);
CREATE INDEX failure_reports_domain ON failure_reports (domain, arrival_date);
)sql"},
    // Mailbox messages already processed (rampart fetch): what lets --no-move skip them, and a
    // fetch cut off between storing and moving finish the move without downloading them again.
    {2, R"sql(
CREATE TABLE mailbox_messages (
    mailbox TEXT NOT NULL,             -- user@host:port/folder, never a password
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    outcome TEXT NOT NULL,             -- report or invalid
    reason TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
) WITHOUT ROWID;
)sql"},
    // The sender analysis reads daily roll-ups kept up to date at ingest instead of the raw
    // records, and caches what it learns about sources and providers.
    {3, R"sql(
-- A rowid table, not WITHOUT ROWID: sources arrive in random order, and an index on a WITHOUT
-- ROWID table carries the whole (long) key, so every insert dirtied a page of a fat source_ip
-- index; with a rowid the two lookup indexes stay a few dozen bytes an entry (measured: the
-- roll-up's share of store time fell by about three quarters).
CREATE TABLE source_days (
    id INTEGER PRIMARY KEY,
    policy_domain TEXT NOT NULL,
    day INTEGER NOT NULL,              -- days since 1970-01-01: the UTC day the report begins
    source_ip TEXT NOT NULL,
    header_from TEXT NOT NULL,         -- lower-cased; the policy domain when a reporter left it empty
    auth TEXT NOT NULL,                -- every other SourceFacts field, see encode_auth()
    messages INTEGER NOT NULL,
    UNIQUE (policy_domain, day, source_ip, header_from, auth)
);
CREATE INDEX source_days_header_from ON source_days (header_from, day);
-- No index on source_ip: sources arrive in random order, so such an index costs a random page
-- write per new roll-up row: the store's share of ingest took 6.2 s instead of 4.2 s for 300,000
-- records from 5,000 random sources (measured); `rampart sources IP`
-- scans the roll-up instead, which is many times smaller than the raw records.
CREATE TABLE selector_days (
    policy_domain TEXT NOT NULL,
    header_from TEXT NOT NULL,
    day INTEGER NOT NULL,
    dkim_domain TEXT NOT NULL,         -- lower-cased
    selector TEXT NOT NULL,            -- lower-cased, '' when not reported
    result TEXT NOT NULL,              -- auth_results/dkim/result
    messages INTEGER NOT NULL,
    PRIMARY KEY (policy_domain, header_from, day, dkim_domain, selector, result)
) WITHOUT ROWID;
CREATE INDEX selector_days_header_from ON selector_days (header_from, day);
CREATE TABLE source_identities (
    ip TEXT PRIMARY KEY,
    ptr TEXT,
    forward_confirmed INTEGER NOT NULL,
    provider TEXT NOT NULL,
    basis TEXT NOT NULL,
    dns_failed INTEGER NOT NULL,
    resolved_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE provider_networks (
    provider TEXT PRIMARY KEY,
    networks TEXT NOT NULL,            -- one CIDR per line
    resolved_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
     backfill_rollups},
    // The rollout: each domain's current step, and a history that is appended to and never
    // rewritten (the triggers refuse UPDATE and DELETE, whatever the code above them does).
    {4, R"sql(
CREATE TABLE rollout_domains (
    domain TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    plan TEXT NOT NULL,
    step TEXT NOT NULL,
    record TEXT NOT NULL,
    previous_record TEXT NOT NULL,
    entered_at INTEGER,                -- NULL while the step's record waits to be published
    decided_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    held INTEGER NOT NULL,
    hold_reason TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE rollout_history (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_step TEXT NOT NULL,
    to_step TEXT NOT NULL,
    old_record TEXT NOT NULL,
    new_record TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL             -- JSON
);
CREATE INDEX rollout_history_domain ON rollout_history (domain, id);
CREATE TRIGGER rollout_history_kept BEFORE UPDATE ON rollout_history
BEGIN SELECT RAISE(ABORT, 'the rollout history is never rewritten'); END;
CREATE TRIGGER rollout_history_not_deleted BEFORE DELETE ON rollout_history
BEGIN SELECT RAISE(ABORT, 'the rollout history is never rewritten'); END;
)sql"},
    // Publishing: the DNS change audit log (appended to, never rewritten, like the rollout
    // history) and the DKIM key rotations (one row per rotation, replaced at each stage).
    {5, R"sql(
CREATE TABLE publish_log (
    id INTEGER PRIMARY KEY,
    change_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    name TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    publisher TEXT NOT NULL,
    stage TEXT NOT NULL,
    old_record TEXT NOT NULL,
    new_record TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    evidence TEXT NOT NULL             -- JSON
);
CREATE INDEX publish_log_domain ON publish_log (domain, id);
CREATE INDEX publish_log_change ON publish_log (change_id, id);
CREATE TRIGGER publish_log_kept BEFORE UPDATE ON publish_log
BEGIN SELECT RAISE(ABORT, 'the publish log is never rewritten'); END;
CREATE TRIGGER publish_log_not_deleted BEFORE DELETE ON publish_log
BEGIN SELECT RAISE(ABORT, 'the publish log is never rewritten'); END;
CREATE TABLE dkim_rotations (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    stage TEXT NOT NULL,
    old_selector TEXT NOT NULL,
    new_selector TEXT NOT NULL,
    old_record TEXT NOT NULL,
    new_record TEXT NOT NULL,
    old_ttl INTEGER NOT NULL,
    key_file TEXT NOT NULL,
    old_key_file TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    stage_since INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    detail TEXT NOT NULL,
    finished INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dkim_rotations_domain ON dkim_rotations (domain, started_at);
)sql"},
};

struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;

std::unexpected<Error> db_error(sqlite3* db, std::string_view what) {
    int code = sqlite3_errcode(db);
    Errc errc = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? Errc::transient : Errc::io;
    return fail(errc, fmt::format("database error while {}: {}", what, sqlite3_errmsg(db)));
}

/// A prepared statement bound by position, reset after each step.
class Stmt {
public:
    Stmt() = default;
    static Result<Stmt> prepare(sqlite3* db, std::string_view sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
            return db_error(db, "preparing a statement");
        Stmt out;
        out.stmt_.reset(s);
        out.db_ = db;
        return out;
    }
    Stmt& text(int i, std::string_view v) {
        sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& opt_text(int i, const std::optional<std::string>& v) {
        if (v) return text(i, *v);
        sqlite3_bind_null(stmt_.get(), i);
        return *this;
    }
    Stmt& null(int i) {
        sqlite3_bind_null(stmt_.get(), i);
        return *this;
    }
    Stmt& integer(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_.get(), i, v);
        return *this;
    }
    /// Runs a statement that returns no rows.
    Result<void> exec(std::string_view what) {
        int rc = sqlite3_step(stmt_.get());
        sqlite3_reset(stmt_.get());
        if (rc != SQLITE_DONE) return db_error(db_, what);
        return {};
    }
    /// Steps once: true with a row, false when done.
    Result<bool> step(std::string_view what) {
        int rc = sqlite3_step(stmt_.get());
        if (rc == SQLITE_ROW) return true;
        sqlite3_reset(stmt_.get());
        if (rc != SQLITE_DONE) return db_error(db_, what);
        return false;
    }
    void reset() { sqlite3_reset(stmt_.get()); }
    std::int64_t col_int(int i) { return sqlite3_column_int64(stmt_.get(), i); }
    bool col_null(int i) { return sqlite3_column_type(stmt_.get(), i) == SQLITE_NULL; }
    std::string col_text(int i) {
        auto* p = sqlite3_column_text(stmt_.get(), i);
        return p ? std::string(reinterpret_cast<const char*>(p),
                               static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), i)))
                 : std::string();
    }

private:
    std::unique_ptr<sqlite3_stmt, StmtDeleter> stmt_;
    sqlite3* db_ = nullptr;
};

Result<void> exec_script(sqlite3* db, const char* sql, std::string_view what) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        return fail(Errc::io, fmt::format("database error while {}: {}", what, msg));
    }
    return {};
}

std::string join_lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += '\n';
        out += s;
    }
    return out;
}

template <class E>
std::optional<std::string> opt_enum(const std::optional<E>& v) {
    if (!v) return std::nullopt;
    return std::string(report::to_string(*v));
}

std::uint64_t u64(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }
std::int64_t i64(std::uint64_t v) {
    return v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
}

// ---- roll-ups -----------------------------------------------------------------------------

template <class E, std::size_t N>
std::optional<E> enum_named(std::string_view name, const E (&all)[N]) {
    for (E e : all)
        if (report::to_string(e) == name) return e;
    return std::nullopt;
}
constexpr report::AuthVerdict all_auth_verdicts[] = {
    report::AuthVerdict::none,      report::AuthVerdict::pass,      report::AuthVerdict::fail,
    report::AuthVerdict::softfail,  report::AuthVerdict::neutral,   report::AuthVerdict::policy,
    report::AuthVerdict::temperror, report::AuthVerdict::permerror, report::AuthVerdict::unknown};
constexpr report::DmarcVerdict all_dmarc_verdicts[] = {
    report::DmarcVerdict::pass, report::DmarcVerdict::fail, report::DmarcVerdict::unknown};
constexpr report::Disposition all_dispositions[] = {
    report::Disposition::none, report::Disposition::pass, report::Disposition::quarantine,
    report::Disposition::reject, report::Disposition::unknown};
constexpr report::OverrideType all_override_types[] = {
    report::OverrideType::forwarded,         report::OverrideType::sampled_out,
    report::OverrideType::trusted_forwarder, report::OverrideType::mailing_list,
    report::OverrideType::local_policy,      report::OverrideType::other,
    report::OverrideType::policy_test_mode,  report::OverrideType::unknown};
constexpr report::Alignment all_alignments[] = {report::Alignment::relaxed,
                                                report::Alignment::strict};
constexpr report::Policy all_policies[] = {report::Policy::none, report::Policy::quarantine,
                                           report::Policy::reject};
constexpr report::DiscoveryMethod all_discovery_methods[] = {report::DiscoveryMethod::psl,
                                                             report::DiscoveryMethod::treewalk};
constexpr report::SpfScope all_spf_scopes[] = {report::SpfScope::mfrom, report::SpfScope::helo};
constexpr report::Schema all_schemas[] = {report::Schema::none, report::Schema::dmarc_0_1,
                                          report::Schema::dmarc_0_2, report::Schema::dmarc_2_0,
                                          report::Schema::other};

// The auth column: every SourceFacts field outside the key, as one canonical text so that equal
// facts are equal keys. Domains and selectors come from strangers and may hold any character, so
// each field is length-prefixed ("<bytes>:<value>|"); the '|' after each value is checked on
// reading, which catches a wrong length instead of silently shifting every later field. The
// leading "1|" is the encoding's version. Enumerations are stored by their report names.
constexpr std::string_view auth_encoding_v1 = "1|";

void put_field(std::string& out, std::string_view value) {
    out += std::to_string(value.size());
    out += ':';
    out += value;
    out += '|';
}

std::string encode_auth(const SourceFacts& f) {
    std::string out(auth_encoding_v1);
    out.reserve(64 + f.envelope_from.size() + f.spf_domain.size());
    put_field(out, f.envelope_from);
    put_field(out, f.spf_domain);
    put_field(out, report::to_string(f.spf_result));
    put_field(out, std::to_string(f.dkim.size()));
    for (const auto& d : f.dkim) {
        put_field(out, d.domain);
        put_field(out, d.selector);
        put_field(out, report::to_string(d.result));
    }
    put_field(out, report::to_string(f.dmarc_dkim));
    put_field(out, report::to_string(f.dmarc_spf));
    put_field(out, report::to_string(f.disposition));
    put_field(out, std::to_string(f.overrides.size()));
    for (auto o : f.overrides) put_field(out, report::to_string(o));
    put_field(out, f.arc_pass ? "1" : "0");
    return out;
}

/// Reads encode_auth()'s fields back in order; any inconsistency makes every later read fail.
class AuthReader {
public:
    explicit AuthReader(std::string_view text) : rest_(text) {
        if (rest_.starts_with(auth_encoding_v1))
            rest_.remove_prefix(auth_encoding_v1.size());
        else
            ok_ = false;
    }
    std::optional<std::string_view> field() {
        if (!ok_) return std::nullopt;
        auto colon = rest_.find(':');
        std::size_t length = 0;
        // A length longer than the text is caught below; nine digits keep the sum from overflowing.
        if (colon == std::string_view::npos || colon == 0 || colon > 9) return broken();
        for (char c : rest_.substr(0, colon)) {
            if (c < '0' || c > '9') return broken();
            length = length * 10 + static_cast<std::size_t>(c - '0');
        }
        if (rest_.size() - colon - 1 < length + 1 || rest_[colon + 1 + length] != '|')
            return broken();
        auto value = rest_.substr(colon + 1, length);
        rest_.remove_prefix(colon + 2 + length);
        return value;
    }
    std::optional<std::size_t> count() {
        auto f = field();
        if (!f || f->empty() || f->size() > 4) return broken();
        std::size_t n = 0;
        for (char c : *f) {
            if (c < '0' || c > '9') return broken();
            n = n * 10 + static_cast<std::size_t>(c - '0');
        }
        return n;
    }
    template <class E, std::size_t N>
    std::optional<E> named(const E (&all)[N]) {
        auto f = field();
        if (!f) return std::nullopt;
        auto e = enum_named(*f, all);
        if (!e) ok_ = false;
        return e;
    }
    [[nodiscard]] bool finished() const noexcept { return ok_ && rest_.empty(); }

private:
    std::nullopt_t broken() {
        ok_ = false;
        return std::nullopt;
    }
    std::string_view rest_;
    bool ok_ = true;
};

/// Fills the auth fields of `f` from the auth column; false when the text is not a valid encoding.
bool decode_auth(std::string_view text, SourceFacts& f) {
    AuthReader in(text);
    auto envelope = in.field();
    auto spf_domain = in.field();
    auto spf_result = in.named(all_auth_verdicts);
    auto dkim_count = in.count();
    if (!envelope || !spf_domain || !spf_result || !dkim_count) return false;
    f.envelope_from = *envelope;
    f.spf_domain = *spf_domain;
    f.spf_result = *spf_result;
    f.dkim.clear();
    for (std::size_t i = 0; i < *dkim_count; ++i) {
        auto domain = in.field();
        auto selector = in.field();
        auto result = in.named(all_auth_verdicts);
        if (!domain || !selector || !result) return false;
        f.dkim.push_back({std::string(*domain), std::string(*selector), *result});
    }
    auto dmarc_dkim = in.named(all_dmarc_verdicts);
    auto dmarc_spf = in.named(all_dmarc_verdicts);
    auto disposition = in.named(all_dispositions);
    auto override_count = in.count();
    if (!dmarc_dkim || !dmarc_spf || !disposition || !override_count) return false;
    f.dmarc_dkim = *dmarc_dkim;
    f.dmarc_spf = *dmarc_spf;
    f.disposition = *disposition;
    f.overrides.clear();
    for (std::size_t i = 0; i < *override_count; ++i) {
        auto type = in.named(all_override_types);
        if (!type) return false;
        f.overrides.push_back(*type);
    }
    auto arc = in.field();
    if (!arc || (*arc != "0" && *arc != "1")) return false;
    f.arc_pass = *arc == "1";
    return in.finished();
}

constexpr std::string_view upsert_source_day_sql =
    "INSERT INTO source_days (policy_domain, day, source_ip, header_from, auth, messages) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (policy_domain, day, source_ip, header_from, "
    "auth) DO UPDATE SET messages = messages + excluded.messages";
constexpr std::string_view upsert_selector_day_sql =
    "INSERT INTO selector_days (policy_domain, header_from, day, dkim_domain, selector, result, "
    "messages) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (policy_domain, header_from, day, "
    "dkim_domain, selector, result) DO UPDATE SET messages = messages + excluded.messages";

/// One report's contribution to the roll-ups, summed in memory while its records stream past
/// and written at commit. A report has one policy domain and one day, so the keys are the
/// distinct (source, header_from, facts): at most one per record (a few hundred bytes each), and
/// far fewer when a reporter splits one source's traffic over many rows. A huge report of
/// distinct sources would hold one key per record, so the writer adds the sums to the tables
/// whenever `max_keys` accumulate (still inside the report's savepoint): memory stays bounded
/// whatever the report's size.
class Rollup {
public:
    static constexpr std::size_t max_keys = 4096;

    [[nodiscard]] std::size_t size() const noexcept { return sources_.size() + selectors_.size(); }
    void clear() noexcept {
        sources_.clear();
        selectors_.clear();
    }

    void add(const report::Record& r, std::string_view policy_domain) {
        auto f = facts_of(r, policy_domain);
        for (const auto& d : f.dkim)
            selectors_[std::tuple(f.header_from, d.domain, d.selector, d.result)] += r.count;
        auto auth = encode_auth(f);
        sources_[std::tuple(std::move(f.source_ip), std::move(f.header_from), std::move(auth))] +=
            r.count;
    }

    /// Adds the sums to the roll-up tables with the two upsert statements above.
    Result<void> write(Stmt& source_day, Stmt& selector_day, std::string_view policy_domain,
                       std::int64_t day) const {
        for (const auto& [key, messages] : sources_) {
            const auto& [ip, header_from, auth] = key;
            source_day.text(1, policy_domain)
                .integer(2, day)
                .text(3, ip)
                .text(4, header_from)
                .text(5, auth)
                .integer(6, i64(messages));
            if (auto r = source_day.exec("adding to the source roll-up"); !r) return r;
        }
        for (const auto& [key, messages] : selectors_) {
            const auto& [header_from, domain, selector, result] = key;
            selector_day.text(1, policy_domain)
                .text(2, header_from)
                .integer(3, day)
                .text(4, domain)
                .text(5, selector)
                .text(6, report::to_string(result))
                .integer(7, i64(messages));
            if (auto r = selector_day.exec("adding to the selector roll-up"); !r) return r;
        }
        return {};
    }

private:
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> sources_;
    std::map<std::tuple<std::string, std::string, std::string, report::AuthVerdict>, std::uint64_t>
        selectors_;
};

std::int64_t day_of(Timestamp t) {
    return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}
Timestamp seconds_at(std::int64_t v) { return Timestamp{std::chrono::seconds{v}}; }
std::chrono::sys_days day_at(std::int64_t v) { return std::chrono::sys_days{std::chrono::days{v}}; }

// ---- reading stored reports back ----------------------------------------------------------

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    if (text.empty()) return out;
    for (;;) {
        auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

std::unexpected<Error> unreadable(std::string_view what) {
    return fail(Errc::io, fmt::format("the database holds an unreadable {}", what));
}

template <class E, std::size_t N>
Result<E> stored_enum(std::string_view name, const E (&all)[N], std::string_view what) {
    auto e = enum_named(name, all);
    if (!e) return unreadable(fmt::format("{} \"{}\"", what, printable(name)));
    return *e;
}

template <class E, std::size_t N>
Result<std::optional<E>> stored_opt_enum(Stmt& s, int column, const E (&all)[N],
                                         std::string_view what) {
    if (s.col_null(column)) return std::optional<E>();
    auto e = stored_enum(s.col_text(column), all, what);
    if (!e) return std::unexpected(e.error());
    return std::optional<E>(*e);
}

/// The records of one report, rebuilt in insertion order. Three cursors walk the records, their
/// override reasons and their auth results by record id, so a report of any size streams
/// through without a query per record.
class RecordReader {
public:
    static Result<RecordReader> prepare(sqlite3* db) {
        RecordReader out;
        auto records = Stmt::prepare(
            db,
            "SELECT id, source_ip, count, disposition, dkim, spf, header_from, envelope_from, "
            "envelope_to FROM records WHERE report = ?1 ORDER BY id");
        auto reasons = Stmt::prepare(
            db,
            "SELECT o.record, o.type, o.comment FROM records r JOIN override_reasons o "
            "ON o.record = r.id WHERE r.report = ?1 ORDER BY r.id, o.rowid");
        auto auths = Stmt::prepare(
            db,
            "SELECT a.record, a.method, a.domain, a.selector, a.scope, a.result, a.human_result "
            "FROM records r JOIN auth_results a ON a.record = r.id WHERE r.report = ?1 "
            "ORDER BY r.id, a.rowid");
        if (!records) return std::unexpected(records.error());
        if (!reasons) return std::unexpected(reasons.error());
        if (!auths) return std::unexpected(auths.error());
        out.records_ = std::move(*records);
        out.reasons_ = std::move(*reasons);
        out.auths_ = std::move(*auths);
        return out;
    }

    /// Calls on_record(const report::Record&) -> Result<void> for each record of `report_row`,
    /// stopping at the first error.
    template <class F>
    Result<void> read(std::int64_t report_row, F&& on_record) {
        records_.integer(1, report_row);
        reasons_.integer(1, report_row);
        auths_.integer(1, report_row);
        auto result = walk(on_record);
        // Leaves no statement mid-way, so none holds the database open after an early stop.
        records_.reset();
        reasons_.reset();
        auths_.reset();
        return result;
    }

private:
    template <class F>
    Result<void> walk(F& on_record) {
        auto reason = reasons_.step("reading override reasons");
        if (!reason) return std::unexpected(reason.error());
        auto auth = auths_.step("reading auth results");
        if (!auth) return std::unexpected(auth.error());
        for (;;) {
            auto row = records_.step("reading records");
            if (!row) return std::unexpected(row.error());
            if (!*row) return {};
            auto id = records_.col_int(0);
            auto rec = record_row();
            if (!rec) return std::unexpected(rec.error());
            for (; reason && *reason && reasons_.col_int(0) == id;
                 reason = reasons_.step("reading override reasons")) {
                auto type = stored_enum(reasons_.col_text(1), all_override_types, "override type");
                if (!type) return std::unexpected(type.error());
                rec->reasons.push_back({*type, reasons_.col_text(2)});
            }
            if (!reason) return std::unexpected(reason.error());
            for (; auth && *auth && auths_.col_int(0) == id;
                 auth = auths_.step("reading auth results")) {
                if (auto r = auth_row(*rec); !r) return r;
            }
            if (!auth) return std::unexpected(auth.error());
            if (auto r = on_record(static_cast<const report::Record&>(*rec)); !r) return r;
        }
    }

    Result<report::Record> record_row() {
        auto& s = records_;
        report::Record r;
        auto ip = IpAddress::parse(s.col_text(1));
        if (!ip) return unreadable("source address");
        r.source_ip = *ip;
        r.count = u64(s.col_int(2));
        auto disposition = stored_enum(s.col_text(3), all_dispositions, "disposition");
        auto dkim = stored_enum(s.col_text(4), all_dmarc_verdicts, "DKIM verdict");
        auto spf = stored_enum(s.col_text(5), all_dmarc_verdicts, "SPF verdict");
        if (!disposition) return std::unexpected(disposition.error());
        if (!dkim) return std::unexpected(dkim.error());
        if (!spf) return std::unexpected(spf.error());
        r.disposition = *disposition;
        r.dkim = *dkim;
        r.spf = *spf;
        r.header_from = s.col_text(6);
        if (!s.col_null(7)) r.envelope_from = s.col_text(7);
        if (!s.col_null(8)) r.envelope_to = s.col_text(8);
        return r;
    }

    Result<void> auth_row(report::Record& rec) {
        auto& s = auths_;
        auto result = stored_enum(s.col_text(5), all_auth_verdicts, "auth result");
        if (!result) return std::unexpected(result.error());
        auto method = s.col_text(1);
        if (method == "dkim") {
            rec.dkim_results.push_back({s.col_text(2), s.col_text(3), *result, s.col_text(6)});
            return {};
        }
        if (method != "spf")
            return unreadable(fmt::format("auth method \"{}\"", printable(method)));
        auto scope = stored_opt_enum(s, 4, all_spf_scopes, "SPF scope");
        if (!scope) return std::unexpected(scope.error());
        rec.spf_results.push_back({s.col_text(2), scope->value_or(report::SpfScope::unspecified),
                                   *result, s.col_text(6)});
        return {};
    }

    Stmt records_, reasons_, auths_;
};

/// Migration 3's C++ step: the roll-ups of every report already stored, computed exactly as
/// ingest computes them.
Result<void> backfill_rollups(sqlite3* db) {
    auto reports =
        Stmt::prepare(db, "SELECT id, policy_domain, begin_time FROM reports ORDER BY id");
    auto source_day = Stmt::prepare(db, upsert_source_day_sql);
    auto selector_day = Stmt::prepare(db, upsert_selector_day_sql);
    auto reader = RecordReader::prepare(db);
    if (!reports) return std::unexpected(reports.error());
    if (!source_day) return std::unexpected(source_day.error());
    if (!selector_day) return std::unexpected(selector_day.error());
    if (!reader) return std::unexpected(reader.error());
    for (;;) {
        auto row = reports->step("reading reports to fill the roll-ups");
        if (!row) return std::unexpected(row.error());
        if (!*row) return {};
        auto policy_domain = ascii_lower(reports->col_text(1));
        auto day = day_of(seconds_at(reports->col_int(2)));
        Rollup rollup;
        auto read = reader->read(reports->col_int(0), [&](const report::Record& r) -> Result<void> {
            rollup.add(r, policy_domain);
            if (rollup.size() < Rollup::max_keys) return {};
            auto w = rollup.write(*source_day, *selector_day, policy_domain, day);
            rollup.clear();
            return w;
        });
        if (!read) {
            reports->reset();
            return read;
        }
        if (auto w = rollup.write(*source_day, *selector_day, policy_domain, day); !w) {
            reports->reset();
            return w;
        }
    }
}

class SqliteStore;

class SqliteWriter final : public AggregateWriter {
public:
    SqliteWriter(SqliteStore& store, std::int64_t report_row, std::string policy_domain,
                 std::int64_t day)
        : store_(store),
          report_row_(report_row),
          policy_domain_(std::move(policy_domain)),
          day_(day) {}
    ~SqliteWriter() override;
    Result<void> add(const report::Record& record) override;
    Result<void> commit(const ReportTotals& totals) override;

private:
    SqliteStore& store_;
    std::int64_t report_row_;
    std::string policy_domain_;
    std::int64_t day_;
    Rollup rollup_;
    bool open_ = true;
    std::uint64_t dmarc_pass_ = 0, spf_aligned_ = 0, dkim_aligned_ = 0;
};

class SqliteStore final : public Store {
public:
    explicit SqliteStore(Db db) : db_(std::move(db)) {}

    Result<void> init(const SqliteOptions& options) {
        sqlite3_busy_timeout(db_.get(), options.busy_timeout_ms);
        auto pragmas = fmt::format(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
            "PRAGMA cache_size=-{}; PRAGMA temp_store=FILE; PRAGMA wal_autocheckpoint=8192;",
            options.cache_kib);
        if (auto r = exec_script(db_.get(), pragmas.c_str(), "configuring the database"); !r)
            return r;
        if (auto r = migrate(); !r) return r;
        return prepare_all();
    }

    Result<BeginOutcome> begin_aggregate(const report::AggregateHeader& h,
                                         const Provenance& provenance) override {
        RAMPART_ASSERT(!writing_);
        if (auto r = open_batch(); !r) return std::unexpected(r.error());
        if (auto r = savepoint_.exec("starting a report"); !r) return std::unexpected(r.error());
        auto rollback = [this] { discard_report(); };
        const auto& m = h.metadata;
        const auto& p = h.policy;
        find_report_.text(1, m.org_name).text(2, m.report_id).text(3, p.domain);
        auto found = find_report_.step("looking for a duplicate report");
        if (!found) {
            rollback();
            return std::unexpected(found.error());
        }
        find_report_.reset();
        if (*found) {
            if (auto r = release_.exec("ending a report"); !r) return std::unexpected(r.error());
            return BeginOutcome{};
        }
        insert_report_.text(1, m.org_name)
            .text(2, m.email)
            .text(3, m.extra_contact_info)
            .text(4, m.report_id)
            .text(5, p.domain)
            .integer(6, m.begin.time_since_epoch().count())
            .integer(7, m.end.time_since_epoch().count())
            .text(8, join_lines(m.errors))
            .text(9, m.generator)
            .text(10, report::to_string(h.schema))
            .text(11, h.version)
            .opt_text(12, opt_enum(p.adkim))
            .opt_text(13, opt_enum(p.aspf))
            .opt_text(14, opt_enum(p.p))
            .opt_text(15, opt_enum(p.sp))
            .opt_text(16, opt_enum(p.np));
        if (p.pct) insert_report_.integer(17, *p.pct);
        else insert_report_.null(17);
        insert_report_.text(18, p.fo)
            .opt_text(19, p.testing ? std::optional<std::string>(*p.testing ? "y" : "n")
                                    : std::nullopt)
            .opt_text(20, opt_enum(p.discovery_method))
            .text(21, provenance.source)
            .integer(22, provenance.ingested_at.time_since_epoch().count());
        if (auto r = insert_report_.exec("storing a report"); !r) {
            rollback();
            return std::unexpected(r.error());
        }
        writing_ = true;
        return BeginOutcome{std::make_unique<SqliteWriter>(
            *this, sqlite3_last_insert_rowid(db_.get()), ascii_lower(p.domain), day_of(m.begin))};
    }

    Result<bool> add_failure_report(const report::FailureReport& f, std::string_view sha256,
                                    const Provenance& provenance) override {
        std::string key = f.report_message_id.empty() ? fmt::format("sha256:{}", sha256)
                                                      : fmt::format("mid:{}", f.report_message_id);
        auto& s = insert_failure_;
        s.text(1, key)
            .text(2, sha256)
            .text(3, f.domain())
            .text(4, f.feedback_type)
            .text(5, f.user_agent)
            .text(6, f.version)
            .text(7, f.auth_failure)
            .text(8, f.identity_alignment)
            .text(9, f.delivery_result)
            .text(10, join_lines(f.reported_domains))
            .opt_text(11, f.source_ip ? std::optional<std::string>(f.source_ip->to_string())
                                      : std::nullopt);
        if (f.arrival_date) s.integer(12, f.arrival_date->time_since_epoch().count());
        else s.null(12);
        s.text(13, f.original_mail_from)
            .text(14, join_lines(f.original_rcpt_to))
            .text(15, f.original_envelope_id)
            .text(16, f.reporting_mta)
            .text(17, join_lines(f.authentication_results))
            .text(18, f.dkim_domain)
            .text(19, f.dkim_identity)
            .text(20, f.dkim_selector)
            .text(21, f.spf_dns)
            .integer(22, i64(f.incidents))
            .text(23, f.original_from)
            .text(24, f.original_subject)
            .text(25, f.original_message_id)
            .text(26, f.report_message_id)
            .text(27, f.original_headers)
            .text(28, provenance.source)
            .integer(29, provenance.ingested_at.time_since_epoch().count());
        if (auto r = open_batch(); !r) return std::unexpected(r.error());
        if (auto r = s.exec("storing a failure report"); !r) return std::unexpected(r.error());
        bool stored = sqlite3_changes(db_.get()) > 0;
        if (auto r = report_done(0); !r) return std::unexpected(r.error());
        return stored;
    }

    Result<std::vector<DomainSummary>> summarize(const SummaryQuery& q) override {
        // Bounds are bound as parameters; absent ones become the widest range.
        std::int64_t since = q.since ? q.since->time_since_epoch().count() : INT64_MIN;
        std::int64_t until = q.until ? q.until->time_since_epoch().count() : INT64_MAX;
        auto domains = Stmt::prepare(db_.get(), R"sql(
            SELECT policy_domain, COUNT(*), SUM(record_count), SUM(message_count), SUM(dmarc_pass),
                   SUM(spf_aligned), SUM(dkim_aligned), MIN(begin_time), MAX(end_time)
            FROM reports
            WHERE (?1 IS NULL OR policy_domain = ?1) AND begin_time >= ?2 AND begin_time < ?3
            GROUP BY policy_domain ORDER BY SUM(message_count) DESC, policy_domain)sql");
        if (!domains) return std::unexpected(domains.error());
        domains->opt_text(1, q.domain).integer(2, since).integer(3, until);
        std::vector<DomainSummary> out;
        for (;;) {
            auto row = domains->step("summarising reports");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            DomainSummary d;
            d.domain = domains->col_text(0);
            d.reports = u64(domains->col_int(1));
            d.records = u64(domains->col_int(2));
            d.messages = u64(domains->col_int(3));
            d.dmarc_pass = u64(domains->col_int(4));
            d.dmarc_fail = d.messages - std::min(d.messages, d.dmarc_pass);
            d.spf_aligned = u64(domains->col_int(5));
            d.dkim_aligned = u64(domains->col_int(6));
            d.first_begin = Timestamp{std::chrono::seconds{domains->col_int(7)}};
            d.last_end = Timestamp{std::chrono::seconds{domains->col_int(8)}};
            out.push_back(std::move(d));
        }
        auto reporters = Stmt::prepare(db_.get(), R"sql(
            SELECT org_name, COUNT(*), SUM(message_count) FROM reports
            WHERE policy_domain = ?1 AND begin_time >= ?2 AND begin_time < ?3
            GROUP BY org_name ORDER BY SUM(message_count) DESC, org_name)sql");
        auto sources = Stmt::prepare(db_.get(), R"sql(
            SELECT rec.source_ip, SUM(rec.count),
                   SUM(CASE WHEN rec.dkim = 'pass' OR rec.spf = 'pass' THEN rec.count ELSE 0 END)
            FROM records rec JOIN reports r ON rec.report = r.id
            WHERE r.policy_domain = ?1 AND r.begin_time >= ?2 AND r.begin_time < ?3
            GROUP BY rec.source_ip ORDER BY SUM(rec.count) DESC, rec.source_ip LIMIT ?4)sql");
        auto failures = Stmt::prepare(db_.get(),
                                      "SELECT COUNT(*) FROM failure_reports WHERE domain = ?1");
        if (!reporters) return std::unexpected(reporters.error());
        if (!sources) return std::unexpected(sources.error());
        if (!failures) return std::unexpected(failures.error());
        for (auto& d : out) {
            reporters->text(1, d.domain).integer(2, since).integer(3, until);
            for (;;) {
                auto row = reporters->step("listing reporters");
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                d.reporters.push_back({reporters->col_text(0), u64(reporters->col_int(1)),
                                       u64(reporters->col_int(2))});
            }
            sources->text(1, d.domain).integer(2, since).integer(3, until)
                .integer(4, static_cast<std::int64_t>(q.top_sources));
            for (;;) {
                auto row = sources->step("listing sources");
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                d.top_sources.push_back({sources->col_text(0), u64(sources->col_int(1)),
                                         u64(sources->col_int(2))});
            }
            failures->text(1, d.domain);
            auto row = failures->step("counting failure reports");
            if (!row) return std::unexpected(row.error());
            d.failure_reports = u64(failures->col_int(0));
            failures->reset();
        }
        return out;
    }

    Result<StoreTotals> totals() override {
        auto s = Stmt::prepare(db_.get(), R"sql(
            SELECT (SELECT COUNT(*) FROM reports), (SELECT COALESCE(SUM(record_count), 0) FROM reports),
                   (SELECT COALESCE(SUM(message_count), 0) FROM reports),
                   (SELECT COUNT(*) FROM failure_reports))sql");
        if (!s) return std::unexpected(s.error());
        auto row = s->step("counting");
        if (!row) return std::unexpected(row.error());
        StoreTotals t{u64(s->col_int(0)), u64(s->col_int(1)), u64(s->col_int(2)),
                      u64(s->col_int(3))};
        s->reset();
        return t;
    }

    Result<void> flush() override {
        if (!in_batch_) return {};
        if (auto r = commit_.exec("committing reports"); !r) return r;
        in_batch_ = false;
        return {};
    }

    Result<void> remember_message(const MailboxMessage& m) override {
        RAMPART_ASSERT(!writing_);
        if (auto r = open_batch(); !r) return r;
        remember_.text(1, m.mailbox)
            .integer(2, m.uidvalidity)
            .integer(3, m.uid)
            .text(4, to_string(m.outcome))
            .text(5, m.reason)
            .integer(6, m.seen_at.time_since_epoch().count());
        if (auto r = remember_.exec("remembering a mailbox message"); !r) return r;
        return report_done(0);
    }

    Result<std::vector<SeenMessage>> seen_messages(std::string_view mailbox,
                                                   std::uint32_t uidvalidity) override {
        std::vector<SeenMessage> out;
        seen_.text(1, mailbox).integer(2, uidvalidity);
        for (;;) {
            auto row = seen_.step("reading remembered mailbox messages");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            auto uid = seen_.col_int(0);
            if (uid <= 0 || uid > UINT32_MAX) continue;
            out.push_back({static_cast<std::uint32_t>(uid),
                           seen_.col_text(1) == "report" ? MailOutcome::report : MailOutcome::invalid});
        }
        return out;
    }

    Result<std::vector<SourceFacts>> source_facts(const FactsQuery& q) override {
        // Only the conditions asked for are in the SQL: "?1 IS NULL OR ..." would keep SQLite
        // from searching the primary key or the indexes. Every value is still bound.
        std::string where = "day >= ?3 AND day < ?4";
        if (q.domain) where += " AND (policy_domain = ?1 OR header_from = ?1)";
        if (q.source_ip) where += " AND source_ip = ?2";
        // Rows are read in index order and, for the summed view, added up here in a hash map
        // keyed by the raw text: SQLite's GROUP BY over long text keys sorts through temporary
        // files (measured at 10 M records: 11 s for the query alone), and the auth text is then
        // decoded once per distinct key instead of once per day.
        auto sql = fmt::format(
            "SELECT policy_domain, header_from, source_ip, auth, messages, day FROM source_days "
            "WHERE {}",
            where);
        auto s = Stmt::prepare(db_.get(), sql);
        if (!s) return std::unexpected(s.error());
        if (q.domain) s->text(1, ascii_lower(*q.domain));
        if (q.source_ip) {
            auto ip = IpAddress::parse(*q.source_ip);
            s->text(2, ip ? ip->to_string() : *q.source_ip);
        }
        s->integer(3, q.since ? day_of(*q.since) : INT64_MIN)
            .integer(4, q.until ? day_of(*q.until) : INT64_MAX);

        struct Sum {
            std::string policy_domain, header_from, source_ip, auth;
            std::uint64_t messages = 0;
            std::int64_t first = 0, last = 0;
        };
        std::vector<Sum> sums;
        std::unordered_map<std::string, std::size_t> index;  // key -> position in sums
        std::string key;
        for (;;) {
            auto row = s->step("reading the source roll-up");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            const auto messages = u64(s->col_int(4));
            const auto day = s->col_int(5);
            key.clear();
            for (int c = 0; c < 4; ++c) {
                // Length-prefixed, so no two different rows make the same key.
                auto text = s->col_text(c);
                key += std::to_string(text.size());
                key += ':';
                key += text;
            }
            if (q.by_day) key += fmt::format("@{}", day);
            auto [it, fresh] = index.try_emplace(key, sums.size());
            if (fresh) {
                sums.push_back({.policy_domain = s->col_text(0),
                                .header_from = s->col_text(1),
                                .source_ip = s->col_text(2),
                                .auth = s->col_text(3),
                                .messages = 0,
                                .first = day,
                                .last = day});
            }
            Sum& sum = sums[it->second];
            sum.messages += messages;
            sum.first = std::min(sum.first, day);
            sum.last = std::max(sum.last, day);
        }
        index.clear();
        std::ranges::sort(sums, [](const Sum& a, const Sum& b) {
            if (a.messages != b.messages) return a.messages > b.messages;
            return std::tie(a.source_ip, a.first, a.header_from, a.policy_domain, a.auth) <
                   std::tie(b.source_ip, b.first, b.header_from, b.policy_domain, b.auth);
        });
        std::vector<SourceFacts> out;
        out.reserve(sums.size());
        for (auto& sum : sums) {
            SourceFacts f;
            if (!decode_auth(sum.auth, f)) return unreadable("roll-up row (auth facts)");
            f.policy_domain = std::move(sum.policy_domain);
            f.header_from = std::move(sum.header_from);
            f.source_ip = std::move(sum.source_ip);
            f.messages = sum.messages;
            f.first_day = day_at(sum.first);
            f.last_day = day_at(sum.last);
            out.push_back(std::move(f));
        }
        return out;
    }

    Result<std::vector<SelectorUse>> selectors_seen(std::string_view domain,
                                                    std::optional<Timestamp> since) override {
        auto s = Stmt::prepare(db_.get(), R"sql(
            SELECT dkim_domain, selector,
                   SUM(CASE WHEN result = 'pass' THEN messages ELSE 0 END),
                   SUM(CASE WHEN result = 'fail' THEN messages ELSE 0 END),
                   SUM(CASE WHEN result IN ('pass', 'fail') THEN 0 ELSE messages END),
                   MIN(day), MAX(day), MAX(CASE WHEN result = 'pass' THEN day END)
            FROM selector_days
            WHERE (policy_domain = ?1 OR header_from = ?1) AND day >= ?2
            GROUP BY dkim_domain, selector
            ORDER BY SUM(messages) DESC, dkim_domain, selector)sql");
        if (!s) return std::unexpected(s.error());
        s->text(1, ascii_lower(domain)).integer(2, since ? day_of(*since) : INT64_MIN);
        std::vector<SelectorUse> out;
        for (;;) {
            auto row = s->step("reading the selector roll-up");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            SelectorUse u{.dkim_domain = s->col_text(0),
                          .selector = s->col_text(1),
                          .pass = u64(s->col_int(2)),
                          .fail = u64(s->col_int(3)),
                          .other = u64(s->col_int(4)),
                          .first_day = day_at(s->col_int(5)),
                          .last_day = day_at(s->col_int(6)),
                          .last_pass_day = std::nullopt};
            if (!s->col_null(7)) u.last_pass_day = day_at(s->col_int(7));
            out.push_back(std::move(u));
        }
        return out;
    }

    Result<std::vector<std::pair<std::string, std::chrono::sys_days>>> first_seen(
        std::string_view domain) override {
        auto s = Stmt::prepare(db_.get(), R"sql(
            SELECT source_ip, MIN(day) FROM source_days
            WHERE policy_domain = ?1 OR header_from = ?1
            GROUP BY source_ip ORDER BY MIN(day), source_ip)sql");
        if (!s) return std::unexpected(s.error());
        s->text(1, ascii_lower(domain));
        std::vector<std::pair<std::string, std::chrono::sys_days>> out;
        for (;;) {
            auto row = s->step("reading when sources were first seen");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.emplace_back(s->col_text(0), day_at(s->col_int(1)));
        }
        return out;
    }

    Result<std::optional<SourceIdentity>> identity(std::string_view ip) override {
        identity_.text(1, ip);
        auto row = identity_.step("reading a source identity");
        if (!row) return std::unexpected(row.error());
        if (!*row) return std::optional<SourceIdentity>();
        SourceIdentity id{.ip = std::string(ip),
                          .ptr = std::nullopt,
                          .forward_confirmed = identity_.col_int(1) != 0,
                          .provider = identity_.col_text(2),
                          .basis = identity_.col_text(3),
                          .dns_failed = identity_.col_int(4) != 0,
                          .resolved_at = seconds_at(identity_.col_int(5)),
                          .expires_at = seconds_at(identity_.col_int(6))};
        if (!identity_.col_null(0)) id.ptr = identity_.col_text(0);
        identity_.reset();
        return std::optional<SourceIdentity>(std::move(id));
    }

    Result<void> put_identity(const SourceIdentity& id) override {
        RAMPART_ASSERT(!writing_);
        if (auto r = open_batch(); !r) return r;
        put_identity_.text(1, id.ip)
            .opt_text(2, id.ptr)
            .integer(3, id.forward_confirmed ? 1 : 0)
            .text(4, id.provider)
            .text(5, id.basis)
            .integer(6, id.dns_failed ? 1 : 0)
            .integer(7, id.resolved_at.time_since_epoch().count())
            .integer(8, id.expires_at.time_since_epoch().count());
        if (auto r = put_identity_.exec("storing a source identity"); !r) return r;
        return report_done(0);
    }

    Result<std::optional<ProviderNetworks>> provider_networks(std::string_view provider) override {
        auto s = Stmt::prepare(db_.get(),
                               "SELECT networks, resolved_at, expires_at FROM provider_networks "
                               "WHERE provider = ?1");
        if (!s) return std::unexpected(s.error());
        s->text(1, provider);
        auto row = s->step("reading provider networks");
        if (!row) return std::unexpected(row.error());
        if (!*row) return std::optional<ProviderNetworks>();
        ProviderNetworks out{.provider = std::string(provider),
                             .networks = {},
                             .resolved_at = seconds_at(s->col_int(1)),
                             .expires_at = seconds_at(s->col_int(2))};
        for (const auto& line : split_lines(s->col_text(0))) {
            auto n = parse_network(line);
            if (!n) {
                s->reset();
                return unreadable(
                    fmt::format("network \"{}\" for {}", printable(line), printable(provider)));
            }
            out.networks.push_back(*n);
        }
        s->reset();
        return std::optional<ProviderNetworks>(std::move(out));
    }

    Result<void> put_provider_networks(const ProviderNetworks& p) override {
        RAMPART_ASSERT(!writing_);
        std::string networks;
        for (const auto& n : p.networks) {
            if (!networks.empty()) networks += '\n';
            networks += n.to_string();
        }
        auto s = Stmt::prepare(db_.get(),
                               "INSERT OR REPLACE INTO provider_networks (provider, networks, "
                               "resolved_at, expires_at) VALUES (?1, ?2, ?3, ?4)");
        if (!s) return std::unexpected(s.error());
        if (auto r = open_batch(); !r) return r;
        s->text(1, p.provider)
            .text(2, networks)
            .integer(3, p.resolved_at.time_since_epoch().count())
            .integer(4, p.expires_at.time_since_epoch().count());
        if (auto r = s->exec("storing provider networks"); !r) return r;
        return report_done(0);
    }

    // ---- rollout ---------------------------------------------------------------------------

    static constexpr std::string_view rollout_columns =
        "domain, client, plan, step, record, previous_record, entered_at, decided_at, state, reason, held, "
        "hold_reason, updated_at";

    static RolloutState rollout_row(Stmt& s) {
        RolloutState st{.domain = s.col_text(0),
                        .client = s.col_text(1),
                        .plan = s.col_text(2),
                        .step = s.col_text(3),
                        .record = s.col_text(4),
                        .previous_record = s.col_text(5),
                        .entered_at = std::nullopt,
                        .decided_at = seconds_at(s.col_int(7)),
                        .state = s.col_text(8),
                        .reason = s.col_text(9),
                        .held = s.col_int(10) != 0,
                        .hold_reason = s.col_text(11),
                        .updated_at = seconds_at(s.col_int(12))};
        if (!s.col_null(6)) st.entered_at = seconds_at(s.col_int(6));
        return st;
    }

    Result<std::optional<RolloutState>> rollout_state(std::string_view domain) override {
        auto s = Stmt::prepare(db_.get(), fmt::format("SELECT {} FROM rollout_domains WHERE domain = ?1",
                                                      rollout_columns));
        if (!s) return std::unexpected(s.error());
        s->text(1, domain);
        auto row = s->step("reading a domain's rollout state");
        if (!row) return std::unexpected(row.error());
        if (!*row) return std::optional<RolloutState>();
        auto state = rollout_row(*s);
        s->reset();
        return std::optional<RolloutState>(std::move(state));
    }

    Result<std::vector<RolloutState>> rollout_states() override {
        auto s = Stmt::prepare(db_.get(), fmt::format("SELECT {} FROM rollout_domains ORDER BY domain",
                                                      rollout_columns));
        if (!s) return std::unexpected(s.error());
        std::vector<RolloutState> out;
        for (;;) {
            auto row = s->step("reading rollout states");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(rollout_row(*s));
        }
        return out;
    }

    Result<void> record_rollout(const RolloutState& st, const RolloutEvent& e) override {
        RAMPART_ASSERT(!writing_);
        auto upsert = Stmt::prepare(
            db_.get(), fmt::format("INSERT OR REPLACE INTO rollout_domains ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                   "?8, ?9, ?10, ?11, ?12, ?13)",
                                   rollout_columns));
        if (!upsert) return std::unexpected(upsert.error());
        auto append = Stmt::prepare(db_.get(),
                                    "INSERT INTO rollout_history (domain, at, actor, action, from_step, to_step, "
                                    "old_record, new_record, reason, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                    "?8, ?9, ?10)");
        if (!append) return std::unexpected(append.error());
        upsert->text(1, st.domain)
            .text(2, st.client)
            .text(3, st.plan)
            .text(4, st.step)
            .text(5, st.record)
            .text(6, st.previous_record)
            .integer(8, st.decided_at.time_since_epoch().count())
            .text(9, st.state)
            .text(10, st.reason)
            .integer(11, st.held ? 1 : 0)
            .text(12, st.hold_reason)
            .integer(13, st.updated_at.time_since_epoch().count());
        if (st.entered_at) {
            upsert->integer(7, st.entered_at->time_since_epoch().count());
        } else {
            upsert->null(7);
        }
        append->text(1, e.domain)
            .integer(2, e.at.time_since_epoch().count())
            .text(3, e.actor)
            .text(4, e.action)
            .text(5, e.from_step)
            .text(6, e.to_step)
            .text(7, e.old_record)
            .text(8, e.new_record)
            .text(9, e.reason)
            .text(10, e.evidence);
        // Both rows or neither: a savepoint inside the batch transaction, then commit.
        if (auto r = open_batch(); !r) return r;
        if (auto r = savepoint_.exec("starting a rollout change"); !r) return r;
        auto written = upsert->exec("storing a domain's rollout state");
        if (written) written = append->exec("appending to the rollout history");
        if (!written) {
            discard_report();
            return written;
        }
        if (auto r = release_.exec("ending a rollout change"); !r) return r;
        return flush();
    }

    // ---- publishing --------------------------------------------------------------------------

    static constexpr std::string_view publish_columns =
        "id, change_id, domain, name, at, actor, publisher, stage, old_record, new_record, reason, detail, "
        "evidence";

    static PublishEvent publish_row(Stmt& s) {
        return PublishEvent{.id = s.col_int(0),
                            .change_id = s.col_text(1),
                            .domain = s.col_text(2),
                            .name = s.col_text(3),
                            .at = seconds_at(s.col_int(4)),
                            .actor = s.col_text(5),
                            .publisher = s.col_text(6),
                            .stage = s.col_text(7),
                            .old_record = s.col_text(8),
                            .new_record = s.col_text(9),
                            .reason = s.col_text(10),
                            .detail = s.col_text(11),
                            .evidence = s.col_text(12)};
    }

    Result<std::vector<PublishEvent>> publish_rows(std::string_view sql, std::string_view bind,
                                                   std::string_view what) {
        auto s = Stmt::prepare(db_.get(), sql);
        if (!s) return std::unexpected(s.error());
        if (!bind.empty()) s->text(1, bind);
        std::vector<PublishEvent> out;
        for (;;) {
            auto row = s->step(what);
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(publish_row(*s));
        }
        return out;
    }

    Result<void> append_publish_event(const PublishEvent& e) override {
        RAMPART_ASSERT(!writing_);
        auto s = Stmt::prepare(db_.get(),
                               "INSERT INTO publish_log (change_id, domain, name, at, actor, publisher, stage, "
                               "old_record, new_record, reason, detail, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                               "?7, ?8, ?9, ?10, ?11, ?12)");
        if (!s) return std::unexpected(s.error());
        s->text(1, e.change_id)
            .text(2, e.domain)
            .text(3, e.name)
            .integer(4, e.at.time_since_epoch().count())
            .text(5, e.actor)
            .text(6, e.publisher)
            .text(7, e.stage)
            .text(8, e.old_record)
            .text(9, e.new_record)
            .text(10, e.reason)
            .text(11, e.detail)
            .text(12, e.evidence);
        if (auto r = open_batch(); !r) return r;
        if (auto r = s->exec("appending to the publish log"); !r) {
            discard_report();
            return r;
        }
        // Durable before the caller sends anything: the log is how a killed run is recovered.
        return flush();
    }

    Result<std::vector<PublishEvent>> publish_log(std::string_view domain) override {
        return publish_rows(fmt::format("SELECT {} FROM publish_log WHERE domain = ?1 ORDER BY id", publish_columns),
                            domain, "reading the publish log");
    }

    Result<std::vector<PublishEvent>> unfinished_changes() override {
        return publish_rows(
            fmt::format("SELECT {} FROM publish_log WHERE id IN (SELECT MAX(id) FROM publish_log GROUP BY change_id) "
                        "AND stage IN ('intent', 'sent') ORDER BY id",
                        publish_columns),
            "", "reading unfinished changes");
    }

    static constexpr std::string_view rotation_columns =
        "id, domain, stage, old_selector, new_selector, old_record, new_record, old_ttl, key_file, old_key_file, "
        "started_at, stage_since, next_at, detail, finished";

    static DkimRotation rotation_row(Stmt& s) {
        return DkimRotation{.domain = s.col_text(1),
                            .id = s.col_text(0),
                            .stage = s.col_text(2),
                            .old_selector = s.col_text(3),
                            .new_selector = s.col_text(4),
                            .old_record = s.col_text(5),
                            .new_record = s.col_text(6),
                            .old_ttl = static_cast<std::uint32_t>(s.col_int(7)),
                            .key_file = s.col_text(8),
                            .old_key_file = s.col_text(9),
                            .started_at = seconds_at(s.col_int(10)),
                            .stage_since = seconds_at(s.col_int(11)),
                            .next_at = seconds_at(s.col_int(12)),
                            .detail = s.col_text(13),
                            .finished = s.col_int(14) != 0};
    }

    Result<std::vector<DkimRotation>> rotations(std::string_view domain) override {
        auto s = Stmt::prepare(db_.get(), fmt::format("SELECT {} FROM dkim_rotations WHERE domain = ?1 "
                                                      "ORDER BY started_at, id",
                                                      rotation_columns));
        if (!s) return std::unexpected(s.error());
        s->text(1, domain);
        std::vector<DkimRotation> out;
        for (;;) {
            auto row = s->step("reading DKIM rotations");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(rotation_row(*s));
        }
        return out;
    }

    Result<std::optional<DkimRotation>> current_rotation(std::string_view domain) override {
        auto all = rotations(domain);
        if (!all) return std::unexpected(all.error());
        for (auto it = all->rbegin(); it != all->rend(); ++it) {
            if (!it->finished) return std::optional<DkimRotation>(std::move(*it));
        }
        return std::optional<DkimRotation>();
    }

    Result<void> put_rotation(const DkimRotation& r) override {
        RAMPART_ASSERT(!writing_);
        auto s = Stmt::prepare(db_.get(), fmt::format("INSERT OR REPLACE INTO dkim_rotations ({}) VALUES (?1, ?2, "
                                                      "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                                                      rotation_columns));
        if (!s) return std::unexpected(s.error());
        s->text(1, r.id)
            .text(2, r.domain)
            .text(3, r.stage)
            .text(4, r.old_selector)
            .text(5, r.new_selector)
            .text(6, r.old_record)
            .text(7, r.new_record)
            .integer(8, r.old_ttl)
            .text(9, r.key_file)
            .text(10, r.old_key_file)
            .integer(11, r.started_at.time_since_epoch().count())
            .integer(12, r.stage_since.time_since_epoch().count())
            .integer(13, r.next_at.time_since_epoch().count())
            .text(14, r.detail)
            .integer(15, r.finished ? 1 : 0);
        if (auto x = open_batch(); !x) return x;
        if (auto x = s->exec("storing a DKIM rotation"); !x) {
            discard_report();
            return x;
        }
        return flush();
    }

    Result<std::vector<RolloutEvent>> rollout_history(std::string_view domain) override {
        auto s = Stmt::prepare(db_.get(),
                               "SELECT id, domain, at, actor, action, from_step, to_step, old_record, new_record, "
                               "reason, evidence FROM rollout_history WHERE domain = ?1 ORDER BY id");
        if (!s) return std::unexpected(s.error());
        s->text(1, domain);
        std::vector<RolloutEvent> out;
        for (;;) {
            auto row = s->step("reading the rollout history");
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(RolloutEvent{.id = s->col_int(0),
                                       .domain = s->col_text(1),
                                       .at = seconds_at(s->col_int(2)),
                                       .actor = s->col_text(3),
                                       .action = s->col_text(4),
                                       .from_step = s->col_text(5),
                                       .to_step = s->col_text(6),
                                       .old_record = s->col_text(7),
                                       .new_record = s->col_text(8),
                                       .reason = s->col_text(9),
                                       .evidence = s->col_text(10)});
        }
        return out;
    }

    Result<void> replay_aggregates(const ReportQuery& q, ReplaySink& sink) override {
        std::string sql =
            "SELECT id, org_name, email, extra_contact_info, report_id, policy_domain, "
            "begin_time, end_time, errors, generator, schema, version, adkim, aspf, p, sp, np, "
            "pct, fo, testing, discovery_method, source, ingested_at FROM reports "
            "WHERE begin_time >= ?2 AND begin_time < ?3";
        if (q.domain) sql += " AND policy_domain = ?1";
        sql += " ORDER BY begin_time, id";
        auto reports = Stmt::prepare(db_.get(), sql);
        auto reader = RecordReader::prepare(db_.get());
        if (!reports) return std::unexpected(reports.error());
        if (!reader) return std::unexpected(reader.error());
        if (q.domain) reports->text(1, ascii_lower(*q.domain));
        reports->integer(2, q.since ? q.since->time_since_epoch().count() : INT64_MIN)
            .integer(3, q.until ? q.until->time_since_epoch().count() : INT64_MAX);
        for (;;) {
            auto row = reports->step("reading reports");
            if (!row) return std::unexpected(row.error());
            if (!*row) return {};
            auto r = replay_one(*reports, *reader, sink);
            if (!r) {
                reports->reset();
                return r;
            }
        }
    }

    ~SqliteStore() override {
        if (in_batch_) (void)commit_.exec("committing reports");
    }

private:
    friend class SqliteWriter;

    /// Rebuilds the report at the current row of replay_aggregates' statement and streams it.
    static Result<void> replay_one(Stmt& s, RecordReader& reader, ReplaySink& sink) {
        report::AggregateHeader h;
        auto& m = h.metadata;
        auto& p = h.policy;
        m.org_name = s.col_text(1);
        m.email = s.col_text(2);
        m.extra_contact_info = s.col_text(3);
        m.report_id = s.col_text(4);
        p.domain = s.col_text(5);
        m.begin = seconds_at(s.col_int(6));
        m.end = seconds_at(s.col_int(7));
        m.errors = split_lines(s.col_text(8));
        m.generator = s.col_text(9);
        auto schema = stored_enum(s.col_text(10), all_schemas, "report schema");
        if (!schema) return std::unexpected(schema.error());
        h.schema = *schema;
        h.version = s.col_text(11);
        auto adkim = stored_opt_enum(s, 12, all_alignments, "adkim");
        auto aspf = stored_opt_enum(s, 13, all_alignments, "aspf");
        auto policy = stored_opt_enum(s, 14, all_policies, "p");
        auto sp = stored_opt_enum(s, 15, all_policies, "sp");
        auto np = stored_opt_enum(s, 16, all_policies, "np");
        auto discovery = stored_opt_enum(s, 20, all_discovery_methods, "discovery method");
        for (const auto* e : {&adkim, &aspf})
            if (!*e) return std::unexpected(e->error());
        for (const auto* e : {&policy, &sp, &np})
            if (!*e) return std::unexpected(e->error());
        if (!discovery) return std::unexpected(discovery.error());
        p.adkim = *adkim;
        p.aspf = *aspf;
        p.p = *policy;
        p.sp = *sp;
        p.np = *np;
        p.discovery_method = *discovery;
        if (!s.col_null(17)) {
            auto pct = s.col_int(17);
            if (pct < 0 || pct > UINT32_MAX) return unreadable("pct");
            p.pct = static_cast<std::uint32_t>(pct);
        }
        p.fo = s.col_text(18);
        if (!s.col_null(19)) p.testing = s.col_text(19) == "y";
        Provenance provenance{s.col_text(21), seconds_at(s.col_int(22))};
        if (auto r = sink.on_report(h, provenance); !r) return r;
        auto records = reader.read(
            s.col_int(0), [&sink](const report::Record& rec) { return sink.on_record(rec); });
        if (!records) return records;
        return sink.on_report_end();
    }

    // Reports are written inside a SAVEPOINT each, several to one transaction: a commit per
    // report rewrites the same index pages into the WAL every time and costs about half the
    // ingest time on small reports. The batch is committed after enough records or time.
    static constexpr std::uint64_t batch_records = 20'000;
    static constexpr auto batch_time = std::chrono::milliseconds(500);

    Result<void> open_batch() {
        if (in_batch_) return {};
        if (auto r = begin_.exec("starting a transaction"); !r) return r;
        in_batch_ = true;
        batch_records_ = 0;
        batch_start_ = std::chrono::steady_clock::now();
        return {};
    }
    void discard_report() {
        (void)rollback_to_.exec("rolling back a report");
        (void)release_.exec("ending a report");
    }
    Result<void> report_done(std::uint64_t records) {
        batch_records_ += records + 1;
        if (batch_records_ >= batch_records ||
            std::chrono::steady_clock::now() - batch_start_ >= batch_time)
            return flush();
        return {};
    }

    /// Applies pending migrations. The version is read and the migrations applied inside one
    /// IMMEDIATE transaction, so two processes opening a new database at the same moment do not
    /// both run migration 1.
    Result<void> migrate() {
        if (auto r = exec_script(db_.get(), "BEGIN IMMEDIATE", "locking the schema"); !r) return r;
        auto result = migrate_locked();
        if (!result) {
            (void)exec_script(db_.get(), "ROLLBACK", "rolling back");
            return result;
        }
        return exec_script(db_.get(), "COMMIT", "committing the schema");
    }

    Result<void> migrate_locked() {
        if (auto r = exec_script(db_.get(),
                                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                                 "creating the migrations table");
            !r)
            return r;
        auto current = Stmt::prepare(db_.get(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        if (!current) return std::unexpected(current.error());
        auto row = current->step("reading the schema version");
        if (!row) return std::unexpected(row.error());
        auto version = current->col_int(0);
        current->reset();
        if (version > sqlite_schema_version())
            return fail(Errc::unsupported,
                        fmt::format("the database has schema version {}, newer than this "
                                    "Rampart's {}: upgrade Rampart",
                                    version, sqlite_schema_version()));
        for (const auto& m : migrations) {
            if (m.version <= version) continue;
            auto script = fmt::format("{} INSERT INTO schema_migrations VALUES ({}, unixepoch());",
                                      m.sql, m.version);
            if (auto r = exec_script(db_.get(), script.c_str(),
                                     fmt::format("applying migration {}", m.version));
                !r)
                return r;
            if (m.then) {
                if (auto r = m.then(db_.get()); !r) {
                    Error e = r.error();
                    e.reason = fmt::format("{} (migration {})", e.reason, m.version);
                    return std::unexpected(e);
                }
            }
        }
        return {};
    }

    Result<void> prepare_all() {
        auto prep = [this](Stmt& s, std::string_view sql) -> Result<void> {
            auto p = Stmt::prepare(db_.get(), sql);
            if (!p) return std::unexpected(p.error());
            s = std::move(*p);
            return {};
        };
        const std::pair<Stmt*, std::string_view> all[] = {
            {&begin_, "BEGIN IMMEDIATE"},
            {&commit_, "COMMIT"},
            {&savepoint_, "SAVEPOINT report"},
            {&release_, "RELEASE report"},
            {&rollback_to_, "ROLLBACK TO report"},
            {&find_report_,
             "SELECT id FROM reports WHERE org_name = ?1 AND report_id = ?2 AND policy_domain = ?3"},
            {&insert_report_,
             "INSERT INTO reports (org_name, email, extra_contact_info, report_id, policy_domain, "
             "begin_time, end_time, errors, generator, schema, version, adkim, aspf, p, sp, np, "
             "pct, fo, testing, discovery_method, source, ingested_at) VALUES (?1, ?2, ?3, ?4, "
             "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"},
            {&insert_record_,
             "INSERT INTO records (report, source_ip, count, disposition, dkim, spf, header_from, "
             "envelope_from, envelope_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
            {&insert_reason_, "INSERT INTO override_reasons (record, type, comment) VALUES (?1, ?2, ?3)"},
            {&insert_auth_,
             "INSERT INTO auth_results (record, method, domain, selector, scope, result, "
             "human_result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
            {&finish_report_,
             "UPDATE reports SET content_sha256 = ?2, record_count = ?3, message_count = ?4, "
             "dmarc_pass = ?5, spf_aligned = ?6, dkim_aligned = ?7, diagnostics = ?8 WHERE id = ?1"},
            {&upsert_source_day_, upsert_source_day_sql},
            {&upsert_selector_day_, upsert_selector_day_sql},
            {&identity_,
             "SELECT ptr, forward_confirmed, provider, basis, dns_failed, resolved_at, expires_at "
             "FROM source_identities WHERE ip = ?1"},
            {&put_identity_,
             "INSERT OR REPLACE INTO source_identities (ip, ptr, forward_confirmed, provider, "
             "basis, dns_failed, resolved_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
            {&remember_,
             "INSERT OR REPLACE INTO mailbox_messages (mailbox, uidvalidity, uid, outcome, reason, "
             "seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
            {&seen_,
             "SELECT uid, outcome FROM mailbox_messages WHERE mailbox = ?1 AND uidvalidity = ?2 "
             "ORDER BY uid"},
            {&insert_failure_,
             "INSERT OR IGNORE INTO failure_reports (dedup_key, content_sha256, domain, "
             "feedback_type, user_agent, version, auth_failure, identity_alignment, "
             "delivery_result, reported_domains, source_ip, arrival_date, original_mail_from, "
             "original_rcpt_to, original_envelope_id, reporting_mta, authentication_results, "
             "dkim_domain, dkim_identity, dkim_selector, spf_dns, incidents, original_from, "
             "original_subject, original_message_id, report_message_id, original_headers, "
             "source, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
             "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
             "?29)"},
        };
        for (const auto& [stmt, sql] : all)
            if (auto r = prep(*stmt, sql); !r) return r;
        return {};
    }

    Db db_;
    bool writing_ = false;
    bool in_batch_ = false;
    std::uint64_t batch_records_ = 0;
    std::chrono::steady_clock::time_point batch_start_;
    Stmt begin_, commit_, savepoint_, release_, rollback_to_, find_report_, insert_report_, insert_record_, insert_reason_,
        insert_auth_, finish_report_, insert_failure_;
    Stmt remember_, seen_;
    Stmt upsert_source_day_, upsert_selector_day_, identity_, put_identity_;
};

SqliteWriter::~SqliteWriter() {
    if (open_) {
        store_.discard_report();
        store_.writing_ = false;
    }
}

Result<void> SqliteWriter::add(const report::Record& r) {
    RAMPART_ASSERT(open_);
    auto& s = store_.insert_record_;
    s.integer(1, report_row_)
        .text(2, r.source_ip.to_string())
        .integer(3, i64(r.count))
        .text(4, report::to_string(r.disposition))
        .text(5, report::to_string(r.dkim))
        .text(6, report::to_string(r.spf))
        .text(7, r.header_from)
        .opt_text(8, r.envelope_from)
        .opt_text(9, r.envelope_to);
    if (auto e = s.exec("storing a record"); !e) return e;
    auto record_row = sqlite3_last_insert_rowid(store_.db_.get());
    for (const auto& reason : r.reasons) {
        store_.insert_reason_.integer(1, record_row)
            .text(2, report::to_string(reason.type))
            .text(3, reason.comment);
        if (auto e = store_.insert_reason_.exec("storing an override reason"); !e) return e;
    }
    auto& a = store_.insert_auth_;
    for (const auto& d : r.dkim_results) {
        a.integer(1, record_row).text(2, "dkim").text(3, d.domain).text(4, d.selector).null(5)
            .text(6, report::to_string(d.result)).text(7, d.human_result);
        if (auto e = a.exec("storing a DKIM result"); !e) return e;
    }
    for (const auto& f : r.spf_results) {
        a.integer(1, record_row).text(2, "spf").text(3, f.domain).null(4);
        if (f.scope == report::SpfScope::unspecified) a.null(5);
        else a.text(5, report::to_string(f.scope));
        a.text(6, report::to_string(f.result)).text(7, f.human_result);
        if (auto e = a.exec("storing an SPF result"); !e) return e;
    }
    if (r.dmarc_pass()) dmarc_pass_ += r.count;
    if (r.spf == report::DmarcVerdict::pass) spf_aligned_ += r.count;
    if (r.dkim == report::DmarcVerdict::pass) dkim_aligned_ += r.count;
    rollup_.add(r, policy_domain_);
    if (rollup_.size() >= Rollup::max_keys) {
        if (auto e = rollup_.write(store_.upsert_source_day_, store_.upsert_selector_day_,
                                   policy_domain_, day_);
            !e)
            return e;
        rollup_.clear();
    }
    return {};
}

Result<void> SqliteWriter::commit(const ReportTotals& t) {
    RAMPART_ASSERT(open_);
    std::string diagnostics;
    for (const auto& d : t.diagnostics) {
        if (!diagnostics.empty()) diagnostics += '\n';
        diagnostics += fmt::format("{}: {}", d.path, d.message);
    }
    store_.finish_report_.integer(1, report_row_)
        .text(2, t.content_sha256)
        .integer(3, i64(t.records))
        .integer(4, i64(t.messages))
        .integer(5, i64(dmarc_pass_))
        .integer(6, i64(spf_aligned_))
        .integer(7, i64(dkim_aligned_))
        .text(8, diagnostics);
    if (auto e = store_.finish_report_.exec("finishing a report"); !e) return e;
    // Inside the report's savepoint: a report that fails here leaves no roll-up behind either.
    if (auto e = rollup_.write(store_.upsert_source_day_, store_.upsert_selector_day_,
                               policy_domain_, day_);
        !e)
        return e;
    if (auto e = store_.release_.exec("committing a report"); !e) return e;
    open_ = false;
    store_.writing_ = false;
    return store_.report_done(t.records);
}

}  // namespace

int sqlite_schema_version() noexcept { return std::size(migrations) == 0 ? 0 : migrations[std::size(migrations) - 1].version; }

Result<std::unique_ptr<Store>> open_sqlite(const std::filesystem::path& path,
                                           const SqliteOptions& options) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    Db db(raw);
    if (rc != SQLITE_OK)
        return fail(Errc::io, fmt::format("cannot open the database {}: {}", path.string(),
                                          raw ? sqlite3_errmsg(raw) : "out of memory"));
    auto store = std::make_unique<SqliteStore>(std::move(db));
    if (auto r = store->init(options); !r) {
        Error e = r.error();
        e.reason = fmt::format("{} ({})", e.reason, path.string());
        return std::unexpected(e);
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rampart::store

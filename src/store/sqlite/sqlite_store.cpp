#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace rampart::store {
namespace {

// Numbered migrations: never edit a released one, add the next.
struct Migration {
    int version;
    const char* sql;
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

class SqliteStore;

class SqliteWriter final : public AggregateWriter {
public:
    SqliteWriter(SqliteStore& store, std::int64_t report_row) : store_(store), report_row_(report_row) {}
    ~SqliteWriter() override;
    Result<void> add(const report::Record& record) override;
    Result<void> commit(const ReportTotals& totals) override;

private:
    SqliteStore& store_;
    std::int64_t report_row_;
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
        return BeginOutcome{std::make_unique<SqliteWriter>(*this, sqlite3_last_insert_rowid(db_.get()))};
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

    ~SqliteStore() override {
        if (in_batch_) (void)commit_.exec("committing reports");
    }

private:
    friend class SqliteWriter;

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

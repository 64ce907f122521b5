// bench_senders: how long `rampart senders` takes over a big store, next to a plain full-scan
// query over the same raw rows, both in the same run.
//
// Fills (or reuses) a SQLite store with N aggregate-report records over D days for one domain,
// written through the store's own AggregateWriter so the roll-ups are maintained exactly as
// `rampart ingest` maintains them, then measures, R times each:
//   baseline  one GROUP BY over the raw records of the domain's reports in the window (the
//             query a tool without roll-ups would run: per source, messages and DMARC passes);
//   facts     Store::source_facts for the window (the roll-up read);
//   analyse   senders::analyse_domain offline (roll-up read, identities from the cache,
//             grouping and classification), what `rampart senders DOMAIN --offline` does.
// Prints one JSON object with the medians and the ratio baseline / analyse.
//
// Usage: bench_senders --db FILE [--records N] [--days D] [--reps R] [--seed S]
// The database is reused when it already holds the same parameters (a `bench_params` table).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "senders/senders.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace rampart;
using Clock = std::chrono::steady_clock;

constexpr const char* bench_domain = "bench.example";
constexpr std::int64_t first_day = 20'454;  // 2026-01-01 in days since the epoch

struct Params {
    std::string db;
    std::uint64_t records = 10'000'000;
    int days = 30;
    int reps = 5;
    std::uint32_t seed = 42;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_senders: %s\n", message.c_str());
    std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
    if (!r) die(fmt::format("{}: {}", what, r.error().describe()));
    return std::move(*r);
}
void must(Result<void> r, const char* what) {
    if (!r) die(fmt::format("{}: {}", what, r.error().describe()));
}

// The kinds of source a real domain sees, with the share of records each gets.
enum class SourceKind { own, vendor_aligned, vendor_unaligned, forwarder, spoofer, subdomain_spoof };

struct Source {
    IpAddress ip;
    SourceKind kind;
};

std::vector<Source> make_sources(std::mt19937& rng) {
    std::vector<Source> out;
    auto v4 = [](int a, int b, int c, int d) {
        return must(IpAddress::parse(fmt::format("{}.{}.{}.{}", a, b, c, d)), "ip");
    };
    for (int i = 0; i < 64; ++i) out.push_back({v4(192, 0, 2, i), SourceKind::own});
    for (int i = 0; i < 2000; ++i)
        out.push_back({v4(198, 51, 100 + i / 250, i % 250), SourceKind::vendor_aligned});
    for (int i = 0; i < 2000; ++i)
        out.push_back({v4(203, 0, 113 + i / 250, i % 250), SourceKind::vendor_unaligned});
    for (int i = 0; i < 4000; ++i)
        out.push_back({v4(209, 85, i / 250, i % 250), SourceKind::forwarder});
    std::uniform_int_distribution<int> octet(1, 254);
    for (int i = 0; i < 12000; ++i)
        out.push_back({v4(45, octet(rng), octet(rng), octet(rng)), SourceKind::spoofer});
    for (int i = 0; i < 1000; ++i)
        out.push_back({v4(185, 220, i / 250, i % 250), SourceKind::subdomain_spoof});
    return out;
}

report::Record make_record(const Source& s, std::mt19937& rng) {
    using report::AuthVerdict;
    using report::DmarcVerdict;
    report::Record r;
    r.source_ip = s.ip;
    r.count = 1 + rng() % 20;
    r.header_from = bench_domain;
    auto dkim = [&](std::string d, std::string sel, AuthVerdict v) {
        r.dkim_results.push_back({.domain = std::move(d), .selector = std::move(sel), .result = v,
                                  .human_result = {}});
    };
    auto spf = [&](std::string d, AuthVerdict v) {
        r.spf_results.push_back({.domain = std::move(d), .scope = report::SpfScope::mfrom,
                                 .result = v, .human_result = {}});
    };
    switch (s.kind) {
        case SourceKind::own:
            r.dkim = r.spf = DmarcVerdict::pass;
            r.disposition = report::Disposition::none;
            r.envelope_from = bench_domain;
            dkim(bench_domain, "s202611", AuthVerdict::pass);
            spf(bench_domain, AuthVerdict::pass);
            break;
        case SourceKind::vendor_aligned:
            r.dkim = DmarcVerdict::pass;
            r.spf = DmarcVerdict::fail;
            r.disposition = report::Disposition::none;
            r.envelope_from = "bounces.vendor.example";
            dkim(bench_domain, "vendor1", AuthVerdict::pass);
            spf("bounces.vendor.example", AuthVerdict::pass);
            break;
        case SourceKind::vendor_unaligned:
            r.dkim = r.spf = DmarcVerdict::fail;
            r.disposition = report::Disposition::none;
            r.envelope_from = "mail.crm.example";
            dkim("crm.example", "k1", AuthVerdict::pass);
            spf("mail.crm.example", AuthVerdict::pass);
            break;
        case SourceKind::forwarder:
            r.dkim = rng() % 4 == 0 ? DmarcVerdict::pass : DmarcVerdict::fail;
            r.spf = DmarcVerdict::fail;
            r.disposition = report::Disposition::none;
            r.envelope_from = bench_domain;
            dkim(bench_domain, "s202611", r.dkim == DmarcVerdict::pass ? AuthVerdict::pass
                                                                        : AuthVerdict::fail);
            spf(bench_domain, AuthVerdict::softfail);
            r.reasons.push_back({.type = report::OverrideType::local_policy,
                                 .comment = "arc=pass as.1.google.com=pass"});
            break;
        case SourceKind::spoofer:
            r.dkim = r.spf = DmarcVerdict::fail;
            r.disposition = report::Disposition::none;
            r.envelope_from = bench_domain;
            spf(bench_domain, AuthVerdict::fail);
            break;
        case SourceKind::subdomain_spoof:
            r.dkim = r.spf = DmarcVerdict::fail;
            r.disposition = report::Disposition::none;
            r.header_from = fmt::format("x{}.{}", rng() % 5000, bench_domain);
            r.envelope_from = r.header_from;
            spf(r.header_from, AuthVerdict::none);
            break;
    }
    return r;
}

SourceKind pick_kind(std::mt19937& rng) {
    // Volume shares: most mail is the domain's own and its vendors'; abuse is many small rows.
    auto x = rng() % 100;
    if (x < 30) return SourceKind::own;
    if (x < 50) return SourceKind::vendor_aligned;
    if (x < 60) return SourceKind::vendor_unaligned;
    if (x < 75) return SourceKind::forwarder;
    if (x < 95) return SourceKind::spoofer;
    return SourceKind::subdomain_spoof;
}

std::string params_key(const Params& p) {
    return fmt::format("records={} days={} seed={} v=1", p.records, p.days, p.seed);
}

bool already_filled(sqlite3* db, const Params& p) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT key FROM bench_params", -1, &st, nullptr) != SQLITE_OK)
        return false;
    bool same = false;
    if (sqlite3_step(st) == SQLITE_ROW)
        same = reinterpret_cast<const char*>(sqlite3_column_text(st, 0)) == params_key(p);
    sqlite3_finalize(st);
    return same;
}

void fill(const Params& p) {
    std::filesystem::remove(p.db);
    std::filesystem::remove(p.db + "-wal");
    std::filesystem::remove(p.db + "-shm");
    auto store = must(store::open_sqlite(p.db), "open store");
    std::mt19937 rng(p.seed);
    auto sources = make_sources(rng);
    std::vector<std::vector<std::size_t>> by_kind(6);
    for (std::size_t i = 0; i < sources.size(); ++i)
        by_kind[static_cast<std::size_t>(sources[i].kind)].push_back(i);

    // Reporters send one report a day each; records split evenly over the reports.
    constexpr int reporters = 40;
    const std::uint64_t reports = static_cast<std::uint64_t>(p.days) * reporters;
    const std::uint64_t per_report = p.records / reports;
    auto started = Clock::now();
    std::uint64_t written = 0;
    for (int day = 0; day < p.days; ++day) {
        for (int rep = 0; rep < reporters; ++rep) {
            report::AggregateHeader h;
            h.schema = report::Schema::none;
            h.version = "1.0";
            h.metadata.org_name = fmt::format("reporter{}.example", rep);
            h.metadata.email = fmt::format("noreply@reporter{}.example", rep);
            h.metadata.report_id = fmt::format("{}-{}", day, rep);
            h.metadata.begin = Timestamp(std::chrono::days(first_day + day));
            h.metadata.end = h.metadata.begin + std::chrono::seconds(86399);
            h.policy.domain = bench_domain;
            h.policy.p = report::Policy::none;
            auto begun = must(store->begin_aggregate(h, {.source = "bench", .ingested_at = {}}),
                              "begin report");
            if (begun.duplicate()) die("unexpected duplicate report");
            store::ReportTotals totals;
            std::uint64_t n = (day == p.days - 1 && rep == reporters - 1)
                                  ? p.records - written
                                  : per_report;
            for (std::uint64_t i = 0; i < n; ++i) {
                const auto& pool = by_kind[static_cast<std::size_t>(pick_kind(rng))];
                auto record = make_record(sources[pool[rng() % pool.size()]], rng);
                totals.messages += record.count;
                must(begun.writer->add(record), "add record");
            }
            totals.records = n;
            written += n;
            must(begun.writer->commit(totals), "commit");
        }
        std::fprintf(stderr, "\rbench_senders: filled day %d/%d (%llu records, %.0f s)", day + 1,
                     p.days, static_cast<unsigned long long>(written),
                     std::chrono::duration<double>(Clock::now() - started).count());
    }
    must(store->flush(), "flush");
    std::fprintf(stderr, "\n");
    store.reset();

    sqlite3* db = nullptr;
    sqlite3_open(p.db.c_str(), &db);
    auto sql = fmt::format("CREATE TABLE bench_params (key TEXT); INSERT INTO bench_params VALUES ('{}');",
                           params_key(p));
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    Params p;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--db") p.db = next();
        else if (a == "--records") p.records = std::stoull(next());
        else if (a == "--days") p.days = std::stoi(next());
        else if (a == "--reps") p.reps = std::stoi(next());
        else if (a == "--seed") p.seed = static_cast<std::uint32_t>(std::stoul(next()));
        else die("unknown argument " + a);
    }
    if (p.db.empty()) die("--db FILE is required");
    if (p.days < 1 || p.reps < 1 || p.records < static_cast<std::uint64_t>(p.days) * 40)
        die("--days, --reps and --records must be positive (records >= 40 per day)");

    bool reuse = false;
    if (std::filesystem::exists(p.db)) {
        sqlite3* db = nullptr;
        if (sqlite3_open(p.db.c_str(), &db) == SQLITE_OK) reuse = already_filled(db, p);
        sqlite3_close(db);
    }
    double fill_seconds = 0;
    if (!reuse) {
        auto t = Clock::now();
        fill(p);
        fill_seconds = std::chrono::duration<double>(Clock::now() - t).count();
    }

    const Timestamp since{std::chrono::days(first_day)};
    const Timestamp until{std::chrono::days(first_day + p.days)};

    // The baseline: a plain aggregate over the raw rows, through SQLite directly.
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(p.db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
        die("cannot open the database read-only");
    sqlite3_exec(raw, "PRAGMA cache_size = -16384", nullptr, nullptr, nullptr);
    const char* baseline_sql =
        "SELECT r.source_ip, SUM(r.count), "
        "SUM(CASE WHEN r.dkim = 'pass' OR r.spf = 'pass' THEN r.count ELSE 0 END) "
        "FROM records r JOIN reports p ON r.report = p.id "
        "WHERE p.policy_domain = ?1 AND p.begin_time >= ?2 AND p.begin_time < ?3 "
        "GROUP BY r.source_ip";
    std::vector<double> baseline, facts, analyse;
    std::size_t baseline_rows = 0, facts_rows = 0, senders_found = 0;
    std::uint64_t baseline_messages = 0, analysed_messages = 0;

    auto store = must(store::open_sqlite(p.db), "open store");
    for (int rep = 0; rep < p.reps; ++rep) {
        {
            auto t = Clock::now();
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(raw, baseline_sql, -1, &st, nullptr) != SQLITE_OK)
                die(sqlite3_errmsg(raw));
            sqlite3_bind_text(st, 1, bench_domain, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, since.time_since_epoch().count());
            sqlite3_bind_int64(st, 3, until.time_since_epoch().count());
            baseline_rows = 0;
            baseline_messages = 0;
            while (sqlite3_step(st) == SQLITE_ROW) {
                ++baseline_rows;
                baseline_messages += static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
            }
            sqlite3_finalize(st);
            baseline.push_back(std::chrono::duration<double>(Clock::now() - t).count());
        }
        {
            auto t = Clock::now();
            auto rows = must(store->source_facts({.domain = bench_domain, .source_ip = {},
                                                  .since = since, .until = until, .by_day = false}),
                             "source_facts");
            facts_rows = rows.size();
            facts.push_back(std::chrono::duration<double>(Clock::now() - t).count());
        }
        {
            auto t = Clock::now();
            senders::AnalyseRequest request;
            request.domain = bench_domain;
            request.since = since;
            request.until = until;
            request.audit_keys = false;
            auto result = must(senders::analyse_domain(*store, nullptr, request,
                                                       [&] { return until; }),
                               "analyse_domain");
            senders_found = result.senders.size();
            analysed_messages = result.messages;
            analyse.push_back(std::chrono::duration<double>(Clock::now() - t).count());
        }
    }
    sqlite3_close(raw);
    if (analysed_messages != baseline_messages)
        die(fmt::format("analysis counted {} messages, the raw rows hold {}", analysed_messages,
                        baseline_messages));

    std::printf(
        "{\"records\": %llu, \"days\": %d, \"reps\": %d, \"fill_seconds\": %.1f, "
        "\"reused_db\": %s, \"messages\": %llu, \"baseline_rows\": %zu, \"rollup_rows\": %zu, "
        "\"senders\": %zu, \"baseline_seconds\": %.3f, \"facts_seconds\": %.3f, "
        "\"analyse_seconds\": %.3f, \"speedup\": %.1f}\n",
        static_cast<unsigned long long>(p.records), p.days, p.reps, fill_seconds,
        reuse ? "true" : "false", static_cast<unsigned long long>(baseline_messages),
        baseline_rows, facts_rows, senders_found, median(baseline), median(facts),
        median(analyse), median(baseline) / median(analyse));
    return 0;
}

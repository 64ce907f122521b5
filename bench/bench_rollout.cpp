// bench_rollout: how long `rampart advance` takes for many domains with months of reports, next to
// one plain `rampart summary` over the same data, both in the same run.
//
// Fills (or reuses) a SQLite store with D domains × N days of aggregate reports (per domain and
// day one report from each of google.com, Yahoo and Outlook.com, 5–10 records each: the domain's
// own servers passing DKIM and SPF, a vendor passing DKIM only, a forwarder, a few spoofers; all
// under p=none, as a domain in its monitoring step sees), written through the store's own
// AggregateWriter. The configuration has one client per 10 domains on the "gradual" plan, each
// declaring its own servers (their /24s and d= domains). Then, R times each, on that database:
//   summary   Store::summarize over everything (what `rampart summary` does): the baseline;
//   enrol     autopilot::advance for every domain on a fresh rollout: each is enrolled, and
//             offline (no resolver) its record cannot be seen live, so the tick publishes the
//             first record into a temporary outbox and waits;
//   judge     every domain is then marked live since 60 days before `now` (untimed), and a
//             second advance judges each from 60 days of evidence: replaying its reports,
//             classifying its senders, deciding, and publishing the next step where it moves.
// `now` is the morning after the last report's day. The rollout history is append-only (the
// schema refuses deletes), so each run works on a fresh copy of the filled database, FILE.run,
// and every run starts from the same state; the copy also brings the file into the page cache.
//
// Usage: bench_rollout --db FILE [--domains D] [--days N] [--reps R] [--seed S] [--out-dir DIR]
// Prints the report; writes DIR/rollout.json (every run, the medians, the ratios, the outcomes).
// The database is reused when it already holds the same parameters (a `bench_params` table).
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autopilot/autopilot.hpp"
#include "config/config.hpp"
#include "publish/publish.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace rampart;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using report::AuthVerdict;
using report::DmarcVerdict;

constexpr std::int64_t first_day = 20'454;  // 2026-01-01 in days since the epoch
constexpr int domains_per_client = 10;
constexpr int judged_days = 60;  // how long every domain has been in its step at the judging pass
constexpr std::array<const char*, 3> reporters{"google.com", "Yahoo", "Outlook.com"};

struct Params {
    std::string db;
    fs::path out_dir = "bench/out";
    int domains = 1000;
    int days = 90;
    int reps = 1;
    std::uint32_t seed = 42;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_rollout: %s\n", message.c_str());
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

// ---- the simulated domains ----------------------------------------------------------------------

std::string client_name(int domain_index) { return fmt::format("client{:03}", domain_index / domains_per_client); }

// Domains sit under their client's domain, so the client's rua address is in the same
// organisational domain and needs no external-destination authorisation (RFC 7489 §7.1).
std::string domain_name(int domain_index) {
    return fmt::format("d{}.{}.example", domain_index % domains_per_client, client_name(domain_index));
}

// Each domain's own servers live in a /24 of their own (64.<i/10>.<i%10>.0/24; --domains is
// capped so the octets stay valid).
std::string own_network(int domain_index) {
    return fmt::format("64.{}.{}.0/24", domain_index / domains_per_client, domain_index % domains_per_client);
}

IpAddress ip(std::string_view text) { return must(IpAddress::parse(text), "ip address"); }

IpAddress own_server(int domain_index, int host) {
    return ip(fmt::format("64.{}.{}.{}", domain_index / domains_per_client, domain_index % domains_per_client, host));
}

report::Record base_record(IpAddress source, std::uint64_t count, const std::string& domain) {
    report::Record r;
    r.source_ip = source;
    r.count = count;
    r.header_from = domain;
    r.disposition = report::Disposition::none;
    return r;
}

void add_dkim(report::Record& r, std::string domain, std::string selector, AuthVerdict result) {
    r.dkim_results.push_back({.domain = std::move(domain), .selector = std::move(selector), .result = result,
                              .human_result = {}});
}

void add_spf(report::Record& r, std::string domain, AuthVerdict result) {
    r.spf_results.push_back({.domain = std::move(domain), .scope = report::SpfScope::mfrom, .result = result,
                             .human_result = {}});
}

/// The domain's own mail servers: aligned DKIM and SPF, most of the volume.
report::Record own_record(const std::string& domain, int domain_index, std::mt19937& rng) {
    auto r = base_record(own_server(domain_index, 10 + static_cast<int>(rng() % 4)), 200 + rng() % 1800, domain);
    r.dkim = r.spf = DmarcVerdict::pass;
    r.envelope_from = domain;
    add_dkim(r, domain, "s1", AuthVerdict::pass);
    add_spf(r, domain, AuthVerdict::pass);
    return r;
}

/// A newsletter vendor signing with the domain's key but bouncing to its own MAIL FROM domain:
/// DMARC passes through DKIM only.
report::Record vendor_record(const std::string& domain, std::mt19937& rng) {
    auto r = base_record(ip(fmt::format("198.51.100.{}", 1 + rng() % 20)), 50 + rng() % 450, domain);
    r.dkim = DmarcVerdict::pass;
    r.spf = DmarcVerdict::fail;
    r.envelope_from = "bounces.vendor.example";
    add_dkim(r, domain, "vendor1", AuthVerdict::pass);
    add_spf(r, "bounces.vendor.example", AuthVerdict::pass);
    return r;
}

/// A mailing list or forwarding mailbox: SPF breaks, DKIM sometimes survives, the reporter
/// notes the ARC result.
report::Record forwarder_record(const std::string& domain, std::mt19937& rng) {
    auto r = base_record(ip(fmt::format("209.85.{}.{}", rng() % 4, 1 + rng() % 200)), 5 + rng() % 45, domain);
    const bool dkim_survived = rng() % 3 == 0;
    r.dkim = dkim_survived ? DmarcVerdict::pass : DmarcVerdict::fail;
    r.spf = DmarcVerdict::fail;
    r.envelope_from = domain;
    add_dkim(r, domain, "s1", dkim_survived ? AuthVerdict::pass : AuthVerdict::fail);
    add_spf(r, domain, AuthVerdict::softfail);
    r.reasons.push_back({.type = report::OverrideType::forwarded, .comment = "arc=pass as.1.google.com=pass"});
    return r;
}

/// Someone forging the domain from a random address: nothing passes, a handful of messages.
report::Record spoofer_record(const std::string& domain, std::mt19937& rng) {
    std::uniform_int_distribution<int> octet(1, 254);
    auto r = base_record(ip(fmt::format("45.{}.{}.{}", octet(rng), octet(rng), octet(rng))), 1 + rng() % 5, domain);
    r.dkim = r.spf = DmarcVerdict::fail;
    r.envelope_from = domain;
    add_spf(r, domain, AuthVerdict::fail);
    return r;
}

/// One reporter's rows for one domain and day: 2–3 own servers, 1–2 vendor and 1–2 forwarder
/// rows, then spoofers up to 5–10 rows.
std::vector<report::Record> report_records(const std::string& domain, int domain_index, std::mt19937& rng) {
    auto between = [&rng](std::size_t lo, std::size_t hi) { return lo + rng() % (hi - lo + 1); };
    std::vector<report::Record> rows;
    const std::size_t wanted = between(5, 10);
    for (std::size_t i = 0, n = between(2, 3); i < n; ++i) rows.push_back(own_record(domain, domain_index, rng));
    for (std::size_t i = 0, n = between(1, 2); i < n; ++i) rows.push_back(vendor_record(domain, rng));
    for (std::size_t i = 0, n = between(1, 2); i < n; ++i) rows.push_back(forwarder_record(domain, rng));
    while (rows.size() < wanted) rows.push_back(spoofer_record(domain, rng));
    return rows;
}

report::AggregateHeader report_header(const std::string& domain, int day, std::size_t reporter) {
    report::AggregateHeader h;
    h.schema = report::Schema::dmarc_0_1;
    h.version = "1.0";
    h.metadata.org_name = reporters[reporter];
    h.metadata.email = fmt::format("noreply-dmarc@{}", reporters[reporter]);
    h.metadata.report_id = fmt::format("{}-{}-{}", domain, day, reporter);
    h.metadata.begin = Timestamp(std::chrono::days(first_day + day));
    h.metadata.end = h.metadata.begin + std::chrono::seconds(86399);
    h.policy.domain = domain;
    h.policy.p = report::Policy::none;  // the monitoring step's record, as receivers saw it
    return h;
}

void write_report(store::Store& store, const std::string& domain, int domain_index, int day, std::size_t reporter,
                  std::mt19937& rng) {
    auto begun = must(store.begin_aggregate(report_header(domain, day, reporter), {.source = "bench", .ingested_at = {}}),
                      "begin report");
    if (begun.duplicate()) die("unexpected duplicate report");
    store::ReportTotals totals;
    for (const auto& record : report_records(domain, domain_index, rng)) {
        totals.messages += record.count;
        ++totals.records;
        must(begun.writer->add(record), "add record");
    }
    must(begun.writer->commit(totals), "commit");
}

// ---- the database -------------------------------------------------------------------------------

void remove_database(const std::string& path) {
    for (const auto& suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
}

std::string params_key(const Params& p) {
    return fmt::format("domains={} days={} seed={} v=1", p.domains, p.days, p.seed);
}

bool already_filled(const Params& p) {
    if (!fs::exists(p.db)) return false;
    sqlite3* db = nullptr;
    bool same = false;
    if (sqlite3_open_v2(p.db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT key FROM bench_params", -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            same = reinterpret_cast<const char*>(sqlite3_column_text(st, 0)) == params_key(p);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return same;
}

void exec_sql(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die(fmt::format("cannot open {}", path));
    char* error = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string why = error ? error : "unknown error";
        sqlite3_free(error);
        sqlite3_close(db);
        die(fmt::format("{}: {}", sql, why));
    }
    sqlite3_close(db);
}

/// Day by day, as reports arrive: every domain's three reports for that day.
void fill(const Params& p) {
    remove_database(p.db);
    auto store = must(store::open_sqlite(p.db), "open store");
    std::mt19937 rng(p.seed);
    std::vector<std::string> names;
    for (int i = 0; i < p.domains; ++i) names.push_back(domain_name(i));
    const auto started = Clock::now();
    for (int day = 0; day < p.days; ++day) {
        for (int i = 0; i < p.domains; ++i)
            for (std::size_t r = 0; r < reporters.size(); ++r)
                write_report(*store, names[static_cast<std::size_t>(i)], i, day, r, rng);
        std::fprintf(stderr, "\rbench_rollout: filled day %d/%d (%.0f s)", day + 1, p.days,
                     std::chrono::duration<double>(Clock::now() - started).count());
    }
    must(store->flush(), "flush");
    std::fprintf(stderr, "\n");
    store.reset();
    exec_sql(p.db, fmt::format("CREATE TABLE bench_params (key TEXT); INSERT INTO bench_params VALUES ('{}');",
                               params_key(p)));
}

/// The database a run works on: a fresh copy of the filled one, so every run starts from no
/// rollout at all whatever an earlier run recorded. A write-ahead log left beside the filled file
/// is part of the database, so it is copied too.
std::string fresh_copy(const std::string& filled) {
    const std::string copy = filled + ".run";
    remove_database(copy);
    fs::copy_file(filled, copy);
    if (fs::exists(filled + "-wal")) fs::copy_file(filled + "-wal", copy + "-wal");
    return copy;
}

// ---- the configuration --------------------------------------------------------------------------

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& item : items) out += fmt::format("{}\"{}\"", out.size() > 1 ? ", " : "", item);
    return out + "]";
}

// Every other client has also declared its newsletter vendor, so that the judging pass sees both
// outcomes: those domains pass every gate and advance (a move, a history entry, a publication),
// the others hold on the vendor as an unknown source of more than 100 messages.
bool declares_vendor(int first_domain) { return (first_domain / domains_per_client) % 2 == 0; }

std::string client_block(int first_domain, int last_domain) {
    std::vector<std::string> domains, networks;
    for (int i = first_domain; i < last_domain; ++i) {
        domains.push_back(domain_name(i));
        networks.push_back(own_network(i));
    }
    const std::string client = client_name(first_domain);
    std::string block = fmt::format(
        "\n[[client]]\nname = \"{0}\"\nrua = [\"mailto:dmarc@{0}.example\"]\ndomains = {1}\n"
        "[[client.sender]]\nname = \"Own servers\"\nips = {2}\ndkim_domains = {1}\nreturn_path_domains = {1}\n",
        client, quoted_list(domains), quoted_list(networks));
    if (declares_vendor(first_domain))
        block += "[[client.sender]]\nname = \"Newsletter vendor\"\nips = [\"198.51.100.0/24\"]\n"
                 "return_path_domains = [\"bounces.vendor.example\"]\n";
    return block;
}

std::string config_text(int domains) {
    std::string text = "[defaults]\nplan = \"gradual\"\n";
    for (int first = 0; first < domains; first += domains_per_client)
        text += client_block(first, std::min(first + domains_per_client, domains));
    return text;
}

// ---- measuring ----------------------------------------------------------------------------------

struct Timing {
    double wall = 0;
    double cpu = 0;  // user + system of the whole process
};

double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <class F>
Timing timed(F&& work) {
    const auto wall = Clock::now();
    const double cpu = process_cpu_seconds();
    work();
    return {std::chrono::duration<double>(Clock::now() - wall).count(), process_cpu_seconds() - cpu};
}

/// What one advance pass decided, domain by domain.
struct Tally {
    std::size_t advanced = 0, held = 0, rolled_back = 0, waited = 0, done = 0;
    std::size_t failed = 0;  // a hold without gates: the domain could not be judged (store error, ...)
    std::map<std::string, std::size_t> held_by_gate;  // the first failing gate of each hold
    std::map<std::string, std::string> example_reason;  // one domain's reason per gate, to read
};

std::string first_failing_gate(const rollout::Decision& decision) {
    for (const auto& gate : decision.gates)
        if (!gate.passed) return gate.gate;
    return "none";
}

Tally tally(const std::vector<autopilot::AdvanceResult>& results) {
    Tally t;
    for (const auto& r : results) {
        switch (r.decision.action) {
            case rollout::Action::advance: ++t.advanced; break;
            case rollout::Action::roll_back: ++t.rolled_back; break;
            case rollout::Action::wait: ++t.waited; break;
            case rollout::Action::done: ++t.done; break;
            case rollout::Action::hold:
                if (r.decision.gates.empty()) {
                    ++t.failed;
                    if (t.failed == 1)
                        std::fprintf(stderr, "bench_rollout: %s not judged: %s\n", r.domain.c_str(),
                                     r.decision.reason.c_str());
                } else {
                    ++t.held;
                    const auto gate = first_failing_gate(r.decision);
                    if (t.held_by_gate[gate]++ == 0) t.example_reason[gate] = r.domain + ": " + r.decision.reason;
                }
                break;
        }
    }
    return t;
}

/// The state a domain reaches once the operator applied its first record and receivers have
/// reported under it for `judged_days`: what a live check would have recorded, backdated.
void mark_entered(store::Store& store, Timestamp entered, Timestamp now) {
    for (auto state : must(store.rollout_states(), "rollout states")) {
        state.entered_at = entered;
        state.updated_at = now;
        state.reason = fmt::format("The record is live since {}.", format_day(entered));
        store::RolloutEvent event{.domain = state.domain, .at = now, .actor = "bench_rollout", .action = "live",
                                  .from_step = state.step, .to_step = state.step,
                                  .old_record = state.previous_record, .new_record = state.record,
                                  .reason = state.reason, .evidence = {}};
        must(store.record_rollout(state, event), "record live");
    }
}

struct Run {
    Timing summary, enrol, judge;
    Tally enrolled, judged;
    std::uint64_t summary_reports = 0;
    std::size_t summary_domains = 0;
};

std::vector<autopilot::AdvanceResult> advance_all(autopilot::Context& context) {
    return must(autopilot::advance(context, {}), "advance");
}

Run run_once(const Params& p, const config::Config& config, Timestamp now, const fs::path& outbox) {
    const std::string db = fresh_copy(p.db);
    fs::remove_all(outbox);
    auto store = must(store::open_sqlite(db), "open store");
    publish::ManualPublisher publisher(outbox);
    autopilot::Context context{.config = config, .store = *store, .resolver = nullptr, .publisher = &publisher,
                               .now = now, .actor = "bench_rollout", .notify = {}};
    Run run;
    std::vector<store::DomainSummary> summary;
    run.summary = timed([&] { summary = must(store->summarize({}), "summarize"); });
    run.summary_domains = summary.size();
    for (const auto& d : summary) run.summary_reports += d.reports;

    std::vector<autopilot::AdvanceResult> results;
    run.enrol = timed([&] { results = advance_all(context); });
    run.enrolled = tally(results);
    mark_entered(*store, now - std::chrono::days(judged_days), now);
    run.judge = timed([&] { results = advance_all(context); });
    run.judged = tally(results);
    store.reset();
    fs::remove_all(outbox);
    remove_database(db);
    return run;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

Timing median_of(const std::vector<Run>& runs, Timing Run::*which) {
    std::vector<double> wall, cpu;
    for (const auto& r : runs) {
        wall.push_back((r.*which).wall);
        cpu.push_back((r.*which).cpu);
    }
    return {median(wall), median(cpu)};
}

// ---- reporting ----------------------------------------------------------------------------------

std::string grouped(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return fmt::format("{} {} {}", one, five, fifteen);
}

nlohmann::json timing_json(Timing t) { return {{"wall_s", t.wall}, {"cpu_s", t.cpu}}; }

nlohmann::json tally_json(const Tally& t) {
    return {{"advanced", t.advanced}, {"held", t.held},     {"rolled_back", t.rolled_back},
            {"waited", t.waited},     {"done", t.done},     {"failed", t.failed},
            {"held_by_gate", t.held_by_gate}, {"example_reason", t.example_reason}};
}

std::string tally_text(const Tally& t) {
    std::string out = fmt::format("advanced {}, held {}, waited {}, rolled back {}, done {}, not judged {}",
                                  t.advanced, t.held, t.waited, t.rolled_back, t.done, t.failed);
    for (const auto& [gate, n] : t.held_by_gate) out += fmt::format("; held on {}: {}", gate, n);
    for (const auto& [gate, reason] : t.example_reason) out += fmt::format("\n  e.g. {}", reason);
    return out;
}

struct Figures {
    Timing summary, enrol, judge;
};

std::string row(const char* name, Timing t, Timing baseline) {
    return fmt::format("| {} | {:.2f} s | {:.2f} s | {:.1f} | {:.1f} |\n", name, t.wall, t.cpu, t.wall / baseline.wall,
                       t.cpu / baseline.cpu);
}

std::string text_report(const Params& p, const store::StoreTotals& totals, double fill_seconds, bool reused,
                        const Figures& f, const Run& last) {
    std::string out = fmt::format(
        "bench_rollout: {} domains ({} clients) x {} days: {} reports, {} records, {} messages, {:.0f} MiB on disk\n"
        "database {} ({}); load average {}; median of {} run{}\n\n",
        p.domains, (p.domains + domains_per_client - 1) / domains_per_client, p.days, grouped(totals.reports),
        grouped(totals.records), grouped(totals.messages),
        static_cast<double>(fs::file_size(p.db)) / (1024.0 * 1024.0), p.db,
        reused ? "reused" : fmt::format("filled in {:.0f} s", fill_seconds), load_average(), p.reps,
        p.reps == 1 ? "" : "s");
    out += "| run | wall | CPU | x summary (wall) | x summary (CPU) |\n| --- | ---: | ---: | ---: | ---: |\n";
    out += row("baseline: one `summarize` over all data (`rampart summary`)", f.summary, f.summary);
    out += row("`advance`, first pass (enrol, publish, wait)", f.enrol, f.summary);
    out += row(fmt::format("`advance`, judging pass ({} days of evidence each)", judged_days).c_str(), f.judge,
               f.summary);
    out += fmt::format("\nper domain: enrol {:.2f} ms, judge {:.2f} ms (wall)\n",
                       1000.0 * f.enrol.wall / p.domains, 1000.0 * f.judge.wall / p.domains);
    out += fmt::format("first pass: {}\njudging pass: {}\n", tally_text(last.enrolled), tally_text(last.judged));
    return out;
}

nlohmann::json results_json(const Params& p, const store::StoreTotals& totals, double fill_seconds, bool reused,
                            const Figures& f, const std::vector<Run>& runs) {
    nlohmann::json every = nlohmann::json::array();
    for (const auto& r : runs)
        every.push_back({{"summary", timing_json(r.summary)}, {"enrol", timing_json(r.enrol)},
                         {"judge", timing_json(r.judge)}, {"enrol_outcome", tally_json(r.enrolled)},
                         {"judge_outcome", tally_json(r.judged)}});
    return {{"domains", p.domains},
            {"days", p.days},
            {"judged_days", judged_days},
            {"reps", p.reps},
            {"seed", p.seed},
            {"reports", totals.reports},
            {"records", totals.records},
            {"messages", totals.messages},
            {"db_bytes", fs::file_size(p.db)},
            {"fill_seconds", fill_seconds},
            {"reused_db", reused},
            {"load_average", load_average()},
            {"runs", every},
            {"median", {{"summary", timing_json(f.summary)}, {"enrol", timing_json(f.enrol)},
                        {"judge", timing_json(f.judge)}}},
            {"judge_over_summary", {{"wall", f.judge.wall / f.summary.wall}, {"cpu", f.judge.cpu / f.summary.cpu}}},
            {"enrol_over_summary", {{"wall", f.enrol.wall / f.summary.wall}, {"cpu", f.enrol.cpu / f.summary.cpu}}}};
}

Params parse_args(int argc, char** argv) {
    Params p;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--db") p.db = next();
        else if (a == "--domains") p.domains = std::stoi(next());
        else if (a == "--days") p.days = std::stoi(next());
        else if (a == "--reps") p.reps = std::stoi(next());
        else if (a == "--seed") p.seed = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--out-dir") p.out_dir = next();
        else die("unknown argument " + a);
    }
    if (p.db.empty()) die("--db FILE is required");
    // The own-server addresses use the domain index in two octets (own_network).
    if (p.domains < 1 || p.domains > 2560) die("--domains must be 1..2560");
    if (p.days <= judged_days) die(fmt::format("--days must exceed the {} judged days", judged_days));
    if (p.reps < 1) die("--reps must be positive");
    return p;
}

/// Checks that the baseline saw every report, and that the first pass enrolled everyone.
void check(const Params& p, const Run& run) {
    const auto expected = static_cast<std::uint64_t>(p.domains) * static_cast<std::uint64_t>(p.days) * reporters.size();
    if (run.summary_domains != static_cast<std::size_t>(p.domains) || run.summary_reports != expected)
        die(fmt::format("summary saw {} domains and {} reports, expected {} and {}", run.summary_domains,
                        run.summary_reports, p.domains, expected));
    if (run.enrolled.waited != static_cast<std::size_t>(p.domains))
        die(fmt::format("the first pass left {} of {} domains waiting", run.enrolled.waited, p.domains));
    if (run.judged.failed != 0) die(fmt::format("{} domains could not be judged", run.judged.failed));
}

}  // namespace

int main(int argc, char** argv) {
    const Params p = parse_args(argc, argv);
    const bool reused = already_filled(p);
    double fill_seconds = 0;
    if (!reused) fill_seconds = timed([&] { fill(p); }).wall;

    const auto config = must(config::parse(config_text(p.domains), "bench-rollout.toml", p.out_dir), "config");
    const Timestamp now = Timestamp(std::chrono::days(first_day + p.days)) + std::chrono::hours(6);
    const fs::path outbox = fs::temp_directory_path() / fmt::format("bench-rollout-outbox-{}", ::getpid());

    std::vector<Run> runs;
    for (int rep = 0; rep < p.reps; ++rep) {
        runs.push_back(run_once(p, config, now, outbox));
        check(p, runs.back());
        std::fprintf(stderr, "bench_rollout: run %d/%d: summary %.2f s, enrol %.2f s, judge %.2f s\n", rep + 1,
                     p.reps, runs.back().summary.wall, runs.back().enrol.wall, runs.back().judge.wall);
    }
    const Figures figures{median_of(runs, &Run::summary), median_of(runs, &Run::enrol), median_of(runs, &Run::judge)};
    const auto totals = must(must(store::open_sqlite(p.db), "open store")->totals(), "totals");

    std::fputs(text_report(p, totals, fill_seconds, reused, figures, runs.back()).c_str(), stdout);
    fs::create_directories(p.out_dir);
    std::ofstream(p.out_dir / "rollout.json") << results_json(p, totals, fill_seconds, reused, figures, runs).dump(2)
                                              << "\n";
    std::printf("bench_rollout: results in %s\n", (p.out_dir / "rollout.json").c_str());
    return 0;
}

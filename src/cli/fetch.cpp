// `rampart fetch`: which mailboxes (command line or rampart.toml), their passwords, and the
// output; the work itself is service::MailboxFetcher.
#include "cli/fetch.hpp"

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/render.hpp"
#include "cli/options.hpp"
#include "config/config.hpp"
#include "mail/imap/imap.hpp"
#include "service/service.hpp"

namespace rampart::cli {
namespace {

namespace fs = std::filesystem;
namespace imap = mail::imap;

constexpr int exit_ok = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;

// Set by SIGTERM/SIGINT during --watch: the fetchers finish the message at hand, flush, file
// the batch and return. A lock-free atomic is safe to store from a signal handler.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void on_stop_signal(int) { stop_requested.store(true); }

/// Installs the handlers for the life of a --watch run.
class StopSignals {
public:
    StopSignals() {
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGTERM, &sa, &old_term_);
        ::sigaction(SIGINT, &sa, &old_int_);
    }
    ~StopSignals() {
        ::sigaction(SIGTERM, &old_term_, nullptr);
        ::sigaction(SIGINT, &old_int_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    struct sigaction old_term_ {
    }, old_int_{};
};

IngestLimits limits(const FetchArgs& args) {
    IngestLimits l;
    l.max_message = args.max_message;
    return l;
}

struct Target {
    imap::ConnectOptions connect;
    imap::Secret password;
    std::string archive = "Archive", invalid = "Invalid";
    std::optional<std::string> client;
};

Result<imap::Secret> password_for(const Target& t, const std::optional<fs::path>& file) {
    if (file) return imap::load_password_file(*file);
    if (const char* env = std::getenv("RAMPART_IMAP_PASSWORD"); env != nullptr && *env != '\0') {
        std::string copy(env);
        return imap::Secret::take(copy);
    }
    return fail(Errc::io,
                fmt::format("no password for {}: give --password-file FILE (mode 0600), "
                            "password_file in the configuration, or set RAMPART_IMAP_PASSWORD",
                            t.connect.url.identity()));
}

/// The mailboxes to read, with everything needed to log in, or the first reason not to start.
Result<std::vector<Target>> resolve(const FetchArgs& args,
                                    const std::optional<config::Config>& cfg) {
    struct Source {
        std::string url;
        const config::MailboxConfig* entry = nullptr;
        Location where;
    };
    std::vector<Source> sources;
    if (!args.urls.empty()) {
        for (std::size_t i = 0; i < args.urls.size(); ++i)
            sources.push_back(
                {args.urls[i], nullptr, Location{.source = fmt::format("mailbox URL {}", i + 1)}});
    } else if (cfg) {
        for (const auto& m : cfg->mailboxes) sources.push_back({m.url, &m, m.where});
    }
    if (sources.empty())
        return fail(Errc::malformed,
                    "no mailbox: give a URL such as imaps://user@host/INBOX, or list [[mailbox]] "
                    "entries in rampart.toml (--config FILE, $RAMPART_CONFIG)");
    std::vector<Target> out;
    for (auto& s : sources) {
        auto url = imap::parse_url(s.url);
        if (!url) {
            Error e = std::move(url.error());
            e.where = s.where;
            return std::unexpected(std::move(e));
        }
        // A URL on the command line takes the settings of the configured mailbox it names.
        if (s.entry == nullptr && cfg)
            for (const auto& m : cfg->mailboxes)
                if (auto u = imap::parse_url(m.url); u && u->identity() == url->identity())
                    s.entry = &m;
        for (const auto& t : out)
            if (t.connect.url.identity() == url->identity())
                return fail(Errc::malformed,
                            fmt::format("the mailbox {} is listed twice", url->identity()),
                            s.where);
        Target t;
        t.connect.url = std::move(*url);
        std::optional<fs::path> password_file;
        if (!args.password_file.empty())
            password_file = args.password_file;
        else if (s.entry && s.entry->password_file)
            password_file = s.entry->password_file;
        if (!args.ca_file.empty())
            t.connect.ca_file = args.ca_file;
        else if (s.entry && s.entry->ca_file)
            t.connect.ca_file = s.entry->ca_file;
        t.connect.verify_tls = !(args.insecure || (s.entry && s.entry->insecure));
        if (!args.archive.empty())
            t.archive = args.archive;
        else if (s.entry && s.entry->archive)
            t.archive = *s.entry->archive;
        if (!args.invalid.empty())
            t.invalid = args.invalid;
        else if (s.entry && s.entry->invalid)
            t.invalid = *s.entry->invalid;
        if (s.entry) t.client = s.entry->client;
        auto password = password_for(t, password_file);
        if (!password) return std::unexpected(std::move(password.error()));
        t.password = std::move(*password);
        out.push_back(std::move(t));
    }
    return out;
}

struct MailboxRun {
    std::string mailbox;
    std::optional<std::string> client;
    service::FetchOutcome outcome;
    std::optional<Error> error;
};

class Log {
public:
    explicit Log(std::FILE* err) : err_(err) {}
    void operator()(std::string_view line) {
        std::lock_guard lock(mutex_);
        fmt::print(err_, "rampart: {}\n", printable(line));
        std::fflush(err_);
    }

private:
    std::FILE* err_;
    std::mutex mutex_;
};

/// Reads the targets one after another into one ingester.
void fetch_all(std::vector<Target*> targets, service::Ingester& ingester, const FetchArgs& args,
               const Environment& env, Log& log, std::vector<MailboxRun*> runs) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
        auto& t = *targets[i];
        auto& run = *runs[i];
        if (stop_requested.load()) break;
        service::MailboxFetchOptions options{.mailbox = t.connect.url.identity(),
                                             .folder = t.connect.url.folder,
                                             .archive = t.archive,
                                             .invalid = t.invalid,
                                             .move = !args.no_move};
        service::FetchLoop loop;
        loop.connect = [&] { return env.connect_imap(t.connect, t.password); };
        loop.stop = [] { return stop_requested.load(); };
        loop.sleep = [](std::chrono::milliseconds d) {
            auto until = std::chrono::steady_clock::now() + d;
            while (!stop_requested.load() && std::chrono::steady_clock::now() < until)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        };
        loop.now = env.now;
        loop.log = [&log](std::string_view line) { log(line); };
        loop.watch = args.watch;
        loop.poll_interval = std::chrono::seconds(std::max(1u, args.poll_interval));
        service::MailboxFetcher fetcher(ingester, limits(args), std::move(options),
                                        std::move(loop));
        auto r = fetcher.run();
        run.outcome = fetcher.outcome();
        if (!r) {
            run.error = r.error();
            log(r.error().describe());
        }
    }
}

void add(service::IngestOutcome& sum, const service::IngestOutcome& o) {
    sum.reports_new += o.reports_new;
    sum.reports_duplicate += o.reports_duplicate;
    sum.failure_reports_new += o.failure_reports_new;
    sum.failure_reports_duplicate += o.failure_reports_duplicate;
    sum.records += o.records;
    sum.messages += o.messages;
    sum.emails += o.emails;
    sum.inputs += o.inputs;
    sum.rejected.insert(sum.rejected.end(), o.rejected.begin(), o.rejected.end());
}

}  // namespace

CLI::App* add_fetch_command(CLI::App& app, FetchArgs& args) {
    auto* cmd = app.add_subcommand(
        "fetch",
        "Store the reports in IMAP mailboxes (URLs, else the [[mailbox]] entries of "
        "rampart.toml), then file each message in Archive or Invalid");
    cmd->add_option("urls", args.urls, "imaps://user@host[:port]/folder or imap://… (STARTTLS)");
    cmd->add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    cmd->add_flag("--json", args.json, "Print one JSON object instead of a summary line");
    cmd->add_option("--password-file", args.password_file,
                    "File holding the password (mode 0600); else $RAMPART_IMAP_PASSWORD");
    cmd->add_option("--ca-file", args.ca_file, "Also trust this CA certificate (PEM)");
    cmd->add_flag("--insecure", args.insecure, "Do not verify the server's certificate");
    cmd->add_option("--archive", args.archive,
                    "Folder for messages with a report (default Archive)");
    cmd->add_option("--invalid", args.invalid, "Folder for the other messages (default Invalid)");
    cmd->add_flag("--no-move", args.no_move,
                  "Leave messages where they are; remember them in the database instead");
    cmd->add_flag("--watch", args.watch,
                  "Keep going: IDLE (or poll) for new messages until SIGTERM or SIGINT");
    cmd->add_option("--poll-interval", args.poll_interval,
                    "Seconds between polls without IDLE, and between IDLE restarts")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u));
    cmd->add_option("--max-message", args.max_message,
                    "File as invalid, unread, any message larger than this many bytes")
        ->capture_default_str();
    cmd->add_option("--config", args.config,
                    "Configuration file (default $RAMPART_CONFIG, else ./rampart.toml if present)");
    return cmd;
}

int run_fetch(const FetchArgs& args, const Environment& env) {
    Log log(env.err);
    auto cfg = load_config(args.config);
    if (!cfg) {
        log(cfg.error().describe());
        return exit_usage;
    }
    auto targets = resolve(args, *cfg);
    if (!targets) {
        log(targets.error().describe());
        return exit_usage;
    }
    if (!env.connect_imap) {
        log("this build cannot connect to IMAP servers");
        return exit_usage;
    }
    auto path = database_path(args.db);
    std::optional<StopSignals> signals;
    if (args.watch) signals.emplace();

    std::vector<MailboxRun> runs(targets->size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
        runs[i].mailbox = (*targets)[i].connect.url.identity();
        runs[i].client = (*targets)[i].client;
    }
    service::IngestOutcome total;
    bool failed = false;
    // One store and one ingester read the mailboxes in turn; watching several at once takes a
    // thread, a store connection and an ingester each (SQLite serialises their commits).
    std::size_t lanes = args.watch ? targets->size() : 1;
    std::vector<std::thread> threads;
    std::mutex total_mutex;
    // The stores are opened here, one after another, before any thread starts: opening runs
    // the schema migrations, which must not race each other on a new database.
    std::vector<std::unique_ptr<store::Store>> stores;
    for (std::size_t i = 0; i < lanes; ++i) {
        auto store = env.open_store(path);
        if (!store) {
            log(store.error().describe());
            return exit_usage;
        }
        stores.push_back(std::move(*store));
    }
    auto lane = [&](std::size_t index) {
        std::vector<Target*> mine;
        std::vector<MailboxRun*> my_runs;
        for (std::size_t i = index; i < targets->size(); i += lanes) {
            mine.push_back(&(*targets)[i]);
            my_runs.push_back(&runs[i]);
        }
        service::Ingester ingester(*stores[index], limits(args), env.now());
        fetch_all(mine, ingester, args, env, log, my_runs);
        auto finished = ingester.finish();
        std::lock_guard lock(total_mutex);
        if (!finished) {
            log(finished.error().describe());
            failed = true;
        }
        add(total, ingester.outcome());
    };
    if (lanes == 1) {
        lane(0);
    } else {
        for (std::size_t i = 0; i < lanes; ++i) threads.emplace_back(lane, i);
        for (auto& t : threads) t.join();
    }

    service::FetchOutcome sum;
    for (const auto& r : runs) {
        sum.messages_seen += r.outcome.messages_seen;
        sum.messages_moved += r.outcome.messages_moved;
        sum.messages_archived += r.outcome.messages_archived;
        sum.messages_invalid += r.outcome.messages_invalid;
        sum.messages_skipped += r.outcome.messages_skipped;
        if (r.error) failed = true;
    }
    if (args.json) {
        auto doc = ingest_json(total);
        doc["messages_seen"] = sum.messages_seen;
        doc["messages_moved"] = sum.messages_moved;
        doc["messages_archived"] = sum.messages_archived;
        doc["messages_invalid"] = sum.messages_invalid;
        doc["messages_skipped"] = sum.messages_skipped;
        auto list = nlohmann::json::array();
        for (const auto& r : runs) {
            nlohmann::json m = {{"mailbox", r.mailbox},
                                {"messages_seen", r.outcome.messages_seen},
                                {"messages_moved", r.outcome.messages_moved},
                                {"messages_invalid", r.outcome.messages_invalid},
                                {"messages_skipped", r.outcome.messages_skipped},
                                {"reconnects", r.outcome.reconnects}};
            m["client"] = r.client ? nlohmann::json(*r.client) : nlohmann::json(nullptr);
            m["error"] = r.error ? nlohmann::json(r.error->describe()) : nlohmann::json(nullptr);
            list.push_back(std::move(m));
        }
        doc["mailboxes"] = std::move(list);
        print_json(env.out, doc);
    } else {
        for (const auto& r : total.rejected)
            fmt::print(env.err, "rampart: refused {}: {}\n", printable(r.path),
                       printable(r.reason));
        auto line = ingest_line(total);
        line += fmt::format("; {} message{} fetched, {} moved", grouped(sum.messages_seen),
                            sum.messages_seen == 1 ? "" : "s", grouped(sum.messages_moved));
        if (sum.messages_skipped > 0)
            line += fmt::format(", {} already seen", grouped(sum.messages_skipped));
        fmt::print(env.out, "{}\n", line);
    }
    std::fflush(env.out);
    if (failed) return exit_usage;
    return total.rejected.empty() && sum.messages_invalid == 0 ? exit_ok : exit_rejected;
}

}  // namespace rampart::cli

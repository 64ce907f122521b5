#include "cli/export.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "digest/digest.hpp"
#include "dmarc/dmarc.hpp"
#include "parsedmarc/parsedmarc.hpp"

namespace rampart::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using std::chrono::days;
using std::chrono::floor;

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;


/// A file written whole or not at all: the text goes to a temporary file beside `path`, which
/// replaces `path` only on commit(), so a reader never sees half a page or half an export.
class AtomicFile {
public:
    static Result<AtomicFile> open(const fs::path& path) {
        AtomicFile f;
        f.path_ = path;
        f.temp_ = path;
        f.temp_ += fmt::format(".tmp-{}", ::getpid());
        f.file_ = std::fopen(f.temp_.c_str(), "wb");
        if (f.file_ == nullptr) {
            return fail(Errc::io,
                        fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
        }
        return f;
    }
    AtomicFile() = default;
    AtomicFile(AtomicFile&& other) noexcept
        : path_(std::move(other.path_)),
          temp_(std::move(other.temp_)),
          file_(std::exchange(other.file_, nullptr)) {}
    AtomicFile& operator=(AtomicFile&&) = delete;
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile() {
        if (file_ == nullptr) return;
        std::fclose(file_);
        std::error_code ec;
        fs::remove(temp_, ec);
    }

    std::FILE* file() const noexcept { return file_; }

    Result<void> commit() {
        std::FILE* f = std::exchange(file_, nullptr);
        const bool written = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        const int saved = errno;
        const bool closed = std::fclose(f) == 0;
        std::error_code ec;
        if (!written || !closed) {
            fs::remove(temp_, ec);
            return fail(Errc::io, fmt::format("cannot write {}: {}", path_.string(),
                                              std::strerror(written ? errno : saved)));
        }
        fs::rename(temp_, path_, ec);
        if (ec) {
            fs::remove(temp_, ec);
            return fail(Errc::io, fmt::format("cannot write {}: {}", path_.string(), ec.message()));
        }
        return {};
    }

private:
    fs::path path_, temp_;
    std::FILE* file_ = nullptr;
};

// ---- export ---------------------------------------------------------------------------------

int run_export_to(std::FILE* out, parsedmarc::Format format, const store::ReportQuery& query,
                  store::Store& store, const Environment& env, std::uint64_t& reports) {
    // The identity cache is an enrichment: a source without a cached identity, or a cache that
    // cannot be read, gives null reverse_dns/base_domain, never a failed export.
    parsedmarc::SourceLookup lookup = [&store](std::string_view ip) {
        parsedmarc::SourceInfo info;
        auto id = store.identity(ip);
        if (id && id->has_value() && (*id)->ptr && !(*id)->ptr->empty()) {
            info.reverse_dns = *(*id)->ptr;
            info.base_domain = dmarc::org_domain_by_psl(*(*id)->ptr);
        }
        return info;
    };
    parsedmarc::Writer writer(out, format, std::move(lookup));
    if (auto r = store.replay_aggregates(query, writer); !r) {
        error_line(env, r.error().describe());
        return exit_usage;
    }
    auto n = writer.finish();
    if (!n) {
        error_line(env, n.error().describe());
        return exit_usage;
    }
    reports = *n;
    return exit_ok;
}

}  // namespace

CLI::App* add_export_command(CLI::App& app, ExportArgs& args) {
    auto* cmd = app.add_subcommand(
        "export", "Write the stored aggregate reports in another tool's format (parsedmarc)");
    cmd->add_option("--format", args.format, "parsedmarc-json or parsedmarc-csv")->required();
    cmd->add_option("--domain", args.domain, "Only this policy domain");
    cmd->add_option("--since", args.since, "Reports whose period begins on or after (YYYY-MM-DD)");
    cmd->add_option("--until", args.until, "Reports whose period begins on or before (YYYY-MM-DD)");
    cmd->add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    cmd->add_option("--output", args.output, "Write to this file instead of standard output");
    return cmd;
}

int run_export(const ExportArgs& args, const Environment& env) {
    auto format = parsedmarc::parse_format(args.format);
    if (!format) {
        error_line(env, fmt::format("--format: \"{}\" is not one of parsedmarc-json, "
                                    "parsedmarc-csv",
                                    printable(args.format)));
        return exit_usage;
    }
    store::ReportQuery query;
    if (!args.domain.empty()) query.domain = ascii_lower(args.domain);
    if (!args.since.empty()) {
        auto t = parse_date(args.since);
        if (!t) {
            error_line(env, fmt::format("--since: {}", t.error().reason));
            return exit_usage;
        }
        query.since = *t;
    }
    if (!args.until.empty()) {
        auto t = parse_date(args.until);
        if (!t) {
            error_line(env, fmt::format("--until: {}", t.error().reason));
            return exit_usage;
        }
        // A bare date includes that whole day, as in `rampart summary`.
        query.until = trim(args.until).size() == 10 ? *t + days{1} : *t;
    }
    auto store = open_existing_store(args.db, env);
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    std::uint64_t reports = 0;
    if (args.output.empty()) return run_export_to(env.out, *format, query, **store, env, reports);

    auto file = AtomicFile::open(args.output);
    if (!file) {
        error_line(env, file.error().describe());
        return exit_usage;
    }
    if (int status = run_export_to(file->file(), *format, query, **store, env, reports);
        status != exit_ok)
        return status;
    if (auto r = file->commit(); !r) {
        error_line(env, r.error().describe());
        return exit_usage;
    }
    return exit_ok;
}

// ---- digest ---------------------------------------------------------------------------------

namespace {

ordered_json digest_json(const digest::Digest& d) {
    ordered_json domains = ordered_json::array();
    for (const auto& dd : d.domains) {
        const auto& a = dd.analysis;
        ordered_json series = ordered_json::array();
        for (const auto& p : dd.days) {
            series.push_back(
                {{"day", format_day(p.day)}, {"messages", p.messages}, {"dmarc_pass", p.dmarc_pass}});
        }
        ordered_json actions = ordered_json::array();
        for (const auto& s : a.senders) {
            if (s.cls == senders::SenderClass::passing) continue;
            actions.push_back(
                {{"sender", s.name},
                 {"class", senders::to_string(s.cls)},
                 {"messages", s.messages},
                 {"dmarc_pass", s.dmarc_pass},
                 {"action", s.action},
                 {"decision", s.decision ? ordered_json(*s.decision) : ordered_json()},
                 {"due",
                  s.due ? ordered_json(format_day(std::chrono::sys_days{*s.due})) : ordered_json()}});
        }
        domains.push_back({{"domain", a.domain},
                           {"messages", a.messages},
                           {"dmarc_pass", a.dmarc_pass},
                           {"previous_messages", dd.previous_messages},
                           {"previous_pass", dd.previous_pass},
                           {"days", std::move(series)},
                           {"new_senders", dd.new_senders},
                           {"open_actions", std::move(actions)},
                           {"notes", a.notes}});
    }
    return {{"client", d.client},
            {"contact", d.contact},
            {"since", format_day(d.since)},
            {"until", format_day(d.until)},
            {"domains", std::move(domains)}};
}

std::string client_list(const config::Config& config) {
    std::string names;
    for (const auto& c : config.clients) {
        if (!names.empty()) names += ", ";
        names += printable(c.name);
    }
    return names;
}

}  // namespace

CLI::App* add_digest_command(CLI::App& app, DigestArgs& args) {
    auto* cmd = app.add_subcommand(
        "digest", "A client's summary: volume, DMARC pass rate, new senders and open actions");
    cmd->add_option("client", args.client, "The client's name in rampart.toml ([[client]])")
        ->required();
    cmd->add_option("--since", args.since,
                    "First day included: YYYY-MM-DD, or Nd for the N days before --until")
        ->capture_default_str();
    cmd->add_option("--until", args.until,
                    "First day NOT included: YYYY-MM-DD (default: today, so up to yesterday)");
    cmd->add_option("--html", args.html, "Also write the digest as one HTML page to this file");
    cmd->add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    cmd->add_option("--config", args.config,
                    "rampart.toml with the clients (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*cmd, args.dns);
    cmd->add_flag("--offline", args.offline, "Ask no DNS: identities from the database's cache");
    cmd->add_flag("--json", args.json, "Print JSON instead of text");
    return cmd;
}

int run_digest(const DigestArgs& args, const Environment& env) {
    const auto now = env.now;
    Timestamp until = floor<days>(now());
    if (!args.until.empty()) {
        auto t = parse_date(args.until);
        if (!t) {
            error_line(env, fmt::format("--until: {}", t.error().reason));
            return exit_usage;
        }
        until = floor<days>(*t);
    }
    auto since = parse_start_day(args.since, until, "7d");
    if (!since) {
        error_line(env, fmt::format("--since: {}", since.error().reason));
        return exit_usage;
    }
    if (until <= *since) {
        error_line(env, fmt::format("the period is empty: --until {} is not after --since {}",
                                    format_day(until), format_day(*since)));
        return exit_usage;
    }

    auto config = load_config(args.config);
    if (!config) {
        error_line(env, config.error().describe());
        return exit_usage;
    }
    if (!*config) {
        error_line(env,
                   "no configuration: the digest needs the client's [[client]] entry in "
                   "rampart.toml (--config FILE, $RAMPART_CONFIG or ./rampart.toml)");
        return exit_usage;
    }
    const auto& cfg = **config;
    if (cfg.client(args.client) == nullptr) {
        error_line(env, cfg.clients.empty()
                            ? fmt::format("no client named \"{}\": {} configures no [[client]]",
                                          printable(args.client), cfg.path.string())
                            : fmt::format("no client named \"{}\"; configured clients: {}",
                                          printable(args.client), client_list(cfg)));
        return exit_usage;
    }

    std::unique_ptr<dns::Resolver> resolver;
    if (!args.offline) {
        auto r = open_dns(args.dns, *config, env);
        if (!r) {
            error_line(env, r.error().describe());
            return exit_usage;
        }
        resolver = std::move(*r);
    }
    auto store = open_existing_store(args.db, env);
    if (!store) {
        error_line(env, store.error().describe());
        return exit_usage;
    }
    auto d = digest::build(**store, resolver.get(), cfg, args.client, *since, until, now);
    if (!d) {
        error_line(env, d.error().describe());
        return exit_usage;
    }

    if (!args.html.empty()) {
        auto file = AtomicFile::open(args.html);
        if (!file) {
            error_line(env, file.error().describe());
            return exit_usage;
        }
        const auto page = digest::render_html(*d);
        if (std::fwrite(page.data(), 1, page.size(), file->file()) != page.size()) {
            error_line(env, fmt::format("cannot write {}: {}", args.html, std::strerror(errno)));
            return exit_usage;
        }
        if (auto r = file->commit(); !r) {
            error_line(env, r.error().describe());
            return exit_usage;
        }
    }
    if (args.json) {
        print_json(env.out, digest_json(*d));
    } else {
        std::fputs(digest::render_text(*d).c_str(), env.out);
    }
    return exit_ok;
}

}  // namespace rampart::cli

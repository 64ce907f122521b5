// The rollout commands: see rollout.hpp for the contract.
#include "cli/rollout.hpp"

#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autopilot/autopilot.hpp"
#include "cli/options.hpp"
#include "notify/notify.hpp"
#include "publish/publish.hpp"

namespace rampart::cli {
namespace {

using nlohmann::ordered_json;

constexpr int exit_ok = 0;
constexpr int exit_attention = 1;
constexpr int exit_usage = 2;

void add_common(CLI::App& command, RolloutArgs& args) {
    command.add_option("--db", args.db, "SQLite database (default $RAMPART_DB or rampart.db)");
    command.add_option("--config", args.config, "Configuration file (default $RAMPART_CONFIG or ./rampart.toml)");
    command.add_option("--now", args.now, "Take this as the current time (YYYY-MM-DD or RFC 3339)");
    command.add_flag("--json", args.json, "Print JSON");
}

/// Everything a rollout command works with, opened from the arguments.
struct Opened {
    config::Config config;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<publish::Publisher> publisher;
    Timestamp now{};
};

std::optional<Opened> open_all(const RolloutArgs& args, const Environment& env, bool want_dns) {
    Opened out;
    auto config = load_config(args.config);
    if (!config) {
        error_line(env, config.error().describe());
        return std::nullopt;
    }
    if (!*config) {
        error_line(env, "the rollout needs a configuration listing the clients and their domains "
                        "(--config, $RAMPART_CONFIG or ./rampart.toml)");
        return std::nullopt;
    }
    out.config = std::move(**config);
    out.now = env.now();
    if (!args.now.empty()) {
        auto now = parse_date(args.now);
        if (!now) {
            error_line(env, fmt::format("--now: {}", now.error().reason));
            return std::nullopt;
        }
        out.now = *now;
    }
    const auto db = database_path(args.db);
    auto store = env.open_store(db);
    if (!store) {
        error_line(env, store.error().describe());
        return std::nullopt;
    }
    out.store = std::move(*store);
    if (want_dns && !args.offline) {
        auto resolver = open_dns(args.dns, out.config, env);
        if (!resolver) {
            error_line(env, resolver.error().describe());
            return std::nullopt;
        }
        out.resolver = std::move(*resolver);
    }
    const std::filesystem::path outbox =
        args.outbox.empty() ? (db.has_parent_path() ? db.parent_path() : std::filesystem::path(".")) / "outbox"
                            : std::filesystem::path(args.outbox);
    out.publisher = std::make_unique<publish::ManualPublisher>(outbox);
    return out;
}

std::optional<notify::Event> event_of(std::string_view name) {
    for (auto e : {notify::Event::milestone, notify::Event::hold, notify::Event::rollback,
                   notify::Event::new_unknown_sender, notify::Event::advance}) {
        if (notify::to_string(e) == name) return e;
    }
    return std::nullopt;
}

/// Sends a notice to the client: by e-mail to its contacts through [notify.smtp], and to its
/// webhook. Every channel is tried; the failures are reported together.
Result<void> tell_client(const config::Config& config, const autopilot::Notice& notice, Timestamp now) {
    const config::ClientConfig* client = config.client(notice.client);
    if (client == nullptr) return {};
    notify::Dispatcher dispatcher;
    if (config.smtp && !client->contact.empty())
        dispatcher.add("e-mail", std::make_unique<notify::SmtpChannel>(*config.smtp, [now] { return now; }),
                       client->contact);
    if (client->webhook) dispatcher.add("webhook", std::make_unique<notify::WebhookChannel>(*client->webhook));
    if (dispatcher.size() == 0) return {};
    notify::Notification n{.event = event_of(notice.event).value_or(notify::Event::advance),
                           .client = notice.client,
                           .domain = notice.domain,
                           .old_record = notice.old_record,
                           .new_record = notice.new_record,
                           .step = notice.step,
                           .reason = notice.reason,
                           .at = notice.at,
                           .details = notice.details};
    std::string failures;
    for (const auto& delivery : dispatcher.send(n)) {
        if (!delivery.outcome)
            failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", delivery.channel,
                                    delivery.outcome.error().reason);
    }
    if (!failures.empty()) return fail(Errc::io, failures);
    return {};
}

autopilot::Context context_of(Opened& o) {
    const config::Config* config = &o.config;
    const Timestamp now = o.now;
    return autopilot::Context{.config = o.config,
                              .store = *o.store,
                              .resolver = o.resolver.get(),
                              .publisher = o.publisher.get(),
                              .now = o.now,
                              .actor = "rampart",
                              .notify = [config, now](const autopilot::Notice& notice) {
                                  return tell_client(*config, notice, now);
                              }};
}

ordered_json or_null(const std::optional<std::string>& v) { return v ? ordered_json(*v) : ordered_json(); }

ordered_json status_json(const autopilot::DomainStatus& s) {
    return {{"domain", s.domain},
            {"client", s.client},
            {"plan", s.plan},
            {"step", s.step},
            {"record", s.record},
            {"since", s.since ? ordered_json(format_timestamp(*s.since)) : ordered_json()},
            {"state", s.state},
            {"reason", s.reason},
            {"next_step", or_null(s.next_step)},
            {"earliest_next", s.earliest_next ? ordered_json(format_day(*s.earliest_next)) : ordered_json()},
            {"pending", s.pending},
            {"held", s.held}};
}

std::string status_text(const autopilot::DomainStatus& s) {
    std::string out = fmt::format("{} ({}, plan {}): {} — {}\n", s.domain, s.client, s.plan, s.step, s.state);
    out += fmt::format("  record: {}{}\n", s.record, s.pending ? "  (not live yet)" : "");
    if (s.since) out += fmt::format("  since:  {}\n", format_day(*s.since));
    out += fmt::format("  why:    {}\n", s.reason);
    if (s.next_step)
        out += fmt::format("  next:   {}{}\n", *s.next_step,
                           s.earliest_next ? fmt::format(", not before {}", format_day(*s.earliest_next)) : "");
    return out;
}

int print_statuses(const std::vector<autopilot::DomainStatus>& list, const RolloutArgs& args, const Environment& env) {
    if (args.json) {
        ordered_json domains = ordered_json::array();
        for (const auto& s : list) domains.push_back(status_json(s));
        print_json(env.out, ordered_json{{"domains", std::move(domains)}});
    } else {
        for (std::size_t i = 0; i < list.size(); ++i)
            std::fputs(((i ? "\n" : "") + status_text(list[i])).c_str(), env.out);
        if (list.empty()) std::fputs("No domain is configured: list them under [[client]] domains.\n", env.out);
    }
    return exit_ok;
}

int usage_or_error(const Error& error, const Environment& env) {
    error_line(env, error.describe());
    return exit_usage;
}

int run_status(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, false);
    if (!opened) return exit_usage;
    auto context = context_of(*opened);
    auto list = autopilot::status(context, args.domain.empty() ? std::nullopt : std::optional(args.domain));
    if (!list) return usage_or_error(list.error(), env);
    return print_statuses(*list, args, env);
}

ordered_json advance_json(const autopilot::AdvanceResult& r) {
    ordered_json gates = ordered_json::array();
    for (const auto& g : r.decision.gates) gates.push_back({{"gate", g.gate}, {"passed", g.passed}, {"detail", g.detail}});
    ordered_json published;
    if (r.published) {
        std::vector<std::string> files;
        for (const auto& f : r.published->files) files.push_back(f.string());
        published = {{"status", publish::to_string(r.published->status)},
                     {"detail", r.published->detail},
                     {"files", files}};
    }
    return {{"domain", r.domain},
            {"client", r.client},
            {"action", rollout::to_string(r.decision.action)},
            {"step", r.step},
            {"reason", r.decision.reason},
            {"old_record", r.old_record},
            {"new_record", r.new_record},
            {"published", published},
            {"went_live", r.went_live},
            {"gates", gates},
            {"notes", r.notes}};
}

int run_advance(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, true);
    if (!opened) return exit_usage;
    auto context = context_of(*opened);
    autopilot::AdvanceOptions options{.domain = args.domain.empty() ? std::nullopt : std::optional(args.domain),
                                      .dry_run = args.dry_run};
    auto results = autopilot::advance(context, options);
    if (!results) return usage_or_error(results.error(), env);
    bool attention = false;
    for (const auto& r : *results)
        attention = attention || r.decision.action == rollout::Action::hold ||
                    r.decision.action == rollout::Action::roll_back;
    if (args.json) {
        ordered_json domains = ordered_json::array();
        for (const auto& r : *results) domains.push_back(advance_json(r));
        print_json(env.out, ordered_json{{"dry_run", args.dry_run}, {"domains", std::move(domains)}});
    } else {
        for (const auto& r : *results) {
            std::string line = fmt::format("{}: {} — {}\n", r.domain, rollout::to_string(r.decision.action),
                                           r.decision.reason);
            if (!r.new_record.empty()) line += fmt::format("  new record: {}\n", r.new_record);
            if (r.published) line += fmt::format("  {}\n", r.published->detail);
            for (const auto& note : r.notes) line += fmt::format("  note: {}\n", note);
            std::fputs(line.c_str(), env.out);
        }
        if (args.dry_run) std::fputs("(dry run: nothing was changed or published)\n", env.out);
    }
    return attention ? exit_attention : exit_ok;
}

int run_manual(const RolloutCommands& commands, const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, false);
    if (!opened) return exit_usage;
    auto context = context_of(*opened);
    context.actor = "operator";
    Result<autopilot::DomainStatus> done = fail(Errc::malformed, "no command");
    if (*commands.hold) done = autopilot::hold(context, args.domain, args.reason);
    if (*commands.resume) done = autopilot::resume(context, args.domain);
    if (*commands.set) done = autopilot::set_step(context, args.domain, args.step, args.reason);
    if (!done) return usage_or_error(done.error(), env);
    return print_statuses({*done}, args, env);
}

int run_plan(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, false);
    if (!opened) return exit_usage;
    auto context = context_of(*opened);
    auto view = autopilot::plan_view(context, args.domain);
    if (!view) return usage_or_error(view.error(), env);
    const auto& sched = view->schedule;
    if (args.json) {
        ordered_json steps = ordered_json::array();
        for (const auto& s : sched.steps) {
            const auto& step = view->plan.steps[s.step];
            auto record = rollout::record_text(step.shape, {}, view->plan.generation);
            steps.push_back({{"step", step.name},
                             {"record", record ? *record : std::string()},
                             {"min_days", step.min_days},
                             {"typical_days", step.typical_days},
                             {"earliest", format_day(s.earliest)},
                             {"planned", format_day(s.planned)},
                             {"milestone", step.milestone},
                             {"current", step.name == view->status.step}});
        }
        ordered_json target;
        if (view->target)
            target = fmt::format("{}@{}", dmarc::to_string(view->target->policy), format_day(view->target->by));
        print_json(env.out, ordered_json{{"domain", view->status.domain},
                                         {"plan", view->plan.name},
                                         {"step", view->status.step},
                                         {"target", target},
                                         {"feasible", sched.feasible},
                                         {"explanation", sched.explanation},
                                         {"steps", steps}});
    } else {
        std::string out = fmt::format("{}: plan {}, now at {} ({})\n", view->status.domain, view->plan.name,
                                      view->status.step, view->status.state);
        if (view->target)
            out += fmt::format("target: {} by {}\n", dmarc::to_string(view->target->policy), format_day(view->target->by));
        out += fmt::format("{}\n\n{:<18} {:<12} {:<12} {}\n", sched.explanation, "STEP", "EARLIEST", "PLANNED", "POLICY");
        for (const auto& s : sched.steps) {
            const auto& step = view->plan.steps[s.step];
            out += fmt::format("{:<18} {:<12} {:<12} {}{}{}\n", step.name, format_day(s.earliest), format_day(s.planned),
                               rollout::describe(step.shape), step.milestone ? "  [milestone]" : "",
                               step.name == view->status.step ? "  <- now" : "");
        }
        std::fputs(out.c_str(), env.out);
    }
    return sched.feasible ? exit_ok : exit_attention;
}

double one_decimal(double v) { return std::round(v * 10.0) / 10.0; }

int run_forecast(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, false);
    if (!opened) return exit_usage;
    auto context = context_of(*opened);
    auto since = parse_start_day(args.since, opened->now, "30d");
    if (!since) return usage_or_error(since.error(), env);
    auto f = autopilot::forecast(context, args.domain, args.step.empty() ? std::nullopt : std::optional(args.step),
                                 *since);
    if (!f) return usage_or_error(f.error(), env);
    const bool blocks_legitimate = f->legitimate_quarantined + f->legitimate_rejected >= 0.5;
    if (args.json) {
        ordered_json list = ordered_json::array();
        for (const auto& s : f->senders)
            list.push_back({{"name", s.name},
                            {"class", s.cls},
                            {"legitimate", s.legitimate},
                            {"messages", s.messages},
                            {"failing", s.failing},
                            {"quarantined", one_decimal(s.quarantined)},
                            {"rejected", one_decimal(s.rejected)}});
        print_json(env.out,
                   ordered_json{{"domain", f->domain},
                                {"step", f->step},
                                {"record", f->record},
                                {"since", format_day(f->since)},
                                {"until", format_day(f->until)},
                                {"messages", f->messages},
                                {"legitimate",
                                 {{"quarantined", one_decimal(f->legitimate_quarantined)},
                                  {"rejected", one_decimal(f->legitimate_rejected)}}},
                                {"unauthorised",
                                 {{"quarantined", one_decimal(f->unauthorised_quarantined)},
                                  {"rejected", one_decimal(f->unauthorised_rejected)}}},
                                {"senders", list}});
    } else {
        std::string out = fmt::format("{} at {} ({}), mail from {} to {}:\n", f->domain, f->step, f->record,
                                      format_day(f->since), format_day(f->until));
        out += fmt::format("  legitimate mail:   {:.1f} quarantined, {:.1f} rejected\n", f->legitimate_quarantined,
                           f->legitimate_rejected);
        out += fmt::format("  unauthorised mail: {:.1f} quarantined, {:.1f} rejected\n\n", f->unauthorised_quarantined,
                           f->unauthorised_rejected);
        out += fmt::format("{:<40} {:<16} {:>10} {:>10} {:>12} {:>10}\n", "SENDER", "CLASS", "MESSAGES", "FAILING",
                           "QUARANTINED", "REJECTED");
        for (const auto& s : f->senders)
            out += fmt::format("{:<40} {:<16} {:>10} {:>10} {:>12.1f} {:>10.1f}\n", printable(s.name), s.cls,
                               s.messages, s.failing, s.quarantined, s.rejected);
        std::fputs(out.c_str(), env.out);
    }
    return blocks_legitimate ? exit_attention : exit_ok;
}

}  // namespace

RolloutCommands add_rollout_commands(CLI::App& app, RolloutArgs& args) {
    RolloutCommands c;
    c.status = app.add_subcommand("status", "Where each domain stands in its rollout");
    c.status->add_option("domain", args.domain, "Only this domain");
    add_common(*c.status, args);

    c.advance = app.add_subcommand("advance", "The daily tick: judge each domain and advance, hold or roll back");
    c.advance->add_option("--domain", args.domain, "Only this domain");
    c.advance->add_flag("--dry-run", args.dry_run, "Judge and say; change and publish nothing");
    c.advance->add_flag("--offline", args.offline, "Ask no DNS (no live checks, no audit)");
    c.advance->add_option("--outbox", args.outbox, "Where the manual publisher writes changes (default: outbox/ "
                                                   "next to the database)");
    add_dns_option(*c.advance, args.dns);
    add_common(*c.advance, args);

    c.hold = app.add_subcommand("hold", "Hold a domain at its step");
    c.hold->add_option("domain", args.domain, "Domain")->required();
    c.hold->add_option("--reason", args.reason, "Why (recorded in the history)")->required();
    add_common(*c.hold, args);

    c.resume = app.add_subcommand("resume", "Let a held domain move again");
    c.resume->add_option("domain", args.domain, "Domain")->required();
    add_common(*c.resume, args);

    c.set = app.add_subcommand("set", "Move a domain to a step of its plan by hand");
    c.set->add_option("domain", args.domain, "Domain")->required();
    c.set->add_option("step", args.step, "Step name (see `rampart plan DOMAIN`)")->required();
    c.set->add_option("--reason", args.reason, "Why (recorded in the history)")->required();
    add_common(*c.set, args);

    c.plan = app.add_subcommand("plan", "The steps ahead and the calendar to the target");
    c.plan->add_option("domain", args.domain, "Domain")->required();
    add_common(*c.plan, args);

    c.forecast = app.add_subcommand("forecast", "What a step would quarantine or reject, per sender");
    c.forecast->add_option("domain", args.domain, "Domain")->required();
    c.forecast->add_option("--to", args.step, "The step to forecast (default: the next one)");
    c.forecast->add_option("--since", args.since, "Window start: YYYY-MM-DD or Nd")->capture_default_str();
    add_common(*c.forecast, args);
    return c;
}

int run_rollout(const RolloutCommands& commands, const RolloutArgs& args, const Environment& env) {
    if (*commands.status) return run_status(args, env);
    if (*commands.advance) return run_advance(args, env);
    if (*commands.hold || *commands.resume || *commands.set) return run_manual(commands, args, env);
    if (*commands.plan) return run_plan(args, env);
    if (*commands.forecast) return run_forecast(args, env);
    return -1;
}

}  // namespace rampart::cli

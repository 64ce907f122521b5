// The rollout commands: see rollout.hpp for the contract.
#include "cli/rollout.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autopilot/autopilot.hpp"
#include "cli/options.hpp"
#include "notify/notify.hpp"
#include "cli/publishing.hpp"
#include "publish/publish.hpp"
#include "rotation/rotation.hpp"

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
    std::optional<dns::Server> dns_server;
    std::filesystem::path outbox;
    /// Each domain's publisher, checker and audit log; made by context_of, once this object has
    /// its final address (Desks keeps a reference to `config`).
    std::unique_ptr<Desks> desks;
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
    std::optional<dns::Server> server;
    if (want_dns && !args.offline) {
        auto resolver = open_dns(args.dns, out.config, env);
        if (!resolver) {
            error_line(env, resolver.error().describe());
            return std::nullopt;
        }
        out.resolver = std::move(*resolver);
        auto chosen = dns_server(args.dns, out.config);
        if (chosen) server = *chosen;
    }
    const std::filesystem::path outbox =
        args.outbox.empty() ? (db.has_parent_path() ? db.parent_path() : std::filesystem::path(".")) / "outbox"
                            : std::filesystem::path(args.outbox);
    out.dns_server = server;
    out.outbox = outbox;
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
    if (!o.desks) o.desks = std::make_unique<Desks>(o.config, *o.store, o.resolver.get(), o.dns_server, o.outbox);
    const config::Config* config = &o.config;
    const Timestamp now = o.now;
    return autopilot::Context{.config = o.config,
                              .store = *o.store,
                              .resolver = o.resolver.get(),
                              .desk_for = [desks = o.desks.get()](std::string_view domain) { return desks->desk(domain); },
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
    for (auto& r : *results) {
        if (auto why = opened->desks->error(r.domain); !why.empty()) {
            r.notes.push_back(fmt::format("nothing can be published: {}", why));
            r.decision.action = rollout::Action::hold;
        }
    }
    bool attention = false;
    for (const auto& r : *results)
        attention = attention || r.decision.action == rollout::Action::hold ||
                    r.decision.action == rollout::Action::roll_back;

    // DKIM key rotations ([client.dkim]): due ones start, unfinished ones move on.
    std::vector<rotation::DomainOutcome> rotations;
    if (!args.dry_run && !args.offline) {
        rotation::Ports ports;
        ports.apply.actor = "rampart advance";
        auto moved = rotation::advance_all(
            opened->config, *opened->store,
            [desks = opened->desks.get()](std::string_view domain) { return desks->desk(domain); }, ports, opened->now);
        if (!moved) return usage_or_error(moved.error(), env);
        rotations = std::move(*moved);
        std::erase_if(rotations, [](const rotation::DomainOutcome& o) { return !o.rotation && !o.error; });
        for (const auto& o : rotations) attention = attention || o.error.has_value();
    }

    if (args.json) {
        ordered_json domains = ordered_json::array();
        for (const auto& r : *results) domains.push_back(advance_json(r));
        ordered_json rotated = ordered_json::array();
        for (const auto& o : rotations)
            rotated.push_back({{"domain", o.domain},
                               {"started", o.started},
                               {"stage", o.rotation ? ordered_json(o.rotation->stage) : ordered_json()},
                               {"new_selector", o.rotation ? ordered_json(o.rotation->new_selector) : ordered_json()},
                               {"moves", o.moves},
                               {"error", o.error ? ordered_json(o.error->reason) : ordered_json()}});
        print_json(env.out, ordered_json{{"dry_run", args.dry_run}, {"domains", std::move(domains)},
                                         {"rotations", std::move(rotated)}});
    } else {
        for (const auto& o : rotations) {
            std::string line = fmt::format("{}: DKIM rotation {}{}\n", o.domain,
                                           o.rotation ? fmt::format("to {} at {}", o.rotation->new_selector,
                                                                    o.rotation->stage)
                                                      : std::string("not moved"),
                                           o.started ? " (started today)" : "");
            for (const auto& m : o.moves) line += fmt::format("  {}\n", m);
            if (o.error) line += fmt::format("  error: {}\n", o.error->reason);
            std::fputs(line.c_str(), env.out);
        }
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

ordered_json servers_json(const publish::Coverage& c) {
    ordered_json list = ordered_json::array();
    for (const auto& s : c.servers)
        list.push_back({{"ns", s.ns},
                        {"address", s.address},
                        {"status", s.status},
                        {"aa", s.aa},
                        {"records", s.records},
                        {"ttl", s.ttl},
                        {"serves", s.serves}});
    return list;
}

int run_publish(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, true);
    if (!opened) return exit_usage;
    (void)context_of(*opened);
    const std::string domain = ascii_lower(args.domain);
    const auto* client = opened->config.client_of(domain);
    if (client == nullptr) {
        error_line(env, fmt::format("no [[client]] lists the domain {}", printable(domain)));
        return exit_usage;
    }
    const Publishing* publishing = opened->desks->publishing(domain);
    if (publishing == nullptr) {
        error_line(env, opened->desks->error(domain));
        return exit_usage;
    }
    const std::string name = fmt::format("_dmarc.{}", domain);
    std::string old_record;
    if (publishing->checker) {
        const auto now = publishing->checker->check(publish::Wanted{.zone = "", .name = name, .values = {}});
        auto agreed = publish::agreed_record(now);
        if (!agreed && agreed.error().code == Errc::io) {
            error_line(env, agreed.error().reason);
            return exit_attention;
        }
        // Disagreement or several records: apply() refuses with the servers' answers in the log.
        old_record = agreed ? *agreed : std::string();
    } else if (auto state = opened->store->rollout_state(domain); state && *state) {
        old_record = (*state)->record;  // offline: what the rollout believes is live
    }
    publish::Change change{.domain = domain,
                           .name = name,
                           .old_record = old_record,
                           .new_record = args.record,
                           .client = client->name,
                           .reason = args.reason,
                           .at = opened->now};
    auto applied = publish::apply(*publishing->desk, change, publishing->apply_options("rampart publish", args.dry_run));
    if (!applied) return usage_or_error(applied.error(), env);
    const auto& a = *applied;
    using S = publish::Applied::Status;
    const bool ok = a.status == S::live || a.status == S::queued || a.status == S::dry_run;
    if (args.json) {
        std::vector<std::string> files;
        for (const auto& f : a.files) files.push_back(f.string());
        print_json(env.out, ordered_json{{"domain", domain},
                                         {"name", name},
                                         {"status", publish::to_string(a.status)},
                                         {"change_id", a.change_id},
                                         {"old_record", old_record},
                                         {"new_record", args.record},
                                         {"detail", a.detail},
                                         {"files", files},
                                         {"servers", servers_json(a.coverage)}});
    } else {
        std::string out = fmt::format("{}: {} — {}\n", name, publish::to_string(a.status), a.detail);
        out += fmt::format("  was: {}\n  now: {}\n", old_record.empty() ? "(nothing)" : old_record, args.record);
        for (const auto& s : a.coverage.servers)
            out += fmt::format("  {} {}: {}{}\n", s.ns, s.address, s.status,
                               s.records.empty() ? std::string() : fmt::format(" \"{}\"", printable(s.records.front())));
        for (const auto& f : a.files) out += fmt::format("  wrote {}\n", f.string());
        if (!a.change_id.empty()) out += fmt::format("  audit log: rampart history {}\n", domain);
        std::fputs(out.c_str(), env.out);
    }
    return ok ? exit_ok : exit_attention;
}

int run_history(const RolloutArgs& args, const Environment& env) {
    auto opened = open_all(args, env, false);
    if (!opened) return exit_usage;
    const std::string domain = ascii_lower(args.domain);
    auto log = opened->store->publish_log(domain);
    if (!log) return usage_or_error(log.error(), env);
    auto rollout = opened->store->rollout_history(domain);
    if (!rollout) return usage_or_error(rollout.error(), env);
    if (log->empty() && rollout->empty() && opened->config.client_of(domain) == nullptr) {
        error_line(env, fmt::format("no [[client]] lists the domain {} and nothing was ever recorded for it",
                                    printable(domain)));
        return exit_usage;
    }
    // Entries grouped by change, in the order the changes began.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const store::PublishEvent*>> changes;
    for (const auto& e : *log) {
        auto& list = changes[e.change_id];
        if (list.empty()) order.push_back(e.change_id);
        list.push_back(&e);
    }
    if (args.json) {
        ordered_json list = ordered_json::array();
        for (const auto& id : order) {
            const auto& entries = changes[id];
            const auto& first = *entries.front();
            ordered_json stages = ordered_json::array();
            for (const auto* e : entries)
                stages.push_back({{"at", format_timestamp(e->at)},
                                  {"stage", e->stage},
                                  {"detail", e->detail},
                                  {"evidence", ordered_json::parse(e->evidence, nullptr, false)}});
            list.push_back({{"change_id", id},
                            {"name", first.name},
                            {"actor", first.actor},
                            {"publisher", first.publisher},
                            {"old_record", first.old_record},
                            {"new_record", first.new_record},
                            {"reason", first.reason},
                            {"result", entries.back()->stage},
                            {"at", format_timestamp(first.at)},
                            {"stages", stages}});
        }
        ordered_json steps = ordered_json::array();
        for (const auto& e : *rollout)
            steps.push_back({{"at", format_timestamp(e.at)},
                             {"actor", e.actor},
                             {"action", e.action},
                             {"from_step", e.from_step},
                             {"to_step", e.to_step},
                             {"old_record", e.old_record},
                             {"new_record", e.new_record},
                             {"reason", e.reason}});
        print_json(env.out, ordered_json{{"domain", domain}, {"changes", list}, {"rollout", steps}});
        return exit_ok;
    }
    std::string out = fmt::format("DNS changes of {} ({}):\n", domain, order.size());
    for (const auto& id : order) {
        const auto& entries = changes[id];
        const auto& first = *entries.front();
        out += fmt::format("\n{}  {}  {} by {} ({})\n", format_timestamp(first.at), entries.back()->stage, first.name,
                           first.actor, first.publisher);
        out += fmt::format("  was: {}\n  now: {}\n  why: {}\n", first.old_record.empty() ? "(nothing)" : first.old_record,
                           first.new_record.empty() ? "(removed)" : first.new_record, first.reason);
        for (const auto* e : entries) out += fmt::format("  - {:<11} {}\n", e->stage, e->detail);
    }
    out += fmt::format("\nRollout history ({} entries):\n", rollout->size());
    for (const auto& e : *rollout)
        out += fmt::format("{}  {:<9} {}{}  {}\n", format_day(e.at), e.action, e.to_step,
                           e.from_step != e.to_step && !e.from_step.empty() ? fmt::format(" (from {})", e.from_step) : "",
                           e.reason);
    std::fputs(out.c_str(), env.out);
    return exit_ok;
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

    c.publish = app.add_subcommand("publish", "Change _dmarc.DOMAIN once, through the domain's publisher");
    c.publish->add_option("domain", args.domain, "Domain")->required();
    c.publish->add_option("--record", args.record, "The new DMARC record ('v=DMARC1; p=none; ...')")->required();
    c.publish->add_option("--reason", args.reason, "Why (recorded in the audit log)")->required();
    c.publish->add_flag("--dry-run", args.dry_run, "Lint and look; send nothing");
    c.publish->add_option("--outbox", args.outbox, "Where the manual publisher writes changes");
    add_dns_option(*c.publish, args.dns);
    add_common(*c.publish, args);

    c.history = app.add_subcommand("history", "The audit log of a domain's DNS changes and its rollout");
    c.history->add_option("domain", args.domain, "Domain")->required();
    add_common(*c.history, args);
    return c;
}

int run_rollout(const RolloutCommands& commands, const RolloutArgs& args, const Environment& env) {
    if (*commands.status) return run_status(args, env);
    if (*commands.advance) return run_advance(args, env);
    if (*commands.hold || *commands.resume || *commands.set) return run_manual(commands, args, env);
    if (*commands.plan) return run_plan(args, env);
    if (*commands.forecast) return run_forecast(args, env);
    if (*commands.publish) return run_publish(args, env);
    if (*commands.history) return run_history(args, env);
    return -1;
}

}  // namespace rampart::cli

// The daily tick: for each domain, see whether its pending record went live, publish what is
// still unpublished, judge the step, and act on the decision.
#include "autopilot/autopilot.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "autopilot/internal.hpp"

namespace rampart::autopilot {

namespace {

using detail::Domain;

std::string evidence_json(const rollout::Evidence& e, const rollout::Decision& decision) {
    nlohmann::json gates = nlohmann::json::array();
    for (const auto& g : decision.gates) gates.push_back({{"gate", g.gate}, {"passed", g.passed}, {"detail", g.detail}});
    nlohmann::json unknown = nlohmann::json::array();
    for (const auto& u : e.unknown_sources) unknown.push_back({{"name", u.name}, {"messages", u.messages}});
    return nlohmann::json{{"days_in_step", e.days_in_step},
                          {"reports", e.reports},
                          {"reporters", e.reporters},
                          {"legitimate_messages", e.legitimate_messages},
                          {"legitimate_failing", e.legitimate_failing},
                          {"unknown_sources", unknown},
                          {"dkim_broken", e.dkim_broken},
                          {"audit_errors", e.audit_errors},
                          {"gates", gates}}
        .dump();
}

/// Was `record` already handed to the publisher (so it is not published twice)? Only a
/// publication that reached the zone or an operator's outbox counts: a refused or failed one is
/// tried again at the next tick.
bool already_published(const std::vector<store::RolloutEvent>& history, std::string_view record) {
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        if (it->new_record != record) return false;  // the record changed after the last publication
        if (it->action == "publish") return true;
    }
    return false;
}

/// The record the first change replaces, for a domain none of whose records Rampart has yet
/// seen live: what every answering authoritative server serves now (Rampart has no belief of
/// its own about the zone yet — it may have been enrolled by a command that asked no DNS).
/// nullopt when they disagree or hold several: apply() then refuses or reports the conflict.
std::optional<std::string> found_in_zone(publish::Desk& desk, std::string_view name) {
    if (desk.checker == nullptr) return std::nullopt;
    auto agreed = publish::agreed_record(
        desk.checker->check(publish::Wanted{.zone = "", .name = std::string(name), .values = {}}));
    if (!agreed) return std::nullopt;
    return *agreed;
}

publish::Desk* desk_of(Context& context, std::string_view domain) {
    return context.desk_for ? context.desk_for(domain) : nullptr;
}

void tell(Context& context, AdvanceResult& result, Notice notice) {
    if (!context.notify) return;
    notice.client = result.client;
    notice.domain = result.domain;
    notice.at = context.now;
    if (auto sent = context.notify(notice); !sent) {
        result.notes.push_back(fmt::format("the {} notice could not be sent: {}", notice.event, sent.error().reason));
    } else {
        result.notes.push_back(fmt::format("{} notice sent", notice.event));
    }
}

Result<void> enter_step(Context& context, Domain& d, AdvanceResult& result, bool dry_run, std::string_view how) {
    result.went_live = true;
    d.state.entered_at = context.now;
    d.state.updated_at = context.now;
    const auto& step = d.rollout.plan.steps[*d.step];
    d.state.reason = fmt::format("The record of step {} ({}) is live since {}{}.", step.name,
                                 rollout::describe(step.shape), format_day(context.now), how);
    if (dry_run) return {};
    return detail::save(context, d.state, "live", d.state.step, d.state.step, d.state.previous_record, d.state.record,
                        d.state.reason);
}

/// Holds the domain because of what publishing found (a conflict, a refusal, a rollback): the
/// operator must look, then `rampart resume`.
Result<void> hold_for(Context& context, Domain& d, AdvanceResult& result, std::string_view event,
                      const std::string& why) {
    d.state.held = true;
    d.state.hold_reason = why;
    d.state.state = "holding";
    d.state.reason = why;
    d.state.updated_at = context.now;
    result.decision.action = rollout::Action::hold;
    result.decision.reason = why;
    if (auto saved = detail::save(context, d.state, "hold", d.state.step, d.state.step, d.state.previous_record,
                                  d.state.record, why);
        !saved)
        return saved;
    tell(context, result, Notice{.event = std::string(event), .step = d.state.step, .old_record = d.state.previous_record,
                                 .new_record = d.state.record, .reason = why});
    return {};
}

/// Hands the domain's record to its publisher once (publish::apply: lint, compare-and-swap,
/// verification at every authoritative server, rollback); records the outcome in the history.
Result<void> publish_pending(Context& context, Domain& d, AdvanceResult& result) {
    publish::Desk* desk = desk_of(context, d.state.domain);
    if (desk == nullptr) return {};
    if (d.state.held) {
        result.notes.push_back(fmt::format("held ({}): nothing is published until `rampart resume`", d.state.hold_reason));
        return {};
    }
    auto history = context.store.rollout_history(d.state.domain);
    if (!history) return std::unexpected(history.error());
    if (already_published(*history, d.state.record)) return {};
    const std::string name = fmt::format("_dmarc.{}", d.state.domain);
    std::string believed_live = d.state.previous_record;
    const bool seen_live_before =
        std::any_of(history->begin(), history->end(), [](const store::RolloutEvent& e) { return e.action == "live"; });
    if (!seen_live_before) {
        if (auto found = found_in_zone(*desk, name)) believed_live = *found;
    }
    result.old_record = believed_live;
    result.new_record = d.state.record;
    publish::Change change{.domain = d.state.domain,
                           .name = name,
                           .old_record = believed_live,
                           .new_record = d.state.record,
                           .client = d.state.client,
                           .reason = d.state.reason,
                           .at = context.now};
    auto options = context.apply_options;
    options.actor = context.actor;
    auto applied = publish::apply(*desk, change, options);
    if (!applied) return std::unexpected(applied.error());
    result.published = *applied;
    const auto kind = desk->publisher.kind();
    const std::string line = fmt::format("{} by the {} publisher: {}", publish::to_string(applied->status), kind,
                                         applied->detail);
    using S = publish::Applied::Status;
    switch (applied->status) {
        case S::live:
        case S::queued: {
            d.state.updated_at = context.now;
            if (auto saved = detail::save(context, d.state, "publish", d.state.step, d.state.step,
                                          d.state.previous_record, d.state.record, line);
                !saved)
                return saved;
            if (applied->status == S::live) return enter_step(context, d, result, false, ", verified at every authoritative server");
            return {};
        }
        case S::conflict:
        case S::refused:
            return hold_for(context, d, result, "hold", fmt::format("Not published: {}", applied->detail));
        case S::rolled_back:
            return hold_for(context, d, result, "rollback", fmt::format("Published and rolled back: {}", applied->detail));
        case S::failed:
        case S::dry_run:
            // Nothing changed (a refused key, an unreachable primary): the state stays, the
            // publish log has the details, the next tick tries again.
            result.notes.push_back(fmt::format("publishing failed: {}", applied->detail));
            return {};
    }
    return {};
}

/// A pending record: live yet? Then the step begins now. With a desk that can ask the
/// authoritative servers, live means every one of them serves it; otherwise what the resolver
/// sees.
Result<bool> check_live(Context& context, Domain& d, AdvanceResult& result, bool dry_run) {
    publish::Desk* desk = desk_of(context, d.state.domain);
    if (desk != nullptr && desk->checker != nullptr) {
        const auto coverage = desk->checker->check(publish::Wanted{
            .zone = "", .name = fmt::format("_dmarc.{}", d.state.domain), .values = {d.state.record}});
        if (!coverage.all_serve) {
            result.notes.push_back(coverage.detail);
            return false;
        }
        if (auto entered = enter_step(context, d, result, dry_run, ", verified at every authoritative server"); !entered)
            return std::unexpected(entered.error());
        return true;
    }
    if (context.resolver == nullptr) {
        result.notes.push_back("offline: whether the record is live was not checked");
        return false;
    }
    const auto live = publish::live_record(*context.resolver, d.state.domain);
    if (live.status != publish::Live::Status::one || !publish::same_record(live.record, d.state.record)) {
        result.notes.push_back(live.status == publish::Live::Status::one
                                   ? fmt::format("live now: {}", live.record)
                                   : live.detail);
        return false;
    }
    if (auto entered = enter_step(context, d, result, dry_run, ""); !entered) return std::unexpected(entered.error());
    return true;
}

Result<void> move(Context& context, Domain& d, const rollout::Decision& decision, const rollout::Evidence& e,
                  AdvanceResult& result) {
    const auto& plan = d.rollout.plan;
    auto record = detail::record_for(d, decision.next_step);
    if (!record) return std::unexpected(record.error());
    const std::string from = d.state.step;
    result.old_record = d.state.record;
    result.new_record = *record;
    d.state.previous_record = d.state.record;
    d.state.record = *record;
    d.state.step = plan.steps[decision.next_step].name;
    d.state.entered_at.reset();
    d.state.decided_at = context.now;
    d.state.updated_at = context.now;
    d.state.reason = decision.reason;
    d.state.state = decision.action == rollout::Action::roll_back ? "rolled_back" : "advancing";
    d.step = decision.next_step;
    result.step = d.state.step;
    const std::string action(rollout::to_string(decision.action));
    if (auto saved = detail::save(context, d.state, action, from, d.state.step, result.old_record, *record,
                                  decision.reason, evidence_json(e, decision));
        !saved)
        return saved;
    return publish_pending(context, d, result);
}

/// With a target date, a domain whose gates pass moves when the schedule plans it, not at the
/// first moment it may: the time to the target is spent gathering evidence at every step, and a
/// domain held earlier catches up (the schedule is laid out from today).
rollout::Decision pace_to_target(Context& context, const Domain& d, rollout::Decision decision) {
    if (decision.action != rollout::Action::advance || !d.rollout.target) return decision;
    const auto today = std::chrono::floor<std::chrono::days>(context.now);
    const auto entered = std::chrono::floor<std::chrono::days>(*d.state.entered_at);
    const auto plan = rollout::schedule(d.rollout.plan, *d.step, entered, today, d.rollout.target);
    if (!plan.feasible || plan.steps.size() < 2 || plan.steps[1].planned <= today) return decision;
    decision.action = rollout::Action::wait;
    decision.next_step = decision.step;
    decision.reason = fmt::format("Every check passes; on schedule for {} by {}, the next step is planned for {}.",
                                  dmarc::to_string(d.rollout.target->policy), format_day(d.rollout.target->by),
                                  format_day(plan.steps[1].planned));
    return decision;
}

AdvanceResult judge_one(Context& context, const std::string& name, bool dry_run) {
    AdvanceResult result{.domain = name};
    auto fail_with = [&](const Error& error) {
        result.decision.action = rollout::Action::hold;
        result.decision.reason = error.reason;
        result.notes.push_back(error.describe());
        return result;
    };
    auto loaded = detail::load(context, name, dry_run);
    if (!loaded) return fail_with(loaded.error());
    Domain& d = *loaded;
    result.client = d.state.client;
    result.step = d.state.step;
    if (!d.step) {
        const auto status = detail::to_status(d);
        result.decision.action = rollout::Action::hold;
        result.decision.reason = status.reason;
        return result;
    }
    result.decision.step = result.decision.next_step = *d.step;

    if (!d.state.entered_at) {
        auto live = check_live(context, d, result, dry_run);
        if (!live) return fail_with(live.error());
        if (!*live) {
            const bool held_before = d.state.held;
            if (!dry_run) {
                if (auto published = publish_pending(context, d, result); !published) return fail_with(published.error());
            }
            if (d.state.held && !held_before) return result;  // publishing found a conflict
            if (d.state.held) {
                // Still held (by hand, or by an earlier conflict or rollback): it needs a look,
                // as rollout::decide says of a held domain whose step has begun.
                result.decision.action = rollout::Action::hold;
                result.decision.gates.push_back({"hold", false, d.state.hold_reason});
                result.decision.reason = fmt::format(
                    "Held by hand: {}.", d.state.hold_reason.empty() ? "no reason given" : d.state.hold_reason);
                return result;
            }
            result.decision.action = rollout::Action::wait;
            const auto& step = d.rollout.plan.steps[*d.step];
            result.decision.reason =
                d.state.entered_at
                    ? d.state.reason
                    : fmt::format("Waiting for _dmarc.{} to show the record of step {} ({}).", d.state.domain,
                                  step.name, rollout::describe(step.shape));
            return result;
        }
    }

    auto gathered = detail::gather(context, d);
    if (!gathered) return fail_with(gathered.error());
    const rollout::Decision decision =
        pace_to_target(context, d, rollout::decide(d.rollout.plan, *d.step, gathered->evidence));
    result.decision = decision;
    if (dry_run) return result;

    const auto& plan = d.rollout.plan;
    switch (decision.action) {
        case rollout::Action::advance:
        case rollout::Action::roll_back: {
            const bool rollback = decision.action == rollout::Action::roll_back;
            const bool held_before = d.state.held;
            if (auto moved = move(context, d, decision, gathered->evidence, result); !moved) return fail_with(moved.error());
            if (d.state.held && !held_before) return result;  // publishing found a conflict
            const auto& entered_step = plan.steps[decision.next_step];
            if (rollback || entered_step.milestone) {
                tell(context, result, Notice{.event = rollback ? "rollback" : "milestone", .step = entered_step.name,
                                             .old_record = result.old_record, .new_record = result.new_record,
                                             .reason = decision.reason});
            }
            return result;
        }
        case rollout::Action::hold:
        case rollout::Action::wait:
        case rollout::Action::done: {
            const std::string word = decision.action == rollout::Action::hold ? "holding"
                                     : decision.action == rollout::Action::done
                                         ? "done"
                                         : detail::resting_state(plan, *d.step);
            if (d.state.state == word && d.state.reason == decision.reason) return result;
            const bool newly_held = word == "holding" && d.state.state != "holding";
            d.state.state = word;
            d.state.reason = decision.reason;
            d.state.updated_at = context.now;
            if (auto saved = detail::save(context, d.state, word == "holding" ? "hold" : "judge", d.state.step,
                                          d.state.step, d.state.record, d.state.record, decision.reason,
                                          evidence_json(gathered->evidence, decision));
                !saved)
                return fail_with(saved.error());
            if (newly_held && !d.state.held) {
                const bool unknown = std::any_of(decision.gates.begin(), decision.gates.end(), [](const auto& g) {
                    return g.gate == "unknown_senders" && !g.passed;
                });
                tell(context, result, Notice{.event = unknown ? "new_unknown_sender" : "hold", .step = d.state.step,
                                             .old_record = d.state.record, .new_record = d.state.record,
                                             .reason = decision.reason});
            }
            return result;
        }
    }
    return result;
}

}  // namespace

Result<std::vector<AdvanceResult>> advance(Context& context, const AdvanceOptions& options) {
    std::vector<std::string> names;
    if (options.domain) {
        const std::string name = ascii_lower(*options.domain);
        if (context.config.client_of(name) == nullptr)
            return fail(Errc::not_found, fmt::format("no [[client]] lists the domain {}", printable(name)));
        names.push_back(name);
    } else {
        names = context.config.domains();
    }
    // Changes a killed run left half-done are closed first, so each domain below is judged on
    // what its zone really holds.
    std::vector<publish::Applied> recovered;
    if (!options.dry_run && context.desk_for) {
        auto closed = publish::recover(context.store, context.desk_for, context.now);
        if (!closed) return std::unexpected(closed.error());
        recovered = std::move(*closed);
    }
    std::vector<AdvanceResult> results;
    results.reserve(names.size());
    for (const auto& name : names) {
        results.push_back(judge_one(context, name, options.dry_run));
        for (const auto& r : recovered) {
            if (r.change_id.starts_with(name + "/")) results.back().notes.push_back(r.detail);
        }
    }
    return results;
}

}  // namespace rampart::autopilot

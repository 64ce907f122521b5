// Enrolment, status, manual control and the plan view.
#include "autopilot/autopilot.hpp"

#include <fmt/format.h>

#include "autopilot/internal.hpp"

namespace rampart::autopilot {

namespace detail {

int days_between(Timestamp from, Timestamp to) noexcept {
    if (to <= from) return 0;
    return static_cast<int>(std::chrono::floor<std::chrono::days>(to - from).count());
}

Result<std::string> record_for(const Domain& d, std::size_t step) {
    const auto& plan = d.rollout.plan;
    return rollout::record_text(plan.steps[step].shape, d.rollout.destinations, plan.generation);
}

std::string resting_state(const rollout::Plan& plan, std::size_t step) {
    if (step + 1 >= plan.steps.size()) return "done";
    return rollout::enforcing(plan.steps[step].shape) ? "advancing" : "monitoring";
}

Result<void> save(Context& context, const store::RolloutState& state, std::string action, std::string from_step,
                  std::string to_step, std::string old_record, std::string new_record, std::string reason,
                  std::string evidence) {
    store::RolloutEvent event{.domain = state.domain,
                              .at = context.now,
                              .actor = context.actor,
                              .action = std::move(action),
                              .from_step = std::move(from_step),
                              .to_step = std::move(to_step),
                              .old_record = std::move(old_record),
                              .new_record = std::move(new_record),
                              .reason = std::move(reason),
                              .evidence = std::move(evidence)};
    return context.store.record_rollout(state, event);
}

Result<Domain> load(Context& context, std::string_view name, bool dry_run) {
    auto resolved = context.config.rollout_for(name);
    if (!resolved) return std::unexpected(resolved.error());
    Domain d{.rollout = std::move(*resolved), .state = {}, .step = std::nullopt, .enrolled_now = false};
    auto stored = context.store.rollout_state(d.rollout.domain);
    if (!stored) return std::unexpected(stored.error());
    if (*stored) {
        d.state = std::move(**stored);
        d.step = d.rollout.plan.find(d.state.step);
        return d;
    }
    // First sight: the plan's first step, waiting for its record to be live.
    auto record = rollout::record_text(d.rollout.plan.steps.front().shape, d.rollout.destinations,
                                       d.rollout.plan.generation);
    if (!record) return std::unexpected(record.error());
    const auto& first = d.rollout.plan.steps.front();
    // What is live now is what the first change replaces (the compare-and-swap of an rfc2136
    // publisher must name it exactly); unknown offline.
    std::string live_now;
    if (context.resolver != nullptr) {
        const auto live = publish::live_record(*context.resolver, d.rollout.domain);
        if (live.status == publish::Live::Status::one) live_now = live.record;
    }
    d.state = store::RolloutState{
        .domain = d.rollout.domain,
        .client = d.rollout.client->name,
        .plan = d.rollout.plan.name,
        .step = first.name,
        .record = *record,
        .previous_record = live_now,
        .entered_at = std::nullopt,
        .decided_at = context.now,
        .state = resting_state(d.rollout.plan, 0),
        .reason = fmt::format("Enrolled in plan \"{}\" at step {} ({}); the step begins when _dmarc.{} shows "
                              "its record.",
                              d.rollout.plan.name, first.name, rollout::describe(first.shape), d.rollout.domain),
        .held = false,
        .hold_reason = "",
        .updated_at = context.now,
    };
    d.step = 0;
    d.enrolled_now = true;
    if (!dry_run) {
        if (auto saved = save(context, d.state, "enrol", "", first.name, live_now, *record, d.state.reason); !saved)
            return std::unexpected(saved.error());
    }
    return d;
}

DomainStatus to_status(const Domain& d) {
    DomainStatus s{.domain = d.state.domain,
                   .client = d.state.client,
                   .plan = d.state.plan,
                   .step = d.state.step,
                   .record = d.state.record,
                   .since = d.state.entered_at,
                   .state = d.state.held ? "holding" : d.state.state,
                   .reason = d.state.held ? fmt::format("Held by hand: {}", d.state.hold_reason) : d.state.reason,
                   .next_step = std::nullopt,
                   .earliest_next = std::nullopt,
                   .pending = !d.state.entered_at.has_value(),
                   .held = d.state.held};
    const auto& plan = d.rollout.plan;
    if (d.step && *d.step + 1 < plan.steps.size()) {
        const auto& current = plan.steps[*d.step];
        const auto& next = plan.steps[*d.step + 1];
        s.next_step = next.name;
        if (d.state.entered_at) {
            rollout::Day earliest =
                std::chrono::floor<std::chrono::days>(*d.state.entered_at) + std::chrono::days(current.min_days);
            if (next.date && !plan.ahead_of_calendar && *next.date > earliest) earliest = *next.date;
            s.earliest_next = earliest;
        }
    }
    if (!d.step) {
        s.state = "holding";
        s.reason = fmt::format("Step \"{}\" is not in plan \"{}\"; choose one with `rampart set`.", d.state.step,
                               plan.name);
    }
    return s;
}

}  // namespace detail

using detail::Domain;

Result<std::vector<DomainStatus>> status(Context& context, const std::optional<std::string>& domain) {
    std::vector<std::string> names;
    if (domain) {
        names.push_back(ascii_lower(*domain));
    } else {
        names = context.config.domains();
    }
    std::vector<DomainStatus> out;
    for (const auto& name : names) {
        auto d = detail::load(context, name);
        if (!d) return std::unexpected(d.error());
        out.push_back(detail::to_status(*d));
    }
    return out;
}

Result<DomainStatus> hold(Context& context, std::string_view domain, std::string_view reason) {
    auto d = detail::load(context, ascii_lower(domain));
    if (!d) return std::unexpected(d.error());
    if (reason.empty()) return fail(Errc::malformed, "a hold needs a reason (--reason)");
    d->state.held = true;
    d->state.hold_reason = std::string(reason);
    d->state.updated_at = context.now;
    if (auto saved = detail::save(context, d->state, "hold", d->state.step, d->state.step, d->state.record,
                                  d->state.record, std::string(reason));
        !saved)
        return std::unexpected(saved.error());
    return detail::to_status(*d);
}

Result<DomainStatus> resume(Context& context, std::string_view domain) {
    auto d = detail::load(context, ascii_lower(domain));
    if (!d) return std::unexpected(d.error());
    if (!d->state.held) return detail::to_status(*d);
    const std::string why = fmt::format("resumed after: {}", d->state.hold_reason);
    d->state.held = false;
    d->state.hold_reason.clear();
    d->state.updated_at = context.now;
    if (auto saved = detail::save(context, d->state, "resume", d->state.step, d->state.step, d->state.record,
                                  d->state.record, why);
        !saved)
        return std::unexpected(saved.error());
    return detail::to_status(*d);
}

Result<DomainStatus> set_step(Context& context, std::string_view domain, std::string_view step,
                              std::string_view reason) {
    auto d = detail::load(context, ascii_lower(domain));
    if (!d) return std::unexpected(d.error());
    if (reason.empty()) return fail(Errc::malformed, "a manual step change needs a reason (--reason)");
    const auto& plan = d->rollout.plan;
    auto index = plan.find(step);
    if (!index) {
        std::string known;
        for (const auto& s : plan.steps) known += (known.empty() ? "" : ", ") + s.name;
        return fail(Errc::not_found,
                    fmt::format("plan \"{}\" has no step \"{}\" (steps: {})", plan.name, printable(step), known));
    }
    auto record = detail::record_for(*d, *index);
    if (!record) return std::unexpected(record.error());
    const std::string from = d->state.step;
    const std::string old_record = d->state.record;
    d->state.step = plan.steps[*index].name;
    // What is live stays the believed-live record: the current step's record replaces it only
    // once it was seen live (otherwise the next compare-and-swap would name a record the zone
    // never held).
    if (d->state.entered_at) d->state.previous_record = old_record;
    d->state.record = *record;
    d->state.entered_at = publish::same_record(old_record, *record) ? d->state.entered_at : std::nullopt;
    d->state.decided_at = context.now;
    d->state.state = detail::resting_state(plan, *index);
    d->state.reason = fmt::format("Set by hand to {}: {}", rollout::describe(plan.steps[*index].shape), reason);
    d->state.updated_at = context.now;
    d->step = index;
    if (auto saved = detail::save(context, d->state, "set", from, d->state.step, old_record, *record,
                                  std::string(reason));
        !saved)
        return std::unexpected(saved.error());
    return detail::to_status(*d);
}

Result<PlanView> plan_view(Context& context, std::string_view domain) {
    auto d = detail::load(context, ascii_lower(domain));
    if (!d) return std::unexpected(d.error());
    PlanView view{.status = detail::to_status(*d), .plan = d->rollout.plan, .target = d->rollout.target,
                  .schedule = {}};
    const auto today = std::chrono::floor<std::chrono::days>(context.now);
    const auto entered = d->state.entered_at ? std::chrono::floor<std::chrono::days>(*d->state.entered_at) : today;
    const std::string blocking = view.status.state == "holding" ? view.status.reason : std::string();
    view.schedule = rollout::schedule(view.plan, d->step.value_or(0), entered, today, view.target, blocking);
    return view;
}

}  // namespace rampart::autopilot

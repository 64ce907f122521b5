#include "rollout/rollout.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

// The target-date autopilot's arithmetic: when could each remaining step start at the earliest,
// and when should it, to arrive at the target without rushing any step.

namespace rampart::rollout {

namespace {

using std::chrono::days;

std::optional<std::size_t> target_step_of(const Plan& plan, dmarc::Policy policy) {
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        const Shape& s = plan.steps[i].shape;
        if (s.p == policy && s.pct == 100 && !s.testing) return i;
    }
    return std::nullopt;
}

Day later(Day a, Day b) { return a < b ? b : a; }

}  // namespace

Result<Target> parse_target(std::string_view text) {
    const auto at = text.find('@');
    if (at == std::string_view::npos)
        return fail(Errc::malformed, fmt::format("a target is POLICY@YYYY-MM-DD, not \"{}\"", printable(text)));
    auto policy = dmarc::parse_policy(text.substr(0, at));
    if (!policy || *policy == dmarc::Policy::none)
        return fail(Errc::malformed, fmt::format("a target policy is quarantine or reject, not \"{}\"",
                                                 printable(text.substr(0, at))));
    auto date = parse_date(text.substr(at + 1));
    if (!date) return std::unexpected(date.error());
    return Target{.policy = *policy, .by = std::chrono::floor<days>(*date)};
}

Schedule schedule(const Plan& plan, std::size_t step, Day entered, Day today, const std::optional<Target>& target,
                  std::string_view blocking) {
    Schedule out;
    if (step >= plan.steps.size()) {
        out.feasible = false;
        out.explanation = "the domain's step is not in its plan";
        return out;
    }
    // Earliest: every step at its minimum, starting from now.
    std::vector<Day> earliest(plan.steps.size());
    earliest[step] = entered;
    Day exit = later(today, entered + days(plan.steps[step].min_days));
    for (std::size_t i = step + 1; i < plan.steps.size(); ++i) {
        earliest[i] = exit;
        if (plan.steps[i].date && !plan.ahead_of_calendar) earliest[i] = later(earliest[i], *plan.steps[i].date);
        exit = earliest[i] + days(plan.steps[i].min_days);
    }

    // Planned: typical durations, stretched or squeezed toward the target.
    std::vector<Day> planned = earliest;
    Day planned_exit = later(today, entered + days(plan.steps[step].typical_days));
    for (std::size_t i = step + 1; i < plan.steps.size(); ++i) {
        planned[i] = later(planned_exit, earliest[i]);
        if (plan.steps[i].date) planned[i] = later(*plan.steps[i].date, earliest[i]);
        planned_exit = planned[i] + days(plan.steps[i].typical_days);
    }

    if (target) {
        out.target_step = target_step_of(plan, target->policy);
        if (!out.target_step) {
            out.feasible = false;
            out.explanation = fmt::format("the plan \"{}\" never reaches {} for all mail", plan.name,
                                          dmarc::to_string(target->policy));
        } else if (*out.target_step <= step) {
            out.explanation = fmt::format("the target ({}) is already reached", dmarc::to_string(target->policy));
        } else if (earliest[*out.target_step] > target->by) {
            out.feasible = false;
            const auto late = (earliest[*out.target_step] - target->by).count();
            out.explanation = fmt::format(
                "the target {} by {} can no longer be met: even at the minimum durations it is reached on {}, "
                "{} days late{}",
                dmarc::to_string(target->policy), format_day(target->by), format_day(earliest[*out.target_step]),
                late, blocking.empty() ? "" : fmt::format(" ({})", blocking));
        } else if (!plan.dated()) {
            // Share the slack out over the steps before the target, in proportion to how much
            // longer than their minimum they would typically run.
            const std::size_t last = *out.target_step;
            auto slack = static_cast<double>((target->by - earliest[last]).count());
            double room = 0;
            for (std::size_t i = step; i < last; ++i)
                room += std::max(0, plan.steps[i].typical_days - plan.steps[i].min_days);
            Day at = today;
            for (std::size_t i = step; i < last; ++i) {
                const int extra_room = std::max(0, plan.steps[i].typical_days - plan.steps[i].min_days);
                const double share = room > 0 ? slack * extra_room / room : 0.0;
                const int extra = std::min(extra_room, static_cast<int>(std::floor(share)));
                if (i == step) {
                    // The current step's planned end counts from when it was entered, so it
                    // does not slide a day with every day that passes.
                    at = later(today, entered + days(plan.steps[step].min_days + extra));
                } else {
                    planned[i] = later(at, earliest[i]);
                    at = planned[i] + days(plan.steps[i].min_days + extra);
                }
            }
            planned[last] = later(at, earliest[last]);
            for (std::size_t i = last + 1; i < plan.steps.size(); ++i)
                planned[i] = later(planned[i - 1] + days(plan.steps[i - 1].typical_days), earliest[i]);
            out.explanation = fmt::format("on track: {} on {}, target {}", dmarc::to_string(target->policy),
                                          format_day(planned[last]), format_day(target->by));
        } else {
            out.explanation = fmt::format("on track: {} on {} by the calendar, target {}",
                                          dmarc::to_string(target->policy), format_day(planned[*out.target_step]),
                                          format_day(target->by));
        }
    } else {
        out.explanation = step + 1 < plan.steps.size()
            ? fmt::format("{} on {} at typical durations", describe(plan.steps.back().shape),
                          format_day(planned.back()))
            : "at the final step";
    }
    for (std::size_t i = step; i < plan.steps.size(); ++i)
        out.steps.push_back(ScheduledStep{.step = i, .earliest = earliest[i], .planned = planned[i]});
    return out;
}

}  // namespace rampart::rollout

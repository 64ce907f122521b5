#include "rollout/rollout.hpp"

#include <fmt/format.h>

// The daily judgement of one domain. Every gate is evaluated and reported (the operator sees the
// whole picture), and the first one that fails gives the sentence the client reads.

namespace rampart::rollout {

namespace {

std::string percent(double share) { return fmt::format("{:.1f}%", share * 100.0); }

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

GateResult reports_gate(const Gates& gates, const Evidence& e) {
    const bool passed = e.reports >= gates.min_reports && e.reporters >= gates.min_reporters;
    return {"reports", passed,
            fmt::format("{} from {} (needs {} from {})", plural(e.reports, "report", "reports"),
                        plural(e.reporters, "reporter", "reporters"), gates.min_reports, gates.min_reporters)};
}

GateResult failing_share_gate(const Gates& gates, const Evidence& e) {
    const double share = e.legitimate_messages == 0
        ? 0.0
        : static_cast<double>(e.legitimate_failing) / static_cast<double>(e.legitimate_messages);
    return {"failing_share", share <= gates.max_failing_share,
            fmt::format("{} of {} of legitimate mail fails DMARC (limit {})", percent(share),
                        plural(e.legitimate_messages, "message", "messages"), percent(gates.max_failing_share))};
}

GateResult unknown_senders_gate(const Gates& gates, const Evidence& e) {
    for (const auto& source : e.unknown_sources) {
        if (source.reviewed || source.messages <= gates.unknown_sender_volume) continue;
        return {"unknown_senders", false,
                fmt::format("an unknown source, {}, sent {} (over {}); declare it in the inventory, or list it "
                                "in the client's reviewed_sources",
                                source.name,
                            plural(source.messages, "message", "messages"), gates.unknown_sender_volume)};
    }
    return {"unknown_senders", true,
            fmt::format("no unreviewed unknown source above {} messages", gates.unknown_sender_volume)};
}

GateResult dkim_broken_gate(const Gates& gates, const Evidence& e) {
    if (!gates.require_no_dkim_broken || e.dkim_broken.empty())
        return {"dkim_broken", true, "no sender with broken DKIM"};
    std::string names;
    for (const auto& name : e.dkim_broken) names += (names.empty() ? "" : ", ") + name;
    return {"dkim_broken", false, fmt::format("DKIM is broken for {}", names)};
}

GateResult audit_gate(const Plan& plan, std::size_t step, const Evidence& e) {
    const bool entering_enforcement = step + 1 < plan.steps.size() && !enforcing(plan.steps[step].shape) &&
                                      enforcing(plan.steps[step + 1].shape);
    if (!entering_enforcement || e.audit_errors.empty())
        return {"audit", true, entering_enforcement ? "the DNS audit found no errors" : "not judged at this step"};
    std::string findings;
    for (const auto& finding : e.audit_errors) findings += (findings.empty() ? "" : "; ") + finding;
    return {"audit", false, fmt::format("the DNS audit found errors: {}", findings)};
}

/// A known sender failing more since this step began: the step broke something.
std::optional<std::string> rollback_signal(const Gates& gates, const Evidence& e) {
    for (const auto& trend : e.known_senders) {
        if (!trend.previous_failing_share || trend.messages < gates.rollback_min_volume) continue;
        if (trend.failing_share - *trend.previous_failing_share > gates.rollback_failure_rise)
            return fmt::format("{}'s failing share rose from {} to {}", trend.sender,
                               percent(*trend.previous_failing_share), percent(trend.failing_share));
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Action action) noexcept {
    switch (action) {
        case Action::advance: return "advance";
        case Action::hold: return "hold";
        case Action::roll_back: return "roll_back";
        case Action::wait: return "wait";
        case Action::done: return "done";
    }
    return "wait";
}

Decision decide(const Plan& plan, std::size_t step, const Evidence& evidence) {
    Decision d{.step = step, .next_step = step};
    if (plan.steps.empty() || step >= plan.steps.size()) {
        d.action = Action::hold;
        d.reason = "the domain's step is not in its plan";
        return d;
    }
    const Step& current = plan.steps[step];
    const Gates& gates = plan.gates;
    if (evidence.held) {
        d.action = Action::hold;
        d.gates.push_back({"hold", false, evidence.hold_reason});
        d.reason = fmt::format("Held by hand: {}.", evidence.hold_reason.empty() ? "no reason given" : evidence.hold_reason);
        return d;
    }
    if (auto rise = rollback_signal(gates, evidence); rise && step > 0) {
        d.action = Action::roll_back;
        d.next_step = step - 1;
        d.gates.push_back({"rollback", false, *rise});
        d.reason = fmt::format("Since the policy became {}, {}: going back to {} while it is fixed.",
                               describe(current.shape), *rise, describe(plan.steps[step - 1].shape));
        return d;
    }
    if (step + 1 == plan.steps.size()) {
        d.action = Action::done;
        d.reason = fmt::format("The domain is at its final policy ({}).", describe(current.shape));
        return d;
    }
    const Step& next = plan.steps[step + 1];
    if (evidence.days_in_step < current.min_days) {
        d.action = Action::wait;
        d.gates.push_back({"min_days", false,
                           fmt::format("{} of {} days at this step", evidence.days_in_step, current.min_days)});
        const int left = current.min_days - evidence.days_in_step;
        d.reason = fmt::format("{} more {} at {} before the next step can be judged.", left,
                               left == 1 ? "day" : "days", describe(current.shape));
        return d;
    }
    d.gates.push_back({"min_days", true, fmt::format("{} days at this step (minimum {})", evidence.days_in_step,
                                                     current.min_days)});
    d.gates.push_back(reports_gate(gates, evidence));
    d.gates.push_back(failing_share_gate(gates, evidence));
    d.gates.push_back(unknown_senders_gate(gates, evidence));
    d.gates.push_back(dkim_broken_gate(gates, evidence));
    d.gates.push_back(audit_gate(plan, step, evidence));

    for (const auto& gate : d.gates) {
        if (gate.passed) continue;
        d.action = Action::hold;
        d.reason = fmt::format("Staying at {}: {}.", describe(current.shape), gate.detail);
        return d;
    }
    if (next.date && evidence.today < *next.date && !plan.ahead_of_calendar) {
        d.action = Action::wait;
        d.reason = fmt::format("Every check passes; the calendar moves to {} on {}.", describe(next.shape),
                               format_day(*next.date));
        return d;
    }
    d.action = Action::advance;
    d.next_step = step + 1;
    d.reason = fmt::format("Every check passed after {} at {} ({}); moving to {}.",
                           plural(static_cast<std::uint64_t>(evidence.days_in_step), "day", "days"),
                           describe(current.shape), d.gates[2].detail, describe(next.shape));
    return d;
}

}  // namespace rampart::rollout

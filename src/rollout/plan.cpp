#include "rollout/rollout.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace rampart::rollout {

namespace {

using dmarc::Policy;

Step make_step(std::string name, Shape shape, int min_days, int typical_days) {
    return Step{.name = std::move(name), .shape = shape, .min_days = min_days, .typical_days = typical_days};
}

Shape partial(Policy p, int pct, std::optional<Policy> sp = Policy::quarantine) {
    return Shape{.p = p, .sp = sp, .pct = pct};
}

/// The monitoring start, subdomains at quarantine, and the last, hardened state every shipped
/// plan shares.
Step monitor_step() { return make_step("monitor", Shape{}, 28, 42); }
Step subdomain_step() {
    return make_step("sp-quarantine", Shape{.p = Policy::none, .sp = Policy::quarantine}, 7, 14);
}
Step steady_step() {
    return make_step("steady", Shape{.p = Policy::reject, .sp = Policy::reject, .np = Policy::reject}, 0, 0);
}

Plan gradual() {
    Plan plan{.name = "gradual"};
    plan.steps.push_back(monitor_step());
    plan.steps.push_back(subdomain_step());
    for (int pct : {10, 50, 100})
        plan.steps.push_back(make_step(fmt::format("quarantine-{}", pct), partial(Policy::quarantine, pct), 7, 14));
    for (int pct : {10, 50, 100})
        plan.steps.push_back(make_step(fmt::format("reject-{}", pct), partial(Policy::reject, pct), 7, 14));
    plan.steps.push_back(steady_step());
    mark_default_milestones(plan);
    return plan;
}

Plan ramp() {
    Plan plan{.name = "ramp"};
    plan.steps.push_back(monitor_step());
    for (Policy p : {Policy::quarantine, Policy::reject}) {
        for (int pct : {1, 5, 10, 25, 50, 75, 100}) {
            plan.steps.push_back(make_step(fmt::format("{}-{}", dmarc::to_string(p), pct),
                                           partial(p, pct, Policy::quarantine), 3, 7));
        }
    }
    plan.steps.push_back(steady_step());
    mark_default_milestones(plan);
    return plan;
}

int strictness(Policy p) noexcept {
    switch (p) {
        case Policy::none: return 0;
        case Policy::quarantine: return 1;
        case Policy::reject: return 2;
    }
    return 0;
}

}  // namespace

std::string_view to_string(Generation generation) noexcept {
    switch (generation) {
        case Generation::both: return "both";
        case Generation::rfc7489: return "rfc7489";
        case Generation::rfc9989: return "rfc9989";
    }
    return "both";
}

std::optional<Generation> parse_generation(std::string_view text) noexcept {
    for (Generation g : {Generation::both, Generation::rfc7489, Generation::rfc9989}) {
        if (text == to_string(g)) return g;
    }
    return std::nullopt;
}

std::string describe(const Shape& shape) {
    std::string text(dmarc::to_string(shape.p));
    if (shape.p != Policy::none && shape.pct < 100) text += fmt::format(" {}%", shape.pct);
    if (shape.sp && *shape.sp != shape.p) text += fmt::format(", subdomains {}", dmarc::to_string(*shape.sp));
    if (shape.np && *shape.np != shape.sp.value_or(shape.p))
        text += fmt::format(", non-existent subdomains {}", dmarc::to_string(*shape.np));
    if (shape.testing) text += " (testing)";
    return text;
}

bool enforcing(const Shape& shape) noexcept {
    const bool subdomains = shape.sp && strictness(*shape.sp) > 0;
    return (strictness(shape.p) > 0 || subdomains) && !shape.testing;
}

std::optional<std::size_t> Plan::find(std::string_view step_name) const noexcept {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].name == step_name) return i;
    }
    return std::nullopt;
}

bool Plan::dated() const noexcept {
    return std::any_of(steps.begin(), steps.end(), [](const Step& s) { return s.date.has_value(); });
}

std::optional<Plan> shipped_plan(std::string_view name) {
    if (name == "gradual") return gradual();
    if (name == "ramp") return ramp();
    if (name == "dated") {
        Plan plan = gradual();
        plan.name = "dated";
        return plan;
    }
    return std::nullopt;
}

std::vector<std::string> shipped_plan_names() { return {"gradual", "ramp", "dated"}; }

void mark_default_milestones(Plan& plan) {
    for (auto& step : plan.steps) {
        const Shape& s = step.shape;
        const bool quarantine = s.p == Policy::quarantine && !s.testing;
        const bool reject = s.p == Policy::reject && !s.testing;
        step.milestone = (quarantine && (s.pct == 50 || s.pct == 100)) ||
                         (reject && (s.pct == 25 || s.pct == 75 || s.pct == 100));
    }
    // "reject all" once: the first full reject step, not the steady state after it too.
    bool seen_full_reject = false;
    for (auto& step : plan.steps) {
        if (step.shape.p != Policy::reject || step.shape.pct != 100 || step.shape.testing) continue;
        if (seen_full_reject) step.milestone = false;
        seen_full_reject = true;
    }
}

Result<void> validate(const Plan& plan) {
    auto problem = [&](std::string_view step, std::string what) {
        return fail(Errc::malformed, fmt::format("plan \"{}\", step \"{}\": {}", plan.name, step, what));
    };
    if (plan.steps.empty())
        return fail(Errc::malformed, fmt::format("plan \"{}\" has no steps", plan.name));
    std::set<std::string> names;
    std::optional<Day> previous_date;
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        const Step& step = plan.steps[i];
        if (step.name.empty()) return problem(fmt::format("#{}", i + 1), "it has no name");
        if (!names.insert(step.name).second) return problem(step.name, "the name is used twice");
        if (step.shape.pct < 1 || step.shape.pct > 100) return problem(step.name, "pct must be 1 to 100");
        if (step.min_days < 0 || step.typical_days < 0) return problem(step.name, "durations cannot be negative");
        if (step.min_days > step.typical_days && step.typical_days != 0)
            return problem(step.name, "the minimum duration is longer than the typical one");
        if (step.date) {
            if (previous_date && *step.date <= *previous_date)
                return problem(step.name, "its date is not after the previous step's");
            previous_date = step.date;
        } else if (plan.dated() && i > 0) {
            return problem(step.name, "a dated plan needs a date on every step after the first");
        }
    }
    return {};
}

}  // namespace rampart::rollout

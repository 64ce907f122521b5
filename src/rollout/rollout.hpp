// rollout: the policy progression of a domain from p=none to p=reject, as data and pure
// decisions. Plans are ordered steps (a DMARC record shape, how long to stay, the gates to leave);
// `decide` judges one domain's evidence at its current step the way a careful operator would;
// `schedule` lays the remaining steps out on a calendar toward a target date. Nothing here reads
// the clock, the store or DNS: callers gather the evidence and pass today's date.
//
// Standards: RFC 7489 §6.3 (pct: the share of failing mail the policy applies to; the rest gets
// the next policy down), RFC 9989 §4.7 (pct is gone; t=y asks receivers to apply the policy one
// level lower) and §5.1/§8 (domain owners move to enforcement in steps, watching reports).
// The two generations read one record differently, so every partial step is written to mean the
// same thing to both (docs/rollout-records.md): "p=quarantine; pct=10; t=y" is quarantine for 10%
// of failing mail at an RFC 7489 receiver and "none, testing" at an RFC 9989 receiver, which
// ignores pct — never stricter than intended at either.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dmarc/dmarc.hpp"

namespace rampart::rollout {

using Day = std::chrono::sys_days;

/// How partial enforcement is written (a plan may choose; `both` is the default).
enum class Generation : std::uint8_t {
    both,     // pct=N and t=y on partial steps: safe for RFC 7489 and RFC 9989 receivers
    rfc7489,  // pct=N only
    rfc9989,  // t=y only: a partial step becomes "the policy, in testing" (no percentages)
};
[[nodiscard]] std::string_view to_string(Generation generation) noexcept;  // "both" | "rfc7489" | "rfc9989"
[[nodiscard]] std::optional<Generation> parse_generation(std::string_view text) noexcept;

/// The DMARC record a step publishes, without its report destinations.
struct Shape {
    dmarc::Policy p = dmarc::Policy::none;
    std::optional<dmarc::Policy> sp;
    std::optional<dmarc::Policy> np;
    int pct = 100;         // share of failing mail the policy applies to (100 = all)
    bool testing = false;  // t=y asked for explicitly (a step may be "reject, testing")
    std::optional<dmarc::Alignment> adkim;
    std::optional<dmarc::Alignment> aspf;
    friend bool operator==(const Shape&, const Shape&) = default;
};

/// "none", "quarantine 10%", "reject", "none, subdomains quarantine", "reject (testing)".
[[nodiscard]] std::string describe(const Shape& shape);

/// How strict a shape is, for ordering and for "is this enforcing": none < quarantine < reject,
/// then by pct; sp counts when it is stricter than p.
[[nodiscard]] bool enforcing(const Shape& shape) noexcept;

/// The gates a step must pass before the domain moves on (defaults as the issue gives them).
struct Gates {
    double max_failing_share = 0.05;        // failing share of legitimate volume
    std::uint64_t unknown_sender_volume = 100;  // an unreviewed unknown source above this holds
    bool require_no_dkim_broken = true;     // no open "dkim_broken" sender finding
    std::uint64_t min_reports = 5;          // enough reports ...
    std::uint64_t min_reporters = 2;        // ... from enough distinct reporters
    /// A known sender whose failing share rose by more than this (absolute) since the previous
    /// step rolls the domain back one step.
    double rollback_failure_rise = 0.10;
    std::uint64_t rollback_min_volume = 50;  // ... when it sent at least this much in the step
    friend bool operator==(const Gates&, const Gates&) = default;
};

struct Step {
    std::string name;  // stable, for `rampart set D STEP` and the history: "monitor", "quarantine-10"
    Shape shape;
    int min_days = 7;
    int typical_days = 14;
    std::optional<Day> date;  // dated plans: the day the calendar moves this step in
    bool milestone = false;   // tell the client when the domain enters it
};

struct Plan {
    std::string name;
    std::string base;  // the shipped plan it adapts ("" for a shipped plan itself)
    Generation generation = Generation::both;
    Gates gates;
    /// Dated plans: a step's date is when the calendar moves a domain on, so a domain whose data
    /// holds it runs behind. With this set, a domain whose gates pass may also run ahead of the
    /// calendar (the dates become targets, not floors).
    bool ahead_of_calendar = false;
    std::vector<Step> steps;  // first = where a new domain is enrolled; last = steady state

    [[nodiscard]] std::optional<std::size_t> find(std::string_view step_name) const noexcept;
    [[nodiscard]] bool dated() const noexcept;
};

/// The shipped plans: "gradual", "ramp", and "dated" (the shape of gradual; its steps get dates
/// from the configuration). nullopt for another name.
[[nodiscard]] std::optional<Plan> shipped_plan(std::string_view name);
[[nodiscard]] std::vector<std::string> shipped_plan_names();

/// Default milestones (the issue's): quarantine 50%, quarantine all, reject 25%, reject 75%,
/// reject all. Marks `milestone` on the plan's steps whose shape is one of those.
void mark_default_milestones(Plan& plan);

/// Checks a plan: at least one step, unique non-empty names, pct 1..100, days >= 0 and
/// min <= typical, dated steps in date order, a dated plan with every step dated but the first.
/// Errc::malformed naming the step and the problem.
[[nodiscard]] Result<void> validate(const Plan& plan);

// ---------------------------------------------------------------------------------------------
// Records

struct Destinations {
    std::vector<std::string> rua;  // "mailto:dmarc@msp.example"
    std::vector<std::string> ruf;
};

/// The exact TXT value for `_dmarc.<domain>` at this step: v, p, sp, np, t, pct, adkim, aspf,
/// rua, ruf in the canonical order of dmarc::format_record, written for the plan's generation.
/// Errc::malformed when a destination is not a valid URI.
[[nodiscard]] Result<std::string> record_text(const Shape& shape, const Destinations& destinations,
                                              Generation generation);

/// What a receiver of each generation applies to failing mail under a published record: the
/// policy and the share of failing mail it applies to (the rest gets `rest`).
struct Effect {
    dmarc::Policy policy = dmarc::Policy::none;
    double share = 1.0;                       // of failing mail
    dmarc::Policy rest = dmarc::Policy::none;  // for the other (1 - share)
};
[[nodiscard]] Effect effect_rfc7489(const dmarc::Record& record, bool subdomain) noexcept;
[[nodiscard]] Effect effect_rfc9989(const dmarc::Record& record, bool subdomain) noexcept;

// ---------------------------------------------------------------------------------------------
// Decisions

/// What the data says about a domain at its current step, over the rows whose
/// policy_published shows the step's record (callers filter; old-policy rows are no evidence).
struct Evidence {
    int days_in_step = 0;
    std::uint64_t reports = 0;
    std::uint64_t reporters = 0;
    std::uint64_t legitimate_messages = 0;        // declared/known senders
    std::uint64_t legitimate_failing = 0;         // of those, DMARC-failing (forwarding excluded)
    struct Source {
        std::string name;            // sender or source group name
        std::uint64_t messages = 0;
        std::uint64_t failing = 0;
        bool reviewed = false;       // unknown but reviewed (documented decision)
    };
    std::vector<Source> unknown_sources;          // unknown senders (unauthorised excluded)
    std::vector<std::string> dkim_broken;         // senders with an open dkim_broken finding
    /// Known senders: failing share in this step vs in the previous one (rollback signal).
    struct Trend {
        std::string sender;
        std::uint64_t messages = 0;
        double failing_share = 0;
        std::optional<double> previous_failing_share;
    };
    std::vector<Trend> known_senders;
    /// Error-level findings of the live audit (only judged before the first enforcing step).
    std::vector<std::string> audit_errors;
    bool held = false;            // manual hold
    std::string hold_reason;
    Day today{};                  // for dated steps
};

enum class Action : std::uint8_t { advance, hold, roll_back, wait, done };
[[nodiscard]] std::string_view to_string(Action action) noexcept;

struct GateResult {
    std::string gate;  // "min_days", "reports", "failing_share", "unknown_senders", "dkim_broken", "audit", "rollback", "hold"
    bool passed = false;
    std::string detail;  // the numbers, in words
};

struct Decision {
    Action action = Action::wait;
    std::size_t step = 0;         // current step index
    std::size_t next_step = 0;    // the step the action leads to (= step for hold/wait/done)
    std::string reason;           // one sentence a client understands
    std::vector<GateResult> gates;
};

/// Judges one domain at `step` of `plan` (gates from the plan). Order: manual hold; done at the
/// last step; rollback when a known sender's failures rose; minimum days (wait); then every gate,
/// all reported, the first failing one giving the reason (hold); else advance.
[[nodiscard]] Decision decide(const Plan& plan, std::size_t step, const Evidence& evidence);

// ---------------------------------------------------------------------------------------------
// Schedule toward a target

struct Target {
    dmarc::Policy policy = dmarc::Policy::reject;  // reach a step with this p at 100%
    Day by{};
};
/// "reject@2027-03-01"; Errc::malformed otherwise.
[[nodiscard]] Result<Target> parse_target(std::string_view text);

struct ScheduledStep {
    std::size_t step = 0;
    Day earliest{};  // by minimum durations from today
    Day planned{};   // spread toward the target (or typical durations without one; the date of a dated step)
};

struct Schedule {
    std::vector<ScheduledStep> steps;  // from the current step to the last
    std::optional<std::size_t> target_step;  // the first step meeting the target
    bool feasible = true;       // the target can still be met
    std::string explanation;    // one sentence: on track / what is in the way
};

/// Lays out the remaining steps. `entered` = when the current step was entered, `today` = now.
/// Without a target, each step takes its typical duration (dated steps: their date, or later
/// when the minimum has not passed). With one, the time left is shared out over the remaining
/// steps in proportion to their typical durations but never below their minimum; when even the
/// minimums do not fit, `feasible` is false and the explanation says by how many days and which
/// hold is in the way (`blocking`, e.g. the decision's reason).
[[nodiscard]] Schedule schedule(const Plan& plan, std::size_t step, Day entered, Day today,
                                const std::optional<Target>& target, std::string_view blocking = {});

}  // namespace rampart::rollout

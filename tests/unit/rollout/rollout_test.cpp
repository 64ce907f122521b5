#include "rollout/rollout.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rampart::rollout {
namespace {

using dmarc::Policy;
using std::chrono::days;

Day day(int y, unsigned m, unsigned d) {
    return Day(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

std::vector<std::string> names(const Plan& plan) {
    std::vector<std::string> out;
    for (const auto& step : plan.steps) out.push_back(step.name);
    return out;
}

std::vector<std::string> milestones(const Plan& plan) {
    std::vector<std::string> out;
    for (const auto& step : plan.steps)
        if (step.milestone) out.push_back(step.name);
    return out;
}

TEST(RolloutPlans, GradualIsTheIssuesProgression) {
    auto plan = shipped_plan("gradual");
    ASSERT_TRUE(plan);
    EXPECT_EQ(names(*plan), (std::vector<std::string>{"monitor", "sp-quarantine", "quarantine-10", "quarantine-50",
                                                      "quarantine-100", "reject-10", "reject-50", "reject-100",
                                                      "steady"}));
    EXPECT_EQ(plan->steps[0].min_days, 28);
    EXPECT_EQ(plan->steps[0].typical_days, 42);
    EXPECT_EQ(plan->steps[1].shape, (Shape{.p = Policy::none, .sp = Policy::quarantine}));
    EXPECT_EQ(milestones(*plan), (std::vector<std::string>{"quarantine-50", "quarantine-100", "reject-100"}));
    EXPECT_TRUE(validate(*plan));
}

TEST(RolloutPlans, RampHasSevenPercentagesPerPolicy) {
    auto plan = shipped_plan("ramp");
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->steps.size(), 16U);
    EXPECT_EQ(plan->steps[1].name, "quarantine-1");
    EXPECT_EQ(plan->steps[7].name, "quarantine-100");
    EXPECT_EQ(plan->steps[8].name, "reject-1");
    EXPECT_EQ(milestones(*plan), (std::vector<std::string>{"quarantine-50", "quarantine-100", "reject-25",
                                                           "reject-75", "reject-100"}));
    EXPECT_TRUE(validate(*plan));
    EXPECT_FALSE(shipped_plan("fast"));
    EXPECT_TRUE(shipped_plan("dated"));
}

TEST(RolloutPlans, ValidateNamesTheStepAndTheProblem) {
    Plan plan = *shipped_plan("gradual");
    plan.steps[3].name = "quarantine-10";
    auto dup = validate(plan);
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().reason.find("\"quarantine-10\": the name is used twice"), std::string::npos);

    plan = *shipped_plan("gradual");
    plan.steps[2].shape.pct = 0;
    EXPECT_FALSE(validate(plan));

    plan = *shipped_plan("gradual");
    plan.steps[2].min_days = 30;
    EXPECT_FALSE(validate(plan));

    Plan dated{.name = "wave-a"};
    dated.steps = {Step{.name = "monitor"}, Step{.name = "q10", .date = day(2027, 1, 11)},
                   Step{.name = "q50", .date = day(2027, 1, 4)}};
    auto order = validate(dated);
    ASSERT_FALSE(order);
    EXPECT_NE(order.error().reason.find("not after"), std::string::npos);
    dated.steps[2].date.reset();
    auto missing = validate(dated);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().reason.find("needs a date"), std::string::npos);
}

TEST(RolloutPlans, DescribeSaysItInWords) {
    EXPECT_EQ(describe(Shape{}), "none");
    EXPECT_EQ(describe(Shape{.p = Policy::none, .sp = Policy::quarantine}), "none, subdomains quarantine");
    EXPECT_EQ(describe(Shape{.p = Policy::quarantine, .sp = Policy::quarantine, .pct = 10}), "quarantine 10%");
    EXPECT_EQ(describe(Shape{.p = Policy::reject, .sp = Policy::reject, .np = Policy::reject}), "reject");
    EXPECT_EQ(describe(Shape{.p = Policy::reject, .testing = true}), "reject (testing)");
    EXPECT_FALSE(enforcing(Shape{}));
    EXPECT_TRUE(enforcing(Shape{.p = Policy::none, .sp = Policy::quarantine}));
    EXPECT_FALSE(enforcing(Shape{.p = Policy::reject, .testing = true}));
}

const Destinations reports{.rua = {"mailto:dmarc@msp.example"}, .ruf = {}};

TEST(RolloutRecords, PartialStepsReadTheSameToBothGenerations) {
    const Shape q10{.p = Policy::quarantine, .sp = Policy::quarantine, .pct = 10};
    EXPECT_EQ(record_text(q10, reports, Generation::both).value(),
              "v=DMARC1; p=quarantine; sp=quarantine; t=y; pct=10; rua=mailto:dmarc@msp.example");
    EXPECT_EQ(record_text(q10, reports, Generation::rfc7489).value(),
              "v=DMARC1; p=quarantine; sp=quarantine; pct=10; rua=mailto:dmarc@msp.example");
    EXPECT_EQ(record_text(q10, reports, Generation::rfc9989).value(),
              "v=DMARC1; p=quarantine; sp=quarantine; t=y; rua=mailto:dmarc@msp.example");
    const Shape full{.p = Policy::reject, .sp = Policy::reject, .np = Policy::reject};
    EXPECT_EQ(record_text(full, reports, Generation::both).value(),
              "v=DMARC1; p=reject; sp=reject; np=reject; rua=mailto:dmarc@msp.example");
    EXPECT_EQ(record_text(Shape{}, {}, Generation::both).value(), "v=DMARC1; p=none");
}

TEST(RolloutRecords, NoGenerationIsEverStricterThanTheStepMeans) {
    for (const auto& name : {"gradual", "ramp"}) {
        const Plan plan = *shipped_plan(name);
        for (const auto& step : plan.steps) {
            auto text = record_text(step.shape, reports, Generation::both);
            ASSERT_TRUE(text) << step.name;
            auto record = dmarc::parse_record(*text);
            ASSERT_TRUE(record) << *text;
            EXPECT_FALSE(record->has_errors()) << *text;
            const Effect old_receivers = effect_rfc7489(*record, false);
            const Effect new_receivers = effect_rfc9989(*record, false);
            EXPECT_EQ(old_receivers.policy, step.shape.p) << *text;
            EXPECT_DOUBLE_EQ(old_receivers.share, step.shape.pct / 100.0) << *text;
            if (step.shape.pct < 100 && step.shape.p != Policy::none) {
                EXPECT_EQ(new_receivers.policy, dmarc::one_level_lower(step.shape.p)) << *text;
                EXPECT_EQ(old_receivers.rest, dmarc::one_level_lower(step.shape.p)) << *text;
            } else {
                EXPECT_EQ(new_receivers.policy, step.shape.p) << *text;
            }
        }
    }
}

TEST(RolloutRecords, RefusesABadDestination) {
    auto bad = record_text(Shape{}, Destinations{.rua = {"not a uri"}}, Generation::both);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::malformed);
}

// ---------------------------------------------------------------------------------------------

Evidence clean_evidence() {
    Evidence e;
    e.days_in_step = 30;
    e.reports = 40;
    e.reporters = 5;
    e.legitimate_messages = 10000;
    e.legitimate_failing = 100;
    e.today = day(2026, 11, 23);
    return e;
}

const Plan gradual_plan = *shipped_plan("gradual");

TEST(RolloutDecide, AdvancesWhenEveryGatePasses) {
    auto d = decide(gradual_plan, 0, clean_evidence());
    EXPECT_EQ(d.action, Action::advance);
    EXPECT_EQ(d.next_step, 1U);
    EXPECT_NE(d.reason.find("moving to none, subdomains quarantine"), std::string::npos) << d.reason;
    for (const auto& gate : d.gates) EXPECT_TRUE(gate.passed) << gate.gate;
    EXPECT_EQ(d.gates.size(), 6U);
}

TEST(RolloutDecide, WaitsForTheMinimumDays) {
    Evidence e = clean_evidence();
    e.days_in_step = 10;
    auto d = decide(gradual_plan, 0, e);
    EXPECT_EQ(d.action, Action::wait);
    EXPECT_NE(d.reason.find("18 more days"), std::string::npos) << d.reason;
}

TEST(RolloutDecide, HoldsOnTooFewReports) {
    Evidence e = clean_evidence();
    e.reporters = 1;
    auto d = decide(gradual_plan, 2, e);
    EXPECT_EQ(d.action, Action::hold);
    EXPECT_NE(d.reason.find("Staying at quarantine 10%"), std::string::npos) << d.reason;
    EXPECT_NE(d.reason.find("1 reporter"), std::string::npos) << d.reason;
}

TEST(RolloutDecide, HoldsWhenLegitimateMailFails) {
    Evidence e = clean_evidence();
    e.legitimate_failing = 600;  // 6%
    auto d = decide(gradual_plan, 3, e);
    EXPECT_EQ(d.action, Action::hold);
    EXPECT_NE(d.reason.find("6.0% of 10000 messages"), std::string::npos) << d.reason;
    e.legitimate_failing = 500;  // exactly 5% passes
    EXPECT_EQ(decide(gradual_plan, 3, e).action, Action::advance);
}

TEST(RolloutDecide, HoldsOnAnUnreviewedUnknownSender) {
    Evidence e = clean_evidence();
    e.unknown_sources.push_back({.name = "unknown: 203.0.113.0/24", .messages = 450, .failing = 450});
    auto d = decide(gradual_plan, 3, e);
    EXPECT_EQ(d.action, Action::hold);
    EXPECT_NE(d.reason.find("203.0.113.0/24"), std::string::npos) << d.reason;
    e.unknown_sources[0].reviewed = true;
    EXPECT_EQ(decide(gradual_plan, 3, e).action, Action::advance);
    e.unknown_sources[0].reviewed = false;
    e.unknown_sources[0].messages = 100;  // at the threshold, not over it
    EXPECT_EQ(decide(gradual_plan, 3, e).action, Action::advance);
}

TEST(RolloutDecide, HoldsOnBrokenDkim) {
    Evidence e = clean_evidence();
    e.dkim_broken = {"Newsletter"};
    auto d = decide(gradual_plan, 4, e);
    EXPECT_EQ(d.action, Action::hold);
    EXPECT_NE(d.reason.find("DKIM is broken for Newsletter"), std::string::npos);
}

TEST(RolloutDecide, AuditErrorsHoldOnlyBeforeTheFirstEnforcingStep) {
    Evidence e = clean_evidence();
    e.audit_errors = {"spf-too-many-lookups: 12 DNS look-ups"};
    auto before = decide(gradual_plan, 0, e);  // monitor → sp=quarantine enforces subdomains
    EXPECT_EQ(before.action, Action::hold);
    EXPECT_NE(before.reason.find("spf-too-many-lookups"), std::string::npos);
    EXPECT_EQ(decide(gradual_plan, 3, e).action, Action::advance) << "already enforcing: not this gate's business";
}

TEST(RolloutDecide, RollsBackWhenAKnownSenderStartsFailing) {
    Evidence e = clean_evidence();
    e.known_senders.push_back({.sender = "CRM", .messages = 800, .failing_share = 0.30, .previous_failing_share = 0.02});
    auto d = decide(gradual_plan, 4, e);
    EXPECT_EQ(d.action, Action::roll_back);
    EXPECT_EQ(d.next_step, 3U);
    EXPECT_NE(d.reason.find("CRM's failing share rose from 2.0% to 30.0%"), std::string::npos) << d.reason;
    EXPECT_NE(d.reason.find("going back to quarantine 50%"), std::string::npos) << d.reason;

    e.known_senders[0].messages = 10;  // too little mail to judge
    EXPECT_EQ(decide(gradual_plan, 4, e).action, Action::advance);
}

TEST(RolloutDecide, ManualHoldAndTheEnd) {
    Evidence e = clean_evidence();
    e.held = true;
    e.hold_reason = "waiting for the CRM vendor";
    auto held = decide(gradual_plan, 2, e);
    EXPECT_EQ(held.action, Action::hold);
    EXPECT_NE(held.reason.find("waiting for the CRM vendor"), std::string::npos);
    auto done = decide(gradual_plan, gradual_plan.steps.size() - 1, clean_evidence());
    EXPECT_EQ(done.action, Action::done);
    EXPECT_EQ(decide(gradual_plan, 99, clean_evidence()).action, Action::hold);
}

TEST(RolloutDecide, DatedStepsWaitForTheCalendarUnlessAheadIsAllowed) {
    Plan plan{.name = "wave-a"};
    plan.steps = {Step{.name = "monitor", .min_days = 7, .typical_days = 14},
                  Step{.name = "q10", .shape = {.p = Policy::quarantine, .pct = 10}, .min_days = 7, .typical_days = 14,
                       .date = day(2027, 1, 11)}};
    ASSERT_TRUE(validate(plan));
    Evidence e = clean_evidence();
    auto early = decide(plan, 0, e);
    EXPECT_EQ(early.action, Action::wait);
    EXPECT_NE(early.reason.find("2027-01-11"), std::string::npos) << early.reason;
    e.today = day(2027, 1, 11);
    EXPECT_EQ(decide(plan, 0, e).action, Action::advance);
    e.today = day(2026, 12, 1);
    plan.ahead_of_calendar = true;
    EXPECT_EQ(decide(plan, 0, e).action, Action::advance);
}

// ---------------------------------------------------------------------------------------------

TEST(RolloutSchedule, TypicalDurationsWithoutATarget) {
    const Day entered = day(2026, 11, 1);
    auto s = schedule(gradual_plan, 0, entered, day(2026, 11, 23), std::nullopt);
    ASSERT_EQ(s.steps.size(), gradual_plan.steps.size());
    EXPECT_EQ(s.steps[1].earliest, entered + days(28));
    EXPECT_EQ(s.steps[1].planned, entered + days(42));
    EXPECT_EQ(s.steps[2].planned, entered + days(42 + 14));
    EXPECT_TRUE(s.feasible);
}

TEST(RolloutSchedule, ATargetSqueezesStepsButNeverBelowTheirMinimum) {
    const Day entered = day(2026, 11, 1);
    const Day today = day(2026, 11, 23);
    // Minimums: 28 + 7 * 6 = 70 days to reject-100 → earliest 2027-01-10.
    auto tight = schedule(gradual_plan, 0, entered, today, Target{Policy::reject, day(2027, 2, 1)});
    ASSERT_TRUE(tight.target_step);
    EXPECT_EQ(*tight.target_step, 7U);
    EXPECT_TRUE(tight.feasible) << tight.explanation;
    EXPECT_LE(tight.steps[7].planned, day(2027, 2, 1));
    for (std::size_t i = 1; i < tight.steps.size(); ++i) {
        EXPECT_GE(tight.steps[i].planned, tight.steps[i].earliest);
        EXPECT_GE(tight.steps[i].planned - tight.steps[i - 1].planned,
                  days(gradual_plan.steps[tight.steps[i - 1].step].min_days));
    }

    auto impossible = schedule(gradual_plan, 0, entered, today, Target{Policy::reject, day(2026, 12, 15)},
                               "an unknown source sends 450 messages");
    EXPECT_FALSE(impossible.feasible);
    EXPECT_NE(impossible.explanation.find("can no longer be met"), std::string::npos) << impossible.explanation;
    EXPECT_NE(impossible.explanation.find("2027-01-10"), std::string::npos) << impossible.explanation;
    EXPECT_NE(impossible.explanation.find("an unknown source"), std::string::npos);
}

TEST(RolloutSchedule, TheCurrentStepsPlannedEndDoesNotSlideWithToday) {
    const Day entered = day(2026, 11, 1);
    const Target far{Policy::reject, day(2027, 12, 1)};
    auto at_minimum = schedule(gradual_plan, 2, entered, entered + days(7), far);
    auto later_on = schedule(gradual_plan, 2, entered, entered + days(10), far);
    ASSERT_GE(at_minimum.steps.size(), 2U);
    EXPECT_EQ(at_minimum.steps[1].planned, entered + days(14)) << "the typical 14 days";
    EXPECT_EQ(later_on.steps[1].planned, at_minimum.steps[1].planned);
}

TEST(RolloutSchedule, AHeldDomainIsReplannedFromToday) {
    const Day entered = day(2026, 9, 1);
    auto on_time = schedule(gradual_plan, 3, entered, day(2026, 9, 20), Target{Policy::reject, day(2026, 12, 1)});
    EXPECT_TRUE(on_time.feasible) << on_time.explanation;
    auto held_long = schedule(gradual_plan, 3, entered, day(2026, 11, 20), Target{Policy::reject, day(2026, 12, 1)});
    EXPECT_FALSE(held_long.feasible);
}

TEST(RolloutSchedule, TargetsTheFirstFullStepOfThePolicy) {
    auto s = schedule(gradual_plan, 0, day(2026, 11, 1), day(2026, 11, 1), Target{Policy::quarantine, day(2027, 6, 1)});
    ASSERT_TRUE(s.target_step);
    EXPECT_EQ(gradual_plan.steps[*s.target_step].name, "quarantine-100");
    EXPECT_TRUE(parse_target("reject@2027-03-01"));
    EXPECT_EQ(parse_target("reject@2027-03-01")->by, day(2027, 3, 1));
    EXPECT_FALSE(parse_target("none@2027-03-01"));
    EXPECT_FALSE(parse_target("reject"));
    EXPECT_FALSE(parse_target("reject@soon"));
}

}  // namespace
}  // namespace rampart::rollout

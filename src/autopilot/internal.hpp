// autopilot internals shared by its .cpp files. Not part of the public interface.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "autopilot/autopilot.hpp"
#include "senders/senders.hpp"

namespace rampart::autopilot::detail {

/// A configured domain with its place in its plan (enrolled when it had none).
struct Domain {
    config::DomainRollout rollout;
    store::RolloutState state;
    std::optional<std::size_t> step;  // index of state.step in the plan; nullopt: not in it
    bool enrolled_now = false;        // the state was created by this load
};

/// Resolves the domain in the configuration and reads its state; a domain seen for the first
/// time is enrolled at its plan's first step (stored unless `dry_run`).
[[nodiscard]] Result<Domain> load(Context& context, std::string_view domain, bool dry_run = false);

/// The record a step publishes for this domain.
[[nodiscard]] Result<std::string> record_for(const Domain& d, std::size_t step);

/// The state word of `status` for a domain at `step` that is not held or rolled back.
[[nodiscard]] std::string resting_state(const rollout::Plan& plan, std::size_t step);

[[nodiscard]] DomainStatus to_status(const Domain& d);

/// Stores the new state with one history entry.
[[nodiscard]] Result<void> save(Context& context, const store::RolloutState& state, std::string action,
                                std::string from_step, std::string to_step, std::string old_record,
                                std::string new_record, std::string reason, std::string evidence = "{}");

/// The rows of reports for `domain` since `since` whose policy_published shows `record`,
/// summed per identical facts, with how many reports and reporters they came from.
struct StepRows {
    std::vector<store::SourceFacts> facts;
    std::uint64_t reports = 0;
    std::uint64_t reporters = 0;
};
[[nodiscard]] Result<StepRows> step_rows(store::Store& store, std::string_view domain, std::string_view record,
                                         std::optional<Timestamp> since, std::optional<Timestamp> until);

/// Evidence for the decision at the domain's current step, and the sender analysis behind it.
struct Gathered {
    rollout::Evidence evidence;
    senders::Analysis analysis;
};
[[nodiscard]] Result<Gathered> gather(Context& context, const Domain& d);

/// Whole days from `from` to `to` (0 when `to` is earlier).
[[nodiscard]] int days_between(Timestamp from, Timestamp to) noexcept;

}  // namespace rampart::autopilot::detail

// autopilot: the rollout engine wired to the world. It keeps each configured domain's place in
// its plan in the store, judges it every day from the report rows that show the step's record,
// publishes what it decides through the domain's publisher, and answers the operator's daily
// questions: where is each domain, may it move, what would the next step block, when will it
// get there.
//
// Standards: RFC 9989 §5.1/§8 (domain owners move to enforcement in steps, watching reports);
// RFC 7489 §6.6.4 and RFC 9989 §4.7 (how receivers apply pct and t=y, for the forecast).
// Rules that make a step's evidence honest: a step counts as entered only when its record is
// seen live; its gates read only reports whose policy_published shows that record (receivers
// cache DNS for a while, and rows judged under the old policy are not evidence); the history
// is appended to, never rewritten.
// Time: never read here; `Context::now` is it (`--now` on the command line).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/core.hpp"
#include "dns/dns.hpp"
#include "publish/apply.hpp"
#include "publish/publish.hpp"
#include "rollout/rollout.hpp"
#include "store/store.hpp"

namespace rampart::autopilot {

/// Something to tell a client (a milestone, a hold, a rollback, a new unknown sender).
struct Notice {
    std::string event;  // "milestone", "hold", "rollback", "new_unknown_sender"
    std::string client;
    std::string domain;
    std::string step;
    std::string old_record;
    std::string new_record;
    std::string reason;
    Timestamp at{};
    std::vector<std::string> details;
};

struct Context {
    const config::Config& config;
    store::Store& store;
    dns::Resolver* resolver = nullptr;        // null: offline (no live checks, no audit)
    /// The domain's publishing desk (its publisher, the authoritative checker, the audit log);
    /// empty, or null for a domain: nothing is published (status, plan).
    std::function<publish::Desk*(std::string_view domain)> desk_for;
    publish::ApplyOptions apply_options;
    Timestamp now{};
    std::string actor = "rampart";
    /// Called for each notice a decision produces; its result is recorded, never fatal.
    std::function<Result<void>(const Notice&)> notify;
};

/// One row of `rampart status`.
struct DomainStatus {
    std::string domain;
    std::string client;
    std::string plan;
    std::string step;
    std::string record;                     // the exact TXT value that should be live
    std::optional<Timestamp> since;         // when the step's record was seen live
    std::string state;                      // monitoring, advancing, holding, rolled_back, done
    std::string reason;
    std::optional<std::string> next_step;
    std::optional<rollout::Day> earliest_next;
    bool pending = false;                   // the record is not live yet
    bool held = false;
};

/// Every configured domain (or one), enrolling at the plan's first step any domain seen for the
/// first time. Errc::not_found for a domain no client lists.
[[nodiscard]] Result<std::vector<DomainStatus>> status(Context& context,
                                                       const std::optional<std::string>& domain = {});

/// Manual control. Each is one history entry with the reason.
[[nodiscard]] Result<DomainStatus> hold(Context& context, std::string_view domain, std::string_view reason);
[[nodiscard]] Result<DomainStatus> resume(Context& context, std::string_view domain);
/// Moves the domain to `step` (a name in its plan), publishing its record.
[[nodiscard]] Result<DomainStatus> set_step(Context& context, std::string_view domain, std::string_view step,
                                            std::string_view reason);

struct AdvanceOptions {
    std::optional<std::string> domain;
    bool dry_run = false;  // judge and say, change nothing, publish nothing
};

struct AdvanceResult {
    std::string domain;
    std::string client;
    rollout::Decision decision;
    std::string step;             // after the decision
    std::string old_record;
    std::string new_record;       // "" when the record does not change
    std::optional<publish::Applied> published;
    bool went_live = false;       // the step's record was seen live during this run
    std::vector<std::string> notes;  // live check, notification and publication notes
};

/// The daily tick (see the header comment). Domains are independent: one failing domain is
/// reported in its result and the others go on.
[[nodiscard]] Result<std::vector<AdvanceResult>> advance(Context& context, const AdvanceOptions& options);

/// What a record would have done to the window's mail, per sender.
struct ForecastSender {
    std::string name;
    std::string cls;       // the sender class
    bool legitimate = false;  // known/declared, or a forwarder of legitimate mail
    std::uint64_t messages = 0;
    std::uint64_t failing = 0;     // DMARC-failing messages
    double quarantined = 0;        // expected messages (pct makes these expectations)
    double rejected = 0;
};
struct Forecast {
    std::string domain;
    std::string step;         // the candidate step
    std::string record;       // its record
    Timestamp since{}, until{};
    std::uint64_t messages = 0;
    std::vector<ForecastSender> senders;  // by blocked messages, most first
    double legitimate_quarantined = 0, legitimate_rejected = 0;
    double unauthorised_quarantined = 0, unauthorised_rejected = 0;
};
/// Replays the window's rows against the candidate step (default: the next one), as an RFC 7489
/// receiver applies it (pct, the next policy down for the rest), subdomains under sp.
[[nodiscard]] Result<Forecast> forecast(Context& context, std::string_view domain,
                                        const std::optional<std::string>& to_step, Timestamp since);

/// `rampart plan D`: where the domain is and the calendar to its target.
struct PlanView {
    DomainStatus status;
    rollout::Plan plan;
    std::optional<rollout::Target> target;
    rollout::Schedule schedule;
};
[[nodiscard]] Result<PlanView> plan_view(Context& context, std::string_view domain);

// ---- evidence (exposed for tests and the benchmark) -------------------------------------------

/// True when a report's policy_published shows `record`: same p, sp (absent = p), and the pct
/// or testing flag when the reporter states it (RFC 7489 reporters state pct, RFC 9990 ones t).
[[nodiscard]] bool shows(const report::PolicyPublished& published, const dmarc::Record& record);

}  // namespace rampart::autopilot

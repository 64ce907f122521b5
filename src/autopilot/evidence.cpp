// What the reports say about a domain at its current step: only the rows of reports whose
// policy_published shows the step's record, summed per identical facts, classified by sender.
#include "autopilot/autopilot.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "audit/audit.hpp"
#include "autopilot/internal.hpp"

namespace rampart::autopilot {

namespace {

std::optional<dmarc::Policy> policy_of(std::optional<report::Policy> p) {
    if (!p) return std::nullopt;
    switch (*p) {
        case report::Policy::none: return dmarc::Policy::none;
        case report::Policy::quarantine: return dmarc::Policy::quarantine;
        case report::Policy::reject: return dmarc::Policy::reject;
    }
    return std::nullopt;
}

/// One canonical key per distinct set of facts (everything but counts and days).
std::string fact_key(const store::SourceFacts& f) {
    std::string key = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n", f.source_ip, f.header_from, f.envelope_from,
                                  f.spf_domain, static_cast<int>(f.spf_result), static_cast<int>(f.dmarc_dkim),
                                  static_cast<int>(f.dmarc_spf), static_cast<int>(f.disposition), f.arc_pass);
    for (const auto& d : f.dkim) key += fmt::format("{}|{}|{};", d.domain, d.selector, static_cast<int>(d.result));
    key += '\n';
    for (auto o : f.overrides) key += fmt::format("{};", static_cast<int>(o));
    return key;
}

class StepRowSink final : public store::ReplaySink {
public:
    StepRowSink(std::string_view domain, const dmarc::Record& record) : domain_(domain), record_(record) {}

    Result<void> on_report(const report::AggregateHeader& header, const store::Provenance& /*provenance*/) override {
        taking_ = shows(header.policy, record_);
        if (!taking_) return {};
        ++rows_.reports;
        reporters_.insert(header.metadata.org_name);
        day_ = std::chrono::floor<std::chrono::days>(header.metadata.begin);
        policy_domain_ = header.policy.domain.empty() ? domain_ : header.policy.domain;
        return {};
    }
    Result<void> on_record(const report::Record& record) override {
        if (!taking_) return {};
        auto facts = store::facts_of(record, policy_domain_);
        auto [it, fresh] = index_.try_emplace(fact_key(facts), rows_.facts.size());
        if (fresh) {
            facts.messages = record.count;
            facts.first_day = facts.last_day = day_;
            rows_.facts.push_back(std::move(facts));
            return {};
        }
        auto& sum = rows_.facts[it->second];
        sum.messages += record.count;
        if (day_ < sum.first_day) sum.first_day = day_;
        if (day_ > sum.last_day) sum.last_day = day_;
        return {};
    }
    Result<void> on_report_end() override { return {}; }

    detail::StepRows take() {
        rows_.reporters = reporters_.size();
        return std::move(rows_);
    }

private:
    std::string domain_;
    const dmarc::Record& record_;
    bool taking_ = false;
    std::chrono::sys_days day_{};
    std::string policy_domain_;
    std::set<std::string> reporters_;
    std::map<std::string, std::size_t> index_;
    detail::StepRows rows_;
};

bool unknown_class(senders::SenderClass c) {
    switch (c) {
        case senders::SenderClass::passing:
        case senders::SenderClass::not_aligned:
        case senders::SenderClass::dkim_broken:
        case senders::SenderClass::unknown_passing:
            return true;
        case senders::SenderClass::forwarded:       // legitimate mail broken in transit
        case senders::SenderClass::subdomain_spoof:  // what enforcement is for
        case senders::SenderClass::unauthorised:
            return false;
    }
    return false;
}

double failing_share(const senders::Sender& s) {
    const std::uint64_t judged = s.messages > s.forwarded ? s.messages - s.forwarded : 0;
    if (judged == 0) return 0.0;
    const std::uint64_t failing = s.messages - s.dmarc_pass;
    const std::uint64_t counted = failing > s.forwarded ? failing - s.forwarded : 0;
    return static_cast<double>(counted) / static_cast<double>(judged);
}

/// The operator listed this source as reviewed: by its name or by one of its addresses/blocks.
bool reviewed(const config::ClientConfig& client, const senders::Sender& s) {
    for (const auto& entry : client.reviewed_sources) {
        if (entry == s.name) return true;
        if (std::find(s.sources.begin(), s.sources.end(), entry) != s.sources.end()) return true;
    }
    return false;
}

std::vector<std::string> audit_errors(Context& context, std::string_view domain) {
    std::vector<std::string> errors;
    if (context.resolver == nullptr) return errors;
    audit::AuditOptions options;
    options.configured_selectors = context.config.dkim_selectors;
    options.today = context.now;
    const auto result = audit::audit_domain(*context.resolver, domain, options);
    for (const auto& finding : result.findings) {
        if (finding.severity == audit::Severity::error)
            errors.push_back(fmt::format("{}: {}", finding.code, finding.message));
    }
    return errors;
}

}  // namespace

bool shows(const report::PolicyPublished& published, const dmarc::Record& record) {
    const auto p = policy_of(published.p);
    if (!p || *p != record.policy()) return false;
    const auto sp = policy_of(published.sp).value_or(*p);
    if (sp != record.subdomain_policy()) return false;
    if (published.pct && static_cast<int>(*published.pct) != record.pct.value_or(100)) return false;
    if (published.testing && *published.testing != record.test_mode()) return false;
    return true;
}

namespace detail {

Result<StepRows> step_rows(store::Store& store, std::string_view domain, std::string_view record_text,
                           std::optional<Timestamp> since, std::optional<Timestamp> until) {
    auto record = dmarc::parse_record(record_text);
    if (!record) return std::unexpected(record.error());
    StepRowSink sink(domain, *record);
    // Reports that began up to a day before the step still cover its first hours; shows()
    // keeps only those that saw the new record.
    std::optional<Timestamp> from = since;
    if (from) *from -= std::chrono::days(1);
    if (auto r = store.replay_aggregates(store::ReportQuery{.domain = std::string(domain), .since = from, .until = until},
                                         sink);
        !r)
        return std::unexpected(r.error());
    return sink.take();
}

Result<Gathered> gather(Context& context, const Domain& d) {
    Gathered out;
    rollout::Evidence& e = out.evidence;
    const auto& plan = d.rollout.plan;
    const std::size_t step = *d.step;
    const Timestamp entered = *d.state.entered_at;
    e.days_in_step = days_between(entered, context.now);
    e.today = std::chrono::floor<std::chrono::days>(context.now);
    e.held = d.state.held;
    e.hold_reason = d.state.hold_reason;

    auto rows = step_rows(context.store, d.state.domain, d.state.record, entered, context.now);
    if (!rows) return std::unexpected(rows.error());
    e.reports = rows->reports;
    e.reporters = rows->reporters;
    senders::AnalyseRequest request{.domain = d.state.domain,
                                    .since = entered,
                                    .until = context.now,
                                    .config = &context.config,
                                    .audit_keys = context.resolver != nullptr,
                                    .facts = std::move(rows->facts)};
    auto analysis = senders::analyse_domain(context.store, context.resolver, request,
                                            [now = context.now] { return now; });
    if (!analysis) return std::unexpected(analysis.error());
    out.analysis = std::move(*analysis);

    // The previous step's failing shares, for the rollback signal.
    std::map<std::string, double> before;
    if (!d.state.previous_record.empty()) {
        auto previous = step_rows(context.store, d.state.domain, d.state.previous_record,
                                  entered - std::chrono::days(60), entered);
        if (!previous) return std::unexpected(previous.error());
        if (!previous->facts.empty()) {
            senders::AnalyseRequest earlier{.domain = d.state.domain,
                                            .since = entered - std::chrono::days(60),
                                            .until = entered,
                                            .config = &context.config,
                                            .audit_keys = false,
                                            .facts = std::move(previous->facts)};
            auto then = senders::analyse_domain(context.store, nullptr, earlier, [now = context.now] { return now; });
            if (!then) return std::unexpected(then.error());
            for (const auto& s : then->senders)
                if (s.known) before[s.name] = failing_share(s);
        }
    }

    for (const auto& s : out.analysis.senders) {
        if (s.known) {
            const std::uint64_t judged = s.messages > s.forwarded ? s.messages - s.forwarded : 0;
            const std::uint64_t failing = s.messages - s.dmarc_pass;
            e.legitimate_messages += judged;
            e.legitimate_failing += failing > s.forwarded ? failing - s.forwarded : 0;
            rollout::Evidence::Trend trend{.sender = s.name, .messages = s.messages,
                                           .failing_share = failing_share(s), .previous_failing_share = {}};
            if (auto it = before.find(s.name); it != before.end()) trend.previous_failing_share = it->second;
            e.known_senders.push_back(std::move(trend));
            if (s.cls == senders::SenderClass::dkim_broken) e.dkim_broken.push_back(s.name);
        } else if (unknown_class(s.cls)) {
            e.unknown_sources.push_back({.name = s.name, .messages = s.messages,
                                         .failing = s.messages - s.dmarc_pass,
                                         .reviewed = reviewed(*d.rollout.client, s)});
        }
    }
    const bool entering_enforcement = step + 1 < plan.steps.size() && !rollout::enforcing(plan.steps[step].shape) &&
                                      rollout::enforcing(plan.steps[step + 1].shape);
    if (entering_enforcement) e.audit_errors = audit_errors(context, d.state.domain);
    return out;
}

}  // namespace detail
}  // namespace rampart::autopilot

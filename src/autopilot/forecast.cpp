// What a candidate step would have done to the window's mail: every row replayed against the
// candidate record as an RFC 7489 receiver applies it, attributed to the sender it came from.
#include "autopilot/autopilot.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "autopilot/internal.hpp"
#include "dns/dns.hpp"

namespace rampart::autopilot {

namespace {

/// Index of the sender each source address belongs to (senders list addresses or CIDR blocks).
class SenderIndex {
public:
    explicit SenderIndex(const std::vector<senders::Sender>& list) {
        for (std::size_t i = 0; i < list.size(); ++i) {
            for (const auto& source : list[i].sources) {
                if (source.find('/') == std::string::npos) {
                    exact_.emplace(source, i);
                } else if (auto net = parse_network(source)) {
                    blocks_.emplace_back(*net, i);
                }
            }
        }
    }
    std::optional<std::size_t> find(const std::string& ip) const {
        if (auto it = exact_.find(ip); it != exact_.end()) return it->second;
        auto address = IpAddress::parse(ip);
        if (!address) return std::nullopt;
        for (const auto& [net, index] : blocks_)
            if (net.contains(*address)) return index;
        return std::nullopt;
    }

private:
    std::map<std::string, std::size_t> exact_;
    std::vector<std::pair<Network, std::size_t>> blocks_;
};

bool legitimate(const senders::Sender& s) {
    return s.known || s.cls == senders::SenderClass::forwarded || s.cls == senders::SenderClass::unknown_passing;
}

void add_effect(const rollout::Effect& effect, double messages, ForecastSender& out) {
    auto apply = [&](dmarc::Policy policy, double share) {
        if (policy == dmarc::Policy::quarantine) out.quarantined += messages * share;
        if (policy == dmarc::Policy::reject) out.rejected += messages * share;
    };
    apply(effect.policy, effect.share);
    apply(effect.rest, 1.0 - effect.share);
}

}  // namespace

Result<Forecast> forecast(Context& context, std::string_view domain, const std::optional<std::string>& to_step,
                          Timestamp since) {
    auto d = detail::load(context, ascii_lower(domain));
    if (!d) return std::unexpected(d.error());
    const auto& plan = d->rollout.plan;
    std::size_t candidate = 0;
    if (to_step) {
        auto index = plan.find(*to_step);
        if (!index) return fail(Errc::not_found, fmt::format("plan \"{}\" has no step \"{}\"", plan.name, printable(*to_step)));
        candidate = *index;
    } else {
        candidate = d->step ? std::min(*d->step + 1, plan.steps.size() - 1) : 0;
    }
    auto record_text = detail::record_for(*d, candidate);
    if (!record_text) return std::unexpected(record_text.error());
    auto record = dmarc::parse_record(*record_text);
    if (!record) return std::unexpected(record.error());

    auto analysis = senders::analyse_domain(
        context.store, context.resolver,
        senders::AnalyseRequest{.domain = d->state.domain, .since = since, .until = context.now,
                                .config = &context.config, .audit_keys = false},
        [now = context.now] { return now; });
    if (!analysis) return std::unexpected(analysis.error());
    auto facts = context.store.source_facts(
        store::FactsQuery{.domain = d->state.domain, .since = since, .until = context.now});
    if (!facts) return std::unexpected(facts.error());

    Forecast out{.domain = d->state.domain, .step = plan.steps[candidate].name, .record = *record_text,
                 .since = since, .until = context.now};
    std::vector<ForecastSender> rows(analysis->senders.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& s = analysis->senders[i];
        rows[i] = ForecastSender{.name = s.name, .cls = std::string(senders::to_string(s.cls)),
                                 .legitimate = legitimate(s), .messages = s.messages,
                                 .failing = s.messages - s.dmarc_pass};
    }
    ForecastSender unattributed{.name = "(unattributed)", .cls = "unknown"};
    const SenderIndex index(analysis->senders);
    for (const auto& f : *facts) {
        out.messages += f.messages;
        if (f.dmarc_pass()) continue;
        const bool subdomain = f.header_from != d->state.domain && dns::is_subdomain(f.header_from, d->state.domain);
        const auto effect = rollout::effect_rfc7489(*record, subdomain);
        auto which = index.find(f.source_ip);
        add_effect(effect, static_cast<double>(f.messages), which ? rows[*which] : unattributed);
    }
    if (unattributed.quarantined + unattributed.rejected > 0) rows.push_back(unattributed);
    for (const auto& r : rows) {
        (r.legitimate ? out.legitimate_quarantined : out.unauthorised_quarantined) += r.quarantined;
        (r.legitimate ? out.legitimate_rejected : out.unauthorised_rejected) += r.rejected;
    }
    std::stable_sort(rows.begin(), rows.end(), [](const ForecastSender& a, const ForecastSender& b) {
        return a.quarantined + a.rejected > b.quarantined + b.rejected;
    });
    out.senders = std::move(rows);
    return out;
}

}  // namespace rampart::autopilot

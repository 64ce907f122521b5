// The rollout sections of rampart.toml: [defaults], [[plan]] and the rollout keys of [[client]].
// Plans are built into rollout::Plan here and validated, so that every later use (status,
// advance, the schedule) can trust them and every mistake is reported with its line.
#include "config/config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/reader.hpp"
#include "dmarc/dmarc.hpp"

namespace rampart::config::detail {

namespace {

Result<dmarc::Policy> policy_value(const TomlReader& r, const toml::node& node, std::string_view key) {
    auto text = r.string(node, key);
    if (!text) return std::unexpected(text.error());
    auto policy = dmarc::parse_policy(*text);
    if (!policy || *text != dmarc::to_string(*policy))
        return r.error(node.source(),
                       fmt::format("{} must be \"none\", \"quarantine\" or \"reject\", not \"{}\"", key, printable(*text)));
    return *policy;
}

Result<dmarc::Alignment> alignment_value(const TomlReader& r, const toml::node& node, std::string_view key) {
    auto text = r.string(node, key);
    if (!text) return std::unexpected(text.error());
    if (*text == "r") return dmarc::Alignment::relaxed;
    if (*text == "s") return dmarc::Alignment::strict;
    return r.error(node.source(), fmt::format("{} must be \"r\" or \"s\"", key));
}

Result<std::int64_t> integer(const TomlReader& r, const toml::node& node, std::string_view key, std::int64_t low,
                             std::int64_t high) {
    auto value = node.value<std::int64_t>();
    if (!node.is_integer() || !value || *value < low || *value > high)
        return r.error(node.source(), fmt::format("{} must be a whole number from {} to {}", key, low, high));
    return *value;
}

Result<double> fraction(const TomlReader& r, const toml::node& node, std::string_view key) {
    auto value = node.value<double>();
    if (!(node.is_floating_point() || node.is_integer()) || !value || *value < 0 || *value > 1)
        return r.error(node.source(), fmt::format("{} must be a share from 0 to 1 (0.05 = 5%)", key));
    return *value;
}

/// The name a step gets when the configuration does not give one: "quarantine-10", "reject",
/// "none-sp-quarantine", "reject-testing".
std::string derived_name(const rollout::Shape& shape) {
    std::string name(dmarc::to_string(shape.p));
    if (shape.pct < 100) name += fmt::format("-{}", shape.pct);
    if (shape.p == dmarc::Policy::none && shape.sp) name += fmt::format("-sp-{}", dmarc::to_string(*shape.sp));
    if (shape.testing) name += "-testing";
    return name;
}

Result<rollout::Step> step(const TomlReader& r, const toml::table& table, const rollout::Step& defaults) {
    rollout::Step s = defaults;
    s.name.clear();
    s.date.reset();
    s.shape = rollout::Shape{};
    bool has_p = false;
    bool has_typical = false;
    for (const auto& [key, node] : table) {
        const auto name = key.str();
        if (name == "name") {
            auto v = r.string(node, name);
            if (!v) return std::unexpected(v.error());
            s.name = std::move(*v);
        } else if (name == "date") {
            auto v = r.date(node, name);
            if (!v) return std::unexpected(v.error());
            s.date = rollout::Day(*v);
        } else if (name == "p" || name == "sp" || name == "np") {
            auto v = policy_value(r, node, name);
            if (!v) return std::unexpected(v.error());
            if (name == "p") {
                s.shape.p = *v;
                has_p = true;
            } else {
                (name == "sp" ? s.shape.sp : s.shape.np) = *v;
            }
        } else if (name == "pct") {
            auto v = integer(r, node, name, 1, 100);
            if (!v) return std::unexpected(v.error());
            s.shape.pct = static_cast<int>(*v);
        } else if (name == "t") {
            auto v = r.string(node, name);
            if (!v) return std::unexpected(v.error());
            if (*v != "y" && *v != "n") return r.error(node.source(), "t must be \"y\" or \"n\"");
            s.shape.testing = *v == "y";
        } else if (name == "adkim" || name == "aspf") {
            auto v = alignment_value(r, node, name);
            if (!v) return std::unexpected(v.error());
            (name == "adkim" ? s.shape.adkim : s.shape.aspf) = *v;
        } else if (name == "min_days" || name == "typical_days") {
            auto v = integer(r, node, name, 0, 3650);
            if (!v) return std::unexpected(v.error());
            (name == "min_days" ? s.min_days : s.typical_days) = static_cast<int>(*v);
            has_typical = has_typical || name == "typical_days";
        } else if (name == "milestone") {
            auto v = r.boolean(node, name);
            if (!v) return std::unexpected(v.error());
            s.milestone = *v;
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [[plan.step]] (known: name, date, p, sp, np, pct, t, "
                                       "adkim, aspf, min_days, typical_days, milestone)",
                                       printable(name)));
        }
    }
    if (!has_p) return r.error(table.source(), "this [[plan.step]] has no p");
    if (!has_typical) s.typical_days = std::max(s.typical_days, s.min_days);
    if (s.name.empty()) s.name = derived_name(s.shape);
    return s;
}

Result<void> gates(const TomlReader& r, const toml::node& node, rollout::Gates& g) {
    const auto* table = node.as_table();
    if (table == nullptr) return r.error(node.source(), "gates must be a table: write it as [plan.gates]");
    for (const auto& [key, value] : *table) {
        const auto name = key.str();
        Result<void> done;
        auto count = [&](std::uint64_t& field) -> Result<void> {
            auto v = integer(r, value, name, 0, 1'000'000'000);
            if (!v) return std::unexpected(v.error());
            field = static_cast<std::uint64_t>(*v);
            return {};
        };
        auto share = [&](double& field) -> Result<void> {
            auto v = fraction(r, value, name);
            if (!v) return std::unexpected(v.error());
            field = *v;
            return {};
        };
        if (name == "max_failing_share") {
            done = share(g.max_failing_share);
        } else if (name == "rollback_failure_rise") {
            done = share(g.rollback_failure_rise);
        } else if (name == "unknown_sender_volume") {
            done = count(g.unknown_sender_volume);
        } else if (name == "min_reports") {
            done = count(g.min_reports);
        } else if (name == "min_reporters") {
            done = count(g.min_reporters);
        } else if (name == "rollback_min_volume") {
            done = count(g.rollback_min_volume);
        } else if (name == "require_no_dkim_broken") {
            auto v = r.boolean(value, name);
            if (!v) return std::unexpected(v.error());
            g.require_no_dkim_broken = *v;
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [plan.gates] (known: max_failing_share, "
                                       "unknown_sender_volume, require_no_dkim_broken, min_reports, min_reporters, "
                                       "rollback_failure_rise, rollback_min_volume)",
                                       printable(name)));
        }
        if (!done) return done;
    }
    return {};
}

}  // namespace

Result<rollout::Target> target(const TomlReader& r, const toml::node& node, std::string_view key) {
    auto text = r.string(node, key);
    if (!text) return std::unexpected(text.error());
    auto parsed = rollout::parse_target(*text);
    if (!parsed) return r.error(node.source(), fmt::format("{}: {}", key, parsed.error().reason));
    return *parsed;
}

Result<std::vector<std::string>> report_uris(const TomlReader& r, const toml::node& node, std::string_view key) {
    return r.strings(node, key, [](std::string uri) -> Result<std::string> {
        auto record = dmarc::parse_record(fmt::format("v=DMARC1; rua={}", uri));
        if (!record || record->rua.size() != 1)
            return fail(Errc::malformed, fmt::format("'{}' is not a report URI (mailto:address)", printable(uri)));
        return uri;
    });
}

Result<rollout::Plan> plan(const TomlReader& r, const toml::table& table) {
    std::optional<std::string> name;
    std::string base = "gradual";
    const toml::node* base_node = nullptr;
    for (const auto& [key, node] : table) {
        if (key.str() == "name") {
            auto v = r.string(node, "name");
            if (!v) return std::unexpected(v.error());
            name = std::move(*v);
        } else if (key.str() == "base") {
            auto v = r.string(node, "base");
            if (!v) return std::unexpected(v.error());
            base = std::move(*v);
            base_node = &node;
        }
    }
    if (!name) return r.error(table.source(), "this [[plan]] has no name");
    auto shipped = rollout::shipped_plan(base);
    if (!shipped)
        return r.error(base_node != nullptr ? base_node->source() : table.source(),
                       fmt::format("base must be a shipped plan (gradual, ramp, dated), not \"{}\"", printable(base)));
    if (rollout::shipped_plan(*name))
        return r.error(table.get("name")->source(),
                       fmt::format("\"{}\" is a shipped plan's name; give the custom plan another", printable(*name)));
    rollout::Plan p = std::move(*shipped);
    p.name = *name;
    p.base = base;
    const rollout::Step step_defaults{.min_days = 7, .typical_days = 14};
    std::optional<std::vector<std::string>> milestones;
    const toml::node* milestones_node = nullptr;
    for (const auto& [key, node] : table) {
        const auto k = key.str();
        if (k == "name" || k == "base") continue;
        if (k == "generation") {
            auto v = r.string(node, k);
            if (!v) return std::unexpected(v.error());
            auto g = rollout::parse_generation(*v);
            if (!g) return r.error(node.source(), "generation must be \"both\", \"rfc7489\" or \"rfc9989\"");
            p.generation = *g;
        } else if (k == "ahead_of_calendar") {
            auto v = r.boolean(node, k);
            if (!v) return std::unexpected(v.error());
            p.ahead_of_calendar = *v;
        } else if (k == "milestones") {
            auto v = r.strings(node, k, [](std::string s) -> Result<std::string> { return s; });
            if (!v) return std::unexpected(v.error());
            milestones = std::move(*v);
            milestones_node = &node;
        } else if (k == "gates") {
            if (auto g = gates(r, node, p.gates); !g) return std::unexpected(g.error());
        } else if (k == "step") {
            const auto* list = node.as_array();
            if (list == nullptr || !list->is_array_of_tables())
                return r.error(node.source(), "step must be an array of tables: write each as [[plan.step]]");
            p.steps.clear();
            for (const auto& item : *list) {
                auto s = step(r, *item.as_table(), step_defaults);
                if (!s) return std::unexpected(s.error());
                p.steps.push_back(std::move(*s));
            }
            rollout::mark_default_milestones(p);
            // A milestone set by hand on a step stays one.
            for (std::size_t i = 0; i < list->size(); ++i) {
                const auto* flag = (*list)[i].as_table()->get("milestone");
                if (flag != nullptr) p.steps[i].milestone = flag->value<bool>().value_or(false);
            }
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [[plan]] (known: name, base, generation, "
                                       "ahead_of_calendar, milestones, [plan.gates], [[plan.step]])",
                                       printable(k)));
        }
    }
    if (milestones) {
        for (auto& s : p.steps) s.milestone = false;
        for (const auto& step_name : *milestones) {
            auto index = p.find(step_name);
            if (!index)
                return r.error(milestones_node->source(),
                               fmt::format("milestones: plan \"{}\" has no step \"{}\"", p.name, printable(step_name)));
            p.steps[*index].milestone = true;
        }
    }
    if (base == "dated" && !p.dated())
        return r.error(table.source(), fmt::format("plan \"{}\" is based on \"dated\" but none of its steps has a date",
                                                   p.name));
    if (auto valid = rollout::validate(p); !valid) return r.error(table.source(), valid.error().reason);
    return p;
}

Result<Defaults> defaults(const TomlReader& r, const toml::node& node) {
    const auto* table = node.as_table();
    if (table == nullptr) return r.error(node.source(), "defaults must be a table: write it as [defaults]");
    Defaults d;
    for (const auto& [key, value] : *table) {
        const auto k = key.str();
        if (k == "plan") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            d.plan = std::move(*v);
        } else if (k == "target") {
            auto v = target(r, value, k);
            if (!v) return std::unexpected(v.error());
            d.target = *v;
        } else if (k == "rua" || k == "ruf") {
            auto v = report_uris(r, value, k);
            if (!v) return std::unexpected(v.error());
            (k == "rua" ? d.rua : d.ruf) = std::move(*v);
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [defaults] (known: plan, target, rua, ruf)", printable(k)));
        }
    }
    return d;
}

Result<DomainOverride> domain_override(const TomlReader& r, const toml::table& table) {
    DomainOverride o;
    o.where = r.at(table.source());
    for (const auto& [key, value] : table) {
        const auto k = key.str();
        if (k == "domain") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            auto name = host_name(*v);
            if (!name) return r.error(value.source(), fmt::format("domain: {}", name.error().reason));
            o.domain = std::move(*name);
        } else if (k == "plan") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            o.plan = std::move(*v);
        } else if (k == "target") {
            auto v = target(r, value, k);
            if (!v) return std::unexpected(v.error());
            o.target = *v;
        } else if (k == "publisher") {
            auto v = publisher(r, value, "client.override");
            if (!v) return std::unexpected(v.error());
            o.publisher = std::move(*v);
        } else {
            return r.error(key.source(),
                           fmt::format("unknown key '{}' in [[client.override]] (known: domain, plan, target, "
                                       "publisher)",
                                       printable(k)));
        }
    }
    if (o.domain.empty()) return r.error(table.source(), "this [[client.override]] has no domain");
    return o;
}

Result<std::optional<notify::SmtpSettings>> notify_section(const TomlReader& r, const toml::node& node) {
    const auto* table = node.as_table();
    if (table == nullptr) return r.error(node.source(), "notify must be a table: write it as [notify.smtp]");
    std::optional<notify::SmtpSettings> out;
    for (const auto& [key, value] : *table) {
        if (key.str() != "smtp")
            return r.error(key.source(), fmt::format("unknown key '{}' in [notify] (known: [notify.smtp])",
                                                     printable(key.str())));
        const auto* smtp = value.as_table();
        if (smtp == nullptr) return r.error(value.source(), "smtp must be a table: write it as [notify.smtp]");
        notify::SmtpSettings settings;
        bool has_url = false;
        bool has_from = false;
        for (const auto& [skey, svalue] : *smtp) {
            const auto k = skey.str();
            if (k == "url" || k == "from" || k == "username") {
                auto v = r.string(svalue, k);
                if (!v) return std::unexpected(v.error());
                if (k == "url") {
                    if (!v->starts_with("smtp://") && !v->starts_with("smtps://"))
                        return r.error(svalue.source(), "url must start with smtp:// or smtps://");
                    settings.url = std::move(*v);
                    has_url = true;
                } else if (k == "from") {
                    settings.from = std::move(*v);
                    has_from = true;
                } else {
                    settings.username = std::move(*v);
                }
            } else if (k == "password_file" || k == "ca_file") {
                auto v = r.path(svalue, k);
                if (!v) return std::unexpected(v.error());
                (k == "password_file" ? settings.password_file : settings.ca_file) = std::move(*v);
            } else if (k == "starttls" || k == "insecure") {
                auto v = r.boolean(svalue, k);
                if (!v) return std::unexpected(v.error());
                (k == "starttls" ? settings.starttls : settings.insecure) = *v;
            } else {
                return r.error(skey.source(),
                               fmt::format("unknown key '{}' in [notify.smtp] (known: url, from, username, "
                                           "password_file, ca_file, starttls, insecure)",
                                           printable(k)));
            }
        }
        if (!has_url || !has_from) return r.error(value.source(), "[notify.smtp] needs url and from");
        if (settings.username.has_value() != settings.password_file.has_value())
            return r.error(value.source(), "[notify.smtp] needs username and password_file together");
        out = std::move(settings);
    }
    return out;
}

Result<void> check_rollout(const Config& config) {
    auto unknown_plan = [&](std::string_view name, const Location& where, std::string_view whose) -> Result<void> {
        if (config.plan(name)) return {};
        std::string known = "gradual, ramp, dated";
        for (const auto& p : config.plans) known += ", " + p.name;
        return fail(Errc::malformed, fmt::format("{} names plan \"{}\", which does not exist (known: {})", whose,
                                                 printable(name), known),
                    where);
    };
    if (auto ok = unknown_plan(config.defaults.plan, Location{}, "[defaults]"); !ok) return ok;
    for (const auto& client : config.clients) {
        const std::string whose = fmt::format("client '{}'", printable(client.name));
        if (client.plan) {
            if (auto ok = unknown_plan(*client.plan, client.where, whose); !ok) return ok;
        }
        for (const auto& o : client.overrides) {
            if (std::ranges::find(client.domains, o.domain) == client.domains.end())
                return fail(Errc::malformed,
                            fmt::format("{} overrides domain '{}', which is not in its domains", whose, o.domain),
                            o.where);
            if (o.plan) {
                if (auto ok = unknown_plan(*o.plan, o.where, whose); !ok) return ok;
            }
        }
    }
    return {};
}

}  // namespace rampart::config::detail

namespace rampart::config {

std::optional<rollout::Plan> Config::plan(std::string_view name) const {
    for (const auto& p : plans) {
        if (p.name == name) return p;
    }
    return rollout::shipped_plan(name);
}

std::vector<std::string> Config::domains() const {
    std::vector<std::string> out;
    for (const auto& client : clients) out.insert(out.end(), client.domains.begin(), client.domains.end());
    return out;
}

Result<DomainRollout> Config::rollout_for(std::string_view domain) const {
    const ClientConfig* owner = client_of(domain);
    if (owner == nullptr)
        return fail(Errc::not_found, fmt::format("no [[client]] lists the domain {}", printable(domain)));
    DomainRollout out{.domain = std::string(domain), .client = owner};
    std::string plan_name = owner->plan.value_or(defaults.plan);
    out.target = owner->target ? owner->target : defaults.target;
    for (const auto& o : owner->overrides) {
        if (o.domain != domain) continue;
        if (o.plan) plan_name = *o.plan;
        if (o.target) out.target = o.target;
    }
    auto resolved = plan(plan_name);
    if (!resolved)
        return fail(Errc::not_found, fmt::format("plan \"{}\" does not exist", printable(plan_name)), owner->where);
    out.plan = std::move(*resolved);
    out.destinations.rua = owner->rua.value_or(defaults.rua);
    out.destinations.ruf = owner->ruf.value_or(defaults.ruf);
    return out;
}

}  // namespace rampart::config

// The provider catalogue through toml++. toml++ reports syntax errors by exception; they are
// caught here and become Errors with the position toml++ found them at. Every key is checked
// against the fields the catalogue knows, so a misspelt field fails the unit test that parses
// the shipped file instead of silently meaning "absent".
#include "catalogue/catalogue.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace rampart::catalogue {

std::string_view builtin_catalogue_text() noexcept;  // generated from data/providers.toml

namespace {

constexpr std::string_view kind_names[] = {"mailbox-platform", "esp",     "helpdesk",
                                           "crm",              "gateway", "mailbox-provider"};

class Reader {
public:
    explicit Reader(std::string_view source) : source_(source) {}

    Location at(const toml::source_region& region) const {
        Location where{.source = source_};
        where.line = region.begin.line;
        where.column = region.begin.column;
        return where;
    }
    std::unexpected<Error> error(const toml::source_region& region, std::string reason) const {
        return fail(Errc::malformed, std::move(reason), at(region));
    }

    Result<std::string> string(const toml::node& node, std::string_view key) const {
        if (!node.is_string()) return error(node.source(), fmt::format("{} must be a string", key));
        auto v = *node.value<std::string>();
        if (v.empty()) return error(node.source(), fmt::format("{} must not be empty", key));
        return v;
    }
    Result<std::vector<std::string>> strings(const toml::node& node, std::string_view key) const {
        const auto* list = node.as_array();
        if (list == nullptr)
            return error(node.source(), fmt::format("{} must be a list of strings", key));
        std::vector<std::string> out;
        for (const auto& item : *list) {
            auto s = string(item, key);
            if (!s) return std::unexpected(std::move(s.error()));
            out.push_back(std::move(*s));
        }
        return out;
    }
    /// A DNS name as providers document it; "<...>" parts mark per-account values in targets.
    Result<std::string> name(const toml::node& node, std::string_view key) const {
        auto s = string(node, key);
        if (!s) return s;
        for (char c : *s)
            if (c <= ' ' || c > '~' || (c >= 'A' && c <= 'Z'))
                return error(node.source(),
                             fmt::format("{} must be a lower-case DNS name", key));
        return s;
    }
    Result<std::vector<std::string>> names(const toml::node& node, std::string_view key) const {
        auto list = strings(node, key);
        if (!list) return list;
        for (const auto& n : *list)
            if (n.find_first_of(" \tABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
                return error(node.source(),
                             fmt::format("{} must hold lower-case DNS names", key));
        return list;
    }
    Result<const toml::table*> table(const toml::node& node, std::string_view key) const {
        const auto* t = node.as_table();
        if (t == nullptr) return error(node.source(), fmt::format("{} must be a table", key));
        return t;
    }
    std::unexpected<Error> unknown(const toml::key& key, std::string_view where,
                                   std::string_view known) const {
        return error(key.source(), fmt::format("unknown key '{}' in {} (known: {})",
                                               printable(key.str()), where, known));
    }

    Result<std::map<std::string, int, std::less<>>> costs(const toml::node& node) const {
        auto t = table(node, "spf_lookups");
        if (!t) return std::unexpected(std::move(t.error()));
        std::map<std::string, int, std::less<>> out;
        for (const auto& [key, value] : **t) {
            auto n = value.value<std::int64_t>();
            if (!value.is_integer() || !n || *n < 1 || *n > 10)
                return error(value.source(), "an spf_lookups cost must be a whole number 1..10");
            out.emplace(std::string(key.str()), static_cast<int>(*n));
        }
        return out;
    }

    /// spf_includes, spf_a, spf_lookups: shared by a provider and its regions. Returns false
    /// when `key` is none of them.
    Result<bool> spf_field(std::string_view key, const toml::node& node, SpfTerms& spf) const {
        if (key == "spf_includes") {
            auto v = names(node, key);
            if (!v) return std::unexpected(std::move(v.error()));
            spf.includes = std::move(*v);
        } else if (key == "spf_a") {
            auto v = names(node, key);
            if (!v) return std::unexpected(std::move(v.error()));
            spf.a = std::move(*v);
        } else if (key == "spf_lookups") {
            auto v = costs(node);
            if (!v) return std::unexpected(std::move(v.error()));
            spf.lookups = std::move(*v);
        } else {
            return false;
        }
        return true;
    }

    /// Every cost must name a term the table publishes: a stale cost is a typo waiting to hide.
    Result<void> check_costs(const SpfTerms& spf, const toml::node& node) const {
        for (const auto& [term, cost] : spf.lookups) {
            bool listed = std::ranges::find(spf.includes, term) != spf.includes.end() ||
                          std::ranges::find(spf.a, term) != spf.a.end();
            if (!listed)
                return error(node.source(),
                             fmt::format("spf_lookups names '{}', which is not among the SPF "
                                         "terms here",
                                         printable(term)));
        }
        return {};
    }

    Result<Region> region(std::string_view id, const toml::node& node) const {
        auto t = table(node, fmt::format("region {}", id));
        if (!t) return std::unexpected(std::move(t.error()));
        Region r{.id = std::string(id)};
        for (const auto& [key, value] : **t) {
            auto k = key.str();
            auto spf = spf_field(k, value, r.spf);
            if (!spf) return std::unexpected(std::move(spf.error()));
            if (*spf) continue;
            if (k == "return_path_target" || k == "tracking_target") {
                auto v = name(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                (k == "return_path_target" ? r.return_path_target : r.tracking_target) = *v;
            } else {
                return unknown(key, "a region",
                               "spf_includes, spf_a, spf_lookups, return_path_target, "
                               "tracking_target");
            }
        }
        auto checked = check_costs(r.spf, node);
        if (!checked) return std::unexpected(std::move(checked.error()));
        return r;
    }

    Result<DkimGuidance> dkim(const toml::node& node) const {
        auto t = table(node, "dkim");
        if (!t) return std::unexpected(std::move(t.error()));
        DkimGuidance d;
        bool has_method = false;
        for (const auto& [key, value] : **t) {
            auto k = key.str();
            if (k == "method") {
                auto v = string(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                if (*v == "cname") d.method = DkimMethod::cname;
                else if (*v == "txt") d.method = DkimMethod::txt;
                else return error(value.source(), "dkim method must be \"cname\" or \"txt\"");
                has_method = true;
            } else if (k == "selectors") {
                auto v = names(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                d.selectors = std::move(*v);
            } else if (k == "target") {
                auto v = name(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                d.target = std::move(*v);
            } else if (k == "note") {
                auto v = string(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                d.note = std::move(*v);
            } else {
                return unknown(key, "[provider.dkim]", "method, selectors, target, note");
            }
        }
        if (!has_method) return error(node.source(), "[provider.dkim] needs a method");
        return d;
    }

    Result<ReturnPathGuidance> return_path(const toml::node& node) const {
        auto t = table(node, "return_path");
        if (!t) return std::unexpected(std::move(t.error()));
        ReturnPathGuidance r;
        for (const auto& [key, value] : **t) {
            auto k = key.str();
            if (k == "method") {
                auto v = string(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                if (*v == "own-domain") r.method = ReturnPath::own_domain;
                else if (*v == "cname") r.method = ReturnPath::cname;
                else if (*v == "mx") r.method = ReturnPath::mx;
                else if (*v == "provider") r.method = ReturnPath::provider;
                else
                    return error(value.source(), "return_path method must be \"own-domain\", "
                                                 "\"cname\", \"mx\" or \"provider\"");
            } else if (k == "target") {
                auto v = name(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                r.target = std::move(*v);
            } else if (k == "note") {
                auto v = string(value, k);
                if (!v) return std::unexpected(std::move(v.error()));
                r.note = std::move(*v);
            } else {
                return unknown(key, "[provider.return_path]", "method, target, note");
            }
        }
        return r;
    }

    Result<void> provider_field(const toml::key& key, const toml::node& value, Provider& p) const {
        auto k = key.str();
        auto set_string = [&](std::string& field) -> Result<void> {
            auto v = string(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            field = std::move(*v);
            return {};
        };
        auto set_names = [&](std::vector<std::string>& field) -> Result<void> {
            auto v = names(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            field = std::move(*v);
            return {};
        };
        auto spf = spf_field(k, value, p.spf);
        if (!spf) return std::unexpected(std::move(spf.error()));
        if (*spf) return {};
        if (k == "id") {
            auto v = string(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            if (!std::ranges::all_of(*v, [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                }))
                return error(value.source(), "id must be lower-case letters, digits and '-'");
            p.id = std::move(*v);
            return {};
        }
        if (k == "name") return set_string(p.name);
        if (k == "note") return set_string(p.note);
        if (k == "kind") {
            auto v = string(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            auto kind = parse_kind(*v);
            if (!kind)
                return error(value.source(),
                             fmt::format("kind must be one of: {}", fmt::join(kind_names, ", ")));
            p.kind = *kind;
            return {};
        }
        if (k == "domains") return set_names(p.domains);
        if (k == "ptr_patterns") return set_names(p.ptr_patterns);
        if (k == "dkim_domains") return set_names(p.dkim_domains);
        if (k == "forwarder") {
            if (!value.is_boolean())
                return error(value.source(), "forwarder must be true or false");
            p.forwarder = *value.value<bool>();
            return {};
        }
        if (k == "default_region") {
            auto v = string(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            p.default_region = std::move(*v);
            return {};
        }
        if (k == "tracking_target") {
            auto v = name(value, k);
            if (!v) return std::unexpected(std::move(v.error()));
            p.tracking_target = std::move(*v);
            return {};
        }
        if (k == "regions") {
            auto t = table(value, k);
            if (!t) return std::unexpected(std::move(t.error()));
            for (const auto& [rkey, rvalue] : **t) {
                auto r = region(rkey.str(), rvalue);
                if (!r) return std::unexpected(std::move(r.error()));
                p.regions.push_back(std::move(*r));
            }
            return {};
        }
        if (k == "dkim") {
            auto d = dkim(value);
            if (!d) return std::unexpected(std::move(d.error()));
            p.dkim = std::move(*d);
            return {};
        }
        if (k == "return_path") {
            auto r = return_path(value);
            if (!r) return std::unexpected(std::move(r.error()));
            p.return_path = std::move(*r);
            return {};
        }
        if (k == "ip_ranges") {
            auto list = strings(value, k);
            if (!list) return std::unexpected(std::move(list.error()));
            for (const auto& text : *list) {
                auto n = parse_network(text);
                if (!n) return error(value.source(), fmt::format("ip_ranges: {}", n.error().reason));
                p.ip_ranges.push_back(*n);
            }
            return {};
        }
        return unknown(key, "[[provider]]",
                       "id, name, kind, note, domains, forwarder, spf_includes, spf_a, "
                       "spf_lookups, regions, default_region, dkim, return_path, "
                       "tracking_target, ptr_patterns, dkim_domains, ip_ranges");
    }

    Result<Provider> provider(const toml::table& t) const {
        Provider p;
        p.where = at(t.source());
        bool has_kind = false;
        for (const auto& [key, value] : t) {
            auto r = provider_field(key, value, p);
            if (!r) return std::unexpected(std::move(r.error()));
            if (key.str() == "kind") has_kind = true;
        }
        if (p.id.empty()) return error(t.source(), "this [[provider]] has no id");
        if (p.name.empty()) return error(t.source(), fmt::format("provider {} has no name", p.id));
        if (!has_kind) return error(t.source(), fmt::format("provider {} has no kind", p.id));
        auto checked = check_costs(p.spf, t);
        if (!checked) return std::unexpected(std::move(checked.error()));
        if (p.default_region && p.region(*p.default_region) == nullptr)
            return error(t.source(), fmt::format("provider {}: default_region '{}' is not among "
                                                 "its regions",
                                                 p.id, printable(*p.default_region)));
        if (!p.regions.empty() && !p.spf.empty())
            return error(t.source(), fmt::format("provider {} has regions: its SPF terms belong "
                                                 "in each region",
                                                 p.id));
        return p;
    }

    Result<std::vector<Provider>> catalogue(const toml::table& root) const {
        std::vector<Provider> out;
        std::set<std::string, std::less<>> ids;
        for (const auto& [key, node] : root) {
            if (key.str() != "provider") return unknown(key, "the catalogue", "[[provider]]");
            const auto* list = node.as_array();
            if (list == nullptr || !list->is_array_of_tables())
                return error(node.source(), "provider must be written as [[provider]] tables");
            for (const auto& item : *list) {
                auto p = provider(*item.as_table());
                if (!p) return std::unexpected(std::move(p.error()));
                if (!ids.insert(p->id).second)
                    return error(item.source(), fmt::format("provider id '{}' appears twice", p->id));
                out.push_back(std::move(*p));
            }
        }
        return out;
    }

private:
    std::string source_;
};

/// Glob match where '*' stands for any run of characters (dots included); case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (p < pattern.size() && lower(pattern[p]) == lower(text[t])) {
            ++p;
            ++t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool at_or_below(std::string_view name, std::string_view ancestor) {
    if (name.size() > 0 && name.back() == '.') name.remove_suffix(1);
    if (name.size() == ancestor.size()) return iequals(name, ancestor);
    if (name.size() < ancestor.size() + 1) return false;
    return name[name.size() - ancestor.size() - 1] == '.' &&
           iequals(name.substr(name.size() - ancestor.size()), ancestor);
}

}  // namespace

std::string_view to_string(Kind kind) noexcept {
    return kind_names[static_cast<std::size_t>(kind)];
}

std::optional<Kind> parse_kind(std::string_view text) noexcept {
    for (std::size_t i = 0; i < std::size(kind_names); ++i)
        if (kind_names[i] == text) return static_cast<Kind>(i);
    return std::nullopt;
}

std::string_view to_string(DkimMethod method) noexcept {
    return method == DkimMethod::cname ? "cname" : "txt";
}

std::string_view to_string(ReturnPath method) noexcept {
    switch (method) {
        case ReturnPath::own_domain: return "own-domain";
        case ReturnPath::cname: return "cname";
        case ReturnPath::mx: return "mx";
        case ReturnPath::provider: return "provider";
    }
    return "own-domain";
}

std::optional<int> SpfTerms::known_cost(std::string_view name) const {
    auto it = lookups.find(name);
    if (it == lookups.end()) return std::nullopt;
    return it->second;
}

const Region* Provider::region(std::string_view region_id) const noexcept {
    for (const auto& r : regions)
        if (r.id == region_id) return &r;
    return nullptr;
}

bool Provider::matches_ptr(std::string_view host) const {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    return std::ranges::any_of(ptr_patterns,
                               [&](const std::string& p) { return glob_match(p, host); });
}

bool Provider::signs_as(std::string_view d) const {
    return std::ranges::any_of(dkim_domains,
                               [&](const std::string& domain) { return at_or_below(d, domain); });
}

bool Provider::owns_address(const IpAddress& ip) const noexcept {
    return std::ranges::any_of(ip_ranges, [&](const Network& n) { return n.contains(ip); });
}

const SpfTerms& Selection::spf() const noexcept {
    return region != nullptr ? region->spf : provider->spf;
}

std::optional<std::string> Selection::return_path_target() const {
    if (region != nullptr && region->return_path_target) return region->return_path_target;
    if (provider->return_path) return provider->return_path->target;
    return std::nullopt;
}

std::optional<std::string> Selection::tracking_target() const {
    if (region != nullptr && region->tracking_target) return region->tracking_target;
    return provider->tracking_target;
}

std::string Selection::label() const {
    return region != nullptr ? fmt::format("{}:{}", provider->id, region->id) : provider->id;
}

Result<Catalogue> Catalogue::parse(std::string_view text, std::string_view source) {
    Reader reader(source);
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return reader.error(e.source(), std::string(e.description()));
    }
    auto providers = reader.catalogue(root);
    if (!providers) return std::unexpected(std::move(providers.error()));
    Catalogue c;
    c.providers_ = std::move(*providers);
    return c;
}

const Provider* Catalogue::find(std::string_view id) const noexcept {
    for (const auto& p : providers_)
        if (iequals(p.id, id)) return &p;
    return nullptr;
}

Result<Selection> Catalogue::select(std::string_view spec) const {
    spec = trim(spec);
    auto colon = spec.find(':');
    auto id = spec.substr(0, colon);
    const auto* p = find(id);
    if (p == nullptr)
        return fail(Errc::not_found,
                    fmt::format("unknown provider '{}' (rampart setup --list-providers lists them)",
                                printable(id)));
    Selection s{.provider = p};
    std::vector<std::string_view> region_ids;
    for (const auto& r : p->regions) region_ids.push_back(r.id);
    if (colon != std::string_view::npos) {
        auto region_id = ascii_lower(spec.substr(colon + 1));
        s.region = p->region(region_id);
        if (s.region == nullptr)
            return fail(Errc::not_found,
                        region_ids.empty()
                            ? fmt::format("provider {} has no regions", p->id)
                            : fmt::format("provider {} has no region '{}' (known: {})", p->id,
                                          printable(region_id), fmt::join(region_ids, ", ")));
        return s;
    }
    if (p->regions.empty()) return s;
    if (!p->default_region)
        return fail(Errc::malformed,
                    fmt::format("provider {} needs a region: {}:{}", p->id, p->id,
                                fmt::join(region_ids, fmt::format(", {}:", p->id))));
    s.region = p->region(*p->default_region);
    return s;
}

std::string_view builtin_text() noexcept { return builtin_catalogue_text(); }

const Catalogue& builtin() {
    static const Catalogue catalogue = [] {
        auto c = Catalogue::parse(builtin_catalogue_text(), "data/providers.toml");
        // The shipped text is ours and its unit test parses it: failing here is a build defect.
        RAMPART_ASSERT(c.has_value());
        return std::move(*c);
    }();
    return catalogue;
}

const Provider* find(std::string_view id) noexcept { return builtin().find(id); }

}  // namespace rampart::catalogue

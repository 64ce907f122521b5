// rampart.toml through toml++. toml++ reports syntax errors by exception; they are caught here,
// at the adapter edge, and become Errors with the position toml++ found them at.
#include "config/config.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "config/reader.hpp"
#include "dns/dns.hpp"

namespace rampart::config {

namespace detail {

/// A host name as mail set-up uses it: dns::normalize_name's rules (lower case, no trailing dot,
/// label and name lengths), then letters, digits, hyphens and underscores only, so a pasted URL
/// or an address ("https://acme.example", "it@acme.example") is caught here rather than becoming
/// a name that never matches a report. Underscores stay: SPF includes such as _spf.google.com
/// need them.
Result<std::string> host_name(std::string_view text) {
    auto name = dns::normalize_name(text);
    if (!name) return name;
    for (char c : *name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok)
            return fail(Errc::malformed,
                        fmt::format("'{}' is not a domain name (only letters, digits, '-', '_' "
                                    "and '.' are allowed)",
                                    printable(text)));
    }
    return name;
}

/// local@domain with a non-empty local part free of spaces and controls, and a domain that
/// host_name() accepts. Digests go to these addresses, so a typo is worth refusing early; quoted
/// local parts (RFC 5321 §4.1.2) are not accepted, nobody reads DMARC digests at one.
bool looks_like_address(std::string_view text) {
    auto at = text.find('@');
    if (at == std::string_view::npos || at == 0 || text.find('@', at + 1) != std::string_view::npos)
        return false;
    for (char c : text.substr(0, at)) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '"' || c == '<' || c == '>' || c == ',') return false;
    }
    auto domain = host_name(text.substr(at + 1));
    return domain && domain->find('.') != std::string::npos;
}

}  // namespace detail

namespace {

using detail::host_name;
using detail::looks_like_address;

constexpr std::uintmax_t max_file = 1 << 20;

class Reader : public detail::TomlReader {
public:
    using TomlReader::TomlReader;

    Result<MailboxConfig> mailbox(const toml::table& table) const {
        MailboxConfig m;
        m.where = at(table.source());
        bool has_url = false;
        for (const auto& [key, node] : table) {
            auto name = key.str();
            Result<void> r;
            auto set_string = [&](std::optional<std::string>& field) -> Result<void> {
                auto s = string(node, name);
                if (!s) return std::unexpected(std::move(s.error()));
                field = std::move(*s);
                return {};
            };
            auto set_path = [&](std::optional<std::filesystem::path>& field) -> Result<void> {
                auto p = path(node, name);
                if (!p) return std::unexpected(std::move(p.error()));
                field = std::move(*p);
                return {};
            };
            if (name == "url") {
                auto s = string(node, name);
                if (!s) return std::unexpected(std::move(s.error()));
                m.url = std::move(*s);
                has_url = true;
            } else if (name == "password_file") {
                r = set_path(m.password_file);
            } else if (name == "ca_file") {
                r = set_path(m.ca_file);
            } else if (name == "insecure") {
                auto b = boolean(node, name);
                if (!b) return std::unexpected(std::move(b.error()));
                m.insecure = *b;
            } else if (name == "archive") {
                r = set_string(m.archive);
            } else if (name == "invalid") {
                r = set_string(m.invalid);
            } else if (name == "client") {
                r = set_string(m.client);
            } else {
                return error(
                    key.source(),
                    fmt::format("unknown key '{}' in [[mailbox]] (known: url, password_file, "
                                "ca_file, insecure, archive, invalid, client)",
                                printable(name)));
            }
            if (!r) return std::unexpected(std::move(r.error()));
        }
        if (!has_url) return error(table.source(), "this [[mailbox]] has no url");
        return m;
    }


    Result<SenderConfig> sender(const toml::table& table, const ClientConfig& client) const {
        SenderConfig s;
        s.where = at(table.source());
        bool has_name = false;
        for (const auto& [key, node] : table) {
            auto name = key.str();
            auto set_names = [&](std::vector<std::string>& field) -> Result<void> {
                auto names = domain_names(node, name);
                if (!names) return std::unexpected(std::move(names.error()));
                field = std::move(*names);
                return {};
            };
            auto set_string = [&](auto&& store) -> Result<void> {
                auto v = string(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                return store(std::move(*v));
            };
            Result<void> r;
            if (name == "name") {
                r = set_string([&](std::string v) -> Result<void> {
                    s.name = std::move(v);
                    has_name = true;
                    return {};
                });
            } else if (name == "provider") {
                // Catalogue ids are lower case; whether this one exists is `config check`'s
                // question, since the catalogue is not this module's to read.
                r = set_string([&](std::string v) -> Result<void> {
                    s.provider = ascii_lower(trim(v));
                    s.provider_where = at(node.source());
                    return {};
                });
            } else if (name == "ips") {
                r = networks(node, s);
            } else if (name == "spf_includes") {
                r = set_names(s.spf_includes);
            } else if (name == "dkim_domains") {
                r = set_names(s.dkim_domains);
            } else if (name == "return_path_domains") {
                r = set_names(s.return_path_domains);
            } else if (name == "status") {
                r = set_string([&](std::string v) -> Result<void> {
                    if (v == "active")
                        s.status = SenderStatus::active;
                    else if (v == "retired")
                        s.status = SenderStatus::retired;
                    else
                        return error(node.source(), fmt::format("status must be \"active\" or "
                                                                "\"retired\", not \"{}\"",
                                                                printable(v)));
                    return {};
                });
            } else if (name == "decision") {
                r = set_string([&](std::string v) -> Result<void> {
                    s.decision = std::move(v);
                    return {};
                });
            } else if (name == "due") {
                auto d = date(node, name);
                if (!d) return std::unexpected(std::move(d.error()));
                s.due = *d;
            } else {
                return error(key.source(),
                             fmt::format("unknown key '{}' in [[client.sender]] (known: name, "
                                         "provider, ips, spf_includes, dkim_domains, "
                                         "return_path_domains, status, decision, due)",
                                         printable(name)));
            }
            if (!r) return std::unexpected(std::move(r.error()));
        }
        if (!has_name)
            return error(table.source(), fmt::format("this [[client.sender]] of client '{}' has no "
                                                     "name",
                                                     printable(client.name)));
        return s;
    }

    /// ips: CIDR blocks or bare addresses; the error is at the element at fault.
    Result<void> networks(const toml::node& node, SenderConfig& s) const {
        const auto* list = node.as_array();
        if (list == nullptr)
            return error(node.source(), "ips must be a list of strings (\"192.0.2.0/24\")");
        s.ips_where = at(node.source());
        for (const auto& item : *list) {
            auto text = string(item, "each of ips");
            if (!text) return std::unexpected(std::move(text.error()));
            auto net = parse_network(*text);
            if (!net) return error(item.source(), fmt::format("ips: {}", net.error().reason));
            if (std::ranges::find(s.ips, *net) != s.ips.end())
                return error(item.source(),
                             fmt::format("ips: {} is listed twice", net->to_string()));
            s.ips.push_back(*net);
        }
        return {};
    }


    Result<ClientConfig> client(const toml::table& table) const {
        ClientConfig c;
        c.where = at(table.source());
        bool has_name = false;
        const toml::array* senders = nullptr;
        for (const auto& [key, node] : table) {
            auto name = key.str();
            if (name == "name") {
                auto v = string(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                c.name = std::move(*v);
                has_name = true;
            } else if (name == "contact") {
                auto v = strings(node, name, [](std::string s) -> Result<std::string> {
                    if (!looks_like_address(s))
                        return fail(Errc::malformed,
                                    fmt::format("'{}' is not an e-mail address", printable(s)));
                    return s;
                });
                if (!v) return std::unexpected(std::move(v.error()));
                c.contact = std::move(*v);
            } else if (name == "domains") {
                auto v = domain_names(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                c.domains = std::move(*v);
            } else if (name == "plan") {
                auto v = string(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                c.plan = std::move(*v);
            } else if (name == "target") {
                auto v = detail::target(*this, node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                c.target = *v;
            } else if (name == "rua" || name == "ruf") {
                auto v = detail::report_uris(*this, node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                (name == "rua" ? c.rua : c.ruf) = std::move(*v);
            } else if (name == "webhook") {
                auto v = string(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                if (!v->starts_with("https://") && !v->starts_with("http://"))
                    return error(node.source(), "webhook must be an http:// or https:// URL");
                if (!c.webhook) c.webhook.emplace();
                c.webhook->url = std::move(*v);
            } else if (name == "webhook_token_file") {
                auto v = path(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                if (!c.webhook) c.webhook.emplace();
                c.webhook->token_file = std::move(*v);
            } else if (name == "publisher") {
                auto v = detail::publisher(*this, node, "client");
                if (!v) return std::unexpected(std::move(v.error()));
                c.publisher = std::move(*v);
            } else if (name == "dkim") {
                auto v = detail::dkim_rotation(*this, node);
                if (!v) return std::unexpected(std::move(v.error()));
                c.dkim = std::move(*v);
            } else if (name == "reviewed_sources") {
                auto v = strings(node, name, [](std::string text) -> Result<std::string> { return text; });
                if (!v) return std::unexpected(std::move(v.error()));
                c.reviewed_sources = std::move(*v);
            } else if (name == "override") {
                const auto* list = node.as_array();
                if (list == nullptr || !list->is_array_of_tables())
                    return error(node.source(), "override must be an array of tables: write each "
                                                "as [[client.override]] under its [[client]]");
                for (const auto& item : *list) {
                    auto o = detail::domain_override(*this, *item.as_table());
                    if (!o) return std::unexpected(std::move(o.error()));
                    c.overrides.push_back(std::move(*o));
                }
            } else if (name == "sender") {
                senders = node.as_array();
                if (senders == nullptr || !senders->is_array_of_tables())
                    return error(node.source(),
                                 "sender must be an array of tables: write each "
                                 "as [[client.sender]] under its [[client]]");
            } else {
                return error(key.source(),
                             fmt::format("unknown key '{}' in [[client]] (known: name, contact, "
                                         "domains, plan, target, rua, ruf, webhook, webhook_token_file, "
                                         "reviewed_sources, [client.publisher], [client.dkim], [[client.sender]], [[client.override]])",
                                         printable(name)));
            }
        }
        if (!has_name) return error(table.source(), "this [[client]] has no name");
        if (c.webhook && c.webhook->url.empty())
            return error(table.source(), fmt::format("client '{}' has webhook_token_file but no webhook",
                                                     printable(c.name)));
        // Senders after the name, so their errors can say whose they are.
        if (senders != nullptr) {
            for (const auto& item : *senders) {
                auto s = sender(*item.as_table(), c);
                if (!s) return std::unexpected(std::move(s.error()));
                for (const auto& other : c.senders)
                    if (other.name == s->name)
                        return error(
                            item.as_table()->get("name")->source(),
                            fmt::format("client '{}' has two senders named '{}' (the "
                                        "first at line {})",
                                        printable(c.name), printable(s->name), other.where.line));
                c.senders.push_back(std::move(*s));
            }
        }
        return c;
    }

    Result<std::vector<ClientConfig>> clients(const toml::node& node) const {
        const auto* list = node.as_array();
        if (list == nullptr || !list->is_array_of_tables())
            return error(node.source(),
                         "client must be an array of tables: write each as [[client]]");
        std::vector<ClientConfig> out;
        // Which client listed each domain first: a domain's reports belong to one client only.
        std::map<std::string, std::size_t, std::less<>> owner;
        for (const auto& item : *list) {
            const auto& table = *item.as_table();
            auto c = client(table);
            if (!c) return std::unexpected(std::move(c.error()));
            for (const auto& other : out)
                if (other.name == c->name)
                    return error(table.get("name")->source(),
                                 fmt::format("two clients are named '{}' (the first at line {})",
                                             printable(c->name), other.where.line));
            const auto* domains = table.get("domains") ? table.get("domains")->as_array() : nullptr;
            for (std::size_t i = 0; i < c->domains.size(); ++i) {
                auto [it, fresh] = owner.try_emplace(c->domains[i], out.size());
                if (fresh) continue;
                const auto& first = out[it->second];
                return error((*domains)[i].source(),
                             fmt::format("domain '{}' is listed by client '{}' (line {}) and by "
                                         "client '{}': each domain belongs to one client",
                                         c->domains[i], printable(first.name), first.where.line,
                                         printable(c->name)));
            }
            out.push_back(std::move(*c));
        }
        return out;
    }

    Result<Config> config(const toml::table& root) const {
        Config c;
        for (const auto& [key, node] : root) {
            auto name = key.str();
            if (name == "client") {
                auto list = clients(node);
                if (!list) return std::unexpected(std::move(list.error()));
                c.clients = std::move(*list);
            } else if (name == "mailbox") {
                const auto* list = node.as_array();
                if (list == nullptr || !list->is_array_of_tables())
                    return error(node.source(),
                                 "mailbox must be an array of tables: write each as [[mailbox]]");
                for (const auto& item : *list) {
                    auto m = mailbox(*item.as_table());
                    if (!m) return std::unexpected(std::move(m.error()));
                    c.mailboxes.push_back(std::move(*m));
                }
            } else if (name == "notify") {
                auto n = detail::notify_section(*this, node);
                if (!n) return std::unexpected(std::move(n.error()));
                c.smtp = std::move(*n);
            } else if (name == "defaults") {
                auto d = detail::defaults(*this, node);
                if (!d) return std::unexpected(std::move(d.error()));
                c.defaults = std::move(*d);
            } else if (name == "plan") {
                const auto* list = node.as_array();
                if (list == nullptr || !list->is_array_of_tables())
                    return error(node.source(), "plan must be an array of tables: write each as [[plan]]");
                for (const auto& item : *list) {
                    auto p = detail::plan(*this, *item.as_table());
                    if (!p) return std::unexpected(std::move(p.error()));
                    for (const auto& other : c.plans)
                        if (other.name == p->name)
                            return error(item.as_table()->source(),
                                         fmt::format("two plans are named \"{}\"", printable(p->name)));
                    c.plans.push_back(std::move(*p));
                }
            } else if (name == "dns") {
                auto v = string(node, name);
                if (!v) return std::unexpected(std::move(v.error()));
                c.dns = std::move(*v);
                c.dns_where = at(node.source());
            } else if (name == "dkim") {
                const auto* table = node.as_table();
                if (table == nullptr)
                    return error(node.source(), "dkim must be a table: write it as [dkim]");
                for (const auto& [dkey, dnode] : *table) {
                    if (dkey.str() != "selectors")
                        return error(dkey.source(),
                                     fmt::format("unknown key '{}' in [dkim] (known: selectors)",
                                                 printable(dkey.str())));
                    const auto* list = dnode.as_array();
                    if (list == nullptr)
                        return error(dnode.source(), "selectors must be a list of strings");
                    for (const auto& item : *list) {
                        auto sel = string(item, "a selector");
                        if (!sel) return std::unexpected(std::move(sel.error()));
                        c.dkim_selectors.push_back(std::move(*sel));
                    }
                }
            } else {
                return error(key.source(),
                             fmt::format("unknown key '{}' (known: dns, [dkim], [defaults], [notify], "
                                         "[[mailbox]], [[client]], [[plan]])",
                                         printable(name)));
            }
        }
        if (auto checked = detail::check_rollout(c); !checked) {
            Error e = std::move(checked.error());
            if (e.where.source.empty()) e.where.source = source_;
            return std::unexpected(std::move(e));
        }
        return c;
    }

};

}  // namespace

std::string_view to_string(SenderStatus status) noexcept {
    switch (status) {
        case SenderStatus::active: return "active";
        case SenderStatus::retired: return "retired";
    }
    return "active";
}

const ClientConfig* Config::client_of(std::string_view domain) const noexcept {
    // Callers pass names from reports and command lines: compare as DNS does, ignoring case and
    // one trailing dot.
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    for (const auto& c : clients)
        for (const auto& d : c.domains)
            if (iequals(d, domain)) return &c;
    return nullptr;
}

const ClientConfig* Config::client(std::string_view name) const noexcept {
    for (const auto& c : clients)
        if (c.name == name) return &c;
    return nullptr;
}

namespace {

struct SenderRef {
    const ClientConfig* client;
    const SenderConfig* sender;
};

std::string describe(const SenderRef& s) {
    return fmt::format("sender '{}' of client '{}'", printable(s.sender->name),
                       printable(s.client->name));
}

/// A d= or MAIL FROM domain the sender may use: the client's own (or below one), or the
/// provider's (a provider signing with its own domain is common, if not aligned).
bool domain_expected(std::string_view domain, const ClientConfig& client,
                     const std::vector<std::string>& provider_domains) {
    auto under = [&](const std::string& ancestor) { return dns::is_subdomain(domain, ancestor); };
    return std::ranges::any_of(client.domains, under) ||
           std::ranges::any_of(provider_domains, under);
}

void overlaps(const std::vector<SenderRef>& senders, std::vector<Problem>& out) {
    for (std::size_t i = 0; i < senders.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            const auto& a = senders[j];  // earlier in the file
            const auto& b = senders[i];
            for (const auto& nb : b.sender->ips) {
                for (const auto& na : a.sender->ips) {
                    if (!na.overlaps(nb)) continue;
                    // A retired sender's range handed to its successor is a normal hand-over;
                    // reports from the overlap are then ambiguous only for the old dates.
                    const bool both_active = a.sender->status == SenderStatus::active &&
                                             b.sender->status == SenderStatus::active;
                    out.push_back(Problem{
                        .where = b.sender->ips_where,
                        .message = fmt::format(
                            "{} range {} overlaps {} range {} (line {}): mail from the overlap "
                            "cannot be told apart",
                            describe(b), nb.to_string(), describe(a), na.to_string(),
                            a.sender->ips_where.line),
                        .error = both_active});
                }
            }
        }
    }
}

}  // namespace

std::vector<Problem> check_inventory(const Config& config,
                                     const ProviderDomains& provider_domains) {
    std::vector<Problem> out;
    std::vector<SenderRef> all;
    for (const auto& c : config.clients)
        for (const auto& s : c.senders) all.push_back({&c, &s});
    overlaps(all, out);

    for (const auto& ref : all) {
        const auto& s = *ref.sender;
        const auto& c = *ref.client;
        if (s.ips.empty() && !s.provider && s.spf_includes.empty() && s.dkim_domains.empty())
            out.push_back(
                Problem{.where = s.where,
                        .message = fmt::format("{} cannot be recognised in reports: give it ips, a "
                                               "provider, spf_includes or dkim_domains",
                                               describe(ref)),
                        .error = false});
        std::vector<std::string> theirs;
        if (s.provider && provider_domains) theirs = provider_domains(*s.provider);
        auto foreign = [&](const std::vector<std::string>& names, std::string_view key) {
            for (const auto& d : names)
                if (!domain_expected(d, c, theirs))
                    out.push_back(Problem{
                        .where = s.where,
                        .message = fmt::format(
                            "{}: {} '{}' is neither one of the client's domains ({}) nor below "
                            "one{}",
                            describe(ref), key, d,
                            c.domains.empty() ? std::string("none listed")
                                              : fmt::format("{}", fmt::join(c.domains, ", ")),
                            s.provider ? fmt::format(", nor the provider's ({})", *s.provider)
                                       : std::string()),
                        .error = false});
        };
        foreign(s.dkim_domains, "dkim domain");
        foreign(s.return_path_domains, "return-path domain");
        if (s.due && !s.decision)
            out.push_back(Problem{
                .where = s.where,
                .message =
                    fmt::format("{} has a due date ({}) but no decision: say what is due",
                                describe(ref), fmt::format("{:%F}", std::chrono::sys_days(*s.due))),
                .error = false});
    }

    // Mailboxes naming a client only mean something once clients are declared.
    if (!config.clients.empty())
        for (const auto& m : config.mailboxes)
            if (m.client && config.client(*m.client) == nullptr)
                out.push_back(
                    Problem{.where = m.where,
                            .message = fmt::format("this [[mailbox]] names client '{}', which no "
                                                   "[[client]] declares",
                                                   printable(*m.client)),
                            .error = false});
    return out;
}

Result<Config> parse(std::string_view text, std::string_view source,
                     const std::filesystem::path& base_dir) {
    Reader reader(source, base_dir);
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        return reader.error(e.source(), std::string(e.description()));
    }
    return reader.config(root);
}

Result<Config> load(const std::filesystem::path& path) {
    Location where{.source = path.string()};
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec)
        return fail(Errc::io, fmt::format("cannot read the configuration file: {}", ec.message()),
                    where);
    if (size > max_file)
        return fail(Errc::limit_exceeded,
                    fmt::format("the configuration file is larger than {} bytes", max_file), where);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) return fail(Errc::io, "cannot read the configuration file", where);
    auto parsed = parse(text.str(), path.string(), path.parent_path());
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    parsed->path = path;
    return parsed;
}

}  // namespace rampart::config

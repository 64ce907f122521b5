// rampart.toml through toml++. toml++ reports syntax errors by exception; they are caught here,
// at the adapter edge, and become Errors with the position toml++ found them at.
#include "config/config.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace rampart::config {
namespace {

constexpr std::uintmax_t max_file = 1 << 20;

class Reader {
public:
    Reader(std::string_view source, std::filesystem::path base)
        : source_(source), base_(std::move(base)) {}

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
        auto v = node.value<std::string>();
        if (!node.is_string() || !v)
            return error(node.source(), fmt::format("{} must be a string", key));
        if (v->empty()) return error(node.source(), fmt::format("{} must not be empty", key));
        return std::move(*v);
    }
    Result<bool> boolean(const toml::node& node, std::string_view key) const {
        if (!node.is_boolean())
            return error(node.source(), fmt::format("{} must be true or false", key));
        return *node.value<bool>();
    }
    Result<std::filesystem::path> path(const toml::node& node, std::string_view key) const {
        auto s = string(node, key);
        if (!s) return std::unexpected(std::move(s.error()));
        std::filesystem::path p(*s);
        return p.is_absolute() || base_.empty() ? p : base_ / p;
    }

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

    Result<Config> config(const toml::table& root) const {
        Config c;
        for (const auto& [key, node] : root) {
            auto name = key.str();
            if (name == "mailbox") {
                const auto* list = node.as_array();
                if (list == nullptr || !list->is_array_of_tables())
                    return error(node.source(),
                                 "mailbox must be an array of tables: write each as [[mailbox]]");
                for (const auto& item : *list) {
                    auto m = mailbox(*item.as_table());
                    if (!m) return std::unexpected(std::move(m.error()));
                    c.mailboxes.push_back(std::move(*m));
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
                             fmt::format("unknown key '{}' (known: dns, [dkim], [[mailbox]])",
                                         printable(name)));
            }
        }
        return c;
    }

private:
    std::string source_;
    std::filesystem::path base_;
};

}  // namespace

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

// config internals: the strict TOML reading every section of rampart.toml shares (positions
// in errors, typed values, paths relative to the file). Not part of the public interface.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/config.hpp"
#include "core/core.hpp"
#include "rollout/rollout.hpp"

namespace rampart::config::detail {

/// A host name as mail set-up uses it (see config.cpp).
[[nodiscard]] Result<std::string> host_name(std::string_view text);
/// local@domain, as digests and notifications are sent to (see config.cpp).
[[nodiscard]] bool looks_like_address(std::string_view text);

class TomlReader {
public:
    TomlReader(std::string_view source, std::filesystem::path base)
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


    /// A list of non-empty strings, each passed through `check` (which may rewrite it).
    Result<std::vector<std::string>> strings(
        const toml::node& node, std::string_view key,
        const std::function<Result<std::string>(std::string)>& check) const {
        const auto* list = node.as_array();
        if (list == nullptr)
            return error(node.source(), fmt::format("{} must be a list of strings", key));
        std::vector<std::string> out;
        for (const auto& item : *list) {
            auto s = string(item, fmt::format("each of {}", key));
            if (!s) return std::unexpected(std::move(s.error()));
            auto checked = check(std::move(*s));
            if (!checked)
                return error(item.source(), fmt::format("{}: {}", key, checked.error().reason));
            if (std::ranges::find(out, *checked) != out.end())
                return error(item.source(),
                             fmt::format("{}: '{}' is listed twice", key, printable(*checked)));
            out.push_back(std::move(*checked));
        }
        return out;
    }

    Result<std::vector<std::string>> domain_names(const toml::node& node,
                                                  std::string_view key) const {
        return strings(node, key, [](std::string s) { return host_name(s); });
    }

    /// A TOML local date (`due = 2027-01-31`). A string or a date-time is refused: "due" is a
    /// day, and a string would let "31/01/2027" through to be misread later.
    Result<std::chrono::year_month_day> date(const toml::node& node, std::string_view key) const {
        if (!node.is_date())
            return error(node.source(),
                         fmt::format("{} must be a TOML date without quotes or time, like "
                                     "{} = 2027-01-31",
                                     key, key));
        const auto d = node.as_date()->get();
        return std::chrono::year_month_day{std::chrono::year{d.year}, std::chrono::month{d.month},
                                           std::chrono::day{d.day}};
    }

protected:
    std::string source_;
    std::filesystem::path base_;
};

// The rollout sections (rollout_config.cpp).
[[nodiscard]] Result<rollout::Target> target(const TomlReader& r, const toml::node& node, std::string_view key);
[[nodiscard]] Result<std::vector<std::string>> report_uris(const TomlReader& r, const toml::node& node,
                                                           std::string_view key);
[[nodiscard]] Result<rollout::Plan> plan(const TomlReader& r, const toml::table& table);
[[nodiscard]] Result<Defaults> defaults(const TomlReader& r, const toml::node& node);
[[nodiscard]] Result<DomainOverride> domain_override(const TomlReader& r, const toml::table& table);
/// [notify] with its [notify.smtp] table.
[[nodiscard]] Result<std::optional<notify::SmtpSettings>> notify_section(const TomlReader& r, const toml::node& node);
/// [client.publisher] or an override's publisher table (publisher_config.cpp); `where` names
/// the section in messages ("client", "client.override").
[[nodiscard]] Result<PublisherConfig> publisher(const TomlReader& r, const toml::node& node, std::string_view where);
/// [client.dkim] (dkim_config.cpp).
[[nodiscard]] Result<DkimRotationConfig> dkim_rotation(const TomlReader& r, const toml::node& node);
/// Every plan a client, override or [defaults] names exists; overrides name the client's domains.
[[nodiscard]] Result<void> check_rollout(const Config& config);

}  // namespace rampart::config::detail

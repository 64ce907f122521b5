// [client.dkim]: the client's DKIM signing key and how Rampart rotates it (rotation/rotation.hpp).
//
//   [client.dkim]
//   selector = "s202511"                 # the selector signing now (before any rotation)
//   key_file = "/etc/dkimkeys/acme.example.s202511.key"
//   selector_prefix = "s"                # new selectors: prefix + YYYYMM (+ b, c, ...)
//   key_dir = "/etc/dkimkeys"            # required: where new private keys are written (0600)
//   algorithm = "rsa"                    # or "ed25519"
//   bits = 2048                          # RSA: at least 2048 (RFC 8301)
//   rotate_every_days = 180              # optional: `rampart advance` starts rotations
//   grace_days = 7                       # the old key stays published after the switch
//   revoked_days = 7                     # then published revoked (p=) before it is removed
//   signer = "opendkim"                  # or "command"
//   key_table = "/etc/opendkim/KeyTable"          # opendkim: both tables required
//   signing_table = "/etc/opendkim/SigningTable"
//   command = ["systemctl", "reload", "opendkim"] # argv, no shell; required for "command"
#include <algorithm>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/reader.hpp"

namespace rampart::config::detail {
namespace {

Result<int> whole_number(const TomlReader& r, const toml::node& node, std::string_view key,
                         std::int64_t low, std::int64_t high) {
    auto value = node.value<std::int64_t>();
    if (!node.is_integer() || !value || *value < low || *value > high)
        return r.error(node.source(),
                       fmt::format("{} must be a whole number from {} to {}", key, low, high));
    return static_cast<int>(*value);
}

/// RFC 6376 §3.1 selectors are sub-domain labels; we keep to lower-case letters, digits, '-'
/// and the dots between labels, as `rampart setup` does.
bool selector_text(std::string_view text, bool dots) {
    return !text.empty() && text.front() != '.' && text.back() != '.' &&
           text.find("..") == std::string_view::npos && std::ranges::all_of(text, [dots](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      (dots && c == '.');
           });
}

}  // namespace

Result<DkimRotationConfig> dkim_rotation(const TomlReader& r, const toml::node& node) {
    const auto* table = node.as_table();
    if (table == nullptr)
        return r.error(node.source(),
                       "dkim must be a table: write it as [client.dkim] under its [[client]]");
    DkimRotationConfig d;
    d.where = r.at(table->source());
    bool has_key_dir = false;
    const toml::node* bits_node = nullptr;
    for (const auto& [key, value] : *table) {
        const auto k = key.str();
        if (k == "selector" || k == "selector_prefix") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            const bool prefix = k == "selector_prefix";
            if (!selector_text(*v, !prefix))
                return r.error(value.source(),
                               fmt::format("{} '{}': use lower-case letters, digits{}", k,
                                           printable(*v), prefix ? " and '-'" : ", '-' and '.'"));
            (prefix ? d.selector_prefix : d.selector) = std::move(*v);
        } else if (k == "key_file" || k == "key_dir" || k == "key_table" || k == "signing_table") {
            auto v = r.path(value, k);
            if (!v) return std::unexpected(v.error());
            if (k == "key_file") {
                d.key_file = std::move(*v);
            } else if (k == "key_dir") {
                d.key_dir = std::move(*v);
                has_key_dir = true;
            } else {
                (k == "key_table" ? d.key_table : d.signing_table) = std::move(*v);
            }
        } else if (k == "algorithm") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            if (*v != "rsa" && *v != "ed25519")
                return r.error(value.source(),
                               fmt::format("algorithm must be \"rsa\" or \"ed25519\", not \"{}\"",
                                           printable(*v)));
            d.algorithm = std::move(*v);
        } else if (k == "bits") {
            auto v = whole_number(r, value, k, 1, 8192);
            if (!v) return std::unexpected(v.error());
            d.bits = static_cast<unsigned>(*v);
            bits_node = &value;
        } else if (k == "rotate_every_days" || k == "grace_days" || k == "revoked_days") {
            auto v = whole_number(r, value, k, 1, 3650);
            if (!v) return std::unexpected(v.error());
            if (k == "rotate_every_days")
                d.rotate_every_days = *v;
            else
                (k == "grace_days" ? d.grace_days : d.revoked_days) = *v;
        } else if (k == "signer") {
            auto v = r.string(value, k);
            if (!v) return std::unexpected(v.error());
            if (*v != "opendkim" && *v != "command")
                return r.error(value.source(),
                               fmt::format("signer must be \"opendkim\" or \"command\", not \"{}\"",
                                           printable(*v)));
            d.signer = std::move(*v);
        } else if (k == "command") {
            // argv, run without a shell: the same word may come twice ("-v", "-v").
            const auto* list = value.as_array();
            if (list == nullptr || list->empty())
                return r.error(value.source(),
                               "command must be a non-empty list of strings (argv, no shell): "
                               "[\"systemctl\", \"reload\", \"opendkim\"]");
            d.command.clear();
            for (const auto& item : *list) {
                auto s = r.string(item, "each word of command");
                if (!s) return std::unexpected(s.error());
                d.command.push_back(std::move(*s));
            }
        } else {
            return r.error(
                key.source(),
                fmt::format("unknown key '{}' in [client.dkim] (known: selector, key_file, "
                            "selector_prefix, key_dir, algorithm, bits, rotate_every_days, "
                            "grace_days, revoked_days, signer, key_table, signing_table, command)",
                            printable(k)));
        }
    }
    if (!has_key_dir)
        return r.error(table->source(),
                       "[client.dkim] needs key_dir: where new private keys are written");
    if (d.algorithm == "rsa" && d.bits < 2048)
        return r.error(
            bits_node != nullptr ? bits_node->source() : table->source(),
            fmt::format("bits {}: new RSA keys must have at least 2048 bits (RFC 8301)", d.bits));
    if (d.signer == "opendkim" && (!d.key_table || !d.signing_table))
        return r.error(
            table->source(),
            "signer \"opendkim\" needs key_table and signing_table (OpenDKIM's refile tables)");
    if (d.signer == "command" && d.command.empty())
        return r.error(table->source(),
                       "signer \"command\" needs command (the argv that switches the signer)");
    return d;
}

}  // namespace rampart::config::detail

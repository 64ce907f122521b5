// catalogue: the mail providers Rampart knows — what each needs in a sender domain's DNS (SPF
// terms, DKIM and Return-Path guidance) and how to recognise its mail (reverse-DNS patterns,
// DKIM d= domains, published ranges).
//
// The data is data/providers.toml, compiled into the binary at build time and parsed once, on
// first use, by builtin(). The shape of each field is described at the top of that file.
// Trust: the built-in text is ours, and a unit test proves it parses, so builtin() asserts on a
// parse error; Catalogue::parse() is strict for any other text: an unknown key, a value of the
// wrong type or a duplicate id is an Errc::malformed error with the line and column.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace rampart::catalogue {

enum class Kind : std::uint8_t {
    mailbox_platform,  // hosts a domain's mailboxes: Google Workspace, Microsoft 365, Zoho
    esp,               // sends bulk or transactional mail on the domain's behalf
    helpdesk,          // ticketing systems that mail customers as the domain
    crm,               // CRM and marketing suites
    gateway,           // filters and relays the domain's own outbound mail
    mailbox_provider,  // consumer mailboxes (gmail.com): recognised, never authorised
};
[[nodiscard]] std::string_view to_string(Kind kind) noexcept;  // "mailbox-platform", ...
[[nodiscard]] std::optional<Kind> parse_kind(std::string_view text) noexcept;

/// The SPF terms a provider asks the sender domain to publish.
struct SpfTerms {
    std::vector<std::string> includes;  // include:<name>
    std::vector<std::string> a;         // a:<name>
    /// DNS lookups each term costs in total, itself included, when last measured.
    std::map<std::string, int, std::less<>> lookups;

    [[nodiscard]] bool empty() const noexcept { return includes.empty() && a.empty(); }
    /// The measured cost of one term, when the catalogue knows it.
    [[nodiscard]] std::optional<int> known_cost(std::string_view name) const;
};

/// A provider's region or data centre (`--provider mimecast:eu`): its own SPF terms and targets.
struct Region {
    std::string id;
    SpfTerms spf;
    std::optional<std::string> return_path_target;
    std::optional<std::string> tracking_target;
};

enum class DkimMethod : std::uint8_t { cname, txt };
[[nodiscard]] std::string_view to_string(DkimMethod method) noexcept;

struct DkimGuidance {
    DkimMethod method = DkimMethod::txt;
    std::vector<std::string> selectors;  // fixed selectors the provider uses ("s1", "selector1")
    std::optional<std::string> target;   // CNAME target pattern, <...> for per-account parts
    std::string note;
};

/// How the provider's mail gets its envelope sender (RFC 5321 MAIL FROM), which decides
/// whether SPF can align with the From domain.
enum class ReturnPath : std::uint8_t {
    own_domain,  // the sender's own address: SPF aligns with the domain's own record
    cname,       // a bounce subdomain of the domain, CNAME to the provider
    mx,          // a MAIL FROM subdomain with an MX to the provider and its own SPF record
    provider,    // always the provider's domain: SPF never aligns, DKIM must
};
[[nodiscard]] std::string_view to_string(ReturnPath method) noexcept;

struct ReturnPathGuidance {
    std::optional<ReturnPath> method;  // absent: depends on the account's settings
    std::optional<std::string> target;
    std::string note;
};

/// Address blocks live in core; the catalogue names them as before.
using rampart::Network;
using rampart::parse_network;

struct Provider {
    std::string id;  // "google-workspace"
    std::string name;
    Kind kind = Kind::esp;
    std::string note;
    std::vector<std::string> domains;
    bool forwarder = false;
    SpfTerms spf;
    std::vector<Region> regions;
    std::optional<std::string> default_region;
    std::optional<DkimGuidance> dkim;
    std::optional<ReturnPathGuidance> return_path;
    std::optional<std::string> tracking_target;
    std::vector<std::string> ptr_patterns;
    std::vector<std::string> dkim_domains;
    std::vector<Network> ip_ranges;
    Location where;  // the [[provider]] table in the catalogue text

    [[nodiscard]] const Region* region(std::string_view id) const noexcept;
    /// True when a reverse-DNS name matches one of ptr_patterns (case-insensitive).
    [[nodiscard]] bool matches_ptr(std::string_view host) const;
    /// True when a DKIM d= domain is one of dkim_domains or below one.
    [[nodiscard]] bool signs_as(std::string_view d) const;
    /// True when the address is inside one of ip_ranges.
    [[nodiscard]] bool owns_address(const IpAddress& ip) const noexcept;
};

/// A provider as chosen on the command line: "zoho" or "zoho:eu".
struct Selection {
    const Provider* provider = nullptr;
    const Region* region = nullptr;  // the named or default region, if the provider has regions

    /// The SPF terms that apply: the region's when there is one, else the provider's.
    [[nodiscard]] const SpfTerms& spf() const noexcept;
    [[nodiscard]] std::optional<std::string> return_path_target() const;
    [[nodiscard]] std::optional<std::string> tracking_target() const;
    /// "zoho:eu" or "google-workspace".
    [[nodiscard]] std::string label() const;
};

class Catalogue {
public:
    /// Parses catalogue text; `source` names it in errors.
    [[nodiscard]] static Result<Catalogue> parse(std::string_view text, std::string_view source);

    [[nodiscard]] std::span<const Provider> providers() const noexcept { return providers_; }
    [[nodiscard]] const Provider* find(std::string_view id) const noexcept;
    /// "id" or "id:region". Errc::not_found for an unknown id or region, Errc::malformed when the
    /// provider has regions, no default and none was named (the reason lists them).
    [[nodiscard]] Result<Selection> select(std::string_view spec) const;

private:
    std::vector<Provider> providers_;
};

/// The catalogue compiled into the binary (data/providers.toml), parsed on first use.
[[nodiscard]] const Catalogue& builtin();
/// builtin().find(id)
[[nodiscard]] const Provider* find(std::string_view id) noexcept;
/// The text builtin() is parsed from.
[[nodiscard]] std::string_view builtin_text() noexcept;

}  // namespace rampart::catalogue

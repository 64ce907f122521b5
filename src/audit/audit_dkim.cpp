// DKIM keys at the selectors tried, read from the answers audit_domain() asked for in one batch.
#include <algorithm>
#include <array>
#include <optional>
#include <ranges>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "audit/parts.hpp"
#include "dkim/dkim.hpp"

namespace rampart::audit::detail {
namespace {

Severity severity_of(dkim::Severity s) noexcept {
    switch (s) {
        case dkim::Severity::error: return Severity::error;
        case dkim::Severity::warning: return Severity::warning;
        case dkim::Severity::info: return Severity::info;
    }
    return Severity::info;
}

struct DiagnosticMapping {
    std::string_view diagnostic;  // dkim::Diagnostic::code
    std::string_view finding;     // our code
    std::optional<Severity> severity;  // overrides the module's when the audit weighs it otherwise
};

// dkim::parse_key_record says what is wrong with a key; the audit only names it in its own
// codes. t=y gets a warning here (the module says info) because verifiers may then treat signed
// mail as unsigned, which matters for DMARC.
constexpr auto diagnostic_mappings = std::to_array<DiagnosticMapping>({
    {"rsa-too-short", "dkim-key-too-short", Severity::error},
    {"rsa-weak", "dkim-key-weak", Severity::warning},
    {"rsa-1024", "dkim-key-weak", Severity::warning},
    {"sha1-only", "dkim-key-sha1-only", Severity::error},
    {"revoked", "dkim-key-revoked", std::nullopt},
    {"testing", "dkim-key-testing", Severity::warning},
    {"unknown-key-type", "dkim-key-unknown-type", std::nullopt},
    {"bad-base64", "dkim-key-unreadable", std::nullopt},
    {"bad-key", "dkim-key-unreadable", std::nullopt},
    {"not-for-email", "dkim-key-not-for-email", std::nullopt},
    {"rsa-large", "dkim-key-large", std::nullopt},
});

Finding finding_for(const dkim::Diagnostic& d, std::string_view name) {
    const auto* m = std::ranges::find(diagnostic_mappings, d.code, &DiagnosticMapping::diagnostic);
    auto message = fmt::format("{}: {}", name, d.message);
    if (m == diagnostic_mappings.end())
        return make_finding(severity_of(d.severity), "dkim-syntax", std::move(message));
    return make_finding(m->severity.value_or(severity_of(d.severity)), m->finding, std::move(message));
}

/// A wildcard TXT (say "*.example.com TXT v=spf1 -all") answers for every selector; only text
/// that claims to be a key record (v=DKIM1 first, or a p= tag) counts as one.
bool looks_like_key(std::string_view text) {
    for (auto piece : std::views::split(text, ';')) {
        auto tag = trim(std::string_view(piece.begin(), piece.end()));
        if (tag.starts_with("v=DKIM1") || tag.starts_with("p=") || tag.starts_with("p ")) return true;
    }
    return false;
}

DkimKey key_of(const std::string& selector, const std::string& name, std::string_view text,
               const dkim::KeyRecord& record) {
    DkimKey key;
    key.selector = selector;
    key.name = name;
    key.record = printable(text);
    key.key_type = record.key_type == dkim::KeyType::unknown ? printable(record.key_type_text)
                                                             : std::string(to_string(record.key_type));
    if (record.key_bits > 0) key.key_bits = static_cast<int>(record.key_bits);
    key.revoked = record.revoked;
    key.testing = record.testing;
    key.hashes = record.hashes;
    return key;
}

/// Reads every key-like TXT record of one answer into `part`.
void read_keys(const std::string& selector, const std::string& name, const dns::Answer& answer,
               DkimPart& part) {
    for (const auto& txt : answer.txt()) {
        auto text = txt.joined();
        if (!looks_like_key(text)) continue;
        auto record = dkim::parse_key_record(text);
        if (!record) {
            part.findings.push_back(make_finding(
                Severity::error, "dkim-syntax",
                fmt::format("the key record at {} is not usable: {}", name, record.error().reason)));
            continue;
        }
        for (const auto& d : record->diagnostics) part.findings.push_back(finding_for(d, name));
        part.keys.push_back(key_of(selector, name, text, *record));
    }
}

void no_key_found(const DkimQuestions& asked, bool explicit_selectors, bool null_mx,
                  DkimPart& part) {
    if (explicit_selectors || asked.names.empty()) return;  // each named selector said so already
    part.findings.push_back(make_finding(
        null_mx ? Severity::info : Severity::warning, "dkim-no-selector-found",
        fmt::format("no DKIM key at any of the {} selectors tried ({}); the domain may use "
                    "others",
                    asked.selectors.size(), fmt::join(asked.selectors, ", "))));
}

void ed25519_only(DkimPart& part) {
    auto usable = [](const DkimKey& k) { return !k.revoked; };
    auto ed = [](const DkimKey& k) { return k.key_type == "ed25519"; };
    auto live = part.keys | std::views::filter(usable);
    if (live.empty() || !std::ranges::all_of(live, ed)) return;
    part.findings.push_back(make_finding(
        Severity::warning, "dkim-ed25519-only",
        "every DKIM key found is Ed25519: verifiers without RFC 8463 support see no valid signature"));
}

}  // namespace

DkimQuestions dkim_questions(const std::string& domain, const std::vector<std::string>& selectors) {
    DkimQuestions out;
    for (const auto& s : selectors) {
        auto name = dns::normalize_name(dkim::dkim_key_name(s, domain));
        if (!name || s.empty()) {
            out.invalid.push_back(s);
            continue;
        }
        out.selectors.push_back(s);
        out.names.push_back(std::move(*name));
    }
    return out;
}

DkimPart dkim_from_answers(const DkimQuestions& asked, const std::vector<dns::Answer>& answers,
                           bool explicit_selectors, bool null_mx,
                           const std::vector<std::string>& reported) {
    DkimPart part;
    for (const auto& s : asked.invalid) {
        if (!explicit_selectors) continue;
        part.findings.push_back(make_finding(
            Severity::error, "dkim-selector-invalid",
            fmt::format("selector \"{}\" does not make a valid DNS name", printable(s))));
    }
    std::vector<std::string> failed;
    for (std::size_t i = 0; i < asked.names.size() && i < answers.size(); ++i) {
        const auto& answer = answers[i];
        const auto& name = asked.names[i];
        if (answer.failed()) {
            failed.push_back(fmt::format("{} ({})", name, dns::to_string(answer.status)));
        } else if (answer.ok()) {
            read_keys(asked.selectors[i], name, answer, part);
        } else if (explicit_selectors) {
            part.findings.push_back(make_finding(Severity::error, "dkim-key-missing",
                                                 fmt::format("no key at {}", name)));
        } else if (std::ranges::any_of(reported, [&](const std::string& r) {
                       return iequals(trim(r), asked.selectors[i]);
                   })) {
            part.findings.push_back(make_finding(
                Severity::warning, "dkim-reported-key-missing",
                fmt::format("reports show mail signed with selector \"{}\", but there is no key "
                            "at {}",
                            printable(asked.selectors[i]), name)));
        }
    }
    if (!failed.empty())
        part.findings.push_back(make_finding(
            Severity::warning, "dns-temperror",
            fmt::format("DKIM key look-ups failed: {}", fmt::join(failed, ", "))));
    if (part.keys.empty() && failed.empty()) no_key_found(asked, explicit_selectors, null_mx, part);
    ed25519_only(part);
    return part;
}

}  // namespace rampart::audit::detail

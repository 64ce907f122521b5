// DMARC record text: parse (RFC 9989 §4.7, §4.8; RFC 7489 §6.3 for the historic tags) and render.
#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "dmarc/internal.hpp"

namespace rampart::dmarc {

std::string_view to_string(Severity severity) noexcept {
    switch (severity) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::error: return "error";
    }
    return "?";
}

std::string_view to_string(Policy policy) noexcept {
    switch (policy) {
        case Policy::none: return "none";
        case Policy::quarantine: return "quarantine";
        case Policy::reject: return "reject";
    }
    return "?";
}

std::optional<Policy> parse_policy(std::string_view text) noexcept {
    // ABNF string literals are case-insensitive (RFC 5234 §2.3).
    if (iequals(text, "none")) return Policy::none;
    if (iequals(text, "quarantine")) return Policy::quarantine;
    if (iequals(text, "reject")) return Policy::reject;
    return std::nullopt;
}

Policy one_level_lower(Policy policy) noexcept {
    return policy == Policy::reject ? Policy::quarantine : Policy::none;
}

std::string_view to_string(Alignment alignment) noexcept {
    return alignment == Alignment::strict ? "s" : "r";
}

std::string_view to_string(Psd psd) noexcept {
    switch (psd) {
        case Psd::yes: return "y";
        case Psd::no: return "n";
        case Psd::unknown: return "u";
    }
    return "?";
}

std::string_view to_string(FailureOption option) noexcept {
    switch (option) {
        case FailureOption::all_failed: return "0";
        case FailureOption::any_failed: return "1";
        case FailureOption::dkim: return "d";
        case FailureOption::spf: return "s";
    }
    return "?";
}

Policy Record::policy() const noexcept {
    if (invalid_policy) return Policy::none;
    return p.value_or(Policy::none);
}

Policy Record::subdomain_policy() const noexcept {
    if (invalid_policy) return Policy::none;
    return sp ? *sp : policy();
}

Policy Record::nonexistent_policy() const noexcept {
    if (invalid_policy) return Policy::none;
    return np ? *np : subdomain_policy();
}

bool Record::has_errors() const noexcept {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
}

namespace detail {

std::string_view trim_wsp(std::string_view text) noexcept {
    while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
    return text;
}

namespace {

std::size_t offset_in(std::string_view whole, std::string_view part) noexcept {
    return static_cast<std::size_t>(part.data() - whole.data());
}

RawTag make_raw_tag(std::string_view text, std::string_view piece) {
    RawTag tag;
    tag.piece = trim_wsp(piece);
    tag.offset = offset_in(text, tag.piece);
    const auto eq = tag.piece.find('=');
    tag.has_equals = eq != std::string_view::npos;
    if (!tag.has_equals) {
        tag.value_offset = tag.offset;
        return tag;
    }
    tag.name = trim_wsp(tag.piece.substr(0, eq));
    tag.value = trim_wsp(tag.piece.substr(eq + 1));
    tag.value_offset = tag.value.empty() ? tag.offset + eq + 1 : offset_in(text, tag.value);
    return tag;
}

}  // namespace

std::vector<RawTag> split_tags(std::string_view text) {
    std::vector<RawTag> tags;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(';', start);
        if (end == std::string_view::npos) end = text.size();
        const auto piece = text.substr(start, end - start);
        const bool last = end == text.size();
        // A trailing ";" (optionally followed by WSP) ends the list: no empty piece for it.
        if (!(last && trim_wsp(piece).empty() && !tags.empty())) {
            tags.push_back(make_raw_tag(text, piece));
        }
        start = end + 1;
    }
    return tags;
}

std::string not_dmarc_reason(std::string_view text) {
    const auto first = trim_wsp(text.substr(0, text.find(';')));
    if (first.empty()) {
        return text.empty() ? "the record is empty" : "the record does not start with v=DMARC1";
    }
    if (first.front() == '"') {
        return "the record starts with a quote: the zone file probably quotes the text twice";
    }
    const auto eq = first.find('=');
    const auto name = trim_wsp(first.substr(0, eq));
    if (eq == std::string_view::npos || !iequals(name, "v")) {
        return text.find("v=DMARC1") != std::string_view::npos
                   ? "v=DMARC1 is not the first tag"
                   : "the record does not start with v=DMARC1";
    }
    const auto value = trim_wsp(first.substr(eq + 1));
    if (value == "DMARC1") return {};
    if (value.starts_with("DMARC1")) {
        return fmt::format("the version is \"{}\": a \";\" is missing after v=DMARC1",
                           printable(value));
    }
    if (iequals(value, "DMARC1")) {
        return fmt::format("the version is \"{}\"; it must be exactly \"DMARC1\" (upper case)",
                           printable(value));
    }
    return fmt::format("the version is \"{}\", not \"DMARC1\"", printable(value));
}

}  // namespace detail

bool is_dmarc_record(std::string_view text) noexcept {
    const auto first = detail::trim_wsp(text.substr(0, text.find(';')));
    const auto eq = first.find('=');
    if (eq == std::string_view::npos) return false;
    return iequals(detail::trim_wsp(first.substr(0, eq)), "v") &&
           detail::trim_wsp(first.substr(eq + 1)) == "DMARC1";
}

namespace {

using detail::RawTag;

constexpr std::array<std::string_view, 14> known_tags{
    "v", "p", "sp", "np", "psd", "t", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri"};

bool is_known(std::string_view lower_name) noexcept {
    return std::find(known_tags.begin(), known_tags.end(), lower_name) != known_tags.end();
}

std::size_t rank(std::string_view lower_name) noexcept {
    return static_cast<std::size_t>(
        std::find(known_tags.begin(), known_tags.end(), lower_name) - known_tags.begin());
}

bool all_alpha(std::string_view text) noexcept {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
}

/// Builds a Record from the tags after v=DMARC1, one tag at a time.
class RecordParser {
public:
    explicit RecordParser(std::string_view text) : text_(text) {}

    Record run(const std::vector<RawTag>& tags) {
        for (std::size_t i = 1; i < tags.size(); ++i) take(tags[i], i);
        finish();
        return std::move(record_);
    }

private:
    void note(Severity severity, std::string code, std::string message, std::size_t offset) {
        record_.diagnostics.push_back(
            Diagnostic{severity, std::move(code), std::move(message), offset});
    }

    void keep_invalid(const RawTag& tag, std::string_view lower_name) {
        record_.invalid_tags.push_back(Tag{std::string(lower_name), std::string(tag.value)});
    }

    void take(const RawTag& tag, std::size_t position) {
        if (tag.piece.empty()) {
            note(Severity::warning, "empty-tag", "an empty tag (\";;\") is not valid syntax; ignored",
                 tag.offset);
            return;
        }
        if (!tag.has_equals || !all_alpha(tag.name)) {
            note(Severity::warning, "bad-tag",
                 fmt::format("\"{}\" is not a tag=value pair; ignored", printable(tag.piece)),
                 tag.offset);
            return;
        }
        const std::string name = ascii_lower(tag.name);
        // Sets, not scans: a 64 KiB record can hold thousands of tags or URIs.
        if (!seen_.insert(name).second) {
            note(Severity::warning, "duplicate-tag",
                 fmt::format("{}= appears more than once; the first one is used", name), tag.offset);
            return;
        }
        if (!is_known(name)) {
            take_unknown(tag);
            return;
        }
        if (tag.value.empty()) {
            note(Severity::error, "empty-value",
                 fmt::format("{}= has no value; the default applies", name), tag.value_offset);
            keep_invalid(tag, name);
            if (name == "p" || name == "sp" || name == "np") policy_problem(name, tag);
            return;
        }
        take_known(name, tag, position);
    }

    void take_unknown(const RawTag& tag) {
        note(Severity::warning, "unknown-tag",
             fmt::format("unknown tag {}= is ignored by receivers", printable(tag.name)), tag.offset);
        record_.unknown_tags.push_back(Tag{std::string(tag.name), std::string(tag.value)});
    }

    void take_known(const std::string& name, const RawTag& tag, std::size_t position) {
        if (name == "v") return;  // a second v= was caught as a duplicate; unreachable otherwise
        if (name == "p") return take_p(tag, position);
        if (name == "sp") return take_policy(record_.sp, name, tag);
        if (name == "np") return take_policy(record_.np, name, tag);
        if (name == "psd") return take_psd(tag);
        if (name == "t") return take_t(tag);
        if (name == "pct") return take_pct(tag);
        if (name == "adkim") return take_alignment(record_.adkim, name, tag);
        if (name == "aspf") return take_alignment(record_.aspf, name, tag);
        if (name == "rua") return take_uris(record_.rua, name, tag);
        if (name == "ruf") return take_uris(record_.ruf, name, tag);
        if (name == "fo") return take_fo(tag);
        if (name == "rf") return take_rf(tag);
        take_ri(tag);
    }

    void take_p(const RawTag& tag, std::size_t position) {
        take_policy(record_.p, "p", tag);
        if (position != 1) {
            note(Severity::warning, "p-not-second",
                 "RFC 7489 requires p= right after v=DMARC1; receivers still on RFC 7489 may "
                 "reject the record (RFC 9989 allows any order)",
                 tag.offset);
        }
    }

    void take_policy(std::optional<Policy>& field, const std::string& name, const RawTag& tag) {
        if (auto policy = parse_policy(tag.value)) {
            field = policy;
            return;
        }
        keep_invalid(tag, name);
        policy_problem(name, tag);
    }

    void policy_problem(const std::string& name, const RawTag& tag) {
        record_.invalid_policy = true;
        invalid_policy_tags_.push_back({name, tag.value_offset, std::string(tag.value)});
    }

    void take_psd(const RawTag& tag) {
        if (iequals(tag.value, "y")) {
            record_.psd = Psd::yes;
            note(Severity::info, "psd-y",
                 "psd=y: a Public Suffix Operator's record; the Organizational Domains are one "
                 "label below it",
                 tag.offset);
        } else if (iequals(tag.value, "n")) {
            record_.psd = Psd::no;
        } else if (iequals(tag.value, "u")) {
            record_.psd = Psd::unknown;
        } else {
            invalid_value("psd", tag, "y, n or u", "u");
        }
    }

    void take_t(const RawTag& tag) {
        if (iequals(tag.value, "y")) {
            record_.t = true;
            note(Severity::info, "test-mode",
                 "t=y: RFC 9989 receivers apply one level less (reject as quarantine, "
                 "quarantine as none); RFC 7489 receivers ignore t",
                 tag.offset);
        } else if (iequals(tag.value, "n")) {
            record_.t = false;
        } else {
            invalid_value("t", tag, "y or n", "n");
        }
    }

    void take_pct(const RawTag& tag) {
        int value = 0;
        const auto* end = tag.value.data() + tag.value.size();
        const auto [ptr, ec] = std::from_chars(tag.value.data(), end, value);
        if (ec != std::errc{} || ptr != end || value < 0 || value > 100 || tag.value.size() > 3) {
            invalid_value("pct", tag, "an integer from 0 to 100", "100");
            return;
        }
        record_.pct = value;
        std::string why = "pct is historic: RFC 9989 receivers ignore it (use t=y for a gradual "
                          "rollout)";
        if (value == 0) {
            why += "; pct=0 was read by some intermediaries as a signal to rewrite From";
        } else if (value != 100) {
            why += fmt::format("; RFC 7489 receivers never applied pct={} consistently (only 0 "
                               "and 100 behave the same everywhere)",
                               value);
        }
        note(Severity::warning, "pct-historic", std::move(why), tag.offset);
    }

    void take_alignment(std::optional<Alignment>& field, const std::string& name,
                        const RawTag& tag) {
        if (iequals(tag.value, "r")) {
            field = Alignment::relaxed;
        } else if (iequals(tag.value, "s")) {
            field = Alignment::strict;
        } else {
            invalid_value(name, tag, "r or s", "r (relaxed)");
        }
    }

    void take_uris(std::vector<ReportUri>& uris, const std::string& name, const RawTag& tag) {
        std::size_t start = 0;
        const std::string_view list = tag.value;
        while (start <= list.size()) {
            auto comma = list.find(',', start);
            if (comma == std::string_view::npos) comma = list.size();
            const auto item = detail::trim_wsp(list.substr(start, comma - start));
            take_uri(uris, name, item, tag.value_offset + start);
            start = comma + 1;
        }
        if (uris.empty()) keep_invalid(tag, name);
    }

    void take_uri(std::vector<ReportUri>& uris, const std::string& name, std::string_view item,
                  std::size_t offset) {
        auto outcome = detail::parse_report_uri(item);
        if (!outcome.uri) {
            note(Severity::warning, "bad-uri",
                 fmt::format("{}: \"{}\" is not a valid URI and is ignored: {}", name,
                             printable(item), outcome.reason),
                 offset);
            return;
        }
        if (outcome.uri->is_mailto() && outcome.uri->uri.find("%2") != std::string::npos &&
            (outcome.uri->uri.find("%2C") != std::string::npos ||
             outcome.uri->uri.find("%2c") != std::string::npos)) {
            note(Severity::warning, "mailto-several-addresses",
                 fmt::format("{}: \"{}\" holds several addresses (%2C); only the first one's "
                             "domain is checked here, and some reporters send to none of them: "
                             "list each address as its own URI",
                             name, printable(item)),
                 offset);
        }
        if (!outcome.uri->is_mailto()) {
            note(Severity::warning, "unsupported-scheme",
                 fmt::format("{}: reporters need only support mailto:, so \"{}\" will mostly be "
                             "ignored",
                             name, printable(item)),
                 offset);
        }
        if (outcome.uri->size_limit) {
            note(Severity::warning, "size-suffix",
                 fmt::format("{}: the \"!size\" suffix is obsolete; RFC 9989 reporters ignore it",
                             name),
                 offset);
        }
        auto& listed = name == "rua" ? rua_seen_ : ruf_seen_;
        if (!listed.insert(outcome.uri->uri).second) {
            note(Severity::warning, "duplicate-uri",
                 fmt::format("{}: \"{}\" is listed twice", name, printable(item)), offset);
            return;
        }
        uris.push_back(std::move(*outcome.uri));
    }

    void take_fo(const RawTag& tag) {
        std::size_t start = 0;
        const std::string_view list = tag.value;
        while (start <= list.size()) {
            auto colon = list.find(':', start);
            if (colon == std::string_view::npos) colon = list.size();
            take_fo_option(detail::trim_wsp(list.substr(start, colon - start)),
                           tag.value_offset + start);
            start = colon + 1;
        }
        if (record_.fo.empty()) keep_invalid(tag, "fo");
        const auto has = [&](FailureOption o) {
            return std::find(record_.fo.begin(), record_.fo.end(), o) != record_.fo.end();
        };
        if (has(FailureOption::all_failed) && has(FailureOption::any_failed)) {
            note(Severity::warning, "fo-0-and-1",
                 "fo lists both 0 and 1; 1 (report when any mechanism fails) includes 0",
                 tag.offset);
        }
        fo_offset_ = tag.offset;
    }

    void take_fo_option(std::string_view option, std::size_t offset) {
        std::optional<FailureOption> parsed;
        if (option == "0") parsed = FailureOption::all_failed;
        if (option == "1") parsed = FailureOption::any_failed;
        if (iequals(option, "d")) parsed = FailureOption::dkim;
        if (iequals(option, "s")) parsed = FailureOption::spf;
        if (!parsed) {
            note(Severity::error, "invalid-fo",
                 fmt::format("fo: \"{}\" is not one of 0, 1, d, s; ignored", printable(option)),
                 offset);
            return;
        }
        if (std::find(record_.fo.begin(), record_.fo.end(), *parsed) == record_.fo.end()) {
            record_.fo.push_back(*parsed);
        }
    }

    void take_rf(const RawTag& tag) {
        record_.rf = std::string(tag.value);
        std::string why = "rf is historic: failure reports are always AFRF (RFC 9991)";
        if (!iequals(tag.value, "afrf")) {
            why += fmt::format("; \"{}\" was never a registered format", printable(tag.value));
        }
        note(Severity::warning, "rf-historic", std::move(why), tag.offset);
    }

    void take_ri(const RawTag& tag) {
        std::uint32_t seconds = 0;
        const auto* end = tag.value.data() + tag.value.size();
        const auto [ptr, ec] = std::from_chars(tag.value.data(), end, seconds);
        if (ec != std::errc{} || ptr != end) {
            invalid_value("ri", tag, "a number of seconds", "86400");
            return;
        }
        record_.ri = seconds;
        note(Severity::warning, "ri-historic",
             "ri is historic: RFC 9989 receivers send aggregate reports at least daily whatever "
             "it says",
             tag.offset);
    }

    void invalid_value(const std::string& name, const RawTag& tag, std::string_view expected,
                       std::string_view fallback) {
        note(Severity::error, "invalid-" + name,
             fmt::format("{}=\"{}\" is not valid (expected {}); receivers use the default {}", name,
                         printable(tag.value), expected, fallback),
             tag.value_offset);
        keep_invalid(tag, name);
    }

    void finish() {
        // Canonical order, the order format_record writes them in, so a round trip is exact.
        std::stable_sort(record_.invalid_tags.begin(), record_.invalid_tags.end(),
                         [](const Tag& a, const Tag& b) { return rank(a.name) < rank(b.name); });
        report_invalid_policies();
        if (!record_.p && !record_.invalid_policy) {
            note(Severity::warning, "missing-p",
                 record_.rua.empty()
                     ? "p= is missing: RFC 9989 receivers read p=none, but RFC 7489 receivers "
                       "ignore a record without p= unless rua= has a valid URI"
                     : "p= is missing: receivers read p=none (RFC 7489 ones because rua= has a "
                       "valid URI)",
                 text_.size());
        }
        if (!record_.fo.empty() && record_.ruf.empty()) {
            note(Severity::warning, "fo-without-ruf",
                 "fo= has no effect without a valid ruf= URI", fo_offset_);
        }
    }

    void report_invalid_policies() {
        for (const auto& bad : invalid_policy_tags_) {
            const std::string consequence =
                record_.rua.empty()
                    ? "and rua= has no valid URI, so receivers ignore the whole record (no DMARC)"
                    : "so receivers act as if p=none (rua= has a valid URI)";
            note(Severity::error, "invalid-" + bad.name,
                 fmt::format("{}=\"{}\" is not none, quarantine or reject, {}", bad.name,
                             printable(bad.value), consequence),
                 bad.offset);
        }
    }

    struct InvalidPolicy {
        std::string name;
        std::size_t offset = 0;
        std::string value;
    };

    std::string_view text_;
    Record record_;
    std::set<std::string, std::less<>> seen_{"v"};
    std::set<std::string, std::less<>> rua_seen_, ruf_seen_;
    std::vector<InvalidPolicy> invalid_policy_tags_;
    std::size_t fo_offset_ = 0;
};

}  // namespace

Result<Record> parse_record(std::string_view text) {
    if (auto reason = detail::not_dmarc_reason(text); !reason.empty()) {
        return fail(Errc::malformed, "not a DMARC record: " + reason);
    }
    const auto tags = detail::split_tags(text);
    return RecordParser(text).run(tags);
}

namespace {

void append_tag(std::string& out, std::string_view name, std::string_view value) {
    out += "; ";
    out += name;
    out += '=';
    out += value;
}

std::string join_uris(const std::vector<ReportUri>& uris) {
    std::string out;
    for (const auto& uri : uris) {
        if (!out.empty()) out += ',';
        out += uri.uri;
        if (uri.size_limit) out += '!' + detail::format_size(*uri.size_limit);
    }
    return out;
}

std::string join_fo(const std::vector<FailureOption>& options) {
    std::string out;
    for (const auto option : options) {
        if (!out.empty()) out += ':';
        out += to_string(option);
    }
    return out;
}

/// Writes the tag from `present` when set, else the invalid text kept for it, if any.
class Writer {
public:
    explicit Writer(const Record& record) : record_(record) {}

    void put(std::string_view name, std::optional<std::string> present) {
        if (present) {
            append_tag(out_, name, *present);
            return;
        }
        for (const auto& bad : record_.invalid_tags) {
            if (bad.name == name) append_tag(out_, name, bad.value);
        }
    }
    std::string take() { return std::move(out_); }

private:
    const Record& record_;
    std::string out_ = "v=DMARC1";
};

template <class T, class F>
std::optional<std::string> text_of(const std::optional<T>& value, F render) {
    if (!value) return std::nullopt;
    return std::string(render(*value));
}

}  // namespace

std::string format_record(const Record& r) {
    Writer w(r);
    const auto policy = [](Policy p) { return to_string(p); };
    w.put("p", text_of(r.p, policy));
    w.put("sp", text_of(r.sp, policy));
    w.put("np", text_of(r.np, policy));
    w.put("psd", text_of(r.psd, [](Psd v) { return to_string(v); }));
    w.put("t", text_of(r.t, [](bool v) { return v ? "y" : "n"; }));
    w.put("pct", text_of(r.pct, [](int v) { return fmt::format("{}", v); }));
    const auto alignment = [](Alignment a) { return to_string(a); };
    w.put("adkim", text_of(r.adkim, alignment));
    w.put("aspf", text_of(r.aspf, alignment));
    w.put("rua", r.rua.empty() ? std::nullopt : std::optional(join_uris(r.rua)));
    w.put("ruf", r.ruf.empty() ? std::nullopt : std::optional(join_uris(r.ruf)));
    w.put("fo", r.fo.empty() ? std::nullopt : std::optional(join_fo(r.fo)));
    w.put("rf", r.rf);
    w.put("ri", text_of(r.ri, [](std::uint32_t v) { return fmt::format("{}", v); }));
    std::string out = w.take();
    for (const auto& tag : r.unknown_tags) append_tag(out, tag.name, tag.value);
    return out;
}

}  // namespace rampart::dmarc

// The SPF record grammar, RFC 7208 §4.5, §4.6.1, §5, §6 and §7.1:
//
//   record    = version terms *SP          version = "v=spf1"
//   terms     = *( 1*SP ( directive / modifier ) )
//   directive = [ qualifier ] mechanism    qualifier = "+" / "-" / "?" / "~"
//   mechanism = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//   modifier  = redirect / explanation / unknown-modifier
//   unknown-modifier = name "=" macro-string
//   name      = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>

#include "spf/detail.hpp"

namespace rampart::spf {
namespace {

constexpr std::size_t max_record = 8192;
constexpr std::string_view version = "v=spf1";

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_name_char(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
}

std::unexpected<Error> term_error(std::string_view term, std::size_t offset, std::string why) {
    Location where;
    where.offset = offset;
    where.column = static_cast<std::uint32_t>(offset + 1);
    return fail(Errc::malformed, fmt::format("\"{}\": {}", printable(term), why), where);
}

/// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
Result<detail::MacroScan> check_domain_spec(std::string_view spec) {
    if (spec.empty()) return fail(Errc::malformed, "the domain-spec is empty");
    auto scan = detail::scan_macro_string(spec, MacroUse::domain_spec);
    if (!scan) return scan;
    if (scan->ends_with_macro) return scan;
    auto name = spec;
    if (name.back() == '.') name.remove_suffix(1);
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos)
        return fail(Errc::malformed,
                    "the domain-spec must end in a macro or a dot and a top-level label");
    if (!detail::is_toplabel(name.substr(dot + 1)))
        return fail(Errc::malformed,
                    fmt::format("\"{}\" is not a valid top-level label",
                                printable(name.substr(dot + 1))));
    return scan;
}

/// "0" / %x31-39 0*N DIGIT, at most `max`.
std::optional<int> cidr_length(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
    int value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (value > max) return std::nullopt;
    return value;
}

/// Splits a trailing "/digits" off `rest`; "//digits" when `doubled`.
std::optional<std::string_view> trailing_cidr(std::string_view& rest, bool doubled) {
    std::size_t i = rest.size();
    while (i > 0 && is_digit(rest[i - 1])) --i;
    if (i == rest.size() || i == 0 || rest[i - 1] != '/') return std::nullopt;
    const bool has_double = i >= 2 && rest[i - 2] == '/';
    if (doubled != has_double) return std::nullopt;
    auto digits = rest.substr(i);
    rest = rest.substr(0, i - (doubled ? 2 : 1));
    return digits;
}

bool strict_ip4(std::string_view text) noexcept {
    // ip4-network = qnum "." qnum "." qnum "." qnum; qnum = 0..255 without leading zeros
    int parts = 0;
    while (true) {
        std::size_t n = 0;
        while (n < text.size() && is_digit(text[n])) ++n;
        if (n == 0 || n > 3 || (n > 1 && text[0] == '0')) return false;
        int value = 0;
        std::from_chars(text.data(), text.data() + n, value);
        if (value > 255) return false;
        ++parts;
        text.remove_prefix(n);
        if (text.empty()) return parts == 4;
        if (text.front() != '.' || parts == 4) return false;
        text.remove_prefix(1);
    }
}

bool ip6_chars(std::string_view text) noexcept {
    if (text.find(':') == std::string_view::npos) return false;
    for (const char c : text)
        if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
              c == '.'))
            return false;
    return true;
}

struct TermParser {
    std::string_view term;
    std::size_t offset;

    Result<Mechanism> mechanism() const {
        Mechanism m;
        m.text = std::string(term);
        std::string_view rest = term;
        switch (rest.front()) {
            case '+': m.qualifier = Qualifier::pass; rest.remove_prefix(1); break;
            case '-': m.qualifier = Qualifier::fail; rest.remove_prefix(1); break;
            case '~': m.qualifier = Qualifier::softfail; rest.remove_prefix(1); break;
            case '?': m.qualifier = Qualifier::neutral; rest.remove_prefix(1); break;
            default: break;
        }
        std::size_t n = 0;
        while (n < rest.size() && (is_alpha(rest[n]) || is_digit(rest[n]))) ++n;
        const auto name = ascii_lower(rest.substr(0, n));
        rest.remove_prefix(n);
        if (name == "all") m.kind = MechanismKind::all;
        else if (name == "include") m.kind = MechanismKind::include;
        else if (name == "a") m.kind = MechanismKind::a;
        else if (name == "mx") m.kind = MechanismKind::mx;
        else if (name == "ptr") m.kind = MechanismKind::ptr;
        else if (name == "ip4") m.kind = MechanismKind::ip4;
        else if (name == "ip6") m.kind = MechanismKind::ip6;
        else if (name == "exists") m.kind = MechanismKind::exists;
        else return error("unknown mechanism");
        if (!rest.empty() && rest.front() != ':' && rest.front() != '/')
            return error("unknown mechanism");
        switch (m.kind) {
            case MechanismKind::all:
                if (!rest.empty()) return error("\"all\" takes no argument");
                return m;
            case MechanismKind::include:
            case MechanismKind::exists:
            case MechanismKind::ptr: return with_domain(std::move(m), rest);
            case MechanismKind::a:
            case MechanismKind::mx: return with_domain_and_cidr(std::move(m), rest);
            case MechanismKind::ip4:
            case MechanismKind::ip6: return with_network(std::move(m), rest);
        }
        return error("unknown mechanism");
    }

    Result<Mechanism> with_domain(Mechanism m, std::string_view rest) const {
        const bool required = m.kind != MechanismKind::ptr;
        if (rest.empty()) {
            if (required) return error(fmt::format("{} needs \":domain\"", to_string(m.kind)));
            return m;
        }
        if (rest.front() != ':') return error(fmt::format("{} takes no CIDR length", to_string(m.kind)));
        rest.remove_prefix(1);
        if (auto ok = check_domain_spec(rest); !ok) return error(ok.error().reason);
        m.domain_spec = std::string(rest);
        return m;
    }

    Result<Mechanism> with_domain_and_cidr(Mechanism m, std::string_view rest) const {
        // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
        if (auto digits = trailing_cidr(rest, true)) {
            auto v = cidr_length(*digits, 128);
            if (!v) return error("the IPv6 CIDR length must be 0..128 without leading zeros");
            m.cidr6 = *v;
        }
        if (auto digits = trailing_cidr(rest, false)) {
            auto v = cidr_length(*digits, 32);
            if (!v) return error("the IPv4 CIDR length must be 0..32 without leading zeros");
            m.cidr4 = *v;
        }
        if (rest.empty()) return m;
        if (rest.front() != ':') return error("malformed CIDR length");
        rest.remove_prefix(1);
        if (auto ok = check_domain_spec(rest); !ok) return error(ok.error().reason);
        m.domain_spec = std::string(rest);
        return m;
    }

    Result<Mechanism> with_network(Mechanism m, std::string_view rest) const {
        const bool v4 = m.kind == MechanismKind::ip4;
        if (rest.empty() || rest.front() != ':')
            return error(fmt::format("{} needs \":network\"", to_string(m.kind)));
        rest.remove_prefix(1);
        if (auto digits = trailing_cidr(rest, false)) {
            auto v = cidr_length(*digits, v4 ? 32 : 128);
            if (!v)
                return error(v4 ? "the CIDR length must be 0..32 without leading zeros"
                                : "the CIDR length must be 0..128 without leading zeros");
            (v4 ? m.cidr4 : m.cidr6) = *v;
        }
        if (v4 ? !strict_ip4(rest) : !ip6_chars(rest))
            return error(fmt::format("\"{}\" is not an {} network", printable(rest),
                                     v4 ? "IPv4" : "IPv6"));
        auto ip = IpAddress::parse(rest);
        if (!ip) return error(fmt::format("\"{}\" is not an {} network", printable(rest),
                                          v4 ? "IPv4" : "IPv6"));
        m.network = *ip;
        return m;
    }

    std::unexpected<Error> error(std::string why) const {
        return term_error(term, offset, std::move(why));
    }
};

/// Modifier when the term starts with `name "="`.
std::optional<std::size_t> modifier_name_length(std::string_view term) noexcept {
    if (term.empty() || !is_alpha(term.front())) return std::nullopt;
    std::size_t n = 1;
    while (n < term.size() && is_name_char(term[n])) ++n;
    if (n < term.size() && term[n] == '=') return n;
    return std::nullopt;
}

Result<void> add_modifier(Record& record, std::string_view term, std::size_t name_length,
                          std::size_t offset) {
    Modifier mod{ascii_lower(term.substr(0, name_length)), std::string(term.substr(name_length + 1)),
                 std::string(term)};
    const bool is_redirect = mod.name == "redirect", is_exp = mod.name == "exp";
    if (is_redirect || is_exp) {
        auto& slot = is_redirect ? record.redirect : record.exp;
        if (slot) return term_error(term, offset, fmt::format("{}= appears twice", mod.name));
        if (auto ok = check_domain_spec(mod.value); !ok)
            return term_error(term, offset, ok.error().reason);
        slot = std::move(mod);
        return {};
    }
    if (auto ok = detail::scan_macro_string(mod.value, MacroUse::explanation); !ok)
        return term_error(term, offset, ok.error().reason);
    record.unknown_modifiers.push_back(std::move(mod));
    return {};
}

}  // namespace

std::string_view to_string(SpfResult result) noexcept {
    switch (result) {
        case SpfResult::none: return "none";
        case SpfResult::neutral: return "neutral";
        case SpfResult::pass: return "pass";
        case SpfResult::fail: return "fail";
        case SpfResult::softfail: return "softfail";
        case SpfResult::temperror: return "temperror";
        case SpfResult::permerror: return "permerror";
    }
    return "?";
}

std::optional<SpfResult> parse_result(std::string_view text) noexcept {
    for (const auto r : {SpfResult::none, SpfResult::neutral, SpfResult::pass, SpfResult::fail,
                         SpfResult::softfail, SpfResult::temperror, SpfResult::permerror})
        if (iequals(text, to_string(r))) return r;
    return std::nullopt;
}

SpfResult result_of(Qualifier qualifier) noexcept {
    switch (qualifier) {
        case Qualifier::pass: return SpfResult::pass;
        case Qualifier::fail: return SpfResult::fail;
        case Qualifier::softfail: return SpfResult::softfail;
        case Qualifier::neutral: return SpfResult::neutral;
    }
    return SpfResult::neutral;
}

char symbol(Qualifier qualifier) noexcept {
    switch (qualifier) {
        case Qualifier::pass: return '+';
        case Qualifier::fail: return '-';
        case Qualifier::softfail: return '~';
        case Qualifier::neutral: return '?';
    }
    return '?';
}

std::string_view to_string(MechanismKind kind) noexcept {
    switch (kind) {
        case MechanismKind::all: return "all";
        case MechanismKind::include: return "include";
        case MechanismKind::a: return "a";
        case MechanismKind::mx: return "mx";
        case MechanismKind::ptr: return "ptr";
        case MechanismKind::ip4: return "ip4";
        case MechanismKind::ip6: return "ip6";
        case MechanismKind::exists: return "exists";
    }
    return "?";
}

bool Mechanism::queries_dns() const noexcept {
    return kind == MechanismKind::include || kind == MechanismKind::a ||
           kind == MechanismKind::mx || kind == MechanismKind::ptr ||
           kind == MechanismKind::exists;
}

bool Mechanism::has_macros() const noexcept {
    return domain_spec.find('%') != std::string::npos;
}

bool Record::has_all() const noexcept {
    for (const auto& m : mechanisms)
        if (m.kind == MechanismKind::all) return true;
    return false;
}

int Record::own_lookups() const noexcept {
    int n = 0;
    for (const auto& m : mechanisms)
        if (m.queries_dns()) ++n;
    if (redirect && !has_all()) ++n;
    return n;
}

bool is_spf_record(std::string_view txt) noexcept {
    if (txt.size() < version.size() || !iequals(txt.substr(0, version.size()), version))
        return false;
    return txt.size() == version.size() || txt[version.size()] == ' ';
}

Result<Record> parse_record(std::string_view text) {
    if (text.size() > max_record)
        return fail(Errc::limit_exceeded,
                    fmt::format("the record is {} octets long; at most {} are accepted",
                                text.size(), max_record));
    if (!is_spf_record(text))
        return fail(Errc::malformed, "the record does not begin with \"v=spf1\" and a space");
    Record record;
    std::size_t pos = version.size();
    while (pos < text.size()) {
        if (text[pos] == ' ') {
            ++pos;
            continue;
        }
        auto end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        const auto term = text.substr(pos, end - pos);
        for (std::size_t i = 0; i < term.size(); ++i) {
            const auto c = static_cast<unsigned char>(term[i]);
            if (c < 0x21 || c > 0x7e)
                return term_error(term, pos,
                                  c >= 0x80 ? "records must be 7-bit ASCII"
                                            : "terms are separated by spaces only; control "
                                              "characters and tabs are not allowed");
        }
        if (auto name = modifier_name_length(term)) {
            if (auto ok = add_modifier(record, term, *name, pos); !ok)
                return std::unexpected(std::move(ok.error()));
        } else {
            auto m = TermParser{term, pos}.mechanism();
            if (!m) return std::unexpected(std::move(m.error()));
            record.mechanisms.push_back(std::move(*m));
        }
        pos = end;
    }
    return record;
}

}  // namespace rampart::spf

namespace rampart::spf::detail {
namespace {

/// Large caches are split so that threads rarely meet on one lock; small ones (tests) keep one
/// shard and an exact LRU order.
constexpr std::size_t record_shards_large = 8;
constexpr std::size_t min_entries_to_shard = 1024;

}  // namespace

CompiledRecord compile_record(std::string_view text) {
    CompiledRecord out{std::string(text), parse_record(text), {}, {}};
    if (!out.parsed) return out;
    const auto fixed = [](const std::string& spec) -> std::optional<std::string> {
        if (spec.empty() || spec.find('%') != std::string::npos) return std::nullopt;
        return target_name(spec);
    };
    out.targets.reserve(out.parsed->mechanisms.size());
    for (const auto& m : out.parsed->mechanisms) out.targets.push_back(fixed(m.domain_spec));
    if (out.parsed->redirect) out.redirect_target = fixed(out.parsed->redirect->value);
    return out;
}

RecordCache::RecordCache(std::size_t max_entries, std::size_t max_octets)
    : shard_count_(max_entries >= min_entries_to_shard ? record_shards_large : 1),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
    for (std::size_t i = 0; i < shard_count_; ++i) {
        shards_[i].max_entries = std::max<std::size_t>(max_entries / shard_count_, 1);
        shards_[i].max_octets = std::max<std::size_t>(max_octets / shard_count_, 1);
    }
}

RecordCache::Shard& RecordCache::shard_of(std::string_view text) noexcept {
    if (shard_count_ == 1) return shards_[0];
    return shards_[(std::hash<std::string_view>{}(text) >> 24) % shard_count_];
}

std::shared_ptr<const CompiledRecord> RecordCache::get(std::string_view text) {
    if (text.size() > max_text) return std::make_shared<const CompiledRecord>(compile_record(text));
    auto& shard = shard_of(text);
    {
        std::lock_guard lock(shard.mutex);
        if (const auto it = shard.items.find(text); it != shard.items.end()) {
            ++shard.stats.hits;
            shard.recency.splice(shard.recency.begin(), shard.recency, it->second);
            return *it->second;
        }
        ++shard.stats.misses;
    }
    // Compiled outside the lock; two threads missing on one text both compile it, and the
    // second keeps the first one's.
    auto compiled = std::make_shared<const CompiledRecord>(compile_record(text));
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.items.find(text); it != shard.items.end()) return *it->second;
    if (text.size() > shard.max_octets) return compiled;
    while (!shard.recency.empty() && (shard.items.size() >= shard.max_entries ||
                                      shard.octets + text.size() > shard.max_octets)) {
        const auto& last = shard.recency.back();
        shard.octets -= last->text.size();
        shard.items.erase(last->text);
        shard.recency.pop_back();
        ++shard.stats.evictions;
    }
    shard.recency.push_front(compiled);
    shard.items.emplace(compiled->text, shard.recency.begin());
    shard.octets += text.size();
    return compiled;
}

RecordCache::Stats RecordCache::stats() const {
    Stats total;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total.hits += shards_[i].stats.hits;
        total.misses += shards_[i].stats.misses;
        total.evictions += shards_[i].stats.evictions;
    }
    return total;
}

std::size_t RecordCache::size() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].items.size();
    }
    return total;
}

std::size_t RecordCache::octets() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].octets;
    }
    return total;
}

RecordCache& record_cache() {
    static RecordCache cache;
    return cache;
}

}  // namespace rampart::spf::detail

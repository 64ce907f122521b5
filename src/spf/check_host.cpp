// check_host(), RFC 7208 §4-§6, with the processing limits of §4.6.4.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include "dns/cache.hpp"
#include "spf/detail.hpp"

namespace rampart::spf {
namespace {

using dns::RrType;
using dns::Status;
using AnswerPtr = std::shared_ptr<const dns::Answer>;

/// A verdict that ends the evaluation of one domain's record.
struct Verdict {
    SpfResult result = SpfResult::neutral;
    std::string reason;
    std::optional<std::string> explanation;
    std::string matched_term, matched_domain;
};

/// The result of trying one mechanism: it matched, it did not, or evaluation stops here
/// (temperror, permerror).
struct Attempt {
    enum class Kind : std::uint8_t { no_match, match, stop } kind = Kind::no_match;
    std::string note;       // for the trace: why it did (not) match
    Verdict stop_verdict;  // when kind == stop
};

Attempt no_match(std::string note) { return {Attempt::Kind::no_match, std::move(note), {}}; }
Attempt match(std::string note) { return {Attempt::Kind::match, std::move(note), {}}; }
Attempt stop(SpfResult result, std::string reason) {
    Attempt a;
    a.kind = Attempt::Kind::stop;
    a.note = fmt::format("{}: {}", to_string(result), reason);
    a.stop_verdict.result = result;
    a.stop_verdict.reason = std::move(reason);
    return a;
}

bool is_v4(const IpAddress& ip) noexcept { return ip.family() == IpAddress::Family::v4; }

/// The 16 octets of an IPv6 network; IPv4 (stored for "::ffff:a.b.c.d") as its mapped form.
std::array<std::uint8_t, 16> v6_octets(const IpAddress& ip) {
    std::array<std::uint8_t, 16> out{};
    const auto b = ip.bytes();
    if (b.size() == 16) {
        std::copy(b.begin(), b.end(), out.begin());
    } else {
        out[10] = 0xff;
        out[11] = 0xff;
        std::copy(b.begin(), b.end(), out.begin() + 12);
    }
    return out;
}

bool prefix_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b,
                  int prefix) noexcept {
    const auto full = static_cast<std::size_t>(prefix / 8);
    for (std::size_t i = 0; i < full; ++i)
        if (a[i] != b[i]) return false;
    const int rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/// `client` lies in `network`/prefix of the same family.
bool in_network(const IpAddress& client, const IpAddress& network, int prefix) noexcept {
    if (client.family() != network.family()) return false;
    return prefix_equal(client.bytes(), network.bytes(), prefix);
}

std::string plural(int n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string ordinal(int n) {
    const int last = n % 10, tens = n % 100;
    const char* suffix = (tens >= 11 && tens <= 13) ? "th"
                         : last == 1                 ? "st"
                         : last == 2                 ? "nd"
                         : last == 3                 ? "rd"
                                                     : "th";
    return fmt::format("{}{}", n, suffix);
}

class Evaluator {
public:
    Evaluator(dns::Resolver& resolver, const Request& request, const Options& options,
              Evaluation& out)
        : resolver_(resolver),
          // Answers from a cache are shared as stored instead of copied (SPF reads no TTLs).
          // CachingResolver is final, so comparing the dynamic type is exact and cheaper than a
          // dynamic_cast.
          caching_(typeid(resolver) == typeid(dns::CachingResolver)
                       ? static_cast<dns::CachingResolver*>(&resolver)
                       : nullptr),
          options_(options),
          limits_(options.limits),
          out_(out) {
        context_.ip = request.ip;
        context_.helo = request.helo;
        context_.receiver = request.receiver;
        context_.now = request.now;
        set_sender(request);
        context_.validated_name = [this] { return validated_name(); };
    }

    void run(std::string_view domain) {
        auto verdict = check_domain(domain);
        if (out_of_time_ && verdict.result != SpfResult::temperror) {
            verdict.result = SpfResult::temperror;
            verdict.reason = time_limit_reason();
            verdict.explanation.reset();
        }
        out_.result = verdict.result;
        out_.reason = std::move(verdict.reason);
        out_.explanation = std::move(verdict.explanation);
        out_.matched_term = std::move(verdict.matched_term);
        out_.matched_domain = std::move(verdict.matched_domain);
        out_.lookups = lookups_;
        out_.void_lookups = voids_;
    }

private:
    void set_sender(const Request& request) {
        std::string_view sender = request.sender;
        std::string fallback;
        if (sender.empty()) {
            fallback = "postmaster@" + std::string(request.domain);
            sender = fallback;
        }
        const auto at = sender.rfind('@');
        std::string_view local = at == std::string_view::npos ? "" : sender.substr(0, at);
        std::string_view domain = at == std::string_view::npos ? sender : sender.substr(at + 1);
        // §4.3: a sender without a local-part is read as postmaster@domain.
        if (local.empty()) local = "postmaster";
        context_.local_part = std::string(local);
        context_.sender_domain = std::string(domain);
        context_.sender = fmt::format("{}@{}", local, domain);
    }

    // -- the top level -----------------------------------------------------------------------

    /// §4.3 initial processing, then the record of `domain`.
    Verdict check_domain(std::string_view domain) {
        auto name = detail::target_name(domain);
        if (!name || name->find('.') == std::string::npos || name->front() == '[') {
            return Verdict{SpfResult::none,
                           fmt::format("\"{}\" is not a usable domain name (§4.3)",
                                       printable(domain)),
                           {}, {}, {}};
        }
        return evaluate(*name, 0, false);
    }

    // -- one domain's record -------------------------------------------------------------------

    /// check_host() for `domain` (already a valid name). `in_include`: the result feeds an
    /// include, so no explanation is fetched (§6.2: an include target's exp= is not used).
    Verdict evaluate(std::string_view domain, int depth, bool in_include) {
        std::shared_ptr<const detail::CompiledRecord> compiled;
        if (auto none_or_error = fetch_record(domain, compiled)) return *none_or_error;
        if (depth == 0) out_.record = compiled->text;
        if (!compiled->parsed)
            return Verdict{SpfResult::permerror,
                           fmt::format("the SPF record of {} is malformed: {}", printable(domain),
                                       compiled->parsed.error().reason),
                           {}, {}, {}};

        const auto saved_domain = std::exchange(domain_, domain);
        auto verdict = evaluate_terms(*compiled, domain, depth, in_include);
        domain_ = saved_domain;
        return verdict;
    }

    /// §4.4, §4.5: the one SPF record at `domain`, or why there is none.
    /// The compiled records of the last TXT answers this thread met, by answer identity: a
    /// cached answer is one shared object, so meeting it again means the same record, found
    /// without joining its strings or hashing its text. Holding the answer keeps its address
    /// from being reused for another one while the entry lives.
    struct Memo {
        AnswerPtr answer;
        std::shared_ptr<const detail::CompiledRecord> compiled;
    };
    static constexpr std::size_t memo_slots = 64;

    std::optional<Verdict> fetch_record(std::string_view domain,
                                        std::shared_ptr<const detail::CompiledRecord>& compiled) {
        thread_local std::array<Memo, memo_slots> memo;
        const auto answer = query(domain, RrType::txt);
        Memo* slot = nullptr;
        if (caching_ != nullptr) {
            slot = &memo[(reinterpret_cast<std::uintptr_t>(answer.get()) >> 4) % memo_slots];
            if (slot->answer == answer) {
                compiled = slot->compiled;
                return std::nullopt;
            }
        }
        std::string record;
        if (auto none_or_error = find_record(domain, *answer, record)) return none_or_error;
        // Parsed once per distinct record text in the process (detail::RecordCache).
        compiled = detail::record_cache().get(record);
        if (slot != nullptr) *slot = Memo{answer, compiled};
        return std::nullopt;
    }

    std::optional<Verdict> find_record(std::string_view domain, const dns::Answer& answer,
                                       std::string& record) {
        if (answer.failed())
            return Verdict{SpfResult::temperror,
                           fmt::format("the TXT look-up of {} failed: {}", printable(domain),
                                       answer_problem(answer)),
                           {}, {}, {}};
        int found = 0;
        for (const auto& r : answer.records) {
            const auto* txt = std::get_if<dns::Txt>(&r.data);
            if (txt == nullptr) continue;
            auto text = txt->joined();
            if (!is_spf_record(text)) continue;
            if (++found == 1) record = std::move(text);
        }
        if (found == 0)
            return Verdict{SpfResult::none,
                           fmt::format("{} has no SPF record", printable(domain)), {}, {}, {}};
        if (found > 1)
            return Verdict{SpfResult::permerror,
                           fmt::format("{} has {} SPF records; exactly one is allowed (§4.5)",
                                       printable(domain), found),
                           {}, {}, {}};
        return std::nullopt;
    }

    Verdict evaluate_terms(const detail::CompiledRecord& compiled, std::string_view domain,
                           int depth, bool in_include) {
        const Record& record = *compiled.parsed;
        for (std::size_t i = 0; i < record.mechanisms.size(); ++i) {
            const auto& mechanism = record.mechanisms[i];
            const std::size_t step = begin_step(depth, domain, mechanism.text);
            if (mechanism.queries_dns()) {
                if (auto over = count_lookup(mechanism.text, domain)) {
                    end_step(step, 1, false, over->note);
                    return over->stop_verdict;
                }
            }
            auto attempt = try_mechanism(mechanism, compiled.targets[i], domain, depth);
            if (options_.trace)
                end_step(step, mechanism.queries_dns() ? 1 : 0,
                         attempt.kind == Attempt::Kind::match,
                         attempt.kind == Attempt::Kind::match
                             ? fmt::format("{} → {}", attempt.note,
                                           to_string(result_of(mechanism.qualifier)))
                             : attempt.note);
            if (attempt.kind == Attempt::Kind::stop) return attempt.stop_verdict;
            if (attempt.kind == Attempt::Kind::match)
                return matched(record, mechanism, domain, depth, in_include);
        }
        if (record.redirect)
            return follow_redirect(*record.redirect, compiled.redirect_target, domain, depth,
                                   in_include);
        Verdict v{SpfResult::neutral, {}, {}, {}, {}};
        // Inside an include only the result is read (try_include), so the reason is not built.
        if (!in_include)
            v.reason = fmt::format("no term of {}'s record matched; the default is neutral (§4.7)",
                                   printable(domain));
        return v;
    }

    Verdict matched(const Record& record, const Mechanism& mechanism, std::string_view domain,
                    int depth, bool in_include) {
        Verdict v;
        v.result = result_of(mechanism.qualifier);
        // Inside an include a match gives pass, fail, softfail or neutral, of which
        // try_include reads only the result: the reason and the term are not built.
        if (in_include) return v;
        v.reason = fmt::format("{} matched in the record of {}", printable(mechanism.text),
                               printable(domain));
        v.matched_term = mechanism.text;
        v.matched_domain = std::string(domain);
        if (v.result == SpfResult::fail && record.exp)
            v.explanation = explanation(*record.exp, domain, depth);
        return v;
    }

    // -- modifiers -----------------------------------------------------------------------------

    /// §6.1: the redirect target's result is the result, with its own exp= (§6.2).
    Verdict follow_redirect(const Modifier& redirect, const std::optional<std::string>& fixed,
                            std::string_view domain, int depth, bool in_include) {
        const std::size_t step = begin_step(depth, domain, redirect.text);
        if (auto over = count_lookup(redirect.text, domain)) {
            end_step(step, 1, false, over->note);
            return over->stop_verdict;
        }
        Target target;
        if (!expand_target(redirect.value, fixed, domain, target)) {
            auto a = stop(SpfResult::permerror,
                          fmt::format("{} at {}: {}", printable(redirect.text), printable(domain),
                                      target.problem));
            end_step(step, 1, false, a.note);
            return a.stop_verdict;
        }
        auto verdict = evaluate(target.name, depth + 1, in_include);
        if (verdict.result == SpfResult::none) {
            verdict.result = SpfResult::permerror;
            verdict.reason = fmt::format("redirect target {} has no SPF record (§6.1)",
                                         printable(target.name));
        }
        if (options_.trace)
            end_step(step, 1, false, fmt::format("redirect → {}", to_string(verdict.result)));
        return verdict;
    }

    /// §6.2: the explanation for a fail; any problem leaves it out without changing the result.
    std::optional<std::string> explanation(const Modifier& exp, std::string_view domain,
                                           int depth) {
        const std::size_t step = begin_step(depth, domain, exp.text);
        auto text = explanation_text(exp, domain);
        end_step(step, 0, false,
                 text ? fmt::format("explanation: {}", printable(*text))
                      : std::string("explanation ignored: ") + explanation_problem_);
        return text;
    }

    std::optional<std::string> explanation_text(const Modifier& exp, std::string_view domain) {
        Target target;
        if (!expand_target(exp.value, std::nullopt, domain, target)) {
            explanation_problem_ = target.problem;
            return std::nullopt;
        }
        const auto answer = query(target.name, RrType::txt);
        if (!answer->ok()) {
            explanation_problem_ = fmt::format("TXT look-up of {}: {}", printable(target.name),
                                               answer_problem(*answer));
            return std::nullopt;
        }
        if (answer->records.size() != 1) {
            explanation_problem_ = fmt::format("{} has {} TXT records; exactly one is needed",
                                               printable(target.name), answer->records.size());
            return std::nullopt;
        }
        const auto* txt = std::get_if<dns::Txt>(&answer->records.front().data);
        if (txt == nullptr) {
            explanation_problem_ = "the answer is not TXT";
            return std::nullopt;
        }
        context_.domain.assign(domain);
        auto expanded = expand(txt->joined(), context_, MacroUse::explanation);
        if (!expanded) {
            explanation_problem_ = expanded.error().reason;
            return std::nullopt;
        }
        return std::move(*expanded);
    }

    // -- mechanisms ----------------------------------------------------------------------------

    Attempt try_mechanism(const Mechanism& m, const std::optional<std::string>& fixed,
                          std::string_view domain, int depth) {
        switch (m.kind) {
            case MechanismKind::all: return match("matched");
            case MechanismKind::ip4:
            case MechanismKind::ip6: return try_ip(m);
            case MechanismKind::include: return try_include(m, fixed, domain, depth);
            case MechanismKind::a:
            case MechanismKind::mx:
            case MechanismKind::ptr:
            case MechanismKind::exists: break;
        }
        Target target;
        if (!expand_target(m.domain_spec, fixed, domain, target)) {
            // RFC 7208 leaves a target that cannot be a DNS name undefined (§4.8); like a name
            // that does not exist, it does not match (the suite accepts fail or permerror).
            return no_match(note("no match: {}", target.problem));
        }
        switch (m.kind) {
            case MechanismKind::a: return try_a(m, target.name);
            case MechanismKind::mx: return try_mx(m, target.name);
            case MechanismKind::ptr: return try_ptr(target.name);
            default: return try_exists(target.name);
        }
    }

    Attempt try_ip(const Mechanism& m) const {
        const auto& client = context_.ip;
        if (!m.network) return no_match("no match");
        if (m.kind == MechanismKind::ip4) {
            return in_network(client, *m.network, m.cidr4) ? match("matched") : no_match("no match");
        }
        // §5.6: ip6 never matches an IPv4 client (IPv4-mapped clients count as IPv4).
        if (is_v4(client)) return no_match("no match (IPv4 client)");
        const auto net = v6_octets(*m.network);
        return prefix_equal(client.bytes(), net, m.cidr6) ? match("matched") : no_match("no match");
    }

    /// §5.2: pass matches; fail, softfail, neutral do not; none is a permerror.
    Attempt try_include(const Mechanism& m, const std::optional<std::string>& fixed,
                        std::string_view domain, int depth) {
        Target target;
        if (!expand_target(m.domain_spec, fixed, domain, target))
            return stop(SpfResult::permerror, fmt::format("{} at {}: {}", printable(m.text),
                                                          printable(domain), target.problem));
        auto inner = evaluate(target.name, depth + 1, true);
        switch (inner.result) {
            case SpfResult::pass: return match("include → pass: matched");
            case SpfResult::fail:
            case SpfResult::softfail:
            case SpfResult::neutral:
                return no_match(note("include → {}: no match", to_string(inner.result)));
            case SpfResult::none:
                return stop(SpfResult::permerror,
                            fmt::format("{} at {}: {} has no SPF record (§5.2)", printable(m.text),
                                        printable(domain), printable(target.name)));
            case SpfResult::temperror:
            case SpfResult::permerror: break;
        }
        Attempt a = stop(inner.result, std::move(inner.reason));
        a.stop_verdict.matched_term = std::move(inner.matched_term);
        a.stop_verdict.matched_domain = std::move(inner.matched_domain);
        return a;
    }

    Attempt try_a(const Mechanism& m, std::string_view target) {
        const auto answer = query(target, address_type());
        if (auto trouble = address_trouble(*answer, target)) return std::move(*trouble);
        return any_address_matches(*answer, m) ? match("matched") : no_match("no match");
    }

    Attempt try_mx(const Mechanism& m, std::string_view target) {
        const auto answer = query(target, RrType::mx);
        if (auto trouble = address_trouble(*answer, target)) return std::move(*trouble);
        const auto names = static_cast<int>(answer->records.size());
        // §4.6.4: more than 10 MX names is a permerror, not a truncation.
        if (names > limits_.mx_names)
            return stop(SpfResult::permerror,
                        fmt::format("{} has {} MX records; at most {} may be looked up (§4.6.4)",
                                    printable(target), names, limits_.mx_names));
        for (const auto& r : answer->records) {
            const auto* mx = std::get_if<dns::Mx>(&r.data);
            if (mx == nullptr || mx->exchange.empty()) continue;  // null MX (RFC 7505)
            const auto hosts = query(mx->exchange, address_type());
            if (hosts->failed())
                return stop(SpfResult::temperror,
                            fmt::format("address look-up of MX host {}: {}",
                                        printable(mx->exchange), answer_problem(*hosts)));
            if (any_address_matches(*hosts, m))
                return match(note("matched MX host {}", printable(mx->exchange)));
        }
        return no_match(options_.trace
                            ? fmt::format("no match ({})", plural(names, "MX name", "MX names"))
                            : std::string());
    }

    /// §5.5: a validated PTR name equal to or under the target. PTR errors are no match.
    Attempt try_ptr(std::string_view target) {
        const auto answer = query(dns::reverse_name(context_.ip), RrType::ptr);
        if (answer->failed()) return no_match("no match: PTR look-up failed");
        if (answer->empty()) {
            if (auto over = count_void("ptr", target)) return std::move(*over);
            return no_match("void lookup: no PTR records");
        }
        int considered = 0;
        for (const auto& r : answer->records) {
            const auto* name = std::get_if<std::string>(&r.data);
            if (name == nullptr) continue;
            // §4.6.4: names past the 10th are ignored.
            if (++considered > limits_.ptr_names) break;
            if (!dns::is_subdomain(*name, target)) continue;
            if (forward_confirms(*name))
                return match(note("matched validated name {}", printable(*name)));
        }
        return no_match("no match");
    }

    Attempt try_exists(std::string_view target) {
        // §5.7: an A query whatever the client's family.
        const auto answer = query(target, RrType::a);
        if (auto trouble = address_trouble(*answer, target)) return std::move(*trouble);
        return match("matched");
    }

    // -- helpers -------------------------------------------------------------------------------

    RrType address_type() const { return is_v4(context_.ip) ? RrType::a : RrType::aaaa; }

    bool any_address_matches(const dns::Answer& answer, const Mechanism& m) const {
        const int prefix = is_v4(context_.ip) ? m.cidr4 : m.cidr6;
        for (const auto& r : answer.records) {
            const auto* ip = std::get_if<IpAddress>(&r.data);
            if (ip != nullptr && in_network(context_.ip, *ip, prefix)) return true;
        }
        return false;
    }

    /// DNS failure (temperror) or empty answer (a void look-up, no match); nullopt when the
    /// answer has records.
    std::optional<Attempt> address_trouble(const dns::Answer& answer, std::string_view target) {
        if (answer.failed())
            return stop(SpfResult::temperror,
                        fmt::format("look-up of {} failed: {}", printable(target),
                                    answer_problem(answer)));
        if (answer.empty()) {
            if (auto over = count_void(to_string(answer.status), target)) return over;
            return no_match(note("void lookup ({}): no match", to_string(answer.status)));
        }
        return std::nullopt;
    }

    /// The name's addresses include the client's (§5.5 forward confirmation).
    bool forward_confirms(const std::string& name) {
        const auto answer = query(name, address_type());
        if (!answer->ok()) return false;  // §5.5: errors skip the name
        for (const auto& r : answer->records) {
            const auto* ip = std::get_if<IpAddress>(&r.data);
            if (ip != nullptr && *ip == context_.ip) return true;
        }
        return false;
    }

    /// %{p} (§7.3): the validated name, preferring <domain>, then a subdomain of it. Worked
    /// out once per <domain> in an evaluation: a record may say %{p} any number of times, and
    /// each time would otherwise cost a PTR and up to ten address look-ups that §4.6.4's
    /// counters do not see (found by fuzz_spf_record: 400 queries from one record).
    std::string validated_name() {
        if (auto it = validated_names_.find(context_.domain); it != validated_names_.end()) return it->second;
        auto name = look_up_validated_name();
        validated_names_.emplace(context_.domain, name);
        return name;
    }
    std::map<std::string, std::string, std::less<>> validated_names_;

    std::string look_up_validated_name() {
        const auto answer = query(dns::reverse_name(context_.ip), RrType::ptr);
        if (!answer->ok()) return {};
        std::string first_valid;
        std::string subdomain;
        int considered = 0;
        for (const auto& r : answer->records) {
            const auto* name = std::get_if<std::string>(&r.data);
            if (name == nullptr) continue;
            if (++considered > limits_.ptr_names) break;
            if (!forward_confirms(*name)) continue;
            if (*name == context_.domain) return *name;
            if (subdomain.empty() && dns::is_subdomain(*name, context_.domain)) subdomain = *name;
            if (first_valid.empty()) first_valid = *name;
        }
        return subdomain.empty() ? first_valid : subdomain;
    }

    /// A name to query. `name` views the current domain, a name compiled with the record, or
    /// `storage`; a Target is filled in place and never moved, so the view stays valid.
    struct Target {
        std::string_view name;
        std::string storage;
        std::string problem;
    };

    /// A domain-spec made into a name to query: empty means the current domain; macros are
    /// expanded (§7); the result must be a DNS name. `fixed` is the name the record cache worked
    /// out for a macro-free spec (CompiledRecord). False, with `problem`, when there is none.
    bool expand_target(const std::string& spec, const std::optional<std::string>& fixed,
                       std::string_view domain, Target& target) {
        if (spec.empty()) {
            target.name = domain;
            return true;
        }
        if (fixed) {
            target.name = *fixed;
            return true;
        }
        std::string expanded;
        if (spec.find('%') != std::string::npos) {
            context_.domain.assign(domain);
            auto e = expand(spec, context_, MacroUse::domain_spec);
            if (!e) {
                target.problem = e.error().reason;
                return false;
            }
            expanded = std::move(*e);
        } else {
            expanded = spec;
        }
        auto name = detail::target_name(expanded);
        if (!name) {
            target.problem =
                fmt::format("\"{}\" is not a valid domain name", printable(expanded));
            return false;
        }
        target.storage = std::move(*name);
        target.name = target.storage;
        return true;
    }

    /// A trace note, built only when a trace is kept.
    template <typename... Args>
    std::string note(fmt::format_string<Args...> format, Args&&... args) const {
        if (!options_.trace) return {};
        return fmt::format(format, std::forward<Args>(args)...);
    }

    /// §4.6.4: counts a DNS-querying term; the 11th ends the check with permerror.
    std::optional<Attempt> count_lookup(std::string_view term, std::string_view domain) {
        if (++lookups_ <= limits_.dns_mechanisms) return std::nullopt;
        return stop(SpfResult::permerror,
                    fmt::format("{} at {} is the {} DNS-querying term; at most {} are allowed "
                                "(§4.6.4)",
                                printable(term), printable(domain), ordinal(lookups_),
                                limits_.dns_mechanisms));
    }

    /// §4.6.4: counts an empty answer; the 3rd ends the check with permerror.
    std::optional<Attempt> count_void(std::string_view what, std::string_view target) {
        if (++voids_ <= limits_.void_lookups) return std::nullopt;
        return stop(SpfResult::permerror,
                    fmt::format("the look-up of {} ({}) is the {} void look-up; at most {} are "
                                "allowed (§4.6.4)",
                                printable(target), what, ordinal(voids_), limits_.void_lookups));
    }

    AnswerPtr query(std::string_view name, RrType type) {
        if (options_.elapsed && options_.elapsed() > limits_.time_limit) {
            out_of_time_ = true;
            auto late = std::make_shared<dns::Answer>();
            late->status = Status::timeout;
            late->detail = time_limit_reason();
            return late;
        }
        if (caching_ != nullptr) return caching_->query_shared(name, type);
        return std::make_shared<const dns::Answer>(resolver_.query(name, type));
    }

    std::string time_limit_reason() const {
        return fmt::format("the check took longer than {} ms (§4.6.4)", limits_.time_limit.count());
    }

    static std::string answer_problem(const dns::Answer& answer) {
        if (answer.detail.empty()) return std::string(to_string(answer.status));
        return fmt::format("{} ({})", to_string(answer.status), printable(answer.detail));
    }

    std::size_t begin_step(int depth, std::string_view domain, const std::string& term) {
        if (!options_.trace) return 0;
        out_.trace.push_back(
            TraceStep{depth, std::string(domain), term, 0, lookups_, false, {}});
        return out_.trace.size() - 1;
    }

    void end_step(std::size_t index, int lookups, bool was_matched, std::string outcome) {
        if (!options_.trace) return;
        auto& s = out_.trace[index];
        s.lookups = lookups;
        s.total_lookups = lookups_;
        s.matched = was_matched;
        s.outcome = std::move(outcome);
    }

    dns::Resolver& resolver_;
    dns::CachingResolver* caching_;  // resolver_, when it is a cache
    const Options& options_;
    const Limits& limits_;
    Evaluation& out_;
    MacroContext context_;
    /// The domain whose record is being evaluated; copied into context_.domain (%{d}) only
    /// when a macro is expanded.
    std::string_view domain_;
    int lookups_ = 0;
    int voids_ = 0;
    bool out_of_time_ = false;
    std::string explanation_problem_;
};

}  // namespace

Request mail_from(const IpAddress& ip, std::string_view sender, std::string_view helo) {
    Request r;
    r.ip = ip;
    r.helo = std::string(helo);
    r.sender = sender.empty() ? fmt::format("postmaster@{}", helo) : std::string(sender);
    const auto at = r.sender.rfind('@');
    r.domain = at == std::string::npos ? r.sender : r.sender.substr(at + 1);
    if (at == 0 || at == std::string::npos) r.sender = fmt::format("postmaster@{}", r.domain);
    return r;
}

Request helo_identity(const IpAddress& ip, std::string_view helo) {
    Request r;
    r.ip = ip;
    r.helo = std::string(helo);
    r.domain = std::string(helo);
    r.sender = fmt::format("postmaster@{}", helo);
    return r;
}

Evaluation check_host(dns::Resolver& resolver, const Request& request, const Options& options) {
    Evaluation out;
    out.domain = request.domain;
    Evaluator(resolver, request, options, out).run(request.domain);
    return out;
}

}  // namespace rampart::spf

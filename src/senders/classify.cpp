// classify: report roll-ups + identities + the declared inventory -> senders with one class each.
//
// Pure: no DNS, no store, no clock. The thresholds and the texts a client reads are at the top of
// this file so they can be reviewed together; only the two provider-aware fixes, which are built
// from the catalogue's guidance, live with the classifier (action_not_aligned,
// action_not_authenticated).
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "dmarc/dmarc.hpp"
#include "senders/senders.hpp"

namespace rampart::senders {

namespace {

// ---- thresholds -------------------------------------------------------------------------------

// A sender passes when at least 98% of its messages pass DMARC. Every healthy sender shows a
// trickle of failures in aggregate reports (forwarding, mailing lists, the odd modified message);
// a real set-up gap fails far more than 2%, so this flags gaps without crying wolf.
// Whole percents in integer arithmetic, so 980 of 1000 is exactly at the threshold.
constexpr std::uint64_t passing_percent = 98;

// A reason explains a sender's failing mail when it covers at least half of the failing
// messages ("most failing messages carry forwarding evidence"). Half, not all: reports mix a
// sender's forwarded copies with its direct failures, and the larger part names the cause.
constexpr std::uint64_t majority_percent = 50;

bool at_least(std::uint64_t part, std::uint64_t whole, std::uint64_t percent) {
    return part * 100 >= whole * percent;
}

// ---- texts ----------------------------------------------------------------------------------
// Every explanation is plain English a client can read; every action one imperative sentence.

std::string percent(std::uint64_t part, std::uint64_t total) {
    if (total == 0) return "0%";
    const double p = 100.0 * static_cast<double>(part) / static_cast<double>(total);
    if (p == static_cast<double>(static_cast<std::uint64_t>(p))) return fmt::format("{:.0f}%", p);
    return fmt::format("{:.1f}%", p);
}

std::string format_day(std::chrono::year_month_day d) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                       static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string key_name(std::string_view selector, std::string_view domain) {
    return fmt::format("{}._domainkey.{}", selector, domain);
}

std::string list_of(const std::vector<std::string>& items, std::size_t most) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < most; ++i) {
        if (i > 0) out += ", ";
        out += items[i];
    }
    if (items.size() > most) out += fmt::format(" and {} more", items.size() - most);
    return out;
}

/// Why a selector counts as broken for a sender.
struct BrokenKey {
    enum class Why : std::uint8_t { missing, revoked, weak, stopped_passing };
    Why why = Why::stopped_passing;
    std::string domain, selector;
    int bits = 0;
    std::optional<std::chrono::sys_days> last_pass;
};

std::string text_passing(std::uint64_t pass, std::uint64_t messages) {
    return fmt::format("Declared and passing: {} of its messages pass DMARC.",
                       percent(pass, messages));
}
std::string action_passing(bool dkim_weak_share) {
    // Passing through SPF alone breaks at the first forwarder; aligned DKIM survives forwarding.
    return dkim_weak_share ? "Enable aligned DKIM for this sender so its mail survives forwarding."
                           : "Nothing to do.";
}

std::string text_unknown_passing(std::string_view domain, std::uint64_t pass) {
    return fmt::format(
        "Not in the inventory, yet {} of its messages pass DMARC as {}: someone authorised it "
        "without declaring it.",
        pass, domain);
}
std::string action_unknown_passing() {
    return "Find out who uses this sender and declare it in the inventory, or remove its "
           "authorisation from SPF and DKIM.";
}

std::string text_forwarded_failing(std::uint64_t forwarded, std::uint64_t failing) {
    return fmt::format(
        "This mail was authenticated where it was written and broken in transit by forwarding or a "
        "mailing list: {} of its {} failing messages carry forwarding evidence.",
        forwarded, failing);
}
std::string text_forwarded_passing(std::string_view domain, std::string_view who) {
    return fmt::format(
        "Copies of {} mail forwarded through {}: they still pass DMARC because the DKIM signature "
        "survived the trip.",
        domain, who);
}
std::string action_forwarded(bool failing) {
    if (!failing) return "Change nothing: these are forwarded copies of your own mail.";
    return "Change nothing at the sender: forwarding causes these failures, and receivers that "
           "honour ARC (RFC 8617) can still accept this mail.";
}
/// Who forwarded: "Gmail users" for a mailbox provider, else a neutral phrase.
std::string forwarder_name(const catalogue::Provider* p) {
    if (p == nullptr) return "a forwarding server";
    return p->kind == catalogue::Kind::mailbox_provider ? p->name + " users" : p->name;
}

std::string text_subdomain_spoof(std::string_view domain, const std::vector<std::string>& names) {
    return fmt::format(
        "Mail claims subdomains of {} that nobody declared ({}) and fails authentication: made-up "
        "names used for spoofing.",
        domain, list_of(names, 3));
}
std::string action_subdomain_spoof(std::string_view domain) {
    return fmt::format(
        "Publish sp=reject and np=reject (RFC 9989) in the DMARC record of {} once every "
        "legitimate subdomain has its own authentication.",
        domain);
}

std::string text_dkim_broken(const BrokenKey& k) {
    const std::string name = key_name(k.selector, k.domain);
    switch (k.why) {
        case BrokenKey::Why::missing:
            return fmt::format("The DKIM key {} is missing from DNS, so its signatures fail.",
                               name);
        case BrokenKey::Why::revoked:
            return fmt::format("The DKIM key {} is revoked (empty p=), so its signatures fail.",
                               name);
        case BrokenKey::Why::weak:
            return k.bits > 0
                       ? fmt::format(
                             "The DKIM key {} is a weak {}-bit RSA key that receivers are "
                             "dropping.",
                             name, k.bits)
                       : fmt::format(
                             "The DKIM key {} is a weak RSA key that receivers are dropping.",
                             name);
        case BrokenKey::Why::stopped_passing: break;
    }
    if (k.last_pass) {
        return fmt::format("Signatures with the DKIM key {} passed until {} and fail since.", name,
                           format_day(std::chrono::year_month_day(*k.last_pass)));
    }
    return fmt::format("Signatures with the DKIM key {} used to pass and fail now.", name);
}
std::string action_dkim_broken(const BrokenKey& k) {
    const std::string name = key_name(k.selector, k.domain);
    switch (k.why) {
        case BrokenKey::Why::weak:
            return fmt::format("Replace the key at {} with a 2048-bit RSA key.", name);
        case BrokenKey::Why::revoked:
            return fmt::format(
                "Finish the key rotation: make the sender sign with the new selector, "
                "or republish the key at {}.",
                name);
        case BrokenKey::Why::missing:
        case BrokenKey::Why::stopped_passing: break;
    }
    return fmt::format(
        "Republish the key at {}, or finish the key rotation by switching the sender "
        "to the new selector.",
        name);
}

std::string text_not_aligned(std::string_view domain, const std::optional<std::string>& dkim_d,
                             const std::optional<std::string>& spf_d, std::uint64_t failing,
                             std::uint64_t messages) {
    std::string how;
    if (dkim_d && spf_d) {
        how = fmt::format("it signs as d={} and bounces through {}", *dkim_d, *spf_d);
    } else if (dkim_d) {
        how = fmt::format("it signs as d={}", *dkim_d);
    } else if (spf_d) {
        how = fmt::format("its Return-Path is {}", *spf_d);
    } else {
        how = "it authenticates under another domain";
    }
    return fmt::format(
        "Its mail authenticates, but not as {}: {}, so {} of its messages fail DMARC.", domain, how,
        percent(failing, messages));
}
std::string text_not_authenticated(std::uint64_t failing, std::uint64_t messages) {
    return fmt::format(
        "Declared sender, but its mail is not authenticated: its IPs are not in the SPF record and "
        "it does not sign with DKIM ({} of its messages fail DMARC).",
        percent(failing, messages));
}

std::string text_unauthorised(std::string_view domain, std::uint64_t failing) {
    return fmt::format(
        "An undeclared source sent {} messages as {} that fail both SPF and DKIM: possibly "
        "spoofing.",
        failing, domain);
}
std::string action_unauthorised(std::string_view domain) {
    return fmt::format(
        "Leave this source alone: moving {} to p=quarantine, then p=reject, blocks "
        "this mail.",
        domain);
}

std::string text_retired() { return "Declared retired, yet still sending."; }
std::string action_retired() {
    return "Remove its SPF include and DKIM records, or find out who still sends through it.";
}

std::string text_decision(const config::SenderConfig& s, std::chrono::sys_days today) {
    if (!s.decision) return {};
    std::string out = fmt::format("Documented plan: {}", *s.decision);
    if (s.due) {
        const bool overdue = std::chrono::sys_days(*s.due) < today;
        out += fmt::format(", due {}{}", format_day(*s.due), overdue ? " (overdue)" : "");
    }
    return out + ".";
}

// ---- helpers ----------------------------------------------------------------------------------

bool at_or_below(std::string_view name, std::string_view ancestor) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (ancestor.empty()) return false;
    if (name.size() == ancestor.size()) return iequals(name, ancestor);
    if (name.size() < ancestor.size() + 1) return false;
    return name[name.size() - ancestor.size() - 1] == '.' &&
           iequals(name.substr(name.size() - ancestor.size()), ancestor);
}

bool at_or_below_any(std::string_view name, const std::vector<std::string>& ancestors) {
    return std::ranges::any_of(ancestors,
                               [&](const std::string& a) { return at_or_below(name, a); });
}

/// "zoho:eu" -> "zoho": inventories and identities may name a region.
std::string_view provider_id(std::string_view spec) { return spec.substr(0, spec.find(':')); }

bool same_provider(std::string_view a, std::string_view b) {
    return !a.empty() && !b.empty() && iequals(provider_id(a), provider_id(b));
}

bool is_forwarder(const catalogue::Provider* p) {
    return p != nullptr && (p->forwarder || p->kind == catalogue::Kind::mailbox_provider);
}

/// Override reasons that say a receiver saw the mail arrive through a forwarder. local_policy
/// counts only with arc=pass (Google and Microsoft write that comment when a trusted ARC chain
/// made them accept the mail); arc_pass carries that.
bool override_evidence(const store::SourceFacts& row) {
    if (row.arc_pass) return true;
    return std::ranges::any_of(row.overrides, [](report::OverrideType t) {
        return t == report::OverrideType::forwarded ||
               t == report::OverrideType::trusted_forwarder ||
               t == report::OverrideType::mailing_list;
    });
}

bool any_dkim_pass(const store::SourceFacts& row) {
    return std::ranges::any_of(
        row.dkim, [](const store::DkimFact& f) { return f.result == report::AuthVerdict::pass; });
}

/// The MAIL FROM domain of a row; Google leaves envelope_from out, but the SPF result's domain is
/// the MAIL FROM domain then.
std::string_view envelope_of(const store::SourceFacts& row) {
    return row.envelope_from.empty() ? std::string_view(row.spf_domain)
                                     : std::string_view(row.envelope_from);
}

std::vector<std::string> by_volume(const std::map<std::string, std::uint64_t>& counts) {
    std::vector<std::pair<std::string, std::uint64_t>> v(counts.begin(), counts.end());
    std::ranges::stable_sort(v, [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::string> out;
    out.reserve(v.size());
    for (auto& [name, n] : v) out.push_back(name);
    return out;
}

/// "unknown: 198.51.100.0/24" or "unknown: 2001:db8:bad::/48": undeclared, unnamed sources are
/// grouped by the block a provider usually hands one customer.
std::string block_of(const IpAddress& ip) {
    const auto b = ip.bytes();
    std::string text;
    if (ip.family() == IpAddress::Family::v4) {
        text = fmt::format("{}.{}.{}.0/24", b[0], b[1], b[2]);
    } else {
        auto group = [&](std::size_t i) { return (static_cast<unsigned>(b[i]) << 8U) | b[i + 1]; };
        text = fmt::format("{:x}:{:x}:{:x}::/48", group(0), group(2), group(4));
    }
    auto net = parse_network(text);
    return net ? net->to_string() : text;
}

struct PairUse {
    std::uint64_t pass = 0, fail = 0;
};

/// A sender being built from its rows.
struct Bucket {
    Sender sender;
    const config::SenderConfig* declared = nullptr;
    bool unknown = false;  // grouped by PTR base or address block: neither declared nor identified
    std::set<IpAddress> ips;
    std::set<std::string> unparsed_ips;
    std::map<std::string, std::uint64_t> from, dkim_d, return_paths;
    std::uint64_t failing = 0;
    std::uint64_t failing_forwarded = 0;
    std::uint64_t failing_authenticated = 0;
    std::uint64_t failing_subdomain = 0;
    std::map<std::string, std::uint64_t> spoofed_names;   // undeclared subdomains, failing
    std::map<std::string, std::uint64_t> unaligned_dkim;  // passing d= on failing mail
    std::map<std::string, std::uint64_t> unaligned_spf;   // passing SPF domain on failing mail
    std::map<std::string, std::uint64_t> failing_from;    // header_from of failing mail
    std::map<std::pair<std::string, std::string>, PairUse> pairs;  // (d, s) of the domain
};

class Classifier {
public:
    explicit Classifier(const ClassifyInput& in)
        : in_(in), cat_(in.catalogue != nullptr ? *in.catalogue : catalogue::builtin()) {}

    Analysis run() {
        Analysis out{.domain = in_.domain, .since = in_.since, .until = in_.until};
        for (const auto& row : in_.facts) {
            out.messages += row.messages;
            if (row.dmarc_pass()) out.dmarc_pass += row.messages;
            add(bucket_for(row), row);
        }
        for (auto& [name, b] : buckets_) out.senders.push_back(finish(b));
        std::ranges::sort(out.senders, [](const Sender& a, const Sender& b) {
            if (a.messages != b.messages) return a.messages > b.messages;
            return a.name < b.name;
        });
        return out;
    }

private:
    const store::SourceIdentity* identity(std::string_view ip) const {
        auto it = in_.identities.find(ip);
        return it == in_.identities.end() ? nullptr : &it->second;
    }

    const catalogue::Provider* provider_of(std::string_view spec) const {
        return spec.empty() ? nullptr : cat_.find(provider_id(spec));
    }

    // ---- grouping ---------------------------------------------------------------------------

    /// (a) the declared sender whose ips hold the address, the most specific block winning.
    const config::SenderConfig* by_declared_ips(const std::optional<IpAddress>& ip) const {
        if (in_.client == nullptr || !ip) return nullptr;
        const config::SenderConfig* best = nullptr;
        int best_prefix = -1;
        for (const auto& s : in_.client->senders) {
            for (const auto& n : s.ips) {
                if (n.contains(*ip) && n.prefix > best_prefix) {
                    best = &s;
                    best_prefix = n.prefix;
                }
            }
        }
        return best;
    }

    /// (b) the declared sender whose SPF ranges hold the address. Ranges of shared platforms
    /// also hold their forwarders (Gmail sends from Google Workspace's ranges), so mail a
    /// receiver saw forwarded, or a source identified as another provider's forwarder, is not
    /// the declared sender's own.
    const config::SenderConfig* by_sender_ranges(const std::optional<IpAddress>& ip,
                                                 const store::SourceFacts& row,
                                                 const store::SourceIdentity* id) const {
        if (in_.client == nullptr || !ip || override_evidence(row)) return nullptr;
        const bool forwarder_id = id != nullptr && is_forwarder(provider_of(id->provider));
        const config::SenderConfig* best = nullptr;
        int best_prefix = -1;
        for (const auto& s : in_.client->senders) {
            if (forwarder_id && !same_provider(s.provider.value_or(""), id->provider)) continue;
            auto it = in_.sender_ranges.find(s.name);
            if (it == in_.sender_ranges.end()) continue;
            for (const auto& n : it->second) {
                if (n.contains(*ip) && n.prefix > best_prefix) {
                    best = &s;
                    best_prefix = n.prefix;
                }
            }
        }
        return best;
    }

    /// (c) the declared sender whose provider is the one the source was identified as.
    const config::SenderConfig* by_provider(const store::SourceFacts& row,
                                            const store::SourceIdentity* id) const {
        if (in_.client == nullptr || id == nullptr || id->provider.empty() ||
            override_evidence(row))
            return nullptr;
        for (const auto& s : in_.client->senders) {
            if (same_provider(s.provider.value_or(""), id->provider)) return &s;
        }
        return nullptr;
    }

    /// (d) the declared sender that signs as a d= which passed on this row, unless its declared
    /// Return-Path or provider contradicts the row. Only a passing signature counts: the d= is
    /// usually the client's own domain, which spoofers claim as well.
    const config::SenderConfig* by_dkim(const store::SourceFacts& row,
                                        const store::SourceIdentity* id) const {
        if (in_.client == nullptr || override_evidence(row) || forwarding_pattern(row))
            return nullptr;
        if (id != nullptr && is_forwarder(provider_of(id->provider))) return nullptr;
        const std::string_view env = envelope_of(row);
        // Several declared senders often sign as the client's own domain; the one whose declared
        // Return-Path and provider positively fit the row wins over one that merely does not
        // contradict it, and declaration order breaks ties.
        const config::SenderConfig* best = nullptr;
        int best_score = -1;
        for (const auto& s : in_.client->senders) {
            // The d= exactly as declared: "signs as acme.example" says nothing about mail
            // signed as news.acme.example, which another vendor may well send.
            const bool signs = std::ranges::any_of(row.dkim, [&](const store::DkimFact& f) {
                return f.result == report::AuthVerdict::pass &&
                       std::ranges::any_of(s.dkim_domains, [&](const std::string& d) {
                           return iequals(d, f.domain);
                       });
            });
            if (!signs) continue;
            int score = 0;
            if (!s.return_path_domains.empty() && !env.empty()) {
                if (!at_or_below_any(env, s.return_path_domains)) continue;
                score += 2;
            }
            if (s.provider && id != nullptr && !id->provider.empty()) {
                if (!same_provider(*s.provider, id->provider)) continue;
                score += 2;
            }
            if (score > best_score) {
                best = &s;
                best_score = score;
            }
        }
        return best;
    }

    Bucket& declared_bucket(const config::SenderConfig& s) {
        auto [it, fresh] = buckets_.try_emplace("declared:" + s.name);
        if (fresh) {
            Bucket& b = it->second;
            b.declared = &s;
            b.sender.name = s.name;
            b.sender.known = true;
            if (s.provider) b.sender.provider = std::string(provider_id(*s.provider));
            b.sender.decision = s.decision;
            b.sender.due = s.due;
            b.sender.retired = s.status == config::SenderStatus::retired;
        }
        return it->second;
    }

    Bucket& bucket_for(const store::SourceFacts& row) {
        auto parsed = IpAddress::parse(row.source_ip);
        std::optional<IpAddress> ip;
        if (parsed) ip = *parsed;
        const store::SourceIdentity* id = identity(row.source_ip);

        if (const auto* s = by_declared_ips(ip)) return declared_bucket(*s);
        if (const auto* s = by_sender_ranges(ip, row, id)) return declared_bucket(*s);
        if (const auto* s = by_provider(row, id)) return declared_bucket(*s);
        if (const auto* s = by_dkim(row, id)) return declared_bucket(*s);

        // (e) an identified provider: one sender per provider.
        if (id != nullptr && !id->provider.empty()) {
            const std::string pid(provider_id(id->provider));
            auto [it, fresh] = buckets_.try_emplace("provider:" + pid);
            if (fresh) {
                const auto* p = provider_of(pid);
                it->second.sender.name = p != nullptr ? p->name : pid;
                it->second.sender.provider = pid;
            }
            return it->second;
        }

        // (f) unknown: the organisational domain of a forward-confirmed PTR name (an unconfirmed
        // one is whatever the address owner typed, google.com included), else the address block.
        std::string name;
        if (id != nullptr && id->forward_confirmed && id->ptr) {
            if (auto org = dmarc::org_domain_by_psl(*id->ptr))
                name = ascii_lower(*org);
        }
        if (name.empty()) name = ip ? block_of(*ip) : row.source_ip;
        // Forwarders and spoofers often share an address block (a university relays its
        // students' mail from the same /24 a compromised host spams from): mail that shows
        // forwarding is its own sender, so neither hides the other.
        name = (override_evidence(row) || forwarding_pattern(row) ? "forwarder: " : "unknown: ") +
               name;
        auto [it, fresh] = buckets_.try_emplace(name);
        if (fresh) {
            it->second.sender.name = name;
            it->second.unknown = true;
        }
        return it->second;
    }

    // ---- totals -----------------------------------------------------------------------------

    /// Without a declaration, SPF failing for the domain's own envelope while the domain's
    /// aligned DKIM signature passes is what forwarding looks like: the forwarder's address is
    /// not in the SPF record, the untouched signature still verifies.
    bool forwarding_pattern(const store::SourceFacts& row) const {
        return row.dmarc_dkim == report::DmarcVerdict::pass &&
               (row.spf_result == report::AuthVerdict::fail ||
                row.spf_result == report::AuthVerdict::softfail) &&
               at_or_below(envelope_of(row), in_.domain);
    }

    bool undeclared_subdomain(std::string_view from) const {
        if (from.size() <= in_.domain.size() || !at_or_below(from, in_.domain)) return false;
        if (in_.client == nullptr) return true;
        return std::ranges::none_of(in_.client->domains,
                                    [&](const std::string& d) { return iequals(d, from); });
    }

    void add(Bucket& b, const store::SourceFacts& row) {
        Sender& s = b.sender;
        const std::uint64_t n = row.messages;
        if (auto ip = IpAddress::parse(row.source_ip)) {
            b.ips.insert(*ip);
        } else {
            b.unparsed_ips.insert(row.source_ip);
        }
        if (auto it = in_.first_seen.find(row.source_ip); it != in_.first_seen.end()) {
            if (!s.first_seen || it->second < *s.first_seen) s.first_seen = it->second;
        }

        const bool pass = row.dmarc_pass();
        const bool spf_pass = row.spf_result == report::AuthVerdict::pass;
        const bool dkim_pass = any_dkim_pass(row);
        const store::SourceIdentity* id = identity(row.source_ip);
        bool forwarded =
            override_evidence(row) || (id != nullptr && is_forwarder(provider_of(id->provider)));
        // A declared sender showing the forwarding pattern has a gap in the SPF record instead,
        // so the pattern counts only for undeclared sources.
        if (!forwarded && b.declared == nullptr && forwarding_pattern(row)) forwarded = true;

        s.messages += n;
        if (pass) s.dmarc_pass += n;
        if (spf_pass) s.spf_pass += n;
        if (row.dmarc_spf == report::DmarcVerdict::pass) s.spf_aligned += n;
        if (dkim_pass) s.dkim_pass += n;
        if (row.dmarc_dkim == report::DmarcVerdict::pass) s.dkim_aligned += n;
        if (forwarded) s.forwarded += n;

        if (!row.header_from.empty()) b.from[row.header_from] += n;
        if (!envelope_of(row).empty()) b.return_paths[std::string(envelope_of(row))] += n;
        std::set<std::string> seen_d;
        for (const auto& f : row.dkim) {
            if (!f.domain.empty() && seen_d.insert(f.domain).second) b.dkim_d[f.domain] += n;
            if (!f.selector.empty() && at_or_below(f.domain, in_.domain)) {
                auto& use = b.pairs[{f.domain, f.selector}];
                (f.result == report::AuthVerdict::pass ? use.pass : use.fail) += n;
            }
        }

        if (pass) return;
        b.failing += n;
        if (forwarded) b.failing_forwarded += n;
        if (spf_pass || dkim_pass) b.failing_authenticated += n;
        if (!row.header_from.empty()) b.failing_from[row.header_from] += n;
        if (undeclared_subdomain(row.header_from)) {
            b.failing_subdomain += n;
            b.spoofed_names[row.header_from] += n;
        }
        if (spf_pass && !row.spf_domain.empty()) b.unaligned_spf[row.spf_domain] += n;
        for (const auto& f : row.dkim) {
            if (f.result == report::AuthVerdict::pass) b.unaligned_dkim[f.domain] += n;
        }
    }

    // ---- classes ----------------------------------------------------------------------------

    /// The selectors of the domain this sender signs with: all of them for a declared or
    /// identified sender; for an unknown source only those that passed on its mail, because
    /// spoofers copy the domain's real selector names onto signatures that cannot verify.
    std::vector<std::pair<std::pair<std::string, std::string>, PairUse>> own_pairs(
        const Bucket& b) const {
        std::vector<std::pair<std::pair<std::string, std::string>, PairUse>> out;
        for (const auto& [k, use] : b.pairs) {
            if (!b.unknown || use.pass > 0) out.emplace_back(k, use);
        }
        // The most used first, so the explanation names the selector that matters most.
        std::ranges::stable_sort(out, [](const auto& x, const auto& y) {
            return x.second.pass + x.second.fail > y.second.pass + y.second.fail;
        });
        return out;
    }

    std::optional<BrokenKey> key_problem(const Bucket& b) const {
        for (const auto& [k, use] : own_pairs(b)) {
            auto it = in_.keys.find(key_name(k.second, k.first));
            if (it == in_.keys.end()) continue;
            const KeyState& st = it->second;
            BrokenKey bk{.domain = k.first, .selector = k.second, .bits = st.bits};
            if (st.missing) {
                bk.why = BrokenKey::Why::missing;
            } else if (st.revoked) {
                bk.why = BrokenKey::Why::revoked;
            } else if (st.weak) {
                bk.why = BrokenKey::Why::weak;
            } else {
                continue;
            }
            return bk;
        }
        return std::nullopt;
    }

    /// A selector that passed before (its last pass is older than its last use) and fails on
    /// this sender's mail now.
    std::optional<BrokenKey> stopped_passing(const Bucket& b) const {
        for (const auto& [k, use] : own_pairs(b)) {
            if (use.fail == 0) continue;
            for (const auto& su : in_.selectors) {
                if (!iequals(su.dkim_domain, k.first) || !iequals(su.selector, k.second)) continue;
                if (su.last_pass_day && *su.last_pass_day < su.last_day && su.fail > 0) {
                    return BrokenKey{.why = BrokenKey::Why::stopped_passing,
                                     .domain = k.first,
                                     .selector = k.second,
                                     .last_pass = su.last_pass_day};
                }
            }
        }
        return std::nullopt;
    }

    static bool majority(std::uint64_t part, std::uint64_t whole) {
        return whole > 0 && at_least(part, whole, majority_percent);
    }

    /// The domain a fix applies to: the From domain of the failing mail when it is under the
    /// analysed domain, else the analysed domain.
    std::string fix_domain(const Bucket& b) const {
        auto from = by_volume(b.failing_from);
        if (!from.empty() && at_or_below(from.front(), in_.domain)) return from.front();
        return in_.domain;
    }

    static std::string fill_target(std::string target, std::string_view domain) {
        std::string dashed(domain);
        std::ranges::replace(dashed, '.', '-');
        for (auto [needle, value] :
             {std::pair<std::string_view, std::string_view>{"<domain-with-dashes>", dashed},
              std::pair<std::string_view, std::string_view>{"<domain>", domain}}) {
            for (auto pos = target.find(needle); pos != std::string::npos;
                 pos = target.find(needle, pos + value.size())) {
                target.replace(pos, needle.size(), value);
            }
        }
        return target;
    }

    /// A provider-aware fix for mail that authenticates under the vendor's own domain: custom
    /// DKIM first (it survives forwarding), a custom Return-Path when the provider offers one.
    std::string action_not_aligned(const Bucket& b) const {
        const std::string domain = fix_domain(b);
        const auto* p = provider_of(b.sender.provider);
        if (p == nullptr) {
            if (b.sender.known) {
                return fmt::format(
                    "Ask this sender to sign with a DKIM key of {} (d={}) or to use a "
                    "Return-Path under {}.",
                    domain, domain, domain);
            }
            return fmt::format(
                "If you use this service, declare it and have it sign with DKIM as {}; "
                "if not, leave it: enforcement will block it.",
                domain);
        }
        std::string dkim;
        if (p->dkim) {
            const auto& g = *p->dkim;
            if (g.method == catalogue::DkimMethod::cname && !g.selectors.empty() && g.target) {
                dkim = fmt::format("publish CNAME {}._domainkey.{} → {}", g.selectors.front(),
                                   domain, fill_target(*g.target, domain));
                if (g.selectors.size() > 1) {
                    std::vector<std::string> rest(g.selectors.begin() + 1, g.selectors.end());
                    dkim += fmt::format(" (and {} likewise)", list_of(rest, rest.size()));
                }
            } else if (g.method == catalogue::DkimMethod::txt && !g.selectors.empty()) {
                dkim = fmt::format("publish its key as TXT at {}._domainkey.{}",
                                   g.selectors.front(), domain);
            } else {
                std::string note = g.note;
                if (!note.empty() && note.back() == '.') note.pop_back();
                dkim = note.empty() ? "publish the DKIM records it shows for the domain" : note;
            }
        }
        std::string rp;
        if (p->return_path && p->return_path->target &&
            (p->return_path->method == catalogue::ReturnPath::cname ||
             p->return_path->method == catalogue::ReturnPath::mx)) {
            rp =
                fmt::format("a custom Return-Path under {} ({} to {})", domain,
                            p->return_path->method == catalogue::ReturnPath::cname ? "CNAME" : "MX",
                            fill_target(*p->return_path->target, domain));
        }
        if (dkim.empty()) {
            if (!rp.empty()) return fmt::format("Set up {} at {}.", rp, p->name);
            return fmt::format("Ask {} to sign with a DKIM key of {} (d={}).", p->name, domain,
                               domain);
        }
        if (rp.empty())
            return fmt::format("Set up custom DKIM for {} at {}: {}.", domain, p->name, dkim);
        return fmt::format("Set up custom DKIM for {} at {}: {}; also set {} so SPF aligns.",
                           domain, p->name, dkim, rp);
    }

    /// A declared sender sending unauthenticated mail: what its SPF and DKIM set-up lacks.
    std::string action_not_authenticated(const Bucket& b) const {
        const config::SenderConfig& s = *b.declared;
        std::vector<std::string> terms;
        for (const auto& inc : s.spf_includes) terms.push_back("include:" + inc);
        std::string who = "this sender";
        if (s.provider) {
            if (auto sel = cat_.select(*s.provider)) {
                who = sel->provider->name;
                if (terms.empty()) {
                    for (const auto& inc : sel->spf().includes) terms.push_back("include:" + inc);
                    for (const auto& a : sel->spf().a) terms.push_back("a:" + a);
                }
            }
        }
        if (terms.empty()) {
            for (const auto& n : s.ips) {
                terms.push_back(fmt::format(
                    "{}:{}", n.address.family() == IpAddress::Family::v4 ? "ip4" : "ip6",
                    n.to_string()));
            }
        }
        std::string spf =
            terms.empty() ? std::string("its sending addresses") : list_of(terms, terms.size());
        return fmt::format("Add {} to the SPF record of {} and enable DKIM signing at {}.", spf,
                           in_.domain, who);
    }

    void decide(Bucket& b) const {
        Sender& s = b.sender;
        const auto* p = provider_of(s.provider);
        const bool passing = b.failing == 0 || at_least(s.dmarc_pass, s.messages, passing_percent);

        if (!s.known && is_forwarder(p)) {
            s.cls = SenderClass::forwarded;
            s.explanation = passing ? text_forwarded_passing(in_.domain, forwarder_name(p))
                                    : text_forwarded_failing(b.failing_forwarded, b.failing);
            s.action = action_forwarded(!passing);
            return;
        }
        if (passing) {
            if (!s.known && majority(s.forwarded, s.messages)) {
                s.cls = SenderClass::forwarded;
                s.explanation = text_forwarded_passing(in_.domain, forwarder_name(p));
                s.action = action_forwarded(false);
                return;
            }
            // A missing, revoked or weak key is a fault even while the mail passes: SPF carries
            // it today, and forwarding (or receivers dropping weak keys) will not.
            if (auto k = key_problem(b)) {
                s.cls = SenderClass::dkim_broken;
                s.explanation = text_dkim_broken(*k);
                s.action = action_dkim_broken(*k);
                return;
            }
            if (s.known) {
                s.cls = SenderClass::passing;
                s.explanation = text_passing(s.dmarc_pass, s.messages);
                s.action = action_passing(!at_least(s.dkim_aligned, s.messages, passing_percent));
            } else {
                s.cls = SenderClass::unknown_passing;
                s.explanation = text_unknown_passing(in_.domain, s.dmarc_pass);
                s.action = action_unknown_passing();
            }
            return;
        }
        if (majority(b.failing_forwarded, b.failing)) {
            s.cls = SenderClass::forwarded;
            s.explanation = text_forwarded_failing(b.failing_forwarded, b.failing);
            s.action = action_forwarded(true);
            return;
        }
        if (!s.known && majority(b.failing_subdomain, b.failing)) {
            s.cls = SenderClass::subdomain_spoof;
            s.explanation = text_subdomain_spoof(in_.domain, by_volume(b.spoofed_names));
            s.action = action_subdomain_spoof(in_.domain);
            return;
        }
        auto broken = key_problem(b);
        if (!broken) broken = stopped_passing(b);
        if (broken) {
            s.cls = SenderClass::dkim_broken;
            s.explanation = text_dkim_broken(*broken);
            s.action = action_dkim_broken(*broken);
            return;
        }
        if (majority(b.failing_authenticated, b.failing)) {
            auto d = by_volume(b.unaligned_dkim);
            auto r = by_volume(b.unaligned_spf);
            s.cls = SenderClass::not_aligned;
            s.explanation = text_not_aligned(
                fix_domain(b), d.empty() ? std::nullopt : std::optional(d.front()),
                r.empty() ? std::nullopt : std::optional(r.front()), b.failing, s.messages);
            s.action = action_not_aligned(b);
            return;
        }
        if (s.known) {
            s.cls = SenderClass::not_aligned;
            s.explanation = text_not_authenticated(b.failing, s.messages);
            s.action = action_not_authenticated(b);
            return;
        }
        s.cls = SenderClass::unauthorised;
        s.explanation = text_unauthorised(in_.domain, b.failing - b.failing_authenticated);
        s.action = action_unauthorised(in_.domain);
    }

    Sender finish(Bucket& b) const {
        Sender& s = b.sender;
        for (const auto& ip : b.ips) s.sources.push_back(ip.to_string());
        for (const auto& text : b.unparsed_ips) s.sources.push_back(text);
        s.header_from = by_volume(b.from);
        s.dkim_domains = by_volume(b.dkim_d);
        s.return_paths = by_volume(b.return_paths);
        decide(b);
        if (s.retired) {
            s.explanation = text_retired() + " " + s.explanation;
            s.action = action_retired();
        }
        if (b.declared != nullptr) {
            const auto today = std::chrono::floor<std::chrono::days>(in_.until);
            if (auto plan = text_decision(*b.declared, today); !plan.empty()) {
                s.explanation += " " + plan;
            }
        }
        return std::move(s);
    }

    const ClassifyInput& in_;
    const catalogue::Catalogue& cat_;
    std::map<std::string, Bucket> buckets_;
};

constexpr std::pair<SenderClass, std::string_view> class_names[] = {
    {SenderClass::passing, "passing"},
    {SenderClass::not_aligned, "not_aligned"},
    {SenderClass::forwarded, "forwarded"},
    {SenderClass::dkim_broken, "dkim_broken"},
    {SenderClass::subdomain_spoof, "subdomain_spoof"},
    {SenderClass::unauthorised, "unauthorised"},
    {SenderClass::unknown_passing, "unknown_passing"},
};

}  // namespace

std::string_view to_string(SenderClass c) noexcept {
    for (const auto& [cls, name] : class_names) {
        if (cls == c) return name;
    }
    return "unknown";
}

std::optional<SenderClass> parse_sender_class(std::string_view text) noexcept {
    for (const auto& [cls, name] : class_names) {
        if (name == text) return cls;
    }
    return std::nullopt;
}

Analysis classify(const ClassifyInput& input) { return Classifier(input).run(); }

}  // namespace rampart::senders

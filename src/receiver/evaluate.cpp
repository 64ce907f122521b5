#include "receiver/receiver.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace rampart::receiver {
namespace {

/// A domain as DMARC compares it: one trailing dot dropped, A-label, lower case. A name that
/// does not convert is compared lower-cased as written.
std::string comparable(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    auto a_label = message::to_a_label(name);
    return a_label ? *a_label : ascii_lower(name);
}

std::string_view mode_name(dmarc::Alignment mode) noexcept {
    return mode == dmarc::Alignment::strict ? "strict" : "relaxed";
}

/// Decides whether identifiers align with the Author Domain in one mode (RFC 9989 §4.4), asking
/// for each Organizational Domain at most once.
class Aligner {
public:
    Aligner(std::string author, std::string author_org, const OrgDomainOf& org_domain_of)
        : author_(std::move(author)), org_domain_of_(org_domain_of) {
        if (!author_org.empty()) orgs_.emplace(author_, comparable(author_org));
    }

    /// True when `identifier` aligns; otherwise `why` says in plain words why not.
    bool aligned(std::string_view identifier, dmarc::Alignment mode, std::string& why) {
        if (same_domain(identifier, author_)) return true;
        if (mode == dmarc::Alignment::strict) {
            why = fmt::format("{} is not {} (strict alignment needs the same name)",
                              printable(identifier), author_);
            return false;
        }
        auto theirs = org_of(identifier);
        auto ours = org_of(author_);
        if (!theirs || !ours) {
            const auto& error = !theirs ? theirs.error() : ours.error();
            why = fmt::format("the organizational domain of {} is unknown: {}",
                              printable(!theirs ? identifier : std::string_view(author_)),
                              error.reason);
            if (error.code == Errc::transient) temperror_ = true;
            return false;
        }
        if (same_domain(*theirs, *ours)) return true;
        why = fmt::format(
            "{} belongs to {}, {} to {} (relaxed alignment needs the same "
            "organizational domain)",
            printable(identifier), printable(*theirs), author_, printable(*ours));
        return false;
    }

    /// An Organizational Domain look-up failed for DNS reasons.
    [[nodiscard]] bool temperror() const noexcept { return temperror_; }

private:
    Result<std::string> org_of(std::string_view name) {
        const auto key = comparable(name);
        if (auto found = orgs_.find(key); found != orgs_.end()) return found->second;
        auto org = org_domain_of_(key);
        if (org) *org = comparable(*org);
        return orgs_.emplace(key, std::move(org)).first->second;
    }

    std::string author_;
    const OrgDomainOf& org_domain_of_;
    std::map<std::string, Result<std::string>> orgs_;
    bool temperror_ = false;
};

/// RFC 9989 §5.3 step 1. A message naming several authors is refused rather than evaluated per
/// author (which the RFC allows): one message, one policy, and the refusal says why.
std::optional<std::string> author_problem(const message::FromDomains& from) {
    if (!from.problem.empty()) return from.problem;
    if (from.domains.size() != 1)
        return fmt::format("the From field names {} domains", from.domains.size());
    return std::nullopt;
}

DmarcEvaluation refused(const message::FromDomains& from, std::string problem) {
    DmarcEvaluation e;
    e.result = DmarcResult::permerror;
    if (from.domains.size() == 1) e.from_domain = from.domains.front();
    e.reason = fmt::format(
        "DMARC needs exactly one From domain and {}; Rampart does not "
        "evaluate several authors one by one (RFC 9989 §5.3 allows it)",
        printable(problem));
    return e;
}

void take_policy(DmarcEvaluation& e, const dmarc::Discovery& d) {
    e.policy = d.policy;
    e.policy_tag = d.tag;
    e.policy_domain = d.policy_domain;
    e.test_mode = d.test_mode;
    if (d.record) {
        e.adkim = d.record->dkim_alignment();
        e.aspf = d.record->spf_alignment();
    }
}

struct Notes {
    std::vector<std::string> aligned;
    std::vector<std::string> not_aligned;
};

/// RFC 9989 §5.3 step 3: SPF counts only as a pass, and only for the MAIL FROM identity (the
/// caller checked postmaster@HELO for a null reverse-path, which is that identity then).
void align_spf(DmarcEvaluation& e, const SpfIdentity& spf, Aligner& aligner, Notes& notes) {
    if (spf.domain.empty()) {
        notes.not_aligned.push_back("SPF was not evaluated");
        return;
    }
    const auto domain = printable(spf.domain);
    if (spf.result != spf::SpfResult::pass) {
        notes.not_aligned.push_back(
            fmt::format("SPF {} for {} (only a pass counts)", spf::to_string(spf.result), domain));
        return;
    }
    e.spf_domain = comparable(spf.domain);
    std::string why;
    if (aligner.aligned(spf.domain, e.aspf, why)) {
        e.spf_aligned = true;
        notes.aligned.push_back(fmt::format("SPF pass for {} ({})", domain, mode_name(e.aspf)));
    } else {
        notes.not_aligned.push_back(fmt::format("SPF passed for {}, but {}", domain, why));
    }
}

/// Every signature that verified is an Authenticated Identifier, a key in test mode (t=y)
/// included (see the header comment); failures never count.
void align_dkim(DmarcEvaluation& e, std::span<const dkim::SignatureResult> dkim, Aligner& aligner,
                Notes& notes) {
    if (dkim.empty()) notes.not_aligned.push_back("no DKIM signature");
    for (const auto& s : dkim) {
        const auto domain = printable(s.domain.empty() ? "(unknown)" : s.domain);
        if (s.result != dkim::Outcome::pass) {
            notes.not_aligned.push_back(fmt::format("DKIM {} for d={} (only a pass counts)",
                                                    dkim::to_string(s.result), domain));
            continue;
        }
        std::string why;
        if (aligner.aligned(s.domain, e.adkim, why)) {
            if (!e.dkim_aligned) e.aligned_dkim_domain = comparable(s.domain);
            e.dkim_aligned = true;
            notes.aligned.push_back(fmt::format("DKIM d={} ({})", domain, mode_name(e.adkim)));
        } else {
            notes.not_aligned.push_back(fmt::format("DKIM passed for d={}, but {}", domain, why));
        }
    }
}

std::string joined(const std::vector<std::string>& parts) {
    return fmt::format("{}", fmt::join(parts, "; "));
}

/// RFC 9989 §5.3 step 6 and §5.3.1: the policy acts only on a failure, one level lower with t=y.
void settle(DmarcEvaluation& e, const Notes& notes, bool temperror) {
    if (e.spf_aligned || e.dkim_aligned) {
        e.result = DmarcResult::pass;
        e.reason = fmt::format("aligned with the From domain {}: {}", e.from_domain,
                               joined(notes.aligned));
        return;
    }
    if (temperror) {
        e.result = DmarcResult::temperror;
        e.reason = fmt::format("alignment could not be decided for {}: {}", e.from_domain,
                               joined(notes.not_aligned));
        return;
    }
    e.result = DmarcResult::fail;
    const auto requested = e.policy.value_or(dmarc::Policy::none);
    e.disposition = e.test_mode ? dmarc::one_level_lower(requested) : requested;
    e.reason = fmt::format("nothing aligned with the From domain {}: {}", e.from_domain,
                           joined(notes.not_aligned));
}

}  // namespace

std::string_view to_string(DmarcResult result) noexcept {
    switch (result) {
        case DmarcResult::none: return "none";
        case DmarcResult::pass: return "pass";
        case DmarcResult::fail: return "fail";
        case DmarcResult::temperror: return "temperror";
        case DmarcResult::permerror: return "permerror";
    }
    return "none";
}

bool same_domain(std::string_view a, std::string_view b) { return comparable(a) == comparable(b); }

DmarcEvaluation evaluate_dmarc(const message::FromDomains& from, const SpfIdentity& spf,
                               std::span<const dkim::SignatureResult> dkim,
                               const Result<dmarc::Discovery>& discovery,
                               const OrgDomainOf& org_domain_of) {
    if (auto problem = author_problem(from)) return refused(from, *problem);
    DmarcEvaluation e;
    e.from_domain = from.domains.front();
    if (!discovery) {
        e.result = DmarcResult::permerror;
        e.reason = fmt::format("the From domain {} cannot be looked up: {}",
                               printable(e.from_domain), discovery.error().reason);
        return e;
    }
    take_policy(e, *discovery);
    if (discovery->temperror) {  // RFC 9989 §5.3 step 5
        e.result = DmarcResult::temperror;
        e.reason = discovery->explanation;
        return e;
    }
    if (!discovery->policy) {  // no record, or one that does not apply (§4.10.1)
        e.result = DmarcResult::none;
        e.reason = discovery->explanation;
        return e;
    }
    Aligner aligner(e.from_domain, discovery->organizational_domain, org_domain_of);
    Notes notes;
    align_spf(e, spf, aligner, notes);
    align_dkim(e, dkim, aligner, notes);
    settle(e, notes, aligner.temperror());
    return e;
}

}  // namespace rampart::receiver

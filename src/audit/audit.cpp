// audit_domain: the parts run concurrently; audit_all: many domains on a bounded pool.
#include "audit/audit.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "audit/parts.hpp"

namespace rampart::audit {

std::string_view to_string(Severity severity) noexcept {
    switch (severity) {
        case Severity::error: return "error";
        case Severity::warning: return "warning";
        case Severity::info: return "info";
    }
    return "info";
}

std::size_t DomainAudit::count(Severity severity) const noexcept {
    return static_cast<std::size_t>(
        std::ranges::count(findings, severity, &Finding::severity));
}

std::vector<std::string> common_selectors(std::optional<Timestamp> today) {
    std::vector<std::string> out{"google", "selector1", "selector2", "default", "s1",
                                 "s2",     "k1",        "dkim",      "mail"};
    if (!today) return out;
    const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(*today)};
    std::chrono::year_month month{date.year(), date.month()};
    for (int i = 0; i < 3; ++i, month -= std::chrono::months{1})
        out.push_back(fmt::format("s{:04}{:02}", static_cast<int>(month.year()),
                                  static_cast<unsigned>(month.month())));
    return out;
}

std::vector<std::string> selectors_to_try(const AuditOptions& options) {
    std::vector<std::string> candidates;
    if (!options.selectors.empty()) {
        candidates = options.selectors;
    } else {
        candidates = options.configured_selectors;
        std::ranges::copy(options.reported_selectors, std::back_inserter(candidates));
        std::ranges::copy(common_selectors(options.today), std::back_inserter(candidates));
    }
    std::vector<std::string> out;
    for (auto& s : candidates) {
        auto lower = ascii_lower(trim(s));
        if (!lower.empty() && std::ranges::find(out, lower) == out.end()) out.push_back(lower);
    }
    return out;
}

namespace {

/// Starts `work` on a thread of its own; when the system has no thread to give, runs it here
/// (the audit gets slower, not wrong).
std::jthread start(const std::function<void()>& work) {
    try {
        return std::jthread(work);
    } catch (const std::system_error&) {
        work();
        return {};
    }
}

/// Most severe first, and each finding once: a record included from two places (an SPF tree
/// that includes the same name twice) yields the same finding twice, which says nothing more.
void sort_findings(std::vector<Finding>& findings) {
    std::vector<Finding> unique;
    unique.reserve(findings.size());
    for (auto& f : findings) {
        const bool seen = std::ranges::any_of(unique, [&](const Finding& u) {
            return u.severity == f.severity && u.code == f.code && u.message == f.message;
        });
        if (!seen) unique.push_back(std::move(f));
    }
    findings = std::move(unique);
    std::ranges::stable_sort(findings, std::less<>{}, &Finding::severity);
}

void append(std::vector<Finding>& to, std::vector<Finding>&& from) {
    std::ranges::move(from, std::back_inserter(to));
}

DomainAudit invalid_domain(std::string_view domain, const Error& why) {
    DomainAudit out;
    out.domain = printable(domain);
    out.exists = false;
    out.findings.push_back(detail::make_finding(
        Severity::error, "domain-invalid",
        fmt::format("\"{}\" is not a domain name: {}", printable(domain), why.reason)));
    return out;
}

DomainAudit nonexistent_domain(std::string domain) {
    DomainAudit out;
    out.exists = false;
    out.findings.push_back(detail::make_finding(
        Severity::error, "domain-nxdomain",
        fmt::format("{} does not exist (NXDOMAIN): nothing can be audited", domain)));
    out.domain = std::move(domain);
    return out;
}

}  // namespace

DomainAudit audit_domain(dns::Resolver& resolver, std::string_view domain,
                         const AuditOptions& options) {
    auto name = dns::normalize_name(trim(domain));
    if (!name) return invalid_domain(domain, name.error());

    // SPF and DMARC each make a chain of dependent queries, so each gets a thread; the MX and
    // DKIM questions are independent of everything and go out together on this one.
    detail::SpfPart spf;
    detail::DmarcPart dmarc;
    auto spf_thread = start([&] { spf = detail::audit_spf(resolver, *name, options.spf_limits); });
    auto dmarc_thread = start([&] { dmarc = detail::audit_dmarc(resolver, *name); });

    auto asked = detail::dkim_questions(*name, selectors_to_try(options));
    std::vector<dns::Resolver::Question> questions{{*name, dns::RrType::mx}};
    for (const auto& n : asked.names) questions.push_back({n, dns::RrType::txt});
    auto answers = resolver.query_all(questions);
    if (spf_thread.joinable()) spf_thread.join();
    if (dmarc_thread.joinable()) dmarc_thread.join();

    // An MX NXDOMAIN means nothing exists at or below the name (RFC 8020), so every other
    // answer is a consequence of that one fact: say it once.
    if (answers.front().status == dns::Status::nxdomain) return nonexistent_domain(*name);

    DomainAudit out;
    out.domain = *name;
    auto mx = detail::mx_from_answer(*name, answers.front());
    answers.erase(answers.begin());
    auto dkim = detail::dkim_from_answers(asked, answers, !options.selectors.empty(), mx.null_mx,
                                          options.reported_selectors);

    out.spf = std::move(spf.tree);
    out.dmarc = std::move(dmarc.summary);
    out.dkim = std::move(dkim.keys);
    out.selectors_tried = std::move(asked.selectors);
    out.mx = std::move(mx.mx);
    append(out.findings, std::move(spf.findings));
    append(out.findings, std::move(dmarc.findings));
    append(out.findings, std::move(dkim.findings));
    append(out.findings, std::move(mx.findings));
    sort_findings(out.findings);
    return out;
}

AuditRun audit_all(dns::Resolver& resolver, std::span<const std::string> domains,
                   const AuditOptions& options, const Progress& progress, std::size_t workers) {
    AuditRun run;
    run.domains.resize(domains.size());
    std::atomic<std::size_t> next{0};
    std::mutex progress_mutex;
    std::size_t done = 0;

    auto work = [&] {
        for (auto i = next.fetch_add(1); i < domains.size(); i = next.fetch_add(1)) {
            run.domains[i] = audit_domain(resolver, domains[i], options);
            std::lock_guard lock(progress_mutex);
            ++done;
            if (progress) progress(done, domains.size());
        }
    };
    {
        std::vector<std::jthread> pool;
        const auto size = std::clamp<std::size_t>(workers, 1, std::max<std::size_t>(domains.size(), 1));
        for (std::size_t w = 0; w < size; ++w) pool.push_back(start(work));
    }  // the pool joins here
    for (const auto& d : run.domains) {
        run.errors += d.count(Severity::error);
        run.warnings += d.count(Severity::warning);
    }
    return run;
}

}  // namespace rampart::audit

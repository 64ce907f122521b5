// digest: a client's periodic summary — volume, DMARC pass rate, new senders and open actions
// over a period — as plain text (e-mail body, terminal) and as one self-contained HTML page with
// a small inline SVG chart of daily volume and pass rate (no scripts, no external resources, so
// it survives mail clients).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "senders/senders.hpp"

namespace rampart::digest {

struct DayPoint {
    std::chrono::sys_days day{};
    std::uint64_t messages = 0;
    std::uint64_t dmarc_pass = 0;
};

struct DomainDigest {
    senders::Analysis analysis;            // the period
    std::vector<DayPoint> days;            // every day of the period, zero-filled
    std::vector<std::string> new_senders;  // sender names first seen inside the period
    std::uint64_t previous_messages = 0;   // the period before, same length (trend)
    std::uint64_t previous_pass = 0;
};

struct Digest {
    std::string client;
    std::vector<std::string> contact;
    Timestamp since{}, until{};
    std::vector<DomainDigest> domains;
};

/// Open actions: every sender whose class is not passing, with its action, decision and due date.
[[nodiscard]] std::string render_text(const Digest& digest);
/// A complete HTML document (UTF-8), all text escaped.
[[nodiscard]] std::string render_html(const Digest& digest);

/// Builds the digest of `client` from the store: analyse_domain per domain over [since, until),
/// the daily series (UTC days from since's day up to, not including, until's day: pass
/// midnights), senders first seen on or after since's day, and the totals of the equally long
/// period before. `resolver` may be null (offline: cached identities only, no key audits).
/// Errors: Errc::not_found naming the configured clients when `client` is not one of them,
/// Errc::malformed when until < since, else the store's or the analysis's error.
[[nodiscard]] Result<Digest> build(store::Store& store, dns::Resolver* resolver,
                                   const config::Config& config, std::string_view client,
                                   Timestamp since, Timestamp until,
                                   std::function<Timestamp()> now);

}  // namespace rampart::digest

// dns/cache: a TTL cache in front of any Resolver, with single flight.
//
// Standards: RFC 1035 §7.4 and RFC 2181 §8 (answers are kept no longer than their TTL; TTL 0
// means "use once"), RFC 2308 §5 (negative answers, nodata and nxdomain, are cached for the
// negative TTL the upstream resolver worked out from the SOA).
// Trust: names are normalized (normalize_name) before they become keys, so "Example.COM." and
// "example.com" are one entry; a name that fails normalization is answered with Status::error
// and never reaches the upstream resolver. TTLs come from strangers' zones: they are capped at
// `max_ttl` so a zone cannot pin an answer for 68 years, and the entry count is bounded (the
// least recently used entry goes first) so a flood of distinct names cannot grow memory.
// Errors: servfail, timeout and error answers are passed on and never cached (the next question
// asks again); the cache itself adds no failure of its own.
// Threading: every member function may be called from any thread. Identical questions that
// arrive while one is being asked upstream wait for that one answer instead of asking again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/dns.hpp"

namespace rampart::dns {

class CachingResolver final : public Resolver {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    static constexpr std::size_t default_max_entries = 100'000;
    /// Unbound's cache-max-ttl default: a day.
    static constexpr std::uint32_t max_ttl = 86'400;

    /// `upstream` answers what the cache does not hold; `clock` is a monotonic clock (tests pass
    /// a manual one); at most `max_entries` answers are kept (at least 1).
    explicit CachingResolver(std::unique_ptr<Resolver> upstream,
                             Clock clock = &std::chrono::steady_clock::now,
                             std::size_t max_entries = default_max_entries);
    ~CachingResolver() override;
    CachingResolver(const CachingResolver&) = delete;
    CachingResolver& operator=(const CachingResolver&) = delete;

    /// A cached answer when one is still fresh (its `ttl` and its records' TTLs are what is left
    /// of them), else the upstream answer. Never throws for a bad name: Status::error.
    [[nodiscard]] Answer query(std::string_view name, RrType type) override;
    /// Hits come from the cache; every miss goes to one upstream query_all call, so they run
    /// concurrently when the upstream resolver can. Repeated questions in the batch are asked once.
    [[nodiscard]] std::vector<Answer> query_all(std::span<const Question> questions) override;

    struct Stats {
        std::uint64_t questions = 0;         // every question asked of this resolver
        std::uint64_t hits = 0;              // answered without an upstream query of their own:
                                             // from the cache, or by waiting for an identical
                                             // question already in flight
        std::uint64_t upstream_queries = 0;  // questions sent to the upstream resolver
    };
    [[nodiscard]] Stats stats() const;
    /// Answers held now (expired ones included until they are looked at or evicted).
    [[nodiscard]] std::size_t size() const;
    void clear();

private:
    using Key = std::string;
    struct Entry {
        Answer answer;
        std::chrono::steady_clock::time_point stored, expires;
        std::list<Key>::iterator recency;
    };
    /// One question being asked upstream; identical questions wait for `done`.
    struct InFlight {
        bool done = false;
        Answer answer;
    };

    [[nodiscard]] static Key key_of(std::string_view normal_name, RrType type);
    [[nodiscard]] bool lookup_locked(const Key& key, Answer& out);
    void store_locked(const Key& key, const Answer& answer);
    void finish_locked(const Key& key, const Answer& answer);

    std::unique_ptr<Resolver> upstream_;
    Clock clock_;
    std::size_t max_entries_;

    mutable std::mutex mutex_;
    std::condition_variable landed_;  // an in-flight question got its answer
    std::list<Key> recency_;          // most recently used first
    std::unordered_map<Key, Entry> entries_;
    std::unordered_map<Key, std::shared_ptr<InFlight>> in_flight_;
    Stats stats_;
};

}  // namespace rampart::dns

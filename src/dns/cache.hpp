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
// A large cache (max_entries of 16384 or more) is split into 16 shards, each with its own lock
// and its own share of max_entries, so threads do not serialise on one mutex; least recently
// used then means least recently used within the entry's shard. Smaller caches keep one shard
// and an exact LRU order.
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
    /// `query` without the copy: the answer as stored and shared, its TTLs (and its records')
    /// as they were when it arrived, not counted down. For callers that read the status and
    /// records but not the TTLs (SPF evaluation), a hit then costs no allocation. Counts in
    /// `stats` like `query`.
    [[nodiscard]] std::shared_ptr<const Answer> query_shared(std::string_view name, RrType type);

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
    /// Two octets of type, then the normalized name: built in place without allocating, and
    /// looked up as a string_view (transparent hash and equality).
    using Key = std::string;
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const noexcept {
            return std::hash<std::string_view>{}(key);
        }
    };
    struct KeyEqual {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    };
    struct Entry {
        std::shared_ptr<const Answer> answer;  // TTL already capped at max_ttl
        std::chrono::steady_clock::time_point stored, expires;
        std::list<Key>::iterator recency;
    };
    /// One question being asked upstream; identical questions wait for `done`.
    struct InFlight {
        bool done = false;
        std::shared_ptr<const Answer> answer;
    };
    /// A slice of the cache with its own lock, so that threads asking about different names
    /// do not queue behind one mutex. Keys go to a shard by hash; LRU order is per shard.
    struct Shard {
        std::mutex mutex;
        std::condition_variable landed;  // an in-flight question of this shard got its answer
        std::list<Key> recency;          // most recently used first
        std::unordered_map<Key, Entry, KeyHash, KeyEqual> entries;
        std::unordered_map<Key, std::shared_ptr<InFlight>, KeyHash, KeyEqual> in_flight;
        std::size_t max_entries = 1;
        Stats stats;
    };
    /// What one question came to: a cached answer (aged on the way out by `query`), or one
    /// fresh from upstream or from someone else's identical question (handed on as it came).
    struct Found {
        std::shared_ptr<const Answer> answer;
        std::chrono::steady_clock::time_point stored;
        bool cached = false;
    };
    class KeyBuffer;

    [[nodiscard]] Shard& shard_of(std::string_view key) noexcept;
    [[nodiscard]] bool lookup_locked(Shard& shard, std::string_view key, Found& out);
    void store_locked(Shard& shard, std::string_view key,
                      const std::shared_ptr<const Answer>& answer);
    void finish_locked(Shard& shard, std::string_view key,
                       const std::shared_ptr<const Answer>& answer);
    [[nodiscard]] Found find_one(std::string_view name, RrType type);
    [[nodiscard]] std::vector<Found> find_all(std::span<const Question> questions);

    std::unique_ptr<Resolver> upstream_;
    Clock clock_;
    std::size_t max_entries_;
    std::size_t shard_count_;
    std::unique_ptr<Shard[]> shards_;
};

}  // namespace rampart::dns

// dns/cache.hpp: answers are kept for their TTL (RFC 1035 §7.4, RFC 2181 §8), negative answers for
// their negative TTL (RFC 2308 §5), failures never; identical questions in flight are asked once;
// query_all sends every miss upstream in one call; the entry count is bounded (least recently
// used goes first). Time is a manual clock: no test sleeps to let a TTL run out.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "dns/cache.hpp"
#include "dns/zone.hpp"

namespace {

using namespace rampart::dns;
using namespace std::chrono_literals;

/// A monotonic clock the test moves.
struct ManualClock {
    std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
    CachingResolver::Clock function() {
        return [this] { return now; };
    }
};

/// Answers from a Zone, counting calls; query_all calls are counted apart from query calls.
/// Thread-safe like every Resolver: the cache calls it from many threads at once.
class CountingUpstream final : public Resolver {
public:
    explicit CountingUpstream(const Zone& zone) : zone_(zone) {}
    Answer query(std::string_view name, RrType type) override {
        ++queries;
        return zone_.answer(name, type);
    }
    std::vector<Answer> query_all(std::span<const Question> questions) override {
        ++batches;
        {
            std::lock_guard lock(batch_sizes_mutex);
            batch_sizes.push_back(questions.size());
        }
        return Resolver::query_all(questions);
    }
    std::atomic<int> queries{0};
    std::atomic<int> batches{0};
    std::mutex batch_sizes_mutex;
    std::vector<std::size_t> batch_sizes;  // read by tests after the threads have joined

private:
    const Zone& zone_;
};

/// Holds every query until released, so that other threads can pile up behind it.
class GatedUpstream final : public Resolver {
public:
    explicit GatedUpstream(const Zone& zone) : zone_(zone) {}
    Answer query(std::string_view name, RrType type) override {
        ++queries;
        std::unique_lock lock(mutex_);
        entered_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
        return zone_.answer(name, type);
    }
    void wait_until_entered() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return entered_; });
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    std::atomic<int> queries{0};

private:
    const Zone& zone_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool entered_ = false, open_ = false;
};

Zone test_zone() {
    Zone z;
    z.negative_ttl(30)
        .add_a("a.example", "192.0.2.1", 60)
        .add_txt("t.example", "hello", 0)
        .fail("down.example", Status::timeout)
        .fail("broken.example", Status::servfail);
    return z;
}

struct Fixture {
    Zone zone = test_zone();
    ManualClock clock;
    CountingUpstream* upstream = nullptr;
    std::unique_ptr<CachingResolver> cache;
    explicit Fixture(std::size_t max_entries = CachingResolver::default_max_entries) {
        auto up = std::make_unique<CountingUpstream>(zone);
        upstream = up.get();
        cache = std::make_unique<CachingResolver>(std::move(up), clock.function(), max_entries);
    }
};

TEST(CachingResolver, KeepsAnAnswerForItsTtlAndCountsItDown) {
    Fixture f;
    auto first = f.cache->query("a.example", RrType::a);
    EXPECT_EQ(first.status, Status::ok);
    EXPECT_EQ(first.ttl, 60u);
    f.clock.now += 20s;
    auto second = f.cache->query("A.EXAMPLE.", RrType::a);  // same key after normalization
    EXPECT_EQ(second.status, Status::ok);
    EXPECT_EQ(second.ttl, 40u);
    ASSERT_EQ(second.records.size(), 1u);
    EXPECT_EQ(second.records[0].ttl, 40u);
    EXPECT_EQ(f.upstream->queries, 1);
    f.clock.now += 40s;  // exactly expired
    auto third = f.cache->query("a.example", RrType::a);
    EXPECT_EQ(third.ttl, 60u);
    EXPECT_EQ(f.upstream->queries, 2);
    const auto stats = f.cache->stats();
    EXPECT_EQ(stats.questions, 3u);
    EXPECT_EQ(stats.hits, 1u);
    EXPECT_EQ(stats.upstream_queries, 2u);
}

TEST(CachingResolver, TypesAreSeparateEntries) {
    Fixture f;
    EXPECT_EQ(f.cache->query("a.example", RrType::a).status, Status::ok);
    EXPECT_EQ(f.cache->query("a.example", RrType::txt).status, Status::nodata);
    EXPECT_EQ(f.upstream->queries, 2);
}

TEST(CachingResolver, CachesNxdomainAndNodataForTheNegativeTtl) {
    Fixture f;
    EXPECT_EQ(f.cache->query("nope.example", RrType::a).status, Status::nxdomain);
    EXPECT_EQ(f.cache->query("a.example", RrType::mx).status, Status::nodata);
    f.clock.now += 29s;
    const auto nx = f.cache->query("nope.example", RrType::a);
    EXPECT_EQ(nx.status, Status::nxdomain);
    EXPECT_EQ(nx.rcode, 3);
    EXPECT_EQ(nx.ttl, 1u);
    EXPECT_EQ(f.cache->query("a.example", RrType::mx).status, Status::nodata);
    EXPECT_EQ(f.upstream->queries, 2);
    f.clock.now += 1s;
    EXPECT_EQ(f.cache->query("nope.example", RrType::a).status, Status::nxdomain);
    EXPECT_EQ(f.upstream->queries, 3);
}

TEST(CachingResolver, NeverCachesFailuresOrTtlZero) {
    Fixture f;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(f.cache->query("down.example", RrType::a).status, Status::timeout);
        EXPECT_EQ(f.cache->query("broken.example", RrType::a).status, Status::servfail);
        EXPECT_EQ(f.cache->query("t.example", RrType::txt).status, Status::ok);
    }
    EXPECT_EQ(f.upstream->queries, 9);
    EXPECT_EQ(f.cache->size(), 0u);
}

TEST(CachingResolver, BadNamesAreErrorsWithoutAnUpstreamQuery) {
    Fixture f;
    const auto answer = f.cache->query(std::string(64, 'x') + ".example", RrType::a);
    EXPECT_EQ(answer.status, Status::error);
    EXPECT_NE(answer.detail.find("63"), std::string::npos);
    EXPECT_EQ(f.upstream->queries, 0);
    EXPECT_EQ(f.cache->stats().questions, 1u);
}

TEST(CachingResolver, CapsTtlsAtADay) {
    Zone zone;
    zone.add_a("long.example", "192.0.2.1", 7 * 86400);
    ManualClock clock;
    auto up = std::make_unique<CountingUpstream>(zone);
    auto* counting = up.get();
    CachingResolver cache(std::move(up), clock.function());
    (void)cache.query("long.example", RrType::a);
    clock.now += std::chrono::seconds(CachingResolver::max_ttl);
    (void)cache.query("long.example", RrType::a);
    EXPECT_EQ(counting->queries, 2);
}

TEST(CachingResolver, QueryAllServesHitsAndSendsAllMissesInOneUpstreamCall) {
    Fixture f;
    (void)f.cache->query("a.example", RrType::a);
    ASSERT_EQ(f.upstream->batches, 1);
    const std::vector<Resolver::Question> questions{
        {"a.example", RrType::a},          // hit
        {"nope.example", RrType::a},       // miss
        {"a.example", RrType::mx},         // miss
        {"Nope.Example", RrType::a},       // the same miss again: asked once
        {"bad..example", RrType::a},       // refused before the cache
        {"down.example", RrType::txt},     // miss, failure
    };
    const auto answers = f.cache->query_all(questions);
    ASSERT_EQ(answers.size(), questions.size());
    EXPECT_EQ(answers[0].status, Status::ok);
    EXPECT_EQ(answers[1].status, Status::nxdomain);
    EXPECT_EQ(answers[2].status, Status::nodata);
    EXPECT_EQ(answers[3].status, Status::nxdomain);
    EXPECT_EQ(answers[4].status, Status::error);
    EXPECT_EQ(answers[5].status, Status::timeout);
    EXPECT_EQ(f.upstream->batches, 2);
    EXPECT_EQ(f.upstream->batch_sizes.back(), 3u);
    const auto stats = f.cache->stats();
    EXPECT_EQ(stats.questions, 7u);
    EXPECT_EQ(stats.hits, 2u);
    EXPECT_EQ(stats.upstream_queries, 4u);

    // Second round: everything cacheable is a hit, no upstream call for it.
    const std::vector<Resolver::Question> again{{"nope.example", RrType::a},
                                                {"a.example", RrType::mx}};
    (void)f.cache->query_all(again);
    EXPECT_EQ(f.upstream->batches, 2);
}

TEST(CachingResolver, EvictsTheLeastRecentlyUsedEntry) {
    Fixture f(2);
    Zone& zone = f.zone;
    zone.add_a("b.example", "192.0.2.2").add_a("c.example", "192.0.2.3");
    (void)f.cache->query("a.example", RrType::a);
    (void)f.cache->query("b.example", RrType::a);
    (void)f.cache->query("a.example", RrType::a);  // a is now more recent than b
    (void)f.cache->query("c.example", RrType::a);  // evicts b
    EXPECT_EQ(f.cache->size(), 2u);
    EXPECT_EQ(f.upstream->queries, 3);
    (void)f.cache->query("a.example", RrType::a);
    EXPECT_EQ(f.upstream->queries, 3);
    (void)f.cache->query("b.example", RrType::a);
    EXPECT_EQ(f.upstream->queries, 4);
}

TEST(CachingResolver, ConcurrentIdenticalQuestionsMakeOneUpstreamQuery) {
    const Zone zone = test_zone();
    auto up = std::make_unique<GatedUpstream>(zone);
    auto* gate = up.get();
    CachingResolver cache(std::move(up));
    constexpr int threads = 8;
    std::vector<Answer> answers(threads);
    std::vector<std::thread> workers;
    workers.emplace_back([&] { answers[0] = cache.query("a.example", RrType::a); });
    gate->wait_until_entered();
    for (int i = 1; i < threads; ++i)
        workers.emplace_back([&, i] { answers[static_cast<std::size_t>(i)] = cache.query("a.example", RrType::a); });
    // Every other thread must have registered its question before the first one is answered.
    while (cache.stats().questions < threads) std::this_thread::yield();
    gate->open();
    for (auto& w : workers) w.join();
    EXPECT_EQ(gate->queries, 1);
    for (const auto& a : answers) {
        EXPECT_EQ(a.status, Status::ok);
        ASSERT_EQ(a.addresses().size(), 1u);
        EXPECT_EQ(a.addresses()[0].to_string(), "192.0.2.1");
    }
    const auto stats = cache.stats();
    EXPECT_EQ(stats.upstream_queries, 1u);
    EXPECT_EQ(stats.hits, static_cast<std::uint64_t>(threads - 1));
}

TEST(CachingResolver, SingleFlightAppliesToUncacheableAnswersToo) {
    Zone zone = test_zone();
    auto up = std::make_unique<GatedUpstream>(zone);
    auto* gate = up.get();
    CachingResolver cache(std::move(up));
    Answer first, second;
    std::thread a([&] { first = cache.query("down.example", RrType::a); });
    gate->wait_until_entered();
    std::thread b([&] { second = cache.query("down.example", RrType::a); });
    while (cache.stats().questions < 2) std::this_thread::yield();
    gate->open();
    a.join();
    b.join();
    EXPECT_EQ(first.status, Status::timeout);
    EXPECT_EQ(second.status, Status::timeout);
    EXPECT_EQ(gate->queries, 1);
    // Not cached: the next question is asked again.
    EXPECT_EQ(cache.query("down.example", RrType::a).status, Status::timeout);
    EXPECT_EQ(gate->queries, 2);
}

}  // namespace

// A cache of the default size is split into shards with their own locks: many threads asking
// about many names at once still get the right answers, each name is asked upstream once, and
// the counters add up.
TEST(CachingResolver, ShardedCacheIsCorrectUnderThreads) {
    Zone zone;
    constexpr int names = 200;
    for (int n = 0; n < names; ++n)
        zone.add_a("h" + std::to_string(n) + ".example",
                   "192.0.2." + std::to_string(n % 250 + 1), 3600);
    auto up = std::make_unique<CountingUpstream>(zone);
    auto* counting = up.get();
    ManualClock clock;
    CachingResolver cache(std::move(up), clock.function());
    constexpr int threads = 8, rounds = 5;
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                for (int i = 0; i < names; ++i) {
                    const int n = (i * 7 + t * 13 + r) % names;
                    const auto name = "H" + std::to_string(n) + ".example.";
                    const auto expected = "192.0.2." + std::to_string(n % 250 + 1);
                    const auto answer = (i % 2 == 0) ? cache.query(name, RrType::a)
                                                     : *cache.query_shared(name, RrType::a);
                    if (answer.status != Status::ok || answer.addresses().size() != 1 ||
                        answer.addresses()[0].to_string() != expected)
                        ++wrong;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(counting->queries, names);
    EXPECT_EQ(cache.size(), static_cast<std::size_t>(names));
    const auto stats = cache.stats();
    EXPECT_EQ(stats.questions, static_cast<std::uint64_t>(threads * rounds * names));
    EXPECT_EQ(stats.upstream_queries, static_cast<std::uint64_t>(names));
    EXPECT_EQ(stats.hits, stats.questions - stats.upstream_queries);
}

TEST(CachingResolver, QuerySharedHandsOutTheStoredAnswer) {
    Fixture f;
    const auto first = f.cache->query_shared("a.example", RrType::a);
    f.clock.now += 20s;
    const auto second = f.cache->query_shared("A.Example.", RrType::a);
    EXPECT_EQ(first.get(), second.get());  // one object, no copy
    EXPECT_EQ(second->ttl, 60u);           // as stored: not counted down
    EXPECT_EQ(f.upstream->queries, 1);
    // The copying query() still counts the TTL down from the same entry.
    EXPECT_EQ(f.cache->query("a.example", RrType::a).ttl, 40u);
    const auto bad = f.cache->query_shared("a..example", RrType::a);
    EXPECT_EQ(bad->status, Status::error);
    EXPECT_FALSE(bad->detail.empty());
    EXPECT_EQ(f.upstream->queries, 1);
    EXPECT_EQ(f.cache->stats().questions, 4u);
}

// A large cache is bounded in total although each shard evicts on its own.
TEST(CachingResolver, ShardedCacheStaysWithinItsBound) {
    Zone zone;
    zone.negative_ttl(3600);
    auto up = std::make_unique<CountingUpstream>(zone);
    ManualClock clock;
    constexpr std::size_t bound = 16'384;
    CachingResolver cache(std::move(up), clock.function(), bound);
    for (std::size_t n = 0; n < bound * 2; ++n)
        (void)cache.query_shared("n" + std::to_string(n) + ".example", RrType::a);
    EXPECT_LE(cache.size(), bound);
    EXPECT_GT(cache.size(), bound / 2);
}

#include "dns/cache.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace rampart::dns {
namespace {

/// Caches this large are split so that threads rarely meet on one lock; smaller ones keep one
/// shard so their LRU order is exact.
constexpr std::size_t shard_count_large = 16;
constexpr std::size_t min_entries_to_shard = 16'384;

bool cacheable(const Answer& answer) {
    return (answer.ok() || answer.empty()) && answer.ttl > 0;
}

std::shared_ptr<const Answer> bad_name(std::string_view name) {
    // normalize_name says what is wrong; the fast key builder only says that something is.
    auto normal = normalize_name(name);
    auto out = std::make_shared<Answer>();
    out->status = Status::error;
    out->detail = normal ? std::string("the domain name is not valid") : normal.error().reason;
    return out;
}

/// The answer as it looks `elapsed` seconds after it was stored: every TTL counts down.
Answer aged(const Answer& stored, std::uint32_t elapsed) {
    Answer out = stored;
    out.ttl = stored.ttl > elapsed ? stored.ttl - elapsed : 0;
    for (auto& record : out.records) record.ttl = record.ttl > elapsed ? record.ttl - elapsed : 0;
    return out;
}

}  // namespace

/// The key of a question, built on the stack: the type's two octets, then the name as
/// normalize_name would return it (lower case, no trailing dot). Accepts exactly the names
/// normalize_name accepts, so a name is refused here if and only if it is refused there.
class CachingResolver::KeyBuffer {
public:
    bool build(std::string_view name, RrType type) noexcept {
        if (!name.empty() && name.back() == '.') name.remove_suffix(1);
        if (name.empty() || name.size() > 253) return false;
        const auto t = static_cast<std::uint16_t>(type);
        buffer_[0] = static_cast<char>(t >> 8);
        buffer_[1] = static_cast<char>(t & 0xff);
        std::size_t label = 0;
        for (std::size_t i = 0; i < name.size(); ++i) {
            const auto c = static_cast<unsigned char>(name[i]);
            if (c == '.') {
                if (label == 0) return false;
                label = 0;
            } else if (c >= 0x80 || c <= 0x20 || c == 0x7f || ++label > 63) {
                return false;
            }
            buffer_[i + 2] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        if (label == 0) return false;
        size_ = name.size() + 2;
        return true;
    }
    [[nodiscard]] std::string_view key() const noexcept { return {buffer_.data(), size_}; }
    [[nodiscard]] std::string_view name() const noexcept { return key().substr(2); }

private:
    std::array<char, 2 + 253> buffer_;
    std::size_t size_ = 0;
};

CachingResolver::CachingResolver(std::unique_ptr<Resolver> upstream, Clock clock,
                                 std::size_t max_entries)
    : upstream_(std::move(upstream)),
      clock_(std::move(clock)),
      max_entries_(std::max<std::size_t>(max_entries, 1)),
      shard_count_(max_entries_ >= min_entries_to_shard ? shard_count_large : 1),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
    RAMPART_ASSERT(upstream_ != nullptr);
    RAMPART_ASSERT(static_cast<bool>(clock_));
    // Each shard's share, rounded down: together they never hold more than max_entries.
    for (std::size_t i = 0; i < shard_count_; ++i)
        shards_[i].max_entries = std::max<std::size_t>(max_entries_ / shard_count_, 1);
}

CachingResolver::~CachingResolver() = default;

CachingResolver::Shard& CachingResolver::shard_of(std::string_view key) noexcept {
    if (shard_count_ == 1) return shards_[0];
    // The high bits: the shard's own hash table buckets by the low ones.
    return shards_[(KeyHash{}(key) >> 24) % shard_count_];
}

bool CachingResolver::lookup_locked(Shard& shard, std::string_view key, Found& out) {
    const auto it = shard.entries.find(key);
    if (it == shard.entries.end()) return false;
    const auto now = clock_();
    if (now >= it->second.expires) {
        shard.recency.erase(it->second.recency);
        shard.entries.erase(it);
        return false;
    }
    shard.recency.splice(shard.recency.begin(), shard.recency, it->second.recency);
    out.answer = it->second.answer;
    out.stored = it->second.stored;
    out.cached = true;
    return true;
}

void CachingResolver::store_locked(Shard& shard, std::string_view key,
                                   const std::shared_ptr<const Answer>& answer) {
    if (!cacheable(*answer)) return;
    const auto now = clock_();
    std::shared_ptr<const Answer> kept = answer;
    if (answer->ttl > max_ttl) {
        auto capped = std::make_shared<Answer>(*answer);
        capped->ttl = max_ttl;
        kept = std::move(capped);
    }
    const auto expires = now + std::chrono::seconds(kept->ttl);
    if (auto it = shard.entries.find(key); it != shard.entries.end()) {
        it->second.answer = std::move(kept);
        it->second.stored = now;
        it->second.expires = expires;
        shard.recency.splice(shard.recency.begin(), shard.recency, it->second.recency);
        return;
    }
    while (shard.entries.size() >= shard.max_entries) {
        shard.entries.erase(shard.recency.back());
        shard.recency.pop_back();
    }
    shard.recency.emplace_front(key);
    shard.entries.emplace(shard.recency.front(),
                          Entry{std::move(kept), now, expires, shard.recency.begin()});
}

void CachingResolver::finish_locked(Shard& shard, std::string_view key,
                                    const std::shared_ptr<const Answer>& answer) {
    store_locked(shard, key, answer);
    if (auto it = shard.in_flight.find(key); it != shard.in_flight.end()) {
        it->second->answer = answer;
        it->second->done = true;
        shard.in_flight.erase(it);
    }
}

CachingResolver::Found CachingResolver::find_one(std::string_view name, RrType type) {
    KeyBuffer key;
    if (!key.build(name, type)) {
        // Counted like any question, under the lock of the shard a valid name would not use.
        {
            std::lock_guard lock(shards_[0].mutex);
            ++shards_[0].stats.questions;
        }
        return {bad_name(name), {}, false};
    }
    auto& shard = shard_of(key.key());
    Found found;
    std::unique_lock lock(shard.mutex);
    ++shard.stats.questions;
    if (lookup_locked(shard, key.key(), found)) {
        ++shard.stats.hits;
        return found;
    }
    if (auto theirs = shard.in_flight.find(key.key()); theirs != shard.in_flight.end()) {
        ++shard.stats.hits;
        const auto flight = theirs->second;
        shard.landed.wait(lock, [&] { return flight->done; });
        return {flight->answer, {}, false};
    }
    ++shard.stats.upstream_queries;
    shard.in_flight.emplace(Key(key.key()), std::make_shared<InFlight>());
    lock.unlock();
    std::shared_ptr<const Answer> fresh;
    try {
        // Through query_all, as a batch of one: an upstream may treat batches its own way.
        const Question question{std::string(key.name()), type};
        auto answers = upstream_->query_all(std::span(&question, 1));
        RAMPART_ASSERT(answers.size() == 1);
        fresh = std::make_shared<const Answer>(std::move(answers.front()));
    } catch (...) {
        // Only std::bad_alloc can get here; nobody may wait forever for this question.
        auto lost = std::make_shared<Answer>();
        lost->detail = "the upstream resolver failed";
        lock.lock();
        finish_locked(shard, key.key(), lost);
        shard.landed.notify_all();
        throw;
    }
    lock.lock();
    finish_locked(shard, key.key(), fresh);
    shard.landed.notify_all();
    return {std::move(fresh), {}, false};
}

std::vector<CachingResolver::Found> CachingResolver::find_all(
    std::span<const Question> questions) {
    std::vector<Found> out(questions.size());
    // What becomes of each question that is not answered at once.
    std::vector<Question> misses;        // asked upstream by this call, in order
    std::vector<Key> miss_keys;          // their keys
    std::vector<std::size_t> miss_of(questions.size(), SIZE_MAX);  // index into misses
    std::vector<std::pair<Shard*, std::shared_ptr<InFlight>>> waits(questions.size());
    std::unordered_map<Key, std::size_t, KeyHash, KeyEqual> asked_here;  // key → misses index

    KeyBuffer key;
    for (std::size_t i = 0; i < questions.size(); ++i) {
        if (!key.build(questions[i].name, questions[i].type)) {
            {
                std::lock_guard lock(shards_[0].mutex);
                ++shards_[0].stats.questions;
            }
            out[i].answer = bad_name(questions[i].name);
            continue;
        }
        auto& shard = shard_of(key.key());
        std::lock_guard lock(shard.mutex);
        ++shard.stats.questions;
        if (lookup_locked(shard, key.key(), out[i])) {
            ++shard.stats.hits;
        } else if (auto mine = asked_here.find(key.key()); mine != asked_here.end()) {
            ++shard.stats.hits;
            miss_of[i] = mine->second;
        } else if (auto theirs = shard.in_flight.find(key.key()); theirs != shard.in_flight.end()) {
            ++shard.stats.hits;
            waits[i] = {&shard, theirs->second};
        } else {
            ++shard.stats.upstream_queries;
            shard.in_flight.emplace(Key(key.key()), std::make_shared<InFlight>());
            asked_here.emplace(Key(key.key()), misses.size());
            miss_of[i] = misses.size();
            misses.push_back(Question{std::string(key.name()), questions[i].type});
            miss_keys.emplace_back(key.key());
        }
    }

    if (!misses.empty()) {
        std::vector<Answer> fresh;
        try {
            fresh = upstream_->query_all(misses);
        } catch (...) {
            // Only std::bad_alloc can get here; nobody may wait forever for these questions.
            auto lost = std::make_shared<Answer>();
            lost->detail = "the upstream resolver failed";
            for (const auto& k : miss_keys) {
                auto& shard = shard_of(k);
                std::lock_guard lock(shard.mutex);
                finish_locked(shard, k, lost);
                shard.landed.notify_all();
            }
            throw;
        }
        RAMPART_ASSERT(fresh.size() == misses.size());
        std::vector<std::shared_ptr<const Answer>> shared(misses.size());
        for (std::size_t m = 0; m < misses.size(); ++m) {
            shared[m] = std::make_shared<const Answer>(std::move(fresh[m]));
            auto& shard = shard_of(miss_keys[m]);
            std::lock_guard lock(shard.mutex);
            finish_locked(shard, miss_keys[m], shared[m]);
            shard.landed.notify_all();
        }
        for (std::size_t i = 0; i < questions.size(); ++i)
            if (miss_of[i] != SIZE_MAX) out[i].answer = shared[miss_of[i]];
    }

    // Our own questions are answered before we wait for anyone else's, so two batches waiting
    // for each other's questions cannot deadlock.
    for (std::size_t i = 0; i < questions.size(); ++i) {
        auto& [shard, flight] = waits[i];
        if (!flight) continue;
        std::unique_lock lock(shard->mutex);
        shard->landed.wait(lock, [&] { return flight->done; });
        out[i].answer = flight->answer;
    }
    return out;
}

Answer CachingResolver::query(std::string_view name, RrType type) {
    auto found = find_one(name, type);
    if (!found.cached) return *found.answer;
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(clock_() - found.stored).count();
    return aged(*found.answer, static_cast<std::uint32_t>(std::max<std::int64_t>(elapsed, 0)));
}

std::shared_ptr<const Answer> CachingResolver::query_shared(std::string_view name, RrType type) {
    return find_one(name, type).answer;
}

std::vector<Answer> CachingResolver::query_all(std::span<const Question> questions) {
    auto found = find_all(questions);
    std::vector<Answer> out;
    out.reserve(found.size());
    const auto now = clock_();
    for (auto& f : found) {
        if (!f.cached) {
            out.push_back(*f.answer);
            continue;
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::seconds>(now - f.stored).count();
        out.push_back(
            aged(*f.answer, static_cast<std::uint32_t>(std::max<std::int64_t>(elapsed, 0))));
    }
    return out;
}

CachingResolver::Stats CachingResolver::stats() const {
    Stats total;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total.questions += shards_[i].stats.questions;
        total.hits += shards_[i].stats.hits;
        total.upstream_queries += shards_[i].stats.upstream_queries;
    }
    return total;
}

std::size_t CachingResolver::size() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].entries.size();
    }
    return total;
}

void CachingResolver::clear() {
    for (std::size_t i = 0; i < shard_count_; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        shards_[i].entries.clear();
        shards_[i].recency.clear();
    }
}

}  // namespace rampart::dns

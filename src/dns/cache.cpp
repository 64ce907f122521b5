#include "dns/cache.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace rampart::dns {
namespace {

bool cacheable(const Answer& answer) {
    return (answer.ok() || answer.empty()) && answer.ttl > 0;
}

Answer bad_name(const Error& error) {
    Answer out;
    out.status = Status::error;
    out.detail = error.reason;
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

CachingResolver::CachingResolver(std::unique_ptr<Resolver> upstream, Clock clock,
                                 std::size_t max_entries)
    : upstream_(std::move(upstream)),
      clock_(std::move(clock)),
      max_entries_(std::max<std::size_t>(max_entries, 1)) {
    RAMPART_ASSERT(upstream_ != nullptr);
    RAMPART_ASSERT(static_cast<bool>(clock_));
}

CachingResolver::~CachingResolver() = default;

CachingResolver::Key CachingResolver::key_of(std::string_view normal_name, RrType type) {
    // The type goes first: names may hold any printable octet, the number never holds a '/'.
    return fmt::format("{}/{}", static_cast<std::uint16_t>(type), normal_name);
}

bool CachingResolver::lookup_locked(const Key& key, Answer& out) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    const auto now = clock_();
    if (now >= it->second.expires) {
        recency_.erase(it->second.recency);
        entries_.erase(it);
        return false;
    }
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(now - it->second.stored).count();
    out = aged(it->second.answer, static_cast<std::uint32_t>(std::max<std::int64_t>(elapsed, 0)));
    return true;
}

void CachingResolver::store_locked(const Key& key, const Answer& answer) {
    if (!cacheable(answer)) return;
    const auto now = clock_();
    Answer kept = answer;
    kept.ttl = std::min(kept.ttl, max_ttl);
    const auto expires = now + std::chrono::seconds(kept.ttl);
    if (auto it = entries_.find(key); it != entries_.end()) {
        it->second.answer = std::move(kept);
        it->second.stored = now;
        it->second.expires = expires;
        recency_.splice(recency_.begin(), recency_, it->second.recency);
        return;
    }
    while (entries_.size() >= max_entries_) {
        entries_.erase(recency_.back());
        recency_.pop_back();
    }
    recency_.push_front(key);
    entries_.emplace(key, Entry{std::move(kept), now, expires, recency_.begin()});
}

void CachingResolver::finish_locked(const Key& key, const Answer& answer) {
    store_locked(key, answer);
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
        it->second->answer = answer;
        it->second->done = true;
        in_flight_.erase(it);
    }
}

Answer CachingResolver::query(std::string_view name, RrType type) {
    const Question question{std::string(name), type};
    auto answers = query_all(std::span(&question, 1));
    return std::move(answers.front());
}

std::vector<Answer> CachingResolver::query_all(std::span<const Question> questions) {
    std::vector<Answer> out(questions.size());
    // What becomes of each question that is not answered at once.
    std::vector<Question> misses;        // asked upstream by this call, in order
    std::vector<Key> miss_keys;          // their keys
    std::vector<std::size_t> miss_of(questions.size(), SIZE_MAX);  // index into misses
    std::vector<std::shared_ptr<InFlight>> waits(questions.size());  // someone else asks

    std::unique_lock lock(mutex_);
    std::unordered_map<Key, std::size_t> asked_here;  // key → index into misses
    for (std::size_t i = 0; i < questions.size(); ++i) {
        ++stats_.questions;
        auto normal = normalize_name(questions[i].name);
        if (!normal) {
            out[i] = bad_name(normal.error());
            continue;
        }
        auto key = key_of(*normal, questions[i].type);
        if (lookup_locked(key, out[i])) {
            ++stats_.hits;
        } else if (auto mine = asked_here.find(key); mine != asked_here.end()) {
            ++stats_.hits;
            miss_of[i] = mine->second;
        } else if (auto theirs = in_flight_.find(key); theirs != in_flight_.end()) {
            ++stats_.hits;
            waits[i] = theirs->second;
        } else {
            ++stats_.upstream_queries;
            in_flight_.emplace(key, std::make_shared<InFlight>());
            asked_here.emplace(key, misses.size());
            miss_of[i] = misses.size();
            misses.push_back(Question{std::move(*normal), questions[i].type});
            miss_keys.push_back(std::move(key));
        }
    }

    if (!misses.empty()) {
        lock.unlock();
        std::vector<Answer> fresh;
        try {
            fresh = upstream_->query_all(misses);
        } catch (...) {
            // Only std::bad_alloc can get here; nobody may wait forever for these questions.
            lock.lock();
            Answer lost;
            lost.detail = "the upstream resolver failed";
            for (const auto& key : miss_keys) finish_locked(key, lost);
            landed_.notify_all();
            throw;
        }
        RAMPART_ASSERT(fresh.size() == misses.size());
        lock.lock();
        for (std::size_t m = 0; m < misses.size(); ++m) finish_locked(miss_keys[m], fresh[m]);
        landed_.notify_all();
        for (std::size_t i = 0; i < questions.size(); ++i)
            if (miss_of[i] != SIZE_MAX) out[i] = fresh[miss_of[i]];
    }

    // Our own questions are answered before we wait for anyone else's, so two batches waiting
    // for each other's questions cannot deadlock.
    for (std::size_t i = 0; i < questions.size(); ++i) {
        if (!waits[i]) continue;
        const auto& flight = waits[i];
        landed_.wait(lock, [&] { return flight->done; });
        out[i] = flight->answer;
    }
    return out;
}

CachingResolver::Stats CachingResolver::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::size_t CachingResolver::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void CachingResolver::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    recency_.clear();
}

}  // namespace rampart::dns

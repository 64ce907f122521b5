// spf internals shared by the record parser, macro expansion, check_host() and inspect().
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "spf/spf.hpp"

namespace rampart::spf::detail {

/// What a syntax check of a macro-string found.
struct MacroScan {
    bool has_macro = false;        // at least one "%{...}"
    bool ends_with_macro = false;  // the last token is a macro-expand (§7.1 domain-end)
};

/// Checks macro-string syntax (§7.1) without expanding. For MacroUse::domain_spec the letters
/// c, r and t are refused (§7.3) and spaces are not macro-literals; explanations allow both.
[[nodiscard]] Result<MacroScan> scan_macro_string(std::string_view text, MacroUse use);

/// toplabel of §7.1: alphanumerics with at least one letter, or alphanumerics around hyphens.
[[nodiscard]] bool is_toplabel(std::string_view label) noexcept;

/// A name produced by expansion, made queryable: one trailing dot dropped, ASCII lower-cased;
/// nullopt for an empty label, a label over 63 octets, a name over 253 octets, non-ASCII or
/// control octets. Unlike dns::normalize_name, spaces are kept: "%_" puts them there (§7.1).
[[nodiscard]] std::optional<std::string> target_name(std::string_view name);

/// §7.3: drops labels from the left until the name fits in 253 octets.
void truncate_to_253(std::string& name);

/// The ASCII-only, printable check for text that leaves SPF (explanations).
[[nodiscard]] bool is_printable_ascii(std::string_view text) noexcept;

/// A record as check_host() uses it: the parse, and the query names of its terms worked out once.
struct CompiledRecord {
    std::string text;  // the record as published
    Result<Record> parsed;
    /// Per mechanism (same index), the name to query when the domain-spec is set and holds no
    /// macro: target_name() of it, or nullopt when it is not a valid name. Unused otherwise.
    std::vector<std::optional<std::string>> targets;
    /// The same for redirect=.
    std::optional<std::string> redirect_target;
};

/// Compiles a record text (parse_record, then the macro-free targets).
[[nodiscard]] CompiledRecord compile_record(std::string_view text);

/// Compiled records by their text, shared by every check_host() of the process: the same
/// provider records (an include of a large platform) are met in most evaluations, and parsing
/// one costs far more than the rest of its evaluation when its answer is cached. A record's
/// parse depends on its text alone, so a hit gives exactly what parsing would.
///
/// Bounded by entry count and by the octets of text held, least recently used out first
/// (per shard: the cache is split by hash into shards with their own lock when large, so
/// threads do not queue on one mutex). Texts longer than `max_text` are compiled each time and
/// never kept. Thread-safe.
class RecordCache {
public:
    static constexpr std::size_t default_max_entries = 4096;
    static constexpr std::size_t default_max_octets = std::size_t{8} << 20;
    static constexpr std::size_t max_text = 8192;

    explicit RecordCache(std::size_t max_entries = default_max_entries,
                         std::size_t max_octets = default_max_octets);
    RecordCache(const RecordCache&) = delete;
    RecordCache& operator=(const RecordCache&) = delete;

    /// The compiled form of `text`, from the cache or compiled now (and kept).
    [[nodiscard]] std::shared_ptr<const CompiledRecord> get(std::string_view text);

    struct Stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t evictions = 0;
    };
    [[nodiscard]] Stats stats() const;
    /// Records held now, and their text octets.
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::size_t octets() const;

private:
    using Item = std::shared_ptr<const CompiledRecord>;
    struct Shard {
        mutable std::mutex mutex;
        std::list<Item> recency;  // most recently used first; the map's keys view their texts
        std::unordered_map<std::string_view, std::list<Item>::iterator> items;
        std::size_t octets = 0;
        std::size_t max_entries = 1, max_octets = 1;
        Stats stats;
    };
    [[nodiscard]] Shard& shard_of(std::string_view text) noexcept;

    std::size_t shard_count_;
    std::unique_ptr<Shard[]> shards_;
};

/// The process-wide cache check_host() uses.
[[nodiscard]] RecordCache& record_cache();

}  // namespace rampart::spf::detail

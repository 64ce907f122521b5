// store/sqlite: the embedded default store, one SQLite file in WAL mode.
//
// Why WAL with synchronous=NORMAL: each report is one transaction, and a killed process loses at
// most the report in flight (it rolls back on the next open); readers (summary, the dashboard)
// never block the ingest. Trust: SQL text is fixed; every value is bound, never interpolated.
// Errors: see store.hpp.
#pragma once

#include <filesystem>
#include <memory>

#include "store/store.hpp"

namespace rampart::store {

struct SqliteOptions {
    std::int64_t cache_kib = 16 * 1024;  // page cache; bounds memory during huge reports
    int busy_timeout_ms = 30'000;
};

/// Opens (creating when missing) the database at `path` and applies pending migrations.
/// ":memory:" gives a private in-memory database (tests).
[[nodiscard]] Result<std::unique_ptr<Store>> open_sqlite(const std::filesystem::path& path,
                                                         const SqliteOptions& options = {});

/// The newest schema version this build knows.
[[nodiscard]] int sqlite_schema_version() noexcept;

}  // namespace rampart::store

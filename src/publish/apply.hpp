// publish/apply: the one path every DNS change takes — a rollout step, a one-off `rampart
// publish`, a DKIM rotation stage — whatever the publisher:
//
//   lint the new record → look at what the name holds (refuse a `_dmarc` with several TXT
//   records or a CNAME) → write `intent` to the audit log → publish (compare-and-swap for
//   rfc2136) → ask every authoritative server until all serve the new record or the deadline
//   passes → `verified`, or roll back to the old record and say so.
//
// Crash consistency: `intent` is durable before anything is sent, and every later stage is a
// new log entry. A run killed in between leaves a change whose last entry is `intent` or
// `sent`; `recover` asks the servers what is live and closes it (`resolved`): the new record
// live counts as done, the old one as not done (the caller decides again), so a change is
// never applied twice — the compare-and-swap prerequisite would refuse a second application
// anyway.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "publish/authority.hpp"
#include "publish/publish.hpp"
#include "store/store.hpp"

namespace rampart::publish {

struct ApplyOptions {
    std::string actor = "rampart";  // "rampart advance", "rampart publish", ...
    bool dry_run = false;           // lint and look, log nothing, send nothing
    /// How long the authoritative servers get to serve a sent change before it is rolled back.
    std::chrono::steady_clock::duration deadline = std::chrono::minutes(5);
    std::chrono::steady_clock::duration interval = std::chrono::seconds(2);
    /// Waits between polls; empty: std::this_thread::sleep_for.
    std::function<void(std::chrono::steady_clock::duration)> sleep;
};

struct Applied {
    enum class Status : std::uint8_t {
        live,         // every authoritative server serves the new record
        queued,       // manual publisher: written for an operator; not live yet
        conflict,     // the name holds something else than old_record: nothing changed
        refused,      // never sent: the new record fails the linter, or the name holds
                      // several TXT records or a CNAME
        rolled_back,  // sent, not served everywhere in time, the old record restored
        failed,       // not sent, or the server refused it (bad TSIG, REFUSED, ...)
        dry_run,      // what would be sent (nothing was)
    };
    Status status = Status::failed;
    std::string change_id;       // the audit log's id ("" for dry runs)
    std::string detail;          // one sentence for the operator
    Coverage coverage;           // the last round of authoritative answers (when asked)
    std::vector<std::filesystem::path> files;  // manual publisher's outbox files
};
[[nodiscard]] std::string_view to_string(Applied::Status status) noexcept;  // "live", ...

/// What a change goes through. `checker` null: nothing can be verified (the change is then at
/// best `queued` or `failed`).
struct Desk {
    Publisher& publisher;
    AuthorityChecker* checker = nullptr;
    store::Store& store;
    /// This zone's own verification deadline and poll interval ([client.publisher]
    /// verify_seconds), when set: they win over ApplyOptions'.
    std::optional<std::chrono::steady_clock::duration> deadline = std::nullopt;
    std::optional<std::chrono::steady_clock::duration> interval = std::nullopt;
};

/// The linter's verdict on a record about to be published at `name`: empty when fine, else
/// why not. `_dmarc.` names must hold a DMARC record that parses (dmarc::parse_record) with
/// no error; `._domainkey.` names a DKIM key record (revoked `p=` allowed); anything else any
/// text under 4,000 octets. An empty record (deleting) is always fine.
[[nodiscard]] std::string lint(std::string_view name, std::string_view record);

/// Publishes one change the whole way. Errors only when the audit log cannot be written (then
/// nothing is sent); every other outcome is an Applied.
[[nodiscard]] Result<Applied> apply(Desk& desk, const Change& change, const ApplyOptions& options);

/// Closes every change a killed run left unfinished (see above), through `desk_for(domain)`.
/// Returns one Applied per change closed: `live` when the new record is served, `failed`
/// ("not applied") when the old one still is, `conflict` when neither.
[[nodiscard]] Result<std::vector<Applied>> recover(
    store::Store& store, const std::function<Desk*(std::string_view domain)>& desk_for, Timestamp now);

}  // namespace rampart::publish

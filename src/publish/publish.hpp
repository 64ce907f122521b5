// publish: how a decided DNS change reaches the zone. One interface for every way Rampart can
// publish; this module has the `manual` publisher (zone-file lines and an nsupdate script in an
// outbox folder, for zones Rampart cannot touch) and the check of what is live.
//
// Standards: RFC 1035 §5.1 (master file TXT syntax: quoted character-strings, "\"" and "\\"
// escaped, 255 octets each), RFC 1035 §3.3.14 (a TXT RR holds several strings, joined by
// receivers), RFC 9989 §4.10 (only records starting v=DMARC1 count at _dmarc).
// Trust: record text is Rampart's own, domains come from the operator's configuration; file names
// are built from normalised domain names only. Files are written whole (a temporary name, then
// rename), so an outbox never holds half a change.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"

namespace rampart::publish {

/// One change of the TXT record at `name`.
struct Change {
    std::string domain;      // the policy domain ("acme.example")
    std::string name;        // the owner name ("_dmarc.acme.example")
    std::string old_record;  // what should be live now; "" when nothing is
    std::string new_record;  // what should be live after
    std::string client;
    std::string reason;      // one sentence, written next to the change
    Timestamp at{};
    std::uint32_t ttl = 3600;
};

struct Outcome {
    enum class Status : std::uint8_t {
        published,  // the change was sent to the zone (it may still take time to be served)
        queued,     // written for an operator to apply (manual publisher)
        conflict,   // the zone holds something else than old_record: nothing was changed
        failed,     // not applied; `detail` says why
        uncertain,  // sent, but no trustworthy reply came back: the zone may or may not have it
    };
    Status status = Status::failed;
    std::string detail;                       // one sentence
    std::string evidence;                     // JSON: where it went, what the server answered
    std::vector<std::filesystem::path> files;  // what was written (manual publisher)
};
[[nodiscard]] std::string_view to_string(Outcome::Status status) noexcept;  // "published", ...

class Publisher {
public:
    virtual ~Publisher() = default;
    [[nodiscard]] virtual std::string_view kind() const noexcept = 0;  // "manual", "rfc2136"
    [[nodiscard]] virtual Result<Outcome> publish(const Change& change) = 0;
};

/// Writes each change to `outbox` as `<date>-<domain>.zone` (master-file lines for the new
/// record, the old one as a comment) and `<date>-<domain>.nsupdate` (an nsupdate script that
/// deletes exactly the old record and adds the new one). The folder is created when missing.
class ManualPublisher final : public Publisher {
public:
    explicit ManualPublisher(std::filesystem::path outbox) : outbox_(std::move(outbox)) {}
    [[nodiscard]] std::string_view kind() const noexcept override { return "manual"; }
    [[nodiscard]] Result<Outcome> publish(const Change& change) override;
    [[nodiscard]] const std::filesystem::path& outbox() const noexcept { return outbox_; }

private:
    std::filesystem::path outbox_;
};

/// Replaces `path` whole: a temporary file beside it (the old file's mode and owner, else
/// 0644), written, fsync'ed and renamed over it, then the folder fsync'ed, so a reader sees the
/// old file or the new one, never half. Errc::io naming the step that failed. Used for the
/// outbox and for the signer tables of a DKIM rotation.
[[nodiscard]] Result<void> write_whole(const std::filesystem::path& path, std::string_view text);

/// `text` as master-file character-strings: split at 255 octets, each quoted, '"' and '\'
/// escaped, non-printable octets as \DDD.
[[nodiscard]] std::string quoted_txt(std::string_view text);
/// The zone-file lines of a change (comment lines start with ';').
[[nodiscard]] std::string zone_lines(const Change& change);
/// The nsupdate script of a change (no server or key lines: the operator's nsupdate set-up says
/// where and how).
[[nodiscard]] std::string nsupdate_script(const Change& change);

/// What resolvers see at `_dmarc.<domain>`.
struct Live {
    enum class Status : std::uint8_t { one, none, several, failed };
    Status status = Status::none;
    std::string record;              // the DMARC record when exactly one
    std::vector<std::string> others;  // every DMARC record when several
    std::string detail;              // DNS failure or other explanation
};
[[nodiscard]] Live live_record(dns::Resolver& resolver, std::string_view domain);

/// True when two DMARC record texts mean the same (parsed and written canonically); exact text
/// comparison otherwise.
[[nodiscard]] bool same_record(std::string_view a, std::string_view b);

}  // namespace rampart::publish

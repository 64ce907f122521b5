// publish/apply: see apply.hpp.
#include "publish/apply.hpp"

#include <openssl/rand.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dkim/dkim.hpp"
#include "dmarc/dmarc.hpp"

namespace rampart::publish {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t max_record_octets = 4000;

std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string new_change_id(std::string_view domain, Timestamp at) {
    unsigned char bytes[4] = {};
    if (RAND_bytes(bytes, sizeof bytes) != 1) bytes[0] = static_cast<unsigned char>(at.time_since_epoch().count());
    return fmt::format("{}/{}/{:02x}{:02x}{:02x}{:02x}", domain, at.time_since_epoch().count(), bytes[0], bytes[1],
                       bytes[2], bytes[3]);
}

Wanted wanted_of(std::string_view name, std::string_view record) {
    Wanted w{.zone = "", .name = std::string(name), .values = {}};
    if (!record.empty()) w.values.emplace_back(record);
    return w;
}

/// The log entries of one change, written as it goes.
class Log {
public:
    Log(store::Store& store, const Change& change, std::string actor, std::string publisher, std::string id)
        : store_(store), change_(change), actor_(std::move(actor)), publisher_(std::move(publisher)),
          id_(std::move(id)) {}

    Result<void> write(std::string_view stage, std::string_view detail, std::string evidence = "{}",
                       bool reversed = false) {
        return store_.append_publish_event(store::PublishEvent{
            .id = 0,
            .change_id = id_,
            .domain = change_.domain,
            .name = change_.name,
            .at = change_.at,
            .actor = actor_,
            .publisher = publisher_,
            .stage = std::string(stage),
            .old_record = reversed ? change_.new_record : change_.old_record,
            .new_record = reversed ? change_.old_record : change_.new_record,
            .reason = change_.reason,
            .detail = std::string(detail),
            .evidence = std::move(evidence)});
    }
    [[nodiscard]] const std::string& id() const { return id_; }

private:
    store::Store& store_;
    const Change& change_;
    std::string actor_, publisher_, id_;
};

/// Why the name must not be touched, from what the servers hold there; empty when fine.
std::string untouchable(const Change& change, const Coverage& now) {
    for (const auto& s : now.servers) {
        if (!s.cname.empty())
            return fmt::format("{} is a CNAME to {} (served by {}): DMARC there is delegated to whoever runs {}; "
                               "Rampart does not touch it",
                               change.name, s.cname, s.ns, s.cname);
        if (change.name.starts_with("_dmarc.") && s.records.size() > 1)
            return fmt::format("{} holds {} TXT records at {} ({}): receivers ignore a _dmarc name with more than "
                               "one; clean it up by hand first",
                               change.name, s.records.size(), s.ns, s.address);
    }
    return {};
}

/// True when some server answers and every answering one serves `record` at the name.
bool all_hold(const Coverage& c, std::string_view name, std::string_view record) {
    const bool dmarc = name.starts_with("_dmarc.");
    bool any = false;
    for (const auto& s : c.servers) {
        if (s.status != "ok" && s.status != "nodata" && s.status != "nxdomain") continue;
        any = true;
        if (record.empty()) {
            if (!s.records.empty()) return false;
        } else if (s.records.size() != 1 || !(dmarc ? same_record(s.records[0], record) : s.records[0] == record)) {
            return false;
        }
    }
    return any;
}

}  // namespace

std::string_view to_string(Applied::Status status) noexcept {
    switch (status) {
        case Applied::Status::live: return "live";
        case Applied::Status::queued: return "queued";
        case Applied::Status::conflict: return "conflict";
        case Applied::Status::refused: return "refused";
        case Applied::Status::rolled_back: return "rolled_back";
        case Applied::Status::failed: return "failed";
        case Applied::Status::dry_run: return "dry_run";
    }
    return "failed";
}

std::string lint(std::string_view name, std::string_view record) {
    if (record.empty()) return {};
    if (record.size() > max_record_octets)
        return fmt::format("the record is {} octets; more than {} does not fit a DNS answer safely", record.size(),
                           max_record_octets);
    for (const char c : record) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return "the record holds a control character";
    }
    if (name.starts_with("_dmarc.")) {
        auto parsed = dmarc::parse_record(record);
        if (!parsed) return fmt::format("not a DMARC record: {}", parsed.error().reason);
        for (const auto& d : parsed->diagnostics) {
            if (d.severity == dmarc::Severity::error) return fmt::format("DMARC record error: {}", d.message);
        }
        if (!parsed->applies()) return "receivers would ignore this DMARC record (invalid policy and no rua)";
    } else if (name.find("._domainkey.") != std::string_view::npos) {
        auto parsed = dkim::parse_key_record(record);
        if (!parsed) return fmt::format("not a DKIM key record: {}", parsed.error().reason);
        if (!parsed->revoked) {
            for (const auto& d : parsed->diagnostics) {
                if (d.severity == dkim::Severity::error) return fmt::format("DKIM key record error: {}", d.message);
            }
        }
    }
    return {};
}

Result<Applied> apply(Desk& desk, const Change& change, const ApplyOptions& options) {
    Applied out;
    const std::string publisher(desk.publisher.kind());
    Log log(desk.store, change, options.actor, publisher, options.dry_run ? "" : new_change_id(change.domain, change.at));
    out.change_id = log.id();

    if (auto problem = lint(change.name, change.new_record); !problem.empty()) {
        out.status = Applied::Status::refused;
        out.detail = fmt::format("not published: {}", problem);
        if (options.dry_run) return out;
        if (auto r = log.write("refused", out.detail, dump(json{{"lint", problem}})); !r) return std::unexpected(r.error());
        return out;
    }

    // What the name holds now, at the authoritative servers.
    if (desk.checker != nullptr) {
        out.coverage = desk.checker->check(wanted_of(change.name, change.old_record));
        if (auto problem = untouchable(change, out.coverage); !problem.empty()) {
            out.status = Applied::Status::refused;
            out.detail = problem;
            if (options.dry_run) return out;
            if (auto r = log.write("refused", problem, out.coverage.to_json()); !r) return std::unexpected(r.error());
            return out;
        }
        // The manual publisher cannot compare-and-swap: look first. (rfc2136's prerequisite
        // checks at the primary itself, which secondaries may lag.)
        if (publisher == "manual" && !all_hold(out.coverage, change.name, change.old_record) &&
            !all_hold(out.coverage, change.name, change.new_record) &&
            std::any_of(out.coverage.servers.begin(), out.coverage.servers.end(),
                        [](const ServerAnswer& s) { return s.status == "ok" || s.status == "nodata"; })) {
            out.status = Applied::Status::conflict;
            out.detail = fmt::format("{} holds something else than the record Rampart believes is live: {}",
                                     change.name, out.coverage.detail);
            if (options.dry_run) return out;
            if (auto r = log.write("conflict", out.detail, out.coverage.to_json()); !r) return std::unexpected(r.error());
            return out;
        }
    }
    if (options.dry_run) {
        out.status = Applied::Status::dry_run;
        out.detail = fmt::format("would publish through {}: {} \"{}\" (now \"{}\")", publisher, change.name,
                                 change.new_record, change.old_record);
        return out;
    }

    if (auto r = log.write("intent", fmt::format("publishing through {}", publisher)); !r)
        return std::unexpected(r.error());
    auto sent = desk.publisher.publish(change);
    if (!sent) {
        out.status = Applied::Status::failed;
        out.detail = sent.error().reason;
        if (auto r = log.write("failed", out.detail); !r) return std::unexpected(r.error());
        return out;
    }
    out.files = sent->files;
    const std::string evidence = sent->evidence.empty() ? "{}" : sent->evidence;
    switch (sent->status) {
        case Outcome::Status::conflict:
            out.status = Applied::Status::conflict;
            out.detail = sent->detail;
            if (auto r = log.write("conflict", out.detail, evidence); !r) return std::unexpected(r.error());
            return out;
        case Outcome::Status::failed:
            out.status = Applied::Status::failed;
            out.detail = sent->detail;
            if (auto r = log.write("failed", out.detail, evidence); !r) return std::unexpected(r.error());
            return out;
        case Outcome::Status::queued: {
            if (auto r = log.write("queued", sent->detail, evidence); !r) return std::unexpected(r.error());
            out.status = Applied::Status::queued;
            out.detail = sent->detail;
            if (desk.checker != nullptr) {
                out.coverage = desk.checker->check(wanted_of(change.name, change.new_record));
                if (out.coverage.all_serve) {
                    out.status = Applied::Status::live;
                    out.detail = out.coverage.detail;
                    if (auto r = log.write("verified", out.detail, out.coverage.to_json()); !r)
                        return std::unexpected(r.error());
                }
            }
            return out;
        }
        case Outcome::Status::published:
        case Outcome::Status::uncertain:
            break;
    }

    if (auto r = log.write("sent", sent->detail, evidence); !r) return std::unexpected(r.error());
    if (desk.checker == nullptr) {
        out.status = Applied::Status::failed;
        out.detail = "sent, but there is no way to verify it at the authoritative servers";
        return out;
    }
    out.coverage = wait_until_served(*desk.checker, wanted_of(change.name, change.new_record),
                                     desk.deadline.value_or(options.deadline), desk.interval.value_or(options.interval),
                                     options.sleep);
    if (out.coverage.all_serve) {
        out.status = Applied::Status::live;
        out.detail = out.coverage.detail;
        if (auto r = log.write("verified", out.detail, out.coverage.to_json()); !r) return std::unexpected(r.error());
        return out;
    }

    // Not served everywhere in time: put the old record back, guarded by the new one (if the
    // primary never applied the change, the guard fails and nothing is touched).
    Change back = change;
    back.old_record = change.new_record;
    back.new_record = change.old_record;
    back.reason = fmt::format("roll back: {}", out.coverage.detail);
    auto undone = desk.publisher.publish(back);
    json evidence_back{{"coverage", json::parse(out.coverage.to_json(), nullptr, false)}};
    if (undone) {
        evidence_back["rollback"] = json::parse(undone->evidence.empty() ? "{}" : undone->evidence, nullptr, false);
    }
    if (undone && (undone->status == Outcome::Status::published || undone->status == Outcome::Status::conflict)) {
        out.status = Applied::Status::rolled_back;
        out.detail = fmt::format("not served by every authoritative server in time ({}); {}", out.coverage.detail,
                                 undone->status == Outcome::Status::published
                                     ? "the previous record was restored"
                                     : "the primary never applied it, so the previous record stays");
        if (auto r = log.write("rolled_back", out.detail, dump(evidence_back)); !r) return std::unexpected(r.error());
        return out;
    }
    out.status = Applied::Status::failed;
    out.detail = fmt::format("not served by every authoritative server in time ({}), and the rollback failed: {}",
                             out.coverage.detail, undone ? undone->detail : undone.error().reason);
    if (auto r = log.write("failed", out.detail, dump(evidence_back)); !r) return std::unexpected(r.error());
    return out;
}

Result<std::vector<Applied>> recover(store::Store& store, const std::function<Desk*(std::string_view domain)>& desk_for,
                                     Timestamp now) {
    auto open = store.unfinished_changes();
    if (!open) return std::unexpected(open.error());
    std::vector<Applied> out;
    for (const auto& last : *open) {
        Desk* desk = desk_for(last.domain);
        if (desk == nullptr || desk->checker == nullptr) continue;
        Applied a;
        a.change_id = last.change_id;
        const auto seen_new = desk->checker->check(wanted_of(last.name, last.new_record));
        std::string stage = "resolved";
        if (seen_new.all_serve) {
            a.status = Applied::Status::live;
            a.coverage = seen_new;
            a.detail = fmt::format("a run stopped during this change; the new record is live ({})", seen_new.detail);
        } else {
            const auto seen_old = desk->checker->check(wanted_of(last.name, last.old_record));
            a.coverage = seen_old;
            if (seen_old.all_serve) {
                a.status = Applied::Status::failed;
                a.detail = fmt::format("a run stopped during this change; it was not applied, the old record is "
                                       "still live ({})",
                                       seen_old.detail);
            } else {
                a.status = Applied::Status::conflict;
                a.detail = fmt::format("a run stopped during this change; the servers hold neither the old nor the "
                                       "new record: {}",
                                       seen_new.detail);
            }
        }
        auto r = store.append_publish_event(store::PublishEvent{.id = 0,
                                                                .change_id = last.change_id,
                                                                .domain = last.domain,
                                                                .name = last.name,
                                                                .at = now,
                                                                .actor = "recovery",
                                                                .publisher = last.publisher,
                                                                .stage = stage,
                                                                .old_record = last.old_record,
                                                                .new_record = last.new_record,
                                                                .reason = last.reason,
                                                                .detail = a.detail,
                                                                .evidence = a.coverage.to_json()});
        if (!r) return std::unexpected(r.error());
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace rampart::publish

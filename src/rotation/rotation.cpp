// The rotation state machine: see rotation.hpp for the stages and why each waits.
#include "rotation/rotation.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "dkim/dkim.hpp"
#include "dns/dns.hpp"

namespace rampart::rotation {
namespace {

/// The TTL the key records are published with (publish::Change's default).
constexpr std::uint32_t record_ttl = 3600;

/// A guard against a loop that never settles: one call moves through at most every stage.
constexpr int max_moves = 8;

std::unexpected<Error> forward(Error e) { return std::unexpected(std::move(e)); }

bool switched(const store::DkimRotation& r) {
    auto s = parse_stage(r.stage);
    return s && (*s == Stage::grace || *s == Stage::revoked || *s == Stage::done);
}

const store::DkimRotation* last_switched(std::span<const store::DkimRotation> history) {
    for (auto it = history.rbegin(); it != history.rend(); ++it)
        if (switched(*it)) return &*it;
    return nullptr;
}

/// RFC 6376 §3.1: a selector is dot-separated sub-domain labels; we keep to lower-case letters,
/// digits and '-' in each, as setup does.
Result<void> check_selector(std::string_view selector, std::string_view domain) {
    bool ok = !selector.empty() && selector.front() != '.' && selector.back() != '.' &&
              selector.find("..") == std::string_view::npos &&
              std::ranges::all_of(selector, [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
              });
    if (!ok)
        return fail(Errc::malformed, fmt::format("selector '{}': use letters, digits, '-' and '.'",
                                                 printable(selector)));
    if (auto n = dns::normalize_name(dkim::dkim_key_name(selector, domain)); !n)
        return fail(Errc::malformed,
                    fmt::format("selector '{}': {}", printable(selector), n.error().reason));
    return {};
}

bool looks_like_key(std::string_view record) {
    auto tags = dkim::parse_tag_list(record);
    return tags && std::ranges::any_of(*tags, [](const dkim::Tag& t) { return t.name == "p"; });
}

/// What the authoritative servers serve at a key name: the key record and the largest TTL.
struct Served {
    std::string record;
    std::uint32_t ttl = 0;
};

/// (The zone is left for the checker to find from the SOA: a domain need not be a zone apex.)
Served served_key(publish::AuthorityChecker* checker, const std::string& name) {
    if (checker == nullptr) return {};
    auto coverage = checker->check(publish::Wanted{.zone = {}, .name = name, .values = {}});
    for (const auto& server : coverage.servers)
        for (const auto& record : server.records)
            if (looks_like_key(record)) return Served{.record = record, .ttl = coverage.max_ttl};
    return {};
}

/// RFC 6376 §3.6.1: "An empty value means that this public key has been revoked." The key type
/// is the old record's, so verifiers still see what it was.
std::string revoked_record(std::string_view old_record) {
    std::string k = "rsa";
    if (auto tags = dkim::parse_tag_list(old_record))
        for (const auto& t : *tags)
            if (t.name == "k" && !t.value.empty()) k = t.value;
    return fmt::format("v=DKIM1; k={}; p=", k);
}

/// True when the publish log's last entry for `name` is a queued change to `record`: it waits
/// for an operator, and publishing it again would only queue it twice.
bool already_queued(store::Store& store, std::string_view domain, std::string_view name,
                    std::string_view record) {
    auto log = store.publish_log(domain);
    if (!log) return false;
    for (auto it = log->rbegin(); it != log->rend(); ++it) {
        if (!iequals(it->name, name)) continue;
        return it->stage == "queued" && it->new_record == record;
    }
    return false;
}

std::string key_name(std::string_view selector, std::string_view domain) {
    return dkim::dkim_key_name(selector, domain);
}

struct Publication {
    bool live = false;
    std::string detail;
};

class Machine {
public:
    Machine(const Domain& target, const Ports& ports, Timestamp now)
        : target_(target), ports_(ports), desk_(*ports.desk), now_(now) {}

    /// Runs stages until one cannot move; stores every change of the row.
    Result<void> run(store::DkimRotation& r, std::vector<std::string>& moves) {
        for (int i = 0; i < max_moves && !r.finished; ++i) {
            auto moved = step(r, moves);
            if (!moved) return forward(std::move(moved.error()));
            if (!*moved) break;
        }
        return {};
    }

private:
    Result<bool> step(store::DkimRotation& r, std::vector<std::string>& moves) {
        auto stage = parse_stage(r.stage);
        if (!stage)
            return fail(Errc::malformed, fmt::format("rotation {} is at an unknown stage '{}'",
                                                     printable(r.id), printable(r.stage)));
        switch (*stage) {
            case Stage::publishing: return publishing(r, moves);
            case Stage::waiting: return waiting(r, moves);
            case Stage::switching: return switching(r, moves);
            case Stage::grace: return grace(r, moves);
            case Stage::revoked: return revoked(r, moves);
            case Stage::done: r.finished = true; return false;
        }
        return false;
    }

    Result<bool> move(store::DkimRotation& r, Stage to, Timestamp next_at, std::string detail,
                      std::vector<std::string>& moves) {
        r.stage = std::string(to_string(to));
        r.stage_since = now_;
        r.next_at = next_at;
        r.detail = std::move(detail);
        r.finished = to == Stage::done;
        moves.push_back(fmt::format("{}: {}", r.stage, r.detail));
        if (auto put = desk_.store.put_rotation(r); !put) return forward(std::move(put.error()));
        return true;
    }

    /// Keeps the stage, storing the new detail when it changed.
    Result<bool> stay(store::DkimRotation& r, std::string detail, std::vector<std::string>& moves) {
        moves.push_back(fmt::format("{} (stays): {}", r.stage, detail));
        if (detail == r.detail) return false;
        r.detail = std::move(detail);
        if (auto put = desk_.store.put_rotation(r); !put) return forward(std::move(put.error()));
        return false;
    }

    Result<bool> not_due(store::DkimRotation& r, std::vector<std::string>& moves) {
        moves.push_back(
            fmt::format("{} (stays): not before {}", r.stage, format_timestamp(r.next_at)));
        return false;
    }

    publish::Coverage check(const std::string& name, const std::string& record) {
        std::vector<std::string> values;
        if (!record.empty()) values.push_back(record);
        return desk_.checker->check(publish::Wanted{.zone = {}, .name = name, .values = values});
    }

    /// Gets `record` live at `name`: already served everywhere, queued earlier and now served,
    /// or published now through publish::apply.
    Result<Publication> publish(const std::string& name, const std::string& old_record,
                                const std::string& record, const std::string& reason) {
        if (desk_.checker != nullptr) {
            auto coverage = check(name, record);
            if (coverage.all_serve)
                return Publication{.live = true, .detail = "every authoritative server serves it"};
            if (already_queued(desk_.store, target_.domain, name, record))
                return Publication{.detail = fmt::format("queued for the operator; not yet served "
                                                         "everywhere: {}",
                                                         coverage.detail)};
        } else if (already_queued(desk_.store, target_.domain, name, record)) {
            return Publication{.detail =
                                   "queued for the operator; no authority checker to see "
                                   "when it is live"};
        }
        publish::Change change{.domain = target_.domain,
                               .name = name,
                               .old_record = old_record,
                               .new_record = record,
                               .client = target_.client,
                               .reason = reason,
                               .at = now_,
                               .ttl = record_ttl};
        auto applied = publish::apply(desk_, change, ports_.apply);
        if (!applied) return forward(std::move(applied.error()));
        const auto status = publish::to_string(applied->status);
        if (applied->status == publish::Applied::Status::live)
            return Publication{.live = true, .detail = applied->detail};
        return Publication{.detail = fmt::format("{}: {}", status, applied->detail)};
    }

    Result<bool> publishing(store::DkimRotation& r, std::vector<std::string>& moves) {
        auto p = publish(key_name(r.new_selector, r.domain), "", r.new_record,
                         fmt::format("DKIM key rotation: publish the new key {}", r.new_selector));
        if (!p) return forward(std::move(p.error()));
        if (!p->live) return stay(r, fmt::format("the new key is not live: {}", p->detail), moves);
        const auto wait = std::max(r.old_ttl, record_ttl);
        return move(r, Stage::waiting, now_ + std::chrono::seconds(wait),
                    fmt::format("the new key {} is published ({}); waiting {} s (the longest TTL) "
                                "before the signer switches to it",
                                r.new_selector, p->detail, wait),
                    moves);
    }

    Result<bool> waiting(store::DkimRotation& r, std::vector<std::string>& moves) {
        if (now_ < r.next_at) return not_due(r, moves);
        if (desk_.checker == nullptr)
            return stay(r,
                        "no authority checker: cannot see whether every server serves the new key",
                        moves);
        auto coverage = check(key_name(r.new_selector, r.domain), r.new_record);
        if (!coverage.all_serve)
            return stay(r,
                        fmt::format("not every authoritative server serves the new key yet: {}",
                                    coverage.detail),
                        moves);
        return move(r, Stage::switching, now_,
                    "the TTL has passed and every authoritative server serves the new key", moves);
    }

    Result<bool> switching(store::DkimRotation& r, std::vector<std::string>& moves) {
        std::unique_ptr<SignerSwitch> configured;
        SignerSwitch* signer = ports_.signer;
        if (signer == nullptr) {
            configured = std::make_unique<ConfiguredSwitch>(
                target_.config, ports_.run ? ports_.run : CommandRunner(run_command));
            signer = configured.get();
        }
        auto switched_to = signer->switch_to(
            SwitchTo{.domain = r.domain, .selector = r.new_selector, .key_file = r.key_file});
        if (!switched_to)
            return stay(r, fmt::format("the signer switch failed: {}", switched_to.error().reason),
                        moves);
        if (r.old_selector.empty())
            return move(
                r, Stage::done, now_,
                fmt::format("the signer uses {}; there was no old key to retire", r.new_selector),
                moves);
        return move(
            r, Stage::grace, now_ + std::chrono::days(target_.config.grace_days),
            fmt::format("the signer uses {}; the old key {} stays published {} days for mail "
                        "signed before the switch",
                        r.new_selector, r.old_selector, target_.config.grace_days),
            moves);
    }

    Result<bool> grace(store::DkimRotation& r, std::vector<std::string>& moves) {
        if (now_ < r.next_at) return not_due(r, moves);
        const auto name = key_name(r.old_selector, r.domain);
        if (r.old_record.empty()) r.old_record = served_key(desk_.checker, name).record;
        if (r.old_record.empty())
            return move(
                r, Stage::done, now_,
                fmt::format("the old selector {} has no key record published: nothing to revoke",
                            r.old_selector),
                moves);
        const auto revoked_text = revoked_record(r.old_record);
        if (r.old_record == revoked_text)  // already revoked before the rotation began
            return move(r, Stage::revoked, now_ + std::chrono::days(target_.config.revoked_days),
                        fmt::format("the old key {} is already revoked", r.old_selector), moves);
        auto p = publish(
            name, r.old_record, revoked_text,
            fmt::format("DKIM key rotation: revoke the old key {} (empty p=)", r.old_selector));
        if (!p) return forward(std::move(p.error()));
        if (!p->live)
            return stay(r, fmt::format("the old key is not revoked yet: {}", p->detail), moves);
        return move(
            r, Stage::revoked, now_ + std::chrono::days(target_.config.revoked_days),
            fmt::format("the old key {} is published revoked (p= empty) for {} days before it "
                        "is removed",
                        r.old_selector, target_.config.revoked_days),
            moves);
    }

    Result<bool> revoked(store::DkimRotation& r, std::vector<std::string>& moves) {
        if (now_ < r.next_at) return not_due(r, moves);
        auto p = publish(key_name(r.old_selector, r.domain), revoked_record(r.old_record), "",
                         fmt::format("DKIM key rotation: remove the old key {}", r.old_selector));
        if (!p) return forward(std::move(p.error()));
        if (!p->live)
            return stay(r, fmt::format("the old key is not removed yet: {}", p->detail), moves);
        return move(r, Stage::done, now_,
                    fmt::format("the old key {} is removed; the rotation to {} is complete",
                                r.old_selector, r.new_selector),
                    moves);
    }

    const Domain& target_;
    const Ports& ports_;
    publish::Desk& desk_;
    Timestamp now_;
};

Result<void> need_desk(const Ports& ports) {
    if (ports.desk == nullptr) return fail(Errc::malformed, "the rotation needs a publishing desk");
    return {};
}

}  // namespace

std::string_view to_string(Stage stage) noexcept {
    switch (stage) {
        case Stage::publishing: return "publishing";
        case Stage::waiting: return "waiting";
        case Stage::switching: return "switching";
        case Stage::grace: return "grace";
        case Stage::revoked: return "revoked";
        case Stage::done: return "done";
    }
    return "done";
}

std::optional<Stage> parse_stage(std::string_view text) noexcept {
    for (auto s : {Stage::publishing, Stage::waiting, Stage::switching, Stage::grace,
                   Stage::revoked, Stage::done})
        if (to_string(s) == text) return s;
    return std::nullopt;
}

std::string signing_selector(const config::DkimRotationConfig& config,
                             std::span<const store::DkimRotation> history) {
    if (const auto* last = last_switched(history)) return last->new_selector;
    return config.selector;
}

bool due(const config::DkimRotationConfig& config, std::span<const store::DkimRotation> history,
         Timestamp now) {
    if (!config.rotate_every_days || *config.rotate_every_days <= 0) return false;
    if (std::ranges::any_of(history, [](const auto& r) { return !r.finished; })) return false;
    if (history.empty()) return true;
    Timestamp last = history.front().started_at;
    for (const auto& r : history) last = std::max(last, r.started_at);
    return last + std::chrono::days(*config.rotate_every_days) <= now;
}

Result<Report> start(const Domain& target, const Ports& ports, Timestamp now,
                     const StartOptions& options) {
    if (auto d = need_desk(ports); !d) return forward(std::move(d.error()));
    auto& store = ports.desk->store;
    const auto& config = target.config;
    const auto& domain = target.domain;

    auto current = store.current_rotation(domain);
    if (!current) return forward(std::move(current.error()));
    if (*current)
        return fail(
            Errc::conflict,
            fmt::format("{} has an unfinished rotation (to {}, stage {} since {}): advance or "
                        "abandon it first",
                        domain, (*current)->new_selector, (*current)->stage,
                        format_timestamp((*current)->stage_since)));
    auto history = store.rotations(domain);
    if (!history) return forward(std::move(history.error()));

    const auto old_selector = signing_selector(config, *history);
    const auto* previous = last_switched(*history);
    std::string old_key_file;
    if (previous != nullptr)
        old_key_file = previous->key_file;
    else if (config.key_file)
        old_key_file = config.key_file->string();

    std::unique_ptr<setup::KeyStore> own_store;
    setup::KeyStore* key_store = ports.key_store;
    if (key_store == nullptr) {
        own_store = std::make_unique<setup::DirectoryKeyStore>(config.key_dir);
        key_store = own_store.get();
    }

    // The selector: prefix + YYYYMM, then a letter when this domain has used it (a verifier
    // may still hold the old key of that name in its cache, and the key file must be new).
    const auto prefix = ascii_lower(trim(options.selector_prefix.value_or(config.selector_prefix)));
    const auto base = setup::dated_selector(now, prefix);
    if (auto c = check_selector(base, domain); !c) return forward(std::move(c.error()));
    auto used = [&](const std::string& s) {
        if (iequals(s, old_selector) || iequals(s, config.selector)) return true;
        for (const auto& r : *history)
            if (iequals(r.new_selector, s) || iequals(r.old_selector, s)) return true;
        return key_store->exists(setup::key_file_name(domain, s));
    };
    std::string selector = base;
    for (char letter = 'b'; used(selector); ++letter) {
        if (letter > 'z')
            return fail(Errc::conflict,
                        fmt::format("every selector from {} to {}z is used already", base, base));
        selector = base + letter;
    }

    Served old;
    if (!old_selector.empty())
        old = served_key(ports.desk->checker, key_name(old_selector, domain));

    setup::KeySpec spec{.algorithm = config.algorithm == "ed25519" ? setup::KeyAlgorithm::ed25519
                                                                   : setup::KeyAlgorithm::rsa,
                        .bits = config.bits};
    auto* keys = ports.keys != nullptr ? ports.keys : &setup::openssl_keys();
    auto pair = keys->generate(spec);
    if (!pair) return forward(std::move(pair.error()));
    auto record = setup::key_record(*pair);
    if (!record) return forward(std::move(record.error()));

    const auto file_name = setup::key_file_name(domain, selector);
    store::DkimRotation row{.domain = domain,
                            .id = fmt::format("{}/{}", domain, selector),
                            .stage = std::string(to_string(Stage::publishing)),
                            .old_selector = old_selector,
                            .new_selector = selector,
                            .old_record = old.record,
                            .new_record = *record,
                            .old_ttl = old.ttl,
                            .key_file = key_store->path(file_name).string(),
                            .old_key_file = old_key_file,
                            .started_at = now,
                            .stage_since = now,
                            .next_at = now,
                            .detail = {},
                            .finished = false};
    const auto old_text = old_selector.empty() ? std::string("no old key")
                                               : fmt::format("the old key {}", old_selector);
    Report report;
    if (options.dry_run) {
        row.detail = fmt::format(
            "dry run: would publish the new key at {}, write its private key to {} "
            "and retire {}",
            key_name(selector, domain), row.key_file, old_text);
        report.moves.push_back(row.detail);
        report.rotation = std::move(row);
        report.dry_run = true;
        return report;
    }
    auto written = key_store->write(file_name, pair->private_key);
    if (!written) return forward(std::move(written.error()));
    row.key_file = written->string();
    row.detail = fmt::format("started: new key {} (private key in {}, mode 0600) to replace {}",
                             selector, row.key_file, old_text);
    if (auto put = store.put_rotation(row); !put) return forward(std::move(put.error()));
    report.moves.push_back(row.detail);
    report.rotation = std::move(row);
    return report;
}

Result<Report> advance(const Domain& target, const Ports& ports, Timestamp now) {
    if (auto d = need_desk(ports); !d) return forward(std::move(d.error()));
    auto current = ports.desk->store.current_rotation(target.domain);
    if (!current) return forward(std::move(current.error()));
    if (!*current)
        return fail(Errc::not_found, fmt::format("{} has no unfinished rotation", target.domain));
    Report report{.rotation = std::move(**current)};
    Machine machine(target, ports, now);
    if (auto r = machine.run(report.rotation, report.moves); !r)
        return forward(std::move(r.error()));
    return report;
}

Result<store::DkimRotation> abandon(store::Store& store, std::string_view domain,
                                    std::string_view reason, Timestamp now) {
    auto current = store.current_rotation(domain);
    if (!current) return forward(std::move(current.error()));
    if (!*current)
        return fail(Errc::not_found, fmt::format("{} has no unfinished rotation", domain));
    auto r = std::move(**current);
    r.finished = true;
    r.stage_since = now;
    r.next_at = now;
    r.detail = fmt::format("abandoned: {}", reason);
    if (auto put = store.put_rotation(r); !put) return forward(std::move(put.error()));
    return r;
}

Result<std::vector<DomainOutcome>> advance_all(
    const config::Config& config, store::Store& store,
    const std::function<publish::Desk*(std::string_view domain)>& desk_for, const Ports& ports,
    Timestamp now) {
    std::vector<DomainOutcome> out;
    for (const auto& client : config.clients) {
        if (!client.dkim) continue;
        for (const auto& domain : client.domains) {
            DomainOutcome o{.domain = domain};
            auto history = store.rotations(domain);
            if (!history) return forward(std::move(history.error()));
            const bool unfinished =
                std::ranges::any_of(*history, [](const auto& r) { return !r.finished; });
            if (!unfinished && !due(*client.dkim, *history, now)) {
                out.push_back(std::move(o));
                continue;
            }
            Ports p = ports;
            p.desk = desk_for ? desk_for(domain) : nullptr;
            if (p.desk == nullptr) {
                o.error =
                    Error{.code = Errc::unsupported,
                          .reason = fmt::format("no publisher could be opened for {}", domain)};
                out.push_back(std::move(o));
                continue;
            }
            const Domain target{.domain = domain, .client = client.name, .config = *client.dkim};
            if (!unfinished) {
                auto started = start(target, p, now);
                if (!started) {
                    o.error = std::move(started.error());
                    out.push_back(std::move(o));
                    continue;
                }
                o.started = true;
                o.moves = std::move(started->moves);
                o.rotation = std::move(started->rotation);
            }
            auto advanced = advance(target, p, now);
            if (!advanced) {
                o.error = std::move(advanced.error());
            } else {
                o.moves.insert(o.moves.end(), advanced->moves.begin(), advanced->moves.end());
                o.rotation = std::move(advanced->rotation);
            }
            out.push_back(std::move(o));
        }
    }
    return out;
}

}  // namespace rampart::rotation

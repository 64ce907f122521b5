// rotation: safe DKIM key rotation, a state machine kept in the store (one store::DkimRotation
// row per rotation, replaced at each stage) so that it survives restarts. Each stage is moved on
// by `advance`, which is given the time; nothing here reads the clock.
//
//   start       new selector (prefix + YYYYMM, then a letter b, c, ... when the domain used it
//               before), a new key pair, the private key written 0600 into key_dir
//   publishing  the new key record is published at <new>._domainkey.<domain> (publish::apply)
//   waiting     until the old record's TTL has passed and every authoritative server serves
//               the new key: no verifier can then meet a signature it has no key for
//   switching   the signer moves to the new key: OpenDKIM's KeyTable and SigningTable rewritten
//               (and the command run, if any), or the command alone
//   grace       the old key stays published grace_days, for mail signed before the switch
//   revoked     the old selector published revoked (`p=` empty) revoked_days, so verifiers say
//               "revoked" rather than "no key" to anything replayed with it
//   done        the old record removed
//
// A publish that is queued (manual publisher) keeps its stage; later advances ask the
// authoritative servers until they all serve it. A conflict, refusal or failure keeps the
// stage too, with the reason in `detail`, where `rampart dkim status` shows it.
//
// Standards: RFC 6376 §3.6.1 (key records; an empty p= means revoked), §3.6.2.1 (selectors
// under _domainkey), RFC 8301 (RSA keys of 2048 bits or more), RFC 8463 (Ed25519), RFC 2182 §3
// (a change counts only when every authoritative server serves it).
// Trust: the private key exists only in setup::PrivateKeyPem and in its 0600 file; no detail,
// report or stored row ever carries it (only its path). The OpenDKIM tables are rewritten whole
// (a temporary file, fsync, rename) keeping every other domain's lines and comments. The switch
// command is run directly (argv, no shell) with RAMPART_DOMAIN, RAMPART_SELECTOR and
// RAMPART_KEY_FILE in its environment.
// Errors: Errc::conflict when a rotation is started while one is unfinished; Errc::malformed for
// a selector prefix that makes no valid name; Errc::io/transient from the store, the key store
// or publish::apply's audit log. Everything the DNS or the signer does wrong is not an error: the
// rotation stays at its stage and says why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/core.hpp"
#include "publish/apply.hpp"
#include "setup/setup.hpp"
#include "store/store.hpp"

namespace rampart::rotation {

enum class Stage : std::uint8_t { publishing, waiting, switching, grace, revoked, done };
[[nodiscard]] std::string_view to_string(Stage stage) noexcept;  // "publishing", ...
/// The stage a stored row is at; nullopt for text this module never writes.
[[nodiscard]] std::optional<Stage> parse_stage(std::string_view text) noexcept;

// ---------------------------------------------------------------------------------------------
// The signer switch

/// A program to run: argv[0] looked up in PATH, no shell; `environment` is added to ours.
struct Command {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> environment;
};
/// Runs a command to its end; the exit status (128 + N when killed by signal N). Errors only
/// when it could not be started.
using CommandRunner = std::function<Result<int>(const Command& command)>;
/// The real runner: posix_spawnp (fork/exec) and waitpid; the child inherits stdout/stderr.
[[nodiscard]] Result<int> run_command(const Command& command);

/// What the signer is switched to.
struct SwitchTo {
    std::string domain;
    std::string selector;
    std::filesystem::path key_file;
};

class SignerSwitch {
public:
    virtual ~SignerSwitch() = default;
    /// Makes the signer use the new key. Any error keeps the rotation at `switching`.
    [[nodiscard]] virtual Result<void> switch_to(const SwitchTo& to) = 0;
};

/// The switch [client.dkim] describes: signer = "opendkim" rewrites key_table and
/// signing_table and then runs `command` when given (a reload); signer = "command" runs the
/// command only. A non-zero exit is an error (Errc::io) naming the status.
class ConfiguredSwitch final : public SignerSwitch {
public:
    ConfiguredSwitch(config::DkimRotationConfig config, CommandRunner run)
        : config_(std::move(config)), run_(std::move(run)) {}
    [[nodiscard]] Result<void> switch_to(const SwitchTo& to) override;

private:
    config::DkimRotationConfig config_;
    CommandRunner run_;
};

/// OpenDKIM KeyTable text with `domain`'s lines (key names `*._domainkey.<domain>`) replaced
/// by the one line `<sel>._domainkey.<domain> <domain>:<sel>:<key_file>`, where the first of
/// them was (else at the end). Comments, blank lines and other domains' lines are kept as they are.
[[nodiscard]] std::string rewrite_key_table(std::string_view text, std::string_view domain,
                                            std::string_view selector,
                                            const std::filesystem::path& key_file);
/// OpenDKIM SigningTable text where every line naming one of `domain`'s keys now names
/// `<sel>._domainkey.<domain>` (its pattern kept), and `*@<domain>` is added (where the first
/// such line was, else at the end) when no line has that pattern.
[[nodiscard]] std::string rewrite_signing_table(std::string_view text, std::string_view domain,
                                                std::string_view selector);
/// Tables are replaced whole by publish::write_whole (the old file's mode and owner kept).
using publish::write_whole;

// ---------------------------------------------------------------------------------------------
// The rotation

/// One domain under rotation: its name, its client (for the publish log) and [client.dkim].
struct Domain {
    std::string domain;
    std::string client;
    config::DkimRotationConfig config;
};

/// What the rotation works through. Only `desk` is required.
struct Ports {
    publish::Desk* desk = nullptr;         // publisher, authority checker and store
    setup::KeyGenerator* keys = nullptr;   // nullptr: setup::openssl_keys()
    setup::KeyStore* key_store = nullptr;  // nullptr: a DirectoryKeyStore over config.key_dir
    SignerSwitch* signer = nullptr;        // nullptr: ConfiguredSwitch(config, run)
    CommandRunner run;                     // empty: run_command
    publish::ApplyOptions apply{.actor = "rampart dkim rotate"};
};

struct StartOptions {
    std::optional<std::string> selector_prefix;  // overrides config.selector_prefix
    bool dry_run = false;  // say what would happen: nothing generated is kept, nothing stored
};

/// Where a rotation stands after a call, and what the call did.
struct Report {
    store::DkimRotation rotation;    // as stored (on a dry run: as it would be stored)
    std::vector<std::string> moves;  // one sentence per stage tried, in order
    bool dry_run = false;
};

/// Starts a rotation of `target.domain` at stage `publishing`. The old selector is the last
/// switched rotation's new selector, else config.selector ("" when none); its record and TTL are
/// read through the desk's checker when there is one ("" and 0 otherwise).
/// Errc::conflict when an unfinished rotation exists; Errc::malformed for a prefix that makes no
/// valid selector; errors of the key generator, key store and store as they come.
[[nodiscard]] Result<Report> start(const Domain& target, const Ports& ports, Timestamp now,
                                   const StartOptions& options = {});

/// Moves the domain's unfinished rotation through every stage whose time has come at `now`,
/// storing each stage as it is reached. Errc::not_found when there is none; errors of the store
/// and of publish::apply (its audit log) as they come. A stage that cannot move yet (not due,
/// not served everywhere, a publish refused, the signer failing) is no error: see `detail`.
[[nodiscard]] Result<Report> advance(const Domain& target, const Ports& ports, Timestamp now);

/// Marks the domain's unfinished rotation finished without going further; the stage is kept
/// and `detail` says "abandoned: <reason>". Nothing in DNS or the signer is changed.
/// Errc::not_found when there is none.
[[nodiscard]] Result<store::DkimRotation> abandon(store::Store& store, std::string_view domain,
                                                  std::string_view reason, Timestamp now);

/// The selector that signs now: the new selector of the last rotation that switched the signer
/// (stage grace, revoked or done), else config.selector.
[[nodiscard]] std::string signing_selector(const config::DkimRotationConfig& config,
                                           std::span<const store::DkimRotation> history);

/// Whether a new rotation is due: rotate_every_days is set, no rotation is unfinished, and the
/// last one started at least that many days before `now` (or there never was one).
[[nodiscard]] bool due(const config::DkimRotationConfig& config,
                       std::span<const store::DkimRotation> history, Timestamp now);

/// What advance_all did for one domain.
struct DomainOutcome {
    std::string domain;
    bool started = false;                         // a rotation was started by this call
    std::optional<store::DkimRotation> rotation;  // where it stands; nullopt: none and not due
    std::vector<std::string> moves;
    std::optional<Error> error;  // this domain failed; the others went on
};

/// The daily tick: for every domain of every client with [client.dkim], starts a rotation when
/// `due` and advances the unfinished one, domain by domain in file order. `desk_for(domain)`
/// gives each domain's desk (null: an error for that domain); `ports.desk` is ignored. Failures
/// of one domain are in its outcome; the call itself errors only when `store` cannot be read.
[[nodiscard]] Result<std::vector<DomainOutcome>> advance_all(
    const config::Config& config, store::Store& store,
    const std::function<publish::Desk*(std::string_view domain)>& desk_for, const Ports& ports,
    Timestamp now);

}  // namespace rampart::rotation

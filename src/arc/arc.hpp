// arc: Authenticated Received Chain. Validate the chain a message arrived with, the way a
// receiver does, and say what the first hop recorded; seal a message (for tests and for
// forwarding set-ups Rampart simulates).
//
// Standards: RFC 8617 §4 (the three header fields and their tags), §5.1 (sealing), §5.2
// (validation: structure, newest AMS, every AS newest first), §5.2.1 (oldest-pass). Signature
// mechanics and canonicalization are DKIM's (RFC 6376), reused from the dkim module.
// Choice: Ed25519 in ARC (a=ed25519-sha256) is accepted. RFC 8617 names only rsa-sha256, but
// nothing in it forbids the DKIM algorithms; dkimpy refuses it, Stalwart accepts it.
// Trust: the header fields come from strangers; at most 50 sets are looked at (RFC 8617 §4.2.1),
// every parse is bounded, nothing asserts on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dkim/dkim.hpp"
#include "message/message.hpp"

namespace rampart::arc {

/// cv= values and the chain result (RFC 8617 §4.4).
enum class ChainStatus : std::uint8_t { none, pass, fail };
[[nodiscard]] std::string_view to_string(ChainStatus status) noexcept;  // "none" | "pass" | "fail"

/// One ARC set as found (a set may be incomplete when the chain is broken).
struct Instance {
    int instance = 0;
    std::string domain;     // d= of the ARC-Seal (or of the AMS when the seal is missing)
    std::string selector;   // s= of the ARC-Seal
    std::string chain_validation;  // cv= of the ARC-Seal
    std::string authentication_results;  // the ARC-Authentication-Results value after "i=N;"
    dkim::Outcome seal = dkim::Outcome::none;       // the AS verified?
    dkim::Outcome message_signature = dkim::Outcome::none;  // the AMS verified? (newest always)
    std::string reason;
};

struct Validation {
    ChainStatus status = ChainStatus::none;
    std::string reason;          // one sentence: why not pass, or "chain of N valid sets"
    int instances = 0;           // highest instance number found (0: no ARC headers)
    /// Lowest instance whose AMS still verifies (RFC 8617 §5.2.1); 0 when not computed/none.
    int oldest_pass = 0;
    std::vector<Instance> sets;  // by instance, 1 first
    /// What the first hop recorded (the i=1 AAR), for the forwarding analysis; "" without it.
    std::string first_hop_results;
};

struct ValidateOptions {
    dkim::VerifyOptions dkim;  // time, key limits (the same rules as DKIM)
    bool compute_oldest_pass = true;
};

/// Streaming validation with the same shape as dkim::Verifier: start() registers the body hashes
/// the AMSs need on the shared hasher; finish() looks keys up and checks the chain.
class Validator {
public:
    Validator(dkim::KeyFetcher& keys, ValidateOptions options = {});
    void start(const message::Header& header, dkim::BodyHasher& body);
    [[nodiscard]] Validation finish(const dkim::BodyHasher& body);

private:
    /// The three fields of one instance as found (nullptr when missing).
    struct Set {
        const message::Field* results = nullptr;    // ARC-Authentication-Results
        const message::Field* signature = nullptr;  // ARC-Message-Signature
        const message::Field* seal = nullptr;       // ARC-Seal
        std::optional<dkim::Signature> parsed_signature;
        std::optional<dkim::Signature> parsed_seal;
        std::string results_text;  // the AAR after "i=N;"
        std::size_t body_request = 0;
    };
    dkim::KeyFetcher& keys_;
    ValidateOptions options_;
    const message::Header* header_ = nullptr;
    std::vector<Set> sets_;       // index = instance - 1
    std::string structure_error_;  // why the chain is broken before any signature is checked
    bool any_arc_field_ = false;
};

[[nodiscard]] Validation validate(const message::Message& message, dkim::KeyFetcher& keys,
                                  const ValidateOptions& options = {});

struct SealOptions {
    std::string domain;
    std::string selector;
    std::string authserv_id;  // the AAR's authserv-id
    /// The results this hop found ("spf=pass smtp.mailfrom=..."), after "i=N; authserv-id;".
    std::string authentication_results;
    std::optional<Timestamp> timestamp;
    std::vector<std::string> headers;  // AMS h=; empty = dkim's default set
    dkim::Canonicalization header_canon = dkim::Canonicalization::relaxed;
    dkim::Canonicalization body_canon = dkim::Canonicalization::relaxed;
    /// The chain's status as validated when the message arrived. An intermediary that changes
    /// the message (a list adding a footer) validates first, changes, then seals: without this,
    /// seal() validates the message it is given.
    std::optional<ChainStatus> arrived_chain;
};

/// Seals a message: validates the existing chain (keys from `keys`), then returns the three new
/// fields, AS first then AMS then AAR (each "Name: value" without final CRLF), to put on top
/// of the header. A chain that failed on arrival gets cv=fail; one whose newest seal already
/// says cv=fail gets no new set (`fields` empty); a message with 50 sets is refused
/// (Errc::limit_exceeded).
struct Sealed {
    std::vector<std::string> fields;
    ChainStatus chain_validation = ChainStatus::none;  // the cv= written
};
[[nodiscard]] Result<Sealed> seal(const message::Message& message, const dkim::PrivateKey& key,
                                  const SealOptions& options, dkim::KeyFetcher& keys,
                                  const ValidateOptions& validate_options = {});

}  // namespace rampart::arc

// dkim: DomainKeys Identified Mail. The key record published at `<s>._domainkey.<d>` (parse it,
// say what key it holds and how strong it is, write one for publishing); the signature header
// and its canonicalization; verification like a receiver; signing with the same code.
//
// Standards: RFC 6376 §3.2 (tag-list syntax), §3.4 (canonicalization), §3.5 (signature tags),
// §3.6.1 (key record tags), §3.7 (hash computation), §5 (signing), §6 (verification), §6.1.2
// (what makes a key unusable); RFC 8301 §3.1–3.2 (rsa-sha1 not used; verifiers reject RSA keys
// under 1024 bits); RFC 8463 (Ed25519: the raw 32-octet key in p=, PureEdDSA over the SHA-256 of
// the header hash input); RFC 8460 §3 (s=tlsrpt); RFC 8601 §2.7.1 (result names).
// Trust: record text comes from strangers' DNS. Parsing is linear in the input, base64 and DER are
// decoded by OpenSSL with sizes checked first, and nothing here asserts on input.
// Errors: `parse_key_record` returns Errc::malformed when the record is not a valid tag-list or
// breaks a MUST of §3.6.1 that makes the whole record unusable (duplicate tag, v= not first or not
// "DKIM1", no p=); problems with the key itself (unknown k=, undecodable p=, short RSA key, sha1
// only) are error Diagnostics on the KeyRecord so an audit can still show what was published.
#pragma once

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"
#include "message/message.hpp"

namespace rampart::dkim {

enum class Severity : std::uint8_t { info, warning, error };
[[nodiscard]] std::string_view to_string(Severity severity) noexcept;

/// Same shape as dmarc::Diagnostic: a stable `code`, one printable sentence, where it starts.
struct Diagnostic {
    Severity severity = Severity::warning;
    std::string code;  // "unknown-key-type", "rsa-too-short", "rsa-1024", "sha1-only", "revoked", ...
    std::string message;
    std::size_t offset = 0;  // byte offset in the record text
};

/// k= (RFC 6376 §3.6.1, RFC 8463). Unknown types keep their text in KeyRecord::key_type_text.
enum class KeyType : std::uint8_t { rsa, ed25519, unknown };
[[nodiscard]] std::string_view to_string(KeyType type) noexcept;  // "rsa" | "ed25519" | "unknown"

// ---------------------------------------------------------------------------------------------
// Key record (RFC 6376 §3.6.1)

struct KeyRecord {
    std::string version;                 // v= ("DKIM1"), empty when absent
    KeyType key_type = KeyType::rsa;     // k=, default rsa
    std::string key_type_text = "rsa";   // k= as written ("rsa" when absent)
    std::vector<std::string> hashes;     // h=, empty = any (sha256 is what RFC 8301 leaves)
    std::vector<std::string> services;   // s=, empty = "*"
    bool testing = false;                // t=y
    bool strict = false;                 // t=s: i= must be exactly d=, no subdomains
    std::vector<std::string> flags;      // t= as written, unknown flags included
    std::string notes;                   // n=, as written (DKIM-quoted-printable not decoded)
    std::vector<std::uint8_t> public_key;  // p= decoded; empty when revoked or undecodable
    bool revoked = false;                // p= present and empty (§3.6.1)
    unsigned key_bits = 0;               // RSA modulus bits; 256 for Ed25519; 0 when unknown
    std::string key_format;              // "spki" | "pkcs1" | "raw-ed25519" | "" (undecodable)
    std::vector<Diagnostic> diagnostics;

    /// No error diagnostic: a verifier could use this key for e-mail.
    [[nodiscard]] bool usable() const noexcept;
    /// s= is absent, "*", or lists "email".
    [[nodiscard]] bool allows_email() const noexcept;
};

/// Parses a key record (the TXT strings already joined). Tag-list rules of RFC 6376 §3.2: FWS
/// around "=" and ";", trailing ";" allowed, tag names case-sensitive, duplicate tags make the
/// record invalid, unknown tags (and the obsolete g=) are ignored; whitespace inside p= is ignored.
/// RSA p= may be SubjectPublicKeyInfo DER or a bare PKCS#1 RSAPublicKey (both are published);
/// Ed25519 p= must be exactly 32 octets. Strength (RFC 8301, RFC 8463): RSA < 1024 bits is an error
/// ("rsa-too-short": verifiers reject it), 1024..2047 a warning ("rsa-weak"), h= without sha256 an
/// error ("sha1-only"), k= unknown an error, revoked a warning, t=y an info.
/// Errc::malformed as described in the header comment, with the reason and the offset in `where`.
[[nodiscard]] Result<KeyRecord> parse_key_record(std::string_view text);

/// "<selector>._domainkey.<domain>" (the selector may itself contain dots). No validation: pass the
/// result to dns::normalize_name before querying.
[[nodiscard]] std::string dkim_key_name(std::string_view selector, std::string_view domain);

/// "v=DKIM1; k=rsa; p=<base64>" (or k=ed25519) for publishing. `key` is the SubjectPublicKeyInfo
/// DER for RSA, the raw 32-octet key for Ed25519 (an SPKI-wrapped Ed25519 key is unwrapped).
/// Errc::malformed when the key does not decode as that type; Errc::unsupported for KeyType::unknown.
[[nodiscard]] Result<std::string> format_key_record(KeyType type, std::span<const std::uint8_t> key);

/// Splits TXT record text into character-strings of at most 255 octets (RFC 1035 §3.3.14), as a
/// 2048-bit RSA record needs: one RR with several strings, which receivers join without separator.
[[nodiscard]] std::vector<std::string> split_txt_strings(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Tag lists (RFC 6376 §3.2): signatures, ARC headers and key records share the syntax.

struct Tag {
    std::string name;             // case-sensitive, as written
    std::string value;            // FWS around it removed; inner folding kept as written
    std::size_t name_offset = 0;  // byte offsets in the parsed text
    std::size_t value_offset = 0;
    std::size_t value_end = 0;
};

/// Parses `tag=value; tag=value[;]` with FWS around "=" and ";". Errc::malformed (with offset)
/// for a tag name that is not ALPHA *(ALPHA/DIGIT/"_"), a missing "=", a value with octets
/// outside tval, or a duplicate tag (RFC 6376 §3.2: the whole list is then invalid).
[[nodiscard]] Result<std::vector<Tag>> parse_tag_list(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Signatures (RFC 6376 §3.5; RFC 8617 §4.1 reuses them for ARC)

/// a= values. rsa-sha1 is parsed so a verifier can say why it refuses it (RFC 8301).
enum class Algorithm : std::uint8_t { rsa_sha256, ed25519_sha256, rsa_sha1, unknown };
[[nodiscard]] std::string_view to_string(Algorithm algorithm) noexcept;  // "rsa-sha256", ...
[[nodiscard]] Algorithm parse_algorithm(std::string_view text) noexcept;
/// The key type an algorithm needs (rsa for rsa-*, ed25519 for ed25519-*; unknown otherwise).
[[nodiscard]] KeyType key_type_of(Algorithm algorithm) noexcept;

enum class Canonicalization : std::uint8_t { simple, relaxed };
[[nodiscard]] std::string_view to_string(Canonicalization c) noexcept;  // "simple" | "relaxed"

/// Which header field carries it: the tag rules differ (RFC 8617 §4.1.2–4.1.3: AMS has no v=
/// and an i= instance; AS has only i, a, b, d, s, t, cv, and h= makes it invalid).
enum class SignatureKind : std::uint8_t { dkim, arc_message, arc_seal };

struct Signature {
    SignatureKind kind = SignatureKind::dkim;
    Algorithm algorithm = Algorithm::unknown;
    std::string algorithm_text;              // a= as written
    std::vector<std::uint8_t> signature;     // b= decoded (whitespace ignored)
    std::string signature_text;              // b= as written, whitespace removed (A-R header.b)
    std::vector<std::uint8_t> body_hash;     // bh= decoded; empty for ARC-Seal
    Canonicalization header_canon = Canonicalization::simple;  // c= (ARC-Seal: always relaxed)
    Canonicalization body_canon = Canonicalization::simple;
    std::string domain;                      // d=, lower-cased
    std::string selector;                    // s=, as written
    std::vector<std::string> signed_headers;  // h=, in order, as written (trimmed)
    std::string identity;                    // i= for DKIM (the AUID; "@<d>" when absent)
    int instance = 0;                        // i= for ARC (1..50)
    std::string chain_validation;            // cv= for ARC-Seal ("none" | "pass" | "fail")
    std::optional<std::uint64_t> body_length;  // l=
    std::optional<Timestamp> timestamp;        // t=
    std::optional<Timestamp> expiration;       // x=
    std::string copied_headers;                // z=, as written
    std::vector<Tag> tags;                     // every tag, unknown ones included
};

/// Parses the value of a DKIM-Signature (or ARC-Message-Signature / ARC-Seal) field: the text
/// after the colon, folding included. Errc::malformed (a permerror for verifiers) when a required
/// tag is missing (v, a, b, bh, d, h, s for DKIM; RFC 8617's sets for ARC), v= is not "1", c= or
/// i= or l= or t= or x= is not valid, i= is not under d=, x= is not after t=, h= lacks From (DKIM
/// only), base64 does not decode, or the tag list itself is invalid. An unknown a= is not a parse
/// error: it comes back as Algorithm::unknown and the verifier says "unknown algorithm".
[[nodiscard]] Result<Signature> parse_signature(std::string_view field_value,
                                                SignatureKind kind = SignatureKind::dkim);

// ---------------------------------------------------------------------------------------------
// Canonicalization (RFC 6376 §3.4) and the hash inputs (§3.7)

/// A header field as it goes into the header hash, CRLF included: simple = the field as it
/// arrived; relaxed = name lower-cased, folding removed, WSP runs as one SP, WSP removed at the
/// end of the value and around the colon.
[[nodiscard]] std::string canonicalize_header(const message::Field& field, Canonicalization c);

/// The signature field itself as the last input of the header hash: canonicalized, with the
/// b= value emptied (the tag itself stays) and without the trailing CRLF (§3.7).
[[nodiscard]] std::string canonicalize_signature_field(const message::Field& field,
                                                        Canonicalization c);

/// The canonicalized fields named in `names`, in that order: for each name the next instance
/// from the bottom of the header not used yet; a name with no instance left adds nothing
/// (over-signing, §5.4.2). Each field CRLF-terminated.
[[nodiscard]] std::string canonicalize_selected(const message::Header& header,
                                                std::span<const std::string> names,
                                                Canonicalization c);

enum class HashAlgorithm : std::uint8_t { sha256, sha1 };
[[nodiscard]] HashAlgorithm hash_of(Algorithm algorithm) noexcept;  // sha1 only for rsa-sha1

/// Body hashes for several signatures over one pass of the body: each request is a
/// (canonicalization, hash, l=) triple and identical requests share one computation. The body
/// is fed in chunks with CRLF line ends (message::Reader's), so nothing holds it whole.
class BodyHasher {
public:
    BodyHasher();
    ~BodyHasher();
    BodyHasher(BodyHasher&&) noexcept;
    BodyHasher& operator=(BodyHasher&&) noexcept;
    BodyHasher(const BodyHasher&) = delete;
    BodyHasher& operator=(const BodyHasher&) = delete;

    /// Registers a request before the first update(); returns its index.
    std::size_t request(Canonicalization c, HashAlgorithm hash,
                        std::optional<std::uint64_t> length = std::nullopt);
    void update(std::string_view chunk);
    /// Ends the body: trailing empty lines are settled and the hashes computed.
    void finish();

    struct Digest {
        std::vector<std::uint8_t> hash;       // over min(l=, canonical length) octets
        std::uint64_t canonical_length = 0;   // the whole canonical body's length
    };
    /// After finish().
    [[nodiscard]] const Digest& digest(std::size_t index) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Keys

/// What the look-up of `<s>._domainkey.<d>` found.
struct KeyLookup {
    enum class Status : std::uint8_t {
        found,      // a record that parsed (it may still be unusable: revoked, short, ...)
        no_key,     // NXDOMAIN, NODATA, or no record that parses as a key: permerror
        temperror,  // SERVFAIL, timeout: try later
    };
    Status status = Status::no_key;
    std::optional<KeyRecord> record;
    std::string record_text;  // the TXT text used (strings joined)
    std::string reason;       // why no_key or temperror, in plain words
};

/// Where keys come from. Thread-safe implementations may be used by several verifiers at once.
class KeyFetcher {
public:
    virtual ~KeyFetcher() = default;
    [[nodiscard]] virtual KeyLookup fetch(std::string_view selector, std::string_view domain) = 0;
};

/// Looks keys up in DNS. Several TXT records at the name: the first that parses as a key record
/// is used (RFC 6376 §6.1.2 leaves the choice to the verifier).
class DnsKeyFetcher final : public KeyFetcher {
public:
    explicit DnsKeyFetcher(dns::Resolver& resolver) : resolver_(resolver) {}
    [[nodiscard]] KeyLookup fetch(std::string_view selector, std::string_view domain) override;

private:
    dns::Resolver& resolver_;
};

/// The look-up result for the TXT texts (strings joined) found at `name`: the first text that
/// parses as a key record is used; texts that are plainly not keys (neither "v=DKIM1" first nor
/// a "p=") are skipped. no_key, with the first parse error as the reason and its text in
/// record_text, when none parses. For DnsKeyFetcher and for in-memory fetchers in tests.
[[nodiscard]] KeyLookup key_lookup_from_records(std::string_view name,
                                                std::span<const std::string> texts);

/// A private key for signing, held by OpenSSL. Never printed; moving is cheap.
class PrivateKey {
public:
    /// PEM: PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"), RSA or Ed25519.
    [[nodiscard]] static Result<PrivateKey> from_pem(std::string_view pem);
    /// Reads a PEM file (or a file holding the base64 of a 32-octet Ed25519 seed, as dkimpy and
    /// OpenDKIM write them). Errc::denied when the file is readable by group or others: private
    /// keys live in files with mode 0600.
    [[nodiscard]] static Result<PrivateKey> from_file(const std::filesystem::path& path);
    /// An Ed25519 key from its 32-octet seed (RFC 8032 §5.1.5).
    [[nodiscard]] static Result<PrivateKey> ed25519_from_seed(std::span<const std::uint8_t> seed);

    PrivateKey(PrivateKey&&) noexcept;
    PrivateKey& operator=(PrivateKey&&) noexcept;
    PrivateKey(const PrivateKey&) = delete;
    PrivateKey& operator=(const PrivateKey&) = delete;
    ~PrivateKey();

    [[nodiscard]] KeyType type() const noexcept;
    [[nodiscard]] unsigned bits() const noexcept;
    /// The public half as format_key_record wants it (RSA SPKI DER; Ed25519 raw 32 octets).
    [[nodiscard]] std::vector<std::uint8_t> public_key() const;
    /// For the crypto layer only.
    [[nodiscard]] void* native() const noexcept { return key_; }

private:
    explicit PrivateKey(void* key) noexcept : key_(key) {}
    void* key_ = nullptr;  // EVP_PKEY*
};

/// Signs the header hash input `data` (§3.7): RSA PKCS#1 v1.5 over SHA-256(data), or Ed25519
/// over SHA-256(data) (RFC 8463 §3). Errc::unsupported for rsa-sha1/unknown or a key of the wrong
/// type.
[[nodiscard]] Result<std::vector<std::uint8_t>> sign_data(const PrivateKey& key, Algorithm algorithm,
                                                          std::string_view data);
/// Base64 as b= and bh= carry it (no line breaks).
[[nodiscard]] std::string encode_base64(std::span<const std::uint8_t> bytes);

/// Checks `signature` over `data` with a key record's public key. Errc::malformed when the key
/// cannot be loaded or does not match the algorithm; false when the signature does not verify.
[[nodiscard]] Result<bool> verify_data(const KeyRecord& key, Algorithm algorithm,
                                       std::string_view data,
                                       std::span<const std::uint8_t> signature);

// ---------------------------------------------------------------------------------------------
// Verification (RFC 6376 §6)

namespace crypto {
class VerifyKey;  // a public key loaded once per (s, d) (dkim/crypto.hpp)
}

/// Result names of RFC 8601 §2.7.1.
enum class Outcome : std::uint8_t { none, pass, fail, policy, neutral, temperror, permerror };
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;

struct VerifyOptions {
    Timestamp now{};                        // for x= (expired) and t= (in the future)
    std::chrono::seconds clock_skew{300};   // allowed for t= in the future and x= just passed
    std::size_t max_signatures = 16;        // more are permerror "not checked" (DoS bound)
    unsigned min_rsa_bits = 1024;           // RFC 8301 §3.2
    bool allow_rsa_sha1 = false;            // RFC 8301 §3.1 says never; kept for study
};

struct SignatureResult {
    Outcome result = Outcome::none;
    std::string code;    // stable: "pass", "body-hash-mismatch", "signature-mismatch",
                         // "key-not-found", "key-temperror", "key-revoked", "key-unusable",
                         // "key-too-short", "key-type-mismatch", "hash-not-allowed",
                         // "service-not-email", "strict-identity", "expired", "future",
                         // "body-too-short", "rsa-sha1", "unknown-algorithm", "malformed",
                         // "too-many-signatures"
    std::string reason;  // one sentence for a human
    std::size_t field_index = 0;  // index in Header::fields of the signature field
    // What the signature says (empty/unset when it did not parse).
    std::string domain;
    std::string selector;
    std::string identity;
    Algorithm algorithm = Algorithm::unknown;
    std::string algorithm_text;
    Canonicalization header_canon = Canonicalization::simple;
    Canonicalization body_canon = Canonicalization::simple;
    std::vector<std::string> signed_headers;
    std::optional<std::uint64_t> body_length;
    std::uint64_t body_octets = 0;   // canonical body length seen (to compare with l=)
    std::optional<Timestamp> timestamp;
    std::optional<Timestamp> expiration;
    std::string signature_text;      // b=, for A-R header.b (the first 8 characters are enough)
    // The key (when looked up).
    KeyType key_type = KeyType::unknown;
    unsigned key_bits = 0;
    bool key_testing = false;        // t=y on the key: receivers treat a failure like none
};

/// Verifies every DKIM-Signature of one message in a streaming pass:
///   Verifier v(keys, options);  v.start(header, hasher);  (feed the body to hasher, finish it)
///   auto results = v.finish(hasher);
/// `header` must outlive the Verifier. Results come in header order (top first), one per
/// DKIM-Signature field. Key look-ups happen in finish(), one per distinct (s, d).
class Verifier {
public:
    Verifier(KeyFetcher& keys, VerifyOptions options = {});
    void start(const message::Header& header, BodyHasher& body);
    [[nodiscard]] std::vector<SignatureResult> finish(const BodyHasher& body);

private:
    struct Pending {
        std::size_t field_index = 0;
        std::optional<Signature> signature;
        std::string parse_error;
        std::size_t body_request = 0;
        bool over_limit = false;  // past max_signatures: not parsed, not checked
    };
    void check_hashes(SignatureResult& result, const Pending& pending, const BodyHasher& body,
                      const crypto::VerifyKey& key) const;
    KeyFetcher& keys_;
    VerifyOptions options_;
    const message::Header* header_ = nullptr;
    std::vector<Pending> pending_;
};

/// The whole message at once (tests, small messages).
[[nodiscard]] std::vector<SignatureResult> verify(const message::Message& message, KeyFetcher& keys,
                                                  const VerifyOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Signing (RFC 6376 §5)

struct SignOptions {
    std::string domain;    // d=
    std::string selector;  // s=
    /// Default: rsa-sha256 for an RSA key, ed25519-sha256 for an Ed25519 key.
    std::optional<Algorithm> algorithm;
    Canonicalization header_canon = Canonicalization::relaxed;
    Canonicalization body_canon = Canonicalization::relaxed;
    /// Fields to sign; empty = the usual set that is present in the message (From, Reply-To,
    /// Subject, Date, To, Cc, Message-ID, In-Reply-To, References, MIME-Version, Content-Type,
    /// Content-Transfer-Encoding, List-* ...). From is always signed.
    std::vector<std::string> headers;
    /// Name each signed field once more than it occurs, so fields added later break the
    /// signature (§8.15).
    bool oversign = true;
    std::string identity;                  // i=, empty = not written
    std::optional<Timestamp> timestamp;    // t=
    std::optional<Timestamp> expiration;   // x=
    bool body_length = false;              // write l= (not recommended; for tests)
};

/// Streaming signer with the same shape as Verifier.
class Signer {
public:
    Signer(const PrivateKey& key, SignOptions options);
    /// Errc::malformed when the header has no From field (a signature must cover it),
    /// Errc::unsupported for an algorithm the key cannot make.
    [[nodiscard]] Result<void> start(const message::Header& header, BodyHasher& body);
    /// The complete field, "DKIM-Signature: v=1; a=...", folded at 78 columns with CRLF and no
    /// final CRLF: put it (plus CRLF) on top of the header.
    [[nodiscard]] Result<std::string> finish(const BodyHasher& body);

private:
    const PrivateKey& key_;
    SignOptions options_;
    const message::Header* header_ = nullptr;
    Algorithm algorithm_ = Algorithm::unknown;
    std::vector<std::string> names_;
    std::size_t body_request_ = 0;
};

/// Signs a whole message in memory; returns the DKIM-Signature field as Signer::finish does.
[[nodiscard]] Result<std::string> sign(const message::Message& message, const PrivateKey& key,
                                       const SignOptions& options);

}  // namespace rampart::dkim

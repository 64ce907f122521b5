// dkim: DomainKeys Identified Mail. Today: the key record published at `<s>._domainkey.<d>` —
// parse it, say what key it holds and how strong it is, and write one for publishing.
// Signing and verification join this module later; they build on KeyRecord.
//
// Standards: RFC 6376 §3.2 (tag-list syntax), §3.6.1 (key record tags), §6.1.2 (what makes a key
// unusable); RFC 8301 §3.2 (RSA key sizes: verifiers reject < 1024 bits; sha1 not to be used);
// RFC 8463 §4.2 (Ed25519 keys: the raw 32-octet key in p=); RFC 8460 §3 (s=tlsrpt).
// Trust: record text comes from strangers' DNS. Parsing is linear in the input, base64 and DER are
// decoded by OpenSSL with sizes checked first, and nothing here asserts on input.
// Errors: `parse_key_record` returns Errc::malformed when the record is not a valid tag-list or
// breaks a MUST of §3.6.1 that makes the whole record unusable (duplicate tag, v= not first or not
// "DKIM1", no p=); problems with the key itself (unknown k=, undecodable p=, short RSA key, sha1
// only) are error Diagnostics on the KeyRecord so an audit can still show what was published.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

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

}  // namespace rampart::dkim

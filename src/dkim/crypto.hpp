// dkim internals: every OpenSSL call of the module goes through this file pair, so the crypto
// backend is in one place. Not part of the public interface.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/dkim.hpp"

namespace rampart::dkim::crypto {

/// Decodes base64 that holds only the base64 alphabet and "=" padding (whitespace already
/// removed). nullopt when it is not valid base64 (bad length, padding in the middle).
[[nodiscard]] std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);

/// What a p= value holds.
struct KeyInfo {
    KeyType type = KeyType::unknown;  // the key's own type (from the DER), unknown if undecodable
    unsigned bits = 0;
    std::string format;   // "spki" | "pkcs1" | "raw-ed25519" | ""
    std::string problem;  // why it could not be read, "" when it was
};

/// Reads an RSA key as SubjectPublicKeyInfo DER, else as a bare PKCS#1 RSAPublicKey. The whole
/// input must be consumed.
[[nodiscard]] KeyInfo inspect_rsa_key(std::span<const std::uint8_t> der);
/// Reads an Ed25519 key: the raw 32 octets of RFC 8463 (an SPKI wrapping is recognised and
/// reported, since some tools publish it).
[[nodiscard]] KeyInfo inspect_ed25519_key(std::span<const std::uint8_t> bytes);
/// The raw 32-octet key inside an Ed25519 SubjectPublicKeyInfo, or nullopt.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> ed25519_raw_key(
    std::span<const std::uint8_t> spki);

}  // namespace rampart::dkim::crypto

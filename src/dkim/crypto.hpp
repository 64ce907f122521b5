// dkim internals: every OpenSSL call of the module goes through this file pair, so the crypto
// backend is in one place. Not part of the public interface.
#pragma once

#include <cstdint>
#include <memory>
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

namespace rampart::dkim::crypto {

/// A running message digest (OpenSSL EVP_MD_CTX): the body hashes are computed as the body
/// streams past, without holding it.
class Hash {
public:
    explicit Hash(HashAlgorithm algorithm);
    ~Hash();
    Hash(Hash&& other) noexcept;
    Hash& operator=(Hash&& other) noexcept;
    Hash(const Hash&) = delete;
    Hash& operator=(const Hash&) = delete;

    void update(std::string_view data);
    /// The digest; the object is spent afterwards.
    [[nodiscard]] std::vector<std::uint8_t> finish();

private:
    void* context_ = nullptr;  // EVP_MD_CTX*
};

/// The digest of `data` in one call.
[[nodiscard]] std::vector<std::uint8_t> digest(HashAlgorithm algorithm, std::string_view data);

/// A public key loaded once for verifying (RSA from SPKI or PKCS#1 DER, Ed25519 from the raw 32
/// octets), so a message with several signatures by one key parses it once.
class VerifyKey {
public:
    /// nullopt (with the reason in `problem`) when the bytes are not a key of that type.
    [[nodiscard]] static std::optional<VerifyKey> load(KeyType type,
                                                       std::span<const std::uint8_t> bytes,
                                                       std::string& problem);
    /// The same key, loaded once per process: a sender signs thousands of messages (and ARC
    /// seals) with one key, and OpenSSL's decoder cost as much as checking a signature. Bounded;
    /// emptied when full. nullptr (with `problem`) as load() gives nullopt.
    [[nodiscard]] static std::shared_ptr<const VerifyKey> shared(KeyType type,
                                                                 std::span<const std::uint8_t> bytes,
                                                                 std::string& problem);
    ~VerifyKey();
    VerifyKey(VerifyKey&& other) noexcept;
    VerifyKey& operator=(VerifyKey&& other) noexcept;
    VerifyKey(const VerifyKey&) = delete;
    VerifyKey& operator=(const VerifyKey&) = delete;

    /// Errc::malformed when the algorithm does not fit the key; false when the signature does
    /// not verify.
    [[nodiscard]] Result<bool> verify(Algorithm algorithm, std::string_view data,
                                      std::span<const std::uint8_t> signature) const;

private:
    VerifyKey(void* key, KeyType type) noexcept : key_(key), type_(type) {}
    void* key_ = nullptr;  // EVP_PKEY*
    KeyType type_ = KeyType::unknown;
};

// Private keys, as PrivateKey holds them (an EVP_PKEY* behind a void*).
[[nodiscard]] Result<void*> read_private_pem(std::string_view pem);
[[nodiscard]] Result<void*> ed25519_private_from_seed(std::span<const std::uint8_t> seed);
void free_private(void* key) noexcept;
[[nodiscard]] KeyType private_type(const void* key) noexcept;
[[nodiscard]] unsigned private_bits(const void* key) noexcept;
/// RSA: SubjectPublicKeyInfo DER; Ed25519: the raw 32 octets.
[[nodiscard]] std::vector<std::uint8_t> public_of(const void* key);
/// RSA PKCS#1 v1.5 with SHA-256 over `data`, or PureEdDSA over SHA-256(data) (RFC 8463 §3).
[[nodiscard]] Result<std::vector<std::uint8_t>> sign(const void* key, Algorithm algorithm,
                                                     std::string_view data);

}  // namespace rampart::dkim::crypto

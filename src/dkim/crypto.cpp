// OpenSSL behind the dkim module: base64 and public-key decoding.
#include "dkim/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <limits>
#include <memory>
#include <string>

namespace rampart::dkim::crypto {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr std::size_t ed25519_key_size = 32;

/// d2i_* take a long length; inputs here are bounded by the parser far below that.
long der_length(std::span<const std::uint8_t> der) noexcept {
    constexpr auto max = static_cast<std::size_t>(std::numeric_limits<int>::max());
    return static_cast<long>(der.size() < max ? der.size() : max);
}

/// SubjectPublicKeyInfo that spans the whole input, or null.
Pkey read_spki(std::span<const std::uint8_t> der) {
    const unsigned char* cursor = der.data();
    Pkey key(d2i_PUBKEY(nullptr, &cursor, der_length(der)));
    if (key && cursor != der.data() + der.size()) key.reset();
    return key;
}

/// PKCS#1 RSAPublicKey that spans the whole input, or null.
Pkey read_pkcs1(std::span<const std::uint8_t> der) {
    const unsigned char* cursor = der.data();
    Pkey key(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, der_length(der)));
    if (key && cursor != der.data() + der.size()) key.reset();
    return key;
}

unsigned key_bits(const EVP_PKEY* key) noexcept {
    const int bits = EVP_PKEY_get_bits(key);
    return bits > 0 ? static_cast<unsigned>(bits) : 0u;
}

KeyType type_of(const EVP_PKEY* key) noexcept {
    if (EVP_PKEY_is_a(key, "RSA") == 1) return KeyType::rsa;
    if (EVP_PKEY_is_a(key, "ED25519") == 1) return KeyType::ed25519;
    return KeyType::unknown;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    const auto pad_at = text.find('=');
    if (pad_at != std::string_view::npos) {
        // Padding only at the end, at most two.
        if (text.size() - pad_at > 2 || text.find_first_not_of('=', pad_at) != std::string_view::npos) {
            return std::nullopt;
        }
    }
    std::vector<std::uint8_t> out(text.size() / 4 * 3);
    if (text.empty()) return out;
    const int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                        static_cast<int>(text.size()));
    if (written < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes; drop them.
    const std::size_t padding = pad_at == std::string_view::npos ? 0 : text.size() - pad_at;
    out.resize(static_cast<std::size_t>(written) - padding);
    return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                        static_cast<int>(bytes.size()));
    out.resize(written > 0 ? static_cast<std::size_t>(written) : 0u);
    return out;
}

KeyInfo inspect_rsa_key(std::span<const std::uint8_t> der) {
    KeyInfo info;
    if (auto key = read_spki(der)) {
        info.type = type_of(key.get());
        info.bits = key_bits(key.get());
        info.format = "spki";
        if (info.type != KeyType::rsa) {
            info.problem = info.type == KeyType::ed25519
                               ? "p= holds an Ed25519 key, but k= says rsa"
                               : "p= holds a SubjectPublicKeyInfo that is not an RSA key";
        }
        return info;
    }
    if (auto key = read_pkcs1(der)) {
        info.type = KeyType::rsa;
        info.bits = key_bits(key.get());
        info.format = "pkcs1";
        return info;
    }
    info.problem = "p= is neither a SubjectPublicKeyInfo nor a PKCS#1 RSAPublicKey (DER)";
    return info;
}

std::optional<std::vector<std::uint8_t>> ed25519_raw_key(std::span<const std::uint8_t> spki) {
    auto key = read_spki(spki);
    if (!key || type_of(key.get()) != KeyType::ed25519) return std::nullopt;
    std::vector<std::uint8_t> raw(ed25519_key_size);
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &size) != 1 || size != raw.size()) {
        return std::nullopt;
    }
    return raw;
}

KeyInfo inspect_ed25519_key(std::span<const std::uint8_t> bytes) {
    KeyInfo info;
    if (bytes.size() == ed25519_key_size) {
        Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes.data(), bytes.size()));
        if (key) {
            info.type = KeyType::ed25519;
            info.bits = 256;
            info.format = "raw-ed25519";
            return info;
        }
    }
    if (ed25519_raw_key(bytes)) {
        info.type = KeyType::ed25519;
        info.bits = 256;
        info.format = "spki";
        info.problem = "p= holds an Ed25519 SubjectPublicKeyInfo; RFC 8463 publishes the raw "
                       "32-octet key, which verifiers expect";
        return info;
    }
    if (auto rsa = read_spki(bytes); rsa && type_of(rsa.get()) == KeyType::rsa) {
        info.type = KeyType::rsa;
        info.problem = "p= holds an RSA key, but k= says ed25519";
        return info;
    }
    info.problem = "an Ed25519 key is 32 octets; p= holds " + std::to_string(bytes.size());
    return info;
}

}  // namespace rampart::dkim::crypto

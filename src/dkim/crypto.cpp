// OpenSSL behind the dkim module: base64, public-key decoding, digests, signing and verifying.
#include "dkim/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace rampart::dkim::crypto {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr std::size_t ed25519_key_size = 32;

std::string fmt_unsupported(Algorithm algorithm) {
    return "the key cannot make " + std::string(to_string(algorithm)) + " signatures";
}

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
        if (text.size() - pad_at > 2 ||
            text.find_first_not_of('=', pad_at) != std::string_view::npos) {
            return std::nullopt;
        }
    }
    std::vector<std::uint8_t> out(text.size() / 4 * 3);
    if (text.empty()) return out;
    const int written =
        EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
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
        Pkey key(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes.data(), bytes.size()));
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
        info.problem =
            "p= holds an Ed25519 SubjectPublicKeyInfo; RFC 8463 publishes the raw "
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

// ---------------------------------------------------------------------------------------------
// Digests

namespace {

struct MdCtxFree {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const EVP_MD* md_of(HashAlgorithm algorithm) noexcept {
    return algorithm == HashAlgorithm::sha1 ? EVP_sha1() : EVP_sha256();
}

EVP_MD_CTX* context_of(void* context) noexcept { return static_cast<EVP_MD_CTX*>(context); }

}  // namespace

Hash::Hash(HashAlgorithm algorithm) {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    RAMPART_ASSERT(context != nullptr);
    RAMPART_ASSERT(EVP_DigestInit_ex(context, md_of(algorithm), nullptr) == 1);
    context_ = context;
}

Hash::~Hash() { EVP_MD_CTX_free(context_of(context_)); }

Hash::Hash(Hash&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}

Hash& Hash::operator=(Hash&& other) noexcept {
    if (this != &other) {
        EVP_MD_CTX_free(context_of(context_));
        context_ = std::exchange(other.context_, nullptr);
    }
    return *this;
}

void Hash::update(std::string_view data) {
    if (data.empty() || context_ == nullptr) return;
    EVP_DigestUpdate(context_of(context_), data.data(), data.size());
}

std::vector<std::uint8_t> Hash::finish() {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned size = 0;
    if (context_ == nullptr || EVP_DigestFinal_ex(context_of(context_), out.data(), &size) != 1) {
        return {};
    }
    out.resize(size);
    return out;
}

std::vector<std::uint8_t> digest(HashAlgorithm algorithm, std::string_view data) {
    Hash hash(algorithm);
    hash.update(data);
    return hash.finish();
}

// ---------------------------------------------------------------------------------------------
// Verifying

namespace {

EVP_PKEY* pkey_of(void* key) noexcept { return static_cast<EVP_PKEY*>(key); }
const EVP_PKEY* pkey_of(const void* key) noexcept { return static_cast<const EVP_PKEY*>(key); }

/// Ed25519 in DKIM signs the SHA-256 of the header hash input, not the input (RFC 8463 §3).
bool uses_prehash(Algorithm algorithm) noexcept { return algorithm == Algorithm::ed25519_sha256; }

/// The digest EVP_DigestSign/Verify runs: none for PureEdDSA.
const EVP_MD* signature_md(Algorithm algorithm) noexcept {
    switch (algorithm) {
        case Algorithm::rsa_sha256: return EVP_sha256();
        case Algorithm::rsa_sha1: return EVP_sha1();
        case Algorithm::ed25519_sha256:
        case Algorithm::unknown: break;
    }
    return nullptr;
}

}  // namespace

std::optional<VerifyKey> VerifyKey::load(KeyType type, std::span<const std::uint8_t> bytes,
                                         std::string& problem) {
    Pkey key;
    if (type == KeyType::rsa) {
        key = read_spki(bytes);
        if (!key) key = read_pkcs1(bytes);
        if (key && type_of(key.get()) != KeyType::rsa) key.reset();
    } else if (type == KeyType::ed25519 && bytes.size() == ed25519_key_size) {
        key.reset(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes.data(), bytes.size()));
    }
    if (!key) {
        problem = type == KeyType::ed25519 ? "p= is not a raw 32-octet Ed25519 key"
                                           : "p= is not an RSA public key";
        return std::nullopt;
    }
    return VerifyKey(key.release(), type);
}

std::shared_ptr<const VerifyKey> VerifyKey::shared(KeyType type, std::span<const std::uint8_t> bytes,
                                                   std::string& problem) {
    static constexpr std::size_t max_keys = 1024;
    static std::mutex mutex;
    static std::unordered_map<std::string, std::shared_ptr<const VerifyKey>> keys;
    std::string id(1, static_cast<char>(type));
    id.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    {
        std::lock_guard lock(mutex);
        if (auto it = keys.find(id); it != keys.end()) return it->second;
    }
    auto loaded = load(type, bytes, problem);
    if (!loaded) return nullptr;
    auto key = std::make_shared<const VerifyKey>(std::move(*loaded));
    std::lock_guard lock(mutex);
    if (keys.size() >= max_keys) keys.clear();
    keys.emplace(std::move(id), key);
    return key;
}

VerifyKey::~VerifyKey() { EVP_PKEY_free(pkey_of(key_)); }

VerifyKey::VerifyKey(VerifyKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), type_(other.type_) {}

VerifyKey& VerifyKey::operator=(VerifyKey&& other) noexcept {
    if (this != &other) {
        EVP_PKEY_free(pkey_of(key_));
        key_ = std::exchange(other.key_, nullptr);
        type_ = other.type_;
    }
    return *this;
}

Result<bool> VerifyKey::verify(Algorithm algorithm, std::string_view data,
                               std::span<const std::uint8_t> signature) const {
    if (key_ == nullptr || key_type_of(algorithm) != type_ || algorithm == Algorithm::unknown) {
        return fail(Errc::malformed, "the key does not fit the signature algorithm");
    }
    MdCtx context(EVP_MD_CTX_new());
    if (!context || EVP_DigestVerifyInit(context.get(), nullptr, signature_md(algorithm), nullptr,
                                         pkey_of(key_)) != 1) {
        return fail(Errc::malformed, "the key cannot be used for verifying");
    }
    std::vector<std::uint8_t> prehash;
    std::string_view input = data;
    if (uses_prehash(algorithm)) {
        prehash = digest(HashAlgorithm::sha256, data);
        input = {reinterpret_cast<const char*>(prehash.data()), prehash.size()};
    }
    const int verified =
        EVP_DigestVerify(context.get(), signature.data(), signature.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    return verified == 1;
}

// ---------------------------------------------------------------------------------------------
// Private keys and signing

namespace {

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// PEM private keys are a few KB; a file larger than this is not one.
constexpr std::size_t max_pem_size = 64 * 1024;

}  // namespace

Result<void*> read_private_pem(std::string_view pem) {
    if (pem.size() > max_pem_size)
        return fail(Errc::limit_exceeded, "the PEM text is too large for a key");
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return fail(Errc::io, "out of memory reading the key");
    // No passphrase callback: an encrypted key is refused, not prompted for.
    Pkey key(PEM_read_bio_PrivateKey(
        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    if (!key) return fail(Errc::malformed, "the text is not an unencrypted PEM private key");
    const KeyType type = type_of(key.get());
    if (type == KeyType::unknown)
        return fail(Errc::unsupported, "the key is neither RSA nor Ed25519");
    return static_cast<void*>(key.release());
}

Result<void*> ed25519_private_from_seed(std::span<const std::uint8_t> seed) {
    if (seed.size() != ed25519_key_size) {
        return fail(Errc::malformed,
                    "an Ed25519 seed is 32 octets; got " + std::to_string(seed.size()));
    }
    Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    if (!key) return fail(Errc::malformed, "the seed does not make an Ed25519 key");
    return static_cast<void*>(key.release());
}

void free_private(void* key) noexcept { EVP_PKEY_free(pkey_of(key)); }

KeyType private_type(const void* key) noexcept {
    return key == nullptr ? KeyType::unknown : type_of(pkey_of(key));
}

unsigned private_bits(const void* key) noexcept {
    return key == nullptr ? 0u : key_bits(pkey_of(key));
}

std::vector<std::uint8_t> public_of(const void* key) {
    if (key == nullptr) return {};
    auto* pkey = const_cast<EVP_PKEY*>(pkey_of(key));  // i2d_PUBKEY takes a non-const key
    if (type_of(pkey) == KeyType::ed25519) {
        std::vector<std::uint8_t> raw(ed25519_key_size);
        std::size_t size = raw.size();
        if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &size) != 1) return {};
        raw.resize(size);
        return raw;
    }
    const int size = i2d_PUBKEY(pkey, nullptr);
    if (size <= 0) return {};
    std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
    unsigned char* cursor = der.data();
    if (i2d_PUBKEY(pkey, &cursor) != size) return {};
    return der;
}

Result<std::vector<std::uint8_t>> sign(const void* key, Algorithm algorithm,
                                       std::string_view data) {
    if (key == nullptr || algorithm == Algorithm::unknown || algorithm == Algorithm::rsa_sha1 ||
        key_type_of(algorithm) != private_type(key)) {
        return fail(Errc::unsupported, fmt_unsupported(algorithm));
    }
    auto* pkey = const_cast<EVP_PKEY*>(pkey_of(key));  // EVP_DigestSignInit takes a non-const key
    MdCtx context(EVP_MD_CTX_new());
    if (!context ||
        EVP_DigestSignInit(context.get(), nullptr, signature_md(algorithm), nullptr, pkey) != 1) {
        return fail(Errc::unsupported, "the key cannot be used for signing");
    }
    std::vector<std::uint8_t> prehash;
    std::string_view input = data;
    if (uses_prehash(algorithm)) {
        prehash = digest(HashAlgorithm::sha256, data);
        input = {reinterpret_cast<const char*>(prehash.data()), prehash.size()};
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
    std::size_t size = 0;
    if (EVP_DigestSign(context.get(), nullptr, &size, bytes, input.size()) != 1) {
        return fail(Errc::unsupported, "signing failed");
    }
    std::vector<std::uint8_t> signature(size);
    if (EVP_DigestSign(context.get(), signature.data(), &size, bytes, input.size()) != 1) {
        return fail(Errc::unsupported, "signing failed");
    }
    signature.resize(size);
    return signature;
}

}  // namespace rampart::dkim::crypto

// DKIM key pairs (OpenSSL 3 EVP) and the private key file. The private key exists as text only
// inside PrivateKeyPem (wiped on release) and in the 0600 file; nothing here logs or formats it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "setup/setup.hpp"

namespace rampart::setup {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct CtxFree {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::unexpected<Error> crypto_failure(std::string_view what) {
    return fail(Errc::io, fmt::format("OpenSSL could not {}", what));
}

Result<Pkey> generate_pkey(const KeySpec& spec) {
    int id = spec.algorithm == KeyAlgorithm::rsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_id(id, nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return crypto_failure("start key generation");
    if (spec.algorithm == KeyAlgorithm::rsa &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(spec.bits)) <= 0)
        return crypto_failure("set the RSA key size");
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return crypto_failure("generate the key");
    return Pkey(raw);
}

Result<std::vector<std::uint8_t>> public_key_bytes(EVP_PKEY* key, KeyAlgorithm algorithm) {
    if (algorithm == KeyAlgorithm::ed25519) {
        // RFC 8463 §4.2: p= is the raw 32-octet key, no ASN.1 around it.
        std::size_t n = 0;
        if (EVP_PKEY_get_raw_public_key(key, nullptr, &n) <= 0)
            return crypto_failure("read the Ed25519 public key");
        std::vector<std::uint8_t> out(n);
        if (EVP_PKEY_get_raw_public_key(key, out.data(), &n) <= 0)
            return crypto_failure("read the Ed25519 public key");
        out.resize(n);
        return out;
    }
    // RFC 6376 §3.6.1: p= for RSA is the SubjectPublicKeyInfo DER.
    int n = i2d_PUBKEY(key, nullptr);
    if (n <= 0) return crypto_failure("encode the RSA public key");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
    unsigned char* cursor = out.data();
    if (i2d_PUBKEY(key, &cursor) != n) return crypto_failure("encode the RSA public key");
    return out;
}

Result<PrivateKeyPem> private_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return crypto_failure("encode the private key");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    if (n <= 0 || data == nullptr) return crypto_failure("encode the private key");
    PrivateKeyPem pem(std::string(data, static_cast<std::size_t>(n)));
    // The BIO's buffer held the key too: wipe it before it is freed.
    OPENSSL_cleanse(data, static_cast<std::size_t>(n));
    return pem;
}

class OpensslKeys final : public KeyGenerator {
public:
    Result<KeyPair> generate(const KeySpec& spec) override {
        auto key = generate_pkey(spec);
        if (!key) return std::unexpected(std::move(key.error()));
        auto pub = public_key_bytes(key->get(), spec.algorithm);
        if (!pub) return std::unexpected(std::move(pub.error()));
        auto pem = private_pem(key->get());
        if (!pem) return std::unexpected(std::move(pem.error()));
        return KeyPair{.spec = spec, .public_key = std::move(*pub), .private_key = std::move(*pem)};
    }
};

/// Closes a descriptor and removes a temporary file unless released.
class TempFile {
public:
    TempFile(int fd, std::filesystem::path path) noexcept : fd_(fd), path_(std::move(path)) {}
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    [[nodiscard]] int fd() const noexcept { return fd_; }
    int close() noexcept {
        int r = ::close(fd_);
        fd_ = -1;
        return r;
    }

private:
    int fd_;
    std::filesystem::path path_;
};

std::unexpected<Error> io_error(std::string_view what, const std::filesystem::path& path, int err) {
    return fail(Errc::io, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}

Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
    while (!bytes.empty()) {
        auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("write", path, errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

std::string temp_suffix() {
    unsigned char random[8];
    if (RAND_bytes(random, sizeof random) != 1) {
        std::random_device rd;
        for (auto& b : random) b = static_cast<unsigned char>(rd());
    }
    return hex(std::span<const std::uint8_t>(random, sizeof random));
}

}  // namespace

std::string_view to_string(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::rsa ? "rsa" : "ed25519";
}

PrivateKeyPem::PrivateKeyPem(PrivateKeyPem&& other) noexcept : pem_(std::move(other.pem_)) {
    other.wipe();
}

PrivateKeyPem& PrivateKeyPem::operator=(PrivateKeyPem&& other) noexcept {
    if (this != &other) {
        wipe();
        pem_ = std::move(other.pem_);
        other.wipe();
    }
    return *this;
}

PrivateKeyPem::~PrivateKeyPem() { wipe(); }

void PrivateKeyPem::wipe() noexcept {
    if (!pem_.empty()) OPENSSL_cleanse(pem_.data(), pem_.size());
    pem_.clear();
}

KeyGenerator& openssl_keys() {
    static OpensslKeys keys;
    return keys;
}

bool DirectoryKeyStore::exists(std::string_view file_name) const {
    struct stat st {};
    // lstat: a dangling symlink at the name still blocks the link() below.
    return ::lstat(path(file_name).c_str(), &st) == 0;
}

std::filesystem::path DirectoryKeyStore::path(std::string_view file_name) const {
    return directory_ / std::string(file_name);
}

Result<std::filesystem::path> DirectoryKeyStore::write(std::string_view file_name,
                                                       const PrivateKeyPem& key) {
    std::error_code ec;
    if (directory_.has_parent_path()) std::filesystem::create_directories(directory_.parent_path(), ec);
    if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST)
        return io_error("create the key directory", directory_, errno);
    auto final_path = path(file_name);
    if (exists(file_name))
        return fail(Errc::conflict,
                    fmt::format("{} already exists: a key is never overwritten; choose another "
                                "--selector or --key-dir",
                                final_path.string()));
    auto temp_path = directory_ / fmt::format(".{}.{}.tmp", file_name, temp_suffix());
    int fd = ::open(temp_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("create", temp_path, errno);
    TempFile temp(fd, temp_path);
    // The mode given to open() is masked by the umask: set 0600 exactly, whatever it is.
    if (::fchmod(temp.fd(), 0600) != 0) return io_error("set the mode of", temp_path, errno);
    if (auto w = write_all(temp.fd(), key.reveal(), temp_path); !w) return std::unexpected(w.error());
    if (::fsync(temp.fd()) != 0) return io_error("flush", temp_path, errno);
    if (temp.close() != 0) return io_error("close", temp_path, errno);
    // link() is atomic and never replaces: a key that appeared meanwhile is kept.
    if (::link(temp_path.c_str(), final_path.c_str()) != 0) {
        if (errno == EEXIST)
            return fail(Errc::conflict, fmt::format("{} already exists: a key is never overwritten",
                                                    final_path.string()));
        return io_error("create", final_path, errno);
    }
    return final_path;
}

}  // namespace rampart::setup

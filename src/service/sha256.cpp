#include "service/sha256.hpp"

#include <openssl/evp.h>

namespace rampart::service {

struct Sha256::State {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    RAMPART_ASSERT(state_->ctx != nullptr);
    RAMPART_ASSERT(EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::byte> bytes) {
    EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::hex_digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(state_->ctx, md, &len);
    return hex(std::span<const std::uint8_t>(md, len));
}

std::string Sha256::of(std::span<const std::byte> bytes) {
    Sha256 h;
    h.update(bytes);
    return h.hex_digest();
}

}  // namespace rampart::service

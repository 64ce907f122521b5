// Incremental SHA-256 (OpenSSL EVP), for report content hashes.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/core.hpp"

namespace rampart::service {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::span<const std::byte> bytes);
    /// Lower-case hex digest; the object must not be updated afterwards.
    [[nodiscard]] std::string hex_digest();
    [[nodiscard]] static std::string of(std::span<const std::byte> bytes);

private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Passes bytes through while hashing them.
class HashingSource final : public ByteSource {
public:
    explicit HashingSource(ByteSource& inner) : inner_(inner) {}
    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> buffer) override {
        auto n = inner_.read(buffer);
        if (n && *n > 0) hash_.update(buffer.first(*n));
        return n;
    }
    [[nodiscard]] std::string hex_digest() { return hash_.hex_digest(); }

private:
    ByteSource& inner_;
    Sha256 hash_;
};

}  // namespace rampart::service

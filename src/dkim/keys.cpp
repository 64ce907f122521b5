// Keys: the look-up of a signature's public key in DNS (RFC 6376 §3.6.2, §6.1.2), private keys
// for signing (PEM, or the base64 Ed25519 seed files dkimpy and OpenDKIM write), and the two
// signature primitives the DKIM and ARC code share.
#include "dkim/dkim.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

namespace {

/// RFC 6376 §3.6.2.2 leaves several TXT records at the name to the verifier; records that are
/// plainly something else (an SPF record, a site-verification token) are not keys at all.
bool looks_like_key(std::string_view text) noexcept {
    return trim(text).starts_with("v=DKIM1") || text.find("p=") != std::string_view::npos;
}

}  // namespace

namespace {

/// Parsed key records by their text, shared by the process: parsing decodes the key with OpenSSL
/// to learn its size, which cost as much as checking a signature, and a sender's key record is
/// the same for thousands of messages. Bounded; emptied when full.
class ParsedRecords {
public:
    Result<KeyRecord> get(const std::string& text) {
        {
            std::lock_guard lock(mutex_);
            if (auto it = records_.find(text); it != records_.end()) return it->second;
        }
        auto parsed = parse_key_record(text);
        std::lock_guard lock(mutex_);
        if (records_.size() >= max_records) records_.clear();
        records_.emplace(text, parsed);
        return parsed;
    }

private:
    static constexpr std::size_t max_records = 1024;
    std::mutex mutex_;
    std::unordered_map<std::string, Result<KeyRecord>> records_;
};

ParsedRecords& parsed_records() {
    static ParsedRecords records;
    return records;
}

}  // namespace

KeyLookup key_lookup_from_records(std::string_view name, std::span<const std::string> texts) {
    KeyLookup lookup;
    std::string first_problem;
    for (const auto& text : texts) {
        if (!looks_like_key(text)) continue;
        auto record = parsed_records().get(text);
        if (record) {
            lookup.status = KeyLookup::Status::found;
            lookup.record = std::move(*record);
            lookup.record_text = text;
            lookup.reason.clear();
            return lookup;
        }
        if (lookup.record_text.empty()) {
            lookup.record_text = text;
            first_problem = record.error().reason;
        }
    }
    lookup.status = KeyLookup::Status::no_key;
    lookup.reason =
        lookup.record_text.empty()
            ? fmt::format("{} has no DKIM key record", printable(name))
            : fmt::format("the key record at {} is invalid: {}", printable(name), first_problem);
    return lookup;
}

KeyLookup DnsKeyFetcher::fetch(std::string_view selector, std::string_view domain) {
    const std::string wanted = dkim_key_name(selector, domain);
    auto name = dns::normalize_name(wanted);
    if (!name) {
        KeyLookup lookup;
        lookup.reason = fmt::format("\"{}\" is not a name a key can be published at: {}",
                                    printable(wanted), name.error().reason);
        return lookup;
    }
    const dns::Answer answer = resolver_.query(*name, dns::RrType::txt);
    if (answer.failed()) {
        KeyLookup lookup;
        lookup.status = KeyLookup::Status::temperror;
        lookup.reason = fmt::format("the DNS look-up of {} failed ({}{}{})", *name,
                                    dns::to_string(answer.status),
                                    answer.detail.empty() ? "" : ": ", printable(answer.detail));
        return lookup;
    }
    if (answer.empty()) {
        KeyLookup lookup;
        lookup.reason =
            fmt::format("{} does not exist in DNS ({})", *name,
                        answer.status == dns::Status::nxdomain ? "NXDOMAIN" : "no TXT record");
        return lookup;
    }
    std::vector<std::string> texts;
    for (const auto& txt : answer.txt()) texts.push_back(txt.joined());
    return key_lookup_from_records(*name, texts);
}

// ---------------------------------------------------------------------------------------------
// Private keys

namespace {

// A PEM RSA-16384 key is about 13 KB; a file much larger than that is not a key.
constexpr std::uintmax_t max_key_file = 64 * 1024;

Result<std::string> read_key_file(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return fail(Errc::io, fmt::format("cannot read the key file {}", path.string()));
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(Errc::io, fmt::format("the key file {} is not a regular file", path.string()));
    }
    if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return fail(Errc::denied,
                    fmt::format("the key file {} has mode {:04o}: private keys must be readable "
                                "by their owner only (chmod 600)",
                                path.string(), info.st_mode & 07777));
    }
    if (static_cast<std::uintmax_t>(info.st_size) > max_key_file) {
        return fail(Errc::limit_exceeded,
                    fmt::format("the key file {} is too large to be a key", path.string()));
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        return fail(Errc::io, fmt::format("cannot read the key file {}", path.string()));
    }
    return text;
}

}  // namespace

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
    auto key = crypto::read_private_pem(pem);
    if (!key) return std::unexpected(std::move(key.error()));
    return PrivateKey(*key);
}

Result<PrivateKey> PrivateKey::ed25519_from_seed(std::span<const std::uint8_t> seed) {
    auto key = crypto::ed25519_private_from_seed(seed);
    if (!key) return std::unexpected(std::move(key.error()));
    return PrivateKey(*key);
}

Result<PrivateKey> PrivateKey::from_file(const std::filesystem::path& path) {
    auto text = read_key_file(path);
    if (!text) return std::unexpected(std::move(text.error()));
    if (text->find("-----BEGIN") != std::string::npos) {
        auto key = from_pem(*text);
        if (!key) key.error().reason = fmt::format("{}: {}", path.string(), key.error().reason);
        return key;
    }
    // dkimpy and OpenDKIM write an Ed25519 private key as the base64 of its 32-octet seed.
    const auto seed = crypto::base64_decode(trim(*text));
    if (!seed || seed->size() != 32) {
        return fail(Errc::malformed,
                    fmt::format("{} holds neither a PEM private key nor a base64 Ed25519 seed",
                                path.string()));
    }
    return ed25519_from_seed(*seed);
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept : key_(std::exchange(other.key_, nullptr)) {}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
    if (this != &other) {
        crypto::free_private(key_);
        key_ = std::exchange(other.key_, nullptr);
    }
    return *this;
}

PrivateKey::~PrivateKey() { crypto::free_private(key_); }

KeyType PrivateKey::type() const noexcept { return crypto::private_type(key_); }
unsigned PrivateKey::bits() const noexcept { return crypto::private_bits(key_); }
std::vector<std::uint8_t> PrivateKey::public_key() const { return crypto::public_of(key_); }

// ---------------------------------------------------------------------------------------------
// Signature primitives

Result<std::vector<std::uint8_t>> sign_data(const PrivateKey& key, Algorithm algorithm,
                                            std::string_view data) {
    return crypto::sign(key.native(), algorithm, data);
}

Result<bool> verify_data(const KeyRecord& key, Algorithm algorithm, std::string_view data,
                         std::span<const std::uint8_t> signature) {
    if (key.key_type != key_type_of(algorithm) || algorithm == Algorithm::unknown) {
        return fail(Errc::malformed, fmt::format("a {} key cannot check a {} signature",
                                                 to_string(key.key_type), to_string(algorithm)));
    }
    std::string problem;
    auto loaded = crypto::VerifyKey::shared(key.key_type, key.public_key, problem);
    if (!loaded) return fail(Errc::malformed, problem);
    return loaded->verify(algorithm, data, signature);
}

std::string encode_base64(std::span<const std::uint8_t> bytes) {
    return crypto::base64_encode(bytes);
}

}  // namespace rampart::dkim

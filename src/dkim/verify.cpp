// Verification like a receiver (RFC 6376 §6): each DKIM-Signature is checked on its own
// (§6.1.1 the signature, §6.1.2 the key, §6.1.3 body hash then header hash) and gets one result
// with a stable code and a sentence; the crypto rules of RFC 8301 and RFC 8463 apply.
#include "dkim/dkim.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

std::string_view to_string(Outcome outcome) noexcept {
    switch (outcome) {
        case Outcome::none: return "none";
        case Outcome::pass: return "pass";
        case Outcome::fail: return "fail";
        case Outcome::policy: return "policy";
        case Outcome::neutral: return "neutral";
        case Outcome::temperror: return "temperror";
        case Outcome::permerror: return "permerror";
    }
    return "none";
}

namespace {

constexpr std::string_view signature_field = "DKIM-Signature";

/// A key look-up and, when it found a usable key, that key loaded once for all signatures of
/// the message that name the same (s, d).
struct CachedKey {
    KeyLookup lookup;
    std::shared_ptr<const crypto::VerifyKey> key;
    std::string load_problem;
};

void set_verdict(SignatureResult& result, Outcome outcome, std::string code, std::string reason) {
    result.result = outcome;
    result.code = std::move(code);
    result.reason = std::move(reason);
}

void copy_signature(SignatureResult& result, const Signature& signature) {
    result.domain = signature.domain;
    result.selector = signature.selector;
    result.identity = signature.identity;
    result.algorithm = signature.algorithm;
    result.algorithm_text = signature.algorithm_text;
    result.header_canon = signature.header_canon;
    result.body_canon = signature.body_canon;
    result.signed_headers = signature.signed_headers;
    result.body_length = signature.body_length;
    result.timestamp = signature.timestamp;
    result.expiration = signature.expiration;
    result.signature_text = signature.signature_text;
}

/// The domain part of i= ("@sub.example.com" → "sub.example.com"), lower-cased.
std::string identity_domain(std::string_view identity) {
    const auto at = identity.rfind('@');
    std::string domain =
        ascii_lower(at == std::string_view::npos ? identity : identity.substr(at + 1));
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    return domain;
}

/// §6.1.1 checks that need no key: the algorithm (RFC 8301 §3.1) and the times.
bool check_signature_rules(SignatureResult& result, const Signature& signature,
                           const VerifyOptions& options) {
    if (signature.algorithm == Algorithm::unknown) {
        set_verdict(result, Outcome::permerror, "unknown-algorithm",
                    fmt::format("the signature uses a={}, an algorithm this verifier does not know",
                                printable(signature.algorithm_text)));
        return false;
    }
    if (signature.algorithm == Algorithm::rsa_sha1 && !options.allow_rsa_sha1) {
        set_verdict(result, Outcome::permerror, "rsa-sha1",
                    "the signature uses rsa-sha1, which RFC 8301 forbids verifiers to accept");
        return false;
    }
    if (options.now == Timestamp{}) return true;  // no clock given: times are not checked
    if (signature.expiration && *signature.expiration + options.clock_skew < options.now) {
        set_verdict(result, Outcome::permerror, "expired",
                    fmt::format("the signature expired at {} (x=)",
                                format_timestamp(*signature.expiration)));
        return false;
    }
    if (signature.timestamp && *signature.timestamp > options.now + options.clock_skew) {
        set_verdict(result, Outcome::permerror, "future",
                    fmt::format("the signature claims to be made at {} (t=), in the future",
                                format_timestamp(*signature.timestamp)));
        return false;
    }
    return true;
}

bool has_diagnostic(const KeyRecord& key, std::string_view code) {
    return std::any_of(key.diagnostics.begin(), key.diagnostics.end(),
                       [&](const Diagnostic& d) { return d.code == code; });
}

/// §6.1.2 and RFC 8301 §3.2: is this key one the signature may be checked with?
bool check_key(SignatureResult& result, const Signature& signature, const CachedKey& cached,
               const VerifyOptions& options) {
    const std::string name = dkim_key_name(signature.selector, signature.domain);
    const KeyLookup& lookup = cached.lookup;
    if (lookup.status == KeyLookup::Status::temperror) {
        set_verdict(result, Outcome::temperror, "key-temperror",
                    fmt::format("the key could not be fetched: {}", lookup.reason));
        return false;
    }
    if (lookup.status == KeyLookup::Status::no_key || !lookup.record) {
        // A record that is there but does not parse is unusable rather than missing.
        const bool invalid = !lookup.record_text.empty();
        set_verdict(result, Outcome::permerror, invalid ? "key-unusable" : "key-not-found",
                    invalid ? lookup.reason : fmt::format("no key: {}", lookup.reason));
        return false;
    }
    const KeyRecord& key = *lookup.record;
    result.key_type = key.key_type;
    result.key_bits = key.key_bits;
    result.key_testing = key.testing;
    if (key.revoked) {
        set_verdict(result, Outcome::permerror, "key-revoked",
                    fmt::format("the key at {} is revoked (empty p=)", name));
        return false;
    }
    if (key.key_type == KeyType::unknown) {
        set_verdict(result, Outcome::permerror, "key-unusable",
                    fmt::format("the key at {} has k={}, a key type verifiers do not know", name,
                                printable(key.key_type_text)));
        return false;
    }
    if (key.key_type != key_type_of(signature.algorithm)) {
        set_verdict(result, Outcome::permerror, "key-type-mismatch",
                    fmt::format("the key at {} is {}, but the signature is {}", name,
                                to_string(key.key_type), to_string(signature.algorithm)));
        return false;
    }
    const std::string_view hash =
        hash_of(signature.algorithm) == HashAlgorithm::sha1 ? "sha1" : "sha256";
    if (!key.hashes.empty() &&
        std::find(key.hashes.begin(), key.hashes.end(), hash) == key.hashes.end()) {
        set_verdict(result, Outcome::permerror, "hash-not-allowed",
                    fmt::format("the key at {} does not allow {} (h=)", name, hash));
        return false;
    }
    if (!key.allows_email()) {
        set_verdict(result, Outcome::permerror, "service-not-email",
                    fmt::format("the key at {} is not for e-mail (s=)", name));
        return false;
    }
    if (key.strict && identity_domain(signature.identity) != signature.domain) {
        set_verdict(
            result, Outcome::permerror, "strict-identity",
            fmt::format("the key at {} has t=s, so i= must be in {} itself, not a subdomain", name,
                        signature.domain));
        return false;
    }
    if (!cached.key || has_diagnostic(key, "key-too-large")) {
        set_verdict(
            result, Outcome::permerror, "key-unusable",
            fmt::format("the key at {} cannot be read: {}", name,
                        cached.load_problem.empty() ? "p= is not a key" : cached.load_problem));
        return false;
    }
    if (key.key_type == KeyType::rsa && key.key_bits < options.min_rsa_bits) {
        set_verdict(result, Outcome::permerror, "key-too-short",
                    fmt::format("the key at {} is a {}-bit RSA key; keys under {} bits are not "
                                "accepted (RFC 8301)",
                                name, key.key_bits, options.min_rsa_bits));
        return false;
    }
    return true;
}

CachedKey fetch_key(KeyFetcher& keys, const Signature& signature) {
    CachedKey cached{
        .lookup = keys.fetch(signature.selector, signature.domain), .key = {}, .load_problem = {}};
    const auto& record = cached.lookup.record;
    if (cached.lookup.status == KeyLookup::Status::found && record && !record->revoked &&
        record->key_type != KeyType::unknown) {
        cached.key = crypto::VerifyKey::shared(record->key_type, record->public_key, cached.load_problem);
    }
    return cached;
}

}  // namespace

Verifier::Verifier(KeyFetcher& keys, VerifyOptions options) : keys_(keys), options_(options) {}

void Verifier::start(const message::Header& header, BodyHasher& body) {
    header_ = &header;
    pending_.clear();
    for (std::size_t index = 0; index < header.fields.size(); ++index) {
        const auto& field = header.fields[index];
        if (!field.is(signature_field)) continue;
        Pending pending{
            .field_index = index, .signature = {}, .parse_error = {}, .body_request = 0};
        if (pending_.size() >= options_.max_signatures) {
            // Past the bound nothing is parsed or hashed: many signatures must cost nothing.
            pending.over_limit = true;
            pending_.push_back(std::move(pending));
            continue;
        }
        auto signature = parse_signature(field.value(), SignatureKind::dkim);
        if (!signature) {
            pending.parse_error = signature.error().reason;
        } else {
            // Signatures refused for their algorithm alone cost no body hashing.
            const bool refused =
                signature->algorithm == Algorithm::unknown ||
                (signature->algorithm == Algorithm::rsa_sha1 && !options_.allow_rsa_sha1);
            if (!refused) {
                pending.body_request = body.request(
                    signature->body_canon, hash_of(signature->algorithm), signature->body_length);
            }
            pending.signature = std::move(*signature);
        }
        pending_.push_back(std::move(pending));
    }
}

std::vector<SignatureResult> Verifier::finish(const BodyHasher& body) {
    std::vector<SignatureResult> results;
    results.reserve(pending_.size());
    std::map<std::pair<std::string, std::string>, CachedKey> keys;
    for (const auto& pending : pending_) {
        SignatureResult& result = results.emplace_back();
        result.field_index = pending.field_index;
        if (pending.over_limit) {
            set_verdict(result, Outcome::permerror, "too-many-signatures",
                        fmt::format("not checked: the message has more than {} DKIM signatures",
                                    options_.max_signatures));
            continue;
        }
        if (!pending.signature) {
            set_verdict(result, Outcome::permerror, "malformed",
                        fmt::format("the signature is malformed: {}", pending.parse_error));
            continue;
        }
        const Signature& signature = *pending.signature;
        copy_signature(result, signature);
        if (!check_signature_rules(result, signature, options_)) continue;
        auto [entry, inserted] = keys.try_emplace({signature.selector, signature.domain});
        if (inserted) entry->second = fetch_key(keys_, signature);
        if (!check_key(result, signature, entry->second, options_)) continue;
        check_hashes(result, pending, body, *entry->second.key);
    }
    return results;
}

void Verifier::check_hashes(SignatureResult& result, const Pending& pending, const BodyHasher& body,
                            const crypto::VerifyKey& key) const {
    const Signature& signature = *pending.signature;
    const auto& digest = body.digest(pending.body_request);
    result.body_octets = digest.canonical_length;
    if (signature.body_length && digest.canonical_length < *signature.body_length) {
        set_verdict(result, Outcome::fail, "body-too-short",
                    fmt::format("the body is shorter ({} octets) than l={} says: it was cut after "
                                "signing",
                                digest.canonical_length, *signature.body_length));
        return;
    }
    if (digest.hash != signature.body_hash) {
        set_verdict(
            result, Outcome::fail, "body-hash-mismatch",
            "the body hash does not match: the body was changed after signing (or l= cut it)");
        return;
    }
    std::string data =
        canonicalize_selected(*header_, signature.signed_headers, signature.header_canon);
    data +=
        canonicalize_signature_field(header_->fields[pending.field_index], signature.header_canon);
    auto verified = key.verify(signature.algorithm, data, signature.signature);
    if (!verified || !*verified) {
        set_verdict(result, Outcome::fail, "signature-mismatch",
                    "the signature does not verify: a signed header field was changed after "
                    "signing, or another key made it");
        return;
    }
    set_verdict(result, Outcome::pass, "pass",
                fmt::format("the signature of {} verifies", signature.domain));
}

std::vector<SignatureResult> verify(const message::Message& message, KeyFetcher& keys,
                                    const VerifyOptions& options) {
    Verifier verifier(keys, options);
    BodyHasher body;
    verifier.start(message.header, body);
    body.update(message.body);
    body.finish();
    return verifier.finish(body);
}

}  // namespace rampart::dkim

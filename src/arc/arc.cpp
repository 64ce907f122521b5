#include "arc/arc.hpp"

#include "arc/internal.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace rampart::arc {

namespace {

constexpr int max_instances = 50;  // RFC 8617 §4.2.1

constexpr std::string_view results_field = "ARC-Authentication-Results";
constexpr std::string_view signature_field = "ARC-Message-Signature";
constexpr std::string_view seal_field = "ARC-Seal";

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view skip_wsp(std::string_view text) noexcept {
    while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
    return text;
}

/// The instance tag that starts an ARC-Authentication-Results value (RFC 8617 §4.1.1:
/// `arc-info = instance [CFWS] ";" authres-payload`), and the results after it.
struct ResultsPrefix {
    int instance = 0;
    std::string rest;
};

Result<ResultsPrefix> parse_results_prefix(std::string_view value) {
    const std::string unfolded = message::unfold(value);
    std::string_view text = skip_wsp(unfolded);
    if (!text.starts_with('i'))
        return fail(Errc::malformed, "an ARC-Authentication-Results field does not start with i=");
    text = skip_wsp(text.substr(1));
    if (!text.starts_with('='))
        return fail(Errc::malformed, "an ARC-Authentication-Results field does not start with i=");
    text = skip_wsp(text.substr(1));
    std::size_t digits = 0;
    int instance = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' && digits < 3) {
        instance = instance * 10 + (text[digits] - '0');
        ++digits;
    }
    if (digits == 0 || digits > 2 || instance < 1 || instance > max_instances)
        return fail(Errc::malformed, "an ARC-Authentication-Results field has an invalid i= value");
    text = skip_wsp(text.substr(digits));
    if (!text.starts_with(';'))
        return fail(Errc::malformed, "an ARC-Authentication-Results field lacks the ';' after i=");
    return ResultsPrefix{instance, std::string(trim(text.substr(1)))};
}

std::string key_name_for(const dkim::Signature& signature) {
    return fmt::format("{}._domainkey.{}", signature.selector, signature.domain);
}

/// Why a key cannot check this signature, or "" when it can.
std::string key_problem(const dkim::KeyLookup& lookup, const dkim::Signature& signature,
                        const dkim::VerifyOptions& options) {
    const std::string name = key_name_for(signature);
    switch (lookup.status) {
        case dkim::KeyLookup::Status::no_key:
            return fmt::format("no key at {}: {}", name, lookup.reason);
        case dkim::KeyLookup::Status::temperror:
            return fmt::format("the key at {} could not be fetched: {}", name, lookup.reason);
        case dkim::KeyLookup::Status::found:
            break;
    }
    const dkim::KeyRecord& key = *lookup.record;
    if (key.revoked) return fmt::format("the key at {} is revoked", name);
    if (key.key_type != dkim::key_type_of(signature.algorithm))
        return fmt::format("the key at {} is {}, the signature is {}", name, dkim::to_string(key.key_type),
                           dkim::to_string(signature.algorithm));
    if (key.public_key.empty()) return fmt::format("the key at {} cannot be read", name);
    if (key.key_type == dkim::KeyType::rsa && key.key_bits < options.min_rsa_bits)
        return fmt::format("the key at {} has {} bits, fewer than {} (RFC 8301)", name, key.key_bits,
                           options.min_rsa_bits);
    if (!key.hashes.empty() && std::find(key.hashes.begin(), key.hashes.end(), "sha256") == key.hashes.end())
        return fmt::format("the key at {} does not allow sha256 (h=)", name);
    return {};
}

/// Why the algorithm cannot be checked, or "".
std::string algorithm_problem(const dkim::Signature& signature) {
    switch (signature.algorithm) {
        case dkim::Algorithm::rsa_sha256:
        case dkim::Algorithm::ed25519_sha256:
            return {};
        case dkim::Algorithm::rsa_sha1:
            return "a=rsa-sha1 is not accepted (RFC 8301)";
        case dkim::Algorithm::unknown:
            break;
    }
    return fmt::format("unknown algorithm a={}", signature.algorithm_text);
}

/// Looks keys up once per (selector, domain) for one validation.
class KeyCache {
public:
    explicit KeyCache(dkim::KeyFetcher& keys) : keys_(keys) {}
    const dkim::KeyLookup& get(const dkim::Signature& signature) {
        auto key = std::make_pair(signature.selector, signature.domain);
        auto found = cache_.find(key);
        if (found == cache_.end())
            found = cache_.emplace(key, keys_.fetch(signature.selector, signature.domain)).first;
        return found->second;
    }

private:
    dkim::KeyFetcher& keys_;
    std::map<std::pair<std::string, std::string>, dkim::KeyLookup> cache_;
};

/// Checks `signature` over `data`; "" when it verifies, else why not.
std::string check_signature(const dkim::Signature& signature, std::string_view data, KeyCache& keys,
                            const dkim::VerifyOptions& options) {
    if (auto problem = algorithm_problem(signature); !problem.empty()) return problem;
    const auto& lookup = keys.get(signature);
    if (auto problem = key_problem(lookup, signature, options); !problem.empty()) return problem;
    auto verified = dkim::verify_data(*lookup.record, signature.algorithm, data, signature.signature);
    if (!verified) return verified.error().reason;
    if (!*verified) return "the signature does not verify";
    return {};
}

bool signs_arc_seal(const dkim::Signature& signature) {
    return std::any_of(signature.signed_headers.begin(), signature.signed_headers.end(),
                       [](const std::string& name) { return iequals(trim(name), seal_field); });
}

}  // namespace

int detail::instance_of(const message::Field& field) {
    if (field.is(results_field)) {
        auto prefix = parse_results_prefix(field.value());
        return prefix ? prefix->instance : 0;
    }
    const bool is_seal = field.is(seal_field);
    if (!is_seal && !field.is(signature_field)) return 0;
    auto parsed = dkim::parse_signature(
        field.value(), is_seal ? dkim::SignatureKind::arc_seal : dkim::SignatureKind::arc_message);
    return parsed ? parsed->instance : 0;
}

std::string_view to_string(ChainStatus status) noexcept {
    switch (status) {
        case ChainStatus::none: return "none";
        case ChainStatus::pass: return "pass";
        case ChainStatus::fail: return "fail";
    }
    return "none";
}

Validator::Validator(dkim::KeyFetcher& keys, ValidateOptions options)
    : keys_(keys), options_(std::move(options)) {}

void Validator::start(const message::Header& header, dkim::BodyHasher& body) {
    header_ = &header;
    sets_.clear();
    structure_error_.clear();
    any_arc_field_ = false;

    auto set_for = [&](int instance) -> Set* {
        if (instance < 1 || instance > max_instances) return nullptr;
        if (sets_.size() < static_cast<std::size_t>(instance)) sets_.resize(static_cast<std::size_t>(instance));
        return &sets_[static_cast<std::size_t>(instance - 1)];
    };
    auto broken = [&](std::string reason) {
        if (structure_error_.empty()) structure_error_ = std::move(reason);
    };

    for (const auto& field : header.fields) {
        if (field.is(results_field)) {
            any_arc_field_ = true;
            auto prefix = parse_results_prefix(field.value());
            if (!prefix) {
                broken(prefix.error().reason);
                continue;
            }
            Set* set = set_for(prefix->instance);
            if (set->results != nullptr) broken(fmt::format("two ARC-Authentication-Results fields for i={}", prefix->instance));
            set->results = &field;
            set->results_text = std::move(prefix->rest);
        } else if (field.is(signature_field) || field.is(seal_field)) {
            any_arc_field_ = true;
            const bool is_seal = field.is(seal_field);
            const std::string_view what = is_seal ? seal_field : signature_field;
            auto parsed = dkim::parse_signature(
                field.value(), is_seal ? dkim::SignatureKind::arc_seal : dkim::SignatureKind::arc_message);
            if (!parsed) {
                broken(fmt::format("an {} field is not valid: {}", what, parsed.error().reason));
                continue;
            }
            Set* set = set_for(parsed->instance);
            if (set == nullptr) {
                broken(fmt::format("an {} field has i={}, outside 1..{}", what, parsed->instance, max_instances));
                continue;
            }
            const message::Field*& slot = is_seal ? set->seal : set->signature;
            if (slot != nullptr) broken(fmt::format("two {} fields for i={}", what, parsed->instance));
            slot = &field;
            (is_seal ? set->parsed_seal : set->parsed_signature) = std::move(*parsed);
        }
    }
    for (std::size_t i = 0; i < sets_.size(); ++i) {
        const Set& set = sets_[i];
        if (set.results == nullptr || set.signature == nullptr || set.seal == nullptr)
            broken(fmt::format("the ARC set i={} is incomplete (it needs one {}, one {} and one {})", i + 1,
                               results_field, signature_field, seal_field));
    }
    for (auto& set : sets_) {
        if (!set.parsed_signature) continue;
        auto& sig = *set.parsed_signature;
        // An AMS without c=: the ARC signers the ValiMail suite was made with (and that suite's
        // expectations) take relaxed/relaxed, not DKIM's simple/simple.
        const bool has_c = std::any_of(sig.tags.begin(), sig.tags.end(), [](const dkim::Tag& t) { return t.name == "c"; });
        if (!has_c) sig.header_canon = sig.body_canon = dkim::Canonicalization::relaxed;
        set.body_request = body.request(sig.body_canon, dkim::hash_of(sig.algorithm), sig.body_length);
    }
}

Validation Validator::finish(const dkim::BodyHasher& body) {
    Validation result;
    result.instances = static_cast<int>(sets_.size());
    if (!any_arc_field_) {
        result.reason = "the message has no ARC sets";
        return result;
    }
    result.status = ChainStatus::fail;
    for (std::size_t i = 0; i < sets_.size(); ++i) {
        const Set& set = sets_[i];
        Instance instance{.instance = static_cast<int>(i + 1)};
        if (set.parsed_seal) {
            instance.domain = set.parsed_seal->domain;
            instance.selector = set.parsed_seal->selector;
            instance.chain_validation = set.parsed_seal->chain_validation;
        } else if (set.parsed_signature) {
            instance.domain = set.parsed_signature->domain;
        }
        instance.authentication_results = set.results_text;
        result.sets.push_back(std::move(instance));
    }
    if (!sets_.empty()) result.first_hop_results = sets_.front().results_text;
    if (!structure_error_.empty()) {
        result.reason = structure_error_;
        return result;
    }

    const auto newest = sets_.size();
    const std::string& newest_cv = sets_.back().parsed_seal->chain_validation;
    if (newest_cv == "fail") {
        result.reason = fmt::format("the newest seal (i={}) says the chain had already failed (cv=fail)", newest);
        return result;
    }
    for (std::size_t i = 0; i < sets_.size(); ++i) {
        const std::string& cv = sets_[i].parsed_seal->chain_validation;
        const std::string_view expected = i == 0 ? "none" : "pass";
        if (cv != expected) {
            result.reason = fmt::format("the seal i={} has cv={}, where a valid chain has cv={}", i + 1, cv, expected);
            return result;
        }
    }

    KeyCache keys(keys_);
    auto check_message_signature = [&](std::size_t index) -> std::string {
        const Set& set = sets_[index];
        const auto& sig = *set.parsed_signature;
        if (signs_arc_seal(sig)) return "it signs ARC-Seal fields, which RFC 8617 forbids";
        if (auto problem = algorithm_problem(sig); !problem.empty()) return problem;
        const auto& digest = body.digest(set.body_request);
        if (sig.body_length && digest.canonical_length < *sig.body_length)
            return "the body is shorter than its l= says";
        if (digest.hash != sig.body_hash) return "the body hash does not match: the body was changed";
        std::string data = dkim::canonicalize_selected(*header_, sig.signed_headers, sig.header_canon);
        data += dkim::canonicalize_signature_field(*set.signature, sig.header_canon);
        return check_signature(sig, data, keys, options_.dkim);
    };

    // The newest AMS must verify (RFC 8617 §5.2 step 5).
    if (auto problem = check_message_signature(newest - 1); !problem.empty()) {
        result.sets.back().message_signature = dkim::Outcome::fail;
        result.sets.back().reason = problem;
        result.reason = fmt::format("the newest ARC-Message-Signature (i={}) fails: {}", newest, problem);
        return result;
    }
    result.sets.back().message_signature = dkim::Outcome::pass;

    // oldest-pass (§5.2.1): the lowest instance from which every AMS still verifies; 0 = all.
    if (options_.compute_oldest_pass) {
        result.oldest_pass = 0;
        for (std::size_t index = newest - 1; index-- > 0;) {
            auto problem = check_message_signature(index);
            result.sets[index].message_signature = problem.empty() ? dkim::Outcome::pass : dkim::Outcome::fail;
            if (!problem.empty()) {
                result.sets[index].reason = problem;
                result.oldest_pass = static_cast<int>(index + 2);
                break;
            }
        }
    }

    // Every seal, newest first (§5.2 step 6): each covers the sets up to its own.
    std::string covered;
    std::vector<std::string> prefixes(newest);
    for (std::size_t i = 0; i < newest; ++i) {
        prefixes[i] = covered;
        const Set& set = sets_[i];
        covered += dkim::canonicalize_header(*set.results, dkim::Canonicalization::relaxed);
        covered += dkim::canonicalize_header(*set.signature, dkim::Canonicalization::relaxed);
        covered += dkim::canonicalize_header(*set.seal, dkim::Canonicalization::relaxed);
    }
    for (std::size_t index = newest; index-- > 0;) {
        const Set& set = sets_[index];
        std::string data = prefixes[index];
        data += dkim::canonicalize_header(*set.results, dkim::Canonicalization::relaxed);
        data += dkim::canonicalize_header(*set.signature, dkim::Canonicalization::relaxed);
        data += dkim::canonicalize_signature_field(*set.seal, dkim::Canonicalization::relaxed);
        auto problem = check_signature(*set.parsed_seal, data, keys, options_.dkim);
        result.sets[index].seal = problem.empty() ? dkim::Outcome::pass : dkim::Outcome::fail;
        if (!problem.empty()) {
            result.sets[index].reason = problem;
            result.reason = fmt::format("the ARC-Seal i={} fails: {}", index + 1, problem);
            return result;
        }
    }
    result.status = ChainStatus::pass;
    result.reason = newest == 1 ? "one valid ARC set" : fmt::format("a chain of {} valid ARC sets", newest);
    return result;
}

Validation validate(const message::Message& message, dkim::KeyFetcher& keys, const ValidateOptions& options) {
    dkim::BodyHasher body;
    Validator validator(keys, options);
    validator.start(message.header, body);
    body.update(message.body);
    body.finish();
    return validator.finish(body);
}

}  // namespace rampart::arc

#include "arc/arc.hpp"


#include <array>
#include <chrono>
#include <utility>

#include "arc/internal.hpp"

#include <fmt/format.h>

// Sealing (RFC 8617 §5.1). The tags are written in alphabetical order with one space after
// each ';' (the layout the ARC test suite standardises on, so that signatures made from the same
// inputs are byte-identical across implementations), folded for 78-column lines.

namespace rampart::arc {

namespace {

constexpr int max_instances = 50;
constexpr std::size_t fold_width = 78;

// Signed when present: the fields a reader sees and the DKIM signatures (RFC 8617 §4.1.2 says
// the AMS SHOULD cover existing DKIM-Signature fields). ARC fields and A-R are never signed.
constexpr std::array default_headers{
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "list-id", "list-unsubscribe",
    "dkim-signature",
};

/// "Name: tag=value; tag=value" folded: a line break (CRLF TAB) before a tag that would pass
/// the width, and inside a long b= value. Relaxed canonicalization turns each break back
/// into the one space the unfolded layout has, or into nothing inside a base64 value.
std::string fold(std::string_view name, const std::vector<std::pair<std::string, std::string>>& tags) {
    std::string out = fmt::format("{}:", name);
    std::size_t column = out.size();
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const auto& [tag, value] = tags[i];
        const std::string piece = fmt::format("{}={}{}", tag, value, i + 1 < tags.size() ? ";" : "");
        // Only b= is broken inside: it is emptied before hashing, while a fold inside any other
        // value (bh= too) becomes a space that the signed text did not have.
        const bool breakable = tag == "b";
        if (column + 1 + piece.size() <= fold_width || (!breakable && column < 10)) {
            out += ' ';
            out += piece;
            column += 1 + piece.size();
            continue;
        }
        if (!breakable) {
            out += "\r\n\t";
            out += piece;
            column = 8 + piece.size();
            continue;
        }
        // A base64 value may take folding whitespace anywhere (RFC 6376 §3.5 b=); never
        // right after "=" or right before ";", where it would not be part of the value.
        const std::string head = tag + "=";
        if (column + 1 + head.size() + 1 > fold_width) {
            out += "\r\n\t";
            column = 8;
        } else {
            out += ' ';
            ++column;
        }
        out += head;
        column += head.size();
        std::string_view rest = value;
        while (!rest.empty()) {
            const std::size_t room = column < fold_width ? fold_width - column : 0;
            if (room == 0) {
                out += "\r\n\t";
                column = 8;
                continue;
            }
            const std::size_t take = std::min(room, rest.size());
            out.append(rest.substr(0, take));
            column += take;
            rest.remove_prefix(take);
        }
        if (i + 1 < tags.size()) {
            out += ';';
            ++column;
        }
    }
    return out;
}

Result<message::Field> field_of(std::string raw) {
    auto parsed = message::parse(raw + "\r\n\r\n");
    if (!parsed || parsed->header.fields.size() != 1)
        return fail(Errc::malformed, "a generated ARC field does not parse as one header field");
    return std::move(parsed->header.fields.front());
}

std::vector<std::string> signed_names(const message::Header& header, const SealOptions& options) {
    if (!options.headers.empty()) return options.headers;
    std::vector<std::string> names;
    for (const char* name : default_headers) {
        if (header.first(name) != nullptr) names.emplace_back(name);
    }
    return names;
}

dkim::Algorithm algorithm_for(const dkim::PrivateKey& key) {
    return key.type() == dkim::KeyType::ed25519 ? dkim::Algorithm::ed25519_sha256 : dkim::Algorithm::rsa_sha256;
}

}  // namespace

Result<Sealed> seal(const message::Message& message, const dkim::PrivateKey& key, const SealOptions& options,
                    dkim::KeyFetcher& keys, const ValidateOptions& validate_options) {
    if (options.domain.empty() || options.selector.empty() || options.authserv_id.empty())
        return fail(Errc::malformed, "sealing needs a domain, a selector and an authserv-id");
    if (message.header.first("From") == nullptr)
        return fail(Errc::malformed, "the message has no From field");
    const Validation chain = validate(message, keys, validate_options);
    if (chain.instances >= max_instances)
        return fail(Errc::limit_exceeded, fmt::format("the message already has {} ARC sets", chain.instances));
    // A chain whose newest seal already says cv=fail cannot be repaired: no set is added
    // (RFC 8617 §5.1.2; the ARC test suite's "no_additional_sig").
    if (!chain.sets.empty() && chain.sets.back().chain_validation == "fail")
        return Sealed{.fields = {}, .chain_validation = ChainStatus::fail};
    const int instance = chain.instances + 1;
    const ChainStatus arrived = options.arrived_chain.value_or(chain.status);
    const ChainStatus cv = chain.instances == 0 ? ChainStatus::none
                           : arrived == ChainStatus::pass ? ChainStatus::pass
                                                          : ChainStatus::fail;
    const dkim::Algorithm algorithm = algorithm_for(key);
    const std::string timestamp = options.timestamp
        ? fmt::format("{}", options.timestamp->time_since_epoch().count())
        : fmt::format("{}", std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());

    // ARC-Authentication-Results.
    std::string results_raw = fmt::format("{}: i={}; {}", "ARC-Authentication-Results", instance, options.authserv_id);
    if (!options.authentication_results.empty()) results_raw += fmt::format("; {}", options.authentication_results);
    auto results = field_of(results_raw);
    if (!results) return std::unexpected(results.error());

    // ARC-Message-Signature.
    const auto names = signed_names(message.header, options);
    dkim::BodyHasher body;
    const std::size_t request = body.request(options.body_canon, dkim::HashAlgorithm::sha256);
    body.update(message.body);
    body.finish();
    std::string header_list;
    for (const auto& name : names) header_list += (header_list.empty() ? "" : ":") + name;
    std::vector<std::pair<std::string, std::string>> ams_tags{
        {"a", std::string(dkim::to_string(algorithm))},
        {"b", ""},
        {"bh", dkim::encode_base64(body.digest(request).hash)},
        {"c", fmt::format("{}/{}", dkim::to_string(options.header_canon), dkim::to_string(options.body_canon))},
        {"d", options.domain},
        {"h", header_list},
        {"i", fmt::format("{}", instance)},
        {"s", options.selector},
        {"t", timestamp},
    };
    auto unsigned_ams = field_of(fold("ARC-Message-Signature", ams_tags));
    if (!unsigned_ams) return std::unexpected(unsigned_ams.error());
    std::string ams_data = dkim::canonicalize_selected(message.header, names, options.header_canon);
    ams_data += dkim::canonicalize_signature_field(*unsigned_ams, options.header_canon);
    auto ams_signature = dkim::sign_data(key, algorithm, ams_data);
    if (!ams_signature) return std::unexpected(ams_signature.error());
    ams_tags[1].second = dkim::encode_base64(*ams_signature);
    auto ams = field_of(fold("ARC-Message-Signature", ams_tags));
    if (!ams) return std::unexpected(ams.error());

    // ARC-Seal over every set (only the new one when the chain failed, §5.1.2).
    std::vector<std::pair<std::string, std::string>> seal_tags{
        {"a", std::string(dkim::to_string(algorithm))},
        {"b", ""},
        {"cv", std::string(to_string(cv))},
        {"d", options.domain},
        {"i", fmt::format("{}", instance)},
        {"s", options.selector},
        {"t", timestamp},
    };
    auto unsigned_seal = field_of(fold("ARC-Seal", seal_tags));
    if (!unsigned_seal) return std::unexpected(unsigned_seal.error());
    std::string seal_data;
    if (cv != ChainStatus::fail) {
        for (int i = 1; i < instance; ++i) {
            for (std::string_view name : {"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"}) {
                for (const message::Field* field : message.header.all(name)) {
                    if (detail::instance_of(*field) == i)
                        seal_data += dkim::canonicalize_header(*field, dkim::Canonicalization::relaxed);
                }
            }
        }
    }
    seal_data += dkim::canonicalize_header(*results, dkim::Canonicalization::relaxed);
    seal_data += dkim::canonicalize_header(*ams, dkim::Canonicalization::relaxed);
    seal_data += dkim::canonicalize_signature_field(*unsigned_seal, dkim::Canonicalization::relaxed);
    auto seal_signature = dkim::sign_data(key, algorithm, seal_data);
    if (!seal_signature) return std::unexpected(seal_signature.error());
    seal_tags[1].second = dkim::encode_base64(*seal_signature);

    Sealed sealed;
    sealed.chain_validation = cv;
    sealed.fields.push_back(fold("ARC-Seal", seal_tags));
    sealed.fields.push_back(ams->raw);
    sealed.fields.push_back(results->raw);
    return sealed;
}

}  // namespace rampart::arc

// The tag-list syntax (RFC 6376 §3.2) and the signature fields built on it: DKIM-Signature
// (§3.5), ARC-Message-Signature (RFC 8617 §4.1.2) and ARC-Seal (RFC 8617 §4.1.3).
#include "dkim/dkim.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include <fmt/format.h>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

namespace {

/// FWS of RFC 6376 §2.8 as it appears in a field: SP, HTAB and the CRLF of folding.
constexpr bool is_fws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
/// VALCHAR = %x21-3A / %x3C-7E (§3.2): printable US-ASCII except ";".
constexpr bool is_valchar(char c) noexcept { return c >= '!' && c <= '~' && c != ';'; }

// A signature over a 16384-bit RSA key is 2048 octets, 2732 base64 characters; a SHA-256 body
// hash is 44. Anything longer is refused before decoding.
constexpr std::size_t max_signature_base64 = 4096;
constexpr std::size_t max_body_hash_base64 = 128;
// RFC 8617 §4.2.1: at most 50 ARC sets.
constexpr int max_arc_instance = 50;

Error malformed_at(std::string reason, std::size_t offset) {
    Error error{Errc::malformed, std::move(reason), {}};
    error.where.offset = offset;
    return error;
}

std::size_t skip_fws(std::string_view text, std::size_t at) noexcept {
    while (at < text.size() && is_fws(text[at])) ++at;
    return at;
}

bool valid_tag_name(std::string_view name) noexcept {
    if (name.empty() || !is_alpha(name.front())) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

/// Reads one tag-spec starting at `at` (after FWS); `at` ends on the ";" or the end.
Result<Tag> read_tag(std::string_view text, std::size_t& at) {
    const std::size_t name_start = at;
    while (at < text.size() && text[at] != '=' && text[at] != ';' && !is_fws(text[at])) ++at;
    const std::string_view name = text.substr(name_start, at - name_start);
    if (!valid_tag_name(name)) {
        return std::unexpected(malformed_at(
            fmt::format("\"{}\" is not a valid tag name (RFC 6376 §3.2: a letter, then letters, "
                        "digits or \"_\")",
                        printable(name.substr(0, 40))),
            name_start));
    }
    at = skip_fws(text, at);
    if (at >= text.size() || text[at] != '=') {
        return std::unexpected(
            malformed_at(fmt::format("the tag {} has no \"=\"", printable(name)), at));
    }
    at = skip_fws(text, at + 1);
    Tag tag{.name = std::string(name),
            .value = {},
            .name_offset = name_start,
            .value_offset = at,
            .value_end = at};
    while (at < text.size() && text[at] != ';') {
        if (!is_valchar(text[at]) && !is_fws(text[at])) {
            return std::unexpected(malformed_at(
                fmt::format("the value of {}= holds an octet tag values may not contain (0x{:02x})",
                            printable(name), static_cast<unsigned char>(text[at])),
                at));
        }
        if (!is_fws(text[at])) tag.value_end = at + 1;
        ++at;
    }
    tag.value = std::string(text.substr(tag.value_offset, tag.value_end - tag.value_offset));
    return tag;
}

}  // namespace

Result<std::vector<Tag>> parse_tag_list(std::string_view text) {
    std::vector<Tag> tags;
    std::unordered_set<std::string> names;
    std::size_t at = skip_fws(text, 0);
    while (at < text.size()) {
        if (text[at] == ';') {
            return std::unexpected(malformed_at("an empty tag (\";;\" or a leading \";\")", at));
        }
        auto tag = read_tag(text, at);
        if (!tag) return std::unexpected(std::move(tag.error()));
        // A set, not a scan: a field can hold thousands of tags.
        if (!names.insert(tag->name).second) {
            return std::unexpected(malformed_at(
                fmt::format("{}= appears twice, which makes the tag list invalid (RFC 6376 §3.2)",
                            printable(tag->name)),
                tag->name_offset));
        }
        tags.push_back(std::move(*tag));
        if (at < text.size()) at = skip_fws(text, at + 1);  // past the ";" (a trailing one is fine)
    }
    return tags;
}

// ---------------------------------------------------------------------------------------------
// Names

std::string_view to_string(Algorithm algorithm) noexcept {
    switch (algorithm) {
        case Algorithm::rsa_sha256: return "rsa-sha256";
        case Algorithm::ed25519_sha256: return "ed25519-sha256";
        case Algorithm::rsa_sha1: return "rsa-sha1";
        case Algorithm::unknown: return "unknown";
    }
    return "unknown";
}

Algorithm parse_algorithm(std::string_view text) noexcept {
    // sig-a-tag-alg is case-sensitive as written in §3.5; signers write it in lower case.
    if (text == "rsa-sha256") return Algorithm::rsa_sha256;
    if (text == "ed25519-sha256") return Algorithm::ed25519_sha256;
    if (text == "rsa-sha1") return Algorithm::rsa_sha1;
    return Algorithm::unknown;
}

KeyType key_type_of(Algorithm algorithm) noexcept {
    switch (algorithm) {
        case Algorithm::rsa_sha256:
        case Algorithm::rsa_sha1: return KeyType::rsa;
        case Algorithm::ed25519_sha256: return KeyType::ed25519;
        case Algorithm::unknown: break;
    }
    return KeyType::unknown;
}

HashAlgorithm hash_of(Algorithm algorithm) noexcept {
    return algorithm == Algorithm::rsa_sha1 ? HashAlgorithm::sha1 : HashAlgorithm::sha256;
}

std::string_view to_string(Canonicalization c) noexcept {
    return c == Canonicalization::relaxed ? "relaxed" : "simple";
}

// ---------------------------------------------------------------------------------------------
// Signatures

namespace {

std::string_view trim_fws(std::string_view text) noexcept {
    while (!text.empty() && is_fws(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_fws(text.back())) text.remove_suffix(1);
    return text;
}

std::string without_fws(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (!is_fws(c)) out.push_back(c);
    }
    return out;
}

std::string_view kind_name(SignatureKind kind) noexcept {
    switch (kind) {
        case SignatureKind::dkim: return "DKIM-Signature";
        case SignatureKind::arc_message: return "ARC-Message-Signature";
        case SignatureKind::arc_seal: return "ARC-Seal";
    }
    return "signature";
}

/// The tags each kind must carry (RFC 6376 §3.5; RFC 8617 §4.1.2, §4.1.3).
std::span<const std::string_view> required_tags(SignatureKind kind) noexcept {
    static constexpr std::string_view dkim[] = {"v", "a", "b", "bh", "d", "h", "s"};
    static constexpr std::string_view ams[] = {"i", "a", "b", "bh", "d", "h", "s"};
    static constexpr std::string_view seal[] = {"i", "a", "b", "d", "s", "cv"};
    switch (kind) {
        case SignatureKind::dkim: return dkim;
        case SignatureKind::arc_message: return ams;
        case SignatureKind::arc_seal: return seal;
    }
    return {};
}

std::optional<Canonicalization> parse_canon(std::string_view text) noexcept {
    if (text == "simple") return Canonicalization::simple;
    if (text == "relaxed") return Canonicalization::relaxed;
    return std::nullopt;
}

/// 1*max_digits DIGIT as an unsigned number.
std::optional<std::uint64_t> parse_number(std::string_view text, std::size_t max_digits) noexcept {
    if (text.empty() || text.size() > max_digits) return std::nullopt;
    if (!std::all_of(text.begin(), text.end(), is_digit)) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

/// Colon-separated list with FWS around the items; empty items are an error.
std::optional<std::vector<std::string>> split_colons(std::string_view value) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= value.size()) {
        auto colon = value.find(':', start);
        if (colon == std::string_view::npos) colon = value.size();
        const auto item = trim_fws(value.substr(start, colon - start));
        if (item.empty()) return std::nullopt;
        items.emplace_back(item);
        start = colon + 1;
    }
    return items;
}

/// field-name of RFC 5322 §3.6.8: printable US-ASCII except ":".
bool valid_field_name(std::string_view name) noexcept {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

class SignatureParser {
public:
    SignatureParser(std::string_view text, SignatureKind kind) : text_(text) {
        signature_.kind = kind;
        if (kind == SignatureKind::arc_seal) {
            signature_.header_canon = Canonicalization::relaxed;
            signature_.body_canon = Canonicalization::relaxed;
        }
    }

    Result<Signature> run() {
        auto tags = parse_tag_list(text_);
        if (!tags) return std::unexpected(std::move(tags.error()));
        signature_.tags = std::move(*tags);
        if (auto error = check_required()) return std::unexpected(std::move(*error));
        for (const auto& tag : signature_.tags) {
            if (auto error = take(tag)) return std::unexpected(std::move(*error));
        }
        if (auto error = check_relations()) return std::unexpected(std::move(*error));
        return std::move(signature_);
    }

private:
    [[nodiscard]] SignatureKind kind() const noexcept { return signature_.kind; }

    std::optional<Error> bad(const Tag& tag, std::string_view what) const {
        return malformed_at(fmt::format("{}: {}= \"{}\" {}", kind_name(kind()), tag.name,
                                        printable(std::string_view(tag.value).substr(0, 60)), what),
                            tag.value_offset);
    }

    std::optional<Error> check_required() const {
        for (const auto name : required_tags(kind())) {
            const bool present = std::any_of(signature_.tags.begin(), signature_.tags.end(),
                                             [&](const Tag& tag) { return tag.name == name; });
            if (!present) {
                return malformed_at(
                    fmt::format("{} has no {}= tag, which is required", kind_name(kind()), name),
                    text_.size());
            }
        }
        if (kind() == SignatureKind::arc_seal) {
            for (const auto& tag : signature_.tags) {
                if (tag.name == "h") {
                    return malformed_at(
                        "ARC-Seal carries h=, which makes it invalid "
                        "(RFC 8617 §4.1.3)",
                        tag.name_offset);
                }
            }
        }
        return std::nullopt;
    }

    std::optional<Error> take(const Tag& tag) {
        const std::string_view name = tag.name;
        if (name == "v") return take_version(tag);
        if (name == "a") return take_algorithm(tag);
        if (name == "b") return take_signature(tag);
        if (name == "bh") return take_body_hash(tag);
        if (name == "c") return take_canon(tag);
        if (name == "d") return take_domain(tag);
        if (name == "s") return take_selector(tag);
        if (name == "h") return take_headers(tag);
        if (name == "i") return take_identity(tag);
        if (name == "l") return take_length(tag);
        if (name == "q") return take_query(tag);
        if (name == "t") return take_time(tag, signature_.timestamp);
        if (name == "x") return take_time(tag, signature_.expiration);
        if (name == "z") signature_.copied_headers = tag.value;
        if (name == "cv" && kind() == SignatureKind::arc_seal) return take_chain(tag);
        return std::nullopt;  // unknown tags are ignored (§3.2), but they stay in `tags`
    }

    std::optional<Error> take_version(const Tag& tag) const {
        // RFC 8617 §4.1.2: a v= on an AMS is ignored like any unknown tag.
        if (kind() != SignatureKind::dkim || tag.value == "1") return std::nullopt;
        return bad(tag, "is not version 1");
    }

    std::optional<Error> take_algorithm(const Tag& tag) {
        signature_.algorithm_text = tag.value;
        signature_.algorithm = parse_algorithm(tag.value);
        if (tag.value.empty()) return bad(tag, "is empty");
        return std::nullopt;
    }

    std::optional<Error> take_signature(const Tag& tag) {
        signature_.signature_text = without_fws(tag.value);
        if (signature_.signature_text.empty()) return bad(tag, "is empty");
        if (signature_.signature_text.size() > max_signature_base64) {
            return bad(tag, "is longer than any signature");
        }
        auto bytes = crypto::base64_decode(signature_.signature_text);
        if (!bytes) return bad(tag, "is not valid base64");
        signature_.signature = std::move(*bytes);
        return std::nullopt;
    }

    std::optional<Error> take_body_hash(const Tag& tag) {
        // RFC 8617 §4.1.3 gives ARC-Seal no bh=; one there is an unknown tag.
        if (kind() == SignatureKind::arc_seal) return std::nullopt;
        const std::string text = without_fws(tag.value);
        if (text.empty()) return bad(tag, "is empty");
        if (text.size() > max_body_hash_base64) return bad(tag, "is longer than any body hash");
        auto bytes = crypto::base64_decode(text);
        if (!bytes) return bad(tag, "is not valid base64");
        signature_.body_hash = std::move(*bytes);
        return std::nullopt;
    }

    std::optional<Error> take_canon(const Tag& tag) {
        // ARC-Seal has no c=: its canonicalization is always relaxed (RFC 8617 §5.1.1).
        if (kind() == SignatureKind::arc_seal) return std::nullopt;
        const std::string_view value = tag.value;
        const auto slash = value.find('/');
        const auto header = parse_canon(value.substr(0, slash));
        // "c=relaxed" alone means relaxed/simple (§3.5).
        const auto body = slash == std::string_view::npos ? std::optional(Canonicalization::simple)
                                                          : parse_canon(value.substr(slash + 1));
        if (!header || !body) return bad(tag, "is not simple or relaxed (header/body)");
        signature_.header_canon = *header;
        signature_.body_canon = *body;
        return std::nullopt;
    }

    std::optional<Error> take_domain(const Tag& tag) {
        if (tag.value.empty()) return bad(tag, "is empty");
        signature_.domain = ascii_lower(tag.value);
        if (signature_.domain.back() == '.') signature_.domain.pop_back();
        return std::nullopt;
    }

    std::optional<Error> take_selector(const Tag& tag) {
        if (tag.value.empty()) return bad(tag, "is empty");
        signature_.selector = tag.value;
        return std::nullopt;
    }

    std::optional<Error> take_headers(const Tag& tag) {
        if (kind() != SignatureKind::dkim) {
            // ARC signers in the wild (and the ValiMail suite) write h= empty or with an empty
            // name between colons; verifiers that pass the suite read those as naming nothing.
            std::vector<std::string> names;
            for (std::size_t start = 0; start <= tag.value.size();) {
                auto colon = tag.value.find(':', start);
                if (colon == std::string::npos) colon = tag.value.size();
                const auto item = trim_fws(std::string_view(tag.value).substr(start, colon - start));
                if (!item.empty()) {
                    if (!valid_field_name(item)) return bad(tag, "names a field that is not a field name");
                    names.emplace_back(item);
                }
                start = colon + 1;
            }
            signature_.signed_headers = std::move(names);
            return std::nullopt;
        }
        auto names = split_colons(tag.value);
        if (!names) return bad(tag, "has an empty field name");
        for (const auto& name : *names) {
            if (!valid_field_name(name)) return bad(tag, "names a field that is not a field name");
        }
        signature_.signed_headers = std::move(*names);
        return std::nullopt;
    }

    std::optional<Error> take_identity(const Tag& tag) {
        if (kind() == SignatureKind::dkim) {
            if (tag.value.find('@') == std::string::npos) return bad(tag, "has no \"@\"");
            signature_.identity = tag.value;
            return std::nullopt;
        }
        const auto instance = parse_number(tag.value, 2);
        if (!instance || *instance < 1 || *instance > max_arc_instance) {
            return bad(tag, "is not an ARC instance from 1 to 50");
        }
        signature_.instance = static_cast<int>(*instance);
        return std::nullopt;
    }

    std::optional<Error> take_length(const Tag& tag) {
        // sig-l-tag = 1*76DIGIT; past 2^64 there is no body anyway, so 19 digits are enough.
        const auto length = parse_number(tag.value, 19);
        if (!length) return bad(tag, "is not a number of octets");
        signature_.body_length = *length;
        return std::nullopt;
    }

    std::optional<Error> take_query(const Tag& tag) const {
        const auto methods = split_colons(tag.value);
        const bool dns_txt =
            methods && std::any_of(methods->begin(), methods->end(), [](const std::string& m) {
                return m == "dns/txt" || m == "dns";
            });
        if (!dns_txt) return bad(tag, "names no key query method but dns/txt");
        return std::nullopt;
    }

    std::optional<Error> take_time(const Tag& tag, std::optional<Timestamp>& out) const {
        // sig-t-tag = 1*12DIGIT (§3.5): seconds since the epoch.
        const auto seconds = parse_number(tag.value, 12);
        if (!seconds) return bad(tag, "is not a time in seconds since 1970");
        out = Timestamp(std::chrono::seconds(static_cast<std::int64_t>(*seconds)));
        return std::nullopt;
    }

    std::optional<Error> take_chain(const Tag& tag) {
        if (tag.value != "none" && tag.value != "pass" && tag.value != "fail") {
            return bad(tag, "is not none, pass or fail");
        }
        signature_.chain_validation = tag.value;
        return std::nullopt;
    }

    const Tag* find(std::string_view name) const noexcept {
        for (const auto& tag : signature_.tags) {
            if (tag.name == name) return &tag;
        }
        return nullptr;
    }

    std::optional<Error> check_relations() {
        if (kind() == SignatureKind::dkim) {
            if (auto error = check_identity()) return error;
            const bool signs_from =
                std::any_of(signature_.signed_headers.begin(), signature_.signed_headers.end(),
                            [](const std::string& name) { return iequals(name, "from"); });
            if (!signs_from) {
                return malformed_at(
                    "h= does not include From, which a DKIM signature must "
                    "cover (RFC 6376 §5.4)",
                    find("h")->value_offset);
            }
        }
        if (signature_.timestamp && signature_.expiration &&
            *signature_.expiration <= *signature_.timestamp) {
            return malformed_at("x= is not after t= (RFC 6376 §3.5)", find("x")->value_offset);
        }
        return std::nullopt;
    }

    /// i= defaults to "@d"; its domain must be d= or below it (§3.5).
    std::optional<Error> check_identity() {
        if (signature_.identity.empty()) {
            signature_.identity = "@" + signature_.domain;
            return std::nullopt;
        }
        const auto at = signature_.identity.rfind('@');
        std::string domain = ascii_lower(std::string_view(signature_.identity).substr(at + 1));
        if (!domain.empty() && domain.back() == '.') domain.pop_back();
        const std::string& d = signature_.domain;
        const bool under = domain == d || (domain.size() > d.size() && domain.ends_with(d) &&
                                           domain[domain.size() - d.size() - 1] == '.');
        if (!under) {
            return malformed_at(
                fmt::format("i= domain \"{}\" is not d= \"{}\" or a subdomain of it "
                            "(RFC 6376 §3.5)",
                            printable(domain), printable(d)),
                find("i")->value_offset);
        }
        return std::nullopt;
    }

    std::string_view text_;
    Signature signature_;
};

}  // namespace

Result<Signature> parse_signature(std::string_view field_value, SignatureKind kind) {
    return SignatureParser(field_value, kind).run();
}

}  // namespace rampart::dkim

// DKIM key records (RFC 6376 §3.6.1) on the tag-list syntax of §3.2, with the key-strength rules
// of RFC 8301 §3.2 and the Ed25519 key form of RFC 8463 §4.2.
#include "dkim/dkim.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

std::string_view to_string(Severity severity) noexcept {
    switch (severity) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::error: return "error";
    }
    return "?";
}

std::string_view to_string(KeyType type) noexcept {
    switch (type) {
        case KeyType::rsa: return "rsa";
        case KeyType::ed25519: return "ed25519";
        case KeyType::unknown: return "unknown";
    }
    return "?";
}

bool KeyRecord::usable() const noexcept {
    return !revoked && std::none_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
        return d.severity == Severity::error;
    });
}

bool KeyRecord::allows_email() const noexcept {
    if (services.empty()) return true;
    return std::any_of(services.begin(), services.end(),
                       [](const std::string& s) { return s == "*" || s == "email"; });
}

namespace {

// RFC 8301 §3.2: verifiers MUST NOT consider keys under 1024 bits; signers SHOULD use 2048;
// verifiers MUST handle up to 4096.
constexpr unsigned rsa_minimum_bits = 1024;
constexpr unsigned rsa_recommended_bits = 2048;
constexpr unsigned rsa_verifier_maximum_bits = 4096;
// Base64 of p= beyond this is not a key anyone publishes (a 16384-bit RSA SPKI is ~2.8 KB of
// base64); refusing it bounds the DER parsing done on a stranger's record.
constexpr std::size_t max_key_base64 = 12 * 1024;

/// FWS of RFC 6376 §2.8 once unfolded: SP, HTAB, CR, LF.
constexpr bool is_fws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view text) noexcept {
    while (!text.empty() && is_fws(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_fws(text.back())) text.remove_suffix(1);
    return text;
}

std::size_t offset_in(std::string_view whole, std::string_view part) noexcept {
    return static_cast<std::size_t>(part.data() - whole.data());
}

/// tag-name = ALPHA *ALNUMPUNC (§3.2).
bool valid_tag_name(std::string_view name) noexcept {
    const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (name.empty() || !alpha(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) {
        return alpha(c) || (c >= '0' && c <= '9') || c == '_';
    });
}

struct TagSpec {
    std::string_view name;
    std::string_view value;
    std::size_t offset = 0;
    std::size_t value_offset = 0;
};

Error malformed_at(std::string reason, std::size_t offset) {
    Error error{Errc::malformed, std::move(reason), {}};
    error.where.offset = offset;
    return error;
}

/// The tag-list of §3.2: FWS around "=" and ";", trailing ";", duplicates invalid.
Result<std::vector<TagSpec>> split_tag_list(std::string_view text,
                                            std::vector<Diagnostic>& diagnostics) {
    std::vector<TagSpec> tags;
    std::set<std::string_view> names;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(';', start);
        if (end == std::string_view::npos) end = text.size();
        const auto piece = trim_fws(text.substr(start, end - start));
        const bool last = end == text.size();
        start = end + 1;
        if (piece.empty()) {
            if (!last) {
                diagnostics.push_back({Severity::warning, "empty-tag",
                                       "an empty tag (\";;\") is not valid tag-list syntax; ignored",
                                       end});
            }
            continue;
        }
        const auto offset = offset_in(text, piece);
        const auto eq = piece.find('=');
        if (eq == std::string_view::npos) {
            return std::unexpected(malformed_at(
                fmt::format("\"{}\" is not a tag=value pair", printable(piece)), offset));
        }
        TagSpec tag{trim_fws(piece.substr(0, eq)), trim_fws(piece.substr(eq + 1)), offset, 0};
        tag.value_offset = tag.value.empty() ? offset + eq + 1 : offset_in(text, tag.value);
        if (!valid_tag_name(tag.name)) {
            return std::unexpected(malformed_at(
                fmt::format("\"{}\" is not a valid tag name", printable(tag.name)), offset));
        }
        // A set, not a scan: a 64 KiB record can hold thousands of tags.
        const bool duplicate = !names.insert(tag.name).second;
        if (duplicate) {
            return std::unexpected(malformed_at(
                fmt::format("{}= appears twice, which makes the key record invalid (RFC 6376 §3.2)",
                            printable(tag.name)),
                offset));
        }
        tags.push_back(tag);
    }
    return tags;
}

/// Colon-separated lists of h=, s=, t= with FWS around the items.
std::vector<std::string> split_colon_list(std::string_view value) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= value.size()) {
        auto colon = value.find(':', start);
        if (colon == std::string_view::npos) colon = value.size();
        const auto item = trim_fws(value.substr(start, colon - start));
        if (!item.empty()) items.emplace_back(item);
        start = colon + 1;
    }
    return items;
}

class KeyParser {
public:
    explicit KeyParser(std::string_view text) : text_(text) {}

    Result<KeyRecord> run() {
        auto tags = split_tag_list(text_, record_.diagnostics);
        if (!tags) return std::unexpected(std::move(tags.error()));
        if (auto error = check_version(*tags)) return std::unexpected(std::move(*error));
        const TagSpec* key = nullptr;
        for (const auto& tag : *tags) {
            if (tag.name == "p") key = &tag;
            take(tag);
        }
        if (key == nullptr) {
            return std::unexpected(malformed_at("the key record has no p= tag (RFC 6376 §3.6.1 "
                                                "requires it)",
                                                text_.size()));
        }
        take_key(*key);
        check_hashes();
        return std::move(record_);
    }

private:
    void note(Severity severity, std::string code, std::string message, std::size_t offset) {
        record_.diagnostics.push_back({severity, std::move(code), std::move(message), offset});
    }

    std::optional<Error> check_version(const std::vector<TagSpec>& tags) {
        for (std::size_t i = 0; i < tags.size(); ++i) {
            if (tags[i].name != "v") continue;
            if (i != 0) {
                return malformed_at("v= is not the first tag (RFC 6376 §3.6.1: if present it "
                                    "MUST be first)",
                                    tags[i].offset);
            }
            if (tags[i].value != "DKIM1") {
                return malformed_at(fmt::format("the version is \"{}\", not \"DKIM1\"",
                                                printable(tags[i].value)),
                                    tags[i].value_offset);
            }
            record_.version = std::string(tags[i].value);
        }
        return std::nullopt;
    }

    void take(const TagSpec& tag) {
        if (tag.name == "k") return take_key_type(tag);
        if (tag.name == "h") return take_hashes(tag);
        if (tag.name == "s") return take_services(tag);
        if (tag.name == "t") return take_flags(tag);
        if (tag.name == "n") record_.notes = std::string(tag.value);
        // v was checked above, p is read last; g= (obsolete, RFC 4871) and unknown tags are
        // ignored as §3.6.1 requires.
    }

    void take_key_type(const TagSpec& tag) {
        record_.key_type_text = std::string(tag.value);
        if (tag.value == "rsa") {
            record_.key_type = KeyType::rsa;
        } else if (tag.value == "ed25519") {
            record_.key_type = KeyType::ed25519;
        } else {
            record_.key_type = KeyType::unknown;
            note(Severity::error, "unknown-key-type",
                 fmt::format("k={} is not a key type verifiers know (rsa, ed25519): they ignore "
                             "the key",
                             printable(tag.value)),
                 tag.value_offset);
        }
    }

    void take_hashes(const TagSpec& tag) {
        record_.hashes = split_colon_list(tag.value);
        hashes_offset_ = tag.value_offset;
        if (record_.hashes.empty()) {
            note(Severity::warning, "empty-h", "h= is empty; verifiers read it as any hash",
                 tag.value_offset);
        }
    }

    void take_services(const TagSpec& tag) {
        record_.services = split_colon_list(tag.value);
        if (!record_.allows_email()) {
            note(Severity::warning, "not-for-email",
                 fmt::format("s={} does not include email: verifiers that check service types "
                             "will not use this key for mail",
                             printable(tag.value)),
                 tag.value_offset);
        }
    }

    void take_flags(const TagSpec& tag) {
        record_.flags = split_colon_list(tag.value);
        for (const auto& flag : record_.flags) {
            if (flag == "y") record_.testing = true;
            if (flag == "s") record_.strict = true;
        }
        if (record_.testing) {
            note(Severity::info, "testing",
                 "t=y: the domain is testing DKIM; verifiers must not treat mail differently "
                 "because of it",
                 tag.value_offset);
        }
    }

    void take_key(const TagSpec& tag) {
        std::string base64;
        for (const char c : tag.value) {
            if (!is_fws(c)) base64.push_back(c);
        }
        if (base64.empty()) {
            record_.revoked = true;
            note(Severity::warning, "revoked",
                 "p= is empty: the key is revoked and signatures with this selector fail",
                 tag.value_offset);
            return;
        }
        if (base64.size() > max_key_base64) {
            note(Severity::error, "key-too-large",
                 fmt::format("p= is {} characters long, more than any real key", base64.size()),
                 tag.value_offset);
            return;
        }
        auto bytes = crypto::base64_decode(base64);
        if (!bytes) {
            note(Severity::error, "bad-base64", "p= is not valid base64", tag.value_offset);
            return;
        }
        record_.public_key = std::move(*bytes);
        inspect(tag.value_offset);
    }

    void inspect(std::size_t offset) {
        if (record_.key_type == KeyType::unknown) return;  // already an error; nothing to check
        const auto info = record_.key_type == KeyType::rsa
                              ? crypto::inspect_rsa_key(record_.public_key)
                              : crypto::inspect_ed25519_key(record_.public_key);
        // A key of another type than k= says is reported, but its size is not this record's.
        if (info.type == record_.key_type) {
            record_.key_format = info.format;
            record_.key_bits = info.bits;
        }
        if (!info.problem.empty()) {
            note(Severity::error, "bad-key", info.problem, offset);
            return;
        }
        if (record_.key_type == KeyType::rsa) classify_rsa(offset);
    }

    void classify_rsa(std::size_t offset) {
        const unsigned bits = record_.key_bits;
        if (bits < rsa_minimum_bits) {
            note(Severity::error, "rsa-too-short",
                 fmt::format("{}-bit RSA key: invalid, RFC 8301 verifiers reject keys under 1024 "
                             "bits",
                             bits),
                 offset);
        } else if (bits < rsa_recommended_bits) {
            note(Severity::warning, "rsa-weak",
                 fmt::format("{}-bit RSA key: deprecated and weak; use 2048 bits (RFC 8301)", bits),
                 offset);
        } else if (bits > rsa_verifier_maximum_bits) {
            note(Severity::warning, "rsa-large",
                 fmt::format("{}-bit RSA key: verifiers need only handle up to 4096 bits "
                             "(RFC 8301)",
                             bits),
                 offset);
        }
    }

    void check_hashes() {
        const auto& h = record_.hashes;
        if (h.empty() || std::find(h.begin(), h.end(), "sha256") != h.end()) return;
        const bool sha1 = std::find(h.begin(), h.end(), "sha1") != h.end();
        note(Severity::error, sha1 ? "sha1-only" : "no-known-hash",
             sha1 ? "h= allows only sha1, which RFC 8301 forbids for signing and verifying"
                  : "h= lists no hash verifiers know (sha256)",
             hashes_offset_);
    }

    std::string_view text_;
    KeyRecord record_;
    std::size_t hashes_offset_ = 0;
};

}  // namespace

Result<KeyRecord> parse_key_record(std::string_view text) { return KeyParser(text).run(); }

std::string dkim_key_name(std::string_view selector, std::string_view domain) {
    return fmt::format("{}._domainkey.{}", selector, domain);
}

Result<std::string> format_key_record(KeyType type, std::span<const std::uint8_t> key) {
    if (type == KeyType::rsa) {
        const auto info = crypto::inspect_rsa_key(key);
        if (!info.problem.empty() || info.format != "spki") {
            return fail(Errc::malformed, "the key is not an RSA SubjectPublicKeyInfo");
        }
        return "v=DKIM1; k=rsa; p=" + crypto::base64_encode(key);
    }
    if (type == KeyType::ed25519) {
        if (const auto raw = crypto::ed25519_raw_key(key)) {
            return "v=DKIM1; k=ed25519; p=" + crypto::base64_encode(*raw);
        }
        const auto info = crypto::inspect_ed25519_key(key);
        if (!info.problem.empty()) return fail(Errc::malformed, info.problem);
        return "v=DKIM1; k=ed25519; p=" + crypto::base64_encode(key);
    }
    return fail(Errc::unsupported, "only rsa and ed25519 keys can be published");
}

std::vector<std::string> split_txt_strings(std::string_view text) {
    constexpr std::size_t max_string = 255;  // RFC 1035 §3.3: one length octet
    std::vector<std::string> strings;
    for (std::size_t at = 0; at < text.size(); at += max_string) {
        strings.emplace_back(text.substr(at, max_string));
    }
    if (strings.empty()) strings.emplace_back();
    return strings;
}

}  // namespace rampart::dkim

// dns/update: TSIG keys and BIND's key-file format (what `tsig-keygen`, `ddns-confgen` and
// `keymgr -t` write). See update.hpp for the contract.
//
// Trust: the file holds a secret. It is read only when its mode gives group and others nothing
// (STYLE §7); no error message quotes any token of the file except the algorithm's name, so a
// malformed file cannot leak its secret through a log line.
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <memory>

#include <fmt/format.h>

#include "dns/ldns.hpp"
#include "dns/update.hpp"

namespace rampart::dns {
namespace {

// A BIND key file is a few hundred octets; anything much larger is not one.
constexpr std::uintmax_t max_key_file = 64 * 1024;

struct Token {
    enum class Kind : std::uint8_t { word, quoted, open, close, semicolon };
    Kind kind = Kind::word;
    std::string text;
    std::size_t line = 1;
};

/// Wipes the texts of the tokens (one of them is the secret) when the parse ends.
struct Tokens {
    std::vector<Token> list;
    Tokens() = default;
    Tokens(const Tokens&) = delete;
    Tokens& operator=(const Tokens&) = delete;
    ~Tokens() {
        for (auto& t : list) OPENSSL_cleanse(t.text.data(), t.text.size());
    }
};

/// named.conf lexical rules: words, "quoted strings", { } ;, and comments in three styles.
Result<void> tokenize(std::string_view text, std::string_view origin, Tokens& out) {
    std::size_t line = 1;
    std::size_t i = 0;
    const auto malformed = [&](std::string_view what) {
        return fail(Errc::malformed, fmt::format("{}: line {}: {}", origin, line, what));
    };
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
        } else if (c == '#' || text.substr(i, 2) == "//") {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (text.substr(i, 2) == "/*") {
            const auto end = text.find("*/", i + 2);
            if (end == std::string_view::npos) return malformed("a /* comment is not closed");
            for (std::size_t k = i; k < end; ++k) line += text[k] == '\n' ? 1u : 0u;
            i = end + 2;
        } else if (c == '"') {
            const auto end = text.find('"', i + 1);
            if (end == std::string_view::npos) return malformed("a quoted string is not closed");
            Token t{Token::Kind::quoted, std::string(text.substr(i + 1, end - i - 1)), line};
            for (const char k : t.text) line += k == '\n' ? 1u : 0u;
            out.list.push_back(std::move(t));
            i = end + 1;
        } else if (c == '{' || c == '}' || c == ';') {
            out.list.push_back({c == '{'   ? Token::Kind::open
                                : c == '}' ? Token::Kind::close
                                           : Token::Kind::semicolon,
                                std::string(1, c), line});
            ++i;
        } else {
            std::size_t end = i;
            while (end < text.size() &&
                   std::string_view(" \t\r\n\f\v\"{};#").find(text[end]) ==
                       std::string_view::npos &&
                   text.substr(end, 2) != "//" && text.substr(end, 2) != "/*")
                ++end;
            out.list.push_back({Token::Kind::word, std::string(text.substr(i, end - i)), line});
            i = end;
        }
    }
    return {};
}

bool is_text(const Token& t) {
    return t.kind == Token::Kind::word || t.kind == Token::Kind::quoted;
}

/// RFC 8945 §6: SHA-256 is the one to use, SHA-512 is allowed; MD5 and SHA-1 are refused.
std::optional<TsigAlgorithm> algorithm_of(std::string_view name) {
    if (name.ends_with('.')) name.remove_suffix(1);
    if (iequals(name, "hmac-sha256")) return TsigAlgorithm::hmac_sha256;
    if (iequals(name, "hmac-sha512")) return TsigAlgorithm::hmac_sha512;
    return std::nullopt;
}

/// Key names go into TSIG records as domain names; letters, digits, '-', '_' and '.' only, so
/// that the name ldns reads from text is the name we compare.
Result<std::string> key_name_of(const Token& t, std::string_view origin) {
    const auto bad = [&] {
        return fail(Errc::malformed,
                    fmt::format("{}: line {}: the key name must be a domain name of letters, "
                                "digits, '-', '_' and '.'",
                                origin, t.line));
    };
    for (const char c : t.text)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return bad();
    auto name = normalize_name(t.text);
    if (!name) return bad();
    return name;
}

struct RdfFree {
    void operator()(ldns_rdf* rdf) const noexcept {
        // The rdf holds the decoded secret.
        OPENSSL_cleanse(ldns_rdf_data(rdf), ldns_rdf_size(rdf));
        ldns_rdf_deep_free(rdf);
    }
};

/// True when `secret` is base64 of at least one octet (decoded by ldns, then wiped).
bool valid_base64(const std::string& secret) {
    if (secret.empty()) return false;
    for (const char c : secret)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    if (secret.size() % 4 != 0) return false;
    ldns_rdf* raw = nullptr;
    if (ldns_str2rdf_b64(&raw, secret.c_str()) != LDNS_STATUS_OK || raw == nullptr) return false;
    const std::unique_ptr<ldns_rdf, RdfFree> decoded(raw);
    return ldns_rdf_size(decoded.get()) > 0;
}

}  // namespace

std::string_view to_string(TsigAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case TsigAlgorithm::hmac_sha256: return "hmac-sha256";
        case TsigAlgorithm::hmac_sha512: return "hmac-sha512";
    }
    return "hmac-sha256";
}

TsigKey::TsigKey(std::string name, TsigAlgorithm algorithm, std::string secret_base64)
    : name_(std::move(name)), algorithm_(algorithm), secret_(std::move(secret_base64)) {}

TsigKey& TsigKey::operator=(const TsigKey& other) {
    if (this == &other) return *this;
    OPENSSL_cleanse(secret_.data(), secret_.size());
    name_ = other.name_;
    algorithm_ = other.algorithm_;
    // A fresh buffer, so the old one (just wiped) is not reused with a shorter secret's tail.
    secret_ = std::string(other.secret_);
    return *this;
}

TsigKey& TsigKey::operator=(TsigKey&& other) noexcept {
    if (this == &other) return *this;
    OPENSSL_cleanse(secret_.data(), secret_.size());
    name_ = std::move(other.name_);
    algorithm_ = other.algorithm_;
    secret_ = std::move(other.secret_);
    return *this;
}

TsigKey::~TsigKey() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

Result<TsigKey> parse_tsig_key(std::string_view text, std::string_view origin) {
    Tokens tokens;
    if (auto ok = tokenize(text, origin, tokens); !ok) return std::unexpected(ok.error());
    const auto& t = tokens.list;
    std::size_t i = 0;
    const auto malformed = [&](std::string_view what) {
        const std::size_t line = t.empty() ? 1 : t[std::min(i, t.size() - 1)].line;
        return fail(Errc::malformed, fmt::format("{}: line {}: {}", origin, line, what));
    };
    if (t.empty()) return fail(Errc::malformed, fmt::format("{}: no key statement", origin));
    if (!(t[i].kind == Token::Kind::word && iequals(t[i].text, "key")))
        return malformed("expected a `key \"name\" { ... };` statement");
    ++i;
    if (i >= t.size() || !is_text(t[i])) return malformed("the key statement has no name");
    auto name = key_name_of(t[i], origin);
    if (!name) return std::unexpected(name.error());
    ++i;
    if (i >= t.size() || t[i].kind != Token::Kind::open)
        return malformed("expected '{' after the key name");
    ++i;
    std::optional<TsigAlgorithm> algorithm;
    std::optional<std::size_t> secret_at;
    while (true) {
        if (i >= t.size()) return malformed("the key statement is not closed with '};'");
        if (t[i].kind == Token::Kind::close) break;
        if (t[i].kind != Token::Kind::word) return malformed("expected `algorithm` or `secret`");
        const bool is_algorithm = iequals(t[i].text, "algorithm");
        const bool is_secret = iequals(t[i].text, "secret");
        if (!is_algorithm && !is_secret)
            return malformed("unknown statement inside the key (only algorithm and secret)");
        ++i;
        if (i >= t.size() || !is_text(t[i]))
            return malformed(is_algorithm ? "`algorithm` has no value" : "`secret` has no value");
        if (is_algorithm) {
            if (algorithm) return malformed("the key names its algorithm twice");
            algorithm = algorithm_of(t[i].text);
            if (!algorithm) {
                // Named only when it looks like one: a secret pasted in the wrong place is not
                // echoed.
                const auto& a = t[i].text;
                const bool nameable =
                    a.size() <= 40 && a.size() > 5 && iequals(a.substr(0, 5), "hmac-");
                return malformed(fmt::format(
                    "the TSIG algorithm {} is not accepted: use hmac-sha256 (or hmac-sha512); "
                    "hmac-md5 and hmac-sha1 are refused (RFC 8945 §6)",
                    nameable ? "'" + printable(a) + "'" : std::string("given")));
            }
        } else {
            if (secret_at) return malformed("the key has two secrets");
            secret_at = i;
        }
        ++i;
        if (i >= t.size() || t[i].kind != Token::Kind::semicolon)
            return malformed("expected ';' after the value");
        ++i;
    }
    ++i;  // '}'
    if (i >= t.size() || t[i].kind != Token::Kind::semicolon)
        return malformed("expected ';' after the key's '}'");
    ++i;
    if (i < t.size()) {
        if (t[i].kind == Token::Kind::word && iequals(t[i].text, "key"))
            return malformed("the file holds more than one key; give Rampart a file with one");
        return malformed("unexpected text after the key statement");
    }
    if (!algorithm)
        return fail(Errc::malformed, fmt::format("{}: the key has no algorithm", origin));
    if (!secret_at) return fail(Errc::malformed, fmt::format("{}: the key has no secret", origin));
    const auto& secret = t[*secret_at].text;
    if (!valid_base64(secret))
        return fail(Errc::malformed, fmt::format("{}: line {}: the secret is not valid base64",
                                                 origin, t[*secret_at].line));
    return TsigKey(std::move(*name), *algorithm, std::string(secret));
}

Result<TsigKey> read_tsig_key_file(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        const int error = errno;
        if (error == ENOENT)
            return fail(Errc::not_found, fmt::format("the TSIG key file {} does not exist",
                                                     printable(path.string())));
        return fail(Errc::io, fmt::format("cannot read the TSIG key file {}: {}",
                                          printable(path.string()), std::strerror(error)));
    }
    if (!S_ISREG(info.st_mode))
        return fail(Errc::io, fmt::format("the TSIG key file {} is not a regular file",
                                          printable(path.string())));
    if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return fail(
            Errc::denied,
            fmt::format("the TSIG key file {} has mode {:04o}: a secret must be readable "
                        "by its owner only (chmod 600 {})",
                        printable(path.string()), info.st_mode & 07777, printable(path.string())));
    if (static_cast<std::uintmax_t>(info.st_size) > max_key_file)
        return fail(
            Errc::limit_exceeded,
            fmt::format("the TSIG key file {} is too large to be a key", printable(path.string())));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(Errc::io,
                    fmt::format("cannot open the TSIG key file {}", printable(path.string())));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto key = parse_tsig_key(text, printable(path.string()));
    OPENSSL_cleanse(text.data(), text.size());
    return key;
}

}  // namespace rampart::dns

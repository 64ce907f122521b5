// Signing (RFC 6376 §5): the fields to sign (§5.4, over-signing §8.15), the body hash, the
// DKIM-Signature field folded for the wire, and the signature over the header hash input (§3.7)
// made with the same canonicalization code the verifier uses.
#include "dkim/dkim.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "dkim/crypto.hpp"

namespace rampart::dkim {

namespace {

// §5.4.1 recommends these; the ones present in the message are signed by default.
constexpr std::array<std::string_view, 23> default_headers{
    "From",
    "Sender",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
};

constexpr std::size_t fold_width = 78;
constexpr std::string_view field_prefix = "DKIM-Signature:";

/// Lays out the field on lines of at most 78 columns (RFC 5322 §2.1.1), folding with
/// CRLF + TAB. Items never break inside; h= breaks only after a colon; b= anywhere.
class Folder {
public:
    Folder() : text_(field_prefix), column_(field_prefix.size()) {}

    /// " item", or a fold and "item" when it would pass the width.
    void item(std::string_view text) {
        if (column_ + 1 + text.size() > fold_width) {
            fold();
        } else {
            text_.push_back(' ');
            ++column_;
        }
        append(text);
    }

    /// "piece" right after what is there, or a fold first when it would pass the width.
    void piece(std::string_view text) {
        if (column_ + text.size() > fold_width) fold();
        append(text);
    }

    /// Text that may be broken anywhere (base64), filling each line.
    void breakable(std::string_view text) {
        while (!text.empty()) {
            if (column_ >= fold_width) fold();
            const std::size_t room = fold_width - column_;
            append(text.substr(0, room));
            text.remove_prefix(std::min(room, text.size()));
        }
    }

    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    void fold() {
        text_.append("\r\n\t");
        column_ = 8;  // a TAB takes a terminal to column 8
    }
    void append(std::string_view text) {
        text_.append(text);
        column_ += text.size();
    }

    std::string text_;
    std::size_t column_;
};

bool contains_name(std::span<const std::string> names, std::string_view name) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return iequals(n, name); });
}

/// The h= list: each name as often as it occurs, plus once more when over-signing.
std::vector<std::string> names_to_sign(const message::Header& header, const SignOptions& options) {
    std::vector<std::string> wanted;
    if (options.headers.empty()) {
        for (const auto name : default_headers) {
            if (header.count(name) > 0) wanted.emplace_back(name);
        }
    } else {
        for (const auto& name : options.headers) {
            if (!contains_name(wanted, name)) wanted.push_back(name);
        }
        if (!contains_name(wanted, "From")) wanted.insert(wanted.begin(), "From");
    }
    std::vector<std::string> names;
    for (const auto& name : wanted) {
        const std::size_t present = header.count(name);
        // A name the caller asked for but absent is still named once: adding it later breaks
        // the signature, which is what asking for it means.
        const std::size_t times =
            options.oversign ? present + 1 : std::max<std::size_t>(present, 1);
        names.insert(names.end(), times, name);
    }
    return names;
}

std::string seconds_of(Timestamp t) { return std::to_string(t.time_since_epoch().count()); }

}  // namespace

Signer::Signer(const PrivateKey& key, SignOptions options)
    : key_(key), options_(std::move(options)) {}

Result<void> Signer::start(const message::Header& header, BodyHasher& body) {
    header_ = &header;
    if (header.first("From") == nullptr) {
        return fail(Errc::malformed,
                    "the message has no From field, and a DKIM signature must cover it "
                    "(RFC 6376 §5.4)");
    }
    const KeyType type = key_.type();
    algorithm_ = options_.algorithm.value_or(type == KeyType::ed25519 ? Algorithm::ed25519_sha256
                                                                      : Algorithm::rsa_sha256);
    if (algorithm_ == Algorithm::rsa_sha1 || algorithm_ == Algorithm::unknown) {
        return fail(Errc::unsupported,
                    fmt::format("{} is not used for signing (RFC 8301)", to_string(algorithm_)));
    }
    if (key_type_of(algorithm_) != type) {
        return fail(Errc::unsupported, fmt::format("a {} key cannot make {} signatures",
                                                   to_string(type), to_string(algorithm_)));
    }
    if (options_.domain.empty() || options_.selector.empty()) {
        return fail(Errc::malformed, "signing needs a domain (d=) and a selector (s=)");
    }
    names_ = names_to_sign(header, options_);
    body_request_ = body.request(options_.body_canon, HashAlgorithm::sha256);
    return {};
}

Result<std::string> Signer::finish(const BodyHasher& body) {
    RAMPART_ASSERT(header_ != nullptr);  // start() first: the programmer's order
    const auto& digest = body.digest(body_request_);
    Folder folder;
    folder.item("v=1;");
    folder.item(fmt::format("a={};", to_string(algorithm_)));
    folder.item(
        fmt::format("c={}/{};", to_string(options_.header_canon), to_string(options_.body_canon)));
    folder.item(fmt::format("d={};", options_.domain));
    folder.item(fmt::format("s={};", options_.selector));
    if (options_.timestamp) folder.item(fmt::format("t={};", seconds_of(*options_.timestamp)));
    if (options_.expiration) folder.item(fmt::format("x={};", seconds_of(*options_.expiration)));
    if (!options_.identity.empty()) folder.item(fmt::format("i={};", options_.identity));
    if (options_.body_length) folder.item(fmt::format("l={};", digest.canonical_length));
    for (std::size_t i = 0; i < names_.size(); ++i) {
        const bool last = i + 1 == names_.size();
        const std::string text = (i == 0 ? "h=" : "") + names_[i] + (last ? ";" : ":");
        if (i == 0) {
            folder.item(text);
        } else {
            folder.piece(text);
        }
    }
    folder.item(fmt::format("bh={};", crypto::base64_encode(digest.hash)));
    folder.item("b=");

    // The header hash input: the signed fields, then this field with b= still empty (§3.7).
    const message::Field unsigned_field{.raw = folder.text(), .colon = field_prefix.size() - 1};
    std::string data = canonicalize_selected(*header_, names_, options_.header_canon);
    data += canonicalize_signature_field(unsigned_field, options_.header_canon);
    auto signature = sign_data(key_, algorithm_, data);
    if (!signature) return std::unexpected(std::move(signature.error()));
    folder.breakable(crypto::base64_encode(*signature));
    return folder.text();
}

Result<std::string> sign(const message::Message& message, const PrivateKey& key,
                         const SignOptions& options) {
    Signer signer(key, options);
    BodyHasher body;
    auto started = signer.start(message.header, body);
    if (!started) return std::unexpected(std::move(started.error()));
    body.update(message.body);
    body.finish();
    return signer.finish(body);
}

}  // namespace rampart::dkim
